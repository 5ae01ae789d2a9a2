//! `threaded` mode (assignment task 3): a new thread for each connection, which serves it
//! with blocking calls from its first byte to its close. Clients no longer wait for each
//! other, but every connection costs a thread for as long as it is open, idle or not; so
//! the number open at once is bounded by `max_connections`, past which comes 503.

use std::io;
use std::net::TcpListener;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::{self, JoinHandle};

use super::accept::{at_capacity, refuse, Acceptor, LISTENER_KEY};
use super::connection::serve_blocking;
use super::poller::Events;
use super::Shared;

/// Accepts connections and starts a thread for each until a stop, then joins them.
pub(crate) fn run(listener: &Arc<TcpListener>, shared: &Arc<Shared>) -> io::Result<()> {
    let poller = &shared.pollers[0];
    let mut acceptor = Acceptor::new(listener, shared, 0, false)?;
    let mut events = Events::new();
    let mut threads: Vec<JoinHandle<()>> = Vec::new();
    loop {
        events.clear();
        let pause = acceptor.resume_if_due(std::time::Instant::now());
        poller.wait(&mut events, pause)?;
        if shared.is_stopping() {
            break;
        }
        // Handles of finished threads are dropped; their threads are already gone.
        threads.retain(|t| !t.is_finished());
        if !events.iter().any(|e| e.key == LISTENER_KEY) {
            continue;
        }
        for (stream, peer) in acceptor.accept(|_| true) {
            if at_capacity(shared) {
                refuse(stream, peer, shared);
                continue;
            }
            let shared_for_thread = Arc::clone(shared);
            let spawned = thread::Builder::new()
                .name("weblab-connection".into())
                .spawn(move || serve_blocking(stream, peer, &shared_for_thread));
            if let Ok(handle) = spawned {
                shared.stats.threads_started.fetch_add(1, Ordering::SeqCst);
                threads.push(handle);
            }
        }
    }
    drop(acceptor); // stop watching the listener before it closes
    for handle in threads {
        let _ = handle.join();
    }
    Ok(())
}
