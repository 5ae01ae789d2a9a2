//! Persistent connections (RFC 9112, 9.3): HTTP/1.1 keeps the connection open unless the
//! client says `close`, HTTP/1.0 only with `keep-alive`; pipelined requests are answered in
//! order; idle connections are closed after a while and never hold a worker.

mod support;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use support::{read_response, test_config, Exchange, ResponseReader, Site, TestServer, PATIENCE};
use weblab::{Config, Mode};

const PERSISTENT: [Mode; 2] = [Mode::Threaded, Mode::Pool];

fn site() -> Site {
    Site::new().file("a.txt", "aaa").file("b.txt", "bb")
}

/// Sends `request` on an open connection and reads one response.
fn ask(stream: &mut TcpStream, request: &str) -> Exchange {
    stream
        .write_all(request.as_bytes())
        .expect("send a request");
    let raw = read_response(stream, request.starts_with("HEAD "));
    Exchange::new(request.as_bytes().to_vec(), raw)
}

fn get(path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n")
}

/// A server whose idle connections would outlast PATIENCE: one left open by mistake is
/// noticed by [`assert_closed`] instead of closing on its own before the test gives up.
fn start(site: &Site, mode: Mode) -> TestServer {
    let config = Config {
        keep_alive_timeout: PATIENCE * 6,
        ..test_config(mode)
    };
    TestServer::start_with(site.path(), config)
}

/// The server closes the connection, with nothing more to say.
#[track_caller]
fn assert_closed(stream: &mut TcpStream, what: &str) {
    stream
        .set_read_timeout(Some(PATIENCE))
        .expect("set a read timeout");
    let mut rest = [0; 1024];
    match stream.read(&mut rest) {
        Ok(0) => {}
        Ok(n) => panic!(
            "{what}: expected a close, got {:?}",
            String::from_utf8_lossy(&rest[..n])
        ),
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
            panic!("{what}: expected a close, but the connection was still open after {PATIENCE:?}")
        }
        Err(_) => {} // reset: closed too
    }
}

#[test]
fn http_1_1_connections_stay_open_for_more_requests() {
    for mode in PERSISTENT {
        let site = site();
        let server = start(&site, mode);
        let mut stream = server.connect();
        ask(&mut stream, &get("/a.txt"))
            .assert_status(200)
            .assert_header("Connection", "keep-alive")
            .assert_body("aaa");
        ask(&mut stream, &get("/b.txt"))
            .assert_status(200)
            .assert_body("bb");
        ask(&mut stream, &get("/missing")).assert_status(404);
        ask(&mut stream, "HEAD /a.txt HTTP/1.1\r\nHost: x\r\n\r\n")
            .assert_status(200)
            .assert_body("");
        ask(&mut stream, &get("/a.txt")).assert_body("aaa");
    }
}

#[test]
fn single_mode_closes_after_every_response() {
    let site = site();
    let server = start(&site, Mode::Single);
    let mut stream = server.connect();
    ask(&mut stream, &get("/a.txt"))
        .assert_status(200)
        .assert_header("Connection", "close");
    assert_closed(&mut stream, "single mode after a response");
}

#[test]
fn http_1_0_stays_open_only_when_it_asks_for_keep_alive() {
    for mode in PERSISTENT {
        let site = site();
        let server = start(&site, mode);
        let mut plain = server.connect();
        ask(&mut plain, "GET /a.txt HTTP/1.0\r\n\r\n")
            .assert_status(200)
            .assert_header("Connection", "close");
        assert_closed(&mut plain, "HTTP/1.0 without keep-alive");

        let mut kept = server.connect();
        let request = "GET /a.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\n";
        ask(&mut kept, request)
            .assert_status(200)
            .assert_header("Connection", "keep-alive");
        ask(&mut kept, request)
            .assert_status(200)
            .assert_body("aaa");
    }
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    for mode in PERSISTENT {
        let site = site();
        let server = start(&site, mode);
        let mut reader = ResponseReader::new(server.connect());
        let all = format!(
            "{}{}HEAD /b.txt HTTP/1.1\r\nHost: x\r\n\r\n{}",
            get("/a.txt"),
            get("/missing"),
            get("/b.txt")
        );
        reader
            .stream()
            .write_all(all.as_bytes())
            .expect("send four requests at once");
        let mut next =
            |head: bool| Exchange::new(all.clone().into_bytes(), reader.next_response(head));
        next(false).assert_status(200).assert_body("aaa");
        next(false).assert_status(404);
        next(true)
            .assert_status(200)
            .assert_header("Content-Length", "2")
            .assert_body("");
        next(false).assert_status(200).assert_body("bb");
    }
}

