//! Stopping cleanly: a download in flight completes, new connections are refused, every
//! thread is joined, and the binary exits 0 on SIGTERM.

mod support;

use std::io::Read;
use std::net::TcpStream;
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::time::Duration;

use support::{connect, count_to_close, start_download, Site, TestServer, PATIENCE};
use weblab::Mode;

every_mode!(a_download_in_flight_completes_after_a_stop);

const BIG: u64 = 64 << 20;

fn big_site() -> Site {
    Site::new().file("a.txt", "a").sparse_file("big.bin", BIG)
}

/// Starts downloading the big file and checks its head: after this the server is busy
/// sending the body, which does not fit in the socket buffers.
fn start_big_download(addr: std::net::SocketAddr) -> TcpStream {
    let (stream, head) = start_download(addr, "/big.bin");
    head.assert_status(200)
        .assert_header("Content-Length", &BIG.to_string());
    stream
}

fn a_download_in_flight_completes_after_a_stop(mode: Mode) {
    let site = big_site();
    let server = TestServer::start(site.path(), mode);
    let addr = server.addr();
    let handle = server.handle().clone();
    let download = start_big_download(addr);

    // Stop on another thread: `stop` returns only once every server thread is joined.
    let (stopped, on_stop) = mpsc::channel();
    let stopper = std::thread::spawn(move || {
        server.stop();
        let _ = stopped.send(());
    });
    handle.shutdown(); // the stop is under way before the download goes on

    assert_eq!(
        count_to_close(download),
        BIG,
        "{mode}: the whole file arrives"
    );
    on_stop
        .recv_timeout(PATIENCE)
        .expect("the server stops once the download is done");
    stopper.join().expect("the stopping thread");
    assert_eq!(handle.stats().open_connections.load(Ordering::SeqCst), 0);
    assert!(
        TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_err(),
        "{mode}: a stopped server refuses new connections"
    );
}

#[test]
fn a_stop_closes_idle_connections_at_once() {
    let site = Site::new().file("a.txt", "a");
    for mode in Mode::ALL {
        let server = TestServer::start(site.path(), mode);
        server.get("/a.txt").assert_status(200);
        // A client that has said nothing would otherwise hold the stop for the full timeout.
        let mut idle = connect(server.addr());
        let (stopped, on_stop) = mpsc::channel();
        std::thread::spawn(move || {
            server.stop();
            let _ = stopped.send(());
        });
        on_stop
            .recv_timeout(Duration::from_secs(5))
            .unwrap_or_else(|_| panic!("{mode}: an idle connection held up the stop"));
        let mut byte = [0];
        assert!(
            matches!(idle.read(&mut byte), Ok(0) | Err(_)),
            "{mode}: idle connection closed"
        );
    }
}

/// During a stop, a connection closes as soon as its response is done, even while another
/// one is still being served: it does not wait, kept alive, for the slowest download.
#[test]
fn during_a_stop_a_finished_response_closes_its_connection_at_once() {
    let site = big_site();
    for mode in [Mode::Threaded, Mode::Pool] {
        let config = weblab::Config {
            timeout: Duration::from_secs(60),
            keep_alive_timeout: Duration::from_secs(60),
            ..support::test_config(mode)
        };
        let server = TestServer::start_with(site.path(), config);
        let addr = server.addr();
        let handle = server.handle().clone();
        let finishing = start_big_download(addr);
        let stalled = start_big_download(addr); // never read while the stop waits on it
        let (stopped, on_stop) = mpsc::channel();
        let stopper = std::thread::spawn(move || {
            server.stop();
            let _ = stopped.send(());
        });
        handle.shutdown();
        // Both requests were keep-alive; once the first response is sent the server must
        // close that connection, not wait up to a minute for its next request.
        assert_eq!(
            count_to_close(finishing),
            BIG,
            "{mode}: the whole file, then the end of the connection"
        );
        drop(stalled);
        on_stop
            .recv_timeout(PATIENCE)
            .unwrap_or_else(|_| panic!("{mode}: the server stops once both clients are gone"));
        stopper.join().expect("the stopping thread");
    }
}

#[test]
fn a_stuck_download_is_cut_off_after_the_timeout() {
    let site = big_site();
    for mode in [Mode::Threaded, Mode::Pool] {
        let config = weblab::Config {
            timeout: Duration::from_millis(300),
            ..support::test_config(mode)
        };
        let server = TestServer::start_with(site.path(), config);
        let handle = server.handle().clone();
        // This client never reads: without a bound, the stop would wait for it forever.
        let _stuck = start_big_download(server.addr());
        // Another client comes and goes while the first is stuck.
        server.get("/a.txt").assert_status(200);
        let (stopped, on_stop) = mpsc::channel();
        std::thread::spawn(move || {
            server.stop();
            let _ = stopped.send(());
        });
        on_stop
            .recv_timeout(PATIENCE)
            .unwrap_or_else(|_| panic!("{mode}: the stop is bounded by the timeout"));
        // The stop returns only once every connection's thread is done with it.
        assert_eq!(
            handle.stats().open_connections.load(Ordering::SeqCst),
            0,
            "{mode}: connections still open after the stop returned"
        );
    }
}

#[cfg(unix)]
#[test]
fn sigterm_lets_the_download_finish_and_exits_0() {
    for signal in [libc::SIGTERM, libc::SIGINT] {
        let site = big_site();
        let mut server = TestServer::binary(site.path(), &["--quiet"]);
        let addr = server.addr();
        let download = start_big_download(addr);
        let pid = server.child().id() as libc::pid_t;
        // SAFETY: kill(2) with a valid signal number on our own child process.
        assert_eq!(unsafe { libc::kill(pid, signal) }, 0, "send the signal");
        assert_eq!(count_to_close(download), BIG, "the whole file arrives");

        let mut child = std::mem::replace(server.child(), dummy_child());
        let (exited, on_exit) = mpsc::channel();
        std::thread::spawn(move || {
            let _ = exited.send(child.wait());
        });
        let status = on_exit
            .recv_timeout(PATIENCE)
            .expect("the server exits after the signal")
            .expect("wait for the server");
        assert_eq!(status.code(), Some(0), "exit status after signal {signal}");
        assert!(TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_err());
    }
}

/// A finished child process to leave in the TestServer after taking the real one out.
#[cfg(unix)]
fn dummy_child() -> std::process::Child {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_server"))
        .arg("--version")
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("run server --version");
    let _ = child.wait();
    child
}
