//! keapsake's own OpenAPI document (`/openapi.json`, `/docs`) and the anti-drift check: every
//! documented operation is routed, and every operation of Keap's v1 spec that keapsake answers
//! (anything but the unknown-route 404, 405 or the deliberate 501) is documented.

use crate::support::*;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

const METHODS: &[&str] = &["get", "put", "post", "delete", "patch"];

/// `{anything}` → `{}`, so templates compare whatever the parameters are called.
fn normalise(path: &str) -> String {
    let mut out = String::new();
    let mut in_param = false;
    for c in path.chars() {
        match c {
            '{' => {
                in_param = true;
                out.push_str("{}");
            }
            '}' => in_param = false,
            _ if !in_param => out.push(c),
            _ => {}
        }
    }
    out
}

/// `{anything}` → `1`.
fn concrete(path: &str) -> String {
    normalise(path).replace("{}", "1")
}

/// (method, path template) of every operation in an OpenAPI document's `paths`.
fn operations(doc: &serde_json::Value, prefix: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for m in METHODS {
            if item.get(*m).is_some() {
                out.push((m.to_uppercase(), format!("{prefix}{path}")));
            }
        }
    }
    out
}

/// Calls `method path` with a valid token and a harmless body.
async fn call(h: &Harness, token: &str, method: &str, path: &str) -> Resp {
    let method = Method::from_bytes(method.as_bytes()).expect("method");
    let mut req = Request::builder()
        .method(method.clone())
        .uri(concrete(path))
        .header(header::AUTHORIZATION, bearer(token));
    let body = if method == Method::GET || method == Method::DELETE {
        Body::empty()
    } else if path.starts_with("/crm/") {
        req = req.header(header::CONTENT_TYPE, "application/json");
        Body::from("{}")
    } else {
        req = req.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        Body::from("")
    };
    h.send(req.body(body).expect("request")).await
}

/// The router's own "no such route" answers.
fn unrouted(res: &Resp) -> bool {
    res.status == StatusCode::METHOD_NOT_ALLOWED
        || (res.status == StatusCode::NOT_FOUND
            && serde_json::from_slice::<serde_json::Value>(&res.body).ok()
                == Some(serde_json::json!({"message": "Not Found"})))
}

/// Keap's v1 OpenAPI document: `$KEAPSAKE_SHARED/keap/openapi-v1.json`, or the first
/// `shared/keap/openapi-v1.json` found walking up from this crate.
fn keap_spec_path() -> PathBuf {
    if let Ok(dir) = std::env::var("KEAPSAKE_SHARED") {
        for p in [
            Path::new(&dir).join("keap/openapi-v1.json"),
            Path::new(&dir).join("openapi-v1.json"),
        ] {
            if p.is_file() {
                return p;
            }
        }
        panic!("KEAPSAKE_SHARED={dir} holds no keap/openapi-v1.json");
    }
    let mut dir = Some(Path::new(env!("CARGO_MANIFEST_DIR")));
    while let Some(d) = dir {
        let p = d.join("shared/keap/openapi-v1.json");
        if p.is_file() {
            return p;
        }
        dir = d.parent();
    }
    panic!(
        "no shared/keap/openapi-v1.json above {}; set KEAPSAKE_SHARED",
        env!("CARGO_MANIFEST_DIR")
    )
}

#[tokio::test]
async fn openapi_json_is_served_without_auth_and_describes_keapsake() {
    let h = Harness::new().await;
    let res = h.get("/openapi.json", None).await;
    res.assert_status(StatusCode::OK);
    let doc = res.json();
    assert_eq!(doc["info"]["title"], "keapsake");
    assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(
        schemes["oauth2"]["flows"]["authorizationCode"]["tokenUrl"],
        "/token"
    );
    assert_eq!(schemes["api_key"]["name"], "X-Keap-API-Key");
    assert_eq!(schemes["access_token"]["in"], "query");
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    let contacts = &doc["paths"]["/crm/rest/v1/contacts"];
    assert!(contacts["post"]["responses"]["201"].is_object());
    assert!(doc["paths"]["/crm/rest/v1/tags"]["post"]["responses"]["200"].is_object());
    assert!(doc["paths"]["/crm/rest/v1/contacts/{id}"]["delete"]["responses"]["204"].is_object());
    assert_eq!(
        doc,
        serde_json::to_value(keapsake_server::openapi::document()).unwrap()
    );
}

#[tokio::test]
async fn docs_page_lists_operations_without_third_party_resources() {
    let h = Harness::new().await;
    let res = h.get("/docs", None).await;
    res.assert_status(StatusCode::OK);
    assert!(res.header("content-type").unwrap().starts_with("text/html"));
    let text = res.text();
    assert!(text.contains("GET /crm/rest/v1/contacts/{id}"));
    assert!(text.contains("POST /token"));
    assert!(text.contains("<h2>Contacts</h2>"));
    assert!(!text.contains("https://"), "no third-party resources");
    assert!(!text.contains("<script"), "no JavaScript");
}

#[tokio::test]
async fn every_documented_operation_is_routed() {
    let h = Harness::new().await;
    let (token, _) = h.tokens().await;
    let doc = serde_json::to_value(keapsake_server::openapi::document()).unwrap();
    let ops = operations(&doc, "");
    assert!(ops.len() > 50, "{} operations", ops.len());
    let mut missing = Vec::new();
    for (method, path) in &ops {
        let res = call(&h, &token, method, path).await;
        if unrouted(&res) || res.status == StatusCode::NOT_IMPLEMENTED {
            missing.push(format!("{method} {path} -> {} {}", res.status, res.text()));
        }
    }
    assert!(
        missing.is_empty(),
        "documented but not routed:\n{}",
        missing.join("\n")
    );
}

#[tokio::test]
async fn every_implemented_keap_v1_operation_is_documented() {
    let h = Harness::new().await;
    let (token, _) = h.tokens().await;
    let text = std::fs::read_to_string(keap_spec_path()).expect("keap spec");
    let spec: serde_json::Value = serde_json::from_str(&text).expect("keap spec JSON");
    let doc = serde_json::to_value(keapsake_server::openapi::document()).unwrap();
    let documented: BTreeSet<(String, String)> = operations(&doc, "")
        .into_iter()
        .map(|(m, p)| (m, normalise(&p)))
        .collect();
    let mut answered = 0;
    let mut undocumented = Vec::new();
    for (method, path) in operations(&spec, "/crm/rest") {
        let res = call(&h, &token, &method, &path).await;
        if unrouted(&res) || res.status == StatusCode::NOT_IMPLEMENTED {
            continue;
        }
        answered += 1;
        if !documented.contains(&(method.clone(), normalise(&path))) {
            undocumented.push(format!("{method} {path} -> {}", res.status));
        }
    }
    assert!(answered > 40, "only {answered} Keap operations answered");
    assert!(
        undocumented.is_empty(),
        "implemented but missing from /openapi.json:\n{}",
        undocumented.join("\n")
    );
}
