//! Status codes the server sends (RFC 9110, section 15).

use std::fmt;

/// A response status: the three-digit code and its reason phrase.
///
/// Only the codes weblab actually sends are listed, so a `match` over them
/// shows every answer the server can give.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatusCode {
    /// 200: the file follows.
    Ok,
    /// 206: part of the file follows (a `Range` request).
    PartialContent,
    /// 301: a directory was named without its trailing slash.
    MovedPermanently,
    /// 304: the client's cached copy is still good.
    NotModified,
    /// 400: the request does not follow HTTP's grammar.
    BadRequest,
    /// 403: the path exists but is not served (it leaves the root).
    Forbidden,
    /// 404: nothing to serve at that path.
    NotFound,
    /// 405: a method the server knows but does not allow (only GET and HEAD are).
    MethodNotAllowed,
    /// 408: the client took too long to send its request.
    RequestTimeout,
    /// 414: the request line is too long.
    UriTooLong,
    /// 416: the requested range lies outside the file.
    RangeNotSatisfiable,
    /// 431: too many header lines, or too many bytes of them.
    HeaderFieldsTooLarge,
    /// 500: the server failed while handling the request.
    InternalServerError,
    /// 501: a method the server does not know at all, or a transfer coding it does not
    /// implement.
    NotImplemented,
    /// 503: the server is at its connection limit.
    ServiceUnavailable,
    /// 505: an HTTP version other than 1.0 or 1.1.
    HttpVersionNotSupported,
}

impl StatusCode {
    /// The three-digit number, e.g. `404`.
    pub fn code(self) -> u16 {
        match self {
            StatusCode::Ok => 200,
            StatusCode::PartialContent => 206,
            StatusCode::MovedPermanently => 301,
            StatusCode::NotModified => 304,
            StatusCode::BadRequest => 400,
            StatusCode::Forbidden => 403,
            StatusCode::NotFound => 404,
            StatusCode::MethodNotAllowed => 405,
            StatusCode::RequestTimeout => 408,
            StatusCode::UriTooLong => 414,
            StatusCode::RangeNotSatisfiable => 416,
            StatusCode::HeaderFieldsTooLarge => 431,
            StatusCode::InternalServerError => 500,
            StatusCode::NotImplemented => 501,
            StatusCode::ServiceUnavailable => 503,
            StatusCode::HttpVersionNotSupported => 505,
        }
    }

    /// The reason phrase RFC 9110 suggests, e.g. `"Not Found"`.
    pub fn reason(self) -> &'static str {
        match self {
            StatusCode::Ok => "OK",
            StatusCode::PartialContent => "Partial Content",
            StatusCode::MovedPermanently => "Moved Permanently",
            StatusCode::NotModified => "Not Modified",
            StatusCode::BadRequest => "Bad Request",
            StatusCode::Forbidden => "Forbidden",
            StatusCode::NotFound => "Not Found",
            StatusCode::MethodNotAllowed => "Method Not Allowed",
            StatusCode::RequestTimeout => "Request Timeout",
            StatusCode::UriTooLong => "URI Too Long",
            StatusCode::RangeNotSatisfiable => "Range Not Satisfiable",
            StatusCode::HeaderFieldsTooLarge => "Request Header Fields Too Large",
            StatusCode::InternalServerError => "Internal Server Error",
            StatusCode::NotImplemented => "Not Implemented",
            StatusCode::ServiceUnavailable => "Service Unavailable",
            StatusCode::HttpVersionNotSupported => "HTTP Version Not Supported",
        }
    }

    /// Whether a response with this status may carry a body (RFC 9110, 15.4.5: 304 never does).
    pub fn allows_body(self) -> bool {
        self != StatusCode::NotModified
    }
}

impl fmt::Display for StatusCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.code(), self.reason())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_304_has_no_body() {
        assert!(!StatusCode::NotModified.allows_body());
        for status in [
            StatusCode::Ok,
            StatusCode::NotFound,
            StatusCode::PartialContent,
        ] {
            assert!(status.allows_body(), "{status}");
        }
    }
}
