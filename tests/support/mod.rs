//! The test harness every test file shares: start a server, build a site, exchange raw
//! bytes, and assert with failure messages that show the request, the response and what
//! was expected.
//!
//! ```ignore
//! let site = Site::new().file("index.html", "hello");
//! let server = TestServer::start(site.path(), Mode::Pool);
//! server.get("/").assert_status(200).assert_body("hello");
//! ```
#![allow(dead_code)] // each test file uses a different part of the harness

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tempfile::TempDir;
use weblab::{AccessLog, Config, LogEntry, Mode, Server, ServerHandle};

/// How long any single test read may wait before the test fails instead of hanging.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// Runs one test body once in every server mode: `every_mode!(name1, name2)` turns each
/// `fn name(mode: Mode)` into the tests `name::single`, `name::threaded` and `name::pool`.
#[macro_export]
macro_rules! every_mode {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[test]
            fn single() {
                super::$name(weblab::Mode::Single)
            }
            #[test]
            fn threaded() {
                super::$name(weblab::Mode::Threaded)
            }
            #[test]
            fn pool() {
                super::$name(weblab::Mode::Pool)
            }
        }
    )*};
}

// ---------------------------------------------------------------------------------------
// Sites

/// A temporary folder to serve, built one line per file; removed when dropped.
pub struct Site {
    dir: TempDir,
}

impl Site {
    /// An empty site.
    pub fn new() -> Site {
        Site {
            dir: tempfile::tempdir().expect("create a temporary folder"),
        }
    }

    /// The sample site in `fixtures/www`, copied so tests may change it.
    pub fn sample() -> Site {
        let site = Site::new();
        copy_tree(&fixtures().join("www"), site.path());
        site
    }

    /// Adds a file (and any missing parent folders).
    pub fn file(self, path: &str, contents: impl AsRef<[u8]>) -> Site {
        let full = self.path().join(path);
        if let Some(parent) = full.parent() {
            std::fs::create_dir_all(parent).expect("create parent folders");
        }
        std::fs::write(&full, contents).expect("write a site file");
        self
    }

    /// Adds an empty folder.
    pub fn dir(self, path: &str) -> Site {
        std::fs::create_dir_all(self.path().join(path)).expect("create a folder");
        self
    }

    /// Adds a symbolic link at `link` pointing to `target` (taken as is: relative targets
    /// are relative to the link's folder). Returns `None` where the platform refuses
    /// (Windows without developer mode), so a test can say it was skipped.
    pub fn symlink(self, link: &str, target: impl AsRef<Path>) -> Option<Site> {
        let full = self.path().join(link);
        make_symlink(target.as_ref(), &full).ok()?;
        Some(self)
    }

    /// The folder's path.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

#[cfg(unix)]
fn make_symlink(target: &Path, link: &Path) -> std::io::Result<()> {
    std::os::unix::fs::symlink(target, link)
}

#[cfg(windows)]
fn make_symlink(target: &Path, link: &Path) -> std::io::Result<()> {
    let resolved = link
        .parent()
        .map_or(target.to_path_buf(), |p| p.join(target));
    match resolved.is_dir() {
        true => std::os::windows::fs::symlink_dir(target, link),
        false => std::os::windows::fs::symlink_file(target, link),
    }
}

/// The repository's `fixtures` folder.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

fn copy_tree(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).expect("read fixtures") {
        let entry = entry.expect("read a fixtures entry");
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            std::fs::create_dir_all(&target).expect("create a folder");
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy a fixture");
        }
    }
}

// ---------------------------------------------------------------------------------------
// Servers

/// A server on a free port of 127.0.0.1, stopped when dropped.
pub struct TestServer {
    addr: SocketAddr,
    running: Running,
}

enum Running {
    InProcess {
        handle: ServerHandle,
        thread: Option<JoinHandle<std::io::Result<()>>>,
        log: Arc<MemoryLog>,
    },
    Process {
        child: Child,
    },
    /// Started by [`TestServer::external`]: stdin held open, stderr kept for failures.
    External {
        child: Child,
        stdin: Option<std::process::ChildStdin>,
        stderr: Arc<Mutex<Vec<u8>>>,
        /// Disconnects once all of stderr has been read.
        stderr_done: std::sync::mpsc::Receiver<()>,
    },
}

