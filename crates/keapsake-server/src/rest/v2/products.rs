//! REST v2 products (`keap/rest-v2.md` §7): list, create, get, `PATCH`, delete and
//! `:adjustInventory`. Same stored documents as v1's `/products` and XML-RPC's `Product` table
//! and `ProductService` ([`ProductDoc`], checked by the same [`ProductChanges`] rules; a deleted
//! product leaves the tombstone v1's `/products/sync` reads), so the stores fire the same
//! `product.*` hooks.
//!
//! `price` is written as int64 minor units and read back as a `CurrencyValue`
//! `{"amount","currency_code","formatted_amount"}` in the account's currency (its business
//! profile's `currency_code`, else USD). The inventory count is the one XML-RPC's
//! `ProductService.increaseInventory`/`decreaseInventory` change. Members keapsake does not keep
//! (`shippable`, `weight`, the `*taxable` flags, `storefront_hidden`, the HTML and delivery
//! members, `inventory_limit`, `out_of_stock_enabled`, `email_for_inventory_notifications`)
//! are accepted and ignored. Lists are filtered, sorted and paged in memory.

use super::common::{
    ListParams, ListSpec, V2Id, V2Json, V2Query, all_records, list_response, or_missing,
    require_write, sort_by_key, text_key, unreadable, update_mask,
};
use crate::error::{V2Error, json};
use crate::extract::Principal;
use crate::state::AppState;
use axum::Router;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use axum::routing::get;
use keapsake_core::commerce::money::Money;
use keapsake_core::commerce::product::{Cycle, ProductChanges, ProductDoc, TOMBSTONE_PRODUCT_KEY};
use keapsake_core::crm::fold;
use keapsake_core::records::{Create, Edit, Edited, Keys, NewRecord, Record, RecordKind};
use keapsake_core::v2::filter::{FieldSpec, Kind, Operand};
use keapsake_core::v2::{check_names, format_time, parse_id};
use keapsake_core::{AccountId, StoreError};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

/// Product routes, relative to `/crm/rest/v2`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/products", get(list).post(create))
        // `POST /products/{id}:adjustInventory`: the colon verb is part of the segment.
        .route(
            "/products/{product_id}",
            get(get_one)
                .patch(update)
                .delete(remove)
                .post(adjust_inventory),
        )
}

const PRODUCT: &str = "Product";
const DOMAIN: &str = "products";
const ADJUST: &str = ":adjustInventory";

const FILTERS: &[FieldSpec] = &[
    FieldSpec::wildcard("name"),
    FieldSpec::wildcard("sku"),
    FieldSpec::wildcard("description"),
    FieldSpec::wildcard("short_description"),
    FieldSpec::of("product_id", Kind::Id).with_comparisons(),
    FieldSpec::of("product_ids", Kind::IdList),
];

const LIST: ListSpec = ListSpec {
    operation: "listProducts",
    fields: FILTERS,
    order_by: &["name", "sku", "last_updated_time"],
};

/// What `update_mask` accepts (the spec's enum).
const MASK: &[&str] = &[
    "active",
    "name",
    "description",
    "price",
    "sku",
    "shippable",
    "short_description",
    "subscription_only",
    "storefront_hidden",
    "weight",
    "taxable",
    "country_taxable",
    "city_taxable",
    "state_taxable",
    "inventory_limit",
    "out_of_stock_enabled",
    "email_for_inventory_notifications",
    "top_html",
    "bottom_html",
    "is_package",
    "needs_digital_delivery",
    "delivery_description",
];

/// v2 body members and the v1 members [`ProductChanges::parse`] reads.
const RENAMES: &[(&str, &str)] = &[
    ("name", "product_name"),
    ("description", "product_desc"),
    ("short_description", "product_short_desc"),
    ("sku", "sku"),
    ("active", "active"),
    ("subscription_only", "subscription_only"),
];

