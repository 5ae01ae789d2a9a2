//! The grammar both sides of HTTP/1.1 share: the characters of a token and of a field
//! value, lines and their ends, header field lines and lists (RFC 9110, section 5;
//! RFC 9112, sections 2 and 5).
//!
//! The server's request parser ([`super::request`]) and the client's response parser
//! ([`crate::client`]) are built from these pieces, and both answer in the same shape,
//! [`Parse`]: a whole head and its length, or "not yet", with errors beside it in a
//! `Result`. Only the first line differs between a request and a response.

use std::fmt;
use std::io::{self, BufRead, Read};

/// The largest head (start line plus header lines) either side reads, in bytes: a peer
/// that never ends its head cannot make the reader use unbounded memory.
pub const MAX_HEAD: usize = 64 * 1024;

/// What parsing the start of a buffer found, when it found nothing wrong.
///
/// Telling "incomplete" from "invalid" (the `Err` beside this in a `Result`) is what lets
/// a reader refuse garbage at once instead of waiting for a line end that never comes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parse<T> {
    /// A whole head was found: the head, and how many bytes of the buffer it used. Any
    /// bytes after that belong to the body or to the next message.
    Complete(T, usize),
    /// Not enough bytes yet, and nothing wrong so far: read more and parse again.
    Incomplete,
}

impl<T> Parse<T> {
    /// The head and its length if it is complete, `None` if more bytes are needed.
    pub fn complete(self) -> Option<(T, usize)> {
        match self {
            Parse::Complete(head, len) => Some((head, len)),
            Parse::Incomplete => None,
        }
    }
}

/// One header field line: a name (compared without regard to case) and its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The field name as sent, e.g. `Host`.
    pub name: String,
    /// The field value with surrounding spaces and tabs removed.
    pub value: String,
}

impl fmt::Display for Header {
    /// The field line as sent on the wire, without its line end: `name: value`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.name, self.value)
    }
}

/// The values of every field called `name` (any case), in the order received. A field
/// may be repeated (RFC 9110, 5.3), so rules about framing must look at all of them.
pub fn field_values<'a, 'n>(
    fields: &'a [Header],
    name: &'n str,
) -> impl Iterator<Item = &'a str> + use<'a, 'n> {
    fields
        .iter()
        .filter(move |field| field.name.eq_ignore_ascii_case(name))
        .map(|field| field.value.as_str())
}

/// The elements of a comma-separated list value, such as `Connection: keep-alive, Upgrade`,
/// trimmed of whitespace. Empty elements (`a, , b`) are skipped, as RFC 9110, 5.6.1 asks of
/// a recipient.
pub fn list_elements(value: &str) -> impl Iterator<Item = &str> {
    value
        .split(',')
        .map(|element| element.trim_matches([' ', '\t']))
        .filter(|element| !element.is_empty())
}

/// `tchar` (RFC 9110, 5.6.2): the characters of a token, such as a method or a field name.
pub fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// The characters of a field value (RFC 9110, 5.5): anything but control characters,
/// except horizontal tab. CR, LF and NUL in a value are what header injection is made of.
pub fn is_field_value_char(b: u8) -> bool {
    b == b'\t' || (b >= 0x20 && b != 0x7f)
}

/// Drops one `\r` at the end of a line, so CRLF and bare LF line ends look alike
/// (RFC 9112, 2.2, allows a recipient to accept a bare LF).
pub fn strip_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Drops spaces and tabs (`OWS`, RFC 9110, 5.6.3) from both ends.
pub fn trim_ows(bytes: &[u8]) -> &[u8] {
    let is_ows = |b: &u8| *b == b' ' || *b == b'\t';
    let start = bytes.iter().position(|b| !is_ows(b)).unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !is_ows(b))
        .map_or(start, |i| i + 1);
    &bytes[start..end]
}

/// Walks a buffer line by line: a line ends at LF, and a CR just before it is dropped.
#[derive(Debug, Clone)]
pub struct Lines<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Lines<'a> {
    /// Lines of `buf`, starting at byte `pos`.
    pub fn new(buf: &'a [u8], pos: usize) -> Lines<'a> {
        Lines { buf, pos }
    }

    /// The next whole line without its line end, or `None` if no LF follows yet.
    pub fn next_line(&mut self) -> Option<&'a [u8]> {
        let rest = &self.buf[self.pos..];
        let lf = rest.iter().position(|&b| b == b'\n')?;
        self.pos += lf + 1;
        Some(strip_cr(&rest[..lf]))
    }

    /// How many bytes of the buffer the lines read so far (line ends included) took.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// The bytes after the last whole line: the start of a line still arriving.
    pub fn rest(&self) -> &'a [u8] {
        &self.buf[self.pos..]
    }
}

