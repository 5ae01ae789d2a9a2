//! `loadbench`: weblab's server in each mode beside Python's `http.server` and nginx, under
//! the same load on loopback, in one run. `make bench` (scripts/bench.sh) builds and runs it.
//!
//! ```text
//! loadbench [--server target/release/server] [--out target/bench] [--seconds 5] [--rounds 5]
//! ```
//!
//! For each scenario every server is started fresh, warmed with one request, loaded by
//! wrk, and measured from outside through `/proc`: CPU time (utime + stime) before and
//! after, and peak memory (VmHWM), summed over all of a server's processes. The servers
//! take turns, once each per round, and the fastest of `--rounds` rounds is kept. A last round
//! measures each server idle and while four clients download 100 MiB each. The results
//! are printed as tables of figures and of ratios, saved as JSON, and drawn as a PNG.

mod chart;
mod contenders;
mod load;
mod process;
mod report;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Duration;

use contenders::Contender;
use load::{Scenario, WrkResult};
use report::{Measurement, Memory, Results};

/// The big file's size: 100 MiB.
const BIG: u64 = 100 * 1024 * 1024;
/// Clients downloading the big file at once in the memory round.
const DOWNLOADERS: usize = 4;

const SCENARIOS: [Scenario; 3] = [
    Scenario {
        key: "small_keep_alive",
        title: "1 KiB file, keep-alive, 64 connections",
        path: "/1k.bin",
        connections: 64,
        close: false,
        per_gb: false,
    },
    Scenario {
        key: "small_close",
        title: "1 KiB file, Connection: close, 64 connections",
        path: "/1k.bin",
        connections: 64,
        close: true,
        per_gb: false,
    },
    Scenario {
        key: "big_file",
        title: "100 MiB file, keep-alive, 4 connections",
        path: "/100m.bin",
        connections: 4,
        close: false,
        per_gb: true,
    },
];

struct Options {
    server: PathBuf,
    out: PathBuf,
    duration: Duration,
    rounds: u32,
}

fn main() -> ExitCode {
    let options = match parse_args(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("loadbench: {message}");
            eprintln!("usage: loadbench [--server PATH] [--out DIR] [--seconds N] [--rounds N]");
            return ExitCode::from(2);
        }
    };
    match run(&options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("loadbench: {message}");
            ExitCode::from(1)
        }
    }
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut options = Options {
        server: PathBuf::from("target/release/server"),
        out: PathBuf::from("target/bench"),
        duration: Duration::from_secs(5),
        rounds: 5,
    };
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--server" => options.server = value()?.into(),
            "--out" => options.out = value()?.into(),
            "--seconds" => {
                let text = value()?;
                let secs: u64 = text
                    .parse()
                    .ok()
                    .filter(|&s| (1..=60).contains(&s))
                    .ok_or(format!("--seconds {text}: expected 1 to 60"))?;
                options.duration = Duration::from_secs(secs);
            }
            "--rounds" => {
                let text = value()?;
                options.rounds = text
                    .parse()
                    .ok()
                    .filter(|&r| (1..=10).contains(&r))
                    .ok_or(format!("--rounds {text}: expected 1 to 10"))?;
            }
            other => return Err(format!("unknown argument '{other}'")),
        }
    }
    Ok(options)
}

