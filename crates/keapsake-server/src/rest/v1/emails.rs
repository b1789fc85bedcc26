//! E-mails (`keap/rest-v1.md` §9, §1.9): e-mail records (`/emails`, `/emails/{id}`,
//! `/emails/sync`, `/emails/unsync`, `/contacts/{id}/emails`), sending (`POST /emails/queue`,
//! which writes the outbox: see [`crate::mail`]), and the opt-in status of an address
//! (`PUT /emailAddresses/{email}`). Rules live in [`keapsake_core::messaging`].
//!
//! Where Keap's behaviour is not documented, keapsake's choices: `ordered` is accepted and
//! validated, and lists are always in id order (a stable order for paging); a record naming a
//! contact that does not exist in the account is a 400; a duplicate `original_provider` +
//! `original_provider_id` is a 400 (Keap's spec lists no 409 for these operations).

use super::common::{all_records, bool_param, floor_to_millis, time_param, unreadable};
use super::list::{Envelope, Ids, V1Query, not_found, object, or_not_found, require_write};
use crate::error::{ApiError, json};
use crate::extract::{KeapJson, Principal};
use crate::state::AppState;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use keapsake_core::crm::contact::{ContactChanges, ContactDoc, EMAIL_KEYS, EmailStatus};
use keapsake_core::crm::{LenientI64, fold};
use keapsake_core::messaging::address::{self, ADDRESS_KEY, AddressDoc, UpdateBody};
use keapsake_core::messaging::email::{
    CONTACT_KEY, EmailBody, EmailDoc, FROM_KEY, MAX_SYNC, TO_KEY, echo,
};
use keapsake_core::messaging::outbox::SendBody;
use keapsake_core::messaging::uuid_simple;
use keapsake_core::records::{
    Cond, Create, Edit, Edited, NewRecord, Query, Record, RecordKind, Upserted,
};
use keapsake_core::secret::random_bytes;
use keapsake_core::{AccountId, StoreError};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeSet;

const EMAIL: &str = "Email";

/// E-mail routes, relative to `/crm/rest/v1`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/emails", get(list).post(create))
        .route("/emails/sync", post(sync))
        .route("/emails/unsync", post(unsync))
        .route("/emails/queue", post(queue))
        .route("/emails/{id}", get(get_one).delete(remove))
        .route(
            "/contacts/{id}/emails",
            get(list_for_contact).post(create_for_contact),
        )
        .route("/emailAddresses/{email}", put(update_address))
}

fn render(records: &[Record], with_content: bool) -> Result<Vec<Value>, ApiError> {
    records
        .iter()
        .map(|r| {
            EmailDoc::from_value(&r.data)
                .map(|d| d.render(r.id, with_content))
                .map_err(unreadable)
        })
        .collect()
}

/// `GET /emails` and `GET /contacts/{id}/emails`.
async fn list_emails(
    state: &AppState,
    account: AccountId,
    uri: &Uri,
    contact: Option<i64>,
    path: &str,
) -> Result<Response, ApiError> {
    let q = V1Query::from_uri(uri);
    let paging = q.paging()?;
    let mut conds = Vec::new();
    let contact = match contact {
        Some(c) => Some(c),
        None => q.int("contact_id")?,
    };
    if let Some(c) = contact {
        conds.push(Cond::IntEq(CONTACT_KEY, c));
    }
    if let Some(e) = q.get("email")? {
        conds.push(Cond::AnyTextEq(vec![TO_KEY, FROM_KEY], fold(e)));
    }
    let since = time_param(&q, "since_sent_date")?.map(floor_to_millis);
    let until = time_param(&q, "until_sent_date")?;
    if until.is_some() && since.is_none() {
        return Err(ApiError::bad_request(
            "since_sent_date is required when until_sent_date is given",
        ));
    }
    // Accepted and checked; the order is always by id (stable paging).
    bool_param(&q, "ordered")?;
    let (records, total) = if since.is_some() {
        // The sent-date window is not an indexed range: filter this account's matching
        // records in memory, then page.
        let mut matching = Vec::new();
        for r in all_records(state, account, RecordKind::Email, conds).await? {
            let doc = EmailDoc::from_value(&r.data).map_err(unreadable)?;
            if doc.sent_within(since, until) {
                matching.push(r);
            }
        }
        let total = i64::try_from(matching.len()).unwrap_or(i64::MAX);
        let skip = usize::try_from(paging.offset).unwrap_or(usize::MAX);
        let take = usize::try_from(paging.limit).unwrap_or(usize::MAX);
        (matching.into_iter().skip(skip).take(take).collect(), total)
    } else {
        let query = Query {
            conds,
            limit: paging.limit,
            offset: paging.offset,
            ..Query::default()
        };
        state
            .store
            .list_records(account, RecordKind::Email, &query)
            .await?
    };
    let items = render(&records, false)?;
    Ok(Envelope::new(state, path, "emails", items, total, paging, &q).into_response())
}

