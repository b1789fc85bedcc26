//! `/tasks` (`keap/rest-v1.md` §5): list and `/tasks/search` with `completed`, `contact_id`,
//! `has_due_date`, `user_id`, `since`, `until`, `order` and a `sync_token`; create (**200**, as
//! the spec says); get, `PUT`, `PATCH` (200), delete (204); model and task custom fields.
//! `contact` is filled from the contact's current record. Rules live in
//! [`keapsake_core::crm_more::task`].
//!
//! `/tasks/search` is Keap's "tasks belonging to the authenticated user" (operation
//! `listTasksForCurrentUser`): without a `user_id` it lists the acting user's tasks; a key that
//! acts as no user sees every task, as on `/tasks`.

use super::common::{
    bool_param, contact_summaries, create_custom_field as create_field, descending,
    floor_to_millis, model as model_of, stored, time_param, unreadable,
};
use super::list::{Envelope, Ids, V1Query, or_not_found, require_write};
use super::owned::{self, changes};
use crate::error::{ApiError, json};
use crate::extract::{KeapJson, Principal};
use crate::state::AppState;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use axum::routing::{get, post};
use keapsake_core::AccountId;
use keapsake_core::crm::custom_field::RecordType;
use keapsake_core::crm_more::Mode;
use keapsake_core::crm_more::task::{
    COMPLETED_KEY, CONTACT_KEY, HAS_DUE_KEY, ORDER_VALUES, TaskChanges, TaskDoc, USER_KEY,
    order_column, parse_sync_token, sync_token,
};
use keapsake_core::records::{Column, Cond, Create, NewRecord, Query, Record, RecordKind};
use serde::Serialize;
use serde_json::Value;

pub(super) const TASK: &str = "Task";

/// Task routes, relative to `/crm/rest/v1`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/tasks", get(list).post(create))
        .route("/tasks/search", get(search))
        .route("/tasks/model", get(model))
        .route("/tasks/model/customFields", post(create_custom_field))
        .route(
            "/tasks/{id}",
            get(get_one).put(replace).patch(update).delete(remove),
        )
}

/// Renders task records with their contacts (one store round trip per page for contacts, one
/// for their companies).
async fn render(
    state: &AppState,
    account: AccountId,
    records: &[Record],
) -> Result<Vec<Value>, ApiError> {
    let docs = records
        .iter()
        .map(|r| TaskDoc::from_value(&r.data))
        .collect::<Result<Vec<_>, _>>()
        .map_err(unreadable)?;
    let contacts =
        contact_summaries(state, account, docs.iter().filter_map(|d| d.contact_id)).await?;
    Ok(records
        .iter()
        .zip(&docs)
        .map(|(r, d)| {
            let contact = d.contact_id.and_then(|c| contacts.get(&c));
            d.render(r.id, r.created_at, r.updated_at, contact)
        })
        .collect())
}

async fn render_one(
    state: &AppState,
    account: AccountId,
    record: Record,
) -> Result<Value, ApiError> {
    render(state, account, std::slice::from_ref(&record))
        .await?
        .pop()
        .ok_or_else(|| unreadable("a rendered page lost its record".to_owned()))
}

/// A task list: the v1 envelope plus `sync_token`.
#[derive(Serialize)]
struct TaskPage {
    #[serde(flatten)]
    page: Envelope,
    sync_token: String,
}

