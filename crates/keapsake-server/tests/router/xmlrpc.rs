//! The XML-RPC API (`keap/xmlrpc.md`): the exact XML of every method's success and faults
//! (insta snapshots), authentication (§2), and the hostile-input corpus (SECURITY.md §7).

use crate::support::*;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use keapsake_core::store::KeyKind;
use keapsake_server::xmlrpc::codec::{XValue, encode_call};

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

async fn raw(h: &Harness, path: &str, body: impl Into<Body>, headers: &[(&str, &str)]) -> Resp {
    let mut req = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header("content-type", "text/xml");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    h.send(req.body(body.into()).expect("request")).await
}

/// Calls `method` with the key as first parameter; returns the body (asserting 200 text/xml).
async fn call(h: &Harness, key: &str, method: &str, params: &[XValue]) -> String {
    let mut all = vec![s(key)];
    all.extend_from_slice(params);
    let res = raw(h, "/crm/xmlrpc/v1", encode_call(method, &all), &[]).await;
    res.assert_status(StatusCode::OK);
    assert_eq!(
        res.header("content-type").as_deref(),
        Some("text/xml; charset=UTF-8")
    );
    res.text()
}

async fn legacy(h: &Harness) -> String {
    h.api_key(KeyKind::Legacy, false, None).await.0
}

async fn ada(h: &Harness, k: &str) -> String {
    call(
        h,
        k,
        "ContactService.add",
        &[st(&[
            ("FirstName", s("Ada")),
            ("LastName", s("Lovelace")),
            ("Email", s("ada@example.com")),
            ("Phone1", s("555-0100")),
            ("Phone1Type", s("Work")),
            ("City", s("London")),
            ("Birthday", s("1815-12-10")),
        ])],
    )
    .await
}

#[tokio::test]
async fn contact_service_add_load_update_find() {
    let h = Harness::new().await;
    let k = legacy(&h).await;
    insta::assert_snapshot!("add", ada(&h, &k).await);
    let fields = arr(&[
        "Id",
        "FirstName",
        "LastName",
        "Email",
        "Phone1",
        "Phone1Type",
        "City",
        "Birthday",
        "DateCreated",
        "Groups",
        "Nickname",
    ]);
    insta::assert_snapshot!(
        "load",
        call(&h, &k, "ContactService.load", &[i(1), fields.clone()]).await
    );
    insta::assert_snapshot!(
        "update",
        call(
            &h,
            &k,
            "ContactService.update",
            &[
                s("1"),
                st(&[("Nickname", s("Countess")), ("LastName", s("King"))])
            ]
        )
        .await
    );
    insta::assert_snapshot!(
        "load_after_update",
        call(&h, &k, "ContactService.load", &[i(1), fields.clone()]).await
    );
    insta::assert_snapshot!(
        "find_by_email",
        call(
            &h,
            &k,
            "ContactService.findByEmail",
            &[s("ADA@example.com"), arr(&["Id", "LastName"])]
        )
        .await
    );
    insta::assert_snapshot!(
        "find_by_email_none",
        call(
            &h,
            &k,
            "ContactService.findByEmail",
            &[s("nobody@example.com"), arr(&["Id"])]
        )
        .await
    );
    insta::assert_snapshot!(
        "load_missing",
        call(&h, &k, "ContactService.load", &[i(99), fields]).await
    );
    insta::assert_snapshot!(
        "add_unknown_field",
        call(&h, &k, "ContactService.add", &[st(&[("Foo", s("x"))])]).await
    );
    insta::assert_snapshot!(
        "add_read_only_field",
        call(
            &h,
            &k,
            "ContactService.add",
            &[st(&[("Email", s("x@example.com")), ("Id", i(5))])]
        )
        .await
    );
    insta::assert_snapshot!(
        "add_wrong_arity",
        call(&h, &k, "ContactService.add", &[]).await
    );
    insta::assert_snapshot!(
        "load_bad_id",
        call(&h, &k, "ContactService.load", &[s("abc"), arr(&["Id"])]).await
    );
}