/// A v1 message in v2's member names.
fn v2_message(msg: &str) -> String {
    msg.replace("product_name", "name")
        .replace("product_price", "price")
        .replace("product_short_desc", "short_description")
        .replace("product_desc", "description")
}

/// The account's currency: the business profile's `currency_code`, else USD.
pub(crate) async fn currency(state: &AppState, account: AccountId) -> Result<String, V2Error> {
    let profile = state.store.get_profile(account).await?;
    Ok(profile
        .currency_code
        .filter(|c| c.len() == 3)
        .unwrap_or_else(|| "USD".to_owned()))
}

/// A `CurrencyValue`: whole minor units (rounded half-up to cents), the code, and the amount
/// formatted (`$1,234.50`; a code without a known symbol is written after the number).
pub fn currency_value(m: Money, code: &str) -> Value {
    let cents = minor_units(m);
    let abs = cents.unsigned_abs();
    let sign = if cents < 0 { "-" } else { "" };
    let number = format!("{}.{:02}", grouped(abs / 100), abs % 100);
    let formatted = match code {
        "USD" | "CAD" | "AUD" | "NZD" => format!("{sign}${number}"),
        "EUR" => format!("{sign}€{number}"),
        "GBP" => format!("{sign}£{number}"),
        _ => format!("{sign}{number} {code}"),
    };
    json!({"amount": cents, "currency_code": code, "formatted_amount": formatted})
}

/// Digits in groups of three with commas, as the spec's examples write them (`1,234`).
fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Whole cents of an amount, rounded half-up (amounts are at most 10^13, so this fits).
fn minor_units(m: Money) -> i64 {
    let text = m.round_cents().to_string();
    let (neg, digits) = match text.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, text.as_str()),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let frac = format!("{frac:0<2}");
    let cents = int
        .parse::<i64>()
        .unwrap_or(0)
        .saturating_mul(100)
        .saturating_add(frac.get(..2).and_then(|f| f.parse().ok()).unwrap_or(0));
    if neg { -cents } else { cents }
}

fn billing_cycle(c: Cycle) -> &'static str {
    match c {
        Cycle::Year => "YEARLY",
        Cycle::Month => "MONTHLY",
        Cycle::Week => "WEEKLY",
        Cycle::Day => "DAILY",
    }
}

/// The `{product_id}` of `GET`/`PATCH`/`DELETE /products/{product_id}`: digits within int64
/// (else 400); `{id}:adjustInventory` with another method than `POST` is 405.
#[derive(Debug, Clone, Copy)]
pub struct ProductId(i64);

impl<S: Send + Sync> FromRequestParts<S> for ProductId {
    type Rejection = V2Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| V2Error::bad_request("Invalid id in path"))?;
        if raw.ends_with(ADJUST) {
            return Err(V2Error::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "Method Not Allowed",
            ));
        }
        V2Id::from_request_parts(parts, state)
            .await
            .map(|V2Id(id)| ProductId(id))
    }
}

/// A product as stored, with its record times.
struct Loaded {
    id: i64,
    doc: ProductDoc,
    created_at: OffsetDateTime,
    updated_at: OffsetDateTime,
}

