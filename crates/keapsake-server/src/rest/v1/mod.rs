//! REST v1 (`keap/rest-v1.md`). Errors are `{"message": …}`.

pub mod account;
pub mod contacts;
pub mod list;
pub mod tags;
pub mod userinfo;

use crate::state::AppState;
use axum::Router;
use axum::routing::get;

/// v1 routes, relative to `/crm/rest/v1`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/oauth/connect/userinfo", get(userinfo::get))
        .route("/account/profile", get(account::get).put(account::put))
        .merge(contacts::routes())
        .merge(tags::routes())
}
