//! The client library on canned bytes: parsing heads, framing bodies,
//! decoding chunks. No sockets needed, except for the `fetch`/`send`
//! tests at the end.

mod client_support;

use std::time::{Duration, Instant};

use client_support::{fixture, FakeServer, Then, DRIP_FOR};
use proptest::prelude::*;
use weblab::client::{
    body_framing, copy_chunked, fetch, parse_response_head, send, ClientError, ClientRequest,
    ClientResponseHead, Method, Response, TimeLimit, MAX_HEAD_BYTES,
};
use weblab::http::{BodyFraming, Parse};

/// Reads a whole response from `bytes`: its head and its body.
fn read_response(
    bytes: &[u8],
    method: Method,
) -> Result<(ClientResponseHead, Vec<u8>), ClientError> {
    let mut response = Response::read_from(bytes, method)?;
    let mut body = Vec::new();
    response.copy_body_to(&mut body)?;
    Ok((response.head, body))
}

/// The head of a response with these header lines, for `body_framing`.
fn head_with(status: u16, headers: &str) -> ClientResponseHead {
    let bytes = format!("HTTP/1.1 {status} Whatever\r\n{headers}\r\n");
    match parse_response_head(bytes.as_bytes()) {
        Ok(Parse::Complete(head, _)) => head,
        other => panic!("cannot parse test head {bytes:?}: {other:?}"),
    }
}

/// Encodes `body` with the chunked coding, cutting it at `sizes` (cycled;
/// must not be empty).
fn chunk_encode(body: &[u8], sizes: &[usize]) -> Vec<u8> {
    let mut encoded = Vec::new();
    let mut rest = body;
    // Every pass takes at least one byte, so the endless cycle ends.
    for &size in sizes.iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let (chunk, tail) = rest.split_at(size.clamp(1, rest.len()));
        encoded.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        encoded.extend_from_slice(chunk);
        encoded.extend_from_slice(b"\r\n");
        rest = tail;
    }
    encoded.extend_from_slice(b"0\r\n\r\n");
    encoded
}

#[test]
fn status_line_and_headers_are_parsed() {
    let bytes = b"HTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\nX-Empty:\r\n\r\nbody";
    let (head, len) = parse_response_head(bytes)
        .expect("valid")
        .complete()
        .expect("complete");
    assert_eq!(len, bytes.len() - 4);
    assert_eq!(
        (head.version.as_str(), head.status, head.reason.as_str()),
        ("HTTP/1.1", 404, "Not Found")
    );
    assert_eq!(head.header("content-type"), Some("text/html"));
    assert_eq!(head.header("x-empty"), Some(""));
    assert_eq!(head.raw, &bytes[..len]);
}

#[test]
fn incomplete_head_is_not_an_error_yet() {
    let bytes = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n";
    for end in 0..bytes.len() {
        let partial = &bytes[..end];
        assert!(
            matches!(parse_response_head(partial), Ok(Parse::Incomplete)),
            "{partial:?} should be incomplete, got {:?}",
            parse_response_head(partial)
        );
    }
}

#[test]
fn garbage_is_rejected_before_the_head_is_complete() {
    for garbage in [
        &b"SSH-2.0"[..],
        b"<html>",
        b"HTTP/1.1 OK\r\n",
        b"HTTP/1.1 99 Low\r\n",
        b"HTTP/1.1 099 Low\r\n",
        b"HTTP/1.1 2x0 OK\r\n",
        b"HTTP/x.1 200 OK\r\n",
        b"http/1.1 200 OK\r\n",
    ] {
        assert!(
            matches!(parse_response_head(garbage), Err(ClientError::NotHttp(_))),
            "{garbage:?} gave {:?}",
            parse_response_head(garbage)
        );
    }
}

#[test]
fn bare_lf_line_endings_are_accepted() {
    let (head, body) =
        read_response(b"HTTP/1.0 200 OK\nContent-Length: 2\n\nhi", Method::Get).expect("valid");
    assert_eq!((head.status, body.as_slice()), (200, &b"hi"[..]));
}

