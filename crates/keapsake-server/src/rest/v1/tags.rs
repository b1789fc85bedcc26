//! REST v1 tags and tag categories (`keap/rest-v1.md` §2): list, create, get, create a
//! category, and the contacts (and companies) a tag is applied to. Rules live in
//! [`keapsake_core::crm::tag`]; tag assignments are [`LinkKind::ContactTag`] links, so applying
//! is idempotent and a re-application keeps its original `date_applied`.
//!
//! Every handler takes the account only from the credential ([`Principal`]).

use super::contacts::{ensure_contact, required_ids};
use super::list::{Envelope, Ids, V1Query, object, or_not_found, require_write};
use crate::error::{ApiError, json};
use crate::extract::{KeapJson, Principal};
use crate::state::AppState;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use keapsake_core::crm::contact::ContactDoc;
use keapsake_core::crm::tag::{
    ApplyResult, CATEGORY_KEY, NAME_KEY, NewCategoryBody, NewTagBody, TagCategoryDoc, TagDoc,
    distinct_ids, result_map,
};
use keapsake_core::crm::{LenientI64, date};
use keapsake_core::records::{
    Cond, Create, Edited, LinkKind, NewRecord, Query, Record, RecordKind, Side,
};
use keapsake_core::{AccountId, StoreError};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;

/// Tag routes, relative to `/crm/rest/v1`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/tags", get(list).post(create))
        .route("/tags/categories", post(create_category))
        .route("/tags/{id}", get(get_one))
        .route(
            "/tags/{id}/contacts",
            get(list_contacts).post(apply).delete(remove),
        )
        .route("/tags/{id}/contacts/{contact_id}", delete(remove_one))
        .route("/tags/{id}/companies", get(list_companies))
}

const TAG: &str = "Tag";

fn unreadable(msg: String) -> ApiError {
    tracing::error!(error = %msg, "unreadable record");
    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
}

/// A tag with its category, ready to render.
#[derive(Debug, Clone)]
pub(crate) struct LoadedTag {
    /// The tag.
    pub doc: TagDoc,
    /// Its category, if it has one that exists.
    pub category: Option<(i64, TagCategoryDoc)>,
}

impl LoadedTag {
    fn render(&self, id: i64) -> Value {
        self.doc
            .render(id, self.category.as_ref().map(|(cid, c)| (*cid, c)))
    }
}

/// Loads tags and their categories (two store round trips); missing ids are skipped.
pub(crate) async fn load_tags(
    state: &AppState,
    account: AccountId,
    ids: &[i64],
) -> Result<HashMap<i64, LoadedTag>, ApiError> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let records = state
        .store
        .get_records(account, RecordKind::Tag, ids)
        .await?;
    load_from(state, account, &records).await
}

async fn load_from(
    state: &AppState,
    account: AccountId,
    records: &[Record],
) -> Result<HashMap<i64, LoadedTag>, ApiError> {
    let docs = records
        .iter()
        .map(|r| TagDoc::from_value(&r.data).map(|d| (r.id, d)))
        .collect::<Result<Vec<_>, _>>()
        .map_err(unreadable)?;
    let mut cat_ids: Vec<i64> = docs.iter().filter_map(|(_, d)| d.category_id).collect();
    cat_ids.sort_unstable();
    cat_ids.dedup();
    let mut cats: HashMap<i64, TagCategoryDoc> = HashMap::new();
    if !cat_ids.is_empty() {
        for r in state
            .store
            .get_records(account, RecordKind::TagCategory, &cat_ids)
            .await?
        {
            cats.insert(
                r.id,
                TagCategoryDoc::from_value(&r.data).map_err(unreadable)?,
            );
        }
    }
    Ok(docs
        .into_iter()
        .map(|(id, doc)| {
            let category = doc
                .category_id
                .and_then(|c| cats.get(&c).map(|d| (c, d.clone())));
            (id, LoadedTag { doc, category })
        })
        .collect())
}

async fn ensure_tag(state: &AppState, account: AccountId, id: i64) -> Result<Record, ApiError> {
    state
        .store
        .get_record(account, RecordKind::Tag, id)
        .await
        .map_err(or_not_found(TAG))
}

