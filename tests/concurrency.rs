//! Proof, by events rather than clocks, that `threaded` and `pool` serve clients at once,
//! that `single` does not, that slow clients cannot starve the rest, and that the
//! connection bound and a panicking handler are survived.

mod support;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use support::{exchange, read_to_close, start_download, test_config, Exchange, Site, TestServer};
use weblab::{Config, Mode};

every_mode!(
    two_hundred_concurrent_clients_each_get_their_own_file,
    a_panicking_handler_leaves_the_server_serving
);

/// Sends half a request, so the server is left waiting for the rest.
fn half_request(server: &TestServer) -> TcpStream {
    let mut stream = server.connect();
    stream
        .write_all(b"GET /a.txt HTTP/1.1\r\nHost: slow")
        .expect("send half a request");
    stream
}

/// Whether an answer arrives on `stream` within `wait`.
fn answered_within(stream: &mut TcpStream, wait: Duration) -> bool {
    stream
        .set_read_timeout(Some(wait))
        .expect("set a read timeout");
    let mut byte = [0];
    let answered = match stream.read(&mut byte) {
        Ok(n) => n > 0,
        Err(e) => !matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
    };
    stream
        .set_read_timeout(Some(support::PATIENCE))
        .expect("set a read timeout");
    answered
}

fn site() -> Site {
    Site::new().file("a.txt", "a")
}

#[test]
fn threaded_answers_a_second_client_while_the_first_is_half_sent() {
    let site = site();
    let server = TestServer::start(site.path(), Mode::Threaded);
    let _held = half_request(&server);
    server.get("/a.txt").assert_status(200).assert_body("a");
}

#[test]
fn pool_answers_a_second_client_while_the_first_is_half_sent() {
    let site = site();
    let server = TestServer::start(site.path(), Mode::Pool);
    let _held = half_request(&server);
    server.get("/a.txt").assert_status(200).assert_body("a");
}

#[test]
fn single_answers_the_second_client_only_after_the_first() {
    let site = site();
    let server = TestServer::start(site.path(), Mode::Single);
    let mut first = half_request(&server);
    let mut second = server.connect();
    second
        .write_all(b"GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("send a request");
    assert!(
        !answered_within(&mut second, Duration::from_millis(300)),
        "single mode answered a second client while the first was still sending"
    );
    first
        .write_all(b"\r\n\r\n")
        .expect("finish the first request");
    let first_raw = read_to_close(&mut first);
    Exchange::new(b"GET /a.txt ...".to_vec(), first_raw).assert_status(200);
    let second_raw = read_to_close(&mut second);
    Exchange::new(b"GET /a.txt HTTP/1.1".to_vec(), second_raw).assert_status(200);
}

/// With default settings, 64 connections that each sent half a request delay a normal
/// request by less than a second (the slowloris bound).
fn slow_clients_do_not_starve_others(mode: Mode) {
    let site = site();
    let server = TestServer::start(site.path(), mode);
    let held: Vec<TcpStream> = (0..64).map(|_| half_request(&server)).collect();
    let started = Instant::now();
    server.get("/a.txt").assert_status(200).assert_body("a");
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(1),
        "{mode}: a normal request took {took:?} with 64 slow clients connected"
    );
    drop(held);
}

#[test]
fn sixty_four_slow_clients_do_not_starve_threaded() {
    slow_clients_do_not_starve_others(Mode::Threaded);
}

#[test]
fn sixty_four_slow_clients_do_not_starve_pool() {
    slow_clients_do_not_starve_others(Mode::Pool);
}

fn two_hundred_concurrent_clients_each_get_their_own_file(mode: Mode) {
    const CLIENTS: usize = 200;
    let site = (0..CLIENTS).fold(Site::new(), |site, i| {
        site.file(
            &format!("file-{i}.txt"),
            format!("contents of file {i}\n").repeat(i + 1),
        )
    });
    let server = TestServer::start(site.path(), mode);
    let addr = server.addr();
    let start = Arc::new(Barrier::new(CLIENTS));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|i| {
            let start = Arc::clone(&start);
            std::thread::spawn(move || {
                start.wait();
                let request = format!("GET /file-{i}.txt HTTP/1.1\r\nHost: x\r\n\r\n");
                (i, exchange(addr, request.as_bytes()))
            })
        })
        .collect();
    for client in clients {
        let (i, exchange) = client.join().expect("a client thread panicked");
        exchange
            .assert_status(200)
            .assert_body(format!("contents of file {i}\n").repeat(i + 1));
    }
}

