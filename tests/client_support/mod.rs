//! Scripted fake servers for the client tests.
//!
//! A [`FakeServer`] listens on port 0 of a loopback address, accepts one
//! connection in a thread, reads the request, plays back canned bytes from
//! `fixtures/responses/`, and then either closes or keeps the connection open
//! until the client hangs up. [`FakeServer::drip`] instead goes on sending,
//! slowly or without end, as a hostile server would. [`FakeServer::received`]
//! hands back the request the client sent, so a test can check both directions.

// Each test crate uses a different part of this module.
#![allow(dead_code)]

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// Upper bound on any wait inside a fake server, so a broken client makes a
/// test fail instead of hang.
const SAFETY_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a dripping server goes on before it gives up and closes. A client
/// with no overall limit is held this long, then fails its test on the
/// message it prints, rather than hanging the test run.
pub const DRIP_FOR: Duration = Duration::from_secs(8);

/// What the fake server does after sending its reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Then {
    /// Close the connection: the end of the bytes is the end of the response.
    Close,
    /// Keep the connection open until the client closes it, as a keep-alive
    /// server would. A client that waits for EOF here hangs until its timeout.
    KeepOpen,
    /// What an HTTP/1.1 server does: close if the request said `Connection: close`,
    /// else keep the connection open for the next request (RFC 9112, section 9.3).
    CloseIfAsked,
}

/// One scripted connection on a loopback port.
pub struct FakeServer {
    /// Where the server listens (port chosen by the OS).
    pub addr: SocketAddr,
    /// The bytes it answers with, all pieces together.
    pub reply: Vec<u8>,
    thread: Option<JoinHandle<io::Result<Vec<u8>>>>,
}

impl FakeServer {
    /// A server on `127.0.0.1:0` that answers with `reply`, then does `then`.
    pub fn reply(reply: &[u8], then: Then) -> FakeServer {
        FakeServer::bind("127.0.0.1:0", reply, then).expect("bind 127.0.0.1:0")
    }

    /// A server on `127.0.0.1:0` that plays back `fixtures/responses/<name>`.
    pub fn fixture(name: &str, then: Then) -> FakeServer {
        FakeServer::reply(&fixture(name), then)
    }

    /// A server that accepts, reads the request and never answers.
    pub fn silent() -> FakeServer {
        FakeServer::reply(b"", Then::KeepOpen)
    }

    /// Like [`FakeServer::reply`] on any local address, such as `[::1]:0`.
    pub fn bind(addr: &str, reply: &[u8], then: Then) -> io::Result<FakeServer> {
        FakeServer::in_pieces_at(addr, vec![reply.to_vec()], Duration::ZERO, then)
    }

    /// A server on `127.0.0.1:0` that writes its reply in `pieces`, with `pause` before
    /// each after the first, as a busy server or a slow network delivers it.
    pub fn in_pieces(pieces: Vec<Vec<u8>>, pause: Duration, then: Then) -> FakeServer {
        FakeServer::in_pieces_at("127.0.0.1:0", pieces, pause, then).expect("bind 127.0.0.1:0")
    }

    fn in_pieces_at(
        addr: &str,
        pieces: Vec<Vec<u8>>,
        pause: Duration,
        then: Then,
    ) -> io::Result<FakeServer> {
        let reply = pieces.concat();
        FakeServer::spawn(addr, reply, move |listener| {
            serve_once(listener, &pieces, pause, then)
        })
    }

    /// A server on `127.0.0.1:0` that answers with `reply`, then sends `piece`
    /// once every `every`, over and over: a head or a body dripped a byte at a
    /// time, or a body without end. It stops when the client hangs up, or after
    /// [`DRIP_FOR`], then closes.
    pub fn drip(reply: &[u8], piece: &[u8], every: Duration) -> FakeServer {
        let (reply, piece) = (reply.to_vec(), piece.to_vec());
        FakeServer::spawn("127.0.0.1:0", reply.clone(), move |listener| {
            serve_dripping(listener, &reply, &piece, every)
        })
        .expect("bind 127.0.0.1:0")
    }

