//! Clients that try to hold the server hostage: each attack runs against a small pool (two
//! event loops), and while it runs a plain GET must still be answered within half a second.
//!
//! Every attack here once held a worker of the pool mode for seconds or more: waiting for
//! a body that never comes, reading a download slowly, lingering after hundreds of 408s,
//! ignoring `Expect: 100-continue`, and running out of file descriptors. A stray empty
//! line between requests, which RFC 9112 says to ignore, once earned an unsolicited 408.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use support::{
    read_response, read_to_close, start_download, test_config, Exchange, ResponseReader, Site,
    TestServer,
};
use weblab::{Config, Mode};

/// The most a plain GET may take while an attack runs.
const PROMPT: Duration = Duration::from_millis(500);

/// How many attacking connections: four times the event loops below.
const ATTACKERS: usize = 8;

fn site() -> Site {
    Site::new()
        .file("a.txt", "a")
        .sparse_file("big.bin", 10 << 20)
}

/// A pool of two event loops (fewer than the attackers), with `config`'s other settings.
fn small_pool(site: &Site, config: Config) -> TestServer {
    let config = Config {
        threads: 2,
        ..config
    };
    TestServer::start_with(site.path(), config)
}

/// Sends `GET /a.txt` and fails unless a 200 comes back within [`PROMPT`].
#[track_caller]
fn assert_prompt_get(server: &TestServer, attack: &str) {
    let started = Instant::now();
    let exchange = server.get("/a.txt");
    let took = started.elapsed();
    exchange.assert_status(200).assert_body("a");
    assert!(
        took < PROMPT,
        "a plain GET took {took:?} while {attack}; expected under {PROMPT:?}"
    );
}

/// Opens a connection and sends `bytes` on it.
fn attacker(server: &TestServer, bytes: &str) -> TcpStream {
    let mut stream = server.connect();
    stream.write_all(bytes.as_bytes()).expect("send the attack");
    stream
}

#[test]
fn clients_that_never_send_their_body_do_not_delay_a_get() {
    let site = site();
    let server = small_pool(&site, test_config(Mode::Pool));
    let head = "POST /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n";
    let held: Vec<TcpStream> = (0..ATTACKERS).map(|_| attacker(&server, head)).collect();
    assert_prompt_get(&server, "8 clients withheld a promised 1 MB body");
    drop(held);
}

#[test]
fn clients_that_read_a_download_slowly_do_not_delay_a_get() {
    let site = site();
    let server = small_pool(&site, test_config(Mode::Pool));
    // Each reads the head of a 10 MiB response and then nothing: the rest fills the socket
    // buffers and waits for a reader that does not come.
    let held: Vec<TcpStream> = (0..ATTACKERS)
        .map(|_| {
            let (stream, head) = start_download(server.addr(), "/big.bin");
            head.assert_status(200);
            stream
        })
        .collect();
    assert_prompt_get(&server, "8 clients stalled in 10 MiB downloads");
    drop(held);
}

#[test]
fn four_hundred_half_requests_expiring_together_do_not_delay_a_get() {
    const HALF_SENT: usize = 400;
    let site = site();
    let config = Config {
        timeout: Duration::from_millis(500),
        ..test_config(Mode::Pool)
    };
    let server = small_pool(&site, config);
    let mut held: Vec<TcpStream> = (0..HALF_SENT)
        .map(|_| attacker(&server, "GET / HTTP/1.1\r\n"))
        .collect();
    // The first 408 says the deadlines have passed: now every one of these connections is
    // answered, and the server waits for each client to stop sending (lingering close).
    let mut first = [0; 12];
    let got = held[0].read_exact(&mut first);
    assert!(
        got.is_ok() && first.starts_with(b"HTTP/1.1 408"),
        "expected a 408 once the timeout passed, got {got:?}: {:?}",
        String::from_utf8_lossy(&first)
    );
    assert_prompt_get(
        &server,
        "400 half-sent requests had just timed out together",
    );
    held.clear();
}

/// RFC 9110, 10.1.1: a server that receives `Expect: 100-continue` sends either 100
/// (Continue) or a final status at once; it must not wait for a body the client holds back.
fn expect_100_continue_is_answered_at_once(mode: Mode) {
    let site = site();
    let server = TestServer::start(site.path(), mode);
    for (request, status) in [
        (
            "PUT /upload.bin HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 1000\r\n\r\n",
            405,
        ),
        (
            "GET /a.txt HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 10\r\n\r\n",
            200,
        ),
    ] {
        let mut stream = server.connect();
        let started = Instant::now();
        stream.write_all(request.as_bytes()).expect("send the head");
        let raw = read_response(&mut stream, false);
        let took = started.elapsed();
        let exchange = Exchange::new(request.as_bytes().to_vec(), raw);
        // This server never reads a body it has no use for, so it answers with the final
        // status, and closes: the client may or may not send the body after all.
        exchange
            .assert_status(status)
            .assert_header("Connection", "close");
        assert!(
            took < PROMPT,
            "{mode}: the answer to a request expecting 100-continue took {took:?}"
        );
    }
}

every_mode!(expect_100_continue_is_answered_at_once);

