//! E-mails end to end on both stores (`keap/rest-v1.md` §9, §1.9): record CRUD, sync/unsync,
//! `POST /emails/queue` → outbox → e-mail records, opt-in/out kept in step with the contact,
//! tenant isolation, and SMTP delivery by two "nodes" sharing one database that never send a
//! message twice.

use keapsake_core::Clock as _;
use keapsake_server::mail::smtp::deliver_mail_due;
use keapsake_server::{AppState, Config, SmtpRelay};
use keapsake_testkit::smtp::SmtpSink;
use keapsake_testkit::{Backend, TestServer};
use serde_json::{Value, json};
use std::sync::Arc;

struct Api {
    root: String,
    token: String,
    http: reqwest::Client,
}

impl Api {
    async fn new(srv: &TestServer, user: &keapsake_testkit::TestUser) -> Api {
        let code = srv.authorize(&srv.app, user).await;
        let (s, tok) = srv.exchange(&srv.app, &code).await;
        assert_eq!(s, 200, "{tok}");
        Api {
            root: srv.at(""),
            token: tok["access_token"].as_str().unwrap().to_owned(),
            http: reqwest::Client::new(),
        }
    }

    async fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut rb = self
            .http
            .request(
                method,
                format!("{}{}", self.root, path.trim_start_matches('/')),
            )
            .bearer_auth(&self.token)
            .header("content-type", "application/json");
        if let Some(b) = body {
            rb = rb.body(b.to_string());
        }
        let r = rb.send().await.unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        let v = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        assert!(status < 500, "{path}: {status} {v}");
        (status, v)
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        self.send(reqwest::Method::GET, path, None).await
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }

    async fn contact(&self, given: &str, email: &str) -> i64 {
        let (s, c) = self
            .post(
                "crm/rest/v1/contacts",
                json!({"given_name": given,
                "email_addresses": [{"email": email, "field": "EMAIL1"}]}),
            )
            .await;
        assert_eq!(s, 201, "{c}");
        c["id"].as_i64().unwrap()
    }
}

fn b64(s: &str) -> String {
    keapsake_core::messaging::encode_base64(s.as_bytes())
}

async fn other_account(srv: &TestServer) -> Api {
    let email = format!("mail-{}@example.com", keapsake_testkit::unique_suffix());
    let (user, _) = srv.add_user_with_accounts(&email, 1).await;
    Api::new(srv, &user).await
}

async fn records_sync_and_isolation(backend: Backend) {
    let srv = TestServer::start(backend).await;
    let api = Api::new(&srv, &srv.user).await;
    let other = other_account(&srv).await;
    let c = api.contact("Ada", "ada@x.example").await;
    let (s, e) = api
        .post("crm/rest/v1/emails", json!({"sent_to_address": "ada@x.example", "contact_id": c,
            "original_provider": "Infusionsoft", "html_content": b64("<b>x</b>"), "sent_date": "2024-11-07T20:35:13Z"}))
        .await;
    assert_eq!(s, 201, "{e}");
    assert_eq!(e["original_provider"], "INFUSIONSOFT");
    assert_eq!(e["html_content"], b64("<b>x</b>"));
    let id = e["id"].as_i64().unwrap();
    let (_, list) = api.get("crm/rest/v1/emails").await;
    assert_eq!(list["count"], 1);
    assert!(list["emails"][0].get("html_content").is_none());
    let (_, list) = api.get(&format!("crm/rest/v1/contacts/{c}/emails")).await;
    assert_eq!(list["emails"][0]["id"], id);
    // Another account: the id, the contact and the list all read as missing or empty.
    assert_eq!(other.get(&format!("crm/rest/v1/emails/{id}")).await.0, 404);
    assert_eq!(
        other
            .get(&format!("crm/rest/v1/contacts/{c}/emails"))
            .await
            .0,
        404
    );
    assert_eq!(other.get("crm/rest/v1/emails").await.1["count"], 0);
    let (s, _) = other
        .send(
            reqwest::Method::DELETE,
            &format!("crm/rest/v1/emails/{id}"),
            None,
        )
        .await;
    assert_eq!(s, 404);
    let (s, r) = other
        .post(
            "crm/rest/v1/emails",
            json!({"sent_to_address": "a@b.c", "contact_id": c}),
        )
        .await;
    assert_eq!(
        (s, r),
        (
            400,
            json!({"message": format!("Contact {c} does not exist")})
        )
    );
    let (s, r) = other
        .post("crm/rest/v1/emails/unsync", json!({"ids": [id]}))
        .await;
    assert_eq!((s, r), (200, json!({})));
    assert_eq!(
        api.get(&format!("crm/rest/v1/emails/{id}")).await.0,
        200,
        "unsync of another account's id deletes nothing"
    );

    let (s, r) = api
        .post("crm/rest/v1/emails/sync", json!({"emails": [
            {"sent_to_address": "s1@x.example", "original_provider": "GOOGLE", "original_provider_id": "g1"},
            {"sent_to_address": "s2@x.example", "original_provider": "GOOGLE", "original_provider_id": "g1"},
        ]}))
        .await;
    assert_eq!(s, 201);
    assert_eq!(r["emails"].as_array().unwrap().len(), 1);
    assert_eq!(r["errors"][0]["email"]["sent_to_address"], "s2@x.example");
    let synced = r["emails"][0]["id"].as_i64().unwrap();
    // The other account has its own provider-id namespace.
    let (s, _) = other.post("crm/rest/v1/emails", json!({"sent_to_address": "s1@x.example", "original_provider": "GOOGLE", "original_provider_id": "g1"})).await;
    assert_eq!(s, 201);
    let (s, _) = api
        .post("crm/rest/v1/emails/unsync", json!({"ids": [synced, id]}))
        .await;
    assert_eq!(s, 200);
    assert_eq!(api.get("crm/rest/v1/emails").await.1["count"], 0);
    srv.stop().await;
}
on_both_stores!(records_sync_and_isolation);

