//! REST v2 tags and tag categories (`keap/rest-v2.md` §4): tags (list, create, get, `PATCH`,
//! delete), applying and removing a tag in bulk (`:applyTags`, `:removeTags`), the contacts
//! and companies a tag is applied to, and categories (list, create, get, `PATCH`, delete).
//! Same stored documents and links as v1 ([`TagDoc`], [`TagCategoryDoc`],
//! [`LinkKind::ContactTag`]), so tags and their assignments are shared with v1 and XML-RPC and
//! fire the same `contactGroup.*` hooks.
//!
//! v2's `Tag.category` carries only the category id. Lists are small (an account has at most
//! thousands of tags), so they are filtered, sorted and paged in memory.

use super::common::{
    ListParams, ListSpec, V2Id, V2Json, V2Query, all_links, all_records, list_response, or_missing,
    records_by_id, require_write, sort_by_key, text_key, typed, unreadable, update_mask, within,
};
use crate::error::{V2Error, json};
use crate::extract::Principal;
use crate::state::AppState;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use axum::routing::{get, post};
use keapsake_core::crm::contact::ContactDoc;
use keapsake_core::crm::tag::{
    ApplyResult, CATEGORY_KEY, MAX_DESCRIPTION, MAX_NAME, TagCategoryDoc, TagDoc, distinct_ids,
};
use keapsake_core::crm::{Field, check_text, fold};
use keapsake_core::records::{
    Cond, Create, Edit, Edited, LinkKind, NewRecord, Query, Record, RecordKind, Side,
};
use keapsake_core::v2::filter::{FieldSpec, Filter, Kind, Operand};
use keapsake_core::v2::{check_names, format_time, parse_id};
use keapsake_core::{AccountId, StoreError};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use time::OffsetDateTime;

/// Tag routes, relative to `/crm/rest/v2`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/tags", get(list).post(create))
        .route(
            "/tags/categories",
            get(list_categories).post(create_category),
        )
        .route(
            "/tags/categories/{tag_category_id}",
            get(get_category)
                .patch(update_category)
                .delete(remove_category),
        )
        .route("/tags/{tag_id}", get(get_one).patch(update).delete(remove))
        .route("/tags/{tag_id}/contacts", get(list_contacts))
        .route("/tags/{tag_id}/contacts:applyTags", post(apply))
        .route("/tags/{tag_id}/contacts:removeTags", post(remove_from))
        .route("/tags/{tag_id}/companies", get(list_companies))
}

const TAG: &str = "Tag";
const CATEGORY: &str = "Tag category";
const DOMAIN: &str = "tags";

const TAG_FILTERS: &[FieldSpec] = &[
    FieldSpec::text("name"),
    FieldSpec::text("description").with_none(),
    FieldSpec::of("category_id", Kind::Id).with_none(),
    FieldSpec::of("tag_ids", Kind::IdList),
    FieldSpec::of("since_create_time", Kind::Time),
    FieldSpec::of("until_create_time", Kind::Time),
    FieldSpec::of("since_update_time", Kind::Time),
    FieldSpec::of("until_update_time", Kind::Time),
];

const LIST: ListSpec = ListSpec {
    operation: "listTags",
    fields: TAG_FILTERS,
    order_by: &["name", "create_time", "update_time"],
};

const CATEGORY_FILTERS: &[FieldSpec] = &[
    FieldSpec::text("name").with_none(),
    FieldSpec::text("description").with_none(),
    FieldSpec::of("since_create_time", Kind::Time),
    FieldSpec::of("until_create_time", Kind::Time),
    FieldSpec::of("since_update_time", Kind::Time),
    FieldSpec::of("until_update_time", Kind::Time),
];

const LIST_CATEGORIES: ListSpec = ListSpec {
    operation: "listTagCategories",
    fields: CATEGORY_FILTERS,
    order_by: &["name", "create_time", "update_time"],
};

const CONTACT_FILTERS: &[FieldSpec] = &[
    FieldSpec::text("given_name").with_none(),
    FieldSpec::text("family_name").with_none(),
    FieldSpec::text("email").with_none(),
    FieldSpec::of("since_applied_time", Kind::Time),
    FieldSpec::of("until_applied_time", Kind::Time),
];

const LIST_CONTACTS: ListSpec = ListSpec {
    operation: "listContactsWithTagId",
    fields: CONTACT_FILTERS,
    order_by: &["given_name", "family_name", "email", "applied_time"],
};

const COMPANY_FILTERS: &[FieldSpec] = &[
    FieldSpec::text("company_name"),
    FieldSpec::text("email").with_none(),
    FieldSpec::of("since_applied_time", Kind::Time),
    FieldSpec::of("until_applied_time", Kind::Time),
];

const LIST_COMPANIES: ListSpec = ListSpec {
    operation: "listCompaniesForTagId",
    fields: COMPANY_FILTERS,
    order_by: &["company_name", "email", "applied_time"],
};

/// A tag as stored, with its record times.
#[derive(Debug, Clone)]
pub(crate) struct LoadedTag {
    /// Record id.
    pub id: i64,
    /// The document.
    pub doc: TagDoc,
    /// Creation time.
    pub created_at: OffsetDateTime,
    /// Last update.
    pub updated_at: OffsetDateTime,
}

