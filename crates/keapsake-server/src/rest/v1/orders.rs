//! `/orders` and `/transactions` (`keap/rest-v1.md` §8): list with `contact_id`, `product_id`,
//! `paid`, `since`, `until`, `order` (newest first); create (201, the `Order` shape); get (the
//! `EcommerceReportingOrder` shape); delete (only without payments); items; payments (a bare
//! array; a new one is one atomic edit of the order, so concurrent payments never pay more than
//! is due); the order's transactions and the account's; the payment plan; the model. `PUT
//! /orders/{id}` (the PHP SDK's `save()`) has no Keap endpoint and answers 405 like any other
//! method a path lacks. Rules live in [`keapsake_core::commerce::order`].
//!
//! Transactions are the orders' payments seen from the other side (a transaction's id is its
//! payment's id, which names its order), so they are listed by reading the orders.

use super::cards::{self, load_card};
use super::common::{
    all_records, bool_param, contact_summaries, ensure_contact, floor_to_millis, model as model_of,
    stored, time_param, unreadable,
};
use super::list::{Envelope, Ids, Paging, V1Query, not_found, or_not_found, require_write};
use crate::error::{ApiError, json};
use crate::extract::{KeapJson, Principal};
use crate::state::AppState;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use axum::routing::{delete, get, post, put};
use keapsake_core::AccountId;
use keapsake_core::commerce::order::{
    CONTACT_KEY, NewItem, NewOrder, NewPayment, ORDER_DATE_KEY, OrderBy, OrderDoc, PAID_KEY,
    PaymentMethod, PaymentPlan, order_by,
};
use keapsake_core::commerce::parent_of;
use keapsake_core::commerce::product::{ProductDoc, ProductSummary};
use keapsake_core::crm::custom_field::RecordType;
use keapsake_core::records::{Column, Cond, Create, Edit, NewRecord, Query, Record, RecordKind};
use serde_json::{Map, Value};
use std::sync::{Arc, Mutex};
use time::OffsetDateTime;

const ORDER: &str = "Order";
const ITEM: &str = "OrderItem";
const TRANSACTION: &str = "Transaction";
const NO_ITEM: &str = "no such order item";

/// Order and transaction routes, relative to `/crm/rest/v1`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/orders", get(list).post(create))
        .route("/orders/model", get(model))
        .route("/orders/{id}", get(get_one).delete(remove))
        .route("/orders/{id}/items", post(add_item))
        .route("/orders/{id}/items/{item_id}", delete(remove_item))
        .route(
            "/orders/{id}/payments",
            get(list_payments).post(add_payment),
        )
        .route("/orders/{id}/transactions", get(order_transactions))
        .route("/orders/{id}/paymentPlan", put(replace_payment_plan))
        .route("/transactions", get(list_transactions))
        .route("/transactions/{id}", get(get_transaction))
}

fn body_object(body: Value) -> Result<Map<String, Value>, ApiError> {
    match body {
        Value::Object(m) => Ok(m),
        _ => Err(ApiError::unparseable()),
    }
}

/// The order document of a record.
pub(crate) fn doc(record: &Record) -> Result<OrderDoc, ApiError> {
    OrderDoc::from_value(&record.data).map_err(unreadable)
}

/// Orders in the `GET` shape, with their contacts.
async fn render(
    state: &AppState,
    account: AccountId,
    records: &[Record],
) -> Result<Vec<Value>, ApiError> {
    let docs = records.iter().map(doc).collect::<Result<Vec<_>, _>>()?;
    let contacts = contact_summaries(state, account, docs.iter().map(|d| d.contact_id)).await?;
    records
        .iter()
        .zip(&docs)
        .map(|(r, d)| {
            d.render(
                r.id,
                r.created_at,
                r.updated_at,
                contacts.get(&d.contact_id),
            )
            .map_err(unreadable)
        })
        .collect()
}