/// How a call to [`read_line`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineRead {
    /// A whole line, through its LF, was appended.
    Complete,
    /// The stream ended first; whatever arrived was appended.
    Eof,
    /// `limit` bytes arrived without an LF.
    TooLong,
}

/// Appends one line, through its LF, from a stream to `buf`, reading at most `limit` bytes:
/// a peer that never sends a line end cannot make the reader use unbounded memory. This is
/// [`Lines`] for a reader that reads a line at a time from a stream, as the client does.
pub fn read_line(
    reader: &mut impl BufRead,
    buf: &mut Vec<u8>,
    limit: usize,
) -> io::Result<LineRead> {
    let n = Read::take(reader, limit as u64).read_until(b'\n', buf)?;
    Ok(if n > 0 && buf.ends_with(b"\n") {
        LineRead::Complete
    } else if n == limit {
        LineRead::TooLong
    } else {
        LineRead::Eof
    })
}

/// Splits `field-line = field-name ":" OWS field-value OWS` (RFC 9112, 5) into its name and
/// its trimmed value, or `None` if there is no colon or the name is not a token. A name
/// followed by whitespace before the colon is not a token, and is refused: RFC 9112, 5.1
/// forbids it, because parsers that trim it and parsers that do not disagree on the name.
/// A line that starts with whitespace (obs-fold, RFC 9112, 5.2) is refused the same way.
///
/// The value's characters are not checked here: the server refuses control characters in
/// them with [`is_field_value_char`], and the client keeps what it was sent, to show it.
/// (The client also reads an obs-fold line as the continuation it is, before this.)
pub fn split_field_line(line: &[u8]) -> Option<(&[u8], &[u8])> {
    let colon = line.iter().position(|&b| b == b':')?;
    let (name, value) = (&line[..colon], &line[colon + 1..]);
    if name.is_empty() || !name.iter().all(|&b| is_tchar(b)) {
        return None;
    }
    Some((name, trim_ows(value)))
}

/// A field line as a [`Header`], from the parts [`split_field_line`] found. The name is all
/// token characters, so ASCII, and converts exactly; a value that is not UTF-8 is kept with
/// its odd bytes replaced, since nothing in a head needs them.
pub fn header_from_parts(name: &[u8], value: &[u8]) -> Header {
    Header {
        name: String::from_utf8_lossy(name).into_owned(),
        value: String::from_utf8_lossy(value).into_owned(),
    }
}

