//! REST v1 companies, notes, tasks, opportunities, settings, users, locales and the deliberate
//! 501s end to end (`keap/rest-v1.md` §3–§6, §11): the real server over TCP with OAuth tokens
//! from the HTML flow. Exact status codes and shapes, filters and paging, tenant isolation
//! (SECURITY.md §5: another account's id answers exactly like a missing one and changes
//! nothing) and bad input (SECURITY.md §6: a JSON 400, never a 5xx or `text/plain`).

use keapsake_core::store::{KeyKind, NewApiKey};
use keapsake_core::{Clock, Secret};
use keapsake_testkit::{Backend, TestServer};
use serde_json::{Value, json};

const UNPARSEABLE: &str = "Input could not be converted to a valid request";

/// One v1 caller with a bearer token.
#[derive(Clone)]
struct Api {
    base: String,
    token: String,
    http: reqwest::Client,
}

/// A response: status, `Content-Type`, JSON body (`Null` when empty), raw text.
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

    /// A caller for a second user who is a member of one new account.
    async fn other_account(srv: &TestServer) -> Api {
        let email = format!("other-{}@example.com", keapsake_testkit::unique_suffix());
        let (user, _) = srv.add_user_with_accounts(&email, 1).await;
        let code = srv.authorize(&srv.app, &user).await;
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
    s.len() == 28 && s.as_bytes()[10] == b'T' && s.as_bytes()[19] == b'.' && s.ends_with("+0000")
}

fn msg(r: &Res) -> &str {
    r.body["message"].as_str().unwrap_or("")
}

fn id_of(r: &Res) -> i64 {
    r.body["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("no id: {r:?}"))
}

/// Creates a contact through the contacts resource; returns its id.
async fn contact(api: &Api, given: &str, family: &str, email: &str) -> i64 {
    let r = api
        .post(
            "contacts",
            &json!({"given_name": given, "family_name": family,
                    "email_addresses": [{"email": email, "field": "EMAIL1"}]}),
        )
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    id_of(&r)
}

/// A read-only PAT of the demo user on the demo account.
async fn read_only(srv: &TestServer, api: &Api) -> Api {
    let key = format!("KeapAK-{}", "cd".repeat(25));
    srv.store
        .create_api_key(NewApiKey {
            hash: Secret::new(key.clone()).hash(),
            display_prefix: "KeapAK-cdcd".into(),
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
    Api {
        token: key,
        ..api.clone()
    }
}

// ---------------------------------------------------------------------------------------------
// Companies
// ---------------------------------------------------------------------------------------------

async fn companies_crud_filters_and_paging(backend: Backend) {
    let srv = TestServer::start(backend).await;
    let api = Api::new(&srv).await;

    // Create: 201, company_name required.
    let r = api.post("companies", &json!({"website": "x.test"})).await;
    assert_eq!((r.status, msg(&r)), (400, "company_name is required"));
    let r = api
        .post(
            "companies/",
            &json!({"company_name": "Analytical Engines", "email_address": "info@ae.test",
                    "phone_number": {"number": "555-0100", "type": "Work"},
                    "address": {"line1": "1 Babbage St", "locality": "London", "country_code": "gbr"},
                    "notes": "Steam powered", "opt_in_reason": "Asked for it"}),
        )
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    let ae = id_of(&r);
    assert_eq!(r.body["company_name"], "Analytical Engines");
    assert_eq!(r.body["email_status"], "SingleOptIn");
    assert_eq!(r.body["email_opted_in"], true);
    assert_eq!(r.body["address"]["country_code"], "GBR");
    assert_eq!(
        r.body["phone_number"],
        json!({"number": "555-0100", "extension": null, "type": "Work"})
    );
    assert_eq!(
        r.body["notes"], "Steam powered",
        "a write echoes the whole company"
    );
    assert_eq!(r.body["custom_fields"], json!([]));
    for name in ["Zeta Widgets", "acme", "Beta Corp"] {
        assert_eq!(
            api.post("companies", &json!({"company_name": name}))
                .await
                .status,
            201
        );
    }

    // Get: default fields only, optional ones on request.
    let r = api.get(&format!("companies/{ae}")).await;
    assert_eq!(r.status, 200);
    assert!(r.body.get("notes").is_none(), "{r:?}");
    let r = api
        .get(&format!(
            "companies/{ae}?optional_properties=notes,fax_number"
        ))
        .await;
    assert_eq!(r.body["notes"], "Steam powered");
    assert_eq!(r.body["fax_number"], Value::Null);

    // PATCH: company_name not required; the PHP SDK sends back what it read.
    let mut back = r.body.clone();
    back["website"] = json!("ae.test");
    back.as_object_mut().unwrap().remove("company_name");
    back["email_status"] = json!("Confirmed");
    let r = api.patch(&format!("companies/{ae}"), &back).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["company_name"], "Analytical Engines");
    assert_eq!(r.body["website"], "ae.test");
    assert_eq!(
        r.body["email_status"], "SingleOptIn",
        "email_status is read-only"
    );
    let r = api
        .patch(&format!("companies/{ae}"), &json!({"company_name": ""}))
        .await;
    assert_eq!((r.status, msg(&r)), (400, "company_name is required"));
    let r = api
        .patch("companies/999999", &json!({"website": "x"}))
        .await;
    assert_eq!((r.status, msg(&r)), (404, "Unable to find this Company"));
    let r = api.get("companies/999999").await;
    assert_eq!((r.status, msg(&r)), (404, "Unable to find this Company"));

    // List: total count, exact case-insensitive name filter, order, paging links.
    let r = api.get("companies").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["count"], 4);
    assert_eq!(r.body["companies"].as_array().unwrap().len(), 4);
    assert!(r.body["companies"][0].get("notes").is_none());
    let r = api.get("companies?company_name=ACME").await;
    assert_eq!(r.body["count"], 1);
    assert_eq!(r.body["companies"][0]["company_name"], "acme");
    assert_eq!(
        api.get("companies?company_name=acm").await.body["count"],
        0,
        "exact, not a prefix"
    );
    assert_eq!(
        api.get("companies?company_name=%25").await.body["count"],
        0,
        "% is literal"
    );
    let r = api
        .get("companies?order=name&order_direction=descending")
        .await;
    let names: Vec<&str> = r.body["companies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["company_name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["Zeta Widgets", "Beta Corp", "Analytical Engines", "acme"]
    );
    let r = api
        .get(&format!(
            "companies?limit=2&offset=2&order=id&access_token={}",
            api.token
        ))
        .await;
    assert_eq!(r.body["count"], 4);
    assert_eq!(r.body["companies"].as_array().unwrap().len(), 2);
    let next = r.body["next"].as_str().unwrap();
    let prev = r.body["previous"].as_str().unwrap();
    assert_eq!(
        next,
        srv.at("crm/rest/v1/companies/?limit=2&offset=4&order=id")
    );
    assert_eq!(
        prev,
        srv.at("crm/rest/v1/companies/?limit=2&offset=0&order=id")
    );
    assert!(!next.contains(&api.token) && !prev.contains("access_token"));
    let r = api.get("companies?offset=10").await;
    assert_eq!(
        (r.body["count"].clone(), r.body["companies"].clone()),
        (json!(4), json!([]))
    );
    let r = api
        .get("companies?optional_properties=notes&optional_properties=bogus")
        .await;
    assert_eq!(r.body["companies"][0]["notes"], "Steam powered");

    // Model and custom fields: only COMPANY fields are accepted.
    let r = api.get("companies/model").await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.body,
        json!({"custom_fields": [], "optional_properties": ["notes", "fax_number", "custom_fields"]})
    );
    let r = api
        .patch(
            &format!("companies/{ae}"),
            &json!({"custom_fields": [{"id": 1, "content": "x"}]}),
        )
        .await;
    assert_eq!((r.status, msg(&r)), (400, "Custom field 1 does not exist"));
    let f = api
        .post(
            "contacts/model/customFields",
            &json!({"label": "Shoe size", "field_type": "Text"}),
        )
        .await;
    assert_eq!(f.status, 201);
    let r = api
        .patch(
            &format!("companies/{ae}"),
            &json!({"custom_fields": [{"id": id_of(&f), "content": "x"}]}),
        )
        .await;
    assert_eq!(
        r.status, 400,
        "a contact field is not a company field: {r:?}"
    );

    // Contacts read the name from the company document.
    let r = api
        .post("contacts", &json!({"given_name": "Ada", "email_addresses": [{"email": "ada@ae.test"}], "company": {"id": ae}}))
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    assert_eq!(
        r.body["company"],
        json!({"id": ae, "company_name": "Analytical Engines"})
    );
}
on_both_stores!(companies_crud_filters_and_paging);