#[tokio::test]
async fn add_with_dup_check_modes() {
    let h = Harness::new().await;
    let k = legacy(&h).await;
    ada(&h, &k).await;
    let dup = |t: &'static str, extra: Vec<(&'static str, XValue)>| {
        let mut m = vec![("Email", s("ada@example.com")), ("FirstName", s("Ada"))];
        m.extend(extra);
        (m, t)
    };
    // Email: matches contact 1 whatever the name.
    let (m, t) = dup("Email", vec![("LastName", s("Other"))]);
    insta::assert_snapshot!(
        "dup_email",
        call(&h, &k, "ContactService.addWithDupCheck", &[st(&m), s(t)]).await
    );
    // EmailAndName: the name now is Ada Other → matches 1 again.
    let (m, t) = dup("EmailAndName", vec![("LastName", s("Other"))]);
    insta::assert_snapshot!(
        "dup_email_and_name",
        call(&h, &k, "ContactService.addWithDupCheck", &[st(&m), s(t)]).await
    );
    // EmailAndName with another last name → a new contact (2).
    let (m, t) = dup("EmailAndName", vec![("LastName", s("Byron"))]);
    insta::assert_snapshot!(
        "dup_email_and_name_new",
        call(&h, &k, "ContactService.addWithDupCheck", &[st(&m), s(t)]).await
    );
    // EmailAndNameAndCompany: a company the others lack → new (3), then matched again (3).
    let (m, t) = dup(
        "EmailAndNameAndCompany",
        vec![
            ("LastName", s("Byron")),
            ("Company", s("Analytical Engines")),
        ],
    );
    insta::assert_snapshot!(
        "dup_company_new",
        call(&h, &k, "ContactService.addWithDupCheck", &[st(&m), s(t)]).await
    );
    insta::assert_snapshot!(
        "dup_company_again",
        call(&h, &k, "ContactService.addWithDupCheck", &[st(&m), s(t)]).await
    );
    insta::assert_snapshot!(
        "dup_company_load",
        call(
            &h,
            &k,
            "ContactService.load",
            &[i(3), arr(&["Company", "CompanyID", "LastName"])]
        )
        .await
    );
    insta::assert_snapshot!(
        "dup_bad_type",
        call(
            &h,
            &k,
            "ContactService.addWithDupCheck",
            &[st(&m), s("Name")]
        )
        .await
    );
}

