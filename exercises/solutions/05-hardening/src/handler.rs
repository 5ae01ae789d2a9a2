//! Serving one connection, safely: whatever a client sends, the server answers with the
//! right status, gives up on clients too slow to send, and never serves a byte from
//! outside its root.
//! (The solution of exercise 05.)

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long a client has to send its request (and the server to send its response).
pub const TIMEOUT: Duration = Duration::from_secs(2);
/// The longest request line accepted; longer gets 414 (RFC 9112, section 3).
pub const MAX_REQUEST_LINE: usize = 8 * 1024;
/// The largest request head accepted; larger gets 431 (RFC 6585, section 5).
pub const MAX_HEAD: usize = 64 * 1024;

/// Why a request is not answered with a file.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The client closed the connection, or sent nothing before the timeout: no answer.
    Closed,
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
            Refusal::Closed => "",
            Refusal::BadRequest => "400 Bad Request",
            Refusal::NotFound => "404 Not Found",
            Refusal::MethodNotAllowed => "405 Method Not Allowed",
            Refusal::RequestTimeout => "408 Request Timeout",
            Refusal::UriTooLong => "414 URI Too Long",
            Refusal::HeadTooLarge => "431 Request Header Fields Too Large",
        }
    }
}

/// Serves one request on `stream`, then closes it.
pub fn handle_connection(mut stream: TcpStream, root: &Path) {
    let _ = stream.set_write_timeout(Some(TIMEOUT));
    let request = read_request_head(&mut stream)
        .and_then(|head| parse_request_line(&head))
        .and_then(|(method, target)| Ok((method, resolve_in_root(root, &target)?)));
    let result = match request {
        Ok((method, file)) => match std::fs::read(&file) {
            Ok(body) => {
                let body = if method == "HEAD" {
                    None
                } else {
                    Some(&body[..])
                };
                let length = std::fs::metadata(&file).map_or(0, |m| m.len());
                write_response(&mut stream, "200 OK", content_type(&file), length, "", body)
            }
            Err(_) => refuse(&mut stream, &Refusal::NotFound),
        },
        Err(Refusal::Closed) => return,
        Err(refusal) => refuse(&mut stream, &refusal),
    };
    if let Err(error) = result {
        eprintln!("sending a response failed: {error}");
    }
}

/// Reads the request head, up to the empty line that ends it, within the limits:
/// 408 if the client stops sending for [`TIMEOUT`] in the middle of a request, 414 for
/// a request line over [`MAX_REQUEST_LINE`], 431 for a head over [`MAX_HEAD`].
pub fn read_request_head(stream: &mut TcpStream) -> Result<Vec<u8>, Refusal> {
    stream
        .set_read_timeout(Some(TIMEOUT))
        .map_err(|_| Refusal::Closed)?;
    let mut head = Vec::new();
    let mut chunk = [0; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let line_end = head.iter().position(|&b| b == b'\n').unwrap_or(head.len());
        if line_end > MAX_REQUEST_LINE {
            return Err(Refusal::UriTooLong);
        }
        if head.len() > MAX_HEAD {
            return Err(Refusal::HeadTooLarge);
        }
        match stream.read(&mut chunk) {
            Ok(0) => return Err(Refusal::Closed),
            Ok(n) => head.extend_from_slice(&chunk[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return Err(match head.is_empty() {
                    true => Refusal::Closed,
                    false => Refusal::RequestTimeout,
                });
            }
            Err(_) => return Err(Refusal::Closed),
        }
    }
    let line_end = head.iter().position(|&b| b == b'\n').unwrap_or(head.len());
    match line_end > MAX_REQUEST_LINE {
        true => Err(Refusal::UriTooLong),
        false => Ok(head),
    }
}

/// Splits the request line `METHOD TARGET HTTP/1.x` (RFC 9112, section 3): exactly three
/// words, one space apart. Only GET and HEAD are served; other methods get 405.
pub fn parse_request_line(head: &[u8]) -> Result<(String, String), Refusal> {
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

/// The file `target` names inside `root`: the security boundary. The target is decoded
/// once (RFC 3986, section 2.1) and then split into segments; `..` is refused rather
/// than followed, so no spelling of it (`%2e%2e`, `..%2f`) can climb out of the root.
pub fn resolve_in_root(root: &Path, target: &str) -> Result<PathBuf, Refusal> {
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
pub fn percent_decode(text: &str) -> Option<String> {
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

/// Sends the status and a short page for `refusal`; a 405 says which methods are allowed.
fn refuse(stream: &mut TcpStream, refusal: &Refusal) -> std::io::Result<()> {
    let status = refusal.status();
    let page = format!("<h1>{status}</h1>\n");
    let extra = match refusal {
        Refusal::MethodNotAllowed => "Allow: GET, HEAD\r\n",
        _ => "",
    };
    let html = "text/html; charset=utf-8";
    let length = page.len() as u64;
    write_response(stream, status, html, length, extra, Some(page.as_bytes()))
}

/// Writes the status line, the headers (with `extra` header lines) and the body, if any:
/// a response to HEAD has the same headers as to GET, and no body (RFC 9110, 9.3.2).
pub fn write_response(
    stream: &mut TcpStream,
    status: &str,
    content_type: &str,
    length: u64,
    extra: &str,
    body: Option<&[u8]>,
) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {length}\r\n\
         {extra}Connection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes())?;
    stream.write_all(body.unwrap_or_default())
}

/// The media type of a file, from its extension (RFC 9110, section 8.3).
pub fn content_type(file: &Path) -> &'static str {
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
