//! The `client` command against scripted fake servers: each plays back one
//! canned reply from `fixtures/responses/` and closes or keeps the
//! connection open. Together they cover every way a body can end, and
//! every way a server can misbehave.

mod client_support;

use std::time::{Duration, Instant};

use client_support::{client, fixture, FakeServer, Then, DRIP_FOR};
use predicates::prelude::*;

/// A head plus `body`, as the client should print it.
fn printed(head_of: &str, body: &str) -> Vec<u8> {
    let reply = fixture(head_of);
    let head_len = reply
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("fixture has a head")
        + 4;
    [&reply[..head_len], body.as_bytes()].concat()
}

#[test]
fn chunked_body_is_printed_decoded() {
    let server = FakeServer::fixture("chunked.http", Then::Close);
    client()
        .args(["127.0.0.1", &server.port(), "/"])
        .assert()
        .success()
        .stdout(printed("chunked.http", "Hello, chunked world!\n"));
}

#[test]
fn chunked_body_ends_at_the_last_chunk_while_the_connection_stays_open() {
    let server = FakeServer::fixture("chunked.http", Then::KeepOpen);
    client()
        .args(["127.0.0.1", &server.port(), "/", "--timeout", "5"])
        .assert()
        .success()
        .stdout(printed("chunked.http", "Hello, chunked world!\n"));
}

