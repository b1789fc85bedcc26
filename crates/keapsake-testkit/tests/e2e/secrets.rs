//! SECURITY.md §3 figure: after a full flow, the database (SQLite file + WAL, or a `pg_dump`) and
//! every log line captured at TRACE level contain none of the secrets that were minted or typed:
//! OAuth codes and tokens, the client secret, a password, the session cookie, a legacy API key
//! used on REST and XML-RPC (successes and faults), a hook's `X-Hook-Secret`, the password
//! of an SMTP relay that a queued message went out through, and credit card numbers: one put on
//! file and charged, one refused (a wrong check digit).

use keapsake_core::Clock as _;
use keapsake_core::Secret;
use keapsake_core::store::{KeyKind, NewApiKey};
use keapsake_server::mail::smtp::deliver_mail_due;
use keapsake_server::{AppState, Config, SmtpRelay};
use keapsake_testkit::hooks::{HookReceiver, Mode};
use keapsake_testkit::smtp::SmtpSink;
use keapsake_testkit::{Backend, TestServer, html::Browser};
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn capture_logs() -> Captured {
    static LOGS: OnceLock<Captured> = OnceLock::new();
    LOGS.get_or_init(|| {
        let c = Captured::default();
        let writer = c.clone();
        // Everything at TRACE except the test's own HTTP client (reqwest, its cookie jar and its
        // connection pool), which runs in this process but is not part of the server.
        let filter = tracing_subscriber::EnvFilter::new(
            "trace,reqwest=off,cookie_store=off,hyper_util::client=off",
        );
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .try_init();
        c
    })
    .clone()
}

/// A fresh Visa-shaped number with a valid Luhn check digit (random, so it can only be found
/// where this run put it), and the same number with a wrong check digit.
fn card_numbers() -> (String, String) {
    let hex = Secret::generate_hex("", 16).expose().to_owned();
    let mut digits: Vec<u32> = vec![4];
    digits.extend(hex.chars().take(14).map(|c| c.to_digit(16).unwrap() % 10));
    // Luhn: double every second digit from the right, the check digit being the rightmost.
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| {
            if i % 2 == 0 {
                let x = d * 2;
                if x > 9 { x - 9 } else { x }
            } else {
                *d
            }
        })
        .sum();
    let check = (10 - sum % 10) % 10;
    let body: String = digits
        .iter()
        .map(|d| char::from_digit(*d, 10).unwrap())
        .collect();
    (
        format!("{body}{check}"),
        format!("{body}{}", (check + 1) % 10),
    )
}

