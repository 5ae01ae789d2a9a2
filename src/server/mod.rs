//! The server: listening, accepting, and the three ways to serve connections
//! (assignment tasks 1 and 3).
//!
//! | mode | who serves a connection | teaches |
//! |------|-------------------------|---------|
//! | [`Mode::Single`] | the accepting thread itself, one connection at a time | task 1: the accept loop |
//! | [`Mode::Threaded`] | a new thread per connection, at most `max_connections` | task 3: a thread per connection |
//! | [`Mode::Pool`] | a fixed [`pool::ThreadPool`], fed only complete requests | the next step: bounded workers |
//!
//! # How the pool mode survives slow clients
//!
//! A worker that calls `read` on a client that sent half a request sits blocked until the
//! client goes on or times out. Sixty-four such clients would park sixty-four workers, and a
//! pool of sixteen would serve nobody else for the whole timeout: the "slowloris" attack.
//! So in pool mode the accepting thread also *reads request heads*: every connection is
//! non-blocking and registered with a poller (epoll on Linux, kqueue on macOS, IOCP on
//! Windows, through the `polling` crate), and the thread reads whatever bytes are ready from
//! whichever connection is ready. Only when a head is complete, or can never be, does the
//! connection go to a worker, which then writes the response with blocking calls. Workers
//! only ever wait on clients that are reading a response, and that wait is bounded by the
//! write timeout. This is the shape of many production servers: an event loop for the
//! waiting, threads for the work.
//!
//! # Stopping
//!
//! A [`ServerHandle`] (also used by the binary's Ctrl-C and SIGTERM handler) stops the
//! server: the accept loop wakes and returns, the listening socket is closed so new
//! connections are refused, connections still waiting for a request are closed, and
//! responses already being sent may finish for up to `timeout`. After that their sockets
//! are shut down, which makes any blocked write fail at once, and every thread is joined.

mod connection;
pub mod handler;
pub mod pool;
mod reactor;
mod send_file;

use std::collections::HashMap;
use std::fmt;
use std::io::{self, Read};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::path::Path;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, SystemTime};

use polling::{Event, Events, Poller};

use crate::files::Root;
use crate::http::StatusCode;
use crate::log::{AccessLog, LogEntry};
use connection::{close, send, serve_one, Connection, Outcome};
use handler::Reply;

/// The poller key of the listening socket; connections get keys from 1 up.
const LISTENER_KEY: usize = 0;

/// How the server serves connections. See the [module docs](self).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// One connection at a time, on the accepting thread.
    Single,
    /// A new thread for each connection, up to a bound.
    Threaded,
    /// A fixed pool of workers fed by an event loop that reads request heads.
    #[default]
    Pool,
}

impl Mode {
    /// Every mode, for tests that run one behaviour in each.
    pub const ALL: [Mode; 3] = [Mode::Single, Mode::Threaded, Mode::Pool];
}

impl FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> Result<Mode, String> {
        match s {
            "single" => Ok(Mode::Single),
            "threaded" => Ok(Mode::Threaded),
            "pool" => Ok(Mode::Pool),
            other => Err(format!(
                "unknown mode '{other}' (expected single, threaded or pool)"
            )),
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Mode::Single => "single",
            Mode::Threaded => "threaded",
            Mode::Pool => "pool",
        })
    }
}

/// Settings for a [`Server`].
#[derive(Debug, Clone)]
pub struct Config {
    /// How connections are served.
    pub mode: Mode,
    /// How long a client has, from connecting, to send a complete request head; also the
    /// write timeout, and how long responses in flight may run on after a stop.
    pub timeout: Duration,
    /// Worker threads in pool mode.
    pub threads: usize,
    /// Connections served or waiting at once in threaded and pool modes; past it, 503.
    pub max_connections: usize,
    /// How long a kept-alive connection may wait for its next request (threaded and pool
    /// modes; `single` closes after every response).
    pub keep_alive_timeout: Duration,
    /// The most requests answered on one connection before it is closed.
    pub max_requests: usize,
    /// What the handler answers: directory listings on or off.
    pub handler: handler::Options,
    /// Demo aid: hold every response this long, to make the modes' difference visible.
    pub delay: Duration,
    /// Test hook: a request for exactly this target makes the handler panic.
    pub panic_path: Option<String>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            mode: Mode::default(),
            timeout: Duration::from_secs(10),
            threads: default_threads(),
            max_connections: 1024,
            keep_alive_timeout: Duration::from_secs(5),
            max_requests: 1000,
            handler: handler::Options::default(),
            delay: Duration::ZERO,
            panic_path: None,
        }
    }
}

