//! Pool mode: a fixed pool of threads, each running an event loop that serves its own
//! connections from accept to close. Why it is built this way is explained in the
//! [server module docs](super).
//!
//! One turn of a loop: wait until the poller reports sockets that are ready (or the next
//! look for expired deadlines is due); accept new connections if the listener is ready; for each ready connection,
//! [`Connection::advance`] it as far as it goes without waiting; every tick, expire the
//! connections whose deadline has passed. Sockets are non-blocking, so no call ever waits
//! on a client; the only thing that can hold a loop up is the disk, when a file is opened
//! or read.

use std::collections::HashMap;
use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::accept::{at_capacity, refuse, Acceptor, LISTENER_KEY};
use super::connection::{Connection, Wait};
use super::poller::{self, Event, Events, PollMode, Poller};
use super::pool::ThreadPool;
use super::shutdown::Ticket;
use super::Shared;

/// How often each loop looks for connections whose deadline has passed.
const TICK: Duration = Duration::from_millis(100);

/// Runs one event loop on each thread of a [`ThreadPool`] until a stop, then joins them.
pub(super) fn run(listener: TcpListener, shared: &Arc<Shared>) -> io::Result<()> {
    let listener = Arc::new(listener);
    let loops = shared.pollers.len();
    let pool = ThreadPool::new(loops);
    let failure: Arc<Mutex<Option<io::Error>>> = Arc::default();
    for index in 0..loops {
        let (listener, shared, failure) = (
            Arc::clone(&listener),
            Arc::clone(shared),
            Arc::clone(&failure),
        );
        // Each job is a whole event loop: it ends only after a stop.
        let started = pool.execute(move || {
            if let Err(error) = EventLoop::run(index, listener, shared) {
                *failure.lock().unwrap_or_else(PoisonError::into_inner) = Some(error);
            }
        });
        if started.is_err() {
            break; // cannot happen: the pool is not shutting down
        }
    }
    // The loops hold the listener now: it closes once every one of them has let go.
    drop(listener);
    pool.shutdown();
    let failure = failure
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take();
    failure.map_or(Ok(()), Err)
}

/// One event loop and the connections it owns.
struct EventLoop {
    shared: Arc<Shared>,
    /// Which of the server's pollers is this loop's.
    index: usize,
    /// `None` once a stop has begun.
    acceptor: Option<Acceptor>,
    connections: HashMap<usize, Connection>,
    /// The key the next connection gets: keys are never reused while the loop runs.
    next_key: usize,
    /// Edge-triggered polling (epoll, kqueue): a socket is registered once, for reading
    /// and writing, and reports each change. Elsewhere (IOCP) each event is one-shot and
    /// the socket is watched again for what it waits for next.
    edge: bool,
    /// Once a stop has begun: the moment responses still running are cut off.
    stop_deadline: Option<Instant>,
}

impl EventLoop {
    fn run(index: usize, listener: Arc<TcpListener>, shared: Arc<Shared>) -> io::Result<()> {
        let acceptor = Acceptor::new(&listener, &shared, index, true)?;
        drop(listener);
        let edge = shared.pollers[index].supports_edge();
        let mut event_loop = EventLoop {
            shared,
            index,
            acceptor: Some(acceptor),
            connections: HashMap::new(),
            next_key: LISTENER_KEY + 1,
            edge,
            stop_deadline: None,
        };
        event_loop.serve()
    }

    fn poller(&self) -> &Poller {
        &self.shared.pollers[self.index]
    }

    fn serve(&mut self) -> io::Result<()> {
        let mut events = Events::new();
        let mut next_sweep = Instant::now() + TICK;
        loop {
            events.clear();
            // Until something is ready, or the next look for expired deadlines.
            let until_sweep = next_sweep.saturating_duration_since(Instant::now());
            self.shared.pollers[self.index].wait(&mut events, Some(until_sweep))?;
            if self.shared.is_stopping() && self.stop_deadline.is_none() {
                self.begin_stop();
            }
            for event in events.iter() {
                if event.key == LISTENER_KEY {
                    self.accept();
                } else {
                    self.on_ready(event.key);
                }
            }
            self.shared.loads[self.index].store(self.connections.len(), Ordering::Relaxed);
            let now = Instant::now();
            if now >= next_sweep {
                next_sweep = now + TICK;
                self.sweep(now);
            }
            if let Some(deadline) = self.stop_deadline {
                if self.connections.is_empty() || now >= deadline {
                    let keys: Vec<usize> = self.connections.keys().copied().collect();
                    for key in keys {
                        self.remove(key);
                    }
                    return Ok(());
                }
            }
        }
    }

