//! The authorization server: the browser flow (`/app/oauth/*`), the token endpoint, and the
//! RFC 7009/7662/8414 extensions.

pub mod authorize;
pub mod client;
pub mod extensions;
pub mod pages;
pub mod session;
pub mod token;

use crate::state::AppState;
use axum::Router;
use axum::routing::{get, post};

/// The OAuth routes. Paths are Keap's (`keap/oauth.md` §1).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/app/oauth/authorize",
            get(authorize::get).post(authorize::post),
        )
        .route("/app/oauth/logout", post(authorize::logout))
        .route("/token", post(token::token))
        .route("/oauth/revoke", post(extensions::revoke))
        .route("/oauth/introspect", post(extensions::introspect))
        .route(
            "/.well-known/oauth-authorization-server",
            get(extensions::metadata),
        )
}