/// Four workers per core: file serving waits on disks and sockets more than it computes.
pub fn default_threads() -> usize {
    thread::available_parallelism().map_or(4, |n| n.get() * 4)
}

/// Why a server could not start.
#[derive(Debug)]
pub enum ServerError {
    /// The root folder is missing or not a directory.
    Root(io::Error),
    /// The address could not be bound (in use, not ours, port out of range...).
    Bind(io::Error),
    /// The poller could not be created.
    Poll(io::Error),
}

impl fmt::Display for ServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServerError::Root(e) => write!(f, "cannot serve root folder: {e}"),
            ServerError::Bind(e) => write!(f, "cannot listen: {e}"),
            ServerError::Poll(e) => write!(f, "cannot create poller: {e}"),
        }
    }
}

impl std::error::Error for ServerError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ServerError::Root(e) | ServerError::Bind(e) | ServerError::Poll(e) => Some(e),
        }
    }
}

/// Counters a test or a monitor can read while the server runs.
#[derive(Debug, Default)]
pub struct Stats {
    /// Connections accepted and not yet closed.
    pub open_connections: AtomicUsize,
    /// Connections refused with 503 at the connection limit.
    pub refused: AtomicU64,
    /// Threads started for connections (threaded mode).
    pub threads_started: AtomicU64,
}

/// State shared by the accepting thread, the workers and every [`ServerHandle`].
struct Shared {
    root: Root,
    config: Config,
    log: Arc<dyn AccessLog>,
    server_name: String,
    poller: Poller,
    stats: Stats,
    tracker: Mutex<Tracker>,
    tracker_changed: Condvar,
    /// Pool mode: kept-alive connections that workers hand back to the event loop.
    returned: Mutex<Vec<Connection>>,
}

/// The open connections, so that a stop can close them.
#[derive(Default)]
struct Tracker {
    stopping: bool,
    finished: bool,
    next_id: u64,
    /// Each open connection: a second handle to its socket, and whether it is responding.
    open: HashMap<u64, (TcpStream, bool)>,
}

impl Shared {
    fn tracker(&self) -> MutexGuard<'_, Tracker> {
        self.tracker.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn is_stopping(&self) -> bool {
        self.tracker().stopping
    }
}

/// A connection's place in the [`Tracker`]; leaving it (even by a panic) frees the place.
pub(crate) struct Ticket {
    shared: Arc<Shared>,
    id: u64,
}

impl Ticket {
    fn new(shared: &Arc<Shared>, stream: &TcpStream) -> Ticket {
        shared.stats.open_connections.fetch_add(1, Ordering::SeqCst);
        let mut tracker = shared.tracker();
        let id = tracker.next_id;
        tracker.next_id += 1;
        if tracker.stopping {
            // Accepted just as a stop began, after the stopper closed the idle ones.
            let _ = stream.shutdown(Shutdown::Both);
        } else if let Ok(clone) = stream.try_clone() {
            tracker.open.insert(id, (clone, false));
        }
        Ticket {
            shared: Arc::clone(shared),
            id,
        }
    }

    /// Marks the connection as sending a response: a stop lets it finish.
    pub(crate) fn responding(&self) {
        self.set_responding(true);
    }

    /// Marks the connection as waiting for a request: a stop closes it at once.
    pub(crate) fn idle(&self) {
        self.set_responding(false);
    }

    fn set_responding(&self, responding: bool) {
        let mut tracker = self.shared.tracker();
        let stopping = tracker.stopping;
        if let Some((stream, state)) = tracker.open.get_mut(&self.id) {
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
        let mut tracker = self.shared.tracker();
        tracker.open.remove(&self.id);
        let stopping = tracker.stopping;
        drop(tracker);
        self.shared
            .stats
            .open_connections
            .fetch_sub(1, Ordering::SeqCst);
        if stopping {
            self.shared.tracker_changed.notify_all();
        }
    }
}

/// Stops a running server from another thread, and reads its counters.
#[derive(Clone)]
pub struct ServerHandle {
    shared: Arc<Shared>,
}

impl ServerHandle {
    /// Asks the server to stop; [`Server::run`] then returns once every thread is joined.
    /// Calling it again does nothing more.
    pub fn shutdown(&self) {
        self.shared.tracker().stopping = true;
        self.shared.tracker_changed.notify_all();
        let _ = self.shared.poller.notify();
    }

