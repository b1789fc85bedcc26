//! XML-RPC tables `Lead` and `ContactAction` (`keap/xmlrpc.md` §5.5) and `APIEmailService`
//! (§4.3): values read back through XML-RPC and through REST v1 agree.

use crate::support::*;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use keapsake_core::store::KeyKind;
use keapsake_server::xmlrpc::codec::{XValue, decode_response, encode_call};
use serde_json::Value;

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
fn arr(items: &[&str]) -> XValue {
    XValue::Array(items.iter().map(|x| s(x)).collect())
}

/// Calls `method` with the key first; the decoded value or fault.
async fn call(
    h: &Harness,
    key: &str,
    method: &str,
    params: &[XValue],
) -> Result<XValue, (i64, String)> {
    let mut all = vec![s(key)];
    all.extend_from_slice(params);
    let req = Request::builder()
        .method(Method::POST)
        .uri("/crm/xmlrpc/v1")
        .header("content-type", "text/xml")
        .body(Body::from(encode_call(method, &all)))
        .expect("request");
    let res = h.send(req).await;
    res.assert_status(StatusCode::OK);
    decode_response(res.text().as_bytes()).expect("a methodResponse")
}

async fn ok(h: &Harness, key: &str, method: &str, params: &[XValue]) -> XValue {
    match call(h, key, method, params).await {
        Ok(v) => v,
        Err(f) => panic!("{method}: fault {f:?}"),
    }
}

async fn fault(h: &Harness, key: &str, method: &str, params: &[XValue]) -> String {
    match call(h, key, method, params).await {
        Ok(v) => panic!("{method}: expected a fault, got {v:?}"),
        Err((_, m)) => m,
    }
}

fn int(v: &XValue) -> i64 {
    match v {
        XValue::Int(i) => *i,
        other => panic!("not an int: {other:?}"),
    }
}

fn field<'a>(row: &'a XValue, name: &str) -> Option<&'a XValue> {
    match row {
        XValue::Struct(m) => m.iter().find(|(k, _)| k == name).map(|(_, v)| v),
        other => panic!("not a struct: {other:?}"),
    }
}

async fn rest_get(h: &Harness, key: &str, path: &str) -> (StatusCode, Value) {
    let res = h
        .get_with(
            &format!("/crm/rest/v1{path}"),
            &[("authorization", &format!("Bearer {key}"))],
        )
        .await;
    let status = res.status;
    (status, res.json())
}

async fn contact(h: &Harness, k: &str, first: &str) -> i64 {
    int(&ok(
        h,
        k,
        "ContactService.add",
        &[st(&[
            ("FirstName", s(first)),
            ("Email", s(&format!("{first}@example.com"))),
        ])],
    )
    .await)
}

