//! Parsing a request head: the request line and the header lines (RFC 9112, sections 2 to 6).
//!
//! The server reads bytes from the socket into a buffer and calls [`parse_request`] after
//! every read. The parser answers one of three things:
//!
//! - [`Parse::Complete`]: a whole head is there; here is the request and how many bytes it took;
//! - [`Parse::Incomplete`]: everything so far could still become a valid head, read more;
//! - an [`RequestError`]: these bytes can never become a valid head; answer with
//!   [`RequestError::status`] and close.
//!
//! Telling "incomplete" from "invalid" early is what lets a server answer garbage at once
//! instead of waiting for a line end that will never come.

use std::fmt;

use super::StatusCode;

/// The longest request line accepted, in bytes (RFC 9112, 3: at least 8000 is recommended).
pub const MAX_REQUEST_LINE: usize = 8 * 1024;
/// The largest request head (request line plus header lines) accepted, in bytes.
pub const MAX_HEAD: usize = 64 * 1024;
/// The most header lines accepted in one request.
pub const MAX_HEADERS: usize = 100;

/// The request method (RFC 9110, 9). Method names are case-sensitive: `get` is not `GET`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Method {
    /// `GET`: send me the file.
    Get,
    /// `HEAD`: the same headers as GET, without the body.
    Head,
    /// Any other method token, kept as sent.
    Other(String),
}

impl Method {
    fn from_token(token: &str) -> Method {
        match token {
            "GET" => Method::Get,
            "HEAD" => Method::Head,
            other => Method::Other(other.to_string()),
        }
    }

    /// The method's name as it appears on the request line.
    pub fn as_str(&self) -> &str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Other(name) => name,
        }
    }

    /// Whether this is one of the methods RFC 9110 and RFC 5789 define. The server answers
    /// those with 405 (known, not allowed) and anything else with 501 (not known at all).
    pub fn is_standard(&self) -> bool {
        matches!(
            self.as_str(),
            "GET" | "HEAD" | "POST" | "PUT" | "DELETE" | "CONNECT" | "OPTIONS" | "TRACE" | "PATCH"
        )
    }
}

/// The protocol version on the request line. Only HTTP/1.0 and HTTP/1.1 are served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpVersion {
    /// `HTTP/1.0`
    Http10,
    /// `HTTP/1.1`
    Http11,
}

impl HttpVersion {
    /// The version as written on the wire, e.g. `HTTP/1.1`.
    pub fn as_str(self) -> &'static str {
        match self {
            HttpVersion::Http10 => "HTTP/1.0",
            HttpVersion::Http11 => "HTTP/1.1",
        }
    }
}

/// One header line: a name (compared without regard to case) and its value, trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The field name as sent, e.g. `Host`.
    pub name: String,
    /// The field value with surrounding spaces and tabs removed.
    pub value: String,
}

/// How the request says its body is framed (RFC 9112, 6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFraming {
    /// No body.
    None,
    /// `Content-Length: n`: exactly n bytes follow the head.
    Length(u64),
    /// `Transfer-Encoding: chunked`: a chunked body follows.
    Chunked,
}

/// A parsed request head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The method, e.g. `GET`.
    pub method: Method,
    /// The request target exactly as sent, e.g. `/a%20b.html?x=1`.
    pub target: String,
    /// The protocol version.
    pub version: HttpVersion,
    /// Every header line, in order.
    pub headers: Vec<Header>,
    /// How a body, if any, is framed.
    pub body: BodyFraming,
}

