//! The XML-RPC API (`keap/xmlrpc.md`): `POST /crm/xmlrpc/v1` and its aliases `/crm/xmlrpc`
//! and `/api/xmlrpc`.
//!
//! One axum handler on top of the codec (no dxr_server: it answers 411 without
//! Content-Length, sees only headers, and echoes errors). It reads the body under a size cap,
//! decodes ([`codec`]), authenticates ([`auth`]) and dispatches ([`dispatch`]) to a service
//! module; every answer is HTTP 200 `text/xml` with a result or a `<fault>`, except a
//! header/query credential that is invalid (401 JSON, as REST) and non-POST methods (405).

pub mod auth;
pub mod codec;
pub mod commerce;
pub mod dispatch;
pub mod fault;
pub mod query;
pub mod services;
pub mod tables;
pub mod tz;

use crate::extract::read_body;
use crate::state::AppState;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use codec::{XValue, encode_fault, encode_response};
use fault::{Code, Fault};

/// The XML-RPC paths (§1).
pub const PATHS: [&str; 3] = ["/crm/xmlrpc/v1", "/crm/xmlrpc", "/api/xmlrpc"];

/// XML-RPC routes.
pub fn routes() -> Router<AppState> {
    let mut r = Router::new();
    for p in PATHS {
        r = r.route(p, post(handle).fallback(not_post));
    }
    r
}

fn xml(body: String) -> Response {
    let mut res = (StatusCode::OK, body).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/xml; charset=UTF-8"),
    );
    res
}

/// A fault response (HTTP 200).
pub fn fault_response(f: &Fault) -> Response {
    xml(encode_fault(f.code.number(), &f.fault_string()))
}

/// A success response (HTTP 200).
pub fn value_response(v: &XValue) -> Response {
    xml(encode_response(v))
}

/// Anything but `POST` on an XML-RPC path: 405 (`keap/xmlrpc.md` §1), before any
/// authentication.
async fn not_post() -> Response {
    let mut res = (
        StatusCode::METHOD_NOT_ALLOWED,
        "Method Not Allowed: use POST",
    )
        .into_response();
    res.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("POST"));
    res
}

/// `POST` on an XML-RPC path.
async fn handle(State(state): State<AppState>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let Some(bytes) = read_body(body, codec::MAX_BODY).await else {
        return fault_response(&Fault::invalid(format!(
            "The request body exceeds {} bytes",
            codec::MAX_BODY
        )));
    };
    let call = match codec::decode(&bytes) {
        Ok(c) => c,
        // The message names the rule broken, never the input (it holds the key).
        Err(e) => return fault_response(&Fault::invalid(e.to_string())),
    };
    drop(bytes);
    let codec::Call { method, params } = call;
    let span = tracing::info_span!("xmlrpc", method = %fault::printable(&method, 80));
    let _enter = span.enter();
    drop(_enter);
    if method.ends_with(".echo") && dispatch::known_service(&method) {
        // Connectivity ping: no credential, the value unchanged (§2).
        return value_response(
            &params
                .into_iter()
                .last()
                .unwrap_or(XValue::Str(String::new())),
        );
    }
    // Faults may name what the request named (a method, table, field, setting); a key put in
    // such a place by mistake must still not come back in the answer.
    let mut keys: Vec<String> = Vec::new();
    if let Some(XValue::Str(k)) = params.first() {
        keys.push(k.trim().to_owned());
    }
    if let Some(k) = parts
        .headers
        .get("x-keap-api-key")
        .and_then(|v| v.to_str().ok())
    {
        keys.push(k.trim().to_owned());
    }
    let scrub = |f: Fault| fault::without_keys(f, &keys);
    let (principal, params) = match auth::authenticate(&state, &parts, &method, params).await {
        Ok(ok) => ok,
        Err(auth::Refused::Http(res)) => return res,
        Err(auth::Refused::Fault(f)) => return fault_response(&scrub(f)),
    };
    let cx = dispatch::Cx::new(state, principal);
    match dispatch::dispatch(&cx, &method, dispatch::Args::new(params)).await {
        Ok(v) => value_response(&v),
        Err(f) => {
            if f.code == Code::DatabaseError {
                tracing::warn!("xml-rpc call failed internally");
            }
            fault_response(&scrub(f))
        }
    }
}