    /// The server's counters.
    pub fn stats(&self) -> &Stats {
        &self.shared.stats
    }
}

impl fmt::Debug for ServerHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerHandle").finish_non_exhaustive()
    }
}

/// A bound, not yet running, server.
///
/// ```no_run
/// use std::sync::Arc;
/// use weblab::{Config, Server, StderrLog};
///
/// let server = Server::bind("127.0.0.1:0", ".", Config::default(), Arc::new(StderrLog))?;
/// println!("listening on http://{}", server.local_addr());
/// server.run()?; // until a ServerHandle says stop
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Server {
    listener: TcpListener,
    shared: Arc<Shared>,
}

impl Server {
    /// Opens `root` and binds a listening socket to `addr` (assignment task 1, steps 1 to
    /// 3). Port 0 asks the operating system for any free port; [`Server::local_addr`]
    /// tells which.
    pub fn bind(
        addr: impl ToSocketAddrs,
        root: impl AsRef<Path>,
        config: Config,
        log: Arc<dyn AccessLog>,
    ) -> Result<Server, ServerError> {
        let root = Root::new(root).map_err(ServerError::Root)?;
        let listener = TcpListener::bind(addr).map_err(ServerError::Bind)?;
        let poller = Poller::new().map_err(ServerError::Poll)?;
        let shared = Shared {
            root,
            config,
            log,
            server_name: format!("weblab/{}", env!("CARGO_PKG_VERSION")),
            poller,
            stats: Stats::default(),
            tracker: Mutex::new(Tracker::default()),
            tracker_changed: Condvar::new(),
            returned: Mutex::new(Vec::new()),
        };
        Ok(Server {
            listener,
            shared: Arc::new(shared),
        })
    }

    /// The address the server listens on, with the real port.
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener always has a local address")
    }

    /// A handle that can stop the server while [`Server::run`] blocks.
    pub fn handle(&self) -> ServerHandle {
        ServerHandle {
            shared: Arc::clone(&self.shared),
        }
    }

    /// Serves connections until a [`ServerHandle::shutdown`], then stops cleanly.
    pub fn run(self) -> io::Result<()> {
        let Server { listener, shared } = self;
        listener.set_nonblocking(true)?;
        // SAFETY: the listener is removed from the poller below, before it is dropped.
        unsafe {
            shared
                .poller
                .add(&listener, Event::readable(LISTENER_KEY))?
        };

        let stopper = {
            let shared = Arc::clone(&shared);
            thread::Builder::new()
                .name("weblab-stopper".into())
                .spawn(move || close_on_stop(&shared))?
        };
        let result = match shared.config.mode {
            Mode::Single => run_single(&listener, &shared),
            Mode::Threaded => run_threaded(&listener, &shared),
            Mode::Pool => reactor::run(&listener, &shared),
        };
        let _ = shared.poller.delete(&listener);
        drop(listener);

        shared.tracker().finished = true;
        shared.tracker_changed.notify_all();
        let _ = stopper.join();
        result
    }
}

/// Waits for a stop; then closes idle connections at once and, after `timeout`, the ones
/// still responding.
fn close_on_stop(shared: &Shared) {
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
            !t.open.values().all(|(_, responding)| !responding) && !t.finished
        })
        .unwrap_or_else(PoisonError::into_inner);
    for (stream, _) in tracker.open.values() {
        let _ = stream.shutdown(Shutdown::Both);
    }
}

/// Waits until the listener is readable or a stop is asked for; then returns every
/// connection that can be accepted without blocking. `None` means stop.
fn accept_ready(
    listener: &TcpListener,
    shared: &Shared,
    events: &mut Events,
    timeout: Option<Duration>,
) -> io::Result<Option<Vec<(TcpStream, SocketAddr)>>> {
    events.clear();
    // A wait interrupted by a signal is retried inside `polling` (tests/signals.rs).
    shared.poller.wait(events, timeout)?;
    if shared.is_stopping() {
        return Ok(None);
    }
    let mut accepted = Vec::new();
    if events.iter().any(|e| e.key == LISTENER_KEY) {
        // Until WouldBlock: no one else is waiting. Any other error (out of file
        // descriptors, a connection reset before accept) also ends this round: the ones
        // accepted so far are served, and the rest wait for the next. (std retries an
        // accept that a signal interrupts.)
        while let Ok(pair) = listener.accept() {
            accepted.push(pair);
        }
        shared
            .poller
            .modify(listener, Event::readable(LISTENER_KEY))?;
    }
    Ok(Some(accepted))
}

