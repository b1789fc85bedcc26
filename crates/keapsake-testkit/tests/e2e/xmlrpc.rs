//! XML-RPC and REST v1 over one store (`keap/xmlrpc.md` §7), over real TCP on both stores: one
//! contact (with a company, a custom field, tags, notes and a task) is created and edited
//! through XML-RPC, then REST, then XML-RPC again, and after each step both views are compared
//! field by field. A contact added through `ContactService.add` fires the REST `contact.add`
//! hook.

use keapsake_core::store::{KeyKind, NewApiKey};
use keapsake_core::{Clock, Secret};
use keapsake_server::quota::Profile;
use keapsake_server::webhooks::{HookConfig, deliver_due};
use keapsake_server::xmlrpc::codec::{XValue, decode_response, encode_call};
use keapsake_testkit::hooks::{HookReceiver, Mode};
use keapsake_testkit::{Backend, TestOptions, TestServer};
use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, PrimitiveDateTime};

struct Apis {
    http: reqwest::Client,
    rest: String,
    xmlrpc: String,
    token: String,
    key: String,
}

impl Apis {
    async fn new(srv: &TestServer) -> Apis {
        let code = srv.authorize(&srv.app, &srv.user).await;
        let (s, tok) = srv.exchange(&srv.app, &code).await;
        assert_eq!(s, 200, "{tok}");
        let key = Secret::generate_hex("KeapAK-", 25);
        srv.store
            .create_api_key(NewApiKey {
                hash: key.hash(),
                display_prefix: key.expose()[..11].to_owned(),
                name: "xml-rpc e2e".into(),
                kind: KeyKind::Legacy,
                account_id: srv.account.id,
                user_id: Some(srv.user.id),
                read_only: false,
                created_at: srv.clock.now(),
                expires_at: None,
            })
            .await
            .expect("a legacy key");
        Apis {
            http: reqwest::Client::new(),
            rest: srv.at("crm/rest/v1/"),
            xmlrpc: srv.at("crm/xmlrpc/v1"),
            token: tok["access_token"].as_str().expect("a token").to_owned(),
            key: key.expose().to_owned(),
        }
    }

    async fn rest(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut rb = self
            .http
            .request(method.clone(), format!("{}{path}", self.rest))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let r = rb.send().await.expect("the server answers");
        let status = r.status().as_u16();
        let text = r.text().await.expect("a body");
        assert!(
            (200..300).contains(&status),
            "{method} {path}: {status} {text}"
        );
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    /// Calls with the legacy key as first parameter; panics on a fault.
    async fn call(&self, method: &str, params: &[XValue]) -> XValue {
        let mut all = vec![XValue::Str(self.key.clone())];
        all.extend_from_slice(params);
        let r = self
            .http
            .post(&self.xmlrpc)
            .header("content-type", "text/xml")
            .body(encode_call(method, &all))
            .send()
            .await
            .expect("the server answers");
        assert_eq!(r.status().as_u16(), 200);
        let text = r.text().await.expect("a body");
        match decode_response(text.as_bytes()).expect("a methodResponse") {
            Ok(v) => v,
            Err(f) => panic!("{method}: fault {f:?}"),
        }
    }
}

fn s(v: &str) -> XValue {
    XValue::Str(v.to_owned())
}
fn i(v: i64) -> XValue {
    XValue::Int(v)
}
fn st(members: &[(&str, XValue)]) -> XValue {
    XValue::Struct(
        members
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect(),
    )
}
fn fields(names: &[&str]) -> XValue {
    XValue::Array(names.iter().map(|n| s(n)).collect())
}
fn int(v: &XValue) -> i64 {
    match v {
        XValue::Int(i) => *i,
        other => panic!("not an int: {other:?}"),
    }
}
fn get<'a>(row: &'a XValue, name: &str) -> Option<&'a XValue> {
    match row {
        XValue::Struct(m) => m.iter().find(|(k, _)| k == name).map(|(_, v)| v),
        other => panic!("not a struct: {other:?}"),
    }
}
fn text(row: &XValue, name: &str) -> Option<String> {
    get(row, name).and_then(XValue::as_text)
}

/// The REST entry of a slotted list (`email_addresses`, `phone_numbers`, `addresses`).
fn slot<'a>(doc: &'a Value, list: &str, field: &str) -> &'a Value {
    doc[list]
        .as_array()
        .and_then(|a| a.iter().find(|e| e["field"] == field))
        .unwrap_or(&Value::Null)
}

