//! Serving one connection: read the request, find the file, send the response.
//! (Exercise 01's solution: this exercise builds on it.)

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};

/// Serves one request on `stream`, then closes it (by dropping it).
pub fn handle_connection(mut stream: TcpStream, root: &Path) {
    let head = match read_request_head(&mut stream) {
        Ok(head) => head,
        Err(error) => {
            eprintln!("reading a request failed: {error}");
            return;
        }
    };
    let result = match requested_path(&head).and_then(|path| find_file(root, &path)) {
        Some(file) => match std::fs::read(&file) {
            Ok(body) => write_response(&mut stream, "200 OK", content_type(&file), &body),
            Err(_) => not_found(&mut stream),
        },
        None => not_found(&mut stream),
    };
    if let Err(error) = result {
        eprintln!("sending a response failed: {error}");
    }
}

/// Task 1, step 4 (first half): reads from `stream` until the empty line that ends the
/// request head, "\r\n\r\n" (RFC 9112, section 2.1), and returns the bytes read.
pub fn read_request_head(stream: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut head = Vec::new();
    let mut chunk = [0; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&chunk[..n]);
    }
    Ok(head)
}

/// Task 1, step 4 (second half): the path of the request line `GET /path HTTP/1.1`
/// (RFC 9112, section 3), or `None` if the first line is not of that shape.
pub fn requested_path(head: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(head);
    let line = text.lines().next()?;
    let mut words = line.split(' ');
    let (_method, path) = (words.next()?, words.next()?);
    Some(path.to_string())
}

/// Task 1, step 5: the file that `path` names inside `root`, if there is one. A path
/// that names a folder means the `index.html` inside it, so `/` serves `index.html`.
pub fn find_file(root: &Path, path: &str) -> Option<PathBuf> {
    let mut file = root.join(path.trim_start_matches('/'));
    if file.is_dir() {
        file.push("index.html");
    }
    file.is_file().then_some(file)
}

/// Task 1, steps 6 and 7: writes a status line, header lines and the body, e.g.
///
/// ```text
/// HTTP/1.1 200 OK\r\n
/// Content-Type: text/html\r\n
/// Content-Length: 14\r\n
/// Connection: close\r\n
/// \r\n
/// <h1>Hello</h1>
/// ```
///
/// `Content-Length` tells the client where the body ends (RFC 9112, section 6.3).
pub fn write_response(
    stream: &mut TcpStream,
    status: &str,
    content_type: &str,
    body: &[u8],
) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)
}

/// Task 1, step 6: the 404 page.
fn not_found(stream: &mut TcpStream) -> std::io::Result<()> {
    let page = b"<h1>404 Not Found</h1>\n";
    write_response(stream, "404 Not Found", "text/html; charset=utf-8", page)
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