    /// Accepts new connections. When a client connects, one loop is woken on Linux
    /// (`EPOLLEXCLUSIVE`, see `poller`) and every loop elsewhere, and the first to accept
    /// keeps the connection; so that one loop does not take them all (four downloads that
    /// start together would then share one thread), a loop takes more than one only while
    /// it holds no more connections than the least busy other loop.
    fn accept(&mut self) {
        let mine = self.connections.len();
        let others = (self.shared.loads.iter().enumerate())
            .filter(|&(index, _)| index != self.index)
            .map(|(_, load)| load.load(Ordering::Relaxed))
            .min()
            .unwrap_or(usize::MAX);
        let Some(acceptor) = self.acceptor.as_mut() else {
            return;
        };
        for (stream, peer) in acceptor.accept(|taken| mine + taken <= others) {
            if at_capacity(&self.shared) {
                refuse(stream, peer, &self.shared);
            } else {
                self.admit(stream, peer);
            }
        }
    }

    /// Takes a new connection into this loop. Most clients send their request right after
    /// connecting, so it is served at once, before the poller hears of it; a connection
    /// that closes at once never meets the poller at all.
    fn admit(&mut self, stream: TcpStream, peer: SocketAddr) {
        let ticket = Ticket::counted(&self.shared);
        let connection = Connection::new(Arc::new(stream), peer, ticket, &self.shared, false);
        let key = self.next_key;
        self.next_key += 1;
        self.connections.insert(key, connection);
        let Some(wait) = self.advance(key) else {
            return;
        };
        if wait == Wait::Done {
            self.connections.remove(&key);
            return;
        }
        let Some(connection) = self.connections.get(&key) else {
            return;
        };
        let (interest, mode) = match self.edge {
            true => (Event::all(key), PollMode::Edge),
            false => (interest(key, wait), PollMode::Oneshot),
        };
        // SAFETY: every registered connection goes through `poller::forget` before it is
        // dropped, in `remove`, and its socket has no duplicate.
        let added = unsafe {
            self.poller()
                .add_with_mode(connection.stream(), interest, mode)
        };
        if added.is_err() {
            self.connections.remove(&key);
        }
    }

    /// A connection's socket is ready: move it along.
    fn on_ready(&mut self, key: usize) {
        if let Some(wait) = self.advance(key) {
            self.then(key, wait);
        }
    }

    /// Advances one connection. A panic while serving it (a bug, or the tests' panic hook)
    /// closes that connection only: `None`, and it is gone.
    fn advance(&mut self, key: usize) -> Option<Wait> {
        let shared = &self.shared;
        let connection = self.connections.get_mut(&key)?;
        match panic::catch_unwind(AssertUnwindSafe(|| connection.advance(shared))) {
            Ok(wait) => Some(wait),
            Err(_) => {
                self.remove(key);
                None
            }
        }
    }

    /// Acts on what an advanced connection waits for next.
    fn then(&mut self, key: usize, wait: Wait) {
        match wait {
            Wait::Done => self.remove(key),
            Wait::Readable | Wait::Writable if !self.edge => {
                if let Some(connection) = self.connections.get(&key) {
                    let _ = self
                        .poller()
                        .modify(connection.stream(), interest(key, wait));
                }
            }
            // Edge-triggered: still registered for both. A delay: only the sweep wakes it.
            Wait::Readable | Wait::Writable | Wait::Deadline => {}
        }
    }

    /// Expires every connection whose deadline has passed, and ends a pause in accepting.
    fn sweep(&mut self, now: Instant) {
        if let Some(acceptor) = self.acceptor.as_mut() {
            acceptor.resume_if_due(now);
        }
        let expired: Vec<usize> = self
            .connections
            .iter()
            .filter(|(_, c)| c.deadline() <= now)
            .map(|(&key, _)| key)
            .collect();
        for key in expired {
            let shared = &self.shared;
            if let Some(connection) = self.connections.get_mut(&key) {
                let expired = panic::catch_unwind(AssertUnwindSafe(|| connection.expire(shared)));
                if expired.is_err() {
                    self.remove(key);
                    continue;
                }
            }
            self.on_ready(key);
        }
    }

    /// A stop: stop accepting, close every connection that is not answering a request,
    /// and give the others until `timeout` from now.
    fn begin_stop(&mut self) {
        self.stop_deadline = Some(Instant::now() + self.shared.config.timeout);
        self.acceptor = None; // no longer watched; the listener closes once every loop lets go
        let idle: Vec<usize> = self
            .connections
            .iter()
            .filter(|(_, c)| !c.is_responding())
            .map(|(&key, _)| key)
            .collect();
        for key in idle {
            if let Some(connection) = self.connections.get_mut(&key) {
                connection.close();
            }
            self.remove(key);
        }
    }

    /// Forgets a connection: out of the poller, then closed.
    fn remove(&mut self, key: usize) {
        if let Some(connection) = self.connections.remove(&key) {
            poller::forget(self.poller(), connection.stream());
        }
    }
}

/// The one-shot interest for what a connection waits for.
fn interest(key: usize, wait: Wait) -> Event {
    match wait {
        Wait::Writable => Event::writable(key),
        Wait::Readable => Event::readable(key),
        Wait::Deadline | Wait::Done => Event::none(key),
    }
}
