//! The REST APIs: v1 at `/crm/rest/v1` and v2 at `/crm/rest/v2`. Every route authenticates
//! with [`crate::extract::Principal`]; unknown paths authenticate first (401) and then answer
//! 404 in the version's error shape (`keap/oauth.md` §6).

pub mod v1;
pub mod v2;

use crate::error::Shape;
use crate::extract::{AuthRejection, Presented, Principal, presented_credential, resolve};
use crate::state::AppState;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use keapsake_core::StoreError;
use keapsake_core::store::{Membership, User};

/// All REST routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .nest("/crm/rest/v1", v1::routes())
        .nest("/crm/rest/v2", v2::routes())
}

/// The user a credential acts as, with their membership of the credential's account.
/// `Ok(None)` when the credential acts as no user (a service key without a creator).
///
/// # Errors
/// Store failures.
pub(crate) async fn acting_user(
    state: &AppState,
    principal: &Principal,
) -> Result<Option<(User, Option<Membership>)>, StoreError> {
    let Some(user_id) = principal.user_id else {
        return Ok(None);
    };
    let user = match state.store.get_user(user_id).await {
        Ok(u) => u,
        Err(StoreError::NotFound) => return Ok(None),
        Err(e) => return Err(e),
    };
    let membership = state
        .store
        .membership(principal.account_id, user_id)
        .await?;
    Ok(Some((user, membership)))
}

/// Authenticates a request that matched no handler, for paths under `/crm/` (Keap's gateway
/// checks credentials before routing). `Some` is the 401 to send.
async fn gateway_auth(state: &AppState, headers: &HeaderMap, uri: &Uri) -> Option<Response> {
    if !uri.path().starts_with("/crm/") {
        return None;
    }
    let result = match presented_credential(headers, uri.query()) {
        Presented::Missing => Err(AuthRejection::Missing),
        Presented::Token(t) => resolve(state, &t).await.map(|_| ()),
    };
    result.err().map(IntoResponse::into_response)
}

/// The router fallback: unknown REST paths authenticate first, then 404 in their dialect;
/// anything else is a v1-style 404.
pub(crate) async fn not_found(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    if let Some(res) = gateway_auth(&state, &headers, &uri).await {
        return res;
    }
    Shape::for_path(uri.path()).error(StatusCode::NOT_FOUND, "Not Found")
}

/// The method-not-allowed fallback: REST paths authenticate first, then 405 in their dialect
/// (axum adds the `Allow` header).
pub(crate) async fn method_not_allowed(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    if let Some(res) = gateway_auth(&state, &headers, &uri).await {
        return res;
    }
    Shape::for_path(uri.path()).error(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed")
}