#[test]
fn missing_reason_phrase_is_accepted() {
    let (head, _) = parse_response_head(b"HTTP/1.1 200\r\n\r\n")
        .expect("valid")
        .complete()
        .expect("complete");
    assert_eq!((head.status, head.reason.as_str()), (200, ""));
}

#[test]
fn obsolete_line_folding_is_joined_with_a_space() {
    let head = head_with(200, "X-Long: first\r\n  second\r\n");
    assert_eq!(head.header("x-long"), Some("first second"));
}

#[test]
fn whitespace_before_the_colon_is_a_bad_header() {
    let bytes = b"HTTP/1.1 200 OK\r\nContent-Length : 5\r\n\r\n";
    assert!(matches!(
        parse_response_head(bytes),
        Err(ClientError::BadHeader(_))
    ));
}

#[test]
fn head_over_64_kib_is_an_error() {
    let mut bytes = b"HTTP/1.1 200 OK\r\n".to_vec();
    while bytes.len() <= 64 * 1024 {
        bytes.extend_from_slice(b"X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
    }
    bytes.extend_from_slice(b"\r\n");
    assert!(matches!(
        parse_response_head(&bytes),
        Err(ClientError::HeadTooLarge)
    ));
    assert!(matches!(
        read_response(&bytes, Method::Get),
        Err(ClientError::HeadTooLarge)
    ));
}

/// A complete head of exactly `len` bytes: a status line, one padded header, the empty line.
fn head_of(len: usize) -> Vec<u8> {
    let fixed = "HTTP/1.1 200 OK\r\nX-Pad: \r\n\r\n".len();
    format!(
        "HTTP/1.1 200 OK\r\nX-Pad: {}\r\n\r\n",
        "a".repeat(len - fixed)
    )
    .into_bytes()
}

#[test]
fn a_head_of_exactly_64_kib_is_accepted_and_one_byte_more_is_not() {
    assert_eq!(MAX_HEAD_BYTES, 64 * 1024);
    let longest = head_of(MAX_HEAD_BYTES);
    match parse_response_head(&longest) {
        Ok(Parse::Complete(head, len)) => assert_eq!((head.status, len), (200, MAX_HEAD_BYTES)),
        other => panic!("a 64 KiB head gave {other:?}"),
    }
    let result = parse_response_head(&head_of(MAX_HEAD_BYTES + 1));
    assert!(
        matches!(result, Err(ClientError::HeadTooLarge)),
        "{result:?}"
    );
}

#[test]
fn an_unfinished_head_may_grow_to_64_kib_and_no_further() {
    let longest = head_of(MAX_HEAD_BYTES + 4);
    // The first 64 KiB of a head that has not ended yet: read more.
    let result = parse_response_head(&longest[..MAX_HEAD_BYTES]);
    assert!(matches!(result, Ok(Parse::Incomplete)), "{result:?}");
    let result = parse_response_head(&longest[..MAX_HEAD_BYTES + 1]);
    assert!(
        matches!(result, Err(ClientError::HeadTooLarge)),
        "{result:?}"
    );
}

#[test]
fn a_head_cut_short_is_an_error_that_says_how_much_came() {
    let bytes = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n";
    let result = read_response(bytes, Method::Get);
    assert!(
        matches!(result, Err(ClientError::HeadCutShort { got }) if got == bytes.len()),
        "{result:?}"
    );
}

#[test]
fn head_response_has_no_body_despite_content_length() {
    let head = head_with(200, "Content-Length: 1000\r\n");
    assert_eq!(
        body_framing(&Method::Head, &head).expect("valid"),
        BodyFraming::None
    );
    assert_eq!(
        body_framing(&Method::Get, &head).expect("valid"),
        BodyFraming::Length(1000)
    );
}

#[test]
fn statuses_1xx_204_and_304_have_no_body() {
    for status in [100, 204, 304] {
        let head = head_with(
            status,
            "Content-Length: 10\r\nTransfer-Encoding: chunked\r\n",
        );
        assert_eq!(
            body_framing(&Method::Get, &head).expect("valid"),
            BodyFraming::None,
            "status {status}"
        );
    }
}

#[test]
fn transfer_encoding_overrides_content_length() {
    let chunked = head_with(
        200,
        "Content-Length: 10\r\nTransfer-Encoding: gzip, Chunked\r\n",
    );
    assert_eq!(
        body_framing(&Method::Get, &chunked).expect("valid"),
        BodyFraming::Chunked
    );
    let not_chunked_last = head_with(200, "Transfer-Encoding: chunked, gzip\r\n");
    assert_eq!(
        body_framing(&Method::Get, &not_chunked_last).expect("valid"),
        BodyFraming::UntilClose
    );
}

#[test]
fn no_length_at_all_means_until_close() {
    assert_eq!(
        body_framing(&Method::Get, &head_with(200, "")).expect("valid"),
        BodyFraming::UntilClose
    );
}

#[test]
fn repeated_identical_content_lengths_are_accepted() {
    let head = head_with(200, "Content-Length: 5, 5\r\nContent-Length: 5\r\n");
    assert_eq!(
        body_framing(&Method::Get, &head).expect("valid"),
        BodyFraming::Length(5)
    );
}

#[test]
fn invalid_or_conflicting_content_length_is_an_error() {
    for value in [
        "abc",
        "+5",
        "-1",
        "",
        "5 5",
        "0x10",
        "99999999999999999999",
        "5, 6",
    ] {
        let head = head_with(200, &format!("Content-Length: {value}\r\n"));
        assert!(
            matches!(
                body_framing(&Method::Get, &head),
                Err(ClientError::BadContentLength(_))
            ),
            "Content-Length {value:?} gave {:?}",
            body_framing(&Method::Get, &head)
        );
    }
}

#[test]
fn a_content_length_error_shows_every_value_received() {
    let head = head_with(200, "Content-Length: 5\r\nX: y\r\ncontent-length: 6\r\n");
    let values: Vec<&str> = head.header_values("CONTENT-LENGTH").collect();
    assert_eq!(values, ["5", "6"]);
    match body_framing(&Method::Get, &head) {
        Err(ClientError::BadContentLength(shown)) => assert_eq!(shown, "5, 6"),
        other => panic!("Content-Length 5 and 6 gave {other:?}, expected an error naming both"),
    }
}

#[test]
fn chunk_extensions_and_trailers_are_skipped() {
    let (head, body) = read_response(&fixture("chunked.http"), Method::Get).expect("valid");
    assert_eq!(head.header("transfer-encoding"), Some("chunked"));
    assert_eq!(String::from_utf8_lossy(&body), "Hello, chunked world!\n");
}

#[test]
fn bytes_after_the_last_chunk_are_left_unread() {
    let mut input = &b"3\r\nabc\r\n0\r\n\r\nHTTP/1.1 200 OK"[..];
    let mut body = Vec::new();
    assert_eq!(copy_chunked(&mut input, &mut body).expect("valid"), 3);
    assert_eq!(
        (body.as_slice(), input),
        (&b"abc"[..], &b"HTTP/1.1 200 OK"[..])
    );
}

#[test]
fn bad_chunk_size_is_an_error() {
    for encoded in [
        &b"xyz\r\n"[..],
        b"\r\n",
        b"+5\r\nhello\r\n0\r\n\r\n",
        b"10000000000000000\r\n",
    ] {
        let result = copy_chunked(&mut &encoded[..], &mut Vec::new());
        assert!(
            matches!(result, Err(ClientError::BadChunk(_))),
            "{encoded:?} gave {result:?}"
        );
    }
}

#[test]
fn a_chunk_size_line_may_be_4_kib_and_no_longer() {
    // "5;" + extension + "\r\n", exactly `len` bytes in all.
    let chunked = |len: usize| {
        let extension = "x".repeat(len - 4);
        format!("5;{extension}\r\nhello\r\n0\r\n\r\n").into_bytes()
    };
    let mut body = Vec::new();
    let longest = copy_chunked(&mut &chunked(4096)[..], &mut body);
    assert_eq!(longest.expect("a 4 KiB chunk-size line"), 5);
    assert_eq!(body, b"hello");
    let result = copy_chunked(&mut &chunked(4097)[..], &mut Vec::new());
    assert!(
        matches!(&result, Err(ClientError::BadChunk(why)) if why.starts_with("chunk-size line too long")),
        "a 4097-byte chunk-size line gave {result:?}"
    );
}

#[test]
fn chunk_data_not_followed_by_crlf_is_an_error() {
    for encoded in [&b"3\r\nabcdef\r\n0\r\n\r\n"[..], b"3\r\nabcX\n0\r\n\r\n"] {
        let result = copy_chunked(&mut &encoded[..], &mut Vec::new());
        assert!(
            matches!(result, Err(ClientError::BadChunk(_))),
            "{encoded:?} gave {result:?}"
        );
    }
}

#[test]
fn trailer_fields_are_read_up_to_their_empty_line() {
    let mut input = &b"3\r\nabc\r\n0\r\nX-One: 1\r\nX-Two: 2\r\n\r\nnext"[..];
    let mut body = Vec::new();
    assert_eq!(copy_chunked(&mut input, &mut body).expect("valid"), 3);
    assert_eq!((body.as_slice(), input), (&b"abc"[..], &b"next"[..]));
}

/// A reader whose first `read` is interrupted by a signal, as a blocking read can be.
struct InterruptedOnce<'a> {
    inner: &'a [u8],
    interrupted: bool,
}

