//! REST v2 (`keap/rest-v2.md`): the error shape, 501 for every operation of the spec keapsake
//! does not implement (the table checked against the spec), string ids, colon verbs, the
//! filter grammar, page tokens, `fields`, `update_mask`, and every implemented contact and tag
//! operation — success and error shapes, and the state left behind.

use crate::support::*;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use keapsake_core::Clock as _;
use keapsake_core::store::KeyKind;
use keapsake_server::rest::v2::{IMPLEMENTED, operations::OPERATIONS};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

const V2: &str = "/crm/rest/v2";
const V1: &str = "/crm/rest/v1";

async fn call(h: &Harness, token: &str, method: Method, path: &str, body: Option<Value>) -> Resp {
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header(header::AUTHORIZATION, bearer(token));
    let body = match body {
        Some(b) => {
            req = req.header(header::CONTENT_TYPE, "application/json");
            Body::from(b.to_string())
        }
        None => Body::empty(),
    };
    h.send(req.body(body).expect("request")).await
}

async fn get(h: &Harness, token: &str, path: &str) -> Resp {
    call(h, token, Method::GET, path, None).await
}

/// Asserts a v2 error: status, `code`, canonical `status`, and that `message` contains `text`.
#[track_caller]
fn assert_v2_error(res: &Resp, status: StatusCode, canonical: &str, text: &str) -> Value {
    res.assert_status(status);
    assert_eq!(
        res.header("content-type").as_deref(),
        Some("application/json")
    );
    let j = res.json();
    assert_eq!(j["code"], status.as_u16(), "{j}");
    assert_eq!(j["status"], canonical, "{j}");
    assert!(j["details"].is_array(), "{j}");
    let keys: BTreeSet<&str> = j.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        BTreeSet::from(["code", "message", "status", "details"])
    );
    assert!(
        j["message"].as_str().unwrap().contains(text),
        "message {:?} should contain {text:?}",
        j["message"]
    );
    j
}

async fn contact(h: &Harness, at: &str, body: Value) -> Value {
    let res = call(h, at, Method::POST, &format!("{V2}/contacts"), Some(body)).await;
    res.assert_status(StatusCode::CREATED);
    res.json()
}

