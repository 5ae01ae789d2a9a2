//! Requests that break HTTP's rules get the status RFC 9112 and RFC 9110 ask for, and never
//! a crash. Every test runs in every server mode.

mod support;

use std::io::Write;

use support::{read_to_close_until, Ending, Exchange, Site, TestServer, PATIENCE};
use weblab::http::{MAX_HEAD, MAX_HEADERS, MAX_REQUEST_LINE};
use weblab::Mode;

every_mode!(
    a_request_line_without_version_gets_400,
    malformed_request_lines_get_400,
    lowercase_version_is_malformed,
    other_http_versions_get_505,
    known_methods_other_than_get_and_head_get_405_with_allow,
    unknown_methods_get_501,
    method_names_are_case_sensitive,
    http_1_1_without_host_gets_400,
    two_host_headers_get_400,
    whitespace_before_a_header_colon_gets_400,
    obs_fold_continuation_lines_get_400,
    a_bare_cr_gets_400,
    control_characters_in_header_values_get_400,
    a_request_line_over_8_kib_gets_414,
    a_head_over_64_kib_gets_431,
    more_than_100_header_lines_get_431,
    bare_lf_line_ends_are_accepted,
    one_empty_line_before_the_request_line_is_accepted,
    content_length_with_transfer_encoding_gets_400,
    exactly_chunked_is_accepted_in_any_case,
    a_coding_other_than_chunked_before_chunked_gets_501_and_a_close,
    chunked_not_last_gets_400_and_a_close,
    chunked_applied_twice_gets_400,
    a_malformed_transfer_encoding_gets_400_and_a_close,
    http_1_0_with_transfer_encoding_gets_400_and_a_close,
    a_bad_content_length_gets_400,
    a_request_body_is_read_and_discarded,
    bad_percent_escapes_get_400,
    encoded_control_characters_get_400,
    a_path_that_is_not_utf8_gets_400,
    binary_garbage_gets_400_at_once,
    an_asterisk_target_gets_400_for_get,
);

fn server(mode: Mode) -> (Site, TestServer) {
    let site = Site::new().file("index.html", "home").file("a.txt", "a");
    let server = TestServer::start(site.path(), mode);
    (site, server)
}

fn a_request_line_without_version_gets_400(mode: Mode) {
    let (_site, server) = server(mode);
    // HTTP/0.9's "GET /" is not served.
    server
        .send("GET /\r\n\r\n")
        .assert_status(400)
        .assert_length_matches();
}

fn malformed_request_lines_get_400(mode: Mode) {
    let (_site, server) = server(mode);
    for line in [
        "GET  / HTTP/1.1",
        "GET / HTTP/1.1 extra",
        " GET / HTTP/1.1",
        "GET\t/ HTTP/1.1",
        "GET / HTTP/1.1 ",
        "GET / HTTP/1",
        "GET / HTTP/1.1.1",
        "G(T / HTTP/1.1",
    ] {
        server
            .send(format!("{line}\r\nHost: x\r\n\r\n"))
            .assert_status(400);
    }
}

fn lowercase_version_is_malformed(mode: Mode) {
    let (_site, server) = server(mode);
    server
        .send("GET / http/1.1\r\nHost: x\r\n\r\n")
        .assert_status(400);
}

fn other_http_versions_get_505(mode: Mode) {
    let (_site, server) = server(mode);
    for version in ["HTTP/2.0", "HTTP/1.2", "HTTP/0.9", "HTTP/3.0"] {
        server
            .send(format!("GET / {version}\r\nHost: x\r\n\r\n"))
            .assert_status(505);
    }
}

fn known_methods_other_than_get_and_head_get_405_with_allow(mode: Mode) {
    let (_site, server) = server(mode);
    for method in ["POST", "PUT", "DELETE", "OPTIONS", "TRACE", "PATCH"] {
        server
            .send(format!("{method} /a.txt HTTP/1.1\r\nHost: x\r\n\r\n"))
            .assert_status(405)
            .assert_header("Allow", "GET, HEAD");
    }
}

