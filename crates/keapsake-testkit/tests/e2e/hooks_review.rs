//! REST hook delivery under adversity (SECURITY.md §8, `keap/rest-v1.md` §10), both stores:
//! a receiver answering 301/302/303/307/308 is not followed (the redirect target sees 0
//! connections, from the handshake or a delivery; a 3xx to a delivery counts as delivered, as
//! Keap counts any status below 400, and a redirected handshake does not verify); a receiver that never answers does not hold
//! another subscription's delivery; the outbox is per tenant; a contact deleted with events still
//! queued is delivered as `contact.delete` with `apiUrl: ""`.

use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use keapsake_core::Clock as _;
use keapsake_server::quota::Profile;
use keapsake_server::webhooks::{HookConfig, PassReport, deliver_due};
use keapsake_testkit::hooks::{HookReceiver, Mode};
use keapsake_testkit::{Backend, TestOptions, TestServer};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const TIMEOUT: Duration = Duration::from_secs(3);

async fn server(backend: Backend) -> TestServer {
    server_with(backend, keapsake_server::webhooks::DEFAULT_CONCURRENCY).await
}

async fn server_with(backend: Backend, concurrency: usize) -> TestServer {
    TestServer::start_with(
        backend,
        TestOptions {
            hooks: Some(HookConfig {
                worker: false,
                timeout: TIMEOUT,
                connect_timeout: Duration::from_secs(2),
                concurrency,
                ..HookConfig::default()
            }),
            profile: Some(Profile::Sandbox),
            ..TestOptions::default()
        },
    )
    .await
}

struct Api {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl Api {
    async fn for_user(srv: &TestServer, user: &keapsake_testkit::TestUser) -> Api {
        let code = srv.authorize(&srv.app, user).await;
        let (s, tok) = srv.exchange(&srv.app, &code).await;
        assert_eq!(s, 200, "{tok}");
        Api {
            base: srv.at("crm/rest/v1/"),
            token: tok["access_token"].as_str().unwrap().to_owned(),
            http: reqwest::Client::new(),
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut rb = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let r = rb.send().await.unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        assert!(status < 500, "{path}: {status} {text}");
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn subscribe(&self, event: &str, url: &str) -> Value {
        let (s, b) = self
            .call(
                reqwest::Method::POST,
                "hooks",
                Some(json!({"eventKey": event, "hookUrl": url})),
            )
            .await;
        assert_eq!(s, 200, "{b}");
        b
    }

    async fn contact(&self, name: &str) -> i64 {
        let (s, b) = self
            .call(
                reqwest::Method::POST,
                "contacts",
                Some(json!({"given_name": name, "email_addresses": [{"email": format!("{name}@example.com"), "field": "EMAIL1"}]})),
            )
            .await;
        assert_eq!(s, 201, "{b}");
        b["id"].as_i64().unwrap()
    }
}

/// A raw listener that counts the connections it accepts (and closes them).
async fn counting_listener() -> (String, Arc<AtomicUsize>) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let n = Arc::new(AtomicUsize::new(0));
    let c = n.clone();
    tokio::spawn(async move {
        while let Ok((sock, _)) = l.accept().await {
            c.fetch_add(1, Ordering::SeqCst);
            drop(sock);
        }
    });
    (format!("http://{addr}/hook"), n)
}

/// What a scripted receiver does with event deliveries (the handshake is always echoed unless
/// `redirect_handshake`).
#[derive(Clone)]
enum Script {
    Redirect {
        status: u16,
        to: String,
        redirect_handshake: bool,
    },
    Hang,
}

/// A receiver on 127.0.0.1 following `script`; returns its URL and how many requests it got.
async fn scripted(script: Script) -> (String, Arc<AtomicUsize>) {
    let n = Arc::new(AtomicUsize::new(0));
    let c = n.clone();
    let handler = move |headers: HeaderMap| {
        let script = script.clone();
        let c = c.clone();
        async move {
            c.fetch_add(1, Ordering::SeqCst);
            let secret = headers
                .get("x-hook-secret")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            match (&script, secret) {
                (
                    Script::Redirect {
                        status,
                        to,
                        redirect_handshake,
                    },
                    s,
                ) if s.is_none() || *redirect_handshake => {
                    let mut h = HeaderMap::new();
                    h.insert("location", to.parse().unwrap());
                    if let Some(s) = s {
                        h.insert("x-hook-secret", s.parse().unwrap());
                    }
                    (StatusCode::from_u16(*status).unwrap(), h).into_response()
                }
                (_, Some(s)) => {
                    let mut h = HeaderMap::new();
                    h.insert("x-hook-secret", s.parse().unwrap());
                    (StatusCode::OK, h).into_response()
                }
                (Script::Hang, None) => {
                    std::future::pending::<()>().await;
                    StatusCode::OK.into_response()
                }
                (Script::Redirect { .. }, None) => unreachable!(),
            }
        }
    };
    let app = axum::Router::new().route("/hook", axum::routing::post(handler));
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(l, app).await;
    });
    (format!("http://{addr}/hook"), n)
}