impl TestServer {
    /// Starts the library's server in this process, in `mode`, with default settings.
    pub fn start(root: &Path, mode: Mode) -> TestServer {
        TestServer::start_with(root, test_config(mode))
    }

    /// Starts the library's server in this process with `config`.
    pub fn start_with(root: &Path, config: Config) -> TestServer {
        let log = Arc::new(MemoryLog::default());
        let server = Server::bind(
            "127.0.0.1:0",
            root,
            config,
            log.clone() as Arc<dyn AccessLog>,
        )
        .expect("start a test server");
        let addr = server.local_addr();
        let handle = server.handle();
        let thread = std::thread::spawn(move || server.run());
        TestServer {
            addr,
            running: Running::InProcess {
                handle,
                thread: Some(thread),
                log,
            },
        }
    }

    /// Starts the real `server` binary with `--port 0 --root ROOT` and `args`, and learns
    /// its address from the `listening on` line it prints: no sleeping, no guessing.
    pub fn binary(root: &Path, args: &[&str]) -> TestServer {
        let mut command = Command::new(env!("CARGO_BIN_EXE_server"));
        command
            .args(["--port", "0", "--root"])
            .arg(root)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        TestServer::spawn(command)
    }

    /// Starts `command`, which must print `listening on http://IP:PORT` on stdout.
    pub fn spawn(mut command: Command) -> TestServer {
        let mut child = command.spawn().expect("start the server process");
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut line = String::new();
        let read = BufReader::new(stdout).read_line(&mut line);
        let addr = line
            .trim()
            .strip_prefix("listening on http://")
            .and_then(|a| a.parse().ok());
        let Some(addr) = addr else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("server did not print 'listening on http://IP:PORT' (read {read:?}: {line:?})");
        };
        TestServer {
            addr,
            running: Running::Process { child },
        }
    }

    /// The server's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The handle of an in-process server.
    pub fn handle(&self) -> &ServerHandle {
        match &self.running {
            Running::InProcess { handle, .. } => handle,
            _ => panic!("a server process has no in-process handle"),
        }
    }

    /// The process of a server started with [`TestServer::binary`] or
    /// [`TestServer::external`].
    pub fn child(&mut self) -> &mut Child {
        match &mut self.running {
            Running::Process { child } | Running::External { child, .. } => child,
            Running::InProcess { .. } => panic!("an in-process server has no child process"),
        }
    }

    /// Stops an in-process server and returns its whole access log. (Reading the log while
    /// the server runs could miss the last line: a response reaches the client before the
    /// server has finished logging it.)
    pub fn stop_and_read_log(mut self) -> Vec<LogEntry> {
        self.stop_now();
        self.log()
    }

    /// The access log of an in-process server, so far.
    pub fn log(&self) -> Vec<LogEntry> {
        match &self.running {
            Running::InProcess { log, .. } => log.entries(),
            _ => panic!("read a server process's log from its stderr"),
        }
    }

    /// Sends `GET path HTTP/1.1` and returns the exchange.
    pub fn get(&self, path: &str) -> Exchange {
        self.send(format!("GET {path} HTTP/1.1\r\nHost: test\r\n\r\n"))
    }

    /// Sends `HEAD path HTTP/1.1` and returns the exchange.
    pub fn head(&self, path: &str) -> Exchange {
        self.send(format!("HEAD {path} HTTP/1.1\r\nHost: test\r\n\r\n"))
    }

    /// Sends raw bytes and reads the response until the server closes.
    pub fn send(&self, request: impl AsRef<[u8]>) -> Exchange {
        exchange(self.addr, request.as_ref())
    }

    /// Opens a connection, for tests that send in several steps.
    pub fn connect(&self) -> TcpStream {
        connect(self.addr)
    }

    /// Stops the server and waits until it has: every thread joined, or the process gone.
    pub fn stop(mut self) {
        self.stop_now();
    }

    fn stop_now(&mut self) {
        match &mut self.running {
            Running::InProcess { handle, thread, .. } => {
                handle.shutdown();
                if let Some(thread) = thread.take() {
                    let result = thread.join();
                    if !std::thread::panicking() {
                        let result = result.expect("the server thread panicked");
                        result.expect("the server loop returned an error");
                    }
                }
            }
            Running::Process { child } | Running::External { child, .. } => {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if std::thread::panicking() && matches!(self.running, Running::External { .. }) {
            // Printed while the failing test unwinds, so it lands in that test's output.
            // Stopped first, so its stderr is complete (it may have just crashed).
            self.stop_now();
            if let Running::External { stderr_done, .. } = &self.running {
                let _ = stderr_done.recv_timeout(Duration::from_secs(1));
            }
            let stderr = self.stderr();
            if !stderr.trim().is_empty() {
                eprintln!("--- the server's stderr ---\n{}", stderr.trim());
            }
        }
        self.stop_now();
    }
}

/// Settings for test servers: the defaults, with the mode given.
pub fn test_config(mode: Mode) -> Config {
    Config {
        mode,
        ..Config::default()
    }
}

/// An access log that keeps entries in memory for tests to read.
#[derive(Default)]
pub struct MemoryLog {
    entries: Mutex<Vec<LogEntry>>,
}

impl MemoryLog {
    pub fn entries(&self) -> Vec<LogEntry> {
        self.entries.lock().map(|e| e.clone()).unwrap_or_default()
    }
}

impl AccessLog for MemoryLog {
    fn record(&self, entry: &LogEntry) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.push(entry.clone());
        }
    }
}