fn unknown_methods_get_501(mode: Mode) {
    let (_site, server) = server(mode);
    server
        .send("BREW /pot HTTP/1.1\r\nHost: x\r\n\r\n")
        .assert_status(501);
}

fn method_names_are_case_sensitive(mode: Mode) {
    let (_site, server) = server(mode);
    server
        .send("get /a.txt HTTP/1.1\r\nHost: x\r\n\r\n")
        .assert_status(501);
}

fn http_1_1_without_host_gets_400(mode: Mode) {
    let (_site, server) = server(mode);
    server
        .send("GET /a.txt HTTP/1.1\r\n\r\n")
        .assert_status(400);
    // HTTP/1.0 has no such rule.
    server
        .send("GET /a.txt HTTP/1.0\r\n\r\n")
        .assert_status(200);
}

fn two_host_headers_get_400(mode: Mode) {
    let (_site, server) = server(mode);
    server
        .send("GET /a.txt HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n")
        .assert_status(400);
    server
        .send("GET /a.txt HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n")
        .assert_status(400);
}

fn whitespace_before_a_header_colon_gets_400(mode: Mode) {
    let (_site, server) = server(mode);
    server
        .send("GET /a.txt HTTP/1.1\r\nHost : x\r\n\r\n")
        .assert_status(400);
}

fn obs_fold_continuation_lines_get_400(mode: Mode) {
    let (_site, server) = server(mode);
    server
        .send("GET /a.txt HTTP/1.1\r\nHost: x\r\nX-Long: a\r\n  b\r\n\r\n")
        .assert_status(400);
}

fn a_bare_cr_gets_400(mode: Mode) {
    let (_site, server) = server(mode);
    server
        .send("GET /a.txt HTTP/1.1\rHost: x\r\n\r\n")
        .assert_status(400);
    server
        .send("GET /a.txt HTTP/1.1\r\nHost: x\rX: y\r\n\r\n")
        .assert_status(400);
}

fn control_characters_in_header_values_get_400(mode: Mode) {
    let (_site, server) = server(mode);
    server
        .send("GET /a.txt HTTP/1.1\r\nHost: x\r\nX: a\x00b\r\n\r\n")
        .assert_status(400);
}

fn a_request_line_over_8_kib_gets_414(mode: Mode) {
    let (_site, server) = server(mode);
    let long = "a".repeat(MAX_REQUEST_LINE);
    server
        .send(format!("GET /{long} HTTP/1.1\r\nHost: x\r\n\r\n"))
        .assert_status(414);
    // Without a line end at all, too.
    server.send(format!("GET /{long}{long}")).assert_status(414);
    // Just under the limit is fine (and simply not found).
    let fits = "a".repeat(MAX_REQUEST_LINE - "GET / HTTP/1.1".len());
    server
        .send(format!("GET /{fits} HTTP/1.1\r\nHost: x\r\n\r\n"))
        .assert_status(404);
}

fn a_head_over_64_kib_gets_431(mode: Mode) {
    let (_site, server) = server(mode);
    let value = "v".repeat(MAX_HEAD);
    server
        .send(format!(
            "GET / HTTP/1.1\r\nHost: x\r\nX-Big: {value}\r\n\r\n"
        ))
        .assert_status(431);
}

fn more_than_100_header_lines_get_431(mode: Mode) {
    let (_site, server) = server(mode);
    let fields: String = (0..MAX_HEADERS).map(|i| format!("X-{i}: y\r\n")).collect();
    server
        .send(format!("GET / HTTP/1.1\r\nHost: x\r\n{fields}\r\n"))
        .assert_status(431);
    let fields: String = (1..MAX_HEADERS).map(|i| format!("X-{i}: y\r\n")).collect();
    server
        .send(format!("GET / HTTP/1.1\r\nHost: x\r\n{fields}\r\n"))
        .assert_status(200);
}

fn bare_lf_line_ends_are_accepted(mode: Mode) {
    let (_site, server) = server(mode);
    server
        .send("GET /a.txt HTTP/1.1\nHost: x\n\n")
        .assert_status(200)
        .assert_body("a");
}

