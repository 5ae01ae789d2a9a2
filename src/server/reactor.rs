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

use polling::{Event, Events};

use super::connection::{close, serve_one, Connection, Head, Outcome};
use super::pool::ThreadPool;
use super::{accept_ready, at_capacity, refuse, Shared, Ticket};

/// How often the event loop looks for connections whose deadline has passed.
const TICK: Duration = Duration::from_millis(100);

/// Runs the event loop until a stop, then joins the workers.
pub(super) fn run(listener: &TcpListener, shared: &Arc<Shared>) -> io::Result<()> {
    let pool = ThreadPool::new(shared.config.threads);
    let mut waiting: HashMap<usize, Connection> = HashMap::new();
    let mut next_key = 1;
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
            let key = next_key;
            next_key += 1;
            // SAFETY: as below, deleted from the poller before it is dropped.
            let added = connection
                .stream
                .set_nonblocking(true)
                .and_then(|_| unsafe {
                    shared.poller.add(&connection.stream, Event::readable(key))
                });
            if added.is_ok() {
                waiting.insert(key, connection);
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
            if let Some(head) = connection.read_head_nonblocking() {
                dispatch(&pool, connection, head, shared);
                continue;
            }
            let key = next_key;
            next_key += 1;
            // SAFETY: every connection is deleted from the poller before it is dropped
            // (see `take`), or, at a stop, by the loop at the end of this function.
            let added = unsafe { shared.poller.add(&connection.stream, Event::readable(key)) };
            if added.is_ok() {
                waiting.insert(key, connection);
            }
        }

        for event in events.iter().filter(|e| e.key != super::LISTENER_KEY) {
            let Some(connection) = waiting.get_mut(&event.key) else {
                continue;
            };
            match connection.read_head_nonblocking() {
                None => {
                    let rearm = Event::readable(event.key);
                    if shared.poller.modify(&connection.stream, rearm).is_err() {
                        take(&mut waiting, event.key, shared);
                    }
                }
                Some(head) => {
                    if let Some(connection) = take(&mut waiting, event.key, shared) {
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
        let expired: Vec<usize> = waiting
            .iter()
            .filter(|(_, c)| c.deadline <= now)
            .map(|(&key, _)| key)
            .collect();
        for key in expired {
            if let Some(connection) = take(&mut waiting, key, shared) {
                dispatch(&pool, connection, Head::TimedOut, shared);
            }
        }
    }

    clock.stop();
    for (_, connection) in waiting.drain() {
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

/// Removes a connection from the waiting set and from the poller.
fn take(
    waiting: &mut HashMap<usize, Connection>,
    key: usize,
    shared: &Shared,
) -> Option<Connection> {
    let connection = waiting.remove(&key)?;
    let _ = shared.poller.delete(&connection.stream);
    Some(connection)
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