#[test]
fn a_request_body_is_skipped_before_the_next_pipelined_request() {
    for mode in PERSISTENT {
        let site = site();
        let server = start(&site, mode);
        let mut reader = ResponseReader::new(server.connect());
        let both = format!(
            "GET /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 14\r\n\r\nGET /b.txt xxx{}",
            get("/b.txt")
        );
        reader.stream().write_all(both.as_bytes()).expect("send");
        Exchange::new(both.clone().into_bytes(), reader.next_response(false))
            .assert_status(200)
            .assert_body("aaa");
        Exchange::new(both.into_bytes(), reader.next_response(false))
            .assert_status(200)
            .assert_body("bb");
    }
}

#[test]
fn a_body_of_up_to_1_mib_is_skipped_and_a_bigger_one_ends_the_connection() {
    const MIB: usize = 1 << 20;
    for mode in PERSISTENT {
        let site = site();
        let server = start(&site, mode);
        for (length, stays_open) in [(MIB, true), (MIB + 1, false)] {
            let mut reader = ResponseReader::new(server.connect());
            let head =
                format!("GET /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: {length}\r\n\r\n");
            let mut request = head.clone().into_bytes();
            request.resize(head.len() + length, b'x');
            request.extend_from_slice(get("/b.txt").as_bytes());
            // Written on another thread: a server that closes may never read it all.
            let mut writer = reader.stream().try_clone().expect("clone the stream");
            let sending = std::thread::spawn(move || writer.write_all(&request).is_ok());
            let shown = format!("{head}({length} bytes of body){}", get("/b.txt"));
            let first = Exchange::new(shown.clone().into_bytes(), reader.next_response(false));
            first.assert_status(200).assert_body("aaa");
            if stays_open {
                first.assert_header("Connection", "keep-alive");
                Exchange::new(shown.into_bytes(), reader.next_response(false))
                    .assert_status(200)
                    .assert_body("bb");
                assert!(sending.join().expect("the sending thread"), "{mode}: sent");
            } else {
                first.assert_header("Connection", "close");
                drop(reader);
                let _ = sending.join();
            }
        }
    }
}

/// The other half of a lingering close: after answering a request whose body it will not
/// read, the server keeps reading and dropping what still comes, for a while. A client
/// that is still uploading (curl sending a large file to a 404, say) can finish its
/// writes; a server that closed at once would answer them with a reset.
#[test]
fn a_client_still_sending_a_body_the_server_will_not_read_is_not_reset() {
    for mode in Mode::ALL {
        let site = site();
        let server = start(&site, mode);
        let mut stream = server.connect();
        let head = "GET /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\n";
        stream.write_all(head.as_bytes()).expect("send the head");
        let raw = read_response(&mut stream, false);
        Exchange::new(format!("{head}(then 2 MB of body)").into_bytes(), raw)
            .assert_status(200)
            .assert_header("Connection", "close")
            .assert_body("aaa");
        // Sent only now, after the response: a reset for the first piece would make the
        // second write fail. Both fit in the socket buffers, so neither waits.
        let piece = [b'x'; 16 * 1024];
        for i in 1..=2 {
            if let Err(e) = stream.write_all(&piece) {
                panic!("{mode}: writing piece {i} of the body after the response failed: {e}");
            }
        }
    }
}

/// The server answers a request whose body it will not read, and closes. Closing with
/// unread bytes would make the kernel send a reset, which can destroy the response on its
/// way, so it first shuts down its side (the client sees the end of the response) and then
/// drains what the client is still sending.
#[test]
fn a_body_left_unread_ends_in_a_clean_close_not_a_reset() {
    for mode in Mode::ALL {
        let site = site();
        let server = start(&site, mode);
        let mut stream = server.connect();
        let head = "GET /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\n";
        // The head and the start of the body in one write: far more than the server reads
        // to find the head, so most of it stays unread in the server's socket.
        let mut request = head.as_bytes().to_vec();
        request.resize(head.len() + 64 * 1024, b'x');
        stream.write_all(&request).expect("send");
        let raw = read_response(&mut stream, false);
        Exchange::new(format!("{head}(64 KiB of a 2 MB body)").into_bytes(), raw)
            .assert_status(200)
            .assert_header("Connection", "close")
            .assert_body("aaa");
        stream
            .set_read_timeout(Some(PATIENCE))
            .expect("set a read timeout");
        let mut after = [0; 16];
        match stream.read(&mut after) {
            Ok(0) => {}
            other => {
                panic!("{mode}: expected the end of the stream after the response, got {other:?}")
            }
        }
    }
}

