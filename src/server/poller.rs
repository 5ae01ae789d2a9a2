//! The poller that the event loops (and the accepting thread of the other modes) wait in:
//! "tell me which of these sockets are ready".
//!
//! Every system has its own: epoll on Linux, kqueue on macOS and the BSDs, IOCP on Windows.
//! The `polling` crate wraps each of them behind one interface, and weblab uses it
//! everywhere but on Linux. On Linux weblab calls epoll itself, in [`epoll`] below, for one
//! reason: speed. Around every wait, `polling` arms or disarms a timer (`timerfd`) and
//! re-arms its own wake-up descriptor, four system calls that an event loop answering one
//! `Connection: close` request per wait pays on every request. Measured on a 2-core
//! machine under wrk (1 KiB file, `Connection: close`), calling epoll directly cut the
//! server's CPU time per request by about a tenth. epoll also offers `EPOLLEXCLUSIVE`, which
//! wakes one waiting loop per new connection instead of all of them (see
//! [`watch_listener`]).
//!
//! The interface is `polling`'s, so that the code that uses a poller reads the same on
//! every system: an [`Event`] names a socket by a key and says whether it is readable or
//! writable; a [`PollMode`] says how it is reported (`Edge`: each change once; `Oneshot`:
//! once, until watched again).

use std::io;
use std::net::TcpListener;

pub(crate) use polling::{Event, PollMode};

#[cfg(target_os = "linux")]
mod epoll;
#[cfg(target_os = "linux")]
pub(crate) use epoll::{Events, Poller};
#[cfg(not(target_os = "linux"))]
pub(crate) use polling::{Events, Poller};

/// Starts watching a listening socket for connections that wait to be accepted.
///
/// On Linux the listener is level-triggered (reported on every wait while a connection is
/// waiting, so a loop that accepts only some of them is told again) and exclusive: when a
/// client connects, epoll wakes one of the loops waiting on it, not every one. Elsewhere it
/// is one-shot, and [`rewatch_listener`] watches it again after each turn of accepting.
///
/// # Safety
///
/// The listener must be removed from the poller with [`unwatch_listener`] before it is
/// closed.
pub(crate) unsafe fn watch_listener(
    poller: &Poller,
    listener: &TcpListener,
    key: usize,
) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    // SAFETY: passed on to the caller.
    return unsafe { poller.add_exclusive(listener, Event::readable(key)) };
    #[cfg(not(target_os = "linux"))]
    // SAFETY: passed on to the caller.
    return unsafe { poller.add(listener, Event::readable(key)) };
}

/// After a turn of accepting: watches the listener again where it is one-shot.
pub(crate) fn rewatch_listener(
    poller: &Poller,
    listener: &TcpListener,
    key: usize,
) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        let _ = (poller, listener, key); // level-triggered: nothing to do
        Ok(())
    }
    #[cfg(not(target_os = "linux"))]
    poller.modify(listener, Event::readable(key))
}

/// Stops watching a listener, for a pause in accepting or before it closes.
pub(crate) fn unwatch_listener(poller: &Poller, listener: &TcpListener) -> io::Result<()> {
    poller.delete(listener)
}

/// Forgets a connection's socket that is about to be closed. With epoll there is nothing to
/// do: closing a descriptor that has no duplicate takes it out of every epoll set, and saves
/// a system call per connection. The other pollers want it deleted first.
pub(crate) fn forget(poller: &Poller, stream: &std::net::TcpStream) {
    #[cfg(target_os = "linux")]
    let _ = (poller, stream);
    #[cfg(not(target_os = "linux"))]
    let _ = poller.delete(stream);
}
