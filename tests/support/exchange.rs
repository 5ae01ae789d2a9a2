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
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, PATIENCE) else {
        return Exchange::new(request.to_vec(), Vec::new()).ended(Ending::Refused);
    };
    // The server may answer and close before reading all of a bad request; that is fine.
    let _ = stream.write_all(request);
    let (raw, ending) = read_response_until(&mut stream, request.starts_with(b"HEAD "), PATIENCE);
    Exchange::new(request.to_vec(), raw).ended(ending)
}

/// How the reading of a response stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// Not recorded.
    Unknown,
    /// The connection was refused: nothing listens on the port any more.
    Refused,
    /// The whole response arrived, as long as its head said.
    Complete,
    /// The server closed the connection (a read returned 0).
    Closed,
    /// The connection was reset: the server closed it with unread request bytes, or
    /// crashed.
    Reset,
    /// Nothing more came and the connection stayed open: the test gave up waiting after
    /// this long.
    GaveUp(std::time::Duration),
}

impl Ending {
    fn from_error(error: &std::io::Error, waited: std::time::Duration) -> Ending {
        match error.kind() {
            ErrorKind::WouldBlock | ErrorKind::TimedOut => Ending::GaveUp(waited),
            _ => Ending::Reset,
        }
    }
}

/// Reads one response from `stream` as a client would (RFC 9112, 6.3): the head, then
/// `Content-Length` bytes, nothing for HEAD, 1xx, 204 and 304, or else everything until
/// the server closes. Stops early if the server closes or [`PATIENCE`] runs out.
pub fn read_response(stream: &mut TcpStream, to_head: bool) -> Vec<u8> {
    read_response_until(stream, to_head, PATIENCE).0
}

/// [`read_response`] that waits at most `patience` for the whole response, and says how
/// the reading ended.
pub fn read_response_until(
    stream: &mut TcpStream,
    to_head: bool,
    patience: std::time::Duration,
) -> (Vec<u8>, Ending) {
    let mut raw = Vec::new();
    let started = Instant::now();
    let mut chunk = vec![0; 256 * 1024];
    loop {
        if let Some(wanted) = response_length(&raw, to_head) {
            if raw.len() >= wanted {
                return (raw, Ending::Complete);
            }
        }
        let left = patience.saturating_sub(started.elapsed());
        if left.is_zero() || stream.set_read_timeout(Some(left)).is_err() {
            return (raw, Ending::GaveUp(started.elapsed()));
        }
        match stream.read(&mut chunk) {
            // A signal (SIGCHLD, when a test's child exits) interrupts a read that has a
            // timeout even under SA_RESTART (signal(7)): try again, it is not a close.
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Ok(0) => return (raw, Ending::Closed),
            Ok(n) => raw.extend_from_slice(&chunk[..n]),
            Err(e) => return (raw, Ending::from_error(&e, started.elapsed())),
        }
    }
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
    let (end, _) = head_end(raw)?;
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
    read_to_close_until(stream, PATIENCE).0
}

/// [`read_to_close`] that waits at most `patience`, and says how the reading ended.
pub fn read_to_close_until(
    stream: &mut TcpStream,
    patience: std::time::Duration,
) -> (Vec<u8>, Ending) {
    let mut raw = Vec::new();
    let started = Instant::now();
    let mut chunk = vec![0; 256 * 1024];
    loop {
        let left = patience.saturating_sub(started.elapsed());
        if left.is_zero() || stream.set_read_timeout(Some(left)).is_err() {
            return (raw, Ending::GaveUp(started.elapsed()));
        }
        match stream.read(&mut chunk) {
            // A signal (SIGCHLD, when a test's child exits) interrupts a read that has a
            // timeout even under SA_RESTART (signal(7)): try again, it is not a close.
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Ok(0) => return (raw, Ending::Closed),
            Ok(n) => raw.extend_from_slice(&chunk[..n]),
            Err(e) => return (raw, Ending::from_error(&e, started.elapsed())),
        }
    }
}

/// Where the head at the start of `raw` ends (just after its empty line), and whether
/// any of its lines ended in a bare `\n` instead of `\r\n`. A head with bare line ends is
/// still read, as browsers read it (RFC 9112, section 2.2, lets a recipient accept a bare
/// LF), so that each behaviour grades its own point; one behaviour grades the line ends.
pub fn head_end(raw: &[u8]) -> Option<(usize, bool)> {
    let mut start = 0;
    let mut bare = false;
    while let Some(offset) = raw[start..].iter().position(|&b| b == b'\n') {
        let line = &raw[start..start + offset];
        let line = match line.strip_suffix(b"\r") {
            Some(line) => line,
            None => {
                bare = true;
                line
            }
        };
        start += offset + 1;
        if line.is_empty() {
            return Some((start, bare));
        }
    }
    None
}

/// A parsed HTTP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub version: String,
    pub status: u16,
    pub reason: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Some line of the head ended in `\n` alone, not `\r\n`.
    pub bare_line_ends: bool,
}

