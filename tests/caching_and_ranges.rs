//! What browsers use beyond a plain GET: validators and 304 (RFC 9110, 13), byte ranges and
//! 206/416 (RFC 9110, 14), and the optional directory listing. Every test runs in every mode.

mod support;

use support::{test_config, Site, TestServer};
use weblab::server::handler::Options;
use weblab::{Config, Mode};

every_mode!(
    files_carry_an_etag_and_last_modified,
    a_matching_if_none_match_gets_304_without_a_body,
    if_modified_since_gets_304_when_unchanged,
    if_modified_since_is_ignored_when_if_none_match_is_present,
    a_single_range_gets_206_with_content_range,
    an_open_and_a_suffix_range_are_served,
    an_unsatisfiable_range_gets_416,
    several_ranges_get_the_whole_file,
    a_stale_if_range_gets_the_whole_file,
    a_seek_into_a_large_file_sends_only_that_part,
    directories_are_not_listed_by_default,
    a_listing_escapes_every_name,
);

const TEXT: &str = "0123456789abcdefghij";

fn site() -> Site {
    Site::new().file("t.txt", TEXT)
}

fn get_with(server: &TestServer, path: &str, header: &str) -> support::Exchange {
    server.send(format!(
        "GET {path} HTTP/1.1\r\nHost: x\r\n{header}\r\n\r\n"
    ))
}

fn files_carry_an_etag_and_last_modified(mode: Mode) {
    let site = site();
    let server = TestServer::start(site.path(), mode);
    let response = server.get("/t.txt");
    response
        .assert_status(200)
        .assert_has_header("ETag")
        .assert_has_header("Last-Modified")
        .assert_header("Accept-Ranges", "bytes");
    let etag = response.header("ETag").unwrap_or_default();
    if !(etag.len() >= 2 && etag.starts_with('"') && etag.ends_with('"')) {
        response.fail("an ETag in double quotes");
    }
    // The same file, unchanged, keeps the same tag.
    server.get("/t.txt").assert_header("ETag", etag);
}

fn a_matching_if_none_match_gets_304_without_a_body(mode: Mode) {
    let site = site();
    let server = TestServer::start(site.path(), mode);
    let etag = server
        .get("/t.txt")
        .header("ETag")
        .unwrap_or_default()
        .to_string();
    get_with(&server, "/t.txt", &format!("If-None-Match: {etag}"))
        .assert_status(304)
        .assert_header("ETag", &etag)
        .assert_body("");
    get_with(
        &server,
        "/t.txt",
        &format!("If-None-Match: \"nope\", W/{etag}"),
    )
    .assert_status(304);
    get_with(&server, "/t.txt", "If-None-Match: \"nope\"")
        .assert_status(200)
        .assert_body(TEXT);
}

fn if_modified_since_gets_304_when_unchanged(mode: Mode) {
    let site = site();
    let server = TestServer::start(site.path(), mode);
    let modified = server
        .get("/t.txt")
        .header("Last-Modified")
        .unwrap_or_default()
        .to_string();
    get_with(&server, "/t.txt", &format!("If-Modified-Since: {modified}"))
        .assert_status(304)
        .assert_body("");
    get_with(
        &server,
        "/t.txt",
        "If-Modified-Since: Thu, 01 Jan 1970 00:00:01 GMT",
    )
    .assert_status(200)
    .assert_body(TEXT);
    get_with(&server, "/t.txt", "If-Modified-Since: yesterday").assert_status(200);
}

fn if_modified_since_is_ignored_when_if_none_match_is_present(mode: Mode) {
    let site = site();
    let server = TestServer::start(site.path(), mode);
    let modified = server
        .get("/t.txt")
        .header("Last-Modified")
        .unwrap_or_default()
        .to_string();
    get_with(
        &server,
        "/t.txt",
        &format!("If-None-Match: \"other\"\r\nIf-Modified-Since: {modified}"),
    )
    .assert_status(200)
    .assert_body(TEXT);
}

fn a_single_range_gets_206_with_content_range(mode: Mode) {
    let site = site();
    let server = TestServer::start(site.path(), mode);
    get_with(&server, "/t.txt", "Range: bytes=2-5")
        .assert_status(206)
        .assert_header("Content-Range", "bytes 2-5/20")
        .assert_header("Content-Length", "4")
        .assert_body("2345");
    get_with(&server, "/t.txt", "Range: bytes=15-99")
        .assert_status(206)
        .assert_header("Content-Range", "bytes 15-19/20")
        .assert_body("fghij");
}