fn run(options: &Options) -> Result<(), String> {
    if !options.server.is_file() {
        return Err(format!(
            "{} not found: build it with `cargo build --release`",
            options.server.display()
        ));
    }
    let scratch = tempfile::Builder::new()
        .prefix("weblab-bench-")
        .tempdir()
        .map_err(|e| format!("cannot create a scratch folder: {e}"))?;
    let root = scratch.path().join("www");
    make_site(&root)?;

    let mut notes = Vec::new();
    let contenders = find_contenders(options, &mut notes);
    let wrk = find_program("wrk");
    let lua = scratch.path().join("report.lua");
    std::fs::write(&lua, load::WRK_REPORT_LUA).map_err(|e| e.to_string())?;
    if wrk.is_none() {
        notes.push("wrk not found: throughput scenarios skipped (make bench installs it when run as root; or apt-get install wrk)".into());
    }

    let mut results = Results::new(
        contenders.iter().map(Contender::name).collect(),
        contenders.iter().map(Contender::short_name).collect(),
        options.duration,
        options.rounds,
    );
    for scenario in &SCENARIOS {
        let Some(wrk) = &wrk else { break };
        eprintln!("== {}", scenario.title);
        // The best of the rounds (see `Measurement::best_of`). Rounds take turns: every server runs once per round, in the opposite order in the
        // next round, so that a quiet or a noisy minute (another build, a neighbour on the
        // host) falls on all of them alike instead of on whichever ran then.
        let mut best: Vec<Result<Measurement, String>> = contenders
            .iter()
            .map(|_| Err("no round ran".to_string()))
            .collect();
        for round in 0..options.rounds {
            let mut order: Vec<usize> = (0..contenders.len()).collect();
            if round % 2 == 1 {
                order.reverse();
            }
            for index in order {
                let measured = measure_scenario(
                    &contenders[index],
                    &root,
                    scratch.path(),
                    wrk,
                    &lua,
                    scenario,
                    options.duration,
                );
                let kept = std::mem::replace(&mut best[index], Err(String::new()));
                best[index] = match (kept, measured) {
                    (Ok(kept), Ok(m)) => Ok(kept.best_of(m)),
                    (Ok(kept), Err(_)) => Ok(kept),
                    (_, measured) => measured,
                };
            }
        }
        let mut row = Vec::new();
        for (contender, measured) in contenders.iter().zip(best) {
            match &measured {
                Ok(m) => eprintln!(
                    "   {:<20} {:>10.0} req/s {:>9.1} MB/s",
                    contender.name(),
                    m.requests_per_second,
                    m.megabytes_per_second
                ),
                Err(e) => {
                    eprintln!("   {:<20} failed: {e}", contender.name());
                    notes.push(format!("{}, {}: {e}", contender.name(), scenario.title));
                }
            }
            row.push(measured.ok());
        }
        results.scenarios.push((scenario.clone(), row));
    }

    eprintln!("== memory: idle, then {DOWNLOADERS} clients download 100 MiB each");
    for contender in &contenders {
        let measured = measure_memory(contender, &root, scratch.path());
        match &measured {
            Ok(m) => eprintln!(
                "   {:<20} idle {:>6.1} MiB, peak {:>6.1} MiB",
                contender.name(),
                m.idle_kib as f64 / 1024.0,
                m.peak_kib as f64 / 1024.0
            ),
            Err(e) => {
                eprintln!("   {:<20} failed: {e}", contender.name());
                notes.push(format!("{}, memory: {e}", contender.name()));
            }
        }
        results.memory.push(measured.ok());
    }

    results.notes = notes;
    results.tools = tool_versions(&contenders, wrk.as_deref());
    let table = results.table();
    println!("{table}");

    std::fs::create_dir_all(&options.out)
        .map_err(|e| format!("cannot create {}: {e}", options.out.display()))?;
    let json_path = options.out.join("results.json");
    let json = serde_json::to_string_pretty(&results.to_json()).map_err(|e| e.to_string())?;
    std::fs::write(&json_path, json + "\n").map_err(|e| format!("{}: {e}", json_path.display()))?;
    let table_path = options.out.join("table.txt");
    std::fs::write(&table_path, &table).map_err(|e| format!("{}: {e}", table_path.display()))?;
    let chart_path = options.out.join("bench.png");
    match chart::draw(&results, &chart_path) {
        Ok(()) => println!(
            "saved {}, {} and {}",
            json_path.display(),
            table_path.display(),
            chart_path.display()
        ),
        Err(e) => println!(
            "saved {} and {}; no chart: {e}",
            json_path.display(),
            table_path.display()
        ),
    }
    Ok(())
}

/// The files served: a 1 KiB file and a 100 MiB file, readable by nginx's workers.
fn make_site(root: &Path) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    let fail = |e: std::io::Error| format!("cannot build the site in {}: {e}", root.display());
    std::fs::create_dir_all(root).map_err(fail)?;
    for dir in [root, root.parent().unwrap_or(root)] {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).map_err(fail)?;
    }
    let small: Vec<u8> = (0..1024u32).map(|i| b'a' + (i % 26) as u8).collect();
    std::fs::write(root.join("1k.bin"), small).map_err(fail)?;
    let chunk: Vec<u8> = (0..1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    let mut big = std::fs::File::create(root.join("100m.bin")).map_err(fail)?;
    for _ in 0..BIG / chunk.len() as u64 {
        std::io::Write::write_all(&mut big, &chunk).map_err(fail)?;
    }
    Ok(())
}

