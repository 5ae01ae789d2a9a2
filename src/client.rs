//! The web client (task 2): send one HTTP/1.1 request, read one response.
//!
//! ```no_run
//! use weblab::client::{fetch, ClientRequest};
//!
//! let mut body = Vec::new();
//! let head = fetch(&ClientRequest::get("localhost", 8080, "/index.html"), &mut body)?;
//! println!("{} {}: {} bytes", head.status, head.reason, body.len());
//! # Ok::<(), weblab::client::ClientError>(())
//! ```
//!
//! The work splits into steps, each of which a test can drive on its own:
//!
//! | step                                     | item                                        |
//! |------------------------------------------|---------------------------------------------|
//! | build the request bytes                  | [`ClientRequest::to_bytes`]                 |
//! | resolve the host, connect with a timeout | [`connect`]                                 |
//! | bound each wait, and the whole exchange  | [`Deadline`], [`TimedStream`]               |
//! | read the status line and headers         | [`parse_response_head`], [`Response::read_from`] |
//! | decide where the body ends               | [`body_framing`]                            |
//! | stream the body, undoing chunking        | [`copy_body`], [`copy_chunked`]             |
//! | all of the above                         | [`send`] + [`Response::copy_body_to`], or [`fetch`] |
//!
//! [`Response::read_from`] works on any [`BufRead`], so tests can feed it
//! canned bytes without a socket.
//!
//! The client speaks the same HTTP as the server, from the same pieces: the grammar of
//! lines and header fields, the head size limit and the parse result shape are in
//! [`crate::http::syntax`], where a body ends is decided in [`crate::http::framing`]
//! ([`BodyFraming`]), and [`Method`] is [`crate::http::Method`]. Only the status line,
//! the chunked decoder and the connection are the client's own.

mod body;
mod error;
mod head;
mod timed;

use std::io::{self, BufRead, BufReader, Write};
use std::net::ToSocketAddrs;
use std::time::Duration;

pub use body::{body_framing, copy_body, copy_chunked};
pub use error::ClientError;
pub use head::{parse_response_head, ClientResponseHead};
pub use timed::{Deadline, TimeLimit, TimedStream};

use crate::http::BodyFraming;
/// The request method, the server's and the client's alike (RFC 9110 section 9).
pub use crate::http::Method;

/// The largest response head (status line plus headers) the client accepts, so that a
/// misbehaving server cannot make it use unbounded memory: the limit the server puts on a
/// request head, [`crate::http::MAX_HEAD`].
pub const MAX_HEAD_BYTES: usize = crate::http::MAX_HEAD;

/// How long to wait for a connection, or for any single read or write, by default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// How long the whole exchange may take by default: connecting, sending, the head and the
/// body together.
///
/// Five minutes: long enough to download a few hundred megabytes over a slow link (at
/// 10 Mbit/s, about 370 MB), far longer than any page of a course server takes, and short
/// enough that a server dripping its answer a byte at a time, or sending a body without
/// end, holds a script or a grader for minutes, not hours. A longer download asks for
/// more with [`ClientRequest::max_time`] (`--max-time` on the command line).
pub const DEFAULT_MAX_TIME: Duration = Duration::from_secs(300);

/// The `User-Agent` the client sends: who is asking (RFC 9110 section 10.1.5).
pub const USER_AGENT: &str = concat!("weblab-client/", env!("CARGO_PKG_VERSION"));

/// What to fetch and from where.
///
/// Fields are public so a test can adjust one thing:
/// `ClientRequest { method: Method::Head, ..ClientRequest::get("localhost", 8080, "/") }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientRequest {
    /// A name (`localhost`), an IPv4 address (`127.0.0.1`) or an IPv6
    /// address (`::1`, brackets optional).
    pub host: String,
    /// The server's TCP port.
    pub port: u16,
    /// The path to ask for; a missing leading `/` is added.
    pub path: String,
    /// GET or HEAD, the methods a file server answers. Another method is sent as
    /// written, so it must be a token (RFC 9110 section 9.1); this is checked in debug
    /// builds.
    pub method: Method,
    /// The longest wait for the connection and for each read or write. Must not be zero.
    pub timeout: Duration,
    /// The longest the whole exchange may take, from resolving the host to the body's last
    /// byte. Must not be zero. Every wait is cut short to what is left of it.
    pub max_time: Duration,
}

