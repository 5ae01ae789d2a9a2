//! External servers: an implementation in any language, started from a command line.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::*;

/// How long an external server may take to become ready before the test fails.
pub const STARTUP_PATIENCE: Duration = Duration::from_secs(10);

/// How long a server whose stdout has closed may take to close its stderr too (and so
/// to be seen exiting) before the harness takes it for alive.
const EXIT_PATIENCE: Duration = Duration::from_secs(1);

/// The most of an external server's stderr kept to show when a test fails.
const STDERR_KEPT: usize = 16 * 1024;

/// Splits a command template into words: on spaces, except inside "double" or 'single'
/// quotes. Backslashes are ordinary characters, so Windows paths need no escaping.
pub fn split_words(template: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut quote = None;
    for c in template.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.get_or_insert_with(String::new).push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                word.get_or_insert_with(String::new);
            }
            (None, c) if c.is_whitespace() => words.extend(word.take()),
            (None, c) => word.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(word);
    words
}

/// Builds a command from `template`, replacing each `{name}` with its value inside every
/// word (after splitting, so a value with spaces stays one argument). `{submission}` is
/// `WEBLAB_SUBMISSION`, the student's folder, which `grade class` sets; and the words of
/// `WEBLAB_CONTAIN`, if set, go in front: `grade class` starts every student program through
/// `grade contain`, which puts its limits on it.
pub fn command_from_template(template: &str, values: &[(&str, &str)]) -> Command {
    let submission = std::env::var("WEBLAB_SUBMISSION").ok();
    if template.contains("{submission}") && submission.is_none() {
        panic!(
            "\nexpected: WEBLAB_SUBMISSION to name the student's folder, for the {{submission}} \
             of `{template}`\n"
        );
    }
    let submission = [("submission", submission.as_deref().unwrap_or_default())];
    let mut words = std::env::var("WEBLAB_CONTAIN").map_or(Vec::new(), |p| split_words(&p));
    words.extend(split_words(template).into_iter().map(|word| {
        values
            .iter()
            .chain(&submission)
            .fold(word, |word, (name, value)| {
                word.replace(&format!("{{{name}}}"), value)
            })
    }));
    let Some((program, args)) = words.split_first() else {
        panic!("the command template is empty");
    };
    let mut command = Command::new(program);
    command.args(args);
    command
}

/// A port on 127.0.0.1 that was free a moment ago: bind port 0, read it, let it go.
/// Another program could take it before the server does; [`PortLease`] keeps the tests'
/// own servers from doing so.
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("a local address").port()
}

/// A free port, and the right to hand it to a server that has not bound it yet.
///
/// A port found free and let go stays free only until someone binds it, so two servers
/// started at once (two tests, or two test runs, each with its own `{port}`) could be
/// handed the same one: the second fails to bind, and its tests talk to the first. So the
/// port is found, and the server started, under a lock shared by every test process built
/// from this checkout, and the lease is given back once the server is listening. From then
/// on, the system gives that port to no one else who asks for a free one.
pub struct PortLease {
    pub port: u16,
    _lock: std::fs::File,
}

impl PortLease {
    /// Waits for the lock (held by another server's start, at most [`STARTUP_PATIENCE`]
    /// each), then finds a free port.
    pub fn take() -> PortLease {
        let folder = Path::new(env!("CARGO_TARGET_TMPDIR"));
        let _ = std::fs::create_dir_all(folder); // cargo makes it, but it may be cleaned
        let path = folder.join("weblab-ports.lock");
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display()));
        lock.lock()
            .unwrap_or_else(|e| panic!("cannot lock {}: {e}", path.display()));
        PortLease {
            port: free_port(),
            _lock: lock,
        }
    }
}

impl TestServer {
    /// Starts an implementation from a command template such as
    /// `python3 server.py {port} {root}`: `{port}` becomes a free port and `{root}` the
    /// folder to serve. A template without `{root}` is run with the folder to serve as its
    /// working directory, for servers that serve the folder they run in. A template may
    /// give port 0 instead of `{port}`, for a server that announces the port it got.
    ///
    /// The server is ready as soon as it prints a line starting with `listening on`, or
    /// else as soon as it answers a request (`GET /` with `Connection: close`) on the port.
    /// A process cannot announce readiness any other way, so this is the one place the
    /// harness polls: with a short, growing wait, for at most [`STARTUP_PATIENCE`].
    /// If the process exits first, the test fails showing its stderr.
    pub fn external(template: &str, root: &Path) -> TestServer {
        if template.contains("{port}") {
            let lease = PortLease::take();
            let server = TestServer::external_on(template, root, lease.port);
            drop(lease); // the server is listening on the port now
            server
        } else {
            TestServer::external_on(template, root, 0)
        }
    }

