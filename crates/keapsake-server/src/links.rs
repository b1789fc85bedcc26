//! Contact links and link types over the store (`keapsake_core::crm::link`), shared by XML-RPC
//! `ContactService.linkContacts`/`unlinkContacts`/`listLinkedContacts` and REST v2. Errors are
//! REST's ([`ApiError`]: 404 for an unknown contact or type, 400 for a refused link); XML-RPC
//! turns them into `[RecordNotFound]` / `[InvalidParameter]`.
//!
//! A link whose other contact was deleted is not listed (contacts are deleted by REST v1,
//! which does not know about links).

use crate::error::ApiError;
use crate::rest::v1::list::not_found;
use crate::state::AppState;
use keapsake_core::crm::link::{
    CONTACT1_KEY, CONTACT2_KEY, LinkDoc, LinkTypeDoc, NAME_KEY, TYPE_KEY,
};
use keapsake_core::records::{Column, Cond, Create, Edited, NewRecord, Query, Record, RecordKind};
use keapsake_core::{AccountId, StoreError};

/// A link as listed: its id, the document and its type's name.
#[derive(Debug, Clone, PartialEq)]
pub struct Listed {
    /// Record id.
    pub id: i64,
    /// The link.
    pub link: LinkDoc,
    /// The type's name (`None` if the type was deleted).
    pub type_name: Option<String>,
}

fn unreadable(e: String) -> ApiError {
    tracing::error!(error = %e, "unreadable contact link");
    ApiError::new(
        axum::http::StatusCode::INTERNAL_SERVER_ERROR,
        "Internal Server Error",
    )
}

async fn ensure_contact(state: &AppState, account: AccountId, id: i64) -> Result<(), ApiError> {
    match state
        .store
        .get_record(account, RecordKind::Contact, id)
        .await
    {
        Ok(_) => Ok(()),
        Err(StoreError::NotFound) => Err(not_found("Contact")),
        Err(e) => Err(e.into()),
    }
}

/// A link type of the account.
///
/// # Errors
/// 404 for an unknown type; store failures.
pub async fn link_type(
    state: &AppState,
    account: AccountId,
    id: i64,
) -> Result<LinkTypeDoc, ApiError> {
    match state
        .store
        .get_record(account, RecordKind::ContactLinkType, id)
        .await
    {
        Ok(r) => LinkTypeDoc::from_value(&r.data).map_err(unreadable),
        Err(StoreError::NotFound) => Err(not_found("ContactLinkType")),
        Err(e) => Err(e.into()),
    }
}

/// Every link type of the account, by name.
///
/// # Errors
/// Store failures.
pub async fn link_types(
    state: &AppState,
    account: AccountId,
) -> Result<Vec<(Record, LinkTypeDoc)>, ApiError> {
    let q = Query {
        order: Column::Text(NAME_KEY),
        limit: 1000,
        ..Query::default()
    };
    let (records, _) = state
        .store
        .list_records(account, RecordKind::ContactLinkType, &q)
        .await?;
    records
        .into_iter()
        .map(|r| {
            let d = LinkTypeDoc::from_value(&r.data).map_err(unreadable)?;
            Ok((r, d))
        })
        .collect()
}

/// Creates a link type (400 for a bad one, 409 for a name taken).
///
/// # Errors
/// As above; store failures.
pub async fn create_link_type(
    state: &AppState,
    account: AccountId,
    name: &str,
    max_links: i64,
) -> Result<Record, ApiError> {
    let doc = LinkTypeDoc::new(name, max_links).map_err(ApiError::bad_request)?;
    let create: Create = Box::new(move |_| {
        Ok(NewRecord {
            keys: doc.keys(),
            data: doc.to_value(),
        })
    });
    match state
        .store
        .insert_record(
            account,
            RecordKind::ContactLinkType,
            create,
            state.clock.now(),
        )
        .await
    {
        Ok(Edited::Updated(r)) => Ok(r),
        Ok(Edited::Rejected(m)) => Err(ApiError::bad_request(m)),
        Err(StoreError::Conflict { .. }) => Err(ApiError::new(
            axum::http::StatusCode::CONFLICT,
            "A link type with this name already exists",
        )),
        Err(e) => Err(e.into()),
    }
}

async fn links_where(
    state: &AppState,
    account: AccountId,
    conds: Vec<Cond>,
) -> Result<Vec<Record>, ApiError> {
    crate::rest::v1::common::all_records(state, account, RecordKind::ContactLink, conds).await
}

