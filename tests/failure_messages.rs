//! The failure messages students read, checked like any output: what a test says when a
//! response ends early, has bare `\n` line ends, is a 404 or is megabytes long, and the
//! replay line that sends the same bytes again by hand.

mod support;

use std::panic::AssertUnwindSafe;
use std::time::Duration;

use support::{replay, size, Ending, Exchange, Site};

/// The message a failing assertion on `exchange` panics with.
fn message_of(check: impl FnOnce()) -> String {
    let panic = std::panic::catch_unwind(AssertUnwindSafe(check)).expect_err("a failure");
    panic
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_else(|| "(not a String)".into())
}

const GET: &[u8] = b"GET /page.html HTTP/1.1\r\nHost: test\r\n\r\n";

#[test]
fn sizes_are_said_in_words() {
    assert_eq!(size(14), "14 bytes");
    assert_eq!(size(16 << 20), "16 MiB");
    assert_eq!(size(4_362_076), "4.36 MB (4362076 bytes)");
}

#[test]
fn a_response_with_bare_line_ends_is_read_and_the_failure_names_them() {
    let raw = b"HTTP/1.1 404 Not Found\nContent-Length: 2\n\nno".to_vec();
    let exchange = Exchange::new(GET.to_vec(), raw);
    let response = exchange
        .response
        .as_ref()
        .expect("read as browsers read it");
    assert_eq!((response.status, &response.body[..]), (404, &b"no"[..]));
    assert!(response.bare_line_ends);
    let said = message_of(|| {
        exchange.assert_status(200);
    });
    assert!(said.contains("lines must end in \\r\\n"), "{said}");
}

#[test]
fn a_404_failure_lists_the_folder_served() {
    let site = Site::new().file("a/page.html", "hello").file("b.txt", "");
    let raw = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_vec();
    let exchange = Exchange::new(GET.to_vec(), raw).serving(site.path());
    let said = message_of(|| {
        exchange.assert_status(200);
    });
    assert!(
        said.contains("  a/\n  a/page.html  (5 bytes)\n  b.txt  (0 bytes)\n"),
        "{said}"
    );
}

#[test]
fn a_test_that_gave_up_waiting_says_so_and_what_the_server_was_likely_doing() {
    let exchange = Exchange::new(GET.to_vec(), Vec::new())
        .ended(Ending::GaveUp(Duration::from_secs(3)))
        .if_waiting("busy with the first client");
    let said = message_of(|| {
        exchange.assert_status(200);
    });
    assert!(
        said.contains("the test gave up waiting after 3.0s")
            && said.contains("so it was busy with the first client"),
        "{said}"
    );
    assert!(!said.contains("the connection closed"), "{said}");
}

#[test]
fn a_short_download_states_sizes_instead_of_a_dump() {
    let expected = vec![b'a'; 16 << 20];
    let mut raw = b"HTTP/1.1 200 OK\r\nContent-Length: 16777216\r\n\r\n".to_vec();
    raw.extend(&expected[..4_362_076]);
    let exchange = Exchange::new(GET.to_vec(), raw);
    let said = message_of(|| {
        exchange.assert_body(&expected);
    });
    assert!(
        said.contains("4.36 MB (4362076 bytes) of 16 MiB arrived"),
        "{said}"
    );
    assert!(said.len() < 4000, "{} bytes of message", said.len());
}

#[test]
fn each_failure_ends_with_a_command_to_replay_it() {
    assert_eq!(
        replay(GET),
        "replay by hand, with your server on port 8080:\n  \
         curl -v 'http://127.0.0.1:8080/page.html'"
    );
    let raw = replay(b"GET /caf\xe9 HTTP/1.1\r\n\r\n");
    assert!(
        raw.ends_with("printf 'GET /caf\\351 HTTP/1.1\\r\\n\\r\\n' | nc 127.0.0.1 8080"),
        "{raw}"
    );
}

/// The replay lines, run by a shell, write exactly the bytes the test sent.
#[cfg(unix)]
#[test]
fn a_replay_line_writes_exactly_the_bytes_sent() {
    let short = b"GET /a%20b?q='x' HTTP/1.1\r\nHost: \\x\r\n\x00\xff\r\n\r\n".to_vec();
    let mut long = b"GET / HTTP/1.1\r\nCookie: ".to_vec();
    long.extend(vec![b'a'; 5000]);
    long.extend(b"\"$`\r\n\r\n");
    for bytes in [short, long] {
        let command = support::shell_bytes(&bytes);
        let ran = std::process::Command::new("sh")
            .arg("-c")
            .arg(&command)
            .output()
            .expect("run sh");
        if command.starts_with("python3") && !ran.status.success() {
            eprintln!("skipped: python3 is not installed");
            continue;
        }
        assert_eq!(ran.stdout, bytes, "{command}");
    }
}
