//! Mail: what `POST /emails/queue` stores ([`enqueue`]), the admin view of the outbox
//! (`GET /keapsake/v1/outbox`, [`admin`]), and the optional SMTP delivery worker ([`smtp`]).
//!
//! keapsake never sends real mail unless told to: every message goes to an outbox in the
//! database (one [`RecordKind::OutboxMessage`] per recipient), stored before the 202 goes
//! out. Without `--smtp` messages stay `queued` there, to be read through the admin API or
//! `keapsake mail`. With `--smtp <url>` a worker claims due messages (an atomic compare-and-set
//! edit with a lease, so two nodes sharing a PostgreSQL database never send one twice), hands
//! them to the relay, and marks them `sent` or `failed`; pending messages are picked up again
//! after a restart.

pub mod admin;
pub mod smtp;

use crate::error::ApiError;
use crate::rest::v1::common::{all_records, ensure_member, unreadable};
use crate::state::AppState;
use keapsake_core::crm::contact::{ContactDoc, EmailStatus};
use keapsake_core::crm::custom_field::{CustomFieldDoc, RECORD_TYPE_KEY, RecordType};
use keapsake_core::crm::fold;
use keapsake_core::messaging::address::{self, ADDRESS_KEY, AddressDoc};
use keapsake_core::messaging::email::{EmailDoc, Provider};
use keapsake_core::messaging::outbox::{
    AddressField, MergeData, OutboxDoc, SendRequest, State, merge,
};
use keapsake_core::messaging::{encode_base64, uuid_simple};
use keapsake_core::records::{Cond, Create, NewRecord, Query, RecordKind};
use keapsake_core::secret::random_bytes;
use keapsake_core::{AccountId, StoreError, UserId};
use serde_json::Value;
use std::collections::{BTreeSet, HashMap};

/// The status an address is sent with: its own record's (set by `PUT /emailAddresses`), and
/// for `EMAIL1` the contact's `email_status`; the less sendable of the two wins.
async fn send_status(
    state: &AppState,
    account: AccountId,
    address: &str,
    contact_status: Option<EmailStatus>,
) -> Result<Option<EmailStatus>, ApiError> {
    let (records, _) = state
        .store
        .list_records(
            account,
            RecordKind::EmailAddress,
            &Query {
                conds: vec![Cond::TextEq(ADDRESS_KEY, fold(address))],
                limit: 1,
                ..Query::default()
            },
        )
        .await?;
    let own = records
        .first()
        .map(|r| AddressDoc::from_value(&r.data))
        .transpose()
        .map_err(unreadable)?
        .map(|d| d.status);
    Ok(match (own, contact_status) {
        (Some(o), _) if !address::is_sendable(o) => Some(o),
        (_, Some(c)) if !address::is_sendable(c) => Some(c),
        (o, c) => o.or(c),
    })
}

/// The id of the contact custom field `_name` names (its field name or label, ASCII case
/// ignored).
async fn custom_field_id(
    state: &AppState,
    account: AccountId,
    name: &str,
) -> Result<i64, ApiError> {
    let fields = all_records(
        state,
        account,
        RecordKind::CustomField,
        vec![Cond::TextEq(
            RECORD_TYPE_KEY,
            RecordType::Contact.as_str().to_owned(),
        )],
    )
    .await?;
    for r in fields {
        let doc = CustomFieldDoc::from_value(&r.data).map_err(unreadable)?;
        if doc.field_name.eq_ignore_ascii_case(name) || doc.label.eq_ignore_ascii_case(name) {
            return Ok(r.id);
        }
    }
    Err(ApiError::bad_request(format!(
        "address_field: no contact custom field named {name:?}"
    )))
}

