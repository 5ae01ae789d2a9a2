//! Where a message's body ends: RFC 9112, section 6.3, written once for both sides.
//!
//! TCP delivers a stream of bytes, not messages, so the head must say where the body stops.
//! The server applies these rules to the requests it reads ([`request_framing`]) and the
//! client to the responses it reads ([`response_framing`]). Where the RFC lets a recipient
//! choose, the server chooses the strict answer: a request whose end two parsers could
//! see in different places is how request smuggling works, and it gets 400.

use std::fmt;

use super::syntax::{field_values, list_elements, Header};
use super::Method;

/// Where a message body ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFraming {
    /// There is no body, whatever the headers say.
    None,
    /// `Content-Length: n`: exactly n bytes follow the head.
    Length(u64),
    /// `Transfer-Encoding: chunked`: a series of chunks follows, ended by a chunk of size
    /// zero (RFC 9112, 7.1).
    Chunked,
    /// The body is everything until the sender closes the connection. Only a response can
    /// be framed this way: a request must still leave the connection open for the answer.
    UntilClose,
}

/// Why the end of a body cannot be known from the head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FramingError {
    /// A Content-Length that is not a number, or several that disagree.
    BadContentLength,
    /// A request with both Content-Length and Transfer-Encoding.
    LengthWithTransferEncoding,
    /// A request whose Transfer-Encoding does not end in `chunked`, or applies it twice.
    BadTransferEncoding,
}

impl fmt::Display for FramingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FramingError::BadContentLength => "invalid Content-Length",
            FramingError::LengthWithTransferEncoding => "both Content-Length and Transfer-Encoding",
            FramingError::BadTransferEncoding => "unsupported Transfer-Encoding",
        })
    }
}

impl std::error::Error for FramingError {}

/// Where the body of a request with these header fields ends, as a server reads it
/// (RFC 9112, 6.3, rules 3, 4, 6 and 7):
///
/// - every `Content-Length` field must be a plain decimal number, and all must agree: a
///   list such as `5, 5` in one field is refused (RFC 9110, 8.6 allows either answer);
/// - both `Content-Length` and `Transfer-Encoding`: refused, "ought to be handled as an
///   error" (rule 3), since the two could be read as different ends;
/// - `Transfer-Encoding`: the body is chunked if `chunked` is the last coding, and is
///   applied once only (RFC 9112, 6.1); anything else is refused (rule 4). An empty list
///   element counts as a coding here, so `chunked,` is refused: strict parsers such as
///   h11 refuse it too, and the server must never be the laxer one;
/// - `Content-Length: n`: n bytes (rule 6), and no body when n is 0;
/// - neither: no body (rule 7).
pub fn request_framing(fields: &[Header]) -> Result<BodyFraming, FramingError> {
    let length = content_length(field_values(fields, "content-length"))?;
    let transfer_encoding = field_values(fields, "transfer-encoding").next().is_some();
    match (length, transfer_encoding) {
        (Some(_), true) => Err(FramingError::LengthWithTransferEncoding),
        (_, true) => match transfer_codings(fields, Empty::Kept).as_slice() {
            [first @ .., last] if is_chunked(last) && !first.iter().any(|c| is_chunked(c)) => {
                Ok(BodyFraming::Chunked)
            }
            _ => Err(FramingError::BadTransferEncoding),
        },
        (Some(0) | None, false) => Ok(BodyFraming::None),
        (Some(n), false) => Ok(BodyFraming::Length(n)),
    }
}

/// Where the body of a response ends, as a client reads it, given the method of the
/// request it answers, its status code and its header fields (RFC 9112, 6.3, in order):
///
/// 1. a response to HEAD, and any 1xx, 204 or 304 response, has no body, even if it
///    carries a `Content-Length` (that describes the response a GET would get);
/// 2. (a 2xx response to CONNECT starts a tunnel: the client never sends CONNECT);
/// 3. `Transfer-Encoding` overrides `Content-Length`;
/// 4. if `chunked` is the last transfer coding the body is chunked; otherwise it runs
///    until the server closes the connection;
/// 5. `Content-Length` gives the length. A list of identical values (`5, 5`, in one field
///    or several) counts as one; anything else is an error, because guessing where a
///    message ends is how response splitting works;
/// 6. otherwise the body runs until the server closes the connection.
pub fn response_framing(
    request_method: &Method,
    status: u16,
    fields: &[Header],
) -> Result<BodyFraming, FramingError> {
    if *request_method == Method::Head
        || (100..200).contains(&status)
        || [204, 304].contains(&status)
    {
        return Ok(BodyFraming::None);
    }
    if let Some(last) = transfer_codings(fields, Empty::Skipped).last() {
        return Ok(match is_chunked(last) {
            true => BodyFraming::Chunked,
            false => BodyFraming::UntilClose,
        });
    }
    let values = field_values(fields, "content-length").flat_map(|value| value.split(','));
    Ok(content_length(values)?.map_or(BodyFraming::UntilClose, BodyFraming::Length))
}

