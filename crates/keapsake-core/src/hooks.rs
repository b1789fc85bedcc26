//! REST hooks (`keap/rest-v1.md` §10): subscriptions, event keys, Keap's retry policy, and the
//! outbox store the delivery worker drains.
//!
//! How an event is born: subscriptions are records of [`RecordKind::Hook`](crate::records::RecordKind)
//! whose indexed keys say which event they listen for and whether they are verified
//! ([`Subscription::keys`]). Database triggers on the record and link tables (migrations
//! `0010_hooks.sql` of both stores) turn every change of a record kind that a *verified*
//! subscription of the same account listens for into an outbox row, in the transaction of the
//! change. No API path can change a record without its event, and a change that rolled back
//! leaves none. The worker then claims rows ([`HookStore::claim_hook_batch`]) under a lease,
//! delivers them, and deletes ([`HookStore::finish_hook_items`]) or reschedules
//! ([`HookStore::retry_hook_items`]) them: at-least-once, and exactly once unless a node dies
//! between the receiver's answer and the delete.

use crate::ids::AccountId;
use crate::records::Keys;
use crate::store::StoreResult;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

/// Keap's runtime list of event keys (`GET /hooks/event_keys`, §10.5), verbatim and in order.
pub const EVENT_KEYS: &[&str] = &[
    "appointment.add",
    "appointment.delete",
    "appointment.edit",
    "company.add",
    "company.delete",
    "company.edit",
    "contact.add",
    "contact.delete",
    "contact.edit",
    "contact.redact",
    "contactGroup.add",
    "contactGroup.applied",
    "contactGroup.delete",
    "contactGroup.edit",
    "contactGroup.removed",
    "invoice.add",
    "invoice.delete",
    "invoice.edit",
    "invoice.payment.add",
    "invoice.payment.delete",
    "invoice.payment.edit",
    "leadsource.add",
    "leadsource.delete",
    "leadsource.edit",
    "note.add",
    "note.delete",
    "note.edit",
    "opportunity.add",
    "opportunity.delete",
    "opportunity.edit",
    "opportunity.stage_move",
    "order.add",
    "order.delete",
    "order.edit",
    "product.add",
    "product.delete",
    "product.edit",
    "subscription.add",
    "subscription.delete",
    "subscription.edit",
    "task.add",
    "task.delete",
    "task.edit",
    "user.activate",
    "user.add",
    "user.edit",
];

/// The event keys keapsake fires (the rows of `hook_event_map`); the others of
/// [`EVENT_KEYS`] are accepted for subscription but never fire.
pub const FIRED_EVENT_KEYS: &[&str] = &[
    "company.add",
    "company.delete",
    "company.edit",
    "contact.add",
    "contact.delete",
    "contact.edit",
    "contactGroup.add",
    "contactGroup.applied",
    "contactGroup.delete",
    "contactGroup.edit",
    "contactGroup.removed",
    "invoice.add",
    "invoice.delete",
    "invoice.edit",
    "invoice.payment.add",
    "note.add",
    "note.delete",
    "note.edit",
    "opportunity.add",
    "opportunity.delete",
    "opportunity.edit",
    "order.add",
    "order.delete",
    "order.edit",
    "product.add",
    "product.delete",
    "product.edit",
    "task.add",
    "task.delete",
    "task.edit",
];

/// Whether `key` is one of Keap's event keys (exact, case-sensitive).
pub fn is_event_key(key: &str) -> bool {
    EVENT_KEYS.contains(&key)
}

/// `object_type` of a delivery: the event key up to its first `.` (§10.4).
pub fn object_type(event_key: &str) -> &str {
    event_key.split('.').next().unwrap_or(event_key)
}