fn an_open_and_a_suffix_range_are_served(mode: Mode) {
    let site = site();
    let server = TestServer::start(site.path(), mode);
    get_with(&server, "/t.txt", "Range: bytes=17-")
        .assert_status(206)
        .assert_header("Content-Range", "bytes 17-19/20")
        .assert_body("hij");
    get_with(&server, "/t.txt", "Range: bytes=-4")
        .assert_status(206)
        .assert_header("Content-Range", "bytes 16-19/20")
        .assert_body("ghij");
    get_with(&server, "/t.txt", "Range: bytes=-400")
        .assert_status(206)
        .assert_body(TEXT);
}

fn an_unsatisfiable_range_gets_416(mode: Mode) {
    let site = site();
    let server = TestServer::start(site.path(), mode);
    for range in ["bytes=20-", "bytes=25-30", "bytes=-0"] {
        get_with(&server, "/t.txt", &format!("Range: {range}"))
            .assert_status(416)
            .assert_header("Content-Range", "bytes */20")
            .assert_length_matches();
    }
}

fn several_ranges_get_the_whole_file(mode: Mode) {
    let site = site();
    let server = TestServer::start(site.path(), mode);
    for range in ["bytes=0-1,4-5", "bytes=5-2", "pages=1-2", "bytes=a-b"] {
        get_with(&server, "/t.txt", &format!("Range: {range}"))
            .assert_status(200)
            .assert_body(TEXT);
    }
    // HEAD ignores Range.
    server
        .send("HEAD /t.txt HTTP/1.1\r\nHost: x\r\nRange: bytes=0-1\r\n\r\n")
        .assert_status(200)
        .assert_header("Content-Length", "20");
}

fn a_stale_if_range_gets_the_whole_file(mode: Mode) {
    let site = site();
    let server = TestServer::start(site.path(), mode);
    let etag = server
        .get("/t.txt")
        .header("ETag")
        .unwrap_or_default()
        .to_string();
    get_with(
        &server,
        "/t.txt",
        &format!("Range: bytes=0-1\r\nIf-Range: {etag}"),
    )
    .assert_status(206)
    .assert_body("01");
    get_with(&server, "/t.txt", "Range: bytes=0-1\r\nIf-Range: \"old\"")
        .assert_status(200)
        .assert_body(TEXT);
}

fn a_seek_into_a_large_file_sends_only_that_part(mode: Mode) {
    let data: Vec<u8> = (0..2_000_000u32).map(|i| (i % 251) as u8).collect();
    let site = Site::new().file("video.mp4", &data);
    let server = TestServer::start(site.path(), mode);
    get_with(&server, "/video.mp4", "Range: bytes=1000000-1000999")
        .assert_status(206)
        .assert_header("Content-Type", "video/mp4")
        .assert_body(&data[1_000_000..1_001_000]);
}

fn directories_are_not_listed_by_default(mode: Mode) {
    let site = Site::new().file("docs/a.txt", "a");
    let server = TestServer::start(site.path(), mode);
    server
        .get("/docs/")
        .assert_status(404)
        .assert_body_lacks("a.txt");
}

fn a_listing_escapes_every_name(mode: Mode) {
    let site = Site::new()
        .file("docs/plain.txt", "p")
        .file("docs/x&y'z #1%.txt", "y")
        .dir("docs/sub");
    // Windows does not allow < > or " in file names; everywhere else they are tried too.
    let hostile = cfg!(unix).then_some("<img src=x onerror=alert(1)>.txt");
    let site = match hostile {
        Some(name) => site.file(&format!("docs/{name}"), "x"),
        None => site,
    };
    let config = Config {
        handler: Options { list_dirs: true },
        ..test_config(mode)
    };
    let server = TestServer::start_with(site.path(), config);
    let listing = server.get("/docs/");
    listing
        .assert_status(200)
        .assert_header("Content-Type", "text/html; charset=utf-8")
        .assert_body_contains("<a href=\"plain.txt\">plain.txt</a>")
        .assert_body_contains("<a href=\"sub/\">sub/</a>")
        .assert_body_contains("<a href=\"x%26y%27z%20%231%25.txt\">x&amp;y&#39;z #1%.txt</a>")
        .assert_body_contains("<a href=\"../\">../</a>");
    // The root has no parent to link to.
    server
        .get("/")
        .assert_status(200)
        .assert_body_contains("<a href=\"docs/\">docs/</a>")
        .assert_body_lacks("../");
    if hostile.is_some() {
        listing
            .assert_body_contains("href=\"%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E.txt\"")
            .assert_body_contains(">&lt;img src=x onerror=alert(1)&gt;.txt</a>")
            .assert_body_lacks("<img");
    }
    // Each link leads to its file.
    server
        .get("/docs/x%26y%27z%20%231%25.txt")
        .assert_status(200)
        .assert_body("y");
    // An index still wins over a listing.
    let site = Site::new().file("index.html", "home");
    let config = Config {
        handler: Options { list_dirs: true },
        ..test_config(mode)
    };
    let server = TestServer::start_with(site.path(), config);
    server.get("/").assert_body("home");
}
