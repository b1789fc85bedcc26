//! `keapsake-bench`: the load driver and orchestrator.
//!
//! - `keapsake-bench suite` — everything `bench/run` reports: cold start, idle RSS and refresh
//!   throughput/latency for keapsake, `ceiling-http` and `ceiling-sqlite`, in one run.
//! - `keapsake-bench load` — one load point against a server that is already running.
//! - `keapsake-bench contacts` — REST v1 contacts over 100,000 contacts against the same-run
//!   ceilings (`bench/contacts`).
//! - `keapsake-bench orders` — `POST /crm/rest/v1/orders` with three items against the same-run
//!   ceilings (`bench/orders`).
//! - `keapsake-bench emails` — `POST /emails/queue` (1 and 10 recipients) against the same-run
//!   ceilings (`bench/emails`).
//! - `keapsake-bench crash` — the `kill -9` durability check (`bench/crash`); exits 1 on any loss.

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use keapsake_bench::contacts::{self, ContactsConfig};
use keapsake_bench::crash::{self, CrashConfig};
use keapsake_bench::emails::{self, EmailsConfig};
use keapsake_bench::http::BasicAuth;
use keapsake_bench::load::{self, LoadConfig};
use keapsake_bench::orders::{self, OrdersConfig};
use keapsake_bench::procs::Keapsake;
use keapsake_bench::stage::StageConfig;
use keapsake_bench::suite::{self, SuiteConfig};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Debug, Parser)]
#[command(
    name = "keapsake-bench",
    about = "keapsake load driver, benchmark orchestrator and kill -9 check"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// The whole benchmark: cold start, idle RSS, refresh load; prints a table and writes a report.
    Suite {
        /// The `keapsake` binary (default: next to this one).
        #[arg(long)]
        keapsake_bin: Option<PathBuf>,
        /// Scratch directory, wiped first.
        #[arg(long, default_value = "bench/out/work")]
        work_dir: PathBuf,
        /// Markdown report.
        #[arg(long, default_value = "bench/out/latest.md")]
        report: PathBuf,
        /// Cold starts per server.
        #[arg(long, default_value_t = 15)]
        cold_runs: usize,
        /// Load points, comma-separated connection counts.
        #[arg(long, value_delimiter = ',', default_value = "1,64")]
        connections: Vec<usize>,
        /// Warm-up seconds per load point.
        #[arg(long, default_value_t = 2.0)]
        warmup: f64,
        /// Measured seconds per load point.
        #[arg(long, default_value_t = 10.0)]
        duration: f64,
        /// Slices per load point: the servers take turns, so background load hits them alike.
        #[arg(long, default_value_t = 5)]
        rounds: usize,
        /// Tokio worker threads of the driver.
        #[arg(long, default_value_t = 1)]
        driver_threads: usize,
        /// Pool size of ceiling-sqlite (sqlx's default).
        #[arg(long, default_value_t = 10)]
        ceiling_sqlite_pool: u32,
        /// Extra `keapsake serve` arguments, e.g. `--keapsake-arg=--durability --keapsake-arg=relaxed`.
        #[arg(long = "keapsake-arg", allow_hyphen_values = true)]
        keapsake_args: Vec<String>,
        /// The command line to print in the report.
        #[arg(long, default_value = "bench/run")]
        command: String,
    },
    /// REST v1 contacts: seeds 100,000 contacts, then GET by id, POST, two filtered lists and the
    /// XML-RPC ContactService.add and DataService.query (by Email), at
    /// each connection count, with ratios against ceiling-http and ceiling-sqlite in the same run.
    Contacts {
        /// The `keapsake` binary (default: next to this one).
        #[arg(long)]
        keapsake_bin: Option<PathBuf>,
        /// Scratch directory, wiped first.
        #[arg(long, default_value = "bench/out/contacts")]
        work_dir: PathBuf,
        /// Markdown report.
        #[arg(long, default_value = "bench/out/contacts.md")]
        report: PathBuf,
        /// Contacts to seed.
        #[arg(long, default_value_t = 100_000)]
        contacts: u64,
        /// Connections used to seed (the POST figure).
        #[arg(long, default_value_t = 64)]
        seed_connections: usize,
        /// Load points, comma-separated connection counts.
        #[arg(long, value_delimiter = ',', default_value = "1,64")]
        connections: Vec<usize>,
        /// Warm-up seconds per load point.
        #[arg(long, default_value_t = 1.0)]
        warmup: f64,
        /// Measured seconds per load point.
        #[arg(long, default_value_t = 5.0)]
        duration: f64,
        /// Tokio worker threads of the driver.
        #[arg(long, default_value_t = 1)]
        driver_threads: usize,
        /// The command line to print in the report.
        #[arg(long, default_value = "bench/contacts")]
        command: String,
    },
    /// REST v1 orders: `POST /crm/rest/v1/orders` with three items at each connection count,
    /// with ratios against ceiling-http and ceiling-sqlite in the same run.
    Orders {
        /// The `keapsake` binary (default: next to this one).
        #[arg(long)]
        keapsake_bin: Option<PathBuf>,
        /// Scratch directory, wiped first.
        #[arg(long, default_value = "bench/out/orders")]
        work_dir: PathBuf,
        /// Markdown report.
        #[arg(long, default_value = "bench/out/orders.md")]
        report: PathBuf,
        /// Load points, comma-separated connection counts.
        #[arg(long, value_delimiter = ',', default_value = "1,64")]
        connections: Vec<usize>,
        /// Warm-up seconds per load point.
        #[arg(long, default_value_t = 1.0)]
        warmup: f64,
        /// Measured seconds per load point.
        #[arg(long, default_value_t = 5.0)]
        duration: f64,
        /// Tokio worker threads of the driver.
        #[arg(long, default_value_t = 1)]
        driver_threads: usize,
        /// The command line to print in the report.
        #[arg(long, default_value = "bench/orders")]
        command: String,
    },
    /// REST v1 `POST /emails/queue` (1 and 10 recipients) at each connection count, with ratios
    /// against ceiling-http and ceiling-sqlite in the same run.
    Emails {
        /// The `keapsake` binary (default: next to this one).
        #[arg(long)]
        keapsake_bin: Option<PathBuf>,
        /// Scratch directory, wiped first.
        #[arg(long, default_value = "bench/out/emails")]
        work_dir: PathBuf,
        /// Markdown report.
        #[arg(long, default_value = "bench/out/emails.md")]
        report: PathBuf,
        /// Recipient contacts to seed.
        #[arg(long, default_value_t = 1000)]
        contacts: u64,
        /// Load points, comma-separated connection counts.
        #[arg(long, value_delimiter = ',', default_value = "1,64")]
        connections: Vec<usize>,
        /// Warm-up seconds per load point.
        #[arg(long, default_value_t = 1.0)]
        warmup: f64,
        /// Measured seconds per load point.
        #[arg(long, default_value_t = 5.0)]
        duration: f64,
        /// Tokio worker threads of the driver.
        #[arg(long, default_value_t = 1)]
        driver_threads: usize,
        /// The command line to print in the report.
        #[arg(long, default_value = "bench/emails")]
        command: String,
    },
    /// One load point against a running server.
    Load {
        /// Server address.
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: SocketAddr,
        /// Connections.
        #[arg(long, default_value_t = 64)]
        connections: usize,
        /// Warm-up seconds.
        #[arg(long, default_value_t = 2.0)]
        warmup: f64,
        /// Measured seconds.
        #[arg(long, default_value_t = 10.0)]
        duration: f64,
        /// Mint one chain per connection from this keapsake database (otherwise send a fixed
        /// token, which is all the ceilings need).
        #[arg(long)]
        database: Option<PathBuf>,
        /// The `keapsake` binary used to mint.
        #[arg(long)]
        keapsake_bin: Option<PathBuf>,
        /// Tokio worker threads of the driver.
        #[arg(long, default_value_t = 1)]
        driver_threads: usize,
        /// Client secret of the demo app (after `keapsake app rotate-secret`).
        #[arg(long, default_value = "keapsake-demo-secret")]
        client_secret: String,
    },
    /// Micro-measurement: the latency of one sqlx SQLite statement round trip (the unit the
    /// store's single writer pays per statement), sequentially on one connection.
    SqlxRtt {
        /// Round trips to time.
        #[arg(long, default_value_t = 20000)]
        n: u32,
    },
    /// kill -9 durability: every acknowledged refresh must survive; exits 1 on any loss.
    Crash {
        /// The `keapsake` binary (default: next to this one).
        #[arg(long)]
        keapsake_bin: Option<PathBuf>,
        /// Scratch directory, wiped first.
        #[arg(long, default_value = "bench/out/crash")]
        work_dir: PathBuf,
        /// Kill/restart cycles.
        #[arg(long, default_value_t = 20)]
        cycles: usize,
        /// Concurrent refresh chains.
        #[arg(long, default_value_t = 16)]
        chains: usize,
        /// Earliest kill (ms into the burst).
        #[arg(long, default_value_t = 10)]
        kill_min_ms: u64,
        /// Latest kill (ms into the burst).
        #[arg(long, default_value_t = 500)]
        kill_max_ms: u64,
        /// Seed for the kill moments (default: from the clock; printed).
        #[arg(long)]
        seed: Option<u64>,
        /// Extra `keapsake serve` arguments, e.g. `--serve-arg=--durability --serve-arg=relaxed`.
        #[arg(long = "serve-arg", allow_hyphen_values = true)]
        serve_args: Vec<String>,
        /// Rotate the demo app's secret to a generated one first (for builds that still store the
        /// demo secret as Argon2id, which allows only a few dozen refreshes per burst).
        #[arg(long)]
        rotate_secret: bool,
        /// Self-test of the check: restore a pre-burst copy of the database after each kill.
        /// Every acknowledged write is then lost, and the run must fail.
        #[arg(long)]
        sabotage: bool,
    },
}

