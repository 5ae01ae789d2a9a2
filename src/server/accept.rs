//! Accepting connections, and turning away the ones the server cannot take (assignment
//! task 1, step 3, and what a real server adds to it).
//!
//! Two limits can be reached. The server's own, `max_connections`: past it a connection is
//! answered 503 at once and closed, without a thread or a place in an event loop. And the
//! operating system's: every socket is a file descriptor, and a process may hold only so
//! many (often 1024). Then `accept` fails with EMFILE while the listener stays readable,
//! and a loop that simply tries again spins at full speed while serving no one. Two habits
//! of mature servers avoid that:
//!
//! - **A spare descriptor** (libev's and libuv's trick): the server keeps one descriptor
//!   open for nothing. When `accept` fails for lack of descriptors it closes the spare,
//!   accepts the waiting connections one at a time, answers each 503 and closes it.
//!   Clients learn at once that the server is full. The newest of them may not have sent
//!   its request yet, and closing its socket before the request arrives would make the
//!   kernel answer the request with a reset, which can destroy the 503 before the client
//!   reads it; so that one is kept open, in the spare's place, until the next connection
//!   needs the descriptor (by then its request has long arrived). The spare is opened
//!   again as soon as a descriptor is free.
//! - **A pause** (nginx's): the listener is left out of the poller for a moment, so no
//!   event calls for accepting until descriptors may have been freed.

use std::fs::File;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use super::handler::Reply;
use super::poller::Poller;
use super::poller::{rewatch_listener, unwatch_listener, watch_listener};
use super::Shared;
use crate::http::format_http_date;
use crate::http::StatusCode;
use crate::log::LogEntry;

/// The poller key of the listening socket; connections get keys from 1 up.
pub(crate) const LISTENER_KEY: usize = 0;
/// The most connections accepted in one turn, so that one loop does not take them all.
const ACCEPT_BATCH: usize = 16;
/// The most waiting connections answered 503 with the spare descriptor in one turn.
const SHED_BATCH: usize = 256;
/// How long accepting stops after the process ran out of descriptors.
const ACCEPT_PAUSE: Duration = Duration::from_millis(100);
/// How many connections may wait to be accepted (the kernel caps it at its own limit,
/// `net.core.somaxconn` on Linux, 4096 by default).
const BACKLOG: i32 = 1024;

/// Lets up to [`BACKLOG`] connections wait to be accepted. The standard library listens
/// with a backlog of 128, and a connection that finds the queue full is not refused but
/// dropped: the client tries again after a second, then three, then more. A burst of a few
/// hundred clients, as a grading run or a page with many images sends, would then see
/// seconds of delay while the server is idle. nginx asks for 511. Calling `listen` again
/// on a listening socket changes its backlog on Linux, macOS and the BSDs; on Windows it
/// changes nothing, and the standard library's backlog stays.
pub(crate) fn deepen_backlog(listener: &TcpListener) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::fd::AsRawFd;
        // SAFETY: listen on a socket this process owns; no memory is passed.
        if unsafe { libc::listen(listener.as_raw_fd(), BACKLOG) } != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    #[cfg(not(unix))]
    let _ = (listener, BACKLOG);
    Ok(())
}

/// A listener registered with one poller, accepting in turns.
pub(crate) struct Acceptor {
    listener: Arc<TcpListener>,
    shared: Arc<Shared>,
    /// Which of the server's pollers watches the listener for this acceptor.
    poller: usize,
    /// Hand out non-blocking sockets (for an event loop).
    nonblocking: bool,
    /// Out of descriptors: accept nothing before this moment (the listener is not watched
    /// meanwhile).
    paused_until: Option<Instant>,
}

impl Acceptor {
    /// Registers `listener` with poller number `poller`.
    /// `nonblocking`: the connections it accepts are for an event loop.
    pub(crate) fn new(
        listener: &Arc<TcpListener>,
        shared: &Arc<Shared>,
        poller: usize,
        nonblocking: bool,
    ) -> io::Result<Acceptor> {
        listener.set_nonblocking(true)?;
        // SAFETY: `Drop` removes the listener from the poller, and the acceptor holds the
        // listener open until then.
        unsafe { watch_listener(&shared.pollers[poller], listener, LISTENER_KEY)? };
        Ok(Acceptor {
            listener: Arc::clone(listener),
            shared: Arc::clone(shared),
            poller,
            nonblocking,
            paused_until: None,
        })
    }

