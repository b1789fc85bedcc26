//! `keapsake-bench emails` (`bench/emails`): `POST /crm/rest/v1/emails/queue`, with every
//! keapsake figure divided by `ceiling-http` and `ceiling-sqlite` measured in the same run at the
//! same connection counts.
//!
//! keapsake runs with its default durability on a fresh database: a `serve --demo` start seeds the
//! demo sandbox, `keapsake token mint` gives one bearer token, `GET /crm/rest/v1/users` gives the
//! sending user, then 1,000 contacts are created (`POST /crm/rest/v1/contacts`, not measured).
//! Then, at each connection count, a warm-up plus a measured window of:
//! - `POST /crm/rest/v1/emails/queue` to one random seeded contact (a 202 means: the e-mail record
//!   and the outbox message are committed);
//! - the same with ten random seeded contacts (ten of each written per request).
//!
//! No SMTP worker runs: the outbox only grows. The ceilings serve `POST /token` as in
//! `bench/contacts`: `ceiling-http` answers a fixed body, `ceiling-sqlite` does one single-row
//! INSERT per transaction (WAL, synchronous=NORMAL).

use crate::http::{BasicAuth, Conn};
use crate::load::LoadReport;
use crate::procs::{Keapsake, ServerProc, free_addr};
use anyhow::{Context as _, bail, ensure};
use bytes::Bytes;
use hyper::Method;
use hyper::header::HeaderValue;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Settings of the e-mails stage.
#[derive(Debug, Clone)]
pub struct EmailsConfig {
    /// The `keapsake` binary.
    pub keapsake_bin: PathBuf,
    /// The `ceiling-http` binary.
    pub ceiling_http_bin: PathBuf,
    /// The `ceiling-sqlite` binary.
    pub ceiling_sqlite_bin: PathBuf,
    /// Scratch directory, wiped first.
    pub work_dir: PathBuf,
    /// Where the markdown report goes.
    pub report: PathBuf,
    /// Contacts seeded before measuring (the recipients).
    pub contacts: u64,
    /// Load points (connection counts).
    pub connections: Vec<usize>,
    /// Warm-up per load point.
    pub warmup: Duration,
    /// Measured window per load point.
    pub duration: Duration,
    /// Tokio worker threads of the driver.
    pub driver_threads: usize,
    /// The command line that produced this run, for the report.
    pub command: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    /// `POST /token` (the ceilings).
    Token,
    /// `POST /emails/queue`, one recipient.
    Queue1,
    /// `POST /emails/queue`, ten recipients.
    Queue10,
}

impl Op {
    fn label(self) -> &'static str {
        match self {
            Op::Token => "POST /token",
            Op::Queue1 => "POST /crm/rest/v1/emails/queue (1 recipient)",
            Op::Queue10 => "POST /crm/rest/v1/emails/queue (10 recipients)",
        }
    }

    fn recipients(self) -> usize {
        match self {
            Op::Token => 0,
            Op::Queue1 => 1,
            Op::Queue10 => 10,
        }
    }
}

struct Plan {
    op: Op,
    bearer: HeaderValue,
    basic: BasicAuth,
    contacts: Arc<Vec<i64>>,
    user_id: i64,
}

/// xorshift64*: cheap per-task randomness.
fn next_rand(s: &mut u64) -> u64 {
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    s.wrapping_mul(0x2545_F491_4F6C_DD1D)
}

/// A send request: merge fields in subject and body, base64 plain and HTML contents.
fn queue_body(contacts: &[i64], user_id: i64) -> Bytes {
    let ids: Vec<String> = contacts.iter().map(i64::to_string).collect();
    // "Hi ~Contact.FirstName~, your order shipped." and "<p>Hi ~Contact.FirstName~</p>"
    Bytes::from(format!(
        r#"{{"contacts":[{}],"user_id":{user_id},"subject":"Hello ~Contact.FirstName~","plain_content":"SGkgfkNvbnRhY3QuRmlyc3ROYW1lfiwgeW91ciBvcmRlciBzaGlwcGVkLg==","html_content":"PHA+SGkgfkNvbnRhY3QuRmlyc3ROYW1lfjwvcD4="}}"#,
        ids.join(",")
    ))
}

