//! One connection's life, as a small state machine (assignment task 1, steps 3 to 8, and
//! persistent connections, RFC 9112 section 9).
//!
//! A connection is always in one [`Phase`]: reading a request head, dropping a request
//! body, holding or sending a response, or lingering before the close. One function,
//! [`Connection::advance`], moves it along as far as it can go without waiting, and says
//! what it waits for next: the socket to become readable or writable, or its deadline.
//! Another, [`Connection::expire`], decides what happens when that deadline passes.
//! darkhttpd is built the same way: every decision about what comes next is in one place.
//!
//! The same machine runs in every mode; only the waiting differs. In `single` and
//! `threaded` modes the socket blocks, and each read is bounded by the deadline, so a wait
//! that comes back empty means the deadline has passed ([`serve_blocking`]). In pool mode
//! the socket never blocks: the event loop waits for many connections at once and calls
//! `advance` for the one that is ready (see [`super::event_loop`]).

use std::io::{self, Read};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use super::handler::{respond, Body, Reply};
use super::send_file::{Flow, Outgoing};
use super::shutdown::Ticket;
use super::{Mode, Shared};
use crate::http::StatusCode;
use crate::http::{format_http_date, parse_request_head, BodyFraming, Parse, RequestHead};
use crate::log::LogEntry;

/// How many bytes one read asks for.
const READ_CHUNK: usize = 8 * 1024;
/// The largest request body read and thrown away; a bigger one makes the server close.
const MAX_DISCARD: u64 = 1024 * 1024;
/// The longest a closing connection waits for the client to stop sending (lingering close).
const MAX_LINGER: Duration = Duration::from_secs(1);

/// Where a connection is in its life. Each phase has a deadline (see
/// [`Connection::expire`] for what happens when it passes).
#[derive(Debug)]
pub(crate) enum Phase {
    /// Waiting for a request head, or the rest of one. Deadline: `timeout` after
    /// connecting, or the keep-alive timeout after the last response.
    ReadingHead,
    /// Reading and dropping the body of `request` before answering it, so that the
    /// connection can carry the next request. Deadline: the head's.
    DiscardingBody {
        /// Bytes of the body still to come.
        left: u64,
        /// The request, answered once its body is gone.
        request: RequestHead,
    },
    /// Holding a response for the demo's `--delay-ms`. Deadline: the end of the delay.
    Delaying(Box<Response>),
    /// Writing a response. Deadline: `timeout` after the last write that made progress,
    /// so a client that reads slowly but steadily is served, and one that stops is not.
    Sending(Box<Response>),
    /// The response is sent and the server has stopped writing; it reads and drops what
    /// the client still sends, so that closing does not reset the connection and destroy
    /// the response on its way. Deadline: [`MAX_LINGER`].
    Lingering {
        /// The most bytes still to drop.
        left: u64,
    },
    /// Nothing more to do: close the socket.
    Closed,
}

/// What a connection waits for, after [`Connection::advance`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wait {
    /// The socket to have bytes to read (or its deadline).
    Readable,
    /// The socket to take more bytes (or its deadline).
    Writable,
    /// Only its deadline.
    Deadline,
    /// Nothing: it is closed.
    Done,
}

/// A response on its way, and what comes after it.
#[derive(Debug)]
pub(crate) struct Response {
    out: Outgoing,
    /// For the access log: the request line, if one was received.
    request_line: Option<String>,
    status: u16,
    /// Wait for the next request once this response is sent (RFC 9112, 9.3).
    keep_alive: bool,
    /// Nothing is left unread from the client: closing afterwards cannot reset.
    clean: bool,
}

/// What a read came to.
enum Received {
    Bytes(usize),
    /// Nothing now: the socket would block (or, for a blocking socket, its deadline passed).
    Nothing,
    /// The client closed its side, or the connection failed.
    End,
}

/// An accepted connection.
pub(crate) struct Connection {
    /// Its place among the open connections; declared first, so that it is given up
    /// before the socket closes and a stop can never shut down a reused descriptor.
    ticket: Ticket,
    stream: Arc<TcpStream>,
    peer: SocketAddr,
    /// Bytes received and not used yet: part of a head, or pipelined requests.
    buf: Vec<u8>,
    phase: Phase,
    deadline: Instant,
    /// Requests answered so far on this connection.
    requests_served: usize,
    /// A blocking socket (single and threaded modes): each read waits at most until the
    /// deadline.
    blocking: bool,
    /// Whether Nagle's algorithm is off (TCP_NODELAY).
    nodelay: bool,
}

