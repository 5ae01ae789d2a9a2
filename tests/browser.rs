//! A real browser against the server, in every mode: headless Chromium loads the sample
//! site (fixtures/www) from a server in each mode at once, and renders each with its
//! stylesheet, image and script, and the browser's extra connections (the favicon,
//! speculative connections that send nothing) stall no mode for longer than the server's
//! timeout. One browser run for the three modes: starting Chromium is most of the time.
//!
//! Needs Chromium (Debian's `chromium`; `scripts/install-browser.sh` installs it). Without
//! it this test says on stderr that it was skipped, and passes, except when `CI` is set:
//! there a missing browser fails it. `WEBLAB_CHROMIUM=PATH` picks another binary.
//! The run leaves a screenshot of the three pages side by side in
//! `target/browser/every-mode.png`.
#![cfg(unix)]

mod support;

use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use support::{test_config, Site, TestServer};
use weblab::{Config, LogEntry, Mode};

/// The server's timeout in these tests: a speculative connection that never sends a
/// request may hold the single mode this long, and no longer.
const SERVER_TIMEOUT: Duration = Duration::from_secs(2);
/// The browser run must finish within this, however slow the machine...
const EXPECTED_WITHIN: Duration = Duration::from_secs(20);
/// ...and is killed after this.
const KILL_AFTER: Duration = Duration::from_secs(30);
/// The size of each page's frame, and of the window that shows the three side by side.
const FRAME: (usize, usize) = (1024, 768);

/// A page that loads the real index.html from each mode's server in a frame and, as each
/// frame loads, writes what the browser made of it where `--dump-dom` shows it, one
/// `MODE.key=value` line each. `{frames}` is one `<iframe data-mode="MODE" src="URL">` per
/// mode.
const CHECK_PAGE: &str = r#"<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>browser check</title>
<style>body { margin: 0; overflow: hidden; display: flex }
iframe { display: block; border: 0; width: {width}px; height: {height}px }</style></head>
<body>
<pre id="result" hidden>pending</pre>
{frames}
<script>
var results = {};
document.querySelectorAll("iframe").forEach(function (frame) {
  frame.addEventListener("load", function () {
    var mode = frame.dataset.mode, page = frame.contentDocument;
    var image = page.querySelector("img");
    results[mode] = [
      "background=" + page.defaultView.getComputedStyle(page.body).backgroundColor,
      "script=" + (page.body.dataset.js || "did not run"),
      "image=" + (image && image.complete && image.naturalWidth > 0 ? "loaded" : "missing"),
      "title=" + page.title,
    ].map(function (line) { return mode + "." + line; }).join("\n");
    document.getElementById("result").textContent = Object.values(results).join("\n");
  });
});
</script>
</body></html>
"#;

