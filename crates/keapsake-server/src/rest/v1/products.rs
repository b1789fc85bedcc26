//! `/products` (`keap/rest-v1.md` §7): list (and the PHP SDK's `/products/search` alias) with
//! `active`, in the `Product_` shape (`status` 1/0); create (201), get, `PATCH` (200) and delete
//! (204) in the `RestProductV1` shape (`active`); `/products/sync` with an opaque `sync_token`;
//! subscription plans; the product image. Rules live in [`keapsake_core::commerce::product`].
//!
//! A delete removes the product record (so storage triggers see a real delete) and then writes
//! a tombstone record holding the product's last list shape, which only `/products/sync` reads.

use super::common::{bool_param, stored, unreadable};
use super::list::{Envelope, Ids, Paging, V1Query, not_found, or_not_found, require_write};
use crate::error::{ApiError, json};
use crate::extract::{KeapJson, Principal};
use crate::state::AppState;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use axum::routing::{get, post};
use keapsake_core::AccountId;
use keapsake_core::commerce::product::{
    ACTIVE_KEY, NewPlan, ProductChanges, ProductDoc, ProductImage, SyncStatus,
    TOMBSTONE_PRODUCT_KEY, parse_sync_token, render_status, sync_token,
};
use keapsake_core::records::{Cond, Create, Edit, Keys, NewRecord, Query, Record, RecordKind};
use serde::Serialize;
use serde_json::{Map, Value, json};
use std::sync::{Arc, Mutex};

const PRODUCT: &str = "Product";
const PLAN: &str = "ProductSubscription";

/// Product routes, relative to `/crm/rest/v1`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/products", get(list).post(create))
        .route("/products/search", get(search))
        .route("/products/sync", get(sync))
        .route("/products/{id}", get(get_one).patch(update).delete(remove))
        .route("/products/{id}/subscriptions", post(create_plan))
        .route(
            "/products/{id}/subscriptions/{plan_id}",
            get(get_plan).delete(remove_plan),
        )
        .route("/products/{id}/image", post(put_image).delete(remove_image))
}

fn doc(record: &Record) -> Result<ProductDoc, ApiError> {
    ProductDoc::from_value(&record.data).map_err(unreadable)
}

fn body_object(body: Value) -> Result<Map<String, Value>, ApiError> {
    match body {
        Value::Object(m) => Ok(m),
        _ => Err(ApiError::unparseable()),
    }
}

async fn load(state: &AppState, account: AccountId, id: i64) -> Result<Record, ApiError> {
    state
        .store
        .get_record(account, RecordKind::Product, id)
        .await
        .map_err(or_not_found(PRODUCT))
}

async fn list_products(
    state: AppState,
    principal: Principal,
    uri: Uri,
    path: &str,
) -> Result<Response, ApiError> {
    let q = V1Query::from_uri(&uri);
    let paging = q.paging()?;
    let mut conds = Vec::new();
    if let Some(a) = bool_param(&q, "active")? {
        conds.push(Cond::IntEq(ACTIVE_KEY, i64::from(a)));
    }
    let query = Query {
        conds,
        limit: paging.limit,
        offset: paging.offset,
        ..Query::default()
    };
    let (records, total) = state
        .store
        .list_records(principal.account_id, RecordKind::Product, &query)
        .await?;
    let items = records
        .iter()
        .map(|r| doc(r).map(|d| d.render_listed(r.id)))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(json(
        StatusCode::OK,
        &Envelope::new(&state, path, "products", items, total, paging, &q),
    ))
}

/// `GET /products`: `active` (true/false), `limit`, `offset`; items in the `Product_` shape.
///
/// # Errors
/// 400 for a bad parameter.
#[utoipa::path(
    get,
    path = "/crm/rest/v1/products",
    tag = "Products",
    params(("active" = Option<bool>, Query, description = "Only active (true) or inactive (false) products"), ("limit" = Option<i64>, Query, description = "Page size"), ("offset" = Option<i64>, Query, description = "Records to skip")),
    responses((status = 200, description = "A page of products", body = serde_json::Value), (status = 400, description = "Invalid input"), (status = 401, description = "Missing or invalid credential")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    uri: Uri,
) -> Result<Response, ApiError> {
    list_products(state, principal, uri, "products").await
}