#[test]
fn connection_close_from_the_client_is_honoured() {
    for mode in PERSISTENT {
        let site = site();
        let server = start(&site, mode);
        let mut stream = server.connect();
        ask(
            &mut stream,
            "GET /a.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
        .assert_header("Connection", "close");
        assert_closed(&mut stream, "after Connection: close");
    }
}

#[test]
fn an_idle_connection_is_closed_after_the_keep_alive_timeout() {
    for mode in PERSISTENT {
        let site = site();
        let config = Config {
            keep_alive_timeout: Duration::from_millis(300),
            ..test_config(mode)
        };
        let server = TestServer::start_with(site.path(), config);
        let mut stream = server.connect();
        // The deprecated Keep-Alive header (RFC 9112 dropped it; linters flag it) is not
        // sent: `Connection: keep-alive` alone says the connection stays open.
        ask(&mut stream, &get("/a.txt"))
            .assert_status(200)
            .assert_header("Connection", "keep-alive")
            .assert_no_header("Keep-Alive");
        assert_closed(&mut stream, "an idle kept-alive connection");
    }
}

#[test]
fn the_request_cap_ends_a_connection() {
    for mode in PERSISTENT {
        let site = site();
        let config = Config {
            max_requests: 3,
            ..test_config(mode)
        };
        let server = TestServer::start_with(site.path(), config);
        let mut stream = server.connect();
        ask(&mut stream, &get("/a.txt")).assert_header("Connection", "keep-alive");
        ask(&mut stream, &get("/a.txt")).assert_header("Connection", "keep-alive");
        ask(&mut stream, &get("/a.txt")).assert_header("Connection", "close");
        assert_closed(&mut stream, "after the last allowed request");
    }
}

#[test]
fn errors_close_a_kept_alive_connection() {
    for mode in PERSISTENT {
        let site = site();
        let server = start(&site, mode);
        let mut stream = server.connect();
        ask(&mut stream, &get("/a.txt")).assert_status(200);
        ask(&mut stream, "GET / HTTP/9.9\r\nHost: x\r\n\r\n")
            .assert_status(505)
            .assert_header("Connection", "close");
        assert_closed(&mut stream, "after a 505");
    }
}

#[test]
fn sixty_four_idle_keep_alive_connections_do_not_starve_pool() {
    let site = site();
    let server = start(&site, Mode::Pool);
    let idle: Vec<TcpStream> = (0..64)
        .map(|_| {
            let mut stream = server.connect();
            ask(&mut stream, &get("/a.txt")).assert_status(200);
            stream
        })
        .collect();
    // With 64 connections idle between requests, a 65th client is still answered at once:
    // no worker sits waiting on an idle connection.
    let started = Instant::now();
    server.get("/b.txt").assert_status(200).assert_body("bb");
    let took = started.elapsed();
    assert!(took < Duration::from_secs(1), "took {took:?}");
    drop(idle);
}

#[test]
fn a_stop_closes_idle_keep_alive_connections_at_once() {
    for mode in PERSISTENT {
        let site = site();
        let server = start(&site, mode);
        let mut stream = server.connect();
        ask(&mut stream, &get("/a.txt")).assert_status(200);
        let (stopped, on_stop) = mpsc::channel();
        std::thread::spawn(move || {
            server.stop();
            let _ = stopped.send(());
        });
        on_stop
            .recv_timeout(PATIENCE / 2)
            .unwrap_or_else(|_| panic!("{mode}: an idle connection held up the stop"));
        assert_closed(&mut stream, "an idle connection at a stop");
    }
}

#[test]
fn a_client_that_asked_to_close_does_not_hold_the_server_after_its_response() {
    // One worker, or single mode: if the server waited for this client to hang up before
    // serving anyone else, the next client would wait up to the lingering-close bound.
    for mode in [Mode::Single, Mode::Pool] {
        let site = site();
        let config = Config {
            threads: 1,
            ..test_config(mode)
        };
        let server = TestServer::start_with(site.path(), config);
        let mut first = server.connect();
        ask(
            &mut first,
            "GET /a.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
        .assert_status(200);
        // `first` stays open, as a slow client's socket would.
        let started = Instant::now();
        server.get("/b.txt").assert_status(200);
        let took = started.elapsed();
        assert!(
            took < Duration::from_millis(500),
            "{mode}: the next client waited {took:?} for the first to hang up"
        );
        drop(first);
    }
}