async fn pass(srv: &TestServer) -> PassReport {
    deliver_due(&srv.state, srv.clock.now()).await
}

/// Redirects are never followed, for deliveries and for the verification handshake.
async fn redirects_are_not_followed(backend: Backend) {
    // Arrange
    let srv = server(backend).await;
    let api = Api::for_user(&srv, &srv.user).await;
    let (target, target_hits) = counting_listener().await;
    let mut receivers = Vec::new();
    for status in [301u16, 302, 303, 307, 308] {
        let (url, hits) = scripted(Script::Redirect {
            status,
            to: target.clone(),
            redirect_handshake: false,
        })
        .await;
        let h = api.subscribe("contact.add", &url).await;
        assert_eq!(h["status"], "Verified", "{h}");
        receivers.push((status, hits));
    }
    // A receiver that redirects the handshake too (echoing the secret on the 302).
    let (url, hs_hits) = scripted(Script::Redirect {
        status: 302,
        to: target.clone(),
        redirect_handshake: true,
    })
    .await;
    let h = api.subscribe("contact.add", &url).await;
    assert_ne!(
        h["status"], "Verified",
        "a redirect is not a verification: {h}"
    );

    // Act
    api.contact("redirected").await;
    let report = pass(&srv).await;

    // Assert
    // A 3xx is an answer below 400: accepted as delivered (rest-v1.md §10.4 "Failure"), and
    // not followed.
    assert_eq!(
        (report.delivered, report.failed),
        (5, 0),
        "each redirect is one attempt, taken as delivered: {report:?}"
    );
    for (status, hits) in &receivers {
        assert_eq!(
            hits.load(Ordering::SeqCst),
            2,
            "{status}: handshake + one delivery"
        );
    }
    assert_eq!(hs_hits.load(Ordering::SeqCst), 1, "the handshake only");
    assert_eq!(
        target_hits.load(Ordering::SeqCst),
        0,
        "the redirect target saw a connection"
    );
    println!(
        "FIGURE [{backend:?}] hook redirects (301/302/303/307/308 + handshake 302) followed: 0 connections to the target"
    );
    srv.stop().await;
}
on_both_stores!(redirects_are_not_followed);