async fn render_one(
    state: &AppState,
    account: AccountId,
    record: &Record,
) -> Result<Value, ApiError> {
    render(state, account, std::slice::from_ref(record))
        .await?
        .pop()
        .ok_or_else(|| unreadable("a rendered page lost its record".to_owned()))
}

/// An order record of this account (404 otherwise).
pub(crate) async fn load(
    state: &AppState,
    account: AccountId,
    id: i64,
) -> Result<Record, ApiError> {
    state
        .store
        .get_record(account, RecordKind::Order, id)
        .await
        .map_err(or_not_found(ORDER))
}

/// The products of `ids` as order items keep them; 400 naming the first that does not exist
/// in this account.
pub(crate) async fn products(
    state: &AppState,
    account: AccountId,
    ids: &[i64],
) -> Result<Vec<ProductSummary>, ApiError> {
    let records = state
        .store
        .get_records(account, RecordKind::Product, ids)
        .await?;
    let mut out = Vec::with_capacity(records.len());
    for r in &records {
        out.push(
            ProductDoc::from_value(&r.data)
                .map_err(unreadable)?
                .summary(r.id),
        );
    }
    if let Some(missing) = ids.iter().find(|id| !out.iter().any(|p| p.id == **id)) {
        return Err(ApiError::bad_request(format!(
            "Product {missing} does not exist"
        )));
    }
    Ok(out)
}

/// Runs an atomic edit of an order that also produces a value for the response.
pub(crate) async fn edit_order<T: Send + 'static>(
    state: &AppState,
    account: AccountId,
    id: i64,
    f: impl FnOnce(i64, &mut OrderDoc, OffsetDateTime) -> Result<T, String> + Send + 'static,
) -> Result<(Record, T), ApiError> {
    let now = state.clock.now();
    let out: Arc<Mutex<Option<T>>> = Arc::new(Mutex::new(None));
    let slot = Arc::clone(&out);
    let edit: Edit = Box::new(move |id, data| {
        let mut doc = OrderDoc::from_value(data)?;
        let v = f(id, &mut doc, now)?;
        *data = doc.to_value();
        if let Ok(mut s) = slot.lock() {
            *s = Some(v);
        }
        Ok(doc.keys())
    });
    let record = stored(
        state
            .store
            .update_record(account, RecordKind::Order, id, edit, now)
            .await,
        ORDER,
    )?;
    let v = out
        .lock()
        .ok()
        .and_then(|mut s| s.take())
        .ok_or_else(|| unreadable("an edit stored nothing".to_owned()))?;
    Ok((record, v))
}

fn page_of<T>(items: Vec<T>, paging: Paging) -> Vec<T> {
    let start = usize::try_from(paging.offset).unwrap_or(usize::MAX);
    let len = usize::try_from(paging.limit).unwrap_or(usize::MAX);
    items.into_iter().skip(start).take(len).collect()
}

