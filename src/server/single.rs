//! `single` mode (assignment task 1): the accepting thread serves each connection itself,
//! from its first byte to its close, before it accepts the next. Simple, and the clearest
//! picture of what a server does; but one slow client makes every other client wait.

use std::io;
use std::net::TcpListener;
use std::sync::Arc;

use super::accept::{Acceptor, LISTENER_KEY};
use super::connection::serve_blocking;
use super::poller::Events;
use super::Shared;

/// Accepts and serves one connection at a time until a stop.
pub(crate) fn run(listener: &Arc<TcpListener>, shared: &Arc<Shared>) -> io::Result<()> {
    let poller = &shared.pollers[0];
    let mut acceptor = Acceptor::new(listener, shared, 0, false)?;
    let mut events = Events::new();
    loop {
        events.clear();
        let pause = acceptor.resume_if_due(std::time::Instant::now());
        // A wait that a signal interrupts returns with no events, and is simply waited
        // again (tests/signals.rs).
        poller.wait(&mut events, pause)?;
        if shared.is_stopping() {
            return Ok(());
        }
        if !events.iter().any(|e| e.key == LISTENER_KEY) {
            continue;
        }
        for (stream, peer) in acceptor.accept(|_| true) {
            // A panic while serving one client must not stop the server.
            let served = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                serve_blocking(stream, peer, shared)
            }));
            drop(served);
        }
    }
}
