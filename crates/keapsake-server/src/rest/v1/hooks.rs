//! `/hooks` (`keap/rest-v1.md` §10): REST hook subscriptions (camelCase objects), event keys,
//! and the `X-Hook-Secret` verification handshake, immediate (on create, on a changed URL and
//! on `/verify`) and delayed (`/delayedVerify`). Subscriptions belong to the account and to the
//! client that made them (the OAuth app, or the API key): `GET /hooks` lists the caller's own,
//! and another client's key answers 404. Delivery is `crate::webhooks`.

use super::common::{stored, unreadable};
use super::list::{Ids, object, require_write};
use crate::error::{ApiError, json};
use crate::extract::{KeapJson, Principal, Via};
use crate::state::AppState;
use crate::webhooks::{self, SECRET_HEADER, secret_digest};
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use keapsake_core::hooks::{
    EVENT_KEYS, HookStatus, KEY_COLUMN, OWNER_COLUMN, Subscription, is_event_key,
};
use keapsake_core::records::{Cond, Create, Edit, NewRecord, Query, Record, RecordKind};
use serde::Deserialize;
use serde_json::Value;

const HOOK: &str = "RestHook";

/// Hook routes, relative to `/crm/rest/v1`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/hooks", get(list).post(create))
        .route("/hooks/event_keys", get(event_keys))
        .route("/hooks/{key}", get(get_one).put(replace).delete(remove))
        .route("/hooks/{key}/verify", post(verify))
        .route("/hooks/{key}/delayedVerify", post(delayed_verify))
}

/// The owner string of a caller: its OAuth app, or its API key.
fn owner(principal: &Principal) -> String {
    match &principal.via {
        Via::OAuth { app_id, .. } => format!("app:{}", app_id.0),
        Via::Key { id, .. } => format!("key:{id}"),
    }
}

#[derive(Debug, Deserialize)]
struct HookBody {
    #[serde(rename = "eventKey")]
    event_key: Option<Value>,
    #[serde(rename = "hookUrl")]
    hook_url: Option<Value>,
}

/// Validates `{"eventKey","hookUrl"}`; the URL check resolves names (SSRF policy) but does
/// not connect.
async fn validated(state: &AppState, body: Value) -> Result<(String, String), ApiError> {
    let body: HookBody = object(body)?;
    let event_key = match body.event_key {
        Some(Value::String(s)) if is_event_key(&s) => s,
        _ => return Err(ApiError::bad_request("Invalid eventKey")),
    };
    let hook_url = match body.hook_url {
        Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_owned(),
        _ => return Err(ApiError::bad_request("Invalid hookUrl")),
    };
    state
        .outbound()
        .check(&hook_url)
        .await
        .map_err(|e| ApiError::bad_request(format!("Invalid hookUrl: {e}")))?;
    Ok((event_key, hook_url))
}

fn decode(record: &Record) -> Result<Subscription, ApiError> {
    serde_json::from_value(record.data.clone()).map_err(|e| unreadable(e.to_string()))
}

/// The caller's subscription with this key, or 404.
async fn find(
    state: &AppState,
    principal: &Principal,
    key: &str,
) -> Result<(Record, Subscription), ApiError> {
    let query = Query {
        conds: vec![
            Cond::TextEq(KEY_COLUMN, key.to_owned()),
            Cond::TextEq(OWNER_COLUMN, owner(principal)),
        ],
        limit: 1,
        ..Query::default()
    };
    let (records, _) = state
        .store
        .list_records(principal.account_id, RecordKind::Hook, &query)
        .await?;
    let record = records
        .into_iter()
        .next()
        .ok_or_else(|| super::list::not_found(HOOK))?;
    let sub = decode(&record)?;
    Ok((record, sub))
}

/// Writes `sub` over the record `id`.
async fn save(
    state: &AppState,
    principal: &Principal,
    id: i64,
    sub: Subscription,
) -> Result<Subscription, ApiError> {
    let keep = sub.clone();
    let edit: Edit = Box::new(move |_, data| {
        *data = serde_json::to_value(&sub).map_err(|e| e.to_string())?;
        Ok(sub.keys())
    });
    let now = state.clock.now();
    stored(
        state
            .store
            .update_record(principal.account_id, RecordKind::Hook, id, edit, now)
            .await,
        HOOK,
    )?;
    Ok(keep)
}

/// Runs the immediate handshake against `sub.hook_url` and records its outcome: `Verified` on
/// an echo, else `Unverified` (an `Inactive` hook stays inactive unless verified).
async fn run_handshake(state: &AppState, sub: &mut Subscription) {
    let result = webhooks::handshake(state, &sub.hook_url).await;
    sub.secret_sha256 = Some(result.secret_sha256);
    if result.verified {
        sub.status = HookStatus::Verified;
    } else if sub.status != HookStatus::Inactive {
        sub.status = HookStatus::Unverified;
    }
}

