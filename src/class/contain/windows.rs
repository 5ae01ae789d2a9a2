//! Windows job objects: a process put in a job cannot leave it, every process it starts is
//! in it too, and the job enforces limits on all of them and ends them all at once
//! (`TerminateJobObject`), even one started detached or whose parent has exited.
//!
//! **Putting a child in its job before it runs.** A process must be created before it can
//! be assigned to a job (`AssignProcessToJobObject`); between the two it could start a
//! process of its own that is in no job, and escape. The ways out, and the one taken:
//!
//! - Assigning right after `spawn` leaves that window open: a hostile program can start a
//!   grandchild as its first instruction. Not sound.
//! - Assigning the grader itself to the job and letting children inherit it would put the
//!   grader under the student's limits, and ending the job would end the grader.
//! - `PROC_THREAD_ATTRIBUTE_JOB_LIST` creates the process inside the job, but std's
//!   `raw_attribute` is unstable (rust-lang/rust#114854), and calling `CreateProcessW`
//!   ourselves would mean redoing std's argument quoting and standard handles.
//! - A small intermediate process that assigns itself and then starts the program is
//!   sound, but that process then counts against the limits it sets, and the job could not
//!   be tested inside a test process.
//! - **Taken:** the child is created suspended (`CREATE_SUSPENDED`, which std passes on
//!   through `creation_flags`), assigned, and only then resumed. std keeps the initial
//!   thread's handle to itself, so [`resume_threads_of`] finds the process's threads in a
//!   Toolhelp32 snapshot and resumes each. The child runs no instruction, not even the
//!   loader's, outside its job. (The same way as the `command-group` crate, written anew.)
//!
//! Jobs nest (Windows 8 and later, which every Rust-supported Windows is): `grade class`
//! puts each submission's `grade all` in a job of its own, and each `grade contain` the
//! student's program in a job with [`JobLimits`] inside it.
//!
//! This file is compiled and linted on Linux (`make cross-check`); its tests run only on a
//! Windows machine. Under Wine 8.0 the tests of putting a child in its job and of ending
//! it (a detached grandchild ended after its parent exited, a dropped job ending its
//! process) pass, and so does `grade contain` passing on the exit code; Wine records a
//! job's limit flags but enforces none of the limits, so the memory, CPU and process
//! limit tests fail there, which says nothing about Windows.

use std::io;
use std::os::windows::io::{AsRawHandle, FromRawHandle, OwnedHandle};
use std::os::windows::process::CommandExt;
use std::process::{Child, Command, ExitStatus};

use windows_sys::Win32::Foundation::{HANDLE, INVALID_HANDLE_VALUE};
use windows_sys::Win32::System::Diagnostics::ToolHelp::{
    CreateToolhelp32Snapshot, Thread32First, Thread32Next, TH32CS_SNAPTHREAD, THREADENTRY32,
};
use windows_sys::Win32::System::JobObjects::{
    AssignProcessToJobObject, CreateJobObjectW, JobObjectExtendedLimitInformation,
    SetInformationJobObject, TerminateJobObject, JOBOBJECT_EXTENDED_LIMIT_INFORMATION,
    JOB_OBJECT_LIMIT_ACTIVE_PROCESS, JOB_OBJECT_LIMIT_DIE_ON_UNHANDLED_EXCEPTION,
    JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE, JOB_OBJECT_LIMIT_PROCESS_MEMORY,
    JOB_OBJECT_LIMIT_PROCESS_TIME,
};
use windows_sys::Win32::System::Threading::{
    OpenThread, ResumeThread, CREATE_SUSPENDED, THREAD_SUSPEND_RESUME,
};

use super::{JobLimits, Limits};

/// The exit code of every process a job ends: 1, an ordinary failure, as `taskkill /F`
/// gives.
const ENDED_BY_THE_GRADER: u32 = 1;

/// A job object. Its processes are ended when [`Job::end`] is called, and when the last
/// handle to it closes (`JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE`): if the process holding it
/// dies, however it dies, what it started dies too. The handle is not inheritable, so no
/// child holds the job open.
pub struct Job {
    handle: OwnedHandle,
}

