//! The results of a run: figures, ratios between servers, the targets weblab's pool mode
//! aims at, as text tables and as JSON.

use std::fmt::Write as _;
use std::time::Duration;

use serde_json::{json, Map, Value};

use crate::load::{Scenario, WrkResult};

/// What one server did in one wrk scenario.
#[derive(Debug, Clone)]
pub struct Measurement {
    pub requests: u64,
    pub bytes: u64,
    pub errors: u64,
    pub requests_per_second: f64,
    pub megabytes_per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// The server's user + system CPU time during the run, all processes summed.
    pub cpu_seconds: f64,
    /// Peak resident memory over the server's life, all processes summed.
    pub peak_kib: u64,
}

impl Measurement {
    pub fn new(wrk: &WrkResult, cpu_seconds: f64, peak_kib: u64) -> Measurement {
        let seconds = wrk.seconds.max(1e-9);
        Measurement {
            requests: wrk.requests,
            bytes: wrk.bytes,
            errors: wrk.errors,
            requests_per_second: wrk.requests as f64 / seconds,
            megabytes_per_second: wrk.bytes as f64 / seconds / 1e6,
            p50_ms: wrk.p50_ms,
            p99_ms: wrk.p99_ms,
            cpu_seconds,
            peak_kib,
        }
    }

    /// Of two rounds of one scenario, the faster, with the lower CPU cost per byte served of
    /// the two (scaled to the faster round's bytes). Noise on a shared machine only ever
    /// slows a round down or adds CPU time to it, and the two need not strike the same round.
    pub fn best_of(self, other: Measurement) -> Measurement {
        let per_byte = |m: &Measurement| m.cpu_seconds / m.bytes.max(1) as f64;
        let leanest = per_byte(&self).min(per_byte(&other));
        let mut faster = match other.requests_per_second > self.requests_per_second {
            true => other,
            false => self,
        };
        faster.cpu_seconds = leanest * faster.bytes.max(1) as f64;
        faster
    }

    pub fn cpu_us_per_request(&self) -> f64 {
        self.cpu_seconds * 1e6 / self.requests.max(1) as f64
    }

    pub fn cpu_ms_per_gb(&self) -> f64 {
        self.cpu_seconds * 1e3 / (self.bytes.max(1) as f64 / 1e9)
    }

    /// The CPU figure shown for a scenario: per request, or per GB for big files.
    fn cpu(&self, scenario: &Scenario) -> f64 {
        match scenario.per_gb {
            true => self.cpu_ms_per_gb(),
            false => self.cpu_us_per_request(),
        }
    }
}

/// One server's memory, idle and while four clients download the big file.
#[derive(Debug, Clone)]
pub struct Memory {
    pub idle_kib: u64,
    pub peak_kib: u64,
    pub seconds: f64,
}

/// Everything a run measured.
pub struct Results {
    pub names: Vec<String>,
    pub short_names: Vec<String>,
    pub duration: Duration,
    pub rounds: u32,
    /// For each scenario, one result per server (in `names` order); `None` if it failed.
    pub scenarios: Vec<(Scenario, Vec<Option<Measurement>>)>,
    pub memory: Vec<Option<Memory>>,
    pub notes: Vec<String>,
    pub tools: Vec<(String, String)>,
}

/// A target for the pool mode: what is compared, the measured value, and whether it is met.
pub struct Target {
    pub what: String,
    pub value: String,
    pub met: bool,
}

const POOL: &str = "weblab pool";
const NGINX: &str = "nginx";
const PYTHON: &str = "python http.server";

impl Results {
    pub fn new(
        names: Vec<String>,
        short_names: Vec<String>,
        duration: Duration,
        rounds: u32,
    ) -> Results {
        Results {
            names,
            short_names,
            duration,
            rounds,
            scenarios: Vec::new(),
            memory: Vec::new(),
            notes: Vec::new(),
            tools: Vec::new(),
        }
    }

    fn index(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }

    fn measurement(&self, key: &str, name: &str) -> Option<&Measurement> {
        let i = self.index(name)?;
        let (_, row) = self.scenarios.iter().find(|(s, _)| s.key == key)?;
        row.get(i)?.as_ref()
    }

    fn memory_of(&self, name: &str) -> Option<&Memory> {
        self.memory.get(self.index(name)?)?.as_ref()
    }

