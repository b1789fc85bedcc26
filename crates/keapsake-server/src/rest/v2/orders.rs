//! REST v2 orders (`keap/rest-v2.md` §6): list, create, get, delete, items (create, get,
//! update, delete) and payments (list, create). The same order records and rules as REST v1's
//! `/orders` ([`keapsake_core::commerce::order`], [`crate::rest::v1::orders`]): a v2 body is
//! translated into v1's and checked by the same parsers, writes are the same atomic edits, and
//! v1 and v2 show the same totals.
//!
//! Money is read back as `CurrencyValue` in the account's currency; `price_per_unit` and
//! `payment_amount` are written in major units (doubles), as the spec says. Item types keep
//! v1's names except the discounts (`DISCOUNT_*` in v2, `SPECIAL_*` in v1). `product_id` is
//! required on every item (keapsake's items always name a product). Members keapsake does not
//! keep (`cost_per_unit`, `notes` of a new item, `subscription_plan_*`) are accepted and ignored.

use super::common::{
    ListParams, ListSpec, V2Id, V2Json, V2Query, all_records, list_response, or_missing,
    require_write, sort_by_key, update_mask, within,
};
use super::products::{currency, currency_value};
use crate::error::{ApiError, V2Error, json};
use crate::extract::Principal;
use crate::rest::v1::common::{contact_summaries, ensure_contact};
use crate::rest::v1::orders::{doc, edit_order, products};
use crate::state::AppState;
use axum::Router;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use axum::routing::{any, get, post};
use keapsake_core::AccountId;
use keapsake_core::commerce::money::Money;
use keapsake_core::commerce::order::{
    CONTACT_KEY, Item, ItemType, MAX_NOTE, MAX_TEXT, NewItem, NewOrder, NewPayment, OrderDoc,
    PAID_KEY,
};
use keapsake_core::crm_more::ContactSummary;
use keapsake_core::records::{Cond, Create, NewRecord, Record, RecordKind};
use keapsake_core::v2::filter::{FieldSpec, Kind, Operand};
use keapsake_core::v2::{check_names, format_time, parse_id};
use serde_json::{Map, Value, json};

/// Order routes, relative to `/crm/rest/v2`.
pub fn routes() -> Router<AppState> {
    // Methods of the spec not implemented here (`updateOrder`, the colon
    // verbs `:attachFile`, `:applyTax`, `:applyCommission`, …) are the fallback's 501.
    let rest = || super::fallback;
    Router::new()
        .route("/orders", get(list).post(create).fallback(rest()))
        // retrieveOrderCustomFieldModel: the fallback's 501, not an order id.
        .route("/orders/model", any(super::fallback))
        .route(
            "/orders/{order_id}",
            get(get_one).delete(remove).fallback(rest()),
        )
        .route(
            "/orders/{order_id}/items",
            post(create_item).fallback(rest()),
        )
        .route(
            "/orders/{order_id}/items/{order_item_id}",
            get(get_item)
                .delete(remove_item)
                .patch(update_item)
                .fallback(rest()),
        )
        .route(
            "/orders/{order_id}/payments",
            get(list_payments).post(create_payment).fallback(rest()),
        )
}

const ORDER: &str = "Order";
const ITEM: &str = "OrderItem";
const DOMAIN: &str = "orders";
const NO_ITEM: &str = "no such order item";

const FILTERS: &[FieldSpec] = &[
    FieldSpec::of("id", Kind::Id).with_comparisons(),
    FieldSpec::of("ids", Kind::IdList),
    FieldSpec::of("contact_id", Kind::Id),
    FieldSpec::of("product_id", Kind::Id),
    FieldSpec::of("paid", Kind::Words),
    FieldSpec::wildcard("title"),
    FieldSpec::of("order_type", Kind::Words),
    FieldSpec::of("created_since_time", Kind::Time),
    FieldSpec::of("created_until_time", Kind::Time),
    FieldSpec::of("modified_since_time", Kind::Time),
    FieldSpec::of("modified_until_time", Kind::Time),
];

const LIST: ListSpec = ListSpec {
    operation: "listOrders",
    fields: FILTERS,
    order_by: &["id", "order_time", "modification_time"],
};

/// v1's item type names in v2's.
const TYPE_NAMES: &[(&str, &str)] = &[
    ("DISCOUNT", "SPECIAL"),
    ("DISCOUNT_FREE_TRIAL", "SPECIAL_FREE_TRIAL_DAYS"),
    ("DISCOUNT_ORDER_TOTAL", "SPECIAL_ORDER_TOTAL"),
    ("DISCOUNT_PRODUCT", "SPECIAL_PRODUCT"),
    ("DISCOUNT_PRODUCT_CATEGORY", "SPECIAL_CATEGORY"),
    ("DISCOUNT_SHIPPING", "SPECIAL_SHIPPING"),
];