/// `GET /tags`: filters `category` (category id) and `name` (exact, full-string), paged,
/// ordered by id.
///
/// # Errors
/// 400 for a bad parameter.
#[utoipa::path(
    get,
    path = "/crm/rest/v1/tags",
    tag = "Tags",
    params(("limit" = Option<i64>, Query, description = "Page size"), ("offset" = Option<i64>, Query, description = "Records to skip"), ("name" = Option<String>, Query, description = "Tag name")),
    responses((status = 200, description = "A page of tags", body = serde_json::Value), (status = 401, description = "Missing or invalid credential")),
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
    if let Some(c) = q.int("category")? {
        conds.push(Cond::IntEq(CATEGORY_KEY, c));
    }
    if let Some(name) = q.get("name")? {
        conds.push(Cond::TextEq(NAME_KEY, name.to_owned()));
    }
    let query = Query {
        conds,
        limit: paging.limit,
        offset: paging.offset,
        ..Query::default()
    };
    let account = principal.account_id;
    let (records, total) = state
        .store
        .list_records(account, RecordKind::Tag, &query)
        .await?;
    let loaded = load_from(&state, account, &records).await?;
    let items = records
        .iter()
        .filter_map(|r| loaded.get(&r.id).map(|t| t.render(r.id)))
        .collect();
    Ok(Envelope::new(&state, "tags", "tags", items, total, paging, &q).into_response())
}

/// `POST /tags` `{"name","description","category":{"id"}}`: **200** with the tag (the spec's
/// status). Names are unique per account, ignoring ASCII case.
///
/// # Errors
/// 400 (no name, duplicate name, unknown category), 403.
#[utoipa::path(
    post,
    path = "/crm/rest/v1/tags",
    tag = "Tags",
    request_body(content = serde_json::Value, content_type = "application/json"),
    responses((status = 200, description = "The created tag", body = serde_json::Value), (status = 400, description = "Invalid input"), (status = 401, description = "Missing or invalid credential"), (status = 403, description = "Read-only credential")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    principal: Principal,
    KeapJson(body): KeapJson<Value>,
) -> Result<Response, ApiError> {
    require_write(&principal)?;
    let account = principal.account_id;
    let body: NewTagBody = object(body)?;
    let doc = body.into_doc().map_err(ApiError::bad_request)?;
    if let Some(c) = doc.category_id {
        match state
            .store
            .get_record(account, RecordKind::TagCategory, c)
            .await
        {
            Ok(_) => {}
            Err(StoreError::NotFound) => {
                return Err(ApiError::bad_request(format!(
                    "Tag category {c} does not exist"
                )));
            }
            Err(e) => return Err(e.into()),
        }
    }
    let name = doc.name.clone();
    let create: Create = Box::new(move |_| {
        Ok(NewRecord {
            keys: doc.keys(),
            data: doc.to_value(),
        })
    });
    let record = match state
        .store
        .insert_record(account, RecordKind::Tag, create, state.clock.now())
        .await
    {
        Ok(Edited::Updated(r)) => r,
        Ok(Edited::Rejected(msg)) => return Err(ApiError::bad_request(msg)),
        Err(StoreError::Conflict { .. }) => {
            return Err(ApiError::bad_request(format!(
                "A tag named {name:?} already exists"
            )));
        }
        Err(e) => return Err(e.into()),
    };
    let loaded = load_from(&state, account, std::slice::from_ref(&record)).await?;
    let v = loaded
        .get(&record.id)
        .map(|t| t.render(record.id))
        .ok_or_else(|| unreadable("a created tag did not load".to_owned()))?;
    Ok(json(StatusCode::OK, &v))
}

