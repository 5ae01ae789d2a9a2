//! The kit's own server under test: in this process, or as the real `server` binary.

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use weblab::{AccessLog, Config, LogEntry, Mode, Server, ServerHandle};

use super::*;

/// A server on a free port of 127.0.0.1, stopped when dropped.
pub struct TestServer {
    pub(super) addr: SocketAddr,
    pub(super) running: Running,
}

pub(super) enum Running {
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
        /// For a server on a fixed port: its turn on the port, given back once it stops.
        port_turn: Option<std::fs::File>,
        /// The folder it serves, listed when a request for a file fails.
        root: std::path::PathBuf,
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
        let exchange = exchange(self.addr, request.as_ref());
        match &self.running {
            Running::External { root, .. } => exchange.serving(root),
            _ => exchange,
        }
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