fn v2_type(t: ItemType) -> String {
    let v1 = t.as_str();
    TYPE_NAMES
        .iter()
        .find(|(_, one)| *one == v1)
        .map_or(v1, |(two, _)| (*two).to_owned())
}

fn v1_type(s: &str) -> String {
    let up = s.trim().to_ascii_uppercase();
    TYPE_NAMES
        .iter()
        .find(|(two, _)| *two == up)
        .map_or(up, |(_, one)| (*one).to_owned())
}

/// A v1 message in v2's member names.
fn v2_message(msg: &str) -> String {
    msg.replace("order_date", "order_time")
        .replace("].price", "].price_per_unit")
        .replace("Online or Offline", "ONLINE or OFFLINE")
        .replace(
            "SPECIAL, PROGRAM, SUBSCRIPTION, SPECIAL_FREE_TRIAL_DAYS, SPECIAL_ORDER_TOTAL, SPECIAL_PRODUCT, SPECIAL_CATEGORY, SPECIAL_SHIPPING",
            "DISCOUNT, PROGRAM, SUBSCRIPTION, DISCOUNT_FREE_TRIAL, DISCOUNT_ORDER_TOTAL, DISCOUNT_PRODUCT, DISCOUNT_PRODUCT_CATEGORY, DISCOUNT_SHIPPING",
        )
}

/// A v1 error of a shared helper in v2's shape (404s name the v2 resource).
fn v2_error(e: ApiError, id: i64) -> V2Error {
    if e.status == StatusCode::NOT_FOUND {
        V2Error::missing(ORDER, DOMAIN, id)
    } else {
        V2Error::new(e.status, v2_message(&e.message))
    }
}

/// An id member of a body: a string of digits (v2) or a JSON integer.
fn id_member(v: &Value, name: &str) -> Result<Value, V2Error> {
    match v {
        Value::String(s) => parse_id(s.trim())
            .map(|id| json!(id))
            .ok_or_else(|| V2Error::bad_request(format!("{name} must be a string of digits"))),
        Value::Number(n) if n.as_i64().is_some() => Ok(v.clone()),
        Value::Null => Ok(Value::Null),
        _ => Err(V2Error::bad_request(format!(
            "{name} must be a string of digits"
        ))),
    }
}

/// Refuses whitespace-only strings among `names`.
fn no_blank(m: &Map<String, Value>, names: &[&str], at: &str) -> Result<(), V2Error> {
    for n in names {
        if let Some(Value::String(s)) = m.get(*n)
            && s.trim().is_empty()
        {
            return Err(V2Error::bad_request(format!("{at}{n} must not be blank")));
        }
    }
    Ok(())
}

/// A v2 item body (`CreateOrderItem`) as v1's.
fn v1_item(v: &Value, at: &str) -> Result<Value, V2Error> {
    let Value::Object(m) = v else {
        return Err(V2Error::bad_request(format!(
            "{} must be an object",
            if at.is_empty() { "the item" } else { at }
        )));
    };
    let dot = if at.is_empty() {
        String::new()
    } else {
        format!("{at}.")
    };
    no_blank(m, &["name", "description", "notes", "item_type"], &dot)?;
    let mut out = Map::new();
    if let Some(v) = m.get("product_id") {
        out.insert(
            "product_id".into(),
            id_member(v, &format!("{dot}product_id"))?,
        );
    }
    if let Some(v) = m.get("quantity") {
        out.insert("quantity".into(), v.clone());
    }
    if let Some(v) = m.get("description") {
        out.insert("description".into(), v.clone());
    }
    if let Some(v) = m.get("item_type") {
        out.insert(
            "item_type".into(),
            match v {
                Value::String(s) => json!(v1_type(s)),
                other => other.clone(),
            },
        );
    }
    match m.get("price_per_unit") {
        None | Some(Value::Null) => {}
        Some(Value::Number(n)) => {
            out.insert("price".into(), json!(n.to_string()));
        }
        Some(_) => {
            return Err(V2Error::bad_request(format!(
                "{dot}price_per_unit must be a number (major units, e.g. 12.5)"
            )));
        }
    }
    Ok(Value::Object(out))
}

fn new_item(v: &Value, at: &str) -> Result<NewItem, V2Error> {
    let v1 = v1_item(v, at)?;
    NewItem::parse(&v1, at).map_err(|e| V2Error::bad_request(v2_message(&e)))
}

