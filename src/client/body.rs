//! Reading the response body: where it ends (RFC 9112 section 6.3) and how
//! to undo the chunked transfer coding (RFC 9112 section 7.1).

use std::io::{self, BufRead, Read, Write};

use super::head::{preview, read_line, trim_cr, trim_whitespace, Line};
use super::{ClientError, Method, ResponseHead, MAX_HEAD_BYTES};

/// The longest chunk-size line we accept, chunk extensions included.
const MAX_CHUNK_LINE_BYTES: usize = 4 * 1024;

/// Where the body of a response ends.
///
/// TCP delivers a stream of bytes, not messages, so the head must tell the
/// client where the body stops. Getting this right is what lets a client
/// read a response from a server that keeps the connection open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyLength {
    /// There is no body, whatever the headers say.
    Empty,
    /// The body is exactly this many bytes (`Content-Length`).
    Exactly(u64),
    /// The body is a series of chunks, ended by a chunk of size zero
    /// (`Transfer-Encoding: chunked`).
    Chunked,
    /// The body is everything until the server closes the connection.
    UntilClose,
}

/// Decides where the body of a response to `method` ends, following the
/// rules of RFC 9112 section 6.3, in order:
///
/// 1. A response to HEAD, and any 1xx, 204 or 304 response, has no body,
///    even if it carries a `Content-Length` (it describes the GET response).
/// 2. (A 2xx response to CONNECT: this client never sends CONNECT.)
/// 3. `Transfer-Encoding` overrides `Content-Length`: if `chunked` is the
///    last coding the body is chunked, otherwise it runs until close.
/// 4. A valid `Content-Length` gives the length. Several identical values
///    (`5, 5`) are allowed; anything else is an error, because guessing
///    where a message ends is how request smuggling attacks work.
/// 5. Otherwise the body runs until the server closes the connection.
pub fn body_length(method: Method, head: &ResponseHead) -> Result<BodyLength, ClientError> {
    let informational = (100..200).contains(&head.status); // 101 included
    if method == Method::Head || informational || head.status == 204 || head.status == 304 {
        return Ok(BodyLength::Empty);
    }

    let codings: Vec<&str> = head
        .header_values("transfer-encoding")
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .filter(|coding| !coding.is_empty())
        .collect();
    if let Some(last) = codings.last() {
        return Ok(if last.eq_ignore_ascii_case("chunked") {
            BodyLength::Chunked
        } else {
            BodyLength::UntilClose
        });
    }

    let mut length = None;
    for value in head
        .header_values("content-length")
        .flat_map(|v| v.split(','))
    {
        let value = value.trim();
        let bad = || {
            let all: Vec<&str> = head.header_values("content-length").collect();
            ClientError::BadContentLength(all.join(", "))
        };
        // Check the digits first: `parse` alone would accept "+5".
        if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let n: u64 = value.parse().map_err(|_| bad())?;
        if length.is_some_and(|previous| previous != n) {
            return Err(bad());
        }
        length = Some(n);
    }
    Ok(length.map_or(BodyLength::UntilClose, BodyLength::Exactly))
}

/// Copies a body of the given length from `reader` to `out`, streaming it a
/// piece at a time, and returns the number of body bytes written.
///
/// Stops exactly where the body ends, so it never waits for the server to
/// close a connection it wants to keep open. A body that ends early is
/// [`ClientError::BodyCutShort`], never a quiet success.
pub fn copy_body(
    reader: &mut impl BufRead,
    length: BodyLength,
    out: &mut impl Write,
) -> Result<u64, ClientError> {
    match length {
        BodyLength::Empty => Ok(0),
        BodyLength::Exactly(expected) => {
            let got = copy_at_most(reader, out, expected)?;
            if got < expected {
                return Err(ClientError::BodyCutShort {
                    expected: Some(expected),
                    got,
                });
            }
            Ok(got)
        }
        BodyLength::Chunked => copy_chunked(reader, out),
        BodyLength::UntilClose => copy_at_most(reader, out, u64::MAX),
    }
}

