//! Quick `kill -9` durability check for CI: 3 short crash cycles against the `keapsake` binary
//! named by `KEAPSAKE_BIN`, or `target/debug/keapsake` (build it first with
//! `cargo build -p keapsake-cli`; this test does not build it).
#![allow(
    clippy::unwrap_used,
    reason = "test code: a panic is the failure report"
)]

use keapsake_bench::crash::{self, CrashConfig};
use keapsake_bench::procs::Keapsake;
use std::path::PathBuf;

fn keapsake_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("KEAPSAKE_BIN") {
        return PathBuf::from(p);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    target.join("debug/keapsake")
}

#[test]
fn acknowledged_refreshes_survive_kill_9() {
    // Arrange
    let bin = keapsake_bin();
    assert!(
        bin.exists(),
        "the keapsake binary is missing at {}: run `cargo build -p keapsake-cli` first, or set KEAPSAKE_BIN to a built binary",
        bin.display()
    );
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = CrashConfig::demo(Keapsake::demo(bin, dir.path().join("crash.db")));
    cfg.cycles = 3;
    cfg.chains = 4;
    cfg.kill_min_ms = 10;
    cfg.kill_max_ms = 200;
    cfg.log = Some(dir.path().join("keapsake.log"));

    // Act
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let report = rt.block_on(crash::run(&cfg)).unwrap();

    // Assert
    eprintln!("{}", report.summary());
    assert_eq!(report.cycles, 3);
    assert!(
        report.acknowledged > 0,
        "nothing was acknowledged, so nothing was checked"
    );
    assert_eq!(
        report.lost(),
        0,
        "acknowledged writes were lost after kill -9 (seed {}): {}",
        cfg.seed,
        report.summary()
    );
}

#[test]
fn the_check_reports_writes_lost_by_a_restored_snapshot() {
    // Arrange: the sabotage restores a pre-burst copy of the database after the kill, which is
    // what a server acknowledging before its commit is durable would look like.
    let bin = keapsake_bin();
    assert!(
        bin.exists(),
        "the keapsake binary is missing at {}: run `cargo build -p keapsake-cli` first, or set KEAPSAKE_BIN",
        bin.display()
    );
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = CrashConfig::demo(Keapsake::demo(bin, dir.path().join("crash.db")));
    cfg.cycles = 1;
    cfg.chains = 4;
    // Late enough that the burst has acknowledged something (a debug build starts slowly).
    cfg.kill_min_ms = 300;
    cfg.kill_max_ms = 400;
    cfg.sabotage = true;

    // Act
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let report = rt.block_on(crash::run(&cfg)).unwrap();

    // Assert
    eprintln!("{}", report.summary());
    assert!(
        report.acknowledged > 0,
        "nothing was acknowledged, so the sabotage proved nothing"
    );
    assert!(
        report.lost() > 0,
        "the check missed writes lost by restoring a snapshot: {}",
        report.summary()
    );
}
