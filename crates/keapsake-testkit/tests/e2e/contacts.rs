//! REST v1 contacts and tags end to end (`keap/rest-v1.md` §0–§2): the real server over TCP
//! with OAuth tokens from the HTML flow. Exact status codes, the list envelope, PHP-SDK-style
//! saves, atomic upserts, tenant isolation (SECURITY.md §5) and bad input (SECURITY.md §6).

use keapsake_core::records::{LinkKind, NewRecord, RecordKind};
use keapsake_core::store::{KeyKind, NewApiKey};
use keapsake_core::{Clock, Secret};
use keapsake_testkit::{Backend, TestServer};
use serde_json::{Value, json};

const NEEDS: &str = "Contact must contain an e-mail address or phone number";
const UNPARSEABLE: &str = "Input could not be converted to a valid request";

/// One v1 caller with a bearer token.
#[derive(Clone)]
struct Api {
    base: String,
    token: String,
    http: reqwest::Client,
}

/// A response: status, `Content-Type`, JSON body (`Null` when empty).
#[derive(Debug)]
struct Res {
    status: u16,
    content_type: String,
    body: Value,
    raw: String,
}

impl Api {
    async fn new(srv: &TestServer) -> Api {
        let code = srv.authorize(&srv.app, &srv.user).await;
        Self::with_code(srv, &code).await
    }

    async fn with_code(srv: &TestServer, code: &str) -> Api {
        let (s, tok) = srv.exchange(&srv.app, code).await;
        assert_eq!(s, 200, "{tok}");
        Api {
            base: srv.at("crm/rest/v1/"),
            token: tok["access_token"].as_str().unwrap().to_owned(),
            http: reqwest::Client::new(),
        }
    }

    async fn send(&self, method: reqwest::Method, path: &str, body: Option<&str>) -> Res {
        let mut rb = self
            .http
            .request(method, format!("{}{}", self.base, path))
            .bearer_auth(&self.token)
            // The PHP SDK sends this on every request, GET and DELETE included.
            .header("content-type", "application/json");
        if let Some(b) = body {
            rb = rb.body(b.to_owned());
        }
        let r = rb.send().await.unwrap();
        let status = r.status().as_u16();
        let content_type = r
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let raw = r.text().await.unwrap();
        let body = if raw.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&raw).unwrap_or(Value::Null)
        };
        let res = Res {
            status,
            content_type,
            body,
            raw,
        };
        // 501 is the deliberate answer of the unimplemented endpoints, not a failure.
        assert!(
            res.status < 500 || res.status == 501,
            "{path}: a 5xx: {res:?}"
        );
        if !res.raw.is_empty() {
            assert!(
                res.content_type.starts_with("application/json"),
                "{path}: not JSON: {res:?}"
            );
        }
        res
    }

    async fn get(&self, path: &str) -> Res {
        self.send(reqwest::Method::GET, path, None).await
    }
    async fn delete(&self, path: &str) -> Res {
        self.send(reqwest::Method::DELETE, path, None).await
    }
    async fn post(&self, path: &str, body: &Value) -> Res {
        self.send(reqwest::Method::POST, path, Some(&body.to_string()))
            .await
    }
    async fn put(&self, path: &str, body: &Value) -> Res {
        self.send(reqwest::Method::PUT, path, Some(&body.to_string()))
            .await
    }
    async fn patch(&self, path: &str, body: &Value) -> Res {
        self.send(reqwest::Method::PATCH, path, Some(&body.to_string()))
            .await
    }
    async fn raw(&self, method: reqwest::Method, path: &str, body: &str) -> Res {
        self.send(method, path, Some(body)).await
    }
}

fn is_keap_datetime(v: &Value) -> bool {
    let s = v.as_str().unwrap_or("");
    // 2024-11-07T20:35:13.000+0000
    s.len() == 28
        && s.as_bytes()[10] == b'T'
        && s.as_bytes()[19] == b'.'
        && s.ends_with("+0000")
        && time::OffsetDateTime::parse(
            &format!("{}+00:00", &s[..23]),
            &time::format_description::well_known::Rfc3339,
        )
        .is_ok()
}

fn ada() -> Value {
    json!({
        "given_name": "Ada",
        "family_name": "Lovelace",
        "email_addresses": [{"email": "ada@example.com", "field": "EMAIL1"}],
        "phone_numbers": [{"number": "555-0100", "field": "PHONE1", "type": "Work"}],
        "opt_in_reason": "Signed up on website"
    })
}

async fn create(api: &Api, body: Value) -> Value {
    let r = api.post("contacts", &body).await;
    assert_eq!(r.status, 201, "{r:?}");
    r.body
}

