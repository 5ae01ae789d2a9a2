//! Deciding the answer to one request (assignment task 1, steps 4 to 7), with no socket in
//! sight: a request and a root go in, a [`Reply`] comes out. That keeps every rule of the
//! file server testable on its own.

use std::fs::{File, Metadata};
use std::io::{Seek, SeekFrom};
use std::path::Path;

use crate::files::{Listing, LookupError, Resolved, Root};
use crate::http::{answer_range, content_type_for, decode_target, encode_path, error_page};
use crate::http::{escape_html, Method, RangeAnswer, RequestHead, ResponseHead, StatusCode};
use crate::http::{format_http_date, RequestError, Validators};

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
    /// Nothing follows the head (HEAD requests, 304).
    Empty,
    /// A short page built in memory, e.g. an error page or a directory listing.
    Text(String),
    /// An open file, positioned where sending starts, and how many bytes to send. Streamed
    /// from disk: never read whole into memory.
    File(File, u64),
}

/// Options that change what the handler answers.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// List the contents of directories that have no `index.html` (`--list-dirs`).
    pub list_dirs: bool,
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

    /// The reply to a request that could not be parsed.
    pub fn for_bad_request(error: RequestError) -> Reply {
        Reply::error(error.status())
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
pub fn respond(request: &RequestHead, root: &Root, options: Options) -> Reply {
    let reply = match request.method {
        Method::Get | Method::Head => serve_path(request, root, options),
        ref other if other.is_standard() => Reply::error(StatusCode::MethodNotAllowed),
        _ => Reply::error(StatusCode::NotImplemented),
    };
    match request.method {
        Method::Head => reply.without_body(),
        _ => reply,
    }
}

fn serve_path(request: &RequestHead, root: &Root, options: Options) -> Reply {
    let Ok(path) = decode_target(&request.target) else {
        return Reply::error(StatusCode::BadRequest);
    };
    match root.resolve(&path) {
        // Already open: what was checked is what is sent (see crate::files).
        Ok(Resolved::File {
            path,
            file,
            metadata,
        }) => serve_file(request, &path, file, &metadata),
        Ok(Resolved::Directory { listing, .. }) if options.list_dirs => {
            list_directory(&listing, &path)
        }
        Ok(Resolved::Directory { .. }) => Reply::error(StatusCode::NotFound),
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

/// A file: 200, or 304 if the client's copy is current, or 206/416 for a byte range.
fn serve_file(request: &RequestHead, path: &Path, mut file: File, metadata: &Metadata) -> Reply {
    let len = metadata.len();
    let validators = Validators::new(len, metadata.modified().ok());
    let add_validators = |mut head: ResponseHead| {
        if let Some(date) = validators.last_modified.and_then(format_http_date) {
            head = head.header("Last-Modified", date);
        }
        head.header("ETag", validators.etag.clone())
    };

    let not_modified = validators.not_modified(
        request.header("If-None-Match"),
        request.header("If-Modified-Since"),
    );
    if not_modified {
        return Reply {
            head: add_validators(ResponseHead::new(StatusCode::NotModified)),
            body: Body::Empty,
        };
    }

    let range = match (&request.method, request.header("Range")) {
        (Method::Get, Some(range)) if validators.range_allowed(request.header("If-Range")) => {
            answer_range(range, len)
        }
        _ => RangeAnswer::Whole,
    };
    let (status, start, count) = match range {
        RangeAnswer::Whole => (StatusCode::Ok, 0, len),
        RangeAnswer::Partial { start, end } => (StatusCode::PartialContent, start, end - start + 1),
        RangeAnswer::NotSatisfiable => {
            let mut reply = Reply::error(StatusCode::RangeNotSatisfiable);
            reply.head = reply.head.header("Content-Range", format!("bytes */{len}"));
            return reply;
        }
    };
    if start > 0 && file.seek(SeekFrom::Start(start)).is_err() {
        return Reply::error(StatusCode::InternalServerError);
    }
    let mut head = ResponseHead::new(status)
        .header("Content-Type", content_type_for(path))
        .header("Content-Length", count.to_string());
    if status == StatusCode::PartialContent {
        let end = start + count - 1;
        head = head.header("Content-Range", format!("bytes {start}-{end}/{len}"));
    }
    Reply {
        head: add_validators(head).header("Accept-Ranges", "bytes"),
        body: Body::File(file, count),
    }
}

/// An HTML page listing a directory. Every name is escaped twice over: URL-encoded in the
/// link and HTML-escaped in the text, so a file called `<script>` is only ever text.
fn list_directory(listing: &Listing, request_path: &str) -> Reply {
    let Ok(names) = listing.names() else {
        return Reply::error(StatusCode::NotFound);
    };

    let title = escape_html(request_path);
    let mut page = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Index of {title}</title>\
         </head>\n<body><h1>Index of {title}</h1>\n<ul>\n"
    );
    if request_path != "/" {
        page.push_str("<li><a href=\"../\">../</a></li>\n");
    }
    for name in &names {
        page.push_str(&format!(
            "<li><a href=\"{}\">{}</a></li>\n",
            escape_html(&encode_path(name)),
            escape_html(name)
        ));
    }
    page.push_str("</ul></body></html>\n");
    Reply {
        head: ResponseHead::new(StatusCode::Ok)
            .header("Content-Type", "text/html; charset=utf-8")
            .header("Content-Length", page.len().to_string()),
        body: Body::Text(page),
    }
}
