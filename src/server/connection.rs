//! One connection: read a request head, send the reply, close (assignment task 1, steps 3
//! to 8).
//!
//! Reading is split from serving, so that the pool mode can read heads without blocking a
//! worker (see [`super::reactor`]) and hand only complete requests to the workers, while
//! `single` and `threaded` modes read with blocking calls bounded by a deadline.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::{Duration, Instant, SystemTime};

use super::handler::{respond, Body, Reply};
use super::send_file::send_file;
use super::{Shared, Ticket};
use crate::http::{parse_request, BodyFraming, Parse, Request, RequestError, StatusCode};
use crate::log::{try_http_date, LogEntry};

/// How many bytes one read asks for.
const READ_CHUNK: usize = 8 * 1024;
/// The largest request body read and thrown away; a bigger one makes the server close.
const MAX_DISCARD: u64 = 1024 * 1024;
/// The longest a closing connection waits for the client to stop sending (lingering close).
const MAX_LINGER: Duration = Duration::from_secs(1);

/// An accepted connection and the bytes read from it so far.
pub(crate) struct Connection {
    pub(crate) stream: TcpStream,
    pub(crate) peer: SocketAddr,
    buf: Vec<u8>,
    /// The moment the whole request head must have arrived by.
    pub(crate) deadline: Instant,
    /// Its place among the open connections; freed when the connection is dropped.
    ticket: Ticket,
}

/// What reading a request head came to.
#[derive(Debug)]
pub(crate) enum Head {
    /// A complete, valid head.
    Request(Request),
    /// Bytes that can never be a valid head.
    Invalid(RequestError),
    /// The deadline passed first.
    TimedOut,
    /// The client closed the connection, or it failed.
    Closed,
}

impl Connection {
    pub(crate) fn new(
        stream: TcpStream,
        peer: SocketAddr,
        timeout: Duration,
        ticket: Ticket,
    ) -> Connection {
        Connection {
            stream,
            peer,
            buf: Vec::with_capacity(READ_CHUNK),
            deadline: Instant::now() + timeout,
            ticket,
        }
    }

    /// Whether any part of a request has arrived.
    pub(crate) fn has_partial_request(&self) -> bool {
        !self.buf.is_empty()
    }

    /// Parses what has been read so far; `None` means "read more".
    fn parse(&mut self) -> Option<Head> {
        match parse_request(&self.buf) {
            Ok(Parse::Complete(request, used)) => {
                self.buf.drain(..used);
                Some(Head::Request(request))
            }
            Ok(Parse::Incomplete) => None,
            Err(error) => Some(Head::Invalid(error)),
        }
    }

    /// Reads with blocking calls until a head is complete, invalid, or the deadline passes.
    pub(crate) fn read_head_blocking(&mut self) -> Head {
        let mut chunk = [0; READ_CHUNK];
        loop {
            if let Some(head) = self.parse() {
                return head;
            }
            let left = self.deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || self.stream.set_read_timeout(Some(left)).is_err() {
                return Head::TimedOut;
            }
            match self.stream.read(&mut chunk) {
                Ok(0) => return Head::Closed,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if is_timeout(&e) => return Head::TimedOut,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return Head::Closed,
            }
        }
    }

    /// Reads what a non-blocking socket has now. `None` means "wait until it is readable".
    pub(crate) fn read_head_nonblocking(&mut self) -> Option<Head> {
        let mut chunk = [0; READ_CHUNK];
        loop {
            if let Some(head) = self.parse() {
                return Some(head);
            }
            match self.stream.read(&mut chunk) {
                Ok(0) => return Some(Head::Closed),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return None,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return Some(Head::Closed),
            }
        }
    }

    /// The first line of what was received, for the access log of a bad request.
    fn first_line(&self) -> Option<String> {
        let line = self.buf.split(|&b| b == b'\n').find(|l| !l.is_empty())?;
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        Some(String::from_utf8_lossy(&line[..line.len().min(256)]).into_owned())
    }

    /// Reads and drops a request body so the connection can be closed cleanly.
    /// Returns false if the body could not be read in time.
    fn discard_body(&mut self, length: u64) -> bool {
        let buffered = (self.buf.len() as u64).min(length);
        self.buf.drain(..buffered as usize);
        let rest = length - buffered;
        drain(&self.stream, rest, self.deadline) == rest
    }
}

