//! `POST /token` (`keap/oauth.md` §4, SECURITY.md §2): the `authorization_code` and
//! `refresh_token` grants. Form body only (the query string is ignored), repeated parameters
//! refused, 64 KiB limit; every answer is JSON with `no-store`/`no-cache`.

use crate::error::{OAuthError, oauth_json};
use crate::extract::{FORM_LIMIT, read_body};
use crate::oauth::client;
use crate::params::Params;
use crate::state::AppState;
use crate::throttle::ClientIp;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use keapsake_core::Secret;
use keapsake_core::oauth::{self, PkceMethod};
use keapsake_core::store::{CodeExchange, NewTokens, Rotation};
use keapsake_types::TokenResponse;

/// Whether the request declares a form body (`application/x-www-form-urlencoded`, parameters
/// such as `charset` allowed).
pub(crate) fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| {
            m.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

/// Reads and parses a form body for the OAuth endpoints.
///
/// # Errors
/// `invalid_request` (Keap's wording) for a non-form body, 413 over the limit, `invalid_request`
/// for a repeated parameter.
pub(crate) async fn read_form(headers: &HeaderMap, body: Body) -> Result<Params, OAuthError> {
    if !is_form(headers) {
        return Err(OAuthError::grant_type_required());
    }
    let bytes = read_body(body, FORM_LIMIT)
        .await
        .ok_or_else(OAuthError::too_large)?;
    let form = Params::parse(&bytes);
    if let Some(name) = form.first_repeated() {
        return Err(OAuthError::invalid_request(format!(
            "Parameter {} is repeated",
            sanitize(&name)
        )));
    }
    Ok(form)
}

/// Keeps a parameter name printable for an error description.
fn sanitize(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_ascii_graphic())
        .take(64)
        .collect()
}

/// `POST /token`.
#[utoipa::path(
    post,
    path = "/token",
    tag = "OAuth",
    request_body(content = String, content_type = "application/x-www-form-urlencoded", description = "Form parameters"),
    responses((status = 200, description = "Access and refresh tokens", body = serde_json::Value), (status = 400, description = "OAuth error (invalid_grant, invalid_request, ...)"), (status = 401, description = "invalid_client"))
)]
pub async fn token(
    State(state): State<AppState>,
    ip: ClientIp,
    headers: HeaderMap,
    body: Body,
) -> Response {
    match exchange(&state, &ip, &headers, body).await {
        Ok(res) => res,
        Err(e) => e.into_response(),
    }
}