/// `GET /orders`: `contact_id`, `product_id` (an item of that product), `paid`, `since`/`until`
/// (last change), `order` (`order_date` default, `update_date`), newest first; `limit`,
/// `offset`.
///
/// # Errors
/// 400 for a bad parameter.
#[utoipa::path(
    get,
    path = "/crm/rest/v1/orders",
    tag = "Orders",
    params(("contact_id" = Option<i64>, Query, description = "Contact id"), ("product_id" = Option<i64>, Query, description = "Orders with an item of this product"), ("paid" = Option<bool>, Query, description = "Paid (true) or not (false)"), ("since" = Option<String>, Query, description = "Changed at or after"), ("until" = Option<String>, Query, description = "Changed at or before"), ("order" = Option<String>, Query, description = "order_date or update_date"), ("limit" = Option<i64>, Query, description = "Page size"), ("offset" = Option<i64>, Query, description = "Records to skip")),
    responses((status = 200, description = "A page of orders", body = serde_json::Value), (status = 400, description = "Invalid input"), (status = 401, description = "Missing or invalid credential")),
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
    if let Some(p) = bool_param(&q, "paid")? {
        conds.push(Cond::IntEq(PAID_KEY, i64::from(p)));
    }
    if let Some(t) = time_param(&q, "since")? {
        conds.push(Cond::UpdatedSince(floor_to_millis(t)));
    }
    if let Some(t) = time_param(&q, "until")? {
        conds.push(Cond::UpdatedUntil(t));
    }
    let by = match q.get("order")? {
        None => OrderBy::OrderDate,
        Some(o) => order_by(o)
            .ok_or_else(|| ApiError::bad_request("order must be order_date or update_date"))?,
    };
    let column = match by {
        OrderBy::OrderDate => Column::Text(ORDER_DATE_KEY),
        OrderBy::UpdateDate => Column::UpdatedAt,
    };
    let account = principal.account_id;
    let (records, total) = match q.int("product_id")? {
        None => {
            let query = Query {
                conds,
                order: column,
                descending: true,
                limit: paging.limit,
                offset: paging.offset,
            };
            state
                .store
                .list_records(account, RecordKind::Order, &query)
                .await?
        }
        Some(product) => {
            // Items are inside the documents: filtered here, over the orders matching the rest.
            let mut rows = Vec::new();
            for r in all_records(&state, account, RecordKind::Order, conds).await? {
                let d = doc(&r)?;
                if d.has_product(product) {
                    rows.push((d.keys().text[ORDER_DATE_KEY].clone(), r));
                }
            }
            rows.sort_by(|(ka, ra), (kb, rb)| {
                let ord = match by {
                    OrderBy::OrderDate => ka.cmp(kb),
                    OrderBy::UpdateDate => ra.updated_at.cmp(&rb.updated_at),
                };
                ord.then(ra.id.cmp(&rb.id)).reverse()
            });
            let total = i64::try_from(rows.len()).unwrap_or(i64::MAX);
            (
                page_of(rows.into_iter().map(|(_, r)| r).collect(), paging),
                total,
            )
        }
    };
    let items = render(&state, account, &records).await?;
    Ok(json(
        StatusCode::OK,
        &Envelope::new(&state, "orders", "orders", items, total, paging, &q),
    ))
}

/// `POST /orders`: 201 with the order in the create shape. The contact and every product must
/// exist in this account (else 400); the order and its items are one record, written at once.
///
/// # Errors
/// 400 (validation, unknown contact or product), 403.
#[utoipa::path(
    post,
    path = "/crm/rest/v1/orders",
    tag = "Orders",
    request_body(content = serde_json::Value, content_type = "application/json"),
    responses((status = 201, description = "The created order", body = serde_json::Value), (status = 400, description = "Invalid input"), (status = 401, description = "Missing or invalid credential"), (status = 403, description = "Read-only credential")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    principal: Principal,
    KeapJson(body): KeapJson<Value>,
) -> Result<Response, ApiError> {
    require_write(&principal)?;
    let new = NewOrder::parse(&body_object(body)?).map_err(ApiError::bad_request)?;
    let account = principal.account_id;
    ensure_contact(&state, account, new.contact_id).await?;
    let products = products(&state, account, &new.product_ids()).await?;
    let create: Create = Box::new(move |id| {
        let doc = OrderDoc::create(id, &new, &products)?;
        Ok(NewRecord {
            keys: doc.keys(),
            data: doc.to_value(),
        })
    });
    let record = stored(
        state
            .store
            .insert_record(account, RecordKind::Order, create, state.clock.now())
            .await,
        ORDER,
    )?;
    let d = doc(&record)?;
    let contacts = contact_summaries(&state, account, [d.contact_id]).await?;
    let v = d
        .render_created(
            record.id,
            record.created_at,
            record.updated_at,
            contacts.get(&d.contact_id),
        )
        .map_err(unreadable)?;
    Ok(json(StatusCode::CREATED, &v))
}

