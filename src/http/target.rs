//! From request target to path: forms, query, and percent-decoding (RFC 9112, 3.2).

use std::fmt;

/// Why a request target cannot name a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetError {
    /// Neither origin-form (`/path`) nor absolute-form (`http://host/path`).
    UnsupportedForm,
    /// A `%` not followed by two hex digits.
    BadEscape,
    /// The decoded path holds a NUL or another control character.
    ControlCharacter,
    /// The decoded path is not UTF-8.
    NotUtf8,
}

impl fmt::Display for TargetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TargetError::UnsupportedForm => "request target is not a path or an http URL",
            TargetError::BadEscape => "bad percent-escape in request target",
            TargetError::ControlCharacter => "control character in request path",
            TargetError::NotUtf8 => "request path is not UTF-8",
        })
    }
}

impl std::error::Error for TargetError {}

/// Turns a request target into the decoded path it names.
///
/// - origin-form `/a/b.html` is used as it is; absolute-form `http://host/a/b.html` (RFC 9112,
///   3.2.2) loses its scheme and authority;
/// - the query (`?...`) and a fragment (`#...`, which clients should not send) are dropped;
/// - percent-escapes are decoded exactly once, so `%252e` becomes the three characters `%2e`,
///   never `.`;
/// - a bad escape, a decoded control character (NUL included) or invalid UTF-8 is an error.
///
/// ```
/// use weblab::http::decode_target;
/// assert_eq!(decode_target("/a%20b.html?x=1").unwrap(), "/a b.html");
/// assert_eq!(decode_target("http://example.com/x").unwrap(), "/x");
/// assert!(decode_target("/%zz").is_err());
/// ```
pub fn decode_target(target: &str) -> Result<String, TargetError> {
    let path = path_of(target)?;
    let path = path.split(['?', '#']).next().unwrap_or_default();
    let bytes = percent_decode(path)?;
    if bytes.iter().any(|b| b.is_ascii_control()) {
        return Err(TargetError::ControlCharacter);
    }
    String::from_utf8(bytes).map_err(|_| TargetError::NotUtf8)
}

/// The path part of an origin-form or absolute-form target.
fn path_of(target: &str) -> Result<&str, TargetError> {
    if target.starts_with('/') {
        return Ok(target);
    }
    let (scheme, rest) = target
        .split_once("://")
        .ok_or(TargetError::UnsupportedForm)?;
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return Err(TargetError::UnsupportedForm);
    }
    // The authority runs to the first '/', '?' or '#'; an empty path means "/".
    match rest.find(['/', '?', '#']) {
        Some(i) if rest[i..].starts_with('/') => Ok(&rest[i..]),
        _ => Ok("/"),
    }
}

fn percent_decode(text: &str) -> Result<Vec<u8>, TargetError> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3).ok_or(TargetError::BadEscape)?;
            let (Some(high), Some(low)) = (hex_value(hex[0]), hex_value(hex[1])) else {
                return Err(TargetError::BadEscape);
            };
            out.push(high << 4 | low);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Ok(out)
}

fn hex_value(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// Percent-encodes a path for use in a `Location` header or a link: every byte outside
/// the unreserved set and `/` is escaped, so the result is plain ASCII.
pub fn encode_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_are_decoded_exactly_once() {
        assert_eq!(decode_target("/%252e%252e/").unwrap(), "/%2e%2e/");
        assert_eq!(decode_target("/%2e%2E").unwrap(), "/..");
    }

    #[test]
    fn bad_targets_are_refused() {
        assert_eq!(decode_target("/%"), Err(TargetError::BadEscape));
        assert_eq!(decode_target("/%4"), Err(TargetError::BadEscape));
        assert_eq!(decode_target("/%00"), Err(TargetError::ControlCharacter));
        assert_eq!(decode_target("/%0a"), Err(TargetError::ControlCharacter));
        assert_eq!(decode_target("/%ff"), Err(TargetError::NotUtf8));
        assert_eq!(decode_target("*"), Err(TargetError::UnsupportedForm));
        assert_eq!(decode_target("ftp://x/"), Err(TargetError::UnsupportedForm));
    }

    #[test]
    fn target_errors_explain_themselves() {
        assert_eq!(
            TargetError::BadEscape.to_string(),
            "bad percent-escape in request target"
        );
        assert_eq!(
            TargetError::NotUtf8.to_string(),
            "request path is not UTF-8"
        );
    }

    #[test]
    fn absolute_form_keeps_only_the_path() {
        assert_eq!(decode_target("HTTP://h:80").unwrap(), "/");
        assert_eq!(decode_target("http://h?q=/x").unwrap(), "/");
        assert_eq!(decode_target("http://h/a/b#f").unwrap(), "/a/b");
    }

    #[test]
    fn encoding_a_path_escapes_everything_unsafe() {
        assert_eq!(encode_path("/a b/<é>"), "/a%20b/%3C%C3%A9%3E");
    }
}
