//! Serving files: 200 with the exact bytes and the right headers, 404, directories and
//! their index, redirects, HEAD. Every test runs in every server mode.

mod support;

use std::io::Write;

use support::{Site, TestServer};
use weblab::Mode;

every_mode!(
    a_file_is_served_byte_exact_with_its_headers,
    slash_serves_the_index,
    a_nested_directory_serves_its_index,
    a_directory_without_slash_is_redirected_to_slash,
    a_directory_without_index_gets_404,
    missing_file_gets_404_with_a_short_html_page,
    a_file_named_with_a_trailing_slash_gets_404,
    head_sends_the_same_headers_without_a_body,
    content_type_follows_the_extension,
    an_escaped_space_reaches_the_file,
    query_and_fragment_are_ignored,
    absolute_form_targets_are_served,
    http_1_0_requests_are_served,
    a_client_that_asks_to_close_gets_connection_close_and_a_close,
    an_absurd_modification_time_is_still_served,
    the_access_log_records_each_request,
);

fn a_file_is_served_byte_exact_with_its_headers(mode: Mode) {
    let bytes: Vec<u8> = (0..=255u8).cycle().take(10_000).collect();
    let site = Site::new().file("data.bin", &bytes);
    let server = TestServer::start(site.path(), mode);
    server
        .get("/data.bin")
        .assert_status(200)
        .assert_body(&bytes)
        .assert_header("Content-Length", "10000")
        .assert_header("Content-Type", "application/octet-stream")
        .assert_has_header("Date")
        .assert_has_header("Server");
}

fn slash_serves_the_index(mode: Mode) {
    let site = Site::new().file("index.html", "<h1>home</h1>");
    let server = TestServer::start(site.path(), mode);
    server
        .get("/")
        .assert_status(200)
        .assert_body("<h1>home</h1>")
        .assert_header("Content-Type", "text/html; charset=utf-8");
}

fn a_nested_directory_serves_its_index(mode: Mode) {
    let site = Site::new().file("a/b/index.html", "deep");
    let server = TestServer::start(site.path(), mode);
    server.get("/a/b/").assert_status(200).assert_body("deep");
}

fn a_directory_without_slash_is_redirected_to_slash(mode: Mode) {
    let site = Site::new().file("docs/index.html", "docs");
    let server = TestServer::start(site.path(), mode);
    server
        .get("/docs")
        .assert_status(301)
        .assert_header("Location", "/docs/")
        .assert_length_matches();
    // A path that starts with two slashes must not turn into `//host`, a link to
    // another site (an open redirect).
    server
        .get("//docs")
        .assert_status(301)
        .assert_header("Location", "/docs/");
    server
        .get("/docs/./")
        .assert_status(200)
        .assert_body("docs");
}

fn a_directory_without_index_gets_404(mode: Mode) {
    let site = Site::new().file("empty/readme.txt", "x");
    let server = TestServer::start(site.path(), mode);
    server.get("/empty/").assert_status(404);
}

fn missing_file_gets_404_with_a_short_html_page(mode: Mode) {
    let site = Site::new().file("index.html", "home");
    let server = TestServer::start(site.path(), mode);
    server
        .get("/no-such-file.html")
        .assert_status(404)
        .assert_header("Content-Type", "text/html; charset=utf-8")
        .assert_length_matches()
        .assert_body_contains("404 Not Found");
    // The page never echoes the request: no reflected script.
    server
        .get("/%3Cscript%3Ealert(1)%3C/script%3E")
        .assert_status(404)
        .assert_body_lacks("<script>")
        .assert_body_lacks("alert");
}

fn a_file_named_with_a_trailing_slash_gets_404(mode: Mode) {
    let site = Site::new().file("page.html", "x");
    let server = TestServer::start(site.path(), mode);
    server.get("/page.html/").assert_status(404);
}

fn head_sends_the_same_headers_without_a_body(mode: Mode) {
    let site = Site::new().file("page.html", "0123456789");
    let server = TestServer::start(site.path(), mode);
    let get = server.get("/page.html");
    let head = server.head("/page.html");
    head.assert_status(200)
        .assert_header("Content-Length", "10")
        .assert_header("Content-Type", "text/html; charset=utf-8")
        .assert_body("");
    let names = |e: &support::Exchange| -> Vec<String> {
        e.response()
            .headers
            .iter()
            .map(|(n, _)| n.clone())
            .collect()
    };
    assert_eq!(
        names(&get),
        names(&head),
        "GET and HEAD send the same header names"
    );
    server.head("/missing").assert_status(404).assert_body("");
}