async fn one_request(
    c: &mut Conn,
    plan: &Plan,
    rng: &mut u64,
) -> anyhow::Result<(hyper::StatusCode, Bytes)> {
    if plan.op == Op::Token {
        return c.refresh(&plan.basic, "unused-by-the-ceilings").await;
    }
    let n = plan.op.recipients();
    let mut to = Vec::with_capacity(n);
    while to.len() < n {
        let id = plan.contacts[(next_rand(rng) % plan.contacts.len() as u64) as usize];
        if !to.contains(&id) {
            to.push(id);
        }
    }
    c.send_typed(
        Method::POST,
        "/crm/rest/v1/emails/queue",
        Some(&plan.bearer),
        Some((
            HeaderValue::from_static("application/json"),
            queue_body(&to, plan.user_id),
        )),
    )
    .await
}

struct TaskOut {
    latencies: Vec<u32>,
    errors: BTreeMap<u16, u64>,
    transport: u64,
}

async fn task(
    addr: SocketAddr,
    plan: Arc<Plan>,
    seed: u64,
    measure_from: Instant,
    end: Instant,
) -> TaskOut {
    let mut out = TaskOut {
        latencies: Vec::with_capacity(1 << 12),
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
        let c = match conn.as_mut() {
            Some(c) => c,
            None => match Conn::connect(addr).await {
                Ok(c) => conn.insert(c),
                Err(_) => {
                    out.transport += 1;
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
        };
        match one_request(c, &plan, &mut rng).await {
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

async fn load_point(
    addr: SocketAddr,
    plan: Arc<Plan>,
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
                Arc::clone(&plan),
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

/// The seeding requests: contacts, the sending user; and the probe afterwards.
async fn prepare(
    addr: SocketAddr,
    bearer: &HeaderValue,
    n: u64,
) -> anyhow::Result<(Vec<i64>, i64)> {
    let mut c = Conn::connect(addr).await?;
    let (status, body) = c
        .send_typed(Method::GET, "/crm/rest/v1/users", Some(bearer), None)
        .await?;
    ensure!(status.is_success(), "GET /users: {status}");
    let users: serde_json::Value = serde_json::from_slice(&body)?;
    let user_id = users["users"][0]["id"]
        .as_i64()
        .context("GET /users: no user id")?;
    let mut ids = Vec::with_capacity(usize::try_from(n)?);
    for k in 0..n {
        let body = Bytes::from(format!(
            r#"{{"given_name":"R{k}","family_name":"Recipient","email_addresses":[{{"email":"r{k}@example.com","field":"EMAIL1"}}],"opt_in_reason":"bench"}}"#
        ));
        let (status, resp) = c
            .send_typed(
                Method::POST,
                "/crm/rest/v1/contacts",
                Some(bearer),
                Some((HeaderValue::from_static("application/json"), body)),
            )
            .await?;
        ensure!(
            status.is_success(),
            "seeding contact {k}: {status}: {}",
            String::from_utf8_lossy(&resp)
        );
        let v: serde_json::Value = serde_json::from_slice(&resp)?;
        ids.push(v["id"].as_i64().context("seeded contact has no id")?);
    }
    // One send, checked end to end: 202 with an empty body, and the record it made.
    let probe = queue_body(&ids[..1], user_id);
    let (status, resp) = c
        .send_typed(
            Method::POST,
            "/crm/rest/v1/emails/queue",
            Some(bearer),
            Some((HeaderValue::from_static("application/json"), probe)),
        )
        .await?;
    ensure!(
        status.as_u16() == 202 && resp.is_empty(),
        "probe send: {status} {}",
        String::from_utf8_lossy(&resp)
    );
    let (status, resp) = c
        .send_typed(
            Method::GET,
            &format!("/crm/rest/v1/emails?contact_id={}", ids[0]),
            Some(bearer),
            None,
        )
        .await?;
    let count = serde_json::from_slice::<serde_json::Value>(&resp)
        .ok()
        .and_then(|v| v["count"].as_u64());
    ensure!(
        status.is_success() && count == Some(1),
        "probe: the send made {count:?} e-mail records"
    );
    Ok((ids, user_id))
}

struct Row {
    op: Op,
    server: &'static str,
    rep: LoadReport,
}

/// Runs the stage, prints the table and writes the report.
///
/// # Errors
/// Any server that fails to start, seed or answer.
pub fn run(cfg: &EmailsConfig) -> anyhow::Result<()> {
    let started = Instant::now();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cfg.driver_threads.max(1))
        .enable_all()
        .build()?;
    if cfg.work_dir.exists() {
        std::fs::remove_dir_all(&cfg.work_dir)
            .with_context(|| format!("cannot wipe {}", cfg.work_dir.display()))?;
    }
    std::fs::create_dir_all(&cfg.work_dir)?;
    for b in [
        &cfg.keapsake_bin,
        &cfg.ceiling_http_bin,
        &cfg.ceiling_sqlite_bin,
    ] {
        if !b.exists() {
            bail!(
                "{} is missing; build with `cargo build --release -p keapsake-cli -p keapsake-bench`",
                b.display()
            );
        }
    }
    ensure!(cfg.contacts >= 10, "--contacts must be at least 10");
    let ks = Keapsake::demo(cfg.keapsake_bin.clone(), cfg.work_dir.join("keapsake.db"));
    let ks_log = cfg.work_dir.join("keapsake.log");
    ks.seed_demo(Some(&ks_log))?;
    let token = ks.mint()?.access_token;
    let bearer = HeaderValue::from_str(&format!("Bearer {token}"))?;

    let ks_addr = free_addr()?;
    let mut ks_srv = ServerProc::spawn(
        &cfg.keapsake_bin,
        &ks.serve_args(ks_addr, &[]),
        ks_addr,
        Some(&ks_log),
    )?;
    ks_srv.wait_healthy(Instant::now(), Duration::from_secs(30))?;
    let http_addr = free_addr()?;
    let mut http_srv = ServerProc::spawn(
        &cfg.ceiling_http_bin,
        &["--listen".into(), http_addr.to_string()],
        http_addr,
        None,
    )?;
    http_srv.wait_healthy(Instant::now(), Duration::from_secs(30))?;
    let sqlite_addr = free_addr()?;
    let sqlite_args = vec![
        "--listen".into(),
        sqlite_addr.to_string(),
        "--database".into(),
        cfg.work_dir.join("ceiling.db").display().to_string(),
    ];
    let mut sqlite_srv =
        ServerProc::spawn(&cfg.ceiling_sqlite_bin, &sqlite_args, sqlite_addr, None)?;
    sqlite_srv.wait_healthy(Instant::now(), Duration::from_secs(30))?;

    eprintln!("== seeding {} recipient contacts", cfg.contacts);
    let (contacts, user_id) = rt.block_on(prepare(ks_addr, &bearer, cfg.contacts))?;
    eprintln!("   done; sending user {user_id}; probe send checked");
    let contacts = Arc::new(contacts);
    let plan = |op| {
        Arc::new(Plan {
            op,
            bearer: bearer.clone(),
            basic: BasicAuth::new("keapsake-demo-app", "keapsake-demo-secret")
                .expect("ASCII credentials"),
            contacts: Arc::clone(&contacts),
            user_id,
        })
    };
    let mut rows: Vec<Row> = Vec::new();
    for &c in &cfg.connections {
        let points: [(&'static str, SocketAddr, Op); 4] = [
            ("ceiling-http", http_addr, Op::Token),
            ("ceiling-sqlite", sqlite_addr, Op::Token),
            ("keapsake", ks_addr, Op::Queue1),
            ("keapsake", ks_addr, Op::Queue10),
        ];
        for (server, addr, op) in points {
            let rep = rt.block_on(load_point(addr, plan(op), c, cfg.warmup, cfg.duration))?;
            eprintln!("   {server:<15} {:<48} {}", op.label(), rep.summary());
            rows.push(Row { op, server, rep });
        }
    }
    let loaded_rss = ks_srv.rss_kib().unwrap_or(0);
    ks_srv.stop()?;
    http_srv.stop()?;
    sqlite_srv.stop()?;
    let db_bytes: u64 = ["", "-wal"]
        .iter()
        .map(|s| std::fs::metadata(crate::procs::suffixed(&ks.database, s)).map_or(0, |m| m.len()))
        .sum();

    let md = render(cfg, &rows, db_bytes, loaded_rss, started.elapsed());
    println!("\n{md}");
    if let Some(dir) = cfg.report.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&cfg.report, &md)
        .with_context(|| format!("cannot write {}", cfg.report.display()))?;
    eprintln!("report written to {}", cfg.report.display());
    Ok(())
}

fn ratio(a: f64, b: f64) -> String {
    if b > 0.0 && a.is_finite() && b.is_finite() {
        format!("{:.2}×", a / b)
    } else {
        "—".into()
    }
}

fn render(
    cfg: &EmailsConfig,
    rows: &[Row],
    db_bytes: u64,
    loaded_rss_kib: u64,
    took: Duration,
) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# keapsake bench, REST v1 e-mail queue: {}\n",
        crate::machine::now_utc()
    );
    let _ = writeln!(s, "Command: `{}`\n", cfg.command);
    let _ = writeln!(s, "{}\n", crate::machine::describe());
    let _ = writeln!(
        s,
        "Load average (1/5/15 min) at the end: {}. Whole stage took {:.0} s.\n",
        crate::machine::loadavg(),
        took.as_secs_f64()
    );
    let _ = writeln!(
        s,
        "{} recipient contacts seeded; keapsake default durability (synchronous=FULL), no SMTP worker (the outbox only grows). \
         Each point: {:.1} s warm-up + {:.1} s measured, closed loop, one keep-alive connection per task. A request counts when it \
         answers 202 (every recipient's e-mail record and outbox message committed). `recipients/s` = req/s × recipients. \
         `÷ http` / `÷ sqlite` divide keapsake req/s by ceiling-http's / ceiling-sqlite's `POST /token` req/s at the same connection \
         count in this run. Database + WAL at the end: {:.1} MiB.\n",
        cfg.contacts,
        cfg.warmup.as_secs_f64(),
        cfg.duration.as_secs_f64(),
        db_bytes as f64 / 1_048_576.0
    );
    let _ = writeln!(
        s,
        "| server | request | conn | req/s | recipients/s | p50 ms | p99 ms | errors | ÷ http | ÷ sqlite |"
    );
    let _ = writeln!(s, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for &c in &cfg.connections {
        let base = |name: &str| {
            rows.iter()
                .find(|r| r.server == name && r.rep.connections == c)
                .map_or(0.0, |r| r.rep.rps())
        };
        let (h, q) = (base("ceiling-http"), base("ceiling-sqlite"));
        for r in rows.iter().filter(|r| r.rep.connections == c) {
            let k = r.rep.rps();
            let is_ks = r.op != Op::Token;
            let _ = writeln!(
                s,
                "| {} | `{}` | {c} | {k:.0} | {} | {:.3} | {:.3} | {} | {} | {} |",
                r.server,
                r.op.label(),
                if is_ks {
                    format!("{:.0}", k * r.op.recipients() as f64)
                } else {
                    String::new()
                },
                r.rep.quantile_ms(0.5),
                r.rep.quantile_ms(0.99),
                r.rep.errors(),
                if is_ks { ratio(k, h) } else { "".into() },
                if is_ks { ratio(k, q) } else { "".into() },
            );
        }
    }
    let _ = writeln!(
        s,
        "\nkeapsake RSS after the run: {:.1} MiB.",
        loaded_rss_kib as f64 / 1024.0
    );
    s
}
