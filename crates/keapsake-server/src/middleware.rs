//! Cross-cutting layers: security headers on HTML, trailing-slash leniency on REST paths, the
//! request timeout, and the panic handler. Each renders errors in the dialect of the path
//! ([`Shape`]), never axum's `text/plain` defaults.

use crate::error::Shape;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::time::Duration;

/// The Content-Security-Policy of every HTML page. No `form-action`: Chrome applies it to the
/// redirect that follows the consent post, which goes to the client's own origin.
pub const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'";

/// Total time a request may take before it is answered with 408.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Adds the HTML security headers (SECURITY.md §1) to every `text/html` response, and
/// `X-Content-Type-Options: nosniff` to every response.
pub async fn security_headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let is_html = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| {
            ct.trim_start()
                .to_ascii_lowercase()
                .starts_with("text/html")
        });
    let h = res.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if is_html {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        );
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        h.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        );
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}

/// REST v2 colon verbs (`/contacts:merge`) sent percent-encoded (`/contacts%3Amerge`): the
/// encoded colon is decoded before routing, so both spellings reach the same route
/// (`keap/rest-v2.md` §1).
fn decode_colons(path: &str) -> std::borrow::Cow<'_, str> {
    if path.starts_with("/crm/rest/v2/") && (path.contains("%3A") || path.contains("%3a")) {
        std::borrow::Cow::Owned(path.replace("%3A", ":").replace("%3a", ":"))
    } else {
        std::borrow::Cow::Borrowed(path)
    }
}

/// Accepts an optional trailing slash on REST paths (`keap/oauth.md` §1: the PHP SDK posts to
/// `.../contacts/`) by removing it before routing, and decodes `%3A` in REST v2 paths (colon
/// verbs).
pub async fn trim_trailing_slash(mut req: Request, next: Next) -> Response {
    let decoded = decode_colons(req.uri().path());
    let changed = matches!(decoded, std::borrow::Cow::Owned(_));
    let path = decoded.into_owned();
    let trailing = path.starts_with("/crm/") && path.len() > 1 && path.ends_with('/');
    if trailing || changed {
        let trimmed = if trailing {
            path.trim_end_matches('/')
        } else {
            &path
        };
        let trimmed = if trimmed.is_empty() { "/" } else { trimmed };
        let rebuilt = match req.uri().query() {
            Some(q) => format!("{trimmed}?{q}"),
            None => trimmed.to_owned(),
        };
        if let Ok(pq) = rebuilt.parse::<axum::http::uri::PathAndQuery>() {
            let mut parts = req.uri().clone().into_parts();
            parts.path_and_query = Some(pq);
            if let Ok(uri) = Uri::from_parts(parts) {
                *req.uri_mut() = uri;
            }
        }
    }
    next.run(req).await
}

/// Answers 408 in the path's dialect when a request takes longer than [`REQUEST_TIMEOUT`].
pub async fn timeout(req: Request, next: Next) -> Response {
    let shape = Shape::for_path(req.uri().path());
    match tokio::time::timeout(REQUEST_TIMEOUT, next.run(req)).await {
        Ok(res) => res,
        Err(_) => {
            tracing::warn!("request timed out");
            shape.error(StatusCode::REQUEST_TIMEOUT, "The request took too long")
        }
    }
}

/// The catch-panic handler: a JSON 500 that reveals nothing. Should never fire.
pub fn panic_response(_panic: Box<dyn std::any::Any + Send + 'static>) -> Response<Body> {
    tracing::error!("a handler panicked");
    crate::error::ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
        .into_response()
}
