//! `/opportunities` and `/opportunity/stage_pipeline` (`keap/rest-v1.md` §6): list with
//! `search_term`, `stage_id`, `user_id` and `order`; create (**200**, as the spec says); `PUT
//! /opportunities` (replace, id in the body); get with `optional_properties`; `PATCH`; model;
//! and the account's pipeline as a bare array with the number of opportunities per stage.
//! Rules live in [`keapsake_core::crm_more::opportunity`].
//!
//! `search_term` and `order=contact_name` read the contacts' current documents, so those lists
//! are filtered and sorted in memory over the account's opportunities matching the stored
//! filters (opportunities are few next to contacts).

use super::common::{
    all_records, contact_summaries, descending, ensure_contact, ensure_custom_fields,
    ensure_member, model as model_of, optional_properties, stored, unreadable, user_names,
};
use super::list::{Envelope, Ids, V1Query, object, or_not_found, require_write};
use crate::error::{ApiError, json};
use crate::extract::{KeapJson, Principal};
use crate::state::AppState;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use keapsake_core::AccountId;
use keapsake_core::crm::custom_field::RecordType;
use keapsake_core::crm::{Field, fold};
use keapsake_core::crm_more::Mode;
use keapsake_core::crm_more::opportunity::{
    OPTIONAL_PROPERTIES, OpportunityBody, OpportunityChanges, OpportunityDoc, Order, STAGE_KEY,
    STAGES, USER_KEY, contact_name_key, order,
};
use keapsake_core::records::{Column, Cond, Create, Edit, NewRecord, Query, Record, RecordKind};
use serde_json::Value;

const OPPORTUNITY: &str = "Opportunity";

/// Opportunity routes, relative to `/crm/rest/v1`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/opportunities", get(list).post(create).put(replace))
        .route("/opportunities/model", get(model))
        .route("/opportunities/{id}", get(get_one).patch(update))
        .route("/opportunity/stage_pipeline", get(stage_pipeline))
}

fn docs(records: &[Record]) -> Result<Vec<OpportunityDoc>, ApiError> {
    records
        .iter()
        .map(|r| OpportunityDoc::from_value(&r.data))
        .collect::<Result<Vec<_>, _>>()
        .map_err(unreadable)
}

/// Renders opportunity records with their contacts and owners.
async fn render(
    state: &AppState,
    account: AccountId,
    records: &[Record],
    optional: &[String],
    all: bool,
) -> Result<Vec<Value>, ApiError> {
    let docs = docs(records)?;
    let contacts = contact_summaries(state, account, docs.iter().map(|d| d.contact_id)).await?;
    let users = user_names(state, docs.iter().filter_map(|d| d.user_id)).await?;
    Ok(records
        .iter()
        .zip(&docs)
        .map(|(r, d)| {
            let user = d
                .user_id
                .and_then(|u| users.get(&u))
                .map(|(f, l)| (f.as_str(), l.as_str()));
            d.render(
                r.id,
                r.created_at,
                r.updated_at,
                contacts.get(&d.contact_id),
                user,
                optional,
                all,
            )
        })
        .collect())
}

async fn render_one(
    state: &AppState,
    account: AccountId,
    record: Record,
    optional: &[String],
    all: bool,
) -> Result<Value, ApiError> {
    render(state, account, std::slice::from_ref(&record), optional, all)
        .await?
        .pop()
        .ok_or_else(|| unreadable("a rendered page lost its record".to_owned()))
}

/// Parses a body for `mode`, fills the owner (the acting user, on create and replace), and checks the
/// contact, the user and the custom fields belong to this account.
async fn changes(
    state: &AppState,
    principal: &Principal,
    body: OpportunityBody,
    mode: Mode,
) -> Result<OpportunityChanges, ApiError> {
    let mut changes = body.into_changes(mode).map_err(ApiError::bad_request)?;
    // "Creates a new opportunity as the authenticated user" (the spec); a replace without an
    // owner keeps one the same way, as notes and tasks do.
    if mode != Mode::Patch
        && changes.user_id == Field::Null
        && let Some(user) = principal.user_id
    {
        changes.user_id = Field::Set(user.0);
    }
    let account = principal.account_id;
    if let Some(contact) = changes.contact() {
        ensure_contact(state, account, contact).await?;
    }
    if let Some(user) = changes.user() {
        ensure_member(state, account, user, "user.id").await?;
    }
    ensure_custom_fields(
        state,
        account,
        &changes.custom_field_ids(),
        RecordType::Opportunity,
    )
    .await?;
    Ok(changes)
}