#[tokio::test]
async fn groups_merge_and_campaigns() {
    let h = Harness::new().await;
    let k = legacy(&h).await;
    ada(&h, &k).await;
    insta::assert_snapshot!(
        "group_add",
        call(
            &h,
            &k,
            "DataService.add",
            &[
                s("ContactGroup"),
                st(&[("GroupName", s("VIP")), ("GroupDescription", s("Very"))])
            ]
        )
        .await
    );
    insta::assert_snapshot!(
        "add_to_group",
        call(&h, &k, "ContactService.addToGroup", &[i(1), i(1)]).await
    );
    insta::assert_snapshot!(
        "add_to_group_again",
        call(&h, &k, "ContactService.addToGroup", &[i(1), i(1)]).await
    );
    insta::assert_snapshot!(
        "add_to_missing_group",
        call(&h, &k, "ContactService.addToGroup", &[i(1), i(9)]).await
    );
    insta::assert_snapshot!(
        "assign_query",
        call(
            &h,
            &k,
            "DataService.query",
            &[
                s("ContactGroupAssign"),
                i(10),
                i(0),
                st(&[("ContactId", i(1))]),
                arr(&[
                    "GroupId",
                    "ContactGroup",
                    "ContactId",
                    "DateCreated",
                    "Contact.Email"
                ])
            ]
        )
        .await
    );
    insta::assert_snapshot!(
        "groups_field",
        call(&h, &k, "ContactService.load", &[i(1), arr(&["Groups"])]).await
    );
    insta::assert_snapshot!(
        "remove_from_group",
        call(&h, &k, "ContactService.removeFromGroup", &[i(1), i(1)]).await
    );
    insta::assert_snapshot!(
        "groups_field_after_remove",
        call(&h, &k, "ContactService.load", &[i(1), arr(&["Groups"])]).await
    );
    // merge: contact 2 (with a tag and a phone) folds into 1.
    call(
        &h,
        &k,
        "ContactService.add",
        &[st(&[
            ("Email", s("ada2@example.com")),
            ("JobTitle", s("Analyst")),
        ])],
    )
    .await;
    call(&h, &k, "ContactService.addToGroup", &[i(2), i(1)]).await;
    insta::assert_snapshot!(
        "merge",
        call(&h, &k, "ContactService.merge", &[i(1), i(2)]).await
    );
    insta::assert_snapshot!(
        "after_merge",
        call(
            &h,
            &k,
            "ContactService.load",
            &[i(1), arr(&["Email", "JobTitle", "Groups"])]
        )
        .await
    );
    insta::assert_snapshot!(
        "merged_gone",
        call(&h, &k, "ContactService.load", &[i(2), arr(&["Id"])]).await
    );
    insta::assert_snapshot!(
        "campaign",
        call(&h, &k, "ContactService.addToCampaign", &[i(1), i(7)]).await
    );
    insta::assert_snapshot!(
        "campaign_step",
        call(&h, &k, "ContactService.getNextCampaignStep", &[i(1), i(7)]).await
    );
    for method in [
        "removeFromCampaign",
        "pauseCampaign",
        "resumeCampaignForContact",
    ] {
        insta::assert_snapshot!(
            format!("campaign_{method}"),
            call(&h, &k, &format!("ContactService.{method}"), &[i(1), i(7)]).await
        );
    }
    insta::assert_snapshot!(
        "campaign_unknown_contact",
        call(&h, &k, "ContactService.pauseCampaign", &[i(99), i(7)]).await
    );
    insta::assert_snapshot!(
        "reschedule_campaign_step",
        call(
            &h,
            &k,
            "ContactService.rescheduleCampaignStep",
            &[i(1), i(7)]
        )
        .await
    );
    insta::assert_snapshot!(
        "run_action_sequence",
        call(&h, &k, "ContactService.runActionSequence", &[i(1), i(7)]).await
    );
    insta::assert_snapshot!(
        "category_add",
        call(
            &h,
            &k,
            "DataService.add",
            &[
                s("ContactGroupCategory"),
                st(&[("CategoryName", s("Segments"))])
            ]
        )
        .await
    );
    insta::assert_snapshot!(
        "category_query",
        call(
            &h,
            &k,
            "DataService.query",
            &[
                s("ContactGroupCategory"),
                i(10),
                i(0),
                st(&[]),
                arr(&["Id", "CategoryName"])
            ]
        )
        .await
    );
}