/// A v2 `CreateOrder` body as v1's, checked by v1's parser.
fn new_order(body: &Map<String, Value>) -> Result<NewOrder, V2Error> {
    no_blank(body, &["order_title", "order_type", "order_time"], "")?;
    let mut v1 = Map::new();
    if let Some(v) = body.get("contact_id") {
        v1.insert("contact_id".into(), id_member(v, "contact_id")?);
    }
    for (from, to) in [
        ("order_title", "order_title"),
        ("order_time", "order_date"),
        ("order_type", "order_type"),
    ] {
        if let Some(v) = body.get(from) {
            v1.insert(to.into(), v.clone());
        }
    }
    for name in ["lead_affiliate_id", "sales_affiliate_id"] {
        if let Some(v) = body.get(name) {
            v1.insert(name.into(), id_member(v, name)?);
        }
    }
    if let Some(Value::String(code)) = body.get("promo_code") {
        v1.insert("promo_codes".into(), json!([code]));
    }
    match body.get("order_items") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            let items = items
                .iter()
                .enumerate()
                .map(|(i, v)| v1_item(v, &format!("order_items[{i}]")))
                .collect::<Result<Vec<_>, _>>()?;
            v1.insert("order_items".into(), Value::Array(items));
        }
        Some(_) => return Err(V2Error::bad_request("order_items must be an array")),
    }
    NewOrder::parse(&v1).map_err(|e| V2Error::bad_request(v2_message(&e)))
}

/// `OrderItem` of v2.
fn render_item(i: &Item, code: &str) -> Value {
    json!({
        "id": i.id.to_string(),
        "name": i.name,
        "description": i.description,
        "notes": i.notes,
        "quantity": i.quantity,
        "item_type": v2_type(i.item_type),
        "price_per_unit": currency_value(i.price, code),
        "product": {
            "id": i.product.id.to_string(),
            "name": i.product.name,
            "sku": i.product.sku,
            "description": i.product.desc,
        },
    })
}

/// `OrderV2`.
fn render_order(
    r: &Record,
    d: &OrderDoc,
    contact: Option<&ContactSummary>,
    code: &str,
) -> Result<Value, V2Error> {
    let t = d.totals().map_err(super::common::unreadable)?;
    let mut contact_v = json!({"id": d.contact_id.to_string()});
    if let Some(c) = contact {
        contact_v["email"] = json!(c.email);
        contact_v["given_name"] = json!(c.first_name);
        contact_v["family_name"] = json!(c.last_name);
    }
    Ok(json!({
        "id": r.id.to_string(),
        "title": d.title,
        "status": t.status(),
        "order_type": d.order_type.to_ascii_uppercase(),
        "source_type": d.source_type,
        "contact": contact_v,
        "order_time": format_time(d.order_date),
        "creation_time": format_time(r.created_at),
        "modification_time": format_time(r.updated_at),
        "total": currency_value(t.total, code),
        "total_paid": currency_value(t.total_paid, code),
        "total_due": currency_value(t.total_due, code),
        "refund_total": currency_value(t.refund_total, code),
        "order_items": d.order_items.iter().map(|i| render_item(i, code)).collect::<Vec<_>>(),
        "lead_affiliate_id": d.lead_affiliate_id.map(|i| i.to_string()),
        "sales_affiliate_id": d.sales_affiliate_id.map(|i| i.to_string()),
        "notes": d.notes,
        "terms": d.terms,
        "promo_code": d.promo_codes.first(),
        "invoice_id": r.id.to_string(),
        "allow_payment": !t.paid,
    }))
}

async fn render_all(
    state: &AppState,
    account: AccountId,
    rows: &[(Record, OrderDoc)],
) -> Result<Vec<Value>, V2Error> {
    let contacts =
        contact_summaries(state, account, rows.iter().map(|(_, d)| d.contact_id)).await?;
    let code = currency(state, account).await?;
    rows.iter()
        .map(|(r, d)| render_order(r, d, contacts.get(&d.contact_id), &code))
        .collect()
}

async fn render_one(state: &AppState, account: AccountId, r: Record) -> Result<Value, V2Error> {
    let d = doc(&r)?;
    render_all(state, account, &[(r, d)])
        .await?
        .pop()
        .ok_or_else(|| super::common::unreadable("a rendered order vanished".to_owned()))
}

async fn load(state: &AppState, account: AccountId, id: i64) -> Result<Record, V2Error> {
    state
        .store
        .get_record(account, RecordKind::Order, id)
        .await
        .map_err(or_missing(ORDER, DOMAIN, id))
}

/// `paid` of a filter: `true` or `false`.
fn paid_of(words: &[String]) -> Result<bool, V2Error> {
    match words {
        [w] if w.eq_ignore_ascii_case("true") => Ok(true),
        [w] if w.eq_ignore_ascii_case("false") => Ok(false),
        _ => Err(V2Error::bad_request("paid must be true or false")),
    }
}