impl Loaded {
    fn of(r: &Record) -> Result<Self, V2Error> {
        Ok(Self {
            id: r.id,
            doc: ProductDoc::from_value(&r.data).map_err(unreadable)?,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }

    /// `RestV2Product`: the detail shape has `inventory.inventory_count`, the list shape not.
    fn render(&self, code: &str, detail: bool) -> Value {
        let d = &self.doc;
        let mut m = Map::new();
        m.insert("id".into(), json!(self.id.to_string()));
        m.insert("name".into(), json!(d.product_name));
        m.insert("price".into(), currency_value(d.product_price, code));
        m.insert("active".into(), json!(d.active));
        if let Some(v) = &d.product_desc {
            m.insert("description".into(), json!(v));
        }
        if let Some(v) = &d.product_short_desc {
            m.insert("short_description".into(), json!(v));
        }
        if let Some(v) = &d.sku {
            m.insert("sku".into(), json!(v));
        }
        m.insert("subscription_only".into(), json!(d.subscription_only));
        m.insert("categories".into(), json!([]));
        m.insert("options".into(), json!([]));
        if detail {
            m.insert(
                "inventory".into(),
                json!({"inventory_count": d.inventory()}),
            );
        }
        m.insert(
            "subscription_plans".into(),
            Value::Array(
                d.subscription_plans
                    .iter()
                    .map(|p| {
                        json!({
                            "id": p.id.to_string(),
                            "active": p.active,
                            "billing_cycle": billing_cycle(p.cycle),
                            "billing_frequency": p.frequency,
                            "number_of_cycles": p.number_of_cycles,
                            "plan_price": currency_value(p.plan_price, code),
                            "order_index": p.subscription_plan_index,
                        })
                    })
                    .collect(),
            ),
        );
        m.insert("has_legacy_image".into(), json!(d.image.is_some()));
        m.insert("create_time".into(), json!(format_time(self.created_at)));
        m.insert("update_time".into(), json!(format_time(self.updated_at)));
        Value::Object(m)
    }
}

async fn render_one(state: &AppState, account: AccountId, r: &Record) -> Result<Value, V2Error> {
    let code = currency(state, account).await?;
    Ok(Loaded::of(r)?.render(&code, true))
}

/// `GET /products`: filter `name`, `sku`, `description`, `short_description` (trailing `*`),
/// `product_id` (comparisons), `product_ids`; order `name`, `sku`, `last_updated_time`
/// (default: id).
///
/// # Errors
/// 400 for a bad parameter.
#[utoipa::path(
    get,
    path = "/crm/rest/v2/products",
    tag = "Products (v2)",
    params(("filter" = Option<String>, Query, description = "name, sku, description, short_description (*), product_id (== > < >= <=), product_ids"), ("order_by" = Option<String>, Query, description = "name, sku or last_updated_time, then asc or desc"), ("page_size" = Option<i32>, Query, description = "0-1000, default 100"), ("page_token" = Option<String>, Query, description = "next_page_token of the previous page")),
    responses((status = 200, description = "A page of products", body = serde_json::Value), (status = 400, description = "Invalid argument"), (status = 401, description = "Missing or invalid credential")),
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
    if let Some(Operand::Ids(ids)) = params.filter.eq("product_ids") {
        conds.push(keapsake_core::records::Cond::IdIn(ids.clone()));
    }
    let records = all_records(&state, account, RecordKind::Product, conds).await?;
    let mut rows = Vec::new();
    for r in &records {
        let p = Loaded::of(r)?;
        let d = &p.doc;
        let keep = params
            .filter
            .clauses
            .iter()
            .all(|c| match (c.field.as_str(), &c.value) {
                ("name", v) => v.matches_text(Some(&d.product_name)),
                ("sku", v) => v.matches_text(d.sku.as_deref()),
                ("description", v) => v.matches_text(d.product_desc.as_deref()),
                ("short_description", v) => v.matches_text(d.product_short_desc.as_deref()),
                ("product_id", Operand::Id(want)) => c.op.holds(p.id.cmp(want)),
                ("product_ids", Operand::Ids(ids)) => ids.contains(&p.id),
                _ => true,
            });
        if keep {
            rows.push(p);
        }
    }
    let desc = params.descending();
    match params.order.as_ref().map(|o| o.field) {
        Some("name") => sort_by_key(&mut rows, desc, |p| (fold(&p.doc.product_name), p.id)),
        Some("sku") => sort_by_key(&mut rows, desc, |p| (text_key(p.doc.sku.as_deref()), p.id)),
        Some("last_updated_time") => sort_by_key(&mut rows, desc, |p| (p.updated_at, p.id)),
        _ => sort_by_key(&mut rows, desc, |p| (p.id, p.id)),
    }
    let (page, next) = params.page(rows);
    let code = currency(&state, account).await?;
    Ok(list_response(
        "products",
        page.iter().map(|p| p.render(&code, false)).collect(),
        next,
    ))
}

/// `price` of a body: int64 minor units ≥ 0 (a JSON integer or a string of digits).
fn price_of(v: &Value) -> Result<Money, V2Error> {
    let cents = match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse::<i64>().ok(),
        _ => None,
    };
    match cents {
        Some(c) if (0..=1_000_000_000_000_000).contains(&c) => Ok(Money::cents(c)),
        Some(c) if c > 0 => Err(V2Error::bad_request("price is too large")),
        Some(_) => Err(V2Error::bad_request(
            "price must be greater than or equal to 0 (minor units, e.g. 1250 for 12.50)",
        )),
        None => Err(V2Error::bad_request(
            "price must be an integer in minor units, e.g. 1250 for 12.50",
        )),
    }
}