/// A receiver that never answers costs its own subscription at most the timeout, and holds
/// nobody else's delivery: with one hanging subscription and 12 healthy ones (more than the
/// 8 concurrent deliveries this server is given) every healthy one is delivered long before the
/// timeout. (Before the sliding window, the 8 of a round waited for the hanging one's timeout
/// before the next round started.)
async fn a_hanging_receiver_holds_no_other_delivery(backend: Backend) {
    // Arrange
    let srv = server_with(backend, 8).await;
    let api = Api::for_user(&srv, &srv.user).await;
    let (hang_url, _) = scripted(Script::Hang).await;
    let h = api.subscribe("contact.add", &hang_url).await;
    assert_eq!(h["status"], "Verified", "{h}");
    let mut healthy = Vec::new();
    for _ in 0..12 {
        let rx = HookReceiver::start(Mode::Echo).await;
        api.subscribe("contact.add", &rx.url).await;
        rx.clear();
        healthy.push(rx);
    }
    let c = api.contact("patient").await;

    // Act
    let started = Instant::now();
    let state = srv.state.clone();
    let now = srv.clock.now();
    let task = tokio::spawn(async move { deliver_due(&state, now).await });
    let mut all_after = None;
    while started.elapsed() < TIMEOUT * 3 {
        if healthy.iter().all(|rx| !rx.deliveries().is_empty()) {
            all_after = Some(started.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let report = task.await.unwrap();
    let total = started.elapsed();

    // Assert
    let all_after = all_after.expect("every healthy receiver got its delivery");
    println!(
        "FIGURE [{backend:?}] 1 hanging + 12 healthy receivers (timeout {TIMEOUT:?}): all healthy delivered after {all_after:?}, pass {total:?}"
    );
    assert!(
        all_after < TIMEOUT / 2,
        "the healthy deliveries waited {all_after:?}"
    );
    assert!(total >= TIMEOUT, "the hanging one was given its timeout");
    assert!(
        total < TIMEOUT + Duration::from_secs(2),
        "the pass took {total:?}"
    );
    assert_eq!((report.delivered, report.failed), (12, 1), "{report:?}");
    for rx in &healthy {
        assert_eq!(rx.deliveries().len(), 1);
        assert_eq!(rx.deliveries()[0].json["object_keys"][0]["id"], c);
    }
    srv.stop().await;
}
on_both_stores!(a_hanging_receiver_holds_no_other_delivery);

/// Two accounts subscribed to the same event: each change reaches only its own account's receiver.
async fn the_outbox_is_per_tenant(backend: Backend) {
    // Arrange
    let srv = server(backend).await;
    let a = Api::for_user(&srv, &srv.user).await;
    let (other, _) = srv
        .add_user_with_accounts(
            &format!("hooks-{}@example.com", keapsake_testkit::unique_suffix()),
            1,
        )
        .await;
    let b = Api::for_user(&srv, &other).await;
    let rx_a = HookReceiver::start(Mode::Echo).await;
    let rx_b = HookReceiver::start(Mode::Echo).await;
    a.subscribe("contact.add", &rx_a.url).await;
    b.subscribe("contact.add", &rx_b.url).await;
    rx_a.clear();
    rx_b.clear();

    // Act + Assert: a change in A.
    let ca = a.contact("in-a").await;
    assert_eq!(pass(&srv).await.delivered, 1);
    let got_a = rx_a.deliveries();
    assert_eq!(got_a.len(), 1);
    assert_eq!(
        got_a[0].json["object_keys"],
        json!([{"id": ca,
        "apiUrl": srv.at(&format!("crm/rest/v1/contacts/{ca}")),
        "timestamp": got_a[0].json["object_keys"][0]["timestamp"]}])
    );
    assert!(rx_b.deliveries().is_empty(), "B got A's change");
    // A change in B.
    let cb = b.contact("in-b").await;
    assert_eq!(pass(&srv).await.delivered, 1);
    assert_eq!(rx_a.deliveries().len(), 1, "A got B's change");
    let got_b = rx_b.deliveries();
    assert_eq!(got_b.len(), 1);
    assert_eq!(got_b[0].json["object_keys"][0]["id"], cb);
    srv.stop().await;
}
on_both_stores!(the_outbox_is_per_tenant);

/// A contact created, edited and deleted before the worker runs: its `contact.delete` is still
/// delivered, with an empty `apiUrl` (there is nothing left to fetch).
async fn a_deleted_contact_is_delivered_as_contact_delete(backend: Backend) {
    // Arrange
    let srv = server(backend).await;
    let api = Api::for_user(&srv, &srv.user).await;
    let rx = HookReceiver::start(Mode::Echo).await;
    for e in ["contact.add", "contact.edit", "contact.delete"] {
        api.subscribe(e, &rx.url).await;
    }
    rx.clear();

    // Act
    let c = api.contact("short-lived").await;
    let (s, _) = api
        .call(
            reqwest::Method::PATCH,
            &format!("contacts/{c}"),
            Some(json!({"family_name": "Gone"})),
        )
        .await;
    assert_eq!(s, 200);
    let (s, _) = api
        .call(reqwest::Method::DELETE, &format!("contacts/{c}"), None)
        .await;
    assert_eq!(s, 204);
    let report = pass(&srv).await;

    // Assert
    assert_eq!(report.failed, 0, "{report:?}");
    let got = rx.deliveries();
    let del = got
        .iter()
        .find(|r| r.json["event_key"] == "contact.delete")
        .unwrap_or_else(|| panic!("a contact.delete delivery among {got:?}"));
    assert_eq!(del.json["object_type"], "contact");
    assert_eq!(del.json["object_keys"][0]["id"], c);
    assert_eq!(del.json["object_keys"][0]["apiUrl"], "");
    srv.stop().await;
}
on_both_stores!(a_deleted_contact_is_delivered_as_contact_delete);

/// More hanging receivers than the old fixed width of 8: with the default concurrency (32)
/// ten receivers that never answer still leave slots for everyone else, so the healthy ones are
/// delivered long before the timeout. (With 8 slots, 8 of the 10 hung receivers held every slot
/// for a whole timeout.)
async fn ten_hanging_receivers_do_not_hold_the_healthy_ones(backend: Backend) {
    // Arrange
    let srv = server(backend).await;
    assert_eq!(
        srv.state.config.hooks.concurrency,
        keapsake_server::webhooks::DEFAULT_CONCURRENCY
    );
    let api = Api::for_user(&srv, &srv.user).await;
    for _ in 0..10 {
        let (hang_url, _) = scripted(Script::Hang).await;
        let h = api.subscribe("contact.add", &hang_url).await;
        assert_eq!(h["status"], "Verified", "{h}");
    }
    let mut healthy = Vec::new();
    for _ in 0..6 {
        let rx = HookReceiver::start(Mode::Echo).await;
        api.subscribe("contact.add", &rx.url).await;
        rx.clear();
        healthy.push(rx);
    }
    api.contact("crowded").await;

    // Act
    let started = Instant::now();
    let state = srv.state.clone();
    let now = srv.clock.now();
    let task = tokio::spawn(async move { deliver_due(&state, now).await });
    let mut all_after = None;
    while started.elapsed() < TIMEOUT * 3 {
        if healthy.iter().all(|rx| !rx.deliveries().is_empty()) {
            all_after = Some(started.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let report = task.await.unwrap();

    // Assert
    let all_after = all_after.expect("every healthy receiver got its delivery");
    println!(
        "FIGURE [{backend:?}] 10 hanging + 6 healthy receivers (timeout {TIMEOUT:?}, concurrency {}): all healthy delivered after {all_after:?}",
        keapsake_server::webhooks::DEFAULT_CONCURRENCY
    );
    assert!(
        all_after < TIMEOUT / 2,
        "the healthy deliveries waited {all_after:?}"
    );
    assert_eq!((report.delivered, report.failed), (6, 10), "{report:?}");
    srv.stop().await;
}
on_both_stores!(ten_hanging_receivers_do_not_hold_the_healthy_ones);
