//! Files are streamed from disk, never read whole into memory.

mod support;

use std::io::{Read, Write};

use support::{connect, peak_memory_kib, Site, TestServer};

/// Reads a response to a GET without keeping its body: returns the head and the number of
/// body bytes.
fn fetch_zeros(server: &TestServer, path: &str) -> (String, u64) {
    let mut stream = connect(server.addr());
    write!(stream, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").expect("send a request");
    let mut head = Vec::new();
    let mut byte = [0];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => panic!("the response head was cut short: {head:?}"),
        }
    }
    let mut chunk = vec![0; 1024 * 1024];
    let mut total = 0;
    loop {
        match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => total += n as u64,
            Err(e) => panic!("reading the body failed after {total} bytes: {e}"),
        }
    }
    (String::from_utf8_lossy(&head).into_owned(), total)
}

#[test]
fn a_1_gib_file_is_streamed_without_growing_the_server() {
    const SIZE: u64 = 1 << 30;
    let site = Site::new();
    // A sparse file: 1 GiB long, almost no disk used, and fast to create.
    let file = std::fs::File::create(site.path().join("big.bin")).expect("create big.bin");
    file.set_len(SIZE).expect("make big.bin 1 GiB long");
    drop(file);

    let mut server = TestServer::binary(site.path(), &["--quiet", "--mode", "single"]);
    let (head, received) = fetch_zeros(&server, "/big.bin");
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "head: {head}");
    assert!(
        head.contains(&format!("Content-Length: {SIZE}\r\n")),
        "head: {head}"
    );
    assert_eq!(received, SIZE, "the whole file arrives");

    let pid = server.child().id();
    match peak_memory_kib(pid) {
        Some(peak) => assert!(
            peak < 64 * 1024,
            "the server's peak memory was {peak} KiB after sending 1 GiB; it should stream"
        ),
        None => eprintln!("skipped the memory check: no /proc on this platform"),
    }
}
