//! Writing a response to a socket, a piece at a time: the head, then the file.
//!
//! An [`Outgoing`] remembers how far it got, so that writing can stop whenever the socket
//! is full and go on later. The event loop writes to non-blocking sockets and resumes when
//! the poller says the socket is writable again; `single` and `threaded` modes write to
//! blocking sockets, where "full" means that the write timeout passed without progress.
//!
//! On Linux the file's bytes go out with `sendfile(2)`, which moves them from the page cache
//! to the socket inside the kernel: no copy into this process, one system call per large
//! piece, and the file's own position is the offset that resumes it. (Rust's
//! `std::io::copy` no longer does this for a `File` into a `TcpStream`: the file could be
//! changed while its pages still sit in the socket's send buffer, and std chose to be safe.
//! A static file server accepts that risk, as nginx and darkhttpd do.) Everywhere else, and
//! if `sendfile` refuses the file, a portable read-then-write step with a 64 KiB buffer does
//! the same job. Small files are read whole into the head's buffer instead, so that a small
//! response leaves in a single write.

use std::fs::File;
use std::io::{self, Read, Write};
use std::net::TcpStream;

/// The buffer of the portable path.
const COPY_BUFFER: usize = 64 * 1024;
/// Files up to this size are sent in the same write as the head.
pub(crate) const INLINE_FILE: u64 = 16 * 1024;

/// Where writing stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flow {
    /// Every byte is written.
    Done,
    /// The socket takes no more for now.
    Full,
}

/// A response on its way out: bytes in memory (the head, maybe a small body), then maybe
/// the rest of an open file.
#[derive(Debug)]
pub(crate) struct Outgoing {
    /// Bytes to write before anything from `file`: the head and a small body or, on the
    /// portable path, the piece of the file read last.
    bytes: Vec<u8>,
    /// How many of `bytes` are written.
    written: usize,
    /// The file whose bytes follow, positioned at the next one to send.
    file: Option<File>,
    /// How many bytes of the file are still to be sent (or read, on the portable path).
    file_left: u64,
    /// Whether `sendfile` refused this file, so the portable path sends it.
    copy: bool,
    /// Every byte written so far, for the access log.
    pub(crate) sent: u64,
}

impl Outgoing {
    /// A response of `head` followed by `len` bytes of `file` from its current position.
    /// A small file is read into memory at once, behind the head.
    pub(crate) fn new(head: Vec<u8>, file: Option<(File, u64)>) -> Outgoing {
        let mut outgoing = Outgoing {
            bytes: head,
            written: 0,
            file: None,
            file_left: 0,
            copy: !cfg!(target_os = "linux"),
            sent: 0,
        };
        if let Some((mut file, len)) = file {
            outgoing.file_left = len;
            if len <= INLINE_FILE {
                outgoing.read_inline(&mut file);
            } else {
                outgoing.file = Some(file);
            }
        }
        outgoing
    }

    /// Reads a small file whole behind the head. If the file is shorter than promised, the
    /// missing bytes stay in `file_left` with no file to send them, and the last write fails.
    fn read_inline(&mut self, file: &mut File) {
        let start = self.bytes.len();
        self.bytes.resize(start + self.file_left as usize, 0);
        let mut got = start;
        while got < self.bytes.len() {
            match file.read(&mut self.bytes[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        self.bytes.truncate(got);
        self.file_left -= (got - start) as u64;
    }

    /// Writes as much as the socket takes now. An error means the client went away, or
    /// the file could not be read or shrank while being sent: the response is cut short.
    pub(crate) fn write(&mut self, mut stream: &TcpStream) -> io::Result<Flow> {
        loop {
            if self.written < self.bytes.len() {
                match stream.write(&self.bytes[self.written..]) {
                    Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                    Ok(n) => {
                        self.written += n;
                        self.sent += n as u64;
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) if is_full(&e) => return Ok(Flow::Full),
                    Err(e) => return Err(e),
                }
                continue;
            }
            if self.file_left == 0 {
                return Ok(Flow::Done);
            }
            let Some(file) = self.file.as_mut() else {
                return Err(shrank());
            };
            if !self.copy {
                match sendfile_once(file, stream, self.file_left) {
                    Ok(0) => return Err(shrank()),
                    Ok(n) => {
                        self.file_left -= n;
                        self.sent += n;
                    }
                    Err(SendFileError::Unsupported) => self.copy = true,
                    Err(SendFileError::Io(e)) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(SendFileError::Io(e)) if is_full(&e) => return Ok(Flow::Full),
                    Err(SendFileError::Io(e)) => return Err(e),
                }
                continue;
            }
            // The portable path: read the next piece into the buffer; the loop writes it.
            let want = self.file_left.min(COPY_BUFFER as u64) as usize;
            self.bytes.resize(want, 0);
            self.written = 0;
            let n = loop {
                match file.read(&mut self.bytes) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        self.bytes.clear();
                        return Err(e);
                    }
                }
            };
            if n == 0 {
                self.bytes.clear();
                return Err(shrank());
            }
            self.bytes.truncate(n);
            self.file_left -= n as u64;
        }
    }
}

/// A non-blocking socket that is full says WouldBlock; a blocking one whose write timeout
/// passed says WouldBlock on Unix and TimedOut on Windows.
fn is_full(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

fn shrank() -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        "the file shrank while being sent",
    )
}