#[test]
fn keep_alive_body_ends_after_content_length_bytes() {
    // The server never closes: a client that waits for EOF would time out.
    let server = FakeServer::fixture("keep-alive.http", Then::KeepOpen);
    let started = Instant::now();
    client()
        .args(["127.0.0.1", &server.port(), "/", "--timeout", "5"])
        .assert()
        .success()
        .stdout(fixture("keep-alive.http"));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn body_without_content_length_runs_until_the_server_closes() {
    let server = FakeServer::fixture("no-content-length.http", Then::Close);
    client()
        .args(["127.0.0.1", &server.port(), "/"])
        .assert()
        .success()
        .stdout(fixture("no-content-length.http"));
}

#[test]
fn truncated_body_is_an_error() {
    let server = FakeServer::fixture("truncated.http", Then::Close);
    client()
        .args(["127.0.0.1", &server.port(), "/"])
        .assert()
        .code(1)
        .stdout(fixture("truncated.http"))
        .stderr("client: body cut short: got 26 of 100 bytes\n");
}

#[test]
fn truncated_chunked_body_is_an_error() {
    let server = FakeServer::fixture("chunked-cut-short.http", Then::Close);
    client()
        .args(["127.0.0.1", &server.port(), "/"])
        .assert()
        .code(1)
        .stderr(predicate::str::starts_with("client: body cut short: "))
        .stderr(predicate::str::contains("before the last chunk"));
}

#[test]
fn garbage_is_not_an_http_response() {
    let server = FakeServer::fixture("garbage.txt", Then::Close);
    client()
        .args(["127.0.0.1", &server.port(), "/"])
        .assert()
        .code(1)
        .stdout("")
        .stderr("client: not an HTTP response: \"SSH-2.0-OpenSSH_9.6\"\n");
}

#[test]
fn garbage_is_rejected_without_waiting_for_the_server_to_close() {
    let server = FakeServer::fixture("garbage.txt", Then::KeepOpen);
    client()
        .args(["127.0.0.1", &server.port(), "/", "--timeout", "5"])
        .assert()
        .code(1)
        .stderr(predicate::str::starts_with("client: not an HTTP response"));
}

#[test]
fn a_first_line_that_is_not_http_is_rejected_at_once() {
    // One line, then silence: the client must not wait for an empty line that never comes.
    let server = FakeServer::reply(b"SSH-2.0-OpenSSH_9.6\r\n", Then::KeepOpen);
    client()
        .args(["127.0.0.1", &server.port(), "/", "--timeout", "5"])
        .assert()
        .code(1)
        .stderr("client: not an HTTP response: \"SSH-2.0-OpenSSH_9.6\"\n");
}

#[test]
fn server_that_never_answers_makes_the_client_give_up() {
    let server = FakeServer::silent();
    let started = Instant::now();
    client()
        .args(["127.0.0.1", &server.port(), "/", "--timeout", "0.2"])
        .assert()
        .code(1)
        .stdout("")
        .stderr("client: timed out: the server sent nothing for 0.2 s (--timeout)\n");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn server_that_stalls_in_the_middle_of_the_body_makes_the_client_give_up() {
    let reply = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc";
    let server = FakeServer::reply(reply, Then::KeepOpen);
    client()
        .args(["127.0.0.1", &server.port(), "/", "--timeout", "0.5"])
        .assert()
        .code(1)
        .stdout(predicate::str::ends_with("\r\n\r\nabc"))
        .stderr(predicate::str::starts_with("client: timed out"));
}

#[test]
fn server_that_closes_without_answering_is_an_error() {
    let server = FakeServer::reply(b"", Then::Close);
    client()
        .args(["127.0.0.1", &server.port(), "/"])
        .assert()
        .code(1)
        .stderr("client: the server closed the connection without a response\n");
}

#[test]
fn interim_100_continue_is_skipped() {
    let server = FakeServer::fixture("continue.http", Then::Close);
    client()
        .args(["127.0.0.1", &server.port(), "/"])
        .assert()
        .success()
        .stdout("HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nfinal\n");
}

#[test]
fn no_content_response_has_no_body_whatever_its_content_length() {
    let server = FakeServer::fixture("no-content.http", Then::KeepOpen);
    client()
        .args(["127.0.0.1", &server.port(), "/", "--timeout", "5"])
        .assert()
        .success()
        .stdout(fixture("no-content.http"));
}

#[test]
fn conflicting_content_lengths_are_an_error() {
    let server = FakeServer::fixture("conflicting-length.http", Then::Close);
    client()
        .args(["127.0.0.1", &server.port(), "/"])
        .assert()
        .code(1)
        .stderr("client: invalid or conflicting Content-Length: \"5, 6\"\n");
}

#[test]
fn head_over_64_kib_is_an_error() {
    let filler = "X-Filler: 0123456789abcdef0123456789abcdef0123456789abcdef\r\n".repeat(1200);
    let reply = format!("HTTP/1.1 200 OK\r\n{filler}\r\n");
    let server = FakeServer::reply(reply.as_bytes(), Then::Close);
    client()
        .args(["127.0.0.1", &server.port(), "/"])
        .assert()
        .code(1)
        .stderr("client: response header is larger than 64 KiB\n");
}

#[test]
fn localhost_is_resolved_by_name() {
    // localhost may resolve to ::1 first; the client must go on to 127.0.0.1.
    let server = FakeServer::fixture("keep-alive.http", Then::Close);
    let port = server.port();
    client().args(["localhost", &port, "/"]).assert().success();
    let request = server.received();
    assert!(
        request.contains(&format!("Host: localhost:{port}\r\n")),
        "request sent:\n{request}"
    );
}

#[test]
fn ipv6_server_is_reached_with_a_bracketed_host_header() {
    let server = match FakeServer::bind("[::1]:0", &fixture("keep-alive.http"), Then::Close) {
        Ok(server) => server,
        Err(err) => {
            eprintln!("skipping ipv6_server_is_reached_with_a_bracketed_host_header: cannot bind [::1]:0: {err}");
            return;
        }
    };
    let port = server.port();
    client()
        .args(["::1", &port, "/six"])
        .assert()
        .success()
        .stdout(fixture("keep-alive.http"));
    let request = server.received();
    assert!(
        request.starts_with("GET /six HTTP/1.1\r\n"),
        "request sent:\n{request}"
    );
    assert!(
        request.contains(&format!("Host: [::1]:{port}\r\n")),
        "request sent:\n{request}"
    );
}

/// Runs the client with `--max-time 0.5` (and a per-read timeout that never
/// runs out) against `server`; asserts it gives up within a few seconds, well
/// before the server stops of its own accord, saying which limit it hit.
/// Returns what it printed on stdout.
fn assert_cut_off_by_max_time(server: &FakeServer, what: &str) -> Vec<u8> {
    let started = Instant::now();
    let output = client()
        .args(["127.0.0.1", &server.port(), "/", "--timeout", "5"])
        .args(["--max-time", "0.5"])
        .output()
        .expect("the client runs");
    let took = started.elapsed();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.code() == Some(1)
            && stderr
                == "client: timed out: the whole exchange took more than 0.5 s (--max-time)\n"
            && took < DRIP_FOR - Duration::from_secs(2),
        "server: {what}\nrequest: GET / with --timeout 5 --max-time 0.5\n\
         expected: exit 1 within {:?} with the --max-time line\n\
         got: {:?} after {took:?}\nstderr: {stderr}stdout: {:?}",
        DRIP_FOR - Duration::from_secs(2),
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
    );
    output.stdout
}

#[test]
fn a_head_dripped_a_byte_at_a_time_is_cut_off_by_max_time() {
    let server = FakeServer::drip(b"HTTP/1.1 200 OK\r\n", b"X", Duration::from_millis(50));
    let stdout = assert_cut_off_by_max_time(&server, "a header line dripped one byte per 50 ms");
    assert!(stdout.is_empty(), "no head was complete: {stdout:?}");
}

#[test]
fn a_body_dripped_a_byte_at_a_time_is_cut_off_by_max_time() {
    let head = b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n";
    let server = FakeServer::drip(head, b"a", Duration::from_millis(50));
    let stdout = assert_cut_off_by_max_time(&server, "a 1 MB body dripped one byte per 50 ms");
    assert!(stdout.starts_with(head), "the head is printed: {stdout:?}");
}

#[test]
fn a_body_without_end_is_cut_off_by_max_time() {
    let head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    let chunk = [&b"400\r\n"[..], &[b'x'; 0x400], b"\r\n"].concat();
    let server = FakeServer::drip(head, &chunk, Duration::from_millis(10));
    let stdout = assert_cut_off_by_max_time(&server, "1 KiB chunks every 10 ms, never the last");
    assert!(stdout.starts_with(head), "the head is printed: {stdout:?}");
}

#[test]
fn max_time_shorter_than_timeout_cuts_the_wait_for_a_silent_server() {
    let server = FakeServer::silent();
    let started = Instant::now();
    client()
        .args(["127.0.0.1", &server.port(), "/", "--timeout", "30"])
        .args(["--max-time", "0.2"])
        .assert()
        .code(1)
        .stdout("")
        .stderr("client: timed out: the whole exchange took more than 0.2 s (--max-time)\n");
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn switching_protocols_is_printed_as_the_final_response() {
    // After a 101 the connection speaks another protocol (here a WebSocket
    // frame follows); the client prints the 101 and stops, without waiting.
    let head =
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n";
    let server = FakeServer::reply(
        &[head.as_bytes(), b"\x81\x05hello"].concat(),
        Then::KeepOpen,
    );
    client()
        .args(["127.0.0.1", &server.port(), "/chat", "--timeout", "5"])
        .assert()
        .success()
        .stdout(head)
        .stderr("");
}

#[test]
fn control_characters_in_the_head_are_printed_escaped() {
    // A hostile server hides terminal escape sequences in its head: one
    // retitles the window, one clears the screen, a bare CR hides text.
    let reply = b"HTTP/1.1 200 O\x1b[31mK\r\nX-Evil: \x1b]0;pwned\x07\x1b[2J\rhidden\r\n\
                  X-Tab: a\tb\r\nContent-Length: 2\r\n\r\nok";
    let server = FakeServer::reply(reply, Then::Close);
    client()
        .args(["127.0.0.1", &server.port(), "/"])
        .assert()
        .success()
        .stdout(
            "HTTP/1.1 200 O\\x1b[31mK\r\nX-Evil: \\x1b]0;pwned\\x07\\x1b[2J\\x0dhidden\r\n\
             X-Tab: a\tb\r\nContent-Length: 2\r\n\r\nok",
        );
}

#[test]
fn a_body_sent_to_a_pipe_is_passed_on_exactly() {
    // Not a terminal: the bytes are the user's to keep, escape sequences and all.
    let body = b"\x1b[2J\x00\xff\r\n";
    let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len());
    let server = FakeServer::reply(&[head.as_bytes(), body].concat(), Then::Close);
    client()
        .args(["127.0.0.1", &server.port(), "/"])
        .assert()
        .success()
        .stdout([head.as_bytes(), body].concat())
        .stderr("");
}
