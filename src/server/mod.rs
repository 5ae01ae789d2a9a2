//! The server: listening, accepting, and the three ways to serve connections
//! (assignment tasks 1 and 3, and the step after them).
//!
//! | mode | who serves a connection | teaches |
//! |------|-------------------------|---------|
//! | [`Mode::Single`] | the accepting thread itself, one connection at a time | task 1: the accept loop |
//! | [`Mode::Threaded`] | a new thread per connection, at most `max_connections` | task 3: a thread per connection |
//! | [`Mode::Pool`] | a fixed [`pool::ThreadPool`] whose threads each run an event loop | the next step: waiting without threads |
//!
//! Read the parts in this order: `handler` (a request in, a reply out), `connection` (one
//! connection's phases, and serving it with blocking calls), `single`, `threaded`,
//! [`pool`] (the thread pool), `event_loop`. Around them: `accept` (accepting, and turning
//! away what the server cannot take), `shutdown` (which connections are open, for a
//! stop), `send_file` (writing a response a piece at a time), and `poller` (what an event
//! loop waits in: epoll on Linux, the `polling` crate elsewhere).
//!
//! # Why the pool mode is a pool of event loops
//!
//! A thread that calls `read` on a client that sent half a request sits blocked until the
//! client goes on or times out; one that writes a large file to a client that reads slowly
//! sits blocked as long as the client likes. A pool of sixteen threads that wait like this
//! is held by sixteen slow clients: the "slowloris" family of attacks. Every wait on a
//! client must therefore cost no thread.
//!
//! So in pool mode every socket is non-blocking, and each thread of the pool runs an
//! *event loop*: it asks a poller (epoll on Linux, kqueue on macOS, IOCP on Windows; see
//! `poller`) which of its sockets are ready, and moves each ready connection
//! along as far as it can go without waiting: reading a head, dropping a body, writing a
//! response (with `sendfile` on Linux), lingering before the close. A connection waiting
//! for anything waits in the poller, with a deadline, and costs a few kilobytes, not a
//! thread. This is nginx's design: one event loop per worker, each serving its own
//! connections from accept to close. Every loop watches the listener, and whichever
//! accepts a connection keeps it (on Linux, as in nginx, a new connection wakes only one of
//! the waiting loops), so no request is ever handed from one thread to another;
//! opening and reading a file are the only calls that can block, and only on the disk.
//!
//! An earlier version of this mode kept one event loop for reading heads and handed each
//! complete request to a worker thread, which wrote the response with blocking calls. It
//! was simpler, but every worker could still be held: by clients that promise a body and
//! never send it, that read a download slowly, or that close uncleanly. And each
//! keep-alive request crossed from the loop to a worker and back, which made small files
//! slower than nginx.
//!
//! The pool has one event loop per core by default, as nginx has one worker per core: a
//! loop never waits on a client, so a second loop on the same core would only take turns
//! with the first. (A loop can wait on the disk, when it opens or reads a file that is not
//! in the page cache; `--threads` adds loops where the disk is slow.)
//!
//! # Stopping
//!
//! A [`ServerHandle`] (also used by the binary's Ctrl-C and SIGTERM handler) stops the
//! server: the accept loop wakes and returns, the listening socket is closed so new
//! connections are refused, connections still waiting for a request are closed, and
//! responses already being sent may finish for up to `timeout`. After that they are cut
//! off, and every thread is joined. In `single` and `threaded` modes a separate thread
//! shuts the sockets down (see `shutdown`), because only that wakes a thread blocked on
//! one; in pool mode each event loop closes its own connections.

mod accept;
mod connection;
mod event_loop;
pub mod handler;
mod poller;
pub mod pool;
mod send_file;
mod shutdown;
mod single;
mod threaded;

use std::fmt;
use std::io;
use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
use std::path::Path;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::Duration;

use crate::files::Root;
use crate::log::AccessLog;
use poller::Poller;
use shutdown::{close_on_stop, Tracker};

/// How the server serves connections. See the [module docs](self).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// One connection at a time, on the accepting thread.
    Single,
    /// A new thread for each connection, up to a bound.
    Threaded,
    /// A fixed pool of threads, each running an event loop that serves many connections.
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
    /// How long a client has, from connecting, to send a complete request head; also how
    /// long a response may wait between two writes that make progress (a client that stops
    /// reading is cut off after it), and how long responses in flight may run on after a
    /// stop.
    pub timeout: Duration,
    /// Threads in pool mode, each running one event loop.
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

/// One event loop per core, as nginx has one worker per core (`worker_processes auto`).
/// A loop never waits on a client, so more loops than cores only take turns on the same
/// cores, and pay for it in context switches: measured under wrk with `Connection: close`
/// on two cores, four loops made twice the context switches of two and used about a
/// quarter more CPU per request (docs/performance.md). The cost
/// of one per core: a loop does wait on the disk when it opens or reads a file that is not
/// cached, and its connections wait with it; `--threads` adds loops for a slow disk.
pub fn default_threads() -> usize {
    thread::available_parallelism().map_or(1, |n| n.get())
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
    /// A setting of the [`Config`] cannot work (say which).
    Config(&'static str),
}

impl fmt::Display for ServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServerError::Root(e) => write!(f, "cannot serve root folder: {e}"),
            ServerError::Bind(e) => write!(f, "cannot listen: {e}"),
            ServerError::Poll(e) => write!(f, "cannot create poller: {e}"),
            ServerError::Config(what) => write!(f, "bad configuration: {what}"),
        }
    }
}