async fn exchange(
    state: &AppState,
    ip: &ClientIp,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, OAuthError> {
    let form = read_form(headers, body).await?;
    let grant_type = form
        .get_nonempty("grant_type")
        .map_err(|_| OAuthError::grant_type_required())?
        .ok_or_else(OAuthError::grant_type_required)?;
    match grant_type {
        "authorization_code" => authorization_code(state, ip, headers, &form).await,
        "refresh_token" => refresh_token(state, ip, headers, &form).await,
        _ => Err(OAuthError::unsupported_grant_type()),
    }
}

fn required<'a>(form: &'a Params, name: &'static str) -> Result<&'a str, OAuthError> {
    form.get_nonempty(name)
        .map_err(|_| OAuthError::invalid_request(format!("{name} is not valid UTF-8")))?
        .ok_or_else(|| OAuthError::invalid_request(format!("{name} is required")))
}

/// A fresh token pair, minted from the OS CSPRNG, and what the store keeps of it.
fn mint(state: &AppState) -> (Secret, Secret, NewTokens) {
    let access = Secret::generate();
    let refresh = Secret::generate();
    let now = state.clock.now();
    let lt = state.config.lifetimes;
    let tokens = NewTokens {
        access_hash: access.hash(),
        access_expires_at: now + lt.access,
        refresh_hash: refresh.hash(),
        refresh_expires_at: now + lt.refresh,
        now,
    };
    (access, refresh, tokens)
}

/// The success body. The account alias is looked up *before* the exchange or rotation commits,
/// so a failure here can never strand a client whose code or refresh token was just consumed.
fn issued(state: &AppState, alias: &str, access: &Secret, refresh: &Secret) -> Response {
    oauth_json(
        StatusCode::OK,
        &TokenResponse {
            access_token: access.expose().to_owned(),
            token_type: "bearer".to_owned(),
            expires_in: state.config.lifetimes.access.whole_seconds(),
            refresh_token: refresh.expose().to_owned(),
            scope: oauth::scope_for(alias, &state.config.app_domain),
        },
    )
}

async fn authorization_code(
    state: &AppState,
    ip: &ClientIp,
    headers: &HeaderMap,
    form: &Params,
) -> Result<Response, OAuthError> {
    let app = client::authenticate(state, ip, headers, form).await?;
    let code = required(form, "code")?;
    let redirect_uri = required(form, "redirect_uri")?;
    let verifier = form
        .get_nonempty("code_verifier")
        .map_err(|_| OAuthError::invalid_grant("Invalid code_verifier"))?;

    let hash = Secret::new(code).hash();
    let invalid = || OAuthError::invalid_grant("Invalid authorization code");
    let record = state.store.peek_code(&hash).await?.ok_or_else(invalid)?;
    if record.app_id != app.id {
        return Err(invalid());
    }
    if !oauth::redirect_matches(std::slice::from_ref(&record.redirect_uri), redirect_uri) {
        return Err(OAuthError::invalid_grant(
            "redirect_uri does not match the authorization request",
        ));
    }
    match (&record.code_challenge, verifier) {
        (Some(challenge), Some(verifier)) => {
            let method = PkceMethod::parse(record.code_challenge_method.as_deref())
                .map_err(|_| invalid())?;
            if !oauth::pkce_verify(method, challenge, verifier) {
                return Err(OAuthError::invalid_grant("Invalid code_verifier"));
            }
        }
        (Some(_), None) => return Err(OAuthError::invalid_grant("code_verifier is required")),
        // A verifier for a code issued without a challenge is a downgrade attempt
        // (SECURITY.md §1).
        (None, Some(_)) => {
            return Err(OAuthError::invalid_grant(
                "code_verifier sent for a code issued without code_challenge",
            ));
        }
        (None, None) => {}
    }

    let alias = state.account_alias(record.account_id).await?;
    let (access, refresh, tokens) = mint(state);
    match state.store.exchange_code(&hash, app.id, tokens).await? {
        CodeExchange::Issued(grant) => {
            tracing::debug!(client = %app.client_id, family = grant.family_id.0, "code exchanged");
            Ok(issued(state, &alias, &access, &refresh))
        }
        CodeExchange::Replayed => {
            tracing::warn!(client = %app.client_id, "authorization code replayed; its tokens are revoked");
            Err(invalid())
        }
        CodeExchange::Invalid => Err(invalid()),
    }
}

async fn refresh_token(
    state: &AppState,
    ip: &ClientIp,
    headers: &HeaderMap,
    form: &Params,
) -> Result<Response, OAuthError> {
    let app = client::authenticate(state, ip, headers, form).await?;
    let presented = required(form, "refresh_token")?;
    match form.get("scope") {
        Ok(scope) if oauth::scope_is_acceptable(scope) => {}
        _ => return Err(OAuthError::invalid_scope()),
    }
    let hash = Secret::new(presented).hash();
    let invalid = || OAuthError::invalid_grant("Invalid Refresh Token");
    // One store round trip on the hot path: the rotation itself decides validity (unknown,
    // expired, rotated, other app). The scope's account alias comes from the in-process cache
    // (aliases never change), so only the first refresh of an account in this process reads it,
    // after the rotation committed.
    let (access, refresh, tokens) = mint(state);
    match state
        .store
        .rotate_refresh(
            &hash,
            app.id,
            state.config.lifetimes.refresh_reuse_grace,
            tokens,
        )
        .await?
    {
        Rotation::Rotated(grant) => {
            tracing::debug!(client = %app.client_id, family = grant.family_id.0, "refresh token rotated");
            let alias = state.account_alias(grant.account_id).await?;
            Ok(issued(state, &alias, &access, &refresh))
        }
        Rotation::Reused => {
            tracing::warn!(client = %app.client_id, "rotated refresh token replayed; family revoked");
            Err(invalid())
        }
        Rotation::RejectedInGrace | Rotation::Invalid => Err(invalid()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn form_content_type_allows_parameters_and_case() {
        let mut h = HeaderMap::new();
        assert!(!is_form(&h));
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("Application/X-WWW-Form-Urlencoded; charset=UTF-8"),
        );
        assert!(is_form(&h));
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        assert!(!is_form(&h));
    }

    #[test]
    fn sanitized_names_are_printable() {
        assert_eq!(sanitize("a b\n<c>"), "ab<c>");
    }
}