async fn list_tasks(
    state: AppState,
    principal: Principal,
    uri: Uri,
    search: bool,
) -> Result<Response, ApiError> {
    let q = V1Query::from_uri(&uri);
    let paging = q.paging()?;
    let flag = |b: bool| if b { "1" } else { "0" }.to_owned();
    let mut conds = Vec::new();
    if let Some(c) = bool_param(&q, "completed")? {
        conds.push(Cond::TextEq(COMPLETED_KEY, flag(c)));
    }
    if let Some(h) = bool_param(&q, "has_due_date")? {
        conds.push(Cond::TextEq(HAS_DUE_KEY, flag(h)));
    }
    if let Some(c) = q.int("contact_id")? {
        conds.push(Cond::IntEq(CONTACT_KEY, c));
    }
    match q.int("user_id")? {
        Some(u) => conds.push(Cond::IntEq(USER_KEY, u)),
        None if search => {
            if let Some(u) = principal.user_id {
                conds.push(Cond::IntEq(USER_KEY, u.0));
            }
        }
        None => {}
    }
    if let Some(t) = time_param(&q, "since")? {
        conds.push(Cond::UpdatedSince(floor_to_millis(t)));
    }
    if let Some(t) = time_param(&q, "until")? {
        conds.push(Cond::UpdatedUntil(t));
    }
    if let Some(token) = q.get("sync_token")? {
        let t =
            parse_sync_token(token).ok_or_else(|| ApiError::bad_request("Invalid sync_token"))?;
        conds.push(Cond::UpdatedSince(t));
    }
    let order = match q.get("order")? {
        None => Column::Id,
        Some(o) => order_column(o)
            .ok_or_else(|| ApiError::bad_request(format!("order must be one of {ORDER_VALUES}")))?,
    };
    let query = Query {
        conds,
        order,
        descending: descending(&q)?,
        limit: paging.limit,
        offset: paging.offset,
    };
    // The token is taken before the read, so a change made during the listing shows again.
    let token = sync_token(state.clock.now());
    let account = principal.account_id;
    let (records, total) = state
        .store
        .list_records(account, RecordKind::Task, &query)
        .await?;
    let items = render(&state, account, &records).await?;
    let path = if search { "tasks/search" } else { "tasks" };
    let page = Envelope::new(&state, path, "tasks", items, total, paging, &q);
    Ok(json(
        StatusCode::OK,
        &TaskPage {
            page,
            sync_token: token,
        },
    ))
}

/// `GET /tasks`: every filter of §5; `order` (`id`, `due_date`, `creation_date`,
/// `modification_date`, `title`) with `order_direction`; `sync_token` from a previous list
/// lists what changed since.
///
/// # Errors
/// 400 for a bad parameter.
#[utoipa::path(
    get,
    path = "/crm/rest/v1/tasks",
    tag = "Tasks",
    params(("limit" = Option<i64>, Query, description = "Page size"), ("offset" = Option<i64>, Query, description = "Records to skip"), ("contact_id" = Option<i64>, Query, description = "Contact id"), ("completed" = Option<bool>, Query, description = "Completed or not"), ("order" = Option<String>, Query, description = "Sort field")),
    responses((status = 200, description = "A page of tasks", body = serde_json::Value), (status = 400, description = "Invalid input"), (status = 401, description = "Missing or invalid credential")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    uri: Uri,
) -> Result<Response, ApiError> {
    list_tasks(state, principal, uri, false).await
}