/// Parses a whole response as received; `None` if it is not one.
pub fn parse_response(raw: &[u8]) -> Option<Response> {
    let (end, bare_line_ends) = head_end(raw)?;
    let head = std::str::from_utf8(&raw[..end]).ok()?;
    let mut lines = head
        .split('\n')
        .map(|line| line.strip_suffix('\r').unwrap_or(line))
        .take_while(|line| !line.is_empty());
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
        body: raw[end..].to_vec(),
        bare_line_ends,
    })
}

/// One request and what came back, with assertions that explain themselves.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub request: Vec<u8>,
    pub raw: Vec<u8>,
    pub response: Option<Response>,
    /// How the reading of the response stopped.
    pub ending: Ending,
    /// The folder the server was serving, listed when a failure may come from a path.
    pub served: Option<std::path::PathBuf>,
    /// What the server was likely doing if the test gave up waiting.
    pub waiting_means: Option<String>,
}

impl Exchange {
    pub fn new(request: Vec<u8>, raw: Vec<u8>) -> Exchange {
        let response = parse_response(&raw);
        Exchange {
            request,
            raw,
            response,
            ending: Ending::Unknown,
            served: None,
            waiting_means: None,
        }
    }

    /// The same exchange, saying how the reading of the response stopped.
    pub fn ended(mut self, ending: Ending) -> Exchange {
        self.ending = ending;
        self
    }

    /// The same exchange, remembering the folder the server served.
    pub fn serving(mut self, root: &std::path::Path) -> Exchange {
        self.served = Some(root.to_path_buf());
        self
    }

    /// The same exchange, saying what the server was likely doing if nothing came back.
    pub fn if_waiting(mut self, means: &str) -> Exchange {
        self.waiting_means = Some(means.to_string());
        self
    }

    /// Fails the test with `expected`, the request, the response, how it ended, the
    /// folder served (for a 404), and a command to replay the request by hand.
    #[track_caller]
    pub fn fail(&self, expected: &str) -> ! {
        let mut out = format!(
            "\nexpected: {expected}\n\n--- request sent ---\n{}\n--- response received ---\n{}\n",
            show(&self.request),
            self.received()
        );
        if let Some(note) = self.line_end_note() {
            let _ = writeln!(out, "\n{note}");
        }
        if let (Some(root), Some(404)) = (&self.served, self.response.as_ref().map(|r| r.status)) {
            let _ = write!(
                out,
                "\n--- the folder the server was serving ({}) ---\n{}",
                root.display(),
                tree(root)
            );
        }
        let _ = write!(out, "\n{}\n", replay(&self.request));
        panic!("{out}")
    }

    /// What came back, in words when nothing did.
    fn received(&self) -> String {
        if !self.raw.is_empty() {
            let mut shown = show(&self.raw);
            match self.ending {
                Ending::Reset => shown.push_str(
                    "\n(then the connection was reset: the server closed it with part of \
                     the request still unread, or crashed)",
                ),
                Ending::GaveUp(waited) => {
                    let _ = write!(
                        shown,
                        "\n(then nothing more: the test gave up waiting after {waited:.1?}, \
                         with the connection still open)"
                    );
                }
                _ => {}
            }
            return shown;
        }
        match self.ending {
            Ending::GaveUp(waited) => format!(
                "(nothing yet: the test gave up waiting after {waited:.1?}; the server had \
                 not closed the connection, so it was {})",
                self.waiting_means.as_deref().unwrap_or(
                    "most likely still waiting for more of the request, or busy with \
                     another connection"
                )
            ),
            Ending::Reset => "(nothing: the connection was reset; the server closed it \
                              without answering, or crashed: see its stderr)"
                .to_string(),
            Ending::Refused => "(nothing: the connection was refused, so the server was no \
                                longer running: it crashed or exited; see its stderr)"
                .to_string(),
            _ => "(nothing: the connection closed without a response)".to_string(),
        }
    }

