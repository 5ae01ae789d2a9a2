//! The behaviour suite for any implementation of the exercises, in any language. Each test
//! is one behaviour of the rubric, named `exNN_...` after the exercise that teaches it.
//!
//! ```text
//! WEBLAB_SERVER='python3 server.py {port} {root}' cargo test --test conformance
//! WEBLAB_CLIENT='python3 client.py {host} {port} {path}' cargo test --test conformance ex02
//! ```
//!
//! Without `WEBLAB_SERVER` and `WEBLAB_CLIENT` the suite checks the kit's own `server` and
//! `client` commands, so `cargo test` proves that the reference passes every behaviour.
//! `exercises/README.md` explains what a server must do to be tested: take its port and
//! root from the command line, print `listening on http://IP:PORT` (or just answer), and,
//! for exercise 04, shut down gracefully when its standard input closes.
//! `WEBLAB_PRIVATE_TESTS=DIR` adds an instructor's own cases (see `private_cases_pass`).

mod client_support;
mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use client_support::{fixture, FakeServer, Then};
use support::{
    exchange, read_response, read_to_close, start_download, Ending, Exchange, Site, TestServer,
    PATIENCE,
};

// ---------------------------------------------------------------------------------------
// What is under test

/// The server command: `WEBLAB_SERVER`, or the kit's own server on port 0 (it prints the
/// port it got).
fn server_template() -> String {
    std::env::var("WEBLAB_SERVER").unwrap_or_else(|_| {
        format!(
            "\"{}\" --port 0 --root {{root}} --timeout 1 --quiet",
            env!("CARGO_BIN_EXE_server")
        )
    })
}

fn start(root: &Path) -> TestServer {
    let template = server_template();
    match fixed_port(&template) {
        Some(port) => TestServer::external_on_fixed_port(&template, root, port),
        None => TestServer::external(&template, root),
    }
}

/// The port a server always listens on, if it does: a `WEBLAB_SERVER` without `{port}`
/// means a program hard-wired to one port, as the assignment suggests ("a fixed port
/// number, e.g. 12345"): `WEBLAB_PORT`, 12345 when unset. `WEBLAB_PORT=0` means the
/// server announces the port it got instead (`listening on http://IP:PORT`).
fn fixed_port(template: &str) -> Option<u16> {
    if std::env::var_os("WEBLAB_SERVER").is_none() || template.contains("{port}") {
        return None;
    }
    let port = match std::env::var("WEBLAB_PORT") {
        Ok(text) => text.parse().unwrap_or_else(|_| {
            panic!("\nexpected: WEBLAB_PORT to be a port number, not {text:?}\n")
        }),
        Err(_) => 12345,
    };
    (port != 0).then_some(port)
}

/// Asks the server to shut down gracefully: SIGTERM for the kit's server (or when
/// `WEBLAB_SHUTDOWN=sigterm`), otherwise by closing its standard input, which a server in
/// any language can notice without signal handling. Returns false where neither works.
fn ask_to_shut_down(server: &mut TestServer) -> bool {
    let sigterm = match std::env::var("WEBLAB_SHUTDOWN") {
        Ok(way) => way == "sigterm",
        Err(_) => std::env::var_os("WEBLAB_SERVER").is_none(),
    };
    if !sigterm {
        server.close_stdin();
        return true;
    }
    #[cfg(unix)]
    {
        let pid = server.child().id() as libc::pid_t;
        // SAFETY: kill only sends a signal, to a child process this test started.
        unsafe { libc::kill(pid, libc::SIGTERM) == 0 }
    }
    #[cfg(not(unix))]
    false
}

/// Sends half a request, so the server is left waiting for the rest.
fn half_request(server: &TestServer, path: &str) -> TcpStream {
    let mut stream = server.connect();
    let half = format!("GET {path} HTTP/1.1\r\nHost: slow");
    sent_or_explained(&mut stream, half.as_bytes());
    stream
}

/// Sends `request`, or fails saying that the server had closed the connection already
/// (what "Broken pipe" or "Connection reset" means here), with what it had sent.
fn sent_or_explained(stream: &mut TcpStream, request: &[u8]) {
    if let Err(error) = stream.write_all(request) {
        let (raw, ending) = support::read_to_close_until(stream, Duration::from_secs(1));
        Exchange::new(request.to_vec(), raw)
            .ended(ending)
            .fail(&format!(
                "the server to read this request; it had closed the connection before the test \
             could send it all ({error}: the server closed it, or crashed; see its stderr)"
            ));
    }
}

const SECRET: &str = "the contents of a file outside the root";

// ---------------------------------------------------------------------------------------
// 01: the single-threaded server (assignment task 1)

#[test]
fn ex01_a_file_is_served_with_200_and_its_exact_bytes() {
    let text = "<p>Caf\u{e9} au lait, \u{2615}, na\u{ef}ve r\u{e9}sum\u{e9}</p>\n".repeat(200);
    let site = Site::new().file("menu.html", &text);
    let server = start(site.path());
    server
        .get("/menu.html")
        .assert_status(200)
        .assert_body(&text);
}

#[test]
fn ex01_responses_carry_a_matching_content_length() {
    let site = Site::new().file("page.html", "<p>twenty-four bytes</p>");
    let server = start(site.path());
    server
        .get("/page.html")
        .assert_status(200)
        .assert_length_matches();
}

/// An image, a PDF, a zip: bytes that are not UTF-8 text, with `\r\n` and NUL among them
/// (every PNG starts `89 50 4e 47 0d 0a 1a 0a`).
fn binary_bytes() -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\xff\xfe\xc3\x28\r\n\0".to_vec();
    bytes.extend((0..=255u8).cycle().take(4000));
    bytes.extend_from_slice(b"\r\n\r\n\0\xff");
    bytes
}

