//! Pool mode: one event loop accepts connections and reads request heads; a fixed pool of
//! workers writes the responses. Why it is built this way is explained in the
//! [server module docs](super).

use std::collections::HashMap;
use std::io;
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use polling::{Event, Events, Poller};

use super::connection::{close, serve_one, Connection, Head, Outcome};
use super::pool::ThreadPool;
use super::{accept_ready, at_capacity, refuse, Shared, Ticket};

/// How often the event loop looks for connections whose deadline has passed.
const TICK: Duration = Duration::from_millis(100);

/// Runs the event loop until a stop, then joins the workers.
pub(super) fn run(listener: &TcpListener, shared: &Arc<Shared>) -> io::Result<()> {
    let pool = ThreadPool::new(shared.config.threads);
    let mut waiting = Waiting::default();
    let mut events = Events::new();
    let clock = Clock::start(shared)?;
    let mut next_sweep = Instant::now() + TICK;

    loop {
        let Some(accepted) = accept_ready(listener, shared, &mut events, None)? else {
            break;
        };

        // Kept-alive connections come back from the workers to wait for their next request.
        let returned = std::mem::take(
            &mut *shared
                .returned
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        for connection in returned {
            if connection.stream.set_nonblocking(true).is_ok() {
                waiting.add(connection, &shared.poller);
            }
        }

        for (stream, peer) in accepted {
            if at_capacity(shared) {
                refuse(stream, peer, shared);
                continue;
            }
            let ticket = Ticket::new(shared, &stream);
            if stream.set_nonblocking(true).is_err() {
                continue;
            }
            let mut connection = Connection::new(stream, peer, shared.config.timeout, ticket);
            // Most clients send their request right after connecting: if it is already
            // here, hand it to a worker without registering with the poller at all.
            match connection.read_head_nonblocking() {
                Some(head) => dispatch(&pool, connection, head, shared),
                None => waiting.add(connection, &shared.poller),
            }
        }

        for event in events.iter().filter(|e| e.key != super::LISTENER_KEY) {
            let Some(connection) = waiting.connections.get_mut(&event.key) else {
                continue;
            };
            match connection.read_head_nonblocking() {
                None => {
                    let rearm = Event::readable(event.key);
                    if shared.poller.modify(&connection.stream, rearm).is_err() {
                        waiting.take(event.key, &shared.poller);
                    }
                }
                Some(head) => {
                    if let Some(connection) = waiting.take(event.key, &shared.poller) {
                        dispatch(&pool, connection, head, shared);
                    }
                }
            }
        }

        let now = Instant::now();
        if now < next_sweep {
            continue;
        }
        next_sweep = now + TICK;
        for connection in waiting.take_expired(now, &shared.poller) {
            dispatch(&pool, connection, Head::TimedOut, shared);
        }
    }

    clock.stop();
    for (_, connection) in waiting.connections.drain() {
        let _ = shared.poller.delete(&connection.stream);
    }
    pool.shutdown();
    // Workers are joined: nothing more can be handed back. Close what was.
    let returned = std::mem::take(
        &mut *shared
            .returned
            .lock()
            .unwrap_or_else(PoisonError::into_inner),
    );
    drop(returned);
    Ok(())
}

/// The connections registered with the poller, waiting for their request, by poller key.
struct Waiting {
    connections: HashMap<usize, Connection>,
    /// The key the next connection gets: keys are never reused while the loop runs.
    next_key: usize,
}

impl Default for Waiting {
    fn default() -> Waiting {
        Waiting {
            connections: HashMap::new(),
            next_key: super::LISTENER_KEY + 1,
        }
    }
}

impl Waiting {
    /// Registers a non-blocking connection with the poller under a key of its own. If the
    /// poller refuses it, the connection is dropped, which closes it.
    fn add(&mut self, connection: Connection, poller: &Poller) {
        let key = self.next_key;
        self.next_key += 1;
        // SAFETY: every connection is deleted from the poller before it is dropped: by
        // `take`, or, at a stop, by the loop at the end of `run`.
        let added = unsafe { poller.add(&connection.stream, Event::readable(key)) };
        if added.is_ok() {
            self.connections.insert(key, connection);
        }
    }

    /// Removes a connection from the waiting set and from the poller.
    fn take(&mut self, key: usize, poller: &Poller) -> Option<Connection> {
        let connection = self.connections.remove(&key)?;
        let _ = poller.delete(&connection.stream);
        Some(connection)
    }

    /// Removes and returns the connections whose deadline has passed by `now`.
    fn take_expired(&mut self, now: Instant, poller: &Poller) -> Vec<Connection> {
        let expired: Vec<usize> = self
            .connections
            .iter()
            .filter(|(_, c)| c.deadline <= now)
            .map(|(&key, _)| key)
            .collect();
        expired
            .into_iter()
            .filter_map(|key| self.take(key, poller))
            .collect()
    }
}

/// Hands a connection with a complete (or hopeless) head to a worker.
fn dispatch(pool: &ThreadPool, connection: Connection, head: Head, shared: &Arc<Shared>) {
    if matches!(head, Head::Closed)
        || (matches!(head, Head::TimedOut) && !connection.has_partial_request())
    {
        return; // nothing to answer: dropping the connection closes it
    }
    let shared = Arc::clone(shared);
    // The pool catches a panicking job, so a bug in one request cannot kill a worker.
    let _ = pool.execute(move || work(connection, head, &shared));
}

/// A worker's job: answer the request, and any pipelined ones already read, then close
/// the connection or hand it back to the event loop to wait for the next request.
fn work(mut connection: Connection, mut head: Head, shared: &Shared) {
    // The event loop reads without blocking; a worker writes with blocking calls, bounded
    // by the write timeout.
    let _ = connection.stream.set_nonblocking(false);
    loop {
        match serve_one(&mut connection, head, shared) {
            Outcome::Close { clean } => return close(connection, clean),
            Outcome::KeepAlive => connection.next_request(shared.config.keep_alive_timeout),
        }
        match connection.parse() {
            Some(next) => head = next,
            None => break,
        }
    }
    let mut returned = shared
        .returned
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    if shared.is_stopping() {
        return; // dropping the connection closes it
    }
    returned.push(connection);
    drop(returned);
    let _ = shared.poller.notify();
}

/// Wakes the event loop every [`TICK`] so that it can close connections past their
/// deadline. Waiting in the poller with no timeout, and being woken by this clock, is
/// cheaper than arming a kernel timer before every wait, which would cost two extra system
/// calls per request under load. Deadlines are therefore kept to within a tick.
struct Clock {
    running: Arc<AtomicBool>,
    thread: JoinHandle<()>,
}

impl Clock {
    fn start(shared: &Arc<Shared>) -> io::Result<Clock> {
        let running = Arc::new(AtomicBool::new(true));
        let thread = {
            let running = Arc::clone(&running);
            let shared = Arc::clone(shared);
            thread::Builder::new()
                .name("weblab-clock".into())
                .spawn(move || {
                    while running.load(Ordering::SeqCst) {
                        thread::park_timeout(TICK);
                        let _ = shared.poller.notify();
                    }
                })?
        };
        Ok(Clock { running, thread })
    }

    fn stop(self) {
        self.running.store(false, Ordering::SeqCst);
        self.thread.thread().unpark();
        let _ = self.thread.join();
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Config, Server};
    use super::*;
    use crate::NoLog;
    use std::net::TcpStream;

    /// A server, not running, whose listener and shared state the tests use directly.
    fn server() -> (tempfile::TempDir, Server) {
        let root = tempfile::tempdir().expect("a temporary folder");
        let server = Server::bind(
            "127.0.0.1:0",
            root.path(),
            Config::default(),
            Arc::new(NoLog),
        )
        .expect("bind on loopback");
        (root, server)
    }

    /// A connection as the event loop holds it, with `timeout` to send its head; and the
    /// client's end, to keep open while the test runs.
    fn connection(server: &Server, timeout: Duration) -> (Connection, TcpStream) {
        let client = TcpStream::connect(server.local_addr()).expect("connect");
        let (stream, peer) = server.listener.accept().expect("accept");
        stream.set_nonblocking(true).expect("non-blocking");
        let ticket = Ticket::new(&server.shared, &stream);
        (Connection::new(stream, peer, timeout, ticket), client)
    }

    #[test]
    fn every_waiting_connection_gets_a_key_of_its_own() {
        let (_root, server) = server();
        let poller = &server.shared.poller;
        let mut waiting = Waiting::default();
        let mut clients = Vec::new();
        for _ in 0..3 {
            let (connection, client) = connection(&server, Duration::from_secs(60));
            waiting.add(connection, poller);
            clients.push(client);
        }
        let mut keys: Vec<usize> = waiting.connections.keys().copied().collect();
        keys.sort_unstable();
        assert_eq!(keys.len(), 3, "a connection was lost: keys {keys:?}");
        assert!(
            !keys.contains(&super::super::LISTENER_KEY),
            "a connection has the listener's key: {keys:?}"
        );
        let taken = waiting
            .take(keys[1], poller)
            .expect("the connection under a key");
        assert!(waiting.take(keys[1], poller).is_none(), "taken twice");
        assert_eq!(waiting.connections.len(), 2);
        drop(taken);
    }

    #[test]
    fn only_connections_past_their_deadline_expire() {
        let (_root, server) = server();
        let poller = &server.shared.poller;
        let mut waiting = Waiting::default();
        let (patient, _client) = connection(&server, Duration::from_secs(60));
        let (hasty, _other) = connection(&server, Duration::ZERO);
        let (hasty_peer, patient_peer) = (hasty.peer, patient.peer);
        waiting.add(patient, poller);
        waiting.add(hasty, poller);
        let expired = waiting.take_expired(Instant::now(), poller);
        let peers: Vec<_> = expired.iter().map(|c| c.peer).collect();
        assert_eq!(peers, [hasty_peer], "expired");
        let left: Vec<_> = waiting.connections.values().map(|c| c.peer).collect();
        assert_eq!(left, [patient_peer], "still waiting");
    }

    #[test]
    fn a_stopped_clock_has_ended_its_thread() {
        let (_root, server) = server();
        let clock = Clock::start(&server.shared).expect("start the clock");
        // The clock's thread holds the shared state until it ends.
        assert_eq!(Arc::strong_count(&server.shared), 2);
        clock.stop();
        assert_eq!(
            Arc::strong_count(&server.shared),
            1,
            "stop returned while the clock's thread still ran"
        );
    }
}