/// The address of `contact` in `field`.
fn address_of(
    contact: &ContactDoc,
    field: &AddressField,
    custom_id: Option<i64>,
) -> Option<String> {
    let value = match field {
        AddressField::Slot(slot) => contact
            .email_addresses
            .iter()
            .find(|e| e.field == *slot)
            .map(|e| e.email.clone()),
        AddressField::Custom(_) => contact
            .custom_fields
            .iter()
            .find(|c| Some(c.id) == custom_id)
            .and_then(|c| c.content.as_str().map(str::to_owned)),
    };
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// Stores a validated send request: checks the user and every contact, then writes per
/// recipient an e-mail record (`INFUSIONSOFT`, merged contents) and an outbox message, or an
/// outbox message marked skipped with its reason. Returns the outbox ids. Every write is
/// committed before this returns, so the 202 that follows is durable. The messages share one
/// batch id and count, so a crash part-way (no 202) sends none of them; the e-mail records
/// already written for such a request stay (they are records, not sends).
///
/// # Errors
/// 400 for an unknown user, contact or custom field; store failures.
pub async fn enqueue(
    state: &AppState,
    account: AccountId,
    req: SendRequest,
) -> Result<Vec<i64>, ApiError> {
    ensure_member(state, account, req.user_id, "user_id").await?;
    let user = match state.store.get_user(UserId(req.user_id)).await {
        Ok(u) => u,
        Err(StoreError::NotFound) => {
            return Err(ApiError::bad_request(format!(
                "user_id {} is not a user of this account",
                req.user_id
            )));
        }
        Err(e) => return Err(e.into()),
    };
    let records = state
        .store
        .get_records(account, RecordKind::Contact, &req.contacts)
        .await?;
    let mut contacts: HashMap<i64, ContactDoc> = HashMap::new();
    for r in &records {
        contacts.insert(r.id, ContactDoc::from_value(&r.data).map_err(unreadable)?);
    }
    if let Some(missing) = req.contacts.iter().find(|id| !contacts.contains_key(id)) {
        return Err(ApiError::bad_request(format!(
            "Contact {missing} does not exist"
        )));
    }
    let custom_id = match &req.address_field {
        AddressField::Custom(name) => Some(custom_field_id(state, account, name).await?),
        AddressField::Slot(_) => None,
    };
    let company_ids: Vec<i64> = contacts
        .values()
        .filter_map(|c| c.company_id)
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
    let from_name = format!("{} {}", user.given_name, user.family_name)
        .trim()
        .to_owned();
    let now = state.clock.now();
    // The request's messages are written one at a time; a worker sends none of them until all
    // exist (keapsake_core::messaging::outbox, "all or nothing").
    let batch = uuid_simple(random_bytes::<16>());
    let batch_size = u64::try_from(
        req.contacts
            .iter()
            .filter(|id| contacts.contains_key(id))
            .count(),
    )
    .unwrap_or(u64::MAX);
    let mut ids = Vec::with_capacity(req.contacts.len());
    for contact_id in &req.contacts {
        let Some(contact) = contacts.get(contact_id) else {
            continue;
        };
        let company = contact.company_id.and_then(|c| companies.get(&c));
        let data = MergeData::new(
            *contact_id,
            contact,
            company.map(String::as_str),
            (&user.given_name, &user.family_name, &user.email),
        );
        let subject = merge(&req.subject, &data, false).replace(['\r', '\n'], " ");
        let html = req.html.as_deref().map(|h| merge(h, &data, true));
        let plain = req.plain.as_deref().map(|p| merge(p, &data, false));
        let to = address_of(contact, &req.address_field, custom_id);
        let skip = match &to {
            None => Some(format!(
                "the contact has no address in {}",
                req.address_field.label()
            )),
            Some(a) if address::parse_address(a).is_err() => {
                Some(format!("{a} is not a valid e-mail address"))
            }
            Some(a) => {
                let contact_status = match &req.address_field {
                    AddressField::Slot(keapsake_core::crm::contact::EmailField::Email1) => {
                        contact.effective_email_status()
                    }
                    _ => None,
                };
                match send_status(state, account, a, contact_status).await? {
                    Some(s) if !address::is_sendable(s) => {
                        Some(format!("{a} is not marketable ({})", address::display(s)))
                    }
                    _ => None,
                }
            }
        };
        let email_id = match (&skip, &to) {
            (None, Some(address)) => {
                let doc = EmailDoc {
                    contact_id: Some(*contact_id),
                    subject: Some(subject.clone()),
                    sent_to_address: address.clone(),
                    sent_from_address: Some(user.email.clone()),
                    sent_date: Some(now),
                    original_provider: Provider::Infusionsoft,
                    original_provider_id: uuid_simple(random_bytes::<16>()),
                    html_content: html.as_deref().map(|h| encode_base64(h.as_bytes())),
                    plain_content: plain.as_deref().map(|p| encode_base64(p.as_bytes())),
                    ..EmailDoc::default()
                };
                let create: Create = Box::new(move |_| {
                    Ok(NewRecord {
                        keys: doc.keys(),
                        data: doc.to_value(),
                    })
                });
                let record = crate::rest::v1::common::stored(
                    state
                        .store
                        .insert_record(account, RecordKind::Email, create, now)
                        .await,
                    "Email",
                )?;
                Some(record.id)
            }
            _ => None,
        };
        let (state_now, reason) = match skip {
            Some(r) => (State::Skipped, Some(r)),
            None => (State::Queued, None),
        };
        let doc = OutboxDoc {
            contact_id: *contact_id,
            user_id: req.user_id,
            to,
            from: user.email.clone(),
            from_name: (!from_name.is_empty()).then(|| from_name.clone()),
            subject,
            html,
            plain,
            attachments: req.attachments.clone(),
            state: state_now,
            reason,
            email_id,
            attempts: 0,
            queued_at: Some(now),
            next_attempt_at: None,
            lease_until: None,
            claim: None,
            sent_at: None,
            batch: Some(batch.clone()),
            batch_size: Some(batch_size),
        };
        let create: Create = Box::new(move |_| {
            Ok(NewRecord {
                keys: doc.keys(),
                data: doc.to_value(),
            })
        });
        let record = crate::rest::v1::common::stored(
            state
                .store
                .insert_record(account, RecordKind::OutboxMessage, create, now)
                .await,
            "OutboxMessage",
        )?;
        ids.push(record.id);
    }
    Ok(ids)
}