impl Job {
    /// A new, empty job with `limits`. A process in it may not break away
    /// (`JOB_OBJECT_LIMIT_BREAKAWAY_OK` is not set), and one that crashes ends at once
    /// instead of waiting on an error-report dialog no one will click.
    pub fn new(limits: &JobLimits) -> io::Result<Job> {
        // SAFETY: no security attributes (so not inheritable) and no name.
        let raw = unsafe { CreateJobObjectW(std::ptr::null(), std::ptr::null()) };
        if raw.is_null() {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: a new handle that nothing else owns.
        let job = Job {
            handle: unsafe { OwnedHandle::from_raw_handle(raw) },
        };
        let mut info = JOBOBJECT_EXTENDED_LIMIT_INFORMATION::default();
        let basic = &mut info.BasicLimitInformation;
        basic.LimitFlags =
            JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE | JOB_OBJECT_LIMIT_DIE_ON_UNHANDLED_EXCEPTION;
        if let Some(bytes) = limits.process_memory {
            basic.LimitFlags |= JOB_OBJECT_LIMIT_PROCESS_MEMORY;
            info.ProcessMemoryLimit = bytes;
        }
        if let Some(ticks) = limits.process_cpu_ticks {
            basic.LimitFlags |= JOB_OBJECT_LIMIT_PROCESS_TIME;
            basic.PerProcessUserTimeLimit = ticks;
        }
        if let Some(count) = limits.active_processes {
            basic.LimitFlags |= JOB_OBJECT_LIMIT_ACTIVE_PROCESS;
            basic.ActiveProcessLimit = count;
        }
        // SAFETY: the job's handle, and a valid struct of the size given.
        let set = unsafe {
            SetInformationJobObject(
                job.raw(),
                JobObjectExtendedLimitInformation,
                std::ptr::addr_of!(info).cast(),
                std::mem::size_of::<JOBOBJECT_EXTENDED_LIMIT_INFORMATION>() as u32,
            )
        };
        match set {
            0 => Err(io::Error::last_os_error()),
            _ => Ok(job),
        }
    }

    /// Starts `command` inside this job: created suspended, assigned, then resumed (see the
    /// module docs). Replaces any creation flags `command` had. If it cannot be put in the
    /// job, the suspended child is ended and the error returned.
    pub fn spawn(&self, command: &mut Command) -> io::Result<Child> {
        let mut child = command.creation_flags(CREATE_SUSPENDED).spawn()?;
        let placed = self
            .assign(&child)
            .and_then(|()| resume_threads_of(child.id()));
        if let Err(error) = placed {
            let _ = child.kill();
            let _ = child.wait();
            return Err(error);
        }
        Ok(child)
    }

    /// Ends every process in the job, and in the jobs nested inside it.
    pub fn end(&self) -> io::Result<()> {
        // SAFETY: the job's handle.
        match unsafe { TerminateJobObject(self.raw(), ENDED_BY_THE_GRADER) } {
            0 => Err(io::Error::last_os_error()),
            _ => Ok(()),
        }
    }

    /// Puts `child` (still suspended) in this job; inside the job its parent is in, if any.
    fn assign(&self, child: &Child) -> io::Result<()> {
        // SAFETY: the job's handle and the child's process handle, both open.
        match unsafe { AssignProcessToJobObject(self.raw(), child.as_raw_handle()) } {
            0 => Err(io::Error::last_os_error()),
            _ => Ok(()),
        }
    }

    fn raw(&self) -> HANDLE {
        self.handle.as_raw_handle()
    }
}

/// Resumes every thread of the process `pid`: a process created suspended has one, its
/// initial thread, and std keeps no handle to it for us. Resuming a thread that is not
/// suspended changes nothing.
fn resume_threads_of(pid: u32) -> io::Result<()> {
    // SAFETY: a snapshot of every thread on the system, closed when `snapshot` drops.
    let raw = unsafe { CreateToolhelp32Snapshot(TH32CS_SNAPTHREAD, 0) };
    if raw == INVALID_HANDLE_VALUE {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a new handle that nothing else owns.
    let snapshot = unsafe { OwnedHandle::from_raw_handle(raw) };
    let mut entry = THREADENTRY32 {
        dwSize: std::mem::size_of::<THREADENTRY32>() as u32,
        ..THREADENTRY32::default()
    };
    let mut resumed = 0;
    // SAFETY: the snapshot's handle and an entry whose dwSize is set.
    let mut more = unsafe { Thread32First(snapshot.as_raw_handle(), &mut entry) } != 0;
    while more {
        if entry.th32OwnerProcessID == pid {
            // SAFETY: opens a thread by id, not inheritable; closed when `thread` drops.
            let raw = unsafe { OpenThread(THREAD_SUSPEND_RESUME, 0, entry.th32ThreadID) };
            if raw.is_null() {
                return Err(io::Error::last_os_error());
            }
            // SAFETY: a new handle that nothing else owns.
            let thread = unsafe { OwnedHandle::from_raw_handle(raw) };
            // SAFETY: a thread handle with THREAD_SUSPEND_RESUME.
            if unsafe { ResumeThread(thread.as_raw_handle()) } == u32::MAX {
                return Err(io::Error::last_os_error());
            }
            resumed += 1;
        }
        // SAFETY: as for Thread32First.
        more = unsafe { Thread32Next(snapshot.as_raw_handle(), &mut entry) } != 0;
    }
    match resumed {
        0 => Err(io::Error::other(format!(
            "process {pid} has no thread to resume"
        ))),
        _ => Ok(()),
    }
}

/// Runs `program` in a job of its own under `limits` and waits for it: `grade contain` on
/// Windows. There is no `exec` here, so `grade contain` stays, holding the job; when it
/// ends, by the program's exit or by being killed (as the test harness stops a server),
/// the job's last handle closes and every process the program left ends with it.
pub fn run_contained(
    limits: &Limits,
    program: &std::ffi::OsStr,
    args: &[std::ffi::OsString],
) -> io::Result<ExitStatus> {
    let job = Job::new(&JobLimits::for_program(limits))?;
    let mut child = job.spawn(Command::new(program).args(args))?;
    child.wait()
}

#[cfg(test)]
mod tests {
    //! Each test starts this test program again as a child, in a job, and tells it by
    //! [`ROLE`] which hostile program to be (see [`child_program`]).

    use super::*;
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    use windows_sys::Win32::Foundation::{WAIT_OBJECT_0, WAIT_TIMEOUT};
    use windows_sys::Win32::System::Threading::{
        OpenProcess, WaitForSingleObject, DETACHED_PROCESS, PROCESS_SYNCHRONIZE,
    };

    /// The environment variable naming the child's role.
    const ROLE: &str = "WEBLAB_JOB_TEST_ROLE";

    /// How long a test waits for a process to end before it fails.
    const PATIENCE_MS: u32 = 30_000;

    /// This test program, made to run only [`child_program`] as `role`.
    fn child(role: &str) -> Command {
        let name = concat!(module_path!(), "::child_program");
        let name = name.split_once("::").map_or(name, |(_, rest)| rest);
        let mut command = Command::new(std::env::current_exe().expect("this test program"));
        command
            .args([
                name,
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(ROLE, role)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit()); // a child's panic shows in the test's output
        command
    }

    /// What the child printed after `prefix`, to the end of that line. (With one test
    /// thread, libtest writes `test NAME ... ` before the test runs, on the same line.)
    /// The rest is read by a thread of its own, so that the child never writes into a
    /// closed pipe (libtest's `ok` would then fail it); that thread ends with the pipe.
    fn said(child: &mut Child, prefix: &str) -> String {
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut lines = BufReader::new(stdout).lines();
        let found = lines
            .by_ref()
            .find_map(|line| Some(line.ok()?.split_once(prefix)?.1.to_string()));
        std::thread::spawn(move || lines.for_each(drop));
        found.unwrap_or_else(|| panic!("\nexpected: the child to print a line `{prefix}...`\n"))
    }

    /// Waits at most [`PATIENCE_MS`] for `process` (a process handle) to end.
    fn ends_in_time(process: HANDLE) -> bool {
        // SAFETY: an open process handle with SYNCHRONIZE.
        unsafe { WaitForSingleObject(process, PATIENCE_MS) == WAIT_OBJECT_0 }
    }

    fn limits(memory: u64, cpu_seconds: u64, processes: u64) -> JobLimits {
        JobLimits::for_program(&Limits {
            cpu_seconds,
            memory_bytes: memory,
            processes,
        })
    }

    #[test]
    fn an_allocation_past_the_memory_limit_is_refused() {
        let job = Job::new(&limits(256 << 20, 60, 8)).expect("a job");
        let mut child = job.spawn(&mut child("allocate")).expect("start the child");
        let outcome = said(&mut child, "allocations: ");
        let _ = child.wait();
        assert_eq!(
            outcome, "8 MiB allocated, 1 GiB refused",
            "under a 256 MiB limit, a small allocation works and a large one is refused"
        );
    }

    #[test]
    fn a_detached_grandchild_ends_with_the_job_after_its_parent_exited() {
        let job = Job::new(&limits(1 << 30, 60, 8)).expect("a job");
        let mut parent = job.spawn(&mut child("parent")).expect("start the child");
        let pid: u32 = said(&mut parent, "grandchild: ").parse().expect("a pid");
        // SAFETY: opens the grandchild, alive and waiting, by its id; closed on drop.
        let raw = unsafe { OpenProcess(PROCESS_SYNCHRONIZE, 0, pid) };
        assert!(!raw.is_null(), "cannot open the grandchild {pid}");
        // SAFETY: a new handle that nothing else owns.
        let grandchild = unsafe { OwnedHandle::from_raw_handle(raw) };
        assert!(parent.wait().expect("the parent ends").success());
        // SAFETY: an open process handle with SYNCHRONIZE; 0 ms only looks.
        let alive = unsafe { WaitForSingleObject(grandchild.as_raw_handle(), 0) };
        assert_eq!(alive, WAIT_TIMEOUT, "the grandchild outlived its parent");
        job.end().expect("end the job");
        assert!(
            ends_in_time(grandchild.as_raw_handle()),
            "the detached grandchild {pid} still runs after the job was ended"
        );
    }

    #[test]
    fn the_process_limit_stops_a_spawn_loop() {
        let job = Job::new(&limits(1 << 30, 60, 4)).expect("a job");
        let mut child = job
            .spawn(&mut child("spawn loop"))
            .expect("start the child");
        // Read up to the line, not to the end: the processes it started may hold its
        // output open (Windows handles are inherited) until the job ends.
        let outcome = said(&mut child, "started ");
        job.end().expect("end the job");
        let _ = child.wait();
        // The child itself is one of the 4: it may start 3 more.
        assert!(
            outcome.starts_with("3, then refused"),
            "\nexpected: its 4th start refused (it and 3 more make the limit of 4)\n\
             the child said: started {outcome}"
        );
    }

    #[test]
    fn the_cpu_limit_ends_an_endless_loop() {
        let job = Job::new(&limits(1 << 30, 1, 8)).expect("a job");
        let child = job.spawn(&mut child("spin")).expect("start the child");
        let ended = ends_in_time(child.as_raw_handle());
        let output = child.wait_with_output().expect("the child's output");
        let said = String::from_utf8_lossy(&output.stdout);
        assert!(
            ended && !output.status.success() && !said.contains("still spinning"),
            "\nexpected: ended by its 1 s CPU limit\nstatus: {:?}\nthe child said: {said}",
            output.status
        );
    }

    #[test]
    fn a_job_that_is_dropped_ends_its_processes() {
        let job = Job::new(&JobLimits::GRADING).expect("a job");
        let mut child = job.spawn(&mut child("wait")).expect("start the child");
        let _ = said(&mut child, "waiting");
        drop(job);
        assert!(
            ends_in_time(child.as_raw_handle()),
            "the child still runs after its job's last handle closed"
        );
        let _ = child.wait();
    }

    /// Not a test of its own: the hostile programs the tests above start in a job, one per
    /// [`ROLE`]. Ignored, so it runs only when a test starts it with its role.
    #[test]
    #[ignore = "a child program, started by the job tests"]
    fn child_program() {
        let Ok(role) = std::env::var(ROLE) else {
            return;
        };
        let forever = || std::thread::sleep(std::time::Duration::from_secs(3600));
        match role.as_str() {
            "allocate" => {
                let outcomes: Vec<String> = [("8 MiB", 8 << 20), ("1 GiB", 1 << 30)]
                    .into_iter()
                    .map(|(name, size)| {
                        let mut memory: Vec<u8> = Vec::new();
                        match memory.try_reserve_exact(size) {
                            Ok(()) => format!("{name} allocated"),
                            Err(_) => format!("{name} refused"),
                        }
                    })
                    .collect();
                println!("allocations: {}", outcomes.join(", "));
            }
            "parent" => {
                // Left running on purpose (Windows has no zombies): the test ends it with
                // the job.
                #[expect(clippy::zombie_processes, reason = "the job ends it")]
                let grandchild = child("wait")
                    .creation_flags(DETACHED_PROCESS)
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .expect("start the grandchild");
                println!("grandchild: {}", grandchild.id());
            }
            "spawn loop" => {
                let mut started = Vec::new();
                let refused = loop {
                    if started.len() == 64 {
                        break "none refused".to_string();
                    }
                    match child("wait").stdout(Stdio::null()).spawn() {
                        Ok(process) => started.push(process),
                        Err(error) => break format!("then refused: {error}"),
                    }
                };
                println!("started {}, {refused}", started.len());
            }
            "spin" => {
                let until = std::time::Instant::now() + std::time::Duration::from_secs(60);
                while std::time::Instant::now() < until {
                    std::hint::black_box(0u64);
                }
                println!("still spinning after 60 s");
            }
            "wait" => {
                println!("waiting");
                forever();
            }
            other => panic!("no such role: {other}"),
        }
    }
}