#[test]
fn ex01_binary_files_are_served_byte_exact() {
    let bytes = binary_bytes();
    let site = Site::new().file("picture.png", &bytes);
    let server = start(site.path());
    let picture = server.get("/picture.png");
    if picture.response.as_ref().map(|r| &r.body) != Some(&bytes) {
        picture.fail(&format!(
            "status 200 and the {} bytes of the picture, byte for byte: read files as bytes \
             (fs::read, or open(path, \"rb\") in Python), never as text, which fails on bytes \
             that are not UTF-8 or turns \\r\\n into \\n",
            bytes.len()
        ));
    }
}

#[test]
fn ex01_every_line_of_the_response_head_ends_in_crlf() {
    let site = Site::new().file("index.html", "<h1>home</h1>");
    let server = start(site.path());
    let page = server.get("/index.html");
    page.assert_status(200);
    if page.response().bare_line_ends {
        page.fail(
            "every line of the head to end in \\r\\n, and a line of just \\r\\n to end the \
             head: lines must end in \\r\\n (RFC 9112, section 2.1); a browser forgives \\n \
             alone, other clients do not",
        );
    }
}

/// Sends `pieces` one at a time, making sure after each (but the last) that no answer comes
/// within `quiet`: a server must wait for the empty line that ends the head. Then reads
/// the response.
fn send_in_pieces(server: &TestServer, pieces: &[&[u8]], quiet: Duration) -> Exchange {
    let whole: Vec<u8> = pieces.concat();
    let mut stream = server.connect();
    let mut sent = Vec::new();
    for (i, piece) in pieces.iter().enumerate() {
        if stream.write_all(piece).is_err() {
            break; // the server closed early; what it sent tells why
        }
        sent.extend_from_slice(piece);
        if i + 1 == pieces.len() {
            break;
        }
        // The quiet wait is the behaviour under test (a client slow to send), not a wait
        // for some event: an answer within it is an answer to half a request.
        let (early, _) = support::read_response_until(&mut stream, false, quiet);
        if !early.is_empty() {
            let (rest, ending) = support::read_response_until(&mut stream, false, quiet);
            let raw = [early, rest].concat();
            Exchange::new(whole, raw).ended(ending).fail(&format!(
                "an answer only once the whole request had arrived; the server answered \
                 after the first {} bytes, {:?}: one read returns what has arrived so far, \
                 not a whole request, so read until the empty line (\\r\\n\\r\\n)",
                sent.len(),
                String::from_utf8_lossy(&sent)
            ));
        }
    }
    let (raw, ending) = support::read_response_until(&mut stream, false, PATIENCE);
    Exchange::new(whole, raw).ended(ending)
}

#[test]
fn ex01_a_request_split_across_writes_is_read_whole() {
    let site = Site::new().file("HelloWorld.html", "<h1>Hello, World!</h1>");
    let server = start(site.path());
    // Split inside the request line, as a slow network or a person typing into nc does.
    let pieces: [&[u8]; 5] = [
        b"GET /Hel",
        b"loWor",
        b"ld.html HTTP/1.1\r\nHo",
        b"st: x\r\nConnection: close\r\n",
        b"\r\n",
    ];
    send_in_pieces(&server, &pieces, Duration::from_millis(100))
        .assert_status(200)
        .assert_body("<h1>Hello, World!</h1>");
}