fn one_empty_line_before_the_request_line_is_accepted(mode: Mode) {
    let (_site, server) = server(mode);
    server
        .send("\r\nGET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n")
        .assert_status(200)
        .assert_body("a");
}

/// Sends the head `GET /a.txt` with `fields`, the body `0\r\n\r\n` (an empty chunked
/// body), and a second request pipelined after it, on one connection. Then checks that
/// the server answers the first with `status` and `Connection: close`, and closes without
/// answering the second: a server that cannot frame a body cannot tell where the next
/// request starts, so it must read nothing more (RFC 9112, 6.3, rules 3 and 4).
#[track_caller]
fn refused_and_closed(server: &TestServer, version: &str, fields: &str, status: u16) {
    let request = format!(
        "GET /a.txt {version}\r\nHost: x\r\n{fields}\r\n0\r\n\r\n\
         GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n"
    );
    let mut stream = server.connect();
    // The server may answer and close before reading it all; that is fine.
    let _ = stream.write_all(request.as_bytes());
    let (raw, ending) = read_to_close_until(&mut stream, PATIENCE);
    let exchange = Exchange::new(request.into_bytes(), raw).ended(ending);
    exchange
        .assert_status(status)
        .assert_header("Connection", "close")
        // Only one response: a second one would follow the first's page.
        .assert_length_matches();
    if !matches!(ending, Ending::Closed | Ending::Reset) {
        exchange.fail(&format!("a {status}, then the connection closed"));
    }
}

fn content_length_with_transfer_encoding_gets_400(mode: Mode) {
    let (_site, server) = server(mode);
    server
        .send("GET /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\nabc")
        .assert_status(400);
    // Whatever the codings: rule 3 comes first, and the connection closes.
    for codings in ["chunked", "gzip, chunked", "gzip", "chunked, chunked"] {
        let fields = format!("Content-Length: 5\r\nTransfer-Encoding: {codings}\r\n");
        refused_and_closed(&server, "HTTP/1.1", &fields, 400);
    }
}

/// `chunked` is the one transfer coding the server implements; its name is
/// case-insensitive (RFC 9112, 7). The server never reads a chunked body (it needs none),
/// so it answers, and closes.
fn exactly_chunked_is_accepted_in_any_case(mode: Mode) {
    let (_site, server) = server(mode);
    for codings in ["chunked", "CHUNKED", "Chunked", "\tchunked "] {
        server
            .send(format!(
                "GET /a.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: {codings}\r\n\r\n0\r\n\r\n"
            ))
            .assert_status(200)
            .assert_header("Connection", "close")
            .assert_body("a");
    }
}

/// RFC 9112, 6.1: "A server that receives a request message with a transfer coding it does
/// not understand SHOULD respond with 501 (Not Implemented)." The chunks could be found,
/// but not what they hold. Two Transfer-Encoding lines are one list (RFC 9110, 5.3), and
/// `identity` is no transfer coding any more. h11 and nginx answer 501 too.
fn a_coding_other_than_chunked_before_chunked_gets_501_and_a_close(mode: Mode) {
    let (_site, server) = server(mode);
    for fields in [
        "Transfer-Encoding: gzip, chunked\r\n",
        "Transfer-Encoding: GZIP,Chunked\r\n",
        "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n",
        "Transfer-Encoding: gzip\r\nX-Between: 1\r\ntransfer-encoding: CHUNKED\r\n",
        "Transfer-Encoding: deflate, gzip, chunked\r\n",
        "Transfer-Encoding: identity, chunked\r\n",
        "Transfer-Encoding: x-custom;level=1, chunked\r\n",
    ] {
        refused_and_closed(&server, "HTTP/1.1", fields, 501);
    }
}

/// RFC 9112, 6.3, rule 4: if chunked is not the final coding of a request, "the server
/// MUST respond with the 400 (Bad Request) status code and then close the connection".
/// A MUST, so 400 even where the coding is also unknown.
fn chunked_not_last_gets_400_and_a_close(mode: Mode) {
    let (_site, server) = server(mode);
    for fields in [
        "Transfer-Encoding: gzip\r\n",
        "Transfer-Encoding: identity\r\n",
        "Transfer-Encoding: chunked, gzip\r\n",
        "Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n",
    ] {
        refused_and_closed(&server, "HTTP/1.1", fields, 400);
    }
}

