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

fn money(v: &XValue) -> f64 {
    match v {
        XValue::Double(d) => *d,
        other => panic!("not a double: {other:?}"),
    }
}

/// One order made and paid through both APIs (`keap/xmlrpc.md` §4.4–§4.5, §5.3): after each
/// step the `Invoice`/`OrderItem`/`Payment` rows and REST's order agree, and the order and
/// payment hooks fire for XML-RPC writes exactly as for REST's.
async fn one_order_through_both_apis(backend: Backend) {
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
    for key in ["order.add", "order.delete", "invoice.payment.add"] {
        let sub = api
            .rest(
                reqwest::Method::POST,
                "hooks",
                Some(json!({"eventKey": key, "hookUrl": rx.url})),
            )
            .await;
        assert_eq!(sub["status"], "Verified", "{sub}");
    }
    rx.clear();

    // 1. XML-RPC: a contact, two products, a blank order, two lines, a manual payment.
    let c = int(&api
        .call(
            "ContactService.add",
            &[st(&[
                ("FirstName", s("Ada")),
                ("Email", s("ada@example.com")),
            ])],
        )
        .await);
    let widget = int(&api
        .call(
            "DataService.add",
            &[
                s("Product"),
                st(&[
                    ("ProductName", s("Widget")),
                    ("ProductPrice", XValue::Double(12.5)),
                ]),
            ],
        )
        .await);
    let gadget = api
        .rest(
            reqwest::Method::POST,
            "products",
            Some(json!({"product_name": "Gadget", "product_price": 3.25})),
        )
        .await["id"]
        .as_i64()
        .expect("a product id");
    let inv = int(&api
        .call(
            "InvoiceService.createBlankOrder",
            &[i(c), s("Mixed order"), s("2027-01-15 10:00:00"), i(0), i(0)],
        )
        .await);
    api.call(
        "InvoiceService.addOrderItem",
        &[
            i(inv),
            i(widget),
            i(4),
            XValue::Double(12.5),
            i(2),
            s("two"),
            s(""),
        ],
    )
    .await;
    api.call(
        "InvoiceService.addOrderItem",
        &[
            i(inv),
            i(0),
            i(1),
            XValue::Double(5.0),
            i(1),
            s("Shipping"),
            s(""),
        ],
    )
    .await;
    api.call(
        "InvoiceService.addManualPayment",
        &[
            i(inv),
            XValue::Double(10.0),
            s("2027-01-15 11:00:00"),
            s("Check"),
            s("deposit"),
            XValue::Bool(false),
        ],
    )
    .await;

    // 2. REST: another line and a payment on the same order.
    api.rest(
        reqwest::Method::POST,
        &format!("orders/{inv}/items"),
        Some(json!({"product_id": gadget, "quantity": 4})),
    )
    .await;
    api.rest(
        reqwest::Method::POST,
        &format!("orders/{inv}/payments"),
        Some(json!({"payment_amount": "8.00", "payment_method_type": "CASH", "notes": "cash"})),
    )
    .await;

    // 3. Both views agree: totals, lines, payments.
    let order = api
        .rest(reqwest::Method::GET, &format!("orders/{inv}"), None)
        .await;
    assert_eq!(order["title"], "Mixed order");
    assert_eq!(order["contact"]["id"], c);
    let total = order["total"].as_f64().expect("total");
    assert!((total - 43.0).abs() < 1e-9, "{order}");
    let XValue::Array(invoices) = api
        .call(
            "DataService.query",
            &[
                s("Invoice"),
                i(10),
                i(0),
                st(&[("Id", i(inv))]),
                fields(&[
                    "Id",
                    "ContactId",
                    "JobId",
                    "InvoiceTotal",
                    "TotalPaid",
                    "TotalDue",
                    "PayStatus",
                ]),
            ],
        )
        .await
    else {
        panic!("an array")
    };
    let row = &invoices[0];
    for (xml, rest) in [
        ("InvoiceTotal", "total"),
        ("TotalPaid", "total_paid"),
        ("TotalDue", "total_due"),
    ] {
        let a = money(get(row, xml).expect(xml));
        let b = order[rest].as_f64().expect(rest);
        assert!((a - b).abs() < 1e-9, "{xml} {a} vs {rest} {b}");
    }
    assert_eq!(int(get(row, "JobId").expect("JobId")), inv);
    let owed = money(
        &api.call("InvoiceService.calculateAmountOwed", &[i(inv)])
            .await,
    );
    assert!((owed - 25.0).abs() < 1e-9, "{owed}");
    let XValue::Array(lines) = api
        .call(
            "DataService.query",
            &[
                s("OrderItem"),
                i(10),
                i(0),
                st(&[("OrderId", i(inv))]),
                fields(&["Id", "ProductId", "ItemName", "Qty", "PPU", "ItemType"]),
            ],
        )
        .await
    else {
        panic!("an array")
    };
    let rest_items = order["order_items"].as_array().expect("items");
    assert_eq!(lines.len(), 3);
    assert_eq!(rest_items.len(), 3);
    for (row, item) in lines.iter().zip(rest_items) {
        assert_eq!(
            int(get(row, "Id").expect("Id")),
            item["id"].as_i64().expect("id")
        );
        assert_eq!(
            int(get(row, "Qty").expect("Qty")),
            item["quantity"].as_i64().expect("quantity")
        );
        let ppu = money(get(row, "PPU").expect("PPU"));
        assert!((ppu - item["price"].as_f64().expect("price")).abs() < 1e-9);
        assert_eq!(text(row, "ItemName").as_deref(), item["name"].as_str());
    }
    assert_eq!(
        int(get(&lines[1], "ItemType").expect("ItemType")),
        1,
        "shipping"
    );
    assert_eq!(order["order_items"][1]["type"], "SHIPPING");
    let XValue::Array(pays) = api.call("InvoiceService.getPayments", &[i(inv)]).await else {
        panic!("an array")
    };
    let rest_pays = api
        .rest(
            reqwest::Method::GET,
            &format!("orders/{inv}/payments"),
            None,
        )
        .await;
    let rest_pays = rest_pays.as_array().expect("payments");
    assert_eq!(pays.len(), 2);
    assert_eq!(rest_pays.len(), 2);
    for (row, p) in pays.iter().zip(rest_pays) {
        assert_eq!(
            int(get(row, "Id").expect("Id")),
            p["id"].as_i64().expect("id")
        );
        let amt = money(get(row, "PayAmt").expect("PayAmt"));
        assert!((amt - p["amount"].as_f64().expect("amount")).abs() < 1e-9);
    }
    assert_eq!(text(&pays[0], "PayType").as_deref(), Some("Check"));
    assert_eq!(text(&pays[1], "PayType").as_deref(), Some("Cash"));

    // 4. placeOrder with a card on file pays at once; REST sees it PAID.
    let card = {
        use keapsake_core::commerce::card::{CardDoc, NewCard};
        use keapsake_core::records::{Edited, NewRecord, RecordKind};
        let body = json!({"card_number": "4111111111111111", "expiration_month": 12, "expiration_year": 2030});
        let new = NewCard::parse(body.as_object().expect("object"), srv.clock.now().date())
            .expect("a card");
        let doc = CardDoc::create(c, &new);
        match srv
            .store
            .insert_record(
                srv.account.id,
                RecordKind::CreditCard,
                Box::new(move |_| {
                    Ok(NewRecord {
                        keys: doc.keys(),
                        data: doc.to_value(),
                    })
                }),
                srv.clock.now(),
            )
            .await
            .expect("insert")
        {
            Edited::Updated(r) => r.id,
            Edited::Rejected(m) => panic!("{m}"),
        }
    };
    let placed = api
        .call(
            "OrderService.placeOrder",
            &[
                i(c),
                i(card),
                i(0),
                XValue::Array(vec![i(widget), i(gadget)]),
                XValue::Array(vec![]),
                XValue::Bool(false),
                XValue::Array(vec![]),
                i(0),
                i(0),
            ],
        )
        .await;
    assert_eq!(text(&placed, "Successful").as_deref(), Some("true"));
    assert_eq!(text(&placed, "Code").as_deref(), Some("APPROVED"));
    let second: i64 = text(&placed, "OrderId")
        .expect("OrderId")
        .parse()
        .expect("a number");
    let o2 = api
        .rest(reqwest::Method::GET, &format!("orders/{second}"), None)
        .await;
    assert_eq!(o2["status"], "PAID", "{o2}");
    assert_eq!(o2["total_paid"], json!(15.75));

    // 5. A blank order deleted through XML-RPC is gone from REST.
    let blank = int(&api
        .call(
            "InvoiceService.createBlankOrder",
            &[i(c), s("Oops"), s("2027-01-16 10:00:00"), i(0), i(0)],
        )
        .await);
    assert_eq!(
        api.call("InvoiceService.deleteInvoice", &[i(blank)]).await,
        XValue::Bool(true)
    );
    let gone = api
        .http
        .get(format!("{}orders/{blank}", api.rest))
        .bearer_auth(&api.token)
        .send()
        .await
        .expect("answers");
    assert_eq!(gone.status().as_u16(), 404);

    // 6. Hooks: order.add for the three orders, order.delete for the blank one, one
    //    invoice.payment.add per payment-adding change (two on the first order, one on the
    //    second), each naming its order.
    let report = deliver_due(&srv.state, srv.clock.now()).await;
    assert!(report.delivered >= 1, "{report:?}");
    let ids = |event: &str| -> Vec<i64> {
        let mut v: Vec<i64> = rx
            .deliveries()
            .iter()
            .filter(|d| d.json["event_key"] == event)
            .flat_map(|d| {
                d.json["object_keys"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
            })
            .filter_map(|k| k["id"].as_i64())
            .collect();
        v.sort_unstable();
        v
    };
    assert_eq!(ids("order.add"), vec![inv, second, blank]);
    assert_eq!(ids("order.delete"), vec![blank]);
    assert_eq!(ids("invoice.payment.add"), vec![inv, inv, second]);
}

on_both_stores!(one_order_through_both_apis);
