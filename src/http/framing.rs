//! Where a message's body ends: RFC 9112, section 6.3, written once for both sides.
//!
//! TCP delivers a stream of bytes, not messages, so the head must say where the body stops.
//! The server applies these rules to the requests it reads ([`request_framing`]) and the
//! client to the responses it reads ([`response_framing`]). Where the RFC lets a recipient
//! choose, the server chooses the strict answer: a request whose end two parsers could
//! see in different places is how request smuggling works, and it gets 400.
//!
//! # Transfer-Encoding in a request
//!
//! The server implements one transfer coding, `chunked` (RFC 9112, 7.1), the one every
//! recipient must know. The field is a list, and several field lines of it are one list,
//! in order (RFC 9110, 5.3): `Transfer-Encoding: gzip` followed by
//! `Transfer-Encoding: chunked` says the same as `Transfer-Encoding: gzip, chunked`.
//! Coding names are case-insensitive (RFC 9112, 7), and spaces and tabs around an element
//! do not count. The server checks, in this order:
//!
//! | the request has | answer | because |
//! |---|---|---|
//! | `Content-Length` too | 400 | RFC 9112, 6.3, rule 3: "ought to be handled as an error" |
//! | version HTTP/1.0 | 400 | RFC 9112, 6.1: its framing is to be treated as faulty |
//! | an empty element (`chunked,`, `, chunked`), a name that is not a token (`chun ked`), `chunked` with parameters (`chunked;x=1`) | 400 | not a list of codings that every parser reads alike |
//! | a last coding other than `chunked` (`gzip`, `identity`, `chunked, gzip`) | 400 | RFC 9112, 6.3, rule 4: the body's end cannot be found, and the server "MUST" answer 400 |
//! | `chunked` more than once (`chunked, chunked`, or on two lines) | 400 | RFC 9112, 6.1: a sender "MUST NOT" apply chunked twice |
//! | another coding before the final `chunked` (`gzip, chunked`, `identity, chunked`) | 501 | RFC 9112, 6.1: a coding the server does not understand "SHOULD" get 501 (Not Implemented) |
//! | exactly `chunked` | a chunked body | |
//!
//! `identity` is not a transfer coding (RFC 7230 removed it and RFC 9112 did not bring it
//! back), so it is an unknown coding like any other. Where the last coding is both unknown
//! and not `chunked`, rule 4's "MUST" wins over the "SHOULD" of 501. Empty elements, which
//! RFC 9110, 5.6.1 asks a recipient to skip, are refused here: the strict parsers accept
//! nothing but the exact value `chunked`, and the server must never find a body's end where
//! they would not. Every one of these refusals closes the connection (rules 3 and 4): the
//! server does not know where the body ends, so nothing after the head can be read as the
//! next request. The server never reads a chunked body it accepts either (it needs none):
//! it answers, and closes.
//!
//! h11 and nginx refuse the same requests. Both accept only a single field line whose value
//! is exactly `chunked`, and answer 501 for any other value, even where `chunked` is not
//! last; for a second field line h11 answers 501 and nginx 400 (it refuses any repeated
//! field of this kind), and nginx answers 400 for HTTP/1.0. The server reads the lines as
//! one list, as RFC 9110 asks, and answers 400 wherever rule 4 applies.
//!
//! A response is read more leniently, as RFC 9112, 6.3 asks of a client: see
//! [`response_framing`].

use std::fmt;

use super::syntax::{field_values, is_tchar, list_elements, Header};
use super::{HttpVersion, Method};

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
    /// An HTTP/1.0 request with Transfer-Encoding (RFC 9112, 6.1).
    TransferEncodingInHttp10,
    /// A request whose Transfer-Encoding is not a list of codings, does not end in
    /// `chunked`, or applies it twice.
    BadTransferEncoding,
    /// A request whose body is chunked, but also coded in a way the server does not
    /// implement, such as `gzip, chunked`: 501 (Not Implemented).
    UnknownTransferCoding,
}

