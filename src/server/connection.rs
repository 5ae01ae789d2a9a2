//! One connection: read a request head, send the reply, then close or wait for the next
//! request (assignment task 1, steps 3 to 8, and persistent connections, RFC 9112 section 9).
//!
//! Reading is split from serving, so that the pool mode can read heads without blocking a
//! worker (see [`super::reactor`]) and hand only complete requests to the workers, while
//! `single` and `threaded` modes read with blocking calls bounded by a deadline.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::{Duration, Instant, SystemTime};

use super::handler::{respond, Body, Reply};
use super::send_file::send_file;
use super::{Mode, Shared, Ticket};
use crate::http::{format_http_date, parse_request_head, BodyFraming, Parse, RequestError};
use crate::http::{RequestHead, StatusCode};
use crate::log::LogEntry;

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
    /// Requests answered so far on this connection.
    requests_served: usize,
    /// A response could not be sent whole: the connection cannot be reused.
    broken: bool,
}

/// What reading a request head came to.
#[derive(Debug)]
pub(crate) enum Head {
    /// A complete, valid head.
    Request(RequestHead),
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
        // Set once per connection: small responses go out at once, and a client that stops
        // reading cannot hold a thread for longer than the timeout per write.
        let _ = stream.set_nodelay(true);
        let _ = stream.set_write_timeout(Some(timeout));
        Connection {
            stream,
            peer,
            buf: Vec::with_capacity(READ_CHUNK),
            deadline: Instant::now() + timeout,
            ticket,
            requests_served: 0,
            broken: false,
        }
    }

    /// Readies a kept-alive connection for its next request, which must arrive within
    /// `idle` (a pipelined one may already be in the buffer).
    pub(crate) fn next_request(&mut self, idle: Duration) {
        self.requests_served += 1;
        self.deadline = Instant::now() + idle;
        self.ticket.idle();
    }

    /// Whether any part of a request has arrived.
    pub(crate) fn has_partial_request(&self) -> bool {
        !self.buf.is_empty()
    }

    /// Parses what has been read so far; `None` means "read more".
    pub(crate) fn parse(&mut self) -> Option<Head> {
        match parse_request_head(&self.buf) {
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
                // A read that cannot block is not interrupted by a signal either.
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

/// What happens to a connection after a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Wait for the next request on the same connection (RFC 9112, 9.3).
    KeepAlive,
    /// Close it; `clean` is false if the client may still be sending.
    Close { clean: bool },
}

/// Answers one head that was read from `connection` and logs it.
pub(crate) fn serve_one(connection: &mut Connection, head: Head, shared: &Shared) -> Outcome {
    connection.ticket.responding();

    let (request_line, reply, body_read, reusable) = match head {
        Head::Request(request) => {
            if shared.config.panic_path.as_deref() == Some(request.target.as_str()) {
                panic!("test hook: panic while handling {}", request.target);
            }
            let body_read = match request.body {
                BodyFraming::None => true,
                BodyFraming::Length(n) if n <= MAX_DISCARD => connection.discard_body(n),
                BodyFraming::Length(_) | BodyFraming::Chunked | BodyFraming::UntilClose => false,
            };
            let reply = respond(&request, &shared.root, shared.config.handler);
            let reusable = body_read && request.wants_keep_alive();
            (
                Some(request.request_line()),
                Some(reply),
                body_read,
                reusable,
            )
        }
        Head::Invalid(error) => (
            connection.first_line(),
            Some(Reply::for_bad_request(error)),
            false,
            false,
        ),
        Head::TimedOut if connection.has_partial_request() => (
            connection.first_line(),
            Some(Reply::error(StatusCode::RequestTimeout)),
            false,
            false,
        ),
        Head::TimedOut | Head::Closed => return Outcome::Close { clean: true },
    };

    let keep_alive = reusable
        && shared.config.mode != Mode::Single
        && connection.requests_served + 1 < shared.config.max_requests
        && !shared.is_stopping();
    let mut bytes_sent = 0;
    let mut status = None;
    if let Some(reply) = reply {
        status = Some(reply.head.status.code());
        if !shared.config.delay.is_zero() {
            std::thread::sleep(shared.config.delay);
        }
        match send(
            &mut connection.stream,
            reply,
            &shared.server_name,
            keep_alive,
        ) {
            Ok(sent) => bytes_sent = sent,
            Err(sent) => {
                bytes_sent = sent;
                connection.broken = true;
            }
        }
    }
    shared.log.record(&LogEntry {
        peer: connection.peer,
        time: SystemTime::now(),
        request_line,
        status,
        bytes_sent,
    });
    match keep_alive && !connection.broken {
        true => Outcome::KeepAlive,
        false => Outcome::Close {
            // Nothing unread from the client: closing cannot reset the connection.
            clean: body_read && connection.buf.is_empty(),
        },
    }
}

/// Sends a reply with the headers every response carries. `keep_alive` says whether the
/// connection stays open. Returns the bytes written, as an error if sending failed.
pub(crate) fn send(
    stream: &mut TcpStream,
    reply: Reply,
    server_name: &str,
    keep_alive: bool,
) -> Result<u64, u64> {
    let mut head = reply.head;
    if let Some(date) = format_http_date(SystemTime::now()) {
        head = head.header("Date", date);
    }
    head = head.header("Server", server_name);
    // `Connection: keep-alive` is what an HTTP/1.0 client needs to hear to keep the
    // connection (RFC 9112, 9.3); it is harmless to HTTP/1.1. The old `Keep-Alive: timeout=`
    // header is not sent: RFC 9112 no longer defines it, and linters flag it.
    head = match keep_alive {
        true => head.header("Connection", "keep-alive"),
        false => head.header("Connection", "close"),
    };
    let sent = head.write_to(stream).map_err(|_| 0u64)? as u64;
    let body = match reply.body {
        Body::Empty => Ok(0),
        Body::Text(text) => stream.write_all(text.as_bytes()).map(|_| text.len() as u64),
        Body::File(mut file, len) => match send_file(&mut file, stream, len) {
            Ok(n) if n == len => Ok(n),
            // A file that shrank while being sent leaves the response short: close.
            Ok(n) => Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("{n} of {len}"),
            )),
            Err(e) => Err(e),
        },
    };
    match body {
        Ok(n) => Ok(sent + n),
        Err(_) => Err(sent),
    }
}

