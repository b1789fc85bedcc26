//! What the same-run stages (`bench/contacts`, `bench/orders`, `bench/emails`) share: keapsake
//! and the two ceilings started side by side, closed-loop load points of one request kind each,
//! the table of each keapsake figure divided by the ceilings' `POST /token` at the same
//! connection count, and the written report.

use crate::load::{self, LoadReport, Request};
use crate::procs::{Keapsake, ServerProc, free_addr};
use anyhow::{Context as _, bail};
use hyper::header::HeaderValue;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Settings every same-run stage has.
#[derive(Debug, Clone)]
pub struct StageConfig {
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

/// Builds the driver's runtime, wipes the scratch directory and checks that the binaries
/// exist.
///
/// # Errors
/// If the runtime cannot be built, the directory cannot be wiped or made, or a binary is
/// missing.
pub(crate) fn prepare(cfg: &StageConfig) -> anyhow::Result<tokio::runtime::Runtime> {
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
    Ok(rt)
}

/// keapsake (default durability, demo seed, one minted bearer token) and the two ceilings, each
/// answering `/healthz`.
pub(crate) struct Servers {
    /// The keapsake database and binary.
    pub ks: Keapsake,
    /// `Bearer <token>` for keapsake.
    pub bearer: HeaderValue,
    /// keapsake's address.
    pub ks_addr: SocketAddr,
    /// `ceiling-http`'s address.
    pub http_addr: SocketAddr,
    /// `ceiling-sqlite`'s address.
    pub sqlite_addr: SocketAddr,
    ks_srv: ServerProc,
    http_srv: ServerProc,
    sqlite_srv: ServerProc,
}

impl Servers {
    /// Seeds keapsake's database in the scratch directory, mints a token, and starts the three
    /// servers.
    ///
    /// # Errors
    /// If a server cannot be seeded or started, or does not answer within 30 s.
    pub(crate) fn start(cfg: &StageConfig) -> anyhow::Result<Self> {
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
        Ok(Self {
            ks,
            bearer,
            ks_addr,
            http_addr,
            sqlite_addr,
            ks_srv,
            http_srv,
            sqlite_srv,
        })
    }

    /// Stops the three servers; returns keapsake's RSS just before (KiB, 0 if unreadable) and
    /// its database.
    ///
    /// # Errors
    /// If a server cannot be stopped.
    pub(crate) fn stop(self) -> anyhow::Result<(u64, Keapsake)> {
        let loaded_rss = self.ks_srv.rss_kib().unwrap_or(0);
        self.ks_srv.stop()?;
        self.http_srv.stop()?;
        self.sqlite_srv.stop()?;
        Ok((loaded_rss, self.ks))
    }
}

/// The request kinds of a stage.
pub(crate) trait Op: Copy + PartialEq {
    /// The ceilings' `POST /token`.
    const TOKEN: Self;
    /// Width of the request column in the progress lines.
    const LABEL_WIDTH: usize;
    /// The request, as the table shows it.
    fn label(self) -> &'static str;
}

/// One measured load point.
pub(crate) struct Row<O> {
    /// The request.
    pub op: O,
    /// `keapsake`, `ceiling-http` or `ceiling-sqlite`.
    pub server: &'static str,
    /// What it measured.
    pub rep: LoadReport,
}

/// At each connection count, measures every `(server, address, request)` point in turn with
/// the request `plan` gives, printing a line per point.
///
/// # Errors
/// If a load point fails.
pub(crate) fn measure<O: Op, R: Request>(
    rt: &tokio::runtime::Runtime,
    cfg: &StageConfig,
    points: &[(&'static str, SocketAddr, O)],
    plan: impl Fn(O) -> Arc<R>,
) -> anyhow::Result<Vec<Row<O>>> {
    let mut rows: Vec<Row<O>> = Vec::new();
    for &c in &cfg.connections {
        for &(server, addr, op) in points {
            let rep = rt.block_on(load::closed_loop(
                addr,
                plan(op),
                c,
                cfg.warmup,
                cfg.duration,
            ))?;
            eprintln!(
                "   {server:<15} {:<width$} {}",
                op.label(),
                rep.summary(),
                width = O::LABEL_WIDTH
            );
            rows.push(Row { op, server, rep });
        }
    }
    Ok(rows)
}

/// `a ÷ b` as `1.23×`, or `—` when there is nothing to divide by.
pub(crate) fn ratio(a: f64, b: f64) -> String {
    if b > 0.0 && a.is_finite() && b.is_finite() {
        format!("{:.2}×", a / b)
    } else {
        "—".into()
    }
}

/// The report's title (`# keapsake bench, REST v1 <what>: <time>`), command line, machine and
/// load average.
pub(crate) fn write_head(s: &mut String, what: &str, cfg: &StageConfig, took: Duration) {
    let _ = writeln!(
        s,
        "# keapsake bench, REST v1 {what}: {}\n",
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
}

/// A column of the table after `req/s`: its header, and a row's cell given its req/s.
pub(crate) type Extra<'a, O> = (&'a str, &'a dyn Fn(&Row<O>, f64) -> String);

/// The table: a line per point, each keapsake req/s divided by ceiling-http's and
/// ceiling-sqlite's at the same connection count.
pub(crate) fn write_table<O: Op>(
    s: &mut String,
    cfg: &StageConfig,
    rows: &[Row<O>],
    extra: Option<Extra<'_, O>>,
) {
    let (head, rule) = extra.map_or((String::new(), ""), |(name, _)| {
        (format!(" {name} |"), "---:|")
    });
    let _ = writeln!(
        s,
        "| server | request | conn | req/s |{head} p50 ms | p99 ms | errors | ÷ http | ÷ sqlite |"
    );
    let _ = writeln!(s, "|---|---|---:|---:|{rule}---:|---:|---:|---:|---:|");
    for &c in &cfg.connections {
        let base = |name: &str| {
            rows.iter()
                .find(|r| r.server == name && r.rep.connections == c)
                .map_or(0.0, |r| r.rep.rps())
        };
        let (h, q) = (base("ceiling-http"), base("ceiling-sqlite"));
        for r in rows.iter().filter(|r| r.rep.connections == c) {
            let k = r.rep.rps();
            let is_ks = r.op != O::TOKEN;
            let cell = extra.map_or(String::new(), |(_, f)| format!(" {} |", f(r, k)));
            let _ = writeln!(
                s,
                "| {} | `{}` | {c} | {k:.0} |{cell} {:.3} | {:.3} | {} | {} | {} |",
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
}

/// The report's last line: keapsake's RSS after the run.
pub(crate) fn write_rss(s: &mut String, loaded_rss_kib: u64) {
    let _ = writeln!(
        s,
        "\nkeapsake RSS after the run: {:.1} MiB.",
        loaded_rss_kib as f64 / 1024.0
    );
}

/// Prints the report and writes it to the report file.
///
/// # Errors
/// If the file cannot be written.
pub(crate) fn publish(cfg: &StageConfig, md: &str) -> anyhow::Result<()> {
    let report = &cfg.report;
    println!("\n{md}");
    if let Some(dir) = report.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(report, md).with_context(|| format!("cannot write {}", report.display()))?;
    eprintln!("report written to {}", report.display());
    Ok(())
}
