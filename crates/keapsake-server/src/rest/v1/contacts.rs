//! REST v1 contacts (`keap/rest-v1.md` §1): list/search, create, upsert, get, `PATCH`, delete,
//! the contact model and its custom fields, and the tags of a contact. The rules live in
//! [`keapsake_core::crm::contact`]; handlers parse, check what needs the store (does the
//! company exist? is the owner a member?), call the store's atomic operations with the core
//! rules as closures, and render.
//!
//! Every handler takes the account only from the credential ([`Principal`]); another account's
//! id reads exactly like a missing one because every store call is confined to that account.
//! UTM values answer a deliberate 501; the e-mails of a contact live in [`super::emails`], its
//! credit cards in [`super::cards`].

use super::list::{Envelope, Ids, V1Query, not_implemented, object, or_not_found, require_write};
use super::tags::load_tags;
use crate::error::{ApiError, json};
use crate::extract::{KeapJson, Principal};
use crate::state::AppState;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use keapsake_core::crm::contact::{
    ContactBody, ContactChanges, ContactDoc, ContactMeta, EMAIL_KEYS, FAMILY_NAME_KEY,
    GIVEN_NAME_KEY, NAME_ORDER_KEY, OPTIONAL_PROPERTIES, View, name_key, parse_update_mask,
};
use keapsake_core::crm::custom_field::{
    CustomFieldDoc, NewCustomFieldBody, RECORD_TYPE_KEY, RecordType,
};
use keapsake_core::crm::tag::{ApplyResult, distinct_ids, result_map};
use keapsake_core::crm::{LenientI64, date, fold};
use keapsake_core::records::{
    Column, Cond, Create, Edit, Edited, LinkKind, LinkOutcome, NewRecord, Query, Record,
    RecordKind, Side, Upserted,
};
use keapsake_core::{AccountId, StoreError, UserId};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;

/// Contact routes, relative to `/crm/rest/v1`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/contacts", get(list).post(create).put(upsert))
        .route("/contacts/model", get(model))
        .route("/contacts/model/customFields", post(create_custom_field))
        .route("/contacts/{id}", get(get_one).patch(update).delete(remove))
        .route(
            "/contacts/{id}/tags",
            get(list_tags).post(apply_tags).delete(remove_tags),
        )
        .route("/contacts/{id}/tags/{tag_id}", delete(remove_tag))
        .route("/contacts/{id}/utm", post(unimplemented))
}

const CONTACT: &str = "Contact";

/// A stored document this version cannot read: a bug, logged, answered 500.
fn unreadable(msg: String) -> ApiError {
    tracing::error!(error = %msg, "unreadable record");
    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
}

/// Renders contact records with their tag ids and company names (two store round trips for a
/// whole page).
async fn render(
    state: &AppState,
    account: AccountId,
    records: &[Record],
    view: View,
    optional: &[String],
) -> Result<Vec<Value>, ApiError> {
    if records.is_empty() {
        return Ok(Vec::new());
    }
    let docs = records
        .iter()
        .map(|r| ContactDoc::from_value(&r.data))
        .collect::<Result<Vec<_>, _>>()
        .map_err(unreadable)?;
    let ids: Vec<i64> = records.iter().map(|r| r.id).collect();
    let mut tags: HashMap<i64, Vec<i64>> = HashMap::new();
    for link in state
        .store
        .links_of(account, LinkKind::ContactTag, &ids)
        .await?
    {
        tags.entry(link.a).or_default().push(link.b);
    }
    let mut company_ids: Vec<i64> = docs.iter().filter_map(|d| d.company_id).collect();
    company_ids.sort_unstable();
    company_ids.dedup();
    let mut companies: HashMap<i64, String> = HashMap::new();
    if !company_ids.is_empty() {
        for r in state
            .store
            .get_records(account, RecordKind::Company, &company_ids)
            .await?
        {
            if let Some(name) = r.data.get("company_name").and_then(Value::as_str) {
                companies.insert(r.id, name.to_owned());
            }
        }
    }
    Ok(records
        .iter()
        .zip(&docs)
        .map(|(r, doc)| {
            let mut tag_ids = tags.remove(&r.id).unwrap_or_default();
            tag_ids.sort_unstable();
            let meta = ContactMeta {
                id: r.id,
                created_at: r.created_at,
                updated_at: r.updated_at,
                tag_ids: &tag_ids,
                company_name: doc
                    .company_id
                    .and_then(|c| companies.get(&c))
                    .map(String::as_str),
            };
            doc.render(&meta, view, optional)
        })
        .collect())
}