impl Request {
    /// The value of the first header called `name` (case-insensitive), if any.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.as_str())
    }

    /// The request line, without its line end, e.g. `GET / HTTP/1.1`.
    pub fn request_line(&self) -> String {
        format!(
            "{} {} {}",
            self.method.as_str(),
            self.target,
            self.version.as_str()
        )
    }

    /// Whether the client asks to keep the connection open after the response
    /// (RFC 9112, 9.3): HTTP/1.1 does unless it says `Connection: close`; HTTP/1.0 does
    /// only when it says `Connection: keep-alive`.
    pub fn wants_keep_alive(&self) -> bool {
        let has_token = |token: &str| {
            self.headers
                .iter()
                .filter(|h| h.name.eq_ignore_ascii_case("connection"))
                .flat_map(|h| h.value.split(','))
                .any(|t| t.trim().eq_ignore_ascii_case(token))
        };
        match self.version {
            HttpVersion::Http11 => !has_token("close"),
            HttpVersion::Http10 => has_token("keep-alive"),
        }
    }
}

/// The result of parsing a buffer that holds the start of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parse {
    /// A whole head was found: the request, and the number of bytes of `buf` it used
    /// (any bytes after that belong to the body or the next request).
    Complete(Request, usize),
    /// Not enough bytes yet, and nothing wrong so far.
    Incomplete,
}

/// Why a request head can never be valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestError {
    /// The request line is not `method SP target SP version`.
    BadRequestLine,
    /// The version is well formed but not HTTP/1.0 or HTTP/1.1.
    VersionNotSupported,
    /// The request line is longer than [`MAX_REQUEST_LINE`].
    RequestLineTooLong,
    /// A header line is malformed: no colon, whitespace before the colon, a control
    /// character, an obs-fold continuation line, or a bare CR.
    BadHeader,
    /// More than [`MAX_HEADERS`] header lines, or a head over [`MAX_HEAD`] bytes.
    HeadTooLarge,
    /// HTTP/1.1 without a Host header.
    MissingHost,
    /// More than one Host header, or one whose value is not a host.
    BadHost,
    /// A Content-Length that is not a number, or several that disagree.
    BadContentLength,
    /// Both Content-Length and Transfer-Encoding: a classic request-smuggling trick.
    LengthWithTransferEncoding,
    /// A Transfer-Encoding whose last coding is not `chunked`.
    BadTransferEncoding,
}

impl RequestError {
    /// The status code to answer this error with.
    pub fn status(self) -> StatusCode {
        match self {
            RequestError::VersionNotSupported => StatusCode::HttpVersionNotSupported,
            RequestError::RequestLineTooLong => StatusCode::UriTooLong,
            RequestError::HeadTooLarge => StatusCode::HeaderFieldsTooLarge,
            _ => StatusCode::BadRequest,
        }
    }
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            RequestError::BadRequestLine => "malformed request line",
            RequestError::VersionNotSupported => "HTTP version not supported",
            RequestError::RequestLineTooLong => "request line too long",
            RequestError::BadHeader => "malformed header line",
            RequestError::HeadTooLarge => "request head too large",
            RequestError::MissingHost => "HTTP/1.1 request without Host",
            RequestError::BadHost => "duplicate or invalid Host",
            RequestError::BadContentLength => "invalid Content-Length",
            RequestError::LengthWithTransferEncoding => "both Content-Length and Transfer-Encoding",
            RequestError::BadTransferEncoding => "unsupported Transfer-Encoding",
        };
        f.write_str(text)
    }
}

impl std::error::Error for RequestError {}

