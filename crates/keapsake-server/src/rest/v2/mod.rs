//! REST v2 (`keap/rest-v2.md`). Errors are `{"code","message","status","details"}`.

pub mod userinfo;

use crate::state::AppState;
use axum::Router;
use axum::routing::get;

/// v2 routes, relative to `/crm/rest/v2`.
pub fn routes() -> Router<AppState> {
    Router::new().route("/oauth/connect/userinfo", get(userinfo::get))
}