/// Whether `partial`, the start of a field line whose line end has not arrived yet, could
/// still grow into a valid field line (or into the empty line that ends a head).
pub fn could_be_field_line(partial: &[u8]) -> bool {
    match partial.iter().position(|&b| b == b':') {
        None => partial.iter().all(|&b| is_tchar(b)),
        Some(colon) => {
            colon > 0
                && partial[..colon].iter().all(|&b| is_tchar(b))
                && partial[colon + 1..].iter().all(|&b| is_field_value_char(b))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_complete_parse_gives_its_head_and_length() {
        assert_eq!(Parse::Complete("head", 4).complete(), Some(("head", 4)));
        assert_eq!(Parse::<&str>::Incomplete.complete(), None);
    }

    #[test]
    fn tchar_is_letters_digits_and_the_listed_marks() {
        let allowed: Vec<u8> = (0..=255u8).filter(|&b| is_tchar(b)).collect();
        let mut expected: Vec<u8> = b"!#$%&'*+-.^_`|~".to_vec();
        expected.extend(b'0'..=b'9');
        expected.extend(b'A'..=b'Z');
        expected.extend(b'a'..=b'z');
        expected.sort_unstable();
        assert_eq!(allowed, expected);
    }

    #[test]
    fn a_field_value_may_hold_anything_but_controls_except_tab() {
        for b in [b'\t', b' ', b'a', b'~', 0x80, 0xff] {
            assert!(is_field_value_char(b), "{b:#x} is allowed");
        }
        for b in [0, b'\r', b'\n', 0x1f, 0x7f] {
            assert!(!is_field_value_char(b), "{b:#x} is refused");
        }
    }

    #[test]
    fn lines_end_at_lf_with_or_without_cr() {
        let mut lines = Lines::new(b"xa\r\nb\n\r\nc", 1);
        assert_eq!(lines.next_line(), Some(&b"a"[..]));
        assert_eq!(lines.position(), 4);
        assert_eq!(lines.next_line(), Some(&b"b"[..]));
        assert_eq!(lines.next_line(), Some(&b""[..]));
        assert_eq!(lines.next_line(), None);
        assert_eq!(lines.rest(), b"c");
        assert_eq!(lines.position(), 8);
        // Only one CR goes, and only at the end.
        assert_eq!(strip_cr(b"a\r\r"), b"a\r");
        assert_eq!(strip_cr(b"\ra"), b"\ra");
    }

    #[test]
    fn a_line_is_read_from_a_stream_up_to_a_limit() {
        let mut reader = &b"ab\r\ncd\nefgh"[..];
        let mut buf = Vec::new();
        assert_eq!(
            read_line(&mut reader, &mut buf, 4).ok(),
            Some(LineRead::Complete)
        );
        assert_eq!(buf, b"ab\r\n");
        // A line of exactly the limit, its LF included, still fits.
        buf.clear();
        assert_eq!(
            read_line(&mut reader, &mut buf, 3).ok(),
            Some(LineRead::Complete)
        );
        assert_eq!(buf, b"cd\n");
        buf.clear();
        assert_eq!(
            read_line(&mut reader, &mut buf, 3).ok(),
            Some(LineRead::TooLong)
        );
        assert_eq!(buf, b"efg");
        assert_eq!(
            read_line(&mut reader, &mut buf, 3).ok(),
            Some(LineRead::Eof)
        );
        assert_eq!(buf, b"efgh");
        assert_eq!(
            read_line(&mut reader, &mut buf, 3).ok(),
            Some(LineRead::Eof)
        );
        // A limit of zero reads nothing and cannot tell: it counts as too long.
        let mut more = &b"x\n"[..];
        assert_eq!(
            read_line(&mut more, &mut buf, 0).ok(),
            Some(LineRead::TooLong)
        );
    }

    #[test]
    fn ows_is_spaces_and_tabs_only() {
        assert_eq!(trim_ows(b" \t a b\t "), b"a b");
        assert_eq!(trim_ows(b"\x0ba\r"), b"\x0ba\r");
        assert_eq!(trim_ows(b" \t "), b"");
        assert_eq!(trim_ows(b""), b"");
    }

    #[test]
    fn a_field_line_splits_at_its_first_colon() {
        let split = split_field_line;
        assert_eq!(split(b"Host: a:80 "), Some((&b"Host"[..], &b"a:80"[..])));
        assert_eq!(split(b"X-Empty:"), Some((&b"X-Empty"[..], &b""[..])));
        assert_eq!(split(b"X: a\x01"), Some((&b"X"[..], &b"a\x01"[..])));
        for bad in [
            &b"Host : a"[..],
            b" Host: a",
            b": a",
            b"no colon",
            b"\tX: a",
        ] {
            assert_eq!(split(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
        let header = header_from_parts(b"X", b"caf\xc3\xa9 \xff");
        assert_eq!(header.value, "caf\u{e9} \u{fffd}");
        assert_eq!(header.to_string(), "X: caf\u{e9} \u{fffd}");
    }

    #[test]
    fn a_partial_field_line_is_judged_by_what_has_arrived() {
        for ok in [&b""[..], b"Hos", b"Host:", b"Host: a b\t"] {
            assert!(could_be_field_line(ok), "{ok:?}");
        }
        for bad in [&b" "[..], b"Ho st", b": a", b"X: a\x00", b"X\x7f"] {
            assert!(!could_be_field_line(bad), "{bad:?}");
        }
    }

    #[test]
    fn repeated_fields_and_list_elements_are_all_seen() {
        let fields = [
            header_from_parts(b"Connection", b"close"),
            header_from_parts(b"Host", b"x"),
            header_from_parts(b"CONNECTION", b"a, ,\tb ,"),
        ];
        let values: Vec<&str> = field_values(&fields, "connection").collect();
        assert_eq!(values, ["close", "a, ,\tb ,"]);
        let elements: Vec<&str> = values.into_iter().flat_map(list_elements).collect();
        assert_eq!(elements, ["close", "a", "b"]);
    }
}