async fn ada(h: &Harness, at: &str, given: &str, email: &str) -> String {
    contact(
        h,
        at,
        json!({"given_name": given, "family_name": "Lovelace",
               "email_addresses": [{"email": email, "field": "EMAIL1"}]}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn ids(list: &Value, key: &str) -> Vec<String> {
    list[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect()
}

/// `shared/keap/openapi-v2.yml`, found like the v1 spec (`$KEAPSAKE_SHARED` or walking up).
fn spec_path() -> PathBuf {
    if let Ok(dir) = std::env::var("KEAPSAKE_SHARED") {
        for p in [
            Path::new(&dir).join("keap/openapi-v2.yml"),
            Path::new(&dir).join("openapi-v2.yml"),
        ] {
            if p.is_file() {
                return p;
            }
        }
        panic!("KEAPSAKE_SHARED={dir} holds no keap/openapi-v2.yml");
    }
    let mut dir = Some(Path::new(env!("CARGO_MANIFEST_DIR")));
    while let Some(d) = dir {
        let p = d.join("shared/keap/openapi-v2.yml");
        if p.is_file() {
            return p;
        }
        dir = d.parent();
    }
    panic!("no shared/keap/openapi-v2.yml above the crate; set KEAPSAKE_SHARED")
}

/// (method, path under /crm/rest/v2, operationId) of the spec, read from its YAML text: path
/// keys at indent 2 under `paths:`, methods at indent 4, `operationId` at indent 6.
fn spec_operations() -> Vec<(String, String, String)> {
    let text = std::fs::read_to_string(spec_path()).unwrap();
    let mut out = Vec::new();
    let (mut in_paths, mut path, mut method) = (false, String::new(), String::new());
    for line in text.lines() {
        if !line.starts_with(' ') && !line.is_empty() {
            in_paths = line == "paths:";
            continue;
        }
        if !in_paths {
            continue;
        }
        if let Some(p) = line
            .strip_prefix("  /rest/v2")
            .and_then(|l| l.strip_suffix(':'))
        {
            path = p.to_owned();
        } else if let Some(m) = line.strip_prefix("    ").and_then(|l| l.strip_suffix(':'))
            && ["get", "put", "post", "delete", "patch"].contains(&m)
        {
            method = m.to_uppercase();
        } else if let Some(op) = line.strip_prefix("      operationId: ") {
            out.push((method.clone(), path.clone(), op.trim().to_owned()));
        }
    }
    out
}

fn concrete(path: &str) -> String {
    let mut out = String::new();
    let mut in_param = false;
    for c in path.chars() {
        match c {
            '{' => {
                in_param = true;
                out.push('1');
            }
            '}' => in_param = false,
            _ if !in_param => out.push(c),
            _ => {}
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Foundation
// ---------------------------------------------------------------------------------------------

#[test]
fn v2_operation_table_matches_the_spec() {
    let spec = spec_operations();
    let table: Vec<(String, String, String)> = OPERATIONS
        .iter()
        .map(|(m, p, o)| ((*m).to_owned(), (*p).to_owned(), (*o).to_owned()))
        .collect();
    assert_eq!(spec.len(), 399, "the spec's operation count");
    assert_eq!(
        table, spec,
        "operations.rs is stale: run scripts/gen-v2-operations"
    );
}

#[tokio::test]
async fn every_unimplemented_spec_operation_is_501_in_the_v2_shape() {
    let h = Harness::new().await;
    let (at, _) = h.tokens().await;
    let mut checked = 0;
    for (method, path, op) in OPERATIONS {
        if IMPLEMENTED.contains(op) {
            continue;
        }
        let m = Method::from_bytes(method.as_bytes()).unwrap();
        let body = (m != Method::GET && m != Method::DELETE).then(|| json!({}));
        let res = call(&h, &at, m, &format!("{V2}{}", concrete(path)), body).await;
        let j = assert_v2_error(&res, StatusCode::NOT_IMPLEMENTED, "UNIMPLEMENTED", op);
        assert_eq!(j["details"][0]["resource"], *op, "{method} {path}");
        checked += 1;
    }
    assert_eq!(checked, OPERATIONS.len() - IMPLEMENTED.len());
    assert!(checked > 340, "{checked}");
    // Credentials first: no token is the gateway's 401, not a 501.
    let res = h.get(&format!("{V2}/orders"), None).await;
    assert_fault(&res, "Invalid access token", "oauth.v2.InvalidAccessToken");
    // A colon verb on a path id, percent-encoded, is still the spec's operation.
    let res = get(&h, &at, &format!("{V2}/files/5%3Adata")).await;
    assert_v2_error(
        &res,
        StatusCode::NOT_IMPLEMENTED,
        "UNIMPLEMENTED",
        "getFileData_1",
    );
}

#[tokio::test]
async fn unknown_paths_are_404_and_other_methods_405() {
    let h = Harness::new().await;
    let (at, _) = h.tokens().await;
    let res = get(&h, &at, &format!("{V2}/nothing/here")).await;
    assert_v2_error(&res, StatusCode::NOT_FOUND, "NOT_FOUND", "Not Found");
    // A path of the spec with a method it does not define.
    let res = call(&h, &at, Method::PUT, &format!("{V2}/orders"), None).await;
    assert_v2_error(
        &res,
        StatusCode::METHOD_NOT_ALLOWED,
        "METHOD_NOT_ALLOWED",
        "Method",
    );
    assert_eq!(res.header("allow").as_deref(), Some("GET,POST"));
    // An implemented path with another method.
    let res = call(&h, &at, Method::PUT, &format!("{V2}/contacts"), None).await;
    assert_v2_error(
        &res,
        StatusCode::METHOD_NOT_ALLOWED,
        "METHOD_NOT_ALLOWED",
        "Method",
    );
}

#[tokio::test]
async fn non_numeric_ids_are_400_never_500() {
    let h = Harness::new().await;
    let (at, _) = h.tokens().await;
    for bad in ["abc", "-1", "1.5", "99999999999999999999", "%20"] {
        for (method, path, body) in [
            (Method::GET, format!("/contacts/{bad}"), None),
            (Method::PATCH, format!("/contacts/{bad}"), Some(json!({}))),
            (Method::DELETE, format!("/contacts/{bad}"), None),
            (Method::GET, format!("/contacts/{bad}/tags"), None),
            (Method::GET, format!("/tags/{bad}"), None),
            (Method::PATCH, format!("/tags/{bad}"), Some(json!({}))),
            (Method::DELETE, format!("/tags/{bad}"), None),
            (Method::GET, format!("/tags/{bad}/contacts"), None),
            (Method::GET, format!("/tags/{bad}/companies"), None),
            (
                Method::POST,
                format!("/tags/{bad}/contacts:applyTags"),
                Some(json!({"contact_ids": ["1"]})),
            ),
            (
                Method::POST,
                format!("/tags/{bad}/contacts:removeTags"),
                Some(json!({"contact_ids": ["1"]})),
            ),
            (Method::GET, format!("/tags/categories/{bad}"), None),
            (Method::DELETE, format!("/tags/categories/{bad}"), None),
        ] {
            let res = call(&h, &at, method.clone(), &format!("{V2}{path}"), body).await;
            assert_v2_error(
                &res,
                StatusCode::BAD_REQUEST,
                "INVALID_ARGUMENT",
                "Invalid id",
            );
        }
    }
    // Ids in bodies too.
    let res = call(
        &h,
        &at,
        Method::POST,
        &format!("{V2}/contacts:merge"),
        Some(json!({"contact_id": "x", "duplicate_contact_id": "2"})),
    )
    .await;
    assert_v2_error(
        &res,
        StatusCode::BAD_REQUEST,
        "INVALID_ARGUMENT",
        "contact_id",
    );
    let res = call(
        &h,
        &at,
        Method::POST,
        &format!("{V2}/contacts"),
        Some(json!({"email_addresses": [{"email": "a@example.com"}], "owner_id": "me"})),
    )
    .await;
    assert_v2_error(&res, StatusCode::BAD_REQUEST, "INVALID_ARGUMENT", "");
}

#[tokio::test]
async fn bodies_that_are_not_json_objects_are_v2_400s() {
    let h = Harness::new().await;
    let (at, _) = h.tokens().await;
    let req = Request::post(format!("{V2}/contacts"))
        .header(header::AUTHORIZATION, bearer(&at))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("{not json"))
        .unwrap();
    let res = h.send(req).await;
    assert_v2_error(&res, StatusCode::BAD_REQUEST, "INVALID_ARGUMENT", "");
    let res = call(
        &h,
        &at,
        Method::POST,
        &format!("{V2}/tags"),
        Some(json!([1])),
    )
    .await;
    assert_v2_error(
        &res,
        StatusCode::BAD_REQUEST,
        "INVALID_ARGUMENT",
        "JSON object",
    );
}

#[tokio::test]
async fn read_only_keys_get_403_permission_denied_on_writes() {
    let h = Harness::new().await;
    let (key, _) = h.api_key(KeyKind::Pat, true, None).await;
    let res = call(
        &h,
        &key,
        Method::POST,
        &format!("{V2}/contacts"),
        Some(json!({"email_addresses": [{"email": "a@example.com"}]})),
    )
    .await;
    assert_v2_error(
        &res,
        StatusCode::FORBIDDEN,
        "PERMISSION_DENIED",
        "read-only",
    );
    let res = call(
        &h,
        &key,
        Method::POST,
        &format!("{V2}/tags"),
        Some(json!({"name": "x"})),
    )
    .await;
    assert_v2_error(
        &res,
        StatusCode::FORBIDDEN,
        "PERMISSION_DENIED",
        "read-only",
    );
    get(&h, &key, &format!("{V2}/contacts"))
        .await
        .assert_status(StatusCode::OK);
}

// ---------------------------------------------------------------------------------------------
// Contacts
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn create_get_update_delete_a_contact_in_the_v2_shape() {
    let h = Harness::new().await;
    let (at, _) = h.tokens().await;
    let c = contact(
        &h,
        &at,
        json!({
            "given_name": "Ada", "family_name": "Lovelace",
            "email_addresses": [{"email": "ada@example.com", "field": "EMAIL1", "opt_in_reason": "Web form"},
                                {"email": "ada2@example.com", "field": "EMAIL2"}],
            "phone_numbers": [{"number": "+44 20 7946 0000", "field": "PHONE1", "type": "Work"}],
            "addresses": [{"field": "BILLING", "line1": "1 Main St", "locality": "Phoenix",
                           "region_code": "US-AZ", "country_code": "USA", "zip_code": "85001"}],
            "birth_date": "1815-12-10",
            "source_type": "LANDING_PAGE",
            "social_accounts": [{"name": "ada", "type": "LINKED_IN"}],
            "assistant_name": "Mary"
        }),
    )
    .await;
    let id = c["id"].as_str().unwrap().to_owned();
    assert!(id.parse::<i64>().unwrap() > 0);
    assert_eq!(c["given_name"], "Ada");
    assert_eq!(
        c["email_addresses"][0],
        json!({"email": "ada@example.com", "field": "EMAIL1", "email_opt_status": "SINGLE_OPT_IN",
               "is_opt_in": true, "opt_in_reason": "Web form"})
    );
    assert_eq!(
        c["email_addresses"][1]["email_opt_status"],
        "NON_MARKETABLE"
    );
    assert_eq!(c["email_addresses"][1]["is_opt_in"], false);
    assert_eq!(c["phone_numbers"][0]["number_e164"], "+442079460000");
    assert_eq!(c["addresses"][0]["region"], "Arizona");
    assert_eq!(c["addresses"][0]["region_code"], "US-AZ");
    assert_eq!(c["addresses"][0]["country"], "United States");
    assert_eq!(c["birth_date"], "1815-12-10");
    assert_eq!(c["source_type"], "LANDING_PAGE");
    assert_eq!(c["social_accounts"][0]["type"], "LINKED_IN");
    assert_eq!(c["assistant_name"], "Mary");
    assert_eq!(c["tag_ids"], json!([]));
    assert_eq!(c["create_time"], "2026-03-01T12:00:00.000Z");
    assert!(c.get("custom_fields").is_none(), "optional by default: {c}");
    assert!(c.get("middle_name").is_none(), "nulls are omitted: {c}");

    // GET: same shape; `fields` projects.
    let got = get(&h, &at, &format!("{V2}/contacts/{id}")).await;
    got.assert_status(StatusCode::OK);
    assert_eq!(got.json(), c);
    let got = get(
        &h,
        &at,
        &format!("{V2}/contacts/{id}?fields=id,given_name&fields=custom_fields"),
    )
    .await
    .json();
    assert_eq!(
        got,
        json!({"id": id, "given_name": "Ada", "custom_fields": []})
    );
    let res = get(&h, &at, &format!("{V2}/contacts/{id}?fields=nope")).await;
    assert_v2_error(
        &res,
        StatusCode::BAD_REQUEST,
        "INVALID_ARGUMENT",
        "\"nope\"",
    );

    // PATCH with update_mask as repeated keys: only the named fields change; the list sent
    // replaces the stored one.
    let res = call(
        &h,
        &at,
        Method::PATCH,
        &format!("{V2}/contacts/{id}?update_mask=family_name&update_mask=email_addresses"),
        Some(json!({"given_name": "Nope", "family_name": "King",
                    "email_addresses": [{"email": "ada@example.com", "field": "EMAIL1"}]})),
    )
    .await;
    res.assert_status(StatusCode::OK);
    let u = res.json();
    assert_eq!(u["given_name"], "Ada");
    assert_eq!(u["family_name"], "King");
    assert_eq!(u["email_addresses"].as_array().unwrap().len(), 1);
    // Comma form, and `[]` clears a list.
    let res = call(
        &h,
        &at,
        Method::PATCH,
        &format!("{V2}/contacts/{id}?update_mask=phone_numbers,middle_name"),
        Some(json!({"phone_numbers": [], "middle_name": "B"})),
    )
    .await;
    res.assert_status(StatusCode::OK);
    assert_eq!(res.json()["phone_numbers"], json!([]));
    assert_eq!(res.json()["middle_name"], "B");
    let res = call(
        &h,
        &at,
        Method::PATCH,
        &format!("{V2}/contacts/{id}?update_mask=bogus"),
        Some(json!({})),
    )
    .await;
    assert_v2_error(&res, StatusCode::BAD_REQUEST, "INVALID_ARGUMENT", "bogus");
    // Removing every way to reach the contact is refused.
    let res = call(
        &h,
        &at,
        Method::PATCH,
        &format!("{V2}/contacts/{id}"),
        Some(json!({"email_addresses": [], "addresses": []})),
    )
    .await;
    assert_v2_error(
        &res,
        StatusCode::BAD_REQUEST,
        "INVALID_ARGUMENT",
        "must contain",
    );

    // DELETE: 204, then 404 with details.
    let res = call(
        &h,
        &at,
        Method::DELETE,
        &format!("{V2}/contacts/{id}"),
        None,
    )
    .await;
    res.assert_status(StatusCode::NO_CONTENT);
    assert!(res.body.is_empty());
    let res = get(&h, &at, &format!("{V2}/contacts/{id}")).await;
    let j = assert_v2_error(&res, StatusCode::NOT_FOUND, "NOT_FOUND", "not found");
    assert_eq!(
        j["details"],
        json!([{"domain": "contacts", "resource": id}])
    );
    let res = call(
        &h,
        &at,
        Method::DELETE,
        &format!("{V2}/contacts/{id}"),
        None,
    )
    .await;
    assert_v2_error(&res, StatusCode::NOT_FOUND, "NOT_FOUND", "not found");
}

#[tokio::test]
async fn create_validates_and_needs_an_email_phone_or_address() {
    let h = Harness::new().await;
    let (at, _) = h.tokens().await;
    let res = call(
        &h,
        &at,
        Method::POST,
        &format!("{V2}/contacts"),
        Some(json!({"given_name": "Nobody"})),
    )
    .await;
    assert_v2_error(
        &res,
        StatusCode::BAD_REQUEST,
        "INVALID_ARGUMENT",
        "an address",
    );
    // An address alone is enough over v2 …
    let c = contact(
        &h,
        &at,
        json!({"addresses": [{"field": "SHIPPING", "line1": "1 Road", "country_code": "USA"}]}),
    )
    .await;
    let id = c["id"].as_str().unwrap();
    // … and the contact stays editable over v1.
    let res = call(
        &h,
        &at,
        Method::PATCH,
        &format!("{V1}/contacts/{id}"),
        Some(json!({"given_name": "Addy"})),
    )
    .await;
    res.assert_status(StatusCode::OK);
    for (body, text) in [
        (
            json!({"email_addresses": [{"email": "not an address"}]}),
            "not a valid e-mail",
        ),
        (
            json!({"email_addresses": [{"email": "a@example.com"}], "given_name": "x".repeat(41)}),
            "given_name",
        ),
        (
            json!({"email_addresses": [{"email": "a@example.com"}], "source_type": "NOPE"}),
            "source_type",
        ),
        (
            json!({"email_addresses": [{"email": "a@example.com"}], "company": {"id": "77"}}),
            "Company 77",
        ),
    ] {
        let res = call(&h, &at, Method::POST, &format!("{V2}/contacts"), Some(body)).await;
        assert_v2_error(&res, StatusCode::BAD_REQUEST, "INVALID_ARGUMENT", text);
    }
}

#[tokio::test]
async fn duplicate_option_answers_200_on_a_match_and_201_otherwise() {
    let h = Harness::new().await;
    let (at, _) = h.tokens().await;
    let id = ada(&h, &at, "Ada", "ada@example.com").await;
    let res = call(
        &h,
        &at,
        Method::POST,
        &format!("{V2}/contacts?duplicate_option=Email"),
        Some(json!({"given_name": "Augusta", "email_addresses": [{"email": "ADA@example.com"}]})),
    )
    .await;
    res.assert_status(StatusCode::OK);
    assert_eq!(res.json()["id"], id);
    assert_eq!(res.json()["given_name"], "Augusta");
    let res = call(
        &h,
        &at,
        Method::POST,
        &format!("{V2}/contacts?duplicate_option=EmailAndName"),
        Some(json!({"given_name": "Other", "email_addresses": [{"email": "ada@example.com"}]})),
    )
    .await;
    res.assert_status(StatusCode::CREATED);
    assert_ne!(res.json()["id"], id);
    let res = call(
        &h,
        &at,
        Method::POST,
        &format!("{V2}/contacts?duplicate_option=Phone"),
        Some(json!({"email_addresses": [{"email": "ada@example.com"}]})),
    )
    .await;
    assert_v2_error(
        &res,
        StatusCode::BAD_REQUEST,
        "INVALID_ARGUMENT",
        "duplicate_option",
    );
}

#[tokio::test]
async fn list_has_the_default_projection_and_orders() {
    let h = Harness::new().await;
    let (at, _) = h.tokens().await;
    let a = ada(&h, &at, "Ada", "c@example.com").await;
    h.clock.advance(time::Duration::seconds(1));
    let b = ada(&h, &at, "Bob", "a@example.com").await;
    h.clock.advance(time::Duration::seconds(1));
    let c = ada(&h, &at, "Cy", "b@example.com").await;
    let res = get(&h, &at, &format!("{V2}/contacts")).await;
    res.assert_status(StatusCode::OK);
    let j = res.json();
    assert_eq!(j["next_page_token"], "");
    assert_eq!(ids(&j, "contacts"), [a.as_str(), b.as_str(), c.as_str()]);
    let keys: BTreeSet<&str> = j["contacts"][0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        BTreeSet::from([
            "id",
            "given_name",
            "family_name",
            "email_addresses",
            "phone_numbers",
            "addresses",
            "tag_ids",
            "create_time",
            "update_time"
        ]),
        "nulls (middle_name, company, owner_id) omitted"
    );
    for (order, want) in [
        ("email", [b.as_str(), c.as_str(), a.as_str()]),
        ("email%20desc", [a.as_str(), c.as_str(), b.as_str()]),
        ("email+DESC", [a.as_str(), c.as_str(), b.as_str()]),
        ("create_time+desc", [c.as_str(), b.as_str(), a.as_str()]),
        ("id", [a.as_str(), b.as_str(), c.as_str()]),
    ] {
        let j = get(&h, &at, &format!("{V2}/contacts?order_by={order}"))
            .await
            .json();
        assert_eq!(ids(&j, "contacts"), want, "order_by={order}");
    }
    let res = get(&h, &at, &format!("{V2}/contacts?order_by=name")).await;
    assert_v2_error(
        &res,
        StatusCode::BAD_REQUEST,
        "INVALID_ARGUMENT",
        "order_by",
    );
    let res = get(&h, &at, &format!("{V2}/contacts?order_by=id%20sideways")).await;
    assert_v2_error(
        &res,
        StatusCode::BAD_REQUEST,
        "INVALID_ARGUMENT",
        "order_by",
    );
    // Unknown plain parameters are ignored: they do not filter.
    let j = get(&h, &at, &format!("{V2}/contacts?email=a@example.com"))
        .await
        .json();
    assert_eq!(j["contacts"].as_array().unwrap().len(), 3);
}

async fn filtered(h: &Harness, at: &str, f: &str) -> Vec<String> {
    let res = get(h, at, &format!("{V2}/contacts?filter={f}")).await;
    res.assert_status(StatusCode::OK);
    ids(&res.json(), "contacts")
}

#[tokio::test]
async fn filter_grammar_edge_cases() {
    let h = Harness::new().await;
    let (at, _) = h.tokens().await;
    let a = ada(&h, &at, "Mary", "mary+news@example.com").await;
    let b = ada(&h, &at, "Marc", "marc@example.com").await;
    let c = contact(
        &h,
        &at,
        json!({"given_name": "Zed", "phone_numbers": [{"number": "(555) 010-0200", "field": "PHONE2"}],
               "addresses": [{"field": "BILLING", "locality": "Chandler", "region_code": "US-AZ",
                              "country_code": "USA", "postal_code": "85224"}],
               "website": "https://zed.example"}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // Exact (ASCII case ignored), raw and encoded operators, a raw `+` kept literal.
    assert_eq!(
        filtered(&h, &at, "email==mary+news@example.com").await,
        [a.as_str()]
    );
    assert_eq!(
        filtered(&h, &at, "email%3D%3DMARY%2Bnews%40example.com").await,
        [a.as_str()]
    );
    assert_eq!(
        filtered(&h, &at, "given_name%3D%3Dmarc%3B").await,
        [b.as_str()]
    );
    // Prefix wildcards.
    assert_eq!(
        filtered(&h, &at, "given_name==Mar*").await,
        [a.as_str(), b.as_str()]
    );
    assert_eq!(
        filtered(&h, &at, "given_name%3D%3DMar%2A;email==marc*").await,
        [b.as_str()]
    );
    assert_eq!(
        filtered(&h, &at, "email==*").await,
        [a.as_str(), b.as_str()]
    );
    // NONE.
    assert_eq!(filtered(&h, &at, "email==NONE").await, [c.as_str()]);
    // Lists and comparisons.
    assert_eq!(
        filtered(&h, &at, &format!("ids=={a},{c}")).await,
        [a.as_str(), c.as_str()]
    );
    assert_eq!(
        filtered(&h, &at, &format!("contact_id%3E{a}")).await,
        [b.as_str(), c.as_str()]
    );
    assert_eq!(
        filtered(&h, &at, &format!("contact_id%3C={b}")).await,
        [a.as_str(), b.as_str()]
    );
    // Addresses, city/state, phones, website.
    assert_eq!(filtered(&h, &at, "city==Chan*").await, [c.as_str()]);
    assert_eq!(filtered(&h, &at, "state==Arizona").await, [c.as_str()]);
    assert_eq!(
        filtered(&h, &at, "billing_address_postal_code==85224").await,
        [c.as_str()]
    );
    assert_eq!(
        filtered(&h, &at, "shipping_address_locality==Chandler").await,
        Vec::<String>::new()
    );
    assert_eq!(
        filtered(
            &h,
            &at,
            "phone_number==5550100200;phone_fields==PHONE1,PHONE2"
        )
        .await,
        [c.as_str()]
    );
    assert_eq!(
        filtered(&h, &at, "phone_number==5550100200;phone_fields==PHONE1").await,
        Vec::<String>::new()
    );
    assert_eq!(
        filtered(&h, &at, "website==https://zed*").await,
        [c.as_str()]
    );
    assert_eq!(
        filtered(
            &h,
            &at,
            "start_update_time==2026-03-01T11:00:00.000Z;end_update_time==2026-03-01T12:00:00.000Z"
        )
        .await
        .len(),
        3
    );
    assert!(
        filtered(&h, &at, "start_update_time==2026-03-01T12:00:00.001Z")
            .await
            .is_empty()
    );

    // Errors name the clause.
    for (f, text) in [
        ("nope==1", "\"nope==1\""),
        ("given_name=Mary", "\"given_name=Mary\""),
        ("given_name!=Mary", "only =="),
        ("email==a;contact_id~3", "\"contact_id~3\""),
        ("ids==1,x", "\"ids==1,x\""),
        ("start_update_time==2026-03-01", "date-time"),
        ("phone_number==555", "phone_fields"),
        ("phone_number==555;phone_fields==PHONE9", "PHONE9"),
        ("email==%FF", "UTF-8"),
    ] {
        let res = get(&h, &at, &format!("{V2}/contacts?filter={f}")).await;
        assert_v2_error(&res, StatusCode::BAD_REQUEST, "INVALID_ARGUMENT", text);
    }
}

#[tokio::test]
async fn custom_fields_filter_by_field_name_and_show_in_the_model() {
    let h = Harness::new().await;
    let (at, _) = h.tokens().await;
    let mk = |label: &str, ty: &str| json!({"label": label, "field_type": ty});
    let res = call(
        &h,
        &at,
        Method::POST,
        &format!("{V1}/contacts/model/customFields"),
        Some(mk("Shoe Size", "WholeNumber")),
    )
    .await;
    res.assert_status(StatusCode::CREATED);
    let size = res.json()["id"].as_i64().unwrap().to_string();
    let res = call(
        &h,
        &at,
        Method::POST,
        &format!("{V1}/contacts/model/customFields"),
        Some(mk("Nickname", "Text")),
    )
    .await;
    let nick = res.json()["id"].as_i64().unwrap().to_string();
    let model = get(&h, &at, &format!("{V2}/contacts/model")).await;
    model.assert_status(StatusCode::OK);
    let m = model.json();
    assert_eq!(m["custom_fields"][0]["id"], size);
    assert_eq!(m["custom_fields"][0]["field_type"], "WHOLE_NUMBER");
    assert_eq!(m["custom_fields"][0]["field_name"], "shoesize");
    assert_eq!(
        m["optional_properties"],
        json!(["custom_fields", "links", "utm_parameters", "notes"])
    );
    let a = contact(
        &h,
        &at,
        json!({"email_addresses": [{"email": "a@example.com"}],
               "custom_fields": [{"id": size, "content": 9}, {"id": nick, "content": "Bunny"}]}),
    )
    .await;
    let b = contact(
        &h,
        &at,
        json!({"email_addresses": [{"email": "b@example.com"}],
               "custom_fields": [{"id": size, "content": "12"}]}),
    )
    .await;
    let (a, b) = (a["id"].as_str().unwrap(), b["id"].as_str().unwrap());
    for (f, want) in [
        ("shoesize%3E=10", vec![b]),
        ("ShoeSize%3C10", vec![a]),
        ("shoesize==12", vec![b]),
        ("nickname==bun*", vec![a]),
    ] {
        let j = get(&h, &at, &format!("{V2}/contacts?filter={f}"))
            .await
            .json();
        assert_eq!(ids(&j, "contacts"), want, "{f}");
    }
    let res = get(&h, &at, &format!("{V2}/contacts?filter=nickname%3Ea")).await;
    assert_v2_error(&res, StatusCode::BAD_REQUEST, "INVALID_ARGUMENT", "only ==");
    let res = get(&h, &at, &format!("{V2}/contacts?filter=shoesize%3Ebig")).await;
    assert_v2_error(&res, StatusCode::BAD_REQUEST, "INVALID_ARGUMENT", "number");
    let got = get(&h, &at, &format!("{V2}/contacts/{a}?fields=custom_fields"))
        .await
        .json();
    assert_eq!(
        got["custom_fields"],
        json!([{"id": size, "content": 9}, {"id": nick, "content": "Bunny"}])
    );
}

/// Walks every page of `path` (which has no `?page_token`), returning the ids and the number
/// of pages.
async fn walk(h: &Harness, at: &str, path: &str, key: &str) -> (Vec<String>, usize) {
    let mut all = Vec::new();
    let mut pages = 0;
    let mut token = String::new();
    loop {
        let sep = if path.contains('?') { '&' } else { '?' };
        let url = if token.is_empty() {
            path.to_owned()
        } else {
            format!("{path}{sep}page_token={token}")
        };
        let res = get(h, at, &url).await;
        res.assert_status(StatusCode::OK);
        let j = res.json();
        all.extend(ids(&j, key));
        pages += 1;
        token = j["next_page_token"].as_str().unwrap().to_owned();
        if token.is_empty() {
            return (all, pages);
        }
        assert!(pages < 50, "runaway paging");
    }
}

#[tokio::test]
async fn page_tokens_walk_every_page_and_are_bound_to_the_filter() {
    let h = Harness::new().await;
    let (at, _) = h.tokens().await;
    let mut made = Vec::new();
    for i in 0..7 {
        made.push(ada(&h, &at, &format!("Mary{i}"), &format!("m{i}@example.com")).await);
    }
    // Store-paged (no residual filter) and memory-paged (wildcard) lists.
    let (all, pages) = walk(&h, &at, &format!("{V2}/contacts?page_size=3"), "contacts").await;
    assert_eq!((all.clone(), pages), (made.clone(), 3));
    let (all, pages) = walk(
        &h,
        &at,
        &format!("{V2}/contacts?page_size=2&filter=given_name%3D%3DMary*&order_by=id%20desc"),
        "contacts",
    )
    .await;
    let mut rev = made.clone();
    rev.reverse();
    assert_eq!((all, pages), (rev, 4));
    // An exact page boundary ends with "" (no empty extra page).
    let (_, pages) = walk(&h, &at, &format!("{V2}/contacts?page_size=7"), "contacts").await;
    assert_eq!(pages, 1);

    let first = get(
        &h,
        &at,
        &format!("{V2}/contacts?page_size=2&filter=email==m*"),
    )
    .await
    .json();
    let token = first["next_page_token"].as_str().unwrap().to_owned();
    assert!(!token.is_empty());
    // Same filter: fine; another filter or order: 400.
    get(
        &h,
        &at,
        &format!("{V2}/contacts?page_size=2&filter=email==m*&page_token={token}"),
    )
    .await
    .assert_status(StatusCode::OK);
    for other in ["filter=email==x*", "filter=email==m*&order_by=email", ""] {
        let res = get(
            &h,
            &at,
            &format!("{V2}/contacts?page_size=2&{other}&page_token={token}"),
        )
        .await;
        assert_v2_error(
            &res,
            StatusCode::BAD_REQUEST,
            "INVALID_ARGUMENT",
            "another filter",
        );
    }
    let res = get(&h, &at, &format!("{V2}/contacts?page_token=garbage")).await;
    assert_v2_error(
        &res,
        StatusCode::BAD_REQUEST,
        "INVALID_ARGUMENT",
        "page_token",
    );
    // page_size bounds.
    let res = get(&h, &at, &format!("{V2}/contacts?page_size=1001")).await;
    assert_v2_error(
        &res,
        StatusCode::BAD_REQUEST,
        "INVALID_ARGUMENT",
        "page_size",
    );
    let res = get(&h, &at, &format!("{V2}/contacts?page_size=-1")).await;
    assert_v2_error(
        &res,
        StatusCode::BAD_REQUEST,
        "INVALID_ARGUMENT",
        "page_size",
    );
    let j = get(&h, &at, &format!("{V2}/contacts?page_size=0"))
        .await
        .json();
    assert_eq!(
        j["contacts"].as_array().unwrap().len(),
        7,
        "0 means the default"
    );
    get(&h, &at, &format!("{V2}/contacts?page_size=1000"))
        .await
        .assert_status(StatusCode::OK);
}

#[tokio::test]
async fn a_v2_contact_is_the_same_record_over_v1() {
    let h = Harness::new().await;
    let (at, _) = h.tokens().await;
    let id = contact(
        &h,
        &at,
        json!({"given_name": "Ada", "family_name": "Lovelace", "middle_name": "B",
               "email_addresses": [{"email": "ada@example.com", "field": "EMAIL1"}],
               "anniversary_date": "2020-02-02", "job_title": "Countess"}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let v1 = get(
        &h,
        &at,
        &format!("{V1}/contacts/{id}?optional_properties=job_title"),
    )
    .await;
    v1.assert_status(StatusCode::OK);
    let v1 = v1.json();
    assert_eq!(v1["id"].as_i64().unwrap().to_string(), id);
    assert_eq!(v1["given_name"], "Ada");
    assert_eq!(v1["middle_name"], "B");
    assert_eq!(v1["email_addresses"][0]["email"], "ada@example.com");
    assert_eq!(v1["anniversary"], "2020-02-02");
    assert_eq!(v1["job_title"], "Countess");
    assert_eq!(v1["email_status"], "NonMarketable");
    // A v1 edit shows over v2.
    call(
        &h,
        &at,
        Method::PATCH,
        &format!("{V1}/contacts/{id}"),
        Some(json!({"family_name": "King"})),
    )
    .await
    .assert_status(StatusCode::OK);
    let v2 = get(&h, &at, &format!("{V2}/contacts/{id}")).await.json();
    assert_eq!(v2["family_name"], "King");
}

#[tokio::test]
async fn merge_folds_the_duplicate_into_the_contact_and_deletes_it() {
    let h = Harness::new().await;
    let (at, _) = h.tokens().await;
    let keep = ada(&h, &at, "Ada", "ada@example.com").await;
    let dup = contact(
        &h,
        &at,
        json!({"given_name": "Augusta", "middle_name": "B",
               "email_addresses": [{"email": "aug@example.com", "field": "EMAIL2"}]}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let tag = call(
        &h,
        &at,
        Method::POST,
        &format!("{V2}/tags"),
        Some(json!({"name": "VIP"})),
    )
    .await
    .json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    call(
        &h,
        &at,
        Method::POST,
        &format!("{V2}/tags/{tag}/contacts:applyTags"),
        Some(json!({"contact_ids": [dup]})),
    )
    .await
    .assert_status(StatusCode::OK);
    let note = call(
        &h,
        &at,
        Method::POST,
        &format!("{V1}/notes"),
        Some(json!({"contact_id": dup.parse::<i64>().unwrap(), "title": "t", "body": "b"})),
    )
    .await;
    note.assert_status(StatusCode::CREATED);
    let note = note.json()["id"].as_i64().unwrap();
    // `%3A` works like `:`.
    let res = call(
        &h,
        &at,
        Method::POST,
        &format!("{V2}/contacts%3Amerge"),
        Some(json!({"contact_id": keep, "duplicate_contact_id": dup})),
    )
    .await;
    res.assert_status(StatusCode::OK);
    let m = res.json();
    assert_eq!(m["id"], keep);
    assert_eq!(m["given_name"], "Ada");
    assert_eq!(m["middle_name"], "B");
    assert_eq!(m["email_addresses"].as_array().unwrap().len(), 2);
    assert_eq!(m["tag_ids"], json!([tag]));
    let res = get(&h, &at, &format!("{V2}/contacts/{dup}")).await;
    assert_v2_error(&res, StatusCode::NOT_FOUND, "NOT_FOUND", "not found");
    let n = get(&h, &at, &format!("{V1}/notes/{note}")).await;
    n.assert_status(StatusCode::OK);
    assert_eq!(n.json()["contact_id"].as_i64().unwrap().to_string(), keep);
    // Errors.
    let res = call(
        &h,
        &at,
        Method::POST,
        &format!("{V2}/contacts:merge"),
        Some(json!({"contact_id": keep, "duplicate_contact_id": keep})),
    )
    .await;
    assert_v2_error(&res, StatusCode::BAD_REQUEST, "INVALID_ARGUMENT", "differ");
    let res = call(
        &h,
        &at,
        Method::POST,
        &format!("{V2}/contacts:merge"),
        Some(json!({"contact_id": keep, "duplicate_contact_id": dup})),
    )
    .await;
    assert_v2_error(&res, StatusCode::NOT_FOUND, "NOT_FOUND", "not found");
    let res = call(
        &h,
        &at,
        Method::POST,
        &format!("{V2}/contacts:merge"),
        Some(json!({"contact_id": keep})),
    )
    .await;
    assert_v2_error(
        &res,
        StatusCode::BAD_REQUEST,
        "INVALID_ARGUMENT",
        "duplicate_contact_id",
    );
}

// ---------------------------------------------------------------------------------------------
// Tags and categories
// ---------------------------------------------------------------------------------------------

async fn tag(h: &Harness, at: &str, body: Value) -> Value {
    let res = call(h, at, Method::POST, &format!("{V2}/tags"), Some(body)).await;
    res.assert_status(StatusCode::CREATED);
    res.json()
}

#[tokio::test]
async fn tags_and_categories_crud() {
    let h = Harness::new().await;
    let (at, _) = h.tokens().await;
    let res = call(
        &h,
        &at,
        Method::POST,
        &format!("{V2}/tags/categories"),
        Some(json!({"name": "Interests", "description": "What they like"})),
    )
    .await;
    res.assert_status(StatusCode::CREATED);
    let cat = res.json();
    let cid = cat["id"].as_str().unwrap().to_owned();
    assert_eq!(cat["name"], "Interests");
    assert_eq!(cat["create_time"], "2026-03-01T12:00:00.000Z");
    let t = tag(
        &h,
        &at,
        json!({"name": "Nurture", "description": "", "category": {"id": cid}}),
    )
    .await;
    let tid = t["id"].as_str().unwrap().to_owned();
    assert_eq!(
        t,
        json!({"id": tid, "name": "Nurture", "category": {"id": cid},
               "create_time": "2026-03-01T12:00:00.000Z", "update_time": "2026-03-01T12:00:00.000Z"})
    );
    // v1 sees the same tag with its category.
    let v1 = get(&h, &at, &format!("{V1}/tags/{tid}")).await.json();
    assert_eq!(v1["category"]["name"], "Interests");
    // Duplicate names (ASCII case ignored) are 409 ALREADY_EXISTS.
    let res = call(
        &h,
        &at,
        Method::POST,
        &format!("{V2}/tags"),
        Some(json!({"name": "NURTURE"})),
    )
    .await;
    assert_v2_error(
        &res,
        StatusCode::CONFLICT,
        "ALREADY_EXISTS",
        "already exists",
    );
    for (body, text) in [
        (json!({}), "name is required"),
        (json!({"name": "x", "category": {"id": "999"}}), "999"),
        (
            json!({"name": "x", "category": {"id": "abc"}}),
            "category id",
        ),
    ] {
        let res = call(&h, &at, Method::POST, &format!("{V2}/tags"), Some(body)).await;
        assert_v2_error(&res, StatusCode::BAD_REQUEST, "INVALID_ARGUMENT", text);
    }
    // PATCH with update_mask.
    h.clock.advance(time::Duration::seconds(5));
    let res = call(
        &h,
        &at,
        Method::PATCH,
        &format!("{V2}/tags/{tid}?update_mask=description"),
        Some(json!({"name": "Ignored", "description": "Warm leads"})),
    )
    .await;
    res.assert_status(StatusCode::OK);
    let u = res.json();
    assert_eq!(u["name"], "Nurture");
    assert_eq!(u["description"], "Warm leads");
    assert_eq!(u["update_time"], "2026-03-01T12:00:05.000Z");
    let res = call(
        &h,
        &at,
        Method::PATCH,
        &format!("{V2}/tags/{tid}"),
        Some(json!({"category": null})),
    )
    .await;
    res.assert_status(StatusCode::OK);
    assert!(res.json().get("category").is_none());
    let res = call(
        &h,
        &at,
        Method::PATCH,
        &format!("{V2}/tags/{tid}?update_mask=color"),
        Some(json!({})),
    )
    .await;
    assert_v2_error(&res, StatusCode::BAD_REQUEST, "INVALID_ARGUMENT", "color");
    let other = tag(&h, &at, json!({"name": "Other", "category": {"id": cid}})).await;
    let res = call(
        &h,
        &at,
        Method::PATCH,
        &format!("{V2}/tags/{}", other["id"].as_str().unwrap()),
        Some(json!({"name": "nurture"})),
    )
    .await;
    assert_v2_error(
        &res,
        StatusCode::CONFLICT,
        "ALREADY_EXISTS",
        "already exists",
    );

    // Categories: get, patch, list, and delete refused while tags use it.
    let res = call(
        &h,
        &at,
        Method::PATCH,
        &format!("{V2}/tags/categories/{cid}?update_mask=name"),
        Some(json!({"name": "Hobbies", "description": "ignored"})),
    )
    .await;
    res.assert_status(StatusCode::OK);
    assert_eq!(res.json()["name"], "Hobbies");
    assert_eq!(res.json()["description"], "What they like");
    let g = get(&h, &at, &format!("{V2}/tags/categories/{cid}")).await;
    assert_eq!(g.json()["name"], "Hobbies");
    let l = get(
        &h,
        &at,
        &format!("{V2}/tags/categories?filter=name==hobbies"),
    )
    .await;
    assert_eq!(ids(&l.json(), "tag_categories"), [cid.as_str()]);
    let res = call(
        &h,
        &at,
        Method::DELETE,
        &format!("{V2}/tags/categories/{cid}"),
        None,
    )
    .await;
    assert_v2_error(
        &res,
        StatusCode::CONFLICT,
        "FAILED_PRECONDITION",
        "still has",
    );

    // Delete the tags, then the category.
    for t in [&tid, other["id"].as_str().unwrap()] {
        call(&h, &at, Method::DELETE, &format!("{V2}/tags/{t}"), None)
            .await
            .assert_status(StatusCode::NO_CONTENT);
    }
    let res = get(&h, &at, &format!("{V2}/tags/{tid}")).await;
    let j = assert_v2_error(&res, StatusCode::NOT_FOUND, "NOT_FOUND", "not found");
    assert_eq!(j["details"], json!([{"domain": "tags", "resource": tid}]));
    call(
        &h,
        &at,
        Method::DELETE,
        &format!("{V2}/tags/categories/{cid}"),
        None,
    )
    .await
    .assert_status(StatusCode::NO_CONTENT);
    let res = get(&h, &at, &format!("{V2}/tags/categories/{cid}")).await;
    assert_v2_error(&res, StatusCode::NOT_FOUND, "NOT_FOUND", "not found");
}

#[tokio::test]
async fn list_tags_filters_orders_and_pages() {
    let h = Harness::new().await;
    let (at, _) = h.tokens().await;
    let cat = call(
        &h,
        &at,
        Method::POST,
        &format!("{V2}/tags/categories"),
        Some(json!({"name": "C"})),
    )
    .await
    .json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let b = tag(&h, &at, json!({"name": "beta", "category": {"id": cat}})).await["id"].clone();
    h.clock.advance(time::Duration::seconds(1));
    let a = tag(&h, &at, json!({"name": "Alpha", "description": "first"})).await["id"].clone();
    h.clock.advance(time::Duration::seconds(1));
    let c = tag(&h, &at, json!({"name": "gamma"})).await["id"].clone();
    let list = |q: String| {
        let (h, at) = (&h, &at);
        async move {
            let res = get(h, at, &format!("{V2}/tags{q}")).await;
            res.assert_status(StatusCode::OK);
            res.json()["tags"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["id"].clone())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        list(String::new()).await,
        [a.clone(), b.clone(), c.clone()],
        "by name"
    );
    assert_eq!(
        list("?order_by=create_time%20desc".into()).await,
        [c.clone(), a.clone(), b.clone()]
    );
    assert_eq!(
        list("?filter=category_id==NONE".into()).await,
        [a.clone(), c.clone()]
    );
    assert_eq!(
        list(format!("?filter=category_id=={cat}")).await,
        vec![b.clone()]
    );
    assert_eq!(
        list("?filter=description==NONE".into()).await,
        [b.clone(), c.clone()]
    );
    assert_eq!(list("?filter=name==ALPHA".into()).await, vec![a.clone()]);
    assert_eq!(
        list(format!(
            "?filter=tag_ids=={},{}",
            a.as_str().unwrap(),
            c.as_str().unwrap()
        ))
        .await,
        [a.clone(), c.clone()]
    );
    assert_eq!(
        list("?filter=since_create_time%3D%3D2026-03-01T12:00:01.000Z%3B".into()).await,
        [a.clone(), c.clone()]
    );
    let (all, pages) = walk(&h, &at, &format!("{V2}/tags?page_size=2"), "tags").await;
    assert_eq!((all.len(), pages), (3, 2));
    let res = get(&h, &at, &format!("{V2}/tags?filter=name==x*;color==red")).await;
    assert_v2_error(
        &res,
        StatusCode::BAD_REQUEST,
        "INVALID_ARGUMENT",
        "\"color==red\"",
    );
}

#[tokio::test]
async fn apply_and_remove_tags_with_per_contact_results() {
    let h = Harness::new().await;
    let (at, _) = h.tokens().await;
    let t = tag(&h, &at, json!({"name": "VIP"})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let a = ada(&h, &at, "Ada", "ada@example.com").await;
    h.clock.advance(time::Duration::seconds(1));
    let b = ada(&h, &at, "Bob", "bob@example.com").await;
    let res = call(
        &h,
        &at,
        Method::POST,
        &format!("{V2}/tags/{t}/contacts:applyTags"),
        Some(json!({"contact_ids": [a, "999"]})),
    )
    .await;
    res.assert_status(StatusCode::OK);
    assert_eq!(
        res.json(),
        json!({"results": {a.clone(): "SUCCESS", "999": "CONTACT_NOT_FOUND"}})
    );
    h.clock.advance(time::Duration::seconds(1));
    let res = call(
        &h,
        &at,
        Method::POST,
        &format!("{V2}/tags/{t}/contacts%3AapplyTags"),
        Some(json!({"contact_ids": [a, b]})),
    )
    .await;
    assert_eq!(
        res.json(),
        json!({"results": {a.clone(): "DUPLICATE", b.clone(): "SUCCESS"}})
    );
    // The contact shows the tag over v2 and v1.
    let c = get(&h, &at, &format!("{V2}/contacts/{a}")).await.json();
    assert_eq!(c["tag_ids"], json!([t]));
    assert_eq!(c["groups"], t);
    let v1 = get(&h, &at, &format!("{V1}/contacts/{a}")).await.json();
    assert_eq!(v1["tag_ids"][0].as_i64().unwrap().to_string(), t);
    // Tagged contacts, with filters and orders.
    let j = get(&h, &at, &format!("{V2}/tags/{t}/contacts"))
        .await
        .json();
    assert_eq!(
        j["contacts"][0],
        json!({"id": a, "email": "ada@example.com", "given_name": "Ada", "family_name": "Lovelace",
               "applied_time": "2026-03-01T12:00:01.000Z"})
    );
    assert_eq!(j["next_page_token"], "");
    let j = get(
        &h,
        &at,
        &format!("{V2}/tags/{t}/contacts?order_by=applied_time%20desc"),
    )
    .await
    .json();
    assert_eq!(ids(&j, "contacts"), [b.as_str(), a.as_str()]);
    let j = get(
        &h,
        &at,
        &format!("{V2}/tags/{t}/contacts?filter=given_name==bob"),
    )
    .await
    .json();
    assert_eq!(ids(&j, "contacts"), [b.as_str()]);
    let j = get(
        &h,
        &at,
        &format!("{V2}/tags/{t}/contacts?filter=since_applied_time==2026-03-01T12:00:02.000Z"),
    )
    .await
    .json();
    assert_eq!(ids(&j, "contacts"), [b.as_str()]);
    // The contact's tags.
    let j = get(&h, &at, &format!("{V2}/contacts/{a}/tags"))
        .await
        .json();
    assert_eq!(j["tags"][0]["tag"]["id"], t);
    assert_eq!(j["tags"][0]["tag"]["name"], "VIP");
    assert_eq!(j["tags"][0]["applied_time"], "2026-03-01T12:00:01.000Z");
    let j = get(
        &h,
        &at,
        &format!("{V2}/contacts/{a}/tags?filter=name==nope"),
    )
    .await
    .json();
    assert_eq!(j["tags"], json!([]));
    let res = get(&h, &at, &format!("{V2}/contacts/{a}/tags?order_by=color")).await;
    assert_v2_error(
        &res,
        StatusCode::BAD_REQUEST,
        "INVALID_ARGUMENT",
        "order_by",
    );
    let res = get(&h, &at, &format!("{V2}/contacts/999/tags")).await;
    assert_v2_error(&res, StatusCode::NOT_FOUND, "NOT_FOUND", "Contact 999");

    // Remove: 204, no body.
    let res = call(
        &h,
        &at,
        Method::POST,
        &format!("{V2}/tags/{t}/contacts:removeTags"),
        Some(json!({"contact_ids": [a, "12345"]})),
    )
    .await;
    res.assert_status(StatusCode::NO_CONTENT);
    assert!(res.body.is_empty());
    let j = get(&h, &at, &format!("{V2}/tags/{t}/contacts"))
        .await
        .json();
    assert_eq!(ids(&j, "contacts"), [b.as_str()]);

    // Errors: unknown tag is a 404 for the whole call; bad bodies are 400.
    let res = call(
        &h,
        &at,
        Method::POST,
        &format!("{V2}/tags/999/contacts:applyTags"),
        Some(json!({"contact_ids": [a]})),
    )
    .await;
    assert_v2_error(&res, StatusCode::NOT_FOUND, "NOT_FOUND", "Tag 999");
    for body in [
        json!({}),
        json!({"contact_ids": []}),
        json!({"contact_ids": ["x"]}),
        json!({"contact_ids": "1"}),
    ] {
        let res = call(
            &h,
            &at,
            Method::POST,
            &format!("{V2}/tags/{t}/contacts:applyTags"),
            Some(body),
        )
        .await;
        assert_v2_error(&res, StatusCode::BAD_REQUEST, "INVALID_ARGUMENT", "");
    }
}

#[tokio::test]
async fn companies_with_a_tag_are_listed() {
    let h = Harness::new().await;
    let (at, _) = h.tokens().await;
    let t = tag(&h, &at, json!({"name": "Partner"})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = call(
        &h,
        &at,
        Method::POST,
        &format!("{V1}/companies"),
        Some(json!({"company_name": "Acme", "email_address": "info@acme.example"})),
    )
    .await;
    res.assert_status(StatusCode::CREATED);
    let company = res.json()["id"].as_i64().unwrap();
    // Companies are tagged over XML-RPC or v1's store links; link directly here.
    h.store
        .link(
            h.account.id,
            keapsake_core::records::LinkKind::CompanyTag,
            &[(company, t.parse().unwrap())],
            h.clock.now(),
        )
        .await
        .unwrap();
    let res = get(&h, &at, &format!("{V2}/tags/{t}/companies")).await;
    res.assert_status(StatusCode::OK);
    let j = res.json();
    assert_eq!(
        j["tagged_companies"][0]["company"],
        json!({"id": company.to_string(), "company_name": "Acme",
               "email_address": {"email": "info@acme.example"}})
    );
    assert_eq!(j["next_page_token"], "");
    let j = get(
        &h,
        &at,
        &format!("{V2}/tags/{t}/companies?filter=company_name==nope"),
    )
    .await
    .json();
    assert_eq!(j["tagged_companies"], json!([]));
    let j = get(
        &h,
        &at,
        &format!("{V2}/tags/{t}/companies?filter=email==NONE"),
    )
    .await
    .json();
    assert_eq!(j["tagged_companies"], json!([]));
}

#[tokio::test]
async fn every_implemented_v2_operation_is_documented() {
    let doc = serde_json::to_value(keapsake_server::openapi::document()).unwrap();
    let paths = doc["paths"].as_object().unwrap();
    let mut missing = Vec::new();
    for (method, path, op) in OPERATIONS {
        if !IMPLEMENTED.contains(op) {
            continue;
        }
        let documented = paths
            .get(&format!("{V2}{path}"))
            .and_then(|p| p.get(method.to_lowercase()))
            .is_some();
        if !documented {
            missing.push(format!("{method} {path} ({op})"));
        }
    }
    assert!(missing.is_empty(), "not in /openapi.json: {missing:?}");
}

#[tokio::test]
async fn contact_links_and_link_types_shared_with_xml_rpc() {
    let h = Harness::new().await;
    let (at, _) = h.tokens().await;
    let a = ada(&h, &at, "Ada", "ada@example.com").await;
    let b = ada(&h, &at, "Byron", "byron@example.com").await;
    let c = ada(&h, &at, "Charles", "cb@example.com").await;
    // Types: create, duplicate name, bad limit, list with a filter and an order, update.
    let res = call(
        &h,
        &at,
        Method::POST,
        &format!("{V2}/contacts/links/types"),
        Some(json!({"name": "Spouse", "max_links": 1})),
    )
    .await;
    res.assert_status(StatusCode::CREATED);
    let spouse = res.json();
    assert_eq!(spouse["name"], "Spouse");
    assert_eq!(spouse["max_links"], 1);
    let spouse_id = spouse["id"].as_str().unwrap().to_owned();
    assert_v2_error(
        &call(
            &h,
            &at,
            Method::POST,
            &format!("{V2}/contacts/links/types"),
            Some(json!({"name": "spouse"})),
        )
        .await,
        StatusCode::CONFLICT,
        "ALREADY_EXISTS",
        "already exists",
    );
    assert_v2_error(
        &call(
            &h,
            &at,
            Method::POST,
            &format!("{V2}/contacts/links/types"),
            Some(json!({"name": "Friend", "max_links": 0})),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "INVALID_ARGUMENT",
        "max_links",
    );
    let res = call(
        &h,
        &at,
        Method::POST,
        &format!("{V2}/contacts/links/types"),
        Some(json!({"name": "Colleague", "max_links": 5})),
    )
    .await;
    res.assert_status(StatusCode::CREATED);
    let colleague_id = res.json()["id"].as_str().unwrap().to_owned();
    let listed = get(
        &h,
        &at,
        &format!("{V2}/contacts/links/types?order_by=max_links%20desc"),
    )
    .await
    .json();
    let names: Vec<&str> = listed["contact_link_types"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Colleague", "Spouse"]);
    assert_eq!(listed["next_page_token"], "");
    let one = get(
        &h,
        &at,
        &format!("{V2}/contacts/links/types?filter=name%3D%3DSpouse"),
    )
    .await
    .json();
    assert_eq!(one["contact_link_types"].as_array().unwrap().len(), 1);
    let res = call(
        &h,
        &at,
        Method::PATCH,
        &format!("{V2}/contacts/links/types/{colleague_id}?update_mask=max_links"),
        Some(json!({"name": "ignored", "max_links": 2})),
    )
    .await;
    res.assert_status(StatusCode::OK);
    assert_eq!(res.json()["name"], "Colleague");
    assert_eq!(res.json()["max_links"], 2);

    // Link, idempotent re-link, the limit, self link, unknown ids.
    let link =
        |x: &str, y: &str, t: &str| json!({"contact1_id": x, "contact2_id": y, "link_type_id": t});
    let res = call(
        &h,
        &at,
        Method::POST,
        &format!("{V2}/contacts:link"),
        Some(link(&a, &b, &spouse_id)),
    )
    .await;
    res.assert_status(StatusCode::CREATED);
    assert_eq!(
        res.json(),
        json!({"contact1_id": a, "contact2_id": b, "link_type_id": spouse_id, "link_type_name": "Spouse"})
    );
    call(
        &h,
        &at,
        Method::POST,
        &format!("{V2}/contacts%3Alink"),
        Some(link(&b, &a, &spouse_id)),
    )
    .await
    .assert_status(StatusCode::CREATED);
    assert_v2_error(
        &call(
            &h,
            &at,
            Method::POST,
            &format!("{V2}/contacts:link"),
            Some(link(&a, &c, &spouse_id)),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "INVALID_ARGUMENT",
        "maximum",
    );
    assert_v2_error(
        &call(
            &h,
            &at,
            Method::POST,
            &format!("{V2}/contacts:link"),
            Some(link(&a, &a, &colleague_id)),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "INVALID_ARGUMENT",
        "itself",
    );
    assert_v2_error(
        &call(
            &h,
            &at,
            Method::POST,
            &format!("{V2}/contacts:link"),
            Some(link(&a, "999", &colleague_id)),
        )
        .await,
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        "Contact 999",
    );
    assert_v2_error(
        &call(
            &h,
            &at,
            Method::POST,
            &format!("{V2}/contacts:link"),
            Some(link(&a, &c, "77")),
        )
        .await,
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        "ContactLinkType 77",
    );
    assert_v2_error(
        &call(
            &h,
            &at,
            Method::POST,
            &format!("{V2}/contacts:link"),
            Some(json!({"contact1_id": "x1", "contact2_id": b, "link_type_id": spouse_id})),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "INVALID_ARGUMENT",
        "contact1_id",
    );
    call(
        &h,
        &at,
        Method::POST,
        &format!("{V2}/contacts:link"),
        Some(link(&c, &a, &colleague_id)),
    )
    .await
    .assert_status(StatusCode::CREATED);

    // Both APIs list the same links.
    let links = get(&h, &at, &format!("{V2}/contacts/{a}/links"))
        .await
        .json();
    assert_eq!(links["links"].as_array().unwrap().len(), 2, "{links}");
    assert_eq!(links["links"][1]["link_type_name"], "Colleague");
    let paged = get(&h, &at, &format!("{V2}/contacts/{a}/links?page_size=1"))
        .await
        .json();
    assert_eq!(paged["links"].as_array().unwrap().len(), 1);
    assert_ne!(paged["next_page_token"], "");
    let (key, _) = h.api_key(KeyKind::Legacy, false, None).await;
    let xml = format!(
        "<methodCall><methodName>ContactService.listLinkedContacts</methodName><params><param><value>{key}</value></param><param><value><int>{a}</int></value></param></params></methodCall>"
    );
    let res = h
        .send(
            Request::builder()
                .method(Method::POST)
                .uri("/crm/xmlrpc/v1")
                .header("content-type", "text/xml")
                .body(Body::from(xml))
                .unwrap(),
        )
        .await;
    let text = res.text();
    assert_eq!(text.matches("<name>LinkTypeId</name>").count(), 2, "{text}");
    assert!(
        text.contains("<value>Spouse</value>") && text.contains("<value>Colleague</value>"),
        "{text}"
    );

    // The contact's `links` property (asked for with `fields`) shows the same links.
    let got = get(&h, &at, &format!("{V2}/contacts/{a}?fields=id,links"))
        .await
        .json();
    let linked: Vec<(&str, &str)> = got["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["linked_contact_id"].as_str().unwrap(),
                l["link_type_name"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        linked,
        [(b.as_str(), "Spouse"), (c.as_str(), "Colleague")],
        "{got}"
    );
    assert!(
        get(&h, &at, &format!("{V2}/contacts/{a}"))
            .await
            .json()
            .get("links")
            .is_none(),
        "not in the default projection"
    );
    // A type in use cannot be deleted; unlink, then it can. Unlinking twice is a 404.
    assert_v2_error(
        &call(
            &h,
            &at,
            Method::DELETE,
            &format!("{V2}/contacts/links/types/{spouse_id}"),
            None,
        )
        .await,
        StatusCode::CONFLICT,
        "FAILED_PRECONDITION",
        "unlink",
    );
    call(
        &h,
        &at,
        Method::POST,
        &format!("{V2}/contacts:unlink"),
        Some(link(&b, &a, &spouse_id)),
    )
    .await
    .assert_status(StatusCode::NO_CONTENT);
    assert_v2_error(
        &call(
            &h,
            &at,
            Method::POST,
            &format!("{V2}/contacts:unlink"),
            Some(link(&b, &a, &spouse_id)),
        )
        .await,
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        "not linked",
    );
    call(
        &h,
        &at,
        Method::DELETE,
        &format!("{V2}/contacts/links/types/{spouse_id}"),
        None,
    )
    .await
    .assert_status(StatusCode::NO_CONTENT);
    assert_v2_error(
        &call(
            &h,
            &at,
            Method::DELETE,
            &format!("{V2}/contacts/links/types/{spouse_id}"),
            None,
        )
        .await,
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        "ContactLinkType",
    );
    assert_v2_error(
        &get(&h, &at, &format!("{V2}/contacts/999/links")).await,
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        "Contact 999",
    );
}

// ---------------------------------------------------------------------------------------------
// Account helpers
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn business_profile_is_v1s_account_profile_in_the_v2_shape() {
    let h = Harness::new().await;
    let (at, _) = h.tokens().await;
    let res = get(&h, &at, &format!("{V2}/businessProfile")).await;
    res.assert_status(StatusCode::OK);
    assert!(res.json().is_object());
    let res = call(
        &h,
        &at,
        Method::PUT,
        &format!("{V1}/account/profile"),
        Some(
            json!({"name": "Acme", "email": "ops@acme.example", "phone": "555-0100",
                    "phone_ext": "12", "currency_code": "usd", "time_zone": "America/New_York",
                    "business_goals": ["Grow"],
                    "address": {"line1": "1 Main St", "locality": "Phoenix",
                                "region": "Arizona", "country_code": "usa",
                                "zip_code": "85001", "zip_four": "1234"}}),
        ),
    )
    .await;
    res.assert_status(StatusCode::OK);
    let res = get(&h, &at, &format!("{V2}/businessProfile")).await;
    res.assert_status(StatusCode::OK);
    assert_eq!(
        res.json(),
        json!({"name": "Acme", "email": "ops@acme.example", "phone": "555-0100",
               "currency_code": "USD", "time_zone": "America/New_York",
               "business_goals": ["Grow"],
               "address": {"line1": "1 Main St", "locality": "Phoenix", "region": "Arizona",
                           "country_code": "USA", "postal_code": "85001-1234"}})
    );
    // Read-only keys read it too; no credential is the gateway's 401.
    let (key, _) = h.api_key(KeyKind::Pat, true, None).await;
    get(&h, &key, &format!("{V2}/businessProfile"))
        .await
        .assert_status(StatusCode::OK);
    let res = h.get(&format!("{V2}/businessProfile"), None).await;
    assert_fault(&res, "Invalid access token", "oauth.v2.InvalidAccessToken");
    // updateBusinessProfile stays 501.
    let res = call(
        &h,
        &at,
        Method::PATCH,
        &format!("{V2}/businessProfile"),
        Some(json!({})),
    )
    .await;
    assert_v2_error(
        &res,
        StatusCode::NOT_IMPLEMENTED,
        "UNIMPLEMENTED",
        "updateBusinessProfile",
    );
}

#[tokio::test]
async fn settings_helpers_answer_in_the_spec_shape() {
    let h = Harness::new().await;
    let (at, _) = h.tokens().await;
    let res = get(&h, &at, &format!("{V2}/settings/applications:isEnabled")).await;
    res.assert_status(StatusCode::OK);
    assert_eq!(res.json(), json!({"isEnabled": true}));
    // `%3A` is `:`.
    let res = get(&h, &at, &format!("{V2}/settings/applications%3AisEnabled")).await;
    res.assert_status(StatusCode::OK);
    assert_eq!(res.json(), json!({"isEnabled": true}));
    let res = get(&h, &at, &format!("{V2}/settings/contactOptionTypes")).await;
    res.assert_status(StatusCode::OK);
    assert_eq!(
        res.json(),
        json!({"option_types": ["Lead", "Customer", "Other"]})
    );
    let res = h
        .get(&format!("{V2}/settings/applications:isEnabled"), None)
        .await;
    assert_fault(&res, "Invalid access token", "oauth.v2.InvalidAccessToken");
    let res = get(
        &h,
        &at,
        &format!("{V2}/settings/applications:getConfiguration"),
    )
    .await;
    assert_v2_error(
        &res,
        StatusCode::NOT_IMPLEMENTED,
        "UNIMPLEMENTED",
        "getApplicationConfigurations",
    );
}

// ---------------------------------------------------------------------------------------------
// Companies
// ---------------------------------------------------------------------------------------------

async fn company(h: &Harness, at: &str, body: Value) -> Value {
    let res = call(h, at, Method::POST, &format!("{V2}/companies"), Some(body)).await;
    res.assert_status(StatusCode::CREATED);
    res.json()
}

#[tokio::test]
async fn companies_crud_in_the_v2_shape_and_the_same_record_over_v1() {
    let h = Harness::new().await;
    let (at, _) = h.tokens().await;
    let c = company(
        &h,
        &at,
        json!({"company_name": "Acme", "website": "https://acme.example",
               "email_address": {"email": "info@acme.example", "field": "EMAIL1",
                                 "opt_in_reason": "Trade show"},
               "phone_number": {"number": "555-0100", "extension": "7", "type": "Work",
                                "field": "PHONE1"},
               "fax_number": {"number": "555-0101"},
               "address": {"line1": "1 Main St", "locality": "Phoenix", "region": "Arizona",
                           "country_code": "usa", "postal_code": "85001"},
               "notes": "Key client", "first_name": "ignored"}),
    )
    .await;
    let id = c["id"].as_str().unwrap().to_owned();
    assert!(id.parse::<i64>().is_ok());
    assert_eq!(c["company_name"], "Acme");
    assert_eq!(
        c["email_address"],
        json!({"email": "info@acme.example", "field": "EMAIL1",
               "email_opt_status": "SINGLE_OPT_IN", "is_opt_in": true})
    );
    assert_eq!(
        c["phone_number"],
        json!({"number": "555-0100", "extension": "7", "type": "Work", "field": "PHONE1"})
    );
    assert_eq!(
        c["fax_number"],
        json!({"number": "555-0101", "field": "FAX1"})
    );
    assert_eq!(
        c["address"],
        json!({"line1": "1 Main St", "locality": "Phoenix", "region": "Arizona",
               "country_code": "USA", "zip_code": "85001", "postal_code": "85001",
               "field": "BILLING"})
    );
    assert_eq!(c["notes"], "Key client");
    assert!(c["create_time"].as_str().unwrap().ends_with('Z'));
    assert!(c.get("first_name").is_none());
    // The same record over v1.
    let v1 = get(&h, &at, &format!("{V1}/companies/{id}")).await;
    v1.assert_status(StatusCode::OK);
    let v1 = v1.json();
    assert_eq!(v1["id"].as_i64().unwrap().to_string(), id);
    assert_eq!(v1["company_name"], "Acme");
    assert_eq!(v1["email_address"], "info@acme.example");
    assert_eq!(v1["email_status"], "SingleOptIn");
    // Get, with and without `fields`.
    let g = get(&h, &at, &format!("{V2}/companies/{id}")).await;
    g.assert_status(StatusCode::OK);
    assert_eq!(g.json(), c);
    let g = get(
        &h,
        &at,
        &format!("{V2}/companies/{id}?fields=company_name,website"),
    )
    .await
    .json();
    assert_eq!(
        g,
        json!({"company_name": "Acme", "website": "https://acme.example"})
    );
    let res = get(&h, &at, &format!("{V2}/companies/{id}?fields=nope")).await;
    assert_v2_error(&res, StatusCode::BAD_REQUEST, "INVALID_ARGUMENT", "nope");
    // PATCH: members sent change; with update_mask only those named.
    let res = call(
        &h,
        &at,
        Method::PATCH,
        &format!("{V2}/companies/{id}"),
        Some(json!({"company_name": "Acme Corp", "notes": null})),
    )
    .await;
    res.assert_status(StatusCode::OK);
    let u = res.json();
    assert_eq!(u["company_name"], "Acme Corp");
    assert!(u.get("notes").is_none());
    assert_eq!(u["website"], "https://acme.example");
    let res = call(
        &h,
        &at,
        Method::PATCH,
        &format!("{V2}/companies/{id}?update_mask=website"),
        Some(json!({"company_name": "Not this", "website": "https://acme.test"})),
    )
    .await;
    res.assert_status(StatusCode::OK);
    let u = res.json();
    assert_eq!(u["company_name"], "Acme Corp");
    assert_eq!(u["website"], "https://acme.test");
    let res = call(
        &h,
        &at,
        Method::PATCH,
        &format!("{V2}/companies/{id}?update_mask=bogus"),
        Some(json!({})),
    )
    .await;
    assert_v2_error(&res, StatusCode::BAD_REQUEST, "INVALID_ARGUMENT", "bogus");
    let res = call(
        &h,
        &at,
        Method::PATCH,
        &format!("{V2}/companies/{id}"),
        Some(json!({"company_name": ""})),
    )
    .await;
    assert_v2_error(
        &res,
        StatusCode::BAD_REQUEST,
        "INVALID_ARGUMENT",
        "company_name",
    );
    let v1 = get(&h, &at, &format!("{V1}/companies/{id}")).await.json();
    assert_eq!(v1["company_name"], "Acme Corp");
    assert_eq!(v1["website"], "https://acme.test");
    // And over XML-RPC's `Company` table.
    let (legacy, _) = h.api_key(KeyKind::Legacy, false, None).await;
    let xml = format!(
        "<methodCall><methodName>DataService.load</methodName><params><param><value>{legacy}</value></param><param><value>Company</value></param><param><value><int>{id}</int></value></param><param><value><array><data><value>Company</value><value>City</value></data></array></value></param></params></methodCall>"
    );
    let res = h
        .send(
            Request::builder()
                .method(Method::POST)
                .uri("/crm/xmlrpc/v1")
                .header("content-type", "text/xml")
                .body(Body::from(xml))
                .unwrap(),
        )
        .await;
    let text = res.text();
    assert!(
        text.contains("<value>Acme Corp</value>") && text.contains("<value>Phoenix</value>"),
        "{text}"
    );
    // Validation: a name is required, e-mails are checked.
    let res = call(
        &h,
        &at,
        Method::POST,
        &format!("{V2}/companies"),
        Some(json!({"website": "x"})),
    )
    .await;
    assert_v2_error(
        &res,
        StatusCode::BAD_REQUEST,
        "INVALID_ARGUMENT",
        "company_name",
    );
    let res = call(
        &h,
        &at,
        Method::POST,
        &format!("{V2}/companies"),
        Some(json!({"company_name": "B", "email_address": {"email": "nope"}})),
    )
    .await;
    assert_v2_error(&res, StatusCode::BAD_REQUEST, "INVALID_ARGUMENT", "e-mail");
    // Missing and bad ids.
    for (m, p) in [
        (Method::GET, "/companies/999"),
        (Method::PATCH, "/companies/999"),
        (Method::DELETE, "/companies/999"),
        (Method::GET, "/companies/999/tags"),
    ] {
        let body = (m == Method::PATCH).then(|| json!({"website": "x"}));
        let res = call(&h, &at, m, &format!("{V2}{p}"), body).await;
        let j = assert_v2_error(&res, StatusCode::NOT_FOUND, "NOT_FOUND", "Company 999");
        assert_eq!(
            j["details"][0],
            json!({"domain": "companies", "resource": "999"})
        );
    }
    for p in [
        "/companies/abc",
        "/companies/-1/tags",
        "/companies/x/tags/1",
    ] {
        let res = get(&h, &at, &format!("{V2}{p}")).await;
        if p.ends_with("/1") {
            // GET is not a method of that path.
            res.assert_status(StatusCode::METHOD_NOT_ALLOWED);
            continue;
        }
        assert_v2_error(
            &res,
            StatusCode::BAD_REQUEST,
            "INVALID_ARGUMENT",
            "Invalid id",
        );
    }
    let res = call(
        &h,
        &at,
        Method::POST,
        &format!("{V2}/companies/x/tags/1"),
        None,
    )
    .await;
    assert_v2_error(
        &res,
        StatusCode::BAD_REQUEST,
        "INVALID_ARGUMENT",
        "Invalid id",
    );
    // Read-only keys cannot write.
    let (key, _) = h.api_key(KeyKind::Pat, true, None).await;
    let res = call(
        &h,
        &key,
        Method::POST,
        &format!("{V2}/companies"),
        Some(json!({"company_name": "RO"})),
    )
    .await;
    assert_v2_error(
        &res,
        StatusCode::FORBIDDEN,
        "PERMISSION_DENIED",
        "read-only",
    );
    let res = call(
        &h,
        &key,
        Method::DELETE,
        &format!("{V2}/companies/{id}"),
        None,
    )
    .await;
    assert_v2_error(
        &res,
        StatusCode::FORBIDDEN,
        "PERMISSION_DENIED",
        "read-only",
    );
    // Delete: gone over both APIs.
    call(
        &h,
        &at,
        Method::DELETE,
        &format!("{V2}/companies/{id}"),
        None,
    )
    .await
    .assert_status(StatusCode::NO_CONTENT);
    get(&h, &at, &format!("{V2}/companies/{id}"))
        .await
        .assert_status(StatusCode::NOT_FOUND);
    get(&h, &at, &format!("{V1}/companies/{id}"))
        .await
        .assert_status(StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn list_companies_filters_orders_and_pages() {
    let h = Harness::new().await;
    let (at, _) = h.tokens().await;
    let mut made = Vec::new();
    for (name, email, city) in [
        ("Beta", "b@beta.example", "Chandler"),
        ("Alpha", "a@alpha.example", "Phoenix"),
        ("Alphabet", "z@alphabet.example", "Chandler"),
    ] {
        let c = company(
            &h,
            &at,
            json!({"company_name": name, "email_address": {"email": email},
                   "address": {"locality": city, "region": "Arizona", "country_code": "USA"}}),
        )
        .await;
        made.push(c["id"].as_str().unwrap().to_owned());
    }
    // A company made over v1 lists too.
    let res = call(
        &h,
        &at,
        Method::POST,
        &format!("{V1}/companies"),
        Some(json!({"company_name": "Gamma"})),
    )
    .await;
    res.assert_status(StatusCode::CREATED);
    made.push(res.json()["id"].as_i64().unwrap().to_string());
    let res = get(&h, &at, &format!("{V2}/companies")).await;
    res.assert_status(StatusCode::OK);
    let j = res.json();
    assert_eq!(ids(&j, "companies"), made);
    assert_eq!(j["next_page_token"], "");
    // The default projection leaves out e-mail, address, times.
    let first = j["companies"][0].as_object().unwrap();
    let keys: BTreeSet<&str> = first.keys().map(String::as_str).collect();
    assert_eq!(keys, BTreeSet::from(["id", "company_name"]));
    let f = |q: &str| format!("{V2}/companies?{q}");
    let names = |j: &Value| -> Vec<String> {
        j["companies"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["company_name"].as_str().unwrap().to_owned())
            .collect()
    };
    let j = get(&h, &at, &f("filter=name%3D%3Dalpha*&order_by=name%20desc"))
        .await
        .json();
    assert_eq!(names(&j), ["Alphabet", "Alpha"]);
    let j = get(&h, &at, &f("filter=company_name==alpha")).await.json();
    assert_eq!(names(&j), ["Alpha"]);
    let j = get(&h, &at, &f("filter=email==b@beta.example"))
        .await
        .json();
    assert_eq!(names(&j), ["Beta"]);
    let j = get(&h, &at, &f("filter=city==Chan*;state==Ari*&order_by=name"))
        .await
        .json();
    assert_eq!(names(&j), ["Alphabet", "Beta"]);
    let j = get(&h, &at, &f(&format!("filter=company_id%3E{}", made[1])))
        .await
        .json();
    assert_eq!(names(&j), ["Alphabet", "Gamma"]);
    let j = get(
        &h,
        &at,
        &f("order_by=email&fields=company_name,email_address"),
    )
    .await
    .json();
    assert_eq!(names(&j), ["Gamma", "Alpha", "Beta", "Alphabet"]);
    assert_eq!(
        j["companies"][1]["email_address"]["email"],
        "a@alpha.example"
    );
    let j = get(&h, &at, &f("filter=since_time==2000-01-01T00:00:00Z"))
        .await
        .json();
    assert_eq!(names(&j).len(), 4);
    let j = get(&h, &at, &f("filter=until_time==2000-01-01T00:00:00Z"))
        .await
        .json();
    assert_eq!(names(&j).len(), 0);
    for bad in [
        "filter=bogus==1",
        "filter=company_name==a*x;name!=x",
        "order_by=website",
        "page_size=1001",
    ] {
        let res = get(&h, &at, &f(bad)).await;
        assert_v2_error(&res, StatusCode::BAD_REQUEST, "INVALID_ARGUMENT", "");
    }
    // Pages of 3, bound to the order.
    let j = get(&h, &at, &f("page_size=3&order_by=name")).await.json();
    assert_eq!(names(&j), ["Alpha", "Alphabet", "Beta"]);
    let token = j["next_page_token"].as_str().unwrap().to_owned();
    assert!(!token.is_empty());
    let j = get(
        &h,
        &at,
        &f(&format!("page_size=3&order_by=name&page_token={token}")),
    )
    .await
    .json();
    assert_eq!(names(&j), ["Gamma"]);
    assert_eq!(j["next_page_token"], "");
    let res = get(
        &h,
        &at,
        &f(&format!("page_size=3&order_by=email&page_token={token}")),
    )
    .await;
    assert_v2_error(&res, StatusCode::BAD_REQUEST, "INVALID_ARGUMENT", "");
}

#[tokio::test]
async fn company_tags_add_list_remove_and_groups() {
    let h = Harness::new().await;
    let (at, _) = h.tokens().await;
    let c = company(&h, &at, json!({"company_name": "Acme"})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let t1 = tag(&h, &at, json!({"name": "Partner"})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let t2 = tag(&h, &at, json!({"name": "Vendor", "description": "Sells"})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for t in [&t2, &t1, &t1] {
        call(
            &h,
            &at,
            Method::POST,
            &format!("{V2}/companies/{c}/tags/{t}"),
            None,
        )
        .await
        .assert_status(StatusCode::NO_CONTENT);
    }
    let res = call(
        &h,
        &at,
        Method::POST,
        &format!("{V2}/companies/{c}/tags/999"),
        None,
    )
    .await;
    assert_v2_error(&res, StatusCode::NOT_FOUND, "NOT_FOUND", "Tag 999");
    let res = call(
        &h,
        &at,
        Method::POST,
        &format!("{V2}/companies/999/tags/{t1}"),
        None,
    )
    .await;
    assert_v2_error(&res, StatusCode::NOT_FOUND, "NOT_FOUND", "Company 999");
    let j = get(&h, &at, &format!("{V2}/companies/{c}/tags"))
        .await
        .json();
    let tag_ids: Vec<&str> = j["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["tag"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(tag_ids, [t1.as_str(), t2.as_str()]);
    assert_eq!(j["tags"][0]["tag"]["name"], "Partner");
    assert!(
        j["tags"][0]["applied_time"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );
    let j = get(
        &h,
        &at,
        &format!("{V2}/companies/{c}/tags?filter=description==NONE"),
    )
    .await
    .json();
    assert_eq!(j["tags"].as_array().unwrap().len(), 1);
    assert_eq!(j["tags"][0]["tag"]["name"], "Partner");
    let j = get(
        &h,
        &at,
        &format!("{V2}/companies/{c}/tags?order_by=name%20desc"),
    )
    .await
    .json();
    assert_eq!(j["tags"][0]["tag"]["name"], "Vendor");
    // `groups` and listCompaniesForTagId see the same links.
    let g = get(&h, &at, &format!("{V2}/companies/{c}")).await.json();
    assert_eq!(g["groups"], format!("{t1},{t2}"));
    let j = get(&h, &at, &format!("{V2}/tags/{t2}/companies"))
        .await
        .json();
    assert_eq!(j["tagged_companies"][0]["company"]["id"], c);
    // Remove (twice: still 204).
    for _ in 0..2 {
        call(
            &h,
            &at,
            Method::DELETE,
            &format!("{V2}/companies/{c}/tags/{t2}"),
            None,
        )
        .await
        .assert_status(StatusCode::NO_CONTENT);
    }
    let g = get(&h, &at, &format!("{V2}/companies/{c}")).await.json();
    assert_eq!(g["groups"], t1);
    let res = call(
        &h,
        &at,
        Method::DELETE,
        &format!("{V2}/companies/{c}/tags/999"),
        None,
    )
    .await;
    assert_v2_error(&res, StatusCode::NOT_FOUND, "NOT_FOUND", "Tag 999");
    // Deleting the company drops its links.
    call(
        &h,
        &at,
        Method::DELETE,
        &format!("{V2}/companies/{c}"),
        None,
    )
    .await
    .assert_status(StatusCode::NO_CONTENT);
    let j = get(&h, &at, &format!("{V2}/tags/{t1}/companies"))
        .await
        .json();
    assert_eq!(j["tagged_companies"], json!([]));
}

// ---------------------------------------------------------------------------------------------
// Products
// ---------------------------------------------------------------------------------------------

async fn product(h: &Harness, at: &str, body: Value) -> Value {
    let res = call(h, at, Method::POST, &format!("{V2}/products"), Some(body)).await;
    res.assert_status(StatusCode::CREATED);
    res.json()
}

/// One XML-RPC `ProductService` call with a legacy key: the response text.
async fn product_service(h: &Harness, key: &str, method: &str, id: &str, n: Option<i64>) -> String {
    let extra = n
        .map(|n| format!("<param><value><int>{n}</int></value></param>"))
        .unwrap_or_default();
    let xml = format!(
        "<methodCall><methodName>ProductService.{method}</methodName><params><param><value>{key}</value></param><param><value><int>{id}</int></value></param>{extra}</params></methodCall>"
    );
    let res = h
        .send(
            Request::builder()
                .method(Method::POST)
                .uri("/crm/xmlrpc/v1")
                .header("content-type", "text/xml")
                .body(Body::from(xml))
                .unwrap(),
        )
        .await;
    res.assert_status(StatusCode::OK);
    res.text()
}

#[tokio::test]
async fn products_crud_with_minor_unit_prices_and_the_same_record_over_v1() {
    let h = Harness::new().await;
    let (at, _) = h.tokens().await;
    let p = product(
        &h,
        &at,
        json!({"name": "Widget", "price": 1250, "short_description": "A widget",
               "description": "A fine widget", "sku": "W-1", "shippable": true,
               "inventory": {"inventory_count": 3, "inventory_limit": 10}}),
    )
    .await;
    let id = p["id"].as_str().unwrap().to_owned();
    assert_eq!(
        p["price"],
        json!({"amount": 1250, "currency_code": "USD", "formatted_amount": "$12.50"})
    );
    assert_eq!(p["name"], "Widget");
    assert_eq!(p["short_description"], "A widget");
    assert_eq!(p["description"], "A fine widget");
    assert_eq!(p["sku"], "W-1");
    assert_eq!(p["active"], true);
    assert_eq!(p["inventory"], json!({"inventory_count": 3}));
    assert_eq!(p["subscription_plans"], json!([]));
    assert!(p["create_time"].as_str().unwrap().ends_with('Z'));
    // The same record over v1 (dollars there).
    let v1 = get(&h, &at, &format!("{V1}/products/{id}")).await;
    v1.assert_status(StatusCode::OK);
    let v1 = v1.json();
    assert_eq!(v1["product_name"], "Widget");
    assert_eq!(v1["product_price"], json!(12.5));
    assert_eq!(v1["product_short_desc"], "A widget");
    assert_eq!(get(&h, &at, &format!("{V2}/products/{id}")).await.json(), p);
    // Required members and prices.
    for (body, text) in [
        (
            json!({"price": 1, "short_description": "x"}),
            "name is required",
        ),
        (
            json!({"name": "x", "short_description": "x"}),
            "price is required",
        ),
        (
            json!({"name": "x", "price": 1}),
            "short_description is required",
        ),
        (
            json!({"name": "x", "price": -1, "short_description": "x"}),
            "price",
        ),
        (
            json!({"name": "x", "price": 1.5, "short_description": "x"}),
            "price",
        ),
        (
            json!({"name": "x", "price": "abc", "short_description": "x"}),
            "price",
        ),
    ] {
        let res = call(&h, &at, Method::POST, &format!("{V2}/products"), Some(body)).await;
        assert_v2_error(&res, StatusCode::BAD_REQUEST, "INVALID_ARGUMENT", text);
    }
    // A string of digits is an int64 too (proto3 JSON).
    let q = product(
        &h,
        &at,
        json!({"name": "Gadget", "price": "99", "short_description": "g"}),
    )
    .await;
    assert_eq!(q["price"]["formatted_amount"], "$0.99");
    // PATCH, with and without update_mask; inventory members are accepted flat.
    let res = call(
        &h,
        &at,
        Method::PATCH,
        &format!("{V2}/products/{id}"),
        Some(json!({"price": 2000, "active": false, "inventory_limit": 5})),
    )
    .await;
    res.assert_status(StatusCode::OK);
    let u = res.json();
    assert_eq!(u["price"]["amount"], 2000);
    assert_eq!(u["active"], false);
    assert_eq!(u["name"], "Widget");
    let res = call(
        &h,
        &at,
        Method::PATCH,
        &format!("{V2}/products/{id}?update_mask=name"),
        Some(json!({"name": "Widget 2", "sku": "not-this"})),
    )
    .await;
    res.assert_status(StatusCode::OK);
    let u = res.json();
    assert_eq!(u["name"], "Widget 2");
    assert_eq!(u["sku"], "W-1");
    for (q, body, text) in [
        ("?update_mask=bogus", json!({}), "bogus"),
        ("", json!({"name": ""}), "name"),
        ("", json!({"price": -5}), "price"),
    ] {
        let res = call(
            &h,
            &at,
            Method::PATCH,
            &format!("{V2}/products/{id}{q}"),
            Some(body),
        )
        .await;
        assert_v2_error(&res, StatusCode::BAD_REQUEST, "INVALID_ARGUMENT", text);
    }
    let v1 = get(&h, &at, &format!("{V1}/products/{id}")).await.json();
    assert_eq!(v1["product_name"], "Widget 2");
    assert_eq!(v1["product_price"], json!(20.0));
    assert_eq!(v1["active"], false);
    // The account's currency.
    call(
        &h,
        &at,
        Method::PUT,
        &format!("{V1}/account/profile"),
        Some(json!({"name": "Acme", "currency_code": "EUR"})),
    )
    .await
    .assert_status(StatusCode::OK);
    let g = get(&h, &at, &format!("{V2}/products/{id}")).await.json();
    assert_eq!(
        g["price"],
        json!({"amount": 2000, "currency_code": "EUR", "formatted_amount": "€20.00"})
    );
    // Missing, bad ids, read-only keys.
    for (m, p) in [
        (Method::GET, "/products/999"),
        (Method::PATCH, "/products/999"),
        (Method::DELETE, "/products/999"),
        (Method::POST, "/products/999:adjustInventory"),
    ] {
        let body = (m == Method::PATCH || m == Method::POST)
            .then(|| json!({"name": "x", "type": "INCREASE", "quantity": 1}));
        let res = call(&h, &at, m, &format!("{V2}{p}"), body).await;
        let j = assert_v2_error(&res, StatusCode::NOT_FOUND, "NOT_FOUND", "Product 999");
        assert_eq!(
            j["details"][0],
            json!({"domain": "products", "resource": "999"})
        );
    }
    for (m, p) in [
        (Method::GET, "/products/abc"),
        (Method::DELETE, "/products/1.5"),
        (Method::POST, "/products/x:adjustInventory"),
    ] {
        let body = (m == Method::POST).then(|| json!({"type": "INCREASE", "quantity": 1}));
        let res = call(&h, &at, m, &format!("{V2}{p}"), body).await;
        assert_v2_error(
            &res,
            StatusCode::BAD_REQUEST,
            "INVALID_ARGUMENT",
            "Invalid id",
        );
    }
    let res = call(
        &h,
        &at,
        Method::POST,
        &format!("{V2}/products/{id}"),
        Some(json!({})),
    )
    .await;
    assert_v2_error(
        &res,
        StatusCode::METHOD_NOT_ALLOWED,
        "METHOD_NOT_ALLOWED",
        "Method",
    );
    for m in [Method::GET, Method::PATCH, Method::DELETE] {
        let body = (m == Method::PATCH).then(|| json!({}));
        let res = call(
            &h,
            &at,
            m,
            &format!("{V2}/products/{id}:adjustInventory"),
            body,
        )
        .await;
        assert_v2_error(
            &res,
            StatusCode::METHOD_NOT_ALLOWED,
            "METHOD_NOT_ALLOWED",
            "Method",
        );
    }
    let (key, _) = h.api_key(KeyKind::Pat, true, None).await;
    let res = call(
        &h,
        &key,
        Method::POST,
        &format!("{V2}/products"),
        Some(json!({"name": "RO", "price": 1, "short_description": "x"})),
    )
    .await;
    assert_v2_error(
        &res,
        StatusCode::FORBIDDEN,
        "PERMISSION_DENIED",
        "read-only",
    );
    let res = call(
        &h,
        &key,
        Method::POST,
        &format!("{V2}/products/{id}:adjustInventory"),
        Some(json!({"type": "INCREASE", "quantity": 1})),
    )
    .await;
    assert_v2_error(
        &res,
        StatusCode::FORBIDDEN,
        "PERMISSION_DENIED",
        "read-only",
    );
    // Delete: gone over both APIs, and v1's sync reports it deleted.
    let token = get(&h, &at, &format!("{V1}/products/sync")).await.json()["sync_token"]
        .as_str()
        .unwrap()
        .to_owned();
    call(
        &h,
        &at,
        Method::DELETE,
        &format!("{V2}/products/{id}"),
        None,
    )
    .await
    .assert_status(StatusCode::NO_CONTENT);
    get(&h, &at, &format!("{V2}/products/{id}"))
        .await
        .assert_status(StatusCode::NOT_FOUND);
    get(&h, &at, &format!("{V1}/products/{id}"))
        .await
        .assert_status(StatusCode::NOT_FOUND);
    let sync = get(&h, &at, &format!("{V1}/products/sync?sync_token={token}"))
        .await
        .json();
    assert!(
        sync["product_statuses"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["status"] == "DELETED"
                && s["product"]["id"]
                    .as_i64()
                    .map(|i| i.to_string())
                    .as_deref()
                    == Some(id.as_str())),
        "{sync}"
    );
}

#[tokio::test]
async fn adjust_inventory_shares_the_count_with_xml_rpc_and_never_goes_below_zero() {
    let h = Harness::new().await;
    let (at, _) = h.tokens().await;
    let id = product(
        &h,
        &at,
        json!({"name": "Widget", "price": 100, "short_description": "w"}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let adjust = |body: Value| {
        let h = &h;
        let at = &at;
        let id = &id;
        async move {
            call(
                h,
                at,
                Method::POST,
                &format!("{V2}/products/{id}:adjustInventory"),
                Some(body),
            )
            .await
        }
    };
    let res = adjust(json!({"type": "INCREASE", "quantity": 5})).await;
    res.assert_status(StatusCode::OK);
    assert_eq!(res.json()["inventory"]["inventory_count"], 5);
    assert_eq!(res.json()["id"], id);
    // XML-RPC sees and changes the same count.
    let (key, _) = h.api_key(KeyKind::Legacy, false, None).await;
    let text = product_service(&h, &key, "getInventory", &id, None).await;
    assert!(
        text.contains("<i4>5</i4>") || text.contains("<int>5</int>"),
        "{text}"
    );
    product_service(&h, &key, "increaseInventory", &id, Some(2)).await;
    // `%3A` is `:`.
    let res = call(
        &h,
        &at,
        Method::POST,
        &format!("{V2}/products/{id}%3AadjustInventory"),
        Some(json!({"type": "DECREASE", "quantity": "3"})),
    )
    .await;
    res.assert_status(StatusCode::OK);
    assert_eq!(res.json()["inventory"]["inventory_count"], 4);
    // Below zero: 400, nothing changed.
    let res = adjust(json!({"type": "DECREASE", "quantity": 5})).await;
    assert_v2_error(
        &res,
        StatusCode::BAD_REQUEST,
        "INVALID_ARGUMENT",
        "in stock",
    );
    for (body, text) in [
        (json!({"type": "UP", "quantity": 1}), "type"),
        (json!({"quantity": 1}), "type"),
        (json!({"type": "INCREASE", "quantity": -1}), "quantity"),
        (json!({"type": "INCREASE"}), "quantity"),
    ] {
        let res = adjust(body).await;
        assert_v2_error(&res, StatusCode::BAD_REQUEST, "INVALID_ARGUMENT", text);
    }
    let g = get(&h, &at, &format!("{V2}/products/{id}")).await.json();
    assert_eq!(g["inventory"]["inventory_count"], 4);
    // Lists leave the count out.
    let l = get(&h, &at, &format!("{V2}/products")).await.json();
    assert!(l["products"][0].get("inventory").is_none(), "{l}");
}

#[tokio::test]
async fn list_products_filters_orders_and_pages() {
    let h = Harness::new().await;
    let (at, _) = h.tokens().await;
    let mut made = Vec::new();
    for (name, sku, short) in [
        ("Widget", "W-2", "small"),
        ("Gadget", "G-1", "shiny"),
        ("Widget Pro", "W-1", "big"),
    ] {
        made.push(
            product(
                &h,
                &at,
                json!({"name": name, "sku": sku, "price": 100, "short_description": short}),
            )
            .await["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let res = call(
        &h,
        &at,
        Method::POST,
        &format!("{V1}/products"),
        Some(json!({"product_name": "Thing", "product_price": 1.5})),
    )
    .await;
    res.assert_status(StatusCode::CREATED);
    made.push(res.json()["id"].as_i64().unwrap().to_string());
    let j = get(&h, &at, &format!("{V2}/products")).await.json();
    assert_eq!(ids(&j, "products"), made);
    assert_eq!(j["products"][3]["price"]["amount"], 150);
    assert_eq!(j["next_page_token"], "");
    let names = |j: &Value| -> Vec<String> {
        j["products"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let f = |q: &str| format!("{V2}/products?{q}");
    let j = get(&h, &at, &f("filter=name%3D%3Dwidget*&order_by=sku"))
        .await
        .json();
    assert_eq!(names(&j), ["Widget Pro", "Widget"]);
    let j = get(&h, &at, &f("filter=name==widget")).await.json();
    assert_eq!(names(&j), ["Widget"]);
    let j = get(&h, &at, &f("filter=sku==G*")).await.json();
    assert_eq!(names(&j), ["Gadget"]);
    let j = get(&h, &at, &f("filter=short_description==sh*"))
        .await
        .json();
    assert_eq!(names(&j), ["Gadget"]);
    let j = get(&h, &at, &f(&format!("filter=product_id%3E%3D{}", made[2])))
        .await
        .json();
    assert_eq!(names(&j), ["Widget Pro", "Thing"]);
    let j = get(
        &h,
        &at,
        &f(&format!(
            "filter=product_ids=={},{}&order_by=name%20desc",
            made[0], made[1]
        )),
    )
    .await
    .json();
    assert_eq!(names(&j), ["Widget", "Gadget"]);
    let j = get(&h, &at, &f("order_by=name")).await.json();
    assert_eq!(names(&j), ["Gadget", "Thing", "Widget", "Widget Pro"]);
    let j = get(&h, &at, &f("order_by=last_updated_time%20desc"))
        .await
        .json();
    assert_eq!(names(&j)[0], "Thing");
    for bad in [
        "filter=price==1",
        "filter=name!=x",
        "order_by=price",
        "page_size=-1",
    ] {
        let res = get(&h, &at, &f(bad)).await;
        assert_v2_error(&res, StatusCode::BAD_REQUEST, "INVALID_ARGUMENT", "");
    }
    let (all, pages) = walk(&h, &at, &f("page_size=1&order_by=name"), "products").await;
    assert_eq!(all.len(), 4);
    assert_eq!(pages, 4);
}

#[tokio::test]
async fn list_users_shows_the_accounts_members() {
    let h = Harness::new().await;
    let (at, _) = h.tokens().await;
    let res = get(&h, &at, &format!("{V2}/users")).await;
    res.assert_status(StatusCode::OK);
    let j = res.json();
    let (ada, multi) = (h.user.id.0.to_string(), h.multi_user.id.0.to_string());
    assert_eq!(ids(&j, "users"), [ada.clone(), multi.clone()]);
    assert_eq!(j["next_page_token"], "");
    let u = &j["users"][0];
    assert_eq!(u["given_name"], "Ada");
    assert_eq!(
        u["email_addresses"],
        json!([{"email": "ada@example.com", "field": "EMAIL1"}])
    );
    assert_eq!(u["admin"], true);
    assert_eq!(u["status"], "ACTIVE");
    assert_eq!(u["company_name"], "Acme Bakery");
    assert_eq!(j["users"][1]["admin"], false);
    // The same members as v1's `/users`.
    let v1 = get(&h, &at, &format!("{V1}/users")).await.json();
    let v1_ids: Vec<String> = v1["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_i64().unwrap().to_string())
        .collect();
    assert_eq!(v1_ids, [ada.clone(), multi.clone()]);
    let f = |q: &str| format!("{V2}/users?{q}");
    let j = get(&h, &at, &f("filter=email%3D%3DMULTI@example.com"))
        .await
        .json();
    assert_eq!(ids(&j, "users"), [multi.as_str()]);
    let j = get(
        &h,
        &at,
        &f(&format!("filter=user_ids=={ada};include_inactive==true")),
    )
    .await
    .json();
    assert_eq!(ids(&j, "users"), [ada.as_str()]);
    let j = get(&h, &at, &f("order_by=email%20desc")).await.json();
    assert_eq!(ids(&j, "users"), [multi.clone(), ada.clone()]);
    let j = get(&h, &at, &f("page_size=1")).await.json();
    assert_eq!(ids(&j, "users"), [ada]);
    assert_ne!(j["next_page_token"], "");
    for bad in [
        "page_size=101",
        "filter=include_partners==maybe",
        "filter=bogus==1",
        "order_by=id",
    ] {
        let res = get(&h, &at, &f(bad)).await;
        assert_v2_error(&res, StatusCode::BAD_REQUEST, "INVALID_ARGUMENT", "");
    }
}

#[tokio::test]
async fn v2_merge_moves_cards_orders_and_links_too() {
    let h = Harness::new().await;
    let (at, _) = h.tokens().await;
    let a = ada(&h, &at, "Ada", "ada@example.com").await;
    let b = ada(&h, &at, "Dup", "dup@example.com").await;
    let c = ada(&h, &at, "Charles", "cb@example.com").await;
    call(&h, &at, Method::POST, &format!("{V1}/contacts/{b}/creditCards"), Some(json!({"card_number": "4111111111111111", "expiration_month": "12", "expiration_year": "2030"}))).await.assert_status(StatusCode::CREATED);
    let p = call(
        &h,
        &at,
        Method::POST,
        &format!("{V1}/products"),
        Some(json!({"product_name": "Widget", "product_price": 5})),
    )
    .await
    .json()["id"]
        .as_i64()
        .unwrap();
    call(&h, &at, Method::POST, &format!("{V1}/orders"), Some(json!({"contact_id": b.parse::<i64>().unwrap(), "order_date": "2026-03-01T12:00:00.000Z", "order_title": "Dup's order", "order_type": "Online", "order_items": [{"product_id": p, "quantity": 1}]}))).await.assert_status(StatusCode::CREATED);
    let t = call(
        &h,
        &at,
        Method::POST,
        &format!("{V2}/contacts/links/types"),
        Some(json!({"name": "Friend", "max_links": 3})),
    )
    .await
    .json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    call(
        &h,
        &at,
        Method::POST,
        &format!("{V2}/contacts:link"),
        Some(json!({"contact1_id": b, "contact2_id": c, "link_type_id": t})),
    )
    .await
    .assert_status(StatusCode::CREATED);

    call(
        &h,
        &at,
        Method::POST,
        &format!("{V2}/contacts:merge"),
        Some(json!({"contact_id": a, "duplicate_contact_id": b})),
    )
    .await
    .assert_status(StatusCode::OK);

    let cards = get(&h, &at, &format!("{V1}/contacts/{a}/creditCards"))
        .await
        .json();
    assert_eq!(cards.as_array().map(Vec::len), Some(1), "{cards}");
    let order = get(&h, &at, &format!("{V1}/orders/1")).await.json();
    assert_eq!(order["contact"]["id"].to_string(), a, "{order}");
    let links = get(&h, &at, &format!("{V2}/contacts/{a}/links"))
        .await
        .json();
    assert_eq!(links["links"][0]["contact1_id"], a, "{links}");
    assert_eq!(links["links"][0]["contact2_id"], c, "{links}");
}

/// A contact and two products (12.50 and 3.00): their v2 ids.
async fn order_fixture(h: &Harness, at: &str) -> (String, String, String) {
    let c = ada(h, at, "Ada", "ada@example.com").await;
    let p1 = product(
        h,
        at,
        json!({"name": "Widget", "price": 1250, "short_description": "A widget", "sku": "W-1"}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let p2 = product(
        h,
        at,
        json!({"name": "Gadget", "price": 300, "short_description": "A gadget"}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    (c, p1, p2)
}

fn usd(amount: i64, formatted: &str) -> Value {
    json!({"amount": amount, "currency_code": "USD", "formatted_amount": formatted})
}

#[tokio::test]
async fn orders_create_get_delete_in_the_v2_shape_and_the_same_order_over_v1() {
    let h = Harness::new().await;
    let (at, _) = h.tokens().await;
    let (c, p1, p2) = order_fixture(&h, &at).await;
    let res = call(
        &h,
        &at,
        Method::POST,
        &format!("{V2}/orders"),
        Some(
            json!({"contact_id": c, "order_title": "First", "order_time": "2026-03-01T12:00:00Z",
                    "order_type": "ONLINE",
                    "order_items": [{"product_id": p1, "quantity": 2},
                                    {"product_id": p2, "quantity": 1, "price_per_unit": 4.25,
                                     "cost_per_unit": 1.0, "description": "Cheap"}]}),
        ),
    )
    .await;
    res.assert_status(StatusCode::CREATED);
    let o = res.json();
    let id = o["id"].as_str().unwrap().to_owned();
    assert_eq!(o["title"], "First");
    assert_eq!(o["status"], "DRAFT");
    assert_eq!(o["order_type"], "ONLINE");
    assert_eq!(o["source_type"], "API");
    assert_eq!(o["contact"]["id"], c.as_str());
    assert_eq!(o["contact"]["email"], "ada@example.com");
    assert_eq!(o["contact"]["given_name"], "Ada");
    assert_eq!(o["order_time"], "2026-03-01T12:00:00.000Z");
    assert_eq!(o["total"], usd(2925, "$29.25"), "{o}");
    assert_eq!(o["total_paid"], usd(0, "$0.00"));
    assert_eq!(o["total_due"], usd(2925, "$29.25"));
    let items = o["order_items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["price_per_unit"], usd(1250, "$12.50"));
    assert_eq!(items[0]["quantity"], 2);
    assert_eq!(items[0]["item_type"], "PRODUCT");
    assert_eq!(items[0]["product"]["id"], p1.as_str());
    assert_eq!(items[0]["product"]["sku"], "W-1");
    assert_eq!(items[1]["price_per_unit"], usd(425, "$4.25"));
    assert_eq!(items[1]["description"], "Cheap");

    let got = get(&h, &at, &format!("{V2}/orders/{id}")).await;
    got.assert_status(StatusCode::OK);
    assert_eq!(got.json(), o);

    // The same order over v1, with the same totals.
    let v1 = get(&h, &at, &format!("{V1}/orders/{id}")).await;
    v1.assert_status(StatusCode::OK);
    let v1 = v1.json();
    assert_eq!(v1["title"], "First");
    assert_eq!(v1["total"].as_f64(), Some(29.25), "{v1}");
    assert_eq!(v1["total_due"].as_f64(), Some(29.25), "{v1}");
    assert_eq!(v1["order_items"].as_array().map(Vec::len), Some(2));

    // A colon verb of the spec with another method is 405, not an invalid id.
    for (m, path) in [
        (Method::GET, format!("{V2}/orders/{id}:attachFile")),
        (Method::DELETE, format!("{V2}/orders/{id}:applyTax")),
        (
            Method::GET,
            format!("{V2}/orders/{id}/items/1:applyCommission"),
        ),
    ] {
        let res = call(&h, &at, m, &path, None).await;
        assert_v2_error(
            &res,
            StatusCode::METHOD_NOT_ALLOWED,
            "METHOD_NOT_ALLOWED",
            "Method",
        );
    }
    // Errors.
    assert_v2_error(
        &get(&h, &at, &format!("{V2}/orders/999999")).await,
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        "",
    );
    assert_v2_error(
        &get(&h, &at, &format!("{V2}/orders/abc")).await,
        StatusCode::BAD_REQUEST,
        "INVALID_ARGUMENT",
        "Invalid id",
    );
    for (body, text) in [
        (
            json!({"order_title": "x", "order_time": "2026-03-01T12:00:00Z", "order_type": "ONLINE",
                "order_items": [{"product_id": p1, "quantity": 1}]}),
            "contact_id is required",
        ),
        (
            json!({"contact_id": c, "order_title": "   ", "order_time": "2026-03-01T12:00:00Z",
                "order_type": "ONLINE", "order_items": [{"product_id": p1, "quantity": 1}]}),
            "order_title must not be blank",
        ),
        (
            json!({"contact_id": c, "order_title": "x", "order_type": "ONLINE",
                "order_items": [{"product_id": p1, "quantity": 1}]}),
            "order_time is required",
        ),
        (
            json!({"contact_id": c, "order_title": "x", "order_time": "2026-03-01T12:00:00Z",
                "order_type": "RETAIL", "order_items": [{"product_id": p1, "quantity": 1}]}),
            "ONLINE or OFFLINE",
        ),
        (
            json!({"contact_id": c, "order_title": "x", "order_time": "2026-03-01T12:00:00Z",
                "order_type": "ONLINE", "order_items": [{"quantity": 1}]}),
            "order_items[0].product_id is required",
        ),
        (
            json!({"contact_id": c, "order_title": "x", "order_time": "2026-03-01T12:00:00Z",
                "order_type": "ONLINE", "order_items": [{"product_id": p1, "quantity": 1, "price_per_unit": "x"}]}),
            "price_per_unit",
        ),
        (
            json!({"contact_id": c, "order_title": "x", "order_time": "2026-03-01T12:00:00Z",
                "order_type": "ONLINE", "order_items": [{"product_id": "99999", "quantity": 1}]}),
            "Product 99999 does not exist",
        ),
        (
            json!({"contact_id": "99999", "order_title": "x", "order_time": "2026-03-01T12:00:00Z",
                "order_type": "ONLINE", "order_items": [{"product_id": p1, "quantity": 1}]}),
            "",
        ),
        (
            json!({"contact_id": "x1", "order_title": "x", "order_time": "2026-03-01T12:00:00Z",
                "order_type": "ONLINE", "order_items": [{"product_id": p1, "quantity": 1}]}),
            "contact_id",
        ),
    ] {
        let res = call(&h, &at, Method::POST, &format!("{V2}/orders"), Some(body)).await;
        assert_v2_error(&res, StatusCode::BAD_REQUEST, "INVALID_ARGUMENT", text);
    }

    // A payment makes the delete a 409; v1 says 400 for the same order.
    let pay = call(
        &h,
        &at,
        Method::POST,
        &format!("{V2}/orders/{id}/payments"),
        Some(json!({"payment_amount": 5.0, "apply_to_commissions": false,
                    "payment_method_type": "CASH"})),
    )
    .await;
    pay.assert_status(StatusCode::CREATED);
    let del = call(&h, &at, Method::DELETE, &format!("{V2}/orders/{id}"), None).await;
    assert_v2_error(&del, StatusCode::CONFLICT, "FAILED_PRECONDITION", "");
    call(&h, &at, Method::DELETE, &format!("{V1}/orders/{id}"), None)
        .await
        .assert_status(StatusCode::BAD_REQUEST);

    // An order without payments goes; then 404 over both versions.
    let o2 = call(
        &h,
        &at,
        Method::POST,
        &format!("{V2}/orders"),
        Some(
            json!({"contact_id": c, "order_title": "Second", "order_time": "2026-03-02T12:00:00Z",
                    "order_type": "offline", "order_items": [{"product_id": p2, "quantity": 1}]}),
        ),
    )
    .await
    .json();
    let id2 = o2["id"].as_str().unwrap().to_owned();
    assert_eq!(o2["order_type"], "OFFLINE");
    call(&h, &at, Method::DELETE, &format!("{V2}/orders/{id2}"), None)
        .await
        .assert_status(StatusCode::NO_CONTENT);
    assert_v2_error(
        &call(&h, &at, Method::DELETE, &format!("{V2}/orders/{id2}"), None).await,
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        "",
    );
    get(&h, &at, &format!("{V1}/orders/{id2}"))
        .await
        .assert_status(StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn list_orders_filters_orders_and_pages() {
    let h = Harness::new().await;
    let (at, _) = h.tokens().await;
    let (c, p1, p2) = order_fixture(&h, &at).await;
    let other = ada(&h, &at, "Bob", "bob@example.com").await;
    let mut made = Vec::new();
    for (who, title, when, p, t) in [
        (&c, "Alpha", "2026-03-03T12:00:00Z", &p1, "ONLINE"),
        (&c, "Beta", "2026-03-01T12:00:00Z", &p2, "OFFLINE"),
        (&other, "Gamma", "2026-03-02T12:00:00Z", &p1, "ONLINE"),
    ] {
        let res = call(
            &h,
            &at,
            Method::POST,
            &format!("{V2}/orders"),
            Some(
                json!({"contact_id": who, "order_title": title, "order_time": when,
                        "order_type": t, "order_items": [{"product_id": p, "quantity": 1}]}),
            ),
        )
        .await;
        res.assert_status(StatusCode::CREATED);
        made.push(res.json()["id"].as_str().unwrap().to_owned());
    }
    // Pay Gamma in full.
    call(
        &h,
        &at,
        Method::POST,
        &format!("{V2}/orders/{}/payments", made[2]),
        Some(json!({"payment_amount": 12.5, "apply_to_commissions": true, "payment_method_type": "CHECK"})),
    )
    .await
    .assert_status(StatusCode::CREATED);

    let all = get(&h, &at, &format!("{V2}/orders")).await;
    all.assert_status(StatusCode::OK);
    assert_eq!(ids(&all.json(), "orders"), made);
    assert_eq!(all.json()["next_page_token"], "");
    let f = |q: &str| format!("{V2}/orders?{q}");
    for (q, want) in [
        (format!("filter=contact_id%3D%3D{c}"), vec![0, 1]),
        ("filter=paid%3D%3Dtrue".to_owned(), vec![2]),
        ("filter=paid%3D%3Dfalse".to_owned(), vec![0, 1]),
        (format!("filter=product_id%3D%3D{p1}"), vec![0, 2]),
        ("filter=title%3D%3DAl*".to_owned(), vec![0]),
        ("filter=order_type%3D%3DOFFLINE".to_owned(), vec![1]),
        (format!("filter=id%3E{}", made[0]), vec![1, 2]),
        ("order_by=order_time".to_owned(), vec![1, 2, 0]),
        ("order_by=order_time%20desc".to_owned(), vec![0, 2, 1]),
        ("order_by=id%20desc".to_owned(), vec![2, 1, 0]),
        (
            "filter=created_since_time%3D%3D2000-01-01T00:00:00Z".to_owned(),
            vec![0, 1, 2],
        ),
        (
            "filter=created_until_time%3D%3D2000-01-01T00:00:00Z".to_owned(),
            vec![],
        ),
    ] {
        let res = get(&h, &at, &f(&q)).await;
        res.assert_status(StatusCode::OK);
        let want: Vec<String> = want.iter().map(|i: &usize| made[*i].clone()).collect();
        assert_eq!(ids(&res.json(), "orders"), want, "{q}");
    }
    // The paid order over v1 too.
    let v1 = get(&h, &at, &format!("{V1}/orders?paid=true")).await.json();
    assert_eq!(v1["orders"][0]["id"].to_string(), made[2], "{v1}");
    let v2 = get(&h, &at, &format!("{V2}/orders/{}", made[2]))
        .await
        .json();
    assert_eq!(v2["status"], "PAID");
    assert_eq!(v2["total_paid"], usd(1250, "$12.50"));
    assert_eq!(v2["total_due"], usd(0, "$0.00"));
    assert_eq!(v1["orders"][0]["total_paid"].as_f64(), Some(12.5));

    // Pages.
    let p = get(&h, &at, &f("page_size=2")).await.json();
    assert_eq!(ids(&p, "orders"), made[..2]);
    let token = p["next_page_token"].as_str().unwrap();
    assert!(!token.is_empty());
    let p = get(&h, &at, &f(&format!("page_size=2&page_token={token}")))
        .await
        .json();
    assert_eq!(ids(&p, "orders"), made[2..]);

    for (q, text) in [
        ("filter=paid%3D%3Dmaybe", "paid"),
        ("filter=invoice_xid%3D%3D1", "invoice_xid"),
        ("order_by=title", "order_by"),
        ("filter=order_type%3D%3DRETAIL", "ONLINE or OFFLINE"),
    ] {
        assert_v2_error(
            &get(&h, &at, &f(q)).await,
            StatusCode::BAD_REQUEST,
            "INVALID_ARGUMENT",
            text,
        );
    }
}

#[tokio::test]
async fn order_items_and_payments_share_v1s_rules() {
    let h = Harness::new().await;
    let (at, _) = h.tokens().await;
    let (c, p1, p2) = order_fixture(&h, &at).await;
    let o = call(
        &h,
        &at,
        Method::POST,
        &format!("{V2}/orders"),
        Some(
            json!({"contact_id": c, "order_title": "Items", "order_time": "2026-03-01T12:00:00Z",
                    "order_type": "ONLINE", "order_items": [{"product_id": p1, "quantity": 1}]}),
        ),
    )
    .await
    .json();
    let id = o["id"].as_str().unwrap().to_owned();

    // Add an item: 201 with it; the totals follow over v1 and v2.
    let res = call(
        &h,
        &at,
        Method::POST,
        &format!("{V2}/orders/{id}/items"),
        Some(
            json!({"product_id": p2, "quantity": 3, "price_per_unit": 2.5, "item_type": "PRODUCT"}),
        ),
    )
    .await;
    res.assert_status(StatusCode::CREATED);
    let item = res.json();
    let item_id = item["id"].as_str().unwrap().to_owned();
    assert_eq!(item["price_per_unit"], usd(250, "$2.50"));
    assert_eq!(item["quantity"], 3);
    let got = get(&h, &at, &format!("{V2}/orders/{id}/items/{item_id}")).await;
    got.assert_status(StatusCode::OK);
    assert_eq!(got.json(), item);
    let v2 = get(&h, &at, &format!("{V2}/orders/{id}")).await.json();
    assert_eq!(v2["total"], usd(2000, "$20.00"));
    let v1 = get(&h, &at, &format!("{V1}/orders/{id}")).await.json();
    assert_eq!(v1["total"].as_f64(), Some(20.0));

    for (body, text) in [
        (json!({"quantity": 1}), "product_id is required"),
        (json!({"product_id": p2, "quantity": 0}), "quantity"),
        (
            json!({"product_id": "99999", "quantity": 1}),
            "Product 99999 does not exist",
        ),
        (
            json!({"product_id": p2, "quantity": 1, "item_type": "NOPE"}),
            "item_type",
        ),
    ] {
        let res = call(
            &h,
            &at,
            Method::POST,
            &format!("{V2}/orders/{id}/items"),
            Some(body),
        )
        .await;
        assert_v2_error(&res, StatusCode::BAD_REQUEST, "INVALID_ARGUMENT", text);
    }
    assert_v2_error(
        &call(
            &h,
            &at,
            Method::POST,
            &format!("{V2}/orders/999999/items"),
            Some(json!({"product_id": p2, "quantity": 1})),
        )
        .await,
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        "",
    );
    assert_v2_error(
        &get(&h, &at, &format!("{V2}/orders/{id}/items/999999")).await,
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        "",
    );
    assert_v2_error(
        &get(&h, &at, &format!("{V2}/orders/{id}/items/x")).await,
        StatusCode::BAD_REQUEST,
        "INVALID_ARGUMENT",
        "Invalid id",
    );

    // Payments: more than is due is a 400 and nothing changes.
    let too_much = call(
        &h,
        &at,
        Method::POST,
        &format!("{V2}/orders/{id}/payments"),
        Some(json!({"payment_amount": 20.01, "apply_to_commissions": false, "payment_method_type": "CASH"})),
    )
    .await;
    assert_v2_error(
        &too_much,
        StatusCode::BAD_REQUEST,
        "INVALID_ARGUMENT",
        "more than",
    );
    for (body, text) in [
        (
            json!({"apply_to_commissions": false}),
            "payment_amount is required",
        ),
        (
            json!({"payment_amount": 1}),
            "apply_to_commissions is required",
        ),
        (
            json!({"payment_amount": -1, "apply_to_commissions": false}),
            "payment_amount",
        ),
        (
            json!({"payment_amount": 1, "apply_to_commissions": false, "payment_method_id": "7"}),
            "payment_method_id",
        ),
    ] {
        let res = call(
            &h,
            &at,
            Method::POST,
            &format!("{V2}/orders/{id}/payments"),
            Some(body),
        )
        .await;
        assert_v2_error(&res, StatusCode::BAD_REQUEST, "INVALID_ARGUMENT", text);
    }
    let res = call(
        &h,
        &at,
        Method::POST,
        &format!("{V2}/orders/{id}/payments"),
        Some(json!({"payment_amount": 7.5, "apply_to_commissions": true, "payment_method_type": "CHECK",
                    "notes": "cheque 12"})),
    )
    .await;
    res.assert_status(StatusCode::CREATED);
    let paid = res.json();
    assert_eq!(paid["invoice_id"], id.as_str());
    assert_eq!(paid["payment_amount"], usd(750, "$7.50"));
    let list = get(&h, &at, &format!("{V2}/orders/{id}/payments")).await;
    list.assert_status(StatusCode::OK);
    let list = list.json();
    let pays = list["invoice_order_payments"].as_array().unwrap();
    assert_eq!(pays.len(), 1, "{list}");
    assert_eq!(pays[0]["id"], paid["id"]);
    assert_eq!(pays[0]["amount"], usd(750, "$7.50"));
    assert_eq!(pays[0]["notes"], "cheque 12");
    let v1_pays = get(&h, &at, &format!("{V1}/orders/{id}/payments"))
        .await
        .json();
    assert_eq!(v1_pays[0]["amount"].as_f64(), Some(7.5), "{v1_pays}");
    let v2 = get(&h, &at, &format!("{V2}/orders/{id}")).await.json();
    assert_eq!(v2["total_paid"], usd(750, "$7.50"));
    assert_eq!(v2["total_due"], usd(1250, "$12.50"));
    assert_v2_error(
        &get(&h, &at, &format!("{V2}/orders/999999/payments")).await,
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        "",
    );

    // Removing the item would leave less than was paid? 12.50 remains ≥ 7.50: allowed.
    call(
        &h,
        &at,
        Method::DELETE,
        &format!("{V2}/orders/{id}/items/{item_id}"),
        None,
    )
    .await
    .assert_status(StatusCode::NO_CONTENT);
    assert_v2_error(
        &call(
            &h,
            &at,
            Method::DELETE,
            &format!("{V2}/orders/{id}/items/{item_id}"),
            None,
        )
        .await,
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        "",
    );
    let v1 = get(&h, &at, &format!("{V1}/orders/{id}")).await.json();
    assert_eq!(v1["total"].as_f64(), Some(12.5));
    // The last item cannot go: 0 would be less than the 7.50 paid.
    let first = v1["order_items"][0]["id"].to_string();
    assert_v2_error(
        &call(
            &h,
            &at,
            Method::DELETE,
            &format!("{V2}/orders/{id}/items/{first}"),
            None,
        )
        .await,
        StatusCode::BAD_REQUEST,
        "INVALID_ARGUMENT",
        "",
    );
}

#[tokio::test]
async fn update_order_item_edits_one_item_atomically() {
    let h = Harness::new().await;
    let (at, _) = h.tokens().await;
    let (c, p1, p2) = order_fixture(&h, &at).await;
    let o = call(
        &h,
        &at,
        Method::POST,
        &format!("{V2}/orders"),
        Some(json!({"contact_id": c, "order_title": "Upd", "order_time": "2026-03-01T12:00:00Z",
                    "order_type": "ONLINE",
                    "order_items": [{"product_id": p1, "quantity": 1}, {"product_id": p2, "quantity": 1}]})),
    )
    .await
    .json();
    let id = o["id"].as_str().unwrap().to_owned();
    let item = o["order_items"][0]["id"].as_str().unwrap().to_owned();
    let path = format!("{V2}/orders/{id}/items/{item}");

    let res = call(
        &h,
        &at,
        Method::PATCH,
        &path,
        Some(
            json!({"quantity": 3, "price_per_unit": 2.0, "notes": "Wrap it", "cost_per_unit": 1.0}),
        ),
    )
    .await;
    res.assert_status(StatusCode::OK);
    let it = res.json();
    assert_eq!(it["quantity"], 3);
    assert_eq!(it["price_per_unit"], usd(200, "$2.00"));
    assert_eq!(it["notes"], "Wrap it");
    assert_eq!(it["name"], "Widget");
    let v1 = get(&h, &at, &format!("{V1}/orders/{id}")).await.json();
    assert_eq!(v1["total"].as_f64(), Some(9.0), "{v1}");
    let v2 = get(&h, &at, &format!("{V2}/orders/{id}")).await.json();
    assert_eq!(v2["total"], usd(900, "$9.00"));

    // update_mask: only the named members change.
    let res = call(
        &h,
        &at,
        Method::PATCH,
        &format!("{path}?update_mask=name"),
        Some(json!({"name": "Renamed", "quantity": 9})),
    )
    .await;
    res.assert_status(StatusCode::OK);
    assert_eq!(res.json()["name"], "Renamed");
    assert_eq!(res.json()["quantity"], 3);
    // Another product: the item names it (and its name, unless one is sent).
    let res = call(
        &h,
        &at,
        Method::PATCH,
        &path,
        Some(json!({"product_id": p2})),
    )
    .await;
    res.assert_status(StatusCode::OK);
    assert_eq!(res.json()["product"]["id"], p2.as_str());
    assert_eq!(res.json()["name"], "Gadget");

    for (q, body, text) in [
        ("", json!({"quantity": 0}), "quantity"),
        ("", json!({"name": "  "}), "name must not be blank"),
        ("", json!({"price_per_unit": "1"}), "price_per_unit"),
        ("", json!({"price_per_unit": -1.0}), "price_per_unit"),
        (
            "",
            json!({"product_id": "99999"}),
            "Product 99999 does not exist",
        ),
        ("?update_mask=colour", json!({}), "update_mask"),
    ] {
        let res = call(&h, &at, Method::PATCH, &format!("{path}{q}"), Some(body)).await;
        assert_v2_error(&res, StatusCode::BAD_REQUEST, "INVALID_ARGUMENT", text);
    }
    assert_v2_error(
        &call(
            &h,
            &at,
            Method::PATCH,
            &format!("{V2}/orders/{id}/items/999999"),
            Some(json!({"quantity": 1})),
        )
        .await,
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        "",
    );
    assert_v2_error(
        &call(
            &h,
            &at,
            Method::PATCH,
            &format!("{V2}/orders/999999/items/{item}"),
            Some(json!({"quantity": 1})),
        )
        .await,
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        "",
    );

    // Paid in full: lowering the total below what was paid is refused, nothing changes.
    let due = get(&h, &at, &format!("{V2}/orders/{id}")).await.json()["total_due"]["amount"]
        .as_i64()
        .unwrap();
    call(
        &h,
        &at,
        Method::POST,
        &format!("{V2}/orders/{id}/payments"),
        Some(json!({"payment_amount": due as f64 / 100.0, "apply_to_commissions": false})),
    )
    .await
    .assert_status(StatusCode::CREATED);
    let res = call(&h, &at, Method::PATCH, &path, Some(json!({"quantity": 1}))).await;
    assert_v2_error(
        &res,
        StatusCode::BAD_REQUEST,
        "INVALID_ARGUMENT",
        "below what has been paid",
    );
    let after = get(&h, &at, &path).await.json();
    assert_eq!(after["quantity"], 3);
}

#[tokio::test]
async fn a_v1_order_reads_the_same_over_v2() {
    let h = Harness::new().await;
    let (at, _) = h.tokens().await;
    let (c, p1, _) = order_fixture(&h, &at).await;
    let res = call(
        &h,
        &at,
        Method::POST,
        &format!("{V1}/orders"),
        Some(json!({"contact_id": c.parse::<i64>().unwrap(), "order_date": "2026-03-01T12:00:00.000Z",
                    "order_title": "Over v1", "order_type": "Offline",
                    "order_items": [{"product_id": p1.parse::<i64>().unwrap(), "quantity": 2, "price": "1.255",
                                     "item_type": "SHIPPING"}]})),
    )
    .await;
    res.assert_status(StatusCode::CREATED);
    let id = res.json()["id"].to_string();
    call(
        &h,
        &at,
        Method::POST,
        &format!("{V1}/orders/{id}/payments"),
        Some(json!({"payment_amount": "1.00", "payment_method_type": "CASH"})),
    )
    .await
    .assert_status(StatusCode::CREATED);
    let v1 = get(&h, &at, &format!("{V1}/orders/{id}")).await.json();
    let v2 = get(&h, &at, &format!("{V2}/orders/{id}")).await;
    v2.assert_status(StatusCode::OK);
    let v2 = v2.json();
    assert_eq!(v2["title"], "Over v1");
    assert_eq!(v2["order_type"], "OFFLINE");
    assert_eq!(v2["order_items"][0]["item_type"], "SHIPPING");
    for (k1, k2) in [
        ("total", "total"),
        ("total_paid", "total_paid"),
        ("total_due", "total_due"),
    ] {
        let cents = (v1[k1].as_f64().unwrap() * 100.0).round() as i64;
        assert_eq!(v2[k2]["amount"], cents, "{k1}: {v1} vs {v2}");
    }
    let pays = get(&h, &at, &format!("{V2}/orders/{id}/payments"))
        .await
        .json();
    assert_eq!(
        pays["invoice_order_payments"][0]["amount"],
        usd(100, "$1.00")
    );
    let listed = get(&h, &at, &format!("{V2}/orders?filter=contact_id%3D%3D{c}"))
        .await
        .json();
    assert_eq!(ids(&listed, "orders"), [id]);
}