#[tokio::test]
async fn data_service_crud_and_query_grammar() {
    let h = Harness::new().await;
    let k = legacy(&h).await;
    for (first, last, email, city) in [
        ("Ada", "Lovelace", "ada@example.com", "London"),
        ("Alan", "Turing", "alan@example.com", "Wilmslow"),
        ("Grace", "Hopper", "grace@example.org", ""),
    ] {
        let mut m = vec![
            ("FirstName", s(first)),
            ("LastName", s(last)),
            ("Email", s(email)),
        ];
        if !city.is_empty() {
            m.push(("City", s(city)));
        }
        call(&h, &k, "DataService.add", &[s("Contact"), st(&m)]).await;
    }
    let f = arr(&["Id", "FirstName"]);
    let q = |data: XValue| vec![s("Contact"), i(10), i(0), data, f.clone()];
    for (name, data) in [
        ("q_eq_ci", st(&[("FirstName", s("ada"))])),
        ("q_wildcard", st(&[("Email", s("%@example.com"))])),
        ("q_null", st(&[("City", s("~null~"))])),
        ("q_not_null", st(&[("City", s("~<>~"))])),
        ("q_gt", st(&[("Id", s("~>~ 1"))])),
        ("q_le", st(&[("Id", s("~<=~2"))])),
        ("q_ne", st(&[("FirstName", s("~<>~ Alan"))])),
        (
            "q_in",
            st(&[("Id", XValue::Array(vec![i(1), i(3), i(42)]))]),
        ),
        ("q_all", st(&[("Id", s("%"))])),
        ("q_date", st(&[("DateCreated", s("2026-03-%"))])),
        (
            "q_date_ge",
            st(&[("LastUpdated", s("~>=~ 2026-03-01 00:00:00"))]),
        ),
        ("q_unknown_field", st(&[("Bogus", s("x"))])),
        (
            "q_in_non_id",
            st(&[("FirstName", XValue::Array(vec![s("Ada")]))]),
        ),
    ] {
        insta::assert_snapshot!(name, call(&h, &k, "DataService.query", &q(data)).await);
    }
    insta::assert_snapshot!(
        "q_seven_args_desc",
        call(
            &h,
            &k,
            "DataService.query",
            &[
                s("Contact"),
                i(2),
                i(0),
                st(&[]),
                f.clone(),
                s("FirstName"),
                XValue::Bool(false)
            ]
        )
        .await
    );
    insta::assert_snapshot!(
        "q_page_1",
        call(
            &h,
            &k,
            "DataService.query",
            &[s("Contact"), i(2), i(1), st(&[]), f.clone()]
        )
        .await
    );
    insta::assert_snapshot!(
        "q_limit_clamped",
        call(
            &h,
            &k,
            "DataService.query",
            &[s("Contact"), i(5000), i(0), st(&[]), arr(&["Id"])]
        )
        .await
    );
    insta::assert_snapshot!(
        "find_by_field",
        call(
            &h,
            &k,
            "DataService.findByField",
            &[s("Contact"), i(10), i(0), s("LastName"), s("T%"), f.clone()]
        )
        .await
    );
    insta::assert_snapshot!(
        "count",
        call(
            &h,
            &k,
            "DataService.count",
            &[s("Contact"), st(&[("Email", s("%example.com"))])]
        )
        .await
    );
    insta::assert_snapshot!(
        "dl_load",
        call(
            &h,
            &k,
            "DataService.load",
            &[s("Contact"), i(2), arr(&["FirstName", "City", "Phone1"])]
        )
        .await
    );
    insta::assert_snapshot!(
        "dl_update",
        call(
            &h,
            &k,
            "DataService.update",
            &[s("Contact"), i(2), st(&[("City", s("Bletchley"))])]
        )
        .await
    );
    insta::assert_snapshot!(
        "dl_delete",
        call(&h, &k, "DataService.delete", &[s("Contact"), i(2)]).await
    );
    insta::assert_snapshot!(
        "dl_delete_again",
        call(&h, &k, "DataService.delete", &[s("Contact"), i(2)]).await
    );
    insta::assert_snapshot!(
        "no_table",
        call(
            &h,
            &k,
            "DataService.query",
            &[s("Nope"), i(10), i(0), st(&[]), f.clone()]
        )
        .await
    );
    insta::assert_snapshot!(
        "company_add",
        call(
            &h,
            &k,
            "DataService.add",
            &[
                s("Company"),
                st(&[("Company", s("Acme")), ("City", s("Paris"))])
            ]
        )
        .await
    );
    insta::assert_snapshot!(
        "company_load",
        call(
            &h,
            &k,
            "DataService.load",
            &[s("Company"), i(1), arr(&["Id", "Company", "City"])]
        )
        .await
    );
    insta::assert_snapshot!(
        "app_setting",
        call(
            &h,
            &k,
            "DataService.getAppSetting",
            &[s("Contact"), s("optiontypes")]
        )
        .await
    );
    insta::assert_snapshot!(
        "app_enabled",
        call(
            &h,
            &k,
            "DataService.getAppSetting",
            &[s("Application"), s("enabled")]
        )
        .await
    );
    insta::assert_snapshot!(
        "custom_field_add",
        call(
            &h,
            &k,
            "DataService.addCustomField",
            &[s("Contact"), s("Favorite Color"), s("Text"), i(0)]
        )
        .await
    );
    insta::assert_snapshot!(
        "custom_field_write",
        call(
            &h,
            &k,
            "ContactService.update",
            &[i(1), st(&[("_FavoriteColor", s("Blue"))])]
        )
        .await
    );
    insta::assert_snapshot!(
        "custom_field_read",
        call(
            &h,
            &k,
            "ContactService.load",
            &[i(1), arr(&["_FavoriteColor"])]
        )
        .await
    );
    insta::assert_snapshot!(
        "custom_field_query",
        call(
            &h,
            &k,
            "DataService.query",
            &[
                s("Contact"),
                i(10),
                i(0),
                st(&[("_FavoriteColor", s("blue"))]),
                arr(&["Id"])
            ]
        )
        .await
    );
    insta::assert_snapshot!(
        "data_form_field",
        call(
            &h,
            &k,
            "DataService.query",
            &[
                s("DataFormField"),
                i(10),
                i(0),
                st(&[("FormId", i(1))]),
                arr(&["Id", "Label", "Name", "DataType", "FormId"])
            ]
        )
        .await
    );
    insta::assert_snapshot!(
        "authenticate_user",
        call(&h, &k, "DataService.authenticateUser", &[s("a"), s("b")]).await
    );
    insta::assert_snapshot!(
        "create_unknown",
        call(&h, &k, "DataService.create", &[s("Contact"), st(&[])]).await
    );
    insta::assert_snapshot!("multicall", call(&h, &k, "system.multicall", &[]).await);
    insta::assert_snapshot!(
        "user_table",
        call(
            &h,
            &k,
            "DataService.query",
            &[
                s("User"),
                i(10),
                i(0),
                st(&[]),
                arr(&["Id", "FirstName", "Email"])
            ]
        )
        .await
    );
}