    /// The targets of the pool mode that this run could check.
    pub fn targets(&self) -> Vec<Target> {
        let mut targets = Vec::new();
        let ratio = |key: &str, other: &str, figure: fn(&Measurement) -> f64| {
            let pool = self.measurement(key, POOL)?;
            let other = self.measurement(key, other)?;
            Some(figure(pool) / figure(other))
        };
        let rps = |m: &Measurement| m.requests_per_second;
        for (key, label) in [
            ("small_keep_alive", "keep-alive"),
            ("small_close", "Connection: close"),
        ] {
            if let Some(r) = ratio(key, NGINX, rps) {
                targets.push(Target {
                    what: format!("1 KiB {label}: req/s at least nginx's"),
                    value: format!("{r:.2}x nginx"),
                    met: r >= 1.0,
                });
            }
        }
        if let Some(r) = ratio("big_file", NGINX, Measurement::cpu_ms_per_gb) {
            targets.push(Target {
                what: "100 MiB: CPU per GB at most nginx's".into(),
                value: format!("{r:.2}x nginx"),
                met: r <= 1.0,
            });
        }
        for (key, label) in [
            ("small_keep_alive", "keep-alive"),
            ("small_close", "Connection: close"),
        ] {
            if let Some(r) = ratio(key, PYTHON, rps) {
                targets.push(Target {
                    what: format!("1 KiB {label}: at least 20x Python's req/s"),
                    value: format!("{r:.1}x python"),
                    met: r >= 20.0,
                });
            }
        }
        if let Some(memory) = self.memory_of(POOL) {
            let peak = mib(memory.peak_kib);
            targets.push(Target {
                what: "peak memory, 4 clients x 100 MiB: under 8 MiB".into(),
                value: format!("{peak:.1} MiB"),
                met: peak < 8.0,
            });
            let idle = mib(memory.idle_kib);
            targets.push(Target {
                what: "idle memory: under 4 MiB".into(),
                value: format!("{idle:.1} MiB"),
                met: idle < 4.0,
            });
        }
        targets
    }

    /// The tables printed at the end of a run.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let width = self.names.iter().map(String::len).max().unwrap_or(6).max(6);
        let seconds = self.duration.as_secs();
        for (scenario, row) in &self.scenarios {
            let cpu_label = if scenario.per_gb {
                "CPU ms/GB"
            } else {
                "CPU us/req"
            };
            let _ = writeln!(
                out,
                "\n## {} (wrk, {seconds} s, best of {})\n",
                scenario.title, self.rounds
            );
            let _ = writeln!(
                out,
                "{:<width$} {:>10} {:>8} {:>8} {:>9} {:>10} {:>9} {:>7}",
                "server", "req/s", "p50 ms", "p99 ms", "MB/s", cpu_label, "peak MiB", "errors"
            );
            for (name, m) in self.names.iter().zip(row) {
                match m {
                    Some(m) => {
                        let _ = writeln!(
                            out,
                            "{name:<width$} {:>10} {:>8.2} {:>8.2} {:>9.1} {:>10.1} {:>9.1} {:>7}",
                            thousands(m.requests_per_second),
                            m.p50_ms,
                            m.p99_ms,
                            m.megabytes_per_second,
                            m.cpu(scenario),
                            mib(m.peak_kib),
                            m.errors
                        );
                    }
                    None => {
                        let _ = writeln!(out, "{name:<width$} (failed: see the notes)");
                    }
                }
            }
            for base in [NGINX, PYTHON] {
                let Some(b) = self.index(base).and_then(|i| row[i].as_ref()) else {
                    continue;
                };
                let _ = writeln!(out, "\nrelative to {base}:");
                let _ = writeln!(
                    out,
                    "{:<width$} {:>10} {:>8} {:>8} {:>9} {:>10} {:>9}",
                    "server", "req/s", "p50", "p99", "MB/s", "CPU", "peak mem"
                );
                for (name, m) in self.names.iter().zip(row) {
                    let Some(m) = m.as_ref().filter(|_| name != base) else {
                        continue;
                    };
                    let _ = writeln!(
                        out,
                        "{name:<width$} {:>10} {:>8} {:>8} {:>9} {:>10} {:>9}",
                        times(m.requests_per_second, b.requests_per_second),
                        times(m.p50_ms, b.p50_ms),
                        times(m.p99_ms, b.p99_ms),
                        times(m.megabytes_per_second, b.megabytes_per_second),
                        times(m.cpu(scenario), b.cpu(scenario)),
                        times(m.peak_kib as f64, b.peak_kib as f64),
                    );
                }
            }
        }

        let _ = writeln!(
            out,
            "\n## Memory: idle, and peak while 4 clients download 100 MiB each\n"
        );
        let _ = writeln!(
            out,
            "{:<width$} {:>9} {:>9} {:>12} {:>9} {:>9}",
            "server", "idle MiB", "peak MiB", "4 x 100 MiB", "peak/ngx", "peak/py"
        );
        let base_peak = |name: &str| self.memory_of(name).map(|m| m.peak_kib as f64);
        for (name, m) in self.names.iter().zip(&self.memory) {
            match m {
                Some(m) => {
                    let relative = |base: Option<f64>| {
                        base.map_or("-".to_string(), |b| times(m.peak_kib as f64, b))
                    };
                    let _ = writeln!(
                        out,
                        "{name:<width$} {:>9.1} {:>9.1} {:>10.2} s {:>9} {:>9}",
                        mib(m.idle_kib),
                        mib(m.peak_kib),
                        m.seconds,
                        relative(base_peak(NGINX)),
                        relative(base_peak(PYTHON)),
                    );
                }
                None => {
                    let _ = writeln!(out, "{name:<width$} (failed: see the notes)");
                }
            }
        }

