//! Writing a response head (RFC 9112, section 4 and 5).

use std::io::{self, Write};

use super::StatusCode;

/// A response's status line and header lines, ready to be written in one call.
///
/// Building the whole head in memory and sending it with one `write_all` keeps it in one
/// TCP segment where it fits, instead of one small packet per header.
///
/// ```
/// use weblab::http::{ResponseHead, StatusCode};
/// let head = ResponseHead::new(StatusCode::NotFound).header("Content-Length", "0");
/// assert_eq!(head.to_bytes(), b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseHead {
    /// The status sent on the status line.
    pub status: StatusCode,
    /// The header lines, in the order they are sent.
    pub headers: Vec<(&'static str, String)>,
}

impl ResponseHead {
    /// A head with a status and no headers yet.
    pub fn new(status: StatusCode) -> ResponseHead {
        ResponseHead {
            status,
            headers: Vec::new(),
        }
    }

    /// Adds a header line. Values come from the server, never from the request, so they
    /// cannot smuggle a line end; this is checked in debug builds.
    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> ResponseHead {
        let value = value.into();
        debug_assert!(!value.bytes().any(|b| b == b'\r' || b == b'\n'));
        self.headers.push((name, value));
        self
    }

    /// The value of the header called `name`, if any.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The head as bytes: status line, header lines, empty line.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        out.extend_from_slice(b"HTTP/1.1 ");
        out.extend_from_slice(self.status.to_string().as_bytes());
        out.extend_from_slice(b"\r\n");
        for (name, value) in &self.headers {
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
        out
    }

    /// Writes the head in one call and returns the number of bytes written.
    pub fn write_to(&self, out: &mut impl Write) -> io::Result<usize> {
        let bytes = self.to_bytes();
        out.write_all(&bytes)?;
        Ok(bytes.len())
    }
}

/// The short HTML page sent with an error status. It names the status only: echoing any
/// part of the request here would let a crafted link inject script (reflected XSS).
pub fn error_page(status: StatusCode) -> String {
    format!(
        "<!DOCTYPE html>\n<html><head><title>{status}</title></head>\
         <body><h1>{status}</h1></body></html>\n"
    )
}

/// Escapes text for use inside HTML, e.g. a file name in a directory listing.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_header_is_found_by_its_name_in_any_case() {
        let head = ResponseHead::new(StatusCode::Ok)
            .header("Content-Type", "text/plain")
            .header("Content-Length", "5");
        assert_eq!(head.get("content-length"), Some("5"));
        assert_eq!(head.get("CONTENT-TYPE"), Some("text/plain"));
        assert_eq!(head.get("ETag"), None);
    }

    #[test]
    fn the_head_is_a_status_line_header_lines_and_an_empty_line() {
        let head = ResponseHead::new(StatusCode::NotFound).header("Content-Length", "0");
        let bytes = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
        assert_eq!(head.to_bytes(), bytes);
        let mut out = Vec::new();
        assert_eq!(head.write_to(&mut out).expect("write"), bytes.len());
        assert_eq!(out, bytes);
    }
}