/// `GET /orders`: filter `id` (comparisons), `ids`, `contact_id`, `product_id`, `paid`,
/// `title` (trailing `*`), `order_type`, `created_since_time`/`created_until_time`,
/// `modified_since_time`/`modified_until_time`; order `id`, `order_time`,
/// `modification_time` (default: id). Other filters of the spec (invoice, shipping, custom
/// fields) are 400.
///
/// # Errors
/// 400 for a bad parameter.
#[utoipa::path(
    get,
    path = "/crm/rest/v2/orders",
    tag = "Orders (v2)",
    params(("filter" = Option<String>, Query, description = "id (== != > < >= <=), ids, contact_id, product_id, paid, title (*), order_type, created_since_time, created_until_time, modified_since_time, modified_until_time"), ("order_by" = Option<String>, Query, description = "id, order_time or modification_time, then asc or desc"), ("page_size" = Option<i32>, Query, description = "0-1000, default 100"), ("page_token" = Option<String>, Query, description = "next_page_token of the previous page")),
    responses((status = 200, description = "A page of orders", body = serde_json::Value), (status = 400, description = "Invalid argument"), (status = 401, description = "Missing or invalid credential")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    uri: Uri,
) -> Result<Response, V2Error> {
    let account = principal.account_id;
    let q = V2Query::from_uri(&uri);
    let params = ListParams::parse(&q, &LIST, "", &|_| None)?;
    let mut conds = Vec::new();
    for c in &params.filter.clauses {
        match (c.field.as_str(), &c.value) {
            ("contact_id", Operand::Id(id)) => conds.push(Cond::IntEq(CONTACT_KEY, *id)),
            ("paid", Operand::Words(w)) => {
                conds.push(Cond::IntEq(PAID_KEY, i64::from(paid_of(w)?)));
            }
            ("ids", Operand::Ids(ids)) => conds.push(Cond::IdIn(ids.clone())),
            ("order_type", Operand::Words(w))
                if !w.iter().all(|t| {
                    t.eq_ignore_ascii_case("online") || t.eq_ignore_ascii_case("offline")
                }) =>
            {
                return Err(V2Error::bad_request("order_type must be ONLINE or OFFLINE"));
            }
            _ => {}
        }
    }
    let records = all_records(&state, account, RecordKind::Order, conds).await?;
    let mut rows = Vec::new();
    for r in records {
        let d = doc(&r)?;
        let keep = params
            .filter
            .clauses
            .iter()
            .all(|c| match (c.field.as_str(), &c.value) {
                ("id", Operand::Id(want)) => c.op.holds(r.id.cmp(want)),
                ("product_id", Operand::Id(p)) => d.has_product(*p),
                ("title", v) => v.matches_text(Some(&d.title)),
                ("order_type", Operand::Words(w)) => {
                    w.iter().any(|t| t.eq_ignore_ascii_case(&d.order_type))
                }
                ("created_since_time", Operand::Time(t)) => within(r.created_at, Some(*t), None),
                ("created_until_time", Operand::Time(t)) => within(r.created_at, None, Some(*t)),
                ("modified_since_time", Operand::Time(t)) => within(r.updated_at, Some(*t), None),
                ("modified_until_time", Operand::Time(t)) => within(r.updated_at, None, Some(*t)),
                _ => true,
            });
        if keep {
            rows.push((r, d));
        }
    }
    let desc = params.descending();
    match params.order.as_ref().map(|o| o.field) {
        Some("order_time") => sort_by_key(&mut rows, desc, |(r, d)| (d.order_date, r.id)),
        Some("modification_time") => sort_by_key(&mut rows, desc, |(r, _)| (r.updated_at, r.id)),
        _ => sort_by_key(&mut rows, desc, |(r, _)| (r.id, r.id)),
    }
    let (page, next) = params.page(rows);
    Ok(list_response(
        "orders",
        render_all(&state, account, &page).await?,
        next,
    ))
}

/// `POST /orders` `{"contact_id","order_title","order_time","order_type","order_items":[…]}`:
/// **201** with the order. The contact and every product must exist in this account (400).
///
/// # Errors
/// 400, 403.
#[utoipa::path(
    post,
    path = "/crm/rest/v2/orders",
    tag = "Orders (v2)",
    request_body(content = serde_json::Value, content_type = "application/json"),
    responses((status = 201, description = "The created order", body = serde_json::Value), (status = 400, description = "Invalid argument"), (status = 401, description = "Missing or invalid credential"), (status = 403, description = "Read-only credential")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    principal: Principal,
    V2Json(body): V2Json,
) -> Result<Response, V2Error> {
    require_write(&principal)?;
    let account = principal.account_id;
    let new = new_order(&body)?;
    ensure_contact(&state, account, new.contact_id).await?;
    let products = products(&state, account, &new.product_ids()).await?;
    let create: Create = Box::new(move |id| {
        let doc = OrderDoc::create(id, &new, &products)?;
        Ok(NewRecord {
            keys: doc.keys(),
            data: doc.to_value(),
        })
    });
    let record = crate::rest::v1::common::stored(
        state
            .store
            .insert_record(account, RecordKind::Order, create, state.clock.now())
            .await,
        ORDER,
    )
    .map_err(|e| v2_error(e, 0))?;
    Ok(json(
        StatusCode::CREATED,
        &render_one(&state, account, record).await?,
    ))
}