/// Reads requests with blocking calls and serves them until the connection closes: the
/// whole life of a connection in `single` and `threaded` modes.
fn serve_blocking(stream: TcpStream, peer: SocketAddr, shared: &Arc<Shared>) {
    // On macOS, BSD and Windows an accepted socket inherits the listener's non-blocking
    // flag; on Linux it does not. Set it explicitly so every platform behaves alike.
    let _ = stream.set_nonblocking(false);
    let ticket = Ticket::new(shared, &stream);
    let mut connection = Connection::new(stream, peer, shared.config.timeout, ticket);
    loop {
        let head = connection.read_head_blocking();
        match serve_one(&mut connection, head, shared) {
            Outcome::KeepAlive => connection.next_request(shared.config.keep_alive_timeout),
            Outcome::Close { clean } => return close(connection, clean),
        }
    }
}

fn run_single(listener: &TcpListener, shared: &Arc<Shared>) -> io::Result<()> {
    let mut events = Events::new();
    while let Some(accepted) = accept_ready(listener, shared, &mut events, None)? {
        for (stream, peer) in accepted {
            // A panic while serving one client must not stop the server.
            let served = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                serve_blocking(stream, peer, shared)
            }));
            drop(served);
        }
    }
    Ok(())
}

fn run_threaded(listener: &TcpListener, shared: &Arc<Shared>) -> io::Result<()> {
    let mut events = Events::new();
    let mut threads: Vec<JoinHandle<()>> = Vec::new();
    while let Some(accepted) = accept_ready(listener, shared, &mut events, None)? {
        // Handles of finished threads are dropped; their threads are already gone.
        threads.retain(|t| !t.is_finished());
        for (stream, peer) in accepted {
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
    for handle in threads {
        let _ = handle.join();
    }
    Ok(())
}

fn at_capacity(shared: &Shared) -> bool {
    shared.stats.open_connections.load(Ordering::SeqCst) >= shared.config.max_connections
}

/// Answers 503 on the accepting thread, without a new thread or a worker, and closes.
fn refuse(mut stream: TcpStream, peer: SocketAddr, shared: &Shared) {
    shared.stats.refused.fetch_add(1, Ordering::SeqCst);
    let mut reply = Reply::error(StatusCode::ServiceUnavailable);
    reply.head = reply.head.header("Retry-After", "1");
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_write_timeout(Some(Duration::from_millis(200)));
    let bytes_sent = send(&mut stream, reply, &shared.server_name, false).unwrap_or_else(|n| n);
    // Read what the client already sent, without waiting, so closing does not reset.
    let _ = stream.shutdown(Shutdown::Write);
    let _ = stream.set_nonblocking(true);
    let _ = io::copy(&mut (&stream).take(64 * 1024), &mut io::sink());
    shared.log.record(&LogEntry {
        peer,
        time: SystemTime::now(),
        request_line: None,
        status: Some(StatusCode::ServiceUnavailable.code()),
        bytes_sent,
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn modes_are_written_as_they_are_typed() {
        for mode in Mode::ALL {
            let written = mode.to_string();
            assert_eq!(written.parse::<Mode>(), Ok(mode), "{written}");
        }
        assert_eq!(Mode::Pool.to_string(), "pool");
        assert_eq!(
            "many".parse::<Mode>(),
            Err("unknown mode 'many' (expected single, threaded or pool)".to_string())
        );
    }

    #[test]
    fn the_default_pool_has_four_workers_per_core() {
        let cores = thread::available_parallelism().map_or(1, |n| n.get());
        assert_eq!(default_threads(), cores * 4);
    }

    #[test]
    fn a_server_error_says_what_failed_and_keeps_its_cause() {
        let cause = || io::Error::new(io::ErrorKind::AddrInUse, "address in use");
        let cases = [
            (
                ServerError::Root(cause()),
                "cannot serve root folder: address in use",
            ),
            (ServerError::Bind(cause()), "cannot listen: address in use"),
            (
                ServerError::Poll(cause()),
                "cannot create poller: address in use",
            ),
        ];
        for (error, message) in cases {
            assert_eq!(error.to_string(), message);
            let source = error.source().map(ToString::to_string);
            assert_eq!(source.as_deref(), Some("address in use"), "{message}");
        }
    }

    #[test]
    fn a_handle_debugs_without_its_internals() {
        let root = std::env::temp_dir();
        let log = Arc::new(crate::log::NoLog);
        let server = Server::bind("127.0.0.1:0", &root, Config::default(), log)
            .expect("bind a server on a free port");
        assert_eq!(format!("{:?}", server.handle()), "ServerHandle { .. }");
    }
}