/// `GET /opportunities`: `search_term` (title, or the contact's given name, family name,
/// company name or `EMAIL1`; substring, ASCII case ignored), `stage_id`, `user_id`, `order`
/// (`next_action`, `opportunity_name`, `contact_name`, `date_created`, `id`) with
/// `order_direction`, `limit`, `offset`, `optional_properties`.
///
/// # Errors
/// 400 for a bad parameter.
#[utoipa::path(
    get,
    path = "/crm/rest/v1/opportunities",
    tag = "Opportunities",
    params(("limit" = Option<i64>, Query, description = "Page size"), ("offset" = Option<i64>, Query, description = "Records to skip"), ("order" = Option<String>, Query, description = "Sort field"), ("search_term" = Option<String>, Query, description = "Search term"), ("user_id" = Option<i64>, Query, description = "Owner id"), ("stage_id" = Option<i64>, Query, description = "Stage id")),
    responses((status = 200, description = "A page of opportunities", body = serde_json::Value), (status = 400, description = "Invalid input"), (status = 401, description = "Missing or invalid credential")),
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
    if let Some(s) = q.int("stage_id")? {
        conds.push(Cond::IntEq(STAGE_KEY, s));
    }
    if let Some(u) = q.int("user_id")? {
        conds.push(Cond::IntEq(USER_KEY, u));
    }
    let order = match q.get("order")? {
        None => Order::Column(Column::Id),
        Some(o) => order(o).ok_or_else(|| {
            ApiError::bad_request(
                "order must be one of next_action, opportunity_name, contact_name, date_created, id",
            )
        })?,
    };
    let desc = descending(&q)?;
    let optional = optional_properties(&q)?;
    let term = q.get("search_term")?.map(fold);
    let account = principal.account_id;
    let (records, total) = match (order, &term) {
        (Order::Column(column), None) => {
            let query = Query {
                conds,
                order: column,
                descending: desc,
                limit: paging.limit,
                offset: paging.offset,
            };
            state
                .store
                .list_records(account, RecordKind::Opportunity, &query)
                .await?
        }
        _ => {
            let records = all_records(&state, account, RecordKind::Opportunity, conds).await?;
            let docs = docs(&records)?;
            let contacts =
                contact_summaries(&state, account, docs.iter().map(|d| d.contact_id)).await?;
            let mut rows: Vec<(Record, OpportunityDoc)> = records
                .into_iter()
                .zip(docs)
                .filter(|(_, d)| {
                    term.as_deref()
                        .is_none_or(|t| d.matches(t, contacts.get(&d.contact_id)))
                })
                .collect();
            match order {
                Order::ContactName => {
                    rows.sort_by_cached_key(|(r, d)| {
                        (contact_name_key(contacts.get(&d.contact_id)), r.id)
                    });
                    if desc {
                        rows.reverse();
                    }
                }
                Order::Column(column) => sort_by_column(&mut rows, column, desc),
            }
            let total = i64::try_from(rows.len()).unwrap_or(i64::MAX);
            let start = usize::try_from(paging.offset).unwrap_or(usize::MAX);
            let len = usize::try_from(paging.limit).unwrap_or(usize::MAX);
            let page = rows
                .into_iter()
                .skip(start)
                .take(len)
                .map(|(r, _)| r)
                .collect();
            (page, total)
        }
    };
    let items = render(&state, account, &records, &optional, false).await?;
    Ok(Envelope::new(
        &state,
        "opportunities",
        "opportunities",
        items,
        total,
        paging,
        &q,
    )
    .into_response())
}

