//! The closed-loop load driver: N connections, each its own task and its own rotating refresh
//! chain, for a warm-up and then a measured window; and [`closed_loop`], the same for any other
//! request (the REST stages).

use crate::http::{BasicAuth, Conn, TokenPair};
use bytes::Bytes;
use hyper::StatusCode;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
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

/// The connection `conn` holds, opened on `addr` first if need be; `None`, after counting a
/// transport error and pausing 10 ms, when it cannot be opened.
async fn connection<'a>(
    conn: &'a mut Option<Conn>,
    addr: SocketAddr,
    transport: &mut u64,
) -> Option<&'a mut Conn> {
    if conn.is_none() {
        match Conn::connect(addr).await {
            Ok(c) => *conn = Some(c),
            Err(_) => {
                *transport += 1;
                tokio::time::sleep(Duration::from_millis(10)).await;
                return None;
            }
        }
    }
    conn.as_mut()
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
        let Some(c) = connection(&mut conn, addr, &mut r.transport).await else {
            continue;
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

/// What one request answered: its status and body.
pub type Answer = anyhow::Result<(StatusCode, Bytes)>;

/// A request that [`closed_loop`] sends over and over on each connection.
pub trait Request: Send + Sync + 'static {
    /// Latency samples each connection task allocates up front.
    const SAMPLES: usize = 1 << 12;

    /// Sends one request on `c`; `rng` is the connection's own [`next_rand`] state.
    fn send(&self, c: &mut Conn, rng: &mut u64) -> impl Future<Output = Answer> + Send;
}

/// xorshift64*: cheap per-task randomness.
pub fn next_rand(s: &mut u64) -> u64 {
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    s.wrapping_mul(0x2545_F491_4F6C_DD1D)
}

struct TaskOut {
    latencies: Vec<u32>,
    errors: BTreeMap<u16, u64>,
    transport: u64,
}

async fn task<R: Request>(
    addr: SocketAddr,
    req: Arc<R>,
    seed: u64,
    measure_from: Instant,
    end: Instant,
) -> TaskOut {
    let mut out = TaskOut {
        latencies: Vec::with_capacity(R::SAMPLES),
        errors: BTreeMap::new(),
        transport: 0,
    };
    let mut rng = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut conn: Option<Conn> = None;
    loop {
        let t0 = Instant::now();
        if t0 >= end {
            break;
        }
        let Some(c) = connection(&mut conn, addr, &mut out.transport).await else {
            continue;
        };
        match req.send(c, &mut rng).await {
            Ok((status, _)) if status.is_success() => {
                let t1 = Instant::now();
                if t0 >= measure_from && t1 <= end {
                    out.latencies
                        .push(u32::try_from((t1 - t0).as_micros()).unwrap_or(u32::MAX));
                }
            }
            Ok((status, _)) => *out.errors.entry(status.as_u16()).or_default() += 1,
            Err(_) => {
                out.transport += 1;
                conn = None;
            }
        }
    }
    out
}

/// One closed-loop load point of `req`: `connections` tasks, each its own keep-alive connection
/// (and random state, seeded by its number), for `warmup` and then a measured `duration`. A 2xx
/// that started and completed inside the window counts; anything else is an error.
///
/// # Errors
/// If a connection task panics.
pub async fn closed_loop<R: Request>(
    addr: SocketAddr,
    req: Arc<R>,
    connections: usize,
    warmup: Duration,
    duration: Duration,
) -> anyhow::Result<LoadReport> {
    let measure_from = Instant::now() + warmup;
    let end = measure_from + duration;
    let handles: Vec<_> = (0..connections)
        .map(|i| {
            tokio::spawn(task(
                addr,
                Arc::clone(&req),
                i as u64 + 1,
                measure_from,
                end,
            ))
        })
        .collect();
    let mut rep = LoadReport {
        connections,
        window: duration,
        ..LoadReport::default()
    };
    for h in handles {
        let r = h.await?;
        rep.latencies_us.extend(r.latencies);
        for (k, v) in r.errors {
            *rep.errors_by_status.entry(k).or_default() += v;
        }
        rep.transport_errors += r.transport;
    }
    rep.ok = rep.latencies_us.len() as u64;
    rep.latencies_us.sort_unstable();
    Ok(rep)
}