async fn render_one(
    state: &AppState,
    account: AccountId,
    record: Record,
    optional: &[String],
) -> Result<Value, ApiError> {
    render(
        state,
        account,
        std::slice::from_ref(&record),
        View::Single,
        optional,
    )
    .await?
    .pop()
    .ok_or_else(|| unreadable("a rendered page lost its record".to_owned()))
}

/// Checks what a change refers to: the company exists in this account, the owner is a member
/// of it, every custom field is a contact field of it.
async fn check_refs(
    state: &AppState,
    account: AccountId,
    changes: &ContactChanges,
) -> Result<(), ApiError> {
    if let Some(company) = changes.company() {
        match state
            .store
            .get_record(account, RecordKind::Company, company)
            .await
        {
            Ok(_) => {}
            Err(StoreError::NotFound) => {
                return Err(ApiError::bad_request(format!(
                    "Company {company} does not exist"
                )));
            }
            Err(e) => return Err(e.into()),
        }
    }
    if let Some(owner) = changes.owner_id.value()
        && state
            .store
            .membership(account, UserId(*owner))
            .await?
            .is_none()
    {
        return Err(ApiError::bad_request(format!(
            "owner_id {owner} is not a user of this account"
        )));
    }
    let fields = changes.custom_field_ids();
    if !fields.is_empty() {
        let found = state
            .store
            .get_records(account, RecordKind::CustomField, &fields)
            .await?;
        for id in fields {
            let ok = found.iter().any(|r| {
                r.id == id
                    && CustomFieldDoc::from_value(&r.data)
                        .is_ok_and(|d| d.record_type == RecordType::Contact)
            });
            if !ok {
                return Err(ApiError::bad_request(format!(
                    "Custom field {id} does not exist"
                )));
            }
        }
    }
    Ok(())
}

fn create_closure(changes: ContactChanges, now: time::OffsetDateTime) -> Create {
    Box::new(move |_id| {
        let doc = ContactDoc::create(&changes, now)?;
        Ok(NewRecord {
            keys: doc.keys(),
            data: doc.to_value(),
        })
    })
}

fn edit_closure(changes: ContactChanges, now: time::OffsetDateTime) -> Edit {
    Box::new(move |_id, data| {
        let mut doc = ContactDoc::from_value(data)?;
        doc.update(&changes, now)?;
        *data = doc.to_value();
        Ok(doc.keys())
    })
}

async fn insert(
    state: &AppState,
    account: AccountId,
    changes: ContactChanges,
) -> Result<Record, ApiError> {
    let now = state.clock.now();
    match state
        .store
        .insert_record(
            account,
            RecordKind::Contact,
            create_closure(changes, now),
            now,
        )
        .await?
    {
        Edited::Updated(r) => Ok(r),
        Edited::Rejected(m) => Err(ApiError::bad_request(m)),
    }
}

/// Parses a contact body (unknown and read-only fields ignored) into validated changes.
fn changes(body: ContactBody, mask: Option<&[String]>) -> Result<ContactChanges, ApiError> {
    body.into_changes(mask).map_err(ApiError::bad_request)
}

/// The `order` values of `GET /contacts` (any ASCII case).
fn order_column(order: &str) -> Option<Column> {
    Some(match order.to_ascii_lowercase().as_str() {
        "id" => Column::Id,
        "date_created" => Column::CreatedAt,
        "last_updated" => Column::UpdatedAt,
        "name" => Column::Text(NAME_ORDER_KEY),
        "firstname" | "first_name" | "given_name" => Column::Text(GIVEN_NAME_KEY),
        "email" => Column::Text(EMAIL_KEYS[0]),
        _ => return None,
    })
}

fn parse_time(q: &V1Query, name: &str) -> Result<Option<time::OffsetDateTime>, ApiError> {
    q.get(name)?
        .map(|s| {
            date::parse_datetime(s).map_err(|_| {
                ApiError::bad_request(format!(
                    "{name} must be a date-time, e.g. 2017-01-01T22:17:59.039Z"
                ))
            })
        })
        .transpose()
}

