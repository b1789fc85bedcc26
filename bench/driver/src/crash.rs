//! `kill -9` durability: every refresh the server acknowledged with a 200 must survive a SIGKILL.
//!
//! Each cycle runs M concurrent refresh chains against `keapsake serve`, SIGKILLs the server at a
//! random moment of the burst, restarts it on the same database, and checks:
//!
//! 1. every access token acknowledged since the previous check authenticates
//!    (`GET /crm/rest/v1/oauth/connect/userinfo` → 200);
//! 2. the last acknowledged refresh token of each chain still refreshes.
//!
//! Check 2 has one legitimate exception. A chain whose request was in flight at the kill may have
//! had that request committed without the 200 reaching the client: the server did its job, the
//! client just never learnt the new pair. Its last acknowledged token is then refused as already
//! rotated. That is not a loss, and it is told apart from one: if the acknowledged rotation had
//! been lost, the token presented to obtain it would still refresh, so it is presented too, and
//! only a 400 on both counts as "superseded by an unacknowledged request". (An acknowledged
//! rotation that was lost also shows up in check 1: its access token is gone.)
//!
//! The server runs with a long refresh-reuse grace so presenting rotated tokens never revokes a
//! family (the reuse policy is not what this checks). The chains authenticate as the demo app,
//! whose secret is stored as SHA-256 (since 4b102dc; before, it was Argon2id, which limited a
//! burst to a few dozen refreshes); `generated_secret` rotates it to a generated one first, for
//! builds where that is still so.
//!
//! [`CrashConfig::sabotage`] is the check's own self-test: it restores a copy of the database
//! taken before the burst, which is exactly a lost-writes bug, and the check must report it.

use crate::http::{BasicAuth, Conn, TokenPair};
use crate::procs::{Keapsake, ServerProc, free_addr, suffixed};
use anyhow::{Context as _, bail};
use hyper::StatusCode;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Crash-check settings.
#[derive(Debug, Clone)]
pub struct CrashConfig {
    /// The CLI and the database (its directory should be scratch space).
    pub keapsake: Keapsake,
    /// Kill/restart cycles.
    pub cycles: usize,
    /// Concurrent refresh chains (one connection each).
    pub chains: usize,
    /// Earliest kill, in ms after the burst starts.
    pub kill_min_ms: u64,
    /// Latest kill, in ms after the burst starts.
    pub kill_max_ms: u64,
    /// Seed of the kill-moment generator (printed, so a run can be repeated).
    pub seed: u64,
    /// Extra arguments for `keapsake serve` (e.g. `--durability relaxed`).
    pub serve_args: Vec<String>,
    /// Server log file.
    pub log: Option<PathBuf>,
    /// Client credentials of the app the chains belong to.
    pub client_id: String,
    /// Client secret.
    pub client_secret: String,
    /// Replace the demo app's secret with a generated (SHA-256-stored) one first.
    pub generated_secret: bool,
    /// Self-test: before each burst stop the server and copy the database; after the kill,
    /// restore the copy. Every acknowledged write of the burst is then lost, and must be reported.
    pub sabotage: bool,
}

impl CrashConfig {
    /// Defaults for the demo sandbox: 20 cycles, 16 chains, kill 10–500 ms into the burst.
    pub fn demo(keapsake: Keapsake) -> Self {
        Self {
            keapsake,
            cycles: 20,
            chains: 16,
            kill_min_ms: 10,
            kill_max_ms: 500,
            seed: seed_from_clock(),
            serve_args: Vec::new(),
            log: None,
            client_id: "keapsake-demo-app".into(),
            client_secret: "keapsake-demo-secret".into(),
            generated_secret: false,
            sabotage: false,
        }
    }
}

/// A seed from the wall clock and the pid.
pub fn seed_from_clock() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    nanos ^ (u64::from(std::process::id()) << 32) | 1
}

/// xorshift64*: enough randomness for kill moments, and reproducible from the seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn between(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi.saturating_sub(lo) + 1)
    }
}

