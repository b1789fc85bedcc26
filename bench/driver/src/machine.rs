//! What machine a result came from: cores, CPU model, memory, kernel, rustc, commit, date.

use std::process::Command;

fn cmd(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// The current UTC time, e.g. `2026-05-01 12:00 UTC`.
pub fn now_utc() -> String {
    cmd("date", &["-u", "+%Y-%m-%d %H:%M UTC"])
}

/// A markdown list describing the machine.
pub fn describe() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map_or_else(|| "unknown".to_string(), |m| m.trim().to_string());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_gib = meminfo
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|k| k.parse::<f64>().ok())
        .map_or_else(
            || "unknown".to_string(),
            |k| format!("{:.1} GiB", k / 1048576.0),
        );
    let nproc = std::thread::available_parallelism().map_or(0, usize::from);
    format!(
        "Machine: {nproc} CPUs (`nproc`), {model}, {mem_gib} RAM, kernel {}, {}, commit {}{}",
        cmd("uname", &["-r"]),
        cmd("rustc", &["--version"]),
        cmd("git", &["rev-parse", "--short", "HEAD"]),
        if cmd("git", &["status", "--porcelain", "--untracked-files=no"]).is_empty() {
            ""
        } else {
            " (+ uncommitted changes in the tree)"
        },
    )
}

/// `/proc/loadavg`'s first three fields.
pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}