// ---------------------------------------------------------------------------------------
// Exchanges

/// Connects with a bounded read timeout, so a silent server fails the test, not hangs it.
pub fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect_timeout(&addr, PATIENCE).expect("connect to the server");
    stream
        .set_read_timeout(Some(PATIENCE))
        .expect("set a read timeout");
    stream
}

/// Sends `request` on a new connection and reads one whole response: up to the end of its
/// `Content-Length`, or until the server closes when the response has no length.
pub fn exchange(addr: SocketAddr, request: &[u8]) -> Exchange {
    let mut stream = connect(addr);
    // The server may answer and close before reading all of a bad request; that is fine.
    let _ = stream.write_all(request);
    let raw = read_response(&mut stream, request.starts_with(b"HEAD "));
    Exchange::new(request.to_vec(), raw)
}

/// Reads one response from `stream` as a client would (RFC 9112, 6.3): the head, then
/// `Content-Length` bytes, nothing for HEAD, 1xx, 204 and 304, or else everything until
/// the server closes. Stops early if the server closes or [`PATIENCE`] runs out.
pub fn read_response(stream: &mut TcpStream, to_head: bool) -> Vec<u8> {
    let mut raw = Vec::new();
    let started = Instant::now();
    let mut chunk = [0; 64 * 1024];
    while started.elapsed() < PATIENCE {
        if let Some(wanted) = response_length(&raw, to_head) {
            if raw.len() >= wanted {
                break;
            }
        }
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => raw.extend_from_slice(&chunk[..n]),
        }
    }
    raw
}

/// Reads responses one after another from a persistent connection, keeping any bytes of
/// the next response that arrive with the current one (pipelining).
pub struct ResponseReader {
    stream: TcpStream,
    pending: Vec<u8>,
}

impl ResponseReader {
    pub fn new(stream: TcpStream) -> ResponseReader {
        ResponseReader {
            stream,
            pending: Vec::new(),
        }
    }

    /// The connection, to send more requests on.
    pub fn stream(&mut self) -> &mut TcpStream {
        &mut self.stream
    }

    /// The next whole response (see [`read_response`]); `to_head` if it answers a HEAD.
    pub fn next_response(&mut self, to_head: bool) -> Vec<u8> {
        let started = Instant::now();
        let mut chunk = [0; 64 * 1024];
        while started.elapsed() < PATIENCE {
            if let Some(wanted) = response_length(&self.pending, to_head) {
                if self.pending.len() >= wanted {
                    let rest = self.pending.split_off(wanted);
                    return std::mem::replace(&mut self.pending, rest);
                }
            }
            match self.stream.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => self.pending.extend_from_slice(&chunk[..n]),
            }
        }
        std::mem::take(&mut self.pending)
    }
}