/// Totals over every cycle.
#[derive(Debug, Default, Clone)]
pub struct CrashReport {
    /// Cycles run.
    pub cycles: usize,
    /// Refreshes answered 200 (burst and verification).
    pub acknowledged: u64,
    /// Requests in flight when the server was killed (their outcome is unknown to the client).
    pub unacknowledged: u64,
    /// Acknowledged access tokens checked after a restart.
    pub access_checked: u64,
    /// …of which did not authenticate.
    pub access_lost: u64,
    /// Chains whose last acknowledged refresh token refreshed after the restart.
    pub chains_refreshed: u64,
    /// Chains whose last acknowledged token had been rotated by an unacknowledged request.
    pub chains_superseded: u64,
    /// Chains whose last acknowledged rotation was lost.
    pub refresh_lost: u64,
    /// Non-200 answers during bursts (a bug, but not a durability loss).
    pub burst_errors: u64,
    /// Access tokens re-checked at the end, across all cycles.
    pub final_checked: u64,
    /// …of which did not authenticate.
    pub final_lost: u64,
    /// Restart time to the first 200 on /healthz, per cycle, in ms.
    pub restart_ms: Vec<f64>,
}

impl CrashReport {
    /// Every lost acknowledged write.
    pub fn lost(&self) -> u64 {
        self.access_lost + self.refresh_lost + self.final_lost
    }

    /// The closing summary.
    pub fn summary(&self) -> String {
        let mut r = self.restart_ms.clone();
        r.sort_by(f64::total_cmp);
        let med = if r.is_empty() {
            f64::NAN
        } else {
            r[r.len() / 2]
        };
        format!(
            "cycles {}: acknowledged {}, lost {} (access tokens checked {} lost {}; chains refreshed {}, superseded by an unacknowledged in-flight request {}, lost {}; final re-check {} lost {}); in flight at kill {}; burst errors {}; restart median {:.1} ms",
            self.cycles,
            self.acknowledged,
            self.lost(),
            self.access_checked,
            self.access_lost,
            self.chains_refreshed,
            self.chains_superseded,
            self.refresh_lost,
            self.final_checked,
            self.final_lost,
            self.unacknowledged,
            self.burst_errors,
            med,
        )
    }
}

/// One chain's state as the client knows it.
#[derive(Debug, Clone)]
struct Chain {
    /// The refresh token to present next (the last acknowledged one).
    current: String,
    /// The token presented to obtain `current`, if known.
    prev: Option<String>,
    /// Access tokens acknowledged since the last check.
    unchecked_access: Vec<String>,
    /// A request whose answer never arrived (its rotation may or may not have committed).
    unacked: bool,
    /// Acknowledged access tokens, for the final re-check (cleared if the chain is ever probed
    /// with a rotated token, which a strict reuse policy may answer by revoking the family).
    all_access: Vec<String>,
}

impl Chain {
    fn new(p: TokenPair) -> Self {
        Self {
            current: p.refresh_token,
            prev: None,
            unchecked_access: vec![p.access_token.clone()],
            unacked: false,
            all_access: vec![p.access_token],
        }
    }
    fn acknowledge(&mut self, p: TokenPair) {
        self.prev = Some(std::mem::replace(&mut self.current, p.refresh_token));
        self.unchecked_access.push(p.access_token.clone());
        self.all_access.push(p.access_token);
    }
}

struct BurstResult {
    chain: Chain,
    acked: u64,
    errors: u64,
}

async fn burst_one(
    addr: SocketAddr,
    auth: BasicAuth,
    mut chain: Chain,
    stop: Arc<AtomicBool>,
) -> BurstResult {
    let (mut acked, mut errors) = (0, 0);
    chain.unacked = false;
    let Ok(mut conn) = Conn::connect(addr).await else {
        return BurstResult {
            chain,
            acked,
            errors,
        };
    };
    while !stop.load(Ordering::Relaxed) {
        match conn.refresh(&auth, &chain.current).await {
            Ok((StatusCode::OK, body)) => match serde_json::from_slice::<TokenPair>(&body) {
                Ok(p) => {
                    chain.acknowledge(p);
                    acked += 1;
                }
                Err(_) => {
                    errors += 1;
                    break;
                }
            },
            Ok(_) => {
                // Unexpected, and the rotation's fate is unknown: treat it as unacknowledged.
                errors += 1;
                chain.unacked = true;
                break;
            }
            Err(_) => {
                // The kill: the request may or may not have been committed.
                chain.unacked = true;
                break;
            }
        }
    }
    BurstResult {
        chain,
        acked,
        errors,
    }
}