/// Validates and stores one record. The outer error is a failure of the store; the inner one
/// the 400 message for this record.
async fn store_email(
    state: &AppState,
    account: AccountId,
    body: EmailBody,
    known_contacts: Option<&BTreeSet<i64>>,
) -> Result<Result<Record, String>, ApiError> {
    let contact = body.contact();
    let doc = match body.into_doc(uuid_simple(random_bytes::<16>())) {
        Ok(d) => d,
        Err(msg) => return Ok(Err(msg)),
    };
    if let Some(c) = contact {
        let exists = match known_contacts {
            Some(known) => known.contains(&c),
            None => match state
                .store
                .get_record(account, RecordKind::Contact, c)
                .await
            {
                Ok(_) => true,
                Err(StoreError::NotFound) => false,
                Err(e) => return Err(e.into()),
            },
        };
        if !exists {
            return Ok(Err(format!("Contact {c} does not exist")));
        }
    }
    let duplicate = doc.duplicate_message();
    let create: Create = Box::new(move |_| {
        Ok(NewRecord {
            keys: doc.keys(),
            data: doc.to_value(),
        })
    });
    let now = state.clock.now();
    match state
        .store
        .insert_record(account, RecordKind::Email, create, now)
        .await
    {
        Ok(Edited::Updated(r)) => Ok(Ok(r)),
        Ok(Edited::Rejected(msg)) => Ok(Err(msg)),
        Err(StoreError::Conflict { .. }) => Ok(Err(duplicate)),
        Err(e) => Err(e.into()),
    }
}

async fn create_one(
    state: &AppState,
    principal: &Principal,
    body: Value,
    contact: Option<i64>,
) -> Result<Response, ApiError> {
    require_write(principal)?;
    let mut body: EmailBody = object(body)?;
    if let Some(c) = contact {
        body.contact_id = Some(LenientI64(c));
    }
    let record = store_email(state, principal.account_id, body, None)
        .await?
        .map_err(ApiError::bad_request)?;
    Ok(json(
        StatusCode::CREATED,
        &render(std::slice::from_ref(&record), true)?
            .pop()
            .unwrap_or(Value::Null),
    ))
}

/// `GET /emails`: e-mail records, without their contents. Filters `contact_id`, `email`
/// (recipient or sender, ASCII case ignored), `since_sent_date`, `until_sent_date` (only with
/// `since_sent_date`), `ordered`; `limit`/`offset`.
///
/// # Errors
/// 400 for a bad parameter.
#[utoipa::path(
    get,
    path = "/crm/rest/v1/emails",
    tag = "Emails",
    params(("limit" = Option<i64>, Query, description = "Page size"), ("offset" = Option<i64>, Query, description = "Records to skip"), ("contact_id" = Option<i64>, Query, description = "Contact id"), ("email" = Option<String>, Query, description = "Recipient or sender address"), ("since_sent_date" = Option<String>, Query, description = "Sent at or after"), ("until_sent_date" = Option<String>, Query, description = "Sent at or before (needs since_sent_date)"), ("ordered" = Option<bool>, Query, description = "Accepted; lists are in id order")),
    responses((status = 200, description = "A page of e-mail records", body = serde_json::Value), (status = 400, description = "Invalid input"), (status = 401, description = "Missing or invalid credential")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    uri: Uri,
) -> Result<Response, ApiError> {
    list_emails(&state, principal.account_id, &uri, None, "emails").await
}