fn a_panicking_handler_leaves_the_server_serving(mode: Mode) {
    let site = site();
    let config = Config {
        panic_path: Some("/panic".into()),
        threads: 1,
        ..test_config(mode)
    };
    let server = TestServer::start_with(site.path(), config);
    for _ in 0..3 {
        let _ = server.get("/panic");
        server.get("/a.txt").assert_status(200).assert_body("a");
    }
    let handle = server.handle().clone();
    server.stop();
    let open = handle.stats().open_connections.load(Ordering::SeqCst);
    assert_eq!(open, 0, "every connection is closed, panicked or not");
}

/// Starts a download of a file too big for the socket buffers and reads only its head:
/// the server is then busy writing to this connection, which proves it was accepted.
fn busy_download(server: &TestServer) -> TcpStream {
    let (stream, head) = start_download(server.addr(), "/big.bin");
    head.assert_status(200);
    stream
}

fn big_site() -> Site {
    Site::new()
        .file("a.txt", "a")
        .sparse_file("big.bin", 256 << 20)
}

fn past_the_bound_comes_503_and_no_new_thread(mode: Mode) {
    let site = big_site();
    let config = Config {
        max_connections: 2,
        ..test_config(mode)
    };
    let server = TestServer::start_with(site.path(), config);
    let first = busy_download(&server);
    let second = busy_download(&server);
    server
        .get("/a.txt")
        .assert_status(503)
        .assert_header("Connection", "close");
    let stats = server.handle().stats();
    assert_eq!(stats.refused.load(Ordering::SeqCst), 1);
    if mode == Mode::Threaded {
        assert_eq!(
            stats.threads_started.load(Ordering::SeqCst),
            2,
            "the refused connection must not get a thread"
        );
    }
    drop((first, second));
}

#[test]
fn threaded_past_max_connections_gets_503_and_no_new_thread() {
    past_the_bound_comes_503_and_no_new_thread(Mode::Threaded);
}

#[test]
fn pool_past_max_connections_gets_503() {
    past_the_bound_comes_503_and_no_new_thread(Mode::Pool);
}

/// A burst of connections that arrives before the server accepts any of them is queued by
/// the kernel in the listen backlog, and each is then served. Rust's standard library asks
/// for a backlog of 128, past which Linux drops the connection attempts (the client tries
/// again after a second, then three); the server asks for 1024, as nginx asks for 511.
#[cfg(target_os = "linux")]
#[test]
fn a_burst_of_connections_before_the_first_accept_is_queued_not_dropped() {
    const BURST: usize = 300;
    let somaxconn = std::fs::read_to_string("/proc/sys/net/core/somaxconn")
        .ok()
        .and_then(|s| s.trim().parse::<usize>().ok())
        .unwrap_or(0);
    if somaxconn < BURST {
        eprintln!("skipped: net.core.somaxconn is {somaxconn}, below the burst of {BURST}");
        return;
    }
    let site = Site::new().file("a.txt", "a");
    let log = Arc::new(support::MemoryLog::default());
    let config = test_config(Mode::Pool);
    let server = weblab::Server::bind("127.0.0.1:0", site.path(), config, log).expect("bind");
    let addr = server.local_addr();
    // Not running yet: every connection waits in the backlog. A connection the backlog has
    // no room for is not refused but dropped, and its connect waits for a retry.
    let clients: Vec<TcpStream> = (0..BURST)
        .map(|i| {
            TcpStream::connect_timeout(&addr, Duration::from_millis(700)).unwrap_or_else(|e| {
                panic!(
                    "connection {} of a burst of {BURST} before the first accept: {e}",
                    i + 1
                )
            })
        })
        .collect();
    let handle = server.handle();
    let running = std::thread::spawn(move || server.run());
    for (i, mut client) in clients.into_iter().enumerate() {
        let request = "GET /a.txt HTTP/1.1\r\nHost: burst\r\nConnection: close\r\n\r\n";
        client.write_all(request.as_bytes()).expect("send");
        let exchange = Exchange::new(request.into(), read_to_close(&mut client));
        if exchange.status() != 200 {
            exchange.fail(&format!("200 for connection {} of the burst", i + 1));
        }
    }
    handle.shutdown();
    running
        .join()
        .expect("the server thread")
        .expect("the server ran");
}