/// `GET /orders/{order_id}`.
///
/// # Errors
/// 400, 404.
#[utoipa::path(
    get,
    path = "/crm/rest/v2/orders/{order_id}",
    tag = "Orders (v2)",
    params(("order_id" = String, Path, description = "Order id")),
    responses((status = 200, description = "The order", body = serde_json::Value), (status = 400, description = "Invalid argument"), (status = 401, description = "Missing or invalid credential"), (status = 404, description = "No such order")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn get_one(
    State(state): State<AppState>,
    principal: Principal,
    OrderId(id): OrderId,
) -> Result<Response, V2Error> {
    let record = load(&state, principal.account_id, id).await?;
    Ok(json(
        StatusCode::OK,
        &render_one(&state, principal.account_id, record).await?,
    ))
}

/// `DELETE /orders/{order_id}`: 204, as v1's delete; an order with payments is **409
/// `FAILED_PRECONDITION`** (v1's 400).
///
/// # Errors
/// 400, 403, 404, 409.
#[utoipa::path(
    delete,
    path = "/crm/rest/v2/orders/{order_id}",
    tag = "Orders (v2)",
    params(("order_id" = String, Path, description = "Order id")),
    responses((status = 204, description = "Deleted"), (status = 400, description = "Invalid argument"), (status = 401, description = "Missing or invalid credential"), (status = 403, description = "Read-only credential"), (status = 404, description = "No such order"), (status = 409, description = "The order has payments")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn remove(
    State(state): State<AppState>,
    principal: Principal,
    OrderId(id): OrderId,
) -> Result<StatusCode, V2Error> {
    require_write(&principal)?;
    let account = principal.account_id;
    edit_order(&state, account, id, |_, doc, _| doc.mark_deleting())
        .await
        .map_err(|e| {
            if e.status == StatusCode::BAD_REQUEST {
                V2Error::failed_precondition(e.message)
            } else {
                v2_error(e, id)
            }
        })?;
    state
        .store
        .delete_record(account, RecordKind::Order, id)
        .await
        .map_err(or_missing(ORDER, DOMAIN, id))?;
    Ok(StatusCode::NO_CONTENT)
}

/// The spec's colon verbs on `/orders/{order_id}` and on an item (all `POST`).
const VERBS: &[&str] = &[
    ":attachFile",
    ":detachFile",
    ":applyTax",
    ":applyCommission",
];

fn verb_405(raw: &str) -> Result<(), V2Error> {
    if VERBS.iter().any(|v| raw.ends_with(v)) {
        Err(V2Error::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "Method Not Allowed",
        ))
    } else {
        Ok(())
    }
}

/// The `{order_id}` of `GET`/`DELETE /orders/{order_id}`: digits within int64 (else 400);
/// `{id}:attachFile` and the other colon verbs with another method than `POST` are 405.
#[derive(Debug, Clone, Copy)]
pub struct OrderId(i64);

impl<S: Send + Sync> FromRequestParts<S> for OrderId {
    type Rejection = V2Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| V2Error::bad_request("Invalid id in path"))?;
        verb_405(&raw)?;
        V2Id::from_request_parts(parts, state)
            .await
            .map(|V2Id(id)| OrderId(id))
    }
}

/// The two ids of `/orders/{order_id}/items/{order_item_id}` (`{item}:applyCommission` with
/// another method than `POST` is 405).
fn two_ids(raw: &(String, String)) -> Result<(i64, i64), V2Error> {
    verb_405(&raw.1)?;
    let one = |s: &str| {
        parse_id(s).ok_or_else(|| {
            V2Error::bad_request(format!(
                "Invalid id {s:?} in path: ids are strings of digits within int64"
            ))
        })
    };
    Ok((one(&raw.0)?, one(&raw.1)?))
}