impl std::io::Read for InterruptedOnce<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if !self.interrupted {
            self.interrupted = true;
            return Err(std::io::ErrorKind::Interrupted.into());
        }
        self.inner.read(buf)
    }
}

impl std::io::BufRead for InterruptedOnce<'_> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        Ok(self.inner)
    }
    fn consume(&mut self, amount: usize) {
        self.inner.consume(amount);
    }
}

#[test]
fn a_read_interrupted_by_a_signal_is_tried_again() {
    let mut input = InterruptedOnce {
        inner: b"5\r\nhello\r\n0\r\n\r\n",
        interrupted: false,
    };
    let mut body = Vec::new();
    let copied = copy_chunked(&mut input, &mut body);
    assert_eq!(copied.expect("the interrupted read tried again"), 5);
    assert_eq!(body, b"hello");
    assert!(input.interrupted, "the chunk data was read with read()");
}

#[test]
fn body_shorter_than_content_length_is_an_error() {
    let result = read_response(&fixture("truncated.http"), Method::Get);
    assert!(
        matches!(
            result,
            Err(ClientError::BodyCutShort {
                expected: Some(100),
                got: 26
            })
        ),
        "got {result:?}"
    );
}

#[test]
fn error_messages_are_single_lines_with_sources() {
    let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
    let err = ClientError::Connect {
        addr: "127.0.0.1:1".parse().expect("address"),
        source: refused,
    };
    assert!(
        err.to_string()
            .starts_with("cannot connect to 127.0.0.1:1: "),
        "{err}"
    );
    assert!(std::error::Error::source(&err).is_some());
    let not_http = ClientError::NotHttp("line\nbreak".into()).to_string();
    assert!(!not_http.contains('\n'), "{not_http}");
}