async fn create_then_get_then_php_style_save_then_delete(backend: Backend) {
    let srv = TestServer::start(backend).await;
    let api = Api::new(&srv).await;

    // The PHP SDK creates through `.../contacts/`.
    let r = api.post("contacts/", &ada()).await;
    assert_eq!(r.status, 201, "{r:?}");
    let c = r.body;
    let id = c["id"].as_i64().unwrap();
    assert!(id >= 1);
    assert_eq!(c["given_name"], "Ada");
    assert_eq!(
        c["email_addresses"],
        json!([{"email": "ada@example.com", "field": "EMAIL1"}])
    );
    assert_eq!(c["phone_numbers"][0]["number"], "555-0100");
    assert_eq!(c["phone_numbers"][0]["field"], "PHONE1");
    assert_eq!(c["email_opted_in"], true);
    assert_eq!(c["email_status"], "SingleOptIn");
    assert_eq!(c["tag_ids"], json!([]));
    assert_eq!(c["addresses"], json!([]));
    assert_eq!(c["company"], Value::Null);
    assert_eq!(c["ScoreValue"], Value::Null);
    assert!(c.get("opt_in_reason").is_none(), "write-only");
    assert!(
        is_keap_datetime(&c["date_created"]),
        "{}",
        c["date_created"]
    );
    assert!(
        is_keap_datetime(&c["last_updated"]),
        "{}",
        c["last_updated"]
    );
    assert!(c["last_updated_utc_millis"].is_i64());
    assert!(
        c.get("job_title").is_none(),
        "optional properties only when asked"
    );

    // GET answers the same contact.
    let r = api.get(&format!("contacts/{id}")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body, c);

    // PHP SDK save: PATCH back the whole object it read (read-only fields included) with one change.
    srv.clock.advance(time::Duration::seconds(5));
    let mut read = r.body.clone();
    read["given_name"] = json!("Augusta Ada");
    let r = api.patch(&format!("contacts/{id}"), &read).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["given_name"], "Augusta Ada");
    assert_eq!(r.body["family_name"], "Lovelace");
    assert_eq!(r.body["email_addresses"], c["email_addresses"]);
    assert_eq!(r.body["email_status"], "SingleOptIn");
    assert_eq!(r.body["date_created"], c["date_created"]);
    assert_ne!(r.body["last_updated"], c["last_updated"]);

    // PATCH merges slot lists by slot; update_mask restricts what is applied.
    let r = api
        .patch(
            &format!("contacts/{id}?update_mask=email_addresses,middle_name"),
            &json!({"email_addresses": [{"email": "ada@work.example", "field": "EMAIL2"}], "family_name": "Byron", "middle_name": "King"}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        r.body["email_addresses"],
        json!([{"email": "ada@example.com", "field": "EMAIL1"}, {"email": "ada@work.example", "field": "EMAIL2"}])
    );
    assert_eq!(r.body["family_name"], "Lovelace", "not in the mask");
    assert_eq!(r.body["middle_name"], "King");
    // Repeated update_mask keys work too (keap-python's form).
    let r = api
        .patch(
            &format!("contacts/{id}?update_mask=family_name&update_mask=prefix"),
            &json!({"family_name": "Byron", "prefix": "Lady"}),
        )
        .await;
    assert_eq!(
        (r.status, &r.body["family_name"], &r.body["prefix"]),
        (200, &json!("Byron"), &json!("Lady"))
    );

    // keap-python and the PHP SDK ≤ 1.5 put the token in the query string, writes included.
    let r = reqwest::Client::new()
        .patch(format!(
            "{}contacts/{id}/?access_token={}",
            api.base, api.token
        ))
        .json(&json!({"suffix": "Countess"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["suffix"], "Countess");

    // Neither e-mail nor phone: Keap's exact 400.
    let r = api.post("contacts", &json!({"given_name": "Nobody"})).await;
    assert_eq!((r.status, r.body.clone()), (400, json!({"message": NEEDS})));
    // A PATCH that would leave neither is refused and changes nothing.
    let r = api
        .patch(
            &format!("contacts/{id}"),
            &json!({"email_addresses": [{"email": "", "field": "EMAIL1"}, {"email": "", "field": "EMAIL2"}], "phone_numbers": [{"number": "", "field": "PHONE1"}]}),
        )
        .await;
    assert_eq!((r.status, r.body.clone()), (400, json!({"message": NEEDS})));
    assert_eq!(
        api.get(&format!("contacts/{id}")).await.body["email_addresses"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // optional_properties pull fields in; unknown names are ignored.
    let r = api.get(&format!("contacts/{id}?optional_properties=job_title,custom_fields,nonsense&optional_properties=origin")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["job_title"], Value::Null);
    assert_eq!(r.body["custom_fields"], json!([]));
    assert_eq!(r.body["origin"], Value::Null);
    assert!(r.body.get("nonsense").is_none());

    // DELETE (the PHP SDK's URL ends in a dangling `?`): 204 with no body, then 404.
    let r = api.delete(&format!("contacts/{id}?")).await;
    assert_eq!((r.status, r.raw.as_str()), (204, ""));
    let gone = json!({"message": "Unable to find this Contact"});
    let r = api.get(&format!("contacts/{id}")).await;
    assert_eq!((r.status, r.body), (404, gone.clone()));
    let r = api.delete(&format!("contacts/{id}")).await;
    assert_eq!((r.status, r.body), (404, gone.clone()));
    let r = api
        .patch(&format!("contacts/{id}"), &json!({"given_name": "x"}))
        .await;
    assert_eq!((r.status, r.body), (404, gone));
}
on_both_stores!(create_then_get_then_php_style_save_then_delete);

async fn upsert_matches_by_email_and_fifty_parallel_puts_make_one_contact(backend: Backend) {
    let srv = TestServer::start(backend).await;
    let api = Api::new(&srv).await;

    // 50 parallel upserts of one e-mail (SECURITY.md §10 figure): exactly one contact.
    let mut tasks = Vec::new();
    for i in 0..50 {
        let api = api.clone();
        tasks.push(tokio::spawn(async move {
            let body = json!({
                "duplicate_option": "Email",
                "given_name": format!("Racer {i}"),
                "email_addresses": [{"email": if i % 2 == 0 { "Race@Example.com" } else { "race@example.COM" }, "field": "EMAIL1"}]
            });
            api.put("contacts/", &body).await
        }));
    }
    let mut ids = std::collections::BTreeSet::new();
    for t in tasks {
        let r = t.await.unwrap();
        assert_eq!(r.status, 200, "{r:?}");
        ids.insert(r.body["id"].as_i64().unwrap());
    }
    let list = api.get("contacts?email=RACE@example.com").await;
    println!(
        "FIGURE [{backend:?}] 50 parallel PUT /contacts with one e-mail -> {} contact(s), ids {ids:?}",
        list.body["count"]
    );
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert_eq!(list.body["count"], 1, "{:?}", list.body);
    let id = *ids.iter().next().unwrap();

    // Matched: updated with only the values provided.
    let r = api
        .put(
            "contacts",
            &json!({"duplicate_option": "Email", "family_name": "Winner", "email_addresses": [{"email": "race@example.com", "field": "EMAIL1"}]}),
        )
        .await;
    assert_eq!((r.status, r.body["id"].as_i64()), (200, Some(id)));
    assert_eq!(r.body["family_name"], "Winner");
    assert!(r.body["given_name"].as_str().unwrap().starts_with("Racer"));

    // EMAIL2 matches too (any slot).
    api.patch(
        &format!("contacts/{id}"),
        &json!({"email_addresses": [{"email": "second@example.com", "field": "EMAIL2"}]}),
    )
    .await;
    let r = api
        .put("contacts", &json!({"duplicate_option": "Email", "email_addresses": [{"email": "SECOND@example.com", "field": "EMAIL1"}]}))
        .await;
    assert_eq!((r.status, r.body["id"].as_i64()), (200, Some(id)));

    // EmailAndName with another name: no match, a new contact (200, not 201).
    let r = api
        .put(
            "contacts",
            &json!({"duplicate_option": "EmailAndName", "given_name": "Someone", "family_name": "Else",
                    "email_addresses": [{"email": "race@example.com", "field": "EMAIL1"}]}),
        )
        .await;
    assert_eq!(r.status, 200);
    let other = r.body["id"].as_i64().unwrap();
    assert_ne!(other, id);
    // …and the same names (case and spaces ignored) match it now.
    let r = api
        .put(
            "contacts",
            &json!({"duplicate_option": "EmailAndName", "given_name": " someone ", "family_name": "ELSE",
                    "email_addresses": [{"email": "race@example.com", "field": "EMAIL1"}], "job_title": "Pilot"}),
        )
        .await;
    assert_eq!((r.status, r.body["id"].as_i64()), (200, Some(other)));

    // No duplicate_option: always a new contact.
    let r = api
        .put(
            "contacts",
            &json!({"email_addresses": [{"email": "race@example.com", "field": "EMAIL1"}]}),
        )
        .await;
    assert_eq!(r.status, 200);
    assert!(r.body["id"].as_i64().unwrap() > other);

    // A bad option is a 400; validation applies to the create path.
    let r = api
        .put(
            "contacts",
            &json!({"duplicate_option": "Phone", "phone_numbers": [{"number": "1"}]}),
        )
        .await;
    assert_eq!(r.status, 400);
    let r = api
        .put(
            "contacts",
            &json!({"duplicate_option": "Email", "given_name": "x"}),
        )
        .await;
    assert_eq!((r.status, r.body), (400, json!({"message": NEEDS})));
}
on_both_stores!(upsert_matches_by_email_and_fifty_parallel_puts_make_one_contact);

async fn list_filters_order_and_paging(backend: Backend) {
    let srv = TestServer::start(backend).await;
    let api = Api::new(&srv).await;
    let t0 = srv.clock.now();
    let people = [
        ("Grace", "Hopper", "grace@navy.example"),
        ("Alan", "Turing", "alan@bletchley.example"),
        ("Ada", "Lovelace", "ada@example.com"),
        ("Edsger", "Dijkstra", "edsger@tue.example"),
        ("ada", "Byron", "a_b%c@example.com"),
    ];
    let mut ids = Vec::new();
    for (g, f, e) in people {
        srv.clock.advance(time::Duration::minutes(1));
        let c = create(&api, json!({"given_name": g, "family_name": f, "email_addresses": [{"email": e, "field": "EMAIL1"}]})).await;
        ids.push(c["id"].as_i64().unwrap());
    }

    // Envelope: count is the total; next/previous absolute, `/` before `?`, other filters
    // echoed, the credential never (keap-python sends it as a query parameter).
    let url = format!(
        "{}contacts?limit=2&offset=2&order=id&access_token={}",
        api.base, api.token
    );
    let r = reqwest::get(&url).await.unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["count"], 5);
    let got: Vec<i64> = v["contacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect();
    assert_eq!(got, ids[2..4]);
    let base = format!("{}contacts/?", api.base);
    assert_eq!(v["next"], format!("{base}limit=2&offset=4&order=id"));
    assert_eq!(v["previous"], format!("{base}limit=2&offset=0&order=id"));
    for k in ["next", "previous"] {
        assert!(
            !v[k].as_str().unwrap().contains(&api.token),
            "{k} leaks the token"
        );
        assert!(!v[k].as_str().unwrap().contains("access_token"));
    }
    let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 4);
    // List items carry the list field set only.
    let item = &v["contacts"][0];
    assert!(
        item.get("fax_numbers").is_none() && item.get("birthday").is_none(),
        "{item}"
    );
    assert!(
        item.get("tag_ids").is_some() && item.get("ScoreValue").is_some(),
        "{item}"
    );

    // Past the end: empty page, still the total and both links.
    let r = api.get("contacts?limit=2&offset=10").await;
    assert_eq!(
        (r.body["contacts"].clone(), r.body["count"].clone()),
        (json!([]), json!(5))
    );
    assert!(r.body["next"].as_str().unwrap().contains("offset=12"));
    assert!(r.body["previous"].as_str().unwrap().contains("offset=8"));
    // Default limit 1000, clamped at 1000.
    let r = api.get("contacts/?limit=5000").await;
    assert_eq!(r.body["contacts"].as_array().unwrap().len(), 5);
    assert!(
        r.body["next"]
            .as_str()
            .unwrap()
            .contains("limit=1000&offset=1000")
    );

    // Filters: exact e-mail ignoring ASCII case; `%` and `_` are literal.
    let r = api.get("contacts?email=ADA@Example.COM").await;
    assert_eq!(r.body["count"], 1);
    assert_eq!(r.body["contacts"][0]["id"], ids[2]);
    let r = api.get("contacts?email=a_b%25c@example.com").await;
    assert_eq!(r.body["count"], 1);
    for pattern in [
        "a%25@example.com",
        "%25",
        "a_b_c@example.com",
        "ada@example",
    ] {
        assert_eq!(
            api.get(&format!("contacts?email={pattern}")).await.body["count"],
            0,
            "{pattern}"
        );
    }
    // The Kelvin sign is not a K (ASCII-only folding).
    assert_eq!(
        api.get("contacts?given_name=%E2%84%AAda").await.body["count"],
        0
    );
    let r = api.get("contacts?given_name=ADA").await;
    assert_eq!(r.body["count"], 2);
    let r = api
        .get("contacts?given_name=ada&family_name=lovelace")
        .await;
    assert_eq!(r.body["count"], 1);
    // Unknown parameters are ignored (keap-python sends `ascending`).
    assert_eq!(api.get("contacts?ascending=true").await.body["count"], 5);

    // since/until bound last_updated, inclusive, in any accepted form.
    // Stored times have millisecond precision; a `since` inside the creation millisecond
    // (nanoseconds here) still includes that contact.
    let cut = t0 + time::Duration::minutes(3);
    let rfc = cut
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let r = api
        .get(&format!("contacts?since={}", urlencode(&rfc)))
        .await;
    assert_eq!(r.body["count"], 3, "{:?}", r.body);
    let r = api
        .get(&format!("contacts?until={}&order=id", urlencode(&rfc)))
        .await;
    assert_eq!(r.body["count"], 3);

    // Orders.
    let order = |v: &Value| -> Vec<i64> {
        v["contacts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_i64().unwrap())
            .collect()
    };
    let r = api.get("contacts?order=name").await;
    // Byron, Dijkstra, Hopper, Lovelace, Turing
    assert_eq!(order(&r.body), [ids[4], ids[3], ids[0], ids[2], ids[1]]);
    let r = api
        .get("contacts?order=firstName&order_direction=descending")
        .await;
    // grace, edsger, alan, ada/ada (ties by id, descending)
    assert_eq!(order(&r.body), [ids[0], ids[3], ids[1], ids[4], ids[2]]);
    let r = api
        .get("contacts?order=email&order_direction=ASCENDING")
        .await;
    assert_eq!(order(&r.body), [ids[4], ids[2], ids[1], ids[3], ids[0]]);
    let r = api
        .get("contacts?order=date_created&order_direction=DESCENDING")
        .await;
    assert_eq!(order(&r.body), [ids[4], ids[3], ids[2], ids[1], ids[0]]);
    srv.clock.advance(time::Duration::minutes(1));
    api.patch(
        &format!("contacts/{}", ids[0]),
        &json!({"middle_name": "B"}),
    )
    .await;
    let r = api
        .get("contacts?order=last_updated&order_direction=DESCENDING&limit=1")
        .await;
    assert_eq!(order(&r.body), [ids[0]]);
    assert!(
        r.body["next"]
            .as_str()
            .unwrap()
            .ends_with("&order=last_updated&order_direction=DESCENDING")
    );

    // optional_properties on lists.
    let r = api
        .get("contacts?limit=1&optional_properties=fax_numbers,job_title")
        .await;
    assert_eq!(r.body["contacts"][0]["fax_numbers"], json!([]));
    assert_eq!(r.body["contacts"][0]["job_title"], Value::Null);
}
on_both_stores!(list_filters_order_and_paging);

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

async fn another_accounts_ids_answer_like_missing_ones_and_change_nothing(backend: Backend) {
    let srv = TestServer::start(backend).await;
    let owner = Api::new(&srv).await;
    let (intruder_user, _accounts) = srv.add_user_with_accounts("intruder@example.com", 1).await;
    let code = srv.authorize(&srv.app, &intruder_user).await;
    let intruder = Api::with_code(&srv, &code).await;

    let c = create(&owner, ada()).await;
    let id = c["id"].as_i64().unwrap();
    let tag = owner.post("tags", &json!({"name": "Secret"})).await.body;
    let tag_id = tag["id"].as_i64().unwrap();
    owner
        .post(&format!("contacts/{id}/tags"), &json!({"tagIds": [tag_id]}))
        .await;
    let before = owner.get(&format!("contacts/{id}")).await.body;

    // The intruder's own account has its own ids: its first contact is also id 1… so compare
    // with an id that exists nowhere.
    let missing = id + 1000;
    for (path, method, body) in [
        (format!("contacts/{id}"), reqwest::Method::GET, None),
        (
            format!("contacts/{id}"),
            reqwest::Method::PATCH,
            Some(json!({"given_name": "Pwned"})),
        ),
        (format!("contacts/{id}"), reqwest::Method::DELETE, None),
        (format!("contacts/{id}/tags"), reqwest::Method::GET, None),
        (
            format!("contacts/{id}/tags"),
            reqwest::Method::POST,
            Some(json!({"tagIds": [tag_id]})),
        ),
        (
            format!("contacts/{id}/tags?ids={tag_id}"),
            reqwest::Method::DELETE,
            None,
        ),
        (
            format!("contacts/{id}/tags/{tag_id}"),
            reqwest::Method::DELETE,
            None,
        ),
    ] {
        let body = body.map(|b| b.to_string());
        let theirs = intruder.send(method.clone(), &path, body.as_deref()).await;
        let nowhere = intruder
            .send(
                method.clone(),
                &path.replace(&id.to_string(), &missing.to_string()),
                body.as_deref(),
            )
            .await;
        assert_eq!(theirs.status, 404, "{method} {path}: {theirs:?}");
        assert_eq!(
            (theirs.status, &theirs.raw),
            (nowhere.status, &nowhere.raw),
            "{method} {path}"
        );
        assert_eq!(
            theirs.body,
            json!({"message": "Unable to find this Contact"})
        );
    }
    for (path, method, body) in [
        (format!("tags/{tag_id}"), reqwest::Method::GET, None),
        (
            format!("tags/{tag_id}/contacts"),
            reqwest::Method::GET,
            None,
        ),
        (
            format!("tags/{tag_id}/contacts"),
            reqwest::Method::POST,
            Some(json!({"ids": [id]})),
        ),
        (
            format!("tags/{tag_id}/contacts?ids={id}"),
            reqwest::Method::DELETE,
            None,
        ),
        (
            format!("tags/{tag_id}/contacts/{id}"),
            reqwest::Method::DELETE,
            None,
        ),
        (
            format!("tags/{tag_id}/companies"),
            reqwest::Method::GET,
            None,
        ),
    ] {
        let body = body.map(|b| b.to_string());
        let theirs = intruder.send(method.clone(), &path, body.as_deref()).await;
        let nowhere = intruder
            .send(
                method.clone(),
                &path.replace(
                    &format!("tags/{tag_id}"),
                    &format!("tags/{}", tag_id + 1000),
                ),
                body.as_deref(),
            )
            .await;
        assert_eq!(theirs.status, 404, "{method} {path}: {theirs:?}");
        assert_eq!(
            (theirs.status, &theirs.raw),
            (nowhere.status, &nowhere.raw),
            "{method} {path}"
        );
        assert_eq!(theirs.body, json!({"message": "Unable to find this Tag"}));
    }
    // Lists and upserts stay in the intruder's account.
    assert_eq!(intruder.get("contacts").await.body["count"], 0);
    assert_eq!(intruder.get("tags").await.body["count"], 0);
    assert_eq!(
        intruder.get("contacts?email=ada@example.com").await.body["count"],
        0
    );
    let r = intruder
        .put("contacts", &json!({"duplicate_option": "Email", "given_name": "Pwned", "email_addresses": [{"email": "ada@example.com", "field": "EMAIL1"}]}))
        .await;
    assert_eq!(r.status, 200);
    // The intruder's tag cannot be applied to the owner's contact through the intruder's id space either.
    let their_tag = intruder.post("tags", &json!({"name": "Secret"})).await;
    assert_eq!(
        their_tag.status, 200,
        "tag names are unique per account, not globally"
    );

    // Nothing changed for the owner.
    let after = owner.get(&format!("contacts/{id}")).await.body;
    assert_eq!(after, before);
    assert_eq!(after["tag_ids"], json!([tag_id]));
    assert_eq!(owner.get("contacts").await.body["count"], 1);
}
on_both_stores!(another_accounts_ids_answer_like_missing_ones_and_change_nothing);

async fn bad_input_is_a_json_400_never_a_5xx(backend: Backend) {
    let srv = TestServer::start(backend).await;
    let api = Api::new(&srv).await;
    let c = create(&api, ada()).await;
    let id = c["id"].as_i64().unwrap();

    // Ids beyond i64, non-numeric ids.
    for path in [
        "contacts/99999999999999999999",
        "contacts/abc",
        "tags/99999999999999999999",
        "contacts/1/tags/99999999999999999999",
    ] {
        let r = api.get(path).await;
        let r = if r.status == 405 {
            api.delete(path).await
        } else {
            r
        };
        assert_eq!(r.status, 400, "{path}: {r:?}");
        assert!(r.body["message"].is_string(), "{path}: {r:?}");
    }
    // Negative offset / limit, garbage paging, bad enums, bad dates, NUL and invalid UTF-8.
    for path in [
        "contacts?offset=-1",
        "contacts?limit=-5",
        "contacts?offset=ten",
        "contacts?order=shoe_size",
        "contacts?order_direction=SIDEWAYS",
        "contacts?since=yesterday",
        "contacts?email=a%00b",
        "contacts?email=%FF%FE",
        "tags?category=x",
        "tags?offset=-1",
        "contacts/1/tags?offset=-1",
        "tags/1/contacts?offset=-1",
    ] {
        let r = api.get(path).await;
        assert_eq!(r.status, 400, "{path}: {r:?}");
        assert!(r.body["message"].is_string(), "{path}: {r:?}");
    }
    // Malformed JSON: the exact message.
    for body in [
        "{",
        "",
        "[1,2]",
        "\"x\"",
        "{\"given_name\": 5}",
        "{\"email_addresses\": \"a@b.co\"}",
        "{\"owner_id\": 1e400}",
    ] {
        let r = api.raw(reqwest::Method::POST, "contacts", body).await;
        assert_eq!(
            (r.status, r.body.clone()),
            (400, json!({"message": UNPARSEABLE})),
            "{body:?}"
        );
        let r = api
            .raw(reqwest::Method::PATCH, &format!("contacts/{id}"), body)
            .await;
        assert_eq!(r.status, 400, "{body:?}");
    }
    let r = api.raw(reqwest::Method::POST, "tags", "{nope").await;
    assert_eq!((r.status, r.body), (400, json!({"message": UNPARSEABLE})));
    // Validation messages.
    for (body, needle) in [
        (
            json!({"email_addresses": [{"email": "not-an-email", "field": "EMAIL1"}]}),
            "valid e-mail",
        ),
        (
            json!({"email_addresses": [{"email": "a@b.co", "field": "EMAIL9"}]}),
            "EMAIL9",
        ),
        (
            json!({"phone_numbers": [{"number": "1"}], "source_type": "CARRIER_PIGEON"}),
            "source_type",
        ),
        (
            json!({"phone_numbers": [{"number": "1"}], "addresses": [{"field": "BILLING", "region": "CA"}]}),
            "country_code",
        ),
        (
            json!({"phone_numbers": [{"number": "1"}], "company": {"id": 77}}),
            "Company 77",
        ),
        (
            json!({"phone_numbers": [{"number": "1"}], "owner_id": 424242}),
            "owner_id",
        ),
        (
            json!({"phone_numbers": [{"number": "1"}], "custom_fields": [{"id": 5, "content": "x"}]}),
            "Custom field 5",
        ),
        (
            json!({"phone_numbers": [{"number": "1"}], "given_name": "a\u{0}b"}),
            "NUL",
        ),
    ] {
        let r = api.post("contacts", &body).await;
        assert_eq!(r.status, 400, "{body}: {r:?}");
        assert!(
            r.body["message"].as_str().unwrap().contains(needle),
            "{body}: {r:?}"
        );
    }
    let r = api
        .patch(&format!("contacts/{id}?update_mask=ScoreValue"), &json!({}))
        .await;
    assert_eq!(r.status, 400);
    let r = api.delete(&format!("contacts/{id}/tags")).await;
    assert_eq!(
        (r.status, r.body),
        (400, json!({"message": "ids is required"}))
    );
    let r = api.delete(&format!("contacts/{id}/tags?ids=1,x")).await;
    assert_eq!(r.status, 400);
    // Huge numbers in bodies.
    let r = api
        .raw(
            reqwest::Method::POST,
            &format!("contacts/{id}/tags"),
            "{\"tagIds\":[99999999999999999999]}",
        )
        .await;
    assert_eq!(r.status, 400);
    // Nothing above changed the contact.
    assert_eq!(api.get(&format!("contacts/{id}")).await.body, c);
    assert_eq!(api.get("contacts").await.body["count"], 1);

    // Unknown path and wrong method, in the v1 shape.
    let r = api.get("contacts/1/nothing").await;
    assert_eq!((r.status, r.body), (404, json!({"message": "Not Found"})));
    let r = api
        .send(reqwest::Method::PATCH, "contacts", Some("{}"))
        .await;
    assert_eq!(
        (r.status, r.body),
        (405, json!({"message": "Method Not Allowed"}))
    );

    // A card body that is not a card: a JSON 400 that does not echo the number.
    let r = api
        .send(
            reqwest::Method::POST,
            &format!("contacts/{id}/creditCards"),
            Some("{\"card_number\":\"4111111111111112\",\"expiration_month\":\"99\"}"),
        )
        .await;
    assert_eq!(
        (r.status, r.body),
        (
            400,
            json!({"message": "card_number is not a valid card number (check digit)"})
        )
    );
    let r = api.get(&format!("contacts/{id}/creditCards")).await;
    assert_eq!((r.status, r.body), (200, json!([])));

    // Deliberately unimplemented, after authentication.
    for (m, p) in [(reqwest::Method::POST, format!("contacts/{id}/utm"))] {
        let r = api.send(m.clone(), &p, Some("{}")).await;
        assert_eq!(
            (r.status, r.body),
            (501, json!({"message": "Not implemented in keapsake"})),
            "{m} {p}"
        );
    }
    let r = reqwest::Client::new()
        .get(format!("{}contacts/{id}/utm", api.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = reqwest::Client::new()
        .get(format!("{}contacts", api.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}
on_both_stores!(bad_input_is_a_json_400_never_a_5xx);

async fn a_read_only_key_reads_but_cannot_write(backend: Backend) {
    let srv = TestServer::start(backend).await;
    let api = Api::new(&srv).await;
    let c = create(&api, ada()).await;
    let id = c["id"].as_i64().unwrap();
    let tag = api.post("tags", &json!({"name": "VIP"})).await.body;
    let key = format!("KeapAK-{}", "ab".repeat(25));
    srv.store
        .create_api_key(NewApiKey {
            hash: Secret::new(key.clone()).hash(),
            display_prefix: "KeapAK-abab".into(),
            name: "read only".into(),
            kind: KeyKind::Pat,
            account_id: srv.account.id,
            user_id: Some(srv.user.id),
            read_only: true,
            created_at: srv.clock.now(),
            expires_at: None,
        })
        .await
        .unwrap();
    // Keys work in `X-Keap-API-Key` (the PHP SDK's form) as well as as Bearer.
    let r = reqwest::Client::new()
        .get(format!("{}contacts/{id}", api.base))
        .header("X-Keap-API-Key", &key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let ro = Api {
        token: key,
        ..api.clone()
    };
    assert_eq!(ro.get(&format!("contacts/{id}")).await.status, 200);
    assert_eq!(ro.get("contacts").await.body["count"], 1);
    assert_eq!(ro.get("tags").await.status, 200);
    let tid = tag["id"].as_i64().unwrap();
    for (m, p, b) in [
        (reqwest::Method::POST, "contacts".to_owned(), ada()),
        (reqwest::Method::PUT, "contacts".to_owned(), ada()),
        (
            reqwest::Method::PATCH,
            format!("contacts/{id}"),
            json!({"given_name": "x"}),
        ),
        (reqwest::Method::DELETE, format!("contacts/{id}"), json!({})),
        (
            reqwest::Method::POST,
            format!("contacts/{id}/tags"),
            json!({"tagIds": [tid]}),
        ),
        (
            reqwest::Method::DELETE,
            format!("contacts/{id}/tags?ids={tid}"),
            json!({}),
        ),
        (
            reqwest::Method::DELETE,
            format!("contacts/{id}/tags/{tid}"),
            json!({}),
        ),
        (
            reqwest::Method::POST,
            "contacts/model/customFields".to_owned(),
            json!({"label": "x", "field_type": "Text"}),
        ),
        (
            reqwest::Method::POST,
            "tags".to_owned(),
            json!({"name": "y"}),
        ),
        (
            reqwest::Method::POST,
            "tags/categories".to_owned(),
            json!({"name": "y"}),
        ),
        (
            reqwest::Method::POST,
            format!("tags/{tid}/contacts"),
            json!({"ids": [id]}),
        ),
        (
            reqwest::Method::DELETE,
            format!("tags/{tid}/contacts?ids={id}"),
            json!({}),
        ),
        (
            reqwest::Method::DELETE,
            format!("tags/{tid}/contacts/{id}"),
            json!({}),
        ),
    ] {
        let r = ro.send(m.clone(), &p, Some(&b.to_string())).await;
        assert_eq!(r.status, 403, "{m} {p}: {r:?}");
        assert!(r.body["message"].is_string());
    }
    assert_eq!(api.get(&format!("contacts/{id}")).await.body, c);
    assert_eq!(api.get("tags").await.body["count"], 1);
}
on_both_stores!(a_read_only_key_reads_but_cannot_write);

async fn tags_categories_and_assignments(backend: Backend) {
    let srv = TestServer::start(backend).await;
    let api = Api::new(&srv).await;
    let c1 = create(&api, ada()).await["id"].as_i64().unwrap();
    let c2 = create(&api, json!({"given_name": "Grace", "family_name": "Hopper", "phone_numbers": [{"number": "1", "field": "PHONE1"}]}))
        .await["id"]
        .as_i64()
        .unwrap();

    // Categories and tags: 200 (the spec's status, not 201).
    let r = api
        .post(
            "tags/categories",
            &json!({"name": "Newsletter", "description": ""}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["name"], "Newsletter");
    let cat = r.body["id"].as_i64().unwrap();
    let r = api
        .post(
            "tags/",
            &json!({"name": "Nurture Subscriber", "description": "d", "category": {"id": cat}}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let t1 = r.body["id"].as_i64().unwrap();
    assert_eq!(
        r.body,
        json!({"id": t1, "name": "Nurture Subscriber", "description": "d", "category": {"id": cat, "name": "Newsletter", "description": ""}})
    );
    let t2 = api.post("tags", &json!({"name": "VIP"})).await.body["id"]
        .as_i64()
        .unwrap();
    assert_eq!(
        api.get(&format!("tags/{t2}")).await.body["category"],
        Value::Null
    );
    // Names are unique per account, ignoring ASCII case; a name is required; the category must exist.
    assert_eq!(api.post("tags", &json!({"name": "vip"})).await.status, 400);
    assert_eq!(
        api.post("tags", &json!({"description": "x"})).await.status,
        400
    );
    assert_eq!(
        api.post("tags", &json!({"name": "z", "category": {"id": 999}}))
            .await
            .status,
        400
    );
    assert_eq!(api.post("tags/categories", &json!({})).await.status, 400);

    // GET /tags: filters and envelope.
    let r = api.get("tags?limit=1").await;
    assert_eq!(
        (
            r.body["count"].clone(),
            r.body["tags"].as_array().unwrap().len()
        ),
        (json!(2), 1)
    );
    assert_eq!(
        r.body["next"],
        format!("{}tags/?limit=1&offset=1", api.base)
    );
    assert_eq!(
        api.get(&format!("tags?category={cat}")).await.body["count"],
        1
    );
    assert_eq!(api.get("tags?name=VIP").await.body["tags"][0]["id"], t2);
    assert_eq!(
        api.get("tags?name=vip").await.body["count"],
        0,
        "name= is exact"
    );
    assert_eq!(
        api.get("tags?name=VI").await.body["count"],
        0,
        "name= is a full-string match"
    );
    let r = api.get(&format!("tags/{}", t2 + 100)).await;
    assert_eq!(
        (r.status, r.body),
        (404, json!({"message": "Unable to find this Tag"}))
    );

    // Apply one tag to contacts: a result map keyed by contact id.
    let r = api
        .post(
            &format!("tags/{t1}/contacts"),
            &json!({"ids": [c1, c2, 999]}),
        )
        .await;
    assert_eq!(r.status, 200);
    let mut want = serde_json::Map::new();
    want.insert(c1.to_string(), json!("SUCCESS"));
    want.insert(c2.to_string(), json!("SUCCESS"));
    want.insert("999".into(), json!("CONTACT_NOT_FOUND"));
    assert_eq!(r.body, Value::Object(want));
    let applied_at =
        api.get(&format!("contacts/{c1}/tags")).await.body["tags"][0]["date_applied"].clone();
    srv.clock.advance(time::Duration::minutes(5));
    let r = api
        .post(&format!("tags/{t1}/contacts"), &json!({"ids": [c1]}))
        .await;
    assert_eq!(r.body, json!({c1.to_string(): "DUPLICATE"}));
    assert_eq!(
        api.get(&format!("contacts/{c1}/tags")).await.body["tags"][0]["date_applied"],
        applied_at,
        "DUPLICATE keeps the original time"
    );

    // Apply tags to one contact: keyed by tag id; unknown tags reported, still 200.
    let r = api
        .post(
            &format!("contacts/{c1}/tags"),
            &json!({"tagIds": [t2, t1, 4242]}),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.body,
        json!({t1.to_string(): "DUPLICATE", t2.to_string(): "SUCCESS", "4242": "TAG_ID_NOT_FOUND"})
    );
    let r = api
        .post("contacts/4242/tags", &json!({"tagIds": [t1]}))
        .await;
    assert_eq!(
        (r.status, r.body),
        (404, json!({"message": "Unable to find this Contact"}))
    );

    // The tags of a contact: `category` is the category *name* here.
    let r = api.get(&format!("contacts/{c1}/tags")).await;
    assert_eq!(r.body["count"], 2);
    assert_eq!(
        r.body["tags"][0]["tag"],
        json!({"id": t1, "name": "Nurture Subscriber", "category": "Newsletter"})
    );
    assert_eq!(
        r.body["tags"][1]["tag"],
        json!({"id": t2, "name": "VIP", "category": null})
    );
    assert!(is_keap_datetime(&r.body["tags"][0]["date_applied"]));
    assert_eq!(
        r.body["next"],
        format!("{}contacts/{c1}/tags/?limit=1000&offset=1000", api.base)
    );
    assert_eq!(
        api.get(&format!("contacts/{c1}")).await.body["tag_ids"],
        json!([t1, t2])
    );
    let r = api.get("contacts?email=ada@example.com").await;
    assert_eq!(r.body["contacts"][0]["tag_ids"], json!([t1, t2]));

    // The contacts of a tag: first_name/last_name, not given/family.
    let r = api.get(&format!("tags/{t1}/contacts")).await;
    assert_eq!(r.body["count"], 2);
    assert_eq!(
        r.body["contacts"][0]["contact"],
        json!({"id": c1, "email": "ada@example.com", "first_name": "Ada", "last_name": "Lovelace"})
    );
    assert_eq!(
        r.body["contacts"][1]["contact"],
        json!({"id": c2, "email": null, "first_name": "Grace", "last_name": "Hopper"})
    );
    let r = api
        .get(&format!("tags/{t1}/contacts?limit=1&offset=1"))
        .await;
    assert_eq!(
        (
            r.body["count"].clone(),
            r.body["contacts"][0]["contact"]["id"].clone()
        ),
        (json!(2), json!(c2))
    );
    let r = api.get(&format!("tags/{t1}/companies")).await;
    assert_eq!(
        (
            r.status,
            r.body["companies"].clone(),
            r.body["count"].clone()
        ),
        (200, json!([]), json!(0))
    );

    // Removing: one, several (CSV or repeated), absent ones too — always 204.
    let r = api.delete(&format!("contacts/{c1}/tags/{t2}")).await;
    assert_eq!((r.status, r.raw.as_str()), (204, ""));
    assert_eq!(
        api.delete(&format!("contacts/{c1}/tags/{t2}")).await.status,
        204
    );
    assert_eq!(
        api.get(&format!("contacts/{c1}")).await.body["tag_ids"],
        json!([t1])
    );
    api.post(&format!("contacts/{c1}/tags"), &json!({"tagIds": [t2]}))
        .await;
    assert_eq!(
        api.delete(&format!("contacts/{c1}/tags?ids={t1}%2C{t2}"))
            .await
            .status,
        204
    );
    assert_eq!(
        api.get(&format!("contacts/{c1}")).await.body["tag_ids"],
        json!([])
    );
    api.post(&format!("tags/{t1}/contacts"), &json!({"ids": [c1]}))
        .await;
    assert_eq!(
        api.delete(&format!("tags/{t1}/contacts?ids={c1}&ids={c2}&ids=31337"))
            .await
            .status,
        204
    );
    assert_eq!(
        api.get(&format!("tags/{t1}/contacts")).await.body["count"],
        0
    );
    api.post(&format!("tags/{t1}/contacts"), &json!({"ids": [c1, c2]}))
        .await;
    assert_eq!(
        api.delete(&format!("tags/{t1}/contacts/{c2}")).await.status,
        204
    );
    assert_eq!(
        api.delete(&format!("tags/{t1}/contacts/31337"))
            .await
            .status,
        404
    );
    assert_eq!(api.delete(&format!("tags/{t1}/contacts")).await.status, 400);

    // Deleting a contact removes its tag assignments.
    assert_eq!(
        api.get(&format!("tags/{t1}/contacts")).await.body["count"],
        1
    );
    assert_eq!(api.delete(&format!("contacts/{c1}")).await.status, 204);
    assert_eq!(
        api.get(&format!("tags/{t1}/contacts")).await.body["count"],
        0
    );
    let left = srv
        .store
        .list_links(
            srv.account.id,
            LinkKind::ContactTag,
            keapsake_core::records::Side::B(t1),
            10,
            0,
        )
        .await
        .unwrap();
    assert_eq!(left.1, 0);
}
on_both_stores!(tags_categories_and_assignments);

async fn custom_fields_the_model_and_companies(backend: Backend) {
    let srv = TestServer::start(backend).await;
    let api = Api::new(&srv).await;

    let r = api.get("contacts/model").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["custom_fields"], json!([]));
    assert_eq!(
        r.body["optional_properties"],
        json!([
            "job_title",
            "lead_source_id",
            "custom_fields",
            "social_accounts",
            "origin",
            "relationships"
        ])
    );
    let r = api.post("contacts/model/customFields", &json!({"label": "Favourite colour", "field_type": "Dropdown", "options": [{"label": "Red"}, {"label": "Blue"}]})).await;
    assert_eq!(r.status, 201, "{r:?}");
    let cf = r.body["id"].as_i64().unwrap();
    assert_eq!(r.body["field_name"], "favouritecolour");
    assert_eq!(r.body["record_type"], "CONTACT");
    assert_eq!(
        r.body["options"][1],
        json!({"id": "Blue", "label": "Blue", "options": []})
    );
    assert_eq!(
        api.post(
            "contacts/model/customFields",
            &json!({"label": "favourite COLOUR", "field_type": "Text"})
        )
        .await
        .status,
        400
    );
    assert_eq!(
        api.post(
            "contacts/model/customFields",
            &json!({"label": "x", "field_type": "Hologram"})
        )
        .await
        .status,
        400
    );
    let r = api.get("contacts/model").await;
    assert_eq!(r.body["custom_fields"].as_array().unwrap().len(), 1);
    assert_eq!(r.body["custom_fields"][0]["id"], cf);

    // A company made by the companies resource (stored directly here) can be referenced.
    let created = srv
        .store
        .insert_record(
            srv.account.id,
            RecordKind::Company,
            Box::new(|_| {
                Ok(NewRecord {
                    data: json!({"company_name": "Analytical Engines Ltd"}),
                    keys: Default::default(),
                })
            }),
            srv.clock.now(),
        )
        .await
        .unwrap();
    let company = match created {
        keapsake_core::records::Edited::Updated(r) => r.id,
        other => panic!("{other:?}"),
    };

    let mut body = ada();
    body["custom_fields"] = json!([{"id": cf, "content": "Red"}]);
    body["company"] = json!({"id": company});
    body["owner_id"] = json!(srv.user.id.0);
    body["birthday"] = json!("1815-12-10");
    body["anniversary"] = json!("1835-07-08T00:00:00Z");
    body["addresses"] = json!([{"field": "BILLING", "line1": "12 St James's Square", "locality": "London", "region": "London", "postal_code": "SW1Y 4JH", "country_code": "gbr"}]);
    let c = create(&api, body).await;
    let id = c["id"].as_i64().unwrap();
    assert_eq!(
        c["company"],
        json!({"id": company, "company_name": "Analytical Engines Ltd"})
    );
    assert_eq!(c["company_name"], "Analytical Engines Ltd");
    assert_eq!(c["owner_id"], srv.user.id.0);
    assert_eq!(c["birthday"], "1815-12-10T00:00:00.000+0000");
    assert_eq!(c["anniversary"], "1835-07-08");
    assert_eq!(c["addresses"][0]["country_code"], "GBR");
    assert_eq!(c["source_type"], "API");
    let r = api
        .get(&format!("contacts/{id}?optional_properties=custom_fields"))
        .await;
    assert_eq!(
        r.body["custom_fields"],
        json!([{"id": cf, "content": "Red"}])
    );
    // custom_fields merge by id; null clears.
    let r = api
        .patch(
            &format!("contacts/{id}"),
            &json!({"custom_fields": [{"id": cf, "content": null}]}),
        )
        .await;
    assert_eq!(r.status, 200);
    let r = api
        .get(&format!("contacts/{id}?optional_properties=custom_fields"))
        .await;
    assert_eq!(r.body["custom_fields"], json!([]));

    // EmailAndNameAndCompany matches on the company too.
    let r = api
        .put(
            "contacts",
            &json!({"duplicate_option": "EmailAndNameAndCompany", "given_name": "Ada", "family_name": "Lovelace", "company": {"id": company},
                    "email_addresses": [{"email": "ada@example.com", "field": "EMAIL1"}], "job_title": "Countess"}),
        )
        .await;
    assert_eq!((r.status, r.body["id"].as_i64()), (200, Some(id)));
    let r = api
        .put(
            "contacts",
            &json!({"duplicate_option": "EmailAndNameAndCompany", "given_name": "Ada", "family_name": "Lovelace",
                    "email_addresses": [{"email": "ada@example.com", "field": "EMAIL1"}]}),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_ne!(
        r.body["id"].as_i64(),
        Some(id),
        "no company: not the same contact"
    );

    // A tag applied to the company shows under /tags/{id}/companies.
    let tag = api.post("tags", &json!({"name": "Customers"})).await.body["id"]
        .as_i64()
        .unwrap();
    srv.store
        .link(
            srv.account.id,
            LinkKind::CompanyTag,
            &[(company, tag)],
            srv.clock.now(),
        )
        .await
        .unwrap();
    let r = api.get(&format!("tags/{tag}/companies")).await;
    assert_eq!(r.body["count"], 1);
    assert_eq!(
        r.body["companies"][0]["company"],
        json!({"id": company, "company_name": "Analytical Engines Ltd", "email": null})
    );
}
on_both_stores!(custom_fields_the_model_and_companies);