/// Parses the request head at the start of `buf`.
///
/// Accepts bare LF as a line end and ignores one empty line before the request line
/// (RFC 9112, 2.2). Never panics, whatever the bytes.
pub fn parse_request(buf: &[u8]) -> Result<Parse, RequestError> {
    let start = match buf {
        [b'\r', b'\n', ..] => 2,
        [b'\n', ..] => 1,
        _ => 0,
    };
    let mut lines = Lines { buf, pos: start };

    let Some(line) = lines.next_line() else {
        let partial = lines.rest();
        if partial.len() > MAX_REQUEST_LINE {
            return Err(RequestError::RequestLineTooLong);
        }
        return match could_be_request_line(strip_cr_at_end(partial)) {
            true => Ok(Parse::Incomplete),
            false => Err(RequestError::BadRequestLine),
        };
    };
    if line.len() > MAX_REQUEST_LINE {
        return Err(RequestError::RequestLineTooLong);
    }
    let (method, target, version) = parse_request_line(line)?;

    // The head, up to and including its empty line, may be at most MAX_HEAD bytes.
    let mut headers = Vec::new();
    loop {
        let Some(line) = lines.next_line() else {
            if buf.len() - start > MAX_HEAD {
                return Err(RequestError::HeadTooLarge);
            }
            return match could_be_header_line(strip_cr_at_end(lines.rest())) {
                true => Ok(Parse::Incomplete),
                false => Err(RequestError::BadHeader),
            };
        };
        if lines.pos - start > MAX_HEAD {
            return Err(RequestError::HeadTooLarge);
        }
        if line.is_empty() {
            break;
        }
        if headers.len() == MAX_HEADERS {
            return Err(RequestError::HeadTooLarge);
        }
        headers.push(parse_header_line(line)?);
    }

    let body = check_framing(&headers)?;
    check_host(version, &headers)?;
    let request = Request {
        method: Method::from_token(method),
        target: target.to_string(),
        version,
        headers,
        body,
    };
    Ok(Parse::Complete(request, lines.pos))
}

/// Walks a buffer line by line. A line ends at LF; a CR just before it is dropped.
struct Lines<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Lines<'a> {
    /// The next whole line without its line end, or `None` if no LF follows yet.
    fn next_line(&mut self) -> Option<&'a [u8]> {
        let rest = &self.buf[self.pos..];
        let lf = rest.iter().position(|&b| b == b'\n')?;
        self.pos += lf + 1;
        Some(strip_cr_at_end(&rest[..lf]))
    }

    /// The bytes after the last whole line.
    fn rest(&self) -> &'a [u8] {
        &self.buf[self.pos..]
    }
}

