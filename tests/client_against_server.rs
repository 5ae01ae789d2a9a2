//! The kit's client against the kit's server, in every mode: the two halves of the
//! assignment talking to each other.

mod support;

use assert_cmd::Command;
use predicates::prelude::*;
use support::{Site, TestServer};
use weblab::client::{fetch, ClientRequest, Method};
use weblab::Mode;

every_mode!(
    the_client_prints_a_page_with_its_head,
    the_client_reports_404_and_fails_only_with_fail,
    the_client_saves_a_binary_file_byte_exact,
    the_client_sends_head_and_gets_no_body,
    the_library_client_fetches_from_the_server,
);

fn client(server: &TestServer, path: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_client"));
    command
        .arg(server.addr().ip().to_string())
        .arg(server.addr().port().to_string())
        .arg(path)
        .timeout(support::PATIENCE);
    command
}

fn site() -> Site {
    let binary: Vec<u8> = (0..=255u8).cycle().take(300_000).collect();
    Site::new()
        .file("HelloWorld.html", "<h1>Hello World</h1>\n")
        .file("data.bin", binary)
}

fn the_client_prints_a_page_with_its_head(mode: Mode) {
    let site = site();
    let server = TestServer::start(site.path(), mode);
    client(&server, "HelloWorld.html")
        .assert()
        .success()
        .stdout(predicate::str::starts_with("HTTP/1.1 200 OK\r\n"))
        .stdout(predicate::str::contains("Content-Length: 21\r\n"))
        .stdout(predicate::str::ends_with("\r\n\r\n<h1>Hello World</h1>\n"));
}

fn the_client_reports_404_and_fails_only_with_fail(mode: Mode) {
    let site = site();
    let server = TestServer::start(site.path(), mode);
    client(&server, "/missing.html")
        .assert()
        .success()
        .stdout(predicate::str::starts_with("HTTP/1.1 404 Not Found\r\n"));
    client(&server, "/missing.html")
        .arg("--fail")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("404"));
}

fn the_client_saves_a_binary_file_byte_exact(mode: Mode) {
    let site = site();
    let server = TestServer::start(site.path(), mode);
    let out = tempfile::tempdir().expect("a temporary folder");
    let saved = out.path().join("saved.bin");
    client(&server, "/data.bin")
        .arg("--output")
        .arg(&saved)
        .assert()
        .success()
        .stdout(predicate::str::starts_with("HTTP/1.1 200 OK\r\n"))
        .stdout(predicate::str::contains("Content-Length: 300000\r\n"));
    let expected = std::fs::read(site.path().join("data.bin")).expect("read the original");
    let got = std::fs::read(&saved).expect("read the saved copy");
    assert!(
        got == expected,
        "saved {} bytes, expected {}",
        got.len(),
        expected.len()
    );
}

fn the_client_sends_head_and_gets_no_body(mode: Mode) {
    let site = site();
    let server = TestServer::start(site.path(), mode);
    client(&server, "/HelloWorld.html")
        .arg("--head")
        .assert()
        .success()
        .stdout(predicate::str::contains("Content-Length: 21\r\n"))
        .stdout(predicate::str::ends_with("\r\n\r\n"));
}

fn the_library_client_fetches_from_the_server(mode: Mode) {
    let site = site();
    let server = TestServer::start(site.path(), mode);
    let addr = server.addr();
    let mut body = Vec::new();
    let request = ClientRequest::get(addr.ip().to_string(), addr.port(), "/HelloWorld.html");
    let head = fetch(&request, &mut body).expect("fetch a page");
    assert!(
        head.status == 200 && body == b"<h1>Hello World</h1>\n",
        "expected: 200 and the page\n--- request ---\n{request:?}\n--- response ---\n{}{}",
        String::from_utf8_lossy(&head.raw),
        String::from_utf8_lossy(&body)
    );
    let head_only = ClientRequest {
        method: Method::Head,
        ..request
    };
    let head = fetch(&head_only, &mut body).expect("send HEAD");
    assert_eq!(
        head.header("Content-Length"),
        Some("21"),
        "the page's length\n--- request ---\n{head_only:?}\n--- response ---\n{}",
        String::from_utf8_lossy(&head.raw)
    );
}
