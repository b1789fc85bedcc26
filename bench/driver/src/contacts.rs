//! `keapsake-bench contacts` (`bench/contacts`): authenticated REST v1 contacts over a database of
//! 100,000 contacts, with every keapsake figure divided by `ceiling-http` and `ceiling-sqlite`
//! measured in the same run at the same connection counts.
//!
//! keapsake runs with its default durability on a fresh database: a `serve --demo` start seeds the
//! demo sandbox, `keapsake token mint` gives one bearer token, then 100,000 contacts are created
//! with `POST /crm/rest/v1/contacts` at 64 connections (that throughput is reported). Then, at each
//! connection count, each for a warm-up plus a measured window:
//! - `GET /crm/rest/v1/contacts/{id}` with a random seeded id;
//! - `POST /crm/rest/v1/contacts` with a fresh e-mail each;
//! - `GET /crm/rest/v1/contacts?email=c<random>@example.com` (exact match, one hit);
//! - `GET /crm/rest/v1/contacts?given_name=G<random>&limit=50` (each given name is shared by 10);
//! - XML-RPC `ContactService.add` (a fresh e-mail each) and `DataService.query` on `Contact` by
//!   `Email` (exact, one hit), both with the bearer token; a fault counts as an error.
//!
//! The ceilings only serve `POST /token`: `ceiling-http` answers a fixed body (bare axum, no auth,
//! no storage); `ceiling-sqlite` does one single-row INSERT per transaction (WAL,
//! synchronous=NORMAL). Each is driven with that request at the same connection counts.

use crate::http::{BasicAuth, Conn};
use crate::load::{Answer, LoadReport, Request, next_rand};
use crate::stage::{self, Row, Servers, StageConfig, ratio};
use anyhow::{Context as _, ensure};
use bytes::Bytes;
use hyper::Method;
use hyper::header::HeaderValue;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Settings of the contacts stage.
#[derive(Debug, Clone)]
pub struct ContactsConfig {
    /// What every same-run stage has.
    pub stage: StageConfig,
    /// Contacts seeded before measuring.
    pub contacts: u64,
    /// Connections used while seeding.
    pub seed_connections: usize,
}

/// How many seeded contacts share one given name.
const GIVEN_NAME_GROUP: u64 = 10;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    /// `POST /token` (the ceilings).
    Token,
    GetOne,
    Create,
    ListEmail,
    ListGivenName,
    /// XML-RPC `ContactService.add`.
    XmlAdd,
    /// XML-RPC `DataService.query` on `Contact` by `Email` (exact, one hit).
    XmlQuery,
}

impl stage::Op for Op {
    const TOKEN: Self = Op::Token;
    const LABEL_WIDTH: usize = 52;

    fn label(self) -> &'static str {
        match self {
            Op::Token => "POST /token",
            Op::GetOne => "GET /crm/rest/v1/contacts/{id}",
            Op::Create => "POST /crm/rest/v1/contacts",
            Op::ListEmail => "GET /crm/rest/v1/contacts?email=c<N>@example.com",
            Op::ListGivenName => "GET /crm/rest/v1/contacts?given_name=G<N>&limit=50",
            Op::XmlAdd => "XML-RPC ContactService.add",
            Op::XmlQuery => "XML-RPC DataService.query Contact {Email: c<N>@example.com}",
        }
    }
}

/// What a connection task needs to build its requests.
struct Plan {
    op: Op,
    bearer: HeaderValue,
    basic: BasicAuth,
    /// Seeded contact ids.
    ids: Arc<Vec<i64>>,
    /// Contacts seeded (e-mails c0..c{n-1}).
    seeded: u64,
    /// Next fresh e-mail number for creates.
    next_email: Arc<AtomicU64>,
}

fn contact_body(n: u64) -> Bytes {
    Bytes::from(format!(
        r#"{{"given_name":"G{}","family_name":"F{n}","email_addresses":[{{"email":"c{n}@example.com","field":"EMAIL1"}}]}}"#,
        n / GIVEN_NAME_GROUP
    ))
}

