//! A signal that interrupts the server does not stop it, drop a request or cut a file short.
//!
//! A signal handler that runs while a thread is blocked makes some system calls fail with
//! EINTR: waiting in epoll always, and reading a socket that has a timeout (signal(7)),
//! whatever the handler's flags. A server that took EINTR for a real error would quit, or
//! drop a client, when its terminal was resized or a profiler sampled it.
//!
//! Linux only: the test finds the blocked thread through /proc and signals it with tgkill.
//! Everything runs in one test function, so that no other test's threads are about.
#![cfg(target_os = "linux")]

mod support;

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

use support::{connect, read_to_close, test_config, Exchange, Site, PATIENCE};
use weblab::{Mode, NoLog, Server, ServerHandle};

/// How many times the handler has run: the test waits for it to count a signal, so it
/// knows the interrupted call has returned before it sends the server anything more.
static HANDLED: AtomicUsize = AtomicUsize::new(0);

extern "C" fn count_it(_signal: libc::c_int) {
    HANDLED.fetch_add(1, Ordering::SeqCst); // lock-free, so async-signal-safe
}

/// Installs a handler for SIGUSR1 that counts, without SA_RESTART.
fn install_handler() {
    // SAFETY: sigaction with a zeroed, then filled, struct; the handler only adds to an
    // atomic, which is async-signal-safe; the old action is not needed.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = count_it as extern "C" fn(libc::c_int) as usize;
        libc::sigemptyset(&mut action.sa_mask);
        action.sa_flags = 0;
        assert_eq!(
            libc::sigaction(libc::SIGUSR1, &action, std::ptr::null_mut()),
            0,
            "install a SIGUSR1 handler"
        );
    }
}

/// What a thread of this process is blocked in, if anything.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Blocked {
    Epoll,
    SocketRead,
    SendFile,
}

fn blocked_in(tid: &str) -> Option<Blocked> {
    let task = format!("/proc/self/task/{tid}");
    let wchan = std::fs::read_to_string(format!("{task}/wchan")).ok()?;
    if wchan.contains("epoll") {
        return Some(Blocked::Epoll);
    }
    let syscall = std::fs::read_to_string(format!("{task}/syscall")).ok()?;
    let number: libc::c_long = syscall.split(' ').next()?.parse().ok()?;
    match number {
        // std reads a socket with recv(2), which is recvfrom underneath.
        libc::SYS_recvfrom => Some(Blocked::SocketRead),
        libc::SYS_sendfile => Some(Blocked::SendFile),
        _ => None,
    }
}

/// Waits until some thread of this process is blocked in `what`, signals it, and waits for
/// the handler to have run. Nothing announces "now blocked in a system call", so this
/// watches /proc, bounded by PATIENCE.
fn signal_the_thread_blocked_in(what: Blocked, server: &JoinHandle<std::io::Result<()>>) {
    let watch = Instant::now();
    loop {
        let tasks = std::fs::read_dir("/proc/self/task").expect("list this process's threads");
        let found = tasks
            .filter_map(|task| Some(task.ok()?.file_name().to_string_lossy().into_owned()))
            .find(|tid| blocked_in(tid).as_ref() == Some(&what));
        if let Some(tid) = found {
            let tid: libc::pid_t = tid.parse().expect("a thread id");
            let before = HANDLED.load(Ordering::SeqCst);
            // SAFETY: tgkill only sends a signal, to a thread of this very process, whose
            // handler for it only counts.
            let sent =
                unsafe { libc::syscall(libc::SYS_tgkill, libc::getpid(), tid, libc::SIGUSR1) };
            assert_eq!(sent, 0, "signal thread {tid}");
            while HANDLED.load(Ordering::SeqCst) == before {
                assert!(watch.elapsed() < PATIENCE, "the signal was never handled");
                std::thread::yield_now();
            }
            return;
        }
        assert!(
            watch.elapsed() < PATIENCE && !server.is_finished(),
            "no server thread was ever blocked in {what:?}"
        );
        std::thread::yield_now();
    }
}