impl ClientRequest {
    /// A GET request with the [`DEFAULT_TIMEOUT`] and the [`DEFAULT_MAX_TIME`].
    pub fn get(host: impl Into<String>, port: u16, path: impl Into<String>) -> ClientRequest {
        ClientRequest {
            host: host.into(),
            port,
            path: path.into(),
            method: Method::Get,
            timeout: DEFAULT_TIMEOUT,
            max_time: DEFAULT_MAX_TIME,
        }
    }

    /// The request target for the request line: the path in "origin form"
    /// (RFC 9112 section 3.2.1), which always starts with `/`. Spaces,
    /// control characters and non-ASCII bytes would break the request line,
    /// so they are percent-encoded (RFC 3986 section 2.1).
    pub fn target(&self) -> String {
        let mut target = String::with_capacity(self.path.len() + 1);
        if !self.path.starts_with('/') {
            target.push('/');
        }
        for &byte in self.path.as_bytes() {
            if byte.is_ascii_graphic() {
                target.push(char::from(byte));
            } else {
                target.push_str(&format!("%{byte:02X}"));
            }
        }
        target
    }

    /// The value of the `Host` header (RFC 9110 section 7.2): the host, with
    /// the port unless it is HTTP's default, 80. An IPv6 address goes in
    /// brackets, or its colons would be confused with the port's.
    pub fn host_header(&self) -> String {
        let host = self.bare_host();
        let host = if host.contains(':') {
            format!("[{host}]")
        } else {
            host.to_string()
        };
        if self.port == 80 {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }

    /// The request exactly as sent. `Connection: close` asks the server to
    /// close the connection after its response (RFC 9112 section 9.6); the
    /// client does not rely on it, since a server may ignore it.
    pub fn to_bytes(&self) -> Vec<u8> {
        let method = self.method.as_str();
        debug_assert!(!method.is_empty() && method.bytes().all(crate::http::syntax::is_tchar));
        format!(
            "{method} {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: {USER_AGENT}\r\nConnection: close\r\n\r\n",
            self.target(),
            self.host_header(),
        )
        .into_bytes()
    }

    /// The host without the brackets a user may have typed around an IPv6 address.
    fn bare_host(&self) -> &str {
        let host = self.host.as_str();
        host.strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host)
    }
}

/// A response whose head has been read and whose body is waiting in `reader`.
#[derive(Debug)]
pub struct Response<R> {
    /// The status line and headers of the final response: not an interim 1xx (a
    /// `101 Switching Protocols` is final, see [`ClientResponseHead::is_interim`]).
    pub head: ClientResponseHead,
    /// Where the body ends, decided from `head` by [`body_framing`].
    pub body_framing: BodyFraming,
    reader: R,
}

impl<R: BufRead> Response<R> {
    /// Reads the response head from `reader`, skipping any interim 1xx
    /// responses such as `100 Continue` (RFC 9110 section 15.2), and works
    /// out where the body ends. `method` matters: a response to HEAD has no
    /// body. All the heads together may use at most [`MAX_HEAD_BYTES`].
    pub fn read_from(mut reader: R, method: Method) -> Result<Response<R>, ClientError> {
        let mut budget = MAX_HEAD_BYTES;
        loop {
            let head = head::read_head(&mut reader, budget)?;
            budget = budget.saturating_sub(head.raw.len());
            if !head.is_interim() {
                let body_framing = body_framing(&method, &head)?;
                return Ok(Response {
                    head,
                    body_framing,
                    reader,
                });
            }
        }
    }

    /// Streams the body to `out` (see [`copy_body`]) and returns its size.
    /// The body can be read once; later calls copy nothing.
    pub fn copy_body_to(&mut self, out: &mut impl Write) -> Result<u64, ClientError> {
        let framing = std::mem::replace(&mut self.body_framing, BodyFraming::None);
        copy_body(&mut self.reader, framing, out)
    }
}

