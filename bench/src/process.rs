//! A server process under measurement: its CPU time and memory as Linux's `/proc` tells
//! them, summed over the process and its children (nginx's master and workers), and a
//! stop that always happens, even when the benchmark fails half-way.

use std::fs;
use std::io;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command};
use std::thread;
use std::time::{Duration, Instant};

/// A running server, stopped (SIGTERM, then SIGKILL) when dropped.
pub struct ServerProcess {
    child: Child,
    /// Every process of the server seen so far, so that workers are stopped too.
    known: Vec<u32>,
}

impl ServerProcess {
    /// Starts `command`. If this benchmark process dies, the kernel kills the server.
    pub fn spawn(mut command: Command) -> io::Result<ServerProcess> {
        // SAFETY: prctl is async-signal-safe; nothing else runs between fork and exec.
        unsafe {
            command.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let child = command.spawn()?;
        let pid = child.id();
        Ok(ServerProcess {
            child,
            known: vec![pid],
        })
    }

    /// The child itself (for reading its stdout).
    pub fn child(&mut self) -> &mut Child {
        &mut self.child
    }

    /// The server's processes now: the child and all its descendants.
    pub fn pids(&mut self) -> Vec<u32> {
        let pids = process_tree(self.child.id());
        for &pid in &pids {
            if !self.known.contains(&pid) {
                self.known.push(pid);
            }
        }
        pids
    }

    /// Whether the child has exited.
    pub fn has_exited(&mut self) -> bool {
        !matches!(self.child.try_wait(), Ok(None))
    }

    /// User plus system CPU time of all the server's processes, in seconds.
    pub fn cpu_seconds(&mut self) -> f64 {
        let ticks = clock_ticks_per_second();
        self.pids()
            .iter()
            .filter_map(|&pid| cpu_ticks(pid))
            .map(|t| t as f64 / ticks)
            .sum()
    }

    /// The peak resident memory (VmHWM) of all the server's processes, summed, in KiB.
    pub fn peak_memory_kib(&mut self) -> u64 {
        self.status_field_kib("VmHWM:")
    }

    /// The resident memory now (VmRSS) of all the server's processes, summed, in KiB.
    pub fn resident_memory_kib(&mut self) -> u64 {
        self.status_field_kib("VmRSS:")
    }

    fn status_field_kib(&mut self, field: &str) -> u64 {
        self.pids()
            .iter()
            .filter_map(|&pid| status_kib(pid, field))
            .sum()
    }

    /// Stops the server: SIGTERM to every process, up to five seconds to exit, then SIGKILL.
    pub fn stop(mut self) {
        self.stop_now();
    }

    fn stop_now(&mut self) {
        self.pids();
        for &pid in &self.known {
            signal(pid, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline && !self.has_exited() {
            thread::sleep(Duration::from_millis(20));
        }
        for &pid in &self.known {
            if is_alive(pid) {
                signal(pid, libc::SIGKILL);
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.stop_now();
    }
}

/// `pid` and every process descended from it, read from `/proc/*/stat`.
fn process_tree(pid: u32) -> Vec<u32> {
    let mut parents: Vec<(u32, u32)> = Vec::new();
    if let Ok(entries) = fs::read_dir("/proc") {
        for entry in entries.flatten() {
            let Some(child) = entry.file_name().to_str().and_then(|s| s.parse().ok()) else {
                continue;
            };
            if let Some(parent) = stat_fields(child).and_then(|f| f.get(1)?.parse().ok()) {
                parents.push((child, parent));
            }
        }
    }
    let mut tree = vec![pid];
    let mut i = 0;
    while i < tree.len() {
        let parent = tree[i];
        tree.extend(parents.iter().filter(|p| p.1 == parent).map(|p| p.0));
        i += 1;
    }
    tree
}

/// The fields of `/proc/PID/stat` after the command name: state, ppid, pgrp, ...
/// (field 3 of proc(5) is index 0 here).
fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = &stat[stat.rfind(')')? + 1..];
    Some(after_name.split_whitespace().map(str::to_string).collect())
}

/// utime + stime of one process, in clock ticks (fields 14 and 15 of proc(5)).
fn cpu_ticks(pid: u32) -> Option<u64> {
    let fields = stat_fields(pid)?;
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

fn status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn clock_ticks_per_second() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 {
        ticks as f64
    } else {
        100.0
    }
}

fn signal(pid: u32, signal: libc::c_int) {
    if let Ok(pid) = libc::pid_t::try_from(pid) {
        // SAFETY: kill has no memory-safety preconditions; the pid is one we started.
        unsafe { libc::kill(pid, signal) };
    }
}

fn is_alive(pid: u32) -> bool {
    stat_fields(pid).is_some_and(|f| f.first().map(String::as_str) != Some("Z"))
}
