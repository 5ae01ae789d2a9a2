//! Containment: what keeps one student's program from harming the grading of the others,
//! or the machine. Each piece is one small function named for what it does, gated to the
//! platforms that have it; elsewhere it answers `Unsupported` (or false) and the class
//! runner goes on without it. What holds where:
//!
//! | piece | Linux | macOS | Windows |
//! |-------|-------|-------|---------|
//! | a time limit per submission, then its grading is ended | yes | yes | yes |
//! | everything its grading started ended when it ends ([`ProcessTree`]) | its process group | its process group | its job object: every process, even one started detached or whose parent exited |
//! | CPU time per process | `RLIMIT_CPU` (user and system time) | `RLIMIT_CPU` | user-mode time, in the program's job ([`JobLimits`]) |
//! | memory per process | address space, `RLIMIT_AS` | no (macOS does not enforce `RLIMIT_AS`) | committed memory, in the program's job |
//! | processes | as root: `RLIMIT_NPROC`, processes and threads of the slot's user, that is of the whole submission | as root, likewise | always: processes (not threads) in each program's job |
//! | as root: each job slot runs its programs as its own unprivileged user (`become_user`), and every process it left, even one that left its process group, is ended (`end_every_process_of_this_user`) | yes | yes | no users; the job ends them all |
//! | a private network with its own loopback (`enter_private_network`) | where user or network namespaces are permitted | no | no |
//!
//! The Unix-only functions (`become_user`, `end_every_process_of_this_user`, and Linux's
//! `enter_private_network`) are named here without links: they, and their docs, exist
//! only where they are compiled, and these docs are built for Windows and macOS too.
//!
//! `RLIMIT_NPROC` counts every process and thread of a *real user*, and does not bind root
//! at all. So as root each job slot gets its own uid; as an ordinary user the limit would
//! count the instructor's own programs too, and is not set (see exercises/README.md).
//!
//! Windows has no `setrlimit` but has job objects (`contain/windows.rs`), which need no
//! privilege: `grade class` puts each submission's grading in a job, ended at its end, and
//! `grade contain` puts each program of the student's in a job of its own, nested inside,
//! with the limits ([`JobLimits::for_program`]). The limits thus bind the student's
//! programs and not the grader's build, as on Unix; the process limit counts each
//! program's processes (a server and all it starts), not the whole submission's. The
//! Windows code is compiled and linted on Linux, and its tests (a refused allocation, a
//! detached grandchild ended with the job, a spawn loop stopped, an endless loop ended by
//! its CPU limit) run only on a Windows machine.

#[cfg(unix)]
use std::io;

/// The limits put on each process a submission's programs start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// CPU seconds each process may use (`RLIMIT_CPU`; on Windows user-mode time, see
    /// [`JobLimits`]): an endless loop ends there.
    pub cpu_seconds: u64,
    /// Bytes of address space each process may map (`RLIMIT_AS`; on Windows bytes of
    /// memory committed): a 20 GB allocation fails.
    pub memory_bytes: u64,
    /// Processes and threads its user may have at once (`RLIMIT_NPROC`): a fork bomb stops
    /// there. Set on Unix only when the programs run as a user of their own (see the module
    /// docs); on Windows always, counting the processes (not threads) of each program.
    pub processes: u64,
}

impl Default for Limits {
    /// One minute of CPU per process (a server runs for one behaviour, a second or two),
    /// 4 GiB of address space (a Python or Java server reserves far more than it uses),
    /// and 256 processes and threads (a thread per connection for 50 clients fits).
    fn default() -> Limits {
        Limits {
            cpu_seconds: 60,
            memory_bytes: 4 << 30,
            processes: 256,
        }
    }
}

/// Whether the process limit holds for an ordinary user too: on Windows, where each
/// program's job counts its own processes; on Unix only as root (see the module docs).
pub const PROCESS_LIMIT_WITHOUT_ROOT: bool = cfg!(windows);