impl Connection {
    /// A new connection, waiting for its first request head until `timeout` from now.
    pub(crate) fn new(
        stream: Arc<TcpStream>,
        peer: SocketAddr,
        ticket: Ticket,
        shared: &Shared,
        blocking: bool,
    ) -> Connection {
        // A blocking write that makes no progress for this long gives up: the blocking
        // modes' form of a deadline between successful writes. A socket whose writes
        // cannot be bounded is not served: a client could hold its thread forever.
        let bounded = !blocking
            || stream
                .set_write_timeout(Some(shared.config.timeout))
                .is_ok();
        Connection {
            ticket,
            stream,
            peer,
            buf: Vec::new(),
            phase: match bounded {
                true => Phase::ReadingHead,
                false => Phase::Closed,
            },
            deadline: Instant::now() + shared.config.timeout,
            requests_served: 0,
            blocking,
            nodelay: false,
        }
    }

    pub(crate) fn stream(&self) -> &TcpStream {
        &self.stream
    }

    pub(crate) fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Whether a stop should let this connection finish: it is answering a request.
    pub(crate) fn is_responding(&self) -> bool {
        matches!(self.phase, Phase::Delaying(_) | Phase::Sending(_))
    }

    /// Moves the connection along as far as it can go without waiting, and says what it
    /// waits for next. The one place that decides what follows what.
    pub(crate) fn advance(&mut self, shared: &Shared) -> Wait {
        loop {
            let waiting = match &mut self.phase {
                Phase::ReadingHead => self.read_head(shared),
                Phase::DiscardingBody { .. } => self.discard_body(shared),
                Phase::Delaying(_) if Instant::now() < self.deadline => Some(Wait::Deadline),
                Phase::Delaying(_) => {
                    self.expire(shared);
                    None
                }
                Phase::Sending(_) => self.send(shared),
                Phase::Lingering { .. } => self.linger(),
                Phase::Closed => Some(Wait::Done),
            };
            if let Some(wait) = waiting {
                return wait;
            }
        }
    }

    /// The deadline has passed: what the current phase does about it.
    pub(crate) fn expire(&mut self, shared: &Shared) {
        match std::mem::replace(&mut self.phase, Phase::Closed) {
            // Part of a request came, then nothing: say so (RFC 9110, 15.5.9). A client
            // that sent nothing, or only empty lines, is closed without a word.
            Phase::ReadingHead if self.has_partial_request() => {
                let line = self.first_line();
                let reply = Reply::error(StatusCode::RequestTimeout);
                self.reply(line, reply, false, false, shared);
            }
            // The body did not come in time: answer anyway, and close.
            Phase::DiscardingBody { request, .. } => self.answer(request, false, shared),
            Phase::Delaying(response) => self.start_sending(response, shared),
            // The client stopped reading for `timeout`: give up on it.
            Phase::Sending(response) => self.finish(*response, true, shared),
            Phase::ReadingHead | Phase::Lingering { .. } | Phase::Closed => {}
        }
    }

    /// Ends the connection at once (a stop, or an error elsewhere).
    pub(crate) fn close(&mut self) {
        self.phase = Phase::Closed;
    }

    fn read_head(&mut self, shared: &Shared) -> Option<Wait> {
        self.skip_empty_lines();
        if !self.buf.is_empty() {
            match parse_request_head(&self.buf) {
                Ok(Parse::Complete(request, used)) => {
                    self.buf.drain(..used);
                    self.begin(request, shared);
                    return None;
                }
                Ok(Parse::Incomplete) => {}
                Err(error) => {
                    let line = self.first_line();
                    self.reply(line, Reply::for_bad_request(error), false, false, shared);
                    return None;
                }
            }
        }
        let mut chunk = [0; READ_CHUNK];
        match self.receive(&mut chunk) {
            Received::Bytes(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                None
            }
            Received::Nothing => Some(Wait::Readable),
            // The client left, with or without half a request: nobody to answer.
            Received::End => {
                self.phase = Phase::Closed;
                None
            }
        }
    }

    /// RFC 9112, 2.2: empty lines before a request line are ignored. Dropping them here
    /// means a stray CRLF after a request never counts as the start of the next one.
    fn skip_empty_lines(&mut self) {
        let mut start = 0;
        loop {
            match &self.buf[start..] {
                [b'\r', b'\n', ..] => start += 2,
                [b'\n', ..] => start += 1,
                _ => break,
            }
        }
        self.buf.drain(..start);
    }

    /// Whether any part of a request has arrived (a lone CR of an empty line does not count).
    fn has_partial_request(&self) -> bool {
        self.buf.iter().any(|&b| b != b'\r' && b != b'\n')
    }

