//! Reading the response head: the status line and the header fields
//! (RFC 9112 sections 4 and 5).

use std::io::{BufRead, Read};

use super::{ClientError, MAX_HEAD_BYTES};
use crate::escape::escape_bytes;

/// The status line and header fields of a response.
///
/// ```text
/// HTTP/1.1 200 OK                  <- status line: version, status, reason
/// Content-Type: text/html          <- header fields, "name: value"
/// Content-Length: 1234
///                                  <- an empty line ends the head
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseHead {
    /// The protocol version, such as `HTTP/1.1`.
    pub version: String,
    /// The three-digit status code, such as 200 or 404 (RFC 9110 section 15).
    pub status: u16,
    /// The reason phrase, such as `Not Found`. Purely for humans: clients
    /// must decide by `status` alone, and the phrase may even be empty.
    pub reason: String,
    /// The header fields in the order received, names as sent, values
    /// trimmed of surrounding whitespace. Names compare case-insensitively.
    pub headers: Vec<(String, String)>,
    /// The head exactly as received, through the empty line, for printing.
    pub raw: Vec<u8>,
}

impl ResponseHead {
    /// The value of the first header field called `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The values of every header field called `name` (any case), in order.
    /// A field may legally be repeated, so framing headers need them all.
    pub fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// True for an interim response such as `100 Continue` or `103 Early Hints`,
    /// which another response follows on the same connection (RFC 9110 section 15.2).
    ///
    /// Every 1xx is interim except `101 Switching Protocols` (RFC 9110 section 15.2.2):
    /// after its empty line the connection speaks the protocol named in `Upgrade`, not
    /// HTTP/1.1, so no HTTP response follows. For this client, which speaks no other
    /// protocol, a 101 is the last response: it has no body, and the exchange ends there.
    pub fn is_interim(&self) -> bool {
        (100..200).contains(&self.status) && self.status != 101
    }

    /// The head as received, with every control character but the tab (and the line ends)
    /// shown as `\xNN`, safe to print on a terminal (see [`crate::escape`]).
    ///
    /// A header is chosen by the server, and a hostile one can hide escape sequences in it;
    /// field values may not contain control characters other than the tab anyway
    /// (RFC 9110 section 5.5), so a well-behaved head prints exactly as received.
    pub fn printable(&self) -> String {
        let mut out = String::with_capacity(self.raw.len());
        for line in self.raw.split_inclusive(|&b| b == b'\n') {
            let content = trim_cr(line.strip_suffix(b"\n").unwrap_or(line));
            out.push_str(&escape_bytes(content, |c| c.is_control() && c != '\t'));
            out.push_str(&String::from_utf8_lossy(&line[content.len()..]));
        }
        out
    }
}

/// Parses a response head from the start of `buf`.
///
/// Returns `Ok(None)` while the head is *incomplete* (no empty line yet): read
/// more and call again. Returns `Ok(Some((head, len)))` once it is complete,
/// where `len` is the size of the head; any bytes after it belong to the body.
/// Returns an error as soon as the bytes cannot become a valid head, for
/// example when the first line does not start like `HTTP/1.1 200`.
///
/// Lines may end in CRLF or, leniently, a bare LF (RFC 9112 section 2.2).
/// Never panics, whatever the bytes.
pub fn parse_response_head(buf: &[u8]) -> Result<Option<(ResponseHead, usize)>, ClientError> {
    let Some(len) = find_head_end(buf) else {
        // Reject garbage early rather than waiting for an empty line that may never come.
        match buf.iter().position(|&b| b == b'\n') {
            Some(eol) => {
                parse_status_line(trim_cr(&buf[..eol]))?;
            }
            None if !b"HTTP/".starts_with(&buf[..buf.len().min(5)]) => {
                return Err(ClientError::NotHttp(preview(buf)));
            }
            None => {}
        }
        if buf.len() > MAX_HEAD_BYTES {
            return Err(ClientError::HeadTooLarge);
        }
        return Ok(None);
    };
    if len > MAX_HEAD_BYTES {
        return Err(ClientError::HeadTooLarge);
    }

    let mut lines = buf[..len].split(|&b| b == b'\n').map(trim_cr);
    let (version, status, reason) = parse_status_line(lines.next().unwrap_or_default())?;
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in lines.take_while(|line| !line.is_empty()) {
        match (line.first(), headers.last_mut()) {
            // Obsolete line folding: a line starting with whitespace continues
            // the previous value; a client replaces the fold with a space
            // (RFC 9112 section 5.2).
            (Some(b' ' | b'\t'), Some((_, value))) => {
                value.push(' ');
                value.push_str(&String::from_utf8_lossy(trim_whitespace(line)));
            }
            _ => headers.push(parse_field_line(line)?),
        }
    }
    let head = ResponseHead {
        version,
        status,
        reason,
        headers,
        raw: buf[..len].to_vec(),
    };
    Ok(Some((head, len)))
}