/// Closes the connection. When the client may still be sending (an error cut its request
/// short, or a body was left unread), closing at once would make the kernel answer with a
/// reset, which can destroy the response before the client reads it. So the server first
/// stops writing, then reads and drops what is still coming, for a bounded time.
pub(crate) fn close(connection: Connection, clean: bool) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    /// A connected pair of sockets on loopback: (the server's end, the client's end).
    fn pair() -> (TcpStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind on loopback");
        let client = TcpStream::connect(listener.local_addr().expect("address")).expect("connect");
        let (server, _) = listener.accept().expect("accept");
        (server, client)
    }

    fn far_off() -> Instant {
        Instant::now() + Duration::from_secs(60)
    }

    #[test]
    fn drain_stops_at_the_end_of_the_stream() {
        let (server, mut client) = pair();
        client.write_all(&[7; 100]).expect("send");
        drop(client);
        assert_eq!(drain(&server, 1000, far_off()), 100);
    }

    #[test]
    fn drain_stops_at_its_limit_and_leaves_the_rest() {
        let (mut server, mut client) = pair();
        client.write_all(&[7; 3 * READ_CHUNK]).expect("send");
        let limit = READ_CHUNK as u64 + 10;
        assert_eq!(drain(&server, limit, far_off()), limit);
        drop(client);
        let mut rest = Vec::new();
        server.read_to_end(&mut rest).expect("read the rest");
        assert_eq!(rest.len(), 2 * READ_CHUNK - 10);
    }

    #[test]
    fn drain_stops_at_its_deadline_when_nothing_comes() {
        let (server, _client) = pair();
        let started = Instant::now();
        assert_eq!(drain(&server, 1000, started + Duration::from_millis(50)), 0);
        assert!(started.elapsed() >= Duration::from_millis(50));
        assert_eq!(drain(&server, 1000, Instant::now()), 0, "a deadline passed");
    }
}