#[test]
fn fetch_returns_the_head_and_writes_the_body() {
    let server = FakeServer::fixture("chunked.http", Then::KeepOpen);
    let mut body = Vec::new();
    let head = fetch(
        &ClientRequest::get("127.0.0.1", server.addr.port(), "/hello"),
        &mut body,
    )
    .expect("fetch");
    assert_eq!(
        (head.status, body.as_slice()),
        (200, &b"Hello, chunked world!\n"[..])
    );
    let request = server.received();
    assert!(
        request.starts_with("GET /hello HTTP/1.1\r\n"),
        "request sent:\n{request}"
    );
}

#[test]
fn send_leaves_the_body_for_the_caller() {
    let server = FakeServer::fixture("not-found.http", Then::Close);
    let mut response = send(&ClientRequest::get(
        "127.0.0.1",
        server.addr.port(),
        "/gone",
    ))
    .expect("send");
    let shown = String::from_utf8_lossy(&response.head.raw).into_owned();
    assert_eq!(
        (response.head.status, response.body_framing),
        (404, BodyFraming::Length(23)),
        "status and body length of fixtures/responses/not-found.http, head received:\n{shown}"
    );
    let mut body = Vec::new();
    response.copy_body_to(&mut body).expect("body");
    assert_eq!(
        body, b"<h1>404 Not Found</h1>\n",
        "the body left after the head:\n{shown}"
    );
}

