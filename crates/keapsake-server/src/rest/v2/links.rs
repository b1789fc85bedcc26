//! REST v2 contact links and link types (`openapi-v2.yml`: `linkContacts`, `unlinkContacts`,
//! `listContactLinks`, `listContactLinkTypes`, `createContactLinkType`,
//! `updateContactLinkType`, `deleteContactLinkType`) over the same records as XML-RPC
//! `ContactService.linkContacts` (`crate::links`, `keapsake_core::crm::link`).

use super::common::{
    ListParams, ListSpec, V2Id, V2Json, V2Query, list_response, require_write, sort_by_key,
    unreadable, update_mask,
};
use crate::error::{V2Error, json};
use crate::extract::Principal;
use crate::state::AppState;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use axum::routing::{get, patch, post};
use keapsake_core::crm::fold;
use keapsake_core::crm::link::{LinkTypeDoc, TYPE_KEY};
use keapsake_core::records::{Cond, Edited, Query, Record, RecordKind};
use keapsake_core::v2::filter::{FieldSpec, Filter};
use keapsake_core::v2::{format_time, parse_id};
use keapsake_core::{AccountId, StoreError};
use serde_json::{Map, Value, json};

/// Link routes, relative to `/crm/rest/v2`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/contacts:link", post(link))
        .route("/contacts:unlink", post(unlink))
        .route("/contacts/{contact_id}/links", get(list_links))
        .route("/contacts/links/types", get(list_types).post(create_type))
        .route(
            "/contacts/links/types/{link_type_id}",
            patch(update_type).delete(delete_type),
        )
}

const DOMAIN: &str = "contacts";

const TYPE_FILTERS: &[FieldSpec] = &[FieldSpec::text("name")];

const LIST_TYPES: ListSpec = ListSpec {
    operation: "listContactLinkTypes",
    fields: TYPE_FILTERS,
    order_by: &["name", "max_links", "create_time"],
};

const LIST_LINKS: ListSpec = ListSpec {
    operation: "listContactLinks",
    fields: &[],
    order_by: &[],
};

/// An id member of a body: a string of digits (v2) or a JSON integer.
fn body_id(body: &Map<String, Value>, name: &str) -> Result<i64, V2Error> {
    let bad = || V2Error::bad_request(format!("{name} must be an id (a string of digits)"));
    match body.get(name) {
        None | Some(Value::Null) => Err(V2Error::bad_request(format!("{name} is required"))),
        Some(Value::String(s)) => parse_id(s.trim()).ok_or_else(bad),
        Some(Value::Number(n)) => n.as_i64().filter(|i| *i >= 0).ok_or_else(bad),
        Some(_) => Err(bad()),
    }
}

async fn ensure_contact(state: &AppState, account: AccountId, id: i64) -> Result<(), V2Error> {
    match state
        .store
        .get_record(account, RecordKind::Contact, id)
        .await
    {
        Ok(_) => Ok(()),
        Err(StoreError::NotFound) => Err(V2Error::missing("Contact", DOMAIN, id)),
        Err(e) => Err(e.into()),
    }
}

async fn load_type(
    state: &AppState,
    account: AccountId,
    id: i64,
) -> Result<(Record, LinkTypeDoc), V2Error> {
    match state
        .store
        .get_record(account, RecordKind::ContactLinkType, id)
        .await
    {
        Ok(r) => {
            let d = LinkTypeDoc::from_value(&r.data).map_err(unreadable)?;
            Ok((r, d))
        }
        Err(StoreError::NotFound) => Err(V2Error::missing("ContactLinkType", DOMAIN, id)),
        Err(e) => Err(e.into()),
    }
}

fn render_type(r: &Record, d: &LinkTypeDoc) -> Value {
    json!({
        "id": r.id.to_string(),
        "name": d.name,
        "max_links": d.max_links,
        "create_time": format_time(r.created_at),
    })
}

/// The three ids of a `LinkContactsRequest`, the contacts and the type checked to exist.
async fn link_request(
    state: &AppState,
    account: AccountId,
    body: &Map<String, Value>,
) -> Result<(i64, i64, i64, LinkTypeDoc), V2Error> {
    let a = body_id(body, "contact1_id")?;
    let b = body_id(body, "contact2_id")?;
    let t = body_id(body, "link_type_id")?;
    ensure_contact(state, account, a).await?;
    ensure_contact(state, account, b).await?;
    let (_, ty) = load_type(state, account, t).await?;
    Ok((a, b, t, ty))
}