fn start(site: &Site, mode: Mode) -> (SocketAddr, ServerHandle, JoinHandle<std::io::Result<()>>) {
    let server = Server::bind(
        "127.0.0.1:0",
        site.path(),
        test_config(mode),
        Arc::new(NoLog),
    )
    .expect("start a server");
    let addr = server.local_addr();
    let handle = server.handle();
    (addr, handle, std::thread::spawn(move || server.run()))
}

/// Larger than the socket buffers on loopback, so sending it blocks until the client reads.
const RANGE: usize = 16 << 20;

fn send(stream: &mut TcpStream, bytes: &[u8]) {
    stream.write_all(bytes).expect("send to the server");
}

#[test]
fn signals_interrupt_neither_the_server_nor_its_clients() {
    install_handler();
    // Twice the range, so a send that ran past the range's end would have more to send.
    let big: Vec<u8> = (0..2 * RANGE).map(|i| (i % 251) as u8).collect();
    let site = Site::new().file("a.txt", "a").file("big.bin", &big);
    for mode in Mode::ALL {
        let (addr, handle, running) = start(&site, mode);

        // Waiting for connections.
        for _ in 0..3 {
            signal_the_thread_blocked_in(Blocked::Epoll, &running);
            let request = b"GET /a.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
            support::exchange(addr, request)
                .assert_status(200)
                .assert_body("a");
        }

        // In pool mode nothing blocks on a client: every wait below is a wait in the poller,
        // where a signal must be just as harmless.
        let (reading, sending) = match mode {
            Mode::Pool => (Blocked::Epoll, Blocked::Epoll),
            _ => (Blocked::SocketRead, Blocked::SendFile),
        };

        // Reading a request head.
        if mode != Mode::Pool {
            let mut stream = connect(addr);
            send(&mut stream, b"GET /a.txt HTTP/1.1\r\nHost: x\r\n");
            signal_the_thread_blocked_in(Blocked::SocketRead, &running);
            send(&mut stream, b"Connection: close\r\n\r\n");
            let raw = read_to_close(&mut stream);
            let request = b"GET /a.txt HTTP/1.1\r\nHost: x\r\n(signal)Connection: close\r\n\r\n";
            Exchange::new(request.to_vec(), raw)
                .assert_status(200)
                .assert_body("a");
        }

        // Reading a request body to skip it, then the next request on the same connection.
        let mut stream = connect(addr);
        send(
            &mut stream,
            b"GET /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab",
        );
        signal_the_thread_blocked_in(reading, &running);
        send(
            &mut stream,
            b"cdefghijGET /a.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        );
        let raw = read_to_close(&mut stream);
        drop(stream); // a server lingering to drain the unread request can stop now
                      // Single mode answers one request per connection.
        let expected = if mode == Mode::Single { 1 } else { 2 };
        let answers = raw.windows(15).filter(|w| w == b"HTTP/1.1 200 OK").count();
        if answers != expected {
            Exchange::new(
                b"GET /a.txt (10-byte body, signal) then GET /a.txt".to_vec(),
                raw,
            )
            .fail(&format!(
                "{expected} response(s) with status 200 on one connection"
            ));
        }

        // Sending a file: the client does not read, so sendfile blocks on a full socket
        // buffer. A first signal makes it return the part it sent; the next call blocks
        // at once, and a second signal makes it fail with EINTR, having sent nothing. The
        // rest of the range must follow, and nothing past it.
        let mut stream = connect(addr);
        let request = format!(
            "GET /big.bin HTTP/1.1\r\nHost: x\r\nRange: bytes=0-{}\r\nConnection: close\r\n\r\n",
            RANGE - 1
        );
        send(&mut stream, request.as_bytes());
        signal_the_thread_blocked_in(sending, &running);
        signal_the_thread_blocked_in(sending, &running);
        let raw = read_to_close(&mut stream);
        let exchange = Exchange::new(request.into_bytes(), raw);
        exchange.assert_status(206).assert_length_matches();
        if exchange.body() != &big[..RANGE] {
            exchange.fail(&format!("the file's first {RANGE} bytes, and nothing more"));
        }

        assert!(!running.is_finished(), "{mode}: the server stopped");
        handle.shutdown();
        running
            .join()
            .expect("the server thread")
            .unwrap_or_else(|e| panic!("{mode}: the server failed: {e}"));
    }
}
