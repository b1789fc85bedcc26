//! REST hooks end to end (`keap/rest-v1.md` §10, SECURITY.md §8): subscription and the
//! `X-Hook-Secret` handshake against a real local receiver, deliveries of contact and tag
//! changes made through REST (payload, headers, order), Keap's retry schedule driven by the
//! injected clock (no sleeping), 410 and last-failure deactivation, delayed verification, and
//! the SSRF figure: listeners on blocked addresses see 0 connections across every URL spelling
//! and a resolver that rebinds.

use keapsake_core::hooks::{EVENT_KEYS, HookStatus, Subscription};
use keapsake_core::records::{Edit, RecordKind};
use keapsake_core::{Clock, Secret};
use keapsake_server::quota::Profile;
use keapsake_server::webhooks::ssrf::HookResolver;
use keapsake_server::webhooks::{HookConfig, PassReport, deliver_due};
use keapsake_testkit::hooks::{HookReceiver, Mode};
use keapsake_testkit::{Backend, TestOptions, TestServer};
use serde_json::{Value, json};
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use time::Duration;

/// A server whose hook worker is off: the test drives `deliver_due` with the manual clock.
async fn server(
    backend: Backend,
    profile: Profile,
    resolver: Option<Arc<dyn HookResolver>>,
) -> TestServer {
    let mut hooks = HookConfig {
        worker: false,
        timeout: std::time::Duration::from_secs(5),
        connect_timeout: std::time::Duration::from_secs(2),
        ..HookConfig::default()
    };
    if let Some(r) = resolver {
        hooks.resolver = r;
    }
    TestServer::start_with(
        backend,
        TestOptions {
            hooks: Some(hooks),
            profile: Some(profile),
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
    async fn new(srv: &TestServer) -> Api {
        let code = srv.authorize(&srv.app, &srv.user).await;
        let (s, tok) = srv.exchange(&srv.app, &code).await;
        assert_eq!(s, 200, "{tok}");
        Api {
            base: srv.at("crm/rest/v1/"),
            token: tok["access_token"].as_str().expect("a token").to_owned(),
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
        let r = rb.send().await.expect("the server answers");
        let status = r.status().as_u16();
        let text = r.text().await.expect("a body");
        assert!(status < 500, "{path}: {status} {text}");
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        self.call(reqwest::Method::GET, path, None).await
    }
    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }
    async fn patch(&self, path: &str, body: Value) -> (u16, Value) {
        self.call(reqwest::Method::PATCH, path, Some(body)).await
    }

    async fn subscribe(&self, event: &str, url: &str) -> Value {
        let (s, b) = self
            .post("hooks", json!({"eventKey": event, "hookUrl": url}))
            .await;
        assert_eq!(s, 200, "{b}");
        b
    }

    async fn contact(&self, name: &str) -> i64 {
        let (s, b) = self
            .post(
                "contacts",
                json!({"given_name": name, "email_addresses": [{"email": format!("{name}@example.com"), "field": "EMAIL1"}]}),
            )
            .await;
        assert_eq!(s, 201, "{b}");
        b["id"].as_i64().expect("an id")
    }
}

fn ids(delivery: &Value) -> Vec<i64> {
    delivery["object_keys"]
        .as_array()
        .expect("object_keys")
        .iter()
        .map(|k| k["id"].as_i64().expect("id"))
        .collect()
}

async fn pass(srv: &TestServer) -> PassReport {
    deliver_due(&srv.state, srv.clock.now()).await
}

/// Subscribe, verify, change contacts and tags through REST, and check every delivery.
async fn deliveries_of_rest_changes(backend: Backend) {
    // Arrange
    let srv = server(backend, Profile::Sandbox, None).await;
    let api = Api::new(&srv).await;
    let rx = HookReceiver::start(Mode::Echo).await;
    let (s, keys) = api.get("hooks/event_keys").await;
    assert_eq!(s, 200);
    assert_eq!(keys, json!(EVENT_KEYS));
    let add = api.subscribe("contact.add", &rx.url).await;
    assert_eq!(add["status"], "Verified", "{add}");
    assert_eq!(add["eventKey"], "contact.add");
    assert_eq!(add["hookUrl"], rx.url.as_str());
    let handshakes = rx.received();
    assert_eq!(handshakes.len(), 1, "one verification request");
    assert_eq!(handshakes[0].len, 0, "the handshake has an empty body");
    assert!(
        handshakes[0]
            .header("x-hook-secret")
            .is_some_and(|s| s.len() >= 32)
    );
    api.subscribe("contact.edit", &rx.url).await;
    api.subscribe("contactGroup.applied", &rx.url).await;
    api.subscribe("order.add", &rx.url).await;
    api.subscribe("invoice.payment.add", &rx.url).await;
    let (s, list) = api.get("hooks").await;
    assert_eq!(s, 200);
    assert_eq!(list.as_array().map(Vec::len), Some(5), "{list}");
    rx.clear();

    // Act: three contacts, an edit, a tag applied to two contacts.
    let c1 = api.contact("ada").await;
    let c2 = api.contact("bob").await;
    let c3 = api.contact("cy").await;
    let (s, _) = api
        .patch(&format!("contacts/{c2}"), json!({"family_name": "B"}))
        .await;
    assert_eq!(s, 200);
    let (s, tag) = api.post("tags", json!({"name": "VIP"})).await;
    assert!(s == 200 || s == 201, "{s} {tag}");
    let t = tag["id"].as_i64().expect("tag id");
    let (s, _) = api
        .post(&format!("tags/{t}/contacts"), json!({"ids": [c1, c3]}))
        .await;
    assert_eq!(s, 200);
    assert!(
        rx.deliveries().is_empty(),
        "nothing is sent before the worker runs"
    );
    let report = pass(&srv).await;

    // Assert
    assert_eq!(report.delivered, 3, "{report:?}");
    assert_eq!(report.objects, 6, "{report:?}");
    let got = rx.deliveries();
    assert_eq!(got.len(), 3);
    let by_key = |k: &str| {
        got.iter()
            .find(|r| r.json["event_key"] == k)
            .unwrap_or_else(|| panic!("a {k} delivery"))
            .clone()
    };
    let base = srv.at("crm/rest/v1/");
    let adds = by_key("contact.add");
    assert_eq!(ids(&adds.json), vec![c1, c2, c3], "objects in change order");
    assert_eq!(adds.json["object_type"], "contact");
    assert_eq!(
        adds.json["object_keys"][0]["apiUrl"],
        format!("{base}contacts/{c1}")
    );
    let ts = adds.json["object_keys"][0]["timestamp"]
        .as_str()
        .expect("timestamp");
    assert!(
        ts.ends_with('Z') && ts.len() == 24,
        "RFC 3339 UTC with millis: {ts}"
    );
    let keys: Vec<&str> = adds
        .json
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys.len(),
        3,
        "exactly event_key, object_type, object_keys: {keys:?}"
    );
    assert_eq!(
        adds.header("content-type").as_deref(),
        Some("application/json")
    );
    assert_eq!(adds.header("x-keapsake-attempt").as_deref(), Some("1"));
    assert!(adds.header("x-keapsake-delivery").is_some());
    assert!(
        adds.header("x-hook-secret").is_none(),
        "deliveries carry no secret"
    );
    assert!(
        adds.header("user-agent")
            .is_some_and(|u| u.starts_with("keapsake-hooks/"))
    );
    assert_eq!(ids(&by_key("contact.edit").json), vec![c2]);
    let applied = by_key("contactGroup.applied");
    assert_eq!(applied.json["object_type"], "contactGroup");
    assert_eq!(
        applied.json["object_keys"],
        json!([{"id": t, "apiUrl": format!("{base}tags/{t}"),
                "timestamp": applied.json["object_keys"][0]["timestamp"],
                "contact_ids": [c1, c3]}])
    );
    assert_eq!(
        pass(&srv).await,
        PassReport::default(),
        "delivered once, not twice"
    );
    assert_eq!(srv.store.pending_hook_items(None).await.expect("count"), 0);
    srv.stop().await;
}
on_both_stores!(deliveries_of_rest_changes);

/// A failing receiver: retries at +30–60 s, +5 min, +30 min by the injected clock, then the
/// subscription turns Inactive; `/verify` brings it back. A 410 deactivates at once.
async fn retries_follow_keaps_schedule(backend: Backend) {
    // Arrange
    let srv = server(backend, Profile::Sandbox, None).await;
    let api = Api::new(&srv).await;
    let rx = HookReceiver::start(Mode::Echo).await;
    let hook = api.subscribe("contact.add", &rx.url).await;
    let key = hook["key"].as_str().expect("key").to_owned();
    rx.set_mode(Mode::Fail);
    rx.clear();
    let c = api.contact("retry").await;
    let attempts = || {
        rx.deliveries()
            .iter()
            .map(|r| r.header("x-keapsake-attempt").unwrap_or_default())
            .collect::<Vec<_>>()
    };

    // Act + Assert: attempt 1 fails.
    assert_eq!(pass(&srv).await.failed, 1);
    assert_eq!(attempts(), vec!["1"]);
    // Not due before 30 s have passed, due by 60 s.
    srv.clock.advance(Duration::seconds(29));
    assert_eq!(pass(&srv).await, PassReport::default(), "backoff holds");
    srv.clock.advance(Duration::seconds(31));
    assert_eq!(pass(&srv).await.failed, 1);
    assert_eq!(attempts(), vec!["1", "2"]);
    srv.clock.advance(Duration::minutes(4));
    assert_eq!(
        pass(&srv).await,
        PassReport::default(),
        "second retry waits 5 min"
    );
    srv.clock.advance(Duration::minutes(1));
    assert_eq!(pass(&srv).await.failed, 1);
    srv.clock.advance(Duration::minutes(29));
    assert_eq!(
        pass(&srv).await,
        PassReport::default(),
        "third retry waits 30 min"
    );
    srv.clock.advance(Duration::minutes(1));
    assert_eq!(pass(&srv).await.failed, 1);
    assert_eq!(attempts(), vec!["1", "2", "3", "4"]);
    for r in rx.deliveries() {
        assert_eq!(
            ids(&r.json),
            vec![c],
            "every attempt carries the same object"
        );
    }
    // The 4th failure deactivates; nothing more is queued or sent.
    let (_, now) = api.get(&format!("hooks/{key}")).await;
    assert_eq!(now["status"], "Inactive");
    api.contact("while-inactive").await;
    srv.clock.advance(Duration::hours(2));
    let _ = &api;
    assert_eq!(pass(&srv).await, PassReport::default());
    assert_eq!(srv.store.pending_hook_items(None).await.expect("count"), 0);
    // /verify with a healthy receiver reactivates (a fresh token: the clock moved 2 h).
    let api = Api::new(&srv).await;
    rx.set_mode(Mode::Echo);
    let (s, back) = api.post(&format!("hooks/{key}/verify"), json!({})).await;
    assert_eq!((s, back["status"].as_str()), (200, Some("Verified")));
    let c2 = api.contact("after-verify").await;
    assert_eq!(pass(&srv).await.delivered, 1);
    assert_eq!(
        ids(&rx.deliveries().last().expect("a delivery").json),
        vec![c2]
    );
    // 410 Gone: Inactive immediately, no retry.
    rx.set_mode(Mode::Gone);
    api.contact("gone").await;
    assert_eq!(pass(&srv).await.failed, 1);
    let (_, gone) = api.get(&format!("hooks/{key}")).await;
    assert_eq!(gone["status"], "Inactive");
    srv.clock.advance(Duration::hours(1));
    assert_eq!(pass(&srv).await, PassReport::default());
    srv.stop().await;
}
on_both_stores!(retries_follow_keaps_schedule);

/// A receiver that does not echo: `Unverified`, nothing queued; `delayedVerify` with a wrong
/// secret changes nothing, with the secret it was sent verifies.
async fn delayed_verification(backend: Backend) {
    let srv = server(backend, Profile::Sandbox, None).await;
    let api = Api::new(&srv).await;
    let rx = HookReceiver::start(Mode::NoEcho).await;
    let hook = api.subscribe("contact.add", &rx.url).await;
    assert_eq!(hook["status"], "Unverified");
    let key = hook["key"].as_str().expect("key").to_owned();
    let secret = rx.received()[0].header("x-hook-secret").expect("a secret");
    api.contact("unverified").await;
    assert_eq!(srv.store.pending_hook_items(None).await.expect("count"), 0);
    let delayed = |s: String| {
        let api = &api;
        let key = key.clone();
        async move {
            let r = api
                .http
                .post(format!("{}hooks/{key}/delayedVerify", api.base))
                .bearer_auth(&api.token)
                .header("X-Hook-Secret", s)
                .send()
                .await
                .expect("answers");
            let status = r.status().as_u16();
            (status, r.json::<Value>().await.expect("json"))
        }
    };
    let (s, b) = delayed("not-the-secret".to_owned()).await;
    assert_eq!((s, b["status"].as_str()), (200, Some("Unverified")));
    let (s, b) = delayed(secret).await;
    assert_eq!((s, b["status"].as_str()), (200, Some("Verified")));
    let c = api.contact("verified").await;
    assert_eq!(pass(&srv).await.delivered, 1);
    assert_eq!(ids(&rx.deliveries()[0].json), vec![c]);
    // PUT to a new URL re-verifies; DELETE removes (and its queued events go with it).
    let rx2 = HookReceiver::start(Mode::Echo).await;
    let (s, put) = api
        .call(
            reqwest::Method::PUT,
            &format!("hooks/{key}"),
            Some(json!({"eventKey": "contact.add", "hookUrl": rx2.url})),
        )
        .await;
    assert_eq!(
        (s, put["status"].as_str()),
        (200, Some("Verified")),
        "{put}"
    );
    assert_eq!(rx2.received().len(), 1);
    api.contact("queued-then-deleted").await;
    let (s, _) = api
        .call(reqwest::Method::DELETE, &format!("hooks/{key}"), None)
        .await;
    assert_eq!(s, 204);
    assert_eq!(srv.store.pending_hook_items(None).await.expect("count"), 0);
    let (s, b) = api.get(&format!("hooks/{key}")).await;
    assert_eq!(
        (s, b),
        (404, json!({"message": "Unable to find this RestHook"}))
    );
    srv.stop().await;
}
on_both_stores!(delayed_verification);

/// Bad input: Keap's error shape, never a 5xx.
async fn bad_subscriptions_are_refused(backend: Backend) {
    let srv = server(backend, Profile::Sandbox, None).await;
    let api = Api::new(&srv).await;
    for (body, message) in [
        (
            json!({"eventKey": "contact.nope", "hookUrl": "http://127.0.0.1:9/h"}),
            "Invalid eventKey",
        ),
        (
            json!({"eventKey": "Contact.add", "hookUrl": "http://127.0.0.1:9/h"}),
            "Invalid eventKey",
        ),
        (
            json!({"hookUrl": "http://127.0.0.1:9/h"}),
            "Invalid eventKey",
        ),
        (json!({"eventKey": "contact.add"}), "Invalid hookUrl"),
        (
            json!({"eventKey": "contact.add", "hookUrl": 7}),
            "Invalid hookUrl",
        ),
        (
            json!({"eventKey": "contact.add", "hookUrl": "ftp://example.com/"}),
            "Invalid hookUrl: hookUrl must be an absolute http or https URL",
        ),
        (
            json!({"eventKey": "contact.add", "hookUrl": "http://169.254.169.254/latest"}),
            "Invalid hookUrl: hookUrl points to a blocked address (169.254.0.0/16 (link-local, cloud metadata))",
        ),
    ] {
        let (s, b) = api.post("hooks", body.clone()).await;
        assert_eq!((s, b), (400, json!({"message": message})), "{body}");
    }
    let (s, b) = api.get("hooks/nope").await;
    assert_eq!(
        (s, b),
        (404, json!({"message": "Unable to find this RestHook"}))
    );
    srv.stop().await;
}
on_both_stores!(bad_subscriptions_are_refused);

/// Answers the first lookup of `rebind.example` with a public address and every later one
/// with loopback (a DNS rebinding attack); every other name resolves to loopback.
struct Rebinder {
    calls: AtomicUsize,
}

impl HookResolver for Rebinder {
    fn lookup(
        &self,
        host: String,
    ) -> futures_util::future::BoxFuture<'static, std::io::Result<Vec<IpAddr>>> {
        let n = if host == "rebind.example" {
            self.calls.fetch_add(1, Ordering::SeqCst)
        } else {
            1
        };
        Box::pin(async move {
            Ok(vec![if n == 0 {
                "93.184.215.14".parse().expect("ip")
            } else {
                "127.0.0.1".parse().expect("ip")
            }])
        })
    }
}