/// The total length of the response at the start of `raw`, once its head is there and it
/// says how long it is.
fn response_length(raw: &[u8], to_head: bool) -> Option<usize> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = String::from_utf8_lossy(&raw[..end]);
    let status: u16 = head.split(' ').nth(1)?.parse().ok()?;
    if to_head || status < 200 || status == 204 || status == 304 {
        return Some(end);
    }
    let length = head.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.eq_ignore_ascii_case("content-length")
            .then(|| value.trim().parse::<usize>().ok())?
    })?;
    Some(end + length)
}

/// Reads until the peer closes, a reset, or [`PATIENCE`] runs out.
pub fn read_to_close(stream: &mut TcpStream) -> Vec<u8> {
    let mut raw = Vec::new();
    let started = Instant::now();
    let mut chunk = [0; 64 * 1024];
    while started.elapsed() < PATIENCE {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => raw.extend_from_slice(&chunk[..n]),
        }
    }
    raw
}

/// A parsed HTTP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub version: String,
    pub status: u16,
    pub reason: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// Parses a whole response as received; `None` if it is not one.
pub fn parse_response(raw: &[u8]) -> Option<Response> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..end]).ok()?;
    let mut lines = head.split("\r\n");
    let mut status_line = lines.next()?.splitn(3, ' ');
    let version = status_line.next()?.to_string();
    let status = status_line.next()?.parse().ok()?;
    let reason = status_line.next().unwrap_or_default().to_string();
    if !version.starts_with("HTTP/1.") {
        return None;
    }
    let mut headers = Vec::new();
    for line in lines {
        let (name, value) = line.split_once(':')?;
        headers.push((name.to_string(), value.trim().to_string()));
    }
    Some(Response {
        version,
        status,
        reason,
        headers,
        body: raw[end + 4..].to_vec(),
    })
}

/// One request and what came back, with assertions that explain themselves.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub request: Vec<u8>,
    pub raw: Vec<u8>,
    pub response: Option<Response>,
}

impl Exchange {
    pub fn new(request: Vec<u8>, raw: Vec<u8>) -> Exchange {
        let response = parse_response(&raw);
        Exchange {
            request,
            raw,
            response,
        }
    }

    /// Fails the test with the request, the response and `expected`.
    #[track_caller]
    pub fn fail(&self, expected: &str) -> ! {
        panic!(
            "\nexpected: {expected}\n\n--- request sent ---\n{}\n--- response received ---\n{}\n",
            show(&self.request),
            if self.raw.is_empty() {
                "(nothing: the connection closed without a response)".to_string()
            } else {
                show(&self.raw)
            }
        )
    }

    /// The parsed response; fails the test if there is none.
    #[track_caller]
    pub fn response(&self) -> &Response {
        match &self.response {
            Some(response) => response,
            None => self.fail("a well-formed HTTP/1.x response"),
        }
    }

    #[track_caller]
    pub fn status(&self) -> u16 {
        self.response().status
    }

