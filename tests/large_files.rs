//! Files are streamed from disk, never read whole into memory, and on Linux without
//! passing through the server at all (sendfile).

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

/// Read and write system calls a process has made so far, where Linux's /proc tells.
/// On Linux the server sends files with sendfile(2): the kernel moves the bytes, and the
/// count stays tiny however big the file.
fn io_system_calls(pid: u32) -> Option<u64> {
    let io = std::fs::read_to_string(format!("/proc/{pid}/io")).ok()?;
    let count = |key: &str| -> Option<u64> {
        let line = io.lines().find(|l| l.starts_with(key))?;
        line.split_whitespace().nth(1)?.parse().ok()
    };
    Some(count("syscr:")? + count("syscw:")?)
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
    let pid = server.child().id();
    let calls_before = io_system_calls(pid);
    let (head, received) = fetch_zeros(&server, "/big.bin");
    let calls_after = io_system_calls(pid);
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "head: {head}");
    assert!(
        head.contains(&format!("Content-Length: {SIZE}\r\n")),
        "head: {head}"
    );
    assert_eq!(received, SIZE, "the whole file arrives");

    match (calls_before, calls_after) {
        // A read/write loop with a 64 KiB buffer would need 32768 calls for 1 GiB.
        (Some(before), Some(after)) => assert!(
            after - before < 1000,
            "sending 1 GiB took {} read/write system calls; sendfile needs a handful",
            after - before
        ),
        _ => eprintln!("skipped the system-call count: no /proc/PID/io on this platform"),
    }
    match peak_memory_kib(pid) {
        Some(peak) => assert!(
            peak < 64 * 1024,
            "the server's peak memory was {peak} KiB after sending 1 GiB; it should stream"
        ),
        None => eprintln!("skipped the memory check: no /proc on this platform"),
    }
}