/// What a Windows job object enforces on each process in it, worked out from [`Limits`].
/// Built on every system, so that the numbers can be tested anywhere; `contain/windows.rs`
/// hands them to the job, which also always ends its processes when its last handle closes
/// and lets none break away. `None` sets no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobLimits {
    /// Bytes of committed memory each process may have (`JOB_OBJECT_LIMIT_PROCESS_MEMORY`):
    /// an allocation past it fails, as one past `RLIMIT_AS` does. Windows counts memory
    /// committed, not address space reserved, so a program that reserves much and uses
    /// little (a Java or Go runtime) fits more easily than under `RLIMIT_AS`.
    pub process_memory: Option<usize>,
    /// User-mode CPU time each process may use, in the 100 ns ticks Windows counts
    /// (`JOB_OBJECT_LIMIT_PROCESS_TIME`): past it the process is ended, as `RLIMIT_CPU`
    /// ends it with `SIGXCPU`/`SIGKILL`. Time spent in the kernel is not counted.
    pub process_cpu_ticks: Option<i64>,
    /// Processes that may be in the job at once (`JOB_OBJECT_LIMIT_ACTIVE_PROCESS`): one
    /// more fails to start. Threads are not counted, unlike `RLIMIT_NPROC`'s.
    pub active_processes: Option<u32>,
}

impl JobLimits {
    /// A submission's grading: no limit, only that everything in it ends together. The
    /// grader's own programs (`grade all`, cargo, the compiler, the test suite) run in it,
    /// and the student's programs each in a job of their own inside it.
    pub const GRADING: JobLimits = JobLimits {
        process_memory: None,
        process_cpu_ticks: None,
        active_processes: None,
    };

    /// One program of the student's, started by `grade contain`, under `limits`. The
    /// program is the job's first process, so it and `limits.processes - 1` more may run
    /// at once. A value too large for Windows' field becomes the largest it holds.
    pub fn for_program(limits: &Limits) -> JobLimits {
        JobLimits {
            process_memory: Some(usize::try_from(limits.memory_bytes).unwrap_or(usize::MAX)),
            process_cpu_ticks: Some(
                i64::try_from(limits.cpu_seconds.saturating_mul(TICKS_PER_SECOND))
                    .unwrap_or(i64::MAX),
            ),
            active_processes: Some(u32::try_from(limits.processes).unwrap_or(u32::MAX)),
        }
    }
}

/// Windows counts CPU time in 100 ns ticks.
const TICKS_PER_SECOND: u64 = 10_000_000;

#[cfg(windows)]
mod windows;
#[cfg(windows)]
pub use windows::{run_contained, Job};

/// A submission's grading process and everything it starts, to be ended together: on Unix
/// its process group (which it leads), on Windows a job object it was put in before it ran
/// its first instruction.
pub struct ProcessTree {
    #[cfg(unix)]
    leader: u32,
    #[cfg(windows)]
    job: Job,
}

impl ProcessTree {
    /// Starts `command` as the root of a new tree: in a process group of its own (Unix) or
    /// in a job of its own (Windows, see `contain/windows.rs`).
    pub fn spawn(
        command: &mut std::process::Command,
    ) -> std::io::Result<(std::process::Child, ProcessTree)> {
        #[cfg(unix)]
        {
            use std::os::unix::process::CommandExt;
            // SAFETY: the closure runs between fork and exec and calls only setpgid.
            unsafe {
                command.pre_exec(start_own_process_group);
            }
            let child = command.spawn()?;
            let leader = child.id();
            Ok((child, ProcessTree { leader }))
        }
        #[cfg(windows)]
        {
            let job = Job::new(&JobLimits::GRADING)?;
            let child = job.spawn(command)?;
            Ok((child, ProcessTree { job }))
        }
        #[cfg(not(any(unix, windows)))]
        {
            let child = command.spawn()?;
            Ok((child, ProcessTree {}))
        }
    }

