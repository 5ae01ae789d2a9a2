//! The harness's own promises, on which every other test relies: the server a test talks
//! to is the one it started.

mod support;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::panic::AssertUnwindSafe;
use std::sync::mpsc;
use std::time::Duration;

use support::{PortLease, Site, TestServer, PATIENCE};

/// A listener on 127.0.0.1 that answers every connection (at most 100) with "not yours",
/// as another program holding the port would.
fn someone_else_on_a_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let port = listener.local_addr().expect("a local address").port();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().take(100).flatten() {
            let mut request = [0; 1024];
            let _ = stream.read(&mut request);
            let _ = stream.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\nConnection: close\r\n\r\nnot yours",
            );
        }
    });
    port
}

#[test]
fn a_server_is_not_started_on_a_port_that_another_program_holds() {
    let port = someone_else_on_a_port();
    let site = Site::new().file("index.html", "home");
    let template = format!(
        "\"{}\" --port {{port}} --root {{root}} --quiet",
        env!("CARGO_BIN_EXE_server")
    );
    let started = std::panic::catch_unwind(AssertUnwindSafe(|| {
        TestServer::external_on(&template, site.path(), port)
    }));
    let Err(panic) = started else {
        panic!(
            "\nexpected: the start to fail, since the server cannot listen on port {port}\n\n\
             the harness took the program already on that port for the server\n"
        );
    };
    let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(
        message.contains(&format!("port {port} to be free")),
        "\nexpected: a failure saying that port {port} is taken\n\nthe failure said:\n{message}\n"
    );
}

#[test]
fn a_server_that_exits_at_once_fails_its_test_with_its_whole_stderr() {
    let site = Site::new().file("index.html", "home");
    let missing = site.path().join("no-such-folder");
    let template = format!(
        "\"{}\" --port {{port}} --root \"{}\"",
        env!("CARGO_BIN_EXE_server"),
        missing.display()
    );
    let started = std::panic::catch_unwind(AssertUnwindSafe(|| {
        TestServer::external(&template, site.path())
    }));
    let Err(panic) = started else {
        panic!("\nexpected: the start to fail, since the server's root does not exist\n");
    };
    let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(
        message.contains("exited") && message.contains("no-such-folder"),
        "\nexpected: a failure saying that the server exited, with its stderr naming the \
         missing folder\n\nthe failure said:\n{message}\n"
    );
}

#[test]
fn a_port_is_leased_to_one_server_start_at_a_time() {
    let first = PortLease::take();
    let (leased, second) = mpsc::channel();
    let waiter = std::thread::spawn(move || {
        let lease = PortLease::take();
        let _ = leased.send(lease.port);
    });
    assert!(
        second.recv_timeout(Duration::from_millis(200)).is_err(),
        "\nexpected: no second lease while the first (port {}) is held: two servers \
         starting at once could be handed the same free port\n",
        first.port
    );
    drop(first);
    assert!(
        second.recv_timeout(PATIENCE).is_ok(),
        "\nexpected: the second lease as soon as the first was given back\n"
    );
    waiter.join().expect("the second lease's thread");
}
