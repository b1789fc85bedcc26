//! The closed-loop load driver: N connections, each its own task and its own rotating refresh
//! chain, for a warm-up and then a measured window.

use crate::http::{BasicAuth, Conn, TokenPair};
use hyper::StatusCode;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// One load point.
#[derive(Debug, Clone)]
pub struct LoadConfig {
    /// Server address.
    pub addr: SocketAddr,
    /// Concurrent connections (one task, one chain each).
    pub connections: usize,
    /// Time before measuring (connections are warm, caches filled, the WAL has grown).
    pub warmup: Duration,
    /// Measured window.
    pub duration: Duration,
    /// Client credentials sent as HTTP Basic.
    pub auth: BasicAuth,
}

/// What one load point measured.
#[derive(Debug, Clone, Default)]
pub struct LoadReport {
    /// Connections.
    pub connections: usize,
    /// 200s that started and completed inside the measured window.
    pub ok: u64,
    /// Length of the measured window.
    pub window: Duration,
    /// Latency of each counted 200, in microseconds, sorted.
    pub latencies_us: Vec<u32>,
    /// Non-200 answers by status (whole run, warm-up included).
    pub errors_by_status: BTreeMap<u16, u64>,
    /// Transport errors (whole run).
    pub transport_errors: u64,
    /// Chains that ended on a 400/401 (the token is no longer refreshable).
    pub chains_broken: usize,
}

impl LoadReport {
    /// Completed 200s per second in the measured window.
    pub fn rps(&self) -> f64 {
        self.ok as f64 / self.window.as_secs_f64()
    }

    /// Latency quantile `q` in milliseconds (`q` in 0..=1), or NaN with no samples.
    pub fn quantile_ms(&self, q: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return f64::NAN;
        }
        let idx = ((self.latencies_us.len() as f64 - 1.0) * q).round() as usize;
        f64::from(self.latencies_us[idx]) / 1000.0
    }

    /// Every non-200 answer and transport error.
    pub fn errors(&self) -> u64 {
        self.errors_by_status.values().sum::<u64>() + self.transport_errors
    }

    /// Folds another run of the same load point into this one (the suite measures each point in
    /// slices, interleaved across servers).
    pub fn merge(&mut self, other: LoadReport) {
        self.connections = other.connections;
        self.ok += other.ok;
        self.window += other.window;
        self.latencies_us.extend(other.latencies_us);
        self.latencies_us.sort_unstable();
        for (k, v) in other.errors_by_status {
            *self.errors_by_status.entry(k).or_default() += v;
        }
        self.transport_errors += other.transport_errors;
        self.chains_broken += other.chains_broken;
    }

    /// One-line summary.
    pub fn summary(&self) -> String {
        format!(
            "c={:<3} {:>9.0} req/s  p50 {:>7.3} ms  p99 {:>7.3} ms  max {:>8.3} ms  errors {}{}",
            self.connections,
            self.rps(),
            self.quantile_ms(0.50),
            self.quantile_ms(0.99),
            self.quantile_ms(1.0),
            self.errors(),
            if self.errors() > 0 {
                format!(
                    " {:?} transport {}",
                    self.errors_by_status, self.transport_errors
                )
            } else {
                String::new()
            },
        )
    }
}

struct TaskResult {
    latencies: Vec<u32>,
    errors: BTreeMap<u16, u64>,
    transport: u64,
    broken: bool,
    chain: String,
}

/// Runs one load point. `chains[i]` is the current refresh token of connection `i` (at least
/// `connections` of them); the returned vector holds each chain's newest token, so the next point
/// can continue the same chains.
///
/// # Errors
/// If fewer chains than connections are given.
pub async fn run(
    cfg: &LoadConfig,
    chains: Vec<String>,
) -> anyhow::Result<(LoadReport, Vec<String>)> {
    anyhow::ensure!(
        chains.len() >= cfg.connections,
        "{} chains for {} connections",
        chains.len(),
        cfg.connections
    );
    let start = Instant::now();
    let measure_from = start + cfg.warmup;
    let end = measure_from + cfg.duration;
    let mut chains = chains;
    let rest = chains.split_off(cfg.connections);
    let mut handles = Vec::with_capacity(cfg.connections);
    for token in chains {
        let addr = cfg.addr;
        let auth = cfg.auth.clone();
        handles.push(tokio::spawn(async move {
            one_connection(addr, auth, token, measure_from, end).await
        }));
    }
    let mut report = LoadReport {
        connections: cfg.connections,
        window: cfg.duration,
        ..LoadReport::default()
    };
    let mut out = Vec::with_capacity(cfg.connections + rest.len());
    for h in handles {
        let r = h.await?;
        report.latencies_us.extend(r.latencies);
        for (k, v) in r.errors {
            *report.errors_by_status.entry(k).or_default() += v;
        }
        report.transport_errors += r.transport;
        report.chains_broken += usize::from(r.broken);
        out.push(r.chain);
    }
    out.extend(rest);
    report.ok = report.latencies_us.len() as u64;
    report.latencies_us.sort_unstable();
    Ok((report, out))
}

async fn one_connection(
    addr: SocketAddr,
    auth: BasicAuth,
    mut token: String,
    measure_from: Instant,
    end: Instant,
) -> TaskResult {
    let mut r = TaskResult {
        latencies: Vec::with_capacity(1 << 16),
        errors: BTreeMap::new(),
        transport: 0,
        broken: false,
        chain: String::new(),
    };
    let mut conn: Option<Conn> = None;
    loop {
        let t0 = Instant::now();
        if t0 >= end {
            break;
        }
        let c = match conn.as_mut() {
            Some(c) => c,
            None => match Conn::connect(addr).await {
                Ok(c) => conn.insert(c),
                Err(_) => {
                    r.transport += 1;
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
        };
        match c.refresh(&auth, &token).await {
            Ok((StatusCode::OK, body)) => {
                let t1 = Instant::now();
                match serde_json::from_slice::<TokenPair>(&body) {
                    Ok(pair) => token = pair.refresh_token,
                    Err(_) => {
                        // A 200 that is not a token body is an error too.
                        *r.errors.entry(200).or_default() += 1;
                        r.broken = true;
                        break;
                    }
                }
                if t0 >= measure_from && t1 <= end {
                    r.latencies
                        .push(u32::try_from((t1 - t0).as_micros()).unwrap_or(u32::MAX));
                }
            }
            Ok((status, _)) => {
                *r.errors.entry(status.as_u16()).or_default() += 1;
                if status == StatusCode::BAD_REQUEST || status == StatusCode::UNAUTHORIZED {
                    // The chain cannot continue (token rotated, revoked or client refused);
                    // hammering it with more 400s would only inflate the error count.
                    r.broken = true;
                    break;
                }
            }
            Err(_) => {
                r.transport += 1;
                conn = None;
            }
        }
    }
    r.chain = token;
    r
}
