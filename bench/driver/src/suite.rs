//! The whole benchmark in one run: cold start, idle RSS and refresh-grant load for keapsake and
//! the two ceilings, every keapsake figure divided by the ceilings measured in the same run.

use crate::http::{BasicAuth, Conn};
use crate::load::{self, LoadConfig, LoadReport};
use crate::procs::{Keapsake, ServerProc, free_addr};
use anyhow::{Context as _, bail};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Suite settings.
#[derive(Debug, Clone)]
pub struct SuiteConfig {
    /// The `keapsake` binary.
    pub keapsake_bin: PathBuf,
    /// The `ceiling-http` binary.
    pub ceiling_http_bin: PathBuf,
    /// The `ceiling-sqlite` binary.
    pub ceiling_sqlite_bin: PathBuf,
    /// Scratch directory (databases, logs); wiped at the start.
    pub work_dir: PathBuf,
    /// Where the markdown report goes.
    pub report: PathBuf,
    /// Cold-start runs per server (the median is reported).
    pub cold_runs: usize,
    /// Load points (connection counts).
    pub connections: Vec<usize>,
    /// Warm-up per load point.
    pub warmup: Duration,
    /// Measured window per load point.
    pub duration: Duration,
    /// Slices each load point is measured in, the servers taking turns.
    pub rounds: usize,
    /// Tokio worker threads of the driver's runtime (the rest of the machine is the server's).
    pub driver_threads: usize,
    /// Extra arguments for `keapsake serve` (e.g. `--durability relaxed`).
    pub keapsake_args: Vec<String>,
    /// Pool size of `ceiling-sqlite`.
    pub ceiling_sqlite_pool: u32,
    /// The command line that produced this run, for the report.
    pub command: String,
}

const CLIENT_ID: &str = "keapsake-demo-app";
const CLIENT_SECRET: &str = "keapsake-demo-secret";

/// What was measured for one server.
#[derive(Debug, Default)]
struct Target {
    name: &'static str,
    cold_ms: Vec<f64>,
    idle_rss_kib: u64,
    loaded_rss_kib: u64,
    points: Vec<LoadReport>,
    /// Per load point: CPU cores used by (server, driver, everything else on the machine).
    cpu: Vec<(f64, f64, f64)>,
}

impl Target {
    fn cold_median(&self) -> f64 {
        median(&self.cold_ms)
    }
    fn point(&self, c: usize) -> Option<&LoadReport> {
        self.points.iter().find(|p| p.connections == c)
    }
}

/// CPU time counters, to tell how much of the machine the server, the driver and everything else
/// (other people's builds on a shared machine) used during a load point.
struct CpuSample {
    at: Instant,
    busy: u64,
    server: u64,
    driver: u64,
}

fn proc_jiffies(stat_path: &str) -> u64 {
    // utime + stime: fields 14 and 15, counted after the `(comm)` field, which may hold spaces.
    std::fs::read_to_string(stat_path)
        .ok()
        .and_then(|s| {
            let rest = s.rsplit_once(") ")?.1.to_string();
            let f: Vec<u64> = rest
                .split_whitespace()
                .skip(11)
                .take(2)
                .filter_map(|x| x.parse().ok())
                .collect();
            Some(f.iter().sum())
        })
        .unwrap_or(0)
}

impl CpuSample {
    fn take(server_pid: u32) -> Self {
        let busy = std::fs::read_to_string("/proc/stat")
            .ok()
            .and_then(|s| {
                let line = s.lines().next()?.to_string();
                // user nice system idle iowait irq softirq steal: everything but idle and iowait.
                let f: Vec<u64> = line
                    .split_whitespace()
                    .skip(1)
                    .take(8)
                    .filter_map(|x| x.parse().ok())
                    .collect();
                (f.len() == 8).then(|| f[0] + f[1] + f[2] + f[5] + f[6] + f[7])
            })
            .unwrap_or(0);
        Self {
            at: Instant::now(),
            busy,
            server: proc_jiffies(&format!("/proc/{server_pid}/stat")),
            driver: proc_jiffies("/proc/self/stat"),
        }
    }

    /// Cores used between `self` and `later` by (server, driver, other), at 100 jiffies/s.
    fn cores_until(&self, later: &Self) -> (f64, f64, f64) {
        let secs = later.at.duration_since(self.at).as_secs_f64() * 100.0;
        let server = later.server.saturating_sub(self.server) as f64 / secs;
        let driver = later.driver.saturating_sub(self.driver) as f64 / secs;
        let busy = later.busy.saturating_sub(self.busy) as f64 / secs;
        (server, driver, (busy - server - driver).max(0.0))
    }
}