impl LoadedTag {
    fn of(r: &Record) -> Result<Self, V2Error> {
        Ok(Self {
            id: r.id,
            doc: TagDoc::from_value(&r.data).map_err(unreadable)?,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }

    /// The v2 `Tag`: `{"id","name","description","category":{"id"},"create_time",
    /// "update_time"}`, absent members omitted.
    pub fn render(&self) -> Value {
        let mut m = Map::new();
        m.insert("id".into(), json!(self.id.to_string()));
        m.insert("name".into(), json!(self.doc.name));
        if let Some(d) = &self.doc.description {
            m.insert("description".into(), json!(d));
        }
        if let Some(c) = self.doc.category_id {
            m.insert("category".into(), json!({"id": c.to_string()}));
        }
        m.insert("create_time".into(), json!(format_time(self.created_at)));
        m.insert("update_time".into(), json!(format_time(self.updated_at)));
        Value::Object(m)
    }

    /// Whether the tag satisfies the tag clauses of a filter (`name`, `description`,
    /// `category_id`, `tag_ids`, creation and update bounds); other clauses are ignored.
    pub fn matches(&self, f: &Filter) -> bool {
        let doc = &self.doc;
        f.clauses
            .iter()
            .all(|c| match (c.field.as_str(), &c.value) {
                ("name", v) => v.matches_text(Some(&doc.name)),
                ("description", v) => v.matches_text(doc.description.as_deref()),
                ("category_id", Operand::None) => doc.category_id.is_none(),
                ("category_id", Operand::Id(id)) => doc.category_id == Some(*id),
                ("tag_ids", Operand::Ids(ids)) => ids.contains(&self.id),
                ("since_create_time", Operand::Time(t)) => within(self.created_at, Some(*t), None),
                ("until_create_time", Operand::Time(t)) => within(self.created_at, None, Some(*t)),
                ("since_update_time", Operand::Time(t)) => within(self.updated_at, Some(*t), None),
                ("until_update_time", Operand::Time(t)) => within(self.updated_at, None, Some(*t)),
                _ => true,
            })
    }
}

/// Loads tags by id (missing ids are skipped).
pub(crate) async fn load_tags(
    state: &AppState,
    account: AccountId,
    ids: &[i64],
) -> Result<HashMap<i64, LoadedTag>, V2Error> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    state
        .store
        .get_records(account, RecordKind::Tag, ids)
        .await?
        .iter()
        .map(|r| LoadedTag::of(r).map(|t| (r.id, t)))
        .collect()
}

async fn ensure_tag(state: &AppState, account: AccountId, id: i64) -> Result<Record, V2Error> {
    state
        .store
        .get_record(account, RecordKind::Tag, id)
        .await
        .map_err(or_missing(TAG, DOMAIN, id))
}

/// Sorts tags by `order_by` (`name` by default).
fn sort_tags(rows: &mut [LoadedTag], params: &ListParams) {
    let desc = params.descending();
    match params.order_field("name") {
        "create_time" => sort_by_key(rows, desc, |t| (t.created_at, t.id)),
        "update_time" => sort_by_key(rows, desc, |t| (t.updated_at, t.id)),
        _ => sort_by_key(rows, desc, |t| (fold(&t.doc.name), t.id)),
    }
}

/// `GET /tags`: filter `name`, `description` (`NONE`), `category_id` (`NONE`), `tag_ids`,
/// creation and update bounds; order `name` (default), `create_time`, `update_time`.
///
/// # Errors
/// 400 for a bad parameter.
#[utoipa::path(
    get,
    path = "/crm/rest/v2/tags",
    tag = "Tags (v2)",
    params(("filter" = Option<String>, Query, description = "name, description, category_id (NONE), tag_ids, since/until_create_time, since/until_update_time"), ("order_by" = Option<String>, Query, description = "name, create_time or update_time, then asc or desc"), ("page_size" = Option<i32>, Query, description = "0-1000, default 100"), ("page_token" = Option<String>, Query, description = "next_page_token of the previous page")),
    responses((status = 200, description = "A page of tags", body = serde_json::Value), (status = 400, description = "Invalid argument"), (status = 401, description = "Missing or invalid credential")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    uri: Uri,
) -> Result<Response, V2Error> {
    let q = V2Query::from_uri(&uri);
    let params = ListParams::parse(&q, &LIST, "", &|_| None)?;
    let mut conds = Vec::new();
    if let Some(Operand::Id(c)) = params.filter.eq("category_id") {
        conds.push(Cond::IntEq(CATEGORY_KEY, *c));
    }
    if let Some(Operand::Ids(ids)) = params.filter.eq("tag_ids") {
        conds.push(Cond::IdIn(ids.clone()));
    }
    let records = all_records(&state, principal.account_id, RecordKind::Tag, conds).await?;
    let mut rows = Vec::new();
    for r in &records {
        let t = LoadedTag::of(r)?;
        if t.matches(&params.filter) {
            rows.push(t);
        }
    }
    sort_tags(&mut rows, &params);
    let (page, next) = params.page(rows);
    Ok(list_response(
        "tags",
        page.iter().map(LoadedTag::render).collect(),
        next,
    ))
}

/// `category` of a tag body: `{"id": "10"}` (a number is accepted too); `null` or no id means
/// none.
fn category_ref(v: &Value) -> Result<Option<i64>, V2Error> {
    let id = match v {
        Value::Null => return Ok(None),
        Value::Object(m) => m.get("id").cloned().unwrap_or(Value::Null),
        _ => return Err(V2Error::bad_request("category must be an object {\"id\"}")),
    };
    match id {
        Value::Null => Ok(None),
        Value::String(s) if s.trim().is_empty() => Ok(None),
        Value::String(s) => parse_id(s.trim())
            .map(Some)
            .ok_or_else(|| V2Error::bad_request(format!("Invalid category id {s:?}"))),
        Value::Number(n) => n
            .as_i64()
            .filter(|i| *i >= 0)
            .map(Some)
            .ok_or_else(|| V2Error::bad_request("Invalid category id")),
        _ => Err(V2Error::bad_request("Invalid category id")),
    }
}

/// A tag or category body (`CreateUpdateTagRequest`, `CreateUpdateTagCategoryRequest`), each
/// member told apart as absent, `null` or set.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct TagBody {
    name: Field<String>,
    description: Field<String>,
    category: Field<Value>,
}

