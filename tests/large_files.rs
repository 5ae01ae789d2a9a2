//! Files are streamed from disk, never read whole into memory, and on Linux without
//! passing through the server at all (sendfile).

mod support;

use support::{
    count_to_close, peak_memory_kib, start_download, test_config, Site, TestServer, PATIENCE,
};
use weblab::{Config, Mode};

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
fn a_64_mib_file_is_streamed_without_growing_the_server() {
    // Four times the memory bound below (the server itself needs about 4 MiB), and small
    // enough to send in well under a second.
    const SIZE: u64 = 64 << 20;
    let site = Site::new().sparse_file("big.bin", SIZE);

    let mut server = TestServer::binary(site.path(), &["--quiet", "--mode", "single"]);
    let pid = server.child().id();
    let calls_before = io_system_calls(pid);
    let (stream, head) = start_download(server.addr(), "/big.bin");
    let received = count_to_close(stream);
    let calls_after = io_system_calls(pid);
    head.assert_status(200)
        .assert_header("Content-Length", &SIZE.to_string());
    assert_eq!(received, SIZE, "the whole file arrives");

    match (calls_before, calls_after) {
        // A read/write loop with a 64 KiB buffer would need 2048 calls for 64 MiB.
        (Some(before), Some(after)) => assert!(
            after - before < 1000,
            "sending 64 MiB took {} read/write system calls; sendfile needs a handful",
            after - before
        ),
        _ => eprintln!("skipped the system-call count: no /proc/PID/io on this platform"),
    }
    match peak_memory_kib(pid) {
        Some(peak) => assert!(
            peak < 16 * 1024,
            "the server's peak memory was {peak} KiB after sending 64 MiB; it should stream"
        ),
        None => eprintln!("skipped the memory check: no /proc on this platform"),
    }
}

/// A file cut short while it is being sent leaves the response short of its
/// Content-Length; the server must then close the connection, so that the client sees the
/// response end early instead of waiting for bytes that will never come.
#[test]
fn a_file_that_shrinks_while_being_sent_ends_the_connection() {
    const SIZE: u64 = 64 << 20;
    for mode in Mode::ALL {
        let site = Site::new().sparse_file("big.bin", SIZE);
        let config = Config {
            keep_alive_timeout: PATIENCE * 6, // a connection left open would outlast the test
            ..test_config(mode)
        };
        let server = TestServer::start_with(site.path(), config);
        let (stream, head) = start_download(server.addr(), "/big.bin");
        head.assert_status(200)
            .assert_header("Content-Length", &SIZE.to_string());
        // The server is blocked sending: the socket buffers hold far less than 64 MiB.
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(site.path().join("big.bin"))
            .expect("open the file being sent");
        file.set_len(1 << 20).expect("cut the file to 1 MiB");
        let received = count_to_close(stream);
        assert!(
            received < SIZE,
            "{mode}: {received} bytes of a file cut to 1 MiB during the download"
        );
    }
}
