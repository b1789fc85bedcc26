//! SECURITY.md §6 on the write routes added with commerce, e-mails and hooks: hostile bodies
//! (deep nesting, invalid UTF-8, NUL inside strings, odd numbers and money, wrong types, a 5 MB
//! body, 1001 records to `emails/sync`, 11 attachments to `emails/queue`) are never a 5xx and
//! every 4xx is Keap's v1 `{"message"}` JSON. Every string/number leaf of a valid body is
//! replaced in turn by each hostile value, on both stores.

use futures_util::StreamExt;
use keapsake_testkit::hooks::{HookReceiver, Mode};
use keapsake_testkit::{Backend, TestServer};
use serde_json::{Value, json};

/// Marker replaced by a raw JSON number text that serde_json cannot build as a `Value`.
const RAW: &str = "__RAW_NUMBER__";

#[derive(Clone)]
struct Api {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl Api {
    /// Sends raw bytes; returns (status, content type, body text).
    /// A transport error (no response) is status 0 with the error and the body's start.
    async fn send(
        &self,
        method: &reqwest::Method,
        path: &str,
        body: Vec<u8>,
    ) -> (u16, String, String) {
        let head = String::from_utf8_lossy(&body[..body.len().min(60)]).into_owned();
        let len = body.len();
        let r = match self
            .http
            .request(method.clone(), format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
        {
            Ok(r) => r,
            Err(e) => {
                return (
                    0,
                    String::new(),
                    format!("{e:?} (body {len} bytes: {head})"),
                );
            }
        };
        let status = r.status().as_u16();
        let ct = r
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        (status, ct, r.text().await.unwrap_or_default())
    }

    async fn ok(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let (s, _, t) = self
            .send(&method, path, body.to_string().into_bytes())
            .await;
        assert!((200..300).contains(&s), "{path}: {s} {t}");
        serde_json::from_str(&t).unwrap_or(Value::Null)
    }
}

/// Paths of every scalar leaf (JSON pointers), objects and arrays walked.
fn leaves(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                leaves(x, format!("{at}/{k}"), out);
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                leaves(x, format!("{at}/{i}"), out);
            }
        }
        _ => out.push(at),
    }
}

/// The hostile replacements for one leaf, as JSON values (RAW marks a raw number text).
fn hostile_values() -> Vec<(Value, Option<&'static str>)> {
    let raw = |t: &'static str| (Value::String(RAW.into()), Some(t));
    vec![
        (json!("a\u{0}b"), None),
        (json!("\u{0}"), None),
        raw("1e400"),
        raw("-1e400"),
        raw("-0"),
        raw("1234567890123456789012345678901234567890"),
        raw("0.0000000000000000000000000000000000000001"),
        (json!("NaN"), None),
        (json!("Infinity"), None),
        (json!("1e5"), None),
        (json!("1234567890123456789012345678901234567890"), None),
        (json!("-0"), None),
        (json!(-1), None),
        (json!(i64::MAX), None),
        (json!(u64::MAX), None),
        (json!(1.5e300), None),
        (json!(true), None),
        (json!(null), None),
        (json!([]), None),
        (json!({}), None),
        (json!(""), None),
        (json!("x".repeat(70_000)), None),
        (json!("\u{202e}\u{feff}𝕂"), None),
    ]
}

/// Whole bodies that are hostile whatever the route.
fn hostile_bodies() -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"null".to_vec(),
        b"[]".to_vec(),
        b"\"x\"".to_vec(),
        b"1e400".to_vec(),
        b"{".to_vec(),
        b"{\"a\":1,}".to_vec(),
        b"{\"product_name\": \"\xff\xfe\xc3\x28\"}".to_vec(),
        b"{\"\xff\": 1}".to_vec(),
        b"{\"product_name\": \"a\x00b\"}".to_vec(),
        b"{\"a\": \"\\ud800\"}".to_vec(),
        b"\xef\xbb\xbf{}".to_vec(),
    ];
    // Deep nesting: arrays, objects, and under a real field.
    v.push(format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)).into_bytes());
    v.push(format!("{}1{}", "{\"a\":".repeat(20_000), "}".repeat(20_000)).into_bytes());
    v.push(
        format!(
            "{{\"contact_id\": {}1{}}}",
            "[".repeat(200),
            "]".repeat(200)
        )
        .into_bytes(),
    );
    // 5 MB body.
    v.push(format!("{{\"product_name\": \"{}\"}}", "x".repeat(5 * 1024 * 1024)).into_bytes());
    v
}