impl std::error::Error for ServerError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ServerError::Root(e) | ServerError::Bind(e) | ServerError::Poll(e) => Some(e),
            ServerError::Config(_) => None,
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

/// State shared by the accepting thread, the event loops and every [`ServerHandle`].
pub(crate) struct Shared {
    pub(crate) root: Root,
    pub(crate) config: Config,
    pub(crate) log: Arc<dyn AccessLog>,
    pub(crate) server_name: String,
    /// One poller per event loop in pool mode; in the other modes, the accepting thread's.
    pub(crate) pollers: Vec<Poller>,
    /// How many connections each event loop holds, so that they share the work.
    pub(crate) loads: Vec<AtomicUsize>,
    pub(crate) stats: Stats,
    /// Set once by [`ServerHandle::shutdown`]; read on every request, so not behind a lock.
    stopping: AtomicBool,
    /// The connections of the blocking modes, for the stopping thread.
    pub(crate) tracker: Mutex<Tracker>,
    pub(crate) tracker_changed: Condvar,
    /// A descriptor kept open for nothing, freed when the process runs out of them
    /// (see [`accept`]).
    pub(crate) spare: Mutex<accept::Spare>,
}

impl Shared {
    pub(crate) fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
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
        self.shared.stopping.store(true, Ordering::SeqCst);
        self.shared.tracker().stopping = true;
        self.shared.tracker_changed.notify_all();
        for poller in &self.shared.pollers {
            let _ = poller.notify();
        }
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
        // Under a millisecond, every client would get 408 at once, and a blocking write
        // could not be bounded (the system refuses a zero write timeout).
        if config.timeout < Duration::from_millis(1) {
            return Err(ServerError::Config("timeout must be at least 1 ms"));
        }
        let root = Root::new(root).map_err(ServerError::Root)?;
        let listener = TcpListener::bind(addr).map_err(ServerError::Bind)?;
        accept::deepen_backlog(&listener).map_err(ServerError::Bind)?;
        let loops = match config.mode {
            Mode::Pool => config.threads.max(1),
            Mode::Single | Mode::Threaded => 1,
        };
        let pollers = (0..loops)
            .map(|_| Poller::new())
            .collect::<io::Result<Vec<Poller>>>()
            .map_err(ServerError::Poll)?;
        let shared = Shared {
            root,
            config,
            log,
            server_name: format!("weblab/{}", env!("CARGO_PKG_VERSION")),
            loads: pollers.iter().map(|_| AtomicUsize::new(0)).collect(),
            pollers,
            stats: Stats::default(),
            stopping: AtomicBool::new(false),
            tracker: Mutex::new(Tracker::default()),
            tracker_changed: Condvar::new(),
            spare: Mutex::new(accept::Spare::open()),
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
        match shared.config.mode {
            Mode::Single | Mode::Threaded => {
                // A stop must wake threads blocked on clients: the stopping thread's job.
                let stopper = {
                    let shared = Arc::clone(&shared);
                    thread::Builder::new()
                        .name("weblab-stopper".into())
                        .spawn(move || close_on_stop(&shared))?
                };
                let listener = Arc::new(listener);
                let result = match shared.config.mode {
                    Mode::Single => single::run(&listener, &shared),
                    _ => threaded::run(&listener, &shared),
                };
                drop(listener);
                shared.tracker().finished = true;
                shared.tracker_changed.notify_all();
                let _ = stopper.join();
                result
            }
            Mode::Pool => event_loop::run(listener, &shared),
        }
    }
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
    fn the_default_pool_has_one_event_loop_per_core() {
        let cores = thread::available_parallelism().map_or(1, |n| n.get());
        assert_eq!(default_threads(), cores);
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

    /// A timeout under a millisecond would answer every client 408 at once, and cannot
    /// bound a blocking write (a zero write timeout is refused by the system).
    #[test]
    fn a_timeout_under_a_millisecond_is_refused_at_bind() {
        let root = std::env::temp_dir();
        for timeout in [Duration::ZERO, Duration::from_micros(999)] {
            let config = Config {
                timeout,
                ..Config::default()
            };
            let log = Arc::new(crate::log::NoLog);
            match Server::bind("127.0.0.1:0", &root, config, log) {
                Err(error @ ServerError::Config(_)) => assert_eq!(
                    error.to_string(),
                    "bad configuration: timeout must be at least 1 ms"
                ),
                Err(other) => panic!("{timeout:?}: {other}"),
                Ok(_) => panic!("{timeout:?}: a server was bound"),
            }
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