/// `GET /hooks`: the caller's subscriptions, a bare array.
#[utoipa::path(
    get,
    path = "/crm/rest/v1/hooks",
    tag = "REST Hooks",
    responses((status = 200, description = "Bare array of subscriptions", body = serde_json::Value), (status = 401, description = "Missing or invalid credential")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Response, ApiError> {
    let query = Query {
        conds: vec![Cond::TextEq(OWNER_COLUMN, owner(&principal))],
        limit: 1000,
        ..Query::default()
    };
    let (records, _) = state
        .store
        .list_records(principal.account_id, RecordKind::Hook, &query)
        .await?;
    let items = records
        .iter()
        .map(|r| decode(r).map(|s| s.to_wire()))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(json(StatusCode::OK, &items))
}

/// `GET /hooks/event_keys`: Keap's event keys, a bare array.
#[utoipa::path(
    get,
    path = "/crm/rest/v1/hooks/event_keys",
    tag = "REST Hooks",
    responses((status = 200, description = "Bare array of event keys", body = [String]), (status = 401, description = "Missing or invalid credential")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn event_keys(_principal: Principal) -> Response {
    json(StatusCode::OK, &EVENT_KEYS)
}

/// `POST /hooks`: creates a subscription, runs the verification handshake, and answers 200
/// with the subscription (`Verified` if the receiver echoed the secret, else `Unverified`).
///
/// # Errors
/// 400 `Invalid eventKey` / `Invalid hookUrl: …` (including blocked addresses), 403 for a
/// read-only key.
#[utoipa::path(
    post,
    path = "/crm/rest/v1/hooks",
    tag = "REST Hooks",
    request_body(content = serde_json::Value, content_type = "application/json"),
    responses((status = 200, description = "The subscription after the verification attempt", body = serde_json::Value), (status = 400, description = "Invalid eventKey or hookUrl"), (status = 401, description = "Missing or invalid credential"), (status = 403, description = "Read-only credential")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    principal: Principal,
    KeapJson(body): KeapJson<Value>,
) -> Result<Response, ApiError> {
    require_write(&principal)?;
    let (event_key, hook_url) = validated(&state, body).await?;
    // The key is the record's id as a string (Keap's keys are numeric strings too); lookups are
    // confined to the account and the owning client, so a guessable key exposes nothing.
    let template = Subscription {
        key: String::new(),
        event_key,
        hook_url,
        status: HookStatus::Unverified,
        owner: owner(&principal),
        secret_sha256: None,
    };
    let first = template.clone();
    let create: Create = Box::new(move |id| {
        let sub = Subscription {
            key: id.to_string(),
            ..first
        };
        Ok(NewRecord {
            keys: sub.keys(),
            data: serde_json::to_value(&sub).map_err(|e| e.to_string())?,
        })
    });
    let now = state.clock.now();
    let record = stored(
        state
            .store
            .insert_record(principal.account_id, RecordKind::Hook, create, now)
            .await,
        HOOK,
    )?;
    let mut sub = Subscription {
        key: record.id.to_string(),
        ..template
    };
    run_handshake(&state, &mut sub).await;
    let sub = save(&state, &principal, record.id, sub).await?;
    Ok(json(StatusCode::OK, &sub.to_wire()))
}

/// `GET /hooks/{key}`.
///
/// # Errors
/// 404 for an unknown key (or another client's).
#[utoipa::path(
    get,
    path = "/crm/rest/v1/hooks/{key}",
    tag = "REST Hooks",
    params(("key" = String, Path, description = "Subscription key")),
    responses((status = 200, description = "The subscription", body = serde_json::Value), (status = 401, description = "Missing or invalid credential"), (status = 404, description = "No such subscription")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn get_one(
    State(state): State<AppState>,
    principal: Principal,
    Ids(key): Ids<String>,
) -> Result<Response, ApiError> {
    let (_, sub) = find(&state, &principal, &key).await?;
    Ok(json(StatusCode::OK, &sub.to_wire()))
}

/// `PUT /hooks/{key}`: replaces `eventKey` and `hookUrl`; a changed URL is verified again.
///
/// # Errors
/// 400 as for create, 404 for an unknown key.
#[utoipa::path(
    put,
    path = "/crm/rest/v1/hooks/{key}",
    tag = "REST Hooks",
    params(("key" = String, Path, description = "Subscription key")),
    request_body(content = serde_json::Value, content_type = "application/json"),
    responses((status = 200, description = "The subscription", body = serde_json::Value), (status = 400, description = "Invalid eventKey or hookUrl"), (status = 401, description = "Missing or invalid credential"), (status = 403, description = "Read-only credential"), (status = 404, description = "No such subscription")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn replace(
    State(state): State<AppState>,
    principal: Principal,
    Ids(key): Ids<String>,
    KeapJson(body): KeapJson<Value>,
) -> Result<Response, ApiError> {
    require_write(&principal)?;
    let (record, mut sub) = find(&state, &principal, &key).await?;
    let (event_key, hook_url) = validated(&state, body).await?;
    let url_changed = hook_url != sub.hook_url;
    if event_key != sub.event_key {
        // Events queued for the old key are not for this subscription any more.
        state
            .store
            .drop_hook_items(principal.account_id, record.id)
            .await?;
    }
    sub.event_key = event_key;
    sub.hook_url = hook_url;
    if url_changed {
        sub.status = HookStatus::Unverified;
        run_handshake(&state, &mut sub).await;
    }
    let sub = save(&state, &principal, record.id, sub).await?;
    Ok(json(StatusCode::OK, &sub.to_wire()))
}

/// `DELETE /hooks/{key}`: 204; its undelivered events are dropped.
///
/// # Errors
/// 404 for an unknown key.
#[utoipa::path(
    delete,
    path = "/crm/rest/v1/hooks/{key}",
    tag = "REST Hooks",
    params(("key" = String, Path, description = "Subscription key")),
    responses((status = 204, description = "Deleted"), (status = 401, description = "Missing or invalid credential"), (status = 403, description = "Read-only credential"), (status = 404, description = "No such subscription")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn remove(
    State(state): State<AppState>,
    principal: Principal,
    Ids(key): Ids<String>,
) -> Result<Response, ApiError> {
    require_write(&principal)?;
    let (record, _) = find(&state, &principal, &key).await?;
    state
        .store
        .delete_record(principal.account_id, RecordKind::Hook, record.id)
        .await
        .map_err(super::list::or_not_found(HOOK))?;
    state
        .store
        .drop_hook_items(principal.account_id, record.id)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /hooks/{key}/verify`: runs the immediate handshake again; success verifies (and
/// reactivates an `Inactive` hook).
///
/// # Errors
/// 404 for an unknown key.
#[utoipa::path(
    post,
    path = "/crm/rest/v1/hooks/{key}/verify",
    tag = "REST Hooks",
    params(("key" = String, Path, description = "Subscription key")),
    responses((status = 200, description = "The subscription after the attempt", body = serde_json::Value), (status = 401, description = "Missing or invalid credential"), (status = 403, description = "Read-only credential"), (status = 404, description = "No such subscription")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn verify(
    State(state): State<AppState>,
    principal: Principal,
    Ids(key): Ids<String>,
) -> Result<Response, ApiError> {
    require_write(&principal)?;
    let (record, mut sub) = find(&state, &principal, &key).await?;
    run_handshake(&state, &mut sub).await;
    let sub = save(&state, &principal, record.id, sub).await?;
    Ok(json(StatusCode::OK, &sub.to_wire()))
}

/// `POST /hooks/{key}/delayedVerify` with `X-Hook-Secret`: verifies the subscription when the
/// secret is the last one sent to it (compared in constant time); 200 either way, the status
/// shows the result.
///
/// # Errors
/// 404 for an unknown key.
#[utoipa::path(
    post,
    path = "/crm/rest/v1/hooks/{key}/delayedVerify",
    tag = "REST Hooks",
    params(("key" = String, Path, description = "Subscription key"), ("X-Hook-Secret" = String, Header, description = "The secret the receiver was sent")),
    responses((status = 200, description = "The subscription", body = serde_json::Value), (status = 401, description = "Missing or invalid credential"), (status = 403, description = "Read-only credential"), (status = 404, description = "No such subscription")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn delayed_verify(
    State(state): State<AppState>,
    principal: Principal,
    Ids(key): Ids<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    require_write(&principal)?;
    let (record, mut sub) = find(&state, &principal, &key).await?;
    let given = headers
        .get(SECRET_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .unwrap_or_default();
    let matches = !given.is_empty()
        && sub.secret_sha256.as_deref().is_some_and(|stored| {
            keapsake_core::secret::ct_eq_bytes(secret_digest(given).as_bytes(), stored.as_bytes())
        });
    if matches && sub.status != HookStatus::Verified {
        sub.status = HookStatus::Verified;
        let sub = save(&state, &principal, record.id, sub).await?;
        return Ok(json(StatusCode::OK, &sub.to_wire()));
    }
    Ok(json(StatusCode::OK, &sub.to_wire()))
}