    /// [`TestServer::external`] with `{port}` replaced by `port`, which must be free: if
    /// another program holds it, the test fails at once, rather than later taking that
    /// program's answers for the server's.
    pub fn external_on(template: &str, root: &Path, port: u16) -> TestServer {
        if port != 0 {
            // Binding is the check that costs nothing on every platform (a refused connect
            // takes seconds on Windows).
            if let Err(e) = std::net::TcpListener::bind(("127.0.0.1", port)) {
                panic!(
                    "\nexpected: port {port} to be free for the server `{template}`\n\n\
                     another program holds it: {e}\n"
                );
            }
        }
        TestServer::spawn_external(template, root, port)
    }

    /// Starts a server that always listens on `port` (a template without `{port}`, like
    /// the assignment's server on 12345). Two such servers cannot listen at once, and one
    /// that sets no `SO_REUSEADDR` cannot start while the last one's connections linger in
    /// TIME_WAIT on the port. So, where the system permits it (Linux, as root or inside
    /// `grade class`'s user namespace), this test gets a network of its own, with its own
    /// loopback, and the port is free there. Elsewhere the servers on `port` take turns,
    /// under a lock shared by every test process built from this checkout, and each waits
    /// until the port can be bound again.
    pub fn external_on_fixed_port(template: &str, root: &Path, port: u16) -> TestServer {
        if this_thread_has_a_private_network() {
            return TestServer::spawn_external(template, root, port);
        }
        let turn = PortTurn::take(port);
        wait_until_bindable(port, template);
        let mut server = TestServer::spawn_external(template, root, port);
        if let Running::External { port_turn, .. } = &mut server.running {
            *port_turn = Some(turn.lock); // held until the server has been stopped
        }
        server
    }

    fn spawn_external(template: &str, root: &Path, port: u16) -> TestServer {
        let root_text = root.to_string_lossy();
        let mut command = command_from_template(
            template,
            &[("port", &port.to_string()), ("root", &root_text)],
        );
        // The assignment's server serves "files from its folder": a command that does not
        // take the root as an argument is started inside it instead.
        if !template.contains("{root}") {
            command.current_dir(root);
        }
        command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start the server `{template}`: {e}"));
        let stdin = child.stdin.take();
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let (listening, announced) = std::sync::mpsc::channel();
        if let Some(out) = child.stdout.take() {
            std::thread::spawn(move || watch_stdout(out, listening));
        }
        let (stderr_read, stderr_done) = std::sync::mpsc::channel::<()>();
        if let Some(err) = child.stderr.take() {
            let kept = Arc::clone(&stderr);
            std::thread::spawn(move || {
                keep_stderr(err, &kept);
                drop(stderr_read);
            });
        }
        let mut server = TestServer {
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            running: Running::External {
                child,
                stdin,
                stderr,
                stderr_done,
                port_turn: None,
                root: root.to_path_buf(),
            },
        };
        server.await_ready(template, &announced);
        server
    }

    fn await_ready(&mut self, template: &str, announced: &std::sync::mpsc::Receiver<String>) {
        use std::sync::mpsc::RecvTimeoutError;
        let started = Instant::now();
        let mut wait = Duration::from_millis(10);
        let mut stdout_open = true;
        while started.elapsed() < STARTUP_PATIENCE {
            if stdout_open {
                match announced.recv_timeout(wait) {
                    Ok(line) => {
                        if let Some(addr) = line
                            .trim()
                            .strip_prefix("listening on http://")
                            .and_then(|a| a.parse().ok())
                        {
                            self.addr = addr;
                        }
                        return;
                    }
                    Err(RecvTimeoutError::Timeout) => {}
                    Err(RecvTimeoutError::Disconnected) => {
                        stdout_open = false;
                        // Its stdout closed without a `listening on` line: most likely it
                        // is exiting (its port taken, a crash). If its stderr closes too,
                        // it has: fail now, before a probe can reach whatever else
                        // answers on that port.
                        if self.stderr_closes_within(EXIT_PATIENCE) {
                            let status = self.child().wait().ok();
                            self.fail_exited(template, status);
                        }
                    }
                }
            } else {
                std::thread::sleep(wait);
            }
            if let Some(status) = self.child().try_wait().ok().flatten() {
                self.fail_exited(template, Some(status));
            }
            if answers_a_request(self.addr) {
                return;
            }
            wait = (wait * 2).min(Duration::from_millis(200));
        }
        panic!(
            "\nexpected: the server to print 'listening on http://IP:PORT' or to answer on \
             port {} within {STARTUP_PATIENCE:?}\n\ncommand: {template}\n\
             --- the server's stderr ---\n{}",
            self.addr.port(),
            self.stderr()
        );
    }

    fn fail_exited(&self, template: &str, status: Option<std::process::ExitStatus>) -> ! {
        let status = status.map_or("status unknown".into(), |s| s.to_string());
        panic!(
            "\nexpected: the server to start and keep running\n\n\
             it exited ({status}) before it was ready.\n\
             command: {template}\n--- the server's stderr ---\n{}",
            self.stderr()
        );
    }