impl fmt::Display for FramingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FramingError::BadContentLength => "invalid Content-Length",
            FramingError::LengthWithTransferEncoding => "both Content-Length and Transfer-Encoding",
            FramingError::TransferEncodingInHttp10 => "Transfer-Encoding in an HTTP/1.0 request",
            FramingError::BadTransferEncoding => {
                "invalid Transfer-Encoding: chunked must come last, once"
            }
            FramingError::UnknownTransferCoding => {
                "unsupported transfer coding: only chunked is implemented"
            }
        })
    }
}

impl std::error::Error for FramingError {}

/// Where the body of a request with this version and these header fields ends, as a
/// server reads it (RFC 9112, 6.3, rules 3, 4, 6 and 7):
///
/// - every `Content-Length` field must be a plain decimal number, and all must agree: a
///   list such as `5, 5` in one field is refused (RFC 9110, 8.6 allows either answer);
/// - both `Content-Length` and `Transfer-Encoding`: refused, "ought to be handled as an
///   error" (rule 3), since the two could be read as different ends;
/// - `Transfer-Encoding`: the body is chunked if the codings of every such field, read
///   as one list, are exactly `chunked`; anything else is refused, as the table in the
///   [module docs](self) sets out. An empty list element counts as a malformed coding
///   here, so `chunked,` is refused: strict parsers such as h11 refuse it too, and the
///   server must never be the laxer one;
/// - `Content-Length: n`: n bytes (rule 6), and no body when n is 0;
/// - neither: no body (rule 7).
pub fn request_framing(
    version: HttpVersion,
    fields: &[Header],
) -> Result<BodyFraming, FramingError> {
    let length = content_length(field_values(fields, "content-length"))?;
    let transfer_encoding = field_values(fields, "transfer-encoding").next().is_some();
    match (length, transfer_encoding) {
        (Some(_), true) => Err(FramingError::LengthWithTransferEncoding),
        (None, true) if version == HttpVersion::Http10 => {
            Err(FramingError::TransferEncodingInHttp10)
        }
        (None, true) => request_codings(fields),
        (Some(0) | None, false) => Ok(BodyFraming::None),
        (Some(n), false) => Ok(BodyFraming::Length(n)),
    }
}

/// One element of a request's `Transfer-Encoding` list, as the server sorts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Coding {
    /// Exactly `chunked`, in any case.
    Chunked,
    /// Any other coding: `gzip`, `identity`, `x-custom;level=1`.
    Other,
    /// Empty, a name that is not a token, or `chunked` with parameters, which RFC 9112, 7.1
    /// does not define: a parser that ignores them would see chunked, one that does not
    /// would not.
    Malformed,
}

/// `transfer-coding = token *( OWS ";" OWS transfer-parameter )` (RFC 9112, 7). Only the
/// name is checked: a coding with parameters is refused whatever they are, so a quoted
/// comma in one (which the plain split on commas below cuts in two) changes only which
/// refusal the request gets.
fn coding(element: &str) -> Coding {
    let element = element.trim_matches([' ', '\t']);
    let name = element.split(';').next().unwrap_or_default();
    let name = name.trim_matches([' ', '\t']);
    if name.is_empty() || !name.bytes().all(is_tchar) {
        Coding::Malformed
    } else if element.eq_ignore_ascii_case("chunked") {
        Coding::Chunked
    } else if name.eq_ignore_ascii_case("chunked") {
        Coding::Malformed
    } else {
        Coding::Other
    }
}

/// The framing of a request's body from its transfer codings, in the order applied: the
/// elements of every `Transfer-Encoding` line, one list (RFC 9110, 5.3).
fn request_codings(fields: &[Header]) -> Result<BodyFraming, FramingError> {
    let codings: Vec<Coding> = field_values(fields, "transfer-encoding")
        .flat_map(|value| value.split(','))
        .map(coding)
        .collect();
    if codings.contains(&Coding::Malformed) {
        return Err(FramingError::BadTransferEncoding);
    }
    // RFC 9112, 6.3, rule 4: unless chunked is last, the body's end cannot be known.
    let Some((Coding::Chunked, before)) = codings.split_last() else {
        return Err(FramingError::BadTransferEncoding);
    };
    // RFC 9112, 6.1: "A sender MUST NOT apply the chunked transfer coding more than once".
    if before.contains(&Coding::Chunked) {
        return Err(FramingError::BadTransferEncoding);
    }
    // The chunks can be found, but what they hold is coded in a way the server does not
    // know: RFC 9112, 6.1 says a server "SHOULD respond with 501 (Not Implemented)".
    if before.contains(&Coding::Other) {
        return Err(FramingError::UnknownTransferCoding);
    }
    Ok(BodyFraming::Chunked)
}