#[tokio::test]
async fn lead_add_load_update_query_delete() {
    let h = Harness::new().await;
    let (k, _) = h.api_key(KeyKind::Legacy, false, None).await;
    let c = contact(&h, &k, "ada").await;
    let id = int(&ok(
        &h,
        &k,
        "DataService.add",
        &[
            s("Lead"),
            st(&[
                ("OpportunityTitle", s("Big deal")),
                ("ContactID", i(c)),
                ("ProjectedRevenueHigh", XValue::Double(2500.5)),
                ("OpportunityNotes", s("call back")),
                ("EstimatedCloseDate", s("2027-01-15 09:30:00")),
            ]),
        ],
    )
    .await);
    let row = ok(
        &h,
        &k,
        "DataService.load",
        &[
            s("Lead"),
            i(id),
            arr(&[
                "Id",
                "OpportunityTitle",
                "ContactID",
                "StageID",
                "ProjectedRevenueHigh",
                "EstimatedCloseDate",
                "DateCreated",
            ]),
        ],
    )
    .await;
    assert_eq!(field(&row, "Id"), Some(&i(id)));
    assert_eq!(field(&row, "OpportunityTitle"), Some(&s("Big deal")));
    assert_eq!(field(&row, "ContactID"), Some(&i(c)));
    assert!(field(&row, "StageID").is_some(), "a default stage: {row:?}");
    assert_eq!(
        field(&row, "ProjectedRevenueHigh"),
        Some(&XValue::Double(2500.5))
    );
    assert!(matches!(
        field(&row, "EstimatedCloseDate"),
        Some(XValue::DateTime(_))
    ));
    // REST sees the same opportunity.
    let (st_, doc) = rest_get(&h, &k, &format!("/opportunities/{id}")).await;
    assert_eq!(st_, StatusCode::OK, "{doc}");
    assert_eq!(doc["opportunity_title"], "Big deal");
    assert_eq!(doc["contact"]["id"], c);
    assert_eq!(doc["opportunity_notes"], "call back");
    assert_eq!(doc["projected_revenue_high"], 2500.5);
    // Update, query, bad writes.
    ok(
        &h,
        &k,
        "DataService.update",
        &[
            s("Lead"),
            i(id),
            st(&[("OpportunityTitle", s("Bigger deal"))]),
        ],
    )
    .await;
    let rows = ok(
        &h,
        &k,
        "DataService.query",
        &[
            s("Lead"),
            i(10),
            i(0),
            st(&[("ContactID", i(c))]),
            arr(&["Id", "OpportunityTitle"]),
        ],
    )
    .await;
    let XValue::Array(rows) = rows else {
        panic!("an array")
    };
    assert_eq!(rows.len(), 1);
    assert_eq!(field(&rows[0], "OpportunityTitle"), Some(&s("Bigger deal")));
    assert!(
        fault(
            &h,
            &k,
            "DataService.update",
            &[s("Lead"), i(id), st(&[("DateCreated", s("2020-01-01"))])]
        )
        .await
        .contains("read-only")
    );
    assert!(
        fault(
            &h,
            &k,
            "DataService.update",
            &[s("Lead"), i(id), st(&[("Leadsource", s("web"))])]
        )
        .await
        .contains("not supported")
    );
    assert!(
        fault(
            &h,
            &k,
            "DataService.add",
            &[s("Lead"), st(&[("Bogus", s("x"))])]
        )
        .await
        .contains("Bogus")
    );
    assert!(
        fault(
            &h,
            &k,
            "DataService.add",
            &[
                s("Lead"),
                st(&[("OpportunityTitle", s("x")), ("ContactID", i(999_999))])
            ]
        )
        .await
        .starts_with('[')
    );
    // Delete.
    assert_eq!(
        ok(&h, &k, "DataService.delete", &[s("Lead"), i(id)]).await,
        XValue::Bool(true)
    );
    let (st_, _) = rest_get(&h, &k, &format!("/opportunities/{id}")).await;
    assert_eq!(st_, StatusCode::NOT_FOUND);
    assert!(
        fault(
            &h,
            &k,
            "DataService.load",
            &[s("Lead"), i(id), arr(&["Id"])]
        )
        .await
        .contains("RecordNotFound")
    );
}

