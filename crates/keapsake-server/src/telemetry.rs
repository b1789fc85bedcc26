//! Logs: a tracing span per request carrying a request id, the method, the path and the query
//! with credential values replaced by `[redacted]` (SECURITY.md §3). tower-http's default span
//! would log the full URI, `?access_token=` included, so it is never used.

use crate::params::redact_query;
use axum::extract::{ConnectInfo, Request};
use axum::http::HeaderName;
use std::net::SocketAddr;
use tracing::Span;

/// Query parameters whose values never reach the logs.
pub const SECRET_PARAMS: &[&str] = &[
    "access_token",
    "code",
    "refresh_token",
    "client_secret",
    "password",
    "state",
    "code_verifier",
    "token",
    "api_key",
];

/// Headers tower-http marks sensitive (so no layer prints them).
pub fn sensitive_headers() -> [HeaderName; 5] {
    [
        axum::http::header::AUTHORIZATION,
        axum::http::header::COOKIE,
        axum::http::header::SET_COOKIE,
        HeaderName::from_static("x-keap-api-key"),
        HeaderName::from_static("x-hook-secret"),
    ]
}

/// The request id header.
pub const REQUEST_ID: &str = "x-request-id";

/// Builds the span of one request. `trust_forwarded` takes the client address from
/// `X-Forwarded-For` instead of the socket.
pub fn make_span(trust_forwarded: bool) -> impl Fn(&Request) -> Span + Clone {
    move |req: &Request| {
        let request_id = req
            .headers()
            .get(REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("-");
        let query = req
            .uri()
            .query()
            .map(|q| redact_query(q, SECRET_PARAMS))
            .unwrap_or_default();
        let forwarded = trust_forwarded
            .then(|| {
                req.headers()
                    .get("x-forwarded-for")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.split(',').next())
                    .map(|v| v.trim().to_owned())
            })
            .flatten();
        let remote = forwarded.or_else(|| {
            req.extensions()
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip().to_string())
        });
        tracing::info_span!(
            "request",
            id = %request_id,
            method = %req.method(),
            path = %req.uri().path(),
            query = %query,
            remote = remote.as_deref().unwrap_or("-"),
            account = tracing::field::Empty,
        )
    }
}

/// Installs the global subscriber for the CLI: `RUST_LOG` filter (default `info`), text or JSON
/// lines on stderr. A second call is a no-op.
pub fn init_tracing(json: bool) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}
