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
