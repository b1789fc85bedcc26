//! The keapsake HTTP server: a Keap-compatible OAuth 2.0 authorization server
//! (`/app/oauth/authorize`, `/token`) and the Keap resource APIs, on any
//! [`keapsake_core::Store`].
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! use keapsake_server::{Config, Server, open_store};
//! use keapsake_store_sqlite::Durability;
//! let store = open_store("keapsake.db", Durability::default()).await.map_err(std::io::Error::other)?;
//! let clock = std::sync::Arc::new(keapsake_core::SystemClock);
//! let server = Server::bind(Config::default(), store, clock).await?;
//! println!("listening on {}", server.url());
//! server.run(async { let _ = tokio::signal::ctrl_c().await; }).await
//! # }
//! ```
//!
//! Wire contract: `keap/oauth.md`. Extensions beyond Keap: `POST /oauth/revoke` (RFC 7009),
//! `POST /oauth/introspect` (RFC 7662), `GET /.well-known/oauth-authorization-server`
//! (RFC 8414), `GET /healthz`, and `GET /demo/callback` when [`Config::demo`] is set.

pub mod config;
pub mod demo;
pub mod error;
pub mod extract;
pub mod links;
pub mod mail;
pub mod merge;
pub mod middleware;
pub mod oauth;
pub mod openapi;
pub mod params;
pub mod quota;
pub mod rest;
pub mod server;
pub mod state;
pub mod telemetry;
pub mod throttle;
pub mod webhooks;
pub mod xmlrpc;

pub use config::{Config, SmtpRelay, TlsConfig};
pub use extract::{Principal, Via};
pub use quota::Profile;
pub use server::{Server, open_store};
pub use state::AppState;
pub use telemetry::init_tracing;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::sensitive_headers::{
    SetSensitiveRequestHeadersLayer, SetSensitiveResponseHeadersLayer,
};
use tower_http::trace::{DefaultOnResponse, TraceLayer};

/// The stylesheet of the HTML pages, served by keapsake itself (no third-party resources).
const CSS: &str = include_str!("../assets/keapsake.css");

/// Builds the whole application: every route, the fallbacks and the middleware stack.
pub fn router(state: AppState) -> Router {
    let trust_forwarded = state.config.trust_forwarded;
    let quota = axum::middleware::from_fn_with_state(state.clone(), quota::enforce);
    let mut app = Router::new()
        .merge(oauth::routes())
        .merge(rest::routes())
        .merge(mail::admin::routes())
        .merge(xmlrpc::routes())
        .route("/healthz", get(healthz))
        .route("/openapi.json", get(openapi::openapi_json))
        .route("/docs", get(openapi::docs))
        .route("/assets/keapsake.css", get(css));
    if state.config.demo {
        app = app.route("/demo/callback", get(demo::callback));
    }
    let app = app
        .fallback(rest::not_found)
        .method_not_allowed_fallback(rest::method_not_allowed)
        .with_state(state);

    let request_id = axum::http::HeaderName::from_static(telemetry::REQUEST_ID);
    // Outermost first. The trailing-slash rewrite wraps the routed app so it runs before
    // routing; everything else wraps that. The quota layer sits right on the app, so its 429s
    // get the request id, security headers and timeout like every other response.
    Router::new()
        .fallback_service(app)
        .layer(quota)
        .layer(axum::middleware::from_fn(middleware::trim_trailing_slash))
        .layer(
            ServiceBuilder::new()
                .layer(SetSensitiveRequestHeadersLayer::new(
                    telemetry::sensitive_headers(),
                ))
                .layer(SetRequestIdLayer::new(request_id.clone(), MakeRequestUuid))
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(telemetry::make_span(trust_forwarded))
                        .on_response(DefaultOnResponse::new().level(tracing::Level::DEBUG)),
                )
                .layer(PropagateRequestIdLayer::new(request_id))
                .layer(SetSensitiveResponseHeadersLayer::new(
                    telemetry::sensitive_headers(),
                ))
                .layer(axum::middleware::from_fn(middleware::security_headers))
                .layer(CatchPanicLayer::custom(middleware::panic_response))
                .layer(axum::middleware::from_fn(middleware::timeout)),
        )
}

/// The `/healthz` body.
#[derive(serde::Serialize)]
struct Health {
    status: &'static str,
    backend: &'static str,
}

/// `GET /healthz`: 200 `{"status":"ok","backend":…}` after a store round trip, else 503
/// `{"status":"unavailable",…}`.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "Meta",
    responses((status = 200, description = "Healthy", body = serde_json::Value), (status = 503, description = "Store unavailable", body = serde_json::Value))
)]
async fn healthz(State(state): State<AppState>) -> Response {
    let backend = state.store.backend();
    match state.store.ping().await {
        Ok(()) => error::json(
            StatusCode::OK,
            &Health {
                status: "ok",
                backend,
            },
        ),
        Err(e) => {
            tracing::warn!(error = %e, "health check failed");
            error::json(
                StatusCode::SERVICE_UNAVAILABLE,
                &Health {
                    status: "unavailable",
                    backend,
                },
            )
        }
    }
}

/// `GET /assets/keapsake.css`.
async fn css() -> Response {
    let mut res = CSS.into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    res
}