    /// The first header called `name` (case-insensitive).
    #[track_caller]
    pub fn header(&self, name: &str) -> Option<&str> {
        self.response()
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    #[track_caller]
    pub fn body(&self) -> &[u8] {
        &self.response().body
    }

    #[track_caller]
    pub fn assert_status(&self, expected: u16) -> &Exchange {
        if self.status() != expected {
            self.fail(&format!("status {expected}"));
        }
        self
    }

    #[track_caller]
    pub fn assert_header(&self, name: &str, expected: &str) -> &Exchange {
        if self.header(name) != Some(expected) {
            self.fail(&format!("header '{name}: {expected}'"));
        }
        self
    }

    #[track_caller]
    pub fn assert_has_header(&self, name: &str) -> &Exchange {
        if self.header(name).is_none() {
            self.fail(&format!("a '{name}' header"));
        }
        self
    }

    #[track_caller]
    pub fn assert_no_header(&self, name: &str) -> &Exchange {
        if self.header(name).is_some() {
            self.fail(&format!("no '{name}' header"));
        }
        self
    }

    #[track_caller]
    pub fn assert_body(&self, expected: impl AsRef<[u8]>) -> &Exchange {
        let expected = expected.as_ref();
        if self.body() != expected {
            self.fail(&format!(
                "a body of {} bytes: {}",
                expected.len(),
                show(expected)
            ));
        }
        self
    }

    /// The body is exactly `Content-Length` bytes long.
    #[track_caller]
    pub fn assert_length_matches(&self) -> &Exchange {
        let length = self.header("Content-Length").and_then(|v| v.parse().ok());
        if length != Some(self.body().len()) {
            self.fail("a Content-Length equal to the body's length");
        }
        self
    }

    #[track_caller]
    pub fn assert_body_contains(&self, part: &str) -> &Exchange {
        if !String::from_utf8_lossy(self.body()).contains(part) {
            self.fail(&format!("a body containing {part:?}"));
        }
        self
    }

    #[track_caller]
    pub fn assert_body_lacks(&self, part: &str) -> &Exchange {
        if String::from_utf8_lossy(self.body()).contains(part) {
            self.fail(&format!("a body without {part:?}"));
        }
        self
    }
}

/// Shows bytes readably: text as text, other bytes escaped, long input shortened.
pub fn show(bytes: &[u8]) -> String {
    const LIMIT: usize = 2048;
    let mut out = String::new();
    for &b in bytes.iter().take(LIMIT) {
        match b {
            b'\n' => out.push_str("\\n\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push('\t'),
            0x20..=0x7e => out.push(b as char),
            _ => {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
    if bytes.len() > LIMIT {
        let _ = write!(out, "\n... ({} more bytes)", bytes.len() - LIMIT);
    }
    out
}

/// The peak resident memory of a process in KiB, where the platform tells it cheaply
/// (Linux's /proc). Elsewhere `None`, and memory tests say they were skipped.
pub fn peak_memory_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

// ---------------------------------------------------------------------------------------
// External servers: an implementation in any language, started from a command line

/// How long an external server may take to become ready before the test fails.
pub const STARTUP_PATIENCE: Duration = Duration::from_secs(10);

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
/// word (after splitting, so a value with spaces stays one argument).
pub fn command_from_template(template: &str, values: &[(&str, &str)]) -> Command {
    let words: Vec<String> = split_words(template)
        .into_iter()
        .map(|word| {
            values.iter().fold(word, |word, (name, value)| {
                word.replace(&format!("{{{name}}}"), value)
            })
        })
        .collect();
    let Some((program, args)) = words.split_first() else {
        panic!("the command template is empty");
    };
    let mut command = Command::new(program);
    command.args(args);
    command
}

/// A port on 127.0.0.1 that was free a moment ago: bind port 0, read it, let it go.
/// (Another program could take it before the server does; on a test machine that is rare,
/// and the failure says so.)
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("a local address").port()
}

impl TestServer {
    /// Starts an implementation from a command template such as
    /// `python3 server.py {port} {root}`: `{port}` becomes a free port and `{root}` the
    /// folder to serve.
    ///
    /// The server is ready as soon as it prints a line starting with `listening on`, or
    /// else as soon as it answers a request (`GET /` with `Connection: close`) on the port.
    /// A process cannot announce readiness any other way, so this is the one place the
    /// harness polls: with a short, growing wait, for at most [`STARTUP_PATIENCE`].
    /// If the process exits first, the test fails showing its stderr.
    pub fn external(template: &str, root: &Path) -> TestServer {
        let port = free_port();
        let root_text = root.to_string_lossy();
        let mut command = command_from_template(
            template,
            &[("port", &port.to_string()), ("root", &root_text)],
        );
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
                    Err(RecvTimeoutError::Disconnected) => stdout_open = false,
                }
            } else {
                std::thread::sleep(wait);
            }
            if let Some(status) = self.child().try_wait().ok().flatten() {
                panic!(
                    "\nexpected: the server to start and keep running\n\n\
                     it exited ({status}) before it was ready.\n\
                     command: {template}\n--- the server's stderr ---\n{}",
                    self.stderr()
                );
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
    /// Polls: std cannot wait for a child with a time limit.
    pub fn wait_for_exit(&mut self, patience: Duration) -> Option<std::process::ExitStatus> {
        let started = Instant::now();
        let mut wait = Duration::from_millis(5);
        loop {
            if let Some(status) = self.child().try_wait().ok().flatten() {
                return Some(status);
            }
            if started.elapsed() >= patience {
                return None;
            }
            std::thread::sleep(wait);
            wait = (wait * 2).min(Duration::from_millis(100));
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