    /// A sentence naming a response whose lines end in `\n` alone.
    fn line_end_note(&self) -> Option<&'static str> {
        let bare = match &self.response {
            Some(response) => response.bare_line_ends,
            None => {
                self.raw.windows(2).any(|w| w == b"\n\n")
                    && !self.raw.windows(4).any(|w| w == b"\r\n\r\n")
            }
        };
        bare.then_some(
            "note: the lines of this response end in \\n alone: lines must end in \\r\\n \
             (RFC 9112, section 2.1), and an empty line \\r\\n ends the head",
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
        let body = self.body();
        if body == expected {
            return self;
        }
        if expected.len() > 4096 {
            // A dump of megabytes helps no one: say how much came, and where it differs.
            let same = body
                .iter()
                .zip(expected)
                .take_while(|(a, b)| a == b)
                .count();
            let what = match body.len() < expected.len() && same == body.len() {
                true => format!(
                    "the body stopped short: {} of {} arrived, all of them right (a single \
                     write or send() may send only part of what it is given: \
                     write_all, sendall)",
                    size(body.len()),
                    size(expected.len())
                ),
                false => format!(
                    "{} arrived; the first {} are right, then byte {same} differs",
                    size(body.len()),
                    size(same)
                ),
            };
            self.fail(&format!(
                "a body of exactly {}: {what}",
                size(expected.len())
            ));
        }
        self.fail(&format!(
            "a body of {} bytes: {}",
            expected.len(),
            show(expected)
        ));
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

/// A number of bytes in words: `14 bytes`, `4.16 MB (4,362,076 bytes)`, `16 MiB`.
pub fn size(bytes: usize) -> String {
    const MIB: usize = 1 << 20;
    match bytes {
        0..10_000 => format!("{bytes} bytes"),
        _ if bytes.is_multiple_of(MIB) => format!("{} MiB", bytes / MIB),
        _ => format!("{:.2} MB ({bytes} bytes)", bytes as f64 / 1e6),
    }
}

/// The files under `root`, one a line with its size, as a student would list them.
pub fn tree(root: &std::path::Path) -> String {
    fn walk(folder: &std::path::Path, root: &std::path::Path, out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(folder) else {
            return;
        };
        let mut entries: Vec<_> = entries.filter_map(Result::ok).collect();
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let path = entry.path();
            let name = path.strip_prefix(root).unwrap_or(&path).to_string_lossy();
            let name = name.replace('\\', "/");
            if path.is_dir() {
                out.push(format!("  {name}/"));
                walk(&path, root, out);
            } else {
                let len = entry.metadata().map_or(0, |m| m.len() as usize);
                out.push(format!("  {name}  ({})", size(len)));
            }
        }
    }
    let mut lines = Vec::new();
    walk(root, root, &mut lines);
    if lines.is_empty() {
        return "  (empty)\n".into();
    }
    lines.truncate(40);
    lines.join("\n") + "\n"
}

/// A command that sends `request` again by hand, to a server started on port 8080.
pub fn replay(request: &[u8]) -> String {
    let text = String::from_utf8_lossy(request);
    // A plain GET is what curl sends: say it the short way.
    if let Some(path) = text
        .strip_prefix("GET ")
        .and_then(|t| t.strip_suffix(" HTTP/1.1\r\nHost: test\r\n\r\n"))
    {
        if !path.contains(' ') && path.starts_with('/') && path.is_ascii() {
            return format!(
                "replay by hand, with your server on port 8080:\n  curl -v 'http://127.0.0.1:8080{path}'"
            );
        }
    }
    let shell = shell_bytes(request);
    format!("replay by hand, with your server on port 8080:\n  {shell} | nc 127.0.0.1 8080")
}

/// A shell command that writes exactly `bytes`: `printf '...'` when short, else a python3
/// line that writes long runs of one byte as `b'a' * 8000`.
pub fn shell_bytes(bytes: &[u8]) -> String {
    if bytes.len() <= 200 {
        let mut out = String::from("printf '");
        for &b in bytes {
            match b {
                b'\r' => out.push_str("\\r"),
                b'\n' => out.push_str("\\n"),
                b'\\' => out.push_str("\\\\"),
                b'%' => out.push_str("%%"),
                b'\'' => out.push_str("'\\''"),
                0x20..=0x7e => out.push(b as char),
                _ => {
                    let _ = write!(out, "\\{b:03o}");
                }
            }
        }
        out.push('\'');
        return out;
    }
    let mut parts: Vec<String> = Vec::new();
    let mut literal = String::new();
    let mut i = 0;
    while i < bytes.len() {
        let run = bytes[i..].iter().take_while(|&&b| b == bytes[i]).count();
        if run >= 16 {
            if !literal.is_empty() {
                parts.push(format!("b'{}'", std::mem::take(&mut literal)));
            }
            let mut one = String::new();
            python_byte(bytes[i], &mut one);
            parts.push(format!("b'{one}' * {run}"));
            i += run;
        } else {
            python_byte(bytes[i], &mut literal);
            i += 1;
        }
    }
    if !literal.is_empty() {
        parts.push(format!("b'{literal}'"));
    }
    format!(
        "python3 -c \"import sys; sys.stdout.buffer.write({})\"",
        parts.join(" + ")
    )
}

/// One byte inside a Python `b'...'` that is itself inside a shell's double quotes: the
/// shell's specials (`"`, `$`, `` ` ``, `\`) and the quote are written as `\xHH`.
fn python_byte(b: u8, out: &mut String) {
    match b {
        b'\r' => out.push_str("\\r"),
        b'\n' => out.push_str("\\n"),
        b'"' | b'$' | b'`' | b'\\' | b'\'' => {
            let _ = write!(out, "\\x{b:02x}");
        }
        0x20..=0x7e => out.push(b as char),
        _ => {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
}

/// Shows bytes readably: text as text, other bytes escaped, long input shortened (and the
/// whole size said).
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
        let _ = write!(
            out,
            "\n... (the first {LIMIT} bytes of {} shown)",
            size(bytes.len())
        );
    }
    out
}