#[tokio::test]
async fn contact_action_notes_and_tasks() {
    let h = Harness::new().await;
    let (k, _) = h.api_key(KeyKind::Legacy, false, None).await;
    let c = contact(&h, &k, "grace").await;
    let note = int(&ok(
        &h,
        &k,
        "DataService.add",
        &[
            s("ContactAction"),
            st(&[
                ("ContactId", i(c)),
                ("ActionDescription", s("Met at conf")),
                ("CreationNotes", s("likes COBOL")),
            ]),
        ],
    )
    .await);
    let task = int(&ok(
        &h,
        &k,
        "DataService.add",
        &[
            s("ContactAction"),
            st(&[
                ("ContactId", i(c)),
                ("ObjectType", s("Task")),
                ("ActionDescription", s("Send deck")),
                ("ActionDate", s("2027-02-01 10:00:00")),
                ("Priority", i(2)),
            ]),
        ],
    )
    .await);
    assert_eq!(note % 2, 0, "notes have even ids");
    assert_eq!(task % 2, 1, "tasks have odd ids");
    let (st_, n) = rest_get(&h, &k, &format!("/notes/{}", note / 2)).await;
    assert_eq!(st_, StatusCode::OK, "{n}");
    assert_eq!(n["title"], "Met at conf");
    assert_eq!(n["body"], "likes COBOL");
    assert_eq!(n["contact_id"], c);
    let (st_, t) = rest_get(&h, &k, &format!("/tasks/{}", task / 2)).await;
    assert_eq!(st_, StatusCode::OK, "{t}");
    assert_eq!(t["title"], "Send deck");
    assert_eq!(t["priority"], 2);
    assert_eq!(t["contact"]["id"], c);
    assert!(
        t["due_date"]
            .as_str()
            .is_some_and(|d| d.starts_with("2027-02-01")),
        "{t}"
    );
    // Both come back from one query on the contact, each with its ObjectType.
    let rows = ok(
        &h,
        &k,
        "DataService.query",
        &[
            s("ContactAction"),
            i(100),
            i(0),
            st(&[("ContactId", i(c))]),
            arr(&["Id", "ObjectType", "ActionDescription"]),
        ],
    )
    .await;
    let XValue::Array(rows) = rows else {
        panic!("an array")
    };
    let got: Vec<(XValue, XValue)> = rows
        .iter()
        .map(|r| {
            (
                field(r, "Id").cloned().expect("Id"),
                field(r, "ObjectType").cloned().expect("ObjectType"),
            )
        })
        .collect();
    assert_eq!(got, vec![(i(note), s("Note")), (i(task), s("Task"))]);
    // Completing the task through XML-RPC shows in REST.
    ok(
        &h,
        &k,
        "DataService.update",
        &[
            s("ContactAction"),
            i(task),
            st(&[("CompletionDate", s("2027-02-02 12:00:00"))]),
        ],
    )
    .await;
    let (_, t) = rest_get(&h, &k, &format!("/tasks/{}", task / 2)).await;
    assert!(t["completion_date"].as_str().is_some(), "{t}");
    // Task-only fields on a note, changing the kind, unknown ids.
    assert!(
        fault(
            &h,
            &k,
            "DataService.update",
            &[
                s("ContactAction"),
                i(note),
                st(&[("ActionDate", s("2027-01-01"))])
            ]
        )
        .await
        .contains("tasks only")
    );
    assert!(
        fault(
            &h,
            &k,
            "DataService.update",
            &[
                s("ContactAction"),
                i(note),
                st(&[("ObjectType", s("Task"))])
            ]
        )
        .await
        .contains("cannot be changed")
    );
    assert!(
        fault(
            &h,
            &k,
            "DataService.load",
            &[s("ContactAction"), i(1), arr(&["Id"])]
        )
        .await
        .contains("RecordNotFound")
    );
    // Delete both.
    for id in [note, task] {
        assert_eq!(
            ok(&h, &k, "DataService.delete", &[s("ContactAction"), i(id)]).await,
            XValue::Bool(true)
        );
    }
    let (st_, _) = rest_get(&h, &k, &format!("/notes/{}", note / 2)).await;
    assert_eq!(st_, StatusCode::NOT_FOUND);
    let (st_, _) = rest_get(&h, &k, &format!("/tasks/{}", task / 2)).await;
    assert_eq!(st_, StatusCode::NOT_FOUND);
}

async fn outbox(h: &Harness, key: &str) -> Vec<Value> {
    let (status, v) = {
        let res = h
            .get_with(
                "/keapsake/v1/outbox",
                &[("authorization", &format!("Bearer {key}"))],
            )
            .await;
        (res.status, res.json())
    };
    assert_eq!(status, StatusCode::OK, "{v}");
    v["messages"]
        .as_array()
        .or_else(|| v.as_array())
        .cloned()
        .unwrap_or_default()
}