/// The in-memory sort of a searched list, matching what the store does for the column (NULLs
/// first ascending, ties by id in the same direction).
fn sort_by_column(rows: &mut [(Record, OpportunityDoc)], column: Column, desc: bool) {
    rows.sort_by(|(ra, da), (rb, db)| {
        let ord = match column {
            Column::CreatedAt => ra.created_at.cmp(&rb.created_at),
            Column::UpdatedAt => ra.updated_at.cmp(&rb.updated_at),
            Column::Text(_) | Column::Int(_) => {
                let ka = da.keys();
                let kb = db.keys();
                match column {
                    Column::Text(i) => ka.text[i].cmp(&kb.text[i]),
                    Column::Int(i) => ka.int[i].cmp(&kb.int[i]),
                    _ => std::cmp::Ordering::Equal,
                }
            }
            Column::Id => std::cmp::Ordering::Equal,
        }
        .then(ra.id.cmp(&rb.id));
        if desc { ord.reverse() } else { ord }
    });
}

/// `GET /opportunities/{id}` with optional `optional_properties` (`custom_fields`).
///
/// # Errors
/// 404 `Unable to find this Opportunity`.
#[utoipa::path(
    get,
    path = "/crm/rest/v1/opportunities/{id}",
    tag = "Opportunities",
    params(("id" = i64, Path, description = "Record id"), ("optional_properties" = Option<String>, Query, description = "Comma-separated extra fields")),
    responses((status = 200, description = "The opportunity", body = serde_json::Value), (status = 401, description = "Missing or invalid credential"), (status = 404, description = "No such record")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn get_one(
    State(state): State<AppState>,
    principal: Principal,
    Ids(id): Ids<i64>,
    uri: Uri,
) -> Result<Response, ApiError> {
    let optional = optional_properties(&V1Query::from_uri(&uri))?;
    let account = principal.account_id;
    let record = state
        .store
        .get_record(account, RecordKind::Opportunity, id)
        .await
        .map_err(or_not_found(OPPORTUNITY))?;
    Ok(json(
        StatusCode::OK,
        &render_one(&state, account, record, &optional, false).await?,
    ))
}

/// `POST /opportunities`: **200** with the opportunity (`keap/rest-v1.md` §6). Title, contact
/// and stage are required; the owner defaults to the acting user.
///
/// # Errors
/// 400 (validation, unknown contact, user, stage or custom field), 403 (read-only key).
#[utoipa::path(
    post,
    path = "/crm/rest/v1/opportunities",
    tag = "Opportunities",
    request_body(content = serde_json::Value, content_type = "application/json"),
    responses((status = 200, description = "The created opportunity", body = serde_json::Value), (status = 400, description = "Invalid input"), (status = 401, description = "Missing or invalid credential"), (status = 403, description = "Read-only credential")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    principal: Principal,
    KeapJson(body): KeapJson<Value>,
) -> Result<Response, ApiError> {
    require_write(&principal)?;
    let body: OpportunityBody = object(body)?;
    let changes = changes(&state, &principal, body, Mode::Create).await?;
    let create: Create = Box::new(move |_| {
        let doc = OpportunityDoc::create(&changes)?;
        Ok(NewRecord {
            keys: doc.keys(),
            data: doc.to_value(),
        })
    });
    let now = state.clock.now();
    let account = principal.account_id;
    let record = stored(
        state
            .store
            .insert_record(account, RecordKind::Opportunity, create, now)
            .await,
        OPPORTUNITY,
    )?;
    Ok(json(
        StatusCode::OK,
        &render_one(&state, account, record, &[], true).await?,
    ))
}

async fn edit(
    state: &AppState,
    principal: &Principal,
    id: i64,
    body: OpportunityBody,
    mode: Mode,
) -> Result<Response, ApiError> {
    let changes = changes(state, principal, body, mode).await?;
    let edit: Edit = Box::new(move |_, data| {
        let mut doc = OpportunityDoc::from_value(data)?;
        doc.update(&changes)?;
        *data = doc.to_value();
        Ok(doc.keys())
    });
    let now = state.clock.now();
    let account = principal.account_id;
    let record = stored(
        state
            .store
            .update_record(account, RecordKind::Opportunity, id, edit, now)
            .await,
        OPPORTUNITY,
    )?;
    Ok(json(
        StatusCode::OK,
        &render_one(state, account, record, &[], true).await?,
    ))
}

/// `PUT /opportunities`: replaces every writable field of the opportunity whose `id` is in the
/// body; 200.
///
/// # Errors
/// 400 (no `id`, validation), 404 (no such opportunity), 403.
#[utoipa::path(
    put,
    path = "/crm/rest/v1/opportunities",
    tag = "Opportunities",
    request_body(content = serde_json::Value, content_type = "application/json"),
    responses((status = 200, description = "The replaced opportunity", body = serde_json::Value), (status = 400, description = "Invalid input"), (status = 401, description = "Missing or invalid credential"), (status = 403, description = "Read-only credential"), (status = 404, description = "No such record")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn replace(
    State(state): State<AppState>,
    principal: Principal,
    KeapJson(body): KeapJson<Value>,
) -> Result<Response, ApiError> {
    require_write(&principal)?;
    let body: OpportunityBody = object(body)?;
    let id = body
        .id()
        .ok_or_else(|| ApiError::bad_request("id is required"))?;
    edit(&state, &principal, id, body, Mode::Replace).await
}

/// `PATCH /opportunities/{id}`: changes only the fields sent; 200.
///
/// # Errors
/// 404, 400, 403.
#[utoipa::path(
    patch,
    path = "/crm/rest/v1/opportunities/{id}",
    tag = "Opportunities",
    params(("id" = i64, Path, description = "Record id")),
    request_body(content = serde_json::Value, content_type = "application/json"),
    responses((status = 200, description = "The updated opportunity", body = serde_json::Value), (status = 400, description = "Invalid input"), (status = 401, description = "Missing or invalid credential"), (status = 403, description = "Read-only credential"), (status = 404, description = "No such record")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn update(
    State(state): State<AppState>,
    principal: Principal,
    Ids(id): Ids<i64>,
    KeapJson(body): KeapJson<Value>,
) -> Result<Response, ApiError> {
    require_write(&principal)?;
    let body: OpportunityBody = object(body)?;
    edit(&state, &principal, id, body, Mode::Patch).await
}

/// `GET /opportunities/model`: the account's opportunity custom fields and the optional
/// properties.
///
/// # Errors
/// Store failures.
#[utoipa::path(
    get,
    path = "/crm/rest/v1/opportunities/model",
    tag = "Opportunities",
    responses((status = 200, description = "The opportunity model", body = serde_json::Value), (status = 401, description = "Missing or invalid credential")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn model(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Response, ApiError> {
    model_of(
        &state,
        principal.account_id,
        RecordType::Opportunity,
        OPTIONAL_PROPERTIES,
    )
    .await
}

/// `GET /opportunity/stage_pipeline`: a bare array of the stages, each with the number of the
/// account's opportunities in it.
///
/// # Errors
/// Store failures.
#[utoipa::path(
    get,
    path = "/crm/rest/v1/opportunity/stage_pipeline",
    tag = "Opportunities",
    responses((status = 200, description = "Stages and pipelines", body = serde_json::Value), (status = 401, description = "Missing or invalid credential")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn stage_pipeline(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Response, ApiError> {
    let mut out = Vec::with_capacity(STAGES.len());
    for stage in STAGES {
        let query = Query {
            conds: vec![Cond::IntEq(STAGE_KEY, stage.id)],
            limit: 0,
            ..Query::default()
        };
        let (_, count) = state
            .store
            .list_records(principal.account_id, RecordKind::Opportunity, &query)
            .await?;
        out.push(stage.render_pipeline(count));
    }
    Ok(json(StatusCode::OK, &out))
}
