//! Reading the response head: the status line and the header fields
//! (RFC 9112 sections 4 and 5).
//!
//! Only the status line is the client's own: the lines, the header fields and their
//! limits follow the grammar the server's request parser uses, in [`crate::http::syntax`],
//! and the parser answers in the same shape, [`Parse`].

use std::io::BufRead;

use super::{ClientError, MAX_HEAD_BYTES};
use crate::escape::escape_bytes;
use crate::http::syntax::{
    field_values, header_from_parts, read_line, split_field_line, strip_cr, trim_ows, Header,
    LineRead, Lines, Parse,
};

/// The status line and header fields of a response.
///
/// ```text
/// HTTP/1.1 200 OK                  <- status line: version, status, reason
/// Content-Type: text/html          <- header fields, "name: value"
/// Content-Length: 1234
///                                  <- an empty line ends the head
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientResponseHead {
    /// The protocol version, such as `HTTP/1.1`.
    pub version: String,
    /// The three-digit status code, such as 200 or 404 (RFC 9110 section 15).
    pub status: u16,
    /// The reason phrase, such as `Not Found`. Purely for humans: clients
    /// must decide by `status` alone, and the phrase may even be empty.
    pub reason: String,
    /// The header fields in the order received, names as sent, values
    /// trimmed of surrounding whitespace. Names compare case-insensitively.
    pub headers: Vec<Header>,
    /// The head exactly as received, through the empty line, for printing.
    pub raw: Vec<u8>,
}

impl ClientResponseHead {
    /// The value of the first header field called `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        field_values(&self.headers, name).next()
    }

    /// The values of every header field called `name` (any case), in order.
    /// A field may legally be repeated, so framing headers need them all.
    pub fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        field_values(&self.headers, name)
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
            let content = strip_cr(line.strip_suffix(b"\n").unwrap_or(line));
            out.push_str(&escape_bytes(content, |c| c.is_control() && c != '\t'));
            out.push_str(&String::from_utf8_lossy(&line[content.len()..]));
        }
        out
    }
}

/// Parses a response head from the start of `buf`.
///
/// Returns `Ok(Parse::Incomplete)` while the head is incomplete (no empty line yet):
/// read more and call again. Returns `Ok(Parse::Complete(head, len))` once it is
/// complete, where `len` is the size of the head; any bytes after it belong to the body.
/// Returns an error as soon as the bytes cannot become a valid head, for
/// example when the first line does not start like `HTTP/1.1 200`.
///
/// Lines may end in CRLF or, leniently, a bare LF (RFC 9112 section 2.2).
/// Never panics, whatever the bytes.
pub fn parse_response_head(buf: &[u8]) -> Result<Parse<ClientResponseHead>, ClientError> {
    let Some(len) = find_head_end(buf) else {
        // Reject garbage early rather than waiting for an empty line that may never come.
        match buf.iter().position(|&b| b == b'\n') {
            Some(eol) => {
                parse_status_line(strip_cr(&buf[..eol]))?;
            }
            None if !b"HTTP/".starts_with(&buf[..buf.len().min(5)]) => {
                return Err(ClientError::NotHttp(preview(buf)));
            }
            None => {}
        }
        if buf.len() > MAX_HEAD_BYTES {
            return Err(ClientError::HeadTooLarge);
        }
        return Ok(Parse::Incomplete);
    };
    if len > MAX_HEAD_BYTES {
        return Err(ClientError::HeadTooLarge);
    }

    let mut lines = Lines::new(&buf[..len], 0);
    let (version, status, reason) = parse_status_line(lines.next_line().unwrap_or_default())?;
    let mut headers: Vec<Header> = Vec::new();
    while let Some(line) = lines.next_line().filter(|line| !line.is_empty()) {
        match (line.first(), headers.last_mut()) {
            // Obsolete line folding: a line starting with whitespace continues
            // the previous value; a client replaces the fold with a space
            // (RFC 9112 section 5.2).
            (Some(b' ' | b'\t'), Some(previous)) => {
                previous.value.push(' ');
                previous
                    .value
                    .push_str(&String::from_utf8_lossy(trim_ows(line)));
            }
            _ => headers.push(parse_field_line(line)?),
        }
    }
    let head = ClientResponseHead {
        version,
        status,
        reason,
        headers,
        raw: buf[..len].to_vec(),
    };
    Ok(Parse::Complete(head, len))
}

/// Reads one response head from `reader`, reading at most `limit` bytes.
pub(crate) fn read_head(
    reader: &mut impl BufRead,
    limit: usize,
) -> Result<ClientResponseHead, ClientError> {
    let mut raw = Vec::new();
    loop {
        let line_start = raw.len();
        let room = limit.saturating_sub(raw.len());
        match read_line(reader, &mut raw, room)? {
            LineRead::TooLong => return Err(ClientError::HeadTooLarge),
            LineRead::Eof => {
                parse_response_head(&raw)?; // a better error if it was garbage
                return Err(ClientError::HeadCutShort { got: raw.len() });
            }
            // Parse only when it can tell us something: after the first line
            // (is this HTTP at all?) and after the empty line that ends the head.
            LineRead::Complete
                if line_start == 0 || matches!(&raw[line_start..], b"\n" | b"\r\n") =>
            {
                if let Parse::Complete(head, _) = parse_response_head(&raw)? {
                    return Ok(head);
                }
            }
            LineRead::Complete => {}
        }
    }
}

/// The length of the head in `buf`, through the empty line that ends it. The first line
/// is the status line, even when it is empty: only a later empty line ends the head.
fn find_head_end(buf: &[u8]) -> Option<usize> {
    let mut lines = Lines::new(buf, 0);
    lines.next_line()?;
    while !lines.next_line()?.is_empty() {}
    Some(lines.position())
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

/// `field-line = field-name ":" OWS field-value OWS` (RFC 9112 section 5), split by the
/// rule the server uses too ([`split_field_line`]).
fn parse_field_line(line: &[u8]) -> Result<Header, ClientError> {
    let (name, value) =
        split_field_line(line).ok_or_else(|| ClientError::BadHeader(preview(line)))?;
    Ok(header_from_parts(name, value))
}

/// The start of `bytes` as text, short enough for a one-line error message.
pub(crate) fn preview(bytes: &[u8]) -> String {
    let line = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
    String::from_utf8_lossy(&line[..line.len().min(60)]).into_owned()
}