#[tokio::test]
async fn authentication_rules() {
    let h = Harness::new().await;
    let k = legacy(&h).await;
    // Key parameter invalid → [InvalidKey].
    insta::assert_snapshot!(
        "invalid_key",
        call(
            &h,
            "nope",
            "DataService.getAppSetting",
            &[s("Application"), s("enabled")]
        )
        .await
    );
    // Echo without credentials.
    let res = raw(
        &h,
        "/api/xmlrpc",
        encode_call("ContactService.echo", &[s("ping")]),
        &[],
    )
    .await;
    res.assert_status(StatusCode::OK);
    insta::assert_snapshot!("echo", res.text());
    // getUserInfo with zero params, credential in a header; PAT via X-Keap-API-Key.
    let (pat, _) = h.api_key(KeyKind::Pat, false, None).await;
    let res = raw(
        &h,
        "/crm/xmlrpc",
        encode_call("DataService.getUserInfo", &[]),
        &[("x-keap-api-key", &pat)],
    )
    .await;
    insta::assert_snapshot!("user_info", res.text());
    // getUserInfo with no credential at all.
    let res = raw(
        &h,
        "/crm/xmlrpc",
        encode_call("DataService.getUserInfo", &[]),
        &[],
    )
    .await;
    insta::assert_snapshot!("user_info_no_key", res.text());
    // Bearer with a placeholder first parameter: the placeholder is ignored.
    let (at, _) = h.tokens().await;
    let body = encode_call(
        "DataService.getAppSetting",
        &[s("backwards-compatability"), s("Application"), s("enabled")],
    );
    let res = raw(
        &h,
        "/crm/xmlrpc/v1",
        body.clone(),
        &[("authorization", &bearer(&at))],
    )
    .await;
    assert!(res.text().contains("<value>yes</value>"), "{}", res.text());
    // ?access_token= works too, and the quota headers are there.
    let res = raw(
        &h,
        &format!("/crm/xmlrpc/v1?access_token={}", enc(&at)),
        body.clone(),
        &[],
    )
    .await;
    assert!(res.text().contains("<value>yes</value>"), "{}", res.text());
    assert!(res.header("x-keap-product-quota-limit").is_some());
    // The legacy key as Bearer.
    let res = raw(
        &h,
        "/crm/xmlrpc/v1",
        body.clone(),
        &[("authorization", &bearer(&k))],
    )
    .await;
    assert!(res.text().contains("<value>yes</value>"), "{}", res.text());
    // Invalid header credential → 401 JSON envelope like REST.
    let res = raw(
        &h,
        "/crm/xmlrpc/v1",
        body.clone(),
        &[("authorization", "Bearer nope")],
    )
    .await;
    res.assert_status(StatusCode::UNAUTHORIZED);
    assert_eq!(
        res.json()["fault"]["detail"]["errorcode"],
        "keymanagement.service.invalid_access_token"
    );
    // Non-POST → 405.
    let res = h.get("/crm/xmlrpc/v1", None).await;
    res.assert_status(StatusCode::METHOD_NOT_ALLOWED);
    // Read-only key cannot write.
    let (ro_key, _) = h.api_key(KeyKind::Sak, true, None).await;
    insta::assert_snapshot!(
        "read_only_write",
        call(
            &h,
            &ro_key,
            "ContactService.add",
            &[st(&[("Email", s("a@b.co"))])]
        )
        .await
    );
}