/// `GET /tasks/search`: as `GET /tasks`, defaulting `user_id` to the acting user.
///
/// # Errors
/// 400 for a bad parameter.
#[utoipa::path(
    get,
    path = "/crm/rest/v1/tasks/search",
    tag = "Tasks",
    params(("limit" = Option<i64>, Query, description = "Page size"), ("offset" = Option<i64>, Query, description = "Records to skip"), ("contact_id" = Option<i64>, Query, description = "Contact id"), ("completed" = Option<bool>, Query, description = "Completed or not"), ("order" = Option<String>, Query, description = "Sort field")),
    responses((status = 200, description = "A page of tasks", body = serde_json::Value), (status = 400, description = "Invalid input"), (status = 401, description = "Missing or invalid credential")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn search(
    State(state): State<AppState>,
    principal: Principal,
    uri: Uri,
) -> Result<Response, ApiError> {
    list_tasks(state, principal, uri, true).await
}

/// `GET /tasks/{id}`.
///
/// # Errors
/// 404 `Unable to find this Task`.
#[utoipa::path(
    get,
    path = "/crm/rest/v1/tasks/{id}",
    tag = "Tasks",
    params(("id" = i64, Path, description = "Record id")),
    responses((status = 200, description = "The task", body = serde_json::Value), (status = 401, description = "Missing or invalid credential"), (status = 404, description = "No such record")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn get_one(
    State(state): State<AppState>,
    principal: Principal,
    Ids(id): Ids<i64>,
) -> Result<Response, ApiError> {
    let account = principal.account_id;
    let record = state
        .store
        .get_record(account, RecordKind::Task, id)
        .await
        .map_err(or_not_found(TASK))?;
    Ok(json(
        StatusCode::OK,
        &render_one(&state, account, record).await?,
    ))
}

/// `POST /tasks`: **200** with the task (`keap/rest-v1.md` §5). `title` and `due_date` are
/// required; `user_id` defaults to the acting user.
///
/// # Errors
/// 400 (validation, unknown contact or user, unparseable JSON), 403 (read-only key).
#[utoipa::path(
    post,
    path = "/crm/rest/v1/tasks",
    tag = "Tasks",
    request_body(content = serde_json::Value, content_type = "application/json"),
    responses((status = 200, description = "The created task", body = serde_json::Value), (status = 400, description = "Invalid input"), (status = 401, description = "Missing or invalid credential"), (status = 403, description = "Read-only credential")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    principal: Principal,
    KeapJson(body): KeapJson<Value>,
) -> Result<Response, ApiError> {
    require_write(&principal)?;
    let changes: TaskChanges = changes(&state, &principal, body, Mode::Create).await?;
    let now = state.clock.now();
    let create: Create = Box::new(move |_| {
        let doc = TaskDoc::create(&changes, now)?;
        Ok(NewRecord {
            keys: doc.keys(),
            data: doc.to_value(),
        })
    });
    let account = principal.account_id;
    let record = stored(
        state
            .store
            .insert_record(account, RecordKind::Task, create, now)
            .await,
        TASK,
    )?;
    Ok(json(
        StatusCode::OK,
        &render_one(&state, account, record).await?,
    ))
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
        std::future::ready(Ok(())),
        |data, changes: &TaskChanges, (), now| {
            let mut doc = TaskDoc::from_value(data)?;
            doc.update(changes, now)?;
            *data = doc.to_value();
            Ok(doc.keys())
        },
    )
    .await?;
    Ok(json(
        StatusCode::OK,
        &render_one(state, principal.account_id, record).await?,
    ))
}

/// `PUT /tasks/{id}`: replaces every writable field (`title` and `due_date` required, as on
/// create); 200.
///
/// # Errors
/// 404, 400, 403.
#[utoipa::path(
    put,
    path = "/crm/rest/v1/tasks/{id}",
    tag = "Tasks",
    params(("id" = i64, Path, description = "Record id")),
    request_body(content = serde_json::Value, content_type = "application/json"),
    responses((status = 200, description = "The replaced task", body = serde_json::Value), (status = 400, description = "Invalid input"), (status = 401, description = "Missing or invalid credential"), (status = 403, description = "Read-only credential"), (status = 404, description = "No such record")),
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

/// `PATCH /tasks/{id}`: changes only the fields sent; 200.
///
/// # Errors
/// 404, 400, 403.
#[utoipa::path(
    patch,
    path = "/crm/rest/v1/tasks/{id}",
    tag = "Tasks",
    params(("id" = i64, Path, description = "Record id")),
    request_body(content = serde_json::Value, content_type = "application/json"),
    responses((status = 200, description = "The updated task", body = serde_json::Value), (status = 400, description = "Invalid input"), (status = 401, description = "Missing or invalid credential"), (status = 403, description = "Read-only credential"), (status = 404, description = "No such record")),
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

/// `DELETE /tasks/{id}`: 204.
///
/// # Errors
/// 404, 403.
#[utoipa::path(
    delete,
    path = "/crm/rest/v1/tasks/{id}",
    tag = "Tasks",
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
        .delete_record(principal.account_id, RecordKind::Task, id)
        .await
        .map_err(or_not_found(TASK))?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /tasks/model`: the account's task/note/appointment custom fields.
///
/// # Errors
/// Store failures.
#[utoipa::path(
    get,
    path = "/crm/rest/v1/tasks/model",
    tag = "Tasks",
    responses((status = 200, description = "The task model", body = serde_json::Value), (status = 401, description = "Missing or invalid credential")),
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

/// `POST /tasks/model/customFields`: 201 with the new `TASK_NOTE_APPOINTMENT` field.
///
/// # Errors
/// 400, 403.
#[utoipa::path(
    post,
    path = "/crm/rest/v1/tasks/model/customFields",
    tag = "Tasks",
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