/// `POST /emails`: 201 with the record (contents included). `sent_to_address` is required;
/// `original_provider` defaults to `UNKNOWN` and `original_provider_id` to a dash-less UUID.
///
/// # Errors
/// 400 (validation, unknown contact, duplicate provider id, unparseable JSON), 403.
#[utoipa::path(
    post,
    path = "/crm/rest/v1/emails",
    tag = "Emails",
    request_body(content = serde_json::Value, content_type = "application/json"),
    responses((status = 201, description = "The created e-mail record", body = serde_json::Value), (status = 400, description = "Invalid input"), (status = 401, description = "Missing or invalid credential"), (status = 403, description = "Read-only credential")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    principal: Principal,
    KeapJson(body): KeapJson<Value>,
) -> Result<Response, ApiError> {
    create_one(&state, &principal, body, None).await
}

/// `GET /emails/{id}`: the record with its contents.
///
/// # Errors
/// 404 `Unable to find this Email`.
#[utoipa::path(
    get,
    path = "/crm/rest/v1/emails/{id}",
    tag = "Emails",
    params(("id" = i64, Path, description = "Record id")),
    responses((status = 200, description = "The e-mail record", body = serde_json::Value), (status = 401, description = "Missing or invalid credential"), (status = 404, description = "No such record")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn get_one(
    State(state): State<AppState>,
    principal: Principal,
    Ids(id): Ids<i64>,
) -> Result<Response, ApiError> {
    let record = state
        .store
        .get_record(principal.account_id, RecordKind::Email, id)
        .await
        .map_err(or_not_found(EMAIL))?;
    Ok(json(
        StatusCode::OK,
        &render(std::slice::from_ref(&record), true)?
            .pop()
            .unwrap_or(Value::Null),
    ))
}

/// `DELETE /emails/{id}`: 204.
///
/// # Errors
/// 404, 403.
#[utoipa::path(
    delete,
    path = "/crm/rest/v1/emails/{id}",
    tag = "Emails",
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
        .delete_record(principal.account_id, RecordKind::Email, id)
        .await
        .map_err(or_not_found(EMAIL))?;
    Ok(StatusCode::NO_CONTENT)
}

/// `{"emails":[…]}` of `POST /emails/sync`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct SyncBody {
    emails: Option<Vec<Value>>,
}

/// `POST /emails/sync`: up to 1000 records; 201 `{"emails":[created],"errors":[{"email":
/// record as read (see [`echo`]),"error_message"}]}`. Each record stands alone: one bad record does not stop
/// the others.
///
/// # Errors
/// 400 (no `emails` list, more than 1000), 403.
#[utoipa::path(
    post,
    path = "/crm/rest/v1/emails/sync",
    tag = "Emails",
    request_body(content = serde_json::Value, content_type = "application/json"),
    responses((status = 201, description = "Created records and per-record errors", body = serde_json::Value), (status = 400, description = "Invalid input"), (status = 401, description = "Missing or invalid credential"), (status = 403, description = "Read-only credential")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn sync(
    State(state): State<AppState>,
    principal: Principal,
    KeapJson(body): KeapJson<Value>,
) -> Result<Response, ApiError> {
    require_write(&principal)?;
    let body: SyncBody = object(body)?;
    let items = body
        .emails
        .ok_or_else(|| ApiError::bad_request("emails is required"))?;
    if items.len() > MAX_SYNC {
        return Err(ApiError::bad_request(format!(
            "emails must hold at most {MAX_SYNC} records"
        )));
    }
    let account = principal.account_id;
    let mut parsed = Vec::with_capacity(items.len());
    for item in items {
        let body = if item.is_object() {
            serde_json::from_value::<EmailBody>(item.clone()).ok()
        } else {
            None
        };
        parsed.push((item, body));
    }
    // One round trip for every contact the batch names.
    let named: Vec<i64> = parsed
        .iter()
        .filter_map(|(_, b)| b.as_ref().and_then(EmailBody::contact))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let known: BTreeSet<i64> = if named.is_empty() {
        BTreeSet::new()
    } else {
        state
            .store
            .get_records(account, RecordKind::Contact, &named)
            .await?
            .into_iter()
            .map(|r| r.id)
            .collect()
    };
    let mut created = Vec::new();
    let mut errors = Vec::new();
    for (item, body) in parsed {
        let outcome = match body {
            None => Err("Input could not be converted to a valid request".to_owned()),
            Some(b) => store_email(&state, account, b, Some(&known)).await?,
        };
        match outcome {
            Ok(record) => created.extend(render(std::slice::from_ref(&record), true)?),
            Err(msg) => errors.push(json!({"email": echo(&item), "error_message": msg})),
        }
    }
    Ok(json(
        StatusCode::CREATED,
        &json!({"emails": created, "errors": errors}),
    ))
}

/// `{"ids":[…]}` of `POST /emails/unsync`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct IdsBody {
    ids: Option<Vec<LenientI64>>,
}