#[tokio::test]
async fn value_encoding_quirks() {
    let h = Harness::new().await;
    let k = legacy(&h).await;
    // <int>, untyped strings, <boolean>true</boolean>, dashed dateTime, <nil/> member.
    let body = format!(
        "<?xml version=\"1.0\"?><methodCall><methodName>ContactService.add</methodName><params>\
         <param><value>{k}</value></param><param><value><struct>\
         <member><name>Email</name><value>q@example.com</value></member>\
         <member><name>LastName</name><value><nil/></value></member>\
         <member><name>Birthday</name><value><dateTime.iso8601>1990-01-02T00:00:00</dateTime.iso8601></value></member>\
         </struct></value></param></params></methodCall>"
    );
    let res = raw(&h, "/crm/xmlrpc/v1", body, &[]).await;
    insta::assert_snapshot!("quirks_add", res.text());
    let body = format!(
        "<methodCall><methodName>DataService.query</methodName><params>\
         <param><value><string>{k}</string></value></param><param><value>Contact</value></param>\
         <param><value><int>5</int></value></param><param><value><i8>0</i8></value></param>\
         <param><value><struct/></value></param>\
         <param><value><array><data><value>Id</value><value>Birthday</value><value>LastName</value></data></array></value></param>\
         <param><value>Id</value></param><param><value><boolean>true</boolean></value></param>\
         </params></methodCall>"
    );
    let res = raw(&h, "/crm/xmlrpc/v1", body, &[]).await;
    insta::assert_snapshot!("quirks_query", res.text());
}

