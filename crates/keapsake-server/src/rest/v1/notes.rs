//! `/notes` (`keap/rest-v1.md` §4): list by `contact_id`/`user_id`, create (201), get, `PUT`
//! (replace) and `PATCH` (200), delete (204), model and note custom fields. A note belongs to a
//! contact of the account; `user_id` defaults to the acting user on create and replace, and
//! `last_updated_by` records who wrote last. Rules live in [`keapsake_core::crm_more::note`].

use super::common::{
    acting_user_ref, create_custom_field as create_field, model as model_of, stored, unreadable,
};
use super::list::{Envelope, Ids, V1Query, or_not_found, require_write};
use super::owned::{self, changes};
use crate::error::{ApiError, json};
use crate::extract::{KeapJson, Principal};
use crate::state::AppState;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use keapsake_core::crm::custom_field::RecordType;
use keapsake_core::crm_more::Mode;
use keapsake_core::crm_more::note::{CONTACT_KEY, NoteChanges, NoteDoc, USER_KEY};
use keapsake_core::records::{Cond, Create, NewRecord, Query, Record, RecordKind};
use serde_json::Value;

pub(super) const NOTE: &str = "Note";

/// Note routes, relative to `/crm/rest/v1`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/notes", get(list).post(create))
        .route("/notes/model", get(model))
        .route("/notes/model/customFields", post(create_custom_field))
        .route(
            "/notes/{id}",
            get(get_one).put(replace).patch(update).delete(remove),
        )
}

fn render(record: &Record) -> Result<Value, ApiError> {
    let doc = NoteDoc::from_value(&record.data).map_err(unreadable)?;
    Ok(doc.render(record.id, record.created_at, record.updated_at))
}

/// `GET /notes`: `contact_id`, `user_id`, `limit`, `offset`; id order.
///
/// # Errors
/// 400 for a bad parameter.
#[utoipa::path(
    get,
    path = "/crm/rest/v1/notes",
    tag = "Notes",
    params(("limit" = Option<i64>, Query, description = "Page size"), ("offset" = Option<i64>, Query, description = "Records to skip"), ("contact_id" = Option<i64>, Query, description = "Contact id"), ("user_id" = Option<i64>, Query, description = "User id")),
    responses((status = 200, description = "A page of notes", body = serde_json::Value), (status = 400, description = "Invalid input"), (status = 401, description = "Missing or invalid credential")),
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
    if let Some(c) = q.int("contact_id")? {
        conds.push(Cond::IntEq(CONTACT_KEY, c));
    }
    if let Some(u) = q.int("user_id")? {
        conds.push(Cond::IntEq(USER_KEY, u));
    }
    let query = Query {
        conds,
        limit: paging.limit,
        offset: paging.offset,
        ..Query::default()
    };
    let (records, total) = state
        .store
        .list_records(principal.account_id, RecordKind::Note, &query)
        .await?;
    let items = records.iter().map(render).collect::<Result<Vec<_>, _>>()?;
    Ok(Envelope::new(&state, "notes", "notes", items, total, paging, &q).into_response())
}