fn b64(s: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}

#[derive(Default)]
struct Tally {
    requests: usize,
    five_xx: Vec<String>,
    /// Transport errors (no answer) and accepted NULs that were stored.
    other: Vec<String>,
    bad_shape: Vec<String>,
}

async fn hostile_input_on_new_write_routes(backend: Backend) {
    // Arrange: one of everything the routes refer to.
    let srv = TestServer::start(backend).await;
    let code = srv.authorize(&srv.app, &srv.user).await;
    let (s, tok) = srv.exchange(&srv.app, &code).await;
    assert_eq!(s, 200, "{tok}");
    let api = Api {
        base: srv.at("crm/rest/v1/"),
        token: tok["access_token"].as_str().unwrap().to_owned(),
        http: reqwest::Client::new(),
    };
    use reqwest::Method as M;
    let contact = api
        .ok(
            M::POST,
            "contacts",
            json!({"given_name": "Ada", "email_addresses": [{"email": "ada@x.example", "field": "EMAIL1"}]}),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    let product = api
        .ok(
            M::POST,
            "products",
            json!({"product_name": "W", "product_price": "1.00"}),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    let plan = api
        .ok(
            M::POST,
            &format!("products/{product}/subscriptions"),
            json!({"cycle_type": "MONTH", "plan_price": "2.00"}),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    let order = api
        .ok(
            M::POST,
            "orders",
            json!({"contact_id": contact, "order_date": "2024-05-21T14:30:00Z", "order_title": "t",
                   "order_type": "Online", "order_items": [{"product_id": product, "quantity": 1}]}),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    let rx = HookReceiver::start(Mode::Echo).await;
    let hook = api
        .ok(
            M::POST,
            "hooks",
            json!({"eventKey": "contact.add", "hookUrl": rx.url}),
        )
        .await["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let png = b64(b"\x89PNG\r\n\x1a\n0000000000000000");
    let html = b64(b"<p>Hi</p>");
    let routes: Vec<(M, String, Value)> = vec![
        (
            M::POST,
            "products".into(),
            json!({"product_name": "P", "product_price": "10.00", "product_short_desc": "s", "sku": "k", "active": true, "subscription_only": false}),
        ),
        (
            M::PATCH,
            format!("products/{product}"),
            json!({"product_name": "P2", "product_price": 3.5, "active": true}),
        ),
        (
            M::POST,
            format!("products/{product}/subscriptions"),
            json!({"cycle_type": "YEAR", "frequency": 1, "plan_price": "9.99", "number_of_cycles": 3, "subscription_plan_index": 0, "active": true}),
        ),
        (
            M::POST,
            format!("products/{product}/image"),
            json!({"file_name": "a.png", "file_data": png, "checksum": ""}),
        ),
        (
            M::POST,
            "orders".into(),
            json!({"contact_id": contact, "order_date": "2024-05-21T14:30:00Z", "order_title": "t", "order_type": "Offline", "lead_affiliate_id": 0, "sales_affiliate_id": 0, "promo_codes": ["X"], "order_items": [{"product_id": product, "quantity": 2, "price": "1.50", "description": "d", "item_type": "PRODUCT"}]}),
        ),
        (
            M::POST,
            format!("orders/{order}/items"),
            json!({"product_id": product, "quantity": 1, "price": "2.00", "description": "d"}),
        ),
        (
            M::POST,
            format!("orders/{order}/payments"),
            json!({"payment_amount": "0.01", "payment_method_type": "CHECK", "date": "2024-05-22T00:00:00Z", "notes": "n", "apply_to_commissions": false, "charge_now": false}),
        ),
        (
            M::PUT,
            format!("orders/{order}/paymentPlan"),
            json!({"auto_charge": false, "days_between_payments": 30, "initial_payment_amount": "0.5", "initial_payment_date": "2024-06-01", "number_of_payments": 2, "plan_start_date": "2024-07-01", "credit_card_id": 0, "payment_gateway": {"merchant_account_id": 1, "use_default": false}}),
        ),
        (
            M::POST,
            "subscriptions".into(),
            json!({"contact_id": contact, "subscription_plan_id": plan, "quantity": 1, "first_bill_date": "2030-01-01", "allow_tax": false, "auto_charge": false, "sale_affiliate_id": 0}),
        ),
        (
            M::POST,
            "emails".into(),
            json!({"sent_to_address": "ada@x.example", "contact_id": contact, "subject": "s", "html_content": html, "plain_content": b64(b"hi"), "sent_date": "2024-05-21T14:30:00Z", "sent_from_address": "me@x.example", "original_provider": "GOOGLE", "original_provider_id": "g", "clicked_date": "2024-05-21T14:30:00Z", "opened_date": "2024-05-21T14:30:00Z", "headers": "h", "received_date": "2024-05-21T14:30:00Z"}),
        ),
        (
            M::POST,
            format!("contacts/{contact}/emails"),
            json!({"sent_to_address": "ada@x.example", "subject": "s", "html_content": html}),
        ),
        (
            M::POST,
            "emails/sync".into(),
            json!({"emails": [{"sent_to_address": "ada@x.example", "contact_id": contact, "subject": "s", "original_provider": "GOOGLE", "original_provider_id": "p1"}]}),
        ),
        (M::POST, "emails/unsync".into(), json!({"ids": [1, 2]})),
        (
            M::POST,
            "emails/queue".into(),
            json!({"contacts": [contact], "user_id": srv.user.id.0, "subject": "s", "html_content": html, "plain_content": b64(b"hi"), "address_field": "EMAIL1", "attachments": [{"file_name": "a.txt", "file_data": b64(b"abc")}]}),
        ),
        (
            M::PUT,
            "emailAddresses/ada@x.example".into(),
            json!({"opted_in": false, "reason": "r"}),
        ),
        (
            M::POST,
            "hooks".into(),
            json!({"eventKey": "contact.edit", "hookUrl": rx.url}),
        ),
        (
            M::PUT,
            format!("hooks/{hook}"),
            json!({"eventKey": "contact.add", "hookUrl": rx.url}),
        ),
        (M::POST, format!("hooks/{hook}/verify"), json!({})),
        (M::POST, format!("hooks/{hook}/delayedVerify"), json!({})),
    ];

    // Every (route, body) to send.
    let mut cases: Vec<(M, String, Vec<u8>)> = Vec::new();
    for (m, path, base) in &routes {
        for b in hostile_bodies() {
            cases.push((m.clone(), path.clone(), b));
        }
        let mut ls = Vec::new();
        leaves(base, String::new(), &mut ls);
        for leaf in &ls {
            for (val, raw) in hostile_values() {
                let mut body = base.clone();
                *body.pointer_mut(leaf).unwrap() = val;
                let mut text = body.to_string();
                if let Some(r) = raw {
                    text = text.replace(&format!("\"{RAW}\""), r);
                }
                cases.push((m.clone(), path.clone(), text.into_bytes()));
            }
        }
    }
    // Bulk limits.
    let many: Vec<Value> = (0..1001)
        .map(|i| json!({"sent_to_address": "ada@x.example", "contact_id": contact, "original_provider": "GOOGLE", "original_provider_id": format!("bulk{i}")}))
        .collect();
    cases.push((
        M::POST,
        "emails/sync".into(),
        json!({"emails": many}).to_string().into_bytes(),
    ));
    let ids: Vec<i64> = (0..1001).collect();
    cases.push((
        M::POST,
        "emails/unsync".into(),
        json!({"ids": ids}).to_string().into_bytes(),
    ));
    let atts: Vec<Value> = (0..11)
        .map(|i| json!({"file_name": format!("a{i}.txt"), "file_data": b64(b"abc")}))
        .collect();
    cases.push((
        M::POST,
        "emails/queue".into(),
        json!({"contacts": [contact], "user_id": srv.user.id.0, "subject": "s", "html_content": html, "attachments": atts})
            .to_string()
            .into_bytes(),
    ));
    let big = b64(&vec![0u8; 1024 * 1024 + 1]);
    cases.push((
        M::POST,
        "emails/queue".into(),
        json!({"contacts": [contact], "user_id": srv.user.id.0, "subject": "s", "html_content": html, "attachments": [{"file_name": "big.bin", "file_data": big}]})
            .to_string()
            .into_bytes(),
    ));
    let contacts: Vec<i64> = (0..1001).collect();
    cases.push((
        M::POST,
        "emails/queue".into(),
        json!({"contacts": contacts, "user_id": srv.user.id.0, "subject": "s", "html_content": html})
            .to_string()
            .into_bytes(),
    ));
    for path in [
        "emailAddresses/a%00b@x.example",
        "emailAddresses/%ff%fe",
        "emailAddresses/x",
    ] {
        cases.push((
            M::PUT,
            path.into(),
            br#"{"opted_in": true, "reason": "r"}"#.to_vec(),
        ));
    }

    // Act
    let results: Vec<(String, u16, String, String)> = futures_util::stream::iter(cases)
        .map(|(m, path, body)| {
            let api = api.clone();
            async move {
                let (s, ct, t) = api.send(&m, &path, body.clone()).await;
                // A NUL that was accepted must not have been stored: nothing echoes one back.
                let nul = String::from_utf8_lossy(&body).contains("\\u0000");
                // (emails/sync echoes each rejected record under `errors`: not stored.)
                let kept = match serde_json::from_str::<Value>(&t) {
                    Ok(Value::Object(mut m)) => {
                        m.remove("errors");
                        Value::Object(m).to_string()
                    }
                    _ => t.clone(),
                };
                let s = if nul && (200..300).contains(&s) && kept.contains("\\u0000") {
                    eprintln!(
                        "NUL STORED by {m} {path}: {}",
                        String::from_utf8_lossy(&body)
                    );
                    0
                } else {
                    s
                };
                (format!("{m} {path}"), s, ct, t)
            }
        })
        .buffer_unordered(4)
        .collect()
        .await;

    // Assert
    let mut tally = Tally::default();
    for (what, s, ct, t) in results {
        tally.requests += 1;
        if s == 0 {
            tally.other.push(format!(
                "{what}: no answer or a NUL stored: {}",
                t.chars().take(300).collect::<String>()
            ));
        } else if s >= 500 {
            tally.five_xx.push(format!(
                "{what}: {s} {}",
                t.chars().take(300).collect::<String>()
            ));
        } else if (400..500).contains(&s) {
            let shaped = ct.starts_with("application/json")
                && serde_json::from_str::<Value>(&t)
                    .ok()
                    .is_some_and(|v| v.get("message").is_some_and(Value::is_string));
            if !shaped {
                tally.bad_shape.push(format!(
                    "{what}: {s} {ct} {}",
                    t.chars().take(200).collect::<String>()
                ));
            }
        }
    }
    for l in tally
        .five_xx
        .iter()
        .chain(&tally.bad_shape)
        .chain(&tally.other)
    {
        eprintln!("{l}");
    }
    println!(
        "FIGURE hostile input on new write routes: {} requests, {} 5xx ({backend:?}; {} 4xx outside {{\"message\"}}, {} without an answer or storing a NUL)",
        tally.requests,
        tally.five_xx.len(),
        tally.bad_shape.len(),
        tally.other.len()
    );
    assert!(tally.other.is_empty(), "{} failures", tally.other.len());
    assert!(tally.five_xx.is_empty(), "{} 5xx", tally.five_xx.len());
    assert!(
        tally.bad_shape.is_empty(),
        "{} badly shaped 4xx",
        tally.bad_shape.len()
    );

    // The documented limits answer 400/413 exactly (not merely "not a 5xx").
    let limit = |m: M, path: &'static str, body: Value| {
        let api = api.clone();
        async move {
            let (s, _, t) = api.send(&m, path, body.to_string().into_bytes()).await;
            (s, t)
        }
    };
    let many: Vec<Value> = (0..1001)
        .map(|i| json!({"sent_to_address": "ada@x.example", "contact_id": contact, "original_provider": "GOOGLE", "original_provider_id": format!("lim{i}")}))
        .collect();
    let (s, t) = limit(M::POST, "emails/sync", json!({ "emails": many })).await;
    assert_eq!(s, 400, "1001 records to emails/sync: {t}");
    let atts: Vec<Value> = (0..11)
        .map(|i| json!({"file_name": format!("a{i}.txt"), "file_data": b64(b"abc")}))
        .collect();
    let (s, t) = limit(
        M::POST,
        "emails/queue",
        json!({"contacts": [contact], "user_id": srv.user.id.0, "subject": "s", "html_content": html, "attachments": atts}),
    )
    .await;
    assert_eq!(s, 400, "11 attachments: {t}");
    let (s, t) = limit(
        M::POST,
        "products",
        json!({"product_name": "x".repeat(5 * 1024 * 1024)}),
    )
    .await;
    assert_eq!(s, 413, "a 5 MB body: {t}");
    let (s, t) = limit(
        M::POST,
        "orders",
        json!({"contact_id": contact, "order_date": "2024-05-21T14:30:00Z", "order_title": "a\u{0}b", "order_type": "Online"}),
    )
    .await;
    assert_eq!(s, 400, "NUL in order_title: {t}");
}
on_both_stores!(hostile_input_on_new_write_routes);