/// REST's UTC time and XML-RPC's zone-less local time name the same instant in the account's
/// zone (America/New_York by default: UTC-5 or UTC-4).
fn same_instant(rest: &Value, local: Option<&XValue>) {
    let utc = OffsetDateTime::parse(rest.as_str().expect("a REST date-time"), &Rfc3339)
        .or_else(|_| {
            // Keap's "2024-11-07T20:35:13.000+0000".
            let f = time::macros::format_description!(
                "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3][offset_hour][offset_minute]"
            );
            OffsetDateTime::parse(rest.as_str().unwrap_or_default(), &f)
        })
        .unwrap_or_else(|e| panic!("{rest}: {e}"));
    let Some(XValue::DateTime(local)) = local else {
        panic!("an XML-RPC dateTime, got {local:?}");
    };
    let utc = utc.to_offset(time::UtcOffset::UTC);
    let utc_naive = PrimitiveDateTime::new(utc.date(), utc.time())
        .replace_millisecond(0)
        .expect("ms");
    let diff = (utc_naive - *local).whole_hours();
    assert!(
        diff == 4 || diff == 5,
        "REST {rest} vs XML-RPC {local}: {diff} h apart"
    );
}

const ROW: &[&str] = &[
    "Id",
    "FirstName",
    "LastName",
    "Email",
    "EmailAddress2",
    "Phone1",
    "Phone1Type",
    "StreetAddress1",
    "City",
    "PostalCode",
    "Country",
    "Company",
    "CompanyID",
    "Groups",
    "DateCreated",
    "LastUpdated",
    "_Favourite",
];

/// Both views of the contact agree, field by field.
async fn agree(api: &Apis, id: i64) -> (XValue, Value) {
    let row = api.call("ContactService.load", &[i(id), fields(ROW)]).await;
    let doc = api
        .rest(
            reqwest::Method::GET,
            &format!("contacts/{id}?optional_properties=custom_fields"),
            None,
        )
        .await;
    let str_of = |v: &Value| v.as_str().filter(|s| !s.is_empty()).map(str::to_owned);
    assert_eq!(get(&row, "Id"), Some(&i(id)));
    assert_eq!(
        text(&row, "FirstName"),
        str_of(&doc["given_name"]),
        "FirstName"
    );
    assert_eq!(
        text(&row, "LastName"),
        str_of(&doc["family_name"]),
        "LastName"
    );
    assert_eq!(
        text(&row, "Email"),
        str_of(&slot(&doc, "email_addresses", "EMAIL1")["email"]),
        "Email"
    );
    assert_eq!(
        text(&row, "EmailAddress2"),
        str_of(&slot(&doc, "email_addresses", "EMAIL2")["email"]),
        "EmailAddress2"
    );
    assert_eq!(
        text(&row, "Phone1"),
        str_of(&slot(&doc, "phone_numbers", "PHONE1")["number"]),
        "Phone1"
    );
    assert_eq!(
        text(&row, "Phone1Type"),
        str_of(&slot(&doc, "phone_numbers", "PHONE1")["type"]),
        "Phone1Type"
    );
    let billing = slot(&doc, "addresses", "BILLING");
    assert_eq!(
        text(&row, "StreetAddress1"),
        str_of(&billing["line1"]),
        "StreetAddress1"
    );
    assert_eq!(text(&row, "City"), str_of(&billing["locality"]), "City");
    assert_eq!(
        text(&row, "PostalCode"),
        str_of(&billing["postal_code"]),
        "PostalCode"
    );
    assert_eq!(
        text(&row, "Country"),
        str_of(&billing["country_code"]),
        "Country"
    );
    assert_eq!(
        get(&row, "CompanyID").map(int),
        doc["company"]["id"].as_i64(),
        "CompanyID"
    );
    assert_eq!(
        text(&row, "Company"),
        str_of(&doc["company"]["company_name"]),
        "Company"
    );
    let mut tags: Vec<i64> = doc["tag_ids"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_i64).collect())
        .unwrap_or_default();
    tags.sort_unstable();
    let mut groups: Vec<i64> = text(&row, "Groups")
        .unwrap_or_default()
        .split(',')
        .filter(|x| !x.is_empty())
        .map(|x| x.parse().expect("an id"))
        .collect();
    groups.sort_unstable();
    assert_eq!(groups, tags, "Groups vs tag_ids");
    same_instant(&doc["date_created"], get(&row, "DateCreated"));
    same_instant(&doc["last_updated"], get(&row, "LastUpdated"));
    let custom = doc["custom_fields"]
        .as_array()
        .and_then(|a| a.iter().find(|c| !c["content"].is_null()))
        .map(|c| c["content"].clone())
        .unwrap_or(Value::Null);
    assert_eq!(text(&row, "_Favourite"), str_of(&custom), "_Favourite");
    (row, doc)
}