fn optional_properties(q: &V1Query) -> Result<Vec<String>, ApiError> {
    Ok(q.list("optional_properties")?
        .into_iter()
        .map(str::to_owned)
        .collect())
}

/// `GET /contacts`: filters `email` (any slot), `given_name`, `family_name` (exact, ASCII case
/// ignored), `since`/`until` on `last_updated` (inclusive); `order`, `order_direction`,
/// `limit`, `offset`, `optional_properties`.
///
/// # Errors
/// 400 for a bad parameter.
#[utoipa::path(
    get,
    path = "/crm/rest/v1/contacts",
    tag = "Contacts",
    params(("limit" = Option<i64>, Query, description = "Page size"), ("offset" = Option<i64>, Query, description = "Records to skip"), ("email" = Option<String>, Query, description = "Exact email"), ("given_name" = Option<String>, Query, description = "Given name"), ("family_name" = Option<String>, Query, description = "Family name"), ("order" = Option<String>, Query, description = "Sort field"), ("order_direction" = Option<String>, Query, description = "ASCENDING or DESCENDING"), ("optional_properties" = Option<String>, Query, description = "Comma-separated extra fields")),
    responses((status = 200, description = "A page of contacts", body = serde_json::Value), (status = 400, description = "Invalid input"), (status = 401, description = "Missing or invalid credential")),
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
    if let Some(email) = q.get("email")? {
        conds.push(Cond::AnyTextEq(EMAIL_KEYS.to_vec(), fold(email)));
    }
    if let Some(given) = q.get("given_name")? {
        conds.push(Cond::TextEq(GIVEN_NAME_KEY, name_key(Some(given))));
    }
    if let Some(family) = q.get("family_name")? {
        conds.push(Cond::TextEq(FAMILY_NAME_KEY, name_key(Some(family))));
    }
    if let Some(t) = parse_time(&q, "since")? {
        // Stored times have millisecond precision: a bound inside a millisecond includes it.
        let floored = t
            .replace_nanosecond(t.nanosecond() / 1_000_000 * 1_000_000)
            .unwrap_or(t);
        conds.push(Cond::UpdatedSince(floored));
    }
    if let Some(t) = parse_time(&q, "until")? {
        conds.push(Cond::UpdatedUntil(t));
    }
    let order = match q.get("order")? {
        None => Column::Id,
        Some(o) => order_column(o).ok_or_else(|| {
            ApiError::bad_request(
                "order must be one of id, date_created, last_updated, name, firstName, email",
            )
        })?,
    };
    let descending = match q.get("order_direction")? {
        None => false,
        Some(d) if d.eq_ignore_ascii_case("ASCENDING") => false,
        Some(d) if d.eq_ignore_ascii_case("DESCENDING") => true,
        Some(_) => {
            return Err(ApiError::bad_request(
                "order_direction must be ASCENDING or DESCENDING",
            ));
        }
    };
    let optional = optional_properties(&q)?;
    let query = Query {
        conds,
        order,
        descending,
        limit: paging.limit,
        offset: paging.offset,
    };
    let account = principal.account_id;
    let (records, total) = state
        .store
        .list_records(account, RecordKind::Contact, &query)
        .await?;
    let items = render(&state, account, &records, View::List, &optional).await?;
    Ok(Envelope::new(&state, "contacts", "contacts", items, total, paging, &q).into_response())
}