async fn no_secret_reaches_the_database_or_the_logs(backend: Backend) {
    let logs = capture_logs();
    let srv = TestServer::start(backend).await;
    // A user with a random password (the demo password is a substring of the demo client id).
    let (user, _) = srv
        .add_user_with_accounts(
            &format!("s-{}@example.com", keapsake_testkit::unique_suffix()),
            1,
        )
        .await;
    let mut secrets: Vec<(String, String)> = vec![
        ("client_secret".into(), srv.app.client_secret.clone()),
        ("password".into(), user.password.clone()),
    ];
    // The session cookie set by the login page.
    let b = Browser::new();
    let page = b
        .get(&srv.authorize_url(&srv.app, &Default::default()))
        .await;
    if let Some(c) = page.header("set-cookie") {
        let v = c
            .split(';')
            .next()
            .unwrap()
            .split_once('=')
            .unwrap()
            .1
            .to_string();
        secrets.push(("session cookie".into(), v));
    }
    let code = srv.authorize(&srv.app, &user).await;
    secrets.push(("code".into(), code.clone()));
    let (_, tok) = srv.exchange(&srv.app, &code).await;
    secrets.push((
        "access_token".into(),
        tok["access_token"].as_str().unwrap().into(),
    ));
    secrets.push((
        "refresh_token".into(),
        tok["refresh_token"].as_str().unwrap().into(),
    ));
    // Query-string credential and a refresh, so both code paths are logged.
    reqwest::get(format!(
        "{}?access_token={}",
        srv.at("crm/rest/v1/oauth/connect/userinfo"),
        tok["access_token"].as_str().unwrap()
    ))
    .await
    .unwrap();
    let (_, tok2) = srv
        .refresh(&srv.app, tok["refresh_token"].as_str().unwrap())
        .await;
    secrets.push((
        "access_token 2".into(),
        tok2["access_token"].as_str().unwrap().into(),
    ));
    secrets.push((
        "refresh_token 2".into(),
        tok2["refresh_token"].as_str().unwrap().into(),
    ));

    let at = tok2["access_token"].as_str().unwrap().to_owned();
    let http = reqwest::Client::new();

    // A legacy API key, minted as `keapsake keys create --kind legacy` does, used on REST
    // (`X-Keap-API-Key`) and on XML-RPC (the key is the first parameter, in the body), in
    // calls that succeed and calls that fault.
    let legacy = Secret::generate_hex("", 16);
    srv.store
        .create_api_key(NewApiKey {
            hash: legacy.hash(),
            display_prefix: format!("{}…", &legacy.expose()[..4]),
            name: "legacy".into(),
            kind: KeyKind::Legacy,
            account_id: srv.account.id,
            user_id: None,
            read_only: false,
            created_at: srv.clock.now(),
            expires_at: None,
        })
        .await
        .unwrap();
    let key = legacy.expose().to_owned();
    secrets.push(("legacy API key".into(), key.clone()));
    let r = http
        .get(srv.at("crm/rest/v1/contacts"))
        .header("X-Keap-API-Key", &key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let call = |method: &str, params: &str| {
        format!(
            "<?xml version=\"1.0\"?><methodCall><methodName>{method}</methodName><params>\
             <param><value><string>{key}</string></value></param>{params}</params></methodCall>"
        )
    };
    for body in [
        call(
            "ContactService.add",
            "<param><value><struct><member><name>FirstName</name><value>Ada</value></member></struct></value></param>",
        ),
        call(
            "ContactService.load",
            "<param><value><int>999999</int></value></param>",
        ),
        call("NoSuchService.nothing", ""),
        call(
            "ContactService.add",
            "<param><value><struct><member><name>Nope</name><value>x</value></member></struct></value></param>",
        ),
        call("DataService.query", "<param><value>Contact</value></param>"),
        call("ContactService.add", "<param><value><struct>"),
        format!(
            "<methodCall><methodName>ContactService.add</methodName><params><param><value>{key}</value></param></params>"
        ),
    ] {
        let r = http
            .post(srv.at("crm/xmlrpc/v1"))
            .header("content-type", "text/xml")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let _ = r.text().await;
    }

    // A REST hook: the `X-Hook-Secret` of the handshake is stored only as its SHA-256.
    let rx = HookReceiver::start(Mode::Echo).await;
    let r = http
        .post(srv.at("crm/rest/v1/hooks"))
        .bearer_auth(&at)
        .json(&serde_json::json!({"eventKey": "contact.add", "hookUrl": rx.url}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let hook: serde_json::Value = r.json().await.unwrap();
    assert_eq!(hook["status"], "Verified", "{hook}");
    let hook_secret = rx
        .received()
        .iter()
        .find_map(|x| x.header("x-hook-secret"))
        .expect("the handshake carried X-Hook-Secret");
    secrets.push(("X-Hook-Secret".into(), hook_secret));

    // An SMTP relay with a password: a queued message goes out through it.
    let sink = SmtpSink::start().await;
    let smtp_password = Secret::generate_hex("smtp-", 24).expose().to_owned();
    secrets.push(("SMTP password".into(), smtp_password.clone()));
    let relay_url = sink
        .url
        .replacen("smtp://", &format!("smtp://relayuser:{smtp_password}@"), 1);
    let r = http
        .post(srv.at("crm/rest/v1/contacts"))
        .bearer_auth(&at)
        .json(&serde_json::json!({"given_name": "Grace",
            "email_addresses": [{"email": "grace@x.example", "field": "EMAIL1"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let grace = r.json::<serde_json::Value>().await.unwrap()["id"]
        .as_i64()
        .unwrap();
    let r = http
        .post(srv.at("crm/rest/v1/emails/queue"))
        .bearer_auth(&at)
        .json(
            &serde_json::json!({"contacts": [grace], "user_id": user.id.0, "subject": "Hi",
            "plain_content": keapsake_core::messaging::encode_base64(b"Hello")}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);

    // Credit card numbers: one on file and charged, one refused. Only the last four digits of
    // the first may be kept.
    let (card, bad_card) = card_numbers();
    secrets.push(("card number".into(), card.clone()));
    secrets.push(("refused card number".into(), bad_card.clone()));
    let cards = srv.at(&format!("crm/rest/v1/contacts/{grace}/creditCards"));
    let r = http
        .post(&cards)
        .bearer_auth(&at)
        .json(
            &serde_json::json!({"card_number": bad_card, "expiration_month": "12",
            "expiration_year": "2099", "verification_code": "737"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = http
        .post(&cards)
        .bearer_auth(&at)
        .json(
            &serde_json::json!({"card_number": card, "expiration_month": "12",
            "expiration_year": "2099", "verification_code": "737", "name_on_card": "Grace"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let card_id = r.json::<serde_json::Value>().await.unwrap()["id"]
        .as_i64()
        .unwrap();
    let listed: serde_json::Value = http
        .get(&cards)
        .bearer_auth(&at)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        listed[0]["card_number"],
        format!("************{}", &card[card.len() - 4..])
    );
    let r = http
        .post(srv.at("crm/rest/v1/products"))
        .bearer_auth(&at)
        .json(&serde_json::json!({"product_name": "Gear", "product_price": "5.00"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let product = r.json::<serde_json::Value>().await.unwrap()["id"]
        .as_i64()
        .unwrap();
    let r = http
        .post(srv.at("crm/rest/v1/orders"))
        .bearer_auth(&at)
        .json(
            &serde_json::json!({"contact_id": grace, "order_date": "2024-05-21T14:30:00Z",
            "order_title": "Gear", "order_type": "Online",
            "order_items": [{"product_id": product, "quantity": 1}]}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let order = r.json::<serde_json::Value>().await.unwrap()["id"]
        .as_i64()
        .unwrap();
    let r = http
        .post(srv.at(&format!("crm/rest/v1/orders/{order}/payments")))
        .bearer_auth(&at)
        .json(
            &serde_json::json!({"payment_amount": "5.00", "payment_method_type": "CREDIT_CARD",
            "charge_now": true, "credit_card_id": card_id}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);

    let node = AppState::new(
        srv.store.clone(),
        srv.clock.clone(),
        Config {
            smtp: Some(SmtpRelay::parse(&relay_url).unwrap()),
            ..Config::default()
        },
    );
    tracing::info!(relay = ?node.config.smtp, "relay configured");
    let report = deliver_mail_due(&node, srv.clock.now()).await.unwrap();
    assert_eq!(report.sent, 1, "{report:?}");
    assert_eq!(sink.received().len(), 1);
    assert_eq!(sink.auths().len(), 1, "the relay was logged in to");
    // Deliveries of the hook (the contact above) have been attempted by the worker.
    for _ in 0..50 {
        if !rx.deliveries().is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }

    let mut haystacks: Vec<(String, Vec<u8>)> = Vec::new();
    match backend {
        Backend::Sqlite => {
            let p = srv.sqlite_path.clone().unwrap();
            for suffix in ["", "-wal", "-shm"] {
                let f = std::path::PathBuf::from(format!("{}{suffix}", p.display()));
                if let Ok(bytes) = std::fs::read(&f) {
                    haystacks.push((f.display().to_string(), bytes));
                }
            }
        }
        Backend::Postgres => {
            let url = srv.database_url.clone().unwrap();
            let out = std::process::Command::new("pg_dump")
                .arg("--data-only")
                .arg(&url)
                .output()
                .expect("pg_dump runs");
            assert!(
                out.status.success(),
                "pg_dump failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            haystacks.push(("pg_dump".into(), out.stdout));
        }
    }
    haystacks.push(("trace logs".into(), logs.0.lock().unwrap().clone()));
    assert!(
        haystacks.last().unwrap().1.len() > 1000,
        "the TRACE capture must have recorded the requests"
    );

    let mut found = 0;
    for (what, secret) in &secrets {
        for (name, hay) in &haystacks {
            if let Some(pos) = hay
                .windows(secret.len())
                .position(|w| w == secret.as_bytes())
            {
                found += 1;
                let from = pos.saturating_sub(300);
                let ctx =
                    String::from_utf8_lossy(&hay[from..(pos + secret.len() + 100).min(hay.len())])
                        .replace(secret.as_str(), "<SECRET>");
                eprintln!("LEAK: {what} found in {name}: …{ctx}…");
            }
        }
    }
    println!(
        "FIGURE [{backend:?}] secrets found in {} = {found} (of {} secrets checked)",
        haystacks
            .iter()
            .map(|h| h.0.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        secrets.len()
    );
    assert_eq!(found, 0);
}
on_both_stores!(no_secret_reaches_the_database_or_the_logs);
