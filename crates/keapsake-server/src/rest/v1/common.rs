//! Helpers shared by the v1 companies, notes, tasks, opportunities, settings and users
//! resources, on top of [`super::list`]: typed query parameters, the write outcome of a store
//! edit, reference checks (contact, user, custom fields) that answer 400 for ids of another
//! account exactly as for ids that never existed, related-object lookups for rendering, the
//! custom-field model of a record type, and the deliberate 501.

use super::list::{V1Query, not_found, not_implemented, object};
use crate::error::{ApiError, json};
use crate::extract::Principal;
use crate::rest::acting_user;
use crate::state::AppState;
use axum::http::StatusCode;
use axum::response::Response;
use keapsake_core::crm::contact::ContactDoc;
use keapsake_core::crm::custom_field::{
    CustomFieldDoc, NewCustomFieldBody, RECORD_TYPE_KEY, RecordType,
};
use keapsake_core::crm_more::{ContactSummary, UserRef, parse_bool};
use keapsake_core::records::{Cond, Create, Edited, NewRecord, Query, Record, RecordKind};
use keapsake_core::{AccountId, StoreError, StoreResult, UserId};
use serde_json::Value;
use std::collections::{BTreeSet, HashMap};
use time::OffsetDateTime;

/// A stored document this version cannot read: a bug, logged, answered 500.
pub(crate) fn unreadable(msg: String) -> ApiError {
    tracing::error!(error = %msg, "unreadable record");
    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
}

/// A date-time query parameter (`since`, `until`) in any accepted form.
///
/// # Errors
/// 400 for a value that is not a date-time.
pub(crate) fn time_param(q: &V1Query, name: &str) -> Result<Option<OffsetDateTime>, ApiError> {
    q.get(name)?
        .map(|s| {
            keapsake_core::crm::date::parse_datetime(s).map_err(|_| {
                ApiError::bad_request(format!(
                    "{name} must be a date-time, e.g. 2017-01-01T22:17:59.039Z"
                ))
            })
        })
        .transpose()
}

/// A `since` bound: stored times have millisecond precision, so a bound inside a millisecond
/// includes it.
pub(crate) fn floor_to_millis(t: OffsetDateTime) -> OffsetDateTime {
    t.replace_nanosecond(t.nanosecond() / 1_000_000 * 1_000_000)
        .unwrap_or(t)
}

/// A boolean query parameter: `true`/`false`, any ASCII case (`keap/rest-v1.md` §0.1).
///
/// # Errors
/// 400 for another value.
pub(crate) fn bool_param(q: &V1Query, name: &str) -> Result<Option<bool>, ApiError> {
    q.get(name)?
        .map(|s| {
            parse_bool(s)
                .ok_or_else(|| ApiError::bad_request(format!("{name} must be true or false")))
        })
        .transpose()
}

/// `order_direction`: `ASCENDING` (default) or `DESCENDING`, any ASCII case.
///
/// # Errors
/// 400 for another value.
pub(crate) fn descending(q: &V1Query) -> Result<bool, ApiError> {
    match q.get("order_direction")? {
        None => Ok(false),
        Some(d) if d.eq_ignore_ascii_case("ASCENDING") => Ok(false),
        Some(d) if d.eq_ignore_ascii_case("DESCENDING") => Ok(true),
        Some(_) => Err(ApiError::bad_request(
            "order_direction must be ASCENDING or DESCENDING",
        )),
    }
}

/// `optional_properties` (CSV or repeated); unknown names are ignored by the renderers.
///
/// # Errors
/// 400 for a value that is not UTF-8.
pub(crate) fn optional_properties(q: &V1Query) -> Result<Vec<String>, ApiError> {
    Ok(q.list("optional_properties")?
        .into_iter()
        .map(str::to_owned)
        .collect())
}

