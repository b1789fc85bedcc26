//! `/users` (`keap/rest-v1.md` §11): the account's members as `RestUser`s, and a user's
//! e-mail signature. Inviting users (`POST /users`) is deliberately not implemented (501):
//! keapsake adds members through its admin CLI.
//!
//! Every member is `Active` and none is a partner, so `include_inactive` and
//! `include_partners` never change the result (they are still checked to be booleans).

use super::common::{bool_param, unimplemented};
use super::list::{Envelope, Ids, V1Query, not_found};
use crate::error::{ApiError, json};
use crate::extract::Principal;
use crate::rest::v1::userinfo::preferred_name;
use crate::state::AppState;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use keapsake_core::crm::date::format_datetime;
use keapsake_core::store::User;
use keapsake_core::{AccountId, StoreError, UserId};
use serde_json::{Value, json};

const USER: &str = "User";

/// User routes, relative to `/crm/rest/v1`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/users", get(list).post(unimplemented))
        .route("/users/{id}/signature", get(signature))
}

/// A member as v1's `RestUser`.
fn render(user: &User, company_name: &str, time_zone: Option<&str>) -> Value {
    json!({
        "id": user.id.0,
        "global_user_id": user.id.0,
        "infusionsoft_id": user.email,
        "email_address": user.email,
        "given_name": user.given_name,
        "middle_name": null,
        "family_name": user.family_name,
        "preferred_name": preferred_name(user),
        "company_name": company_name,
        "job_title": null,
        "status": "Active",
        "partner": false,
        "time_zone": time_zone,
        "website": null,
        "phone_numbers": [],
        "fax_numbers": [],
        "address": null,
        "date_created": format_datetime(user.created_at),
        "last_updated": format_datetime(user.created_at),
        "created_by": null,
        "last_updated_by": null,
    })
}

/// The account's members, by user id.
async fn members(state: &AppState, account: AccountId) -> Result<Vec<User>, ApiError> {
    let mut out = Vec::new();
    for user in state.store.list_users().await? {
        if state.store.membership(account, user.id).await?.is_some() {
            out.push(user);
        }
    }
    out.sort_by_key(|u| u.id.0);
    Ok(out)
}

/// `GET /users`: the account's members, paged (`limit`, `offset`).
///
/// # Errors
/// 400 for a bad parameter.
#[utoipa::path(
    get,
    path = "/crm/rest/v1/users",
    tag = "Users",
    params(("limit" = Option<i64>, Query, description = "Page size"), ("offset" = Option<i64>, Query, description = "Records to skip")),
    responses((status = 200, description = "The account's users", body = serde_json::Value), (status = 401, description = "Missing or invalid credential")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    uri: Uri,
) -> Result<Response, ApiError> {
    let q = V1Query::from_uri(&uri);
    let paging = q.paging()?;
    bool_param(&q, "include_inactive")?;
    bool_param(&q, "include_partners")?;
    let account = principal.account_id;
    let users = members(&state, account).await?;
    let company = state.store.get_account(account).await?.name;
    let profile = state.store.get_profile(account).await?;
    let total = i64::try_from(users.len()).unwrap_or(i64::MAX);
    let items = users
        .iter()
        .skip(usize::try_from(paging.offset).unwrap_or(usize::MAX))
        .take(usize::try_from(paging.limit).unwrap_or(usize::MAX))
        .map(|u| render(u, &company, profile.time_zone.as_deref()))
        .collect();
    Ok(Envelope::new(&state, "users", "users", items, total, paging, &q).into_response())
}

/// `GET /users/{id}/signature`: the user's e-mail signature as a JSON string of HTML.
/// keapsake stores no signatures, so a member's is the empty string.
///
/// # Errors
/// 404 `Unable to find this User` unless the user is a member of the account.
#[utoipa::path(
    get,
    path = "/crm/rest/v1/users/{id}/signature",
    tag = "Users",
    params(("id" = i64, Path, description = "User id")),
    responses((status = 200, description = "The user's email signature", body = serde_json::Value), (status = 401, description = "Missing or invalid credential"), (status = 404, description = "No such record")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn signature(
    State(state): State<AppState>,
    principal: Principal,
    Ids(id): Ids<i64>,
) -> Result<Response, ApiError> {
    match state
        .store
        .membership(principal.account_id, UserId(id))
        .await
    {
        Ok(Some(_)) => Ok(json(StatusCode::OK, &"")),
        Ok(None) | Err(StoreError::NotFound) => Err(not_found(USER)),
        Err(e) => Err(e.into()),
    }
}