#[tokio::test]
async fn api_email_service_send_attach_opt_and_templates() {
    let h = Harness::new().await;
    let (k, _) = h.api_key(KeyKind::Legacy, false, None).await;
    let c = int(&ok(
        &h,
        &k,
        "ContactService.add",
        &[st(&[
            ("FirstName", s("Ada")),
            ("Email", s("ada@example.com")),
        ])],
    )
    .await);
    // Opt-in status, consistent with PUT /emailAddresses.
    assert_eq!(
        ok(
            &h,
            &k,
            "APIEmailService.getOptStatus",
            &[s("ada@example.com")]
        )
        .await,
        i(0)
    );
    assert_eq!(
        ok(
            &h,
            &k,
            "APIEmailService.optIn",
            &[s("ada@example.com"), s("")]
        )
        .await,
        XValue::Bool(true)
    );
    assert_eq!(
        ok(
            &h,
            &k,
            "APIEmailService.getOptStatus",
            &[s("ADA@example.com")]
        )
        .await,
        i(1)
    );
    // Sending (content form, 9 arguments): one outbox message and one e-mail record.
    let sent = ok(
        &h,
        &k,
        "APIEmailService.sendEmail",
        &[
            XValue::Array(vec![i(c)]),
            s("me@example.com"),
            s("~Contact.Email~"),
            s(""),
            s(""),
            s("Text"),
            s("Hi ~Contact.FirstName~"),
            s(""),
            s("Hello ~Contact.FirstName~, plain text here."),
        ],
    )
    .await;
    assert_eq!(sent, XValue::Bool(true));
    let msgs = outbox(&h, &k).await;
    assert_eq!(msgs.len(), 1, "{msgs:?}");
    assert_eq!(msgs[0]["contact_id"], c);
    let (_, emails) = rest_get(&h, &k, &format!("/emails?contact_id={c}")).await;
    let list = emails["emails"].as_array().cloned().unwrap_or_default();
    assert_eq!(list.len(), 1, "{emails}");
    assert_eq!(
        list[0]["subject"], "Hi Ada",
        "merge fields applied: {emails}"
    );
    // Templates: add, get, update, send by template (2 arguments).
    let fields = |title: &str, subject: &str| -> Vec<XValue> {
        vec![
            s(title),
            s("news"),
            s("me@example.com"),
            s("~Contact.Email~"),
            s(""),
            s(""),
            s(subject),
            s("Text for ~Contact.FirstName~"),
            s("<p>HTML</p>"),
            s("Multipart"),
            s("Contact"),
        ]
    };
    let t = int(&ok(
        &h,
        &k,
        "APIEmailService.addEmailTemplate",
        &fields("Welcome", "Welcome!"),
    )
    .await);
    let got = ok(&h, &k, "APIEmailService.getEmailTemplate", &[i(t)]).await;
    assert_eq!(field(&got, "pieceTitle"), Some(&s("Welcome")));
    assert_eq!(field(&got, "contentType"), Some(&s("Multipart")));
    let mut upd = vec![i(t)];
    upd.extend(fields("Welcome v2", "Welcome, ~Contact.FirstName~"));
    assert_eq!(
        ok(&h, &k, "APIEmailService.updateEmailTemplate", &upd).await,
        XValue::Bool(true)
    );
    let got = ok(&h, &k, "APIEmailService.getEmailTemplate", &[i(t)]).await;
    assert_eq!(field(&got, "pieceTitle"), Some(&s("Welcome v2")));
    assert_eq!(
        ok(
            &h,
            &k,
            "APIEmailService.sendEmail",
            &[XValue::Array(vec![i(c)]), i(t)]
        )
        .await,
        XValue::Bool(true)
    );
    assert_eq!(outbox(&h, &k).await.len(), 2);
    let (_, emails) = rest_get(&h, &k, &format!("/emails?contact_id={c}")).await;
    assert!(
        emails["emails"]
            .as_array()
            .is_some_and(|l| l.iter().any(|e| e["subject"] == "Welcome, Ada")),
        "{emails}"
    );
    // attachEmail: a record only, no outbox message.
    let attach = [
        i(c),
        s("Grace"),
        s("grace@example.com"),
        s("ada@example.com"),
        s(""),
        s(""),
        s("Text"),
        s("Archived"),
        s(""),
        s("old mail"),
        s(""),
        s("2026-01-02 10:00:00"),
        s("2026-01-02 09:59:00"),
        i(0),
    ];
    assert_eq!(
        ok(&h, &k, "APIEmailService.attachEmail", &attach).await,
        XValue::Bool(true)
    );
    assert_eq!(outbox(&h, &k).await.len(), 2, "attachEmail does not send");
    let (_, emails) = rest_get(&h, &k, &format!("/emails?contact_id={c}")).await;
    let archived = emails["emails"]
        .as_array()
        .and_then(|l| l.iter().find(|e| e["subject"] == "Archived").cloned())
        .expect("the attached record");
    assert_eq!(archived["sent_from_address"], "Grace <grace@example.com>");
    // Opt-out is permanent for the API.
    assert_eq!(
        ok(
            &h,
            &k,
            "APIEmailService.optOut",
            &[s("ada@example.com"), s("asked")]
        )
        .await,
        XValue::Bool(true)
    );
    assert_eq!(
        ok(
            &h,
            &k,
            "APIEmailService.getOptStatus",
            &[s("ada@example.com")]
        )
        .await,
        i(0)
    );
    assert_eq!(
        ok(
            &h,
            &k,
            "APIEmailService.optIn",
            &[s("ada@example.com"), s("again")]
        )
        .await,
        XValue::Bool(false)
    );
    assert_eq!(
        ok(
            &h,
            &k,
            "APIEmailService.optIn",
            &[s("nobody@example.com"), s("")]
        )
        .await,
        XValue::Bool(false)
    );
    // Faults.
    assert!(
        fault(
            &h,
            &k,
            "APIEmailService.sendEmail",
            &[XValue::Array(vec![i(c)]), s("a"), s("b")]
        )
        .await
        .contains("Wrong number")
    );
    let mut bad = attach.to_vec();
    bad[6] = s("html");
    assert!(
        fault(&h, &k, "APIEmailService.attachEmail", &bad)
            .await
            .contains("contentType")
    );
    assert!(
        fault(&h, &k, "APIEmailService.getEmailTemplate", &[i(999)])
            .await
            .contains("RecordNotFound")
    );
    let mut bad = fields("T", "S");
    bad[10] = s("Order");
    assert!(
        fault(&h, &k, "APIEmailService.addEmailTemplate", &bad)
            .await
            .contains("mergeContext")
    );
    assert!(
        fault(
            &h,
            &k,
            "APIEmailService.sendEmail",
            &[XValue::Array(vec![i(999)]), i(t)]
        )
        .await
        .contains("999")
    );
}

