//! `/subscriptions`: a contact's subscriptions to products' plans — list (`contact_id`), create
//! (201), model. Rules live in [`keapsake_core::commerce::subscription`]; keapsake bills
//! nothing (no recurring orders are generated).

use super::common::{ensure_contact, model as model_of, stored, unreadable};
use super::list::{Envelope, V1Query, require_write};
use crate::error::{ApiError, json};
use crate::extract::{KeapJson, Principal};
use crate::state::AppState;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use axum::routing::get;
use keapsake_core::StoreError;
use keapsake_core::commerce::parent_of;
use keapsake_core::commerce::product::ProductDoc;
use keapsake_core::commerce::subscription::{
    CONTACT_KEY, NewSubscription, PLAN_KEY, SubscriptionDoc,
};
use keapsake_core::crm::custom_field::RecordType;
use keapsake_core::records::{Cond, Create, NewRecord, Query, RecordKind};
use serde_json::Value;

const SUBSCRIPTION: &str = "Subscription";

/// Subscription routes, relative to `/crm/rest/v1`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/subscriptions", get(list).post(create))
        .route("/subscriptions/model", get(model))
}

/// `GET /subscriptions`: `contact_id`, `limit`, `offset`; by id.
///
/// # Errors
/// 400 for a bad parameter.
#[utoipa::path(
    get,
    path = "/crm/rest/v1/subscriptions",
    tag = "Subscriptions",
    params(("contact_id" = Option<i64>, Query, description = "Contact id"), ("limit" = Option<i64>, Query, description = "Page size"), ("offset" = Option<i64>, Query, description = "Records to skip")),
    responses((status = 200, description = "A page of subscriptions", body = serde_json::Value), (status = 400, description = "Invalid input"), (status = 401, description = "Missing or invalid credential")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    uri: Uri,
) -> Result<Response, ApiError> {
    let q = V1Query::from_uri(&uri);
    let paging = q.paging()?;
    let conds = q
        .int("contact_id")?
        .map(|c| Cond::IntEq(CONTACT_KEY, c))
        .into_iter()
        .collect();
    let query = Query {
        conds,
        limit: paging.limit,
        offset: paging.offset,
        ..Query::default()
    };
    let (records, total) = state
        .store
        .list_records(principal.account_id, RecordKind::Subscription, &query)
        .await?;
    let items = records
        .iter()
        .map(|r| {
            SubscriptionDoc::from_value(&r.data)
                .map(|d| d.render(r.id))
                .map_err(unreadable)
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(json(
        StatusCode::OK,
        &Envelope::new(
            &state,
            "subscriptions",
            "subscriptions",
            items,
            total,
            paging,
            &q,
        ),
    ))
}

/// `POST /subscriptions`: subscribes a contact to a plan; 201. The contact and an active plan
/// of an existing product are required; a second subscription of the contact to the same plan
/// needs `allow_duplicate: true`. `billing_amount` defaults to plan price × quantity, the first
/// bill to today.
///
/// # Errors
/// 400 (validation, unknown contact or plan, inactive plan, duplicate), 403.
#[utoipa::path(
    post,
    path = "/crm/rest/v1/subscriptions",
    tag = "Subscriptions",
    request_body(content = serde_json::Value, content_type = "application/json"),
    responses((status = 201, description = "The created subscription", body = serde_json::Value), (status = 400, description = "Invalid input"), (status = 401, description = "Missing or invalid credential"), (status = 403, description = "Read-only credential")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    principal: Principal,
    KeapJson(body): KeapJson<Value>,
) -> Result<Response, ApiError> {
    require_write(&principal)?;
    let Value::Object(body) = body else {
        return Err(ApiError::unparseable());
    };
    let new = NewSubscription::parse(&body).map_err(ApiError::bad_request)?;
    let account = principal.account_id;
    ensure_contact(&state, account, new.contact_id).await?;
    let no_plan =
        || ApiError::bad_request(format!("Subscription plan {} does not exist", new.plan_id));
    let product_id = parent_of(new.plan_id).ok_or_else(no_plan)?;
    let product = match state
        .store
        .get_record(account, RecordKind::Product, product_id)
        .await
    {
        Ok(r) => ProductDoc::from_value(&r.data).map_err(unreadable)?,
        Err(StoreError::NotFound) => return Err(no_plan()),
        Err(e) => return Err(e.into()),
    };
    let plan = product.plan(new.plan_id).ok_or_else(no_plan)?.clone();
    if !plan.active || !product.active {
        return Err(ApiError::bad_request(format!(
            "Subscription plan {} is not active",
            new.plan_id
        )));
    }
    if !new.allow_duplicate {
        let query = Query {
            conds: vec![
                Cond::IntEq(CONTACT_KEY, new.contact_id),
                Cond::IntEq(PLAN_KEY, new.plan_id),
            ],
            limit: 0,
            ..Query::default()
        };
        let (_, n) = state
            .store
            .list_records(account, RecordKind::Subscription, &query)
            .await?;
        if n > 0 {
            return Err(ApiError::bad_request(format!(
                "Contact {} already has a subscription to plan {} (send allow_duplicate: true to add another)",
                new.contact_id, new.plan_id
            )));
        }
    }
    let today = state.clock.now().date();
    let create: Create = Box::new(move |_| {
        let doc = SubscriptionDoc::create(&new, product_id, &plan, today)?;
        Ok(NewRecord {
            keys: doc.keys(),
            data: doc.to_value(),
        })
    });
    let record = stored(
        state
            .store
            .insert_record(account, RecordKind::Subscription, create, state.clock.now())
            .await,
        SUBSCRIPTION,
    )?;
    let doc = SubscriptionDoc::from_value(&record.data).map_err(unreadable)?;
    Ok(json(StatusCode::CREATED, &doc.render(record.id)))
}

/// `GET /subscriptions/model`: the account's subscription custom fields.
///
/// # Errors
/// Store failures.
#[utoipa::path(
    get,
    path = "/crm/rest/v1/subscriptions/model",
    tag = "Subscriptions",
    responses((status = 200, description = "The subscription model", body = serde_json::Value), (status = 401, description = "Missing or invalid credential")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn model(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Response, ApiError> {
    model_of(&state, principal.account_id, RecordType::Subscription, &[]).await
}