/// An XML-RPC call; the credential travels as `Authorization: Bearer`, so the key parameter is a
/// placeholder (ignored, `keap/xmlrpc.md` §2).
fn xml_call(method: &str, params: &str) -> Bytes {
    Bytes::from(format!(
        "<?xml version='1.0'?><methodCall><methodName>{method}</methodName><params>\
         <param><value><string>ignored</string></value></param>{params}</params></methodCall>"
    ))
}

/// A fault answered with HTTP 200 counts as an error (status 599 in the report).
fn fault_is_error(r: (hyper::StatusCode, Bytes)) -> (hyper::StatusCode, Bytes) {
    if r.0.is_success() && r.1.windows(7).any(|w| w == b"<fault>") {
        (
            hyper::StatusCode::from_u16(599).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR),
            r.1,
        )
    } else {
        r
    }
}

impl Request for Plan {
    const SAMPLES: usize = 1 << 14;

    async fn send(&self, c: &mut Conn, rng: &mut u64) -> Answer {
        let plan = self;
        let json = HeaderValue::from_static("application/json");
        let xml = HeaderValue::from_static("text/xml");
        match plan.op {
            Op::XmlAdd => {
                let n = plan.next_email.fetch_add(1, Ordering::Relaxed);
                let body = xml_call(
                    "ContactService.add",
                    &format!(
                        "<param><value><struct><member><name>FirstName</name><value>G{}</value></member>\
                     <member><name>LastName</name><value>F{n}</value></member>\
                     <member><name>Email</name><value>c{n}@example.com</value></member></struct></value></param>",
                        n / GIVEN_NAME_GROUP
                    ),
                );
                c.send_typed(
                    Method::POST,
                    "/crm/xmlrpc/v1",
                    Some(&plan.bearer),
                    Some((xml, body)),
                )
                .await
                .map(fault_is_error)
            }
            Op::XmlQuery => {
                let n = next_rand(rng) % plan.seeded;
                let body = xml_call(
                    "DataService.query",
                    &format!(
                        "<param><value>Contact</value></param><param><value><int>10</int></value></param>\
                     <param><value><int>0</int></value></param>\
                     <param><value><struct><member><name>Email</name><value>c{n}@example.com</value></member></struct></value></param>\
                     <param><value><array><data><value>Id</value><value>FirstName</value><value>Email</value></data></array></value></param>"
                    ),
                );
                c.send_typed(
                    Method::POST,
                    "/crm/xmlrpc/v1",
                    Some(&plan.bearer),
                    Some((xml, body)),
                )
                .await
                .map(fault_is_error)
            }
            Op::Token => c.refresh(&plan.basic, "unused-by-the-ceilings").await,
            Op::GetOne => {
                let id = plan.ids[(next_rand(rng) % plan.ids.len() as u64) as usize];
                c.send_typed(
                    Method::GET,
                    &format!("/crm/rest/v1/contacts/{id}"),
                    Some(&plan.bearer),
                    None,
                )
                .await
            }
            Op::Create => {
                let n = plan.next_email.fetch_add(1, Ordering::Relaxed);
                c.send_typed(
                    Method::POST,
                    "/crm/rest/v1/contacts",
                    Some(&plan.bearer),
                    Some((json, contact_body(n))),
                )
                .await
            }
            Op::ListEmail => {
                let n = next_rand(rng) % plan.seeded;
                c.send_typed(
                    Method::GET,
                    &format!("/crm/rest/v1/contacts?email=c{n}%40example.com"),
                    Some(&plan.bearer),
                    None,
                )
                .await
            }
            Op::ListGivenName => {
                let g = next_rand(rng) % (plan.seeded / GIVEN_NAME_GROUP).max(1);
                c.send_typed(
                    Method::GET,
                    &format!("/crm/rest/v1/contacts?given_name=G{g}&limit=50"),
                    Some(&plan.bearer),
                    None,
                )
                .await
            }
        }
    }
}