/// The links of `contact` (either end), oldest first, without those whose other contact is
/// gone.
///
/// # Errors
/// 404 for an unknown contact; store failures.
pub async fn links_of(
    state: &AppState,
    account: AccountId,
    contact: i64,
) -> Result<Vec<Listed>, ApiError> {
    ensure_contact(state, account, contact).await?;
    let mut records = links_where(state, account, vec![Cond::IntEq(CONTACT1_KEY, contact)]).await?;
    records.extend(links_where(state, account, vec![Cond::IntEq(CONTACT2_KEY, contact)]).await?);
    records.sort_by_key(|r| r.id);
    let docs = records
        .iter()
        .map(|r| LinkDoc::from_value(&r.data).map_err(unreadable))
        .collect::<Result<Vec<_>, _>>()?;
    let mut others: Vec<i64> = docs.iter().map(|d| d.other(contact)).collect();
    others.sort_unstable();
    others.dedup();
    let alive: Vec<i64> = state
        .store
        .get_records(account, RecordKind::Contact, &others)
        .await?
        .iter()
        .map(|r| r.id)
        .collect();
    let types = link_types(state, account).await?;
    Ok(records
        .iter()
        .zip(docs)
        .filter(|(_, d)| alive.contains(&d.other(contact)))
        .map(|(r, d)| Listed {
            id: r.id,
            type_name: types
                .iter()
                .find(|(t, _)| t.id == d.link_type_id)
                .map(|(_, t)| t.name.clone()),
            link: d,
        })
        .collect())
}

async fn find(
    state: &AppState,
    account: AccountId,
    a: i64,
    b: i64,
    link_type: i64,
) -> Result<Option<i64>, ApiError> {
    for (x, y) in [(a, b), (b, a)] {
        let found = links_where(
            state,
            account,
            vec![
                Cond::IntEq(CONTACT1_KEY, x),
                Cond::IntEq(CONTACT2_KEY, y),
                Cond::IntEq(TYPE_KEY, link_type),
            ],
        )
        .await?;
        if let Some(r) = found.first() {
            return Ok(Some(r.id));
        }
    }
    Ok(None)
}

async fn count_of_type(
    state: &AppState,
    account: AccountId,
    contact: i64,
    link_type: i64,
) -> Result<i64, ApiError> {
    let mut n = 0;
    for key in [CONTACT1_KEY, CONTACT2_KEY] {
        let q = Query {
            conds: vec![Cond::IntEq(key, contact), Cond::IntEq(TYPE_KEY, link_type)],
            limit: 0,
            ..Query::default()
        };
        let (_, total) = state
            .store
            .list_records(account, RecordKind::ContactLink, &q)
            .await?;
        n += total;
    }
    Ok(n)
}

/// Links two contacts with a type. Linking a pair that is already linked with that type
/// changes nothing and succeeds; a link beyond the type's `max_links` for either contact is
/// refused (400).
///
/// # Errors
/// 404 (contact or type), 400 (self link, limit); store failures.
pub async fn link(
    state: &AppState,
    account: AccountId,
    a: i64,
    b: i64,
    link_type_id: i64,
) -> Result<LinkDoc, ApiError> {
    let doc = LinkDoc::new(a, b, link_type_id).map_err(ApiError::bad_request)?;
    ensure_contact(state, account, a).await?;
    ensure_contact(state, account, b).await?;
    let ty = link_type(state, account, link_type_id).await?;
    if find(state, account, a, b, link_type_id).await?.is_some() {
        return Ok(doc);
    }
    for c in [a, b] {
        if count_of_type(state, account, c, link_type_id).await? >= ty.max_links {
            return Err(ApiError::bad_request(format!(
                "Contact {c} already has {} link(s) of type {} (its maximum)",
                ty.max_links, ty.name
            )));
        }
    }
    let stored = doc.clone();
    let create: Create = Box::new(move |_| {
        Ok(NewRecord {
            keys: stored.keys(),
            data: stored.to_value(),
        })
    });
    match state
        .store
        .insert_record(account, RecordKind::ContactLink, create, state.clock.now())
        .await
    {
        // A concurrent identical link got there first: the pair is linked either way.
        Ok(Edited::Updated(_)) | Err(StoreError::Conflict { .. }) => Ok(doc),
        Ok(Edited::Rejected(m)) => Err(ApiError::bad_request(m)),
        Err(e) => Err(e.into()),
    }
}

/// Removes the link of a pair with a type; `false` when they were not linked so.
///
/// # Errors
/// 404 for an unknown contact; store failures.
pub async fn unlink(
    state: &AppState,
    account: AccountId,
    a: i64,
    b: i64,
    link_type_id: i64,
) -> Result<bool, ApiError> {
    ensure_contact(state, account, a).await?;
    ensure_contact(state, account, b).await?;
    let Some(id) = find(state, account, a, b, link_type_id).await? else {
        return Ok(false);
    };
    match state
        .store
        .delete_record(account, RecordKind::ContactLink, id)
        .await
    {
        Ok(()) => Ok(true),
        Err(StoreError::NotFound) => Ok(false),
        Err(e) => Err(e.into()),
    }
}