/// The record an insert or edit stored: a refusal is a 400 with its message; a missing record
/// is the resource's 404.
///
/// # Errors
/// Those, and store failures.
pub(crate) fn stored(result: StoreResult<Edited>, kind: &str) -> Result<Record, ApiError> {
    match result {
        Ok(Edited::Updated(r)) => Ok(r),
        Ok(Edited::Rejected(msg)) => Err(ApiError::bad_request(msg)),
        Err(StoreError::NotFound) => Err(not_found(kind)),
        Err(e) => Err(e.into()),
    }
}

/// Every record of `kind` matching `conds`, in id order (for filters the store cannot run).
///
/// # Errors
/// Store failures.
pub(crate) async fn all_records(
    state: &AppState,
    account: AccountId,
    kind: RecordKind,
    conds: Vec<Cond>,
) -> Result<Vec<Record>, ApiError> {
    let mut query = Query {
        conds,
        ..Query::default()
    };
    let mut out = Vec::new();
    loop {
        let (records, total) = state.store.list_records(account, kind, &query).await?;
        let n = i64::try_from(records.len()).unwrap_or(i64::MAX);
        out.extend(records);
        query.offset = query.offset.saturating_add(n);
        if n == 0 || query.offset >= total {
            return Ok(out);
        }
    }
}

/// 400 unless the contact exists in this account (another account's contact answers like a
/// contact that never existed).
///
/// # Errors
/// That 400; store failures.
pub(crate) async fn ensure_contact(
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
        Err(StoreError::NotFound) => Err(ApiError::bad_request(format!(
            "Contact {id} does not exist"
        ))),
        Err(e) => Err(e.into()),
    }
}

/// 400 unless the user is a member of this account.
///
/// # Errors
/// That 400; store failures.
pub(crate) async fn ensure_member(
    state: &AppState,
    account: AccountId,
    user_id: i64,
    field: &str,
) -> Result<(), ApiError> {
    if state
        .store
        .membership(account, UserId(user_id))
        .await?
        .is_none()
    {
        return Err(ApiError::bad_request(format!(
            "{field} {user_id} is not a user of this account"
        )));
    }
    Ok(())
}

/// 400 unless every id is a custom field of `record_type` in this account.
///
/// # Errors
/// That 400; store failures.
pub(crate) async fn ensure_custom_fields(
    state: &AppState,
    account: AccountId,
    ids: &[i64],
    record_type: RecordType,
) -> Result<(), ApiError> {
    if ids.is_empty() {
        return Ok(());
    }
    let found = state
        .store
        .get_records(account, RecordKind::CustomField, ids)
        .await?;
    for id in ids {
        let ok = found.iter().any(|r| {
            r.id == *id
                && CustomFieldDoc::from_value(&r.data).is_ok_and(|d| d.record_type == record_type)
        });
        if !ok {
            return Err(ApiError::bad_request(format!(
                "Custom field {id} does not exist"
            )));
        }
    }
    Ok(())
}

/// The summaries of the contacts that exist among `ids` in this account, with their company
/// names (two store round trips).
///
/// # Errors
/// Store failures; 500 for an unreadable contact.
pub(crate) async fn contact_summaries(
    state: &AppState,
    account: AccountId,
    ids: impl IntoIterator<Item = i64>,
) -> Result<HashMap<i64, ContactSummary>, ApiError> {
    let ids: Vec<i64> = ids
        .into_iter()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let records = state
        .store
        .get_records(account, RecordKind::Contact, &ids)
        .await?;
    let docs = records
        .iter()
        .map(|r| ContactDoc::from_value(&r.data).map(|d| (r.id, d)))
        .collect::<Result<Vec<_>, _>>()
        .map_err(unreadable)?;
    let company_ids: Vec<i64> = docs
        .iter()
        .filter_map(|(_, d)| d.company_id)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut companies: HashMap<i64, String> = HashMap::new();
    if !company_ids.is_empty() {
        for r in state
            .store
            .get_records(account, RecordKind::Company, &company_ids)
            .await?
        {
            if let Some(name) = r.data.get("company_name").and_then(Value::as_str) {
                companies.insert(r.id, name.to_owned());
            }
        }
    }
    Ok(docs
        .into_iter()
        .map(|(id, doc)| {
            let company = doc.company_id.and_then(|c| companies.get(&c).cloned());
            (id, ContactSummary::of(id, &doc, company))
        })
        .collect())
}