/// Serves one head that was read from `connection`: answers it, logs it, and closes.
pub(crate) fn serve(mut connection: Connection, head: Head, shared: &Shared) {
    connection.ticket.responding();
    let _ = connection.stream.set_nonblocking(false);
    let _ = connection
        .stream
        .set_write_timeout(Some(shared.config.timeout));
    let _ = connection.stream.set_nodelay(true);

    let (request_line, reply, clean) = match head {
        Head::Request(request) => {
            if shared.config.panic_path.as_deref() == Some(request.target.as_str()) {
                panic!("test hook: panic while handling {}", request.target);
            }
            let clean = match request.body {
                BodyFraming::None => connection.buf.is_empty(),
                BodyFraming::Length(n) if n <= MAX_DISCARD => connection.discard_body(n),
                BodyFraming::Length(_) | BodyFraming::Chunked => false,
            };
            let reply = respond(&request, &shared.root);
            (Some(request.request_line()), Some(reply), clean)
        }
        Head::Invalid(error) => (
            connection.first_line(),
            Some(Reply::error(error.status())),
            false,
        ),
        Head::TimedOut if connection.has_partial_request() => (
            connection.first_line(),
            Some(Reply::error(StatusCode::RequestTimeout)),
            false,
        ),
        Head::TimedOut | Head::Closed => (None, None, true),
    };

    let mut bytes_sent = 0;
    let mut status = None;
    if let Some(reply) = reply {
        status = Some(reply.head.status.code());
        if !shared.config.delay.is_zero() {
            std::thread::sleep(shared.config.delay);
        }
        bytes_sent = send(&mut connection.stream, reply, &shared.server_name);
    }
    if status.is_some() || request_line.is_some() {
        shared.log.record(&LogEntry {
            peer: connection.peer,
            time: SystemTime::now(),
            request_line,
            status,
            bytes_sent,
        });
    }
    close(connection, clean);
}

/// Sends a reply with the headers every response carries, and returns the bytes written.
pub(crate) fn send(stream: &mut TcpStream, reply: Reply, server_name: &str) -> u64 {
    let mut head = reply.head;
    if let Some(date) = try_http_date(SystemTime::now()) {
        head = head.header("Date", date);
    }
    head = head
        .header("Server", server_name)
        .header("Connection", "close");
    let Ok(mut sent) = head.write_to(stream).map(|n| n as u64) else {
        return 0;
    };
    sent += match reply.body {
        Body::Empty => 0,
        Body::Text(text) => match stream.write_all(text.as_bytes()) {
            Ok(()) => text.len() as u64,
            Err(_) => 0,
        },
        Body::File(mut file, len) => send_file(&mut file, stream, len).unwrap_or(0),
    };
    let _ = stream.flush();
    sent
}

/// Closes the connection. When the client may still be sending (an error cut its request
/// short, or a body was left unread), closing at once would make the kernel answer with a
/// reset, which can destroy the response before the client reads it. So the server first
/// stops writing, then reads and drops what is still coming, for a bounded time.
fn close(connection: Connection, clean: bool) {
    let stream = connection.stream;
    if clean {
        return;
    }
    let _ = stream.shutdown(Shutdown::Write);
    drain(&stream, MAX_DISCARD, Instant::now() + MAX_LINGER);
}

/// Reads and drops up to `limit` bytes, stopping at end of stream, on an error, or at
/// `deadline`. Returns how many bytes were dropped.
fn drain(mut stream: &TcpStream, limit: u64, deadline: Instant) -> u64 {
    let mut chunk = [0; READ_CHUNK];
    let mut dropped = 0;
    while dropped < limit {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || stream.set_read_timeout(Some(left)).is_err() {
            break;
        }
        let want = (limit - dropped).min(READ_CHUNK as u64) as usize;
        match stream.read(&mut chunk[..want]) {
            Ok(0) => break,
            Ok(n) => dropped += n as u64,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    dropped
}

fn is_timeout(error: &io::Error) -> bool {
    // Unix reports an expired read timeout as WouldBlock, Windows as TimedOut.
    matches!(
        error.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}