#[test]
fn page_renders_with_its_stylesheet_image_and_script_in_every_mode() {
    let Some(chromium) = chromium_or_skip() else {
        return;
    };
    let site = Site::sample();
    let servers: Vec<(Mode, TestServer)> = Mode::ALL
        .into_iter()
        .map(|mode| {
            let config = Config {
                timeout: SERVER_TIMEOUT,
                ..test_config(mode)
            };
            (mode, TestServer::start_with(site.path(), config))
        })
        .collect();
    let frames: String = servers
        .iter()
        .map(|(mode, server)| {
            format!(
                "<iframe data-mode=\"{mode}\" src=\"http://{}/index.html\"></iframe>\n",
                server.addr()
            )
        })
        .collect();
    let check_page = CHECK_PAGE
        .replace("{width}", &FRAME.0.to_string())
        .replace("{height}", &FRAME.1.to_string())
        .replace("{frames}", &frames);
    std::fs::write(site.path().join("browser-check.html"), check_page)
        .expect("write the check page");
    let profile = tempfile::tempdir().expect("create a browser profile folder");

    // One browser run both reports what it rendered and takes the screenshot. The check
    // page comes from the first server; the other servers are other origins (other
    // ports), whose frames a page may read only with web security off.
    let screenshot = screenshots_dir().join("every-mode.png");
    let _ = std::fs::remove_file(&screenshot);
    let run = run_browser(
        &chromium,
        profile.path(),
        &[
            "--disable-web-security",
            "--virtual-time-budget=5000",
            &format!("--window-size={},{}", FRAME.0 * servers.len(), FRAME.1),
            "--dump-dom",
            &format!("--screenshot={}", screenshot.display()),
        ],
        &format!("http://{}/browser-check.html", servers[0].1.addr()),
    );
    let result = check_result(&run.stdout);
    for (mode, _) in &servers {
        let expect = |key: &str, wanted: &str| {
            let line = format!("{mode}.{key}");
            let got = result
                .iter()
                .find(|(k, _)| *k == line)
                .map(|(_, v)| v.as_str());
            assert_eq!(
                got,
                Some(wanted),
                "\n{mode} mode: the page's {key} is not what the fixtures make it\n{}",
                run.describe()
            );
        };
        expect("background", "rgb(250, 248, 240)"); // from style.css
        expect("script", "ran"); // app.js sets data-js="ran"
        expect("image", "loaded"); // images/logo.png
        expect("title", "weblab");
    }

    let png = std::fs::read(&screenshot).unwrap_or_default();
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n"),
        "\nno screenshot at {}\n{}",
        screenshot.display(),
        run.describe()
    );

    for (mode, server) in servers {
        let log = server.stop_and_read_log();
        for path in ["/index.html", "/style.css", "/app.js", "/images/logo.png"] {
            let served = log.iter().any(|entry| {
                requested(entry, path) && matches!(entry.status, Some(200) | Some(304))
            });
            assert!(
                served,
                "\n{mode} mode: the browser never got {path}\n{}",
                show_log(&log)
            );
        }
        // The favicon exists, and a connection that sends nothing is closed without a
        // word: neither may show up as an error (a 408 here would mean a preconnect was
        // answered).
        let errors: Vec<&LogEntry> = log
            .iter()
            .filter(|entry| !matches!(entry.status, Some(s) if s < 400))
            .collect();
        assert!(
            errors.is_empty(),
            "\n{mode} mode: the browser's requests got errors\n{}",
            show_log(&log)
        );
    }
}

// ---------------------------------------------------------------------------------------
// Finding and running the browser

/// The browser to run, or `None` after saying on stderr that the test is skipped.
/// Panics instead when `CI` is set: there, a missing browser is a broken setup.
fn chromium_or_skip() -> Option<PathBuf> {
    if let Some(found) = find_chromium() {
        return Some(found);
    }
    let message = "Chromium not found ($WEBLAB_CHROMIUM if set, else chromium on PATH or \
                   /usr/bin/chromium); install it with scripts/install-browser.sh";
    if std::env::var_os("CI").is_some_and(|v| !v.is_empty()) {
        panic!("CI is set and {message}");
    }
    // Straight to stderr, past the test harness's capture, so the skip is seen.
    let _ = writeln!(std::io::stderr(), "browser test SKIPPED: {message}");
    None
}

fn find_chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("WEBLAB_CHROMIUM") {
        let path = PathBuf::from(path);
        return path.is_file().then_some(path);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .flat_map(|dir| ["chromium", "chromium-browser"].map(|name| dir.join(name)))
        .chain([PathBuf::from("/usr/bin/chromium")])
        .find(|candidate| candidate.is_file())
}

/// Where screenshots are kept: `target/browser/`.
fn screenshots_dir() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| manifest.join("target"), |dir| manifest.join(dir));
    let dir = target.join("browser");
    std::fs::create_dir_all(&dir).expect("create target/browser");
    dir
}

