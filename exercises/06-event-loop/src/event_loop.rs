//! The event loop: one thread, one poller, every connection. The loop waits on the
//! poller, never on a client; each event says that one socket can go on without waiting,
//! and the loop moves that one along, then waits again. Each `todo!()` is yours.

use std::collections::HashMap;
use std::io::{self, ErrorKind};
use std::net::TcpListener;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use polling::{Event, Events, Poller};

use crate::connection::{Connection, State, TIMEOUT};

/// The poller's key for the listener. Each connection gets a key of its own, the next
/// number up; an event carries the key, and the key finds the connection.
const LISTENER: usize = 0;

/// The longest the loop sleeps in the poller, so that it looks at the clock (deadlines)
/// and the stop flag at least this often.
const TICK: Duration = Duration::from_millis(100);

/// Every open connection, by its key.
type Connections = HashMap<usize, Connection>;

/// Serves every connection until `stop` is set; then stops accepting, finishes the
/// responses being written, and returns.
pub fn run(
    listener: &TcpListener,
    root: &Path,
    poller: &Poller,
    stop: &AtomicBool,
) -> io::Result<()> {
    listener.set_nonblocking(true)?;
    // SAFETY: `poller.add` requires the listener to be deleted from the poller before it
    // is closed. It is when accepting stops, below; if the loop fails instead, the
    // process ends, and the poller with it.
    unsafe { poller.add(listener, Event::readable(LISTENER))? };
    let mut connections = Connections::new();
    let mut next_key = LISTENER + 1;
    let mut events = Events::new();
    let mut accepting = true;

    loop {
        if accepting && stop.load(Ordering::SeqCst) {
            // A graceful stop: no new connections, and none of those still reading their
            // request; the responses being written are finished.
            accepting = false;
            poller.delete(listener)?;
            let reading: Vec<usize> = connections
                .iter()
                .filter(|(_, c)| matches!(c.state, State::Reading { .. }))
                .map(|(&key, _)| key)
                .collect();
            for key in reading {
                close(key, &mut connections, poller);
            }
        }
        if !accepting && connections.is_empty() {
            return Ok(());
        }

        events.clear();
        poller.wait(&mut events, Some(TICK))?;
        for event in events.iter() {
            // TODO (step 5): an event for LISTENER means clients are waiting to be
            // accepted: accept_ready, then ask the poller again for the listener
            // (poller.modify(listener, Event::readable(LISTENER))?): it reports an event
            // once, then waits to be asked again. Any other key is a connection's: serve it.
            todo!("accept, or move a connection along")
        }

        let now = Instant::now();
        let expired: Vec<usize> = connections
            .iter()
            .filter(|(_, c)| c.deadline <= now)
            .map(|(&key, _)| key)
            .collect();
        for key in expired {
            if let Some(connection) = connections.get_mut(&key) {
                connection.time_out();
            }
            serve(key, root, &mut connections, poller);
        }
    }
}

/// Accepts every connection waiting on the listener (there may be many behind one
/// event) until `accept` would wait; each becomes non-blocking and is added to the poller,
/// waiting for its request.
fn accept_ready(
    listener: &TcpListener,
    poller: &Poller,
    connections: &mut Connections,
    next_key: &mut usize,
) {
    // TODO (step 3): loop on listener.accept() until it fails with WouldBlock (no one
    // else is waiting). For each stream: make it non-blocking, give it the key *next_key
    // (then add 1 to *next_key), make a Connection, and register it with
    // `unsafe { poller.add(&connection.stream, interest) }`, the interest being what
    // `connection.interest(key)` says; then insert it into `connections`. (`add` is
    // unsafe because the poller must be told before a socket it watches is closed:
    // `close` does that.) On ErrorKind::Interrupted try again; on any other error print
    // it and return.
    todo!("accept every waiting connection")
}

/// Moves the connection `key` along after an event, then asks the poller for its next
/// event, or closes it once it is done.
fn serve(key: usize, root: &Path, connections: &mut Connections, poller: &Poller) {
    // TODO (step 4): find the connection (it may be gone already: then return), advance
    // it, and push its deadline on (Instant::now() + TIMEOUT). Then ask the poller for
    // its next event with poller.modify(&connection.stream, interest). When it is done
    // (no interest), or the poller refuses, close it.
    todo!("move one connection along")
}

/// Closes the connection `key`: out of the poller first, then dropped, which closes it.
fn close(key: usize, connections: &mut Connections, poller: &Poller) {
    if let Some(connection) = connections.remove(&key) {
        let _ = poller.delete(&connection.stream);
    }
}