    /// Ends (SIGKILL, `TerminateJobObject`) every process still in the tree. Elsewhere it
    /// does nothing; the caller still waits for the root.
    pub fn end(&self) {
        #[cfg(unix)]
        end_process_group(self.leader);
        #[cfg(windows)]
        let _ = self.job.end();
    }
}

/// An unprivileged user (and group) to run a submission's programs as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct User {
    /// Its user id; never 0.
    pub uid: u32,
    /// Its group id.
    pub gid: u32,
}

/// Whether this process runs as root, and so may give each submission a user of its own.
pub fn is_root() -> bool {
    #[cfg(unix)]
    {
        // SAFETY: geteuid has no preconditions and cannot fail.
        unsafe { libc::geteuid() == 0 }
    }
    #[cfg(not(unix))]
    false
}

/// Turns the result of a libc call (-1 on failure) into an `io::Result`.
#[cfg(unix)]
fn check(result: libc::c_int) -> io::Result<()> {
    match result {
        -1 => Err(io::Error::last_os_error()),
        _ => Ok(()),
    }
}

/// Sets this process's [`Limits`] for itself and every process it starts. Calls nothing but
/// `setrlimit`, so it may run between `fork` and `exec`.
#[cfg(unix)]
pub fn apply_limits(limits: &Limits, with_processes: bool) -> io::Result<()> {
    let set = |resource, value: u64| {
        let mut current = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit writes one valid rlimit struct.
        check(unsafe { libc::getrlimit(resource, &mut current) })?;
        // Never above the hard limit this process already has: only root may raise it.
        let value = (value as libc::rlim_t).min(current.rlim_max);
        let limit = libc::rlimit {
            rlim_cur: value,
            rlim_max: value,
        };
        // SAFETY: setrlimit reads one valid rlimit struct.
        check(unsafe { libc::setrlimit(resource, &limit) })
    };
    set(libc::RLIMIT_CPU, limits.cpu_seconds)?;
    // macOS takes an address-space limit without enforcing it, and may refuse it outright:
    // then there is none, and the other limits still hold.
    let memory = set(libc::RLIMIT_AS, limits.memory_bytes);
    if cfg!(target_os = "linux") {
        memory?;
    }
    if with_processes {
        set(libc::RLIMIT_NPROC, limits.processes)?;
    }
    Ok(())
}

/// Becomes `user`, with no supplementary groups; for good, as root can no longer switch
/// back. Calls nothing but the three system calls, so it may run between `fork` and `exec`.
#[cfg(unix)]
pub fn become_user(user: User) -> io::Result<()> {
    if user.uid == 0 {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "uid 0 is root"));
    }
    // SAFETY: plain system calls on this process's credentials; an empty group list.
    unsafe {
        check(libc::setgroups(0, std::ptr::null()))?;
        check(libc::setgid(user.gid as libc::gid_t))?;
        check(libc::setuid(user.uid as libc::uid_t))
    }
}

/// Makes this process the leader of a new process group, so that everything it starts can
/// be ended at once. May run between `fork` and `exec`.
#[cfg(unix)]
pub fn start_own_process_group() -> io::Result<()> {
    // SAFETY: setpgid on this process itself.
    check(unsafe { libc::setpgid(0, 0) })
}

/// Ends (SIGKILL) every process still in the process group `leader` started.
#[cfg(unix)]
pub fn end_process_group(leader: u32) {
    // SAFETY: kill only sends a signal; a negative pid names the whole group.
    unsafe {
        libc::kill(-(leader as libc::pid_t), libc::SIGKILL);
    }
}

/// Ends every process this process's user may signal (all of its own), for a submission's
/// user once its grading is over: a process that left the process group is ended too.
/// Refuses to run as root, where it would end everything.
#[cfg(unix)]
pub fn end_every_process_of_this_user() -> io::Result<()> {
    if is_root() {
        return Err(io::Error::new(io::ErrorKind::PermissionDenied, "as root"));
    }
    // kill(-1) signals them all at once (no new process can be forked meanwhile), but a
    // fork already under way may finish: repeat until none is left, a bounded number of
    // times.
    for _ in 0..100 {
        // SAFETY: kill only sends a signal; -1 means every process this user may signal,
        // this one excepted.
        if unsafe { libc::kill(-1, libc::SIGKILL) } == -1 {
            return Ok(()); // ESRCH: there is none left
        }
    }
    Ok(())
}