/// What one browser run printed, and how long it took.
struct BrowserRun {
    command: String,
    elapsed: Duration,
    stdout: String,
    stderr: String,
}

impl BrowserRun {
    /// The command, its time and its output, for a failure message.
    fn describe(&self) -> String {
        let stderr_tail: Vec<&str> = self.stderr.lines().rev().take(20).collect();
        let stderr_tail: Vec<&str> = stderr_tail.into_iter().rev().collect();
        format!(
            "--- command ---\n{}\n--- took ---\n{:.1} s\n--- stdout ---\n{}\n--- stderr (last lines) ---\n{}\n",
            self.command,
            self.elapsed.as_secs_f64(),
            self.stdout,
            stderr_tail.join("\n")
        )
    }
}

/// Runs headless Chromium on `url` with a private profile, in a process group of its own
/// that is killed afterwards (and after [`KILL_AFTER`] at the latest). Fails the test if
/// the run took longer than [`EXPECTED_WITHIN`] or the browser failed.
fn run_browser(chromium: &Path, profile: &Path, extra: &[&str], url: &str) -> BrowserRun {
    let mut command = Command::new(chromium);
    command
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let shown = format!("{command:?}");
    let started = Instant::now();
    let mut child = command.spawn().expect("start chromium");
    let group = child.id() as libc::pid_t;
    let stdout = read_in_background(child.stdout.take());
    let stderr = read_in_background(child.stderr.take());

    // Wait for the browser on another thread, so that this one can wait with a limit.
    let (exited, on_exit) = std::sync::mpsc::channel();
    let waiter = thread::spawn(move || {
        let _ = exited.send(child.wait());
    });
    let status = on_exit.recv_timeout(KILL_AFTER).ok().and_then(Result::ok);
    let elapsed = started.elapsed();
    // SAFETY: kill has no memory-safety preconditions; the group is the browser's own
    // (process_group(0) above), so this ends its helper processes and nothing else.
    unsafe { libc::kill(-group, libc::SIGKILL) };
    let _ = waiter.join();
    let run = BrowserRun {
        command: shown,
        elapsed,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    };
    assert!(
        status.is_some(),
        "\nthe browser was still running after {} s and was killed\n{}",
        KILL_AFTER.as_secs(),
        run.describe()
    );
    assert!(
        status.is_some_and(|s| s.success()),
        "\nthe browser failed ({status:?})\n{}",
        run.describe()
    );
    assert!(
        elapsed < EXPECTED_WITHIN,
        "\nthe browser took {:.1} s, more than {} s: something stalled the server past its \
         {} s timeout\n{}",
        elapsed.as_secs_f64(),
        EXPECTED_WITHIN.as_secs(),
        SERVER_TIMEOUT.as_secs(),
        run.describe()
    );
    run
}

fn read_in_background(pipe: Option<impl Read + Send + 'static>) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut text = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut text);
        }
        String::from_utf8_lossy(&text).into_owned()
    })
}

// ---------------------------------------------------------------------------------------
// Reading the results

/// The `key=value` lines the check page wrote into `<pre id="result">`.
fn check_result(dom: &str) -> Vec<(String, String)> {
    let Some(tag) = dom.find("<pre id=\"result\"") else {
        return Vec::new();
    };
    let Some(text) = dom[tag..].split_once('>').map(|(_, rest)| rest) else {
        return Vec::new();
    };
    let text = &text[..text.find("</pre>").unwrap_or(text.len())];
    text.lines()
        .filter_map(|line| line.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

fn requested(entry: &LogEntry, path: &str) -> bool {
    let Some(line) = &entry.request_line else {
        return false;
    };
    let target = line.split(' ').nth(1).unwrap_or("");
    target == path || (path == "/index.html" && target == "/")
}

fn show_log(log: &[LogEntry]) -> String {
    let mut out = String::from("--- access log ---\n");
    for entry in log {
        out.push_str(&format!("{entry}\n"));
    }
    out
}
