//! `/contacts/{id}/creditCards` (`keap/rest-v1.md` §1.2): a contact's credit cards on file —
//! add (201 `CreditCardAdded`) and list (200, a bare array of `ContactCreditCard`, oldest
//! first, numbers masked). The rules live in [`keapsake_core::commerce::card`]: the number is
//! checked (digits, length, Luhn) and never stored, only its last four digits; the expiry is
//! checked against the injected clock's UTC date. What a card later answers when charged (the
//! test gateway) is decided there too; [`load_card`] is how payments find a card.

use super::common::{all_records, stored, unreadable};
use super::list::{Ids, not_found, or_not_found, require_write};
use crate::error::{ApiError, json};
use crate::extract::{KeapJson, Principal};
use crate::state::AppState;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use keapsake_core::AccountId;
use keapsake_core::StoreError;
use keapsake_core::commerce::card::{CONTACT_KEY, CardDoc, NewCard};
use keapsake_core::records::{Cond, Create, NewRecord, RecordKind};
use serde_json::Value;
use time::{Date, UtcOffset};

const CONTACT: &str = "Contact";
const CREDIT_CARD: &str = "CreditCard";

/// Credit card routes, relative to `/crm/rest/v1`.
pub fn routes() -> Router<AppState> {
    Router::new().route("/contacts/{id}/creditCards", get(list).post(create))
}

/// Today's date in UTC by the injected clock: what a card must not have expired by.
pub(crate) fn today(state: &AppState) -> Date {
    state.clock.now().to_offset(UtcOffset::UTC).date()
}

/// A card of this account by id (another account's card reads like one that never existed).
///
/// # Errors
/// 404 `Unable to find this CreditCard`; 500 for an unreadable record; store failures.
pub(crate) async fn load_card(
    state: &AppState,
    account: AccountId,
    card_id: i64,
) -> Result<CardDoc, ApiError> {
    let record = state
        .store
        .get_record(account, RecordKind::CreditCard, card_id)
        .await
        .map_err(or_not_found(CREDIT_CARD))?;
    CardDoc::from_value(&record.data).map_err(unreadable)
}

/// 404 `Unable to find this Contact` unless the path's contact is in this account.
async fn ensure_path_contact(
    state: &AppState,
    account: AccountId,
    id: i64,
) -> Result<(), ApiError> {
    match state
        .store
        .get_record(account, RecordKind::Contact, id)
        .await
    {
        Ok(_) => Ok(()),
        Err(StoreError::NotFound) => Err(not_found(CONTACT)),
        Err(e) => Err(e.into()),
    }
}

/// `GET /contacts/{id}/creditCards`: the contact's cards, oldest first, each with its number
/// masked to the last four digits (`************1111`) and its `validation_status` today
/// (`Valid`, `Expired`, `Inactive`).
///
/// # Errors
/// 404 for a contact not in this account.
#[utoipa::path(
    get,
    path = "/crm/rest/v1/contacts/{id}/creditCards",
    tag = "Contacts",
    params(("id" = i64, Path, description = "Contact id")),
    responses((status = 200, description = "The contact's credit cards (numbers masked)", body = serde_json::Value), (status = 401, description = "Missing or invalid credential"), (status = 404, description = "No such contact")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    Ids(id): Ids<i64>,
) -> Result<Response, ApiError> {
    let account = principal.account_id;
    ensure_path_contact(&state, account, id).await?;
    let records = all_records(
        &state,
        account,
        RecordKind::CreditCard,
        vec![Cond::IntEq(CONTACT_KEY, id)],
    )
    .await?;
    let today = today(&state);
    let items = records
        .iter()
        .map(|r| {
            CardDoc::from_value(&r.data)
                .map(|d| d.render_listed(r.id, today))
                .map_err(unreadable)
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(json(StatusCode::OK, &items))
}

/// `POST /contacts/{id}/creditCards` (`CreditCard`): adds a card; 201 `CreditCardAdded`. The
/// number is validated (12–19 digits, spaces and dashes allowed, Luhn check digit), the expiry
/// must not be past (UTC), a `verification_code` must be 3 or 4 digits. Only the last four
/// digits, brand, expiry, name, e-mail and billing address are kept; the verification code is
/// dropped. A test decline number is accepted here and declined when charged.
///
/// # Errors
/// 400 (validation; never echoing the number), 404 (contact not in this account), 403
/// (read-only credential).
#[utoipa::path(
    post,
    path = "/crm/rest/v1/contacts/{id}/creditCards",
    tag = "Contacts",
    params(("id" = i64, Path, description = "Contact id")),
    request_body(content = serde_json::Value, content_type = "application/json"),
    responses((status = 201, description = "The added card (no number)", body = serde_json::Value), (status = 400, description = "Invalid input"), (status = 401, description = "Missing or invalid credential"), (status = 403, description = "Read-only credential"), (status = 404, description = "No such contact")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    principal: Principal,
    Ids(id): Ids<i64>,
    KeapJson(body): KeapJson<Value>,
) -> Result<Response, ApiError> {
    require_write(&principal)?;
    let account = principal.account_id;
    // 404 for a contact that is not there before a 400 for the body.
    ensure_path_contact(&state, account, id).await?;
    let Value::Object(body) = body else {
        return Err(ApiError::unparseable());
    };
    let today = today(&state);
    let new = NewCard::parse(&body, today).map_err(ApiError::bad_request)?;
    let create: Create = Box::new(move |_| {
        let doc = CardDoc::create(id, &new);
        Ok(NewRecord {
            keys: doc.keys(),
            data: doc.to_value(),
        })
    });
    let record = stored(
        state
            .store
            .insert_record(account, RecordKind::CreditCard, create, state.clock.now())
            .await,
        CREDIT_CARD,
    )?;
    let doc = CardDoc::from_value(&record.data).map_err(unreadable)?;
    Ok(json(
        StatusCode::CREATED,
        &doc.render_added(record.id, today),
    ))
}