fn content_type_follows_the_extension(mode: Mode) {
    let cases = [
        ("a.html", "text/html; charset=utf-8"),
        ("a.css", "text/css; charset=utf-8"),
        ("a.js", "text/javascript; charset=utf-8"),
        ("a.json", "application/json"),
        ("a.txt", "text/plain; charset=utf-8"),
        ("a.png", "image/png"),
        ("a.jpg", "image/jpeg"),
        ("a.jpeg", "image/jpeg"),
        ("a.gif", "image/gif"),
        ("a.svg", "image/svg+xml"),
        ("a.ico", "image/x-icon"),
        ("a.pdf", "application/pdf"),
        ("a.wasm", "application/wasm"),
        ("A.PNG", "image/png"),
        ("noextension", "application/octet-stream"),
        ("a.unknownext", "application/octet-stream"),
    ];
    let site = cases
        .iter()
        .fold(Site::new(), |site, (name, _)| site.file(name, "x"));
    let server = TestServer::start(site.path(), mode);
    for (name, content_type) in cases {
        server
            .get(&format!("/{name}"))
            .assert_status(200)
            .assert_header("Content-Type", content_type);
    }
}

fn an_escaped_space_reaches_the_file(mode: Mode) {
    let site = Site::new()
        .file("file with space.txt", "spaced")
        .file("caf\u{e9}.txt", "utf8");
    let server = TestServer::start(site.path(), mode);
    server
        .get("/file%20with%20space.txt")
        .assert_status(200)
        .assert_body("spaced");
    server
        .get("/caf%C3%A9.txt")
        .assert_status(200)
        .assert_body("utf8");
    // Decoded once only: %2520 is a literal "%20" in the name, which does not exist.
    server
        .get("/file%2520with%2520space.txt")
        .assert_status(404);
}

fn query_and_fragment_are_ignored(mode: Mode) {
    let site = Site::new().file("page.html", "page");
    let server = TestServer::start(site.path(), mode);
    server
        .get("/page.html?x=1&y=/../../etc")
        .assert_status(200)
        .assert_body("page");
    server
        .get("/page.html#top")
        .assert_status(200)
        .assert_body("page");
}

fn absolute_form_targets_are_served(mode: Mode) {
    let site = Site::new()
        .file("a/b.html", "ab")
        .file("index.html", "home");
    let server = TestServer::start(site.path(), mode);
    server
        .send("GET http://example.com/a/b.html HTTP/1.1\r\nHost: example.com\r\n\r\n")
        .assert_status(200)
        .assert_body("ab");
    server
        .send("GET http://example.com HTTP/1.1\r\nHost: example.com\r\n\r\n")
        .assert_status(200)
        .assert_body("home");
}

fn http_1_0_requests_are_served(mode: Mode) {
    let site = Site::new().file("HelloWorld.html", "hello");
    let server = TestServer::start(site.path(), mode);
    server
        .send("GET /HelloWorld.html HTTP/1.0\r\n\r\n")
        .assert_status(200)
        .assert_body("hello");
}

fn a_client_that_asks_to_close_gets_connection_close_and_a_close(mode: Mode) {
    let site = Site::new().file("a.txt", "a");
    let server = TestServer::start(site.path(), mode);
    let mut stream = server.connect();
    stream
        .write_all(b"GET /a.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .expect("send a request");
    // Reading to the end returns at all only because the server closes.
    let raw = support::read_to_close(&mut stream);
    support::Exchange::new(b"GET /a.txt (Connection: close)".to_vec(), raw)
        .assert_status(200)
        .assert_header("Connection", "close")
        .assert_body("a");
}

fn an_absurd_modification_time_is_still_served(mode: Mode) {
    let site = Site::new().file("future.txt", "from the future");
    let file = std::fs::File::options()
        .write(true)
        .open(site.path().join("future.txt"))
        .expect("open the file");
    // Year 9999 and later cannot be written as an HTTP date; some file systems cannot store
    // times that far off at all, in which case the test still checks the file is served.
    let far = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(260_000_000_000);
    let _ = file.set_modified(far);
    drop(file);
    let server = TestServer::start(site.path(), mode);
    server
        .get("/future.txt")
        .assert_status(200)
        .assert_body("from the future");
}

fn the_access_log_records_each_request(mode: Mode) {
    let site = Site::new().file("a.txt", "abc");
    let server = TestServer::start(site.path(), mode);
    let ok = server.get("/a.txt");
    server.get("/missing");
    server.send("GET /\x01evil\" HTTP/1.1\r\n\r\n");
    let log = server.stop_and_read_log();
    assert_eq!(log.len(), 3, "one access-log line per request: {log:?}");
    // Workers may finish logging in any order: find each line by its status.
    let line_with = |status: &str| {
        log.iter()
            .map(|entry| entry.to_string())
            .find(|line| line.contains(status))
            .unwrap_or_else(|| panic!("no log line with{status}in {log:?}"))
    };
    let line = line_with(" 200 ");
    assert!(
        line.starts_with("127.0.0.1:"),
        "client address first: {line}"
    );
    assert!(
        line.contains("\"GET /a.txt HTTP/1.1\" 200"),
        "request line: {line}"
    );
    assert!(
        line.ends_with(&format!(" {}", ok.raw.len())),
        "bytes sent last: {line}"
    );
    assert!(line_with(" 404 ").contains("\"GET /missing HTTP/1.1\""));
    let bad = line_with(" 400 ");
    assert!(bad.contains("\\x01evil\\x22"), "escaped: {bad}");
}