/// `POST /contacts:link` `{"contact1_id","contact2_id","link_type_id"}`: **201**
/// `ContactLink`. Linking a pair already linked with that type answers the link again.
///
/// # Errors
/// 400 (ids, self link, the type's `max_links`), 403, 404 (contact or type).
#[utoipa::path(
    post,
    path = "/crm/rest/v2/contacts:link",
    tag = "Contacts (v2)",
    request_body(content = serde_json::Value, content_type = "application/json"),
    responses((status = 201, description = "The link", body = serde_json::Value), (status = 400, description = "Invalid argument"), (status = 401, description = "Missing or invalid credential"), (status = 403, description = "Read-only credential"), (status = 404, description = "No such contact or link type")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn link(
    State(state): State<AppState>,
    principal: Principal,
    V2Json(body): V2Json,
) -> Result<Response, V2Error> {
    require_write(&principal)?;
    let account = principal.account_id;
    let (a, b, t, ty) = link_request(&state, account, &body).await?;
    let doc = crate::links::link(&state, account, a, b, t).await?;
    Ok(json(StatusCode::CREATED, &doc.render_v2(Some(&ty.name))))
}

/// `POST /contacts:unlink` (same body): **204**; a pair that was not linked so is a 404.
///
/// # Errors
/// 400, 403, 404.
#[utoipa::path(
    post,
    path = "/crm/rest/v2/contacts:unlink",
    tag = "Contacts (v2)",
    request_body(content = serde_json::Value, content_type = "application/json"),
    responses((status = 204, description = "Unlinked"), (status = 400, description = "Invalid argument"), (status = 401, description = "Missing or invalid credential"), (status = 403, description = "Read-only credential"), (status = 404, description = "No such contact, type or link")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn unlink(
    State(state): State<AppState>,
    principal: Principal,
    V2Json(body): V2Json,
) -> Result<StatusCode, V2Error> {
    require_write(&principal)?;
    let account = principal.account_id;
    let (a, b, t, _) = link_request(&state, account, &body).await?;
    if crate::links::unlink(&state, account, a, b, t).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(V2Error::new(
            StatusCode::NOT_FOUND,
            format!("Contacts {a} and {b} are not linked with type {t}"),
        )
        .with_detail(DOMAIN, format!("{a}:{b}:{t}")))
    }
}

/// `GET /contacts/{contact_id}/links`: `{"links":[ContactLink],"next_page_token"}`, oldest
/// first (`page_size`, `page_token`).
///
/// # Errors
/// 400, 404.
#[utoipa::path(
    get,
    path = "/crm/rest/v2/contacts/{contact_id}/links",
    tag = "Contacts (v2)",
    params(("contact_id" = String, Path, description = "Contact id"), ("page_size" = Option<i32>, Query, description = "0-1000, default 100"), ("page_token" = Option<String>, Query, description = "From next_page_token")),
    responses((status = 200, description = "The contact's links", body = serde_json::Value), (status = 400, description = "Invalid argument"), (status = 401, description = "Missing or invalid credential"), (status = 404, description = "No such contact")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn list_links(
    State(state): State<AppState>,
    principal: Principal,
    V2Id(id): V2Id,
    uri: Uri,
) -> Result<Response, V2Error> {
    let q = V2Query::from_uri(&uri);
    let params = ListParams::parse(&q, &LIST_LINKS, &id.to_string(), &|_| None)?;
    let account = principal.account_id;
    ensure_contact(&state, account, id).await?;
    let listed = crate::links::links_of(&state, account, id).await?;
    let (page, next) = params.page(listed);
    Ok(list_response(
        "links",
        page.iter()
            .map(|l| l.link.render_v2(l.type_name.as_deref()))
            .collect(),
        next,
    ))
}

fn type_matches(d: &LinkTypeDoc, f: &Filter) -> bool {
    f.clauses.iter().all(|c| match c.field.as_str() {
        "name" => c.value.matches_text(Some(&d.name)),
        _ => true,
    })
}

/// `GET /contacts/links/types`: `filter=name==…`, `order_by` `name` (default), `max_links`,
/// `create_time`.
///
/// # Errors
/// 400.
#[utoipa::path(
    get,
    path = "/crm/rest/v2/contacts/links/types",
    tag = "Contacts (v2)",
    params(("filter" = Option<String>, Query, description = "name==…"), ("order_by" = Option<String>, Query, description = "name, max_links, create_time [asc|desc]"), ("page_size" = Option<i32>, Query, description = "0-1000, default 100"), ("page_token" = Option<String>, Query, description = "From next_page_token")),
    responses((status = 200, description = "The account's link types", body = serde_json::Value), (status = 400, description = "Invalid argument"), (status = 401, description = "Missing or invalid credential")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn list_types(
    State(state): State<AppState>,
    principal: Principal,
    uri: Uri,
) -> Result<Response, V2Error> {
    let q = V2Query::from_uri(&uri);
    let params = ListParams::parse(&q, &LIST_TYPES, "", &|_| None)?;
    let mut rows: Vec<(Record, LinkTypeDoc)> =
        crate::links::link_types(&state, principal.account_id)
            .await?
            .into_iter()
            .filter(|(_, d)| type_matches(d, &params.filter))
            .collect();
    let desc = params.descending();
    match params.order_field("name") {
        "max_links" => sort_by_key(&mut rows, desc, |(r, d)| (d.max_links, r.id)),
        "create_time" => sort_by_key(&mut rows, desc, |(r, _)| (r.created_at, r.id)),
        _ => sort_by_key(&mut rows, desc, |(r, d)| (fold(&d.name), r.id)),
    }
    let (page, next) = params.page(rows);
    Ok(list_response(
        "contact_link_types",
        page.iter().map(|(r, d)| render_type(r, d)).collect(),
        next,
    ))
}

fn max_links_of(body: &Map<String, Value>) -> Result<Option<i64>, V2Error> {
    match body.get("max_links") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_i64()
            .map(Some)
            .ok_or_else(|| V2Error::bad_request("max_links must be an integer")),
        Some(Value::String(s)) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| V2Error::bad_request("max_links must be an integer")),
        Some(_) => Err(V2Error::bad_request("max_links must be an integer")),
    }
}

fn name_of(body: &Map<String, Value>) -> Result<Option<String>, V2Error> {
    match body.get("name") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(V2Error::bad_request("name must be a string")),
    }
}