/// Translates a v2 product body (the members `keep` allows) into v1's and checks it.
fn changes_of(
    body: &Map<String, Value>,
    keep: &dyn Fn(&str) -> bool,
    create: bool,
) -> Result<ProductChanges, V2Error> {
    let mut v1 = Map::new();
    for (from, to) in RENAMES {
        if keep(from)
            && let Some(v) = body.get(*from)
        {
            v1.insert((*to).to_owned(), v.clone());
        }
    }
    if keep("price")
        && let Some(v) = body.get("price")
    {
        let m = if v.is_null() && !create {
            Money::ZERO
        } else {
            price_of(v)?
        };
        v1.insert("product_price".into(), json!(m.to_string()));
    }
    if create {
        for (name, v1_name) in [
            ("name", "product_name"),
            ("price", "product_price"),
            ("short_description", "product_short_desc"),
        ] {
            let present = v1
                .get(v1_name)
                .is_some_and(|v| v.as_str().is_none_or(|s| !s.trim().is_empty()) && !v.is_null());
            if !present {
                return Err(V2Error::bad_request(format!("{name} is required")));
            }
        }
    }
    ProductChanges::parse(&v1, create).map_err(|e| V2Error::bad_request(v2_message(&e)))
}

/// `inventory.inventory_count` of a create body: an integer ≥ 0, if sent.
fn initial_inventory(body: &Map<String, Value>) -> Result<Option<i64>, V2Error> {
    let Some(inv) = body.get("inventory").filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    let Value::Object(inv) = inv else {
        return Err(V2Error::bad_request("inventory must be an object"));
    };
    match inv.get("inventory_count") {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_i64()
            .filter(|n| (0..=i64::from(i32::MAX)).contains(n))
            .map(Some)
            .ok_or_else(|| {
                V2Error::bad_request("inventory.inventory_count must be an integer >= 0")
            }),
    }
}

fn stored(r: Result<Edited, StoreError>, id: i64) -> Result<Record, V2Error> {
    match r {
        Ok(Edited::Updated(r)) => Ok(r),
        Ok(Edited::Rejected(msg)) => Err(V2Error::bad_request(v2_message(&msg))),
        Err(StoreError::NotFound) => Err(V2Error::missing(PRODUCT, DOMAIN, id)),
        Err(e) => Err(e.into()),
    }
}

