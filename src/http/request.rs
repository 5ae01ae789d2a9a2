//! Parsing a request head: the request line and the header lines (RFC 9112, sections 2 to 6).
//!
//! The server reads bytes from the socket into a buffer and calls [`parse_request_head`]
//! after every read. The parser answers one of three things, in the shape the client's
//! response parser answers in too ([`Parse`]):
//!
//! - [`Parse::Complete`]: a whole head is there; here is the request and how many bytes it took;
//! - [`Parse::Incomplete`]: everything so far could still become a valid head, read more;
//! - an [`RequestError`]: these bytes can never become a valid head; answer with
//!   [`RequestError::status`] and close.
//!
//! Telling "incomplete" from "invalid" early is what lets a server answer garbage at once
//! instead of waiting for a line end that will never come. The grammar of header lines is
//! in [`super::syntax`], and where the body ends is decided in [`super::framing`]: both are
//! shared with the client.

use std::fmt;

use super::framing::{request_framing, BodyFraming, FramingError};
use super::syntax::{
    could_be_field_line, field_values, header_from_parts, is_field_value_char, is_tchar,
    list_elements, split_field_line, strip_cr, Header, Lines, Parse, MAX_HEAD,
};
use super::StatusCode;

/// The longest request line accepted, in bytes (RFC 9112, 3: at least 8000 is recommended).
pub const MAX_REQUEST_LINE: usize = 8 * 1024;
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

/// A request head as the server received it: the request line and the header lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestHead {
    /// The method, e.g. `GET`.
    pub method: Method,
    /// The request target exactly as sent, e.g. `/a%20b.html?x=1`.
    pub target: String,
    /// The protocol version.
    pub version: HttpVersion,
    /// Every header line, in order.
    pub headers: Vec<Header>,
    /// Where the body, if any, ends: never [`BodyFraming::UntilClose`] for a request.
    pub body: BodyFraming,
}

impl RequestHead {
    /// The value of the first header called `name` (case-insensitive), if any.
    pub fn header(&self, name: &str) -> Option<&str> {
        field_values(&self.headers, name).next()
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
            field_values(&self.headers, "connection")
                .flat_map(list_elements)
                .any(|t| t.eq_ignore_ascii_case(token))
        };
        match self.version {
            HttpVersion::Http11 => !has_token("close"),
            HttpVersion::Http10 => has_token("keep-alive"),
        }
    }
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
    /// Transfer-Encoding in an HTTP/1.0 request, whose framing RFC 9112, 6.1 calls faulty.
    TransferEncodingInHttp10,
    /// A Transfer-Encoding that is not a list of codings, whose last coding is not
    /// `chunked`, or that applies `chunked` more than once.
    BadTransferEncoding,
    /// A chunked body also coded in a way the server does not implement (`gzip, chunked`):
    /// 501 (Not Implemented), RFC 9112, 6.1.
    UnknownTransferCoding,
}

impl From<FramingError> for RequestError {
    fn from(error: FramingError) -> RequestError {
        match error {
            FramingError::BadContentLength => RequestError::BadContentLength,
            FramingError::LengthWithTransferEncoding => RequestError::LengthWithTransferEncoding,
            FramingError::TransferEncodingInHttp10 => RequestError::TransferEncodingInHttp10,
            FramingError::BadTransferEncoding => RequestError::BadTransferEncoding,
            FramingError::UnknownTransferCoding => RequestError::UnknownTransferCoding,
        }
    }
}

impl RequestError {
    /// The status code to answer this error with.
    pub fn status(self) -> StatusCode {
        match self {
            RequestError::VersionNotSupported => StatusCode::HttpVersionNotSupported,
            RequestError::RequestLineTooLong => StatusCode::UriTooLong,
            RequestError::HeadTooLarge => StatusCode::HeaderFieldsTooLarge,
            RequestError::UnknownTransferCoding => StatusCode::NotImplemented,
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
            RequestError::BadContentLength => return FramingError::BadContentLength.fmt(f),
            RequestError::LengthWithTransferEncoding => {
                return FramingError::LengthWithTransferEncoding.fmt(f)
            }
            RequestError::TransferEncodingInHttp10 => {
                return FramingError::TransferEncodingInHttp10.fmt(f)
            }
            RequestError::BadTransferEncoding => return FramingError::BadTransferEncoding.fmt(f),
            RequestError::UnknownTransferCoding => {
                return FramingError::UnknownTransferCoding.fmt(f)
            }
        };
        f.write_str(text)
    }
}

