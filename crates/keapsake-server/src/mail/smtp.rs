//! The SMTP delivery worker (`--smtp <url>`): every [`POLL_EVERY`] it runs one pass,
//! [`deliver_mail_due`], over every account's queued outbox messages.
//!
//! Exactly-once across nodes: a message is claimed by an atomic edit
//! ([`keapsake_core::records::RecordStore::update_record`], a row lock on PostgreSQL) that
//! refuses unless the message is still queued, due, and not under another worker's lease; the
//! claim sets a [`LEASE`] and a random claim token. Only the holder of the token can record the
//! outcome. The lease is far longer than the SMTP timeout, so a live worker always finishes
//! inside it; a worker that dies mid-send leaves a lease that runs out, and the message is
//! picked up again (by this node after a restart, or by another), so nothing is lost — the
//! one case that can repeat a message is a crash after the relay accepted it and before the
//! outcome was written, which no SMTP client can rule out.

use crate::config::SmtpRelay;
use crate::state::AppState;
use keapsake_core::messaging::decode_base64;
use keapsake_core::messaging::outbox::{Attempt, BATCH_KEY, OutboxDoc, STATE_KEY, State};
use keapsake_core::records::{Cond, Edit, Edited, Query, RecordKind};
use keapsake_core::secret::Secret;
use keapsake_core::{AccountId, StoreError};
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::collections::HashMap;
use time::{Duration, OffsetDateTime};

/// How long a claim holds a message.
pub const LEASE: Duration = Duration::minutes(5);
/// How long one SMTP conversation may take (well inside [`LEASE`]).
pub const SMTP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);
/// How often the worker looks for due messages.
pub const POLL_EVERY: std::time::Duration = std::time::Duration::from_secs(2);
/// Messages read per page of the scan.
const PAGE: i64 = 200;

/// Why a pass could not run.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The relay URL is not usable by the SMTP client.
    #[error("invalid SMTP relay {0}: {1}")]
    Relay(String, String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    /// Accepted by the relay.
    pub sent: usize,
    /// Failed for good.
    pub failed: usize,
    /// Failed transiently; retried later.
    pub retried: usize,
    /// Claimed by another worker first (or no longer due).
    pub lost: usize,
    /// Held back: its request has not written all of its messages (yet, or ever).
    pub held: usize,
    /// Given up: its request never completed (marked skipped).
    pub abandoned: usize,
}

/// Whether every message of request `batch` exists (`size` of them).
async fn batch_complete(
    state: &AppState,
    account: AccountId,
    batch: &str,
    size: u64,
) -> Result<bool, StoreError> {
    let query = Query {
        conds: vec![Cond::TextEq(BATCH_KEY, batch.to_owned())],
        limit: 1,
        ..Query::default()
    };
    let (_, total) = state
        .store
        .list_records(account, RecordKind::OutboxMessage, &query)
        .await?;
    Ok(u64::try_from(total).unwrap_or(0) >= size)
}

/// The SMTP client for a relay URL.
///
/// # Errors
/// [`MailError::Relay`] when lettre refuses the URL.
pub fn transport(relay: &SmtpRelay) -> Result<AsyncSmtpTransport<Tokio1Executor>, MailError> {
    AsyncSmtpTransport::<Tokio1Executor>::from_url(relay.0.as_str())
        .map(|b| b.timeout(Some(SMTP_TIMEOUT)).build())
        .map_err(|e| MailError::Relay(relay.redacted(), e.to_string()))
}

/// Builds the MIME message of an outbox entry.
///
/// # Errors
/// A message (a permanent failure) when an address or attachment cannot be used.
pub fn build_message(doc: &OutboxDoc) -> Result<Message, String> {
    let to = doc
        .to
        .as_deref()
        .ok_or("no recipient address")?
        .parse::<Mailbox>()
        .map_err(|e| format!("invalid recipient address: {e}"))?;
    let from_addr = doc
        .from
        .parse()
        .map_err(|e| format!("invalid sender address: {e}"))?;
    let from = Mailbox::new(doc.from_name.clone(), from_addr);
    let builder = Message::builder()
        .from(from)
        .to(to)
        .subject(doc.subject.clone());
    let message = if doc.attachments.is_empty() {
        match (&doc.html, &doc.plain) {
            (Some(h), Some(p)) => {
                builder.multipart(MultiPart::alternative_plain_html(p.clone(), h.clone()))
            }
            (Some(h), None) => builder.singlepart(SinglePart::html(h.clone())),
            (None, Some(p)) => builder.singlepart(SinglePart::plain(p.clone())),
            (None, None) => return Err("no content".to_owned()),
        }
    } else {
        let mut mixed = match (&doc.html, &doc.plain) {
            (Some(h), Some(p)) => MultiPart::mixed()
                .multipart(MultiPart::alternative_plain_html(p.clone(), h.clone())),
            (Some(h), None) => MultiPart::mixed().singlepart(SinglePart::html(h.clone())),
            (None, Some(p)) => MultiPart::mixed().singlepart(SinglePart::plain(p.clone())),
            (None, None) => return Err("no content".to_owned()),
        };
        let octets = ContentType::parse("application/octet-stream")
            .map_err(|e| format!("content type: {e}"))?;
        for a in &doc.attachments {
            let (_, bytes) = decode_base64("file_data", &a.file_data)?;
            mixed =
                mixed.singlepart(Attachment::new(a.file_name.clone()).body(bytes, octets.clone()));
        }
        builder.multipart(mixed)
    };
    message.map_err(|e| format!("cannot build the message: {e}"))
}

