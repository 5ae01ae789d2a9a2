//! The answer to a request, as bytes: exercise 05's handler with the socket taken out.
//! It never reads or writes a connection, so it can never block on a client; the event
//! loop does all the reading and writing. (Done for you.)

use std::path::{Path, PathBuf};

/// The longest request line accepted; longer gets 414 (RFC 9112, section 3).
pub const MAX_REQUEST_LINE: usize = 8 * 1024;
/// The largest request head accepted; larger gets 431 (RFC 6585, section 5).
pub const MAX_HEAD: usize = 64 * 1024;

/// Why a request is not answered with a file.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    BadRequest,
    NotFound,
    MethodNotAllowed,
    RequestTimeout,
    UriTooLong,
    HeadTooLarge,
}

impl Refusal {
    fn status(&self) -> &'static str {
        match self {
            Refusal::BadRequest => "400 Bad Request",
            Refusal::NotFound => "404 Not Found",
            Refusal::MethodNotAllowed => "405 Method Not Allowed",
            Refusal::RequestTimeout => "408 Request Timeout",
            Refusal::UriTooLong => "414 URI Too Long",
            Refusal::HeadTooLarge => "431 Request Header Fields Too Large",
        }
    }
}

/// The whole response to the request at the start of `received`, once there is one to
/// give: `None` while the request head is still incomplete (read more, then ask again).
/// A request line or head past its limit is answered at once, without waiting for more.
pub fn respond(received: &[u8], root: &Path) -> Option<Vec<u8>> {
    let line_end = received.iter().position(|&b| b == b'\n');
    if line_end.unwrap_or(received.len()) > MAX_REQUEST_LINE {
        return Some(refusal(&Refusal::UriTooLong));
    }
    // The head ends with an empty line (RFC 9112, section 2.1).
    let Some(end) = received.windows(4).position(|w| w == b"\r\n\r\n") else {
        return (received.len() > MAX_HEAD).then(|| refusal(&Refusal::HeadTooLarge));
    };
    let head = &received[..end + 4];
    let request = parse_request_line(head)
        .and_then(|(method, target)| Ok((method, resolve_in_root(root, &target)?)));
    Some(match request {
        // Reading a file blocks this thread for a moment, but never on a client: the
        // disk answers, a client might not.
        Ok((method, file)) => match std::fs::read(&file) {
            Ok(body) => response("200 OK", content_type(&file), "", &body, method == "HEAD"),
            Err(_) => refusal(&Refusal::NotFound),
        },
        Err(refusal_) => refusal(&refusal_),
    })
}

/// The response to a client that began a request and then stopped sending: 408 (RFC
/// 9110, section 15.5.9).
pub fn timed_out() -> Vec<u8> {
    refusal(&Refusal::RequestTimeout)
}

/// Splits the request line `METHOD TARGET HTTP/1.x` (RFC 9112, section 3): exactly three
/// words, one space apart. Only GET and HEAD are served; other methods get 405.
fn parse_request_line(head: &[u8]) -> Result<(String, String), Refusal> {
    let line_end = head.iter().position(|&b| b == b'\n').unwrap_or(head.len());
    let line = std::str::from_utf8(&head[..line_end]).map_err(|_| Refusal::BadRequest)?;
    let words: Vec<&str> = line.trim_end_matches('\r').split(' ').collect();
    let [method, target, version] = words[..] else {
        return Err(Refusal::BadRequest);
    };
    let is_token = |w: &str| !w.is_empty() && w.bytes().all(|b| b.is_ascii_uppercase());
    if !is_token(method) || !target.starts_with('/') || !version.starts_with("HTTP/1.") {
        return Err(Refusal::BadRequest);
    }
    match method {
        "GET" | "HEAD" => Ok((method.to_string(), target.to_string())),
        _ => Err(Refusal::MethodNotAllowed),
    }
}

/// The file `target` names inside `root`: decoded once (RFC 3986, section 2.1), split into
/// segments, `..` refused rather than followed. (Exercise 05.)
fn resolve_in_root(root: &Path, target: &str) -> Result<PathBuf, Refusal> {
    let path = target.split(['?', '#']).next().unwrap_or("");
    let decoded = percent_decode(path).ok_or(Refusal::BadRequest)?;
    let mut file = root.to_path_buf();
    for segment in decoded.split('/') {
        match segment {
            "" | "." => {}
            ".." => return Err(Refusal::NotFound),
            s if s.contains(['\\', ':', '\0']) => return Err(Refusal::BadRequest),
            s => file.push(s),
        }
    }
    if file.is_dir() {
        file.push("index.html");
    }
    match file.is_file() {
        true => Ok(file),
        false => Err(Refusal::NotFound),
    }
}

/// Decodes `%XX` escapes; `None` for a broken escape or a result that is not UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    let mut bytes = Vec::with_capacity(text.len());
    let mut rest = text.as_bytes();
    while let Some((&byte, tail)) = rest.split_first() {
        if byte == b'%' {
            let hex = std::str::from_utf8(tail.get(..2)?).ok()?;
            bytes.push(u8::from_str_radix(hex, 16).ok()?);
            rest = &tail[2..];
        } else {
            bytes.push(byte);
            rest = tail;
        }
    }
    String::from_utf8(bytes).ok()
}

/// The status and a short page for `refusal`; a 405 says which methods are allowed.
fn refusal(refusal: &Refusal) -> Vec<u8> {
    let status = refusal.status();
    let page = format!("<h1>{status}</h1>\n");
    let extra = match refusal {
        Refusal::MethodNotAllowed => "Allow: GET, HEAD\r\n",
        _ => "",
    };
    let html = "text/html; charset=utf-8";
    response(status, html, extra, page.as_bytes(), false)
}

/// The status line, the headers (with `extra` header lines), the empty line and the body:
/// a response to HEAD has the same headers as to GET, and no body (RFC 9110, 9.3.2).
fn response(status: &str, content_type: &str, extra: &str, body: &[u8], head: bool) -> Vec<u8> {
    let mut bytes = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         {extra}Connection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    if !head {
        bytes.extend_from_slice(body);
    }
    bytes
}

/// The media type of a file, from its extension (RFC 9110, section 8.3).
fn content_type(file: &Path) -> &'static str {
    match file.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("txt") => "text/plain; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        _ => "application/octet-stream",
    }
}