impl std::error::Error for RequestError {}

/// Parses the request head at the start of `buf`.
///
/// Accepts bare LF as a line end and ignores one empty line before the request line
/// (RFC 9112, 2.2). Never panics, whatever the bytes.
pub fn parse_request_head(buf: &[u8]) -> Result<Parse<RequestHead>, RequestError> {
    let start = match buf {
        [b'\r', b'\n', ..] => 2,
        [b'\n', ..] => 1,
        _ => 0,
    };
    let mut lines = Lines::new(buf, start);

    let Some(line) = lines.next_line() else {
        let partial = lines.rest();
        if partial.len() > MAX_REQUEST_LINE {
            return Err(RequestError::RequestLineTooLong);
        }
        return match could_be_request_line(strip_cr(partial)) {
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
            return match could_be_field_line(strip_cr(lines.rest())) {
                true => Ok(Parse::Incomplete),
                false => Err(RequestError::BadHeader),
            };
        };
        if lines.position() - start > MAX_HEAD {
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

    let body = request_framing(version, &headers)?;
    check_host(version, &headers)?;
    let request = RequestHead {
        method: Method::from_token(method),
        target: target.to_string(),
        version,
        headers,
        body,
    };
    Ok(Parse::Complete(request, lines.position()))
}

/// Characters allowed in a request target: visible ASCII, no spaces or controls.
fn is_target_char(b: u8) -> bool {
    (0x21..=0x7e).contains(&b)
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

/// A header line: a token name, a colon, and a value with no control characters but tab.
fn parse_header_line(line: &[u8]) -> Result<Header, RequestError> {
    let (name, value) = split_field_line(line).ok_or(RequestError::BadHeader)?;
    if !value.iter().all(|&b| is_field_value_char(b)) {
        return Err(RequestError::BadHeader);
    }
    Ok(header_from_parts(name, value))
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

    fn complete(bytes: &[u8]) -> (RequestHead, usize) {
        match parse_request_head(bytes) {
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
            (
                b"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
                501,
            ),
            (
                b"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
                400,
            ),
            (b"GET / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
        ];
        for (bytes, status) in cases {
            let got = parse_request_head(bytes).map_err(RequestError::status);
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
            parse_request_head(b"\x16\x03\x01\x02\x00"),
            Err(RequestError::BadRequestLine)
        );
        assert_eq!(
            parse_request_head(b"GET / HTTP/1.1\r\nHo st"),
            Err(RequestError::BadHeader)
        );
    }

    #[test]
    fn a_target_with_a_control_or_non_ascii_byte_is_refused() {
        for target in [&b"/a\x01b"[..], b"/a\x7fb", b"/caf\xc3\xa9", b"/a\tb"] {
            let line = [&b"GET "[..], target, b" HTTP/1.1"].concat();
            let whole = [&line[..], b"\r\nHost: x\r\n\r\n"].concat();
            assert_eq!(
                parse_request_head(&whole),
                Err(RequestError::BadRequestLine),
                "{target:?}"
            );
            // Refused as soon as the byte arrives, without waiting for the line end.
            assert_eq!(
                parse_request_head(&line),
                Err(RequestError::BadRequestLine),
                "{target:?} before the line end"
            );
        }
        // No target at all.
        assert_eq!(
            parse_request_head(b"GET  HTTP/1.1\r\nHost: x\r\n\r\n"),
            Err(RequestError::BadRequestLine)
        );
        // The edges of the allowed range: '!' and '~'.
        let edges = b"GET /!~ HTTP/1.1\r\nHost: x\r\n\r\n";
        assert!(matches!(parse_request_head(edges), Ok(Parse::Complete(..))));
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
            assert_eq!(
                parse_request_head(head.as_bytes()),
                Err(expected),
                "{version}"
            );
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
                parse_request_head(partial),
                Err(RequestError::BadRequestLine),
                "{:?}",
                String::from_utf8_lossy(partial)
            );
        }
        for partial in [&b"GET"[..], b"GET /a", b"GET /a HTTP/1", b"GET /a HTTP/2.0"] {
            assert_eq!(parse_request_head(partial), Ok(Parse::Incomplete));
        }
    }

    #[test]
    fn a_header_name_must_be_a_token() {
        for line in ["X-A : 1", ": 1", "X\u{7f}A: 1", "X A: 1"] {
            let head = format!("GET / HTTP/1.1\r\nHost: x\r\n{line}\r\n\r\n");
            assert_eq!(
                parse_request_head(head.as_bytes()),
                Err(RequestError::BadHeader),
                "{line:?}"
            );
            // Refused before the line ends, too.
            let partial = format!("GET / HTTP/1.1\r\n{line}");
            assert_eq!(
                parse_request_head(partial.as_bytes()),
                Err(RequestError::BadHeader),
                "{line:?} before its line end"
            );
        }
        let control = b"GET / HTTP/1.1\r\nX-A: a\x01";
        assert_eq!(parse_request_head(control), Err(RequestError::BadHeader));
        let unfinished = b"GET / HTTP/1.1\r\nX-A: a b";
        assert_eq!(parse_request_head(unfinished), Ok(Parse::Incomplete));
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
                matches!(parse_request_head(head.as_bytes()), Ok(Parse::Complete(..))),
                "{host:?}"
            );
        }
        for host in ["a b", "a/b", "a@b", "a\"b", "caf\u{e9}"] {
            let head = format!("GET / HTTP/1.1\r\nHost: {host}\r\n\r\n");
            assert_eq!(
                parse_request_head(head.as_bytes()),
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
                parse_request_head(&head[..end]),
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
            parse_request_head(b"\n\nGET / HTTP/1.0\n\n"),
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
            parse_request_head(&exact),
            Err(RequestError::MissingHost)
        ));
        let over = head_of(MAX_HEAD + 1);
        assert_eq!(parse_request_head(&over), Err(RequestError::HeadTooLarge));
        // Still waiting for a line end: at the limit it may yet end; past it, it cannot.
        let partial = |len: usize| {
            let fixed = "GET / HTTP/1.1\r\nX: ".len();
            format!("GET / HTTP/1.1\r\nX: {}", "v".repeat(len - fixed)).into_bytes()
        };
        assert_eq!(
            parse_request_head(&partial(MAX_HEAD)),
            Ok(Parse::Incomplete)
        );
        assert_eq!(
            parse_request_head(&partial(MAX_HEAD + 1)),
            Err(RequestError::HeadTooLarge)
        );
    }

    #[test]
    fn a_leading_empty_line_does_not_count_against_the_head_limit() {
        let with_crlf = |head: Vec<u8>| [b"\r\n".to_vec(), head].concat();
        let exact = with_crlf(head_of(MAX_HEAD));
        assert!(matches!(
            parse_request_head(&exact),
            Err(RequestError::MissingHost)
        ));
        let unfinished = &exact[..exact.len() - 2]; // all but the final empty line
        assert_eq!(parse_request_head(unfinished), Ok(Parse::Incomplete));
        let over = with_crlf(head_of(MAX_HEAD + 1));
        assert_eq!(parse_request_head(&over), Err(RequestError::HeadTooLarge));
    }

    #[test]
    fn a_request_line_of_exactly_the_limit_is_accepted() {
        let target = "a".repeat(MAX_REQUEST_LINE - "GET / HTTP/1.1".len());
        let line = format!("GET /{target} HTTP/1.1");
        assert_eq!(line.len(), MAX_REQUEST_LINE);
        let head = format!("{line}\r\nHost: x\r\n\r\n");
        assert!(matches!(
            parse_request_head(head.as_bytes()),
            Ok(Parse::Complete(..))
        ));
        let longer = format!("GET /a{target} HTTP/1.1\r\nHost: x\r\n\r\n");
        assert_eq!(
            parse_request_head(longer.as_bytes()),
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
            parse_request_head(long_line.as_bytes()),
            Err(RequestError::RequestLineTooLong)
        );
        let many = format!(
            "GET / HTTP/1.1\r\n{}\r\n",
            "X: y\r\n".repeat(MAX_HEADERS + 1)
        );
        assert_eq!(
            parse_request_head(many.as_bytes()),
            Err(RequestError::HeadTooLarge)
        );
        let huge = format!("GET / HTTP/1.1\r\nX: {}", "y".repeat(MAX_HEAD));
        assert_eq!(
            parse_request_head(huge.as_bytes()),
            Err(RequestError::HeadTooLarge)
        );
    }
}