/// Every queued message of one account (ids ascending).
async fn queued(state: &AppState, account: AccountId) -> Result<Vec<(i64, OutboxDoc)>, StoreError> {
    let mut out = Vec::new();
    let mut offset = 0;
    loop {
        let query = Query {
            conds: vec![Cond::TextEq(STATE_KEY, State::Queued.as_str().to_owned())],
            limit: PAGE,
            offset,
            ..Query::default()
        };
        let (records, total) = state
            .store
            .list_records(account, RecordKind::OutboxMessage, &query)
            .await?;
        let n = i64::try_from(records.len()).unwrap_or(i64::MAX);
        for r in records {
            match OutboxDoc::from_value(&r.data) {
                Ok(d) => out.push((r.id, d)),
                Err(e) => {
                    tracing::error!(account = account.0, id = r.id, error = %e, "unreadable outbox message")
                }
            }
        }
        offset += n;
        if n == 0 || offset >= total {
            return Ok(out);
        }
    }
}

/// Edits a message under its claim; `Ok(None)` when the edit was refused.
async fn edit_message(
    state: &AppState,
    account: AccountId,
    id: i64,
    now: OffsetDateTime,
    f: impl FnOnce(&mut OutboxDoc) -> Result<(), String> + Send + 'static,
) -> Result<Option<OutboxDoc>, StoreError> {
    let edit: Edit = Box::new(move |_, data| {
        let mut doc = OutboxDoc::from_value(data)?;
        f(&mut doc)?;
        *data = doc.to_value();
        Ok(doc.keys())
    });
    match state
        .store
        .update_record(account, RecordKind::OutboxMessage, id, edit, now)
        .await
    {
        Ok(Edited::Updated(r)) => Ok(OutboxDoc::from_value(&r.data).ok()),
        Ok(Edited::Rejected(_)) | Err(StoreError::NotFound) => Ok(None),
        Err(e) => Err(e),
    }
}

/// One delivery pass at `now`: claims every due message of every account, sends it through
/// the configured relay and records the outcome. Without a relay (`Config::smtp` is `None`)
/// it does nothing. Callable from tests with a chosen `now`.
///
/// # Errors
/// An unusable relay URL; store failures (a message already claimed stays claimed until its
/// lease runs out, then is retried).
pub async fn deliver_mail_due(
    state: &AppState,
    now: OffsetDateTime,
) -> Result<DeliveryReport, MailError> {
    let mut report = DeliveryReport::default();
    let Some(relay) = state.config.smtp.clone() else {
        return Ok(report);
    };
    let smtp = transport(&relay)?;
    for account in state.store.list_accounts().await? {
        let mut complete: HashMap<String, bool> = HashMap::new();
        for (id, doc) in queued(state, account.id).await? {
            if !doc.is_due(now) {
                continue;
            }
            if let (Some(batch), Some(size)) = (&doc.batch, doc.batch_size) {
                let done = match complete.get(batch) {
                    Some(d) => *d,
                    None => {
                        let d = batch_complete(state, account.id, batch, size).await?;
                        complete.insert(batch.clone(), d);
                        d
                    }
                };
                if !done {
                    // Not all of its request's messages exist: that request is still writing,
                    // or died before its 202. Never send part of it; give it up when old.
                    match edit_message(state, account.id, id, now, move |d| d.abandon(now)).await? {
                        Some(_) => {
                            tracing::warn!(
                                account = account.id.0,
                                id,
                                "outbox message of an incomplete request abandoned"
                            );
                            report.abandoned += 1;
                        }
                        None => report.held += 1,
                    }
                    continue;
                }
            }
            let token = Secret::generate_hex("", 16).expose().to_owned();
            let claim_token = token.clone();
            let Some(claimed) = edit_message(state, account.id, id, now, move |d| {
                d.claim(now, LEASE, &claim_token)
            })
            .await?
            else {
                report.lost += 1;
                continue;
            };
            let outcome = match build_message(&claimed) {
                Err(e) => Attempt::Permanent(e),
                Ok(message) => match smtp.send(message).await {
                    Ok(_) => Attempt::Sent,
                    Err(e) if e.is_permanent() => Attempt::Permanent(e.to_string()),
                    Err(e) => Attempt::Transient(e.to_string()),
                },
            };
            match &outcome {
                Attempt::Sent => tracing::info!(account = account.id.0, id, "mail sent"),
                Attempt::Transient(e) | Attempt::Permanent(e) => {
                    tracing::warn!(account = account.id.0, id, error = %e, "mail not sent");
                }
            }
            let finished_at = state.clock.now().max(now);
            let done = edit_message(state, account.id, id, finished_at, move |d| {
                d.finish(finished_at, &token, outcome)
            })
            .await?;
            match done.map(|d| d.state) {
                Some(State::Sent) => report.sent += 1,
                Some(State::Failed) => report.failed += 1,
                Some(_) => report.retried += 1,
                None => report.lost += 1,
            }
        }
    }
    Ok(report)
}

/// Runs [`deliver_mail_due`] every [`POLL_EVERY`] until `stop` changes.
pub async fn run_worker(state: AppState, mut stop: tokio::sync::watch::Receiver<bool>) {
    if let Some(relay) = &state.config.smtp {
        tracing::info!(relay = %relay.redacted(), "mail delivery worker started");
    }
    loop {
        let now = state.clock.now();
        match deliver_mail_due(&state, now).await {
            Ok(r) if r != DeliveryReport::default() => {
                tracing::debug!(
                    sent = r.sent,
                    failed = r.failed,
                    retried = r.retried,
                    "mail pass"
                );
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "mail delivery pass failed"),
        }
        tokio::select! {
            _ = tokio::time::sleep(POLL_EVERY) => {}
            _ = stop.changed() => return,
        }
    }
}
