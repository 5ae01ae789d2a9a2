//! Exchanges: send bytes, read a response as a client would, and assert on it with
//! failure messages that show the request, the response and what was expected.

use std::fmt::Write as _;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Instant;

use super::*;

/// Connects with a bounded read timeout, so a silent server fails the test, not hangs it.
pub fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect_timeout(&addr, PATIENCE).expect("connect to the server");
    stream
        .set_read_timeout(Some(PATIENCE))
        .expect("set a read timeout");
    stream
}

/// Sends `request` on a new connection and reads one whole response: up to the end of its
/// `Content-Length`, or until the server closes when the response has no length.
pub fn exchange(addr: SocketAddr, request: &[u8]) -> Exchange {
    let mut stream = connect(addr);
    // The server may answer and close before reading all of a bad request; that is fine.
    let _ = stream.write_all(request);
    let raw = read_response(&mut stream, request.starts_with(b"HEAD "));
    Exchange::new(request.to_vec(), raw)
}

/// Reads one response from `stream` as a client would (RFC 9112, 6.3): the head, then
/// `Content-Length` bytes, nothing for HEAD, 1xx, 204 and 304, or else everything until
/// the server closes. Stops early if the server closes or [`PATIENCE`] runs out.
pub fn read_response(stream: &mut TcpStream, to_head: bool) -> Vec<u8> {
    let mut raw = Vec::new();
    let started = Instant::now();
    let mut chunk = [0; 64 * 1024];
    while started.elapsed() < PATIENCE {
        if let Some(wanted) = response_length(&raw, to_head) {
            if raw.len() >= wanted {
                break;
            }
        }
        match stream.read(&mut chunk) {
            // A signal (SIGCHLD, when a test's child exits) interrupts a read that has a
            // timeout even under SA_RESTART (signal(7)): try again, it is not a close.
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Ok(0) | Err(_) => break,
            Ok(n) => raw.extend_from_slice(&chunk[..n]),
        }
    }
    raw
}

/// Reads responses one after another from a persistent connection, keeping any bytes of
/// the next response that arrive with the current one (pipelining).
pub struct ResponseReader {
    stream: TcpStream,
    pending: Vec<u8>,
}

impl ResponseReader {
    pub fn new(stream: TcpStream) -> ResponseReader {
        ResponseReader {
            stream,
            pending: Vec::new(),
        }
    }

    /// The connection, to send more requests on.
    pub fn stream(&mut self) -> &mut TcpStream {
        &mut self.stream
    }

    /// The next whole response (see [`read_response`]); `to_head` if it answers a HEAD.
    pub fn next_response(&mut self, to_head: bool) -> Vec<u8> {
        let started = Instant::now();
        let mut chunk = [0; 64 * 1024];
        while started.elapsed() < PATIENCE {
            if let Some(wanted) = response_length(&self.pending, to_head) {
                if self.pending.len() >= wanted {
                    let rest = self.pending.split_off(wanted);
                    return std::mem::replace(&mut self.pending, rest);
                }
            }
            match self.stream.read(&mut chunk) {
                Err(e) if e.kind() == ErrorKind::Interrupted => continue, // see read_response
                Ok(0) | Err(_) => break,
                Ok(n) => self.pending.extend_from_slice(&chunk[..n]),
            }
        }
        std::mem::take(&mut self.pending)
    }
}

/// The total length of the response at the start of `raw`, once its head is there and it
/// says how long it is.
fn response_length(raw: &[u8], to_head: bool) -> Option<usize> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = String::from_utf8_lossy(&raw[..end]);
    let status: u16 = head.split(' ').nth(1)?.parse().ok()?;
    if to_head || status < 200 || status == 204 || status == 304 {
        return Some(end);
    }
    let length = head.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.eq_ignore_ascii_case("content-length")
            .then(|| value.trim().parse::<usize>().ok())?
    })?;
    Some(end + length)
}

/// Sends `GET path` and reads only the response head, byte by byte, leaving the body
/// unread: with a file too big for the socket buffers, the server is then busy sending it.
pub fn start_download(addr: SocketAddr, path: &str) -> (TcpStream, Exchange) {
    let mut stream = connect(addr);
    let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").into_bytes();
    stream.write_all(&request).expect("send a request");
    let mut head = Vec::new();
    let mut byte = [0];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            Err(e) if e.kind() == ErrorKind::Interrupted => {} // see read_response
            _ => Exchange::new(request, head).fail("a whole response head"),
        }
    }
    (stream, Exchange::new(request, head))
}

/// Reads until the server closes, without keeping the bytes; returns how many came.
pub fn count_to_close(mut stream: TcpStream) -> u64 {
    let mut chunk = vec![0; 1 << 20];
    let mut total = 0;
    loop {
        match stream.read(&mut chunk) {
            Ok(0) => return total,
            Ok(n) => total += n as u64,
            Err(e) if e.kind() == ErrorKind::Interrupted => {} // see read_response
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => panic!(
                "\nexpected: the server to close the connection after the body\n\n\
                 after {total} bytes nothing more came, and the connection stayed open for \
                 {PATIENCE:?}\n"
            ),
            Err(e) => panic!("the download failed after {total} bytes: {e}"),
        }
    }
}

