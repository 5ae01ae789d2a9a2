//! Clients that send nothing, or too little too slowly, are dropped once the timeout has
//! passed since they connected; one that sent part of a request is told so with 408.

mod support;

use std::io::{ErrorKind, Read, Write};
use std::time::Duration;

use support::{read_to_close, Exchange, Site, TestServer};
use weblab::{Config, Mode};

every_mode!(
    a_client_that_resets_mid_request_gets_no_408,
    a_silent_client_is_dropped_without_a_response,
    a_half_sent_request_gets_408,
    a_trickling_client_is_dropped_at_the_deadline,
);

fn short_timeout(mode: Mode) -> (Site, TestServer) {
    let site = Site::new().file("a.txt", "a");
    let config = Config {
        mode,
        timeout: Duration::from_millis(250),
        ..Config::default()
    };
    let server = TestServer::start_with(site.path(), config);
    (site, server)
}

/// A reset is not a timeout: the server drops the connection at once, without a 408 in its
/// log, and goes on serving.
fn a_client_that_resets_mid_request_gets_no_408(mode: Mode) {
    let site = Site::new().file("a.txt", "a");
    let server = TestServer::start(site.path(), mode); // the default, long timeout
    let mut stream = server.connect();
    stream
        .write_all(b"GET /a.txt HTTP/1.1\r\nHost: x\r\n")
        .expect("send half a request");
    if !support::reset(stream) {
        eprintln!("skipped: this platform cannot reset a connection");
        return;
    }
    server.get("/a.txt").assert_status(200);
    let log = server.stop_and_read_log();
    let statuses: Vec<Option<u16>> = log.iter().map(|entry| entry.status).collect();
    assert_eq!(
        statuses,
        [Some(200)],
        "{mode}: the log should hold only the GET that followed the reset:\n{}",
        log.iter().map(|e| format!("{e}\n")).collect::<String>()
    );
}

fn a_silent_client_is_dropped_without_a_response(mode: Mode) {
    let (_site, server) = short_timeout(mode);
    let mut stream = server.connect();
    let raw = read_to_close(&mut stream);
    assert!(raw.is_empty(), "expected a silent close, got {raw:?}");
    // The server still serves the next client.
    server.get("/a.txt").assert_status(200);
}

fn a_half_sent_request_gets_408(mode: Mode) {
    let (_site, server) = short_timeout(mode);
    let mut stream = server.connect();
    let sent = b"GET /a.txt HTTP/1.1\r\nHost: x\r\n";
    stream.write_all(sent).expect("send half a request");
    let raw = read_to_close(&mut stream);
    Exchange::new(sent.to_vec(), raw)
        .assert_status(408)
        .assert_header("Connection", "close");
}

fn a_trickling_client_is_dropped_at_the_deadline(mode: Mode) {
    // A server that restarts its timeout after every byte would wait forever here.
    let (_site, server) = short_timeout(mode);
    let mut stream = server.connect();
    stream
        .set_read_timeout(Some(Duration::from_millis(100)))
        .expect("set a read timeout");
    let request = b"GET /a.txt HTTP/1.1\r\nHost: trickle.example\r\nX-Padding: aaaaaaaaaaaaaaaa";
    let mut received = Vec::new();
    for byte in request.iter() {
        if stream.write_all(&[*byte]).is_err() {
            break;
        }
        // Wait up to 100 ms for an answer before sending the next byte.
        let mut chunk = [0; 1024];
        match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => {
                received.extend_from_slice(&chunk[..n]);
                break;
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => break,
        }
    }
    stream
        .set_read_timeout(Some(support::PATIENCE))
        .expect("set a read timeout");
    received.extend(read_to_close(&mut stream));
    Exchange::new(request.to_vec(), received).assert_status(408);
}