/// `GET /products/search`: the same list (the official PHP SDK lists products through this
/// path, which Keap's current spec no longer documents).
///
/// # Errors
/// 400 for a bad parameter.
#[utoipa::path(
    get,
    path = "/crm/rest/v1/products/search",
    tag = "Products",
    params(("active" = Option<bool>, Query, description = "Only active (true) or inactive (false) products"), ("limit" = Option<i64>, Query, description = "Page size"), ("offset" = Option<i64>, Query, description = "Records to skip")),
    responses((status = 200, description = "A page of products", body = serde_json::Value), (status = 400, description = "Invalid input"), (status = 401, description = "Missing or invalid credential")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn search(
    State(state): State<AppState>,
    principal: Principal,
    uri: Uri,
) -> Result<Response, ApiError> {
    list_products(state, principal, uri, "products/search").await
}

/// `GET /products/{id}` (`RestProductV1`).
///
/// # Errors
/// 404 `Unable to find this Product`.
#[utoipa::path(
    get,
    path = "/crm/rest/v1/products/{id}",
    tag = "Products",
    params(("id" = i64, Path, description = "Product id")),
    responses((status = 200, description = "The product", body = serde_json::Value), (status = 401, description = "Missing or invalid credential"), (status = 404, description = "No such record")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn get_one(
    State(state): State<AppState>,
    principal: Principal,
    Ids(id): Ids<i64>,
) -> Result<Response, ApiError> {
    let record = load(&state, principal.account_id, id).await?;
    Ok(json(StatusCode::OK, &doc(&record)?.render(record.id)))
}

/// `POST /products`: 201 with the product. `product_name` is required; `product_price` may be
/// a number or a decimal string.
///
/// # Errors
/// 400 (validation), 403 (read-only key).
#[utoipa::path(
    post,
    path = "/crm/rest/v1/products",
    tag = "Products",
    request_body(content = serde_json::Value, content_type = "application/json"),
    responses((status = 201, description = "The created product", body = serde_json::Value), (status = 400, description = "Invalid input"), (status = 401, description = "Missing or invalid credential"), (status = 403, description = "Read-only credential")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    principal: Principal,
    KeapJson(body): KeapJson<Value>,
) -> Result<Response, ApiError> {
    require_write(&principal)?;
    let changes =
        ProductChanges::parse(&body_object(body)?, true).map_err(ApiError::bad_request)?;
    let create: Create = Box::new(move |_| {
        let doc = ProductDoc::create(&changes)?;
        Ok(NewRecord {
            keys: doc.keys(),
            data: doc.to_value(),
        })
    });
    let record = stored(
        state
            .store
            .insert_record(
                principal.account_id,
                RecordKind::Product,
                create,
                state.clock.now(),
            )
            .await,
        PRODUCT,
    )?;
    Ok(json(StatusCode::CREATED, &doc(&record)?.render(record.id)))
}

/// `PATCH /products/{id}`: changes only the members sent; 200.
///
/// # Errors
/// 400, 403, 404.
#[utoipa::path(
    patch,
    path = "/crm/rest/v1/products/{id}",
    tag = "Products",
    params(("id" = i64, Path, description = "Product id")),
    request_body(content = serde_json::Value, content_type = "application/json"),
    responses((status = 200, description = "The updated product", body = serde_json::Value), (status = 400, description = "Invalid input"), (status = 401, description = "Missing or invalid credential"), (status = 403, description = "Read-only credential"), (status = 404, description = "No such record")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn update(
    State(state): State<AppState>,
    principal: Principal,
    Ids(id): Ids<i64>,
    KeapJson(body): KeapJson<Value>,
) -> Result<Response, ApiError> {
    require_write(&principal)?;
    let changes =
        ProductChanges::parse(&body_object(body)?, false).map_err(ApiError::bad_request)?;
    let edit: Edit = Box::new(move |_, data| {
        let mut doc = ProductDoc::from_value(data)?;
        doc.update(&changes)?;
        *data = doc.to_value();
        Ok(doc.keys())
    });
    let record = stored(
        state
            .store
            .update_record(
                principal.account_id,
                RecordKind::Product,
                id,
                edit,
                state.clock.now(),
            )
            .await,
        PRODUCT,
    )?;
    Ok(json(StatusCode::OK, &doc(&record)?.render(record.id)))
}

/// `DELETE /products/{id}`: deletes the product with its plans and image; 204. A tombstone
/// keeps the product's last list shape for `/products/sync`.
///
/// # Errors
/// 404, 403.
#[utoipa::path(
    delete,
    path = "/crm/rest/v1/products/{id}",
    tag = "Products",
    params(("id" = i64, Path, description = "Product id")),
    responses((status = 204, description = "Deleted"), (status = 401, description = "Missing or invalid credential"), (status = 403, description = "Read-only credential"), (status = 404, description = "No such record")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn remove(
    State(state): State<AppState>,
    principal: Principal,
    Ids(id): Ids<i64>,
) -> Result<StatusCode, ApiError> {
    require_write(&principal)?;
    let account = principal.account_id;
    let record = load(&state, account, id).await?;
    let last = doc(&record)?.render_listed(id);
    state
        .store
        .delete_record(account, RecordKind::Product, id)
        .await
        .map_err(or_not_found(PRODUCT))?;
    let create: Create = Box::new(move |_| {
        let mut keys = Keys::default();
        keys.int[TOMBSTONE_PRODUCT_KEY] = Some(id);
        Ok(NewRecord {
            data: json!({"product_id": id, "product": last}),
            keys,
        })
    });
    stored(
        state
            .store
            .insert_record(
                account,
                RecordKind::ProductTombstone,
                create,
                state.clock.now(),
            )
            .await,
        PRODUCT,
    )?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /products/sync` body.
#[derive(Serialize)]
struct SyncPage {
    product_statuses: Vec<Value>,
    sync_token: String,
    count: i64,
    next: String,
    previous: String,
}

/// `GET /products/sync`: without `sync_token`, every product as `CREATED`; with one, the
/// products created (`CREATED`), changed (`UPDATED`) or deleted (`DELETED`) since it was
/// issued, oldest change first; always a new token. Changes made in the millisecond a token was
/// issued show again under it (at least once, never lost).
///
/// # Errors
/// 400 for a token keapsake did not issue or bad paging.
#[utoipa::path(
    get,
    path = "/crm/rest/v1/products/sync",
    tag = "Products",
    params(("sync_token" = Option<String>, Query, description = "Token of a previous sync"), ("limit" = Option<i64>, Query, description = "Page size"), ("offset" = Option<i64>, Query, description = "Records to skip")),
    responses((status = 200, description = "Product changes", body = serde_json::Value), (status = 400, description = "Invalid input"), (status = 401, description = "Missing or invalid credential")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn sync(
    State(state): State<AppState>,
    principal: Principal,
    uri: Uri,
) -> Result<Response, ApiError> {
    let q = V1Query::from_uri(&uri);
    let paging = q.paging()?;
    let since = match q.get("sync_token")? {
        None => None,
        Some(t) => {
            Some(parse_sync_token(t).ok_or_else(|| ApiError::bad_request("Invalid sync_token"))?)
        }
    };
    // Taken before the reads, so a change made during the listing shows again next time.
    let token = sync_token(state.clock.now());
    let account = principal.account_id;
    let conds: Vec<Cond> = since.map(Cond::UpdatedSince).into_iter().collect();
    let products =
        super::common::all_records(&state, account, RecordKind::Product, conds.clone()).await?;
    let tombstones = if since.is_some() {
        super::common::all_records(&state, account, RecordKind::ProductTombstone, conds).await?
    } else {
        Vec::new()
    };
    let mut rows: Vec<(time::OffsetDateTime, i64, Value)> = Vec::new();
    for r in &products {
        let status = SyncStatus::of(r.created_at, since);
        rows.push((
            r.updated_at,
            r.id,
            render_status(doc(r)?.render_listed(r.id), status),
        ));
    }
    for t in &tombstones {
        let product = t.data.get("product").cloned().unwrap_or(Value::Null);
        let id = t
            .data
            .get("product_id")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        rows.push((
            t.updated_at,
            id,
            render_status(product, SyncStatus::Deleted),
        ));
    }
    rows.sort_by_key(|(t, id, _)| (*t, *id));
    let count = i64::try_from(rows.len()).unwrap_or(i64::MAX);
    let page = page_of(rows.into_iter().map(|(_, _, v)| v), paging);
    let env = Envelope::new(
        &state,
        "products/sync",
        "product_statuses",
        Vec::new(),
        count,
        paging,
        &q,
    );
    let links = serde_json::to_value(&env).unwrap_or(Value::Null);
    let link = |k: &str| {
        links
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    Ok(json(
        StatusCode::OK,
        &SyncPage {
            product_statuses: page,
            sync_token: token,
            count,
            next: link("next"),
            previous: link("previous"),
        },
    ))
}

fn page_of(items: impl Iterator<Item = Value>, paging: Paging) -> Vec<Value> {
    let start = usize::try_from(paging.offset).unwrap_or(usize::MAX);
    let len = usize::try_from(paging.limit).unwrap_or(usize::MAX);
    items.skip(start).take(len).collect()
}

/// Runs an edit of a product that also produces a value for the response.
async fn edit_product<T: Send + 'static>(
    state: &AppState,
    account: AccountId,
    id: i64,
    f: impl FnOnce(i64, &mut ProductDoc) -> Result<T, String> + Send + 'static,
) -> Result<(Record, T), ApiError> {
    let out: Arc<Mutex<Option<T>>> = Arc::new(Mutex::new(None));
    let slot = Arc::clone(&out);
    let edit: Edit = Box::new(move |id, data| {
        let mut doc = ProductDoc::from_value(data)?;
        let v = f(id, &mut doc)?;
        *data = doc.to_value();
        if let Ok(mut s) = slot.lock() {
            *s = Some(v);
        }
        Ok(doc.keys())
    });
    let record = stored(
        state
            .store
            .update_record(account, RecordKind::Product, id, edit, state.clock.now())
            .await,
        PRODUCT,
    )?;
    let v = out
        .lock()
        .ok()
        .and_then(|mut s| s.take())
        .ok_or_else(|| unreadable("an edit stored nothing".to_owned()))?;
    Ok((record, v))
}

/// `POST /products/{id}/subscriptions`: 201 with the new plan (`ProductSubscription`).
///
/// # Errors
/// 400 (validation), 403, 404 (no such product).
#[utoipa::path(
    post,
    path = "/crm/rest/v1/products/{id}/subscriptions",
    tag = "Products",
    params(("id" = i64, Path, description = "Product id")),
    request_body(content = serde_json::Value, content_type = "application/json"),
    responses((status = 201, description = "The created plan", body = serde_json::Value), (status = 400, description = "Invalid input"), (status = 401, description = "Missing or invalid credential"), (status = 403, description = "Read-only credential"), (status = 404, description = "No such record")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn create_plan(
    State(state): State<AppState>,
    principal: Principal,
    Ids(id): Ids<i64>,
    KeapJson(body): KeapJson<Value>,
) -> Result<Response, ApiError> {
    require_write(&principal)?;
    let plan = NewPlan::parse(&body_object(body)?).map_err(ApiError::bad_request)?;
    let (_, rendered) = edit_product(&state, principal.account_id, id, move |pid, doc| {
        let p = doc.add_plan(pid, &plan)?;
        Ok(doc.render_plan(&p))
    })
    .await?;
    Ok(json(StatusCode::CREATED, &rendered))
}

/// `GET /products/{id}/subscriptions/{plan_id}`.
///
/// # Errors
/// 404 for a missing product or plan.
#[utoipa::path(
    get,
    path = "/crm/rest/v1/products/{id}/subscriptions/{plan_id}",
    tag = "Products",
    params(("id" = i64, Path, description = "Product id"), ("plan_id" = i64, Path, description = "Plan id")),
    responses((status = 200, description = "The plan", body = serde_json::Value), (status = 401, description = "Missing or invalid credential"), (status = 404, description = "No such record")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn get_plan(
    State(state): State<AppState>,
    principal: Principal,
    Ids((id, plan_id)): Ids<(i64, i64)>,
) -> Result<Response, ApiError> {
    let record = load(&state, principal.account_id, id).await?;
    let doc = doc(&record)?;
    let plan = doc.plan(plan_id).ok_or_else(|| not_found(PLAN))?;
    Ok(json(StatusCode::OK, &doc.render_plan(plan)))
}

/// `DELETE /products/{id}/subscriptions/{plan_id}`: 204.
///
/// # Errors
/// 404 for a missing product or plan, 403.
#[utoipa::path(
    delete,
    path = "/crm/rest/v1/products/{id}/subscriptions/{plan_id}",
    tag = "Products",
    params(("id" = i64, Path, description = "Product id"), ("plan_id" = i64, Path, description = "Plan id")),
    responses((status = 204, description = "Deleted"), (status = 401, description = "Missing or invalid credential"), (status = 403, description = "Read-only credential"), (status = 404, description = "No such record")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn remove_plan(
    State(state): State<AppState>,
    principal: Principal,
    Ids((id, plan_id)): Ids<(i64, i64)>,
) -> Result<StatusCode, ApiError> {
    require_write(&principal)?;
    // Refusing inside the edit changes nothing; the refusal is then the plan's 404.
    match edit_product(&state, principal.account_id, id, move |_, doc| {
        if doc.remove_plan(plan_id) {
            Ok(())
        } else {
            Err(NO_PLAN.to_owned())
        }
    })
    .await
    {
        Ok(_) => Ok(StatusCode::NO_CONTENT),
        Err(e) if e.message == NO_PLAN => Err(not_found(PLAN)),
        Err(e) => Err(e),
    }
}

const NO_PLAN: &str = "no such plan";

/// `POST /products/{id}/image`: stores the image (`file_name` `.png .gif .jpg .jpeg`,
/// `file_data` base64 ≤ 3 MB matching that type, optional SHA-256 `checksum`), replacing any
/// earlier one; 201 without a body. The image is kept in the product's document (XML-RPC's
/// `Product.LargeImage`); REST v1 has no member that shows it.
///
/// # Errors
/// 400 (validation, checksum mismatch), 403, 404.
#[utoipa::path(
    post,
    path = "/crm/rest/v1/products/{id}/image",
    tag = "Products",
    params(("id" = i64, Path, description = "Product id")),
    request_body(content = serde_json::Value, content_type = "application/json"),
    responses((status = 201, description = "Stored"), (status = 400, description = "Invalid input"), (status = 401, description = "Missing or invalid credential"), (status = 403, description = "Read-only credential"), (status = 404, description = "No such record")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn put_image(
    State(state): State<AppState>,
    principal: Principal,
    Ids(id): Ids<i64>,
    KeapJson(body): KeapJson<Value>,
) -> Result<StatusCode, ApiError> {
    require_write(&principal)?;
    let image = ProductImage::parse(&body_object(body)?).map_err(ApiError::bad_request)?;
    edit_product(&state, principal.account_id, id, move |_, doc| {
        doc.image = Some(image);
        Ok(())
    })
    .await?;
    Ok(StatusCode::CREATED)
}

/// `DELETE /products/{id}/image`: 204 (also when the product had no image).
///
/// # Errors
/// 404, 403.
#[utoipa::path(
    delete,
    path = "/crm/rest/v1/products/{id}/image",
    tag = "Products",
    params(("id" = i64, Path, description = "Product id")),
    responses((status = 204, description = "Deleted"), (status = 401, description = "Missing or invalid credential"), (status = 403, description = "Read-only credential"), (status = 404, description = "No such record")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn remove_image(
    State(state): State<AppState>,
    principal: Principal,
    Ids(id): Ids<i64>,
) -> Result<StatusCode, ApiError> {
    require_write(&principal)?;
    edit_product(&state, principal.account_id, id, |_, doc| {
        doc.image = None;
        Ok(())
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
