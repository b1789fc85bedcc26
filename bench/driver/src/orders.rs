//! `keapsake-bench orders` (`bench/orders`): `POST /crm/rest/v1/orders` with three items, with
//! every keapsake figure divided by `ceiling-http` and `ceiling-sqlite` measured in the same run
//! at the same connection counts (the baseline of `bench/contacts` and `bench/run`).
//!
//! keapsake runs with its default durability on a fresh database: `serve --demo` seeds the demo
//! sandbox, `keapsake token mint` gives a bearer token, one contact and three products are
//! created through the API, then at each connection count (warm-up plus a measured window) each
//! request creates an order of the three products (quantities 1–3, one price override as a
//! string): the contact and products are looked up, the totals computed in exact decimals and
//! the order with its items written as one record.

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

/// Settings of the orders stage.
#[derive(Debug, Clone)]
pub struct OrdersConfig {
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
    /// `POST /crm/rest/v1/orders` with three items.
    CreateOrder,
}

impl Op {
    fn label(self) -> &'static str {
        match self {
            Op::Token => "POST /token",
            Op::CreateOrder => "POST /crm/rest/v1/orders (3 items)",
        }
    }
}

struct Plan {
    op: Op,
    bearer: HeaderValue,
    basic: BasicAuth,
    order: Bytes,
}

async fn one_request(c: &mut Conn, plan: &Plan) -> anyhow::Result<(hyper::StatusCode, Bytes)> {
    match plan.op {
        Op::Token => c.refresh(&plan.basic, "unused-by-the-ceilings").await,
        Op::CreateOrder => {
            c.send_typed(
                Method::POST,
                "/crm/rest/v1/orders",
                Some(&plan.bearer),
                Some((
                    HeaderValue::from_static("application/json"),
                    plan.order.clone(),
                )),
            )
            .await
        }
    }
}

struct TaskOut {
    latencies: Vec<u32>,
    errors: BTreeMap<u16, u64>,
    transport: u64,
}