/// What to do with the empty elements of a list (`a, , b`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Empty {
    /// Keep them, to refuse them: the server reading a request.
    Kept,
    /// Skip them, as RFC 9110, 5.6.1 asks of a lenient recipient: the client.
    Skipped,
}

/// The transfer codings of every `Transfer-Encoding` field, in the order applied.
fn transfer_codings(fields: &[Header], empty: Empty) -> Vec<&str> {
    let values = field_values(fields, "transfer-encoding");
    match empty {
        Empty::Skipped => values.flat_map(list_elements).collect(),
        Empty::Kept => values
            .flat_map(|value| value.split(','))
            .map(|coding| coding.trim_matches([' ', '\t']))
            .collect(),
    }
}

/// Transfer coding names are case-insensitive (RFC 9112, 7).
fn is_chunked(coding: &str) -> bool {
    coding.eq_ignore_ascii_case("chunked")
}

/// The one length all these Content-Length values agree on, or `None` if there are none.
/// Each must be digits only: `parse` alone would also accept `+5`.
fn content_length<'a>(values: impl Iterator<Item = &'a str>) -> Result<Option<u64>, FramingError> {
    let mut length = None;
    for value in values {
        let value = value.trim_matches([' ', '\t']);
        if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
            return Err(FramingError::BadContentLength);
        }
        let n: u64 = value.parse().map_err(|_| FramingError::BadContentLength)?;
        if length.is_some_and(|previous| previous != n) {
            return Err(FramingError::BadContentLength);
        }
        length = Some(n);
    }
    Ok(length)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::syntax::header_from_parts;

    /// Header fields from `name: value` lines.
    fn fields(lines: &[&str]) -> Vec<Header> {
        lines
            .iter()
            .map(|line| {
                let (name, value) = line.split_once(':').expect("a colon");
                header_from_parts(name.as_bytes(), value.trim().as_bytes())
            })
            .collect()
    }

    fn request(lines: &[&str]) -> Result<BodyFraming, FramingError> {
        request_framing(&fields(lines))
    }

    fn response(status: u16, lines: &[&str]) -> Result<BodyFraming, FramingError> {
        response_framing(&Method::Get, status, &fields(lines))
    }

    #[test]
    fn a_request_without_length_or_codings_has_no_body() {
        assert_eq!(request(&[]), Ok(BodyFraming::None));
        assert_eq!(request(&["Content-Length: 0"]), Ok(BodyFraming::None));
        assert_eq!(request(&["Content-Length: 7"]), Ok(BodyFraming::Length(7)));
        let same = ["Content-Length: 7", "content-length: 7"];
        assert_eq!(request(&same), Ok(BodyFraming::Length(7)));
    }

    #[test]
    fn a_request_content_length_is_one_plain_number() {
        for value in [
            "",
            "-1",
            "+5",
            "5, 5",
            "1 2",
            "0x10",
            "18446744073709551616",
        ] {
            let line = format!("Content-Length: {value}");
            assert_eq!(
                request(&[&line]),
                Err(FramingError::BadContentLength),
                "{line:?}"
            );
        }
        let differ = ["Content-Length: 1", "Content-Length: 2"];
        assert_eq!(request(&differ), Err(FramingError::BadContentLength));
    }

    #[test]
    fn a_request_with_length_and_codings_is_refused() {
        let both = ["Content-Length: 3", "Transfer-Encoding: chunked"];
        assert_eq!(
            request(&both),
            Err(FramingError::LengthWithTransferEncoding)
        );
        // Even an empty Transfer-Encoding is a Transfer-Encoding field.
        let empty = ["Content-Length: 3", "Transfer-Encoding:"];
        assert_eq!(
            request(&empty),
            Err(FramingError::LengthWithTransferEncoding)
        );
    }

    /// A request with one Transfer-Encoding field for each of `values`.
    fn request_with_codings(values: &[&str]) -> Result<BodyFraming, FramingError> {
        let lines: Vec<String> = values
            .iter()
            .map(|value| format!("Transfer-Encoding: {value}"))
            .collect();
        request(&lines.iter().map(String::as_str).collect::<Vec<_>>())
    }

    #[test]
    fn a_request_is_chunked_only_if_chunked_comes_last_and_once() {
        let chunked: [&[&str]; 4] = [
            &["chunked"],
            &["gzip, Chunked"],
            &["gzip", "CHUNKED"],
            &[" gzip ,\tchunked "],
        ];
        for values in chunked {
            assert_eq!(
                request_with_codings(values),
                Ok(BodyFraming::Chunked),
                "{values:?}"
            );
        }
        let refused: [&[&str]; 8] = [
            &["chunked, chunked"],
            &["chunked", "chunked"],
            &["chunked, gzip, chunked"],
            &["chunked, gzip"],
            &["gzip"],
            &[""],
            // An empty element is a coding that is not chunked, where it matters.
            &["chunked,"],
            &["chunked", ""],
        ];
        for values in refused {
            assert_eq!(
                request_with_codings(values),
                Err(FramingError::BadTransferEncoding),
                "{values:?}"
            );
        }
    }

    #[test]
    fn responses_to_head_and_1xx_204_304_have_no_body() {
        let length = fields(&["Content-Length: 10"]);
        let head = response_framing(&Method::Head, 200, &length);
        assert_eq!(head, Ok(BodyFraming::None));
        for status in [100, 101, 199, 204, 304] {
            assert_eq!(
                response_framing(&Method::Get, status, &length),
                Ok(BodyFraming::None)
            );
        }
        for status in [200, 203, 205, 303, 305, 404] {
            assert_eq!(
                response_framing(&Method::Get, status, &length),
                Ok(BodyFraming::Length(10)),
                "{status}"
            );
        }
    }

    #[test]
    fn a_response_transfer_encoding_overrides_content_length() {
        let chunked = ["Content-Length: x", "Transfer-Encoding: gzip, chunked"];
        assert_eq!(response(200, &chunked), Ok(BodyFraming::Chunked));
        let twice = ["Transfer-Encoding: chunked", "Transfer-Encoding: chunked"];
        assert_eq!(response(200, &twice), Ok(BodyFraming::Chunked));
        let other = ["Content-Length: 3", "Transfer-Encoding: chunked, gzip"];
        assert_eq!(response(200, &other), Ok(BodyFraming::UntilClose));
        // A Transfer-Encoding with no codings names none: Content-Length decides.
        let empty = ["Transfer-Encoding: ,", "Content-Length: 3"];
        assert_eq!(response(200, &empty), Ok(BodyFraming::Length(3)));
    }

    #[test]
    fn a_response_content_length_may_repeat_one_value() {
        assert_eq!(response(200, &[]), Ok(BodyFraming::UntilClose));
        assert_eq!(
            response(200, &["Content-Length: 0"]),
            Ok(BodyFraming::Length(0))
        );
        let list = ["Content-Length: 5, 5", "Content-Length: 5"];
        assert_eq!(response(200, &list), Ok(BodyFraming::Length(5)));
        for bad in ["5, 6", "5,", "+5", "five"] {
            let line = format!("Content-Length: {bad}");
            assert_eq!(
                response(200, &[&line]),
                Err(FramingError::BadContentLength),
                "{line:?}"
            );
        }
    }

    #[test]
    fn framing_errors_explain_themselves() {
        assert_eq!(
            FramingError::LengthWithTransferEncoding.to_string(),
            "both Content-Length and Transfer-Encoding"
        );
        assert_eq!(
            FramingError::BadContentLength.to_string(),
            "invalid Content-Length"
        );
        assert_eq!(
            FramingError::BadTransferEncoding.to_string(),
            "unsupported Transfer-Encoding"
        );
    }
}