    /// A complete head: decide what to do with its body, if any, and answer.
    fn begin(&mut self, request: RequestHead, shared: &Shared) {
        self.ticket.responding();
        if shared.config.panic_path.as_deref() == Some(request.target.as_str()) {
            panic!("test hook: panic while handling {}", request.target);
        }
        // RFC 9110, 10.1.1: a client that sends `Expect: 100-continue` waits for 100
        // (Continue) before sending the body. This server never uses a body, so it sends
        // the final status at once instead, and closes: the client may or may not send
        // the body after all, and the next request could not be told from it.
        let expects_continue = request
            .header("Expect")
            .is_some_and(|value| value.eq_ignore_ascii_case("100-continue"));
        match request.body {
            BodyFraming::None => self.answer(request, true, shared),
            BodyFraming::Length(length) if length <= MAX_DISCARD && !expects_continue => {
                let buffered = (self.buf.len() as u64).min(length);
                self.buf.drain(..buffered as usize);
                let left = length - buffered;
                self.phase = Phase::DiscardingBody { left, request };
            }
            // Too large to wait for, chunked, or held back until we say so: answer
            // without reading it, and close.
            BodyFraming::Length(_) | BodyFraming::Chunked | BodyFraming::UntilClose => {
                self.answer(request, false, shared)
            }
        }
    }

    fn discard_body(&mut self, shared: &Shared) -> Option<Wait> {
        let Phase::DiscardingBody { left, .. } = &self.phase else {
            unreachable!("discard_body is called in its phase only");
        };
        let left = *left;
        if left == 0 {
            if let Phase::DiscardingBody { request, .. } =
                std::mem::replace(&mut self.phase, Phase::Closed)
            {
                self.answer(request, true, shared);
            }
            return None;
        }
        let mut chunk = [0; READ_CHUNK];
        let want = left.min(READ_CHUNK as u64) as usize;
        match self.receive(&mut chunk[..want]) {
            Received::Bytes(n) => {
                if let Phase::DiscardingBody { left, .. } = &mut self.phase {
                    *left -= n as u64;
                }
                None
            }
            Received::Nothing => Some(Wait::Readable),
            // The client stopped sending before the end of its body: answer, and close.
            Received::End => {
                if let Phase::DiscardingBody { request, .. } =
                    std::mem::replace(&mut self.phase, Phase::Closed)
                {
                    self.answer(request, false, shared);
                }
                None
            }
        }
    }

    /// Answers a well-formed request. `body_read`: nothing of its body is left unread.
    fn answer(&mut self, request: RequestHead, body_read: bool, shared: &Shared) {
        let reply = respond(&request, &shared.root, shared.config.handler);
        let keep_alive = body_read
            && request.wants_keep_alive()
            && shared.config.mode != Mode::Single
            && self.requests_served + 1 < shared.config.max_requests
            && !shared.is_stopping();
        self.reply(
            Some(request.request_line()),
            reply,
            keep_alive,
            body_read,
            shared,
        );
    }

    /// Starts sending `reply` with the headers every response carries.
    fn reply(
        &mut self,
        request_line: Option<String>,
        reply: Reply,
        keep_alive: bool,
        clean: bool,
        shared: &Shared,
    ) {
        let status = reply.head.status.code();
        let mut head = reply.head;
        if let Some(date) = format_http_date(SystemTime::now()) {
            head = head.header("Date", date);
        }
        head = head.header("Server", shared.server_name.as_str());
        // `Connection: keep-alive` is what an HTTP/1.0 client needs to hear to keep the
        // connection (RFC 9112, 9.3); it is harmless to HTTP/1.1. The old `Keep-Alive:
        // timeout=` header is not sent: RFC 9112 no longer defines it, and linters flag it.
        head = match keep_alive {
            true => head.header("Connection", "keep-alive"),
            false => head.header("Connection", "close"),
        };
        let mut bytes = head.to_bytes();
        let file = match reply.body {
            Body::Empty => None,
            Body::Text(text) => {
                bytes.extend_from_slice(text.as_bytes());
                None
            }
            Body::File(file, len) => Some((file, len)),
        };
        let response = Box::new(Response {
            out: Outgoing::new(bytes, file),
            request_line,
            status,
            keep_alive,
            clean,
        });
        if shared.config.delay.is_zero() {
            self.start_sending(response, shared);
        } else {
            self.deadline = Instant::now() + shared.config.delay;
            self.phase = Phase::Delaying(response);
        }
    }