async fn task(addr: SocketAddr, plan: Arc<Plan>, measure_from: Instant, end: Instant) -> TaskOut {
    let mut out = TaskOut {
        latencies: Vec::with_capacity(1 << 12),
        errors: BTreeMap::new(),
        transport: 0,
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
                    out.transport += 1;
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
        };
        match one_request(c, &plan).await {
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
        .map(|_| tokio::spawn(task(addr, Arc::clone(&plan), measure_from, end)))
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

/// Creates one record through the API and returns its id.
async fn create(
    c: &mut Conn,
    bearer: &HeaderValue,
    path: &str,
    body: String,
) -> anyhow::Result<i64> {
    let (status, raw) = c
        .send_typed(
            Method::POST,
            path,
            Some(bearer),
            Some((
                HeaderValue::from_static("application/json"),
                Bytes::from(body),
            )),
        )
        .await?;
    ensure!(
        status.is_success(),
        "seeding {path}: {status}: {}",
        String::from_utf8_lossy(&raw)
    );
    serde_json::from_slice::<serde_json::Value>(&raw)?
        .get("id")
        .and_then(serde_json::Value::as_i64)
        .with_context(|| format!("seeding {path}: no id"))
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
pub fn run(cfg: &OrdersConfig) -> anyhow::Result<()> {
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

    // One contact, three products; then check one order's total.
    let (order, total) = rt.block_on(async {
        let mut c = Conn::connect(ks_addr).await?;
        let contact = create(
            &mut c,
            &bearer,
            "/crm/rest/v1/contacts",
            r#"{"given_name":"Bench","email_addresses":[{"email":"bench@example.com","field":"EMAIL1"}]}"#.into(),
        )
        .await?;
        let mut products = Vec::new();
        for (i, price) in ["19.99", "33.335", "0.10"].iter().enumerate() {
            products.push(
                create(
                    &mut c,
                    &bearer,
                    "/crm/rest/v1/products",
                    format!(r#"{{"product_name":"Bench product {i}","product_price":"{price}"}}"#),
                )
                .await?,
            );
        }
        let order = format!(
            r#"{{"contact_id":{contact},"order_date":"2024-05-21T14:30:00.000Z","order_title":"Bench order","order_type":"Online","order_items":[{{"product_id":{},"quantity":1}},{{"product_id":{},"quantity":3}},{{"product_id":{},"quantity":2,"price":"4.50","item_type":"SHIPPING"}}]}}"#,
            products[0], products[1], products[2]
        );
        let (status, raw) = c
            .send_typed(
                Method::POST,
                "/crm/rest/v1/orders",
                Some(&bearer),
                Some((HeaderValue::from_static("application/json"), Bytes::from(order.clone()))),
            )
            .await?;
        ensure!(status.as_u16() == 201, "probe order: {status}: {}", String::from_utf8_lossy(&raw));
        let total = serde_json::from_slice::<serde_json::Value>(&raw)?
            .get("total")
            .cloned()
            .unwrap_or_default();
        anyhow::Ok((Bytes::from(order), total))
    })?;
    // 19.99 + 3 × 33.335 + 2 × 4.50 = 128.995 → 129.00 (half-up).
    ensure!(
        total == serde_json::json!(129.0),
        "probe order total {total}, expected 129.0"
    );
    eprintln!("== probe order total {total} (19.99 + 3 × 33.335 + 2 × 4.50, half-up)");

    let plan = |op| {
        Arc::new(Plan {
            op,
            bearer: bearer.clone(),
            basic: BasicAuth::new("keapsake-demo-app", "keapsake-demo-secret")
                .expect("ASCII credentials"),
            order: order.clone(),
        })
    };
    let mut rows: Vec<Row> = Vec::new();
    for &c in &cfg.connections {
        let points: [(&'static str, SocketAddr, Op); 3] = [
            ("ceiling-http", http_addr, Op::Token),
            ("ceiling-sqlite", sqlite_addr, Op::Token),
            ("keapsake", ks_addr, Op::CreateOrder),
        ];
        for (server, addr, op) in points {
            let rep = rt.block_on(load_point(addr, plan(op), c, cfg.warmup, cfg.duration))?;
            eprintln!("   {server:<15} {:<40} {}", op.label(), rep.summary());
            rows.push(Row { op, server, rep });
        }
    }
    let loaded_rss = ks_srv.rss_kib().unwrap_or(0);
    ks_srv.stop()?;
    http_srv.stop()?;
    sqlite_srv.stop()?;
    let md = render(cfg, &rows, loaded_rss, started.elapsed());
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

fn render(cfg: &OrdersConfig, rows: &[Row], loaded_rss_kib: u64, took: Duration) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# keapsake bench, REST v1 orders: {}\n",
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
        "Each keapsake request is `POST /crm/rest/v1/orders` with three items (one contact and three products seeded \
         through the API; one price override as a string; a SHIPPING line), answered 201 with the created order. \
         Each point: {:.1} s warm-up + {:.1} s measured, closed loop, one keep-alive connection per task. `÷ http` and \
         `÷ sqlite` divide keapsake's req/s by ceiling-http's and ceiling-sqlite's `POST /token` req/s at the same \
         connection count, measured in this run (the baseline of `bench/contacts`).\n",
        cfg.warmup.as_secs_f64(),
        cfg.duration.as_secs_f64()
    );
    let _ = writeln!(
        s,
        "| server | request | conn | req/s | p50 ms | p99 ms | errors | ÷ http | ÷ sqlite |"
    );
    let _ = writeln!(s, "|---|---|---:|---:|---:|---:|---:|---:|---:|");
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
                "| {} | `{}` | {c} | {k:.0} | {:.3} | {:.3} | {} | {} | {} |",
                r.server,
                r.op.label(),
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