/// Decodes a chunked body from `reader`, writing only the data to `out`;
/// returns the number of data bytes.
///
/// ```text
/// 5;note=extension\r\n     <- chunk size in hex, optional extensions (ignored)
/// hello\r\n                <- that many bytes of data, then CRLF
/// 0\r\n                    <- the last chunk has size zero
/// Expires: never\r\n       <- optional trailer fields (read and discarded)
/// \r\n                     <- an empty line ends the body
/// ```
///
/// The grammar is in RFC 9112 section 7.1. Chunking lets a server send a
/// body whose length it does not know in advance, and still keep the
/// connection open afterwards.
pub fn copy_chunked(reader: &mut impl BufRead, out: &mut impl Write) -> Result<u64, ClientError> {
    let mut total = 0;
    let mut line = Vec::new();
    loop {
        line.clear();
        match read_line(reader, &mut line, MAX_CHUNK_LINE_BYTES)? {
            Line::Complete => {}
            Line::Eof => {
                return Err(ClientError::BodyCutShort {
                    expected: None,
                    got: total,
                })
            }
            Line::TooLong => return Err(bad_chunk("chunk-size line too long", &line)),
        }
        let size = parse_chunk_size(&line)?;
        if size == 0 {
            skip_trailer_section(reader)?;
            return Ok(total);
        }

        // A chunk cut short leaves nothing to read: the CRLF read below finds the end.
        total += copy_at_most(reader, out, size)?;
        line.clear();
        match read_line(reader, &mut line, 2)? {
            Line::Complete if matches!(&line[..], b"\r\n" | b"\n") => {}
            Line::Eof => {
                return Err(ClientError::BodyCutShort {
                    expected: None,
                    got: total,
                })
            }
            _ => return Err(bad_chunk("chunk data not followed by CRLF", &line)),
        }
    }
}

/// `chunk-size [ chunk-ext ] CRLF`: the size is hexadecimal; the extensions
/// after `;` carry nothing this client needs (RFC 9112 section 7.1.1).
fn parse_chunk_size(line: &[u8]) -> Result<u64, ClientError> {
    let without_eol = trim_cr(line.strip_suffix(b"\n").unwrap_or(line));
    let size = without_eol.split(|&b| b == b';').next().unwrap_or_default();
    let size = trim_whitespace(size);
    // Check the digits first: from_str_radix alone would accept "+5".
    if size.is_empty() || !size.iter().all(u8::is_ascii_hexdigit) {
        return Err(bad_chunk("bad chunk size", line));
    }
    std::str::from_utf8(size)
        .ok()
        .and_then(|hex| u64::from_str_radix(hex, 16).ok())
        .ok_or_else(|| bad_chunk("chunk size too large", line))
}

/// Reads the trailer fields after the last chunk, up to the empty line.
fn skip_trailer_section(reader: &mut impl BufRead) -> Result<(), ClientError> {
    let mut trailers = Vec::new();
    loop {
        let line_start = trailers.len();
        let room = MAX_HEAD_BYTES.saturating_sub(trailers.len());
        match read_line(reader, &mut trailers, room)? {
            Line::Complete if matches!(&trailers[line_start..], b"\r\n" | b"\n") => return Ok(()),
            Line::Complete => {}
            // Every byte of data has arrived; only the final empty line is
            // missing. Accept it rather than fail a complete download.
            Line::Eof => return Ok(()),
            Line::TooLong => return Err(bad_chunk("trailer section too large", &trailers)),
        }
    }
}

fn bad_chunk(why: &str, line: &[u8]) -> ClientError {
    ClientError::BadChunk(format!("{why}: {:?}", preview(line)))
}

/// Copies up to `limit` bytes, stopping early at end of stream; returns how
/// many were copied. A fixed buffer keeps memory use flat for any body size.
fn copy_at_most(
    reader: &mut impl Read,
    out: &mut impl Write,
    limit: u64,
) -> Result<u64, ClientError> {
    let mut buf = [0; 16 * 1024];
    let mut copied = 0;
    while copied < limit {
        let want = usize::try_from(limit - copied).map_or(buf.len(), |left| left.min(buf.len()));
        let n = match reader.read(&mut buf[..want]) {
            Ok(0) => break,
            Ok(n) => n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err.into()),
        };
        out.write_all(&buf[..n]).map_err(ClientError::Output)?;
        copied += n as u64;
    }
    Ok(copied)
}
