//! One connection's life as a state: reading the request, writing the response, done.
//! `advance` moves it along as far as it can go without waiting for the client, and
//! `interest` says what it waits for next. Each `todo!()` is yours; the rest is done.

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
        // TODO (step 1): loop, and match on &mut self.state:
        //   Reading: read into a chunk. 0 bytes: the client closed, Done. n bytes: append
        //     them to `received` and ask handler::respond(received, root); Some(response)
        //     means Writing { response, sent: 0 }, None means read again.
        //   Writing: write &response[sent..]; add what was written to `sent`; all of it
        //     sent means Done, otherwise write again.
        //   Done: return.
        // ErrorKind::WouldBlock means the socket has nothing more for now (or takes no
        // more): return, and the poller will say when to go on. Interrupted: try again.
        // Any other error: Done.
        todo!("move the connection along")
    }

    /// What the connection waits for next, as the event to ask the poller for under
    /// `key`: to read while reading, to write while writing; `None` once it is done.
    pub fn interest(&self, key: usize) -> Option<Event> {
        // TODO (step 2): Event::readable(key) while Reading, Event::writable(key) while
        // Writing, None when Done.
        todo!("what the connection waits for")
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