enum SendFileError {
    /// This file cannot be sent with sendfile (some file systems, procfs): use the
    /// portable path.
    Unsupported,
    /// sendfile failed: the socket is full, the client went away, or a signal came.
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    Io(io::Error),
}

/// One `sendfile(2)` call: up to `left` bytes from the file's position, which the kernel
/// advances. Returns the bytes moved; 0 means the file ended early.
#[cfg(target_os = "linux")]
fn sendfile_once(file: &File, stream: &TcpStream, left: u64) -> Result<u64, SendFileError> {
    use std::os::fd::AsRawFd;
    /// The most one call is asked to move (the kernel caps it near 2 GiB anyway).
    const MAX_CHUNK: u64 = 1 << 30;
    // SAFETY: both descriptors stay open for the duration of the call; a null offset makes
    // the kernel use and advance the file's own position.
    let n = unsafe {
        libc::sendfile(
            stream.as_raw_fd(),
            file.as_raw_fd(),
            std::ptr::null_mut(),
            left.min(MAX_CHUNK) as usize,
        )
    };
    // sendfile returns the bytes it moved, or -1 for an error.
    u64::try_from(n).map_err(|_| {
        let error = io::Error::last_os_error();
        match error.raw_os_error() {
            Some(libc::EINVAL | libc::ENOSYS) => SendFileError::Unsupported,
            _ => SendFileError::Io(error),
        }
    })
}