/// `GET /notes/{id}`.
///
/// # Errors
/// 404 `Unable to find this Note`.
#[utoipa::path(
    get,
    path = "/crm/rest/v1/notes/{id}",
    tag = "Notes",
    params(("id" = i64, Path, description = "Record id")),
    responses((status = 200, description = "The note", body = serde_json::Value), (status = 401, description = "Missing or invalid credential"), (status = 404, description = "No such record")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn get_one(
    State(state): State<AppState>,
    principal: Principal,
    Ids(id): Ids<i64>,
) -> Result<Response, ApiError> {
    let record = state
        .store
        .get_record(principal.account_id, RecordKind::Note, id)
        .await
        .map_err(or_not_found(NOTE))?;
    Ok(json(StatusCode::OK, &render(&record)?))
}

/// `POST /notes`: 201 with the note. `contact_id` and a title or body are required.
///
/// # Errors
/// 400 (validation, unknown contact or user, unparseable JSON), 403 (read-only key).
#[utoipa::path(
    post,
    path = "/crm/rest/v1/notes",
    tag = "Notes",
    request_body(content = serde_json::Value, content_type = "application/json"),
    responses((status = 201, description = "The created note", body = serde_json::Value), (status = 400, description = "Invalid input"), (status = 401, description = "Missing or invalid credential"), (status = 403, description = "Read-only credential")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    principal: Principal,
    KeapJson(body): KeapJson<Value>,
) -> Result<Response, ApiError> {
    require_write(&principal)?;
    let changes: NoteChanges = changes(&state, &principal, body, Mode::Create).await?;
    let by = acting_user_ref(&state, &principal).await?;
    let create: Create = Box::new(move |_| {
        let doc = NoteDoc::create(&changes, by)?;
        Ok(NewRecord {
            keys: doc.keys(),
            data: doc.to_value(),
        })
    });
    let now = state.clock.now();
    let record = stored(
        state
            .store
            .insert_record(principal.account_id, RecordKind::Note, create, now)
            .await,
        NOTE,
    )?;
    Ok(json(StatusCode::CREATED, &render(&record)?))
}

async fn edit(
    state: &AppState,
    principal: &Principal,
    id: i64,
    body: Value,
    mode: Mode,
) -> Result<Response, ApiError> {
    let record = owned::edit(
        state,
        principal,
        id,
        body,
        mode,
        acting_user_ref(state, principal),
        |data, changes: &NoteChanges, by, _| {
            let mut doc = NoteDoc::from_value(data)?;
            doc.update(changes, by)?;
            *data = doc.to_value();
            Ok(doc.keys())
        },
    )
    .await?;
    Ok(json(StatusCode::OK, &render(&record)?))
}

/// `PUT /notes/{id}`: replaces every writable field (fields not sent are cleared; `user_id`
/// defaults to the acting user as on create); 200.
///
/// # Errors
/// 404, 400, 403.
#[utoipa::path(
    put,
    path = "/crm/rest/v1/notes/{id}",
    tag = "Notes",
    params(("id" = i64, Path, description = "Record id")),
    request_body(content = serde_json::Value, content_type = "application/json"),
    responses((status = 200, description = "The replaced note", body = serde_json::Value), (status = 400, description = "Invalid input"), (status = 401, description = "Missing or invalid credential"), (status = 403, description = "Read-only credential"), (status = 404, description = "No such record")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn replace(
    State(state): State<AppState>,
    principal: Principal,
    Ids(id): Ids<i64>,
    KeapJson(body): KeapJson<Value>,
) -> Result<Response, ApiError> {
    edit(&state, &principal, id, body, Mode::Replace).await
}

/// `PATCH /notes/{id}`: changes only the fields sent (the PHP SDK's save); 200.
///
/// # Errors
/// 404, 400, 403.
#[utoipa::path(
    patch,
    path = "/crm/rest/v1/notes/{id}",
    tag = "Notes",
    params(("id" = i64, Path, description = "Record id")),
    request_body(content = serde_json::Value, content_type = "application/json"),
    responses((status = 200, description = "The updated note", body = serde_json::Value), (status = 400, description = "Invalid input"), (status = 401, description = "Missing or invalid credential"), (status = 403, description = "Read-only credential"), (status = 404, description = "No such record")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn update(
    State(state): State<AppState>,
    principal: Principal,
    Ids(id): Ids<i64>,
    KeapJson(body): KeapJson<Value>,
) -> Result<Response, ApiError> {
    edit(&state, &principal, id, body, Mode::Patch).await
}

/// `DELETE /notes/{id}`: 204.
///
/// # Errors
/// 404, 403.
#[utoipa::path(
    delete,
    path = "/crm/rest/v1/notes/{id}",
    tag = "Notes",
    params(("id" = i64, Path, description = "Record id")),
    responses((status = 204, description = "Deleted"), (status = 401, description = "Missing or invalid credential"), (status = 403, description = "Read-only credential"), (status = 404, description = "No such record")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn remove(
    State(state): State<AppState>,
    principal: Principal,
    Ids(id): Ids<i64>,
) -> Result<StatusCode, ApiError> {
    require_write(&principal)?;
    state
        .store
        .delete_record(principal.account_id, RecordKind::Note, id)
        .await
        .map_err(or_not_found(NOTE))?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /notes/model`: the account's task/note/appointment custom fields; notes have no
/// optional properties.
///
/// # Errors
/// Store failures.
#[utoipa::path(
    get,
    path = "/crm/rest/v1/notes/model",
    tag = "Notes",
    responses((status = 200, description = "The note model", body = serde_json::Value), (status = 401, description = "Missing or invalid credential")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn model(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Response, ApiError> {
    model_of(
        &state,
        principal.account_id,
        RecordType::TaskNoteAppointment,
        &[],
    )
    .await
}

/// `POST /notes/model/customFields`: 201 with the new `TASK_NOTE_APPOINTMENT` field.
///
/// # Errors
/// 400, 403.
#[utoipa::path(
    post,
    path = "/crm/rest/v1/notes/model/customFields",
    tag = "Notes",
    request_body(content = serde_json::Value, content_type = "application/json"),
    responses((status = 201, description = "The created custom field", body = serde_json::Value), (status = 400, description = "Invalid input"), (status = 401, description = "Missing or invalid credential"), (status = 403, description = "Read-only credential")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn create_custom_field(
    State(state): State<AppState>,
    principal: Principal,
    KeapJson(body): KeapJson<Value>,
) -> Result<Response, ApiError> {
    create_field(&state, &principal, body, RecordType::TaskNoteAppointment).await
}