/// Creates contacts `0..n` at `connections` connections; returns their ids (index = e-mail
/// number) and the report of the whole seeding (every request counted).
async fn seed(
    addr: SocketAddr,
    bearer: &HeaderValue,
    n: u64,
    connections: usize,
) -> anyhow::Result<(Vec<i64>, LoadReport)> {
    #[derive(serde::Deserialize)]
    struct Created {
        id: i64,
    }
    let next = Arc::new(AtomicU64::new(0));
    let t = Instant::now();
    let mut handles = Vec::with_capacity(connections);
    for _ in 0..connections {
        let next = Arc::clone(&next);
        let bearer = bearer.clone();
        handles.push(tokio::spawn(async move {
            let mut c = Conn::connect(addr).await?;
            let mut got: Vec<(u64, i64, u32)> = Vec::new();
            loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                if k >= n {
                    break;
                }
                let t0 = Instant::now();
                let (status, body) = c
                    .send_typed(
                        Method::POST,
                        "/crm/rest/v1/contacts",
                        Some(&bearer),
                        Some((
                            HeaderValue::from_static("application/json"),
                            contact_body(k),
                        )),
                    )
                    .await?;
                let us = u32::try_from(t0.elapsed().as_micros()).unwrap_or(u32::MAX);
                ensure!(
                    status.is_success(),
                    "seeding contact {k}: {status}: {}",
                    String::from_utf8_lossy(&body)
                );
                let id = serde_json::from_slice::<Created>(&body)
                    .with_context(|| format!("seeding contact {k}: no id"))?
                    .id;
                got.push((k, id, us));
            }
            anyhow::Ok(got)
        }));
    }
    let mut ids = vec![0i64; usize::try_from(n)?];
    let mut rep = LoadReport {
        connections,
        ..LoadReport::default()
    };
    for h in handles {
        for (k, id, us) in h.await?? {
            ids[usize::try_from(k)?] = id;
            rep.latencies_us.push(us);
        }
    }
    rep.window = t.elapsed();
    rep.ok = rep.latencies_us.len() as u64;
    rep.latencies_us.sort_unstable();
    Ok((ids, rep))
}

/// Runs the stage, prints the table and writes the report.
///
/// # Errors
/// Any server that fails to start, seed or answer.
pub fn run(cfg: &ContactsConfig) -> anyhow::Result<()> {
    let started = Instant::now();
    let rt = stage::prepare(&cfg.stage)?;
    let servers = Servers::start(&cfg.stage)?;

    eprintln!(
        "== seeding {} contacts at {} connections",
        cfg.contacts, cfg.seed_connections
    );
    let (ids, seed_rep) = rt.block_on(seed(
        servers.ks_addr,
        &servers.bearer,
        cfg.contacts,
        cfg.seed_connections,
    ))?;
    eprintln!(
        "   {} in {:.1} s",
        seed_rep.summary(),
        seed_rep.window.as_secs_f64()
    );
    let db_bytes: u64 = ["", "-wal"]
        .iter()
        .map(|s| {
            std::fs::metadata(crate::procs::suffixed(&servers.ks.database, s))
                .map_or(0, |m| m.len())
        })
        .sum();
    let db_mib = db_bytes as f64 / 1048576.0;

    // Sanity: the filters find what was seeded.
    let (email_hits, name_hits) = rt.block_on(async {
        let mut c = Conn::connect(servers.ks_addr).await?;
        let probe = cfg.contacts / 2;
        let count = |b: &Bytes| {
            serde_json::from_slice::<serde_json::Value>(b)
                .ok()
                .and_then(|v| v.get("count").and_then(serde_json::Value::as_u64))
        };
        let (s1, b1) = c
            .send_typed(
                Method::GET,
                &format!("/crm/rest/v1/contacts?email=c{probe}%40example.com"),
                Some(&servers.bearer),
                None,
            )
            .await?;
        let g = probe / GIVEN_NAME_GROUP;
        let (s2, b2) = c
            .send_typed(
                Method::GET,
                &format!("/crm/rest/v1/contacts?given_name=G{g}&limit=50"),
                Some(&servers.bearer),
                None,
            )
            .await?;
        ensure!(
            s1.is_success() && s2.is_success(),
            "filter probes answered {s1} and {s2}"
        );
        anyhow::Ok((count(&b1), count(&b2)))
    })?;
    eprintln!("   probe: email filter count {email_hits:?}, given_name filter count {name_hits:?}");

    let ids = Arc::new(ids);
    let next_email = Arc::new(AtomicU64::new(cfg.contacts + 1_000_000));
    let plan = |op| {
        Arc::new(Plan {
            op,
            bearer: servers.bearer.clone(),
            basic: BasicAuth::new("keapsake-demo-app", "keapsake-demo-secret")
                .expect("ASCII credentials"),
            ids: Arc::clone(&ids),
            seeded: cfg.contacts,
            next_email: Arc::clone(&next_email),
        })
    };
    let rows = stage::measure(
        &rt,
        &cfg.stage,
        &[
            ("ceiling-http", servers.http_addr, Op::Token),
            ("ceiling-sqlite", servers.sqlite_addr, Op::Token),
            ("keapsake", servers.ks_addr, Op::GetOne),
            ("keapsake", servers.ks_addr, Op::Create),
            ("keapsake", servers.ks_addr, Op::ListEmail),
            ("keapsake", servers.ks_addr, Op::ListGivenName),
            ("keapsake", servers.ks_addr, Op::XmlAdd),
            ("keapsake", servers.ks_addr, Op::XmlQuery),
        ],
        plan,
    )?;
    let (loaded_rss, _) = servers.stop()?;

    let md = render(
        cfg,
        &seed_rep,
        &rows,
        email_hits,
        name_hits,
        db_mib,
        loaded_rss,
        started.elapsed(),
    );
    stage::publish(&cfg.stage, &md)
}