/// Elsewhere there is no sendfile here: the portable path is used from the start.
#[cfg(not(target_os = "linux"))]
fn sendfile_once(_: &File, _: &TcpStream, _: u64) -> Result<u64, SendFileError> {
    Err(SendFileError::Unsupported)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Seek, SeekFrom};
    use std::net::{Shutdown, TcpListener};
    use std::thread;

    /// A file of `len` bytes, each its position modulo 251 (so misplaced bytes show).
    fn numbered_file(len: usize) -> File {
        let mut file = tempfile::tempfile().expect("a temporary file");
        let bytes: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        file.write_all(&bytes).expect("fill the file");
        file.seek(SeekFrom::Start(0)).expect("rewind");
        file
    }

    fn expected(from: usize, len: usize) -> Vec<u8> {
        (from..from + len).map(|i| (i % 251) as u8).collect()
    }

    /// Writes `outgoing` whole to a blocking socket, as `single` and `threaded` modes do;
    /// returns what writing answered, the bytes counted as sent, and what the other end
    /// received.
    fn send(mut outgoing: Outgoing) -> (io::Result<Flow>, u64, Vec<u8>) {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind on loopback");
        let mut client =
            TcpStream::connect(listener.local_addr().expect("address")).expect("connect");
        let (server, _) = listener.accept().expect("accept");
        let receiver = thread::spawn(move || {
            let mut received = Vec::new();
            client.read_to_end(&mut received).map(|_| received)
        });
        let answer = outgoing.write(&server);
        server.shutdown(Shutdown::Write).expect("end the stream");
        let received = receiver.join().expect("the receiver").expect("receive");
        (answer, outgoing.sent, received)
    }

    /// Every way a file goes out: sendfile where there is one, and the portable path.
    fn both_paths(file: impl Fn() -> File, len: u64) -> Vec<(&'static str, Outgoing)> {
        let mut portable = Outgoing::new(b"head".to_vec(), Some((file(), len)));
        portable.copy = true;
        let usual = Outgoing::new(b"head".to_vec(), Some((file(), len)));
        vec![("usual", usual), ("portable", portable)]
    }

    #[test]
    fn a_large_file_follows_its_head_intact() {
        let len = 3 * COPY_BUFFER + 7;
        for (name, outgoing) in both_paths(|| numbered_file(len), len as u64) {
            let (answer, sent, received) = send(outgoing);
            assert_eq!(answer.expect(name), Flow::Done, "{name}");
            assert_eq!(sent, 4 + len as u64, "{name}");
            assert!(received[..4] == *b"head", "{name}: the head comes first");
            assert!(
                received[4..] == expected(0, len),
                "{name}: the bytes differ"
            );
        }
    }

    #[test]
    fn a_range_sends_exactly_its_bytes_from_the_current_position() {
        let (from, count) = (COPY_BUFFER - 5, 2 * COPY_BUFFER + 3);
        let file = || {
            let mut file = numbered_file(4 * COPY_BUFFER);
            file.seek(SeekFrom::Start(from as u64)).expect("seek");
            file
        };
        for (name, outgoing) in both_paths(file, count as u64) {
            let (answer, _, received) = send(outgoing);
            assert_eq!(answer.expect(name), Flow::Done, "{name}");
            assert!(received[4..] == expected(from, count), "{name}: differ");
        }
    }

    #[test]
    fn a_small_file_goes_out_with_its_head() {
        let outgoing = Outgoing::new(b"head".to_vec(), Some((numbered_file(1000), 1000)));
        assert!(outgoing.file.is_none(), "a small file is read at once");
        assert_eq!(outgoing.bytes.len(), 1004);
        let (answer, sent, received) = send(outgoing);
        assert_eq!(answer.expect("sent"), Flow::Done);
        assert_eq!((sent, &received[4..]), (1004, &expected(0, 1000)[..]));
    }

    #[test]
    fn a_file_shorter_than_promised_sends_what_it_has_then_fails() {
        for len in [1000, 10 * COPY_BUFFER] {
            let promised = len as u64 + 5000;
            for (name, outgoing) in both_paths(|| numbered_file(len), promised) {
                let (answer, sent, received) = send(outgoing);
                let error = answer.expect_err("a short file is an error");
                assert_eq!(error.kind(), io::ErrorKind::UnexpectedEof, "{name}");
                assert_eq!(sent, 4 + len as u64, "{name} {len}");
                assert!(received[4..] == expected(0, len), "{name} {len}");
            }
        }
    }

    #[test]
    fn a_client_that_has_gone_is_an_error() {
        let len = 64 * COPY_BUFFER; // more than the socket buffers take before failing
        for (name, mut outgoing) in both_paths(|| numbered_file(len), len as u64) {
            let listener = TcpListener::bind("127.0.0.1:0").expect("bind on loopback");
            let client =
                TcpStream::connect(listener.local_addr().expect("address")).expect("connect");
            let (server, _) = listener.accept().expect("accept");
            drop(client);
            let answer = outgoing.write(&server);
            assert!(
                answer.is_err(),
                "{name}: sending to a closed socket: {answer:?}"
            );
        }
    }

    #[test]
    fn a_full_non_blocking_socket_stops_the_writing_and_it_resumes_where_it_stopped() {
        let len = 16 << 20; // far more than the socket buffers hold
        for (name, mut outgoing) in both_paths(|| numbered_file(len), len as u64) {
            let listener = TcpListener::bind("127.0.0.1:0").expect("bind on loopback");
            let mut client =
                TcpStream::connect(listener.local_addr().expect("address")).expect("connect");
            let (server, _) = listener.accept().expect("accept");
            server.set_nonblocking(true).expect("non-blocking");
            assert_eq!(outgoing.write(&server).expect(name), Flow::Full, "{name}");
            let first = outgoing.sent;
            assert!(first > 0 && first < 4 + len as u64, "{name}: {first}");
            let reader = thread::spawn(move || {
                let mut received = Vec::new();
                client.read_to_end(&mut received).map(|_| received)
            });
            server.set_nonblocking(false).expect("blocking");
            assert_eq!(outgoing.write(&server).expect(name), Flow::Done, "{name}");
            server.shutdown(Shutdown::Write).expect("end the stream");
            let received = reader.join().expect("the reader").expect("receive");
            assert!(
                received[4..] == expected(0, len),
                "{name}: the bytes differ"
            );
        }
    }

    /// Linux's sendfile refuses some files (procfs ones, such as this one, on current
    /// kernels): the portable path then sends them.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_file_sendfile_refuses_is_sent_by_the_portable_path() {
        let path = "/proc/self/cmdline";
        let contents = std::fs::read(path).expect("read this process's command line");
        let mut outgoing = Outgoing::new(Vec::new(), None);
        outgoing.file = Some(File::open(path).expect("open it"));
        outgoing.file_left = contents.len() as u64;
        let (answer, _, received) = send(outgoing);
        assert_eq!(answer.expect("sent"), Flow::Done);
        assert_eq!(received, contents);
    }
}