/// Where the body of a response ends, as a client reads it, given the method of the
/// request it answers, its status code and its header fields (RFC 9112, 6.3, in order):
///
/// 1. a response to HEAD, and any 1xx, 204 or 304 response, has no body, even if it
///    carries a `Content-Length` (that describes the response a GET would get);
/// 2. (a 2xx response to CONNECT starts a tunnel: the client never sends CONNECT);
/// 3. `Transfer-Encoding` overrides `Content-Length`;
/// 4. if `chunked` is the last transfer coding the body is chunked; otherwise it runs
///    until the server closes the connection. A client cannot refuse a response as the
///    server refuses a request: it only needs the body's end, and this rule always finds
///    it. Codings other than `chunked` are not undone, so a body sent as `gzip, chunked`
///    arrives still gzipped (a client that sends no `TE` field, as this one, accepts no
///    coding but chunked: RFC 9110, 10.1.4);
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
    if let Some(last) = transfer_codings(fields).last() {
        return Ok(match is_chunked(last) {
            true => BodyFraming::Chunked,
            false => BodyFraming::UntilClose,
        });
    }
    let values = field_values(fields, "content-length").flat_map(|value| value.split(','));
    Ok(content_length(values)?.map_or(BodyFraming::UntilClose, BodyFraming::Length))
}

