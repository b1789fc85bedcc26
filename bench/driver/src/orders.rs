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
use crate::load::{Answer, Request};
use crate::stage::{self, Row, Servers, StageConfig};
use anyhow::{Context as _, ensure};
use bytes::Bytes;
use hyper::Method;
use hyper::header::HeaderValue;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Settings of the orders stage.
#[derive(Debug, Clone)]
pub struct OrdersConfig {
    /// What every same-run stage has.
    pub stage: StageConfig,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    /// `POST /token` (the ceilings).
    Token,
    /// `POST /crm/rest/v1/orders` with three items.
    CreateOrder,
}

impl stage::Op for Op {
    const TOKEN: Self = Op::Token;
    const LABEL_WIDTH: usize = 40;

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

impl Request for Plan {
    async fn send(&self, c: &mut Conn, _rng: &mut u64) -> Answer {
        let plan = self;
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

/// Runs the stage, prints the table and writes the report.
///
/// # Errors
/// Any server that fails to start, seed or answer.
pub fn run(cfg: &OrdersConfig) -> anyhow::Result<()> {
    let started = Instant::now();
    let rt = stage::prepare(&cfg.stage)?;
    let servers = Servers::start(&cfg.stage)?;

    // One contact, three products; then check one order's total.
    let (order, total) = rt.block_on(async {
        let mut c = Conn::connect(servers.ks_addr).await?;
        let contact = create(
            &mut c,
            &servers.bearer,
            "/crm/rest/v1/contacts",
            r#"{"given_name":"Bench","email_addresses":[{"email":"bench@example.com","field":"EMAIL1"}]}"#.into(),
        )
        .await?;
        let mut products = Vec::new();
        for (i, price) in ["19.99", "33.335", "0.10"].iter().enumerate() {
            products.push(
                create(
                    &mut c,
                    &servers.bearer,
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
                Some(&servers.bearer),
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
            bearer: servers.bearer.clone(),
            basic: BasicAuth::new("keapsake-demo-app", "keapsake-demo-secret")
                .expect("ASCII credentials"),
            order: order.clone(),
        })
    };
    let rows = stage::measure(
        &rt,
        &cfg.stage,
        &[
            ("ceiling-http", servers.http_addr, Op::Token),
            ("ceiling-sqlite", servers.sqlite_addr, Op::Token),
            ("keapsake", servers.ks_addr, Op::CreateOrder),
        ],
        plan,
    )?;
    let (loaded_rss, _) = servers.stop()?;
    let md = render(cfg, &rows, loaded_rss, started.elapsed());
    stage::publish(&cfg.stage, &md)
}

fn render(cfg: &OrdersConfig, rows: &[Row<Op>], loaded_rss_kib: u64, took: Duration) -> String {
    let mut s = String::new();
    stage::write_head(&mut s, "orders", &cfg.stage, took);
    let _ = writeln!(
        s,
        "Each keapsake request is `POST /crm/rest/v1/orders` with three items (one contact and three products seeded \
         through the API; one price override as a string; a SHIPPING line), answered 201 with the created order. \
         Each point: {:.1} s warm-up + {:.1} s measured, closed loop, one keep-alive connection per task. `÷ http` and \
         `÷ sqlite` divide keapsake's req/s by ceiling-http's and ceiling-sqlite's `POST /token` req/s at the same \
         connection count, measured in this run (the baseline of `bench/contacts`).\n",
        cfg.stage.warmup.as_secs_f64(),
        cfg.stage.duration.as_secs_f64()
    );
    stage::write_table(&mut s, &cfg.stage, rows, None);
    stage::write_rss(&mut s, loaded_rss_kib);
    s
}
