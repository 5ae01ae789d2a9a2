//! Deciding the answer to one request (assignment task 1, steps 4 to 7), with no socket in
//! sight: a request and a root go in, a [`Reply`] comes out. That keeps every rule of the
//! file server testable on its own.

use std::fs::File;

use crate::files::{LookupError, Resolved, Root};
use crate::http::{content_type_for, decode_target, error_page, Method, Request};
use crate::http::{ResponseHead, StatusCode};

/// What to send back: a head, and the body to follow it.
#[derive(Debug)]
pub struct Reply {
    /// Status line and content headers. The connection adds `Date`, `Server` and
    /// `Connection` when it sends the reply.
    pub head: ResponseHead,
    /// The body.
    pub body: Body,
}

/// A reply's body.
#[derive(Debug)]
pub enum Body {
    /// Nothing follows the head (HEAD requests, redirects sent to HEAD, 304).
    Empty,
    /// A short page built in memory, e.g. an error page.
    Text(String),
    /// An open file and how many bytes of it to send, streamed from disk: never read whole
    /// into memory.
    File(File, u64),
}

impl Reply {
    /// A reply with an HTML page for an error `status`.
    pub fn error(status: StatusCode) -> Reply {
        let page = error_page(status);
        let mut head = ResponseHead::new(status)
            .header("Content-Type", "text/html; charset=utf-8")
            .header("Content-Length", page.len().to_string());
        if status == StatusCode::MethodNotAllowed {
            head = head.header("Allow", "GET, HEAD");
        }
        Reply {
            head,
            body: Body::Text(page),
        }
    }

    /// Drops the body but keeps every header, as a response to HEAD must (RFC 9110, 9.3.2).
    pub fn without_body(self) -> Reply {
        Reply {
            head: self.head,
            body: Body::Empty,
        }
    }
}

/// Answers a well-formed request by looking its path up under `root`.
pub fn respond(request: &Request, root: &Root) -> Reply {
    let reply = match request.method {
        Method::Get | Method::Head => serve_path(request, root),
        ref other if other.is_standard() => Reply::error(StatusCode::MethodNotAllowed),
        _ => Reply::error(StatusCode::NotImplemented),
    };
    match request.method {
        Method::Head => reply.without_body(),
        _ => reply,
    }
}

fn serve_path(request: &Request, root: &Root) -> Reply {
    let Ok(path) = decode_target(&request.target) else {
        return Reply::error(StatusCode::BadRequest);
    };
    match root.resolve(&path) {
        Ok(Resolved::File { path, metadata }) => match File::open(&path) {
            Ok(file) => Reply {
                head: ResponseHead::new(StatusCode::Ok)
                    .header("Content-Type", content_type_for(&path))
                    .header("Content-Length", metadata.len().to_string()),
                body: Body::File(file, metadata.len()),
            },
            Err(_) => Reply::error(StatusCode::NotFound),
        },
        Ok(Resolved::Redirect(location)) => {
            let mut reply = Reply::error(StatusCode::MovedPermanently);
            reply.head = reply.head.header("Location", location);
            reply
        }
        Err(error @ (LookupError::NotFound | LookupError::Forbidden)) => {
            Reply::error(error.status())
        }
    }
}
