//! keapsake's own view of the mail outbox, outside Keap's namespace: `GET /keapsake/v1/outbox`
//! (newest first, filters `state` and `contact_id`, `limit`/`offset`) and
//! `GET /keapsake/v1/outbox/{id}` (with the bodies). Authenticated like the REST APIs, and
//! confined to the credential's account. Errors are `{"message"}`.

use crate::error::{ApiError, json};
use crate::extract::Principal;
use crate::rest::v1::common::unreadable;
use crate::rest::v1::list::{Ids, V1Query, or_not_found};
use crate::state::AppState;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use axum::routing::get;
use keapsake_core::messaging::outbox::{self, OutboxDoc};
use keapsake_core::records::{Column, Cond, Query, RecordKind};
use serde_json::json;

/// Outbox routes (absolute).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/keapsake/v1/outbox", get(list))
        .route("/keapsake/v1/outbox/{id}", get(get_one))
}

/// `GET /keapsake/v1/outbox`: `{"messages":[…],"count":N}`, newest first.
///
/// # Errors
/// 400 for a bad parameter.
#[utoipa::path(
    get,
    path = "/keapsake/v1/outbox",
    tag = "Mail",
    params(("state" = Option<String>, Query, description = "queued, sent, skipped or failed"), ("contact_id" = Option<i64>, Query, description = "Recipient contact"), ("limit" = Option<i64>, Query, description = "Page size (default and maximum 1000)"), ("offset" = Option<i64>, Query, description = "Messages to skip")),
    responses((status = 200, description = "A page of outbox messages", body = serde_json::Value), (status = 400, description = "Invalid input"), (status = 401, description = "Missing or invalid credential")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    uri: Uri,
) -> Result<Response, ApiError> {
    let q = V1Query::from_uri(&uri);
    let paging = q.paging()?;
    let mut conds = Vec::new();
    if let Some(s) = q.get("state")? {
        let s = outbox::State::parse(s).ok_or_else(|| {
            ApiError::bad_request("state must be one of queued, sent, skipped, failed")
        })?;
        conds.push(Cond::TextEq(outbox::STATE_KEY, s.as_str().to_owned()));
    }
    if let Some(c) = q.int("contact_id")? {
        conds.push(Cond::IntEq(outbox::CONTACT_KEY, c));
    }
    let query = Query {
        conds,
        order: Column::Id,
        descending: true,
        limit: paging.limit,
        offset: paging.offset,
    };
    let (records, total) = state
        .store
        .list_records(principal.account_id, RecordKind::OutboxMessage, &query)
        .await?;
    let messages = records
        .iter()
        .map(|r| {
            OutboxDoc::from_value(&r.data)
                .map(|d| d.render(r.id, false))
                .map_err(unreadable)
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(json(
        StatusCode::OK,
        &json!({"messages": messages, "count": total}),
    ))
}

/// `GET /keapsake/v1/outbox/{id}`: one message with its bodies and attachment names.
///
/// # Errors
/// 404 `Unable to find this OutboxMessage`.
#[utoipa::path(
    get,
    path = "/keapsake/v1/outbox/{id}",
    tag = "Mail",
    params(("id" = i64, Path, description = "Outbox message id")),
    responses((status = 200, description = "The message", body = serde_json::Value), (status = 401, description = "Missing or invalid credential"), (status = 404, description = "No such message")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn get_one(
    State(state): State<AppState>,
    principal: Principal,
    Ids(id): Ids<i64>,
) -> Result<Response, ApiError> {
    let record = state
        .store
        .get_record(principal.account_id, RecordKind::OutboxMessage, id)
        .await
        .map_err(or_not_found("OutboxMessage"))?;
    let doc = OutboxDoc::from_value(&record.data).map_err(unreadable)?;
    Ok(json(StatusCode::OK, &doc.render(record.id, true)))
}