/// The transfer codings of every `Transfer-Encoding` field, in the order applied, with
/// empty elements skipped, as RFC 9110, 5.6.1 asks of a lenient recipient: the client.
fn transfer_codings(fields: &[Header]) -> Vec<&str> {
    field_values(fields, "transfer-encoding")
        .flat_map(list_elements)
        .collect()
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
        request_framing(HttpVersion::Http11, &fields(lines))
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

    /// Each list of Transfer-Encoding values (one field line each) and what the server
    /// makes of it; the table in the module docs, case by case.
    const CODINGS: &[(&[&str], Result<BodyFraming, FramingError>)] = {
        use BodyFraming::Chunked;
        use FramingError::{BadTransferEncoding as Bad, UnknownTransferCoding as Unknown};
        &[
            // Exactly chunked, in any case, with spaces or tabs around it.
            (&["chunked"], Ok(Chunked)),
            (&["CHUNKED"], Ok(Chunked)),
            (&["Chunked"], Ok(Chunked)),
            (&[" \tchunked\t "], Ok(Chunked)),
            // Chunked last, after a coding the server does not implement: 501, however
            // the list is spelled, on one line or on several (RFC 9110, 5.3).
            (&["gzip, chunked"], Err(Unknown)),
            (&["gzip,chunked"], Err(Unknown)),
            (&[" gzip ,\tChunked "], Err(Unknown)),
            (&["GZIP, CHUNKED"], Err(Unknown)),
            (&["gzip", "chunked"], Err(Unknown)),
            (&["deflate, gzip", "chunked"], Err(Unknown)),
            (&["identity, chunked"], Err(Unknown)),
            (&["identity", "chunked"], Err(Unknown)),
            (&["x-custom, chunked"], Err(Unknown)),
            (&["gzip;level=9, chunked"], Err(Unknown)),
            // Chunked not last, or not there at all: the body's end is unknown (rule 4).
            (&["gzip"], Err(Bad)),
            (&["identity"], Err(Bad)),
            (&["x-custom"], Err(Bad)),
            (&["chunked, gzip"], Err(Bad)),
            (&["chunked", "gzip"], Err(Bad)),
            (&["chunked", "identity"], Err(Bad)),
            // Chunked twice, in one line or across two.
            (&["chunked, chunked"], Err(Bad)),
            (&["chunked", "chunked"], Err(Bad)),
            (&["Chunked", "CHUNKED"], Err(Bad)),
            (&["chunked, gzip, chunked"], Err(Bad)),
            (&["gzip, chunked", "chunked"], Err(Bad)),
            // Not a list of codings: empty elements, a name that is not a token, and
            // chunked with parameters, which it does not have.
            (&[""], Err(Bad)),
            (&[","], Err(Bad)),
            (&["chunked,"], Err(Bad)),
            (&[", chunked"], Err(Bad)),
            (&["gzip, , chunked"], Err(Bad)),
            (&["chunked", ""], Err(Bad)),
            (&["chun ked"], Err(Bad)),
            (&["\"chunked\""], Err(Bad)),
            (&["gzip chunked"], Err(Bad)),
            (&["gzip, chunk@d"], Err(Bad)),
            (&[";q=1, chunked"], Err(Bad)),
            (&["chunked;ext=1"], Err(Bad)),
            (&["chunked;ext=1, chunked"], Err(Bad)),
            (&["chunked ; x"], Err(Bad)),
            (&["gzip, chunked;"], Err(Bad)),
        ]
    };

    /// A request with one Transfer-Encoding field for each of `values`.
    fn request_with_codings(
        version: HttpVersion,
        values: &[&str],
    ) -> Result<BodyFraming, FramingError> {
        let lines: Vec<String> = values
            .iter()
            .map(|value| format!("Transfer-Encoding: {value}"))
            .collect();
        let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
        request_framing(version, &fields(&lines))
    }

    #[test]
    fn a_request_is_chunked_only_if_its_codings_are_exactly_chunked() {
        for (values, expected) in CODINGS {
            assert_eq!(
                request_with_codings(HttpVersion::Http11, values),
                *expected,
                "Transfer-Encoding lines {values:?}"
            );
        }
    }

    #[test]
    fn an_http_1_0_request_with_any_transfer_encoding_is_refused() {
        for (values, _) in CODINGS {
            assert_eq!(
                request_with_codings(HttpVersion::Http10, values),
                Err(FramingError::TransferEncodingInHttp10),
                "HTTP/1.0 with Transfer-Encoding lines {values:?}"
            );
        }
        let plain = fields(&["Content-Length: 2"]);
        assert_eq!(
            request_framing(HttpVersion::Http10, &plain),
            Ok(BodyFraming::Length(2))
        );
    }

    #[test]
    fn a_request_with_length_and_any_codings_is_refused_as_such() {
        for (values, _) in CODINGS {
            let mut lines = vec!["Content-Length: 3".to_string()];
            lines.extend(values.iter().map(|v| format!("Transfer-Encoding: {v}")));
            let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
            for version in [HttpVersion::Http10, HttpVersion::Http11] {
                assert_eq!(
                    request_framing(version, &fields(&lines)),
                    Err(FramingError::LengthWithTransferEncoding),
                    "{version:?} {lines:?}"
                );
            }
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

    /// A client cannot refuse a response as a server refuses a request; it can only find
    /// the body's end: chunks when chunked is last, else the close (RFC 9112, 6.3, rule 4).
    #[test]
    fn a_response_is_framed_by_its_last_coding_whatever_the_others() {
        let cases: [(&[&str], BodyFraming); 7] = [
            (&["gzip", "chunked"], BodyFraming::Chunked),
            (&["identity, CHUNKED"], BodyFraming::Chunked),
            (&["x-custom, chunked, "], BodyFraming::Chunked),
            (&["identity"], BodyFraming::UntilClose),
            (&["gzip"], BodyFraming::UntilClose),
            (&["chunked", "gzip"], BodyFraming::UntilClose),
            (&["chunked;ext=1"], BodyFraming::UntilClose),
        ];
        for (values, expected) in cases {
            let lines: Vec<String> = values
                .iter()
                .map(|value| format!("Transfer-Encoding: {value}"))
                .collect();
            let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
            assert_eq!(response(200, &lines), Ok(expected), "{lines:?}");
        }
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
            "invalid Transfer-Encoding: chunked must come last, once"
        );
        assert_eq!(
            FramingError::UnknownTransferCoding.to_string(),
            "unsupported transfer coding: only chunked is implemented"
        );
        assert_eq!(
            FramingError::TransferEncodingInHttp10.to_string(),
            "Transfer-Encoding in an HTTP/1.0 request"
        );
    }
}
