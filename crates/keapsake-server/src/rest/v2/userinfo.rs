//! `GET /crm/rest/v2/oauth/connect/userinfo` (`keap/oauth.md` §9): every member a string but
//! `is_admin`.

use crate::error::V2Error;
use crate::extract::Principal;
use crate::rest::{acting_user, v1::userinfo::preferred_name};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use keapsake_types::UserInfoV2;

/// Who the credential acts as.
///
/// # Errors
/// 403 for a key that acts as no user; store failures.
#[utoipa::path(
    get,
    path = "/crm/rest/v2/oauth/connect/userinfo",
    tag = "Userinfo",
    responses((status = 200, description = "The user the credential acts as (v2 shape)", body = serde_json::Value), (status = 401, description = "Missing or invalid credential")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn get(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<UserInfoV2>, V2Error> {
    let (user, membership) = acting_user(&state, &principal).await?.ok_or_else(|| {
        V2Error::new(
            StatusCode::FORBIDDEN,
            "This credential does not act as a user",
        )
    })?;
    let account = state.store.get_account(principal.account_id).await?;
    Ok(Json(UserInfoV2 {
        email: user.email.clone(),
        sub: user.id.to_string(),
        id: user.id.to_string(),
        keap_id: user.email.clone(),
        family_name: user.family_name.clone(),
        given_name: user.given_name.clone(),
        middle_name: String::new(),
        preferred_name: preferred_name(&user),
        is_admin: membership.is_some_and(|m| m.is_admin),
        tenant_id: account.alias,
    }))
}
