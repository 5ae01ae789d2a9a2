//! One connection's life as a state: reading the request, writing the response, done.
//! `advance` moves it along as far as it can go without waiting for the client, and
//! `interest` says what it waits for next. (The solution of exercise 06.)

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use polling::Event;

use crate::handler;

/// How long a connection may wait for its client between two events; then a request
/// begun gets 408 and a silent connection is closed.
pub const TIMEOUT: Duration = Duration::from_secs(5);

/// Where a connection is in its life. Every connection is in exactly one state, and
/// [`Connection::advance`] is the one place that moves it to the next.
#[derive(Debug)]
pub enum State {
    /// Reading the request head: the bytes received so far.
    Reading { received: Vec<u8> },
    /// Writing the response: all of it, and how many bytes the client has taken so far.
    Writing { response: Vec<u8>, sent: usize },
    /// Finished, or given up on: the connection is to be closed.
    Done,
}

/// A client's connection, non-blocking, with its state.
pub struct Connection {
    pub stream: TcpStream,
    pub state: State,
    /// When the client has waited too long; the event loop pushes it on at each event.
    pub deadline: Instant,
}

impl Connection {
    /// A new connection, about to read its request. `stream` must be non-blocking.
    pub fn new(stream: TcpStream) -> Connection {
        Connection {
            stream,
            state: State::Reading {
                received: Vec::new(),
            },
            deadline: Instant::now() + TIMEOUT,
        }
    }

    /// Moves the connection along as far as it can go without waiting: reads what has
    /// arrived, and once the request is whole, writes as much of the response as the
    /// client takes. Returns when the next step would wait (`WouldBlock`) or it is done.
    pub fn advance(&mut self, root: &Path) {
        let mut chunk = [0; 16 * 1024];
        loop {
            let next = match &mut self.state {
                State::Reading { received } => match self.stream.read(&mut chunk) {
                    // The client closed before sending a whole request: nothing to answer.
                    Ok(0) => State::Done,
                    Ok(n) => {
                        received.extend_from_slice(&chunk[..n]);
                        match handler::respond(received, root) {
                            Some(response) => State::Writing { response, sent: 0 },
                            None => continue, // not whole yet: read on
                        }
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                    Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                    Err(_) => State::Done,
                },
                State::Writing { response, sent } => match self.stream.write(&response[*sent..]) {
                    Ok(0) => State::Done,
                    Ok(n) => {
                        *sent += n;
                        match *sent == response.len() {
                            true => State::Done,
                            false => continue, // the client took part of it: write on
                        }
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                    Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                    Err(_) => State::Done,
                },
                State::Done => return,
            };
            self.state = next;
        }
    }

    /// What the connection waits for next, as the event to ask the poller for under
    /// `key`: to read while reading, to write while writing; `None` once it is done.
    pub fn interest(&self, key: usize) -> Option<Event> {
        match self.state {
            State::Reading { .. } => Some(Event::readable(key)),
            State::Writing { .. } => Some(Event::writable(key)),
            State::Done => None,
        }
    }

    /// The deadline passed: a request begun and left unfinished gets 408; a connection
    /// that sent nothing, or whose client stopped reading its response, is closed.
    pub fn time_out(&mut self) {
        self.state = match &self.state {
            State::Reading { received } if !received.is_empty() => State::Writing {
                response: handler::timed_out(),
                sent: 0,
            },
            _ => State::Done,
        };
        self.deadline = Instant::now() + TIMEOUT;
    }
}