/// What a process needs to enter a private network: for an ordinary user, a user namespace
/// too, with the maps that make it root inside. Prepared before `fork`, so that
/// [`enter_private_network`] allocates nothing.
#[cfg(target_os = "linux")]
pub struct PrivateNetwork {
    /// `/proc/self/uid_map` and `gid_map` lines, for an ordinary user; none for root.
    maps: Option<(Vec<u8>, Vec<u8>)>,
}

#[cfg(target_os = "linux")]
impl PrivateNetwork {
    /// What this process (root or not) needs to give a child a private network.
    pub fn prepare() -> PrivateNetwork {
        // SAFETY: getuid and getgid cannot fail.
        let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
        PrivateNetwork {
            maps: (!is_root()).then(|| {
                (
                    format!("0 {uid} 1\n").into_bytes(),
                    format!("0 {gid} 1\n").into_bytes(),
                )
            }),
        }
    }
}

/// Moves this process into a network namespace of its own, whose only interface is its own
/// loopback, brought up here: its servers may all listen on the same port as everyone
/// else's, and it reaches no network beyond 127.0.0.1 and ::1. An ordinary user needs a
/// user namespace for that (where the system permits them), which this process must enter
/// while single-threaded, as between `fork` and `exec`; root needs none, and so a thread
/// may call it to give only itself (and the threads and processes it starts) a private
/// network. Allocates nothing.
#[cfg(target_os = "linux")]
pub fn enter_private_network(network: &PrivateNetwork) -> io::Result<()> {
    // SAFETY: unshare, open, write and close on this process and the files it opens here.
    unsafe {
        match &network.maps {
            None => check(libc::unshare(libc::CLONE_NEWNET))?,
            Some((uid_map, gid_map)) => {
                check(libc::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNET))?;
                // An unprivileged user must refuse setgroups before writing a gid map.
                write_file(c"/proc/self/setgroups", b"deny")?;
                write_file(c"/proc/self/uid_map", uid_map)?;
                write_file(c"/proc/self/gid_map", gid_map)?;
            }
        }
    }
    bring_up_loopback()
}

/// Writes `bytes` to the file at `path` in one `write`, as /proc's id maps require.
#[cfg(target_os = "linux")]
fn write_file(path: &std::ffi::CStr, bytes: &[u8]) -> io::Result<()> {
    // SAFETY: a valid C string; the descriptor is closed on every path.
    unsafe {
        let fd = libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
        check(fd)?;
        let written = libc::write(fd, bytes.as_ptr().cast(), bytes.len());
        libc::close(fd);
        match written == bytes.len() as isize {
            true => Ok(()),
            false => Err(io::Error::last_os_error()),
        }
    }
}

/// Sets the `lo` interface up, as `ip link set lo up` does: a new network namespace starts
/// with it down.
#[cfg(target_os = "linux")]
fn bring_up_loopback() -> io::Result<()> {
    // SAFETY: ioctl on a socket opened here, with a zeroed ifreq holding the name "lo";
    // the socket is closed on every path.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
        check(fd)?;
        let mut request: libc::ifreq = std::mem::zeroed();
        for (slot, byte) in request.ifr_name.iter_mut().zip(b"lo") {
            *slot = *byte as libc::c_char;
        }
        let mut result = libc::ioctl(fd, libc::SIOCGIFFLAGS, &mut request);
        if result != -1 {
            request.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
            result = libc::ioctl(fd, libc::SIOCSIFFLAGS, &request);
        }
        let error = io::Error::last_os_error();
        libc::close(fd);
        match result {
            -1 => Err(error),
            _ => Ok(()),
        }
    }
}