/// SECURITY.md §7: the hostile corpus — 0 crashes, 0 5xx, every answer a clean fault or 413.
#[tokio::test]
async fn hostile_corpus_never_crashes_or_5xx() {
    let h = Harness::new().await;
    let k = legacy(&h).await;
    let deep = |n: usize, open: &str, close: &str| {
        format!(
            "<methodCall><methodName>DataService.add</methodName><params><param>{}{}</param></params></methodCall>",
            open.repeat(n),
            close.repeat(n)
        )
    };
    let big = format!(
        "<methodCall><methodName>ContactService.add</methodName><params><param><value>{k}</value></param><param><value>{}</value></param></params></methodCall>",
        "A".repeat(24 * 1024 * 1024)
    );
    let corpus: Vec<(&str, Vec<u8>)> = vec![
        ("billion laughs", br#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]><methodCall><methodName>&lol2;</methodName></methodCall>"#.to_vec()),
        ("xxe", br#"<?xml version="1.0"?><!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><methodCall><methodName>&xxe;</methodName></methodCall>"#.to_vec()),
        ("undeclared entity", b"<methodCall><methodName>&xxe;</methodName></methodCall>".to_vec()),
        ("50k deep arrays", deep(50_000, "<value><array><data>", "</data></array></value>").into_bytes()),
        ("50k deep structs", deep(50_000, "<value><struct><member><name>a</name>", "</member></struct></value>").into_bytes()),
        ("24 MiB body", big.into_bytes()),
        ("truncated", format!("<methodCall><methodName>ContactService.add</methodName><params><param><value>{k}</value").into_bytes()),
        ("invalid utf-8", b"<methodCall><methodName>\xff\xfe</methodName></methodCall>".to_vec()),
        ("empty", Vec::new()),
        ("not xml", b"{\"json\": true}".to_vec()),
        ("two roots", b"<methodCall><methodName>a</methodName></methodCall><methodCall/>".to_vec()),
        ("bad int", format!("<methodCall><methodName>ContactService.load</methodName><params><param><value>{k}</value></param><param><value><i4>99999999999999999999</i4></value></param></params></methodCall>").into_bytes()),
        ("bad double", b"<methodCall><methodName>x.y</methodName><params><param><value><double>nan</double></value></param></params></methodCall>".to_vec()),
        ("huge id", format!("<methodCall><methodName>ContactService.load</methodName><params><param><value>{k}</value></param><param><value><i8>9223372036854775807</i8></value></param><param><value><array><data><value>Id</value></data></array></value></param></params></methodCall>").into_bytes()),
        ("negative page", format!("<methodCall><methodName>DataService.query</methodName><params><param><value>{k}</value></param><param><value>Contact</value></param><param><value><i4>-1</i4></value></param><param><value><i4>-5</i4></value></param><param><value><struct/></value></param><param><value><array><data/></array></value></param></params></methodCall>").into_bytes()),
        ("many values", format!("<methodCall><methodName>x.y</methodName><params><param><value><array><data>{}</data></array></value></param></params></methodCall>", "<value>1</value>".repeat(100_001)).into_bytes()),
    ];
    let mut crashes = 0;
    let mut five_xx = 0;
    let mut worst = std::time::Duration::ZERO;
    let mut slowest = "";
    for (name, body) in &corpus {
        let t = std::time::Instant::now();
        let res = raw(&h, "/crm/xmlrpc/v1", body.clone(), &[]).await;
        let took = t.elapsed();
        println!("xmlrpc hostile corpus: {name}: {} ms", took.as_millis());
        if took > worst {
            worst = took;
            slowest = name;
        }
        if res.status.is_server_error() {
            five_xx += 1;
        }
        let text = res.text();
        assert!(
            res.status == StatusCode::OK || res.status == StatusCode::PAYLOAD_TOO_LARGE,
            "{name}: {}",
            res.status
        );
        assert!(text.contains("<fault>"), "{name}: {text}");
        assert!(!text.contains(&k), "{name}: the key was echoed");
        assert!(
            !text.contains("lol") && !text.contains("passwd"),
            "{name}: input echoed"
        );
        if text.is_empty() {
            crashes += 1;
        }
    }
    println!(
        "FIGURE xmlrpc hostile corpus: {} inputs, {crashes} crashes, {five_xx} 5xx, slowest {} ms ({slowest})",
        corpus.len(),
        worst.as_millis()
    );
    assert_eq!((crashes, five_xx), (0, 0));
}

#[tokio::test]
async fn contact_links() {
    let h = Harness::new().await;
    let k = legacy(&h).await;
    for (first, email) in [
        ("Ada", "ada@example.com"),
        ("Charles", "cb@example.com"),
        ("Mary", "ms@example.com"),
    ] {
        call(
            &h,
            &k,
            "ContactService.add",
            &[st(&[("FirstName", s(first)), ("Email", s(email))])],
        )
        .await;
    }
    let spouse = keapsake_server::links::create_link_type(&h.state, h.account.id, "Spouse", 1)
        .await
        .expect("a type")
        .id;
    let colleague =
        keapsake_server::links::create_link_type(&h.state, h.account.id, "Colleague", 5)
            .await
            .expect("a type")
            .id;
    insta::assert_snapshot!(
        "link_contacts",
        call(
            &h,
            &k,
            "ContactService.linkContacts",
            &[i(1), i(2), i(spouse)]
        )
        .await
    );
    insta::assert_snapshot!(
        "link_contacts_again",
        call(
            &h,
            &k,
            "ContactService.linkContacts",
            &[i(2), i(1), i(spouse)]
        )
        .await
    );
    insta::assert_snapshot!(
        "link_beyond_max",
        call(
            &h,
            &k,
            "ContactService.linkContacts",
            &[i(1), i(3), i(spouse)]
        )
        .await
    );
    call(
        &h,
        &k,
        "ContactService.linkContacts",
        &[i(3), i(1), i(colleague)],
    )
    .await;
    insta::assert_snapshot!(
        "list_linked",
        call(&h, &k, "ContactService.listLinkedContacts", &[i(1)]).await
    );
    insta::assert_snapshot!(
        "list_linked_other_side",
        call(&h, &k, "ContactService.listLinkedContacts", &[i(3)]).await
    );
    insta::assert_snapshot!(
        "link_self",
        call(
            &h,
            &k,
            "ContactService.linkContacts",
            &[i(1), i(1), i(colleague)]
        )
        .await
    );
    insta::assert_snapshot!(
        "link_unknown_type",
        call(&h, &k, "ContactService.linkContacts", &[i(1), i(3), i(99)]).await
    );
    insta::assert_snapshot!(
        "link_unknown_contact",
        call(
            &h,
            &k,
            "ContactService.linkContacts",
            &[i(1), i(99), i(colleague)]
        )
        .await
    );
    insta::assert_snapshot!(
        "list_linked_unknown_contact",
        call(&h, &k, "ContactService.listLinkedContacts", &[i(99)]).await
    );
    insta::assert_snapshot!(
        "unlink",
        call(
            &h,
            &k,
            "ContactService.unlinkContacts",
            &[i(2), i(1), i(spouse)]
        )
        .await
    );
    insta::assert_snapshot!(
        "unlink_again",
        call(
            &h,
            &k,
            "ContactService.unlinkContacts",
            &[i(2), i(1), i(spouse)]
        )
        .await
    );
    // The spouse slot is free again.
    insta::assert_snapshot!(
        "link_after_unlink",
        call(
            &h,
            &k,
            "ContactService.linkContacts",
            &[i(1), i(3), i(spouse)]
        )
        .await
    );
    // A deleted contact's links are not listed.
    call(&h, &k, "DataService.delete", &[s("Contact"), i(3)]).await;
    insta::assert_snapshot!(
        "list_linked_after_delete",
        call(&h, &k, "ContactService.listLinkedContacts", &[i(1)]).await
    );
    let q = keapsake_core::records::Query {
        limit: 0,
        ..Default::default()
    };
    let (_, links_left) = h
        .store
        .list_records(
            h.account.id,
            keapsake_core::records::RecordKind::ContactLink,
            &q,
        )
        .await
        .expect("links");
    assert_eq!(links_left, 0, "deleting a contact deletes its links");
    let (ro, _) = h.api_key(KeyKind::Legacy, true, None).await;
    insta::assert_snapshot!(
        "link_read_only",
        call(
            &h,
            &ro,
            "ContactService.linkContacts",
            &[i(1), i(2), i(colleague)]
        )
        .await
    );
}