/// `POST /products` `{"name","price" (minor units),"short_description",…}`: **201** with the
/// product.
///
/// # Errors
/// 400 (a required member missing, a negative price), 403.
#[utoipa::path(
    post,
    path = "/crm/rest/v2/products",
    tag = "Products (v2)",
    request_body(content = serde_json::Value, content_type = "application/json"),
    responses((status = 201, description = "The created product", body = serde_json::Value), (status = 400, description = "Invalid argument"), (status = 401, description = "Missing or invalid credential"), (status = 403, description = "Read-only credential")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    principal: Principal,
    V2Json(body): V2Json,
) -> Result<Response, V2Error> {
    require_write(&principal)?;
    let account = principal.account_id;
    let changes = changes_of(&body, &|_| true, true)?;
    let inventory = initial_inventory(&body)?;
    let create: Create = Box::new(move |_| {
        let mut doc = ProductDoc::create(&changes)?;
        if let Some(n) = inventory {
            doc.adjust_inventory(n)?;
        }
        Ok(NewRecord {
            keys: doc.keys(),
            data: doc.to_value(),
        })
    });
    let record = stored(
        state
            .store
            .insert_record(account, RecordKind::Product, create, state.clock.now())
            .await,
        0,
    )?;
    Ok(json(
        StatusCode::CREATED,
        &render_one(&state, account, &record).await?,
    ))
}