/// `GET /orders/{id}`.
///
/// # Errors
/// 404 `Unable to find this Order`.
#[utoipa::path(
    get,
    path = "/crm/rest/v1/orders/{id}",
    tag = "Orders",
    params(("id" = i64, Path, description = "Order id")),
    responses((status = 200, description = "The order", body = serde_json::Value), (status = 401, description = "Missing or invalid credential"), (status = 404, description = "No such record")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn get_one(
    State(state): State<AppState>,
    principal: Principal,
    Ids(id): Ids<i64>,
) -> Result<Response, ApiError> {
    let record = load(&state, principal.account_id, id).await?;
    Ok(json(
        StatusCode::OK,
        &render_one(&state, principal.account_id, &record).await?,
    ))
}

/// `DELETE /orders/{id}`: 204 for an order without payments; an order with payments is a 400
/// (refunds are not deleted history). The check and a "being deleted" mark are one atomic edit,
/// so a payment racing the delete either lands first (and the delete is refused) or is refused.
/// Storage triggers therefore see an edit of the order (the mark) just before its delete.
///
/// # Errors
/// 400 (payments), 404, 403.
#[utoipa::path(
    delete,
    path = "/crm/rest/v1/orders/{id}",
    tag = "Orders",
    params(("id" = i64, Path, description = "Order id")),
    responses((status = 204, description = "Deleted"), (status = 400, description = "The order has payments"), (status = 401, description = "Missing or invalid credential"), (status = 403, description = "Read-only credential"), (status = 404, description = "No such record")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn remove(
    State(state): State<AppState>,
    principal: Principal,
    Ids(id): Ids<i64>,
) -> Result<StatusCode, ApiError> {
    require_write(&principal)?;
    let account = principal.account_id;
    edit_order(&state, account, id, |_, doc, _| doc.mark_deleting()).await?;
    state
        .store
        .delete_record(account, RecordKind::Order, id)
        .await
        .map_err(or_not_found(ORDER))?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /orders/{id}/items`: adds one item (`CreateOrderItem`); 201 with it (`OrderItem`).
///
/// # Errors
/// 400 (validation, unknown product), 404, 403.
#[utoipa::path(
    post,
    path = "/crm/rest/v1/orders/{id}/items",
    tag = "Orders",
    params(("id" = i64, Path, description = "Order id")),
    request_body(content = serde_json::Value, content_type = "application/json"),
    responses((status = 201, description = "The created item", body = serde_json::Value), (status = 400, description = "Invalid input"), (status = 401, description = "Missing or invalid credential"), (status = 403, description = "Read-only credential"), (status = 404, description = "No such record")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn add_item(
    State(state): State<AppState>,
    principal: Principal,
    Ids(id): Ids<i64>,
    KeapJson(body): KeapJson<Value>,
) -> Result<Response, ApiError> {
    require_write(&principal)?;
    let body = body_object(body)?;
    let item = NewItem::parse(&Value::Object(body), "").map_err(ApiError::bad_request)?;
    let account = principal.account_id;
    // 404 for a missing order before a 400 for a missing product.
    load(&state, account, id).await?;
    let product = products(&state, account, &[item.product_id])
        .await?
        .pop()
        .ok_or_else(|| unreadable("a looked-up product vanished".to_owned()))?;
    let (_, added) = edit_order(&state, account, id, move |oid, doc, _| {
        doc.add_item(oid, &item, &product)
    })
    .await?;
    Ok(json(StatusCode::CREATED, &added.render()))
}

/// `DELETE /orders/{id}/items/{item_id}`: 204; the totals follow. Refused (400) when the rest
/// would total less than what was paid.
///
/// # Errors
/// 404 (order or item), 400, 403.
#[utoipa::path(
    delete,
    path = "/crm/rest/v1/orders/{id}/items/{item_id}",
    tag = "Orders",
    params(("id" = i64, Path, description = "Order id"), ("item_id" = i64, Path, description = "Order item id")),
    responses((status = 204, description = "Deleted"), (status = 400, description = "Would leave less than was paid"), (status = 401, description = "Missing or invalid credential"), (status = 403, description = "Read-only credential"), (status = 404, description = "No such record")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn remove_item(
    State(state): State<AppState>,
    principal: Principal,
    Ids((id, item_id)): Ids<(i64, i64)>,
) -> Result<StatusCode, ApiError> {
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
        Err(e) if e.message == NO_ITEM => Err(not_found(ITEM)),
        Err(e) => Err(e),
    }
}

/// `GET /orders/{id}/payments`: a bare array of `InvoicePayment`s, oldest first.
///
/// # Errors
/// 404.
#[utoipa::path(
    get,
    path = "/crm/rest/v1/orders/{id}/payments",
    tag = "Orders",
    params(("id" = i64, Path, description = "Order id")),
    responses((status = 200, description = "The order's payments", body = serde_json::Value), (status = 401, description = "Missing or invalid credential"), (status = 404, description = "No such record")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn list_payments(
    State(state): State<AppState>,
    principal: Principal,
    Ids(id): Ids<i64>,
) -> Result<Response, ApiError> {
    let record = load(&state, principal.account_id, id).await?;
    let d = doc(&record)?;
    let items: Vec<Value> = d.payments.iter().map(|p| p.render(record.id)).collect();
    Ok(json(StatusCode::OK, &items))
}

/// `POST /orders/{id}/payments`: records a payment (`CASH`, `CHECK`, or `charge_now: false`:
/// a manual record; `CREDIT_CARD`/`TOKEN` with `charge_now: true`: keapsake's test gateway);
/// 201 `PaymentResult`. A `CREDIT_CARD` charge naming a `credit_card_id` charges that card on
/// file: it must be a card of this account (else 400 `Credit card N does not exist`), and the
/// gateway's answer for the order's contact
/// ([`keapsake_core::commerce::card::CardDoc::charge`]: another contact's card, a deactivated
/// or expired card, a test decline number) is a 400 with its message and nothing recorded. A
/// charge without a card is approved. More than is due is a 400 (checked before the card);
/// the checks and the write are one atomic edit.
///
/// # Errors
/// 400 (validation, above what is due, unknown or refused card), 404, 403.
#[utoipa::path(
    post,
    path = "/crm/rest/v1/orders/{id}/payments",
    tag = "Orders",
    params(("id" = i64, Path, description = "Order id")),
    request_body(content = serde_json::Value, content_type = "application/json"),
    responses((status = 201, description = "The payment", body = serde_json::Value), (status = 400, description = "Invalid input or more than is due"), (status = 401, description = "Missing or invalid credential"), (status = 403, description = "Read-only credential"), (status = 404, description = "No such record")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn add_payment(
    State(state): State<AppState>,
    principal: Principal,
    Ids(id): Ids<i64>,
    KeapJson(body): KeapJson<Value>,
) -> Result<Response, ApiError> {
    require_write(&principal)?;
    let payment = NewPayment::parse(&body_object(body)?).map_err(ApiError::bad_request)?;
    let account = principal.account_id;
    // The card on file is read before the order's edit (no second record is touched inside
    // it); whether it exists and what the gateway answers are decided inside, against the
    // order's contact, so a missing order is still a 404 first.
    let card = match payment.credit_card_id {
        Some(card_id) if payment.charge_now && payment.method == PaymentMethod::CreditCard => {
            match load_card(&state, account, card_id).await {
                Ok(card) => Some((card_id, Some(card))),
                Err(e) if e.status == StatusCode::NOT_FOUND => Some((card_id, None)),
                Err(e) => return Err(e),
            }
        }
        _ => None,
    };
    let today = cards::today(&state);
    let (record, paid) = edit_order(&state, account, id, move |oid, doc, now| {
        // The amount is checked first; a refusal after it discards the whole edit.
        let paid = doc.add_payment(oid, &payment, now)?;
        if let Some((card_id, card)) = &card {
            let card = card
                .as_ref()
                .ok_or_else(|| format!("Credit card {card_id} does not exist"))?;
            card.charge(doc.contact_id, today)
                .map_err(|refusal| refusal.message().to_owned())?;
        }
        Ok(paid)
    })
    .await?;
    Ok(json(StatusCode::CREATED, &paid.render_result(record.id)))
}

/// `PUT /orders/{id}/paymentPlan`: replaces the payment plan; 200 with it.
///
/// # Errors
/// 400, 404, 403.
#[utoipa::path(
    put,
    path = "/crm/rest/v1/orders/{id}/paymentPlan",
    tag = "Orders",
    params(("id" = i64, Path, description = "Order id")),
    request_body(content = serde_json::Value, content_type = "application/json"),
    responses((status = 200, description = "The payment plan", body = serde_json::Value), (status = 400, description = "Invalid input"), (status = 401, description = "Missing or invalid credential"), (status = 403, description = "Read-only credential"), (status = 404, description = "No such record")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn replace_payment_plan(
    State(state): State<AppState>,
    principal: Principal,
    Ids(id): Ids<i64>,
    KeapJson(body): KeapJson<Value>,
) -> Result<Response, ApiError> {
    require_write(&principal)?;
    let plan = PaymentPlan::parse(&body_object(body)?).map_err(ApiError::bad_request)?;
    let rendered = plan.render();
    edit_order(&state, principal.account_id, id, move |_, doc, _| {
        doc.payment_plan = Some(plan);
        Ok(())
    })
    .await?;
    Ok(json(StatusCode::OK, &rendered))
}

/// `GET /orders/model`: the account's order custom fields.
///
/// # Errors
/// Store failures.
#[utoipa::path(
    get,
    path = "/crm/rest/v1/orders/model",
    tag = "Orders",
    responses((status = 200, description = "The order model", body = serde_json::Value), (status = 401, description = "Missing or invalid credential")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn model(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Response, ApiError> {
    model_of(&state, principal.account_id, RecordType::Order, &[]).await
}

/// Transaction filters shared by both lists.
struct TxFilter {
    contact: Option<i64>,
    since: Option<OffsetDateTime>,
    until: Option<OffsetDateTime>,
}

impl TxFilter {
    fn of(q: &V1Query) -> Result<Self, ApiError> {
        Ok(Self {
            contact: q.int("contact_id")?,
            since: time_param(q, "since")?.map(floor_to_millis),
            until: time_param(q, "until")?,
        })
    }
}

/// The transactions of some orders (payments, by id), filtered, with each order rendered once.
async fn transactions(
    state: &AppState,
    account: AccountId,
    records: &[Record],
    f: &TxFilter,
) -> Result<Vec<(i64, Value)>, ApiError> {
    let rendered = render(state, account, records).await?;
    let mut out = Vec::new();
    for (r, order) in records.iter().zip(rendered) {
        let d = doc(r)?;
        if f.contact.is_some_and(|c| c != d.contact_id) {
            continue;
        }
        for p in &d.payments {
            if f.since.is_some_and(|t| p.pay_date < t) || f.until.is_some_and(|t| p.pay_date > t) {
                continue;
            }
            out.push((
                p.id,
                p.render_transaction(r.id, d.contact_id, order.clone()),
            ));
        }
    }
    out.sort_by_key(|(id, _)| *id);
    Ok(out)
}

fn transaction_page(
    state: &AppState,
    path: &str,
    rows: Vec<(i64, Value)>,
    paging: Paging,
    q: &V1Query,
) -> Response {
    let total = i64::try_from(rows.len()).unwrap_or(i64::MAX);
    let items = page_of(rows.into_iter().map(|(_, v)| v).collect(), paging);
    json(
        StatusCode::OK,
        &Envelope::new(state, path, "transactions", items, total, paging, q),
    )
}

/// `GET /orders/{id}/transactions`: the order's payments as transactions; `contact_id`,
/// `since`, `until` (payment date), `limit`, `offset`.
///
/// # Errors
/// 400, 404.
#[utoipa::path(
    get,
    path = "/crm/rest/v1/orders/{id}/transactions",
    tag = "Orders",
    params(("id" = i64, Path, description = "Order id"), ("contact_id" = Option<i64>, Query, description = "Contact id"), ("since" = Option<String>, Query, description = "Paid at or after"), ("until" = Option<String>, Query, description = "Paid at or before"), ("limit" = Option<i64>, Query, description = "Page size"), ("offset" = Option<i64>, Query, description = "Records to skip")),
    responses((status = 200, description = "A page of transactions", body = serde_json::Value), (status = 400, description = "Invalid input"), (status = 401, description = "Missing or invalid credential"), (status = 404, description = "No such record")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn order_transactions(
    State(state): State<AppState>,
    principal: Principal,
    Ids(id): Ids<i64>,
    uri: Uri,
) -> Result<Response, ApiError> {
    let q = V1Query::from_uri(&uri);
    let paging = q.paging()?;
    let f = TxFilter::of(&q)?;
    let record = load(&state, principal.account_id, id).await?;
    let rows = transactions(&state, principal.account_id, &[record], &f).await?;
    Ok(transaction_page(
        &state,
        &format!("orders/{id}/transactions"),
        rows,
        paging,
        &q,
    ))
}

/// `GET /transactions`: every payment of the account's orders as a transaction; `contact_id`,
/// `since`, `until` (payment date), `limit`, `offset`; by id.
///
/// # Errors
/// 400.
#[utoipa::path(
    get,
    path = "/crm/rest/v1/transactions",
    tag = "Orders",
    params(("contact_id" = Option<i64>, Query, description = "Contact id"), ("since" = Option<String>, Query, description = "Paid at or after"), ("until" = Option<String>, Query, description = "Paid at or before"), ("limit" = Option<i64>, Query, description = "Page size"), ("offset" = Option<i64>, Query, description = "Records to skip")),
    responses((status = 200, description = "A page of transactions", body = serde_json::Value), (status = 400, description = "Invalid input"), (status = 401, description = "Missing or invalid credential")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn list_transactions(
    State(state): State<AppState>,
    principal: Principal,
    uri: Uri,
) -> Result<Response, ApiError> {
    let q = V1Query::from_uri(&uri);
    let paging = q.paging()?;
    let f = TxFilter::of(&q)?;
    let conds: Vec<Cond> = f
        .contact
        .map(|c| Cond::IntEq(CONTACT_KEY, c))
        .into_iter()
        .collect();
    let account = principal.account_id;
    let records = all_records(&state, account, RecordKind::Order, conds).await?;
    let with_payments: Vec<Record> = records
        .into_iter()
        .filter(|r| {
            r.data
                .get("payments")
                .and_then(Value::as_array)
                .is_some_and(|a| !a.is_empty())
        })
        .collect();
    let rows = transactions(&state, account, &with_payments, &f).await?;
    Ok(transaction_page(&state, "transactions", rows, paging, &q))
}

/// `GET /transactions/{id}`.
///
/// # Errors
/// 404 `Unable to find this Transaction`.
#[utoipa::path(
    get,
    path = "/crm/rest/v1/transactions/{id}",
    tag = "Orders",
    params(("id" = i64, Path, description = "Transaction id")),
    responses((status = 200, description = "The transaction", body = serde_json::Value), (status = 401, description = "Missing or invalid credential"), (status = 404, description = "No such record")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn get_transaction(
    State(state): State<AppState>,
    principal: Principal,
    Ids(id): Ids<i64>,
) -> Result<Response, ApiError> {
    let account = principal.account_id;
    let order_id = parent_of(id).ok_or_else(|| not_found(TRANSACTION))?;
    let record = state
        .store
        .get_record(account, RecordKind::Order, order_id)
        .await
        .map_err(or_not_found(TRANSACTION))?;
    let f = TxFilter {
        contact: None,
        since: None,
        until: None,
    };
    let rows = transactions(&state, account, &[record], &f).await?;
    let (_, v) = rows
        .into_iter()
        .find(|(pid, _)| *pid == id)
        .ok_or_else(|| not_found(TRANSACTION))?;
    Ok(json(StatusCode::OK, &v))
}
