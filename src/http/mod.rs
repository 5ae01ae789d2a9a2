//! HTTP/1.1 messages: the grammar both sides share, and the server's side of it (RFC 9112
//! and the parts of RFC 9110 a file server needs).
//!
//! Each module owns one idea. Shared by the server and the [client](crate::client):
//! [`syntax`] is the grammar of tokens, lines and header fields, with the one result shape
//! both head parsers answer in ([`Parse`]); [`framing`] decides where a message body ends
//! (RFC 9112, 6.3, for a request and for a response); [`date`] writes and reads HTTP
//! dates. The server's side: [`request`] parses a request head, [`target`] turns the
//! request target into a path, [`response`] writes a response head, [`status`] lists the
//! status codes, [`mime`] picks a content type, [`conditional`] answers "has it changed?"
//! and [`range`] answers "send me part of it".

pub mod conditional;
pub mod date;
pub mod framing;
pub mod mime;
pub mod range;
pub mod request;
pub mod response;
pub mod status;
pub mod syntax;
pub mod target;

pub use conditional::Validators;
pub use date::{format_http_date, parse_http_date};
pub use framing::{request_framing, response_framing, BodyFraming, FramingError};
pub use mime::content_type_for;
pub use range::{answer_range, RangeAnswer};
pub use request::{
    parse_request_head, HttpVersion, Method, RequestError, RequestHead, MAX_HEADERS,
    MAX_REQUEST_LINE,
};
pub use response::{error_page, escape_html, ResponseHead};
pub use status::StatusCode;
pub use syntax::{Header, Parse, MAX_HEAD};
pub use target::{decode_target, encode_path, TargetError};
