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

/// The portable path: read a buffer, write it, repeat. (Generic so that its tests can
/// hand it a file that fails or is interrupted.)
fn copy_loop(file: &mut impl Read, stream: &mut impl Write, len: u64) -> io::Result<u64> {
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
        /// sendfile refused the file (some file systems, procfs) before sending anything:
        /// use the portable loop.
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
            // sendfile returns the bytes it moved, or -1 for an error.
            match u64::try_from(n) {
                Ok(0) => break, // the file shrank while being sent
                Ok(n) => sent += n,
                Err(_) => {
                    let error = io::Error::last_os_error();
                    match error.raw_os_error() {
                        Some(libc::EINTR) => continue,
                        Some(libc::EINVAL | libc::ENOSYS) if sent == 0 => {
                            return Err(Error::Unsupported)
                        }
                        _ => return Err(Error::Io(error)),
                    }
                }
            }
        }
        Ok(sent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Seek, SeekFrom};
    use std::net::{Shutdown, TcpListener};
    use std::thread;

    type Sender = fn(&mut File, &mut TcpStream, u64) -> io::Result<u64>;

    /// Both ways of sending: the one this platform uses, and the portable loop.
    const SENDERS: [(&str, Sender); 2] = [("send_file", send_file), ("copy_loop", copy_loop)];

    /// A file of `len` bytes, each its position modulo 251 (so misplaced bytes show).
    fn numbered_file(len: usize) -> File {
        let mut file = tempfile::tempfile().expect("a temporary file");
        let bytes: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        file.write_all(&bytes).expect("fill the file");
        file.seek(SeekFrom::Start(0)).expect("rewind");
        file
    }

    /// Sends `len` bytes of `file` from `from` with `sender`; returns what the call
    /// answered and what the other end received.
    fn send(sender: Sender, mut file: File, from: u64, len: u64) -> (io::Result<u64>, Vec<u8>) {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind on loopback");
        let mut client =
            TcpStream::connect(listener.local_addr().expect("address")).expect("connect");
        let (mut server, _) = listener.accept().expect("accept");
        let receiver = thread::spawn(move || {
            let mut received = Vec::new();
            client.read_to_end(&mut received).map(|_| received)
        });
        file.seek(SeekFrom::Start(from)).expect("seek");
        let answer = sender(&mut file, &mut server, len);
        server.shutdown(Shutdown::Write).expect("end the stream");
        let received = receiver.join().expect("the receiver").expect("receive");
        (answer, received)
    }

    fn expected(from: usize, len: usize) -> Vec<u8> {
        (from..from + len).map(|i| (i % 251) as u8).collect()
    }

    #[test]
    fn a_whole_file_larger_than_one_buffer_arrives_intact() {
        let len = 3 * COPY_BUFFER + 7;
        for (name, sender) in SENDERS {
            let (answer, received) = send(sender, numbered_file(len), 0, len as u64);
            assert_eq!(answer.expect(name), len as u64, "{name}");
            assert!(received == expected(0, len), "{name}: the bytes differ");
        }
    }

    #[test]
    fn a_range_sends_exactly_its_bytes_from_the_current_position() {
        let len = 2 * COPY_BUFFER;
        let (from, count) = (COPY_BUFFER - 5, COPY_BUFFER / 2 + 3);
        for (name, sender) in SENDERS {
            let file = numbered_file(len);
            let (answer, received) = send(sender, file, from as u64, count as u64);
            assert_eq!(answer.expect(name), count as u64, "{name}");
            assert!(
                received == expected(from, count),
                "{name}: the bytes differ"
            );
        }
    }

    #[test]
    fn a_range_longer_than_one_buffer_stops_at_its_end() {
        let count = 2 * COPY_BUFFER + 5;
        for (name, sender) in SENDERS {
            let (answer, received) = send(sender, numbered_file(4 * COPY_BUFFER), 0, count as u64);
            assert_eq!(answer.expect(name), count as u64, "{name}");
            assert!(received == expected(0, count), "{name}: the bytes differ");
        }
    }

    #[test]
    fn a_file_shorter_than_promised_sends_what_it_has() {
        for (name, sender) in SENDERS {
            let (answer, received) = send(sender, numbered_file(1000), 0, 5000);
            assert_eq!(answer.expect(name), 1000, "{name}");
            assert_eq!(received, expected(0, 1000), "{name}");
        }
    }

    #[test]
    fn a_client_that_has_gone_is_an_error() {
        for (name, sender) in SENDERS {
            let listener = TcpListener::bind("127.0.0.1:0").expect("bind on loopback");
            let client =
                TcpStream::connect(listener.local_addr().expect("address")).expect("connect");
            let (mut server, _) = listener.accept().expect("accept");
            drop(client);
            let len = 64 * COPY_BUFFER; // more than the socket buffers take before failing
            let mut file = numbered_file(len);
            let answer = sender(&mut file, &mut server, len as u64);
            assert!(
                answer.is_err(),
                "{name}: sending to a closed socket gave {answer:?}"
            );
        }
    }

    /// A file whose first read is interrupted by a signal, then reads normally.
    struct InterruptedOnce<'a> {
        interrupted: bool,
        rest: &'a [u8],
    }

    impl Read for InterruptedOnce<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if !self.interrupted {
                self.interrupted = true;
                return Err(io::ErrorKind::Interrupted.into());
            }
            self.rest.read(buf)
        }
    }

    /// A file that fails to read, and must not be asked twice.
    struct Failing {
        reads: usize,
    }

    impl Read for Failing {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            self.reads += 1;
            assert_eq!(self.reads, 1, "read again after an error");
            Err(io::Error::other("the disk failed"))
        }
    }

    #[test]
    fn the_portable_loop_retries_an_interrupted_read() {
        let bytes = expected(0, 1000);
        let mut file = InterruptedOnce {
            interrupted: false,
            rest: &bytes,
        };
        let mut out = Vec::new();
        let sent = copy_loop(&mut file, &mut out, 1000).expect("an interrupted read is retried");
        assert_eq!((sent, out), (1000, bytes));
    }

    #[test]
    fn the_portable_loop_stops_at_a_read_error() {
        let mut out = Vec::new();
        let answer = copy_loop(&mut Failing { reads: 0 }, &mut out, 1000);
        let error = answer.expect_err("a read error is the answer");
        assert_eq!(error.to_string(), "the disk failed");
    }

    /// Linux's sendfile refuses some files (procfs ones, such as this one, on current
    /// kernels): the portable loop then sends them.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_file_sendfile_refuses_is_sent_by_the_portable_loop() {
        let path = "/proc/self/cmdline";
        let contents = std::fs::read(path).expect("read this process's command line");
        let file = File::open(path).expect("open it");
        let (answer, received) = send(send_file, file, 0, contents.len() as u64);
        assert_eq!(answer.expect("sent"), contents.len() as u64);
        assert_eq!(received, contents);
    }
}
