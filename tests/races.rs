//! Races against the file lookup. Someone who may write inside the served folder (a shared
//! course server, an upload folder) swaps what a name points at while requests for it are
//! in flight. Whatever the timing, nothing from outside the root is served, and a FIFO
//! swapped in never holds a thread: the server keeps answering and stops within its grace
//! period. Each race is bounded in time and in swaps.
//!
//! Linux and macOS only: the races need symlinks that anyone may make, FIFOs, and a rename
//! that swaps two names in one step (so that every swap is a chance for the race).
#![cfg(any(target_os = "linux", target_os = "macos"))]

mod support;

use std::fs;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use support::{connect, exchange, test_config, Exchange, ResponseReader, Site, TestServer};
use weblab::server::handler::Options;
use weblab::Mode;

every_mode!(
    names_swapped_for_symlinks_out_of_the_root_never_serve_the_outside,
    a_fifo_swapped_in_neither_hangs_the_server_nor_its_stop,
);

/// Each race runs at least this long, and until it has seen [`RESPONSES`] responses:
/// enough that today's check-then-open lost nearly every race tried, in every mode.
const MIN_RACE_TIME: Duration = Duration::from_millis(800);
/// See [`MIN_RACE_TIME`].
const RESPONSES: usize = 2_000;
/// The most time a race takes, should the responses come slowly (or not at all).
const RACE_TIME: Duration = Duration::from_secs(2);
/// Folders above the served one: the deeper the path, the longer the server's gap between
/// looking a name up and opening it, if it has one.
const DEPTH: usize = 16;
/// The most swaps a race makes, whatever the speed of the machine.
const MAX_SWAPS: usize = 1_000_000;
/// In every file and name outside the root; never in a body.
const SECRET: &str = "OUTSIDE-SECRET";
/// Requests sent at once on the pipelined connection.
const PIPELINED: usize = 20;

/// Threads that swap names, one per kind of swap (so that a busy machine gives the swaps a
/// fair share of its time), until they have run [`MIN_RACE_TIME`] and [`RESPONSES`]
/// responses have been counted, or [`RACE_TIME`] is up, or each has swapped [`MAX_SWAPS`]
/// times.
struct Swapper {
    stop: Arc<AtomicBool>,
    responses: Arc<AtomicUsize>,
    threads: Vec<JoinHandle<usize>>,
}

/// One kind of swap, repeated by one thread.
type Swap = Box<dyn FnMut() + Send>;

impl Swapper {
    fn start(swaps: Vec<Swap>) -> Swapper {
        let stop = Arc::new(AtomicBool::new(false));
        let responses = Arc::new(AtomicUsize::new(0));
        let started = Instant::now();
        let threads = swaps
            .into_iter()
            .map(|mut swap| {
                let (stopped, counted) = (stop.clone(), responses.clone());
                thread::spawn(move || {
                    let enough = || {
                        started.elapsed() >= MIN_RACE_TIME
                            && counted.load(Ordering::Relaxed) >= RESPONSES
                    };
                    let mut swaps = 0;
                    while !stopped.load(Ordering::Relaxed)
                        && !enough()
                        && started.elapsed() < RACE_TIME
                        && swaps < MAX_SWAPS
                    {
                        swap();
                        swaps += 1;
                    }
                    swaps
                })
            })
            .collect();
        Swapper {
            stop,
            responses,
            threads,
        }
    }

    /// Counts one response received during the race.
    fn count_response(&self) {
        self.responses.fetch_add(1, Ordering::Relaxed);
    }

    fn running(&self) -> bool {
        self.threads.iter().any(|thread| !thread.is_finished())
    }

    /// Stops the swaps and says how many there were.
    fn finish(mut self) -> usize {
        self.stop.store(true, Ordering::Relaxed);
        self.threads
            .drain(..)
            .map(|thread| thread.join().expect("a swapping thread"))
            .sum()
    }
}