    fn start_sending(&mut self, response: Box<Response>, shared: &Shared) {
        self.deadline = Instant::now() + shared.config.timeout;
        self.phase = Phase::Sending(response);
    }

    fn send(&mut self, shared: &Shared) -> Option<Wait> {
        let Phase::Sending(response) = &mut self.phase else {
            unreachable!("send is called in its phase only");
        };
        let before = response.out.sent;
        let flow = response.out.write(&self.stream);
        let progressed = response.out.sent > before;
        match flow {
            Ok(Flow::Full) => {
                if progressed {
                    self.deadline = Instant::now() + shared.config.timeout;
                }
                match (self.blocking, progressed) {
                    (false, _) => return Some(Wait::Writable),
                    // A blocking write stopped after part of its bytes: write on.
                    (true, true) => {}
                    // A blocking write gave up after `timeout` without progress.
                    (true, false) => self.expire(shared),
                }
                None
            }
            Ok(Flow::Done) | Err(_) => {
                if let Phase::Sending(response) = std::mem::replace(&mut self.phase, Phase::Closed)
                {
                    self.finish(*response, flow.is_err(), shared);
                }
                None
            }
        }
    }

    /// Logs a response that is sent, or cut short (`broken`), and decides what follows.
    fn finish(&mut self, response: Response, broken: bool, shared: &Shared) {
        shared.log.record(&LogEntry {
            peer: self.peer,
            time: SystemTime::now(),
            request_line: response.request_line,
            status: Some(response.status),
            bytes_sent: response.out.sent,
        });
        self.skip_empty_lines();
        if broken {
            // The client is gone, or stopped reading: nothing more to say to it.
            self.phase = Phase::Closed;
        } else if response.keep_alive && !shared.is_stopping() {
            if !self.nodelay {
                // Nagle's algorithm holds a small write back while an earlier one is not
                // yet acknowledged: harmless for a connection's first response, but on a
                // kept-alive connection the next response would wait for the client's
                // delayed ACK. So it is turned off here, once, as nginx does.
                self.nodelay = self.stream.set_nodelay(true).is_ok();
            }
            self.requests_served += 1;
            self.deadline = Instant::now() + shared.config.keep_alive_timeout;
            self.phase = Phase::ReadingHead;
            self.ticket.idle();
        } else if response.clean && self.buf.is_empty() {
            self.phase = Phase::Closed;
        } else {
            // The client may still be sending: stop writing, and drain for a while.
            let _ = self.stream.shutdown(Shutdown::Write);
            self.buf = Vec::new();
            self.deadline = Instant::now() + MAX_LINGER;
            self.phase = Phase::Lingering { left: MAX_DISCARD };
        }
    }

    fn linger(&mut self) -> Option<Wait> {
        let Phase::Lingering { left } = self.phase else {
            unreachable!("linger is called in its phase only");
        };
        let mut chunk = [0; READ_CHUNK];
        let want = left.min(READ_CHUNK as u64) as usize;
        match self.receive(&mut chunk[..want]) {
            Received::Bytes(n) if (n as u64) < left => {
                self.phase = Phase::Lingering {
                    left: left - n as u64,
                };
                None
            }
            Received::Nothing => Some(Wait::Readable),
            Received::Bytes(_) | Received::End => {
                self.phase = Phase::Closed;
                None
            }
        }
    }

    /// One read into `into`. A blocking socket waits at most until the deadline.
    fn receive(&mut self, into: &mut [u8]) -> Received {
        if into.is_empty() {
            return Received::End;
        }
        loop {
            if self.blocking {
                let left = self.deadline.saturating_duration_since(Instant::now());
                if left.is_zero() || self.stream.set_read_timeout(Some(left)).is_err() {
                    return Received::Nothing;
                }
            }
            return match (&*self.stream).read(into) {
                Ok(0) => Received::End,
                Ok(n) => Received::Bytes(n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                // Unix reports an expired read timeout as WouldBlock, Windows as TimedOut.
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    Received::Nothing
                }
                Err(_) => Received::End,
            };
        }
    }

    /// The first line of what was received, for the access log of a bad request.
    fn first_line(&self) -> Option<String> {
        let line = self.buf.split(|&b| b == b'\n').find(|l| !l.is_empty())?;
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        Some(String::from_utf8_lossy(&line[..line.len().min(256)]).into_owned())
    }
}