/// ContactAction rows of the contact: (Id, ObjectType, ActionDescription), sorted by Id.
async fn actions(api: &Apis, contact: i64) -> Vec<(i64, String, String)> {
    let XValue::Array(rows) = api
        .call(
            "DataService.query",
            &[
                s("ContactAction"),
                i(1000),
                i(0),
                st(&[("ContactId", i(contact))]),
                fields(&["Id", "ObjectType", "ActionDescription"]),
            ],
        )
        .await
    else {
        panic!("an array")
    };
    rows.iter()
        .map(|r| {
            (
                int(get(r, "Id").expect("Id")),
                text(r, "ObjectType").expect("ObjectType"),
                text(r, "ActionDescription").unwrap_or_default(),
            )
        })
        .collect()
}

async fn one_contact_through_both_apis(backend: Backend) {
    // Arrange: hooks delivered by hand (worker off), one contact.add subscription.
    let srv = TestServer::start_with(
        backend,
        TestOptions {
            hooks: Some(HookConfig {
                worker: false,
                timeout: std::time::Duration::from_secs(5),
                connect_timeout: std::time::Duration::from_secs(2),
                ..HookConfig::default()
            }),
            profile: Some(Profile::Sandbox),
            ..TestOptions::default()
        },
    )
    .await;
    let api = Apis::new(&srv).await;
    let rx = HookReceiver::start(Mode::Echo).await;
    let sub = api
        .rest(
            reqwest::Method::POST,
            "hooks",
            Some(json!({"eventKey": "contact.add", "hookUrl": rx.url})),
        )
        .await;
    assert_eq!(sub["status"], "Verified", "{sub}");
    rx.clear();

    // 1. XML-RPC: custom field, contact, tag, note, task.
    let field = int(&api
        .call(
            "DataService.addCustomField",
            &[s("Contact"), s("Favourite"), s("Text"), i(0)],
        )
        .await);
    let c = int(&api
        .call(
            "ContactService.add",
            &[st(&[
                ("FirstName", s("Ada")),
                ("LastName", s("Lovelace")),
                ("Email", s("ada@example.com")),
                ("Phone1", s("555-0100")),
                ("Phone1Type", s("Work")),
                ("StreetAddress1", s("12 St James's Square")),
                ("City", s("London")),
                ("PostalCode", s("SW1Y 4JH")),
                ("Country", s("GBR")),
                ("Company", s("Analytical Engines Ltd")),
                ("_Favourite", s("tea")),
            ])],
        )
        .await);
    let vip = int(&api
        .call(
            "DataService.add",
            &[s("ContactGroup"), st(&[("GroupName", s("VIP"))])],
        )
        .await);
    assert_eq!(
        api.call("ContactService.addToGroup", &[i(c), i(vip)]).await,
        XValue::Bool(true)
    );
    let note = int(&api
        .call(
            "DataService.add",
            &[
                s("ContactAction"),
                st(&[("ContactId", i(c)), ("ActionDescription", s("xml note"))]),
            ],
        )
        .await);
    let task = int(&api
        .call(
            "DataService.add",
            &[
                s("ContactAction"),
                st(&[
                    ("ContactId", i(c)),
                    ("ObjectType", s("Task")),
                    ("ActionDescription", s("xml task")),
                    ("ActionDate", s("2027-03-01 09:00:00")),
                ]),
            ],
        )
        .await);

    // The contact.add hook fires for the XML-RPC add.
    let report = deliver_due(&srv.state, srv.clock.now()).await;
    assert!(report.delivered >= 1, "{report:?}");
    let adds: Vec<i64> = rx
        .deliveries()
        .iter()
        .filter(|d| d.json["event_key"] == "contact.add")
        .flat_map(|d| {
            d.json["object_keys"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .filter_map(|k| k["id"].as_i64())
        .collect();
    assert_eq!(adds, vec![c], "one contact.add for the XML-RPC contact");

    // Both views after the XML-RPC writes.
    let (row, doc) = agree(&api, c).await;
    assert_eq!(text(&row, "FirstName").as_deref(), Some("Ada"));
    assert_eq!(doc["company"]["company_name"], "Analytical Engines Ltd");
    assert_eq!(doc["tag_ids"], json!([vip]));
    assert!(
        doc["custom_fields"]
            .as_array()
            .is_some_and(|a| a.iter().any(|f| f["id"] == field && f["content"] == "tea")),
        "{doc}"
    );
    let n = api
        .rest(reqwest::Method::GET, &format!("notes/{}", note / 2), None)
        .await;
    assert_eq!(
        (n["contact_id"].as_i64(), n["title"].as_str()),
        (Some(c), Some("xml note"))
    );
    let t = api
        .rest(reqwest::Method::GET, &format!("tasks/{}", task / 2), None)
        .await;
    assert_eq!(
        (t["contact"]["id"].as_i64(), t["title"].as_str()),
        (Some(c), Some("xml task"))
    );

    // 2. REST: edit names, e-mail, phone, address, custom field; another tag; a note.
    srv.clock.advance(time::Duration::seconds(90));
    let customer = api
        .rest(
            reqwest::Method::POST,
            "tags",
            Some(json!({"name": "Customer"})),
        )
        .await["id"]
        .as_i64()
        .expect("tag id");
    api.rest(
        reqwest::Method::PATCH,
        &format!("contacts/{c}"),
        Some(json!({
            "given_name": "Augusta",
            "email_addresses": [{"email": "augusta@example.com", "field": "EMAIL1"},
                                {"email": "ada@example.org", "field": "EMAIL2"}],
            "phone_numbers": [{"number": "555-0199", "field": "PHONE1", "type": "Mobile"}],
            "addresses": [{"field": "BILLING", "line1": "1 Marylebone Rd", "locality": "London",
                           "postal_code": "NW1 5LR", "country_code": "GBR"}],
            "custom_fields": [{"id": field, "content": "coffee"}],
        })),
    )
    .await;
    api.rest(
        reqwest::Method::POST,
        &format!("contacts/{c}/tags"),
        Some(json!({"tagIds": [customer]})),
    )
    .await;
    let rest_note = api
        .rest(
            reqwest::Method::POST,
            "notes",
            Some(json!({"contact_id": c, "title": "rest note"})),
        )
        .await["id"]
        .as_i64()
        .expect("note id");
    let (row, doc) = agree(&api, c).await;
    assert_eq!(text(&row, "FirstName").as_deref(), Some("Augusta"));
    assert_eq!(
        text(&row, "EmailAddress2").as_deref(),
        Some("ada@example.org")
    );
    assert_eq!(text(&row, "Phone1Type").as_deref(), Some("Mobile"));
    assert_eq!(text(&row, "_Favourite").as_deref(), Some("coffee"));
    assert_ne!(
        get(&row, "LastUpdated"),
        get(&row, "DateCreated"),
        "the REST edit moved LastUpdated: {doc}"
    );
    let mut want = vec![
        (note, "Note".to_owned(), "xml note".to_owned()),
        (2 * rest_note, "Note".to_owned(), "rest note".to_owned()),
        (task, "Task".to_owned(), "xml task".to_owned()),
    ];
    want.sort();
    let mut got = actions(&api, c).await;
    got.sort();
    assert_eq!(got, want, "notes and tasks through ContactAction");

    // 3. Back to XML-RPC: edit, untag, complete the task; REST sees it all.
    srv.clock.advance(time::Duration::seconds(90));
    api.call(
        "ContactService.update",
        &[
            i(c),
            st(&[
                ("LastName", s("King")),
                ("City", s("Ockham")),
                ("Email", s("countess@example.com")),
            ]),
        ],
    )
    .await;
    api.call("ContactService.removeFromGroup", &[i(c), i(vip)])
        .await;
    api.call(
        "DataService.update",
        &[
            s("ContactAction"),
            i(task),
            st(&[("CompletionDate", s("2027-03-02 10:00:00"))]),
        ],
    )
    .await;
    let (row, doc) = agree(&api, c).await;
    assert_eq!(doc["family_name"], "King");
    assert_eq!(slot(&doc, "addresses", "BILLING")["locality"], "Ockham");
    assert_eq!(
        slot(&doc, "addresses", "BILLING")["line1"],
        "1 Marylebone Rd",
        "untouched"
    );
    assert_eq!(doc["tag_ids"], json!([customer]));
    assert_eq!(text(&row, "Groups"), Some(customer.to_string()));
    let t = api
        .rest(reqwest::Method::GET, &format!("tasks/{}", task / 2), None)
        .await;
    assert_eq!(t["completed"], true, "{t}");
    // ContactGroupAssign agrees with REST's tag_ids.
    let XValue::Array(assigned) = api
        .call(
            "DataService.query",
            &[
                s("ContactGroupAssign"),
                i(100),
                i(0),
                st(&[("ContactId", i(c))]),
                fields(&["GroupId"]),
            ],
        )
        .await
    else {
        panic!("an array")
    };
    let groups: Vec<i64> = assigned
        .iter()
        .map(|r| int(get(r, "GroupId").expect("GroupId")))
        .collect();
    assert_eq!(groups, vec![customer]);

    // Only one contact was ever added.
    let report = deliver_due(&srv.state, srv.clock.now()).await;
    assert_eq!(report.delivered, 0, "no further contact.add: {report:?}");
}

on_both_stores!(one_contact_through_both_apis);
