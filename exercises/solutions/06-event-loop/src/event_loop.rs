//! The event loop: one thread, one poller, every connection. The loop waits on the
//! poller, never on a client; each event says that one socket can go on without waiting,
//! and the loop moves that one along, then waits again. (The solution of exercise 06.)

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
            if event.key == LISTENER {
                accept_ready(listener, poller, &mut connections, &mut next_key);
                // The poller reports an event once, then waits to be asked again.
                poller.modify(listener, Event::readable(LISTENER))?;
            } else {
                serve(event.key, root, &mut connections, poller);
            }
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
    loop {
        match listener.accept() {
            Ok((stream, _peer)) => {
                if stream.set_nonblocking(true).is_err() {
                    continue; // dropping the stream closes it
                }
                let key = *next_key;
                *next_key += 1;
                let connection = Connection::new(stream);
                let Some(interest) = connection.interest(key) else {
                    continue;
                };
                // SAFETY: every connection is deleted from the poller before it is
                // dropped: `close` does that.
                if unsafe { poller.add(&connection.stream, interest) }.is_ok() {
                    connections.insert(key, connection);
                }
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => return,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => {
                eprintln!("accept failed: {e}");
                return;
            }
        }
    }
}

/// Moves the connection `key` along after an event, then asks the poller for its next
/// event, or closes it once it is done.
fn serve(key: usize, root: &Path, connections: &mut Connections, poller: &Poller) {
    let Some(connection) = connections.get_mut(&key) else {
        return; // closed already, earlier in this round
    };
    connection.advance(root);
    connection.deadline = Instant::now() + TIMEOUT;
    match connection.interest(key) {
        Some(interest) if poller.modify(&connection.stream, interest).is_ok() => {}
        _ => close(key, connections, poller),
    }
}

/// Closes the connection `key`: out of the poller first, then dropped, which closes it.
fn close(key: usize, connections: &mut Connections, poller: &Poller) {
    if let Some(connection) = connections.remove(&key) {
        let _ = poller.delete(&connection.stream);
    }
}
