//! Sending a file's bytes to a socket: the one platform-specific corner of the server.
//!
//! On Linux, `sendfile(2)` moves the bytes from the page cache to the socket inside the
//! kernel: no copy into this process and one system call per large piece. (Rust's
//! `std::io::copy` no longer does this for a `File` into a `TcpStream`: the file could be
//! changed while its pages still sit in the socket's send buffer, and std chose to be safe.
//! A static file server accepts that risk, as nginx and darkhttpd do.)
//!
//! Everywhere else, and if `sendfile` is refused, a plain read/write loop with a 64 KiB
//! buffer does the same job portably.

use std::fs::File;
use std::io::{self, Read, Write};
use std::net::TcpStream;

/// The buffer of the portable copy loop.
const COPY_BUFFER: usize = 64 * 1024;

/// Sends the rest of `file`, at most `len` bytes, to `stream`. Returns the bytes sent; an
/// error means the client went away or stopped reading for longer than the write timeout.
pub(crate) fn send_file(file: &mut File, stream: &mut TcpStream, len: u64) -> io::Result<u64> {
    #[cfg(target_os = "linux")]
    {
        match linux::sendfile_all(file, stream, len) {
            Ok(sent) => return Ok(sent),
            Err(linux::Error::Unsupported) => {}
            Err(linux::Error::Io(e)) => return Err(e),
        }
    }
    copy_loop(file, stream, len)
}

/// The portable path: read a buffer, write it, repeat.
fn copy_loop(file: &mut File, stream: &mut TcpStream, len: u64) -> io::Result<u64> {
    let mut buffer = vec![0; COPY_BUFFER];
    let mut sent = 0;
    while sent < len {
        let want = (len - sent).min(COPY_BUFFER as u64) as usize;
        let n = match file.read(&mut buffer[..want]) {
            Ok(0) => break, // the file shrank while being sent
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        stream.write_all(&buffer[..n])?;
        sent += n as u64;
    }
    Ok(sent)
}

#[cfg(target_os = "linux")]
mod linux {
    use std::fs::File;
    use std::io;
    use std::net::TcpStream;
    use std::os::fd::AsRawFd;

    pub(super) enum Error {
        /// sendfile refused before sending anything: use the portable loop.
        Unsupported,
        Io(io::Error),
    }

    /// The most one sendfile call is asked to move (the kernel caps it near 2 GiB anyway).
    const MAX_CHUNK: u64 = 1 << 30;

    pub(super) fn sendfile_all(file: &File, stream: &TcpStream, len: u64) -> Result<u64, Error> {
        let mut sent: u64 = 0;
        while sent < len {
            let chunk = (len - sent).min(MAX_CHUNK) as usize;
            // SAFETY: both descriptors are open for the duration of the call; a null offset
            // makes the kernel use and advance the file's own position.
            let n = unsafe {
                libc::sendfile(
                    stream.as_raw_fd(),
                    file.as_raw_fd(),
                    std::ptr::null_mut(),
                    chunk,
                )
            };
            match n {
                0 => break, // the file shrank while being sent
                n if n > 0 => sent += n as u64,
                _ => {
                    let error = io::Error::last_os_error();
                    match error.raw_os_error() {
                        Some(libc::EINTR) => continue,
                        Some(libc::EINVAL | libc::ENOSYS) if sent == 0 => {
                            return Err(Error::Unsupported)
                        }
                        // A blocking socket with a write timeout reports the timeout as EAGAIN.
                        Some(libc::EAGAIN) => {
                            return Err(Error::Io(io::Error::new(
                                io::ErrorKind::TimedOut,
                                "client stopped reading",
                            )))
                        }
                        _ => return Err(Error::Io(error)),
                    }
                }
            }
        }
        Ok(sent)
    }
}
