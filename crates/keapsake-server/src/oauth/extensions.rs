//! Extensions beyond Keap (Keap publishes none of these; `keap/oauth.md` §1 allows them):
//! `POST /oauth/revoke` (RFC 7009), `POST /oauth/introspect` (RFC 7662) and
//! `GET /.well-known/oauth-authorization-server` (RFC 8414). No Keap client needs them.

use crate::error::{OAuthError, json, oauth_json};
use crate::oauth::client;
use crate::oauth::token::read_form;
use crate::state::AppState;
use crate::throttle::ClientIp;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use keapsake_core::store::Grant;
use keapsake_core::{Secret, oauth};
use serde::Serialize;

/// `POST /oauth/revoke`: revokes the whole family of an access or refresh token owned by the
/// authenticated client. Unknown tokens, and other clients' tokens, also answer 200 (RFC 7009
/// §2.2) and change nothing.
#[utoipa::path(
    post,
    path = "/oauth/revoke",
    tag = "OAuth",
    request_body(content = String, content_type = "application/x-www-form-urlencoded", description = "Form parameters"),
    responses((status = 200, description = "Revoked (or unknown token)", body = serde_json::Value), (status = 400, description = "OAuth error"), (status = 401, description = "invalid_client"))
)]
pub async fn revoke(
    State(state): State<AppState>,
    ip: ClientIp,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let result = async {
        let form = read_form(&headers, body).await?;
        let app = client::authenticate(&state, &ip, &headers, &form).await?;
        let token = form
            .get_nonempty("token")
            .map_err(|_| OAuthError::invalid_request("token is not valid UTF-8"))?
            .ok_or_else(|| OAuthError::invalid_request("token is required"))?;
        let revoked = state
            .store
            .revoke_token(&Secret::new(token).hash(), app.id, state.clock.now())
            .await?;
        if revoked {
            tracing::info!(client = %app.client_id, "token family revoked");
        }
        Ok::<_, OAuthError>(oauth_json(StatusCode::OK, &serde_json::json!({})))
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

/// RFC 7662 §2.2 response.
#[derive(Debug, Serialize, Default)]
struct Introspection {
    active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    token_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    exp: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sub: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    iss: Option<String>,
}

/// `POST /oauth/introspect`: `active` only for the authenticated client's own live tokens.
#[utoipa::path(
    post,
    path = "/oauth/introspect",
    tag = "OAuth",
    request_body(content = String, content_type = "application/x-www-form-urlencoded", description = "Form parameters"),
    responses((status = 200, description = "RFC 7662 introspection response", body = serde_json::Value), (status = 400, description = "OAuth error"), (status = 401, description = "invalid_client"))
)]
pub async fn introspect(
    State(state): State<AppState>,
    ip: ClientIp,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let result = async {
        let form = read_form(&headers, body).await?;
        let app = client::authenticate(&state, &ip, &headers, &form).await?;
        let token = form
            .get_nonempty("token")
            .map_err(|_| OAuthError::invalid_request("token is not valid UTF-8"))?
            .ok_or_else(|| OAuthError::invalid_request("token is required"))?;
        let hash = Secret::new(token).hash();
        let now = state.clock.now();
        let live: Option<(Grant, time::OffsetDateTime, &'static str)> =
            match state.store.find_access_token(&hash).await? {
                Some(a) if !a.revoked && a.app_enabled && now < a.expires_at => {
                    Some((a.grant, a.expires_at, "access_token"))
                }
                Some(_) => None,
                None => match state.store.find_refresh_token(&hash).await? {
                    Some(r) if !r.revoked && !r.rotated && now < r.expires_at => {
                        Some((r.grant, r.expires_at, "refresh_token"))
                    }
                    _ => None,
                },
            };
        let body = match live {
            Some((grant, exp, kind)) if grant.app_id == app.id => {
                let account = state.store.get_account(grant.account_id).await?;
                Introspection {
                    active: true,
                    scope: Some(oauth::scope_for(&account.alias, &state.config.app_domain)),
                    client_id: Some(app.client_id.clone()),
                    token_type: Some(kind),
                    exp: Some(exp.unix_timestamp()),
                    sub: Some(grant.user_id.to_string()),
                    iss: Some(issuer(&state)),
                }
            }
            _ => Introspection::default(),
        };
        Ok::<_, OAuthError>(oauth_json(StatusCode::OK, &body))
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

/// The issuer: the base URL without its trailing slash.
fn issuer(state: &AppState) -> String {
    state.base_url().as_str().trim_end_matches('/').to_owned()
}

/// `GET /.well-known/oauth-authorization-server` (RFC 8414).
#[utoipa::path(
    get,
    path = "/.well-known/oauth-authorization-server",
    tag = "OAuth",
    responses((status = 200, description = "RFC 8414 authorization server metadata", body = serde_json::Value))
)]
pub async fn metadata(State(state): State<AppState>) -> Response {
    let base = state.base_url();
    let join = |p: &str| base.join(p).map(|u| u.to_string()).unwrap_or_default();
    json(
        StatusCode::OK,
        &serde_json::json!({
            "issuer": issuer(&state),
            "authorization_endpoint": join("app/oauth/authorize"),
            "token_endpoint": join("token"),
            "revocation_endpoint": join("oauth/revoke"),
            "introspection_endpoint": join("oauth/introspect"),
            "userinfo_endpoint": join("crm/rest/v1/oauth/connect/userinfo"),
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "scopes_supported": ["full"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
            "revocation_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
            "introspection_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
            "code_challenge_methods_supported": ["S256", "plain"],
        }),
    )
}