    /// Waits, at most `patience`, for the server's stderr to close: true if it did.
    fn stderr_closes_within(&self, patience: Duration) -> bool {
        match &self.running {
            Running::External { stderr_done, .. } => matches!(
                stderr_done.recv_timeout(patience),
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected)
            ),
            _ => false,
        }
    }

    /// What an external server has written to stderr so far (its last 16 KiB).
    pub fn stderr(&self) -> String {
        match &self.running {
            Running::External { stderr, .. } => stderr
                .lock()
                .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
                .unwrap_or_default(),
            _ => String::new(),
        }
    }

    /// Closes an external server's standard input: the signal to shut down gracefully
    /// that every language can receive.
    pub fn close_stdin(&mut self) {
        if let Running::External { stdin, .. } = &mut self.running {
            drop(stdin.take());
        }
    }

    /// Waits, at most `patience`, for the server process to exit, and returns its status.
    /// Waits on the event of its stderr closing, which happens when it exits (std cannot
    /// wait for a child with a time limit, but a pipe's reader can).
    pub fn wait_for_exit(&mut self, patience: Duration) -> Option<std::process::ExitStatus> {
        let Running::External { stderr_done, .. } = &self.running else {
            panic!("wait_for_exit is for servers started with TestServer::external");
        };
        match stderr_done.recv_timeout(patience) {
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => None,
            // Disconnected: the reader saw the end of stderr, so the process has gone.
            _ => self.child().wait().ok(),
        }
    }
}

/// Sends one `GET /` asking to close, and reads until the server does: true if anything
/// came back. A request, not a bare connect-and-close, so that a first attempt at a server
/// (one that assumes every connection carries a request) survives the check.
fn answers_a_request(addr: SocketAddr) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(500)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(PATIENCE));
    let _ = stream.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    !read_to_close(&mut stream).is_empty()
}

fn watch_stdout(out: std::process::ChildStdout, listening: std::sync::mpsc::Sender<String>) {
    let mut lines = BufReader::new(out);
    let mut line = String::new();
    while matches!(lines.read_line(&mut line), Ok(n) if n > 0) {
        if line.starts_with("listening on") {
            let _ = listening.send(line.clone());
        }
        line.clear();
    }
}

fn keep_stderr(mut err: std::process::ChildStderr, kept: &Mutex<Vec<u8>>) {
    let mut chunk = [0; 4096];
    while let Ok(n @ 1..) = err.read(&mut chunk) {
        if let Ok(mut kept) = kept.lock() {
            kept.extend_from_slice(&chunk[..n]);
            let excess = kept.len().saturating_sub(STDERR_KEPT);
            kept.drain(..excess);
        }
    }
}

/// How long a fixed port may stay in use before the test fails: longer than the TIME_WAIT
/// of every common system (60 s on Linux, 30 s on macOS, up to 120 s on Windows).
const FIXED_PORT_PATIENCE: Duration = Duration::from_secs(150);

/// The turn of one server on a fixed port, across every test process built from this
/// checkout: a lock on a file named after the port.
struct PortTurn {
    lock: std::fs::File,
}

impl PortTurn {
    fn take(port: u16) -> PortTurn {
        let folder = Path::new(env!("CARGO_TARGET_TMPDIR"));
        let _ = std::fs::create_dir_all(folder);
        let path = folder.join(format!("weblab-fixed-port-{port}.lock"));
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display()));
        lock.lock()
            .unwrap_or_else(|e| panic!("cannot lock {}: {e}", path.display()));
        PortTurn { lock }
    }
}

/// Waits until `port` can be bound by a program that sets no `SO_REUSEADDR`, as a student's
/// server may not: the last server's connections linger in TIME_WAIT for up to a minute or
/// two after it has gone. No event says when the system lets them go, so this polls, every
/// quarter second, for at most [`FIXED_PORT_PATIENCE`].
fn wait_until_bindable(port: u16, template: &str) {
    let started = Instant::now();
    while !port_is_bindable_without_reuse(port) {
        if started.elapsed() > FIXED_PORT_PATIENCE {
            panic!(
                "\nexpected: port {port} to be free for the server `{template}`, which always \
                 listens on it (WEBLAB_PORT)\n\nit is still in use after {FIXED_PORT_PATIENCE:?}: \
                 another program holds it\n"
            );
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// Gives this test's thread (and the threads and processes it starts) a network of its
/// own, where the system permits it, unless `WEBLAB_PRIVATE_NETWORK=off` (to try the other
/// path). True if it did.
fn this_thread_has_a_private_network() -> bool {
    if std::env::var("WEBLAB_PRIVATE_NETWORK").is_ok_and(|v| v == "off") {
        return false;
    }
    #[cfg(target_os = "linux")]
    {
        use weblab::class::contain::{enter_private_network, is_root, PrivateNetwork};
        // Only root (perhaps inside a user namespace) may, as a thread can enter a
        // network namespace but not a user namespace.
        is_root() && enter_private_network(&PrivateNetwork::prepare()).is_ok()
    }
    #[cfg(not(target_os = "linux"))]
    false
}