    /// After the listener's readiness event: new connections, up to [`ACCEPT_BATCH`] and
    /// for as long as `wants_more(accepted so far)` says (always at least one). Watches the
    /// listener again unless the process is out of descriptors, in which case it answers
    /// what it can with 503 and pauses.
    pub(crate) fn accept(
        &mut self,
        wants_more: impl Fn(usize) -> bool,
    ) -> Vec<(TcpStream, SocketAddr)> {
        take_back_spare(&self.shared);
        let mut accepted = Vec::new();
        while accepted.len() < ACCEPT_BATCH && (accepted.is_empty() || wants_more(accepted.len())) {
            let next = match self.nonblocking {
                true => accept_nonblocking(&self.listener),
                false => self.listener.accept(),
            };
            match next {
                Ok(pair) => accepted.push(pair),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if is_out_of_descriptors(&e) => {
                    shed_with_spare(&self.listener, &self.shared);
                    let _ = unwatch_listener(self.poller(), &self.listener);
                    self.paused_until = Some(Instant::now() + ACCEPT_PAUSE);
                    return accepted;
                }
                // A connection reset before it was accepted, say: try the next one.
                // (std retries an accept that a signal interrupts.)
                Err(_) => {}
            }
        }
        let _ = rewatch_listener(self.poller(), &self.listener, LISTENER_KEY);
        accepted
    }

    /// Ends a pause that is over. Returns how long is left of it, if it is not over.
    pub(crate) fn resume_if_due(&mut self, now: Instant) -> Option<Duration> {
        let until = self.paused_until?;
        if now < until {
            return Some(until - now);
        }
        self.paused_until = None;
        // SAFETY: as in `new`.
        let _ = unsafe { watch_listener(self.poller(), &self.listener, LISTENER_KEY) };
        None
    }

    fn poller(&self) -> &Poller {
        &self.shared.pollers[self.poller]
    }
}

impl Drop for Acceptor {
    fn drop(&mut self) {
        if self.paused_until.is_none() {
            let _ = unwatch_listener(self.poller(), &self.listener);
        }
    }
}

/// Accepts a connection whose socket is non-blocking from the start.
#[cfg(target_os = "linux")]
fn accept_nonblocking(listener: &TcpListener) -> io::Result<(TcpStream, SocketAddr)> {
    linux::accept4_nonblocking(listener)
}

/// Accepts a connection, then makes its socket non-blocking. (On macOS and BSD it already
/// is, inherited from the listener; on Windows it is not.)
#[cfg(not(target_os = "linux"))]
fn accept_nonblocking(listener: &TcpListener) -> io::Result<(TcpStream, SocketAddr)> {
    let (stream, peer) = listener.accept()?;
    stream.set_nonblocking(true)?;
    Ok((stream, peer))
}

/// Linux's `accept4` makes the new socket non-blocking in the same call, where std's
/// `accept` would need a second one: a system call saved on every connection.
#[cfg(target_os = "linux")]
mod linux {
    use std::io;
    use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
    use std::net::{TcpListener, TcpStream};
    use std::os::fd::{AsRawFd, FromRawFd};

    pub(super) fn accept4_nonblocking(
        listener: &TcpListener,
    ) -> io::Result<(TcpStream, SocketAddr)> {
        // SAFETY: an all-zero sockaddr_storage is a valid value of that plain C struct.
        let mut address: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
        loop {
            let mut len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
            // SAFETY: accept4 writes at most `len` bytes into `address`, which has room for
            // any socket address.
            let fd = unsafe {
                libc::accept4(
                    listener.as_raw_fd(),
                    std::ptr::addr_of_mut!(address).cast(),
                    &mut len,
                    libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                )
            };
            if fd < 0 {
                let error = io::Error::last_os_error();
                if error.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(error);
            }
            // SAFETY: `fd` is a new socket that nothing else owns.
            let stream = unsafe { TcpStream::from_raw_fd(fd) };
            return Ok((stream, socket_address(&address)?));
        }
    }