/// A browser's request with its cookies: 8194 bytes, so that the empty line at its end
/// (bytes 8190 to 8193) falls across the end of any read of 1, 2, 4 or 8 KiB.
fn browser_request(path: &str) -> Vec<u8> {
    const TOTAL: usize = 8194;
    let start = format!(
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\
         User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n\
         Accept: text/html,application/xhtml+xml;q=0.9,*/*;q=0.8\r\n\
         Accept-Language: en-GB,en;q=0.5\r\nConnection: close\r\nCookie: session="
    );
    let end = "\r\n\r\n";
    let filler = TOTAL - start.len() - end.len();
    let cookie: String = (0..filler)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    format!("{start}{cookie}{end}").into_bytes()
}

#[test]
fn ex01_a_request_head_of_8_kib_is_read_whole() {
    let site = Site::new().file("index.html", "<h1>home</h1>");
    let server = start(site.path());
    let request = browser_request("/index.html");
    let mut stream = server.connect();
    let _ = stream.write_all(&request);
    let patience = Duration::from_secs(5);
    let (mut raw, ending) = support::read_response_until(&mut stream, false, patience);
    let ending = match ending {
        // The response is whole: how does the connection end?
        Ending::Complete => {
            let (rest, ending) = support::read_to_close_until(&mut stream, patience);
            raw.extend(rest);
            ending
        }
        ending => ending,
    };
    let page = Exchange::new(request, raw).ended(ending).if_waiting(
        "most likely still waiting for the end of the head, which arrived split across two \
         reads (\\r\\n, then \\r\\n): look for \\r\\n\\r\\n in all the bytes read so far, not \
         in the last read alone",
    );
    page.assert_status(200).assert_body("<h1>home</h1>");
    if ending == Ending::Reset {
        page.fail(&format!(
            "the connection to close normally after the response; it was reset, which is \
             what a system does when a program closes a connection with part of the request \
             unread: read the whole head, all {} bytes of it (a browser sends this much with \
             its cookies), not just what the first read returns",
            page.request.len()
        ));
    }
}

/// 16 MiB of text, the same every time, so a short or garbled download shows.
fn big_text() -> Vec<u8> {
    (0..16u32 << 20)
        .map(|i| match i % 64 {
            63 => b'\n',
            column => b'a' + ((i / 64 + column) % 26) as u8,
        })
        .collect()
}

#[test]
fn ex01_a_16_mib_file_arrives_whole_and_byte_exact() {
    let text = big_text();
    let site = Site::new().file("big.txt", &text);
    let server = start(site.path());
    server.get("/big.txt").assert_status(200).assert_body(&text);
}

#[test]
fn ex01_the_server_keeps_serving_after_bad_requests() {
    let site = Site::new().file("index.html", "<h1>home</h1>");
    let server = start(site.path());
    let bad: [(&str, &[u8]); 3] = [
        ("a connection that sent nothing", b""),
        (
            "bytes that are not HTTP (the start of an https:// request)",
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n",
        ),
        (
            "a path that is not UTF-8 (/caf\\xe9.html)",
            b"GET /caf\xe9.html HTTP/1.1\r\nHost: x\r\n\r\n",
        ),
    ];
    for (_, request) in bad {
        let Ok(mut stream) = TcpStream::connect_timeout(&server.addr(), PATIENCE) else {
            break; // it has stopped: the request below says so
        };
        let _ = stream.write_all(request);
        // Done sending: a server reading to the end of the request sees the end here.
        let _ = stream.shutdown(std::net::Shutdown::Write);
        let _ = support::read_to_close_until(&mut stream, Duration::from_secs(5));
    }
    let page = server
        .get("/index.html")
        .if_waiting("most likely still stuck on one of the bad requests before it");
    if page.response.as_ref().map(|r| r.status) != Some(200) {
        let sent: Vec<&str> = bad.iter().map(|(what, _)| *what).collect();
        page.fail(&format!(
            "status 200 for this request, sent after {}: one bad request must never stop a \
             server (answer it with 400 or 404, or just close it, then go on to the next; \
             the server's stderr below shows what went wrong)",
            sent.join(", then ")
        ));
    }
    page.assert_body("<h1>home</h1>");
}

#[test]
fn ex01_html_files_are_sent_as_text_html() {
    let site = Site::new().file("page.html", "<h1>hi</h1>");
    let server = start(site.path());
    let page = server.get("/page.html");
    page.assert_status(200);
    if !page
        .header("Content-Type")
        .is_some_and(|t| t.starts_with("text/html"))
    {
        page.fail("a 'Content-Type: text/html' header (a browser needs it to show the page)");
    }
}

#[test]
fn ex01_missing_file_gets_404() {
    let site = Site::new().file("index.html", "home");
    let server = start(site.path());
    server.get("/no-such-file.html").assert_status(404);
}

#[test]
fn ex01_slash_serves_index_html() {
    let site = Site::new().file("index.html", "<h1>home</h1>");
    let server = start(site.path());
    server
        .get("/")
        .assert_status(200)
        .assert_body("<h1>home</h1>");
}

#[test]
fn ex01_files_in_subfolders_are_served() {
    let site = Site::new().file("a/b/page.html", "deep");
    let server = start(site.path());
    server
        .get("/a/b/page.html")
        .assert_status(200)
        .assert_body("deep");
}

#[test]
fn ex01_the_server_answers_one_request_after_another() {
    let site = Site::new().file("a.txt", "a").file("b.txt", "b");
    let server = start(site.path());
    for round in 0..5 {
        let (path, body) = if round % 2 == 0 {
            ("/a.txt", "a")
        } else {
            ("/b.txt", "b")
        };
        server.get(path).assert_status(200).assert_body(body);
    }
}

// ---------------------------------------------------------------------------------------
// 02: the client (assignment task 2)

/// What a client run printed.
struct ClientRun {
    command: String,
    /// How long the client was given to finish.
    limit: Duration,
    /// How to play the fake server's part by hand.
    replay: String,
    exit: Option<std::process::ExitStatus>,
    stdout: Vec<u8>,
    stderr: String,
}

impl ClientRun {
    #[track_caller]
    fn fail(&self, expected: &str) -> ! {
        panic!(
            "\nexpected: {expected}\n\n--- command ---\n{}\n--- exit ---\n{}\n\
             --- stdout ---\n{}\n--- stderr ---\n{}\n\n{}\n",
            self.command,
            self.exit.map_or(
                format!(
                    "(none: the test gave up waiting after {:?} and stopped the client, which \
                     was most likely still waiting for more of the response, or for the \
                     server to close the connection)",
                    self.limit
                ),
                |s| s.to_string()
            ),
            support::show(&self.stdout),
            self.stderr,
            self.replay
        )
    }

    fn printed(&self, part: &[u8]) -> bool {
        self.stdout.windows(part.len()).any(|w| w == part)
    }

    #[track_caller]
    fn assert_printed(&self, part: &str, what: &str) -> &ClientRun {
        if !self.printed(part.as_bytes()) {
            self.fail(&format!("{what}: {part:?}"));
        }
        self
    }
}

/// Runs the client (`WEBLAB_CLIENT`, or the kit's own) against `server` for `path`.
fn run_client(server: &FakeServer, path: &str) -> ClientRun {
    run_client_within(server, path, PATIENCE)
}

/// [`run_client`], stopping the client if it has not exited within `limit`.
fn run_client_within(server: &FakeServer, path: &str, limit: Duration) -> ClientRun {
    let template = match std::env::var("WEBLAB_CLIENT") {
        Ok(template) => template,
        Err(_) if std::env::var_os("WEBLAB_SERVER").is_some() => {
            panic!("\nexpected: a client to test: set WEBLAB_CLIENT='COMMAND {{host}} {{port}} {{path}}'\n")
        }
        Err(_) => format!(
            "\"{}\" {{host}} {{port}} {{path}}",
            env!("CARGO_BIN_EXE_client")
        ),
    };
    let port = server.port();
    let mut command = support::command_from_template(
        &template,
        &[("host", "127.0.0.1"), ("port", &port), ("path", path)],
    );
    let shown = format!("{template}  (host 127.0.0.1, port {port}, path {path})");
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start the client `{template}`: {e}"));
    let mut out = child.stdout.take().expect("stdout is piped");
    let mut err = child.stderr.take().expect("stderr is piped");
    // Each reader says when its pipe closes: a client closes both when it exits. That is
    // the event to wait on, with a limit (std cannot wait for a child with one).
    let (closed, pipe_closed) = std::sync::mpsc::channel();
    let closed_too = closed.clone();
    let stdout = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = out.read_to_end(&mut bytes);
        let _ = closed.send(());
        bytes
    });
    let stderr = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = err.read_to_string(&mut text);
        let _ = closed_too.send(());
        text
    });
    let deadline = Instant::now() + limit;
    let both_closed = (0..2).all(|_| {
        let left = deadline.saturating_duration_since(Instant::now());
        pipe_closed.recv_timeout(left).is_ok()
    });
    if !both_closed {
        let _ = child.kill();
    }
    let status = child.wait().ok();
    let exit = if both_closed { status } else { None };
    ClientRun {
        command: shown,
        limit,
        replay: format!(
            "replay by hand: play the server with\n  {} | nc -l 8080\n(some nc want \
             -l -p 8080), then run your client with: 127.0.0.1 8080 {path}",
            support::shell_bytes(&server.reply)
        ),
        exit,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    }
}

const HELLO: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 18\r\n\
                       Connection: close\r\n\r\nHello from weblab\n";

#[test]
fn ex02_client_sends_a_get_request_for_the_path() {
    let server = FakeServer::reply(HELLO, Then::Close);
    let run = run_client(&server, "/hello.html");
    let request = server.received();
    let well_formed = request.starts_with("GET /hello.html HTTP/1.")
        && request.ends_with("\r\n\r\n")
        && (!request.starts_with("GET /hello.html HTTP/1.1")
            || request.to_ascii_lowercase().contains("\r\nhost:"));
    if !well_formed {
        run.fail(&format!(
            "the request 'GET /hello.html HTTP/1.1', a 'Host:' header line, and an empty line \
             to end it (each line ending in \\r\\n); the server received:\n{}",
            support::show(request.as_bytes())
        ));
    }
}

#[test]
fn ex02_client_prints_the_status_line_headers_and_body() {
    let server = FakeServer::reply(HELLO, Then::Close);
    let run = run_client(&server, "/hello.html");
    run.assert_printed("HTTP/1.1 200 OK", "the status line")
        .assert_printed("Content-Type: text/plain", "the header lines")
        .assert_printed("Hello from weblab", "the body");
}

#[test]
fn ex02_client_prints_a_404_response() {
    let server = FakeServer::reply(&fixture("not-found.http"), Then::Close);
    let run = run_client(&server, "/missing.html");
    run.assert_printed("404 Not Found", "the status line of the 404 response");
}

#[test]
fn ex02_client_prints_a_body_longer_than_one_read() {
    let body: String = (0..4000)
        .map(|i| format!("line {i:05} of a long body\n"))
        .collect();
    let reply = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
    let server = FakeServer::reply(reply.as_bytes(), Then::Close);
    let run = run_client(&server, "/long.txt");
    if !run.printed(body.as_bytes()) {
        run.fail(&format!(
            "all {} bytes of the body, up to 'line 03999 of a long body' (one read returns \
             only part of a long response: keep reading until the server closes)",
            body.len()
        ));
    }
}

#[test]
fn ex02_client_prints_a_reply_that_arrives_in_pieces() {
    let body = "first part, second part, last part\n";
    let head = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        body.len()
    );
    let whole = format!("{head}{body}");
    // Cut in the middle of a header line and of the body, as a busy server sends it.
    let cuts = [20, head.len() + 12, head.len() + 25];
    let mut pieces = Vec::new();
    let mut from = 0;
    for cut in cuts.into_iter().chain([whole.len()]) {
        pieces.push(whole.as_bytes()[from..cut].to_vec());
        from = cut;
    }
    let server = FakeServer::in_pieces(pieces, Duration::from_millis(100), Then::Close);
    let run = run_client(&server, "/slow.txt");
    if !run.printed(whole.as_bytes()) {
        run.fail(&format!(
            "the whole response, which the server sent in 4 pieces a tenth of a second \
             apart: {:?} (one read returns what has arrived so far; keep reading until the \
             server closes)",
            whole
        ));
    }
}

/// A complete response, as a server that keeps connections open sends it: no
/// `Connection: close`, so it waits for the next request instead of closing.
const KEEP_ALIVE_HELLO: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 18\r\n\r\nHello from weblab\n";

#[test]
fn ex02_client_finishes_when_the_server_keeps_the_connection_open() {
    const PROMPTLY: Duration = Duration::from_secs(4);
    let server = FakeServer::reply(KEEP_ALIVE_HELLO, Then::CloseIfAsked);
    let run = run_client_within(&server, "/hello.html", PROMPTLY);
    if run.exit.is_none() {
        run.fail(&format!(
            "the client to print the response and exit within {PROMPTLY:?}; it was still \
             running, waiting for the server to close. An HTTP/1.1 server keeps the \
             connection open for the next request unless the request says \
             'Connection: close' (RFC 9112, section 9.6): send that header, or stop \
             reading once the Content-Length bytes of the body have come"
        ));
    }
    run.assert_printed("Hello from weblab", "the body");
}

#[test]
fn ex02_client_prints_a_binary_body_byte_exact() {
    // Short enough to arrive in one read: this behaviour is about bytes, not reading.
    let body = &binary_bytes()[..600];
    let mut reply = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    reply.extend_from_slice(body);
    let server = FakeServer::reply(&reply, Then::Close);
    let run = run_client(&server, "/picture.png");
    if !run.printed(body) {
        run.fail(&format!(
            "the {} bytes of the picture on stdout, byte for byte: write the bytes as they \
             came (stdout.write_all, sys.stdout.buffer.write); decoding them as text first \
             changes or rejects every byte that is not UTF-8",
            body.len()
        ));
    }
}

// ---------------------------------------------------------------------------------------
// 03: a thread per connection (assignment task 3)

/// The proof that connections are served at once, whatever a server's reads look like: the
/// first client connects and sends nothing yet (as a browser does when it opens a spare
/// connection), so a server serving one connection at a time is stuck reading it, however
/// it reads. The second client must be answered meanwhile, while the first is still
/// waiting (not after the server gave up on it); then the first sends its request and
/// must get its file too.
#[test]
fn ex03_a_second_client_is_served_while_the_first_is_still_sending() {
    const SECOND_PATIENCE: Duration = Duration::from_secs(3);
    const SERIAL: &str = "a server that serves one connection at a time makes every other \
                          client wait for the slowest one: serve each connection in a thread \
                          of its own";
    let site = Site::new().file("a.txt", "a").file("b.txt", "b");
    let server = start(site.path());
    let mut first = server.connect();
    let second_request = b"GET /b.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    let mut second = server.connect();
    let _ = second.write_all(second_request);
    let (raw, ending) = support::read_response_until(&mut second, false, SECOND_PATIENCE);
    let second = Exchange::new(second_request.to_vec(), raw)
        .ended(ending)
        .serving(site.path())
        .if_waiting(&format!(
            "most likely still busy with the first client's connection, which had sent \
             nothing yet ({SERIAL})"
        ));
    if second.response.as_ref().map(|r| r.status) != Some(200) {
        second.fail(
            "the second client to get /b.txt while the first client, connected before it, \
             had sent nothing yet",
        );
    }
    second.assert_body("b");
    // Had the server already given up on the first client (a read timeout, then 408), it
    // served the second only after that: one connection at a time.
    let (early, ending) = support::read_to_close_until(&mut first, Duration::from_millis(1));
    if !matches!(ending, Ending::GaveUp(_)) {
        Exchange::new(b"(nothing yet)".to_vec(), early)
            .ended(ending)
            .fail(&format!(
                "the first client's connection to stay open, waiting for its request, while \
                 the second client was served; the server had already answered it or closed \
                 it, so it served the second only after giving up on the first ({SERIAL})"
            ));
    }
    let first_request = b"GET /a.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    let _ = first.write_all(first_request);
    let (raw, ending) = support::read_response_until(&mut first, false, PATIENCE);
    let first = Exchange::new(first_request.to_vec(), raw).ended(ending);
    if first.response.as_ref().map(|r| r.status) != Some(200) {
        first.fail(
            "the first client to get its file too, once it sent its request (the second \
             client was served meanwhile)",
        );
    }
    first.assert_body("a");
}

#[test]
fn ex03_fifty_concurrent_clients_each_get_their_own_file() {
    const CLIENTS: usize = 50;
    let site = (0..CLIENTS).fold(Site::new(), |site, i| {
        site.file(
            &format!("file-{i}.txt"),
            format!("file {i}\n").repeat(i + 1),
        )
    });
    let server = start(site.path());
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
            .assert_body(format!("file {i}\n").repeat(i + 1));
    }
}

// ---------------------------------------------------------------------------------------
// 04: a thread pool with graceful shutdown

/// The number of threads of a process, where the platform tells it cheaply (Linux).
fn thread_count(pid: u32) -> Option<usize> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("Threads:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The number of sockets a process has open (Linux): its listener plus every connection it
/// has accepted. A socket open as several descriptors (`try_clone`) counts once.
fn socket_count(pid: u32) -> Option<usize> {
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?;
    let sockets: std::collections::HashSet<PathBuf> = fds
        .filter_map(|fd| std::fs::read_link(fd.ok()?.path()).ok())
        .filter(|target| target.to_string_lossy().starts_with("socket:"))
        .collect();
    Some(sockets.len())
}

/// Waits until the server `pid` has accepted `expected` connections more than the
/// `sockets_before` it had, or has stopped accepting (a single thread busy with the first
/// one, a pool with a bounded queue); returns how many it accepted. A server with a thread
/// per connection starts each thread right after its accept, so by then they all exist.
/// Nothing tells another process of an accept, so this polls /proc; and "stopped
/// accepting" can only be seen as no change for a while: a quarter of a second.
fn wait_for_accepts(pid: u32, sockets_before: usize, expected: usize) -> usize {
    const QUIET: Duration = Duration::from_millis(250);
    let watch = Instant::now();
    let (mut accepted, mut changed) = (0, Instant::now());
    while accepted < expected && changed.elapsed() < QUIET && watch.elapsed() < PATIENCE {
        let now = socket_count(pid)
            .unwrap_or(0)
            .saturating_sub(sockets_before);
        if now != accepted {
            (accepted, changed) = (now, Instant::now());
        }
        std::thread::sleep(Duration::from_millis(1)); // the polling interval
    }
    accepted
}

#[test]
fn ex04_the_thread_count_stays_bounded_under_many_connections() {
    const HELD: usize = 48;
    let site = Site::new().file("a.txt", "a");
    let mut server = start(site.path());
    let pid = server.child().id();
    let (Some(before), Some(sockets_before)) = (thread_count(pid), socket_count(pid)) else {
        eprintln!("skipped: this platform does not show a process's threads and sockets");
        return;
    };
    let held: Vec<TcpStream> = (0..HELD).map(|_| half_request(&server, "/a.txt")).collect();
    let accepted = wait_for_accepts(pid, sockets_before, HELD);
    let after = thread_count(pid).unwrap_or(0);
    assert!(
        after < before + HELD / 2,
        "\nexpected: a fixed number of worker threads, whatever the number of connections\n\n\
         the server had {before} threads, and {after} once it had accepted {accepted} of \
         {HELD} connections: a thread per connection lets any client make the server start threads without limit\n"
    );
    drop(held);
    server.get("/a.txt").assert_status(200).assert_body("a");
}

#[test]
fn ex04_shutdown_lets_the_response_in_flight_finish_and_exits_0() {
    let body: Vec<u8> = (0..16 << 20).map(|i: u32| (i % 251) as u8).collect();
    let site = Site::new().file("big.bin", &body);
    let mut server = start(site.path());
    let mut stream = server.connect();
    let request = b"GET /big.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    sent_or_explained(&mut stream, request);
    let mut head = Vec::new();
    let mut byte = [0];
    while support::head_end(&head).is_none() {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            // A signal interrupts a read with a timeout: not a close (see read_response).
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            _ => Exchange::new(request.to_vec(), head).fail("a 200 response to start"),
        }
    }
    if !ask_to_shut_down(&mut server) {
        eprintln!("skipped: no way to ask this server to shut down on this platform");
        return;
    }
    let mut raw = head;
    raw.extend(read_to_close(&mut stream));
    let download = Exchange::new(request.to_vec(), raw);
    if download.response.as_ref().map(|r| r.body.len()) != Some(body.len()) {
        download.fail(&format!(
            "the whole file ({} bytes) although shutdown began while it was being sent",
            body.len()
        ));
    }
    download.assert_body(&body);
    match server.wait_for_exit(PATIENCE) {
        Some(status) if status.success() => {}
        Some(status) => panic!(
            "\nexpected: exit status 0 after a graceful shutdown\n\nthe server exited with \
             {status}\n"
        ),
        None => panic!(
            "\nexpected: the server to exit once its standard input closed and the response \
             in flight was sent\n\nit was still running {PATIENCE:?} later\n"
        ),
    }
}

// ---------------------------------------------------------------------------------------
// 05: hardening: path confinement, limits, timeouts

/// A site whose root is `www/`, with a secret file just outside it.
fn confined_site() -> (Site, PathBuf) {
    let site = Site::new()
        .file("www/index.html", "home")
        .file("secret.txt", SECRET);
    let root = site.path().join("www");
    (site, root)
}

/// The file outside the root was not sent: a 4xx status, or at least no answer at all
/// (poor HTTP, but this behaviour is about the boundary; 404 is graded on its own).
#[track_caller]
fn assert_refused(exchange: &Exchange) {
    if exchange
        .raw
        .windows(SECRET.len())
        .any(|w| w == SECRET.as_bytes())
    {
        exchange.fail("the file outside the root never to be sent");
    }
    if exchange.raw.is_empty() {
        return;
    }
    if !(400..500).contains(&exchange.status()) {
        exchange.fail("a 4xx status (400, 403 or 404) and not the file outside the root");
    }
}

#[test]
fn ex05_dot_dot_never_leaves_the_root() {
    let (_site, root) = confined_site();
    let server = start(&root);
    server
        .get("/index.html")
        .assert_status(200)
        .assert_body("home");
    for target in [
        "/../secret.txt",
        "/a/../../secret.txt",
        "/%2e%2e/secret.txt",
        "/..%2fsecret.txt",
        "/%2e%2e%2fsecret.txt",
    ] {
        assert_refused(&server.get(target));
    }
}

#[test]
fn ex05_an_absolute_path_never_leaves_the_root() {
    let (site, root) = confined_site();
    let server = start(&root);
    server
        .get("/index.html")
        .assert_status(200)
        .assert_body("home");
    let secret = site.path().join("secret.txt");
    let secret = secret.to_string_lossy().replace('\\', "/");
    assert_refused(&server.get(&format!("/{}", secret.trim_start_matches('/'))));
    assert_refused(&server.get(&format!("//{}", secret.trim_start_matches('/'))));
}

#[test]
fn ex05_percent_encoded_names_are_decoded() {
    let site = Site::new()
        .file("file with space.txt", "spaced")
        .file("caf\u{e9}.txt", "accented")
        .file("100%.txt", "percent");
    let server = start(site.path());
    // A browser sends a space as %20, and each byte of a UTF-8 name outside ASCII as %XX
    // (RFC 3986, section 2.1); a % itself as %25.
    for (target, body) in [
        ("/file%20with%20space.txt", "spaced"),
        ("/caf%C3%A9.txt", "accented"),
        ("/100%25.txt", "percent"),
    ] {
        let page = server.get(target);
        if page.response.as_ref().map(|r| r.status) != Some(200) {
            page.fail(&format!(
                "status 200 and the file {:?}: a path arrives percent-encoded, so decode \
                 each %XX to its byte (after taking off the query) before looking for the \
                 file",
                body
            ));
        }
        page.assert_body(body);
    }
}

#[test]
fn ex05_the_query_string_is_not_part_of_the_file_name() {
    let site = Site::new()
        .file("index.html", "home")
        .file("style.css", "body {}");
    let server = start(site.path());
    // RFC 9112, section 3.2: the target is a path, then optionally `?` and a query. A
    // static server ignores the query; browsers add one to bust caches (`?v=2`).
    for (target, body) in [
        ("/style.css?v=2", "body {}"),
        ("/?lang=en", "home"),
        ("/index.html?a=1&b=%20", "home"),
    ] {
        let page = server.get(target);
        if page.response.as_ref().map(|r| r.status) != Some(200) {
            page.fail(&format!(
                "status 200 and the file {body:?}: everything from the '?' on is the query, \
                 not part of the file's name"
            ));
        }
        page.assert_body(body);
    }
}

#[test]
fn ex05_malformed_request_lines_get_400() {
    let site = Site::new().file("index.html", "home");
    let server = start(site.path());
    for request in [
        "GET /\r\n\r\n",
        "NONSENSE\r\n\r\n",
        "GET / HTTP/1.1 extra\r\nHost: x\r\n\r\n",
    ] {
        server.send(request).assert_status(400);
    }
}

#[test]
fn ex05_other_methods_get_405_with_allow() {
    let site = Site::new().file("index.html", "home");
    let server = start(site.path());
    for method in ["POST", "DELETE", "PUT"] {
        server
            .send(format!(
                "{method} /index.html HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"
            ))
            .assert_status(405)
            .assert_has_header("Allow");
    }
}

#[test]
fn ex05_head_sends_the_headers_without_the_body() {
    let site = Site::new().file("page.html", "0123456789");
    let server = start(site.path());
    let mut stream = server.connect();
    let request = b"HEAD /page.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    sent_or_explained(&mut stream, request);
    // Read to the end: any byte after the head would be a body HEAD must not have.
    let raw = read_to_close(&mut stream);
    Exchange::new(request.to_vec(), raw)
        .assert_status(200)
        .assert_body("");
}

#[test]
fn ex05_a_request_line_over_8_kib_gets_414() {
    let site = Site::new().file("index.html", "home");
    let server = start(site.path());
    let long = "a".repeat(9000);
    server
        .send(format!("GET /{long} HTTP/1.1\r\nHost: x\r\n\r\n"))
        .assert_status(414);
}

#[test]
fn ex05_a_client_too_slow_to_send_its_request_gets_408() {
    let site = Site::new().file("a.txt", "a");
    let server = start(site.path());
    let mut stream = half_request(&server, "/a.txt");
    let raw = read_to_close(&mut stream);
    let exchange = Exchange::new(
        b"GET /a.txt HTTP/1.1\r\nHost: slow (and then nothing)".to_vec(),
        raw,
    );
    if exchange.response.as_ref().map(|r| r.status) != Some(408) {
        exchange.fail(&format!(
            "status 408 (Request Timeout) within {PATIENCE:?} of the client going quiet: a \
             read timeout on the connection keeps silent clients from holding a thread forever"
        ));
    }
}

// ---------------------------------------------------------------------------------------
// 06: an event loop

/// How soon a plain GET must be answered while other clients hold connections: far more
/// than any server needs on a loaded machine, far less than the timeout a blocked thread
/// would wait for before it served anyone else.
const SERVED_WITHIN: Duration = Duration::from_secs(2);

/// Sends `GET path` on a new connection and fails unless `body` comes back with 200 within
/// [`SERVED_WITHIN`]; `meanwhile` says what the other clients are doing.
#[track_caller]
fn assert_answered_promptly(server: &TestServer, path: &str, body: &str, meanwhile: &str) {
    let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let started = Instant::now();
    let mut stream = server.connect();
    stream
        .set_read_timeout(Some(SERVED_WITHIN))
        .expect("set a read timeout");
    let _ = stream.write_all(request.as_bytes());
    let raw = read_response(&mut stream, false);
    let took = started.elapsed();
    let exchange = Exchange::new(request.into_bytes(), raw);
    let answered = exchange.response.as_ref().is_some_and(|r| r.status == 200);
    if !answered || took > SERVED_WITHIN {
        exchange.fail(&format!(
            "status 200 within {SERVED_WITHIN:?} {meanwhile} (an event loop never waits for one \
             client; it serves whoever is ready); this took {took:.2?}"
        ));
    }
    exchange.assert_body(body);
}

/// Lets this process (and the servers it starts) hold a few hundred sockets where the
/// default limit is lower (256 on macOS): at most 1024, and never past the hard limit.
fn allow_many_sockets() {
    #[cfg(unix)]
    {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit writes the limits into `limit`, a valid struct it owns.
        if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
            return;
        }
        if limit.rlim_cur < 1024 {
            limit.rlim_cur = limit.rlim_max.min(1024);
            // SAFETY: setrlimit only reads `limit`; raising the soft limit up to the hard
            // one is always allowed.
            unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) };
        }
    }
}

/// Opens `count` connections that send nothing, failing if the server stops accepting
/// them: one that takes over [`SERVED_WITHIN`] to connect, or all of them over [`PATIENCE`].
fn open_idle_connections(server: &TestServer, count: usize) -> Vec<TcpStream> {
    let started = Instant::now();
    let mut idle = Vec::with_capacity(count);
    while idle.len() < count {
        let left = PATIENCE
            .saturating_sub(started.elapsed())
            .min(SERVED_WITHIN);
        let connected = match left.is_zero() {
            true => Err(std::io::ErrorKind::TimedOut.into()),
            false => TcpStream::connect_timeout(&server.addr(), left),
        };
        match connected {
            Ok(stream) => idle.push(stream),
            Err(error) => panic!(
                "\nexpected: the server to accept {count} connections that send nothing, each \
                 at once\n\nafter {} of them, connecting failed ({error}) {:.2?} after the \
                 first: a server that waits for one client to send accepts no one else, \
                 and the system's queue of connections not yet accepted fills up\n",
                idle.len(),
                started.elapsed()
            ),
        }
    }
    idle
}

#[test]
fn ex06_two_hundred_idle_connections_cost_no_threads() {
    const IDLE: usize = 200;
    allow_many_sockets();
    let site = Site::new().file("a.txt", "a");
    let mut server = start(site.path());
    let pid = server.child().id();
    let (threads_before, sockets_before) = (thread_count(pid), socket_count(pid));
    let idle = open_idle_connections(&server, IDLE);
    let accepted = sockets_before.map(|before| wait_for_accepts(pid, before, IDLE));
    assert_answered_promptly(
        &server,
        "/a.txt",
        "a",
        &format!("while {IDLE} other connections are open and send nothing"),
    );
    let (Some(before), Some(after)) = (threads_before, thread_count(pid)) else {
        eprintln!("skipped the thread count: this platform does not show a process's threads");
        return;
    };
    assert!(
        after <= before + IDLE / 20,
        "\nexpected: idle connections to cost no threads\n\nthe server had {before} threads, \
         and {after} once it had accepted {} of {IDLE} connections that sent nothing: an \
         event loop keeps a waiting connection as a socket and a state, not a thread\n",
        accepted.unwrap_or(0)
    );
    drop(idle);
}

#[test]
fn ex06_a_client_sending_its_request_in_pieces_delays_no_one() {
    let site = Site::new().file("a.txt", "a").file("b.txt", "b");
    let server = start(site.path());
    let mut slow = server.connect();
    let request = b"GET /a.txt HTTP/1.1\r\nHost: slow\r\nConnection: close\r\n\r\n";
    for piece in request.chunks(10) {
        slow.write_all(piece).expect("send a piece of a request");
        assert_answered_promptly(
            &server,
            "/b.txt",
            "b",
            "while another client is part way through sending its request",
        );
    }
    let raw = read_response(&mut slow, false);
    let slow = Exchange::new(request.to_vec(), raw);
    if slow.response.as_ref().map(|r| r.status) != Some(200) {
        slow.fail(
            "the client that sent its request in pieces to get its file once the last piece \
             came (keep what each read brings; the request is whole at the empty line)",
        );
    }
    slow.assert_body("a");
}

#[test]
fn ex06_a_client_reading_its_response_slowly_delays_no_one() {
    // Larger than every buffer between the server and the client: the server cannot write
    // it all at once, and a blocking write would wait until the client reads.
    let big: Vec<u8> = (0..16 << 20).map(|i: u32| (i % 251) as u8).collect();
    let site = Site::new().file("big.bin", &big).file("b.txt", "b");
    let server = start(site.path());
    let (mut slow, download) = start_download(server.addr(), "/big.bin");
    download.assert_status(200);
    let mut body = vec![0; big.len()];
    let mut received = 0;
    for _ in 0..3 {
        assert_answered_promptly(
            &server,
            "/b.txt",
            "b",
            "while another client is slow to read a large response",
        );
        // A little more of the download now and then, as a slow client reads.
        let chunk = &mut body[received..received + (64 << 10)];
        if slow.read_exact(chunk).is_err() {
            break;
        }
        received += chunk.len();
    }
    let rest = slow.read_exact(&mut body[received..]);
    if rest.is_err() || body != big {
        let got = body.iter().zip(&big).take_while(|(a, b)| a == b).count();
        download.fail(&format!(
            "all {} bytes of /big.bin, exactly, to the client that read them slowly (write \
             what the socket takes, keep count, and go on when it is writable again); the \
             first {got} came right",
            big.len()
        ));
    }
}

#[test]
fn ex06_many_clients_at_once_each_get_their_whole_file() {
    const CLIENTS: usize = 24;
    // Sizes from a few bytes to a few KiB, each different, so a response sent to the wrong
    // connection shows. (Responses too large for one write are the slow reader's test.)
    let content = |i: usize| format!("file {i}\n").repeat(1 + i * 40);
    let site = (0..CLIENTS).fold(Site::new(), |site, i| {
        site.file(&format!("file-{i}.txt"), content(i))
    });
    let server = start(site.path());
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
        exchange.assert_status(200).assert_body(content(i));
    }
}

// ---------------------------------------------------------------------------------------
// Private cases: an instructor's own tests, kept out of the students' copy

/// One case from a `*.case` file of `WEBLAB_PRIVATE_TESTS`:
///
/// ```text
/// # a comment
/// status: 404
/// body-contains: Not Found
/// body-lacks: root:x:0:0
/// --- request
/// GET /../../etc/passwd HTTP/1.1
/// Host: x
///
/// ```
///
/// The request is everything after `--- request`, with each line end sent as `\r\n`.
/// The server serves the folder's `www/` if there is one, else `fixtures/www`.
struct Case {
    name: String,
    status: Option<u16>,
    contains: Vec<String>,
    lacks: Vec<String>,
    request: String,
}

fn parse_case(name: String, text: &str) -> Result<Case, String> {
    let (head, request) = text
        .split_once("--- request\n")
        .ok_or_else(|| format!("{name}: no '--- request' line"))?;
    let mut case = Case {
        name,
        status: None,
        contains: Vec::new(),
        lacks: Vec::new(),
        request: request.replace("\r\n", "\n").replace('\n', "\r\n"),
    };
    for line in head.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, value) = line
            .split_once(':')
            .ok_or_else(|| format!("{}: cannot read '{line}'", case.name))?;
        let value = value.trim().to_string();
        match key.trim() {
            "status" => {
                let status = value
                    .parse()
                    .map_err(|_| format!("{}: bad status", case.name))?;
                case.status = Some(status);
            }
            "body-contains" => case.contains.push(value),
            "body-lacks" => case.lacks.push(value),
            other => return Err(format!("{}: unknown key '{other}'", case.name)),
        }
    }
    Ok(case)
}

fn run_case(server: &TestServer, case: &Case) -> Result<(), String> {
    let sent = server.send(&case.request);
    let outcome = std::panic::catch_unwind(|| {
        if let Some(status) = case.status {
            sent.assert_status(status);
        }
        for part in &case.contains {
            sent.assert_body_contains(part);
        }
        for part in &case.lacks {
            sent.assert_body_lacks(part);
        }
    });
    outcome.map_err(|panic| {
        let message = panic
            .downcast_ref::<String>()
            .cloned()
            .unwrap_or_else(|| "failed".into());
        format!("case {}:{message}", case.name)
    })
}

#[test]
fn private_cases_pass() {
    let Some(folder) = std::env::var_os("WEBLAB_PRIVATE_TESTS").map(PathBuf::from) else {
        return; // no private cases given: nothing to check
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(&folder)
        .unwrap_or_else(|e| panic!("cannot read WEBLAB_PRIVATE_TESTS={}: {e}", folder.display()))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|e| e == "case"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no *.case files in {}", folder.display());
    let site = match folder.join("www").is_dir() {
        true => None,
        false => Some(Site::sample()),
    };
    let root = site
        .as_ref()
        .map_or(folder.join("www"), |s| s.path().to_path_buf());
    let server = start(&root);
    let failures: Vec<String> = files
        .iter()
        .map(|path| {
            let name = path
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            let text = std::fs::read_to_string(path).map_err(|e| format!("{name}: {e}"))?;
            run_case(&server, &parse_case(name, &text)?)
        })
        .filter_map(Result::err)
        .collect();
    assert!(
        failures.is_empty(),
        "\n{} of {} private cases failed\n\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}
