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