    /// The peer's address as std spells it.
    fn socket_address(address: &libc::sockaddr_storage) -> io::Result<SocketAddr> {
        match libc::c_int::from(address.ss_family) {
            libc::AF_INET => {
                // SAFETY: the family says the storage holds a sockaddr_in, which it is
                // large and aligned enough for.
                let v4 = unsafe { &*std::ptr::addr_of!(*address).cast::<libc::sockaddr_in>() };
                let ip = Ipv4Addr::from(u32::from_be(v4.sin_addr.s_addr));
                Ok(SocketAddrV4::new(ip, u16::from_be(v4.sin_port)).into())
            }
            libc::AF_INET6 => {
                // SAFETY: as above, for a sockaddr_in6.
                let v6 = unsafe { &*std::ptr::addr_of!(*address).cast::<libc::sockaddr_in6>() };
                let ip = Ipv6Addr::from(v6.sin6_addr.s6_addr);
                let port = u16::from_be(v6.sin6_port);
                Ok(SocketAddrV6::new(ip, port, v6.sin6_flowinfo, v6.sin6_scope_id).into())
            }
            _ => Err(io::Error::other(
                "accepted a socket that is not TCP over IP",
            )),
        }
    }
}

/// Whether `accept` failed because the process or the system has no descriptor (or no
/// buffer memory) left for a new socket.
fn is_out_of_descriptors(error: &io::Error) -> bool {
    #[cfg(unix)]
    let codes = [libc::EMFILE, libc::ENFILE, libc::ENOBUFS, libc::ENOMEM];
    // WSAEMFILE and WSAENOBUFS.
    #[cfg(windows)]
    let codes = [10024, 10055];
    #[cfg(not(any(unix, windows)))]
    let codes: [i32; 0] = [];
    error
        .raw_os_error()
        .is_some_and(|code| codes.contains(&code))
}

/// Opens the descriptor kept spare for [`shed_with_spare`].
fn open_spare() -> Option<File> {
    let null_device = if cfg!(windows) { "NUL" } else { "/dev/null" };
    File::open(null_device).ok()
}

/// The descriptor kept for the moment the process runs out, and the last connection
/// turned away with it.
#[derive(Default)]
pub(crate) struct Spare {
    file: Option<File>,
    /// Answered 503 and shut down for writing, but kept open (see the module docs).
    last_refused: Option<TcpStream>,
}

impl Spare {
    pub(crate) fn open() -> Spare {
        Spare {
            file: open_spare(),
            last_refused: None,
        }
    }
}

/// Out of descriptors: frees the spare one (or the one the last refused connection holds),
/// and with it answers waiting connections 503, one at a time, keeping the newest open.
fn shed_with_spare(listener: &TcpListener, shared: &Shared) {
    let mut spare = shared.spare.lock().unwrap_or_else(PoisonError::into_inner);
    if spare.file.take().is_none() && spare.last_refused.take().is_none() {
        return; // another thread has the freed descriptor
    }
    for _ in 0..SHED_BATCH {
        // The one kept open has had its time: its descriptor is the one to use.
        drop(spare.last_refused.take());
        match listener.accept() {
            Ok((stream, peer)) => spare.last_refused = Some(refuse(stream, peer, shared)),
            Err(_) => break,
        }
    }
}

/// Opens the spare descriptor again if it is not open, when a descriptor is free.
fn take_back_spare(shared: &Shared) {
    let mut spare = shared.spare.lock().unwrap_or_else(PoisonError::into_inner);
    if spare.file.is_none() {
        spare.file = open_spare();
    }
}

/// Whether the server already holds `max_connections` connections.
pub(crate) fn at_capacity(shared: &Shared) -> bool {
    shared.stats.open_connections.load(Ordering::SeqCst) >= shared.config.max_connections
}