fn sibling(name: &str) -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join(name)))
        .unwrap_or_else(|| PathBuf::from(name))
}

fn main() -> ExitCode {
    match real_main() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn real_main() -> anyhow::Result<ExitCode> {
    match Cli::parse().cmd {
        Cmd::Suite {
            keapsake_bin,
            work_dir,
            report,
            cold_runs,
            connections,
            warmup,
            duration,
            rounds,
            driver_threads,
            ceiling_sqlite_pool,
            keapsake_args,
            command,
        } => {
            suite::run(&SuiteConfig {
                keapsake_bin: keapsake_bin.unwrap_or_else(|| sibling("keapsake")),
                ceiling_http_bin: sibling("ceiling-http"),
                ceiling_sqlite_bin: sibling("ceiling-sqlite"),
                work_dir,
                report,
                cold_runs,
                connections,
                warmup: Duration::from_secs_f64(warmup),
                duration: Duration::from_secs_f64(duration),
                rounds,
                driver_threads,
                keapsake_args,
                ceiling_sqlite_pool,
                command,
            })?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Contacts {
            keapsake_bin,
            work_dir,
            report,
            contacts,
            seed_connections,
            connections,
            warmup,
            duration,
            driver_threads,
            command,
        } => {
            contacts::run(&ContactsConfig {
                stage: StageConfig {
                    keapsake_bin: keapsake_bin.unwrap_or_else(|| sibling("keapsake")),
                    ceiling_http_bin: sibling("ceiling-http"),
                    ceiling_sqlite_bin: sibling("ceiling-sqlite"),
                    work_dir,
                    report,
                    connections,
                    warmup: Duration::from_secs_f64(warmup),
                    duration: Duration::from_secs_f64(duration),
                    driver_threads,
                    command,
                },
                contacts,
                seed_connections,
            })?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Orders {
            keapsake_bin,
            work_dir,
            report,
            connections,
            warmup,
            duration,
            driver_threads,
            command,
        } => {
            orders::run(&OrdersConfig {
                stage: StageConfig {
                    keapsake_bin: keapsake_bin.unwrap_or_else(|| sibling("keapsake")),
                    ceiling_http_bin: sibling("ceiling-http"),
                    ceiling_sqlite_bin: sibling("ceiling-sqlite"),
                    work_dir,
                    report,
                    connections,
                    warmup: Duration::from_secs_f64(warmup),
                    duration: Duration::from_secs_f64(duration),
                    driver_threads,
                    command,
                },
            })?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Emails {
            keapsake_bin,
            work_dir,
            report,
            contacts,
            connections,
            warmup,
            duration,
            driver_threads,
            command,
        } => {
            emails::run(&EmailsConfig {
                stage: StageConfig {
                    keapsake_bin: keapsake_bin.unwrap_or_else(|| sibling("keapsake")),
                    ceiling_http_bin: sibling("ceiling-http"),
                    ceiling_sqlite_bin: sibling("ceiling-sqlite"),
                    work_dir,
                    report,
                    connections,
                    warmup: Duration::from_secs_f64(warmup),
                    duration: Duration::from_secs_f64(duration),
                    driver_threads,
                    command,
                },
                contacts,
            })?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Load {
            addr,
            connections,
            warmup,
            duration,
            database,
            keapsake_bin,
            driver_threads,
            client_secret,
        } => {
            let chains: Vec<String> = match database {
                Some(db) => Keapsake::demo(keapsake_bin.unwrap_or_else(|| sibling("keapsake")), db)
                    .mint_many(connections)?
                    .into_iter()
                    .map(|p| p.refresh_token)
                    .collect(),
                None => vec!["fixed".into(); connections],
            };
            let cfg = LoadConfig {
                addr,
                connections,
                warmup: Duration::from_secs_f64(warmup),
                duration: Duration::from_secs_f64(duration),
                auth: BasicAuth::new("keapsake-demo-app", &client_secret)?,
            };
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(driver_threads.max(1))
                .enable_all()
                .build()?;
            let (rep, _) = rt.block_on(load::run(&cfg, chains))?;
            println!("{}", rep.summary());
            Ok(if rep.errors() == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Cmd::SqlxRtt { n } => {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(sqlx_rtt(n))?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Crash {
            keapsake_bin,
            work_dir,
            cycles,
            chains,
            kill_min_ms,
            kill_max_ms,
            seed,
            serve_args,
            rotate_secret,
            sabotage,
        } => {
            if work_dir.exists() {
                std::fs::remove_dir_all(&work_dir)
                    .with_context(|| format!("cannot wipe {}", work_dir.display()))?;
            }
            std::fs::create_dir_all(&work_dir)?;
            let ks = Keapsake::demo(
                keapsake_bin.unwrap_or_else(|| sibling("keapsake")),
                work_dir.join("crash.db"),
            );
            let mut cfg = CrashConfig::demo(ks);
            cfg.cycles = cycles;
            cfg.chains = chains;
            cfg.kill_min_ms = kill_min_ms;
            cfg.kill_max_ms = kill_max_ms.max(kill_min_ms);
            if let Some(s) = seed {
                cfg.seed = s;
            }
            cfg.serve_args = serve_args;
            cfg.generated_secret = rotate_secret;
            cfg.sabotage = sabotage;
            cfg.log = Some(work_dir.join("keapsake.log"));
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()?;
            let report = rt.block_on(crash::run(&cfg))?;
            println!("{}", report.summary());
            Ok(if report.lost() == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
    }
}

async fn sqlx_rtt(n: u32) -> anyhow::Result<()> {
    use sqlx::Connection as _;
    use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
    let dir = std::env::temp_dir().join(format!("keapsake-sqlx-rtt-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let opts = SqliteConnectOptions::new()
        .filename(dir.join("rtt.db"))
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal);
    let mut conn = sqlx::SqliteConnection::connect_with(&opts).await?;
    sqlx::query("CREATE TABLE t (k BLOB PRIMARY KEY, v INTEGER) WITHOUT ROWID")
        .execute(&mut conn)
        .await?;
    let time = |label: &str, d: std::time::Duration, per: u32| {
        println!(
            "{label:<58} {:>8.1} µs",
            d.as_secs_f64() * 1e6 / f64::from(per)
        );
    };
    let t = std::time::Instant::now();
    for _ in 0..n {
        sqlx::query("SELECT 1").execute(&mut conn).await?;
    }
    time("`SELECT 1` round trip (execute)", t.elapsed(), n);
    let t = std::time::Instant::now();
    for _ in 0..n {
        sqlx::query("SAVEPOINT j; RELEASE j")
            .execute(&mut conn)
            .await?;
    }
    time(
        "`SAVEPOINT j; RELEASE j` (two statements, one call)",
        t.elapsed(),
        n,
    );
    sqlx::query("BEGIN").execute(&mut conn).await?;
    let t = std::time::Instant::now();
    for i in 0..n {
        let k = (u64::from(i).wrapping_mul(0x9E37_79B9_7F4A_7C15)).to_le_bytes();
        sqlx::query("INSERT INTO t VALUES (?, 1) RETURNING v")
            .bind(&k[..])
            .fetch_all(&mut conn)
            .await?;
    }
    time(
        "`INSERT … RETURNING` fetch_all, inside one transaction",
        t.elapsed(),
        n,
    );
    sqlx::query("COMMIT").execute(&mut conn).await?;
    conn.close().await?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
