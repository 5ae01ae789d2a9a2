//! Property tests: the parser, the path lookup and the live server against generated input.

mod support;

use std::io::Write;
use std::net::Shutdown;

use proptest::prelude::*;
use proptest::test_runner::TestRunner;
use support::{connect, read_to_close, Site, TestServer};
use weblab::files::{Resolved, Root};
use weblab::http::{
    decode_target, parse_request_head, BodyFraming, HttpVersion, Method, Parse, RequestError,
};
use weblab::Mode;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// (1) Whatever the bytes, the parser returns a request or an error, and never claims
    /// to have used more bytes than it was given.
    #[test]
    fn the_parser_never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        if let Ok(Parse::Complete(_, used)) = parse_request_head(&bytes) {
            prop_assert!(used <= bytes.len());
        }
    }

    /// (1) The same, for input that looks almost like HTTP, which reaches deeper.
    #[test]
    fn the_parser_never_panics_on_near_http(text in "(GET|HEAD|get|POST|\\x00)?[ \t]?(/[a-z%.\\\\]{0,8}){0,3}[ ]?(HTTP/1\\.[01]|HTTP/[0-9]\\.[0-9])?(\r?\n([A-Za-z-]{0,6}[ ]?:[ \t]?[ -~\r]{0,8})?){0,4}(\r?\n)?") {
        let _ = parse_request_head(text.as_bytes());
    }

    /// (2) Valid request lines parse back to the same parts, and every strict prefix of a
    /// valid head is "incomplete", never "invalid".
    #[test]
    fn valid_request_heads_round_trip_and_their_prefixes_are_incomplete(
        method in "GET|HEAD|POST|PUT|DELETE|OPTIONS|[A-Z]{1,10}",
        target in "/[A-Za-z0-9._~!$&'()*+,;=:@%/-]{0,40}(\\?[A-Za-z0-9=&]{0,10})?",
        version in prop_oneof![Just(HttpVersion::Http10), Just(HttpVersion::Http11)],
        headers in proptest::collection::vec(("[A-Za-z][A-Za-z0-9-]{0,15}", "[!-~]([ -~]{0,20}[!-~])?"), 0..6),
        crlf in any::<bool>(),
    ) {
        let eol = if crlf { "\r\n" } else { "\n" };
        let mut head = format!("{method} {target} {}{eol}Host: example.com{eol}", version.as_str());
        let headers: Vec<_> = headers
            .into_iter()
            .filter(|(name, _)| {
                let name = name.to_ascii_lowercase();
                name != "host" && name != "content-length" && name != "transfer-encoding"
            })
            .collect();
        for (name, value) in &headers {
            head.push_str(&format!("{name}: {value}{eol}"));
        }
        head.push_str(eol);

        let parsed = parse_request_head(head.as_bytes());
        let Ok(Parse::Complete(request, used)) = parsed else {
            return Err(TestCaseError::fail(format!("{head:?} gave {parsed:?}")));
        };
        prop_assert_eq!(used, head.len());
        prop_assert_eq!(request.method.as_str(), method.as_str());
        prop_assert_eq!(&request.target, &target);
        prop_assert_eq!(request.version, version);
        prop_assert_eq!(request.headers.len(), headers.len() + 1);
        for (header, (name, value)) in request.headers[1..].iter().zip(&headers) {
            prop_assert_eq!(&header.name, name);
            prop_assert_eq!(&header.value, value);
        }
        if method == "GET" {
            prop_assert_eq!(request.method, Method::Get);
        }
        for end in 0..head.len() {
            prop_assert_eq!(parse_request_head(&head.as_bytes()[..end]), Ok(Parse::Incomplete), "prefix {:?}", &head[..end]);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// (2b) Whatever Transfer-Encoding lines a request has, its body is taken as chunked
    /// only when, read as one list, they say exactly `chunked`; anything else is refused
    /// with 400, or 501 when the list does end in `chunked` (RFC 9112, 6.1 and 6.3).
    #[test]
    fn a_request_body_is_chunked_only_when_its_codings_are_exactly_chunked(
        lines in proptest::collection::vec(
            proptest::collection::vec(
                ("[ \t]{0,2}", "chunked|CHUNKED|Chunked|gzip|identity|x-c|chunked;x=1|chun ked|", "[ \t]{0,2}"),
                0..4,
            ),
            1..4,
        ),
        http_1_0 in any::<bool>(),
    ) {
        let version = if http_1_0 { "HTTP/1.0" } else { "HTTP/1.1" };
        let mut head = format!("POST / {version}\r\nHost: x\r\n");
        let mut elements = Vec::new();
        for line in &lines {
            let value: Vec<String> = line.iter().map(|(a, coding, b)| format!("{a}{coding}{b}")).collect();
            let value = value.join(",");
            // The parser trims the spaces around a whole value, as the split below does
            // around each element.
            elements.extend(value.split(',').map(|e| e.trim_matches([' ', '\t']).to_string()));
            head.push_str(&format!("Transfer-Encoding: {value}\r\n"));
        }
        head.push_str("\r\n");
        let exactly_chunked = elements.len() == 1 && elements[0].eq_ignore_ascii_case("chunked");
        match parse_request_head(head.as_bytes()) {
            Ok(Parse::Complete(request, _)) => {
                prop_assert_eq!(request.body, BodyFraming::Chunked, "{:?}", head);
                prop_assert!(exactly_chunked && !http_1_0, "accepted {:?}", head);
            }
            Err(error) => {
                prop_assert!(!exactly_chunked || http_1_0, "refused {:?} with {:?}", head, error);
                let last_is_chunked = elements.last().is_some_and(|e| e.eq_ignore_ascii_case("chunked"));
                match error.status().code() {
                    400 => {}
                    501 => prop_assert!(
                        error == RequestError::UnknownTransferCoding && last_is_chunked && !http_1_0,
                        "501 for {:?}", head
                    ),
                    other => prop_assert!(false, "{other} for {:?}", head),
                }
            }
            Ok(Parse::Incomplete) => prop_assert!(false, "incomplete: {:?}", head),
        }
    }
}

/// (3) For any path built from dots, escapes, slashes and backslashes, the lookup returns
/// something inside the root or refuses. One jail serves every case.
#[test]
fn file_lookup_stays_inside_the_root() {
    let site = jail();
    let root = Root::new(site.path().join("www")).expect("open the root");
    let parts = proptest::collection::vec(
        prop_oneof![
            Just(".."),
            Just("."),
            Just("/"),
            Just("\\"),
            Just("%2e"),
            Just("%2E"),
            Just("%2f"),
            Just("%5c"),
            Just("%25"),
            Just("%"),
            Just("sub"),
            Just("secret.txt"),
            Just("index.html"),
            Just("www"),
            Just("out"),
            Just("C:"),
            Just("%00"),
            Just("//"),
        ],
        0..12,
    );
    let mut runner = TestRunner::new(ProptestConfig::with_cases(1024));
    let result = runner.run(&parts, |parts| {
        let target = format!("/{}", parts.concat());
        let Ok(path) = decode_target(&target) else {
            return Ok(());
        };
        match root.resolve(&path) {
            Ok(Resolved::File { path, mut file, .. }) => {
                prop_assert!(
                    path.starts_with(root.path()),
                    "{target} resolved to {path:?}"
                );
                // What is served is what was opened: read it, not the path.
                let mut contents = String::new();
                let _ = std::io::Read::read_to_string(&mut file, &mut contents);
                prop_assert_ne!(contents, SECRET);
            }
            Ok(Resolved::Directory { path, .. }) => {
                prop_assert!(
                    path.starts_with(root.path()),
                    "{target} resolved to {path:?}"
                );
            }
            Ok(Resolved::Redirect(location)) => {
                prop_assert!(
                    location.starts_with('/') && !location.starts_with("//"),
                    "{location}"
                );
            }
            Err(_) => {}
        }
        Ok(())
    });
    if let Err(failure) = result {
        panic!("{failure}");
    }
}

const SECRET: &str = "TOP-SECRET";

/// A served folder `www` beside a secret, with a symlink pointing out (where possible).
/// Built per case: a site kept in a static would never be removed.
fn jail() -> Site {
    let site = Site::new()
        .file("secret.txt", SECRET)
        .file("www/index.html", "public")
        .file("www/sub/index.html", "sub");
    let path = site.path().to_path_buf();
    site.symlink("www/out", "..").unwrap_or_else(|| {
        eprintln!("note: no symlink in {path:?}: this platform refused it");
        Site::new()
            .file("secret.txt", SECRET)
            .file("www/index.html", "public")
            .file("www/sub/index.html", "sub")
    })
}

/// (4) Over a real socket, any bytes get a well-formed status line or a closed connection,
/// and the server keeps serving. One server takes every case, as a real one would.
#[test]
fn arbitrary_bytes_on_the_wire_get_a_status_line_or_a_close() {
    let site = Site::new().file("index.html", "home");
    let server = TestServer::start(site.path(), Mode::Pool);
    let bytes = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..300),
        "(GET|HEAD|PUT) [ -~]{0,30} HTTP/1\\.[0-9]\r\n([ -~]{0,30}\r\n){0,3}\r\n"
            .prop_map(String::into_bytes),
    ];
    let mut runner = TestRunner::new(ProptestConfig::with_cases(96));
    let result = runner.run(&bytes, |bytes| {
        let mut stream = connect(server.addr());
        let _ = stream.write_all(&bytes);
        // Closing our side ends any request that was still incomplete.
        let _ = stream.shutdown(Shutdown::Write);
        let raw = read_to_close(&mut stream);
        if !raw.is_empty() {
            let text = String::from_utf8_lossy(&raw);
            let status_line = text.split("\r\n").next().unwrap_or_default();
            let ok = status_line.len() > 13
                && status_line.starts_with("HTTP/1.1 ")
                && status_line.as_bytes()[9..12].iter().all(u8::is_ascii_digit)
                && status_line.as_bytes()[12] == b' ';
            prop_assert!(ok, "bad status line {status_line:?} for {bytes:?}");
            prop_assert!(text.contains("\r\n\r\n"), "no end of head in {text:?}");
        }
        server.get("/index.html").assert_status(200);
        Ok(())
    });
    if let Err(failure) = result {
        panic!("{failure}");
    }
}

proptest! {
    /// Whatever the Range header and the file length, a partial answer lies inside the file.
    #[test]
    fn a_range_answer_always_lies_inside_the_file(
        value in "(bytes|BYTES|lines)?=?[ ]?[0-9]{0,4}-?[0-9]{0,4}(,[0-9]{1,3}-[0-9]{0,3})?",
        len in 0u64..5000,
    ) {
        use weblab::http::{answer_range, RangeAnswer};
        match answer_range(&value, len) {
            RangeAnswer::Partial { start, end } => {
                prop_assert!(start <= end && end < len, "{value:?} on {len} gave {start}-{end}");
            }
            RangeAnswer::NotSatisfiable | RangeAnswer::Whole => {}
        }
    }
}
