//! REST v1 (`keap/rest-v1.md`). Errors are `{"message": …}`.

pub mod account;
pub mod body;
pub mod cards;
pub mod common;
pub mod companies;
pub mod contacts;
pub mod emails;
pub mod hooks;
pub mod list;
pub mod notes;
pub mod opportunities;
pub mod orders;
mod owned;
pub mod products;
pub mod settings;
pub mod subscriptions;
pub mod tags;
pub mod tasks;
pub mod unimplemented;
pub mod userinfo;
pub mod users;

use crate::state::AppState;
use axum::Router;
use axum::routing::get;

/// v1 routes, relative to `/crm/rest/v1`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/oauth/connect/userinfo", get(userinfo::get))
        .route("/account/profile", get(account::get).put(account::put))
        .merge(contacts::routes())
        .merge(cards::routes())
        .merge(emails::routes())
        .merge(tags::routes())
        .merge(hooks::routes())
        .merge(companies::routes())
        .merge(notes::routes())
        .merge(tasks::routes())
        .merge(opportunities::routes())
        .merge(products::routes())
        .merge(orders::routes())
        .merge(subscriptions::routes())
        .merge(settings::routes())
        .merge(users::routes())
        .merge(unimplemented::routes())
        // Outermost: a body the handler left unread is read before the response goes out.
        .layer(axum::middleware::from_fn(body::drain_unread_body))
}
