//! Measurements that only some platforms offer cheaply. Each returns `None` elsewhere, and
//! the tests that use them say they skipped that check.

/// The peak resident memory of a process in KiB, where the platform tells it cheaply
/// (Linux's /proc). Elsewhere `None`, and memory tests say they were skipped.
pub fn peak_memory_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