async fn queue_outbox_opt_out_and_two_nodes(backend: Backend) {
    let srv = TestServer::start(backend).await;
    let api = Api::new(&srv, &srv.user).await;
    let other = other_account(&srv).await;
    let grace = api.contact("Grace", "grace@x.example").await;
    let alan = api.contact("Alan", "alan@x.example").await;
    let (s, r) = api
        .send(
            reqwest::Method::PUT,
            "crm/rest/v1/emailAddresses/alan@x.example",
            Some(json!({"opted_in": false, "reason": "asked to stop"})),
        )
        .await;
    assert_eq!(
        (s, r),
        (
            200,
            json!({"email": "alan@x.example", "opted_in": false, "status": "Opt-Out: Admin"})
        )
    );
    let (_, c) = api.get(&format!("crm/rest/v1/contacts/{alan}")).await;
    assert_eq!(
        (c["email_status"].clone(), c["email_opted_in"].clone()),
        (json!("Admin"), json!(false))
    );
    let (s, r) = api
        .send(
            reqwest::Method::PUT,
            "crm/rest/v1/emailAddresses/grace@x.example",
            Some(json!({"opted_in": true, "reason": "newsletter form"})),
        )
        .await;
    assert_eq!((s, r["status"].clone()), (200, json!("Unconfirmed")));
    // Another account cannot touch these addresses.
    let (s, _) = other
        .send(
            reqwest::Method::PUT,
            "crm/rest/v1/emailAddresses/grace@x.example",
            Some(json!({"opted_in": false, "reason": "x"})),
        )
        .await;
    assert_eq!(s, 404);

    let body = json!({"contacts": [grace, alan], "user_id": srv.user.id.0,
        "subject": "Hello ~Contact.FirstName~", "html_content": b64("<p>Hi ~Contact.FirstName~</p>")});
    let (s, r) = other.post("crm/rest/v1/emails/queue", body.clone()).await;
    assert_eq!(
        s, 400,
        "another account's contacts and user are unknown: {r}"
    );
    let (s, r) = api.post("crm/rest/v1/emails/queue", body).await;
    assert_eq!((s, r), (202, Value::Null));
    let (_, out) = api.get("keapsake/v1/outbox").await;
    assert_eq!(out["count"], 2);
    let msgs = out["messages"].as_array().unwrap();
    let by_to = |to: &str| msgs.iter().find(|m| m["to"] == to).unwrap().clone();
    assert_eq!(by_to("grace@x.example")["status"], "queued");
    assert_eq!(by_to("grace@x.example")["subject"], "Hello Grace");
    assert_eq!(
        by_to("alan@x.example")["status"],
        "skipped: alan@x.example is not marketable (Opt-Out: Admin)"
    );
    assert_eq!(other.get("keapsake/v1/outbox").await.1["count"], 0);
    let (_, recs) = api
        .get(&format!("crm/rest/v1/emails?contact_id={grace}"))
        .await;
    assert_eq!(recs["emails"][0]["original_provider"], "INFUSIONSOFT");
    assert_eq!(
        api.get(&format!("crm/rest/v1/contacts/{alan}/emails"))
            .await
            .1["count"],
        0
    );

    // Two nodes over one database (PostgreSQL: two connection pools) run passes at once:
    // the relay gets the message exactly once.
    let sink = SmtpSink::start().await;
    let config = || Config {
        smtp: Some(SmtpRelay::parse(&sink.url).unwrap()),
        ..Config::default()
    };
    let second_store: Arc<dyn keapsake_core::Store> = match &srv.database_url {
        Some(url) => Arc::new(
            keapsake_store_postgres::PgStore::connect(url)
                .await
                .unwrap(),
        ),
        None => srv.store.clone(),
    };
    let node_a = AppState::new(srv.store.clone(), srv.clock.clone(), config());
    let node_b = AppState::new(second_store, srv.clock.clone(), config());
    let now = srv.clock.now();
    let (a, b) = tokio::join!(
        deliver_mail_due(&node_a, now),
        deliver_mail_due(&node_b, now)
    );
    assert_eq!(a.unwrap().sent + b.unwrap().sent, 1);
    let got = sink.received();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].to, vec!["<grace@x.example>".to_owned()]);
    assert!(
        got[0].data.contains("Subject: Hello Grace\r\n"),
        "{}",
        got[0].data
    );
    assert!(got[0].data.contains("<p>Hi Grace</p>"), "{}", got[0].data);
    // A restarted node finds nothing left to send.
    let node_c = AppState::new(srv.store.clone(), srv.clock.clone(), config());
    assert_eq!(deliver_mail_due(&node_c, now).await.unwrap().sent, 0);
    assert_eq!(sink.received().len(), 1);
    let (_, out) = api.get("keapsake/v1/outbox?state=sent").await;
    assert_eq!(out["messages"][0]["to"], "grace@x.example");
    srv.stop().await;
}
on_both_stores!(queue_outbox_opt_out_and_two_nodes);