fn strip_cr_at_end(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// `tchar` from RFC 9110, 5.6.2: the characters allowed in a method or a header name.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Characters allowed in a request target: visible ASCII, no spaces or controls.
fn is_target_char(b: u8) -> bool {
    (0x21..=0x7e).contains(&b)
}

/// Characters allowed in a header value: anything but controls, except horizontal tab.
fn is_value_char(b: u8) -> bool {
    b == b'\t' || (b >= 0x20 && b != 0x7f)
}

fn parse_request_line(line: &[u8]) -> Result<(&str, &str, HttpVersion), RequestError> {
    let mut parts = line.split(|&b| b == b' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(RequestError::BadRequestLine);
    };
    if method.is_empty() || !method.iter().all(|&b| is_tchar(b)) {
        return Err(RequestError::BadRequestLine);
    }
    if target.is_empty() || !target.iter().all(|&b| is_target_char(b)) {
        return Err(RequestError::BadRequestLine);
    }
    let version = match version {
        b"HTTP/1.0" => HttpVersion::Http10,
        b"HTTP/1.1" => HttpVersion::Http11,
        [b'H', b'T', b'T', b'P', b'/', major, b'.', minor]
            if major.is_ascii_digit() && minor.is_ascii_digit() =>
        {
            return Err(RequestError::VersionNotSupported)
        }
        _ => return Err(RequestError::BadRequestLine),
    };
    // Both slices are ASCII, checked above, so these conversions cannot fail.
    let method = std::str::from_utf8(method).map_err(|_| RequestError::BadRequestLine)?;
    let target = std::str::from_utf8(target).map_err(|_| RequestError::BadRequestLine)?;
    Ok((method, target, version))
}

/// Whether `partial`, the start of a request line with no line end yet, could still
/// grow into a valid one.
fn could_be_request_line(partial: &[u8]) -> bool {
    let mut parts = partial.split(|&b| b == b' ');
    let method = parts.next().unwrap_or_default();
    if !method.iter().all(|&b| is_tchar(b)) {
        return false;
    }
    let Some(target) = parts.next() else {
        return true;
    };
    if method.is_empty() || !target.iter().all(|&b| is_target_char(b)) {
        return false;
    }
    let Some(version) = parts.next() else {
        return true;
    };
    if target.is_empty() || parts.next().is_some() {
        return false;
    }
    let pattern: &[fn(u8) -> bool] = &[
        |b| b == b'H',
        |b| b == b'T',
        |b| b == b'T',
        |b| b == b'P',
        |b| b == b'/',
        |b| b.is_ascii_digit(),
        |b| b == b'.',
        |b| b.is_ascii_digit(),
    ];
    version.len() <= pattern.len() && version.iter().zip(pattern).all(|(&b, ok)| ok(b))
}

fn parse_header_line(line: &[u8]) -> Result<Header, RequestError> {
    // A line starting with whitespace continues the previous one (obs-fold, RFC 9112, 5.2):
    // obsolete, and refused. Whitespace before the colon fails the tchar check (RFC 9112, 5.1).
    let colon = line
        .iter()
        .position(|&b| b == b':')
        .ok_or(RequestError::BadHeader)?;
    let (name, value) = (&line[..colon], &line[colon + 1..]);
    if name.is_empty() || !name.iter().all(|&b| is_tchar(b)) {
        return Err(RequestError::BadHeader);
    }
    if !value.iter().all(|&b| is_value_char(b)) {
        return Err(RequestError::BadHeader);
    }
    let value = value.trim_ascii();
    Ok(Header {
        name: String::from_utf8_lossy(name).into_owned(),
        value: String::from_utf8_lossy(value).into_owned(),
    })
}

/// Whether `partial`, the start of a header line with no line end yet, could still
/// grow into a valid header line (or the empty line that ends the head).
fn could_be_header_line(partial: &[u8]) -> bool {
    match partial.iter().position(|&b| b == b':') {
        None => partial.iter().all(|&b| is_tchar(b)),
        Some(colon) => {
            colon > 0
                && partial[..colon].iter().all(|&b| is_tchar(b))
                && partial[colon + 1..].iter().all(|&b| is_value_char(b))
        }
    }
}

fn check_framing(headers: &[Header]) -> Result<BodyFraming, RequestError> {
    let mut length = None;
    let mut transfer_encoding = None;
    for header in headers {
        if header.name.eq_ignore_ascii_case("content-length") {
            let value = &header.value;
            if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
                return Err(RequestError::BadContentLength);
            }
            let n: u64 = value.parse().map_err(|_| RequestError::BadContentLength)?;
            if length.is_some_and(|previous| previous != n) {
                return Err(RequestError::BadContentLength);
            }
            length = Some(n);
        } else if header.name.eq_ignore_ascii_case("transfer-encoding") {
            transfer_encoding = Some(header.value.as_str());
        }
    }
    match (length, transfer_encoding) {
        (Some(_), Some(_)) => Err(RequestError::LengthWithTransferEncoding),
        (Some(0) | None, None) => Ok(BodyFraming::None),
        (Some(n), None) => Ok(BodyFraming::Length(n)),
        (None, Some(codings)) => {
            let last = codings.rsplit(',').next().unwrap_or_default().trim();
            match last.eq_ignore_ascii_case("chunked") {
                true => Ok(BodyFraming::Chunked),
                false => Err(RequestError::BadTransferEncoding),
            }
        }
    }
}

/// RFC 9112, 3.2: an HTTP/1.1 request has exactly one Host; no request has two.
fn check_host(version: HttpVersion, headers: &[Header]) -> Result<(), RequestError> {
    let mut hosts = headers
        .iter()
        .filter(|h| h.name.eq_ignore_ascii_case("host"));
    match (hosts.next(), hosts.next()) {
        (Some(_), Some(_)) => Err(RequestError::BadHost),
        (Some(host), None) if !host.value.bytes().all(is_host_char) => Err(RequestError::BadHost),
        (None, _) if version == HttpVersion::Http11 => Err(RequestError::MissingHost),
        _ => Ok(()),
    }
}

