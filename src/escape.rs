//! Showing untrusted bytes safely: a request line in the access log, a response head or
//! body on the client's terminal.
//!
//! A terminal obeys the control characters it is sent. `ESC` (0x1b) starts sequences that
//! move the cursor, recolour or erase text, retitle the window, and on some terminals
//! worse; a bare `\r` returns to the start of the line so that what follows hides what came
//! before. Bytes from the other end of a connection are chosen by whoever is there, so they
//! must never reach a terminal (or a log file later read on one) raw. Each unsafe character
//! is shown instead as `\xNN`, one per byte: the text stays on its lines and nothing is lost.
//!
//! ```
//! use weblab::escape::escape_bytes;
//!
//! let header = b"X-Evil: \x1b]0;pwned\x07";
//! assert_eq!(escape_bytes(header, char::is_control), "X-Evil: \\x1b]0;pwned\\x07");
//! ```

use std::io::{self, Write};

/// Shows `bytes` as text, with each character for which `is_unsafe` holds, and every byte
/// that is not part of valid UTF-8, written as `\xNN` (one per byte).
///
/// Invalid UTF-8 is always escaped: a lone byte in 0x80..=0x9f is a control character
/// (CSI, for one) to a terminal that is not in UTF-8 mode.
pub fn escape_bytes(bytes: &[u8], is_unsafe: impl Fn(char) -> bool) -> String {
    let mut out = String::with_capacity(bytes.len());
    escape_into(&mut out, bytes, &is_unsafe);
    out
}

/// Appends `bytes` to `out`, escaped as [`escape_bytes`] does; returns how many characters
/// (or invalid bytes) were escaped.
fn escape_into(out: &mut String, bytes: &[u8], is_unsafe: &impl Fn(char) -> bool) -> u64 {
    fn push_hex(out: &mut String, bytes: &[u8]) {
        for b in bytes {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    let mut escaped = 0;
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if is_unsafe(c) {
                push_hex(out, c.encode_utf8(&mut [0; 4]).as_bytes());
                escaped += 1;
            } else {
                out.push(c);
            }
        }
        if !chunk.invalid().is_empty() {
            push_hex(out, chunk.invalid());
            escaped += 1;
        }
    }
    escaped
}

/// The control characters a body may keep on a terminal: the line break and the tab. (`\r`
/// is kept only directly before `\n`, as a CRLF line end: see [`TerminalSafe`].)
fn unsafe_in_text(c: char) -> bool {
    c.is_control() && c != '\n' && c != '\t'
}

/// A writer for printing untrusted text on a terminal: passes text through and shows every
/// other control character escaped as `\xNN`.
///
/// Kept as they are: printable text in any language, `\n`, `\t`, and `\r` when a `\n`
/// follows (CRLF line ends). Escaped: every other control character (C0, DEL, C1), a `\r`
/// alone, and bytes that are not UTF-8.
///
/// Data arrives in pieces, and a piece may end halfway through a UTF-8 character or just
/// after a `\r`; those last bytes are held until the next piece decides them, or until
/// [`TerminalSafe::finish`]. (`flush` does not write them: a `\n` may be on its way.)
#[derive(Debug)]
pub struct TerminalSafe<W: Write> {
    inner: W,
    undecided: Vec<u8>,
    escaped: u64,
}

impl<W: Write> TerminalSafe<W> {
    /// Wraps `inner`, usually standard output when it is a terminal.
    pub fn new(inner: W) -> Self {
        TerminalSafe {
            inner,
            undecided: Vec::new(),
            escaped: 0,
        }
    }

    /// Writes out the bytes still held (a `\r` or part of a character at the very end,
    /// escaped, since nothing more will come) and flushes. Returns how many characters (or
    /// invalid bytes) were shown escaped in all, so the caller can say so.
    pub fn finish(mut self) -> io::Result<u64> {
        let rest = std::mem::take(&mut self.undecided);
        self.write_escaped(&rest)?;
        self.inner.flush()?;
        Ok(self.escaped)
    }

