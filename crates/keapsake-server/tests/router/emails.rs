//! E-mails (`keap/rest-v1.md` §9, §1.9): records, sync/unsync, the contact's e-mails, the
//! queue and its outbox (`/keapsake/v1/outbox`), opt-in/out of addresses, and SMTP delivery
//! against an SMTP sink started by the test.

use crate::support::*;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use keapsake_core::Clock as _;
use keapsake_core::messaging::encode_base64;
use keapsake_server::mail::smtp::{DeliveryReport, deliver_mail_due};
use keapsake_server::{Config, SmtpRelay};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};

const V1: &str = "/crm/rest/v1";

/// `POST /crm/rest/v1/emails/queue` with `body`.
async fn queue(h: &Harness, token: &str, body: Value) -> Resp {
    call(
        h,
        token,
        Method::POST,
        &format!("{V1}/emails/queue"),
        Some(body),
    )
    .await
}

/// Queues a plain e-mail (subject `s`, body `b`) from the harness user to `contacts`: 202.
async fn queue_plain(h: &Harness, token: &str, contacts: Value) {
    queue(
        h,
        token,
        json!({"contacts": contacts, "user_id": h.user.id.0, "subject": "s", "plain_content": b64("b")}),
    )
    .await
    .assert_status(StatusCode::ACCEPTED);
}

async fn contact(h: &Harness, token: &str, given: &str, email: &str) -> i64 {
    let res = call(
        h,
        token,
        Method::POST,
        &format!("{V1}/contacts"),
        Some(json!({"given_name": given, "family_name": "Doe",
                    "email_addresses": [{"email": email, "field": "EMAIL1"}]})),
    )
    .await;
    res.assert_status(StatusCode::CREATED);
    res.json()["id"].as_i64().expect("id")
}

/// The contact's `email_status` and `email_opted_in`.
async fn email_status(h: &Harness, token: &str, id: i64) -> (Value, Value) {
    let got = h.get_bearer(&format!("{V1}/contacts/{id}"), token).await;
    (
        got.json()["email_status"].clone(),
        got.json()["email_opted_in"].clone(),
    )
}

fn b64(s: &str) -> String {
    encode_base64(s.as_bytes())
}

