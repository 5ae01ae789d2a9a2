//! Files are streamed from disk, never read whole into memory, and on Linux without
//! passing through the server at all (sendfile).

mod support;

use support::{count_to_close, peak_memory_kib, start_download, Site, TestServer};

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
fn a_256_mib_file_is_streamed_without_growing_the_server() {
    // Four times the memory bound below, and small enough to send in well under a second.
    const SIZE: u64 = 256 << 20;
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
        // A read/write loop with a 64 KiB buffer would need 8192 calls for 256 MiB.
        (Some(before), Some(after)) => assert!(
            after - before < 1000,
            "sending 256 MiB took {} read/write system calls; sendfile needs a handful",
            after - before
        ),
        _ => eprintln!("skipped the system-call count: no /proc/PID/io on this platform"),
    }
    match peak_memory_kib(pid) {
        Some(peak) => assert!(
            peak < 64 * 1024,
            "the server's peak memory was {peak} KiB after sending 256 MiB; it should stream"
        ),
        None => eprintln!("skipped the memory check: no /proc on this platform"),
    }
}
