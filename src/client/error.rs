//! Everything that can go wrong while fetching a page, as one error type.

use std::error::Error;
use std::fmt;
use std::io;
use std::net::SocketAddr;

use super::timed::{is_timeout, limit_hit, TimeLimit};

/// Why a fetch failed.
///
/// Each variant is one line a person can act on; the binary prints it after
/// `client: `. Note what is *not* here: a response with status 404 or 500 is
/// not an error. The exchange worked; the server just had bad news.
#[derive(Debug)]
pub enum ClientError {
    /// The host name could not be turned into an address (DNS failed).
    Resolve {
        /// The name that could not be resolved.
        host: String,
        /// What the resolver said.
        source: io::Error,
    },
    /// No address of the host accepted a TCP connection.
    Connect {
        /// The last address tried.
        addr: SocketAddr,
        /// Why it refused.
        source: io::Error,
    },
    /// A time limit ran out: one wait lasted [`ClientRequest::timeout`](super::ClientRequest::timeout),
    /// or the whole exchange [`ClientRequest::max_time`](super::ClientRequest::max_time). `None` for a
    /// timeout of a reader that is not a [`TimedStream`](super::TimedStream), which cannot
    /// say which limit it had.
    TimedOut(Option<TimeLimit>),
    /// The connection closed before the response header was complete;
    /// `got` is how many header bytes had arrived (0: no answer at all).
    HeadCutShort {
        /// Header bytes received before the close.
        got: usize,
    },
    /// The first line is not an HTTP status line (RFC 9112 section 4);
    /// holds the start of what arrived, for the message.
    NotHttp(String),
    /// A header field line is malformed (RFC 9112 section 5).
    BadHeader(String),
    /// The response header section is larger than [`MAX_HEAD_BYTES`](super::MAX_HEAD_BYTES).
    HeadTooLarge,
    /// `Content-Length` is not a number, or several values disagree
    /// (RFC 9112 section 6.3, rule 5): we cannot know where the body ends.
    BadContentLength(String),
    /// The chunked transfer coding is malformed (RFC 9112 section 7.1).
    BadChunk(String),
    /// The connection closed before the body was complete. `expected` is
    /// the Content-Length, or `None` for a chunked body missing its last chunk.
    BodyCutShort {
        /// The announced length, if there was one.
        expected: Option<u64>,
        /// Body bytes received before the close.
        got: u64,
    },
    /// Any other failure reading from or writing to the connection.
    Network(io::Error),
    /// Writing the body to its destination (stdout, a file) failed.
    Output(io::Error),
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Resolve { host, source } => write!(f, "cannot resolve {host}: {source}"),
            ClientError::Connect { addr, source } => {
                write!(f, "cannot connect to {addr}: {source}")
            }
            ClientError::TimedOut(Some(limit)) => write!(f, "timed out: {limit}"),
            ClientError::TimedOut(None) => write!(f, "timed out waiting for the server"),
            ClientError::HeadCutShort { got: 0 } => {
                write!(f, "the server closed the connection without a response")
            }
            ClientError::HeadCutShort { got } => {
                write!(f, "response header cut short after {got} bytes")
            }
            ClientError::NotHttp(start) => write!(f, "not an HTTP response: {start:?}"),
            ClientError::BadHeader(line) => write!(f, "bad response header: {line:?}"),
            ClientError::HeadTooLarge => write!(
                f,
                "response header is larger than {} KiB",
                super::MAX_HEAD_BYTES / 1024
            ),
            ClientError::BadContentLength(value) => {
                write!(f, "invalid or conflicting Content-Length: {value:?}")
            }
            ClientError::BadChunk(why) => write!(f, "bad chunked body: {why}"),
            ClientError::BodyCutShort {
                expected: Some(n),
                got,
            } => {
                write!(f, "body cut short: got {got} of {n} bytes")
            }
            ClientError::BodyCutShort {
                expected: None,
                got,
            } => write!(
                f,
                "body cut short: the connection closed before the last chunk ({got} bytes received)"
            ),
            ClientError::Network(source) => write!(f, "network error: {source}"),
            ClientError::Output(source) => write!(f, "cannot write output: {source}"),
        }
    }
}

impl Error for ClientError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            ClientError::Resolve { source, .. }
            | ClientError::Connect { source, .. }
            | ClientError::Network(source)
            | ClientError::Output(source) => Some(source),
            _ => None,
        }
    }
}

/// An I/O error on the *connection*: a read or write that ran out of time
/// becomes [`ClientError::TimedOut`], anything else [`ClientError::Network`].
///
/// This is what `?` uses, so errors writing the *output* must be mapped
/// explicitly with `map_err(ClientError::Output)`.
impl From<io::Error> for ClientError {
    fn from(err: io::Error) -> Self {
        if let Some(limit) = limit_hit(&err) {
            ClientError::TimedOut(Some(limit))
        } else if is_timeout(&err) {
            ClientError::TimedOut(None)
        } else {
            ClientError::Network(err)
        }
    }
}