/// `GET /contacts/{id}` with optional `optional_properties`.
///
/// # Errors
/// 404 `Unable to find this Contact`.
#[utoipa::path(
    get,
    path = "/crm/rest/v1/contacts/{id}",
    tag = "Contacts",
    params(("id" = i64, Path, description = "Record id"), ("optional_properties" = Option<String>, Query, description = "Comma-separated extra fields")),
    responses((status = 200, description = "The contact", body = serde_json::Value), (status = 401, description = "Missing or invalid credential"), (status = 404, description = "No such record")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn get_one(
    State(state): State<AppState>,
    principal: Principal,
    Ids(id): Ids<i64>,
    uri: Uri,
) -> Result<Response, ApiError> {
    let q = V1Query::from_uri(&uri);
    let optional = optional_properties(&q)?;
    let account = principal.account_id;
    let record = state
        .store
        .get_record(account, RecordKind::Contact, id)
        .await
        .map_err(or_not_found(CONTACT))?;
    let v = render_one(&state, account, record, &optional).await?;
    Ok(json(StatusCode::OK, &v))
}

/// `POST /contacts`: 201 with the new contact. `duplicate_option` is ignored here.
///
/// # Errors
/// 400 (validation, unparseable JSON), 403 (read-only key).
#[utoipa::path(
    post,
    path = "/crm/rest/v1/contacts",
    tag = "Contacts",
    request_body(content = serde_json::Value, content_type = "application/json"),
    responses((status = 201, description = "The created contact", body = serde_json::Value), (status = 400, description = "Invalid input"), (status = 401, description = "Missing or invalid credential"), (status = 403, description = "Read-only credential")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    principal: Principal,
    KeapJson(body): KeapJson<Value>,
) -> Result<Response, ApiError> {
    require_write(&principal)?;
    let account = principal.account_id;
    let changes = changes(object(body)?, None)?;
    check_refs(&state, account, &changes).await?;
    let changes = super::emails::with_address_status(&state, account, changes).await?;
    let record = insert(&state, account, changes).await?;
    let v = render_one(&state, account, record, &[]).await?;
    Ok(json(StatusCode::CREATED, &v))
}

/// `PUT /contacts`: updates the oldest contact matching `duplicate_option` with the fields
/// sent, or creates one; 200 either way (`keap/rest-v1.md` §1.5). Upserts of one e-mail address
/// are serialised by the store, so parallel calls create one contact.
///
/// # Errors
/// 400 (validation, unknown option), 403 (read-only key).
#[utoipa::path(
    put,
    path = "/crm/rest/v1/contacts",
    tag = "Contacts",
    request_body(content = serde_json::Value, content_type = "application/json"),
    responses((status = 200, description = "The created or updated contact", body = serde_json::Value), (status = 400, description = "Invalid input"), (status = 401, description = "Missing or invalid credential"), (status = 403, description = "Read-only credential")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn upsert(
    State(state): State<AppState>,
    principal: Principal,
    KeapJson(body): KeapJson<Value>,
) -> Result<Response, ApiError> {
    require_write(&principal)?;
    let account = principal.account_id;
    let body: ContactBody = object(body)?;
    let option = body.duplicate_option().map_err(ApiError::bad_request)?;
    let changes = changes(body, None)?;
    check_refs(&state, account, &changes).await?;
    let changes = super::emails::with_address_status(&state, account, changes).await?;
    let record = match option.and_then(|o| changes.upsert_match(o)) {
        None => insert(&state, account, changes).await?,
        Some(m) => {
            let now = state.clock.now();
            let create = create_closure(changes.clone(), now);
            let edit = edit_closure(changes, now);
            match state
                .store
                .upsert_record(
                    account,
                    RecordKind::Contact,
                    &m.lock_key,
                    m.conds,
                    create,
                    edit,
                    now,
                )
                .await?
            {
                Upserted::Created(r) | Upserted::Updated(r) => r,
                Upserted::Rejected(msg) => return Err(ApiError::bad_request(msg)),
            }
        }
    };
    let v = render_one(&state, account, record, &[]).await?;
    Ok(json(StatusCode::OK, &v))
}

/// `PATCH /contacts/{id}`: changes only the fields sent (slot lists merge by slot), or only
/// those named in `update_mask`.
///
/// # Errors
/// 404, 400, 403.
#[utoipa::path(
    patch,
    path = "/crm/rest/v1/contacts/{id}",
    tag = "Contacts",
    params(("id" = i64, Path, description = "Record id")),
    request_body(content = serde_json::Value, content_type = "application/json"),
    responses((status = 200, description = "The updated contact", body = serde_json::Value), (status = 400, description = "Invalid input"), (status = 401, description = "Missing or invalid credential"), (status = 403, description = "Read-only credential"), (status = 404, description = "No such record")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn update(
    State(state): State<AppState>,
    principal: Principal,
    Ids(id): Ids<i64>,
    uri: Uri,
    KeapJson(body): KeapJson<Value>,
) -> Result<Response, ApiError> {
    require_write(&principal)?;
    let account = principal.account_id;
    let q = V1Query::from_uri(&uri);
    let mask = parse_update_mask(q.list("update_mask")?).map_err(ApiError::bad_request)?;
    let mask = (!mask.is_empty()).then_some(mask);
    let changes = changes(object(body)?, mask.as_deref())?;
    check_refs(&state, account, &changes).await?;
    let changes = super::emails::with_address_status(&state, account, changes).await?;
    let now = state.clock.now();
    let record = match state
        .store
        .update_record(
            account,
            RecordKind::Contact,
            id,
            edit_closure(changes, now),
            now,
        )
        .await
        .map_err(or_not_found(CONTACT))?
    {
        Edited::Updated(r) => r,
        Edited::Rejected(msg) => return Err(ApiError::bad_request(msg)),
    };
    let v = render_one(&state, account, record, &[]).await?;
    Ok(json(StatusCode::OK, &v))
}

/// `DELETE /contacts/{id}`: 204; the contact's tag assignments go with it.
///
/// # Errors
/// 404, 403.
#[utoipa::path(
    delete,
    path = "/crm/rest/v1/contacts/{id}",
    tag = "Contacts",
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
        .delete_record(principal.account_id, RecordKind::Contact, id)
        .await
        .map_err(or_not_found(CONTACT))?;
    delete_dependents(&state, principal.account_id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Deleting a contact deletes its notes and tasks (rest-v1.md §1.7; orders and opportunities
/// keep a dangling `contact_id`), its credit cards on file (nothing could read or charge
/// them any more) and its links to other contacts. Their `n0` key (a link's `n0` or `n1`) is
/// the contact id. Not one transaction with the
/// contact's deletion: a crash in between leaves notes whose contact is gone, which read and
/// list like any other and go with the next delete of that id's records.
async fn delete_dependents(
    state: &AppState,
    account: AccountId,
    contact: i64,
) -> Result<(), ApiError> {
    use keapsake_core::crm::link::{CONTACT1_KEY, CONTACT2_KEY};
    for (kind, key) in [
        (RecordKind::Note, 0),
        (RecordKind::Task, 0),
        (RecordKind::CreditCard, 0),
        (RecordKind::ContactLink, CONTACT1_KEY),
        (RecordKind::ContactLink, CONTACT2_KEY),
    ] {
        loop {
            let query = keapsake_core::records::Query {
                conds: vec![keapsake_core::records::Cond::IntEq(key, contact)],
                limit: 500,
                ..Default::default()
            };
            let (page, _) = state.store.list_records(account, kind, &query).await?;
            if page.is_empty() {
                break;
            }
            for r in page {
                match state.store.delete_record(account, kind, r.id).await {
                    Ok(()) | Err(StoreError::NotFound) => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
    }
    Ok(())
}

/// `GET /contacts/model`: the account's contact custom fields and the optional properties.
///
/// # Errors
/// Store failures.
#[utoipa::path(
    get,
    path = "/crm/rest/v1/contacts/model",
    tag = "Contacts",
    responses((status = 200, description = "The contact model", body = serde_json::Value), (status = 401, description = "Missing or invalid credential")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn model(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Response, ApiError> {
    let account = principal.account_id;
    let mut fields = Vec::new();
    let mut query = Query {
        conds: vec![Cond::TextEq(
            RECORD_TYPE_KEY,
            RecordType::Contact.as_str().to_owned(),
        )],
        ..Query::default()
    };
    loop {
        let (records, total) = state
            .store
            .list_records(account, RecordKind::CustomField, &query)
            .await?;
        let n = i64::try_from(records.len()).unwrap_or(i64::MAX);
        for r in records {
            let doc = CustomFieldDoc::from_value(&r.data).map_err(unreadable)?;
            fields.push(doc.render(r.id));
        }
        query.offset = query.offset.saturating_add(n);
        if n == 0 || query.offset >= total {
            break;
        }
    }
    Ok(json(
        StatusCode::OK,
        &json!({"custom_fields": fields, "optional_properties": OPTIONAL_PROPERTIES}),
    ))
}

/// `POST /contacts/model/customFields`: 201 with the new `CustomFieldMetaData`.
///
/// # Errors
/// 400 (validation, a field with the same name), 403.
#[utoipa::path(
    post,
    path = "/crm/rest/v1/contacts/model/customFields",
    tag = "Contacts",
    request_body(content = serde_json::Value, content_type = "application/json"),
    responses((status = 201, description = "The created custom field", body = serde_json::Value), (status = 400, description = "Invalid input"), (status = 401, description = "Missing or invalid credential"), (status = 403, description = "Read-only credential")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn create_custom_field(
    State(state): State<AppState>,
    principal: Principal,
    KeapJson(body): KeapJson<Value>,
) -> Result<Response, ApiError> {
    require_write(&principal)?;
    let body: NewCustomFieldBody = object(body)?;
    let doc = body
        .into_doc(RecordType::Contact)
        .map_err(ApiError::bad_request)?;
    let label = doc.label.clone();
    let now = state.clock.now();
    let create: Create = Box::new(move |_| {
        Ok(NewRecord {
            keys: doc.keys(),
            data: doc.to_value(),
        })
    });
    let record = match state
        .store
        .insert_record(principal.account_id, RecordKind::CustomField, create, now)
        .await
    {
        Ok(Edited::Updated(r)) => r,
        Ok(Edited::Rejected(msg)) => return Err(ApiError::bad_request(msg)),
        Err(StoreError::Conflict { .. }) => {
            return Err(ApiError::bad_request(format!(
                "A contact custom field named {label:?} already exists"
            )));
        }
        Err(e) => return Err(e.into()),
    };
    let doc = CustomFieldDoc::from_value(&record.data).map_err(unreadable)?;
    Ok(json(StatusCode::CREATED, &doc.render(record.id)))
}

/// 404 unless the contact exists in this account.
pub(crate) async fn ensure_contact(
    state: &AppState,
    account: AccountId,
    id: i64,
) -> Result<Record, ApiError> {
    state
        .store
        .get_record(account, RecordKind::Contact, id)
        .await
        .map_err(or_not_found(CONTACT))
}

/// `GET /contacts/{id}/tags`: `{"tags":[{"tag":{"id","name","category":"<name>"},
/// "date_applied"}],…}`, ordered by tag id.
///
/// # Errors
/// 404, 400 (paging).
#[utoipa::path(
    get,
    path = "/crm/rest/v1/contacts/{id}/tags",
    tag = "Contacts",
    params(("id" = i64, Path, description = "Record id"), ("limit" = Option<i64>, Query, description = "Page size"), ("offset" = Option<i64>, Query, description = "Records to skip")),
    responses((status = 200, description = "The contact's tags", body = serde_json::Value), (status = 401, description = "Missing or invalid credential"), (status = 404, description = "No such record")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn list_tags(
    State(state): State<AppState>,
    principal: Principal,
    Ids(id): Ids<i64>,
    uri: Uri,
) -> Result<Response, ApiError> {
    let q = V1Query::from_uri(&uri);
    let paging = q.paging()?;
    let account = principal.account_id;
    ensure_contact(&state, account, id).await?;
    let (links, total) = state
        .store
        .list_links(
            account,
            LinkKind::ContactTag,
            Side::A(id),
            paging.limit,
            paging.offset,
        )
        .await?;
    let tag_ids: Vec<i64> = links.iter().map(|l| l.b).collect();
    let tags = load_tags(&state, account, &tag_ids).await?;
    let items = links
        .iter()
        .filter_map(|l| {
            let t = tags.get(&l.b)?;
            Some(json!({
                "tag": t.doc.render_simple(l.b, t.category.as_ref().map(|(_, c)| c)),
                "date_applied": date::format_datetime(l.created_at),
            }))
        })
        .collect();
    let path = format!("contacts/{id}/tags");
    Ok(Envelope::new(&state, &path, "tags", items, total, paging, &q).into_response())
}

/// `POST /contacts/{id}/tags` body.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct TagIdsBody {
    /// Keap's camelCase key (`keap/rest-v1.md` §1.8).
    #[serde(rename = "tagIds", alias = "tag_ids")]
    tag_ids: Option<Vec<LenientI64>>,
}

/// `POST /contacts/{id}/tags` `{"tagIds":[…]}`: 200 with `{"<tag id>":"SUCCESS"|"DUPLICATE"|
/// "TAG_ID_NOT_FOUND"}`.
///
/// # Errors
/// 404 (no such contact), 400, 403.
#[utoipa::path(
    post,
    path = "/crm/rest/v1/contacts/{id}/tags",
    tag = "Contacts",
    params(("id" = i64, Path, description = "Record id")),
    request_body(content = serde_json::Value, content_type = "application/json"),
    responses((status = 200, description = "Result per tag id", body = serde_json::Value), (status = 400, description = "Invalid input"), (status = 401, description = "Missing or invalid credential"), (status = 403, description = "Read-only credential"), (status = 404, description = "No such record")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn apply_tags(
    State(state): State<AppState>,
    principal: Principal,
    Ids(id): Ids<i64>,
    KeapJson(body): KeapJson<Value>,
) -> Result<Response, ApiError> {
    require_write(&principal)?;
    let body: TagIdsBody = object(body)?;
    let tag_ids = distinct_ids(body.tag_ids.into_iter().flatten().map(|i| i.0))
        .map_err(ApiError::bad_request)?;
    let account = principal.account_id;
    ensure_contact(&state, account, id).await?;
    if tag_ids.is_empty() {
        return Ok(json(StatusCode::OK, &json!({})));
    }
    let pairs: Vec<(i64, i64)> = tag_ids.iter().map(|t| (id, *t)).collect();
    let outcomes = state
        .store
        .link(account, LinkKind::ContactTag, &pairs, state.clock.now())
        .await?;
    if outcomes.iter().all(|o| *o == LinkOutcome::MissingA) {
        // Deleted between the check and the link.
        return Err(super::list::not_found(CONTACT));
    }
    let results = tag_ids
        .iter()
        .zip(outcomes)
        .map(|(t, o)| (*t, ApplyResult::of(o)));
    Ok(json(StatusCode::OK, &result_map(results)))
}

/// The required `ids` query parameter of the bulk removals.
pub(crate) fn required_ids(q: &V1Query) -> Result<Vec<i64>, ApiError> {
    let ids = q.ids("ids")?;
    if ids.is_empty() {
        return Err(ApiError::bad_request("ids is required"));
    }
    distinct_ids(ids).map_err(ApiError::bad_request)
}

/// `DELETE /contacts/{id}/tags?ids=1,2`: 204, tags the contact does not have included.
///
/// # Errors
/// 404, 400 (no `ids`), 403.
#[utoipa::path(
    delete,
    path = "/crm/rest/v1/contacts/{id}/tags",
    tag = "Contacts",
    params(("id" = i64, Path, description = "Record id"), ("ids" = String, Query, description = "Comma-separated tag ids")),
    responses((status = 204, description = "Removed"), (status = 400, description = "Invalid input"), (status = 401, description = "Missing or invalid credential"), (status = 403, description = "Read-only credential"), (status = 404, description = "No such record")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn remove_tags(
    State(state): State<AppState>,
    principal: Principal,
    Ids(id): Ids<i64>,
    uri: Uri,
) -> Result<StatusCode, ApiError> {
    require_write(&principal)?;
    let tag_ids = required_ids(&V1Query::from_uri(&uri))?;
    let account = principal.account_id;
    ensure_contact(&state, account, id).await?;
    let pairs: Vec<(i64, i64)> = tag_ids.iter().map(|t| (id, *t)).collect();
    state
        .store
        .unlink(account, LinkKind::ContactTag, &pairs)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /contacts/{id}/tags/{tagId}`: 204, also when the tag was not applied.
///
/// # Errors
/// 404 (no such contact), 403.
#[utoipa::path(
    delete,
    path = "/crm/rest/v1/contacts/{id}/tags/{tag_id}",
    tag = "Contacts",
    params(("id" = i64, Path, description = "Record id"), ("tag_id" = i64, Path, description = "Tag id")),
    responses((status = 204, description = "Removed"), (status = 401, description = "Missing or invalid credential"), (status = 403, description = "Read-only credential"), (status = 404, description = "No such record")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn remove_tag(
    State(state): State<AppState>,
    principal: Principal,
    Ids((id, tag_id)): Ids<(i64, i64)>,
) -> Result<StatusCode, ApiError> {
    require_write(&principal)?;
    let account = principal.account_id;
    ensure_contact(&state, account, id).await?;
    state
        .store
        .unlink(account, LinkKind::ContactTag, &[(id, tag_id)])
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Credit cards and UTM values: deliberately 501 (after
/// authentication).
async fn unimplemented(_principal: Principal) -> ApiError {
    not_implemented()
}