/// `GET /products/{product_id}`.
///
/// # Errors
/// 400, 404.
#[utoipa::path(
    get,
    path = "/crm/rest/v2/products/{product_id}",
    tag = "Products (v2)",
    params(("product_id" = String, Path, description = "Product id")),
    responses((status = 200, description = "The product", body = serde_json::Value), (status = 400, description = "Invalid argument"), (status = 401, description = "Missing or invalid credential"), (status = 404, description = "No such product")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn get_one(
    State(state): State<AppState>,
    principal: Principal,
    ProductId(id): ProductId,
) -> Result<Response, V2Error> {
    let record = state
        .store
        .get_record(principal.account_id, RecordKind::Product, id)
        .await
        .map_err(or_missing(PRODUCT, DOMAIN, id))?;
    Ok(json(
        StatusCode::OK,
        &render_one(&state, principal.account_id, &record).await?,
    ))
}

/// `PATCH /products/{product_id}?update_mask=`: 200 with the product.
///
/// # Errors
/// 400, 403, 404.
#[utoipa::path(
    patch,
    path = "/crm/rest/v2/products/{product_id}",
    tag = "Products (v2)",
    params(("product_id" = String, Path, description = "Product id"), ("update_mask" = Option<String>, Query, description = "Product properties to update")),
    request_body(content = serde_json::Value, content_type = "application/json"),
    responses((status = 200, description = "The updated product", body = serde_json::Value), (status = 400, description = "Invalid argument"), (status = 401, description = "Missing or invalid credential"), (status = 403, description = "Read-only credential"), (status = 404, description = "No such product")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn update(
    State(state): State<AppState>,
    principal: Principal,
    ProductId(id): ProductId,
    uri: Uri,
    V2Json(body): V2Json,
) -> Result<Response, V2Error> {
    require_write(&principal)?;
    let account = principal.account_id;
    let mask = update_mask(&V2Query::from_uri(&uri))?;
    if let Some(m) = &mask {
        check_names("update_mask", m, MASK).map_err(V2Error::bad_request)?;
    }
    let keep = |name: &str| mask.as_ref().is_none_or(|m| m.iter().any(|f| f == name));
    let changes = changes_of(&body, &keep, false)?;
    let edit: Edit = Box::new(move |_, data| {
        let mut doc = ProductDoc::from_value(data)?;
        doc.update(&changes)?;
        *data = doc.to_value();
        Ok(doc.keys())
    });
    let record = stored(
        state
            .store
            .update_record(account, RecordKind::Product, id, edit, state.clock.now())
            .await,
        id,
    )?;
    Ok(json(
        StatusCode::OK,
        &render_one(&state, account, &record).await?,
    ))
}

/// `DELETE /products/{product_id}`: 204, as v1's delete (plans and image go with it; a
/// tombstone keeps its last list shape for v1's `/products/sync`).
///
/// # Errors
/// 400, 403, 404.
#[utoipa::path(
    delete,
    path = "/crm/rest/v2/products/{product_id}",
    tag = "Products (v2)",
    params(("product_id" = String, Path, description = "Product id")),
    responses((status = 204, description = "Deleted"), (status = 400, description = "Invalid argument"), (status = 401, description = "Missing or invalid credential"), (status = 403, description = "Read-only credential"), (status = 404, description = "No such product")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn remove(
    State(state): State<AppState>,
    principal: Principal,
    ProductId(id): ProductId,
) -> Result<StatusCode, V2Error> {
    require_write(&principal)?;
    let account = principal.account_id;
    let record = state
        .store
        .get_record(account, RecordKind::Product, id)
        .await
        .map_err(or_missing(PRODUCT, DOMAIN, id))?;
    let last = ProductDoc::from_value(&record.data)
        .map_err(unreadable)?
        .render_listed(id);
    state
        .store
        .delete_record(account, RecordKind::Product, id)
        .await
        .map_err(or_missing(PRODUCT, DOMAIN, id))?;
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
        id,
    )?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /products/{product_id}:adjustInventory` `{"type":"INCREASE"|"DECREASE","quantity":N}`:
/// 200 with the product. The count never goes below 0 (400, nothing changed).
///
/// # Errors
/// 400, 403, 404; another `POST /products/{x}` is 405.
#[utoipa::path(
    post,
    path = "/crm/rest/v2/products/{product_id}:adjustInventory",
    tag = "Products (v2)",
    params(("product_id" = String, Path, description = "Product id")),
    request_body(content = serde_json::Value, content_type = "application/json"),
    responses((status = 200, description = "The product with its new inventory count", body = serde_json::Value), (status = 400, description = "Invalid argument, or the count would go below 0"), (status = 401, description = "Missing or invalid credential"), (status = 403, description = "Read-only credential"), (status = 404, description = "No such product")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn adjust_inventory(
    State(state): State<AppState>,
    principal: Principal,
    Path(raw): Path<String>,
    V2Json(body): V2Json,
) -> Result<Response, V2Error> {
    let Some(raw_id) = raw.strip_suffix(ADJUST) else {
        return Err(V2Error::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "Method Not Allowed",
        ));
    };
    let id = parse_id(raw_id).ok_or_else(|| {
        V2Error::bad_request(format!(
            "Invalid id {raw_id:?} in path: ids are strings of digits within int64"
        ))
    })?;
    require_write(&principal)?;
    let sign = match body.get("type").and_then(Value::as_str) {
        Some("INCREASE") => 1,
        Some("DECREASE") => -1,
        _ => {
            return Err(V2Error::bad_request("type must be INCREASE or DECREASE"));
        }
    };
    let quantity = body
        .get("quantity")
        .and_then(|v| v.as_i64().or_else(|| v.as_str()?.trim().parse().ok()))
        .filter(|q| (0..=i64::from(i32::MAX)).contains(q))
        .ok_or_else(|| V2Error::bad_request("quantity must be an integer from 0 to 2147483647"))?;
    let edit: Edit = Box::new(move |_, data| {
        let mut doc = ProductDoc::from_value(data)?;
        doc.adjust_inventory(sign * quantity)
            .map_err(|e| format!("Inventory of product {id}: {e}"))?;
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
        id,
    )?;
    Ok(json(
        StatusCode::OK,
        &render_one(&state, principal.account_id, &record).await?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formatted_amounts_group_thousands() {
        let f = |text: &str, code: &str| {
            let m = Money::parse(text, "amount").expect("an amount");
            currency_value(m, code)["formatted_amount"].clone()
        };
        assert_eq!(f("1234.5", "USD"), "$1,234.50");
        assert_eq!(f("0.99", "USD"), "$0.99");
        assert_eq!(f("999", "EUR"), "€999.00");
        assert_eq!(f("1000000", "GBP"), "£1,000,000.00");
        assert_eq!(f("-1234567.891", "USD"), "-$1,234,567.89");
        assert_eq!(f("12345", "JPY"), "12,345.00 JPY");
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(100), "100");
        assert_eq!(grouped(1000), "1,000");
    }
}
