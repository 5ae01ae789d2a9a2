//! Containment: what keeps one student's program from harming the grading of the others,
//! or the machine. Each piece is one small function named for what it does, gated to the
//! platforms that have it; elsewhere it answers `Unsupported` (or false) and the class
//! runner goes on without it. What holds where:
//!
//! | piece | Linux | macOS | Windows |
//! |-------|-------|-------|---------|
//! | a time limit per submission, then its grading is ended | yes | yes | yes |
//! | its whole process group ended when its grading ends ([`end_process_group`]) | yes | yes | the grading process only |
//! | CPU time, address space, processes ([`apply_limits`], setrlimit) | yes | CPU and processes (macOS does not enforce an address-space limit) | no |
//! | as root: each job slot runs its programs as its own unprivileged user ([`become_user`]), so the process limit counts that submission alone, and every process it left, even one that left its process group, is ended ([`end_every_process_of_this_user`]) | yes | yes | no |
//! | a private network with its own loopback ([`enter_private_network`]) | where user or network namespaces are permitted | no | no |
//!
//! `RLIMIT_NPROC` counts every process and thread of a *real user*, and does not bind root
//! at all. So as root each job slot gets its own uid; as an ordinary user the limit would
//! count the instructor's own programs too, and is not set (see exercises/README.md).

#[cfg(unix)]
use std::io;

/// The limits put on each process a submission's programs start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// CPU seconds each process may use (`RLIMIT_CPU`): an endless loop ends there.
    pub cpu_seconds: u64,
    /// Bytes of address space each process may map (`RLIMIT_AS`): a 20 GB allocation fails.
    pub memory_bytes: u64,
    /// Processes and threads its user may have at once (`RLIMIT_NPROC`): a fork bomb stops
    /// there. Set only when the programs run as a user of their own (see the module docs).
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
pub fn end_process_group(leader: u32) {
    #[cfg(unix)]
    // SAFETY: kill only sends a signal; a negative pid names the whole group.
    unsafe {
        libc::kill(-(leader as libc::pid_t), libc::SIGKILL);
    }
    #[cfg(not(unix))]
    let _ = leader;
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

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    /// Runs `check` in a child process whose limits `apply_limits` set, so this test
    /// process keeps its own.
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