/// Checks that `tokens` authenticate, over `conns` parallel connections; returns (checked, lost).
async fn check_access(
    addr: SocketAddr,
    tokens: Vec<String>,
    conns: usize,
    verbose_lost: bool,
) -> anyhow::Result<(u64, u64)> {
    let n = tokens.len() as u64;
    let chunk = tokens.len().div_ceil(conns.max(1)).max(1);
    let mut hs = Vec::new();
    for part in tokens.chunks(chunk) {
        let part = part.to_vec();
        hs.push(tokio::spawn(async move {
            let mut c = Conn::connect(addr).await?;
            let mut lost = 0u64;
            for t in part {
                let s = c.userinfo(&t).await?;
                if s != StatusCode::OK {
                    lost += 1;
                    if verbose_lost && lost <= 3 {
                        eprintln!(
                            "   LOST: acknowledged access token …{} answers {s} on userinfo",
                            tail(&t)
                        );
                    }
                }
            }
            anyhow::Ok(lost)
        }));
    }
    let mut lost = 0;
    for h in hs {
        lost += h.await??;
    }
    Ok((n, lost))
}

fn tail(t: &str) -> &str {
    &t[t.len().saturating_sub(6)..]
}

/// The database file and its WAL, each with the path of its sabotage copy.
fn db_files(db: &std::path::Path) -> Vec<(PathBuf, PathBuf)> {
    [db.to_path_buf(), suffixed(db, "-wal")]
        .into_iter()
        .map(|f| {
            let c = suffixed(&f, ".sabotage");
            (f, c)
        })
        .collect()
}

fn start(cfg: &CrashConfig) -> anyhow::Result<(ServerProc, f64)> {
    let addr = free_addr()?;
    let mut extra = vec!["--refresh-reuse-grace", "86400"];
    extra.extend(cfg.serve_args.iter().map(String::as_str));
    let t0 = Instant::now();
    let mut srv = ServerProc::spawn(
        &cfg.keapsake.bin,
        &cfg.keapsake.serve_args(addr, &extra),
        addr,
        cfg.log.as_deref(),
    )?;
    let d = srv
        .wait_healthy(t0, Duration::from_secs(30))
        .context("restarting keapsake after the kill")?;
    Ok((srv, d.as_secs_f64() * 1000.0))
}