#[tokio::test]
async fn merge_moves_notes_and_tasks_and_update_custom_field() {
    let h = Harness::new().await;
    let (k, _) = h.api_key(KeyKind::Legacy, false, None).await;
    let keep = contact(&h, &k, "keep").await;
    let dup = contact(&h, &k, "dup").await;
    let note = int(&ok(
        &h,
        &k,
        "DataService.add",
        &[
            s("ContactAction"),
            st(&[("ContactId", i(dup)), ("ActionDescription", s("dup note"))]),
        ],
    )
    .await);
    let task = int(&ok(
        &h,
        &k,
        "DataService.add",
        &[
            s("ContactAction"),
            st(&[
                ("ContactId", i(dup)),
                ("ObjectType", s("Task")),
                ("ActionDescription", s("dup task")),
                ("ActionDate", s("2027-05-01 08:00:00")),
            ]),
        ],
    )
    .await);
    assert_eq!(
        ok(&h, &k, "ContactService.merge", &[i(keep), i(dup)]).await,
        XValue::Bool(true)
    );
    let (st_, n) = rest_get(&h, &k, &format!("/notes/{}", note / 2)).await;
    assert_eq!(
        (st_, n["contact_id"].as_i64()),
        (StatusCode::OK, Some(keep)),
        "{n}"
    );
    let (st_, t) = rest_get(&h, &k, &format!("/tasks/{}", task / 2)).await;
    assert_eq!(
        (st_, t["contact"]["id"].as_i64()),
        (StatusCode::OK, Some(keep)),
        "{t}"
    );
    let (st_, _) = rest_get(&h, &k, &format!("/contacts/{dup}")).await;
    assert_eq!(st_, StatusCode::NOT_FOUND);

    // updateCustomField: the label changes everywhere, the column follows it.
    let f = int(&ok(
        &h,
        &k,
        "DataService.addCustomField",
        &[s("Contact"), s("Shoe size"), s("Text"), i(0)],
    )
    .await);
    ok(
        &h,
        &k,
        "ContactService.update",
        &[i(keep), st(&[("_Shoesize", s("42"))])],
    )
    .await;
    assert_eq!(
        ok(
            &h,
            &k,
            "DataService.updateCustomField",
            &[
                i(f),
                st(&[("Label", s("Boot size")), ("DefaultValue", s("40"))])
            ]
        )
        .await,
        XValue::Bool(true)
    );
    let row = ok(
        &h,
        &k,
        "DataService.load",
        &[s("DataFormField"), i(f), arr(&["Label", "DefaultValue"])],
    )
    .await;
    assert_eq!(field(&row, "Label"), Some(&s("Boot size")));
    assert_eq!(field(&row, "DefaultValue"), Some(&s("40")));
    let (_, model) = rest_get(&h, &k, "/contacts/model").await;
    assert!(
        model["custom_fields"]
            .as_array()
            .is_some_and(|a| a.iter().any(|c| c["label"] == "Boot size")),
        "{model}"
    );
    let row = ok(
        &h,
        &k,
        "ContactService.load",
        &[i(keep), arr(&["_Bootsize"])],
    )
    .await;
    assert_eq!(field(&row, "_Bootsize"), Some(&s("42")));
    assert!(
        fault(
            &h,
            &k,
            "DataService.updateCustomField",
            &[i(f), st(&[("DataType", s("Date"))])]
        )
        .await
        .contains("Label and DefaultValue only")
    );
    assert!(
        fault(
            &h,
            &k,
            "DataService.updateCustomField",
            &[i(f), st(&[("Label", s("  "))])]
        )
        .await
        .contains("Label")
    );
    assert!(
        fault(
            &h,
            &k,
            "DataService.updateCustomField",
            &[i(99_999), st(&[("Label", s("x"))])]
        )
        .await
        .contains("RecordNotFound")
    );
}