impl Drop for Swapper {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

/// Swaps the names `a` and `b` in one step, whatever each is (file, folder, symlink, FIFO).
fn swap_names(a: &Path, b: &Path) {
    use std::os::unix::ffi::OsStrExt;
    let c_path = |path: &Path| std::ffi::CString::new(path.as_os_str().as_bytes()).expect("no NUL");
    let (c_a, c_b) = (c_path(a), c_path(b));
    // SAFETY: two valid NUL-terminated paths.
    #[cfg(target_os = "linux")]
    let swapped = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            c_a.as_ptr(),
            libc::AT_FDCWD,
            c_b.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    // SAFETY: two valid NUL-terminated paths.
    #[cfg(target_os = "macos")]
    let swapped = unsafe { libc::renamex_np(c_a.as_ptr(), c_b.as_ptr(), libc::RENAME_SWAP) };
    if swapped != 0 {
        panic!("swap {a:?} and {b:?}: {}", std::io::Error::last_os_error());
    }
}

/// `path` under [`DEPTH`] folders.
fn deep(path: &str) -> String {
    format!("{}{path}", "d/".repeat(DEPTH))
}

/// `GET target`, as sent on every connection of the races.
fn get(target: &str) -> Vec<u8> {
    format!("GET {target} HTTP/1.1\r\nHost: race\r\n\r\n").into_bytes()
}

/// What the fetching threads saw: whole responses with the inside's content, and the
/// first response that held the secret, if any did.
#[derive(Default)]
struct Seen {
    inside: usize,
    leak: Option<Exchange>,
}

impl Seen {
    fn record(&mut self, exchange: Exchange, inside: &str) {
        let body = String::from_utf8_lossy(exchange.response.as_ref().map_or(&[][..], |r| &r.body))
            .into_owned();
        if body.contains(SECRET) {
            self.leak.get_or_insert(exchange);
        } else if exchange.response.as_ref().is_some_and(|r| r.status == 200)
            && body.contains(inside)
        {
            self.inside += 1;
        }
    }
}

/// Fetches `targets` in turn on fresh connections while `swapper` runs.
fn fetch_fresh(server: SocketAddr, swapper: &Swapper, targets: &[&str], inside: &str) -> Seen {
    let mut seen = Seen::default();
    for target in targets.iter().cycle() {
        if !swapper.running() || seen.leak.is_some() {
            break;
        }
        seen.record(exchange(server, &get(target)), inside);
        swapper.count_response();
    }
    seen
}

/// Fetches `targets` [`PIPELINED`] at a time on kept-alive connections while `swapper`
/// runs, opening a new connection whenever the server closes one (single mode closes after
/// every response).
fn fetch_pipelined(server: SocketAddr, swapper: &Swapper, targets: &[&str], inside: &str) -> Seen {
    let mut seen = Seen::default();
    while swapper.running() && seen.leak.is_none() {
        let batch: Vec<&str> = targets.iter().cycle().take(PIPELINED).copied().collect();
        let mut reader = ResponseReader::new(connect(server));
        let requests: Vec<u8> = batch.iter().flat_map(|target| get(target)).collect();
        // The server may close after the first response, before reading the rest.
        let _ = reader.stream().write_all(&requests);
        for target in batch {
            let raw = reader.next_response(false);
            if raw.is_empty() {
                break;
            }
            seen.record(Exchange::new(get(target), raw), inside);
            swapper.count_response();
        }
    }
    seen
}

/// Outside the root: a secret file, a folder with a secret `index.html`, and a folder
/// whose only entry has a secret name. Inside, `www/`: `race.txt`, `sub/index.html` and
/// `listed/` (no index: listed), each swapped again and again with a symlink to the
/// matching outside thing, kept in `staging/` when it is not in the root. (`staging/` is
/// beside the root, so a `../` link means the same in either place.)
fn names_swapped_for_symlinks_out_of_the_root_never_serve_the_outside(mode: Mode) {
    let outer = Site::new()
        .file(&deep("secret.txt"), SECRET)
        .file(&deep("secret-index/index.html"), format!("{SECRET} index"))
        .file(&deep(&format!("secret-listing/{SECRET}.txt")), "")
        .file(&deep("www/race.txt"), "inside")
        .file(&deep("www/sub/index.html"), "inside index")
        .file(&deep("www/listed/inside.txt"), "")
        .dir(&deep("staging"));
    let root = outer.path().join(deep("www"));
    let staging = outer.path().join(deep("staging"));
    let names = [
        ("race.txt", "../secret.txt"),
        ("sub", "../secret-index"),
        ("listed", "../secret-listing"),
    ];
    for (name, target) in names {
        std::os::unix::fs::symlink(target, staging.join(name)).expect("make a symlink");
    }
    let mut config = test_config(mode);
    config.handler = Options { list_dirs: true };
    let server = TestServer::start_with(&root, config);

    let swapper = Swapper::start(
        names
            .map(|(name, _)| {
                let (inside, aside) = (root.join(name), staging.join(name));
                Box::new(move || swap_names(&inside, &aside)) as Swap
            })
            .into(),
    );
    let targets = ["/race.txt", "/sub/", "/listed/"];
    let addr = server.addr();
    let (fresh, pipelined) = thread::scope(|scope| {
        let fresh = scope.spawn(|| fetch_fresh(addr, &swapper, &targets, "inside"));
        let pipelined = fetch_pipelined(addr, &swapper, &targets, "inside");
        (fresh.join().expect("the fetching thread"), pipelined)
    });
    let swaps = swapper.finish();

    for seen in [&fresh, &pipelined] {
        if let Some(leak) = &seen.leak {
            leak.fail(&format!(
                "{mode}: nothing from outside the root ({SECRET}), whatever is swapped in"
            ));
        }
    }
    assert!(swaps > 0, "{mode}: the names were swapped");
    assert!(
        fresh.inside > 0 && pipelined.inside > 0,
        "{mode}: the inside files were served while the names were swapped \
         (fresh connections: {}, pipelined: {})",
        fresh.inside,
        pipelined.inside
    );
}

/// The server's grace period at a stop (its `timeout`), short so that a stop that waits it
/// out still fits in the test.
const GRACE: Duration = Duration::from_secs(2);
/// What a stop may take beyond the grace period: joining the threads.
const STOP_SLACK: Duration = Duration::from_secs(3);

/// Releases every thread blocked opening a FIFO at any of these paths for reading, by
/// opening it for writing, when dropped: a server stuck in today's `open` then lets the
/// failed test end cleanly.
struct FifoWriter(Vec<PathBuf>);

impl Drop for FifoWriter {
    fn drop(&mut self) {
        use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
        for path in &self.0 {
            if fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_fifo()) {
                // Succeeds only if a reader is waiting (ENXIO otherwise), and wakes them all.
                let _ = fs::OpenOptions::new()
                    .write(true)
                    .custom_flags(libc::O_NONBLOCK)
                    .open(path);
            }
        }
    }
}