#[tokio::test]
async fn email_records_crud_with_exact_bodies() {
    let h = Harness::new().await;
    let (at, _) = h.tokens().await;
    let c = contact(&h, &at, "Ada", "ada@x.example").await;
    let res = call(
        &h,
        &at,
        Method::POST,
        &format!("{V1}/emails"),
        Some(
            json!({"sent_to_address": "ada@x.example", "contact_id": c, "subject": "Hi",
                    "sent_from_address": "me@y.example", "sent_date": "2024-11-07T20:35:13Z",
                    "original_provider": "google", "original_provider_id": "g-1",
                    "plain_content": b64("hello"), "id": 99, "bogus": true}),
        ),
    )
    .await;
    res.assert_status(StatusCode::CREATED);
    let full = json!({
        "id": 1, "contact_id": c, "subject": "Hi", "headers": null,
        "sent_to_address": "ada@x.example", "sent_to_cc_addresses": null,
        "sent_to_bcc_addresses": null, "sent_from_address": "me@y.example",
        "sent_from_reply_address": null, "sent_date": "2024-11-07T20:35:13.000+0000",
        "received_date": null, "opened_date": null, "clicked_date": null,
        "original_provider": "GOOGLE", "original_provider_id": "g-1",
        "provider_source_id": null, "html_content": null, "plain_content": "aGVsbG8=",
    });
    assert_eq!(res.json(), full);
    let got = h.get_bearer(&format!("{V1}/emails/1"), &at).await;
    got.assert_status(StatusCode::OK);
    assert_eq!(got.json(), full);
    let list = h.get_bearer(&format!("{V1}/emails?limit=5"), &at).await;
    list.assert_status(StatusCode::OK);
    let mut item = full.clone();
    item.as_object_mut().expect("object").remove("html_content");
    item.as_object_mut()
        .expect("object")
        .remove("plain_content");
    let base = h.state.base_url().to_string();
    assert_eq!(
        list.json(),
        json!({"emails": [item], "count": 1,
               "next": format!("{base}crm/rest/v1/emails/?limit=5&offset=5"),
               "previous": format!("{base}crm/rest/v1/emails/?limit=5&offset=0")})
    );
    // A generated provider id is a dash-less UUID.
    let res = call(
        &h,
        &at,
        Method::POST,
        &format!("{V1}/emails"),
        Some(json!({"sent_to_address": "b@x.example"})),
    )
    .await;
    res.assert_status(StatusCode::CREATED);
    let pid = res.json()["original_provider_id"]
        .as_str()
        .expect("id")
        .to_owned();
    assert_eq!(pid.len(), 32);
    assert!(pid.chars().all(|c| c.is_ascii_hexdigit()), "{pid}");
    assert_eq!(res.json()["original_provider"], "UNKNOWN");
    let del = call(&h, &at, Method::DELETE, &format!("{V1}/emails/1"), None).await;
    del.assert_status(StatusCode::NO_CONTENT);
    let gone = h.get_bearer(&format!("{V1}/emails/1"), &at).await;
    gone.assert_status(StatusCode::NOT_FOUND);
    assert_eq!(gone.json(), json!({"message": "Unable to find this Email"}));
    let again = call(&h, &at, Method::DELETE, &format!("{V1}/emails/1"), None).await;
    again.assert_status(StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn bad_email_records_get_a_400_naming_the_problem() {
    let h = Harness::new().await;
    let (at, _) = h.tokens().await;
    let post = |body: Value| {
        let h = &h;
        let at = at.clone();
        async move { call(h, &at, Method::POST, &format!("{V1}/emails"), Some(body)).await }
    };
    for (body, msg) in [
        (json!({"subject": "x"}), "sent_to_address is required"),
        (
            json!({"sent_to_address": "a@b.c", "html_content": "<p>x</p>"}),
            "html_content must be base64-encoded",
        ),
        (
            json!({"sent_to_address": "a@b.c", "contact_id": 999}),
            "Contact 999 does not exist",
        ),
        (
            json!({"sent_to_address": "a@b.c", "original_provider": "AOL"}),
            "original_provider must be one of UNKNOWN, INFUSIONSOFT, MICROSOFT, GOOGLE (got \"AOL\")",
        ),
        (
            json!({"sent_to_address": 5}),
            "Input could not be converted to a valid request",
        ),
        (
            json!([1]),
            "Input could not be converted to a valid request",
        ),
    ] {
        let res = post(body.clone()).await;
        res.assert_status(StatusCode::BAD_REQUEST);
        assert_eq!(res.json(), json!({"message": msg}), "{body}");
    }
    let first = post(json!({"sent_to_address": "a@b.c", "original_provider": "GOOGLE", "original_provider_id": "m1"})).await;
    first.assert_status(StatusCode::CREATED);
    // Same provider id, provider in another case: a duplicate.
    let dup = post(json!({"sent_to_address": "z@b.c", "original_provider": "google", "original_provider_id": "m1"})).await;
    dup.assert_status(StatusCode::BAD_REQUEST);
    assert_eq!(
        dup.json(),
        json!({"message": "An email with original_provider GOOGLE and original_provider_id \"m1\" already exists"})
    );
    // Another provider may reuse the id.
    post(json!({"sent_to_address": "a@b.c", "original_provider": "MICROSOFT", "original_provider_id": "m1"}))
        .await
        .assert_status(StatusCode::CREATED);
}

#[tokio::test]
async fn list_filters_by_contact_address_and_sent_window() {
    let h = Harness::new().await;
    let (at, _) = h.tokens().await;
    let c = contact(&h, &at, "Ada", "ada@x.example").await;
    for (to, date, contact_id) in [
        ("ada@x.example", "2024-01-01T00:00:00Z", Some(c)),
        ("Other@x.example", "2024-06-01T00:00:00Z", None),
        ("ada@x.example", "2024-12-01T00:00:00Z", Some(c)),
    ] {
        call(
            &h,
            &at,
            Method::POST,
            &format!("{V1}/emails"),
            Some(json!({"sent_to_address": to, "sent_date": date, "contact_id": contact_id})),
        )
        .await
        .assert_status(StatusCode::CREATED);
    }
    let ids = |r: &Resp| -> Vec<i64> {
        r.json()["emails"]
            .as_array()
            .expect("emails")
            .iter()
            .map(|e| e["id"].as_i64().expect("id"))
            .collect()
    };
    let q = |s: &str| format!("{V1}/emails?{s}");
    let r = h.get_bearer(&q(&format!("contact_id={c}")), &at).await;
    assert_eq!((ids(&r), r.json()["count"].clone()), (vec![1, 3], json!(2)));
    let r = h.get_bearer(&q("email=OTHER@x.example"), &at).await;
    assert_eq!(ids(&r), vec![2]);
    let r = h
        .get_bearer(&q("since_sent_date=2024-05-01T00:00:00Z"), &at)
        .await;
    assert_eq!(ids(&r), vec![2, 3]);
    let r = h.get_bearer(&q("since_sent_date=2024-05-01T00:00:00Z&until_sent_date=2024-07-01T00:00:00.000Z&limit=1"), &at)
    .await;
    assert_eq!((ids(&r), r.json()["count"].clone()), (vec![2], json!(1)));
    let r = h
        .get_bearer(&q("until_sent_date=2024-07-01T00:00:00Z"), &at)
        .await;
    r.assert_status(StatusCode::BAD_REQUEST);
    assert_eq!(
        r.json(),
        json!({"message": "since_sent_date is required when until_sent_date is given"})
    );
    let r = h.get_bearer(&q("ordered=maybe"), &at).await;
    assert_eq!(
        r.json(),
        json!({"message": "ordered must be true or false"})
    );
    let r = h.get_bearer(&q("ordered=false"), &at).await;
    assert_eq!(ids(&r), vec![1, 2, 3]);
    // The contact's own list.
    let r = h
        .get_bearer(&format!("{V1}/contacts/{c}/emails?limit=1&offset=1"), &at)
        .await;
    r.assert_status(StatusCode::OK);
    assert_eq!((ids(&r), r.json()["count"].clone()), (vec![3], json!(2)));
    assert!(r.json()["next"].as_str().expect("next").contains(&format!(
        "/crm/rest/v1/contacts/{c}/emails/?limit=1&offset=2"
    )));
    let r = h
        .get_bearer(&format!("{V1}/contacts/999/emails"), &at)
        .await;
    r.assert_status(StatusCode::NOT_FOUND);
    assert_eq!(r.json(), json!({"message": "Unable to find this Contact"}));
    let r = call(
        &h,
        &at,
        Method::POST,
        &format!("{V1}/contacts/{c}/emails"),
        Some(json!({"sent_to_address": "ada@x.example", "contact_id": 12345})),
    )
    .await;
    r.assert_status(StatusCode::CREATED);
    assert_eq!(r.json()["contact_id"], c);
    let r = call(
        &h,
        &at,
        Method::POST,
        &format!("{V1}/contacts/999/emails"),
        Some(json!({"sent_to_address": "a@b.c"})),
    )
    .await;
    r.assert_status(StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn sync_reports_each_record_and_unsync_deletes() {
    let h = Harness::new().await;
    let (at, _) = h.tokens().await;
    let res = call(&h, &at, Method::POST, &format!("{V1}/emails/sync"), Some(json!({"emails": [
        {"sent_to_address": "a@b.c", "original_provider": "GOOGLE", "original_provider_id": "s1"},
        {"subject": "no recipient"},
        {"sent_to_address": "a@b.c", "original_provider": "GOOGLE", "original_provider_id": "s1"},
        "junk",
        {"sent_to_address": "c@b.c", "contact_id": 77},
    ]}))).await;
    res.assert_status(StatusCode::CREATED);
    let j = res.json();
    assert_eq!(j["emails"].as_array().expect("emails").len(), 1);
    assert_eq!(j["emails"][0]["original_provider_id"], "s1");
    // Each refused record is echoed as the EmailSentCreate it was read into: every member of
    // that object, the sent value where it has the member's type, null elsewhere.
    let echoed = |sent: Value| {
        let mut all = json!({
            "contact_id": null, "subject": null, "headers": null,
            "sent_to_address": null, "sent_to_cc_addresses": null, "sent_to_bcc_addresses": null,
            "sent_from_address": null, "sent_from_reply_address": null, "sent_date": null,
            "received_date": null, "opened_date": null, "clicked_date": null,
            "original_provider": null, "original_provider_id": null, "provider_source_id": null,
            "html_content": null, "plain_content": null,
        });
        for (k, v) in sent.as_object().expect("object") {
            all[k] = v.clone();
        }
        all
    };
    assert_eq!(
        j["errors"],
        json!([
            {"email": echoed(json!({"subject": "no recipient"})), "error_message": "sent_to_address is required"},
            {"email": echoed(json!({"sent_to_address": "a@b.c", "original_provider": "GOOGLE", "original_provider_id": "s1"})),
             "error_message": "An email with original_provider GOOGLE and original_provider_id \"s1\" already exists"},
            {"email": echoed(json!({})), "error_message": "Input could not be converted to a valid request"},
            {"email": echoed(json!({"sent_to_address": "c@b.c", "contact_id": 77})), "error_message": "Contact 77 does not exist"},
        ])
    );
    let many: Vec<Value> = (0..1001)
        .map(|i| json!({"sent_to_address": format!("{i}@b.c")}))
        .collect();
    let res = call(
        &h,
        &at,
        Method::POST,
        &format!("{V1}/emails/sync"),
        Some(json!({"emails": many})),
    )
    .await;
    res.assert_status(StatusCode::BAD_REQUEST);
    assert_eq!(
        res.json(),
        json!({"message": "emails must hold at most 1000 records"})
    );
    let res = call(
        &h,
        &at,
        Method::POST,
        &format!("{V1}/emails/sync"),
        Some(json!({})),
    )
    .await;
    assert_eq!(res.json(), json!({"message": "emails is required"}));
    let res = call(
        &h,
        &at,
        Method::POST,
        &format!("{V1}/emails/unsync"),
        Some(json!({"ids": [1, 404]})),
    )
    .await;
    res.assert_status(StatusCode::OK);
    assert_eq!(res.json(), json!({}));
    h.get_bearer(&format!("{V1}/emails/1"), &at)
        .await
        .assert_status(StatusCode::NOT_FOUND);
    let res = call(
        &h,
        &at,
        Method::POST,
        &format!("{V1}/emails/unsync"),
        Some(json!({"ids": "1"})),
    )
    .await;
    assert_eq!(
        res.json(),
        json!({"message": "Input could not be converted to a valid request"})
    );
}

async fn outbox(h: &Harness, token: &str) -> Vec<Value> {
    let r = h.get_bearer("/keapsake/v1/outbox", token).await;
    r.assert_status(StatusCode::OK);
    let mut v = r.json()["messages"].as_array().expect("messages").clone();
    v.reverse();
    v
}

#[tokio::test]
async fn queue_validates_then_stores_one_message_and_record_per_recipient() {
    let h = Harness::new().await;
    let (at, _) = h.tokens().await;
    let grace = contact(&h, &at, "Grace", "grace@x.example").await;
    let alan = contact(&h, &at, "Alan", "alan@x.example").await;
    let uid = h.user.id.0;
    let ok = json!({"contacts": [grace, alan], "user_id": uid, "subject": "Hello ~Contact.FirstName~",
                    "plain_content": b64("Dear ~Contact.FirstName~ ~Contact.LastName~,\nfrom ~User.FirstName~"),
                    "html_content": b64("<p>Hi ~Contact.FirstName~</p>")});
    let bad = |f: &str, v: Value| {
        let mut b = ok.clone();
        b[f] = v;
        b
    };
    for (body, msg) in [
        (bad("contacts", json!([grace, 999])), "Contact 999 does not exist".to_owned()),
        (bad("user_id", json!(4242)), "user_id 4242 is not a user of this account".to_owned()),
        (bad("user_id", json!(h.lonely_user.id.0)), format!("user_id {} is not a user of this account", h.lonely_user.id.0)),
        (bad("plain_content", json!("%%%")), "plain_content must be base64-encoded".to_owned()),
        ({
            let mut b = ok.clone();
            b.as_object_mut().expect("o").remove("plain_content");
            b.as_object_mut().expect("o").remove("html_content");
            b
        }, "html_content or plain_content is required".to_owned()),
        (bad("address_field", json!("Phone1")), "address_field must be Email, EmailAddress2, EmailAddress3 or _CustomFieldName (got \"Phone1\")".to_owned()),
        (bad("address_field", json!("_Nope")), "address_field: no contact custom field named \"Nope\"".to_owned()),
        (bad("attachments", json!(vec![json!({"file_name": "a.txt", "file_data": "aGk="}); 11])), "attachments must hold at most 10 files".to_owned()),
        (bad("subject", json!(null)), "subject is required".to_owned()),
    ] {
        let res = queue(&h, &at, body.clone()).await;
        res.assert_status(StatusCode::BAD_REQUEST);
        assert_eq!(res.json(), json!({"message": msg}), "{body}");
    }
    assert!(
        outbox(&h, &at).await.is_empty(),
        "a refused request stores nothing"
    );

    let res = queue(&h, &at, ok.clone()).await;
    res.assert_status(StatusCode::ACCEPTED);
    assert!(res.body.is_empty(), "202 with an empty body");
    let msgs = outbox(&h, &at).await;
    assert_eq!(msgs.len(), 2);
    let now = "2026-03-01T12:00:00.000+0000";
    assert_eq!(
        msgs[0],
        json!({
            "id": 1, "status": "queued", "contact_id": grace, "user_id": uid,
            "to": "grace@x.example", "from": "ada@example.com", "subject": "Hello Grace",
            "email_id": 1, "attempts": 0, "queued_at": now, "sent_at": null, "next_attempt_at": null,
        })
    );
    assert_eq!(msgs[1]["subject"], "Hello Alan");
    let one = h.get_bearer("/keapsake/v1/outbox/1", &at).await;
    one.assert_status(StatusCode::OK);
    assert_eq!(one.json()["plain"], "Dear Grace Doe,\nfrom Ada");
    assert_eq!(one.json()["html"], "<p>Hi Grace</p>");
    assert_eq!(one.json()["from_name"], "Ada Tester");
    // The e-mail records, through both lists.
    let recs = h
        .get_bearer(&format!("{V1}/contacts/{grace}/emails"), &at)
        .await;
    let rec = &recs.json()["emails"][0];
    assert_eq!(rec["original_provider"], "INFUSIONSOFT");
    assert_eq!(rec["subject"], "Hello Grace");
    assert_eq!(rec["sent_to_address"], "grace@x.example");
    assert_eq!(rec["sent_date"], now);
    let full = h
        .get_bearer(&format!("{V1}/emails/{}", rec["id"]), &at)
        .await;
    assert_eq!(
        full.json()["plain_content"],
        b64("Dear Grace Doe,\nfrom Ada")
    );
    let all = h
        .get_bearer(&format!("{V1}/emails?email=alan@x.example"), &at)
        .await;
    assert_eq!(all.json()["count"], 1);

    // Another account sees none of it.
    let missing = h.get_bearer("/keapsake/v1/outbox/99", &at).await;
    missing.assert_status(StatusCode::NOT_FOUND);
    assert_eq!(
        missing.json(),
        json!({"message": "Unable to find this OutboxMessage"})
    );
    let anon = h
        .send(
            Request::get("/keapsake/v1/outbox")
                .body(Body::empty())
                .expect("req"),
        )
        .await;
    anon.assert_status(StatusCode::UNAUTHORIZED);
    let bad_state = h.get_bearer("/keapsake/v1/outbox?state=lost", &at).await;
    assert_eq!(
        bad_state.json(),
        json!({"message": "state must be one of queued, sent, skipped, failed"})
    );
}

#[tokio::test]
async fn opt_in_and_out_keep_contacts_in_step_and_opted_out_recipients_are_skipped() {
    let h = Harness::new().await;
    let (at, _) = h.tokens().await;
    let c = contact(&h, &at, "Ada", "Ada@X.example").await;
    let put = |email: &str, body: Value| {
        let (h, at, path) = (&h, at.clone(), format!("{V1}/emailAddresses/{email}"));
        async move { call(h, &at, Method::PUT, &path, Some(body)).await }
    };
    let r = put("nobody@x.example", json!({"opted_in": true, "reason": "x"})).await;
    r.assert_status(StatusCode::NOT_FOUND);
    assert_eq!(
        r.json(),
        json!({"message": "Unable to find this EmailAddress"})
    );
    let r = put("not-an-address", json!({"opted_in": true, "reason": "x"})).await;
    assert_eq!(
        r.json(),
        json!({"message": "\"not-an-address\" is not an e-mail address"})
    );
    let r = put("ada@x.example", json!({"reason": "x"})).await;
    assert_eq!(r.json(), json!({"message": "opted_in is required"}));

    let r = put(
        "ada@x.example",
        json!({"opted_in": true, "reason": "Asked at the fair"}),
    )
    .await;
    r.assert_status(StatusCode::OK);
    assert_eq!(
        r.json(),
        json!({"email": "ada@x.example", "opted_in": true, "status": "Unconfirmed"})
    );
    assert_eq!(
        email_status(&h, &at, c).await,
        (json!("SingleOptIn"), json!(true))
    );

    let r = put(
        "ADA@x.example",
        json!({"opted_in": false, "reason": "Unsubscribed by phone"}),
    )
    .await;
    assert_eq!(
        r.json(),
        json!({"email": "ADA@x.example", "opted_in": false, "status": "Opt-Out: Admin"})
    );
    assert_eq!(
        email_status(&h, &at, c).await,
        (json!("Admin"), json!(false))
    );
    // Permanent for the API: neither this endpoint nor the contact's opt_in_reason undoes it.
    let r = put(
        "ada@x.example",
        json!({"opted_in": true, "reason": "changed my mind"}),
    )
    .await;
    assert_eq!(
        r.json(),
        json!({"email": "ada@x.example", "opted_in": false, "status": "Opt-Out: Admin"})
    );
    let p = call(
        &h,
        &at,
        Method::PATCH,
        &format!("{V1}/contacts/{c}"),
        Some(json!({"opt_in_reason": "again"})),
    )
    .await;
    p.assert_status(StatusCode::OK);
    let got = h.get_bearer(&format!("{V1}/contacts/{c}"), &at).await;
    assert_eq!(got.json()["email_status"], "Admin");

    // Sending skips the opted-out recipient and writes no e-mail record for it.
    let other = contact(&h, &at, "Bob", "bob@x.example").await;
    let res = queue(&h, &at, json!({
        "contacts": [c, other], "user_id": h.user.id.0, "subject": "News", "plain_content": b64("hi")})).await;
    res.assert_status(StatusCode::ACCEPTED);
    let msgs = outbox(&h, &at).await;
    assert_eq!(
        msgs[0]["status"],
        "skipped: Ada@X.example is not marketable (Opt-Out: Admin)"
    );
    assert_eq!(msgs[0]["email_id"], Value::Null);
    assert_eq!(msgs[1]["status"], "queued");
    let recs = h
        .get_bearer(&format!("{V1}/contacts/{c}/emails"), &at)
        .await;
    assert_eq!(recs.json()["count"], 0);
    // A recipient without the chosen address is skipped too.
    let res = queue(
        &h,
        &at,
        json!({
        "contacts": [other], "user_id": h.user.id.0, "subject": "x", "plain_content": b64("hi"),
        "address_field": "EmailAddress2"}),
    )
    .await;
    res.assert_status(StatusCode::ACCEPTED);
    assert_eq!(
        outbox(&h, &at).await[2]["status"],
        "skipped: the contact has no address in EmailAddress2"
    );
}

// ------------------------------------------------------------------------------------ SMTP sink

/// One message the sink accepted.
#[derive(Debug, Clone)]
struct Received {
    from: String,
    to: Vec<String>,
    data: String,
}

/// A minimal SMTP server on 127.0.0.1:<random>: enough of RFC 5321 for lettre (EHLO, MAIL,
/// RCPT, DATA with dot-unstuffing, RSET, NOOP, QUIT). `reject_rcpt` answers every RCPT with a
/// permanent 550.
struct Sink {
    url: String,
    got: Arc<Mutex<Vec<Received>>>,
}

impl Sink {
    async fn start(reject_rcpt: bool) -> Sink {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let got: Arc<Mutex<Vec<Received>>> = Arc::default();
        let store = got.clone();
        tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let store = store.clone();
                tokio::spawn(async move {
                    let (r, mut w) = sock.into_split();
                    let mut r = BufReader::new(r);
                    let mut line = String::new();
                    let mut cur = Received {
                        from: String::new(),
                        to: Vec::new(),
                        data: String::new(),
                    };
                    w.write_all(b"220 sink ESMTP\r\n").await.ok();
                    loop {
                        line.clear();
                        if r.read_line(&mut line).await.unwrap_or(0) == 0 {
                            return;
                        }
                        let cmd = line.trim_end().to_owned();
                        let up = cmd.to_ascii_uppercase();
                        let reply: &[u8] = if up.starts_with("EHLO") {
                            b"250-sink\r\n250 8BITMIME\r\n"
                        } else if up.starts_with("HELO") || up.starts_with("NOOP") {
                            b"250 OK\r\n"
                        } else if up.starts_with("RSET") {
                            cur = Received {
                                from: String::new(),
                                to: Vec::new(),
                                data: String::new(),
                            };
                            b"250 OK\r\n"
                        } else if up.starts_with("MAIL FROM:") {
                            cur.from = cmd[10..].trim().to_owned();
                            b"250 OK\r\n"
                        } else if up.starts_with("RCPT TO:") {
                            if reject_rcpt {
                                b"550 5.1.1 no such user\r\n"
                            } else {
                                cur.to.push(cmd[8..].trim().to_owned());
                                b"250 OK\r\n"
                            }
                        } else if up == "DATA" {
                            w.write_all(b"354 go ahead\r\n").await.ok();
                            let mut data = String::new();
                            loop {
                                line.clear();
                                if r.read_line(&mut line).await.unwrap_or(0) == 0 {
                                    return;
                                }
                                if line == ".\r\n" {
                                    break;
                                }
                                data.push_str(line.strip_prefix('.').unwrap_or(&line));
                            }
                            cur.data = data;
                            store.lock().expect("lock").push(cur.clone());
                            b"250 OK queued\r\n"
                        } else if up.starts_with("QUIT") {
                            w.write_all(b"221 bye\r\n").await.ok();
                            return;
                        } else {
                            b"502 not implemented\r\n"
                        };
                        w.write_all(reply).await.ok();
                    }
                });
            }
        });
        Sink {
            url: format!("smtp://{addr}"),
            got,
        }
    }

    fn received(&self) -> Vec<Received> {
        self.got.lock().expect("lock").clone()
    }
}

async fn smtp_harness(sink: &Sink) -> Harness {
    Harness::with_config(Config {
        smtp: Some(SmtpRelay::parse(&sink.url).expect("relay")),
        ..Config::default()
    })
    .await
}

#[tokio::test]
async fn the_worker_delivers_merged_mail_to_the_relay_once() {
    let sink = Sink::start(false).await;
    let h = smtp_harness(&sink).await;
    let (at, _) = h.tokens().await;
    let grace = contact(&h, &at, "Grace", "grace@x.example").await;
    let res = queue(
        &h,
        &at,
        json!({
        "contacts": [grace], "user_id": h.user.id.0, "subject": "Hello ~Contact.FirstName~",
        "plain_content": b64("Dear ~Contact.FirstName~ ~Contact.LastName~, see you."),
        "attachments": [{"file_name": "note.txt", "file_data": b64("attached words")}]}),
    )
    .await;
    res.assert_status(StatusCode::ACCEPTED);
    assert!(
        sink.received().is_empty(),
        "nothing is sent before the worker runs"
    );

    let now = h.clock.now();
    let report = deliver_mail_due(&h.state, now).await.expect("pass");
    assert_eq!(
        report,
        DeliveryReport {
            sent: 1,
            ..DeliveryReport::default()
        }
    );
    let got = sink.received();
    assert_eq!(got.len(), 1);
    let m = &got[0];
    assert_eq!(m.from, "<ada@example.com>");
    assert_eq!(m.to, vec!["<grace@x.example>".to_owned()]);
    assert!(
        m.data
            .contains("From: \"Ada Tester\" <ada@example.com>\r\n"),
        "{}",
        m.data
    );
    assert!(m.data.contains("To: grace@x.example\r\n"), "{}", m.data);
    assert!(m.data.contains("Subject: Hello Grace\r\n"), "{}", m.data);
    assert!(m.data.contains("Dear Grace Doe, see you."), "{}", m.data);
    assert!(m.data.contains("filename=\"note.txt\""), "{}", m.data);
    assert!(m.data.contains("\r\nattached words\r\n"), "{}", m.data);
    let msg = &outbox(&h, &at).await[0];
    assert_eq!(msg["status"], "sent");
    assert_eq!(msg["attempts"], 1);
    assert_eq!(msg["sent_at"], "2026-03-01T12:00:00.000+0000");

    // Later passes, and two racing passes, send nothing again.
    let (a, b) = tokio::join!(
        deliver_mail_due(&h.state, now),
        deliver_mail_due(&h.state, now)
    );
    assert_eq!(a.expect("pass").sent + b.expect("pass").sent, 0);
    assert_eq!(sink.received().len(), 1);
}

#[tokio::test]
async fn racing_workers_send_each_message_exactly_once() {
    let sink = Sink::start(false).await;
    let h = smtp_harness(&sink).await;
    let (at, _) = h.tokens().await;
    let mut ids = Vec::new();
    for i in 0..6 {
        ids.push(contact(&h, &at, &format!("P{i}"), &format!("p{i}@x.example")).await);
    }
    queue_plain(&h, &at, json!(ids)).await;
    let now = h.clock.now();
    let (a, b, c) = tokio::join!(
        deliver_mail_due(&h.state, now),
        deliver_mail_due(&h.state, now),
        deliver_mail_due(&h.state, now)
    );
    let sent = a.expect("a").sent + b.expect("b").sent + c.expect("c").sent;
    assert_eq!(sent, 6);
    let mut to: Vec<String> = sink.received().into_iter().flat_map(|m| m.to).collect();
    to.sort();
    to.dedup();
    assert_eq!((sink.received().len(), to.len()), (6, 6));
}

#[tokio::test]
async fn a_claim_left_by_a_dead_worker_is_retried_after_its_lease() {
    let sink = Sink::start(false).await;
    let h = smtp_harness(&sink).await;
    let (at, _) = h.tokens().await;
    let c = contact(&h, &at, "Ada", "a@x.example").await;
    queue_plain(&h, &at, json!([c])).await;
    // A worker claims the message and dies before sending.
    let now = h.clock.now();
    let edit: keapsake_core::records::Edit = Box::new(move |_, data| {
        let mut d = keapsake_core::messaging::outbox::OutboxDoc::from_value(data)?;
        d.claim(now, keapsake_server::mail::smtp::LEASE, "dead")?;
        *data = d.to_value();
        Ok(d.keys())
    });
    h.store
        .update_record(
            h.account.id,
            keapsake_core::records::RecordKind::OutboxMessage,
            1,
            edit,
            now,
        )
        .await
        .expect("claim");
    assert_eq!(deliver_mail_due(&h.state, now).await.expect("pass").sent, 0);
    assert!(sink.received().is_empty());
    let later = now + time::Duration::minutes(6);
    assert_eq!(
        deliver_mail_due(&h.state, later).await.expect("pass").sent,
        1
    );
    assert_eq!(sink.received().len(), 1);
    assert_eq!(outbox(&h, &at).await[0]["attempts"], 2);
}

#[tokio::test]
async fn a_refusing_relay_marks_the_message_failed() {
    let sink = Sink::start(true).await;
    let h = smtp_harness(&sink).await;
    let (at, _) = h.tokens().await;
    let c = contact(&h, &at, "Ada", "a@x.example").await;
    queue_plain(&h, &at, json!([c])).await;
    let report = deliver_mail_due(&h.state, h.clock.now())
        .await
        .expect("pass");
    assert_eq!(report.failed, 1);
    let status = outbox(&h, &at).await[0]["status"]
        .as_str()
        .expect("status")
        .to_owned();
    assert!(
        status.starts_with("failed: ") && status.contains("no such user"),
        "{status}"
    );
}

#[tokio::test]
async fn without_a_relay_messages_stay_queued() {
    let h = Harness::new().await;
    let (at, _) = h.tokens().await;
    let c = contact(&h, &at, "Ada", "a@x.example").await;
    queue_plain(&h, &at, json!([c])).await;
    assert_eq!(
        deliver_mail_due(&h.state, h.clock.now())
            .await
            .expect("pass"),
        DeliveryReport::default()
    );
    assert_eq!(outbox(&h, &at).await[0]["status"], "queued");
}

#[tokio::test]
async fn a_contact_given_an_opted_out_address_later_shows_its_status() {
    let h = Harness::new().await;
    let (at, _) = h.tokens().await;
    let first = contact(&h, &at, "Ada", "gone@x.example").await;
    let r = call(
        &h,
        &at,
        Method::PUT,
        &format!("{V1}/emailAddresses/gone@x.example"),
        Some(json!({"opted_in": false, "reason": "Unsubscribed"})),
    )
    .await;
    r.assert_status(StatusCode::OK);
    call(
        &h,
        &at,
        Method::DELETE,
        &format!("{V1}/contacts/{first}"),
        None,
    )
    .await
    .assert_status(StatusCode::NO_CONTENT);
    // Created later with the address (another case, and an opt-in reason that must not undo
    // the opt-out): POST, PUT (upsert) and PATCH onto the address all show it.
    let res = call(
        &h,
        &at,
        Method::POST,
        &format!("{V1}/contacts"),
        Some(json!({"given_name": "Bea", "opt_in_reason": "form",
                    "email_addresses": [{"email": "GONE@x.example", "field": "EMAIL1"}]})),
    )
    .await;
    res.assert_status(StatusCode::CREATED);
    assert_eq!(res.json()["email_status"], "Admin");
    let second = res.json()["id"].as_i64().expect("id");
    assert_eq!(
        email_status(&h, &at, second).await,
        (json!("Admin"), json!(false))
    );
    let res = call(
        &h,
        &at,
        Method::PUT,
        &format!("{V1}/contacts"),
        Some(json!({"given_name": "Cy", "duplicate_option": "Email",
                    "email_addresses": [{"email": "gone@x.example", "field": "EMAIL2"},
                                        {"email": "new@x.example", "field": "EMAIL1"}]})),
    )
    .await;
    res.assert_status(StatusCode::OK);
    let third = res.json()["id"].as_i64().expect("id");
    assert_eq!(
        email_status(&h, &at, third).await,
        (json!("NonMarketable"), json!(false))
    );
    call(
        &h,
        &at,
        Method::PATCH,
        &format!("{V1}/contacts/{third}"),
        Some(json!({"email_addresses": [{"email": "gone@x.example", "field": "EMAIL1"}]})),
    )
    .await
    .assert_status(StatusCode::OK);
    assert_eq!(
        email_status(&h, &at, third).await,
        (json!("Admin"), json!(false))
    );
    // A send to it is skipped.
    let users = h.get_bearer(&format!("{V1}/users"), &at).await;
    let user = users.json()["users"][0]["id"].as_i64().expect("user");
    queue(
        &h,
        &at,
        json!({"contacts": [second], "user_id": user, "subject": "s", "plain_content": b64("hi")}),
    )
    .await
    .assert_status(StatusCode::ACCEPTED);
    let sent = outbox(&h, &at).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0]["status"],
        "skipped: GONE@x.example is not marketable (Opt-Out: Admin)"
    );
}