#[test]
fn clients_that_expect_100_continue_do_not_delay_a_get() {
    let site = site();
    let server = small_pool(&site, test_config(Mode::Pool));
    let head = "PUT /upload.bin HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 1000\r\n\r\n";
    let held: Vec<TcpStream> = (0..ATTACKERS).map(|_| attacker(&server, head)).collect();
    assert_prompt_get(&server, "8 clients expected 100-continue");
    drop(held);
}

/// RFC 9112, 2.2: empty lines before a request line are ignored. One after a request must
/// not count as the start of the next, and earn a 408 when the connection idles out.
fn a_stray_empty_line_after_a_request_is_never_answered(mode: Mode) {
    let site = site();
    let config = Config {
        keep_alive_timeout: Duration::from_millis(300),
        ..test_config(mode)
    };
    let server = TestServer::start_with(site.path(), config);
    let mut stream = server.connect();
    let request = "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n\r\n";
    stream.write_all(request.as_bytes()).expect("send");
    let first = read_response(&mut stream, false);
    Exchange::new(request.as_bytes().to_vec(), first)
        .assert_status(200)
        .assert_body("a");
    let after = read_to_close(&mut stream);
    if !after.is_empty() {
        Exchange::new(request.as_bytes().to_vec(), after)
            .fail("nothing after the response: the idle connection closed without a word");
    }
}

fn empty_lines_between_pipelined_requests_are_skipped(mode: Mode) {
    let site = site().file("b.txt", "bb");
    let server = TestServer::start(site.path(), mode);
    let mut reader = ResponseReader::new(server.connect());
    let both = "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n\r\n\r\n\nGET /b.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    reader.stream().write_all(both.as_bytes()).expect("send");
    let mut next = || Exchange::new(both.as_bytes().to_vec(), reader.next_response(false));
    next().assert_status(200).assert_body("a");
    next().assert_status(200).assert_body("bb");
}

mod persistent {
    use super::*;

    #[test]
    fn a_stray_empty_line_after_a_request_is_never_answered_threaded() {
        a_stray_empty_line_after_a_request_is_never_answered(Mode::Threaded);
    }

    #[test]
    fn a_stray_empty_line_after_a_request_is_never_answered_pool() {
        a_stray_empty_line_after_a_request_is_never_answered(Mode::Pool);
    }

    #[test]
    fn empty_lines_between_pipelined_requests_are_skipped_threaded() {
        empty_lines_between_pipelined_requests_are_skipped(Mode::Threaded);
    }

    #[test]
    fn empty_lines_between_pipelined_requests_are_skipped_pool() {
        empty_lines_between_pipelined_requests_are_skipped(Mode::Pool);
    }
}

/// Out of file descriptors: the server process may hold only 64, and far more clients
/// connect and say nothing. `accept` then fails with EMFILE while the listener stays
/// readable; a server that simply retries spins at full speed and answers no one. This one
/// answers 503 with a descriptor it kept spare, stops accepting for a moment, and idles.
#[cfg(unix)]
fn out_of_descriptors_the_server_idles_and_answers(mode: &str) {
    use std::os::unix::process::CommandExt;
    use std::process::{Command, Stdio};

    const LIMIT: libc::rlim_t = 64;
    let site = site();
    let mut command = Command::new(env!("CARGO_BIN_EXE_server"));
    command
        .args(["--port", "0", "--quiet", "--threads", "2", "--mode", mode])
        .arg("--root")
        .arg(site.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    // SAFETY: setrlimit is async-signal-safe and touches only the child about to exec.
    unsafe {
        command.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: LIMIT,
                rlim_max: LIMIT,
            };
            match libc::setrlimit(libc::RLIMIT_NOFILE, &limit) {
                0 => Ok(()),
                _ => Err(std::io::Error::last_os_error()),
            }
        });
    }
    let mut server = TestServer::spawn(command);
    let pid = server.child().id();
    // More silent clients than the server has descriptors.
    let held: Vec<TcpStream> = (0..2 * LIMIT).map(|_| server.connect()).collect();

    let started = Instant::now();
    let exchange = server.get("/a.txt");
    let took = started.elapsed();
    if !matches!(exchange.status(), 200 | 503) {
        exchange.fail("200, or 503 when no descriptor is left for the request");
    }
    assert!(
        took < PROMPT,
        "{mode}: with descriptors exhausted a GET took {took:?}"
    );

    // Whatever is still waiting to be accepted must not make the server spin.
    match support::cpu_time(pid) {
        Some(before) => {
            let window = Duration::from_secs(1);
            std::thread::sleep(window); // a measuring window, not a wait for an event
            let used = support::cpu_time(pid).expect("the server is still running") - before;
            assert!(
                used < window / 5,
                "{mode}: out of descriptors, the server used {used:?} of CPU in {window:?}"
            );
        }
        None => eprintln!("skipped the CPU check: no /proc on this platform"),
    }
    drop(held);
}

#[cfg(unix)]
#[test]
fn out_of_descriptors_the_pool_idles_and_answers() {
    out_of_descriptors_the_server_idles_and_answers("pool");
}

#[cfg(unix)]
#[test]
fn out_of_descriptors_the_threaded_server_idles_and_answers() {
    out_of_descriptors_the_server_idles_and_answers("threaded");
}
