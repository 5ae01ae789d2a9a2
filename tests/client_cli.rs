//! The `client` command line: arguments, flags, exit statuses, messages.
//!
//! Exit status: 0 for any complete response, 1 for a failure (or a status
//! of 400 or more with `--fail`), 2 for a usage error.

mod client_support;

use client_support::{client, closed_port, fixture, FakeServer, Then};
use predicates::prelude::*;

#[test]
fn missing_argument_is_a_usage_error() {
    client()
        .args(["localhost", "8080"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("<PATH>"));
}

#[test]
fn non_numeric_port_is_a_usage_error() {
    client()
        .args(["localhost", "http", "/"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "invalid value 'http' for '<PORT>'",
        ));
}

#[test]
fn out_of_range_port_is_a_usage_error() {
    client()
        .args(["localhost", "65536", "/"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "invalid value '65536' for '<PORT>'",
        ));
}

#[test]
fn port_zero_is_a_usage_error() {
    client()
        .args(["localhost", "0", "/"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("invalid value '0' for '<PORT>'"));
}

#[test]
fn a_timeout_too_small_to_be_one_is_a_usage_error_on_one_line() {
    // Below 1 ms a socket timeout rounds to zero, which the OS refuses.
    for flag in ["--timeout", "--max-time"] {
        for bad in ["1e-10", "0.0009", "0", "-1", "NaN", "inf", "soon"] {
            client()
                .args(["localhost", "8080", "/", &format!("{flag}={bad}")])
                .assert()
                .code(2)
                .stderr(predicate::str::starts_with(format!(
                    "client: invalid value '{bad}' for '{flag} <SECS>': "
                )))
                .stderr(predicate::str::is_match("^client: [^\n]*\n$").expect("a regex"));
        }
    }
}

#[test]
fn timeouts_may_be_fractional_down_to_a_millisecond() {
    let server = FakeServer::fixture("keep-alive.http", Then::Close);
    client()
        .args(["127.0.0.1", &server.port(), "/"])
        .args(["--timeout", "2.5", "--max-time", "1e1"])
        .assert()
        .success()
        .stdout(fixture("keep-alive.http"));
}

#[test]
fn every_usage_error_is_one_line() {
    for args in [
        &["localhost", "8080"][..],
        &["localhost", "8080", "/", "--frob"],
    ] {
        client().args(args).assert().code(2).stderr(
            predicate::str::is_match(r"^client: [^\n]*\(see client --help\)\n$").expect("a regex"),
        );
    }
}

#[test]
fn help_lists_every_flag() {
    client().arg("--help").assert().success().stdout(
        predicate::str::contains("--head")
            .and(predicate::str::contains("--output <FILE>"))
            .and(predicate::str::contains("-o"))
            .and(predicate::str::contains("--timeout <SECS>"))
            .and(predicate::str::contains("[default: 30]"))
            .and(predicate::str::contains("--max-time <SECS>"))
            .and(predicate::str::contains("[default: 300]"))
            .and(predicate::str::contains("--fail")),
    );
}

#[test]
fn unresolvable_host_says_cannot_resolve() {
    // The .invalid top-level domain never resolves (RFC 6761 section 6.4).
    client()
        .args(["no-such-host.invalid", "80", "/"])
        .assert()
        .code(1)
        .stdout("")
        .stderr(predicate::str::starts_with(
            "client: cannot resolve no-such-host.invalid: ",
        ));
}

#[test]
fn refused_connection_says_cannot_connect() {
    let port = closed_port().to_string();
    client()
        .args(["127.0.0.1", &port, "/"])
        .assert()
        .code(1)
        .stdout("")
        .stderr(predicate::str::starts_with(format!(
            "client: cannot connect to 127.0.0.1:{port}: "
        )))
        .stderr(predicate::str::ends_with("\n").and(predicate::str::contains('\n').count(1)));
}

#[test]
fn default_output_is_status_line_headers_blank_line_then_body() {
    let server = FakeServer::fixture("keep-alive.http", Then::Close);
    client()
        .args(["127.0.0.1", &server.port(), "/"])
        .assert()
        .success()
        .stdout(fixture("keep-alive.http"))
        .stderr("");
}

#[test]
fn request_has_method_path_host_user_agent_and_connection_close() {
    let server = FakeServer::fixture("keep-alive.http", Then::Close);
    let port = server.port();
    client()
        .args(["127.0.0.1", &port, "/dir/page.html"])
        .assert()
        .success();

    let request = server.received();
    let expected_lines = [
        "GET /dir/page.html HTTP/1.1\r\n".to_string(),
        format!("Host: 127.0.0.1:{port}\r\n"),
        "User-Agent: weblab-client/".to_string(),
        "Connection: close\r\n".to_string(),
    ];
    assert!(
        request.starts_with(&expected_lines[0]),
        "request sent:\n{request}"
    );
    for line in &expected_lines {
        assert!(
            request.contains(line.as_str()),
            "missing {line:?} in request sent:\n{request}"
        );
    }
    assert!(request.ends_with("\r\n\r\n"), "request sent:\n{request}");
}

#[test]
fn path_without_leading_slash_gets_one() {
    let server = FakeServer::fixture("keep-alive.http", Then::Close);
    client()
        .args(["127.0.0.1", &server.port(), "index.html"])
        .assert()
        .success();
    let request = server.received();
    assert!(
        request.starts_with("GET /index.html HTTP/1.1\r\n"),
        "request sent:\n{request}"
    );
}

#[test]
fn head_flag_sends_head_and_does_not_wait_for_a_body() {
    // The reply announces 1000 bytes and the connection stays open: a client
    // that expected a body after HEAD would hang until its timeout.
    let server = FakeServer::fixture("head.http", Then::KeepOpen);
    client()
        .args(["127.0.0.1", &server.port(), "/", "--head", "--timeout", "5"])
        .assert()
        .success()
        .stdout(fixture("head.http"));
    let request = server.received();
    assert!(
        request.starts_with("HEAD / HTTP/1.1\r\n"),
        "request sent:\n{request}"
    );
}

/// A body with every byte value, CR and LF included, bigger than any buffer.
fn binary_body() -> Vec<u8> {
    (0..300_000u32).map(|i| (i * 7 % 256) as u8).collect()
}

#[test]
fn output_flag_writes_the_body_byte_exact_and_still_prints_the_head() {
    let body = binary_body();
    let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len());
    let server = FakeServer::reply(&[head.as_bytes(), &body].concat(), Then::Close);
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("download.bin");

    client()
        .args(["127.0.0.1", &server.port(), "/image.png", "--output"])
        .arg(&file)
        .assert()
        .success()
        .stdout(head);
    let written = std::fs::read(&file).expect("output file exists");
    assert!(
        written == body,
        "file has {} bytes, expected {} bytes",
        written.len(),
        body.len()
    );
}

#[test]
fn short_o_flag_writes_a_chunked_body_decoded() {
    let server = FakeServer::fixture("chunked.http", Then::Close);
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("hello.txt");

    client()
        .args(["127.0.0.1", &server.port(), "/", "-o"])
        .arg(&file)
        .assert()
        .success()
        .stdout(predicate::str::starts_with("HTTP/1.1 200 OK\r\n"))
        .stdout(predicate::str::contains("Hello").not());
    assert_eq!(
        std::fs::read_to_string(&file).expect("output file"),
        "Hello, chunked world!\n"
    );
}

#[test]
fn output_into_a_missing_directory_is_an_error() {
    let server = FakeServer::fixture("keep-alive.http", Then::Close);
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("no-such-dir").join("page.html");

    client()
        .args(["127.0.0.1", &server.port(), "/", "--output"])
        .arg(&file)
        .assert()
        .code(1)
        .stderr(predicate::str::starts_with("client: cannot write output: "))
        .stderr(predicate::str::contains("no-such-dir"));
}

#[test]
fn status_404_exits_0_without_fail() {
    let server = FakeServer::fixture("not-found.http", Then::Close);
    client()
        .args(["127.0.0.1", &server.port(), "/missing"])
        .assert()
        .success()
        .stdout(fixture("not-found.http"))
        .stderr("");
}

#[test]
fn fail_flag_exits_1_on_404_after_printing_the_response() {
    let server = FakeServer::fixture("not-found.http", Then::Close);
    client()
        .args(["127.0.0.1", &server.port(), "/missing", "--fail"])
        .assert()
        .code(1)
        .stdout(fixture("not-found.http"))
        .stderr("client: the server answered 404 Not Found\n");
}

#[test]
fn fail_flag_exits_0_on_200() {
    let server = FakeServer::fixture("keep-alive.http", Then::Close);
    client()
        .args(["127.0.0.1", &server.port(), "/", "--fail"])
        .assert()
        .success();
}

/// On a terminal the body is shown, not delivered: the escape sequences a
/// hostile server puts in it are escaped like the head's, and one line on
/// stderr says so. (Unix only: a pseudo-terminal stands in for the user's.)
#[cfg(unix)]
#[test]
fn a_body_printed_on_a_terminal_has_its_control_characters_escaped() {
    use std::io::Read;
    use std::process::{Command, Stdio};

    let body = b"<p>hi</p>\n\x1b]0;pwned\x07\x1b[2J\n";
    let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len());
    let server = FakeServer::reply(&[head.as_bytes(), body].concat(), Then::Close);
    let (terminal, user_side) = pseudo_terminal();
    let child = Command::new(env!("CARGO_BIN_EXE_client"))
        .args(["127.0.0.1", &server.port(), "/", "--max-time", "10"])
        .stdin(Stdio::null())
        .stdout(Stdio::from(terminal))
        .stderr(Stdio::piped())
        .spawn()
        .expect("the client starts");
    // The Command, holding our copy of the terminal's end, is gone: once the
    // client exits, reading the other end ends (EOF, or EIO on Linux).
    let mut shown = Vec::new();
    let mut user_side = std::fs::File::from(user_side);
    let mut buf = [0; 4096];
    loop {
        match user_side.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => shown.extend_from_slice(&buf[..n]),
            Err(err) if err.raw_os_error() == Some(libc::EIO) => break,
            Err(err) => panic!("reading the terminal: {err}"),
        }
    }
    let output = child.wait_with_output().expect("the client ends");
    let shown = String::from_utf8_lossy(&shown);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success()
            && !shown.contains('\x1b')
            && shown.contains("<p>hi</p>")
            && shown.contains("\\x1b]0;pwned\\x07\\x1b[2J")
            && stderr
                == "client: 3 control characters in the body are shown as \\xNN; \
                    -o FILE saves the exact bytes\n",
        "server sent: {head:?} + {body:?}\nexpected on the terminal: the body with \
         ESC and BEL shown as \\x1b, \\x07\ngot: {:?}\nterminal: {shown:?}\nstderr: {stderr}",
        output.status
    );
}

/// A new pseudo-terminal: (the terminal a program writes to, the user's side).
#[cfg(unix)]
fn pseudo_terminal() -> (std::os::fd::OwnedFd, std::os::fd::OwnedFd) {
    use std::os::fd::FromRawFd;

    let (mut terminal, mut user_side) = (-1, -1);
    // SAFETY: openpty writes two descriptors into the two ints; the null name,
    // settings and size mean "none", "the defaults" and "the default".
    let status = unsafe {
        libc::openpty(
            &mut user_side,
            &mut terminal,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
        )
    };
    assert_eq!(status, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: both descriptors are fresh from openpty and owned by nothing else.
    unsafe {
        (
            std::os::fd::OwnedFd::from_raw_fd(terminal),
            std::os::fd::OwnedFd::from_raw_fd(user_side),
        )
    }
}