/// SECURITY.md §8 figure: in the production profile, a listener on loopback sees 0
/// connections across every spelling of its address, and a name that rebinds to it after the
/// subscription check is never connected to (neither for verification nor for delivery).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn figure_ssrf_blocked_listeners_see_no_connection() {
    // Arrange: a counting listener on 127.0.0.1.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    let accept = tokio::spawn(async move {
        while let Ok((_sock, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
        }
    });
    let resolver: Arc<dyn HookResolver> = Arc::new(Rebinder {
        calls: AtomicUsize::new(0),
    });
    let srv = server(Backend::Sqlite, Profile::Production, Some(resolver)).await;
    let api = Api::new(&srv).await;
    let spellings = [
        "127.0.0.1",
        "127.1",
        "127.0.1",
        "2130706433",
        "0x7f000001",
        "0x7F.0.0.1",
        "0x7f.1",
        "0177.0.0.1",
        "0177.1",
        "017700000001",
        "0x7f.0x0.0x0.0x1",
        "127.000.000.001",
        "0000177.0.0.1",
        "127.0.0.1.",
        "[::1]",
        "[0:0:0:0:0:0:0:1]",
        "[::ffff:127.0.0.1]",
        "[::ffff:7f00:1]",
        "[0:0:0:0:0:ffff:127.0.0.1]",
        "[::127.0.0.1]",
        "[::7f00:1]",
        "[64:ff9b::127.0.0.1]",
        "[64:ff9b::7f00:1]",
        "[2002:7f00:1::1]",
        "localhost",
        "LOCALHOST",
        "localhost.",
        "127.127.127.127",
        "0",
        "0.0.0.0",
        "0x0",
        "[::]",
        "[::ffff:0.0.0.0]",
        "%31%32%37.0.0.1",
    ];
    let schemes = ["http", "https"];
    let mut refused = 0;
    let mut tried = 0;
    for host in spellings {
        for scheme in schemes {
            let url = format!("{scheme}://{host}:{port}/hook");
            tried += 1;
            // The production profile's spike arrest allows 25 requests per second: wait out
            // its 429s.
            let (s, b) = loop {
                let (s, b) = api
                    .post("hooks", json!({"eventKey": "contact.add", "hookUrl": url}))
                    .await;
                if s != 429 {
                    break (s, b);
                }
                srv.clock.advance(Duration::seconds(2));
            };
            if s == 400 {
                refused += 1;
            } else {
                assert_eq!(b["status"], "Unverified", "{url} must not verify: {b}");
            }
        }
    }
    // Rebinding: the subscription check sees a public address, the connection would see
    // loopback; the guarded resolver refuses the second lookup.
    let url = format!("https://rebind.example:{port}/hook");
    let (s, hook) = api
        .post("hooks", json!({"eventKey": "contact.add", "hookUrl": url}))
        .await;
    assert_eq!(s, 200, "{hook}");
    assert_eq!(hook["status"], "Unverified");
    // Mark it verified behind the API, then let a delivery try.
    let key = hook["key"].as_str().expect("key").to_owned();
    let (recs, _) = srv
        .store
        .list_records(
            srv.account.id,
            RecordKind::Hook,
            &keapsake_core::records::Query {
                conds: vec![keapsake_core::records::Cond::TextEq(
                    keapsake_core::hooks::KEY_COLUMN,
                    key,
                )],
                ..Default::default()
            },
        )
        .await
        .expect("list");
    let edit: Edit = Box::new(|_, data| {
        let mut sub: Subscription =
            serde_json::from_value(data.clone()).map_err(|e| e.to_string())?;
        sub.status = HookStatus::Verified;
        *data = serde_json::to_value(&sub).map_err(|e| e.to_string())?;
        Ok(sub.keys())
    });
    srv.store
        .update_record(
            srv.account.id,
            RecordKind::Hook,
            recs[0].id,
            edit,
            srv.clock.now(),
        )
        .await
        .expect("edit");
    api.contact("rebinding").await;
    let report = pass(&srv).await;
    assert_eq!(report.failed, 1, "{report:?}");
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let connections = accepted.load(Ordering::SeqCst);
    println!(
        "FIGURE [SECURITY §8] hook URLs to a loopback listener (production profile): {tried} spellings, {refused} refused at subscription, {} accepted-but-unverified; rebinding name: verification and delivery attempted; connections seen by the listener = {connections}",
        tried - refused
    );
    assert_eq!(connections, 0, "a blocked listener was connected to");
    assert!(
        refused >= 30,
        "at least 30 spellings refused outright, got {refused}"
    );
    accept.abort();
    let _ = Secret::generate();
    srv.stop().await;
}