/// The REST v1 path (under `/crm/rest/v1`) of an event's object, if it has one.
pub fn object_path(event_key: &str, id: i64) -> Option<String> {
    let collection = match object_type(event_key) {
        "contact" => "contacts",
        "company" => "companies",
        "contactGroup" => "tags",
        "note" => "notes",
        "task" => "tasks",
        "opportunity" => "opportunities",
        "product" => "products",
        "order" | "invoice" => "orders",
        _ => return None,
    };
    if event_key.ends_with(".delete") {
        // The object is gone; Keap's `apiUrl` is "" when no object exists.
        return None;
    }
    Some(format!("/{collection}/{id}"))
}

/// A subscription's status (§10.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum HookStatus {
    /// Created, not (yet) confirmed by the receiver: nothing is delivered.
    Unverified,
    /// Confirmed: events are delivered.
    Verified,
    /// Turned off after a 410 or the last failed attempt; `/verify` reactivates it.
    Inactive,
}

impl HookStatus {
    /// Wire and stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unverified => "Unverified",
            Self::Verified => "Verified",
            Self::Inactive => "Inactive",
        }
    }
}

/// A subscription as stored (the record document of kind `hook`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscription {
    /// The opaque public id (`key` on the wire).
    pub key: String,
    /// Event key listened for.
    pub event_key: String,
    /// Receiver URL.
    pub hook_url: String,
    /// Status.
    pub status: HookStatus,
    /// The OAuth client (or `key:<id>` for an API key) that owns it: `GET /hooks` lists only
    /// the caller's own.
    pub owner: String,
    /// SHA-256 (hex) of the last `X-Hook-Secret` sent, for `delayedVerify`; never the secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_sha256: Option<String>,
}

/// Stored value of `status` that the outbox triggers match (`k1`).
pub const VERIFIED: &str = "Verified";

impl Subscription {
    /// Indexed keys: `k0` event key and `k1` status (read by the outbox triggers: never move
    /// them), `k2` the public key, `k3` the owner; unique on the public key.
    pub fn keys(&self) -> Keys {
        let mut keys = Keys::default();
        keys.text[0] = Some(self.event_key.clone());
        keys.text[1] = Some(self.status.as_str().to_owned());
        keys.text[2] = Some(self.key.clone());
        keys.text[3] = Some(self.owner.clone());
        keys.unique = Some(self.key.clone());
        keys
    }

    /// The wire form (§10.1, camelCase).
    pub fn to_wire(&self) -> serde_json::Value {
        serde_json::json!({
            "key": self.key,
            "eventKey": self.event_key,
            "hookUrl": self.hook_url,
            "status": self.status.as_str(),
        })
    }
}

/// Index of the text key holding the public key.
pub const KEY_COLUMN: usize = 2;
/// Index of the text key holding the owner.
pub const OWNER_COLUMN: usize = 3;

/// Keap's delivery policy (§10.4): up to 4 attempts, retried +30–60 s, +5 min, +30 min after
/// the failures; the 4th failure turns the subscription `Inactive`.
pub const MAX_ATTEMPTS: i32 = 4;

/// When to retry after `failures` failed attempts (1-based), or `None` when the last attempt
/// failed. The first retry's 30–60 s spread is derived from `spread` (e.g. the outbox
/// sequence), so it is deterministic for a given row.
pub fn retry_delay(failures: i32, spread: i64) -> Option<Duration> {
    match failures {
        1 => Some(Duration::seconds(30 + spread.rem_euclid(31))),
        2 => Some(Duration::minutes(5)),
        3 => Some(Duration::minutes(30)),
        _ => None,
    }
}

/// One claimed outbox row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxItem {
    /// Outbox sequence number (global, increasing in commit order per backend).
    pub seq: i64,
    /// The changed object's id (for tag application events: the tag).
    pub object_id: i64,
    /// For `contactGroup.applied` / `.removed`: the contact.
    pub contact_id: Option<i64>,
    /// When the change happened.
    pub changed_at: OffsetDateTime,
    /// Failed attempts so far.
    pub attempts: i32,
}