#[test]
fn switching_protocols_is_the_final_response_with_no_body() {
    // What follows a 101 is another protocol (here a WebSocket frame), not HTTP.
    let bytes = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x05hello";
    let response = Response::read_from(&bytes[..], Method::Get).expect("a 101 is a response");
    assert_eq!(
        (response.head.status, response.body_framing),
        (101, BodyFraming::None),
        "response: {:?}",
        String::from_utf8_lossy(bytes)
    );
    assert!(!response.head.is_interim());
    assert!(head_with(103, "").is_interim());
}

#[test]
fn the_printable_head_escapes_control_characters_but_not_tabs_or_line_ends() {
    let head = head_with(200, "X-Evil: \x1b[2J\x07\r\nX-Tab: a\tb\r\n");
    assert_eq!(
        head.printable(),
        "HTTP/1.1 200 Whatever\r\nX-Evil: \\x1b[2J\\x07\r\nX-Tab: a\tb\r\n\r\n"
    );
}

#[test]
fn fetch_gives_up_on_a_dripping_server_when_max_time_runs_out() {
    let server = FakeServer::drip(b"HTTP/1.1 200 OK\r\n", b"X", Duration::from_millis(50));
    let request = ClientRequest {
        timeout: Duration::from_secs(5),
        max_time: Duration::from_millis(500),
        ..ClientRequest::get("127.0.0.1", server.addr.port(), "/")
    };
    let started = Instant::now();
    let result = fetch(&request, &mut Vec::new());
    let took = started.elapsed();
    assert!(
        matches!(
            result,
            Err(ClientError::TimedOut(Some(TimeLimit::Total(limit)))) if limit == request.max_time
        ) && took < DRIP_FOR - Duration::from_secs(2),
        "server: a head dripped one byte per 50 ms; request: {request:?}\n\
         expected: TimedOut(Total(500ms)) well within {DRIP_FOR:?}; got {result:?} after {took:?}"
    );
    let message = result.expect_err("timed out").to_string();
    assert_eq!(
        message,
        "timed out: the whole exchange took more than 0.5 s"
    );
}

proptest! {
    #[test]
    fn parser_never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse_response_head(&bytes);
        let _ = read_response(&bytes, Method::Get);
    }

    #[test]
    fn parser_never_panics_on_almost_http(
        head in "HTTP/1\\.[01] [0-9]{3}[ -~]{0,10}\r?\n([!-~]{0,12}:? ?[ -~]{0,12}\r?\n){0,4}\r?\n",
        body in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let bytes = [head.as_bytes(), &body].concat();
        let _ = read_response(&bytes, Method::Get);
        let _ = read_response(&bytes, Method::Head);
    }

    #[test]
    fn chunked_body_decodes_back_to_itself(
        body in proptest::collection::vec(any::<u8>(), 0..2048),
        sizes in proptest::collection::vec(1usize..300, 1..8),
    ) {
        let encoded = chunk_encode(&body, &sizes);
        let mut decoded = Vec::new();
        let n = copy_chunked(&mut encoded.as_slice(), &mut decoded)
            .map_err(|err| TestCaseError::fail(format!("{err} decoding {:?}", String::from_utf8_lossy(&encoded))))?;
        prop_assert_eq!(n, body.len() as u64);
        prop_assert_eq!(decoded, body);
    }

    #[test]
    fn content_length_body_is_read_exactly(
        body in proptest::collection::vec(any::<u8>(), 0..2048),
        extra in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let bytes = [format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len()).as_bytes(), &body, &extra].concat();
        let (_, decoded) = read_response(&bytes, Method::Get).map_err(|err| TestCaseError::fail(err.to_string()))?;
        prop_assert_eq!(decoded, body);
    }
}