// ---------------------------------------------------------------------------------------------
// Notes
// ---------------------------------------------------------------------------------------------

async fn notes_crud_and_filters(backend: Backend) {
    let srv = TestServer::start(backend).await;
    let api = Api::new(&srv).await;
    let ada = contact(&api, "Ada", "Lovelace", "ada@example.com").await;
    let bob = contact(&api, "Bob", "Babbage", "bob@example.com").await;
    let me = srv.user.id.0;

    // Create: 201; contact required and must exist; a title or a body; type is an enum.
    let r = api.post("notes", &json!({"title": "t"})).await;
    assert_eq!((r.status, msg(&r)), (400, "contact_id is required"));
    let r = api
        .post("notes", &json!({"contact_id": 999999, "title": "t"}))
        .await;
    assert_eq!((r.status, msg(&r)), (400, "Contact 999999 does not exist"));
    let r = api.post("notes", &json!({"contact_id": ada})).await;
    assert_eq!(
        (r.status, msg(&r)),
        (400, "A note must have a title or a body")
    );
    let r = api
        .post(
            "notes",
            &json!({"contact_id": ada, "title": "t", "type": "Meeting"}),
        )
        .await;
    assert_eq!(r.status, 400);
    assert!(msg(&r).starts_with("Invalid type"), "{r:?}");
    let r = api
        .post(
            "notes",
            &json!({"contact_id": ada, "title": "t", "user_id": 999999}),
        )
        .await;
    assert_eq!(
        (r.status, msg(&r)),
        (400, "user_id 999999 is not a user of this account")
    );

    let r = api
        .post(
            "notes/",
            &json!({"contact_id": ada, "title": "Call", "body": "Talked", "type": "call"}),
        )
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    let n1 = id_of(&r);
    assert_eq!(r.body["contact_id"], ada);
    assert_eq!(r.body["user_id"], me, "defaults to the acting user");
    assert_eq!(r.body["type"], "Call");
    assert!(
        is_keap_datetime(&r.body["date_created"]) && is_keap_datetime(&r.body["last_updated"]),
        "{r:?}"
    );
    assert_eq!(r.body["last_updated_by"]["user_id"], me);
    let keys: Vec<&str> = r
        .body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    for k in [
        "id",
        "contact_id",
        "user_id",
        "title",
        "body",
        "type",
        "date_created",
        "last_updated",
        "last_updated_by",
    ] {
        assert!(keys.contains(&k), "{k} missing: {keys:?}");
    }
    let n2 = id_of(
        &api.post("notes", &json!({"contact_id": bob, "body": "b2"}))
            .await,
    );
    let n3 = id_of(
        &api.post("notes", &json!({"contact_id": ada, "body": "b3"}))
            .await,
    );

    // Get, PUT (replace: what is not sent is cleared), PATCH (only what is sent).
    let r = api.get(&format!("notes/{n1}")).await;
    assert_eq!((r.status, r.body["title"].clone()), (200, json!("Call")));
    let r = api
        .put(
            &format!("notes/{n1}"),
            &json!({"contact_id": ada, "body": "Replaced"}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        (
            r.body["title"].clone(),
            r.body["body"].clone(),
            r.body["type"].clone()
        ),
        (Value::Null, json!("Replaced"), Value::Null)
    );
    let r = api
        .put(&format!("notes/{n1}"), &json!({"body": "no contact"}))
        .await;
    assert_eq!((r.status, msg(&r)), (400, "contact_id is required"));
    let mut back = api.get(&format!("notes/{n1}")).await.body;
    back["title"] = json!("Patched");
    back["id"] = json!(12345);
    let r = api.patch(&format!("notes/{n1}"), &back).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        (
            r.body["id"].clone(),
            r.body["title"].clone(),
            r.body["body"].clone()
        ),
        (json!(n1), json!("Patched"), json!("Replaced"))
    );
    let r = api
        .patch(&format!("notes/{n1}"), &json!({"title": null, "body": ""}))
        .await;
    assert_eq!(
        (r.status, msg(&r)),
        (400, "A note must have a title or a body")
    );
    assert_eq!(
        api.get(&format!("notes/{n1}")).await.body["title"],
        "Patched",
        "a refused edit changes nothing"
    );

    // List: filters and totals.
    let r = api.get("notes").await;
    assert_eq!(r.body["count"], 3);
    let r = api.get(&format!("notes?contact_id={ada}")).await;
    let ids: Vec<i64> = r.body["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [n1, n3]);
    assert_eq!(
        api.get(&format!("notes?user_id={me}&contact_id={bob}"))
            .await
            .body["count"],
        1
    );
    assert_eq!(api.get("notes?user_id=424242").await.body["count"], 0);
    let r = api.get("notes?limit=1&offset=1").await;
    assert_eq!(
        (r.body["count"].clone(), r.body["notes"][0]["id"].clone()),
        (json!(3), json!(n2))
    );
    assert_eq!(
        r.body["next"],
        srv.at("crm/rest/v1/notes/?limit=1&offset=2")
    );

    // Delete: 204, then 404 with the resource's message.
    let r = api.delete(&format!("notes/{n2}")).await;
    assert_eq!((r.status, r.raw.as_str()), (204, ""));
    for r in [
        api.get(&format!("notes/{n2}")).await,
        api.delete(&format!("notes/{n2}")).await,
    ] {
        assert_eq!((r.status, msg(&r)), (404, "Unable to find this Note"));
    }

    // Model and the shared task/note custom fields.
    assert_eq!(
        api.get("notes/model").await.body,
        json!({"custom_fields": [], "optional_properties": []})
    );
    let r = api
        .post(
            "notes/model/customFields",
            &json!({"label": "Outcome", "field_type": "Dropdown", "options": [{"label": "Won"}]}),
        )
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    assert_eq!(r.body["record_type"], "TASK_NOTE_APPOINTMENT");
    let r = api.get("notes/model").await;
    assert_eq!(r.body["custom_fields"][0]["label"], "Outcome");
    assert_eq!(
        api.get("tasks/model").await.body["custom_fields"][0]["label"],
        "Outcome"
    );
    let r = api
        .post(
            "tasks/model/customFields",
            &json!({"label": "outcome", "field_type": "Text"}),
        )
        .await;
    assert_eq!(r.status, 400, "one name per record type: {r:?}");
}
on_both_stores!(notes_crud_and_filters);

// ---------------------------------------------------------------------------------------------
// Tasks
// ---------------------------------------------------------------------------------------------

async fn tasks_crud_filters_search_and_sync_token(backend: Backend) {
    let srv = TestServer::start(backend).await;
    let api = Api::new(&srv).await;
    let ada = contact(&api, "Ada", "Lovelace", "ada@example.com").await;
    let me = srv.user.id.0;

    // Create: 200 (not 201); title and due_date required.
    let r = api
        .post("tasks", &json!({"due_date": "2024-12-01T10:00:00Z"}))
        .await;
    assert_eq!((r.status, msg(&r)), (400, "title is required"));
    let r = api.post("tasks", &json!({"title": "Call Ada"})).await;
    assert_eq!((r.status, msg(&r)), (400, "due_date is required"));
    let r = api
        .post("tasks", &json!({"title": "x", "due_date": "next week"}))
        .await;
    assert_eq!(r.status, 400);
    let r = api
        .post(
            "tasks",
            &json!({"title": "x", "due_date": "2024-12-01", "remind_time": 7}),
        )
        .await;
    assert_eq!(r.status, 400);
    let r = api
        .post(
            "tasks",
            &json!({"title": "x", "due_date": "2024-12-01", "contact": {"id": 999999}}),
        )
        .await;
    assert_eq!((r.status, msg(&r)), (400, "Contact 999999 does not exist"));

    let r = api
        .post(
            "tasks/",
            &json!({"title": "Call Ada", "due_date": "2024-12-01T10:00:00.000+0000", "contact": {"id": ada},
                    "priority": 1, "remind_time": 15, "type": "Call", "description": "About the engine"}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let t1 = id_of(&r);
    assert_eq!(
        r.body["contact"],
        json!({"id": ada, "email": "ada@example.com", "first_name": "Ada", "last_name": "Lovelace"})
    );
    assert_eq!(r.body["due_date"], "2024-12-01T10:00:00.000+0000");
    assert_eq!(
        (
            r.body["completed"].clone(),
            r.body["completion_date"].clone()
        ),
        (json!(false), Value::Null)
    );
    assert_eq!(r.body["user_id"], me);
    assert!(
        is_keap_datetime(&r.body["creation_date"])
            && is_keap_datetime(&r.body["modification_date"])
    );
    for k in [
        "title",
        "description",
        "type",
        "priority",
        "remind_time",
        "url",
        "funnel_id",
        "jgraph_id",
    ] {
        assert!(r.body.get(k).is_some(), "{k} missing: {r:?}");
    }
    let t2 = id_of(
        &api.post(
            "tasks",
            &json!({"title": "Write report", "due_date": "2024-11-20"}),
        )
        .await,
    );
    srv.clock.advance(time::Duration::minutes(5));
    let t3 = id_of(
        &api.post(
            "tasks",
            &json!({"title": "Archive", "due_date": "2025-01-15"}),
        )
        .await,
    );
    // A task without a due date (PATCH may clear it) for has_due_date.
    let r = api
        .patch(&format!("tasks/{t3}"), &json!({"due_date": null}))
        .await;
    assert_eq!((r.status, r.body["due_date"].clone()), (200, Value::Null));

    // Completing stamps completion_date; the PHP SDK saves back what it read.
    srv.clock.advance(time::Duration::minutes(5));
    let r = api
        .patch(&format!("tasks/{t2}"), &json!({"completed": true}))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert!(is_keap_datetime(&r.body["completion_date"]));
    let stamped = r.body["completion_date"].clone();
    let mut back = r.body.clone();
    back["description"] = json!("done");
    let r = api.patch(&format!("tasks/{t2}"), &back).await;
    assert_eq!(
        (
            r.status,
            r.body["completion_date"].clone(),
            r.body["description"].clone()
        ),
        (200, stamped, json!("done"))
    );

    // PUT replaces: title and due_date required, the rest cleared.
    let r = api
        .put(&format!("tasks/{t1}"), &json!({"title": "Call Ada again"}))
        .await;
    assert_eq!((r.status, msg(&r)), (400, "due_date is required"));
    let r = api
        .put(
            &format!("tasks/{t1}"),
            &json!({"title": "Call Ada again", "due_date": "2024-12-02", "contact": {"id": ada}}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        (r.body["description"].clone(), r.body["priority"].clone()),
        (Value::Null, Value::Null)
    );
    assert_eq!(r.body["contact"]["id"], ada);

    // Filters.
    let ids = |r: &Res| -> Vec<i64> {
        r.body["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_i64().unwrap())
            .collect()
    };
    let r = api.get("tasks").await;
    assert_eq!(
        (r.body["count"].clone(), ids(&r)),
        (json!(3), vec![t1, t2, t3])
    );
    assert!(r.body["sync_token"].is_string(), "{r:?}");
    assert_eq!(ids(&api.get("tasks?completed=TRUE").await), [t2]);
    assert_eq!(ids(&api.get("tasks?completed=false").await), [t1, t3]);
    assert_eq!(ids(&api.get("tasks?has_due_date=true").await), [t1, t2]);
    assert_eq!(ids(&api.get("tasks?has_due_date=false").await), [t3]);
    assert_eq!(
        ids(&api.get(&format!("tasks?contact_id={ada}")).await),
        [t1]
    );
    assert_eq!(ids(&api.get(&format!("tasks?user_id={me}")).await).len(), 3);
    assert_eq!(
        ids(&api
            .get("tasks?order=due_date&order_direction=DESCENDING")
            .await),
        [t1, t2, t3]
    );
    assert_eq!(
        ids(&api.get("tasks?order=dueDate").await),
        [t3, t2, t1],
        "no due date sorts first"
    );

    // since/until bound modification_date (inclusive).
    srv.clock.advance(time::Duration::minutes(5));
    let t0 = srv.clock.now();
    api.patch(&format!("tasks/{t3}"), &json!({"priority": 3}))
        .await;
    let rfc = |t: time::OffsetDateTime| {
        t.format(&time::format_description::well_known::Rfc3339)
            .unwrap()
            .replace('+', "%2B")
    };
    assert_eq!(
        ids(&api.get(&format!("tasks?since={}", rfc(t0))).await),
        [t3]
    );
    let before = t0 - time::Duration::minutes(1);
    assert_eq!(
        ids(&api.get(&format!("tasks?until={}", rfc(before))).await),
        [t1, t2]
    );

    // sync_token: what changed since the token was issued.
    srv.clock.advance(time::Duration::minutes(1));
    let token = api.get("tasks").await.body["sync_token"]
        .as_str()
        .unwrap()
        .to_owned();
    srv.clock.advance(time::Duration::minutes(5));
    api.patch(&format!("tasks/{t1}"), &json!({"priority": 2}))
        .await;
    let r = api.get(&format!("tasks?sync_token={token}")).await;
    assert_eq!(ids(&r), [t1]);
    assert_ne!(r.body["sync_token"].as_str().unwrap(), token);
    assert_eq!(api.get("tasks?sync_token=garbage").await.status, 400);

    // /tasks/search: the acting user's tasks unless user_id says otherwise.
    let (colleague, _) = srv
        .add_user_with_accounts(
            &format!(
                "colleague-{}@example.com",
                keapsake_testkit::unique_suffix()
            ),
            0,
        )
        .await;
    srv.store
        .add_member(srv.account.id, colleague.id, false)
        .await
        .unwrap();
    let r = api.post("tasks", &json!({"title": "Someone else's", "due_date": "2024-12-01", "user_id": colleague.id.0})).await;
    assert_eq!(
        (r.status, r.body["user_id"].clone()),
        (200, json!(colleague.id.0))
    );
    let r = api.get("tasks/search?limit=2").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["count"], 3, "{r:?}");
    assert_eq!(
        r.body["next"],
        srv.at("crm/rest/v1/tasks/search/?limit=2&offset=2")
    );
    assert!(r.body["sync_token"].is_string());
    assert_eq!(api.get("tasks").await.body["count"], 4);

    // Delete.
    assert_eq!(api.delete(&format!("tasks/{t2}")).await.status, 204);
    let r = api.get(&format!("tasks/{t2}")).await;
    assert_eq!((r.status, msg(&r)), (404, "Unable to find this Task"));
    let r = api
        .put(
            &format!("tasks/{t2}"),
            &json!({"title": "x", "due_date": "2024-01-01"}),
        )
        .await;
    assert_eq!((r.status, msg(&r)), (404, "Unable to find this Task"));

    // The contact's current names show; deleting the contact deletes its tasks (rest-v1.md §1.7).
    api.patch(
        &format!("contacts/{ada}"),
        &json!({"given_name": "Augusta"}),
    )
    .await;
    assert_eq!(
        api.get(&format!("tasks/{t1}")).await.body["contact"]["first_name"],
        "Augusta"
    );
    assert_eq!(api.delete(&format!("contacts/{ada}")).await.status, 204);
    let r = api.get(&format!("tasks/{t1}")).await;
    assert_eq!((r.status, msg(&r)), (404, "Unable to find this Task"));
}
on_both_stores!(tasks_crud_filters_search_and_sync_token);

// ---------------------------------------------------------------------------------------------
// Opportunities
// ---------------------------------------------------------------------------------------------

async fn opportunities_crud_search_and_pipeline(backend: Backend) {
    let srv = TestServer::start(backend).await;
    let api = Api::new(&srv).await;
    let co = api
        .post("companies", &json!({"company_name": "Difference Works"}))
        .await;
    let ada = contact(&api, "Ada", "Lovelace", "ada@example.com").await;
    let bob = contact(&api, "Bob", "Babbage", "bob@engines.test").await;
    api.patch(
        &format!("contacts/{bob}"),
        &json!({"company": {"id": id_of(&co)}}),
    )
    .await;
    let me = srv.user.id.0;

    // The pipeline: a bare array, one default stage, counts per account.
    let r = api.get("opportunity/stage_pipeline").await;
    assert_eq!(r.status, 200);
    let stages = r.body.as_array().unwrap().clone();
    assert!(stages.len() >= 3);
    assert_eq!(stages.iter().filter(|s| s["is_default"] == true).count(), 1);
    assert!(stages.iter().all(|s| s["stage_count"] == 0));
    let first = stages[0]["stage_id"].as_i64().unwrap();
    let second = stages[1]["stage_id"].as_i64().unwrap();

    // Create: 200; title, contact and a known stage required.
    let r = api
        .post(
            "opportunities",
            &json!({"contact": {"id": ada}, "stage": {"id": first}}),
        )
        .await;
    assert_eq!((r.status, msg(&r)), (400, "opportunity_title is required"));
    let r = api
        .post(
            "opportunities",
            &json!({"opportunity_title": "x", "stage": {"id": first}}),
        )
        .await;
    assert_eq!((r.status, msg(&r)), (400, "contact.id is required"));
    let r = api
        .post(
            "opportunities",
            &json!({"opportunity_title": "x", "contact": {"id": ada}, "stage": {"id": 999}}),
        )
        .await;
    assert_eq!((r.status, msg(&r)), (400, "Stage 999 does not exist"));
    let r = api
        .post(
            "opportunities",
            &json!({"opportunity_title": "x", "contact": {"id": 999999}, "stage": {"id": first}}),
        )
        .await;
    assert_eq!((r.status, msg(&r)), (400, "Contact 999999 does not exist"));

    let r = api
        .post(
            "opportunities",
            &json!({"opportunity_title": "Analytical Engine", "contact": {"id": ada}, "stage": {"id": first},
                    "projected_revenue_high": "25000.50", "include_in_forecast": 1,
                    "estimated_close_date": "2025-03-01T00:00:00Z", "next_action_date": "2024-12-10T09:00:00Z"}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let o1 = id_of(&r);
    assert_eq!(r.body["contact"]["first_name"], "Ada");
    assert_eq!(r.body["contact"]["email"], "ada@example.com");
    assert_eq!(r.body["stage"]["id"], first);
    assert!(r.body["stage"]["name"].is_string());
    assert_eq!(
        r.body["user"]["id"], me,
        "created as the authenticated user"
    );
    assert_eq!(r.body["projected_revenue_high"], 25000.5);
    assert_eq!(
        r.body["estimated_close_date"],
        "2025-03-01T00:00:00.000+0000"
    );
    assert!(is_keap_datetime(&r.body["date_created"]));
    let o2 = id_of(&api.post("opportunities", &json!({"opportunity_title": "Difference Engine", "contact": {"id": bob}, "stage": {"id": second}, "next_action_date": "2024-12-01T09:00:00Z"})).await);
    let o3 = id_of(&api.post("opportunities", &json!({"opportunity_title": "Tabulator", "contact": {"id": bob}, "stage": {"id": first}})).await);

    // Get with optional custom_fields; PATCH; PUT /opportunities replaces by the id in the body.
    let r = api.get(&format!("opportunities/{o1}")).await;
    assert!(r.body.get("custom_fields").is_none());
    assert_eq!(
        api.get(&format!(
            "opportunities/{o1}?optional_properties=custom_fields"
        ))
        .await
        .body["custom_fields"],
        json!([])
    );
    let r = api
        .patch(
            &format!("opportunities/{o1}"),
            &json!({"opportunity_notes": "Promising", "stage": {"id": second}}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        (
            r.body["opportunity_title"].clone(),
            r.body["stage"]["id"].clone()
        ),
        (json!("Analytical Engine"), json!(second))
    );
    let r = api
        .put(
            "opportunities",
            &json!({"opportunity_title": "No id", "contact": {"id": ada}, "stage": {"id": first}}),
        )
        .await;
    assert_eq!((r.status, msg(&r)), (400, "id is required"));
    let r = api.put("opportunities", &json!({"id": 999999, "opportunity_title": "x", "contact": {"id": ada}, "stage": {"id": first}})).await;
    assert_eq!(
        (r.status, msg(&r)),
        (404, "Unable to find this Opportunity")
    );
    let r = api.put("opportunities", &json!({"id": o1, "opportunity_title": "Analytical Engine II", "contact": {"id": ada}, "stage": {"id": second}})).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        (
            r.body["opportunity_notes"].clone(),
            r.body["projected_revenue_high"].clone()
        ),
        (Value::Null, Value::Null)
    );
    assert_eq!(r.body["next_action_date"], Value::Null);

    // List: search over title and the contact's names, company and e-mail; stage and user.
    let ids = |r: &Res| -> Vec<i64> {
        r.body["opportunities"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["id"].as_i64().unwrap())
            .collect()
    };
    let r = api.get("opportunities").await;
    assert_eq!((r.status, r.body["count"].clone()), (200, json!(3)));
    assert_eq!(
        ids(&api.get("opportunities?search_term=ENGINE").await),
        [o1, o2, o3],
        "bob's e-mail is @engines"
    );
    assert_eq!(
        ids(&api.get("opportunities?search_term=lovelace").await),
        [o1]
    );
    assert_eq!(
        ids(&api.get("opportunities?search_term=difference").await),
        [o2, o3],
        "title, then company"
    );
    assert_eq!(ids(&api.get("opportunities?search_term=tab").await), [o3]);
    assert_eq!(
        ids(&api.get(&format!("opportunities?stage_id={second}")).await),
        [o1, o2]
    );
    let r = api
        .get(&format!(
            "opportunities?search_term=engine&stage_id={second}&limit=1&offset=1"
        ))
        .await;
    assert_eq!((r.body["count"].clone(), ids(&r)), (json!(2), vec![o2]));
    assert_eq!(
        ids(&api.get(&format!("opportunities?user_id={me}")).await).len(),
        3
    );
    assert_eq!(
        ids(&api.get("opportunities?user_id=424242").await),
        Vec::<i64>::new()
    );
    assert_eq!(
        ids(&api.get("opportunities?order=contact_name").await),
        [o2, o3, o1],
        "Babbage before Lovelace"
    );
    assert_eq!(
        ids(&api
            .get("opportunities?order=opportunity_name&order_direction=DESCENDING")
            .await),
        [o3, o2, o1]
    );
    assert_eq!(
        ids(&api.get("opportunities?order=next_action").await),
        [o1, o3, o2],
        "no next action first"
    );

    // The pipeline counts what is in each stage.
    let r = api.get("opportunity/stage_pipeline").await;
    let count = |id: i64| {
        r.body
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["stage_id"] == id)
            .unwrap()["stage_count"]
            .clone()
    };
    assert_eq!((count(first), count(second)), (json!(1), json!(2)));

    // Model.
    let r = api.get("opportunities/model").await;
    assert_eq!(
        r.body,
        json!({"custom_fields": [], "optional_properties": ["custom_fields"]})
    );
}
on_both_stores!(opportunities_crud_search_and_pipeline);

// ---------------------------------------------------------------------------------------------
// Settings, users, merchants, locales, 501s
// ---------------------------------------------------------------------------------------------

async fn settings_users_locales_and_deliberate_501s(backend: Backend) {
    let srv = TestServer::start(backend).await;
    let api = Api::new(&srv).await;
    let other = Api::other_account(&srv).await;

    let r = api.get("setting/application/enabled").await;
    assert_eq!((r.status, r.body.clone()), (200, json!({"value": "true"})));
    let r = api.get("setting/contact/optionTypes").await;
    assert_eq!(r.body, json!({"value": "Lead,Customer,Other"}));
    let r = api.get("setting/application/configuration").await;
    assert_eq!(r.status, 200);
    for module in [
        "application",
        "contact",
        "ecommerce",
        "email",
        "forms",
        "fulfillment",
        "invoice",
        "note",
        "opportunity",
        "task",
        "template",
        "affiliate",
        "appointment",
    ] {
        assert!(r.body[module].is_object(), "{module}: {r:?}");
    }
    assert_eq!(r.body["contact"]["contact_types"], "Lead,Customer,Other");
    assert!(r.body["application"]["company"]["name"].is_string());
    api.put(
        "account/profile",
        &json!({"name": "Engines Ltd", "currency_code": "GBP", "time_zone": "Europe/London"}),
    )
    .await;
    let r = api.get("setting/application/configuration").await;
    assert_eq!(r.body["application"]["company"]["name"], "Engines Ltd");
    assert_eq!(r.body["ecommerce"]["currency"], "GBP");
    assert_eq!(r.body["application"]["time_zone"], "Europe/London");

    // Users: the account's members only.
    let r = api.get("users").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["count"], 1, "{r:?}");
    let u = &r.body["users"][0];
    assert_eq!(
        (
            u["id"].clone(),
            u["email_address"].clone(),
            u["status"].clone()
        ),
        (json!(srv.user.id.0), json!(srv.user.email), json!("Active"))
    );
    assert_eq!(u["time_zone"], "Europe/London");
    assert!(is_keap_datetime(&u["date_created"]));
    assert_eq!(
        r.body["next"],
        srv.at("crm/rest/v1/users/?limit=1000&offset=1000")
    );
    let r = other
        .get("users?include_inactive=false&include_partners=TRUE")
        .await;
    assert_eq!(r.body["count"], 1);
    assert_ne!(r.body["users"][0]["id"], json!(srv.user.id.0));
    assert_eq!(api.get("users?include_inactive=maybe").await.status, 400);
    let r = api.get(&format!("users/{}/signature", srv.user.id.0)).await;
    assert_eq!((r.status, r.body.clone()), (200, json!("")));
    let other_user = other.get("users").await.body["users"][0]["id"]
        .as_i64()
        .unwrap();
    let a = api.get(&format!("users/{other_user}/signature")).await;
    let b = api.get("users/999999/signature").await;
    assert_eq!((a.status, a.raw.clone()), (b.status, b.raw.clone()));
    assert_eq!((a.status, msg(&a)), (404, "Unable to find this User"));

    // Merchants and locales.
    let r = api.get("merchants").await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.body["merchant_accounts"][0]["id"],
        r.body["default_merchant_account"]
    );
    let r = api.get("locales/countries").await;
    assert_eq!(
        (
            r.body["countries"]["USA"].clone(),
            r.body["countries"]["CAN"].clone()
        ),
        (json!("United States"), json!("Canada"))
    );
    let r = api.get("locales/countries/USA/provinces").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["provinces"]["US-CA"], "California");
    assert!(r.body["provinces"].as_object().unwrap().len() >= 51);
    let r = api.get("locales/countries/can/provinces/").await;
    assert_eq!(
        (
            r.body["provinces"]["CA-ON"].clone(),
            r.body["provinces"].as_object().unwrap().len()
        ),
        (json!("Ontario"), 13)
    );
    assert_eq!(
        api.get("locales/countries/FRA/provinces").await.body,
        json!({"provinces": {}})
    );
    let r = api.get("locales/countries/XX%FF/provinces").await;
    assert_eq!((r.status, msg(&r)), (404, "Unable to find this Country"));
    let r = api.get("locales/defaultOptions").await;
    assert_eq!(
        r.body["contact_types"],
        json!(["Lead", "Customer", "Other"])
    );
    for k in ["fax_types", "phone_types", "suffix_types", "title_types"] {
        assert!(!r.body[k].as_array().unwrap().is_empty(), "{k}");
    }

    // Out of the first release: authenticate, then a deliberate 501.
    for (m, p) in [
        (reqwest::Method::GET, "files"),
        (reqwest::Method::POST, "files"),
        (reqwest::Method::DELETE, "files/3"),
        (reqwest::Method::GET, "campaigns/1"),
        (reqwest::Method::POST, "campaigns/goals/app/callName"),
        (reqwest::Method::POST, "campaigns/1/sequences/2/contacts/3"),
        (reqwest::Method::PATCH, "appointments/5"),
        (reqwest::Method::GET, "affiliates/summaries"),
        (reqwest::Method::POST, "users"),
        (reqwest::Method::POST, "contacts/1/utm"),
    ] {
        let r = api.raw(m.clone(), p, "{}").await;
        assert_eq!(
            (r.status, msg(&r)),
            (501, "Not implemented in keapsake"),
            "{m} {p}"
        );
        let anon = reqwest::Client::new()
            .request(m.clone(), srv.at(&format!("crm/rest/v1/{p}")))
            .send()
            .await
            .unwrap();
        assert_eq!(anon.status().as_u16(), 401, "{m} {p} authenticates first");
    }
    let r = api.raw(reqwest::Method::PUT, "transactions", "{}").await;
    assert_eq!(r.status, 405, "methods Keap does not define: {r:?}");
}
on_both_stores!(settings_users_locales_and_deliberate_501s);

// ---------------------------------------------------------------------------------------------
// Tenant isolation, bad input, read-only keys
// ---------------------------------------------------------------------------------------------

async fn another_accounts_ids_answer_like_missing_ones_and_change_nothing(backend: Backend) {
    let srv = TestServer::start(backend).await;
    let a = Api::new(&srv).await;
    let b = Api::other_account(&srv).await;
    // Ids are per account: give A's contact an id B's account does not have.
    for i in 0..3 {
        contact(&a, "Filler", "Contact", &format!("filler{i}@example.com")).await;
    }
    let ada = contact(&a, "Ada", "Lovelace", "ada@example.com").await;
    let bc = contact(&b, "Eve", "Spy", "eve@example.com").await;
    assert!(bc < ada);
    let company = id_of(
        &a.post(
            "companies",
            &json!({"company_name": "Secret Co", "notes": "n"}),
        )
        .await,
    );
    let note = id_of(
        &a.post("notes", &json!({"contact_id": ada, "title": "secret"}))
            .await,
    );
    let task = id_of(
        &a.post(
            "tasks",
            &json!({"title": "secret", "due_date": "2024-12-01", "contact": {"id": ada}}),
        )
        .await,
    );
    let opp = id_of(
        &a.post(
            "opportunities",
            &json!({"opportunity_title": "secret", "contact": {"id": ada}, "stage": {"id": 1}}),
        )
        .await,
    );
    let before: Vec<Value> = vec![
        a.get(&format!("companies/{company}?optional_properties=notes"))
            .await
            .body,
        a.get(&format!("notes/{note}")).await.body,
        a.get(&format!("tasks/{task}")).await.body,
        a.get(&format!("opportunities/{opp}")).await.body,
    ];
    // B's ids of its own records start at 1 too; make sure the ids probed are not B's.
    let missing = 999_999;

    let same = |x: &Res, y: &Res, what: &str| {
        assert_eq!(
            (x.status, &x.raw),
            (y.status, &y.raw),
            "{what}: another account's id must answer like a missing one"
        );
        assert_eq!(x.status, 404, "{what}: {x:?}");
    };
    for (path, body) in [
        (
            format!("companies/{company}"),
            json!({"company_name": "pwned"}),
        ),
        (
            format!("notes/{note}"),
            json!({"contact_id": bc, "title": "pwned"}),
        ),
        (
            format!("tasks/{task}"),
            json!({"title": "pwned", "due_date": "2024-01-01"}),
        ),
        (
            format!("opportunities/{opp}"),
            json!({"opportunity_title": "pwned"}),
        ),
    ] {
        let resource = path.split('/').next().unwrap();
        let other = format!("{resource}/{missing}");
        same(&b.get(&path).await, &b.get(&other).await, &path);
        same(
            &b.patch(&path, &body).await,
            &b.patch(&other, &body).await,
            &path,
        );
        if resource == "notes" || resource == "tasks" {
            same(
                &b.put(&path, &body).await,
                &b.put(&other, &body).await,
                &path,
            );
            same(&b.delete(&path).await, &b.delete(&other).await, &path);
        }
    }
    let body = |id: i64| json!({"id": id, "opportunity_title": "pwned", "contact": {"id": ada}, "stage": {"id": 1}});
    // With B's own contact both are 404; with A's contact both are the same 400.
    same(
        &b.put("opportunities", &json!({"id": opp, "opportunity_title": "pwned", "contact": {"id": bc}, "stage": {"id": 1}})).await,
        &b.put("opportunities", &json!({"id": missing, "opportunity_title": "pwned", "contact": {"id": bc}, "stage": {"id": 1}})).await,
        "PUT /opportunities",
    );
    let (x, y) = (
        b.put("opportunities", &body(opp)).await,
        b.put("opportunities", &body(missing)).await,
    );
    assert_eq!((x.status, &x.raw), (y.status, &y.raw));
    assert_eq!(x.status, 400, "{x:?}");

    // A's contact is no contact of B's: the same 400 as a contact that never existed.
    for (path, with_a, with_missing) in [
        (
            "notes",
            json!({"contact_id": ada, "title": "x"}),
            json!({"contact_id": missing, "title": "x"}),
        ),
        (
            "tasks",
            json!({"title": "x", "due_date": "2024-01-01", "contact": {"id": ada}}),
            json!({"title": "x", "due_date": "2024-01-01", "contact": {"id": missing}}),
        ),
        (
            "opportunities",
            json!({"opportunity_title": "x", "contact": {"id": ada}, "stage": {"id": 1}}),
            json!({"opportunity_title": "x", "contact": {"id": missing}, "stage": {"id": 1}}),
        ),
    ] {
        let x = b.post(path, &with_a).await;
        let y = b.post(path, &with_missing).await;
        assert_eq!(x.status, 400, "{path}: {x:?}");
        assert_eq!(
            msg(&x).replace(&ada.to_string(), "N"),
            msg(&y).replace(&missing.to_string(), "N"),
            "{path}"
        );
    }
    // A's user is no user of B's account.
    let r = b
        .post(
            "notes",
            &json!({"contact_id": bc, "title": "x", "user_id": srv.user.id.0}),
        )
        .await;
    assert_eq!(
        (r.status, msg(&r)),
        (
            400,
            format!("user_id {} is not a user of this account", srv.user.id.0).as_str()
        )
    );

    // B's lists show none of A's records; filters on A's ids find nothing.
    assert_eq!(b.get("companies").await.body["count"], 0);
    assert_eq!(
        b.get(&format!("notes?contact_id={ada}")).await.body["count"],
        0
    );
    assert_eq!(
        b.get(&format!("tasks?contact_id={ada}")).await.body["count"],
        0
    );
    assert_eq!(b.get("tasks/search").await.body["count"], 0);
    assert_eq!(
        b.get("opportunities?search_term=secret").await.body["count"],
        0
    );
    assert!(
        b.get("opportunity/stage_pipeline")
            .await
            .body
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["stage_count"] == 0)
    );
    assert_eq!(b.get("users").await.body["count"], 1);

    // Nothing of A's changed.
    let after: Vec<Value> = vec![
        a.get(&format!("companies/{company}?optional_properties=notes"))
            .await
            .body,
        a.get(&format!("notes/{note}")).await.body,
        a.get(&format!("tasks/{task}")).await.body,
        a.get(&format!("opportunities/{opp}")).await.body,
    ];
    assert_eq!(before, after);
}
on_both_stores!(another_accounts_ids_answer_like_missing_ones_and_change_nothing);

async fn bad_input_is_a_json_400_never_a_5xx(backend: Backend) {
    let srv = TestServer::start(backend).await;
    let api = Api::new(&srv).await;
    let ada = contact(&api, "Ada", "Lovelace", "ada@example.com").await;
    let note = id_of(
        &api.post("notes", &json!({"contact_id": ada, "title": "t"}))
            .await,
    );
    let task = id_of(
        &api.post("tasks", &json!({"title": "t", "due_date": "2024-12-01"}))
            .await,
    );
    let co = id_of(&api.post("companies", &json!({"company_name": "c"})).await);
    let opp = id_of(
        &api.post(
            "opportunities",
            &json!({"opportunity_title": "o", "contact": {"id": ada}, "stage": {"id": 1}}),
        )
        .await,
    );

    // Malformed or non-object JSON: Keap's wording.
    for (m, path) in [
        (reqwest::Method::POST, "companies".to_owned()),
        (reqwest::Method::PATCH, format!("companies/{co}")),
        (reqwest::Method::POST, "notes".to_owned()),
        (reqwest::Method::PUT, format!("notes/{note}")),
        (reqwest::Method::PATCH, format!("notes/{note}")),
        (reqwest::Method::POST, "tasks".to_owned()),
        (reqwest::Method::PUT, format!("tasks/{task}")),
        (reqwest::Method::PATCH, format!("tasks/{task}")),
        (reqwest::Method::POST, "opportunities".to_owned()),
        (reqwest::Method::PUT, "opportunities".to_owned()),
        (reqwest::Method::PATCH, format!("opportunities/{opp}")),
        (reqwest::Method::POST, "notes/model/customFields".to_owned()),
    ] {
        for body in ["{", "[1,2]", "\"x\"", "", "null", "123", "{\"a\":1}{"] {
            let r = api.raw(m.clone(), &path, body).await;
            assert_eq!(
                (r.status, msg(&r)),
                (400, UNPARSEABLE),
                "{m} {path} {body:?}: {r:?}"
            );
        }
    }
    // Wrong types and values inside a well-formed body.
    for (path, body) in [
        (
            "companies",
            json!({"company_name": "c", "address": {"country_code": "U"}}),
        ),
        ("companies", json!({"company_name": "c\u{0}"})),
        (
            "notes",
            json!({"contact_id": ada, "title": "t", "type": "Memo"}),
        ),
        ("notes", json!({"contact_id": "abc", "title": "t"})),
        (
            "notes",
            json!({"contact_id": "99999999999999999999", "title": "t"}),
        ),
        ("tasks", json!({"title": "t", "due_date": "2024-13-45"})),
        (
            "tasks",
            json!({"title": "t", "due_date": "2024-12-01", "priority": 99999999999i64}),
        ),
        (
            "tasks",
            json!({"title": "t", "due_date": "2024-12-01", "completed": "perhaps"}),
        ),
        (
            "tasks",
            json!({"title": "t".repeat(300), "due_date": "2024-12-01"}),
        ),
        (
            "opportunities",
            json!({"opportunity_title": "o", "contact": {"id": ada}, "stage": {"id": "x"}}),
        ),
        (
            "opportunities",
            json!({"opportunity_title": "o", "contact": {"id": ada}, "stage": {"id": 1}, "projected_revenue_low": "lots"}),
        ),
    ] {
        let r = api.post(path, &body).await;
        assert_eq!(r.status, 400, "{path} {body}: {r:?}");
        assert!(!msg(&r).is_empty());
    }
    // Ids and query parameters.
    for path in [
        "companies/abc",
        "companies/99999999999999999999",
        "notes/-",
        "tasks/1.5",
        "opportunities/99999999999999999999999",
        "users/x/signature",
        "companies?offset=-1",
        "notes?limit=-5",
        "notes?contact_id=abc",
        "tasks?completed=maybe",
        "tasks?has_due_date=1",
        "tasks?since=yesterday",
        "tasks?order=priority",
        "tasks?user_id=99999999999999999999",
        "companies?order=bogus",
        "companies?order_direction=UP",
        "opportunities?order=stage",
        "opportunities?stage_id=x",
        "notes?contact_id=%FF",
        "opportunities?search_term=%00",
    ] {
        let r = api.get(path).await;
        assert_eq!(r.status, 400, "{path}: {r:?}");
    }
    let r = api.delete("notes/99999999999999999999").await;
    assert_eq!(r.status, 400);
    // Leniency: trailing slashes, a dangling `?`, unknown parameters, limits clamped.
    assert_eq!(api.get(&format!("notes/{note}/")).await.status, 200);
    assert_eq!(api.get(&format!("tasks/{task}?")).await.status, 200);
    assert_eq!(
        api.get("companies/?ascending=true&limit=999999")
            .await
            .status,
        200
    );
    assert_eq!(
        api.get("opportunities?search_term=").await.body["count"],
        1,
        "empty means absent"
    );
    let r = api
        .patch(
            &format!("tasks/{task}/"),
            &json!({"unknown": 1, "id": 77, "creation_date": "garbage?", "modification_date": 5}),
        )
        .await;
    assert_eq!((r.status, r.body["id"].clone()), (200, json!(task)));
}
on_both_stores!(bad_input_is_a_json_400_never_a_5xx);

async fn a_read_only_key_reads_but_cannot_write(backend: Backend) {
    let srv = TestServer::start(backend).await;
    let api = Api::new(&srv).await;
    let ada = contact(&api, "Ada", "Lovelace", "ada@example.com").await;
    let co = id_of(&api.post("companies", &json!({"company_name": "c"})).await);
    let note = id_of(
        &api.post("notes", &json!({"contact_id": ada, "title": "t"}))
            .await,
    );
    let task = id_of(
        &api.post("tasks", &json!({"title": "t", "due_date": "2024-12-01"}))
            .await,
    );
    let opp = id_of(
        &api.post(
            "opportunities",
            &json!({"opportunity_title": "o", "contact": {"id": ada}, "stage": {"id": 1}}),
        )
        .await,
    );
    let ro = read_only(&srv, &api).await;

    for path in [
        format!("companies/{co}"),
        format!("notes/{note}"),
        format!("tasks/{task}"),
        format!("opportunities/{opp}"),
        "tasks/search".to_owned(),
        "opportunity/stage_pipeline".to_owned(),
        "users".to_owned(),
        "setting/application/configuration".to_owned(),
    ] {
        assert_eq!(ro.get(&path).await.status, 200, "{path}");
    }
    let note_body = json!({"contact_id": ada, "title": "x"});
    let task_body = json!({"title": "x", "due_date": "2024-12-01"});
    let opp_body =
        json!({"id": opp, "opportunity_title": "x", "contact": {"id": ada}, "stage": {"id": 1}});
    for (m, p, b) in [
        (
            reqwest::Method::POST,
            "companies".to_owned(),
            json!({"company_name": "x"}),
        ),
        (
            reqwest::Method::PATCH,
            format!("companies/{co}"),
            json!({"company_name": "x"}),
        ),
        (reqwest::Method::POST, "notes".to_owned(), note_body.clone()),
        (
            reqwest::Method::PUT,
            format!("notes/{note}"),
            note_body.clone(),
        ),
        (
            reqwest::Method::PATCH,
            format!("notes/{note}"),
            note_body.clone(),
        ),
        (reqwest::Method::DELETE, format!("notes/{note}"), json!({})),
        (
            reqwest::Method::POST,
            "notes/model/customFields".to_owned(),
            json!({"label": "x", "field_type": "Text"}),
        ),
        (reqwest::Method::POST, "tasks".to_owned(), task_body.clone()),
        (
            reqwest::Method::PUT,
            format!("tasks/{task}"),
            task_body.clone(),
        ),
        (
            reqwest::Method::PATCH,
            format!("tasks/{task}"),
            task_body.clone(),
        ),
        (reqwest::Method::DELETE, format!("tasks/{task}"), json!({})),
        (
            reqwest::Method::POST,
            "tasks/model/customFields".to_owned(),
            json!({"label": "y", "field_type": "Text"}),
        ),
        (
            reqwest::Method::POST,
            "opportunities".to_owned(),
            opp_body.clone(),
        ),
        (
            reqwest::Method::PUT,
            "opportunities".to_owned(),
            opp_body.clone(),
        ),
        (
            reqwest::Method::PATCH,
            format!("opportunities/{opp}"),
            opp_body.clone(),
        ),
    ] {
        let r = ro.raw(m.clone(), &p, &b.to_string()).await;
        assert_eq!(
            (r.status, msg(&r)),
            (403, "This credential is read-only"),
            "{m} {p}"
        );
    }
    // Nothing changed.
    assert_eq!(
        api.get(&format!("companies/{co}")).await.body["company_name"],
        "c"
    );
    assert_eq!(api.get(&format!("notes/{note}")).await.body["title"], "t");
    assert_eq!(api.get("tasks").await.body["count"], 1);
    assert_eq!(
        api.get(&format!("opportunities/{opp}")).await.body["opportunity_title"],
        "o"
    );
    assert_eq!(
        api.get("notes/model").await.body["custom_fields"],
        json!([])
    );
}
on_both_stores!(a_read_only_key_reads_but_cannot_write);
