//! Measurements that only some platforms offer cheaply. Each returns `None` elsewhere, and
//! the tests that use them say they skipped that check.

/// The peak resident memory of a process in KiB, where the platform tells it cheaply
/// (Linux's /proc). Elsewhere `None`, and memory tests say they were skipped.
pub fn peak_memory_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Closes `stream` with a reset (RST) instead of a normal close (FIN), as a client that
/// crashes or loses its network does: SO_LINGER with a zero timeout, on Unix. Returns false
/// where that is not available, and the stream is simply closed.
pub fn reset(stream: std::net::TcpStream) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::io::AsRawFd;
        let linger = libc::linger {
            l_onoff: 1,
            l_linger: 0,
        };
        // SAFETY: setsockopt reads `linger`, a valid struct of the size given, on a socket
        // this function owns until it returns.
        let set = unsafe {
            libc::setsockopt(
                stream.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_LINGER,
                std::ptr::addr_of!(linger).cast(),
                std::mem::size_of::<libc::linger>() as libc::socklen_t,
            )
        };
        set == 0
    }
    #[cfg(not(unix))]
    {
        drop(stream);
        false
    }
}

/// The CPU time (user and system) a process has used so far, where Linux's /proc tells.
/// Elsewhere `None`, and CPU checks say they were skipped.
pub fn cpu_time(pid: u32) -> Option<std::time::Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name, field 2, is in parentheses and may hold spaces: count from after it.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    // utime and stime are fields 14 and 15, in clock ticks (fields[11] and [12] here).
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    #[cfg(unix)]
    // SAFETY: sysconf only reads a configuration value.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    #[cfg(not(unix))]
    let per_second = 100;
    let per_second = u64::try_from(per_second).ok().filter(|&n| n > 0)?;
    Some(std::time::Duration::from_millis(ticks * 1000 / per_second))
}

/// Whether `port` on 127.0.0.1 can be bound without `SO_REUSEADDR`, as a server that does
/// not set it binds: not while an earlier server's connections linger in TIME_WAIT. Rust's
/// own `TcpListener::bind` sets it on Unix, so this binds with libc there. (Windows binds
/// without it, and its `SO_REUSEADDR` means something else.)
pub fn port_is_bindable_without_reuse(port: u16) -> bool {
    #[cfg(unix)]
    {
        // SAFETY: a socket opened, bound with a valid sockaddr_in, and closed here.
        unsafe {
            let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0);
            if fd == -1 {
                return false;
            }
            let mut address: libc::sockaddr_in = std::mem::zeroed();
            address.sin_family = libc::AF_INET as libc::sa_family_t;
            address.sin_port = port.to_be();
            address.sin_addr.s_addr = u32::from(std::net::Ipv4Addr::LOCALHOST).to_be();
            let bound = libc::bind(
                fd,
                std::ptr::addr_of!(address).cast(),
                std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
            );
            libc::close(fd);
            bound == 0
        }
    }
    #[cfg(not(unix))]
    {
        std::net::TcpListener::bind(("127.0.0.1", port)).is_ok()
    }
}