/// First and last names of users, by id (unknown ids are left out).
///
/// # Errors
/// Store failures.
pub(crate) async fn user_names(
    state: &AppState,
    ids: impl IntoIterator<Item = i64>,
) -> Result<HashMap<i64, (String, String)>, ApiError> {
    let mut out = HashMap::new();
    for id in ids.into_iter().collect::<BTreeSet<_>>() {
        match state.store.get_user(UserId(id)).await {
            Ok(u) => {
                out.insert(id, (u.given_name, u.family_name));
            }
            Err(StoreError::NotFound) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(out)
}

/// The user the credential acts as, for `last_updated_by` (`None` for a key without a user).
///
/// # Errors
/// Store failures.
pub(crate) async fn acting_user_ref(
    state: &AppState,
    principal: &Principal,
) -> Result<Option<UserRef>, ApiError> {
    Ok(acting_user(state, principal).await?.map(|(u, _)| UserRef {
        user_id: u.id.0,
        given_name: u.given_name,
        family_name: u.family_name,
    }))
}

/// The `custom_fields` of a `GET /<resource>/model`: the account's fields of `record_type`.
///
/// # Errors
/// Store failures; 500 for an unreadable definition.
pub(crate) async fn custom_field_model(
    state: &AppState,
    account: AccountId,
    record_type: RecordType,
) -> Result<Vec<Value>, ApiError> {
    let records = all_records(
        state,
        account,
        RecordKind::CustomField,
        vec![Cond::TextEq(
            RECORD_TYPE_KEY,
            record_type.as_str().to_owned(),
        )],
    )
    .await?;
    records
        .iter()
        .map(|r| {
            CustomFieldDoc::from_value(&r.data)
                .map(|d| d.render(r.id))
                .map_err(unreadable)
        })
        .collect()
}

/// `GET /<resource>/model`: `{"custom_fields":[…],"optional_properties":[…]}`.
///
/// # Errors
/// Store failures.
pub(crate) async fn model(
    state: &AppState,
    account: AccountId,
    record_type: RecordType,
    optional: &[&str],
) -> Result<Response, ApiError> {
    let fields = custom_field_model(state, account, record_type).await?;
    Ok(json(
        StatusCode::OK,
        &serde_json::json!({"custom_fields": fields, "optional_properties": optional}),
    ))
}

/// `POST /<resource>/model/customFields`: 201 with the new `CustomFieldMetaData` of
/// `record_type` (one namespace of names per record type: notes and tasks share
/// `TASK_NOTE_APPOINTMENT`).
///
/// # Errors
/// 400 (validation, a field with the same name), 403 (read-only key).
pub(crate) async fn create_custom_field(
    state: &AppState,
    principal: &Principal,
    body: Value,
    record_type: RecordType,
) -> Result<Response, ApiError> {
    super::list::require_write(principal)?;
    let body: NewCustomFieldBody = object(body)?;
    let doc = body.into_doc(record_type).map_err(ApiError::bad_request)?;
    let label = doc.label.clone();
    let create: Create = Box::new(move |_| {
        Ok(NewRecord {
            keys: doc.keys(),
            data: doc.to_value(),
        })
    });
    let now = state.clock.now();
    let record = match state
        .store
        .insert_record(principal.account_id, RecordKind::CustomField, create, now)
        .await
    {
        Err(StoreError::Conflict { .. }) => {
            return Err(ApiError::bad_request(format!(
                "A custom field named {label:?} already exists"
            )));
        }
        other => stored(other, "CustomField")?,
    };
    let doc = CustomFieldDoc::from_value(&record.data).map_err(unreadable)?;
    Ok(json(StatusCode::CREATED, &doc.render(record.id)))
}

/// A route keapsake deliberately does not implement: authenticates first (401 as anywhere),
/// then `501 {"message":"Not implemented in keapsake"}`. The body, if any, is not read.
pub(crate) async fn unimplemented(_principal: Principal) -> ApiError {
    not_implemented()
}
