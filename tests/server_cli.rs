//! The `server` command line: the listening line, the access log, and clear errors for bad
//! input, each with the documented exit status.

mod support;

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Command, Stdio};

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
fn every_mode_is_accepted_on_the_command_line() {
    let site = Site::new().file("index.html", "home");
    for mode in ["single", "threaded", "pool"] {
        let server = TestServer::binary(site.path(), &["--quiet", "--mode", mode]);
        server.get("/").assert_status(200).assert_body("home");
    }
}

#[test]
fn each_request_writes_one_escaped_access_log_line_to_stderr() {
    let site = Site::new().file("index.html", "home");
    let mut child = Command::new(env!("CARGO_BIN_EXE_server"))
        .args(["--port", "0", "--root"])
        .arg(site.path())
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
        .and_then(|a| a.parse().ok())
        .expect("a listening line");

    exchange(addr, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").assert_status(200);
    exchange(addr, b"GET /\x1b[31mred HTTP/1.1\r\nHost: x\r\n\r\n").assert_status(400);

    let mut stderr = BufReader::new(child.stderr.take().expect("piped"));
    let mut first = String::new();
    let mut second = String::new();
    stderr.read_line(&mut first).expect("read a log line");
    stderr.read_line(&mut second).expect("read a log line");
    let _ = child.kill();
    let _ = child.wait();
    // Two workers may finish logging in either order.
    let (ok, bad) = match first.contains(" 200 ") {
        true => (first, second),
        false => (second, first),
    };
    assert!(ok.contains("\"GET / HTTP/1.1\" 200 "), "log line: {ok:?}");
    assert!(bad.contains("\\x1b[31mred"), "escaped log line: {bad:?}");
    assert!(!bad.contains('\x1b'), "no raw escape character: {bad:?}");
}

#[test]
fn quiet_writes_no_access_log() {
    let site = Site::new().file("index.html", "home");
    let mut child = Command::new(env!("CARGO_BIN_EXE_server"))
        .args(["--port", "0", "--quiet", "--root"])
        .arg(site.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the server");
    let mut stdout = BufReader::new(child.stdout.take().expect("piped"));
    let mut line = String::new();
    stdout
        .read_line(&mut line)
        .expect("read the listening line");
    let addr = line.trim()["listening on http://".len()..]
        .parse()
        .expect("an address");
    exchange(addr, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").assert_status(200);
    let _ = child.kill();
    let output = child.wait_with_output().expect("collect the output");
    assert!(
        output.stderr.is_empty(),
        "stderr: {:?}",
        String::from_utf8_lossy(&output.stderr)
    );
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