/// Runs `program` in place of this process, under `limits`, and as `user` when one is
/// given (then with the process limit too): `grade contain`, which grading puts in front
/// of every student program it starts. Returns only if that fails.
#[cfg(unix)]
pub fn exec_contained(
    limits: &Limits,
    user: Option<User>,
    program: &std::ffi::OsStr,
    args: &[std::ffi::OsString],
) -> io::Error {
    use std::os::unix::process::CommandExt;
    if let Err(error) = apply_limits(limits, user.is_some()) {
        return error;
    }
    if let Some(Err(error)) = user.map(become_user) {
        return error;
    }
    std::process::Command::new(program).args(args).exec()
}

/// How many processes of `uid` exist, zombies included (they still count against its
/// process limit until their parent reaps them), where the system tells it cheaply
/// (Linux's /proc). Elsewhere `None`.
pub fn processes_of(uid: u32) -> Option<usize> {
    #[cfg(target_os = "linux")]
    {
        let mut count = 0;
        for entry in std::fs::read_dir("/proc").ok()?.flatten() {
            let status = std::fs::read_to_string(entry.path().join("status")).unwrap_or_default();
            let real_uid = status
                .lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|ids| ids.split_whitespace().next())
                .and_then(|id| id.parse::<u32>().ok());
            count += usize::from(real_uid == Some(uid));
        }
        Some(count)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = uid;
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_programs_job_gets_the_same_limits_as_setrlimit() {
        let limits = Limits {
            cpu_seconds: 60,
            memory_bytes: 4 << 30,
            processes: 256,
        };
        assert_eq!(
            JobLimits::for_program(&limits),
            JobLimits {
                process_memory: Some(4 << 30),
                process_cpu_ticks: Some(600_000_000),
                active_processes: Some(256),
            }
        );
    }

    #[test]
    fn a_limit_too_large_for_windows_becomes_the_largest_it_holds() {
        let huge = Limits {
            cpu_seconds: u64::MAX,
            memory_bytes: u64::MAX,
            processes: u64::MAX,
        };
        assert_eq!(
            JobLimits::for_program(&huge),
            JobLimits {
                process_memory: Some(usize::MAX),
                process_cpu_ticks: Some(i64::MAX),
                active_processes: Some(u32::MAX),
            }
        );
        // Just past what the tick count holds, and just below.
        let seconds = i64::MAX as u64 / TICKS_PER_SECOND;
        let ticks = |cpu_seconds| {
            JobLimits::for_program(&Limits {
                cpu_seconds,
                ..huge
            })
            .process_cpu_ticks
        };
        assert_eq!(ticks(seconds), Some((seconds * TICKS_PER_SECOND) as i64));
        assert_eq!(ticks(seconds + 1), Some(i64::MAX));
    }

    /// Runs `check` in a child process whose limits `apply_limits` set, so this test
    /// process keeps its own.
    #[cfg(unix)]
    #[test]
    fn limits_are_set_and_never_raise_a_hard_limit() {
        use std::os::unix::process::CommandExt;
        let limits = Limits {
            cpu_seconds: 7,
            memory_bytes: 3 << 30,
            processes: 99,
        };
        let mut command = std::process::Command::new("sh");
        command.args(["-c", "ulimit -t; ulimit -H -t"]);
        // SAFETY: the closure only calls getrlimit and setrlimit.
        unsafe {
            command.pre_exec(move || {
                let lower = libc::rlimit {
                    rlim_cur: 5,
                    rlim_max: 5,
                };
                check(libc::setrlimit(libc::RLIMIT_CPU, &lower))?;
                apply_limits(&limits, false)
            });
        }
        let ran = command.output().expect("run sh");
        let said = String::from_utf8_lossy(&ran.stdout);
        // Asked for 7 s under a hard limit of 5 s: 5 s, and the child still ran.
        assert_eq!(said, "5\n5\n", "{}", String::from_utf8_lossy(&ran.stderr));
    }
}