/// `page.txt` is swapped again and again with a FIFO while fresh connections fetch it. A
/// server that opens what it checked a moment before blocks in `open()` until a writer
/// comes, which never happens: with two workers the pool stops answering, single mode is
/// dead, and a stop waits forever for the stuck thread.
fn a_fifo_swapped_in_neither_hangs_the_server_nor_its_stop(mode: Mode) {
    let outer = Site::new()
        .file(&deep("www/page.txt"), "page")
        .file(&deep("www/other.txt"), "other")
        .dir(&deep("staging"));
    let root = outer.path().join(deep("www"));
    let (page, fifo) = (
        root.join("page.txt"),
        outer.path().join(deep("staging/page.txt")),
    );
    let c_fifo = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).expect("no NUL");
    // SAFETY: a valid NUL-terminated path.
    let made = unsafe { libc::mkfifo(c_fifo.as_ptr(), 0o644) };
    assert_eq!(made, 0, "mkfifo: {}", std::io::Error::last_os_error());
    let mut config = test_config(mode);
    config.threads = 2;
    config.timeout = GRACE;
    let server = TestServer::start_with(&root, config);
    let _release = FifoWriter(vec![page.clone(), fifo.clone()]);

    // Two threads swapping the same pair: twice the swaps on a busy machine.
    let swapper = Swapper::start(
        [(); 2]
            .map(|()| {
                let (page, fifo) = (page.clone(), fifo.clone());
                Box::new(move || swap_names(&page, &fifo)) as Swap
            })
            .into(),
    );
    let addr = server.addr();
    let mut answered = 0;
    thread::scope(|scope| {
        let fetchers: Vec<_> = (0..2)
            .map(|_| {
                scope.spawn(|| {
                    let mut answered = 0;
                    while swapper.running() {
                        // A request the server never answers is given up on, not waited
                        // for: what matters is checked after the race.
                        let mut stream = connect(addr);
                        let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
                        let _ = stream.write_all(&get("/page.txt"));
                        let raw = support::read_response(&mut stream, false);
                        if !raw.is_empty() {
                            answered += 1;
                            swapper.count_response();
                        }
                    }
                    answered
                })
            })
            .collect();
        for fetcher in fetchers {
            answered += fetcher.join().expect("a fetching thread");
        }
    });
    let swaps = swapper.finish();
    assert!(swaps > 0 && answered > 0, "{mode}: the race ran");

    server
        .get("/other.txt")
        .assert_status(200)
        .assert_body("other");
    let (stopped, on_stop) = mpsc::channel();
    let stopper = thread::spawn(move || {
        server.stop();
        let _ = stopped.send(());
    });
    // The grace period, and time to join the threads on a busy machine.
    if on_stop.recv_timeout(GRACE + STOP_SLACK).is_err() {
        panic!(
            "{mode}: a stop completes within the grace period ({GRACE:?}, give or take \
             {STOP_SLACK:?}), FIFO or not"
        );
    }
    stopper.join().expect("the stopping thread");
}