/// Serves one connection with blocking calls until it closes: the whole life of a
/// connection in `single` and `threaded` modes.
pub(crate) fn serve_blocking(stream: TcpStream, peer: SocketAddr, shared: &Arc<Shared>) {
    // On macOS, BSD and Windows an accepted socket inherits the listener's non-blocking
    // flag; on Linux it does not. Set it explicitly so every platform behaves alike.
    let _ = stream.set_nonblocking(false);
    let stream = Arc::new(stream);
    let ticket = Ticket::tracked(shared, &stream);
    let mut connection = Connection::new(stream, peer, ticket, shared, true);
    loop {
        match connection.advance(shared) {
            Wait::Done => return,
            Wait::Deadline => {
                std::thread::sleep(
                    connection
                        .deadline
                        .saturating_duration_since(Instant::now()),
                );
            }
            // A blocking read or write came back empty: its deadline has passed.
            Wait::Readable | Wait::Writable => connection.expire(shared),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::{Config, Server};
    use crate::NoLog;
    use std::io::Write;
    use std::net::TcpListener;

    /// A server's shared state, not running, serving a folder with `a.txt`; short timeouts,
    /// so a connection whose client says nothing expires quickly.
    fn shared() -> (tempfile::TempDir, Arc<Shared>) {
        let root = tempfile::tempdir().expect("a temporary folder");
        std::fs::write(root.path().join("a.txt"), "a").expect("write a.txt");
        let config = Config {
            timeout: Duration::from_millis(100),
            keep_alive_timeout: Duration::from_millis(100),
            ..Config::default()
        };
        let server =
            Server::bind("127.0.0.1:0", root.path(), config, Arc::new(NoLog)).expect("bind");
        (root, Arc::clone(&server.shared))
    }

    /// A connection served with blocking calls, as in `threaded` mode, and the client's end.
    fn connection(shared: &Arc<Shared>) -> (Connection, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind on loopback");
        let client = TcpStream::connect(listener.local_addr().expect("address")).expect("connect");
        let (stream, peer) = listener.accept().expect("accept");
        let stream = Arc::new(stream);
        let ticket = Ticket::tracked(shared, &stream);
        (Connection::new(stream, peer, ticket, shared, true), client)
    }

    fn received(mut client: TcpStream) -> String {
        let mut all = String::new();
        client
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("set a read timeout");
        let _ = client.read_to_string(&mut all);
        all
    }

    #[test]
    fn empty_lines_alone_are_not_a_request_and_expire_without_a_word() {
        let (_root, shared) = shared();
        let (mut connection, mut client) = connection(&shared);
        client.write_all(b"\r\n\n\r\n").expect("send empty lines");
        // Blocking: the read waits for the deadline, then there is nothing to answer.
        assert_eq!(connection.advance(&shared), Wait::Readable);
        assert!(!connection.has_partial_request(), "{:?}", connection.buf);
        connection.expire(&shared);
        assert!(
            matches!(connection.phase, Phase::Closed),
            "{:?}",
            connection.phase
        );
        drop(connection);
        assert_eq!(received(client), "", "no 408 for empty lines");
    }

    #[test]
    fn a_request_that_expects_100_continue_is_answered_at_once_and_its_body_left_unread() {
        let (_root, shared) = shared();
        let (mut connection, mut client) = connection(&shared);
        let head =
            "PUT /a.txt HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n";
        client.write_all(head.as_bytes()).expect("send the head");
        // Answered without waiting for the body; then the server lingers, reading what
        // the client may still send, until the deadline.
        assert_eq!(connection.advance(&shared), Wait::Readable);
        assert!(
            matches!(connection.phase, Phase::Lingering { .. }),
            "{:?}",
            connection.phase
        );
        connection.expire(&shared);
        assert_eq!(connection.advance(&shared), Wait::Done);
        drop(connection);
        let answer = received(client);
        assert!(answer.starts_with("HTTP/1.1 405 "), "{answer}");
        assert!(answer.contains("Connection: close\r\n"), "{answer}");
    }

    #[test]
    fn a_kept_alive_connection_reads_the_next_request_and_closes_quietly_when_idle() {
        let (_root, shared) = shared();
        let (mut connection, mut client) = connection(&shared);
        let request = "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n\r\n";
        client.write_all(request.as_bytes()).expect("send");
        assert_eq!(connection.advance(&shared), Wait::Readable);
        assert!(
            matches!(connection.phase, Phase::ReadingHead),
            "{:?}",
            connection.phase
        );
        assert_eq!(connection.requests_served, 1);
        connection.expire(&shared);
        assert_eq!(connection.advance(&shared), Wait::Done);
        drop(connection);
        let answer = received(client);
        assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
        assert!(
            answer.ends_with("\r\n\r\na"),
            "nothing after the response: {answer:?}"
        );
    }
}
