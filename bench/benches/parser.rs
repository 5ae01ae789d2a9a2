//! How long `weblab::http::parse_request` takes on a request head as a browser sends it,
//! and on the smallest valid one.
//!
//! ```sh
//! cargo bench --manifest-path bench/Cargo.toml --bench parser   # or: make bench-parser
//! ```

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use weblab::http::{parse_request, Parse};

/// What Chromium sends for a page, cookies aside.
const BROWSER: &[u8] = b"GET /nested/page.html?from=index HTTP/1.1\r\n\
Host: 127.0.0.1:12345\r\n\
Connection: keep-alive\r\n\
sec-ch-ua: \"Chromium\";v=\"156\", \"Not)A;Brand\";v=\"24\"\r\n\
sec-ch-ua-mobile: ?0\r\n\
sec-ch-ua-platform: \"Linux\"\r\n\
Upgrade-Insecure-Requests: 1\r\n\
User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36\r\n\
Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8\r\n\
Sec-Fetch-Site: same-origin\r\n\
Sec-Fetch-Mode: navigate\r\n\
Sec-Fetch-User: ?1\r\n\
Sec-Fetch-Dest: document\r\n\
Referer: http://127.0.0.1:12345/\r\n\
Accept-Encoding: gzip, deflate, br, zstd\r\n\
Accept-Language: en-GB,en;q=0.9\r\n\
If-None-Match: \"1b6-18c2a1f0e40\"\r\n\
If-Modified-Since: Mon, 24 Nov 2025 00:24:00 GMT\r\n\
\r\n";

/// The least a valid HTTP/1.1 request can say.
const MINIMAL: &[u8] = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n";

fn parse(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse_request");
    for (name, head) in [("browser", BROWSER), ("minimal", MINIMAL)] {
        assert!(
            matches!(parse_request(head), Ok(Parse::Complete(_, n)) if n == head.len()),
            "the {name} head must parse whole"
        );
        group.throughput(Throughput::Bytes(head.len() as u64));
        group.bench_function(name, |b| b.iter(|| parse_request(black_box(head))));
    }
    group.finish();
}

criterion_group!(benches, parse);
criterion_main!(benches);
