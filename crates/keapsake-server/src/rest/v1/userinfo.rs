//! `GET /crm/rest/v1/oauth/connect/userinfo` (`keap/oauth.md` §9).

use crate::error::ApiError;
use crate::extract::Principal;
use crate::rest::acting_user;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use keapsake_core::store::{Membership, User};
use keapsake_types::UserInfoV1;

/// The display name: given and family name, or the e-mail when both are empty.
pub(crate) fn preferred_name(user: &User) -> String {
    let name = format!("{} {}", user.given_name, user.family_name);
    let name = name.trim();
    if name.is_empty() {
        user.email.clone()
    } else {
        name.to_owned()
    }
}

/// The v1 body for a user and their membership of the token's account.
pub(crate) fn body(user: &User, membership: Option<&Membership>) -> UserInfoV1 {
    UserInfoV1 {
        email: user.email.clone(),
        family_name: user.family_name.clone(),
        given_name: user.given_name.clone(),
        global_user_id: user.id.0,
        infusionsoft_id: user.email.clone(),
        is_admin: membership.is_some_and(|m| m.is_admin),
        middle_name: String::new(),
        preferred_name: preferred_name(user),
        sub: user.id.to_string(),
    }
}

/// Who the credential acts as.
///
/// # Errors
/// 403 for a key that acts as no user; store failures.
#[utoipa::path(
    get,
    path = "/crm/rest/v1/oauth/connect/userinfo",
    tag = "Userinfo",
    responses((status = 200, description = "The user the credential acts as", body = serde_json::Value), (status = 401, description = "Missing or invalid credential")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn get(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<UserInfoV1>, ApiError> {
    let (user, membership) = acting_user(&state, &principal)
        .await?
        .ok_or_else(|| ApiError::forbidden("This credential does not act as a user"))?;
    Ok(Json(body(&user, membership.as_ref())))
}