/// A checked name: required when `required`, trimmed, ≤ 255 characters.
fn name_of(f: &Field<String>, required: bool, what: &str) -> Result<Option<String>, V2Error> {
    match f {
        Field::Set(s) if !s.trim().is_empty() => {
            check_text("name", s.trim(), MAX_NAME).map_err(V2Error::bad_request)?;
            Ok(Some(s.trim().to_owned()))
        }
        Field::Absent if !required => Ok(None),
        _ => Err(V2Error::bad_request(format!("{what} name is required"))),
    }
}

fn description_of(f: &Field<String>) -> Result<Field<String>, V2Error> {
    match f {
        Field::Set(d) => {
            check_text("description", d, MAX_DESCRIPTION).map_err(V2Error::bad_request)?;
            Ok(if d.is_empty() {
                Field::Null
            } else {
                Field::Set(d.clone())
            })
        }
        other => Ok(other.clone()),
    }
}

/// 400 unless the category exists in this account.
async fn ensure_category_ref(
    state: &AppState,
    account: AccountId,
    id: Option<i64>,
) -> Result<(), V2Error> {
    let Some(id) = id else { return Ok(()) };
    match state
        .store
        .get_record(account, RecordKind::TagCategory, id)
        .await
    {
        Ok(_) => Ok(()),
        Err(StoreError::NotFound) => Err(V2Error::bad_request(format!(
            "Tag category {id} does not exist"
        ))),
        Err(e) => Err(e.into()),
    }
}

fn name_conflict(name: &str) -> V2Error {
    V2Error::conflict(format!("A tag named {name:?} already exists"))
}

/// `POST /tags` `{"name","description","category":{"id"}}`: **201** with the tag. Names are
/// unique per account ignoring ASCII case (409 `ALREADY_EXISTS`).
///
/// # Errors
/// 400 (no name, unknown category), 403, 409.
#[utoipa::path(
    post,
    path = "/crm/rest/v2/tags",
    tag = "Tags (v2)",
    request_body(content = serde_json::Value, content_type = "application/json"),
    responses((status = 201, description = "The created tag", body = serde_json::Value), (status = 400, description = "Invalid argument"), (status = 401, description = "Missing or invalid credential"), (status = 403, description = "Read-only credential"), (status = 409, description = "A tag with that name exists")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    principal: Principal,
    V2Json(body): V2Json,
) -> Result<Response, V2Error> {
    require_write(&principal)?;
    let account = principal.account_id;
    let b: TagBody = typed(body)?;
    let name = name_of(&b.name, true, "Tag")?.unwrap_or_default();
    let category = match &b.category {
        Field::Set(v) => category_ref(v)?,
        _ => None,
    };
    ensure_category_ref(&state, account, category).await?;
    let doc = TagDoc {
        name: name.clone(),
        description: description_of(&b.description)?.value().cloned(),
        category_id: category,
        extra: Map::new(),
    };
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
        Ok(Edited::Rejected(msg)) => return Err(V2Error::bad_request(msg)),
        Err(StoreError::Conflict { .. }) => return Err(name_conflict(&name)),
        Err(e) => return Err(e.into()),
    };
    Ok(json(StatusCode::CREATED, &LoadedTag::of(&record)?.render()))
}

/// `GET /tags/{tag_id}`.
///
/// # Errors
/// 400, 404.
#[utoipa::path(
    get,
    path = "/crm/rest/v2/tags/{tag_id}",
    tag = "Tags (v2)",
    params(("tag_id" = String, Path, description = "Tag id")),
    responses((status = 200, description = "The tag", body = serde_json::Value), (status = 400, description = "Invalid argument"), (status = 401, description = "Missing or invalid credential"), (status = 404, description = "No such tag")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn get_one(
    State(state): State<AppState>,
    principal: Principal,
    V2Id(id): V2Id,
) -> Result<Response, V2Error> {
    let record = ensure_tag(&state, principal.account_id, id).await?;
    Ok(json(StatusCode::OK, &LoadedTag::of(&record)?.render()))
}

/// Which members of a body a `PATCH` changes: those named in `update_mask`, else those sent.
fn masked<'a>(
    mask: Option<&'a [String]>,
    allowed: &[&str],
) -> Result<impl Fn(&str) -> bool + 'a, V2Error> {
    if let Some(m) = mask {
        check_names("update_mask", m, allowed).map_err(V2Error::bad_request)?;
    }
    Ok(move |name: &str| mask.is_none_or(|m| m.iter().any(|f| f == name)))
}