/// `GET /tags/{id}`.
///
/// # Errors
/// 404 `Unable to find this Tag`.
#[utoipa::path(
    get,
    path = "/crm/rest/v1/tags/{id}",
    tag = "Tags",
    params(("id" = i64, Path, description = "Record id")),
    responses((status = 200, description = "The tag", body = serde_json::Value), (status = 401, description = "Missing or invalid credential"), (status = 404, description = "No such record")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn get_one(
    State(state): State<AppState>,
    principal: Principal,
    Ids(id): Ids<i64>,
) -> Result<Response, ApiError> {
    let account = principal.account_id;
    let record = ensure_tag(&state, account, id).await?;
    let loaded = load_from(&state, account, std::slice::from_ref(&record)).await?;
    let v = loaded
        .get(&id)
        .map(|t| t.render(id))
        .ok_or_else(|| unreadable("a tag did not load".to_owned()))?;
    Ok(json(StatusCode::OK, &v))
}

/// `POST /tags/categories` `{"name","description"}`: **200** with the category (the spec's
/// status).
///
/// # Errors
/// 400 (no name), 403.
#[utoipa::path(
    post,
    path = "/crm/rest/v1/tags/categories",
    tag = "Tags",
    request_body(content = serde_json::Value, content_type = "application/json"),
    responses((status = 200, description = "The created category", body = serde_json::Value), (status = 400, description = "Invalid input"), (status = 401, description = "Missing or invalid credential"), (status = 403, description = "Read-only credential")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn create_category(
    State(state): State<AppState>,
    principal: Principal,
    KeapJson(body): KeapJson<Value>,
) -> Result<Response, ApiError> {
    require_write(&principal)?;
    let body: NewCategoryBody = object(body)?;
    let doc = body.into_doc().map_err(ApiError::bad_request)?;
    let create: Create = Box::new(move |_| {
        Ok(NewRecord {
            keys: doc.keys(),
            data: doc.to_value(),
        })
    });
    let record = match state
        .store
        .insert_record(
            principal.account_id,
            RecordKind::TagCategory,
            create,
            state.clock.now(),
        )
        .await?
    {
        Edited::Updated(r) => r,
        Edited::Rejected(msg) => return Err(ApiError::bad_request(msg)),
    };
    let doc = TagCategoryDoc::from_value(&record.data).map_err(unreadable)?;
    Ok(json(StatusCode::OK, &doc.render(record.id)))
}

/// `GET /tags/{id}/contacts`: `{"contacts":[{"contact":{"id","email","first_name",
/// "last_name"},"date_applied"}],…}`, ordered by contact id.
///
/// # Errors
/// 404 (no such tag), 400 (paging).
#[utoipa::path(
    get,
    path = "/crm/rest/v1/tags/{id}/contacts",
    tag = "Tags",
    params(("id" = i64, Path, description = "Record id"), ("limit" = Option<i64>, Query, description = "Page size"), ("offset" = Option<i64>, Query, description = "Records to skip")),
    responses((status = 200, description = "Contacts with the tag", body = serde_json::Value), (status = 401, description = "Missing or invalid credential"), (status = 404, description = "No such record")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn list_contacts(
    State(state): State<AppState>,
    principal: Principal,
    Ids(id): Ids<i64>,
    uri: Uri,
) -> Result<Response, ApiError> {
    let q = V1Query::from_uri(&uri);
    let paging = q.paging()?;
    let account = principal.account_id;
    ensure_tag(&state, account, id).await?;
    let (links, total) = state
        .store
        .list_links(
            account,
            LinkKind::ContactTag,
            Side::B(id),
            paging.limit,
            paging.offset,
        )
        .await?;
    let contact_ids: Vec<i64> = links.iter().map(|l| l.a).collect();
    let mut contacts: HashMap<i64, ContactDoc> = HashMap::new();
    if !contact_ids.is_empty() {
        for r in state
            .store
            .get_records(account, RecordKind::Contact, &contact_ids)
            .await?
        {
            contacts.insert(r.id, ContactDoc::from_value(&r.data).map_err(unreadable)?);
        }
    }
    let items = links
        .iter()
        .filter_map(|l| {
            let c = contacts.get(&l.a)?;
            Some(json!({
                "contact": {
                    "id": l.a,
                    "email": c.primary_email(),
                    "first_name": c.given_name,
                    "last_name": c.family_name,
                },
                "date_applied": date::format_datetime(l.created_at),
            }))
        })
        .collect();
    let path = format!("tags/{id}/contacts");
    Ok(Envelope::new(&state, &path, "contacts", items, total, paging, &q).into_response())
}

/// `POST /tags/{id}/contacts` body.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ContactIdsBody {
    ids: Option<Vec<LenientI64>>,
}

/// `POST /tags/{id}/contacts` `{"ids":[…]}`: 200 with `{"<contact id>":"SUCCESS"|"DUPLICATE"|
/// "CONTACT_NOT_FOUND"}`.
///
/// # Errors
/// 404 (no such tag), 400, 403.
#[utoipa::path(
    post,
    path = "/crm/rest/v1/tags/{id}/contacts",
    tag = "Tags",
    params(("id" = i64, Path, description = "Record id")),
    request_body(content = serde_json::Value, content_type = "application/json"),
    responses((status = 200, description = "Result per contact id", body = serde_json::Value), (status = 400, description = "Invalid input"), (status = 401, description = "Missing or invalid credential"), (status = 403, description = "Read-only credential"), (status = 404, description = "No such record")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn apply(
    State(state): State<AppState>,
    principal: Principal,
    Ids(id): Ids<i64>,
    KeapJson(body): KeapJson<Value>,
) -> Result<Response, ApiError> {
    require_write(&principal)?;
    let body: ContactIdsBody = object(body)?;
    let contact_ids =
        distinct_ids(body.ids.into_iter().flatten().map(|i| i.0)).map_err(ApiError::bad_request)?;
    let account = principal.account_id;
    ensure_tag(&state, account, id).await?;
    if contact_ids.is_empty() {
        return Ok(json(StatusCode::OK, &json!({})));
    }
    let pairs: Vec<(i64, i64)> = contact_ids.iter().map(|c| (*c, id)).collect();
    let outcomes = state
        .store
        .link(account, LinkKind::ContactTag, &pairs, state.clock.now())
        .await?;
    let results = contact_ids
        .iter()
        .zip(outcomes)
        .map(|(c, o)| (*c, ApplyResult::of(o)));
    Ok(json(StatusCode::OK, &result_map(results)))
}

/// `DELETE /tags/{id}/contacts?ids=1,2,3`: 204 (contacts without the tag included).
///
/// # Errors
/// 404 (no such tag), 400 (no `ids`), 403.
#[utoipa::path(
    delete,
    path = "/crm/rest/v1/tags/{id}/contacts",
    tag = "Tags",
    params(("id" = i64, Path, description = "Record id"), ("ids" = String, Query, description = "Comma-separated contact ids")),
    responses((status = 204, description = "Removed"), (status = 400, description = "Invalid input"), (status = 401, description = "Missing or invalid credential"), (status = 403, description = "Read-only credential"), (status = 404, description = "No such record")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn remove(
    State(state): State<AppState>,
    principal: Principal,
    Ids(id): Ids<i64>,
    uri: Uri,
) -> Result<StatusCode, ApiError> {
    require_write(&principal)?;
    let contact_ids = required_ids(&V1Query::from_uri(&uri))?;
    let account = principal.account_id;
    ensure_tag(&state, account, id).await?;
    let pairs: Vec<(i64, i64)> = contact_ids.iter().map(|c| (*c, id)).collect();
    state
        .store
        .unlink(account, LinkKind::ContactTag, &pairs)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /tags/{id}/contacts/{contactId}`: 204, also when the tag was not applied.
///
/// # Errors
/// 404 (no such tag or contact), 403.
#[utoipa::path(
    delete,
    path = "/crm/rest/v1/tags/{id}/contacts/{contact_id}",
    tag = "Tags",
    params(("id" = i64, Path, description = "Record id"), ("contact_id" = i64, Path, description = "Contact id")),
    responses((status = 204, description = "Removed"), (status = 401, description = "Missing or invalid credential"), (status = 403, description = "Read-only credential"), (status = 404, description = "No such record")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn remove_one(
    State(state): State<AppState>,
    principal: Principal,
    Ids((id, contact_id)): Ids<(i64, i64)>,
) -> Result<StatusCode, ApiError> {
    require_write(&principal)?;
    let account = principal.account_id;
    ensure_tag(&state, account, id).await?;
    ensure_contact(&state, account, contact_id).await?;
    state
        .store
        .unlink(account, LinkKind::ContactTag, &[(contact_id, id)])
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `company_name` and e-mail of a stored company, read tolerantly (the company document belongs
/// to the companies resource): `email_address` as v1's `{"email"}` object or a string, or
/// `email`.
fn company_summary(id: i64, data: &Value) -> Value {
    let name = data.get("company_name").and_then(Value::as_str);
    let email = data
        .get("email_address")
        .and_then(|e| e.as_str().or_else(|| e.get("email")?.as_str()))
        .or_else(|| data.get("email").and_then(Value::as_str));
    json!({"id": id, "company_name": name, "email": email})
}

/// `GET /tags/{id}/companies`: `{"companies":[{"company":{"id","company_name","email"},
/// "date_applied"}],…}`.
///
/// # Errors
/// 404 (no such tag), 400 (paging).
#[utoipa::path(
    get,
    path = "/crm/rest/v1/tags/{id}/companies",
    tag = "Tags",
    params(("id" = i64, Path, description = "Record id"), ("limit" = Option<i64>, Query, description = "Page size"), ("offset" = Option<i64>, Query, description = "Records to skip")),
    responses((status = 200, description = "Companies with the tag", body = serde_json::Value), (status = 401, description = "Missing or invalid credential"), (status = 404, description = "No such record")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn list_companies(
    State(state): State<AppState>,
    principal: Principal,
    Ids(id): Ids<i64>,
    uri: Uri,
) -> Result<Response, ApiError> {
    let q = V1Query::from_uri(&uri);
    let paging = q.paging()?;
    let account = principal.account_id;
    ensure_tag(&state, account, id).await?;
    let (links, total) = state
        .store
        .list_links(
            account,
            LinkKind::CompanyTag,
            Side::B(id),
            paging.limit,
            paging.offset,
        )
        .await?;
    let ids: Vec<i64> = links.iter().map(|l| l.a).collect();
    let mut companies: HashMap<i64, Value> = HashMap::new();
    if !ids.is_empty() {
        for r in state
            .store
            .get_records(account, RecordKind::Company, &ids)
            .await?
        {
            companies.insert(r.id, company_summary(r.id, &r.data));
        }
    }
    let items = links
        .iter()
        .filter_map(|l| {
            Some(json!({
                "company": companies.remove(&l.a)?,
                "date_applied": date::format_datetime(l.created_at),
            }))
        })
        .collect();
    let path = format!("tags/{id}/companies");
    Ok(Envelope::new(&state, &path, "companies", items, total, paging, &q).into_response())
}