/// Reads until the peer closes, a reset, or [`PATIENCE`] runs out.
pub fn read_to_close(stream: &mut TcpStream) -> Vec<u8> {
    let mut raw = Vec::new();
    let started = Instant::now();
    let mut chunk = [0; 64 * 1024];
    while started.elapsed() < PATIENCE {
        match stream.read(&mut chunk) {
            // A signal (SIGCHLD, when a test's child exits) interrupts a read that has a
            // timeout even under SA_RESTART (signal(7)): try again, it is not a close.
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Ok(0) | Err(_) => break,
            Ok(n) => raw.extend_from_slice(&chunk[..n]),
        }
    }
    raw
}

/// A parsed HTTP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub version: String,
    pub status: u16,
    pub reason: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// Parses a whole response as received; `None` if it is not one.
pub fn parse_response(raw: &[u8]) -> Option<Response> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..end]).ok()?;
    let mut lines = head.split("\r\n");
    let mut status_line = lines.next()?.splitn(3, ' ');
    let version = status_line.next()?.to_string();
    let status = status_line.next()?.parse().ok()?;
    let reason = status_line.next().unwrap_or_default().to_string();
    if !version.starts_with("HTTP/1.") {
        return None;
    }
    let mut headers = Vec::new();
    for line in lines {
        let (name, value) = line.split_once(':')?;
        headers.push((name.to_string(), value.trim().to_string()));
    }
    Some(Response {
        version,
        status,
        reason,
        headers,
        body: raw[end + 4..].to_vec(),
    })
}

/// One request and what came back, with assertions that explain themselves.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub request: Vec<u8>,
    pub raw: Vec<u8>,
    pub response: Option<Response>,
}

impl Exchange {
    pub fn new(request: Vec<u8>, raw: Vec<u8>) -> Exchange {
        let response = parse_response(&raw);
        Exchange {
            request,
            raw,
            response,
        }
    }

    /// Fails the test with the request, the response and `expected`.
    #[track_caller]
    pub fn fail(&self, expected: &str) -> ! {
        panic!(
            "\nexpected: {expected}\n\n--- request sent ---\n{}\n--- response received ---\n{}\n",
            show(&self.request),
            if self.raw.is_empty() {
                "(nothing: the connection closed without a response)".to_string()
            } else {
                show(&self.raw)
            }
        )
    }

    /// The parsed response; fails the test if there is none.
    #[track_caller]
    pub fn response(&self) -> &Response {
        match &self.response {
            Some(response) => response,
            None => self.fail("a well-formed HTTP/1.x response"),
        }
    }

    #[track_caller]
    pub fn status(&self) -> u16 {
        self.response().status
    }

    /// The first header called `name` (case-insensitive).
    #[track_caller]
    pub fn header(&self, name: &str) -> Option<&str> {
        self.response()
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    #[track_caller]
    pub fn body(&self) -> &[u8] {
        &self.response().body
    }

    #[track_caller]
    pub fn assert_status(&self, expected: u16) -> &Exchange {
        if self.status() != expected {
            self.fail(&format!("status {expected}"));
        }
        self
    }

    #[track_caller]
    pub fn assert_header(&self, name: &str, expected: &str) -> &Exchange {
        if self.header(name) != Some(expected) {
            self.fail(&format!("header '{name}: {expected}'"));
        }
        self
    }

    #[track_caller]
    pub fn assert_has_header(&self, name: &str) -> &Exchange {
        if self.header(name).is_none() {
            self.fail(&format!("a '{name}' header"));
        }
        self
    }

    #[track_caller]
    pub fn assert_no_header(&self, name: &str) -> &Exchange {
        if self.header(name).is_some() {
            self.fail(&format!("no '{name}' header"));
        }
        self
    }

    #[track_caller]
    pub fn assert_body(&self, expected: impl AsRef<[u8]>) -> &Exchange {
        let expected = expected.as_ref();
        if self.body() != expected {
            self.fail(&format!(
                "a body of {} bytes: {}",
                expected.len(),
                show(expected)
            ));
        }
        self
    }

    /// The body is exactly `Content-Length` bytes long.
    #[track_caller]
    pub fn assert_length_matches(&self) -> &Exchange {
        let length = self.header("Content-Length").and_then(|v| v.parse().ok());
        if length != Some(self.body().len()) {
            self.fail("a Content-Length equal to the body's length");
        }
        self
    }

    #[track_caller]
    pub fn assert_body_contains(&self, part: &str) -> &Exchange {
        if !String::from_utf8_lossy(self.body()).contains(part) {
            self.fail(&format!("a body containing {part:?}"));
        }
        self
    }

    #[track_caller]
    pub fn assert_body_lacks(&self, part: &str) -> &Exchange {
        if String::from_utf8_lossy(self.body()).contains(part) {
            self.fail(&format!("a body without {part:?}"));
        }
        self
    }
}

/// Shows bytes readably: text as text, other bytes escaped, long input shortened.
pub fn show(bytes: &[u8]) -> String {
    const LIMIT: usize = 2048;
    let mut out = String::new();
    for &b in bytes.iter().take(LIMIT) {
        match b {
            b'\n' => out.push_str("\\n\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push('\t'),
            0x20..=0x7e => out.push(b as char),
            _ => {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
    if bytes.len() > LIMIT {
        let _ = write!(out, "\n... ({} more bytes)", bytes.len() - LIMIT);
    }
    out
}