/// Reads one response head from `reader`, reading at most `limit` bytes.
pub(crate) fn read_head(
    reader: &mut impl BufRead,
    limit: usize,
) -> Result<ResponseHead, ClientError> {
    let mut raw = Vec::new();
    loop {
        let line_start = raw.len();
        let room = limit.saturating_sub(raw.len());
        match read_line(reader, &mut raw, room)? {
            Line::TooLong => return Err(ClientError::HeadTooLarge),
            Line::Eof => {
                parse_response_head(&raw)?; // a better error if it was garbage
                return Err(ClientError::HeadCutShort { got: raw.len() });
            }
            // Parse only when it can tell us something: after the first line
            // (is this HTTP at all?) and after the empty line that ends the head.
            Line::Complete if line_start == 0 || matches!(&raw[line_start..], b"\n" | b"\r\n") => {
                if let Some((head, _)) = parse_response_head(&raw)? {
                    return Ok(head);
                }
            }
            Line::Complete => {}
        }
    }
}

/// How a call to [`read_line`] ended.
pub(crate) enum Line {
    /// A whole line, through its `\n`, was appended.
    Complete,
    /// The stream ended first; whatever arrived was appended.
    Eof,
    /// `limit` bytes arrived without a `\n`.
    TooLong,
}

/// Appends one line (through its `\n`) to `buf`, reading at most `limit` bytes,
/// so that a peer that never sends a newline cannot make us use unbounded memory.
pub(crate) fn read_line(
    reader: &mut impl BufRead,
    buf: &mut Vec<u8>,
    limit: usize,
) -> Result<Line, ClientError> {
    let n = Read::take(reader, limit as u64).read_until(b'\n', buf)?;
    Ok(if n > 0 && buf.ends_with(b"\n") {
        Line::Complete
    } else if n == limit {
        Line::TooLong
    } else {
        Line::Eof
    })
}

/// The length of the head in `buf`, through the empty line that ends it.
fn find_head_end(buf: &[u8]) -> Option<usize> {
    let mut line_start = 0;
    for (i, &byte) in buf.iter().enumerate() {
        if byte == b'\n' {
            if line_start > 0 && trim_cr(&buf[line_start..i]).is_empty() {
                return Some(i + 1);
            }
            line_start = i + 1;
        }
    }
    None
}

/// `status-line = HTTP-version SP status-code SP [ reason-phrase ]`
/// (RFC 9112 section 4). A missing space after the code is tolerated.
fn parse_status_line(line: &[u8]) -> Result<(String, u16, String), ClientError> {
    let not_http = || ClientError::NotHttp(preview(line));
    let [b'H', b'T', b'T', b'P', b'/', major, b'.', minor, b' ', d1, d2, d3, rest @ ..] = line
    else {
        return Err(not_http());
    };
    if ![major, minor, d1, d2, d3]
        .iter()
        .all(|b| b.is_ascii_digit())
        || *d1 == b'0'
    {
        return Err(not_http());
    }
    let reason = match rest {
        [] => &[][..],
        [b' ', reason @ ..] => reason,
        _ => return Err(not_http()),
    };
    let status = [d1, d2, d3]
        .iter()
        .fold(0, |n, d| n * 10 + u16::from(**d - b'0'));
    let version = format!("HTTP/{}.{}", char::from(*major), char::from(*minor));
    Ok((
        version,
        status,
        String::from_utf8_lossy(reason).into_owned(),
    ))
}

/// `field-line = field-name ":" OWS field-value OWS` (RFC 9112 section 5).
/// No whitespace is allowed between the name and the colon.
fn parse_field_line(line: &[u8]) -> Result<(String, String), ClientError> {
    let bad = || ClientError::BadHeader(preview(line));
    let colon = line.iter().position(|&b| b == b':').ok_or_else(bad)?;
    let name = &line[..colon];
    if name.is_empty() || !name.iter().all(|&b| is_token_char(b)) {
        return Err(bad());
    }
    // The name is all token characters, so ASCII: the lossy conversion is exact.
    let name = String::from_utf8_lossy(name).into_owned();
    let value = String::from_utf8_lossy(trim_whitespace(&line[colon + 1..])).into_owned();
    Ok((name, value))
}

/// `tchar` from RFC 9110 section 5.6.2: the characters allowed in a field name.
fn is_token_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Drops one trailing `\r`, so CRLF and bare LF lines look alike.
pub(crate) fn trim_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Drops spaces and tabs (HTTP's "optional whitespace") from both ends.
pub(crate) fn trim_whitespace(bytes: &[u8]) -> &[u8] {
    let is_ows = |b: &u8| *b == b' ' || *b == b'\t';
    let start = bytes.iter().position(|b| !is_ows(b)).unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !is_ows(b))
        .map_or(start, |i| i + 1);
    &bytes[start..end]
}

/// The start of `bytes` as text, short enough for a one-line error message.
pub(crate) fn preview(bytes: &[u8]) -> String {
    let line = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
    String::from_utf8_lossy(&line[..line.len().min(60)]).into_owned()
}
