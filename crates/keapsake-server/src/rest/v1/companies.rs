//! `/companies` (`keap/rest-v1.md` §3): list with `company_name`, `order`, `order_direction`
//! and `optional_properties`; create (201); get; `PATCH` (`company_name` not required); model.
//! v1 has no company delete. Rules live in [`keapsake_core::crm_more::company`].

use super::common::{
    descending, ensure_custom_fields, model as model_of, optional_properties, stored, unreadable,
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
use keapsake_core::crm_more::company::{
    CompanyBody, CompanyChanges, CompanyDoc, NAME_KEY, OPTIONAL_PROPERTIES, name_filter,
    order_column,
};
use keapsake_core::records::{Cond, Create, Edit, NewRecord, Query, Record, RecordKind};
use serde_json::Value;

const COMPANY: &str = "Company";

/// Company routes, relative to `/crm/rest/v1`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/companies", get(list).post(create))
        .route("/companies/model", get(model))
        .route("/companies/{id}", get(get_one).patch(update))
}

fn render(record: &Record, optional: &[String], all: bool) -> Result<Value, ApiError> {
    let doc = CompanyDoc::from_value(&record.data).map_err(unreadable)?;
    Ok(doc.render(record.id, optional, all))
}

/// Parses a body and checks its custom fields belong to this account's companies.
async fn changes(
    state: &AppState,
    account: AccountId,
    body: Value,
) -> Result<CompanyChanges, ApiError> {
    let body: CompanyBody = object(body)?;
    let changes = body.into_changes().map_err(ApiError::bad_request)?;
    ensure_custom_fields(
        state,
        account,
        &changes.custom_field_ids(),
        RecordType::Company,
    )
    .await?;
    Ok(changes)
}

/// `GET /companies`: `company_name` (exact, ASCII case ignored), `order` (`id`,
/// `date_created`, `name`, `email`), `order_direction`, `limit`, `offset`,
/// `optional_properties`.
///
/// # Errors
/// 400 for a bad parameter.
#[utoipa::path(
    get,
    path = "/crm/rest/v1/companies",
    tag = "Companies",
    params(("limit" = Option<i64>, Query, description = "Page size"), ("offset" = Option<i64>, Query, description = "Records to skip"), ("company_name" = Option<String>, Query, description = "Company name"), ("order" = Option<String>, Query, description = "Sort field"), ("optional_properties" = Option<String>, Query, description = "Comma-separated extra fields")),
    responses((status = 200, description = "A page of companies", body = serde_json::Value), (status = 400, description = "Invalid input"), (status = 401, description = "Missing or invalid credential")),
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
    if let Some(name) = q.get("company_name")? {
        conds.push(Cond::TextEq(NAME_KEY, name_filter(name)));
    }
    let order = match q.get("order")? {
        None => keapsake_core::records::Column::Id,
        Some(o) => order_column(o).ok_or_else(|| {
            ApiError::bad_request("order must be one of id, date_created, name, email")
        })?,
    };
    let optional = optional_properties(&q)?;
    let query = Query {
        conds,
        order,
        descending: descending(&q)?,
        limit: paging.limit,
        offset: paging.offset,
    };
    let (records, total) = state
        .store
        .list_records(principal.account_id, RecordKind::Company, &query)
        .await?;
    let items = records
        .iter()
        .map(|r| render(r, &optional, false))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Envelope::new(&state, "companies", "companies", items, total, paging, &q).into_response())
}

/// `GET /companies/{id}` with optional `optional_properties`.
///
/// # Errors
/// 404 `Unable to find this Company`.
#[utoipa::path(
    get,
    path = "/crm/rest/v1/companies/{id}",
    tag = "Companies",
    params(("id" = i64, Path, description = "Record id"), ("optional_properties" = Option<String>, Query, description = "Comma-separated extra fields")),
    responses((status = 200, description = "The company", body = serde_json::Value), (status = 401, description = "Missing or invalid credential"), (status = 404, description = "No such record")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn get_one(
    State(state): State<AppState>,
    principal: Principal,
    Ids(id): Ids<i64>,
    uri: Uri,
) -> Result<Response, ApiError> {
    let optional = optional_properties(&V1Query::from_uri(&uri))?;
    let record = state
        .store
        .get_record(principal.account_id, RecordKind::Company, id)
        .await
        .map_err(or_not_found(COMPANY))?;
    Ok(json(StatusCode::OK, &render(&record, &optional, false)?))
}

/// `POST /companies`: 201 with the whole company.
///
/// # Errors
/// 400 (no `company_name`, validation, unparseable JSON), 403 (read-only key).
#[utoipa::path(
    post,
    path = "/crm/rest/v1/companies",
    tag = "Companies",
    request_body(content = serde_json::Value, content_type = "application/json"),
    responses((status = 201, description = "The created company", body = serde_json::Value), (status = 400, description = "Invalid input"), (status = 401, description = "Missing or invalid credential"), (status = 403, description = "Read-only credential")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    principal: Principal,
    KeapJson(body): KeapJson<Value>,
) -> Result<Response, ApiError> {
    require_write(&principal)?;
    let account = principal.account_id;
    let changes = changes(&state, account, body).await?;
    let create: Create = Box::new(move |_| {
        let doc = CompanyDoc::create(&changes)?;
        Ok(NewRecord {
            keys: doc.keys(),
            data: doc.to_value(),
        })
    });
    let now = state.clock.now();
    let record = stored(
        state
            .store
            .insert_record(account, RecordKind::Company, create, now)
            .await,
        COMPANY,
    )?;
    Ok(json(StatusCode::CREATED, &render(&record, &[], true)?))
}

/// `PATCH /companies/{id}`: changes only the fields sent; 200 with the whole company.
///
/// # Errors
/// 404, 400, 403.
#[utoipa::path(
    patch,
    path = "/crm/rest/v1/companies/{id}",
    tag = "Companies",
    params(("id" = i64, Path, description = "Record id")),
    request_body(content = serde_json::Value, content_type = "application/json"),
    responses((status = 200, description = "The updated company", body = serde_json::Value), (status = 400, description = "Invalid input"), (status = 401, description = "Missing or invalid credential"), (status = 403, description = "Read-only credential"), (status = 404, description = "No such record")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn update(
    State(state): State<AppState>,
    principal: Principal,
    Ids(id): Ids<i64>,
    KeapJson(body): KeapJson<Value>,
) -> Result<Response, ApiError> {
    require_write(&principal)?;
    let account = principal.account_id;
    let changes = changes(&state, account, body).await?;
    let edit: Edit = Box::new(move |_, data| {
        let mut doc = CompanyDoc::from_value(data)?;
        doc.update(&changes)?;
        *data = doc.to_value();
        Ok(doc.keys())
    });
    let now = state.clock.now();
    let record = stored(
        state
            .store
            .update_record(account, RecordKind::Company, id, edit, now)
            .await,
        COMPANY,
    )?;
    Ok(json(StatusCode::OK, &render(&record, &[], true)?))
}

/// `GET /companies/model`: the account's company custom fields and the optional properties.
///
/// # Errors
/// Store failures.
#[utoipa::path(
    get,
    path = "/crm/rest/v1/companies/model",
    tag = "Companies",
    responses((status = 200, description = "The company model", body = serde_json::Value), (status = 401, description = "Missing or invalid credential")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn model(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Response, ApiError> {
    model_of(
        &state,
        principal.account_id,
        RecordType::Company,
        OPTIONAL_PROPERTIES,
    )
    .await
}
