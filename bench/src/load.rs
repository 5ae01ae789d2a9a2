//! Making load: wrk for the throughput scenarios, and plain sockets for the warm-up and
//! the four concurrent downloads.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

/// One wrk scenario.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Key in the JSON results, e.g. `small_keep_alive`.
    pub key: &'static str,
    /// Heading in the table.
    pub title: &'static str,
    /// The path requested.
    pub path: &'static str,
    /// Connections wrk keeps open.
    pub connections: u32,
    /// Whether every request says `Connection: close`.
    pub close: bool,
    /// Whether CPU is reported per GB (large files) rather than per request.
    pub per_gb: bool,
}

/// What wrk measured, from the JSON line its `done` hook prints.
#[derive(Debug, Clone, Default)]
pub struct WrkResult {
    pub requests: u64,
    pub seconds: f64,
    pub bytes: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub errors: u64,
}

/// wrk's `done` hook: print the summary as one JSON line the driver can find.
pub const WRK_REPORT_LUA: &str = r#"-- weblab bench: print wrk's summary as one JSON line.
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%.0f,"duration_us":%.0f,"bytes":%.0f,"p50_us":%.0f,"p99_us":%.0f,' ..
    '"errors":%.0f}\n',
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.status + e.timeout))
end
"#;

/// Runs wrk against `addr` for `duration` with two threads, bounded by a hard timeout.
pub fn run_wrk(
    wrk: &Path,
    lua: &Path,
    addr: SocketAddr,
    scenario: &Scenario,
    duration: Duration,
) -> Result<WrkResult, String> {
    let mut command = Command::new(wrk);
    command
        .args(["-t", "2", "-c", &scenario.connections.to_string()])
        .args(["-d", &format!("{}s", duration.as_secs().max(1))])
        .args(["--timeout", "10s", "-s"])
        .arg(lua);
    if scenario.close {
        command.args(["-H", "Connection: close"]);
    }
    command
        .arg(format!("http://{addr}{}", scenario.path))
        .stdin(Stdio::null());
    let output = output_within(command, duration + Duration::from_secs(30))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("WRK_JSON "))
        .ok_or_else(|| {
            format!(
                "wrk printed no summary:\n{stdout}{}",
                String::from_utf8_lossy(&output.stderr)
            )
        })?;
    let json: Value = serde_json::from_str(line).map_err(|e| format!("wrk summary: {e}"))?;
    let number = |key: &str| json[key].as_f64().unwrap_or(0.0);
    Ok(WrkResult {
        requests: number("requests") as u64,
        seconds: number("duration_us") / 1e6,
        bytes: number("bytes") as u64,
        p50_ms: number("p50_us") / 1e3,
        p99_ms: number("p99_us") / 1e3,
        errors: number("errors") as u64,
    })
}

/// Runs `command` to completion, killing it if it runs past `limit`.
fn output_within(mut command: Command, limit: Duration) -> Result<std::process::Output, String> {
    let child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {:?}: {e}", command.get_program()))?;
    let pid = child.id();
    let watchdog_done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let done = watchdog_done.clone();
    let watchdog = thread::spawn(move || {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if done.load(std::sync::atomic::Ordering::SeqCst) {
                return;
            }
            thread::sleep(Duration::from_millis(100));
        }
        if !done.load(std::sync::atomic::Ordering::SeqCst) {
            // SAFETY: kill has no memory-safety preconditions; the pid is our child,
            // not yet waited for.
            unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
        }
    });
    let output = child.wait_with_output().map_err(|e| e.to_string());
    watchdog_done.store(true, std::sync::atomic::Ordering::SeqCst);
    let _ = watchdog.join();
    output
}

/// Fetches `path` once with `Connection: close` and returns the bytes received (head and
/// body), reading until the server closes or 60 seconds pass.
pub fn fetch(addr: SocketAddr, path: &str) -> io::Result<u64> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n"
    )?;
    let mut buffer = vec![0; 256 * 1024];
    let mut total = 0;
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        match stream.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => total += n as u64,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(total)
}

/// `clients` concurrent downloads of `path`; returns the seconds taken and whether every
/// client received at least `expected` bytes.
pub fn concurrent_downloads(
    addr: SocketAddr,
    path: &'static str,
    clients: usize,
    expected: u64,
) -> (f64, bool) {
    let started = Instant::now();
    let handles: Vec<_> = (0..clients)
        .map(|_| thread::spawn(move || fetch(addr, path)))
        .collect();
    // Join every client before judging, so none is left running.
    let received: Vec<bool> = handles
        .into_iter()
        .map(|h| matches!(h.join(), Ok(Ok(n)) if n >= expected))
        .collect();
    let complete = received.iter().all(|&ok| ok);
    (started.elapsed().as_secs_f64(), complete)
}