/// RFC 9112, 6.1: chunked is applied only once. A request that says otherwise could be
/// decoded once by one parser and twice by another, so its body's end is ambiguous; h11
/// and llhttp refuse it, and so does the server.
fn chunked_applied_twice_gets_400(mode: Mode) {
    let (_site, server) = server(mode);
    for fields in [
        "Transfer-Encoding: chunked, chunked\r\n",
        "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
        "Transfer-Encoding: Chunked\r\nTransfer-Encoding: CHUNKED\r\n",
        "Transfer-Encoding: gzip, chunked\r\nTransfer-Encoding: chunked\r\n",
    ] {
        refused_and_closed(&server, "HTTP/1.1", fields, 400);
    }
}

/// Not a list of transfer codings (RFC 9112, 7): an empty element, a name that is not a
/// token, or chunked with parameters (it has none, so parsers disagree on what it means).
fn a_malformed_transfer_encoding_gets_400_and_a_close(mode: Mode) {
    let (_site, server) = server(mode);
    for codings in [
        "",
        "chunked,",
        ", chunked",
        "gzip, , chunked",
        "chun ked",
        "\"chunked\"",
        "chunked;ext=1",
    ] {
        let fields = format!("Transfer-Encoding: {codings}\r\n");
        refused_and_closed(&server, "HTTP/1.1", &fields, 400);
    }
}

/// RFC 9112, 6.1: a server that receives an HTTP/1.0 message with Transfer-Encoding "MUST
/// treat the message as if the framing is faulty": HTTP/1.0 has no chunked coding, and a
/// 1.0 intermediary may have passed the field on without applying it. nginx answers 400.
fn http_1_0_with_transfer_encoding_gets_400_and_a_close(mode: Mode) {
    let (_site, server) = server(mode);
    for codings in ["chunked", "gzip, chunked"] {
        let fields = format!("Transfer-Encoding: {codings}\r\n");
        refused_and_closed(&server, "HTTP/1.0", &fields, 400);
    }
}

fn a_bad_content_length_gets_400(mode: Mode) {
    let (_site, server) = server(mode);
    for value in ["-1", "abc", "1 2", "+5", ""] {
        server
            .send(format!(
                "GET /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: {value}\r\n\r\n"
            ))
            .assert_status(400);
    }
    server
        .send("GET /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab")
        .assert_status(400);
}

fn a_request_body_is_read_and_discarded(mode: Mode) {
    let (_site, server) = server(mode);
    let body = "b".repeat(100_000);
    server
        .send(format!(
            "GET /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ))
        .assert_status(200)
        .assert_body("a");
    server
        .send(format!(
            "POST /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ))
        .assert_status(405);
}

fn bad_percent_escapes_get_400(mode: Mode) {
    let (_site, server) = server(mode);
    for target in ["/%", "/%4", "/%zz", "/a%2"] {
        server.get(target).assert_status(400);
    }
}

fn encoded_control_characters_get_400(mode: Mode) {
    let (_site, server) = server(mode);
    for target in ["/a.txt%00", "/%00", "/a%0d%0aSet-Cookie:%20x", "/%7f"] {
        server
            .get(target)
            .assert_status(400)
            .assert_no_header("Set-Cookie");
    }
}

fn a_path_that_is_not_utf8_gets_400(mode: Mode) {
    let (_site, server) = server(mode);
    server.get("/%ff%fe.txt").assert_status(400);
    server.get("/%c3").assert_status(400);
}

fn binary_garbage_gets_400_at_once(mode: Mode) {
    let (_site, server) = server(mode);
    // A TLS hello sent to a plain-HTTP port: answered without waiting for a line end.
    server
        .send(b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03")
        .assert_status(400);
}

fn an_asterisk_target_gets_400_for_get(mode: Mode) {
    let (_site, server) = server(mode);
    server
        .send("GET * HTTP/1.1\r\nHost: x\r\n\r\n")
        .assert_status(400);
}