/// Rows of one subscription and one event key, claimed together for one delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedBatch {
    /// Account.
    pub account: AccountId,
    /// The subscription's record id.
    pub hook_id: i64,
    /// The event key.
    pub event_key: String,
    /// The rows, in sequence order (1 ..= the requested maximum).
    pub items: Vec<OutboxItem>,
}

impl ClaimedBatch {
    /// Sequence numbers of the rows.
    pub fn seqs(&self) -> Vec<i64> {
        self.items.iter().map(|i| i.seq).collect()
    }

    /// Failed attempts of the batch (the most of any row).
    pub fn attempts(&self) -> i32 {
        self.items.iter().map(|i| i.attempts).max().unwrap_or(0)
    }
}

/// The hook outbox. Rows are written by the stores' triggers (see the module docs); these
/// methods drain it. Every method is atomic.
#[async_trait]
pub trait HookStore: Send + Sync {
    /// Claims the oldest due row and up to `max - 1` more due rows of the same account,
    /// subscription and event key, in sequence order, for `owner` until `now + lease`. A row is
    /// due when it never failed, or its retry time has come; a row leased to anyone until after
    /// `now` is not claimable. Two concurrent claims (on any nodes sharing the database) never
    /// return the same row. `None` when nothing is due. `only` restricts the claim to one
    /// account (tests sharing a database; a worker passes `None`).
    async fn claim_hook_batch(
        &self,
        owner: &str,
        only: Option<AccountId>,
        now: OffsetDateTime,
        lease: Duration,
        max: usize,
    ) -> StoreResult<Option<ClaimedBatch>>;

    /// Deletes delivered (or abandoned) rows that `owner` still holds; rows whose lease was
    /// lost to another claimer are left alone. Returns how many were deleted.
    async fn finish_hook_items(&self, owner: &str, seqs: &[i64]) -> StoreResult<u64>;

    /// Records a failed attempt of rows `owner` still holds: attempts + 1, due again at
    /// `next_at`, lease released. Returns how many were rescheduled.
    async fn retry_hook_items(
        &self,
        owner: &str,
        seqs: &[i64],
        next_at: OffsetDateTime,
    ) -> StoreResult<u64>;

    /// Deletes every row of a subscription (it was deleted or turned inactive). Returns how
    /// many.
    async fn drop_hook_items(&self, account: AccountId, hook_id: i64) -> StoreResult<u64>;

    /// Rows waiting (claimed or not), for one account or all.
    async fn pending_hook_items(&self, account: Option<AccountId>) -> StoreResult<i64>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fired_keys_are_keap_keys() {
        for k in FIRED_EVENT_KEYS {
            assert!(is_event_key(k), "{k}");
        }
        assert!(!is_event_key("Contact.add"));
        assert!(!is_event_key("contact"));
    }

    #[test]
    fn object_type_is_the_prefix() {
        assert_eq!(object_type("invoice.payment.add"), "invoice");
        assert_eq!(object_type("contactGroup.applied"), "contactGroup");
    }

    #[test]
    fn retry_schedule_is_keaps() {
        for s in [0, 7, 30, 1_000_003] {
            let d = retry_delay(1, s).expect("a first retry");
            assert!(
                d >= Duration::seconds(30) && d <= Duration::seconds(60),
                "{d}"
            );
        }
        assert_eq!(retry_delay(2, 0), Some(Duration::minutes(5)));
        assert_eq!(retry_delay(3, 0), Some(Duration::minutes(30)));
        assert_eq!(retry_delay(4, 0), None);
    }

    #[test]
    fn deleted_objects_have_no_url() {
        assert_eq!(
            object_path("contact.edit", 22).as_deref(),
            Some("/contacts/22")
        );
        assert_eq!(object_path("contact.delete", 22), None);
        assert_eq!(
            object_path("invoice.payment.add", 5).as_deref(),
            Some("/orders/5")
        );
        assert_eq!(object_path("leadsource.add", 5), None);
    }
}