        let targets = self.targets();
        if !targets.is_empty() {
            let _ = writeln!(out, "\n## Targets for the pool mode\n");
            for target in &targets {
                let mark = if target.met { "met " } else { "MISS" };
                let _ = writeln!(out, "[{mark}] {:<48} {}", target.what, target.value);
            }
        }
        if !self.notes.is_empty() {
            let _ = writeln!(out, "\n## Notes\n");
            for note in &self.notes {
                let _ = writeln!(out, "- {note}");
            }
        }
        out
    }

    /// The whole run as JSON, for `target/bench/results.json`.
    pub fn to_json(&self) -> Value {
        let scenarios: Vec<Value> = self
            .scenarios
            .iter()
            .map(|(scenario, row)| {
                let mut servers = Map::new();
                for (name, m) in self.names.iter().zip(row) {
                    let value = m.as_ref().map_or(Value::Null, |m| {
                        json!({
                            "requests": m.requests,
                            "bytes": m.bytes,
                            "errors": m.errors,
                            "requests_per_second": m.requests_per_second,
                            "megabytes_per_second": m.megabytes_per_second,
                            "p50_ms": m.p50_ms,
                            "p99_ms": m.p99_ms,
                            "cpu_seconds": m.cpu_seconds,
                            "cpu_us_per_request": m.cpu_us_per_request(),
                            "cpu_ms_per_gb": m.cpu_ms_per_gb(),
                            "peak_kib": m.peak_kib,
                        })
                    });
                    servers.insert(name.clone(), value);
                }
                json!({
                    "key": scenario.key,
                    "title": scenario.title,
                    "path": scenario.path,
                    "connections": scenario.connections,
                    "connection_close": scenario.close,
                    "servers": servers,
                })
            })
            .collect();
        let mut memory = Map::new();
        for (name, m) in self.names.iter().zip(&self.memory) {
            let value = m.as_ref().map_or(
                Value::Null,
                |m| json!({"idle_kib": m.idle_kib, "peak_kib": m.peak_kib, "seconds": m.seconds}),
            );
            memory.insert(name.clone(), value);
        }
        let targets: Vec<Value> = self
            .targets()
            .iter()
            .map(|t| json!({"what": t.what, "value": t.value, "met": t.met}))
            .collect();
        let tools: Map<String, Value> = self
            .tools
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        let unix_time = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        json!({
            "unix_time": unix_time,
            "cores": std::thread::available_parallelism().map_or(0, |n| n.get()),
            "seconds_per_scenario": self.duration.as_secs(),
            "rounds_best_of": self.rounds,
            "load_generator": "wrk -t 2 --timeout 10s, on 127.0.0.1",
            "tools": tools,
            "servers": self.names,
            "scenarios": scenarios,
            "memory": {"clients": 4, "file_mib": 100, "servers": memory},
            "targets": targets,
            "notes": self.notes,
        })
    }
}

pub fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// `value / base` as `1.23x`.
fn times(value: f64, base: f64) -> String {
    if base > 0.0 {
        format!("{:.2}x", value / base)
    } else {
        "-".to_string()
    }
}

/// `12345.6` as `12,346`.
fn thousands(value: f64) -> String {
    let digits = format!("{:.0}", value.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round(requests_per_second: f64, bytes: u64, cpu_seconds: f64) -> Measurement {
        Measurement {
            requests: bytes / 1024,
            bytes,
            errors: 0,
            requests_per_second,
            megabytes_per_second: 0.0,
            p50_ms: 1.0,
            p99_ms: 2.0,
            cpu_seconds,
            peak_kib: 1,
        }
    }

    #[test]
    fn the_best_of_two_rounds_is_the_faster_at_the_leaner_cost() {
        // The faster round cost 2 s per GB of CPU, the slower 1 s per GB.
        let faster = round(200.0, 2_000_000_000, 4.0);
        let leaner = round(100.0, 1_000_000_000, 1.0);
        for best in [
            faster.clone().best_of(leaner.clone()),
            leaner.best_of(faster),
        ] {
            assert_eq!(best.requests_per_second, 200.0);
            assert_eq!(best.bytes, 2_000_000_000);
            assert!(
                (best.cpu_seconds - 2.0).abs() < 1e-9,
                "{}",
                best.cpu_seconds
            );
        }
    }
}