/// Runs the crash cycles. The caller decides what a loss means (the CLI exits non-zero).
///
/// # Errors
/// Setup failures: the server does not start, minting fails, a check cannot connect.
pub async fn run(cfg: &CrashConfig) -> anyhow::Result<CrashReport> {
    anyhow::ensure!(
        cfg.keapsake.bin.exists(),
        "{} is missing (build it with `cargo build -p keapsake-cli`)",
        cfg.keapsake.bin.display()
    );
    let mut rng = Rng(cfg.seed | 1);
    eprintln!(
        "crash check: {} cycles, {} chains, SIGKILL {}–{} ms into each burst, seed {}, database {}",
        cfg.cycles,
        cfg.chains,
        cfg.kill_min_ms,
        cfg.kill_max_ms,
        cfg.seed,
        cfg.keapsake.database.display()
    );
    let ks = cfg.keapsake.clone();
    let generated = cfg.generated_secret;
    let secret = tokio::task::spawn_blocking(move || {
        ks.seed_demo(None)?;
        if generated {
            ks.rotate_secret().map(Some)
        } else {
            Ok(None)
        }
    })
    .await??;
    let auth = BasicAuth::new(
        &cfg.client_id,
        secret.as_deref().unwrap_or(&cfg.client_secret),
    )?;
    let ks = cfg.keapsake.clone();
    let n = cfg.chains;
    let mut chains: Vec<Chain> = tokio::task::spawn_blocking(move || ks.mint_many(n))
        .await??
        .into_iter()
        .map(Chain::new)
        .collect();
    let mut report = CrashReport::default();
    let (mut srv, _) = start(cfg)?;

    for cycle in 1..=cfg.cycles {
        let snapshot = if cfg.sabotage {
            srv.stop()?;
            let files = db_files(&cfg.keapsake.database);
            for (f, copy) in &files {
                if f.exists() {
                    std::fs::copy(f, copy)?;
                }
            }
            srv = start(cfg)?.0;
            Some(files)
        } else {
            None
        };
        // Burst, then SIGKILL at a random moment.
        let stop = Arc::new(AtomicBool::new(false));
        let kill_at = rng.between(cfg.kill_min_ms, cfg.kill_max_ms);
        let t0 = Instant::now();
        let hs: Vec<_> = chains
            .drain(..)
            .map(|c| tokio::spawn(burst_one(srv.addr, auth.clone(), c, stop.clone())))
            .collect();
        tokio::time::sleep_until((t0 + Duration::from_millis(kill_at)).into()).await;
        let killed_at = t0.elapsed();
        srv.kill9()?;
        if let Some(files) = snapshot {
            // The sabotage: every write since the copy disappears.
            for (f, copy) in files {
                let _ = std::fs::remove_file(&f);
                if copy.exists() {
                    std::fs::rename(&copy, &f)?;
                }
            }
            let _ = std::fs::remove_file(suffixed(&cfg.keapsake.database, "-shm"));
        }
        let mut acked = 0;
        let mut in_flight = 0;
        let mut errors = 0;
        let guard = tokio::time::timeout(Duration::from_secs(30), async {
            for h in hs {
                let r = h.await?;
                acked += r.acked;
                errors += r.errors;
                in_flight += u64::from(r.chain.unacked);
                chains.push(r.chain);
            }
            anyhow::Ok(())
        })
        .await;
        stop.store(true, Ordering::Relaxed);
        guard.context("burst tasks did not end after the kill")??;
        report.acknowledged += acked;
        report.unacknowledged += in_flight;
        report.burst_errors += errors;

        // Restart on the same database and check.
        let (s, restart_ms) = start(cfg)?;
        srv = s;
        report.restart_ms.push(restart_ms);
        let to_check: Vec<String> = chains
            .iter_mut()
            .flat_map(|c| std::mem::take(&mut c.unchecked_access))
            .collect();
        let (checked, lost) = check_access(srv.addr, to_check, 4, true).await?;
        report.access_checked += checked;
        report.access_lost += lost;

        let mut conn = Conn::connect(srv.addr).await?;
        let (mut refreshed, mut superseded, mut refresh_lost) = (0, 0, 0);
        let mut keep = Vec::with_capacity(chains.len());
        for mut c in chains.drain(..) {
            let (status, body) = conn.refresh(&auth, &c.current).await?;
            if status == StatusCode::OK {
                c.acknowledge(serde_json::from_slice(&body)?);
                c.unacked = false;
                report.acknowledged += 1;
                refreshed += 1;
                keep.push(c);
                continue;
            }
            // Refused. Legitimate only if an unacknowledged request rotated it *and* the
            // acknowledged rotation before it stands (so its input token is refused too).
            c.all_access.clear();
            let prev_refreshes = match &c.prev {
                Some(p) => conn.refresh(&auth, p).await?.0 == StatusCode::OK,
                None => false,
            };
            if c.unacked && !prev_refreshes {
                superseded += 1;
            } else {
                refresh_lost += 1;
                eprintln!(
                    "   LOST: last acknowledged refresh token …{} answers {status}{}{}",
                    tail(&c.current),
                    if c.unacked {
                        ""
                    } else {
                        " with no request in flight"
                    },
                    if prev_refreshes {
                        ", and the token it replaced still refreshes"
                    } else {
                        ""
                    }
                );
            }
            // The chain cannot continue (its newest pair was never seen): replace it below.
        }
        let dead = cfg.chains - keep.len();
        chains = keep;
        if dead > 0 {
            let ks = cfg.keapsake.clone();
            chains.extend(
                tokio::task::spawn_blocking(move || ks.mint_many(dead))
                    .await??
                    .into_iter()
                    .map(Chain::new),
            );
        }
        report.chains_refreshed += refreshed;
        report.chains_superseded += superseded;
        report.refresh_lost += refresh_lost;
        report.cycles = cycle;
        eprintln!(
            "cycle {cycle:>2}/{}: SIGKILL at {:>3} ms, acknowledged {acked:>5}, in flight {in_flight:>2}, restart {restart_ms:>6.1} ms, access tokens {checked} checked {lost} lost, chains refreshed {refreshed} superseded {superseded} lost {refresh_lost}{}",
            cfg.cycles,
            killed_at.as_millis(),
            if errors > 0 {
                format!(", burst errors {errors}")
            } else {
                String::new()
            }
        );
    }

    // Everything acknowledged in every cycle, once more, after all the crashes.
    let all: Vec<String> = chains.iter().flat_map(|c| c.all_access.clone()).collect();
    let (checked, lost) = check_access(srv.addr, all, 4, true).await?;
    report.final_checked = checked;
    report.final_lost = lost;
    srv.stop()?;
    if report.acknowledged == 0 {
        bail!(
            "no refresh was acknowledged: the check proved nothing (is the server answering /token?)"
        );
    }
    Ok(report)
}