fn median(v: &[f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    }
}

/// Runs the suite, prints the table and writes the report.
///
/// # Errors
/// Any server that fails to start, seed or answer.
pub fn run(cfg: &SuiteConfig) -> anyhow::Result<()> {
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
                "{} is missing; bench/run builds it with `cargo build --release -p keapsake-cli -p keapsake-bench`",
                b.display()
            );
        }
    }
    let auth = BasicAuth::new(CLIENT_ID, CLIENT_SECRET)?;
    let max_conns = cfg.connections.iter().copied().max().unwrap_or(1);
    let ks = Keapsake::demo(cfg.keapsake_bin.clone(), cfg.work_dir.join("keapsake.db"));
    let ks_log = cfg.work_dir.join("keapsake.log");
    let sqlite_db = cfg.work_dir.join("ceiling.db");

    // How busy the machine is before we start (other people's builds on a shared box).
    let pre = CpuSample::take(0);
    std::thread::sleep(Duration::from_secs(1));
    let idle_before = pre.cores_until(&CpuSample::take(0)).2;
    eprintln!("== machine: {idle_before:.2} cores busy with other processes before the run");
    eprintln!(
        "== setup: seeding {} and minting {max_conns} refresh chains",
        ks.database.display()
    );
    let t = Instant::now();
    ks.seed_demo(Some(&ks_log))?;
    let mut chains: Vec<String> = ks
        .mint_many(max_conns)?
        .into_iter()
        .map(|p| p.refresh_token)
        .collect();
    // An identical copy (same tokens) for the synchronous=NORMAL run, so both durabilities start
    // from the same database and neither inherits the other's rows.
    let ks_relaxed = Keapsake::demo(
        cfg.keapsake_bin.clone(),
        cfg.work_dir.join("keapsake-relaxed.db"),
    );
    for suffix in ["", "-wal"] {
        let from = crate::procs::suffixed(&ks.database, suffix);
        if from.exists() {
            std::fs::copy(&from, crate::procs::suffixed(&ks_relaxed.database, suffix))?;
        }
    }
    let mut chains_relaxed = chains.clone();
    eprintln!("   done in {:.1} s", t.elapsed().as_secs_f64());

    let ks_args = |addr| {
        let extra: Vec<&str> = cfg.keapsake_args.iter().map(String::as_str).collect();
        ks.serve_args(addr, &extra)
    };
    let relaxed_args = |addr| {
        let mut extra: Vec<&str> = cfg.keapsake_args.iter().map(String::as_str).collect();
        extra.extend(["--durability", "relaxed"]);
        ks_relaxed.serve_args(addr, &extra)
    };
    let http_args = |addr: std::net::SocketAddr| vec!["--listen".to_string(), addr.to_string()];
    let sqlite_args = |addr: std::net::SocketAddr| {
        vec![
            "--listen".to_string(),
            addr.to_string(),
            "--database".to_string(),
            sqlite_db.display().to_string(),
            "--pool".to_string(),
            cfg.ceiling_sqlite_pool.to_string(),
        ]
    };

    let mut keapsake = Target {
        name: "keapsake",
        ..Target::default()
    };
    let keapsake_relaxed = Target {
        name: "keapsake --durability relaxed",
        ..Target::default()
    };
    let mut http = Target {
        name: "ceiling-http",
        ..Target::default()
    };
    let mut sqlite = Target {
        name: "ceiling-sqlite",
        ..Target::default()
    };

    // (a) Cold start on an existing database, interleaved so drift hits every server alike. The
    // first round is unmeasured: it creates ceiling.db and puts every binary in the page cache.
    eprintln!(
        "== cold start: {} runs each, spawn -> first 200 on GET /healthz",
        cfg.cold_runs
    );
    for round in 0..=cfg.cold_runs {
        for (target, bin, args, log) in [
            (
                &mut keapsake,
                &cfg.keapsake_bin,
                &ks_args as &dyn Fn(_) -> Vec<String>,
                Some(ks_log.as_path()),
            ),
            (&mut http, &cfg.ceiling_http_bin, &http_args, None),
            (&mut sqlite, &cfg.ceiling_sqlite_bin, &sqlite_args, None),
        ] {
            let addr = free_addr()?;
            let t0 = Instant::now();
            let mut srv = ServerProc::spawn(bin, &args(addr), addr, log)?;
            let d = srv
                .wait_healthy(t0, Duration::from_secs(30))
                .with_context(|| format!("{} cold start", target.name))?;
            srv.stop()?;
            if round > 0 {
                target.cold_ms.push(d.as_secs_f64() * 1000.0);
            }
        }
    }
    for t in [&keapsake, &http, &sqlite] {
        eprintln!("   {:<15} median {:.2} ms", t.name, t.cold_median());
    }

    // (b) + (c): all four servers run side by side; each gets a few requests and its idle RSS is
    // read, then every load point is measured in `rounds` slices, the servers taking turns (in a
    // rotating order) within each round. On a shared machine, whatever else runs then disturbs
    // every server alike instead of ruining one of them, and the ratios stay meaningful.
    // The last server is keapsake with synchronous=NORMAL on an identical copy of the database:
    // the difference from the default (FULL) is what the fsync per group commit costs.
    let fixed: Vec<String> = vec!["unused-by-the-ceilings".to_string(); max_conns];
    let mut targets = [http, sqlite, keapsake, keapsake_relaxed];
    type ArgsFn<'a> = &'a dyn Fn(std::net::SocketAddr) -> Vec<String>;
    let specs: [(&PathBuf, ArgsFn<'_>, Option<&Path>, Vec<String>); 4] = [
        (&cfg.ceiling_http_bin, &http_args, None, fixed.clone()),
        (&cfg.ceiling_sqlite_bin, &sqlite_args, None, fixed.clone()),
        (
            &cfg.keapsake_bin,
            &ks_args,
            Some(ks_log.as_path()),
            std::mem::take(&mut chains),
        ),
        (
            &cfg.keapsake_bin,
            &relaxed_args,
            Some(ks_log.as_path()),
            std::mem::take(&mut chains_relaxed),
        ),
    ];
    let mut servers: Vec<(ServerProc, Vec<String>)> = Vec::with_capacity(4);
    for (target, (bin, args, log, mut ch)) in targets.iter_mut().zip(specs) {
        let addr = free_addr()?;
        let mut srv = ServerProc::spawn(bin, &args(addr), addr, log)?;
        srv.wait_healthy(Instant::now(), Duration::from_secs(30))?;
        // A few requests, so the idle figure includes what the first requests allocate.
        rt.block_on(async {
            let mut c = Conn::connect(addr).await?;
            for _ in 0..5 {
                let (status, body) = c.refresh(&auth, &ch[0]).await?;
                anyhow::ensure!(
                    status == 200,
                    "{}: warm-up refresh answered {status}: {}",
                    target.name,
                    String::from_utf8_lossy(&body)
                );
                ch[0] = serde_json::from_slice::<crate::http::TokenPair>(&body)?.refresh_token;
                c.send(hyper::Method::GET, "/healthz", None, None).await?;
            }
            anyhow::Ok(())
        })?;
        servers.push((srv, ch));
    }
    std::thread::sleep(Duration::from_millis(300));
    for (target, (srv, _)) in targets.iter_mut().zip(&servers) {
        target.idle_rss_kib = srv.rss_kib()?;
        eprintln!(
            "== {}: idle RSS {:.2} MiB",
            target.name,
            target.idle_rss_kib as f64 / 1024.0
        );
    }
    let rounds = cfg.rounds.max(1);
    let slice_warmup = cfg.warmup / u32::try_from(rounds).unwrap_or(1);
    let slice = cfg.duration / u32::try_from(rounds).unwrap_or(1);
    for &c in &cfg.connections {
        eprintln!(
            "== {c} connection(s): {rounds} round(s) of {:.1} s warm-up + {:.1} s measured per server",
            slice_warmup.as_secs_f64(),
            slice.as_secs_f64()
        );
        let mut merged: Vec<LoadReport> = vec![LoadReport::default(); targets.len()];
        let mut cpu = vec![(0.0, 0.0, 0.0); targets.len()];
        for round in 0..rounds {
            for k in 0..targets.len() {
                let i = (k + round) % targets.len();
                let (srv, ch) = &mut servers[i];
                let lc = LoadConfig {
                    addr: srv.addr,
                    connections: c,
                    warmup: slice_warmup,
                    duration: slice,
                    auth: auth.clone(),
                };
                let before = CpuSample::take(srv.pid());
                let (rep, next) = rt.block_on(load::run(&lc, std::mem::take(ch)))?;
                let used = before.cores_until(&CpuSample::take(srv.pid()));
                *ch = next;
                eprintln!(
                    "   {:<30} {}  [cores: server {:.2}, driver {:.2}, other {:.2}]",
                    targets[i].name,
                    rep.summary(),
                    used.0,
                    used.1,
                    used.2
                );
                let r = rounds as f64;
                cpu[i] = (
                    cpu[i].0 + used.0 / r,
                    cpu[i].1 + used.1 / r,
                    cpu[i].2 + used.2 / r,
                );
                merged[i].merge(rep);
            }
        }
        for ((target, rep), used) in targets.iter_mut().zip(merged).zip(cpu) {
            target.points.push(rep);
            target.cpu.push(used);
        }
    }
    for (target, (srv, _)) in targets.iter_mut().zip(servers) {
        target.loaded_rss_kib = srv.rss_kib()?;
        srv.stop()?;
    }
    let [http, sqlite, keapsake, keapsake_relaxed] = targets;

    let md = render(
        cfg,
        &keapsake,
        &keapsake_relaxed,
        &http,
        &sqlite,
        &ks_log,
        idle_before,
    );
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

fn num(v: f64, prec: usize, unit: &str) -> String {
    if v.is_finite() {
        format!("{v:.prec$}{unit}")
    } else {
        "—".into()
    }
}

fn render(
    cfg: &SuiteConfig,
    ks: &Target,
    relaxed: &Target,
    http: &Target,
    sqlite: &Target,
    ks_log: &Path,
    busy_before: f64,
) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# keapsake bench: {}\n", crate::machine::now_utc());
    let _ = writeln!(s, "Command: `{}`\n", cfg.command);
    let _ = writeln!(s, "{}\n", crate::machine::describe());
    let _ = writeln!(
        s,
        "Other processes used {busy_before:.2} cores in the second before the run; load average (1/5/15 min) at its end: {}.{}\n",
        crate::machine::loadavg(),
        if busy_before > 0.2 {
            " **The machine was not quiet: figures are disturbed.**"
        } else {
            ""
        }
    );
    let _ = writeln!(
        s,
        "Settings: {} cold starts per server (median; spawn → first 200 on `GET /healthz` on an existing database, polled every 0.1 ms); \
         load points {:?} connections, {} s warm-up + {} s measured per server and point, in {} interleaved slices (the four servers run side by side and take turns, \
         so background load on a shared machine hits them alike); one HTTP/1.1 keep-alive connection and one rotating refresh chain per connection; \
         driver on {} tokio worker thread(s) on the same machine; keapsake `serve{}{}` (durability default: synchronous=FULL); \
         ceiling-sqlite: pool of {} connection(s), WAL, synchronous=NORMAL, one INSERT per transaction.\n",
        cfg.cold_runs,
        cfg.connections,
        cfg.warmup.as_secs_f64(),
        cfg.duration.as_secs_f64(),
        cfg.rounds.max(1),
        cfg.driver_threads,
        if cfg.keapsake_args.is_empty() {
            ""
        } else {
            " "
        },
        cfg.keapsake_args.join(" "),
        cfg.ceiling_sqlite_pool,
    );
    let _ = writeln!(
        s,
        "*keapsake* is the default (`synchronous=FULL`: an fsync per group commit); *keapsake relaxed* is `--durability relaxed` \
         (`synchronous=NORMAL`) on an identical copy of the database, to show what the fsync costs. Both authenticate as the demo app.\n"
    );
    let _ = writeln!(
        s,
        "| metric | keapsake | keapsake relaxed | ceiling-http | ceiling-sqlite | keapsake ÷ ceiling-http | keapsake ÷ ceiling-sqlite | relaxed ÷ ceiling-sqlite |"
    );
    let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|---:|---:|");
    let row = |s: &mut String, name: &str, v: [f64; 4], unit: &str, prec: usize| {
        let [k, g, h, q] = v;
        let _ = writeln!(
            s,
            "| {name} | {} | {} | {} | {} | {} | {} | {} |",
            num(k, prec, unit),
            num(g, prec, unit),
            num(h, prec, unit),
            num(q, prec, unit),
            ratio(k, h),
            ratio(k, q),
            ratio(g, q)
        );
    };
    row(
        &mut s,
        "cold start, median",
        [
            ks.cold_median(),
            f64::NAN,
            http.cold_median(),
            sqlite.cold_median(),
        ],
        " ms",
        2,
    );
    let mib = |kib: u64| {
        if kib == 0 {
            f64::NAN
        } else {
            kib as f64 / 1024.0
        }
    };
    row(
        &mut s,
        "idle RSS",
        [
            mib(ks.idle_rss_kib),
            mib(relaxed.idle_rss_kib),
            mib(http.idle_rss_kib),
            mib(sqlite.idle_rss_kib),
        ],
        " MiB",
        1,
    );
    row(
        &mut s,
        "RSS after load",
        [
            mib(ks.loaded_rss_kib),
            mib(relaxed.loaded_rss_kib),
            mib(http.loaded_rss_kib),
            mib(sqlite.loaded_rss_kib),
        ],
        " MiB",
        1,
    );
    for &c in &cfg.connections {
        let get = |f: &dyn Fn(&LoadReport) -> f64| {
            [ks, relaxed, http, sqlite].map(|t| t.point(c).map_or(f64::NAN, f))
        };
        row(
            &mut s,
            &format!("refresh req/s, {c} conn"),
            get(&|r| r.rps()),
            "",
            0,
        );
        row(
            &mut s,
            &format!("refresh p50, {c} conn"),
            get(&|r| r.quantile_ms(0.5)),
            " ms",
            3,
        );
        row(
            &mut s,
            &format!("refresh p99, {c} conn"),
            get(&|r| r.quantile_ms(0.99)),
            " ms",
            3,
        );
    }

    let _ = writeln!(s, "\n## Targets\n");
    let verdict = |ok: bool| if ok { "**met**" } else { "**missed**" };
    let cold = ks.cold_median();
    let _ = writeln!(
        s,
        "- cold start < 20 ms: {cold:.2} ms, {}{} (ceiling-http {:.2} ms)",
        verdict(cold < 20.0),
        if cold < 20.0 {
            String::new()
        } else {
            format!(", over by {:.2} ms", cold - 20.0)
        },
        http.cold_median()
    );
    let rss = mib(ks.idle_rss_kib);
    let _ = writeln!(
        s,
        "- idle RSS < 15 MiB: {rss:.2} MiB, {}{} (ceiling-http {:.1} MiB)",
        verdict(rss < 15.0),
        if rss < 15.0 {
            String::new()
        } else {
            format!(", over by {:.2} MiB", rss - 15.0)
        },
        mib(http.idle_rss_kib)
    );
    let top = cfg.connections.iter().copied().max().unwrap_or(1);
    let q = sqlite.point(top).map_or(0.0, LoadReport::rps);
    for (t, note) in [
        (ks, ""),
        (relaxed, " (for reference; the target is for the default)"),
    ] {
        let k = t.point(top).map_or(0.0, LoadReport::rps);
        let _ = writeln!(
            s,
            "- {} refresh req/s at {top} conn ≥ ceiling-sqlite at {top}{note}: {k:.0} vs {q:.0} ({}), {}{}",
            t.name,
            ratio(k, q),
            verdict(k >= q && k > 0.0),
            if k >= q {
                String::new()
            } else {
                format!(
                    ", short by {:.0} req/s ({:.0} %)",
                    q - k,
                    if q > 0.0 { 100.0 * (q - k) / q } else { 0.0 }
                )
            }
        );
    }

    let _ = writeln!(s, "\n## Detail\n");
    for t in [ks, relaxed, http, sqlite] {
        if !t.cold_ms.is_empty() {
            let mut cold = t.cold_ms.clone();
            cold.sort_by(f64::total_cmp);
            let _ = writeln!(
                s,
                "- {}: cold start min {:.2} / median {:.2} / max {:.2} ms",
                t.name,
                cold.first().copied().unwrap_or(f64::NAN),
                t.cold_median(),
                cold.last().copied().unwrap_or(f64::NAN)
            );
        } else {
            let _ = writeln!(s, "- {}:", t.name);
        }
        for (i, p) in t.points.iter().enumerate() {
            let (srv, drv, other) = t
                .cpu
                .get(i)
                .copied()
                .unwrap_or((f64::NAN, f64::NAN, f64::NAN));
            let _ = writeln!(
                s,
                "  - `{}`; CPU cores used: server {srv:.2}, driver {drv:.2}, other processes {other:.2}{}{}",
                p.summary(),
                if other > 0.2 {
                    " (**machine not quiet: this point is disturbed**)"
                } else {
                    ""
                },
                if p.chains_broken > 0 {
                    format!(", {} chains broken", p.chains_broken)
                } else {
                    String::new()
                }
            );
        }
    }
    let log_len = std::fs::metadata(ks_log).map(|m| m.len()).unwrap_or(0);
    let _ = writeln!(
        s,
        "- keapsake log written during the run: {:.1} MiB ({})",
        log_len as f64 / 1048576.0,
        ks_log.display()
    );
    s
}
