//! HTTP/1.1 message syntax: the parts of RFC 9112 and RFC 9110 a file server needs.
//!
//! Each module owns one idea: [`request`] parses a request head, [`target`] turns the
//! request target into a path, [`response`] writes a response head, [`status`] lists the
//! status codes, [`mime`] picks a content type, [`conditional`] answers "has it changed?"
//! and [`range`] answers "send me part of it".

pub mod conditional;
pub mod mime;
pub mod range;
pub mod request;
pub mod response;
pub mod status;
pub mod target;

pub use conditional::Validators;
pub use mime::content_type_for;
pub use range::{answer_range, RangeAnswer};
pub use request::{
    parse_request, BodyFraming, Header, HttpVersion, Method, Parse, Request, RequestError,
    MAX_HEAD, MAX_HEADERS, MAX_REQUEST_LINE,
};
pub use response::{error_page, escape_html, ResponseHead};
pub use status::StatusCode;
pub use target::{decode_target, encode_path, TargetError};
