//! Knowing which connections are open, so that a stop can close them.
//!
//! Every connection holds a [`Ticket`] for as long as it is open: it counts the connection
//! in [`Stats::open_connections`](super::Stats), which the connection limit reads. In
//! `single` and `threaded` modes a thread may be blocked reading from a client when a stop
//! comes, and only another thread can wake it: so those tickets also keep a second handle
//! to the socket (the same descriptor, shared through an `Arc`, not a duplicate), and the
//! stopping thread ([`close_on_stop`]) shuts the socket down, which makes the blocked call
//! return at once. In pool mode nothing blocks on a client, and each event loop closes its
//! own connections when it sees the stop.

use std::collections::HashMap;
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::Ordering;
use std::sync::{Arc, MutexGuard, PoisonError};

use super::Shared;

/// The open connections of the blocking modes, so that a stop can close them.
#[derive(Default)]
pub(crate) struct Tracker {
    pub(crate) stopping: bool,
    pub(crate) finished: bool,
    next_id: u64,
    /// Each tracked connection: its socket, and whether it is answering a request.
    open: HashMap<u64, (Arc<TcpStream>, bool)>,
}

impl Shared {
    pub(crate) fn tracker(&self) -> MutexGuard<'_, Tracker> {
        self.tracker.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A connection's place among the open ones; dropping it (even in a panic) frees the place.
pub(crate) struct Ticket {
    shared: Arc<Shared>,
    /// Its entry in the [`Tracker`], for the connections of the blocking modes.
    id: Option<u64>,
}

impl Ticket {
    /// Counts a connection that its event loop closes itself at a stop.
    pub(crate) fn counted(shared: &Arc<Shared>) -> Ticket {
        shared.stats.open_connections.fetch_add(1, Ordering::SeqCst);
        Ticket {
            shared: Arc::clone(shared),
            id: None,
        }
    }

    /// Counts and tracks a connection served with blocking calls, so that a stop can wake
    /// the thread blocked on it.
    pub(crate) fn tracked(shared: &Arc<Shared>, stream: &Arc<TcpStream>) -> Ticket {
        let mut ticket = Ticket::counted(shared);
        let mut tracker = shared.tracker();
        let id = tracker.next_id;
        tracker.next_id += 1;
        if tracker.stopping {
            // Accepted just as a stop began, after the stopper closed the idle ones.
            let _ = stream.shutdown(Shutdown::Both);
        }
        tracker.open.insert(id, (Arc::clone(stream), false));
        ticket.id = Some(id);
        ticket
    }

    /// Marks the connection as answering a request: a stop lets it finish.
    pub(crate) fn responding(&self) {
        self.set_responding(true);
    }

    /// Marks the connection as waiting for a request: a stop closes it at once.
    pub(crate) fn idle(&self) {
        self.set_responding(false);
    }

    fn set_responding(&self, responding: bool) {
        let Some(id) = self.id else { return };
        let mut tracker = self.shared.tracker();
        let stopping = tracker.stopping;
        if let Some((stream, state)) = tracker.open.get_mut(&id) {
            *state = responding;
            if stopping && !responding {
                // Done with its last response after a stop began: close it now.
                let _ = stream.shutdown(Shutdown::Both);
            }
        }
        drop(tracker);
        // Only the stopper waits on this, and only once a stop has begun: waking it on
        // every request would cost two context switches a request for nothing.
        if stopping {
            self.shared.tracker_changed.notify_all();
        }
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if let Some(id) = self.id {
            let mut tracker = self.shared.tracker();
            tracker.open.remove(&id);
            let stopping = tracker.stopping;
            drop(tracker);
            if stopping {
                self.shared.tracker_changed.notify_all();
            }
        }
        self.shared
            .stats
            .open_connections
            .fetch_sub(1, Ordering::SeqCst);
    }
}

/// The stopping thread of the blocking modes: waits for a stop; then closes idle
/// connections at once and, after `timeout`, the ones still responding.
pub(crate) fn close_on_stop(shared: &Shared) {
    let tracker = shared
        .tracker_changed
        .wait_while(shared.tracker(), |t| !t.stopping && !t.finished)
        .unwrap_or_else(PoisonError::into_inner);
    for (stream, responding) in tracker.open.values() {
        if !responding {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }
    let (tracker, _) = shared
        .tracker_changed
        .wait_timeout_while(tracker, shared.config.timeout, |t| {
            t.open.values().any(|(_, responding)| *responding) && !t.finished
        })
        .unwrap_or_else(PoisonError::into_inner);
    for (stream, _) in tracker.open.values() {
        let _ = stream.shutdown(Shutdown::Both);
    }
}