#[tokio::test]
async fn product_table_over_rest_products() {
    let h = Harness::new().await;
    let (k, _) = h.api_key(KeyKind::Legacy, false, None).await;
    let id = int(&ok(
        &h,
        &k,
        "DataService.add",
        &[
            s("Product"),
            st(&[
                ("ProductName", s("Widget")),
                ("ProductPrice", XValue::Double(19.99)),
                ("Sku", s("W-1")),
                ("ShortDescription", s("A widget")),
            ]),
        ],
    )
    .await);
    let (st_, doc) = rest_get(&h, &k, &format!("/products/{id}")).await;
    assert_eq!(st_, StatusCode::OK, "{doc}");
    assert_eq!(doc["product_name"], "Widget");
    assert_eq!(doc["sku"], "W-1");
    assert_eq!(doc["product_price"].to_string(), "19.99", "{doc}");
    ok(
        &h,
        &k,
        "DataService.update",
        &[
            s("Product"),
            i(id),
            st(&[("ProductPrice", s("25.50")), ("Status", i(0))]),
        ],
    )
    .await;
    let row = ok(
        &h,
        &k,
        "DataService.load",
        &[
            s("Product"),
            i(id),
            arr(&["Id", "ProductName", "ProductPrice", "Status", "Sku"]),
        ],
    )
    .await;
    assert_eq!(field(&row, "ProductPrice"), Some(&XValue::Double(25.5)));
    assert_eq!(field(&row, "Status"), Some(&i(0)));
    let (_, doc) = rest_get(&h, &k, &format!("/products/{id}")).await;
    assert_eq!(doc["active"], false);
    let rows = ok(
        &h,
        &k,
        "DataService.query",
        &[
            s("Product"),
            i(10),
            i(0),
            st(&[("Sku", s("W-1"))]),
            arr(&["Id"]),
        ],
    )
    .await;
    assert_eq!(rows, XValue::Array(vec![st(&[("Id", i(id))])]));
    assert!(
        fault(
            &h,
            &k,
            "DataService.update",
            &[s("Product"), i(id), st(&[("Weight", XValue::Double(1.0))])]
        )
        .await
        .contains("not supported")
    );
    assert_eq!(
        ok(&h, &k, "DataService.delete", &[s("Product"), i(id)]).await,
        XValue::Bool(true)
    );
    let (st_, _) = rest_get(&h, &k, &format!("/products/{id}")).await;
    assert_eq!(st_, StatusCode::NOT_FOUND);
}