#[tokio::test]
async fn a_request_that_died_part_way_sends_none_of_its_messages() {
    let sink = Sink::start(false).await;
    let h = smtp_harness(&sink).await;
    let (at, _) = h.tokens().await;
    let a = contact(&h, &at, "Ann", "ann@x.example").await;
    let b = contact(&h, &at, "Ben", "ben@x.example").await;
    let c = contact(&h, &at, "Cat", "cat@x.example").await;
    let queue_to = |to: Vec<i64>| {
        let (h, at) = (&h, at.clone());
        async move {
            queue(
                h,
                &at,
                json!({"contacts": to, "user_id": h.user.id.0, "subject": "s",
                             "plain_content": b64("hi")}),
            )
            .await
            .assert_status(StatusCode::ACCEPTED);
        }
    };
    queue_to(vec![a, b]).await; // outbox 1, 2
    queue_to(vec![c]).await; // outbox 3
    // Simulate a crash after the first message of the first request was written: its second
    // message never existed. (Removing it leaves exactly what such a crash leaves.)
    h.store
        .delete_record(
            h.account.id,
            keapsake_core::records::RecordKind::OutboxMessage,
            2,
        )
        .await
        .expect("delete");
    let now = h.clock.now();
    let report = deliver_mail_due(&h.state, now).await.expect("pass");
    assert_eq!(
        report,
        DeliveryReport {
            sent: 1,
            held: 1,
            ..DeliveryReport::default()
        },
        "the complete request is sent, the partial one held"
    );
    assert_eq!(
        sink.received()
            .iter()
            .map(|m| m.to.clone())
            .collect::<Vec<_>>(),
        vec![vec!["<cat@x.example>".to_owned()]]
    );
    // Still held a little later; given up (skipped, never sent) after ABANDON_AFTER.
    let later = now + time::Duration::minutes(9);
    assert_eq!(
        deliver_mail_due(&h.state, later).await.expect("pass").held,
        1
    );
    let late = now + keapsake_core::messaging::outbox::ABANDON_AFTER;
    assert_eq!(
        deliver_mail_due(&h.state, late).await.expect("pass"),
        DeliveryReport {
            abandoned: 1,
            ..DeliveryReport::default()
        }
    );
    assert_eq!(
        sink.received().len(),
        1,
        "nothing of the partial request was sent"
    );
    let msgs = outbox(&h, &at).await;
    let first = msgs.iter().find(|m| m["id"] == 1).expect("message 1");
    assert_eq!(
        first["status"],
        format!("skipped: {}", keapsake_core::messaging::outbox::ABANDONED)
    );
    assert_eq!(
        deliver_mail_due(&h.state, late).await.expect("pass"),
        DeliveryReport::default()
    );
}