/// `PATCH /tags/{tag_id}?update_mask=name,description,category`: 200 with the tag.
///
/// # Errors
/// 400, 403, 404, 409 (name taken).
#[utoipa::path(
    patch,
    path = "/crm/rest/v2/tags/{tag_id}",
    tag = "Tags (v2)",
    params(("tag_id" = String, Path, description = "Tag id"), ("update_mask" = Option<String>, Query, description = "name, description, category")),
    request_body(content = serde_json::Value, content_type = "application/json"),
    responses((status = 200, description = "The updated tag", body = serde_json::Value), (status = 400, description = "Invalid argument"), (status = 401, description = "Missing or invalid credential"), (status = 403, description = "Read-only credential"), (status = 404, description = "No such tag"), (status = 409, description = "A tag with that name exists")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn update(
    State(state): State<AppState>,
    principal: Principal,
    V2Id(id): V2Id,
    uri: Uri,
    V2Json(body): V2Json,
) -> Result<Response, V2Error> {
    require_write(&principal)?;
    let account = principal.account_id;
    let mask = update_mask(&V2Query::from_uri(&uri))?;
    let keep = masked(mask.as_deref(), &["name", "description", "category"])?;
    let b: TagBody = typed(body)?;
    let name = if keep("name") && b.name.is_present() {
        name_of(&b.name, true, "Tag")?
    } else {
        None
    };
    let description = if keep("description") {
        description_of(&b.description)?
    } else {
        Field::Absent
    };
    let category = match &b.category {
        Field::Set(v) if keep("category") => Field::Set(category_ref(v)?),
        Field::Null if keep("category") => Field::Set(None),
        _ => Field::Absent,
    };
    if let Field::Set(c) = category {
        ensure_category_ref(&state, account, c).await?;
    }
    let new_name = name.clone();
    let edit: Edit = Box::new(move |_id, data| {
        let mut doc = TagDoc::from_value(data)?;
        if let Some(n) = new_name {
            doc.name = n;
        }
        description.apply_to(&mut doc.description);
        if let Field::Set(c) = category {
            doc.category_id = c;
        }
        *data = doc.to_value();
        Ok(doc.keys())
    });
    let record = match state
        .store
        .update_record(account, RecordKind::Tag, id, edit, state.clock.now())
        .await
    {
        Ok(Edited::Updated(r)) => r,
        Ok(Edited::Rejected(msg)) => return Err(V2Error::bad_request(msg)),
        Err(StoreError::Conflict { .. }) => {
            return Err(name_conflict(name.as_deref().unwrap_or_default()));
        }
        Err(StoreError::NotFound) => return Err(V2Error::missing(TAG, DOMAIN, id)),
        Err(e) => return Err(e.into()),
    };
    Ok(json(StatusCode::OK, &LoadedTag::of(&record)?.render()))
}

/// `DELETE /tags/{tag_id}`: 204; every assignment of the tag goes with it.
///
/// # Errors
/// 400, 403, 404.
#[utoipa::path(
    delete,
    path = "/crm/rest/v2/tags/{tag_id}",
    tag = "Tags (v2)",
    params(("tag_id" = String, Path, description = "Tag id")),
    responses((status = 204, description = "Deleted"), (status = 400, description = "Invalid argument"), (status = 401, description = "Missing or invalid credential"), (status = 403, description = "Read-only credential"), (status = 404, description = "No such tag")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn remove(
    State(state): State<AppState>,
    principal: Principal,
    V2Id(id): V2Id,
) -> Result<StatusCode, V2Error> {
    require_write(&principal)?;
    state
        .store
        .delete_record(principal.account_id, RecordKind::Tag, id)
        .await
        .map_err(or_missing(TAG, DOMAIN, id))?;
    Ok(StatusCode::NO_CONTENT)
}

/// `{"contact_ids":["1","2"]}` of `:applyTags` / `:removeTags`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ContactIdsBody {
    contact_ids: Option<Vec<Value>>,
}

/// The contact ids of an apply/remove body: required, strings of digits (numbers accepted),
/// duplicates dropped, at most 1000.
fn contact_ids(body: Map<String, Value>) -> Result<Vec<i64>, V2Error> {
    let b: ContactIdsBody = typed(body)?;
    let raw = b.contact_ids.unwrap_or_default();
    if raw.is_empty() {
        return Err(V2Error::bad_request("contact_ids is required"));
    }
    let ids = raw
        .iter()
        .map(|v| match v {
            Value::String(s) => parse_id(s.trim()),
            Value::Number(n) => n.as_i64().filter(|i| *i >= 0),
            _ => None,
        })
        .collect::<Option<Vec<i64>>>()
        .ok_or_else(|| {
            V2Error::bad_request("contact_ids must be contact ids, strings of digits")
        })?;
    distinct_ids(ids).map_err(V2Error::bad_request)
}

/// `POST /tags/{tag_id}/contacts:applyTags` `{"contact_ids":[…]}`: **200** with
/// `{"results":{"<id>":"SUCCESS"|"DUPLICATE"|"CONTACT_NOT_FOUND"}}`, also when some failed.
///
/// # Errors
/// 400, 403, 404 (no such tag: the whole call).
#[utoipa::path(
    post,
    path = "/crm/rest/v2/tags/{tag_id}/contacts:applyTags",
    tag = "Tags (v2)",
    params(("tag_id" = String, Path, description = "Tag id")),
    request_body(content = serde_json::Value, content_type = "application/json"),
    responses((status = 200, description = "Result per contact id", body = serde_json::Value), (status = 400, description = "Invalid argument"), (status = 401, description = "Missing or invalid credential"), (status = 403, description = "Read-only credential"), (status = 404, description = "No such tag")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn apply(
    State(state): State<AppState>,
    principal: Principal,
    V2Id(id): V2Id,
    V2Json(body): V2Json,
) -> Result<Response, V2Error> {
    require_write(&principal)?;
    let ids = contact_ids(body)?;
    let account = principal.account_id;
    ensure_tag(&state, account, id).await?;
    let pairs: Vec<(i64, i64)> = ids.iter().map(|c| (*c, id)).collect();
    let outcomes = state
        .store
        .link(account, LinkKind::ContactTag, &pairs, state.clock.now())
        .await?;
    let results: Map<String, Value> = ids
        .iter()
        .zip(outcomes)
        .map(|(c, o)| (c.to_string(), json!(ApplyResult::of(o).as_str())))
        .collect();
    Ok(json(StatusCode::OK, &json!({"results": results})))
}

/// `POST /tags/{tag_id}/contacts:removeTags` `{"contact_ids":[…]}`: **204**, contacts without
/// the tag included.
///
/// # Errors
/// 400, 403, 404 (no such tag).
#[utoipa::path(
    post,
    path = "/crm/rest/v2/tags/{tag_id}/contacts:removeTags",
    tag = "Tags (v2)",
    params(("tag_id" = String, Path, description = "Tag id")),
    request_body(content = serde_json::Value, content_type = "application/json"),
    responses((status = 204, description = "Removed"), (status = 400, description = "Invalid argument"), (status = 401, description = "Missing or invalid credential"), (status = 403, description = "Read-only credential"), (status = 404, description = "No such tag")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn remove_from(
    State(state): State<AppState>,
    principal: Principal,
    V2Id(id): V2Id,
    V2Json(body): V2Json,
) -> Result<StatusCode, V2Error> {
    require_write(&principal)?;
    let ids = contact_ids(body)?;
    let account = principal.account_id;
    ensure_tag(&state, account, id).await?;
    let pairs: Vec<(i64, i64)> = ids.iter().map(|c| (*c, id)).collect();
    state
        .store
        .unlink(account, LinkKind::ContactTag, &pairs)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /tags/{tag_id}/contacts`: `{"contacts":[{"id","email","given_name","family_name",
/// "applied_time"}],"next_page_token"}`; filter `given_name`, `family_name`, `email` (`NONE`
/// each), applied-time bounds; order `given_name`, `family_name`, `email`, `applied_time`
/// (default: contact id).
///
/// # Errors
/// 400, 404.
#[utoipa::path(
    get,
    path = "/crm/rest/v2/tags/{tag_id}/contacts",
    tag = "Tags (v2)",
    params(("tag_id" = String, Path, description = "Tag id"), ("filter" = Option<String>, Query, description = "given_name, family_name, email (NONE), since/until_applied_time"), ("order_by" = Option<String>, Query, description = "given_name, family_name, email or applied_time, then asc or desc"), ("page_size" = Option<i32>, Query, description = "0-1000, default 100"), ("page_token" = Option<String>, Query, description = "next_page_token of the previous page")),
    responses((status = 200, description = "Contacts with the tag", body = serde_json::Value), (status = 400, description = "Invalid argument"), (status = 401, description = "Missing or invalid credential"), (status = 404, description = "No such tag")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn list_contacts(
    State(state): State<AppState>,
    principal: Principal,
    V2Id(id): V2Id,
    uri: Uri,
) -> Result<Response, V2Error> {
    let q = V2Query::from_uri(&uri);
    let params = ListParams::parse(&q, &LIST_CONTACTS, &id.to_string(), &|_| None)?;
    let account = principal.account_id;
    ensure_tag(&state, account, id).await?;
    let links = all_links(&state, account, LinkKind::ContactTag, Side::B(id)).await?;
    let ids: Vec<i64> = links.iter().map(|l| l.a).collect();
    let mut contacts: HashMap<i64, ContactDoc> = HashMap::new();
    for r in records_by_id(&state, account, RecordKind::Contact, &ids).await? {
        contacts.insert(r.id, ContactDoc::from_value(&r.data).map_err(unreadable)?);
    }
    let f = &params.filter;
    let mut rows: Vec<(i64, &ContactDoc, OffsetDateTime)> = links
        .iter()
        .filter_map(|l| contacts.get(&l.a).map(|c| (l.a, c, l.created_at)))
        .filter(|(_, c, applied)| {
            f.clauses.iter().all(|cl| match cl.field.as_str() {
                "given_name" => cl.value.matches_text(c.given_name.as_deref()),
                "family_name" => cl.value.matches_text(c.family_name.as_deref()),
                "email" => cl.value.matches_text(c.primary_email()),
                _ => true,
            }) && within(
                *applied,
                f.time("since_applied_time"),
                f.time("until_applied_time"),
            )
        })
        .collect();
    let desc = params.descending();
    match params.order.as_ref().map(|o| o.field) {
        Some("given_name") => sort_by_key(&mut rows, desc, |(id, c, _)| {
            (text_key(c.given_name.as_deref()), *id)
        }),
        Some("family_name") => sort_by_key(&mut rows, desc, |(id, c, _)| {
            (text_key(c.family_name.as_deref()), *id)
        }),
        Some("email") => sort_by_key(&mut rows, desc, |(id, c, _)| {
            (text_key(c.primary_email()), *id)
        }),
        Some("applied_time") => sort_by_key(&mut rows, desc, |(id, _, a)| (*a, *id)),
        _ => sort_by_key(&mut rows, desc, |(id, _, _)| (*id, *id)),
    }
    let (page, next) = params.page(rows);
    let items = page
        .into_iter()
        .map(|(id, c, applied)| {
            let mut m = Map::new();
            m.insert("id".into(), json!(id.to_string()));
            for (k, v) in [
                ("email", c.primary_email()),
                ("given_name", c.given_name.as_deref()),
                ("family_name", c.family_name.as_deref()),
            ] {
                if let Some(v) = v {
                    m.insert(k.into(), json!(v));
                }
            }
            m.insert("applied_time".into(), json!(format_time(applied)));
            Value::Object(m)
        })
        .collect();
    Ok(list_response("contacts", items, next))
}

/// The e-mail of a stored company, read tolerantly (the company document belongs to the
/// companies resource): `email_address` as a string or `{"email"}`.
fn company_email(data: &Value) -> Option<&str> {
    data.get("email_address")
        .and_then(|e| e.as_str().or_else(|| e.get("email")?.as_str()))
}

/// `GET /tags/{tag_id}/companies`: `{"tagged_companies":[{"company":{"id","company_name",
/// "email_address"},"applied_time"}],"next_page_token"}`.
///
/// # Errors
/// 400, 404.
#[utoipa::path(
    get,
    path = "/crm/rest/v2/tags/{tag_id}/companies",
    tag = "Tags (v2)",
    params(("tag_id" = String, Path, description = "Tag id"), ("filter" = Option<String>, Query, description = "company_name, email (NONE), since/until_applied_time"), ("order_by" = Option<String>, Query, description = "company_name, email or applied_time, then asc or desc"), ("page_size" = Option<i32>, Query, description = "0-1000, default 100"), ("page_token" = Option<String>, Query, description = "next_page_token of the previous page")),
    responses((status = 200, description = "Companies with the tag", body = serde_json::Value), (status = 400, description = "Invalid argument"), (status = 401, description = "Missing or invalid credential"), (status = 404, description = "No such tag")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn list_companies(
    State(state): State<AppState>,
    principal: Principal,
    V2Id(id): V2Id,
    uri: Uri,
) -> Result<Response, V2Error> {
    let q = V2Query::from_uri(&uri);
    let params = ListParams::parse(&q, &LIST_COMPANIES, &id.to_string(), &|_| None)?;
    let account = principal.account_id;
    ensure_tag(&state, account, id).await?;
    let links = all_links(&state, account, LinkKind::CompanyTag, Side::B(id)).await?;
    let ids: Vec<i64> = links.iter().map(|l| l.a).collect();
    let mut companies: HashMap<i64, Value> = HashMap::new();
    for r in records_by_id(&state, account, RecordKind::Company, &ids).await? {
        companies.insert(r.id, r.data);
    }
    let f = &params.filter;
    let name_of = |d: &Value| {
        d.get("company_name")
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let mut rows: Vec<(i64, &Value, OffsetDateTime)> = links
        .iter()
        .filter_map(|l| companies.get(&l.a).map(|c| (l.a, c, l.created_at)))
        .filter(|(_, c, applied)| {
            f.clauses.iter().all(|cl| match cl.field.as_str() {
                "company_name" => cl.value.matches_text(name_of(c).as_deref()),
                "email" => cl.value.matches_text(company_email(c)),
                _ => true,
            }) && within(
                *applied,
                f.time("since_applied_time"),
                f.time("until_applied_time"),
            )
        })
        .collect();
    let desc = params.descending();
    match params.order.as_ref().map(|o| o.field) {
        Some("company_name") => sort_by_key(&mut rows, desc, |(id, c, _)| {
            (text_key(name_of(c).as_deref()), *id)
        }),
        Some("email") => sort_by_key(&mut rows, desc, |(id, c, _)| {
            (text_key(company_email(c)), *id)
        }),
        Some("applied_time") => sort_by_key(&mut rows, desc, |(id, _, a)| (*a, *id)),
        _ => sort_by_key(&mut rows, desc, |(id, _, _)| (*id, *id)),
    }
    let (page, next) = params.page(rows);
    let items = page
        .into_iter()
        .map(|(id, c, applied)| {
            let mut company = Map::new();
            company.insert("id".into(), json!(id.to_string()));
            if let Some(n) = name_of(c) {
                company.insert("company_name".into(), json!(n));
            }
            if let Some(e) = company_email(c) {
                company.insert("email_address".into(), json!({"email": e}));
            }
            json!({"company": company, "applied_time": format_time(applied)})
        })
        .collect();
    Ok(list_response("tagged_companies", items, next))
}

// ---------------------------------------------------------------------------------------------
// Categories
// ---------------------------------------------------------------------------------------------

/// A category as stored, with its record times.
struct LoadedCategory {
    id: i64,
    doc: TagCategoryDoc,
    created_at: OffsetDateTime,
    updated_at: OffsetDateTime,
}

impl LoadedCategory {
    fn of(r: &Record) -> Result<Self, V2Error> {
        Ok(Self {
            id: r.id,
            doc: TagCategoryDoc::from_value(&r.data).map_err(unreadable)?,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }

    /// The v2 `TagCategory`.
    fn render(&self) -> Value {
        let mut m = Map::new();
        m.insert("id".into(), json!(self.id.to_string()));
        m.insert("name".into(), json!(self.doc.name));
        if let Some(d) = &self.doc.description {
            m.insert("description".into(), json!(d));
        }
        m.insert("create_time".into(), json!(format_time(self.created_at)));
        m.insert("update_time".into(), json!(format_time(self.updated_at)));
        Value::Object(m)
    }

    fn matches(&self, f: &Filter) -> bool {
        f.clauses
            .iter()
            .all(|c| match (c.field.as_str(), &c.value) {
                ("name", v) => v.matches_text(Some(&self.doc.name)),
                ("description", v) => v.matches_text(self.doc.description.as_deref()),
                ("since_create_time", Operand::Time(t)) => within(self.created_at, Some(*t), None),
                ("until_create_time", Operand::Time(t)) => within(self.created_at, None, Some(*t)),
                ("since_update_time", Operand::Time(t)) => within(self.updated_at, Some(*t), None),
                ("until_update_time", Operand::Time(t)) => within(self.updated_at, None, Some(*t)),
                _ => true,
            })
    }
}

async fn ensure_category(state: &AppState, account: AccountId, id: i64) -> Result<Record, V2Error> {
    state
        .store
        .get_record(account, RecordKind::TagCategory, id)
        .await
        .map_err(or_missing(CATEGORY, DOMAIN, id))
}

/// `GET /tags/categories`: `{"tag_categories":[…],"next_page_token"}`; filter `name`,
/// `description` (`NONE` each), creation and update bounds; order `name` (default),
/// `create_time`, `update_time`.
///
/// # Errors
/// 400.
#[utoipa::path(
    get,
    path = "/crm/rest/v2/tags/categories",
    tag = "Tags (v2)",
    params(("filter" = Option<String>, Query, description = "name, description (NONE), since/until_create_time, since/until_update_time"), ("order_by" = Option<String>, Query, description = "name, create_time or update_time, then asc or desc"), ("page_size" = Option<i32>, Query, description = "0-1000, default 100"), ("page_token" = Option<String>, Query, description = "next_page_token of the previous page")),
    responses((status = 200, description = "A page of tag categories", body = serde_json::Value), (status = 400, description = "Invalid argument"), (status = 401, description = "Missing or invalid credential")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn list_categories(
    State(state): State<AppState>,
    principal: Principal,
    uri: Uri,
) -> Result<Response, V2Error> {
    let q = V2Query::from_uri(&uri);
    let params = ListParams::parse(&q, &LIST_CATEGORIES, "", &|_| None)?;
    let records = all_records(
        &state,
        principal.account_id,
        RecordKind::TagCategory,
        Vec::new(),
    )
    .await?;
    let mut rows = Vec::new();
    for r in &records {
        let c = LoadedCategory::of(r)?;
        if c.matches(&params.filter) {
            rows.push(c);
        }
    }
    let desc = params.descending();
    match params.order_field("name") {
        "create_time" => sort_by_key(&mut rows, desc, |c| (c.created_at, c.id)),
        "update_time" => sort_by_key(&mut rows, desc, |c| (c.updated_at, c.id)),
        _ => sort_by_key(&mut rows, desc, |c| (fold(&c.doc.name), c.id)),
    }
    let (page, next) = params.page(rows);
    Ok(list_response(
        "tag_categories",
        page.iter().map(LoadedCategory::render).collect(),
        next,
    ))
}

/// `POST /tags/categories` `{"name","description"}`: **201** with the category.
///
/// # Errors
/// 400 (no name), 403.
#[utoipa::path(
    post,
    path = "/crm/rest/v2/tags/categories",
    tag = "Tags (v2)",
    request_body(content = serde_json::Value, content_type = "application/json"),
    responses((status = 201, description = "The created category", body = serde_json::Value), (status = 400, description = "Invalid argument"), (status = 401, description = "Missing or invalid credential"), (status = 403, description = "Read-only credential")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn create_category(
    State(state): State<AppState>,
    principal: Principal,
    V2Json(body): V2Json,
) -> Result<Response, V2Error> {
    require_write(&principal)?;
    let b: TagBody = typed(body)?;
    let doc = TagCategoryDoc {
        name: name_of(&b.name, true, "Tag category")?.unwrap_or_default(),
        description: description_of(&b.description)?.value().cloned(),
        extra: Map::new(),
    };
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
        Edited::Rejected(msg) => return Err(V2Error::bad_request(msg)),
    };
    Ok(json(
        StatusCode::CREATED,
        &LoadedCategory::of(&record)?.render(),
    ))
}

/// `GET /tags/categories/{tag_category_id}`.
///
/// # Errors
/// 400, 404.
#[utoipa::path(
    get,
    path = "/crm/rest/v2/tags/categories/{tag_category_id}",
    tag = "Tags (v2)",
    params(("tag_category_id" = String, Path, description = "Tag category id")),
    responses((status = 200, description = "The category", body = serde_json::Value), (status = 400, description = "Invalid argument"), (status = 401, description = "Missing or invalid credential"), (status = 404, description = "No such category")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn get_category(
    State(state): State<AppState>,
    principal: Principal,
    V2Id(id): V2Id,
) -> Result<Response, V2Error> {
    let record = ensure_category(&state, principal.account_id, id).await?;
    Ok(json(StatusCode::OK, &LoadedCategory::of(&record)?.render()))
}

/// `PATCH /tags/categories/{tag_category_id}?update_mask=name,description`: 200.
///
/// # Errors
/// 400, 403, 404.
#[utoipa::path(
    patch,
    path = "/crm/rest/v2/tags/categories/{tag_category_id}",
    tag = "Tags (v2)",
    params(("tag_category_id" = String, Path, description = "Tag category id"), ("update_mask" = Option<String>, Query, description = "name, description")),
    request_body(content = serde_json::Value, content_type = "application/json"),
    responses((status = 200, description = "The updated category", body = serde_json::Value), (status = 400, description = "Invalid argument"), (status = 401, description = "Missing or invalid credential"), (status = 403, description = "Read-only credential"), (status = 404, description = "No such category")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn update_category(
    State(state): State<AppState>,
    principal: Principal,
    V2Id(id): V2Id,
    uri: Uri,
    V2Json(body): V2Json,
) -> Result<Response, V2Error> {
    require_write(&principal)?;
    let mask = update_mask(&V2Query::from_uri(&uri))?;
    let keep = masked(mask.as_deref(), &["name", "description"])?;
    let b: TagBody = typed(body)?;
    let name = if keep("name") && b.name.is_present() {
        name_of(&b.name, true, "Tag category")?
    } else {
        None
    };
    let description = if keep("description") {
        description_of(&b.description)?
    } else {
        Field::Absent
    };
    let edit: Edit = Box::new(move |_id, data| {
        let mut doc = TagCategoryDoc::from_value(data)?;
        if let Some(n) = name {
            doc.name = n;
        }
        description.apply_to(&mut doc.description);
        *data = doc.to_value();
        Ok(doc.keys())
    });
    let record = match state
        .store
        .update_record(
            principal.account_id,
            RecordKind::TagCategory,
            id,
            edit,
            state.clock.now(),
        )
        .await
        .map_err(or_missing(CATEGORY, DOMAIN, id))?
    {
        Edited::Updated(r) => r,
        Edited::Rejected(msg) => return Err(V2Error::bad_request(msg)),
    };
    Ok(json(StatusCode::OK, &LoadedCategory::of(&record)?.render()))
}

/// `DELETE /tags/categories/{tag_category_id}`: 204. A category that still has tags is kept:
/// 409 `FAILED_PRECONDITION` (keapsake's rule; move or delete the tags first).
///
/// # Errors
/// 400, 403, 404, 409.
#[utoipa::path(
    delete,
    path = "/crm/rest/v2/tags/categories/{tag_category_id}",
    tag = "Tags (v2)",
    params(("tag_category_id" = String, Path, description = "Tag category id")),
    responses((status = 204, description = "Deleted"), (status = 400, description = "Invalid argument"), (status = 401, description = "Missing or invalid credential"), (status = 403, description = "Read-only credential"), (status = 404, description = "No such category"), (status = 409, description = "The category still has tags")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn remove_category(
    State(state): State<AppState>,
    principal: Principal,
    V2Id(id): V2Id,
) -> Result<StatusCode, V2Error> {
    require_write(&principal)?;
    let account = principal.account_id;
    ensure_category(&state, account, id).await?;
    let (_, in_use) = state
        .store
        .list_records(
            account,
            RecordKind::Tag,
            &Query {
                conds: vec![Cond::IntEq(CATEGORY_KEY, id)],
                limit: 1,
                ..Query::default()
            },
        )
        .await?;
    if in_use > 0 {
        return Err(V2Error::failed_precondition(format!(
            "Tag category {id} still has {in_use} tag(s)"
        ))
        .with_detail(DOMAIN, id.to_string()));
    }
    state
        .store
        .delete_record(account, RecordKind::TagCategory, id)
        .await
        .map_err(or_missing(CATEGORY, DOMAIN, id))?;
    Ok(StatusCode::NO_CONTENT)
}