    fn spawn(
        addr: &str,
        reply: Vec<u8>,
        serve: impl FnOnce(&TcpListener) -> io::Result<Vec<u8>> + Send + 'static,
    ) -> io::Result<FakeServer> {
        let listener = TcpListener::bind(addr)?;
        let addr = listener.local_addr()?;
        let thread = thread::spawn(move || serve(&listener));
        Ok(FakeServer {
            addr,
            reply,
            thread: Some(thread),
        })
    }

    /// The port, for the command line.
    pub fn port(&self) -> String {
        self.addr.port().to_string()
    }

    /// Waits for the connection to end and returns the request the client
    /// sent, as text (empty if the client never connected).
    pub fn received(mut self) -> String {
        let request = self.finish();
        String::from_utf8_lossy(&request).into_owned()
    }

    fn finish(&mut self) -> Vec<u8> {
        let Some(thread) = self.thread.take() else {
            return Vec::new();
        };
        // If the client never connected, the thread is still in accept():
        // a connection of our own, closed at once, lets it finish.
        let _ = TcpStream::connect_timeout(&self.addr, SAFETY_TIMEOUT);
        match thread.join() {
            Ok(Ok(request)) => request,
            Ok(Err(_)) => Vec::new(),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        if !thread::panicking() {
            self.finish();
        }
    }
}

fn serve_once(
    listener: &TcpListener,
    pieces: &[Vec<u8>],
    pause: Duration,
    then: Then,
) -> io::Result<Vec<u8>> {
    let (mut stream, _) = listener.accept()?;
    stream.set_read_timeout(Some(SAFETY_TIMEOUT))?;
    stream.set_write_timeout(Some(SAFETY_TIMEOUT))?;
    // Read the whole request before replying: closing a socket with unread
    // input makes the OS send a reset, which could destroy our reply.
    let request = read_request(&mut stream)?;
    for (i, piece) in pieces.iter().enumerate() {
        if i > 0 {
            // The pause is the behaviour under test (a reply that arrives in pieces),
            // not a wait for some event.
            thread::sleep(pause);
        }
        stream.write_all(piece)?;
        stream.flush()?;
    }
    let asked_to_close = String::from_utf8_lossy(&request)
        .to_ascii_lowercase()
        .split("\r\n")
        .any(|line| {
            line.strip_prefix("connection:")
                .is_some_and(|v| v.split(',').any(|o| o.trim() == "close"))
        });
    if then == Then::KeepOpen || (then == Then::CloseIfAsked && !asked_to_close) {
        let mut sink = Vec::new();
        // Ends when the client closes (or at the safety timeout).
        let _ = stream.take(1024 * 1024).read_to_end(&mut sink);
    }
    Ok(request)
}

fn serve_dripping(
    listener: &TcpListener,
    reply: &[u8],
    piece: &[u8],
    every: Duration,
) -> io::Result<Vec<u8>> {
    let (mut stream, _) = listener.accept()?;
    stream.set_read_timeout(Some(SAFETY_TIMEOUT))?;
    stream.set_write_timeout(Some(SAFETY_TIMEOUT))?;
    let request = read_request(&mut stream)?;
    stream.write_all(reply)?;
    let started = Instant::now();
    while started.elapsed() < DRIP_FOR {
        // Pacing is the behaviour under test here: a server this slow on purpose.
        thread::sleep(every);
        if stream.write_all(piece).is_err() {
            break; // the client hung up
        }
    }
    Ok(request)
}

/// Reads up to the empty line that ends a request head (the client sends no body).
fn read_request(stream: &mut TcpStream) -> io::Result<Vec<u8>> {
    let mut request = Vec::new();
    let mut buf = [0; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < 64 * 1024 {
        let n = match stream.read(&mut buf) {
            // The client tests' SIGCHLD handler (assert_cmd's timeout) interrupts a read
            // that has a timeout even under SA_RESTART (signal(7)): not an error.
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
            Ok(0) => break,
            Ok(n) => n,
        };
        request.extend_from_slice(&buf[..n]);
    }
    Ok(request)
}

/// The bytes of `fixtures/responses/<name>`.
pub fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/responses")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()))
}

/// A loopback port with nothing listening on it: bind port 0, note the
/// port, close the listener.
pub fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local address").port()
}

/// `client` with a generous safety timeout, so a hang fails the test.
pub fn client() -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::cargo_bin("client").expect("the client binary is built");
    cmd.timeout(Duration::from_secs(20));
    cmd
}