#[allow(clippy::too_many_arguments)]
fn render(
    cfg: &ContactsConfig,
    seed: &LoadReport,
    rows: &[Row<Op>],
    email_hits: Option<u64>,
    name_hits: Option<u64>,
    db_mib: f64,
    loaded_rss_kib: u64,
    took: Duration,
) -> String {
    let mut s = String::new();
    stage::write_head(&mut s, "contacts", &cfg.stage, took);
    let _ = writeln!(
        s,
        "Seeding: {} contacts by `POST /crm/rest/v1/contacts` at {} connections (keapsake, default durability, one bearer token): \
         **{:.0} req/s**, p50 {:.3} ms, p99 {:.3} ms, {:.1} s in all; database + WAL afterwards {db_mib:.1} MiB. \
         Probes after seeding: `?email=` count {}, `?given_name=` count {}.\n",
        cfg.contacts,
        cfg.seed_connections,
        seed.rps(),
        seed.quantile_ms(0.5),
        seed.quantile_ms(0.99),
        seed.window.as_secs_f64(),
        email_hits.map_or("—".into(), |v| v.to_string()),
        name_hits.map_or("—".into(), |v| v.to_string()),
    );
    let _ = writeln!(
        s,
        "Each point: {:.1} s warm-up + {:.1} s measured, closed loop, one keep-alive connection per task. Errors are non-2xx answers plus \
         transport errors over the whole point. `÷ http` is keapsake req/s divided by ceiling-http's `POST /token` req/s (bare axum, fixed \
         body, no auth, no storage) at the same connection count; `÷ sqlite` divides by ceiling-sqlite's `POST /token` req/s (one \
         single-row INSERT per transaction, WAL, synchronous=NORMAL, pool 10) at the same count. Both ceilings ran in this run, side by \
         side with keapsake. For the GETs, `÷ sqlite` compares a keapsake read with a naive write, the storage baseline the brief fixes; \
         it is not a read ceiling.\n",
        cfg.stage.warmup.as_secs_f64(),
        cfg.stage.duration.as_secs_f64()
    );
    stage::write_table(&mut s, &cfg.stage, rows, None);
    let _ = writeln!(
        s,
        "\nXML-RPC against its REST counterpart in the same run (req/s ratio):"
    );
    for &c in &cfg.stage.connections {
        let rps = |op: Op| {
            rows.iter()
                .find(|r| r.op == op && r.rep.connections == c)
                .map_or(0.0, |r| r.rep.rps())
        };
        let _ = writeln!(
            s,
            "- {c} conn: `ContactService.add` ÷ `POST /contacts` = {}; `DataService.query` by Email ÷ `GET /contacts?email=` = {}",
            ratio(rps(Op::XmlAdd), rps(Op::Create)),
            ratio(rps(Op::XmlQuery), rps(Op::ListEmail)),
        );
    }
    stage::write_rss(&mut s, loaded_rss_kib);
    s
}