/// Characters of `uri-host [":" port]` (RFC 3986, 3.2.2).
fn is_host_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:[]%".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn complete(bytes: &[u8]) -> (Request, usize) {
        match parse_request(bytes) {
            Ok(Parse::Complete(request, used)) => (request, used),
            other => panic!("expected a complete request from {bytes:?}, got {other:?}"),
        }
    }

    #[test]
    fn a_simple_get_parses() {
        let (request, used) = complete(b"GET /index.html HTTP/1.1\r\nHost: x\r\n\r\nrest");
        assert_eq!(request.method, Method::Get);
        assert_eq!(request.target, "/index.html");
        assert_eq!(request.version, HttpVersion::Http11);
        assert_eq!(request.header("HOST"), Some("x"));
        assert_eq!(used, 37);
    }

    #[test]
    fn bare_lf_and_one_leading_empty_line_are_accepted() {
        let (request, _) = complete(b"\r\nGET / HTTP/1.0\nAccept:  */* \n\n");
        assert_eq!(request.header("accept"), Some("*/*"));
    }

    #[test]
    fn errors_map_to_statuses() {
        let cases: &[(&[u8], u16)] = &[
            (b"GET /\r\n\r\n", 400),
            (b"GET / http/1.1\r\nHost: x\r\n\r\n", 400),
            (b"GET / HTTP/2.0\r\n\r\n", 505),
            (b"GET / HTTP/1.1\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", 400),
            (
                b"GET / HTTP/1.0\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
                400,
            ),
            (b"GET / HTTP/1.0\r\nContent-Length: -1\r\n\r\n", 400),
        ];
        for (bytes, status) in cases {
            let got = parse_request(bytes).map_err(RequestError::status);
            assert_eq!(
                got.err().map(StatusCode::code),
                Some(*status),
                "request {:?}",
                String::from_utf8_lossy(bytes)
            );
        }
    }

    #[test]
    fn garbage_is_refused_before_a_line_end_arrives() {
        assert_eq!(
            parse_request(b"\x16\x03\x01\x02\x00"),
            Err(RequestError::BadRequestLine)
        );
        assert_eq!(
            parse_request(b"GET / HTTP/1.1\r\nHo st"),
            Err(RequestError::BadHeader)
        );
    }

    #[test]
    fn a_target_with_a_control_or_non_ascii_byte_is_refused() {
        for target in [&b"/a\x01b"[..], b"/a\x7fb", b"/caf\xc3\xa9", b"/a\tb"] {
            let line = [&b"GET "[..], target, b" HTTP/1.1"].concat();
            let whole = [&line[..], b"\r\nHost: x\r\n\r\n"].concat();
            assert_eq!(
                parse_request(&whole),
                Err(RequestError::BadRequestLine),
                "{target:?}"
            );
            // Refused as soon as the byte arrives, without waiting for the line end.
            assert_eq!(
                parse_request(&line),
                Err(RequestError::BadRequestLine),
                "{target:?} before the line end"
            );
        }
        // No target at all.
        assert_eq!(
            parse_request(b"GET  HTTP/1.1\r\nHost: x\r\n\r\n"),
            Err(RequestError::BadRequestLine)
        );
        // The edges of the allowed range: '!' and '~'.
        let edges = b"GET /!~ HTTP/1.1\r\nHost: x\r\n\r\n";
        assert!(matches!(parse_request(edges), Ok(Parse::Complete(..))));
    }

    #[test]
    fn a_version_is_unsupported_only_if_it_has_the_shape_of_one() {
        for (version, expected) in [
            ("HTTP/2.0", RequestError::VersionNotSupported),
            ("HTTP/0.9", RequestError::VersionNotSupported),
            ("HTTP/a.b", RequestError::BadRequestLine),
            ("HTTP/1.x", RequestError::BadRequestLine),
            ("HTTP/11", RequestError::BadRequestLine),
        ] {
            let head = format!("GET / {version}\r\nHost: x\r\n\r\n");
            assert_eq!(parse_request(head.as_bytes()), Err(expected), "{version}");
        }
    }

    #[test]
    fn a_request_line_that_cannot_become_valid_is_refused_before_its_end() {
        for partial in [
            &b" /a"[..],         // no method
            b"GET  HTTP",        // no target
            b"GET / HTTP/1.1 x", // a fourth part
            b"GET / HTTP/1.10",  // a version longer than HTTP/d.d
            b"GET / HTTX",       // not HTTP
        ] {
            assert_eq!(
                parse_request(partial),
                Err(RequestError::BadRequestLine),
                "{:?}",
                String::from_utf8_lossy(partial)
            );
        }
        for partial in [&b"GET"[..], b"GET /a", b"GET /a HTTP/1", b"GET /a HTTP/2.0"] {
            assert_eq!(parse_request(partial), Ok(Parse::Incomplete));
        }
    }

    #[test]
    fn a_header_name_must_be_a_token() {
        for line in ["X-A : 1", ": 1", "X\u{7f}A: 1", "X A: 1"] {
            let head = format!("GET / HTTP/1.1\r\nHost: x\r\n{line}\r\n\r\n");
            assert_eq!(
                parse_request(head.as_bytes()),
                Err(RequestError::BadHeader),
                "{line:?}"
            );
            // Refused before the line ends, too.
            let partial = format!("GET / HTTP/1.1\r\n{line}");
            assert_eq!(
                parse_request(partial.as_bytes()),
                Err(RequestError::BadHeader),
                "{line:?} before its line end"
            );
        }
        let control = b"GET / HTTP/1.1\r\nX-A: a\x01";
        assert_eq!(parse_request(control), Err(RequestError::BadHeader));
        let unfinished = b"GET / HTTP/1.1\r\nX-A: a b";
        assert_eq!(parse_request(unfinished), Ok(Parse::Incomplete));
    }

    #[test]
    fn a_host_must_look_like_a_host_and_port() {
        for host in [
            "example.com",
            "127.0.0.1:8080",
            "[::1]:80",
            "a-b_c~d%41",
            "",
        ] {
            let head = format!("GET / HTTP/1.1\r\nHost: {host}\r\n\r\n");
            assert!(
                matches!(parse_request(head.as_bytes()), Ok(Parse::Complete(..))),
                "{host:?}"
            );
        }
        for host in ["a b", "a/b", "a@b", "a\"b", "caf\u{e9}"] {
            let head = format!("GET / HTTP/1.1\r\nHost: {host}\r\n\r\n");
            assert_eq!(
                parse_request(head.as_bytes()),
                Err(RequestError::BadHost),
                "{host:?}"
            );
        }
    }

    #[test]
    fn prefixes_of_a_valid_head_are_incomplete() {
        let head = b"GET /a?b HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n";
        for end in 0..head.len() {
            assert_eq!(
                parse_request(&head[..end]),
                Ok(Parse::Incomplete),
                "prefix {end}"
            );
        }
    }

    #[test]
    fn a_leading_bare_lf_line_is_skipped_too() {
        let (request, used) = complete(b"\nGET / HTTP/1.0\n\n");
        assert_eq!(request.target, "/");
        assert_eq!(used, 17);
        // Only one: a second empty line makes an empty request line.
        assert_eq!(
            parse_request(b"\n\nGET / HTTP/1.0\n\n"),
            Err(RequestError::BadRequestLine)
        );
    }

    #[test]
    fn request_errors_explain_themselves() {
        assert_eq!(
            RequestError::MissingHost.to_string(),
            "HTTP/1.1 request without Host"
        );
        assert_eq!(
            RequestError::LengthWithTransferEncoding.to_string(),
            "both Content-Length and Transfer-Encoding"
        );
    }

    /// A head of exactly `len` bytes: a request line, one long header, the empty line.
    fn head_of(len: usize) -> Vec<u8> {
        let fixed = "GET / HTTP/1.1\r\nX: \r\n\r\n".len();
        format!("GET / HTTP/1.1\r\nX: {}\r\n\r\n", "v".repeat(len - fixed)).into_bytes()
    }

    #[test]
    fn a_head_of_exactly_the_limit_is_accepted_and_one_byte_more_is_not() {
        let exact = head_of(MAX_HEAD);
        assert_eq!(exact.len(), MAX_HEAD);
        assert!(matches!(
            parse_request(&exact),
            Err(RequestError::MissingHost)
        ));
        let over = head_of(MAX_HEAD + 1);
        assert_eq!(parse_request(&over), Err(RequestError::HeadTooLarge));
        // Still waiting for a line end: at the limit it may yet end; past it, it cannot.
        let partial = |len: usize| {
            let fixed = "GET / HTTP/1.1\r\nX: ".len();
            format!("GET / HTTP/1.1\r\nX: {}", "v".repeat(len - fixed)).into_bytes()
        };
        assert_eq!(parse_request(&partial(MAX_HEAD)), Ok(Parse::Incomplete));
        assert_eq!(
            parse_request(&partial(MAX_HEAD + 1)),
            Err(RequestError::HeadTooLarge)
        );
    }

    #[test]
    fn a_leading_empty_line_does_not_count_against_the_head_limit() {
        let with_crlf = |head: Vec<u8>| [b"\r\n".to_vec(), head].concat();
        let exact = with_crlf(head_of(MAX_HEAD));
        assert!(matches!(
            parse_request(&exact),
            Err(RequestError::MissingHost)
        ));
        let unfinished = &exact[..exact.len() - 2]; // all but the final empty line
        assert_eq!(parse_request(unfinished), Ok(Parse::Incomplete));
        let over = with_crlf(head_of(MAX_HEAD + 1));
        assert_eq!(parse_request(&over), Err(RequestError::HeadTooLarge));
    }

    #[test]
    fn a_request_line_of_exactly_the_limit_is_accepted() {
        let target = "a".repeat(MAX_REQUEST_LINE - "GET / HTTP/1.1".len());
        let line = format!("GET /{target} HTTP/1.1");
        assert_eq!(line.len(), MAX_REQUEST_LINE);
        let head = format!("{line}\r\nHost: x\r\n\r\n");
        assert!(matches!(
            parse_request(head.as_bytes()),
            Ok(Parse::Complete(..))
        ));
        let longer = format!("GET /a{target} HTTP/1.1\r\nHost: x\r\n\r\n");
        assert_eq!(
            parse_request(longer.as_bytes()),
            Err(RequestError::RequestLineTooLong)
        );
    }

    #[test]
    fn the_limits_are_the_documented_sizes() {
        // Tests elsewhere are written in terms of these constants; pin their values here.
        assert_eq!(MAX_REQUEST_LINE, 8192);
        assert_eq!(MAX_HEAD, 65536);
        assert_eq!(MAX_HEADERS, 100);
    }

    #[test]
    fn limits_give_414_and_431() {
        let long_line = format!("GET /{} HTTP/1.1\r\n", "a".repeat(MAX_REQUEST_LINE));
        assert_eq!(
            parse_request(long_line.as_bytes()),
            Err(RequestError::RequestLineTooLong)
        );
        let many = format!(
            "GET / HTTP/1.1\r\n{}\r\n",
            "X: y\r\n".repeat(MAX_HEADERS + 1)
        );
        assert_eq!(
            parse_request(many.as_bytes()),
            Err(RequestError::HeadTooLarge)
        );
        let huge = format!("GET / HTTP/1.1\r\nX: {}", "y".repeat(MAX_HEAD));
        assert_eq!(
            parse_request(huge.as_bytes()),
            Err(RequestError::HeadTooLarge)
        );
    }
}