/// `POST /contacts/links/types` `{"name","max_links"}`: **201** `ContactLinkType`
/// (`max_links` defaults to 1).
///
/// # Errors
/// 400 (no name, `max_links` < 1), 403, 409 (name taken).
#[utoipa::path(
    post,
    path = "/crm/rest/v2/contacts/links/types",
    tag = "Contacts (v2)",
    request_body(content = serde_json::Value, content_type = "application/json"),
    responses((status = 201, description = "The link type", body = serde_json::Value), (status = 400, description = "Invalid argument"), (status = 401, description = "Missing or invalid credential"), (status = 403, description = "Read-only credential"), (status = 409, description = "A link type with that name exists")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn create_type(
    State(state): State<AppState>,
    principal: Principal,
    V2Json(body): V2Json,
) -> Result<Response, V2Error> {
    require_write(&principal)?;
    let name = name_of(&body)?.unwrap_or_default();
    let max = max_links_of(&body)?.unwrap_or(1);
    let record =
        match crate::links::create_link_type(&state, principal.account_id, &name, max).await {
            Ok(r) => r,
            Err(e) if e.status == StatusCode::CONFLICT => {
                return Err(V2Error::conflict(e.message.into_owned()));
            }
            Err(e) => return Err(e.into()),
        };
    let doc = LinkTypeDoc::from_value(&record.data).map_err(unreadable)?;
    Ok(json(StatusCode::CREATED, &render_type(&record, &doc)))
}

/// `PATCH /contacts/links/types/{link_type_id}?update_mask=name,max_links`: 200. Lowering
/// `max_links` below a contact's current count is allowed (new links are refused).
///
/// # Errors
/// 400, 403, 404, 409 (name taken).
#[utoipa::path(
    patch,
    path = "/crm/rest/v2/contacts/links/types/{link_type_id}",
    tag = "Contacts (v2)",
    params(("link_type_id" = String, Path, description = "Link type id"), ("update_mask" = Option<String>, Query, description = "name, max_links")),
    request_body(content = serde_json::Value, content_type = "application/json"),
    responses((status = 200, description = "The link type", body = serde_json::Value), (status = 400, description = "Invalid argument"), (status = 401, description = "Missing or invalid credential"), (status = 403, description = "Read-only credential"), (status = 404, description = "No such link type"), (status = 409, description = "A link type with that name exists")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn update_type(
    State(state): State<AppState>,
    principal: Principal,
    V2Id(id): V2Id,
    uri: Uri,
    V2Json(body): V2Json,
) -> Result<Response, V2Error> {
    require_write(&principal)?;
    let mask = update_mask(&V2Query::from_uri(&uri))?;
    if let Some(bad) = mask
        .iter()
        .flatten()
        .find(|f| !matches!(f.as_str(), "name" | "max_links"))
    {
        return Err(V2Error::bad_request(format!(
            "update_mask: unknown field {bad:?} (name, max_links)"
        )));
    }
    let keep = |f: &str| mask.as_ref().is_none_or(|m| m.iter().any(|x| x == f));
    let account = principal.account_id;
    let (_, current) = load_type(&state, account, id).await?;
    let name = if keep("name") {
        name_of(&body)?.unwrap_or_else(|| current.name.clone())
    } else {
        current.name.clone()
    };
    let max = if keep("max_links") {
        max_links_of(&body)?.unwrap_or(current.max_links)
    } else {
        current.max_links
    };
    let next = LinkTypeDoc::new(&name, max).map_err(V2Error::bad_request)?;
    let edited = state
        .store
        .update_record(
            account,
            RecordKind::ContactLinkType,
            id,
            Box::new(move |_, data| {
                let mut d = LinkTypeDoc::from_value(data)?;
                d.name = next.name;
                d.max_links = next.max_links;
                *data = d.to_value();
                Ok(d.keys())
            }),
            state.clock.now(),
        )
        .await;
    let record = match edited {
        Ok(Edited::Updated(r)) => r,
        Ok(Edited::Rejected(m)) => return Err(V2Error::bad_request(m)),
        Err(StoreError::NotFound) => return Err(V2Error::missing("ContactLinkType", DOMAIN, id)),
        Err(StoreError::Conflict { .. }) => {
            return Err(V2Error::conflict(
                "A link type with this name already exists",
            ));
        }
        Err(e) => return Err(e.into()),
    };
    let doc = LinkTypeDoc::from_value(&record.data).map_err(unreadable)?;
    Ok(json(StatusCode::OK, &render_type(&record, &doc)))
}

/// `DELETE /contacts/links/types/{link_type_id}`: 204; a type still used by a link is refused
/// (409 `FAILED_PRECONDITION`: unlink first).
///
/// # Errors
/// 400, 403, 404, 409.
#[utoipa::path(
    delete,
    path = "/crm/rest/v2/contacts/links/types/{link_type_id}",
    tag = "Contacts (v2)",
    params(("link_type_id" = String, Path, description = "Link type id")),
    responses((status = 204, description = "Deleted"), (status = 400, description = "Invalid argument"), (status = 401, description = "Missing or invalid credential"), (status = 403, description = "Read-only credential"), (status = 404, description = "No such link type"), (status = 409, description = "Links of this type exist")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn delete_type(
    State(state): State<AppState>,
    principal: Principal,
    V2Id(id): V2Id,
) -> Result<StatusCode, V2Error> {
    require_write(&principal)?;
    let account = principal.account_id;
    load_type(&state, account, id).await?;
    let q = Query {
        conds: vec![Cond::IntEq(TYPE_KEY, id)],
        limit: 0,
        ..Query::default()
    };
    let (_, used) = state
        .store
        .list_records(account, RecordKind::ContactLink, &q)
        .await?;
    if used > 0 {
        return Err(V2Error::failed_precondition(format!(
            "{used} link(s) use this link type: unlink them first"
        )));
    }
    match state
        .store
        .delete_record(account, RecordKind::ContactLinkType, id)
        .await
    {
        Ok(()) => Ok(StatusCode::NO_CONTENT),
        Err(StoreError::NotFound) => Err(V2Error::missing("ContactLinkType", DOMAIN, id)),
        Err(e) => Err(e.into()),
    }
}