/// Answers 503 at once, without blocking, and returns the socket to close: the response
/// is small enough for an empty socket buffer, and whatever the client sent is read only
/// if it is already there.
pub(crate) fn refuse(stream: TcpStream, peer: SocketAddr, shared: &Shared) -> TcpStream {
    shared.stats.refused.fetch_add(1, Ordering::SeqCst);
    let reply = Reply::error(StatusCode::ServiceUnavailable);
    let mut head = reply.head.header("Retry-After", "1");
    if let Some(date) = format_http_date(SystemTime::now()) {
        head = head.header("Date", date);
    }
    let head = head
        .header("Server", shared.server_name.as_str())
        .header("Connection", "close");
    let mut bytes = head.to_bytes();
    if let super::handler::Body::Text(page) = reply.body {
        bytes.extend_from_slice(page.as_bytes());
    }
    let _ = stream.set_nonblocking(true);
    let bytes_sent = (&stream).write(&bytes).unwrap_or(0) as u64;
    // Read what the client already sent, without waiting, so closing does not reset.
    let _ = stream.shutdown(Shutdown::Write);
    let _ = io::copy(&mut (&stream).take(64 * 1024), &mut io::sink());
    shared.log.record(&LogEntry {
        peer,
        time: SystemTime::now(),
        request_line: None,
        status: Some(StatusCode::ServiceUnavailable.code()),
        bytes_sent,
    });
    stream
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use crate::{Config, Server};
    use std::os::fd::AsRawFd;

    /// The listen queue of a listening socket, from Linux's `TCP_INFO`: (connections
    /// waiting to be accepted, most that may wait).
    fn queue(listener: &TcpListener) -> (u32, u32) {
        // SAFETY: an all-zero tcp_info is a valid value of that plain C struct.
        let mut info: libc::tcp_info = unsafe { std::mem::zeroed() };
        let mut len = std::mem::size_of::<libc::tcp_info>() as libc::socklen_t;
        // SAFETY: getsockopt writes at most `len` bytes into `info`.
        let got = unsafe {
            libc::getsockopt(
                listener.as_raw_fd(),
                libc::IPPROTO_TCP,
                libc::TCP_INFO,
                std::ptr::addr_of_mut!(info).cast(),
                &mut len,
            )
        };
        assert_eq!(got, 0, "TCP_INFO: {}", io::Error::last_os_error());
        // For a listening socket Linux reports the queue in these two fields.
        (info.tcpi_unacked, info.tcpi_sacked)
    }

    fn server() -> Server {
        let log = Arc::new(crate::log::NoLog);
        Server::bind("127.0.0.1:0", std::env::temp_dir(), Config::default(), log).expect("bind")
    }

    #[test]
    fn the_listen_queue_holds_up_to_the_backlog_or_the_systems_limit() {
        let server = server();
        let somaxconn: u32 = std::fs::read_to_string("/proc/sys/net/core/somaxconn")
            .expect("somaxconn")
            .trim()
            .parse()
            .expect("a number");
        let (_, most) = queue(&server.listener);
        assert_eq!(most, somaxconn.min(BACKLOG as u32));
    }

    /// One turn takes at most a batch, and only one when the loop wants no more, so that
    /// a loop cannot take every waiting connection from the others.
    #[test]
    fn one_turn_accepts_at_most_a_batch() {
        let server = server();
        let listener = Arc::new(server.listener.try_clone().expect("a second handle"));
        let mut acceptor = Acceptor::new(&listener, &server.shared, 0, true).expect("acceptor");
        let waiting = ACCEPT_BATCH + 4;
        let clients: Vec<TcpStream> = (0..waiting)
            .map(|_| TcpStream::connect(server.local_addr()).expect("connect"))
            .collect();
        // The handshakes complete in the kernel, not always before connect returns.
        let started = Instant::now();
        while queue(&listener).0 < waiting as u32 {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "{:?}",
                queue(&listener)
            );
            std::thread::yield_now();
        }
        assert_eq!(
            acceptor.accept(|_| false).len(),
            1,
            "a loop that wants no more"
        );
        assert_eq!(
            acceptor.accept(|_| true).len(),
            ACCEPT_BATCH,
            "a loop that wants all"
        );
        assert_eq!(acceptor.accept(|_| true).len(), waiting - 1 - ACCEPT_BATCH);
        assert!(acceptor.accept(|_| true).is_empty(), "none left");
        drop(clients);
    }
}
