//! The `server` command line: the listening line, the access log, and clear errors for bad
//! input, each with the documented exit status.

mod support;

use std::io::{BufRead, BufReader, Read};
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use assert_cmd::Command as AssertCommand;
use predicates::prelude::*;
use support::{exchange, Site, TestServer};

fn server() -> AssertCommand {
    AssertCommand::new(env!("CARGO_BIN_EXE_server"))
}

#[test]
fn port_0_prints_one_listening_line_with_the_real_port() {
    let site = Site::new().file("index.html", "home");
    let server = TestServer::binary(site.path(), &["--quiet"]);
    assert_ne!(server.addr().port(), 0);
    server.get("/").assert_status(200).assert_body("home");
}

#[test]
fn delay_ms_holds_each_response_that_long() {
    let site = Site::new().file("index.html", "home");
    let server = TestServer::binary(site.path(), &["--quiet", "--delay-ms", "300"]);
    let started = std::time::Instant::now();
    server.get("/").assert_status(200).assert_body("home");
    let took = started.elapsed();
    assert!(
        took >= std::time::Duration::from_millis(300),
        "--delay-ms 300, and the response came after {took:?}"
    );
}

#[test]
fn every_mode_is_accepted_on_the_command_line() {
    let site = Site::new().file("index.html", "home");
    for mode in ["single", "threaded", "pool"] {
        let server = TestServer::binary(site.path(), &["--quiet", "--mode", mode]);
        server.get("/").assert_status(200).assert_body("home");
    }
}

/// The real server with its stderr piped, to read its access log; killed when dropped,
/// even when a test fails half-way.
struct LoggedServer {
    child: Child,
    addr: SocketAddr,
}

impl LoggedServer {
    fn start(root: &Path, extra: &[&str]) -> LoggedServer {
        let mut child = Command::new(env!("CARGO_BIN_EXE_server"))
            .args(["--port", "0", "--root"])
            .arg(root)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the server");
        let mut stdout = BufReader::new(child.stdout.take().expect("piped"));
        let mut line = String::new();
        stdout
            .read_line(&mut line)
            .expect("read the listening line");
        let addr = line
            .trim()
            .strip_prefix("listening on http://")
            .and_then(|a| a.parse().ok());
        let Some(addr) = addr else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("no listening line: {line:?}");
        };
        LoggedServer { child, addr }
    }

    /// Stops the server and returns everything it wrote to stderr.
    fn stop_and_read_stderr(mut self) -> String {
        let mut stderr = self.child.stderr.take().expect("piped");
        let _ = self.child.kill();
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    }
}

impl Drop for LoggedServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// In single mode, a connection is logged before the next one is accepted: once a later
/// exchange is answered, the lines of the earlier ones are written.
const SINGLE: &[&str] = &["--mode", "single"];

#[test]
fn each_request_writes_one_escaped_access_log_line_to_stderr() {
    let site = Site::new().file("index.html", "home");
    let server = LoggedServer::start(site.path(), SINGLE);
    exchange(server.addr, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").assert_status(200);
    exchange(server.addr, b"GET /\x1b[31mred HTTP/1.1\r\nHost: x\r\n\r\n").assert_status(400);
    exchange(server.addr, b"GET /last HTTP/1.1\r\nHost: x\r\n\r\n").assert_status(404);
    let log = server.stop_and_read_stderr();
    let lines: Vec<&str> = log.lines().collect();
    assert!(lines.len() >= 2, "one line per request: {log:?}");
    assert!(
        lines[0].contains("\"GET / HTTP/1.1\" 200 "),
        "log line: {:?}",
        lines[0]
    );
    assert!(
        lines[1].contains("\\x1b[31mred"),
        "escaped log line: {:?}",
        lines[1]
    );
    assert!(!log.contains('\x1b'), "no raw escape character: {log:?}");
}

#[test]
fn quiet_writes_no_access_log() {
    let site = Site::new().file("index.html", "home");
    let server = LoggedServer::start(site.path(), &["--quiet", "--mode", "single"]);
    exchange(server.addr, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").assert_status(200);
    exchange(server.addr, b"GET /last HTTP/1.1\r\nHost: x\r\n\r\n").assert_status(404);
    let stderr = server.stop_and_read_stderr();
    assert!(stderr.is_empty(), "stderr: {stderr:?}");
}

#[test]
fn a_missing_root_is_a_usage_error() {
    let site = Site::new();
    server()
        .args(["--port", "0", "--root"])
        .arg(site.path().join("no-such-folder"))
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains("cannot serve root folder"))
        .stderr(predicate::str::contains("panicked").not());
}

#[test]
fn a_root_that_is_a_file_is_a_usage_error() {
    let site = Site::new().file("file.txt", "x");
    server()
        .args(["--port", "0", "--root"])
        .arg(site.path().join("file.txt"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not a directory"));
}

#[test]
fn a_port_in_use_is_a_clear_error() {
    let site = Site::new();
    let taken = TcpListener::bind("127.0.0.1:0").expect("take a port");
    let port = taken.local_addr().expect("address").port().to_string();
    server()
        .args(["--port", &port, "--root"])
        .arg(site.path())
        .assert()
        .code(1)
        .stderr(predicate::str::contains("cannot listen"))
        .stderr(predicate::str::contains("panicked").not());
}

#[test]
fn a_port_out_of_range_is_a_usage_error() {
    for port in ["65536", "99999", "http"] {
        server()
            .args(["--port", port])
            .assert()
            .code(2)
            .stderr(predicate::str::contains("--port"))
            .stderr(predicate::str::is_match("^server: [^\n]*\n$").expect("a regex"));
    }
}

#[test]
fn a_timeout_too_small_to_be_one_is_a_usage_error() {
    // 1e-10 s would round to a zero socket timeout, which the OS refuses: every
    // connection would then fail. Bounded, so a server that starts anyway fails
    // the test instead of running on.
    for flag in ["--timeout", "--keep-alive-timeout"] {
        for bad in ["1e-10", "0.0009", "0", "-1", "NaN", "inf"] {
            server()
                .args(["--port", "0", &format!("{flag}={bad}")])
                .timeout(std::time::Duration::from_secs(10))
                .assert()
                .code(2)
                .stderr(predicate::str::starts_with(format!(
                    "server: invalid value '{bad}' for '{flag} <"
                )))
                .stderr(predicate::str::contains("at least 0.001"))
                .stderr(predicate::str::is_match("^server: [^\n]*\n$").expect("a regex"));
        }
    }
}

#[test]
fn an_unknown_flag_is_a_usage_error() {
    server()
        .arg("--frobnicate")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--frobnicate"))
        .stderr(predicate::str::is_match("^server: [^\n]*\n$").expect("a regex"));
}

#[test]
fn an_unknown_mode_is_a_usage_error() {
    server()
        .args(["--mode", "forked"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("forked"));
}

#[test]
fn help_describes_every_flag() {
    server().arg("--help").assert().success().stdout(
        predicate::str::contains("--port")
            .and(predicate::str::contains("--bind"))
            .and(predicate::str::contains("--root"))
            .and(predicate::str::contains("--mode"))
            .and(predicate::str::contains("--timeout"))
            .and(predicate::str::contains("--quiet")),
    );
}