/// `POST /emails/unsync`: deletes the records named in `{"ids":[…]}` (ids that do not exist in
/// the account are ignored); 200 `{}`.
///
/// # Errors
/// 400 (no `ids`, more than 1000), 403.
#[utoipa::path(
    post,
    path = "/crm/rest/v1/emails/unsync",
    tag = "Emails",
    request_body(content = serde_json::Value, content_type = "application/json"),
    responses((status = 200, description = "Deleted", body = serde_json::Value), (status = 400, description = "Invalid input"), (status = 401, description = "Missing or invalid credential"), (status = 403, description = "Read-only credential")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn unsync(
    State(state): State<AppState>,
    principal: Principal,
    KeapJson(body): KeapJson<Value>,
) -> Result<Response, ApiError> {
    require_write(&principal)?;
    let body: IdsBody = object(body)?;
    let ids = body
        .ids
        .ok_or_else(|| ApiError::bad_request("ids is required"))?;
    if ids.len() > MAX_SYNC {
        return Err(ApiError::bad_request(format!(
            "ids must hold at most {MAX_SYNC} ids"
        )));
    }
    for LenientI64(id) in ids {
        match state
            .store
            .delete_record(principal.account_id, RecordKind::Email, id)
            .await
        {
            Ok(()) | Err(StoreError::NotFound) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(json(StatusCode::OK, &json!({})))
}

/// `GET /contacts/{id}/emails`: as `GET /emails?contact_id={id}` (`email`, `limit`,
/// `offset`).
///
/// # Errors
/// 404 `Unable to find this Contact`; 400 for a bad parameter.
#[utoipa::path(
    get,
    path = "/crm/rest/v1/contacts/{id}/emails",
    tag = "Emails",
    params(("id" = i64, Path, description = "Contact id"), ("email" = Option<String>, Query, description = "Recipient or sender address"), ("limit" = Option<i64>, Query, description = "Page size"), ("offset" = Option<i64>, Query, description = "Records to skip")),
    responses((status = 200, description = "A page of the contact's e-mail records", body = serde_json::Value), (status = 400, description = "Invalid input"), (status = 401, description = "Missing or invalid credential"), (status = 404, description = "No such contact")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn list_for_contact(
    State(state): State<AppState>,
    principal: Principal,
    Ids(id): Ids<i64>,
    uri: Uri,
) -> Result<Response, ApiError> {
    let account = principal.account_id;
    state
        .store
        .get_record(account, RecordKind::Contact, id)
        .await
        .map_err(or_not_found("Contact"))?;
    let path = format!("contacts/{id}/emails");
    list_emails(&state, account, &uri, Some(id), &path).await
}

/// `POST /contacts/{id}/emails`: 201, as `POST /emails` with `contact_id` from the path.
///
/// # Errors
/// 404 `Unable to find this Contact`; 400, 403 as `POST /emails`.
#[utoipa::path(
    post,
    path = "/crm/rest/v1/contacts/{id}/emails",
    tag = "Emails",
    params(("id" = i64, Path, description = "Contact id")),
    request_body(content = serde_json::Value, content_type = "application/json"),
    responses((status = 201, description = "The created e-mail record", body = serde_json::Value), (status = 400, description = "Invalid input"), (status = 401, description = "Missing or invalid credential"), (status = 403, description = "Read-only credential"), (status = 404, description = "No such contact")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn create_for_contact(
    State(state): State<AppState>,
    principal: Principal,
    Ids(id): Ids<i64>,
    KeapJson(body): KeapJson<Value>,
) -> Result<Response, ApiError> {
    require_write(&principal)?;
    state
        .store
        .get_record(principal.account_id, RecordKind::Contact, id)
        .await
        .map_err(or_not_found("Contact"))?;
    create_one(&state, &principal, body, Some(id)).await
}

/// `POST /emails/queue`: validates (unknown contact or user, bad base64, no content →
/// 400), writes one outbox message and one e-mail record (`INFUSIONSOFT`) per recipient, and
/// answers **202 with an empty body** once they are stored. Recipients whose address is
/// missing or not sendable are recorded in the outbox as skipped, with the reason.
///
/// # Errors
/// 400, 403.
#[utoipa::path(
    post,
    path = "/crm/rest/v1/emails/queue",
    tag = "Emails",
    request_body(content = serde_json::Value, content_type = "application/json"),
    responses((status = 202, description = "Queued (empty body)"), (status = 400, description = "Invalid input"), (status = 401, description = "Missing or invalid credential"), (status = 403, description = "Read-only credential")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn queue(
    State(state): State<AppState>,
    principal: Principal,
    KeapJson(body): KeapJson<Value>,
) -> Result<StatusCode, ApiError> {
    require_write(&principal)?;
    let body: SendBody = object(body)?;
    let request = body.into_request().map_err(ApiError::bad_request)?;
    crate::mail::enqueue(&state, principal.account_id, request).await?;
    Ok(StatusCode::ACCEPTED)
}

/// Fills [`ContactChanges::address_status`] from the account's record of the `EMAIL1` the
/// change sets (written by `PUT /emailAddresses/{email}`), so a contact created or moved onto an
/// opted-out address shows that status. One indexed read; nothing when no `EMAIL1` is sent.
///
/// # Errors
/// Store failures.
pub(crate) async fn with_address_status(
    state: &AppState,
    account: AccountId,
    mut changes: ContactChanges,
) -> Result<ContactChanges, ApiError> {
    let Some(folded) = changes.email1().map(fold) else {
        return Ok(changes);
    };
    let (records, _) = state
        .store
        .list_records(
            account,
            RecordKind::EmailAddress,
            &Query {
                conds: vec![Cond::TextEq(ADDRESS_KEY, folded.clone())],
                limit: 1,
                ..Query::default()
            },
        )
        .await?;
    if let Some(r) = records.first() {
        let doc = AddressDoc::from_value(&r.data).map_err(unreadable)?;
        changes.address_status = Some((folded, doc.status));
    }
    Ok(changes)
}

/// The status an address has now: its own record's, else that of a contact whose `EMAIL1` it
/// is, else `NonMarketable`.
fn current_status(
    folded: &str,
    existing: Option<&AddressDoc>,
    contacts: &[(i64, ContactDoc)],
) -> EmailStatus {
    if let Some(doc) = existing {
        return doc.status;
    }
    contacts
        .iter()
        .find(|(_, c)| c.email1().map(fold).as_deref() == Some(folded))
        .and_then(|(_, c)| c.effective_email_status())
        .unwrap_or(EmailStatus::NonMarketable)
}

/// `PUT /emailAddresses/{email}`: opts an address in or out (`{"opted_in","reason"}`, both
/// required); 200 `{"email","opted_in","status"}`. Opt-in moves only the statuses of
/// `keap/rest-v1.md` §1.6; an opt-out through the API is permanent for the API. Every contact
/// whose `EMAIL1` is the address gets the same `email_status`.
///
/// # Errors
/// 400 (not an address, missing field), 403, 404 (no contact of the account has the address).
#[utoipa::path(
    put,
    path = "/crm/rest/v1/emailAddresses/{email}",
    tag = "Emails",
    params(("email" = String, Path, description = "E-mail address")),
    request_body(content = serde_json::Value, content_type = "application/json"),
    responses((status = 200, description = "The address's status", body = serde_json::Value), (status = 400, description = "Invalid input"), (status = 401, description = "Missing or invalid credential"), (status = 403, description = "Read-only credential"), (status = 404, description = "No contact has this address")),
    security(("oauth2" = []), ("bearer" = []), ("api_key" = []), ("access_token" = []))
)]
pub async fn update_address(
    State(state): State<AppState>,
    principal: Principal,
    Ids(email): Ids<String>,
    KeapJson(body): KeapJson<Value>,
) -> Result<Response, ApiError> {
    require_write(&principal)?;
    let email = address::parse_address(&email).map_err(ApiError::bad_request)?;
    let body: UpdateBody = object(body)?;
    let (opt_in, reason) = body.into_parts().map_err(ApiError::bad_request)?;
    let account = principal.account_id;
    let folded = fold(&email);
    let contacts = all_records(
        &state,
        account,
        RecordKind::Contact,
        vec![Cond::AnyTextEq(EMAIL_KEYS.to_vec(), folded.clone())],
    )
    .await?
    .into_iter()
    .map(|r| ContactDoc::from_value(&r.data).map(|d| (r.id, d)))
    .collect::<Result<Vec<_>, _>>()
    .map_err(unreadable)?;
    let (existing, _) = state
        .store
        .list_records(
            account,
            RecordKind::EmailAddress,
            &Query {
                conds: vec![Cond::TextEq(ADDRESS_KEY, folded.clone())],
                limit: 1,
                ..Query::default()
            },
        )
        .await?;
    let existing = existing
        .first()
        .map(|r| AddressDoc::from_value(&r.data))
        .transpose()
        .map_err(unreadable)?;
    if contacts.is_empty() && existing.is_none() {
        return Err(not_found("EmailAddress"));
    }
    let initial = current_status(&folded, existing.as_ref(), &contacts);
    let (reason_c, reason_e) = (reason.clone(), reason.clone());
    let email_c = email.clone();
    let create: Create = Box::new(move |_| {
        let mut doc = AddressDoc {
            email: email_c,
            status: initial,
            reason: None,
        };
        doc.apply(opt_in, &reason_c);
        Ok(NewRecord {
            keys: doc.keys(),
            data: doc.to_value(),
        })
    });
    let edit: Edit = Box::new(move |_, data| {
        let mut doc = AddressDoc::from_value(data)?;
        doc.apply(opt_in, &reason_e);
        *data = doc.to_value();
        Ok(doc.keys())
    });
    let now = state.clock.now();
    let record = match state
        .store
        .upsert_record(
            account,
            RecordKind::EmailAddress,
            &folded,
            vec![Cond::TextEq(ADDRESS_KEY, folded.clone())],
            create,
            edit,
            now,
        )
        .await?
    {
        Upserted::Created(r) | Upserted::Updated(r) => r,
        Upserted::Rejected(msg) => return Err(ApiError::bad_request(msg)),
    };
    let status = AddressDoc::from_value(&record.data)
        .map_err(unreadable)?
        .status;
    // Keep the contacts' own status of this address in step.
    for (id, doc) in &contacts {
        if doc.email1().map(fold).as_deref() != Some(folded.as_str()) {
            continue;
        }
        let target = folded.clone();
        let reason = reason.clone();
        let edit: Edit = Box::new(move |_, data| {
            let mut doc = ContactDoc::from_value(data)?;
            if doc.email1().map(fold).as_deref() == Some(target.as_str()) {
                doc.email_status = Some(status);
                if opt_in && status.is_opted_in() {
                    doc.opt_in_reason = Some(reason);
                }
            }
            *data = doc.to_value();
            Ok(doc.keys())
        });
        match state
            .store
            .update_record(account, RecordKind::Contact, *id, edit, now)
            .await
        {
            // A contact deleted meanwhile has no status to keep.
            Ok(_) | Err(StoreError::NotFound) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(json(StatusCode::OK, &address::render(&email, status)))
}
