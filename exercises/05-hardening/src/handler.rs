//! Serving one connection, safely: whatever a client sends, the server answers with the
//! right status, gives up on clients too slow to send, and never serves a byte from
//! outside its root.
//! Each `todo!()` is yours; the rest is done.

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
    // TODO: set a read timeout of TIMEOUT on the stream. Read in a loop until the head
    //       ends with an empty line. On the way: a first line longer than MAX_REQUEST_LINE is
    //       Refusal::UriTooLong, a head longer than MAX_HEAD is HeadTooLarge, a read that times
    //       out (ErrorKind::WouldBlock or TimedOut) is RequestTimeout if some bytes came, else
    //       Closed; a read of 0 bytes is Closed.
    let _ = (
        stream.read(&mut [0; 0]),
        ErrorKind::TimedOut,
        MAX_HEAD,
        MAX_REQUEST_LINE,
    );
    todo!("read the head within the limits and the timeout")
}

/// Splits the request line `METHOD TARGET HTTP/1.x` (RFC 9112, section 3): exactly three
/// words, one space apart. Only GET and HEAD are served; other methods get 405.
pub fn parse_request_line(head: &[u8]) -> Result<(String, String), Refusal> {
    // TODO: split the first line on single spaces into exactly three words, else
    //       BadRequest. The method must be upper-case letters, the target start with '/', the
    //       version start with "HTTP/1.", else BadRequest. GET and HEAD are served; any other
    //       method is MethodNotAllowed.
    let _ = head;
    todo!("parse the request line")
}

/// The file `target` names inside `root`: the security boundary. The target is decoded
/// once (RFC 3986, section 2.1) and then split into segments; `..` is refused rather
/// than followed, so no spelling of it (`%2e%2e`, `..%2f`) can climb out of the root.
pub fn resolve_in_root(root: &Path, target: &str) -> Result<PathBuf, Refusal> {
    // TODO: drop the query (after '?'), decode with percent_decode (None is BadRequest),
    //       then push each '/'-separated segment onto root: skip "" and ".", refuse ".."
    //       (NotFound), and refuse segments holding '\\', ':' or NUL (BadRequest). A folder
    //       means its index.html. Not a file: NotFound.
    let _ = (root, target);
    todo!("confine the path to the root")
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