/// Resolves the host and opens a TCP connection, trying each address in turn
/// (`localhost` may mean both `::1` and `127.0.0.1`).
///
/// This starts the clock of the whole exchange: connecting, and every later read and write
/// on the returned stream, waits at most `req.timeout`, and all of them together take at
/// most `req.max_time`. (Resolving the name is the system resolver's job and cannot be
/// interrupted, but the time it takes counts.)
pub fn connect(req: &ClientRequest) -> Result<TimedStream, ClientError> {
    let deadline = Deadline::start(req.timeout, req.max_time);
    let host = req.bare_host();
    let resolve_error = |source| ClientError::Resolve {
        host: host.to_string(),
        source,
    };
    let addrs = (host, req.port).to_socket_addrs().map_err(resolve_error)?;

    let mut last_error = None;
    for addr in addrs {
        match deadline.connect(&addr) {
            Ok(stream) => return Ok(TimedStream::new(stream, deadline)),
            // The whole exchange is out of time: no point trying the next address.
            Err(err) if matches!(timed::limit_hit(&err), Some(TimeLimit::Total(_))) => {
                return Err(err.into());
            }
            Err(source) => last_error = Some(ClientError::Connect { addr, source }),
        }
    }
    Err(last_error.unwrap_or_else(|| {
        resolve_error(io::Error::new(
            io::ErrorKind::NotFound,
            "no addresses found",
        ))
    }))
}

/// Connects, sends the request and reads the response head. The body is
/// left in the returned [`Response`] for the caller to stream wherever it
/// wants, after looking at the head.
pub fn send(req: &ClientRequest) -> Result<Response<BufReader<TimedStream>>, ClientError> {
    let mut stream = connect(req)?;
    stream.write_all(&req.to_bytes())?;
    Response::read_from(BufReader::new(stream), req.method.clone())
}

/// Fetches a page in one call: sends the request, writes the body to `body`
/// and returns the head. Any status counts as success, 404 included; only
/// a failed exchange is an error.
pub fn fetch(
    req: &ClientRequest,
    body: &mut impl Write,
) -> Result<ClientResponseHead, ClientError> {
    let mut response = send(req)?;
    response.copy_body_to(body)?;
    Ok(response.head)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_has_host_user_agent_and_connection_close() {
        let request = ClientRequest::get("localhost", 8080, "/index.html");
        let expected = format!(
            "GET /index.html HTTP/1.1\r\nHost: localhost:8080\r\nUser-Agent: {USER_AGENT}\r\nConnection: close\r\n\r\n"
        );
        assert_eq!(String::from_utf8_lossy(&request.to_bytes()), expected);
    }

    #[test]
    fn head_request_uses_the_head_method() {
        let request = ClientRequest {
            method: Method::Head,
            ..ClientRequest::get("localhost", 8080, "/")
        };
        assert!(request.to_bytes().starts_with(b"HEAD / HTTP/1.1\r\n"));
    }

    #[test]
    fn path_without_leading_slash_gets_one() {
        assert_eq!(
            ClientRequest::get("h", 1, "index.html").target(),
            "/index.html"
        );
        assert_eq!(ClientRequest::get("h", 1, "").target(), "/");
    }

    #[test]
    fn unsafe_path_bytes_are_percent_encoded() {
        assert_eq!(
            ClientRequest::get("h", 1, "/a b\r\nc/é").target(),
            "/a%20b%0D%0Ac/%C3%A9"
        );
        assert_eq!(
            ClientRequest::get("h", 1, "/a%20b?q=1").target(),
            "/a%20b?q=1"
        );
    }

    #[test]
    fn host_header_leaves_out_port_80() {
        assert_eq!(
            ClientRequest::get("example.com", 80, "/").host_header(),
            "example.com"
        );
        assert_eq!(
            ClientRequest::get("example.com", 8080, "/").host_header(),
            "example.com:8080"
        );
    }

    #[test]
    fn host_header_brackets_ipv6_addresses() {
        assert_eq!(
            ClientRequest::get("::1", 8080, "/").host_header(),
            "[::1]:8080"
        );
        assert_eq!(ClientRequest::get("[::1]", 80, "/").host_header(), "[::1]");
    }

    #[test]
    fn response_with_content_length_stops_after_the_body() {
        let bytes = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloEXTRA";
        let mut response = Response::read_from(&bytes[..], Method::Get).expect("valid response");
        let mut body = Vec::new();
        assert_eq!(response.copy_body_to(&mut body).expect("complete body"), 5);
        assert_eq!(body, b"hello");
        assert_eq!(response.copy_body_to(&mut body).expect("nothing left"), 0);
    }
}