    /// Escapes `bytes` and writes them, keeping each `\r\n` as it is.
    fn write_escaped(&mut self, bytes: &[u8]) -> io::Result<()> {
        let mut text = String::with_capacity(bytes.len());
        // `\r` and `\n` are ASCII, never part of a longer UTF-8 character, so splitting
        // at CRLF never cuts a character in two.
        for (i, line) in split_at_crlf(bytes).enumerate() {
            if i > 0 {
                text.push_str("\r\n");
            }
            self.escaped += escape_into(&mut text, line, &unsafe_in_text);
        }
        self.inner.write_all(text.as_bytes())
    }
}

/// The pieces of `bytes` between its CRLF pairs.
fn split_at_crlf(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = Some(bytes);
    std::iter::from_fn(move || {
        let now = rest?;
        match now.windows(2).position(|w| w == b"\r\n") {
            Some(at) => {
                rest = Some(&now[at + 2..]);
                Some(&now[..at])
            }
            None => {
                rest = None;
                Some(now)
            }
        }
    })
}

/// How many bytes at the end of `bytes` cannot be decided yet: a final `\r` (is a `\n`
/// next?) or the start of a UTF-8 character whose other bytes have not arrived.
fn undecided_tail(bytes: &[u8]) -> usize {
    if bytes.ends_with(b"\r") {
        return 1;
    }
    // A UTF-8 character is at most 4 bytes, so an unfinished one is at most 3.
    for len in 1..=bytes.len().min(3) {
        let tail = &bytes[bytes.len() - len..];
        let starts_a_character = tail[0] >= 0xc0;
        if starts_a_character {
            return match std::str::from_utf8(tail) {
                // error_len() is None when the input ended in the middle of a character.
                Err(err) if err.valid_up_to() == 0 && err.error_len().is_none() => len,
                _ => 0,
            };
        }
    }
    0
}

impl<W: Write> Write for TerminalSafe<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.undecided.extend_from_slice(buf);
        let ready = self.undecided.len() - undecided_tail(&self.undecided);
        let now: Vec<u8> = self.undecided.drain(..ready).collect();
        self.write_escaped(&now)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `pieces` one write at a time, then finishes.
    fn shown(pieces: &[&[u8]]) -> (String, u64) {
        let mut bytes = Vec::new();
        let mut out = TerminalSafe::new(&mut bytes);
        for piece in pieces {
            out.write_all(piece).expect("write to a Vec");
        }
        let escaped = out.finish().expect("finish into a Vec");
        let text = String::from_utf8(bytes).expect("escaped output is UTF-8");
        (text, escaped)
    }

    #[test]
    fn controls_and_invalid_utf8_are_escaped_and_text_is_not() {
        assert_eq!(
            escape_bytes(b"caf\xc3\xa9 \x1b[2J\xff\x7f\t", char::is_control),
            "café \\x1b[2J\\xff\\x7f\\x09"
        );
        // A C1 control written in UTF-8 (U+009B, CSI) is a control character too.
        assert_eq!(
            escape_bytes("a\u{9b}b".as_bytes(), char::is_control),
            "a\\xc2\\x9bb"
        );
    }

    #[test]
    fn text_with_crlf_and_tabs_passes_through_a_terminal_unchanged() {
        let text = "<p>\tHello,\r\nwörld</p>\n";
        assert_eq!(shown(&[text.as_bytes()]), (text.to_string(), 0));
    }

    #[test]
    fn escape_sequences_and_a_lone_cr_are_shown_escaped_on_a_terminal() {
        assert_eq!(
            shown(&[b"ok\x1b]0;title\x07\rfake\0\n"]),
            ("ok\\x1b]0;title\\x07\\x0dfake\\x00\n".to_string(), 4)
        );
    }

    #[test]
    fn a_crlf_or_a_character_split_between_writes_is_still_recognised() {
        assert_eq!(
            shown(&[b"line\r", b"\nw\xc3", b"\xb6rld"]).0,
            "line\r\nwörld"
        );
        assert_eq!(shown(&[b"a\xe2\x82", b"\xac"]).0, "a€");
    }

    #[test]
    fn bytes_still_held_at_the_end_are_escaped() {
        assert_eq!(shown(&[b"end\r"]), ("end\\x0d".to_string(), 1));
        assert_eq!(shown(&[b"cut \xe2\x82"]), ("cut \\xe2\\x82".to_string(), 1));
    }
}
