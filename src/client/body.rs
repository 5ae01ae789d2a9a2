//! Reading the response body: where it ends (RFC 9112 section 6.3, decided by the rules
//! the server's request parser uses too, in [`crate::http::framing`]) and how to undo the
//! chunked transfer coding (RFC 9112 section 7.1).

use std::io::{self, BufRead, Read, Write};

use super::head::preview;
use super::{ClientError, ClientResponseHead, Method, MAX_HEAD_BYTES};
use crate::http::framing::{response_framing, BodyFraming};
use crate::http::syntax::{read_line, strip_cr, trim_ows, LineRead};

/// The longest chunk-size line we accept, chunk extensions included.
const MAX_CHUNK_LINE_BYTES: usize = 4 * 1024;

/// Decides where the body of a response to `method` ends: the rules of RFC 9112
/// section 6.3, as [`response_framing`] applies them. TCP delivers a stream of bytes, not
/// messages, so the head must tell the client where the body stops; getting this right
/// is what lets a client read a response from a server that keeps the connection open.
///
/// In short: a response to HEAD, and any 1xx, 204 or 304 response, has no body; a
/// `Transfer-Encoding` ending in `chunked` makes the body chunked, and one that does not
/// makes it run until close; otherwise `Content-Length` gives the length (repeated values
/// must agree: guessing where a message ends is how smuggling attacks work), and without
/// one the body runs until the server closes the connection.
pub fn body_framing(
    method: &Method,
    head: &ClientResponseHead,
) -> Result<BodyFraming, ClientError> {
    // A response's framing can only fail on its Content-Length.
    response_framing(method, head.status, &head.headers).map_err(|_| {
        let all: Vec<&str> = head.header_values("content-length").collect();
        ClientError::BadContentLength(all.join(", "))
    })
}

/// Copies a body framed as `framing` from `reader` to `out`, streaming it a
/// piece at a time, and returns the number of body bytes written.
///
/// Stops exactly where the body ends, so it never waits for the server to
/// close a connection it wants to keep open. A body that ends early is
/// [`ClientError::BodyCutShort`], never a quiet success.
pub fn copy_body(
    reader: &mut impl BufRead,
    framing: BodyFraming,
    out: &mut impl Write,
) -> Result<u64, ClientError> {
    match framing {
        BodyFraming::None => Ok(0),
        BodyFraming::Length(expected) => {
            let got = copy_at_most(reader, out, expected)?;
            if got < expected {
                return Err(ClientError::BodyCutShort {
                    expected: Some(expected),
                    got,
                });
            }
            Ok(got)
        }
        BodyFraming::Chunked => copy_chunked(reader, out),
        BodyFraming::UntilClose => copy_at_most(reader, out, u64::MAX),
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
            LineRead::Complete => {}
            LineRead::Eof => {
                return Err(ClientError::BodyCutShort {
                    expected: None,
                    got: total,
                })
            }
            LineRead::TooLong => return Err(bad_chunk("chunk-size line too long", &line)),
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
            LineRead::Complete if matches!(&line[..], b"\r\n" | b"\n") => {}
            LineRead::Eof => {
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
    let without_eol = strip_cr(line.strip_suffix(b"\n").unwrap_or(line));
    let size = without_eol.split(|&b| b == b';').next().unwrap_or_default();
    let size = trim_ows(size);
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
            LineRead::Complete if matches!(&trailers[line_start..], b"\r\n" | b"\n") => {
                return Ok(())
            }
            LineRead::Complete => {}
            // Every byte of data has arrived; only the final empty line is
            // missing. Accept it rather than fail a complete download.
            LineRead::Eof => return Ok(()),
            LineRead::TooLong => return Err(bad_chunk("trailer section too large", &trailers)),
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