/// `POST /orders/{order_id}/items`: adds one item; **201** with it. The totals follow.
///
/// # Errors
/// 400 (validation, unknown product), 403, 404.
#[utoipa::path(
    post,
    path = "/crm/rest/v2/orders/{order_id}/items",
    tag = "Orders (v2)",
    params(("order_id" = String, Path, description = "Order id")),
    request_body(content = serde_json::Value, content_type = "application/json"),
    responses((status = 201, description = "The created item", body = serde_json::Value), (status = 400, description = "Invalid argument"), (status = 401, description = "Missing or invalid credential"), (status = 403, description = "Read-only credential"), (status = 404, description = "No such order")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn create_item(
    State(state): State<AppState>,
    principal: Principal,
    V2Id(id): V2Id,
    V2Json(body): V2Json,
) -> Result<Response, V2Error> {
    require_write(&principal)?;
    let item = new_item(&Value::Object(body), "")?;
    let account = principal.account_id;
    load(&state, account, id).await?;
    let product = products(&state, account, &[item.product_id])
        .await?
        .pop()
        .ok_or_else(|| super::common::unreadable("a looked-up product vanished".to_owned()))?;
    let (_, added) = edit_order(&state, account, id, move |oid, doc, _| {
        doc.add_item(oid, &item, &product)
    })
    .await
    .map_err(|e| v2_error(e, id))?;
    let code = currency(&state, account).await?;
    Ok(json(StatusCode::CREATED, &render_item(&added, &code)))
}

/// `GET /orders/{order_id}/items/{order_item_id}`.
///
/// # Errors
/// 400, 404 (order or item).
#[utoipa::path(
    get,
    path = "/crm/rest/v2/orders/{order_id}/items/{order_item_id}",
    tag = "Orders (v2)",
    params(("order_id" = String, Path, description = "Order id"), ("order_item_id" = String, Path, description = "Order item id")),
    responses((status = 200, description = "The item", body = serde_json::Value), (status = 400, description = "Invalid argument"), (status = 401, description = "Missing or invalid credential"), (status = 404, description = "No such order or item")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn get_item(
    State(state): State<AppState>,
    principal: Principal,
    Path(raw): Path<(String, String)>,
) -> Result<Response, V2Error> {
    let (id, item_id) = two_ids(&raw)?;
    let account = principal.account_id;
    let d = doc(&load(&state, account, id).await?)?;
    let item = d
        .order_items
        .iter()
        .find(|i| i.id == item_id)
        .ok_or_else(|| V2Error::missing(ITEM, DOMAIN, item_id))?;
    let code = currency(&state, account).await?;
    Ok(json(StatusCode::OK, &render_item(item, &code)))
}

/// `DELETE /orders/{order_id}/items/{order_item_id}`: 204; refused (400) when the rest would
/// total less than was paid, as in v1.
///
/// # Errors
/// 400, 403, 404 (order or item).
#[utoipa::path(
    delete,
    path = "/crm/rest/v2/orders/{order_id}/items/{order_item_id}",
    tag = "Orders (v2)",
    params(("order_id" = String, Path, description = "Order id"), ("order_item_id" = String, Path, description = "Order item id")),
    responses((status = 204, description = "Deleted"), (status = 400, description = "Invalid argument, or less than was paid would remain"), (status = 401, description = "Missing or invalid credential"), (status = 403, description = "Read-only credential"), (status = 404, description = "No such order or item")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn remove_item(
    State(state): State<AppState>,
    principal: Principal,
    Path(raw): Path<(String, String)>,
) -> Result<StatusCode, V2Error> {
    let (id, item_id) = two_ids(&raw)?;
    require_write(&principal)?;
    match edit_order(&state, principal.account_id, id, move |_, doc, _| {
        if doc.remove_item(item_id)? {
            Ok(())
        } else {
            Err(NO_ITEM.to_owned())
        }
    })
    .await
    {
        Ok(_) => Ok(StatusCode::NO_CONTENT),
        Err(e) if e.message == NO_ITEM => Err(V2Error::missing(ITEM, DOMAIN, item_id)),
        Err(e) => Err(v2_error(e, id)),
    }
}

/// What `updateOrderItem`'s `update_mask` accepts (the spec's enum).
const ITEM_MASK: &[&str] = &[
    "name",
    "description",
    "notes",
    "quantity",
    "price_per_unit",
    "cost_per_unit",
    "product_id",
    "subscription_plan_id",
    "subscription_plan_description",
];

/// The checked changes of an `UpdateOrderItemRequest`.
#[derive(Default)]
struct ItemChanges {
    name: Option<String>,
    description: Option<String>,
    notes: Option<String>,
    quantity: Option<i64>,
    price: Option<Money>,
    product_id: Option<i64>,
}

/// A text member: a non-blank string of at most `max` characters.
fn text_member(v: &Value, name: &str, max: usize) -> Result<String, V2Error> {
    match v {
        Value::String(s) if s.trim().is_empty() => {
            Err(V2Error::bad_request(format!("{name} must not be blank")))
        }
        Value::String(s) if s.chars().count() > max => Err(V2Error::bad_request(format!(
            "{name} must be at most {max} characters"
        ))),
        Value::String(s) => Ok(s.clone()),
        _ => Err(V2Error::bad_request(format!("{name} must be a string"))),
    }
}

fn item_changes(
    body: &Map<String, Value>,
    keep: &dyn Fn(&str) -> bool,
) -> Result<ItemChanges, V2Error> {
    let member = |name: &str| body.get(name).filter(|v| !v.is_null() && keep(name));
    let mut c = ItemChanges::default();
    if let Some(v) = member("name") {
        c.name = Some(text_member(v, "name", MAX_TEXT)?);
    }
    if let Some(v) = member("description") {
        c.description = Some(text_member(v, "description", MAX_NOTE)?);
    }
    if let Some(v) = member("notes") {
        c.notes = Some(text_member(v, "notes", MAX_NOTE)?);
    }
    if let Some(v) = member("quantity") {
        c.quantity = Some(
            v.as_i64()
                .filter(|q| (1..=i64::from(i32::MAX)).contains(q))
                .ok_or_else(|| {
                    V2Error::bad_request("quantity must be an integer from 1 to 2147483647")
                })?,
        );
    }
    if let Some(v) = member("price_per_unit") {
        let Value::Number(n) = v else {
            return Err(V2Error::bad_request(
                "price_per_unit must be a number (major units, e.g. 12.5)",
            ));
        };
        c.price = Some(
            Money::non_negative(&json!(n.to_string()), "price_per_unit")
                .map_err(|e| V2Error::bad_request(e.to_string()))?,
        );
    }
    if let Some(v) = member("product_id") {
        c.product_id = id_member(v, "product_id")?.as_i64();
    }
    Ok(c)
}

/// `PATCH /orders/{order_id}/items/{order_item_id}?update_mask=`: `name`, `description`,
/// `notes`, `quantity`, `price_per_unit` (major units), `product_id`; 200 with the item. One
/// atomic edit of the order: refused (400) when the total would fall below what was paid.
/// `cost_per_unit` and `subscription_plan_*` are accepted and ignored.
///
/// # Errors
/// 400, 403, 404 (order or item).
#[utoipa::path(
    patch,
    path = "/crm/rest/v2/orders/{order_id}/items/{order_item_id}",
    tag = "Orders (v2)",
    params(("order_id" = String, Path, description = "Order id"), ("order_item_id" = String, Path, description = "Order item id"), ("update_mask" = Option<String>, Query, description = "Item properties to update")),
    request_body(content = serde_json::Value, content_type = "application/json"),
    responses((status = 200, description = "The updated item", body = serde_json::Value), (status = 400, description = "Invalid argument, or the total would fall below what was paid"), (status = 401, description = "Missing or invalid credential"), (status = 403, description = "Read-only credential"), (status = 404, description = "No such order or item")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn update_item(
    State(state): State<AppState>,
    principal: Principal,
    Path(raw): Path<(String, String)>,
    uri: Uri,
    V2Json(body): V2Json,
) -> Result<Response, V2Error> {
    let (id, item_id) = two_ids(&raw)?;
    require_write(&principal)?;
    let mask = update_mask(&V2Query::from_uri(&uri))?;
    if let Some(m) = &mask {
        check_names("update_mask", m, ITEM_MASK).map_err(V2Error::bad_request)?;
    }
    let keep = |name: &str| mask.as_ref().is_none_or(|m| m.iter().any(|f| f == name));
    let c = item_changes(&body, &keep)?;
    let account = principal.account_id;
    let product = match c.product_id {
        None => None,
        Some(p) => {
            load(&state, account, id).await?;
            products(&state, account, &[p]).await?.pop()
        }
    };
    let edited = edit_order(&state, account, id, move |_, doc, _| {
        let item = doc
            .order_items
            .iter_mut()
            .find(|i| i.id == item_id)
            .ok_or_else(|| NO_ITEM.to_owned())?;
        if let Some(p) = product {
            if c.name.is_none() {
                item.name.clone_from(&p.name);
            }
            item.product = p;
        }
        if let Some(v) = c.name {
            item.name = v;
        }
        if let Some(v) = c.description {
            item.description = Some(v);
        }
        if let Some(v) = c.notes {
            item.notes = Some(v);
        }
        if let Some(v) = c.quantity {
            item.quantity = v;
        }
        if let Some(v) = c.price {
            item.price = v;
        }
        let updated = item.clone();
        let t = doc.totals()?;
        if t.total < t.total_paid {
            return Err(
                "Updating this item would leave the order's total below what has been paid"
                    .to_owned(),
            );
        }
        Ok(updated)
    })
    .await;
    let item = match edited {
        Ok((_, item)) => item,
        Err(e) if e.message == NO_ITEM => return Err(V2Error::missing(ITEM, DOMAIN, item_id)),
        Err(e) => return Err(v2_error(e, id)),
    };
    let code = currency(&state, account).await?;
    Ok(json(StatusCode::OK, &render_item(&item, &code)))
}

/// `GET /orders/{order_id}/payments`: `{"invoice_order_payments":[…],"next_page_token":""}`,
/// oldest first, every payment on one page.
///
/// # Errors
/// 400, 404.
#[utoipa::path(
    get,
    path = "/crm/rest/v2/orders/{order_id}/payments",
    tag = "Orders (v2)",
    params(("order_id" = String, Path, description = "Order id")),
    responses((status = 200, description = "The order's payments", body = serde_json::Value), (status = 400, description = "Invalid argument"), (status = 401, description = "Missing or invalid credential"), (status = 404, description = "No such order")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn list_payments(
    State(state): State<AppState>,
    principal: Principal,
    V2Id(id): V2Id,
) -> Result<Response, V2Error> {
    let account = principal.account_id;
    let record = load(&state, account, id).await?;
    let d = doc(&record)?;
    let code = currency(&state, account).await?;
    let items = d
        .payments
        .iter()
        .map(|p| {
            json!({
                "id": p.id.to_string(),
                "invoice_id": record.id.to_string(),
                "payment_id": p.id.to_string(),
                "amount": currency_value(p.amount, &code),
                "pay_time": format_time(p.pay_date),
                "pay_status": p.status(),
                "notes": p.notes,
                "last_updated_time": format_time(p.last_updated),
                "skip_commission": !p.apply_to_commissions,
            })
        })
        .collect();
    Ok(list_response(
        "invoice_order_payments",
        items,
        String::new(),
    ))
}

/// `POST /orders/{order_id}/payments` `{"payment_amount" (major units),
/// "apply_to_commissions","payment_method_type" (CASH, CHECK, …),"payment_time","notes"}`:
/// **201** `{"id","invoice_id","payment_amount","payment_status_message","transaction_id"}`. A
/// manual record, the same atomic edit as v1's (more than is due is a 400, nothing changed).
/// `payment_method_id` (charging a stored method) is 400: use v1 for card charges.
///
/// # Errors
/// 400, 403, 404.
#[utoipa::path(
    post,
    path = "/crm/rest/v2/orders/{order_id}/payments",
    tag = "Orders (v2)",
    params(("order_id" = String, Path, description = "Order id")),
    request_body(content = serde_json::Value, content_type = "application/json"),
    responses((status = 201, description = "The payment", body = serde_json::Value), (status = 400, description = "Invalid argument or more than is due"), (status = 401, description = "Missing or invalid credential"), (status = 403, description = "Read-only credential"), (status = 404, description = "No such order")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn create_payment(
    State(state): State<AppState>,
    principal: Principal,
    V2Id(id): V2Id,
    V2Json(body): V2Json,
) -> Result<Response, V2Error> {
    require_write(&principal)?;
    if body.get("payment_method_id").is_some_and(|v| !v.is_null()) {
        return Err(V2Error::bad_request(
            "payment_method_id is not supported: record a manual payment with payment_method_type",
        ));
    }
    if body.get("apply_to_commissions").is_none_or(Value::is_null) {
        return Err(V2Error::bad_request("apply_to_commissions is required"));
    }
    let mut v1 = Map::new();
    for (from, to) in [
        ("payment_amount", "payment_amount"),
        ("apply_to_commissions", "apply_to_commissions"),
        ("payment_method_type", "payment_method_type"),
        ("payment_time", "date"),
        ("notes", "notes"),
    ] {
        if let Some(v) = body.get(from) {
            v1.insert(to.into(), v.clone());
        }
    }
    let payment = NewPayment::parse(&v1)
        .map_err(|e| V2Error::bad_request(e.replace("date must", "payment_time must")))?;
    if payment.is_charge() {
        return Err(V2Error::bad_request(
            "payment_method_type must be CASH or CHECK (a manual payment)",
        ));
    }
    let account = principal.account_id;
    let (record, paid) = edit_order(&state, account, id, move |oid, doc, now| {
        doc.add_payment(oid, &payment, now)
    })
    .await
    .map_err(|e| v2_error(e, id))?;
    let code = currency(&state, account).await?;
    Ok(json(
        StatusCode::CREATED,
        &json!({
            "id": paid.id.to_string(),
            "invoice_id": record.id.to_string(),
            "payment_amount": currency_value(paid.amount, &code),
            "payment_status_message": paid.status(),
            "transaction_id": paid.id.to_string(),
        }),
    ))
}