fn find_contenders(options: &Options, notes: &mut Vec<String>) -> Vec<Contender> {
    let mut contenders: Vec<Contender> = ["single", "threaded", "pool"]
        .into_iter()
        .map(|mode| Contender::Weblab {
            binary: options.server.clone(),
            mode,
        })
        .collect();
    match real_python() {
        Some(python) => contenders.push(Contender::Python { python }),
        None => notes.push("python3 not found: Python's http.server skipped".into()),
    }
    match find_program("nginx") {
        Some(nginx) => contenders.push(Contender::Nginx { nginx }),
        None => notes.push("nginx not found: skipped (make bench installs it when run as root; or apt-get install nginx)".into()),
    }
    contenders
}

/// The interpreter itself, not a wrapper script (pyenv's shims start bash first).
fn real_python() -> Option<PathBuf> {
    let output = Command::new(find_program("python3")?)
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .ok()?;
    let path = PathBuf::from(String::from_utf8(output.stdout).ok()?.trim());
    path.is_file().then_some(path)
}

/// Looks `name` up in PATH, and in the sbin folders where Debian puts nginx.
fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/local/sbin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

fn measure_scenario(
    contender: &Contender,
    root: &Path,
    scratch: &Path,
    wrk: &Path,
    lua: &Path,
    scenario: &Scenario,
    duration: Duration,
) -> Result<Measurement, String> {
    let mut started = contender.start(root, scratch)?;
    load::fetch(started.addr, scenario.path).map_err(|e| format!("warm-up request: {e}"))?;
    let cpu_before = started.process.cpu_seconds();
    let wrk_result: WrkResult = load::run_wrk(wrk, lua, started.addr, scenario, duration)?;
    let cpu = started.process.cpu_seconds() - cpu_before;
    let peak_kib = started.process.peak_memory_kib();
    started.process.stop();
    if wrk_result.requests == 0 {
        return Err(format!(
            "no request completed ({} errors)",
            wrk_result.errors
        ));
    }
    Ok(Measurement::new(&wrk_result, cpu, peak_kib))
}

fn measure_memory(contender: &Contender, root: &Path, scratch: &Path) -> Result<Memory, String> {
    let mut started = contender.start(root, scratch)?;
    load::fetch(started.addr, "/1k.bin").map_err(|e| format!("first request: {e}"))?;
    std::thread::sleep(Duration::from_millis(200));
    let idle_kib = started.process.resident_memory_kib();
    let (seconds, complete) =
        load::concurrent_downloads(started.addr, "/100m.bin", DOWNLOADERS, BIG);
    let peak_kib = started.process.peak_memory_kib();
    started.process.stop();
    if !complete {
        return Err(format!(
            "not every client received 100 MiB within {seconds:.0} s"
        ));
    }
    Ok(Memory {
        idle_kib,
        peak_kib,
        seconds,
    })
}

/// The versions of the tools measured and used, for the JSON.
fn tool_versions(contenders: &[Contender], wrk: Option<&Path>) -> Vec<(String, String)> {
    let first_line = |program: &Path, arg: &str| -> String {
        Command::new(program)
            .arg(arg)
            .output()
            .map(|o| {
                let text = [o.stdout, o.stderr].concat();
                String::from_utf8_lossy(&text)
                    .lines()
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_string()
            })
            .unwrap_or_default()
    };
    let mut versions = Vec::new();
    for contender in contenders {
        match contender {
            Contender::Weblab { binary, mode } if *mode == "pool" => {
                versions.push(("weblab".into(), first_line(binary, "--version")))
            }
            Contender::Python { python } => {
                versions.push(("python".into(), first_line(python, "--version")))
            }
            Contender::Nginx { nginx } => versions.push(("nginx".into(), first_line(nginx, "-v"))),
            _ => {}
        }
    }
    if let Some(wrk) = wrk {
        versions.push(("wrk".into(), first_line(wrk, "-v")));
    }
    versions
}
