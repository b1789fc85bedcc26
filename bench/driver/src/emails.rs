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
use crate::load::{Answer, Request, next_rand};
use crate::stage::{self, Row, Servers, StageConfig};
use anyhow::{Context as _, ensure};
use bytes::Bytes;
use hyper::Method;
use hyper::header::HeaderValue;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Settings of the e-mails stage.
#[derive(Debug, Clone)]
pub struct EmailsConfig {
    /// What every same-run stage has.
    pub stage: StageConfig,
    /// Contacts seeded before measuring (the recipients).
    pub contacts: u64,
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

impl stage::Op for Op {
    const TOKEN: Self = Op::Token;
    const LABEL_WIDTH: usize = 48;

    fn label(self) -> &'static str {
        match self {
            Op::Token => "POST /token",
            Op::Queue1 => "POST /crm/rest/v1/emails/queue (1 recipient)",
            Op::Queue10 => "POST /crm/rest/v1/emails/queue (10 recipients)",
        }
    }
}

impl Op {
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

/// A send request: merge fields in subject and body, base64 plain and HTML contents.
fn queue_body(contacts: &[i64], user_id: i64) -> Bytes {
    let ids: Vec<String> = contacts.iter().map(i64::to_string).collect();
    // "Hi ~Contact.FirstName~, your order shipped." and "<p>Hi ~Contact.FirstName~</p>"
    Bytes::from(format!(
        r#"{{"contacts":[{}],"user_id":{user_id},"subject":"Hello ~Contact.FirstName~","plain_content":"SGkgfkNvbnRhY3QuRmlyc3ROYW1lfiwgeW91ciBvcmRlciBzaGlwcGVkLg==","html_content":"PHA+SGkgfkNvbnRhY3QuRmlyc3ROYW1lfjwvcD4="}}"#,
        ids.join(",")
    ))
}

impl Request for Plan {
    async fn send(&self, c: &mut Conn, rng: &mut u64) -> Answer {
        let plan = self;
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

/// Runs the stage, prints the table and writes the report.
///
/// # Errors
/// Any server that fails to start, seed or answer.
pub fn run(cfg: &EmailsConfig) -> anyhow::Result<()> {
    let started = Instant::now();
    let rt = stage::prepare(&cfg.stage)?;
    ensure!(cfg.contacts >= 10, "--contacts must be at least 10");
    let servers = Servers::start(&cfg.stage)?;

    eprintln!("== seeding {} recipient contacts", cfg.contacts);
    let (contacts, user_id) =
        rt.block_on(prepare(servers.ks_addr, &servers.bearer, cfg.contacts))?;
    eprintln!("   done; sending user {user_id}; probe send checked");
    let contacts = Arc::new(contacts);
    let plan = |op| {
        Arc::new(Plan {
            op,
            bearer: servers.bearer.clone(),
            basic: BasicAuth::new("keapsake-demo-app", "keapsake-demo-secret")
                .expect("ASCII credentials"),
            contacts: Arc::clone(&contacts),
            user_id,
        })
    };
    let rows = stage::measure(
        &rt,
        &cfg.stage,
        &[
            ("ceiling-http", servers.http_addr, Op::Token),
            ("ceiling-sqlite", servers.sqlite_addr, Op::Token),
            ("keapsake", servers.ks_addr, Op::Queue1),
            ("keapsake", servers.ks_addr, Op::Queue10),
        ],
        plan,
    )?;
    let (loaded_rss, ks) = servers.stop()?;
    let db_bytes: u64 = ["", "-wal"]
        .iter()
        .map(|s| std::fs::metadata(crate::procs::suffixed(&ks.database, s)).map_or(0, |m| m.len()))
        .sum();

    let md = render(cfg, &rows, db_bytes, loaded_rss, started.elapsed());
    stage::publish(&cfg.stage, &md)
}

fn render(
    cfg: &EmailsConfig,
    rows: &[Row<Op>],
    db_bytes: u64,
    loaded_rss_kib: u64,
    took: Duration,
) -> String {
    let mut s = String::new();
    stage::write_head(&mut s, "e-mail queue", &cfg.stage, took);
    let _ = writeln!(
        s,
        "{} recipient contacts seeded; keapsake default durability (synchronous=FULL), no SMTP worker (the outbox only grows). \
         Each point: {:.1} s warm-up + {:.1} s measured, closed loop, one keep-alive connection per task. A request counts when it \
         answers 202 (every recipient's e-mail record and outbox message committed). `recipients/s` = req/s × recipients. \
         `÷ http` / `÷ sqlite` divide keapsake req/s by ceiling-http's / ceiling-sqlite's `POST /token` req/s at the same connection \
         count in this run. Database + WAL at the end: {:.1} MiB.\n",
        cfg.contacts,
        cfg.stage.warmup.as_secs_f64(),
        cfg.stage.duration.as_secs_f64(),
        db_bytes as f64 / 1_048_576.0
    );
    let recipients = |r: &Row<Op>, k: f64| {
        if r.op != Op::Token {
            format!("{:.0}", k * r.op.recipients() as f64)
        } else {
            String::new()
        }
    };
    stage::write_table(
        &mut s,
        &cfg.stage,
        rows,
        Some(("recipients/s", &recipients)),
    );
    stage::write_rss(&mut s, loaded_rss_kib);
    s
}
