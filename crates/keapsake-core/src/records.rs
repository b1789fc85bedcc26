//! Tenant data as documents: every CRM object (contact, tag, company, note, task, product,
//! order, …) is a JSON document of its [`RecordKind`], with an id from its account's own
//! sequence and a handful of generic, indexed columns that the resource fills with what it must
//! filter, sort or keep unique on. Relations between records (a tag applied to a contact) are
//! [`LinkKind`] rows.
//!
//! Why documents: the wire shapes are Keap's, wide and mostly opaque to storage; what storage
//! must do well is tenant isolation, per-account ids, atomic read-modify-write, exact filters and
//! stable paging. One implementation per backend then serves every resource of REST v1, v2 and
//! XML-RPC alike.

use crate::ids::AccountId;
use crate::store::StoreResult;
use async_trait::async_trait;
use serde_json::Value;
use time::OffsetDateTime;

/// The kinds of record. The string form is stored; never rename one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordKind {
    /// A contact.
    Contact,
    /// A tag (Keap: contact group).
    Tag,
    /// A tag category.
    TagCategory,
    /// A company.
    Company,
    /// A note on a contact.
    Note,
    /// A task.
    Task,
    /// An opportunity.
    Opportunity,
    /// A custom-field definition.
    CustomField,
    /// A product.
    Product,
    /// An order (invoice).
    Order,
    /// An e-mail record.
    Email,
    /// A REST hook subscription.
    Hook,
    /// A message of the mail outbox (`POST /emails/queue`), one per recipient.
    OutboxMessage,
    /// The marketing status of one e-mail address (`PUT /emailAddresses/{email}`).
    EmailAddress,
    /// What is left of a deleted product, for `GET /products/sync` (`DELETED`).
    ProductTombstone,
    /// A contact's subscription to a product's plan.
    Subscription,
    /// An e-mail template (XML-RPC `APIEmailService.addEmailTemplate`).
    EmailTemplate,
    /// A contact's credit card on file (never the number: `commerce::card`).
    CreditCard,
    /// A link between two contacts (`crm::link`).
    ContactLink,
    /// A type of contact link defined by the account (`crm::link`).
    ContactLinkType,
}

impl RecordKind {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Contact => "contact",
            Self::Tag => "tag",
            Self::TagCategory => "tag_category",
            Self::Company => "company",
            Self::Note => "note",
            Self::Task => "task",
            Self::Opportunity => "opportunity",
            Self::CustomField => "custom_field",
            Self::Product => "product",
            Self::Order => "order",
            Self::Email => "email",
            Self::Hook => "hook",
            Self::OutboxMessage => "outbox_message",
            Self::EmailAddress => "email_address",
            Self::ProductTombstone => "product_tombstone",
            Self::Subscription => "subscription",
            Self::EmailTemplate => "email_template",
            Self::CreditCard => "credit_card",
            Self::ContactLink => "contact_link",
            Self::ContactLinkType => "contact_link_type",
        }
    }
}

/// Relations between records: `(a, b)` pairs of the two kinds named by [`LinkKind::kinds`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LinkKind {
    /// A tag applied to a contact: `(contact id, tag id)`.
    ContactTag,
    /// A tag applied to a company: `(company id, tag id)`.
    CompanyTag,
}

impl LinkKind {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ContactTag => "contact_tag",
            Self::CompanyTag => "company_tag",
        }
    }

    /// The record kinds of `a` and `b`.
    pub fn kinds(self) -> (RecordKind, RecordKind) {
        match self {
            Self::ContactTag => (RecordKind::Contact, RecordKind::Tag),
            Self::CompanyTag => (RecordKind::Company, RecordKind::Tag),
        }
    }
}

/// Number of generic text columns (`k0`…`k5`).
pub const TEXT_KEYS: usize = 6;
/// Number of generic integer columns (`n0`…`n2`).
pub const INT_KEYS: usize = 3;

/// The indexed columns of a record. Text keys are compared exactly and ordered byte-wise
/// (callers fold case first where the API is case-insensitive, ASCII only). Keys must not contain
/// NUL characters (PostgreSQL text cannot hold them): callers reject such input with a 400.
/// `unique` must be unique per (account, kind) when set, else the write fails with
/// `Conflict { what: "unique" }`. NULL keys sort first ascending and last descending.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Keys {
    /// Text columns `k0..k5`.
    pub text: [Option<String>; TEXT_KEYS],
    /// Integer columns `n0..n2`.
    pub int: [Option<i64>; INT_KEYS],
    /// A value unique per account and kind (e.g. a folded tag name).
    pub unique: Option<String>,
}

/// A column to filter or order on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    /// The record id.
    Id,
    /// Creation time.
    CreatedAt,
    /// Last update time.
    UpdatedAt,
    /// Text key `k<i>`.
    Text(usize),
    /// Integer key `n<i>`.
    Int(usize),
}

/// One filter condition. All conditions of a query must hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cond {
    /// Text column equals the value exactly (bound parameter; `%` and `_` are literal).
    TextEq(usize, String),
    /// Any of these text columns equals the value (an empty list matches nothing).
    AnyTextEq(Vec<usize>, String),
    /// Integer column equals the value.
    IntEq(usize, i64),
    /// Integer column is NULL.
    IntIsNull(usize),
    /// Id is one of these (an empty list matches nothing).
    IdIn(Vec<i64>),
    /// `updated_at >= t`.
    UpdatedSince(OffsetDateTime),
    /// `updated_at <= t`.
    UpdatedUntil(OffsetDateTime),
    /// The record is linked as `a` to this `b` (e.g. contacts having tag `b`). Only meaningful
    /// when the listed kind is the link kind's `a` kind.
    LinkedTo(LinkKind, i64),
}

/// A page of records matching conditions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// Conditions (AND).
    pub conds: Vec<Cond>,
    /// Primary sort column; ties are broken by id in the same direction.
    pub order: Column,
    /// Descending order.
    pub descending: bool,
    /// At most this many (callers clamp to the API's maximum; stores treat negatives as 0).
    pub limit: i64,
    /// Skip this many (stores treat negatives as 0).
    pub offset: i64,
}

impl Default for Query {
    fn default() -> Self {
        Self {
            conds: Vec::new(),
            order: Column::Id,
            descending: false,
            limit: 1000,
            offset: 0,
        }
    }
}

/// A stored record.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// Id, unique within (account, kind).
    pub id: i64,
    /// The document.
    pub data: Value,
    /// Creation time.
    pub created_at: OffsetDateTime,
    /// Last update time.
    pub updated_at: OffsetDateTime,
}

/// A record to insert: the document and its keys.
#[derive(Debug, Clone, PartialEq)]
pub struct NewRecord {
    /// The document. The store assigns the id and passes it to [`Create`], which may embed it.
    pub data: Value,
    /// Indexed columns.
    pub keys: Keys,
}

/// A read-modify-write step run by the store inside its transaction, with the record locked:
/// it edits the document in place and returns the new keys, or refuses with a message for the
/// client (the store then changes nothing and returns [`Edited::Rejected`]).
pub type Edit = Box<dyn FnOnce(i64, &mut Value) -> Result<Keys, String> + Send>;

/// A builder of a new record from its assigned id (for documents that embed their id or
/// derive keys from it); refusing works as for [`Edit`].
pub type Create = Box<dyn FnOnce(i64) -> Result<NewRecord, String> + Send>;

/// Outcome of an edit.
#[derive(Debug, Clone, PartialEq)]
pub enum Edited {
    /// Stored (committed).
    Updated(Record),
    /// The edit refused; nothing changed.
    Rejected(String),
}

/// Outcome of an upsert.
#[derive(Debug, Clone, PartialEq)]
pub enum Upserted {
    /// No record matched; this one was created.
    Created(Record),
    /// The oldest matching record was edited.
    Updated(Record),
    /// The create or the edit refused; nothing changed.
    Rejected(String),
}

/// What happened to one pair in [`RecordStore::link`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkOutcome {
    /// Newly linked.
    Linked,
    /// Was already linked (its original time kept).
    AlreadyLinked,
    /// The `a` record does not exist in this account.
    MissingA,
    /// The `b` record does not exist in this account.
    MissingB,
}

/// One link as listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Link {
    /// `a` id.
    pub a: i64,
    /// `b` id.
    pub b: i64,
    /// When linked.
    pub created_at: OffsetDateTime,
}

/// Which side to list links from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// Links whose `a` is this id.
    A(i64),
    /// Links whose `b` is this id.
    B(i64),
}

/// Documents and links. Every method takes the account: no record of another account can be
/// read, changed, linked or counted, and another account's id behaves exactly like a missing id.
#[async_trait]
pub trait RecordStore: Send + Sync {
    /// Inserts a record with the next id of (account, kind), built by `create` from that id.
    /// Ids start at 1 per (account, kind) and are never reused; a refused or conflicting insert
    /// consumes no id. Errors: `Conflict { what: "unique" }` if `keys.unique` clashes.
    async fn insert_record(
        &self,
        account: AccountId,
        kind: RecordKind,
        create: Create,
        now: OffsetDateTime,
    ) -> StoreResult<Edited>;

    /// Loads one record. Errors: `NotFound`.
    async fn get_record(
        &self,
        account: AccountId,
        kind: RecordKind,
        id: i64,
    ) -> StoreResult<Record>;

    /// Loads several records by id, in id order; missing ids are skipped.
    async fn get_records(
        &self,
        account: AccountId,
        kind: RecordKind,
        ids: &[i64],
    ) -> StoreResult<Vec<Record>>;

    /// Atomically edits a record: reads it under a lock, runs `edit`, writes the result, sets
    /// `updated_at = now`. Concurrent edits of one record never lose each other's changes.
    /// Errors: `NotFound`; `Conflict` on a unique clash.
    async fn update_record(
        &self,
        account: AccountId,
        kind: RecordKind,
        id: i64,
        edit: Edit,
        now: OffsetDateTime,
    ) -> StoreResult<Edited>;

    /// Atomically finds the oldest (lowest id) record matching `matching` and edits it, or creates one if
    /// none matches. Concurrent upserts with the same `lock_key` are serialised, so N parallel
    /// upserts of one e-mail create exactly one record.
    #[allow(
        clippy::too_many_arguments,
        reason = "one atomic operation needs all of them"
    )]
    async fn upsert_record(
        &self,
        account: AccountId,
        kind: RecordKind,
        lock_key: &str,
        matching: Vec<Cond>,
        create: Create,
        edit: Edit,
        now: OffsetDateTime,
    ) -> StoreResult<Upserted>;

    /// Deletes a record and every link it takes part in. Errors: `NotFound`.
    async fn delete_record(&self, account: AccountId, kind: RecordKind, id: i64)
    -> StoreResult<()>;

    /// A page of records and the total number matching the conditions.
    async fn list_records(
        &self,
        account: AccountId,
        kind: RecordKind,
        query: &Query,
    ) -> StoreResult<(Vec<Record>, i64)>;

    /// Links pairs, atomically as a whole; each pair reports its own outcome (missing records
    /// are reported, not errors). Re-linking keeps the original time.
    async fn link(
        &self,
        account: AccountId,
        kind: LinkKind,
        pairs: &[(i64, i64)],
        now: OffsetDateTime,
    ) -> StoreResult<Vec<LinkOutcome>>;

    /// Removes links; absent pairs are ignored. Returns how many were removed.
    async fn unlink(
        &self,
        account: AccountId,
        kind: LinkKind,
        pairs: &[(i64, i64)],
    ) -> StoreResult<u64>;

    /// A page of links from one side, ordered by the other side's id, and the total.
    async fn list_links(
        &self,
        account: AccountId,
        kind: LinkKind,
        side: Side,
        limit: i64,
        offset: i64,
    ) -> StoreResult<(Vec<Link>, i64)>;

    /// Every link whose `a` is one of `a_ids` (e.g. the tag ids of a page of contacts).
    async fn links_of(
        &self,
        account: AccountId,
        kind: LinkKind,
        a_ids: &[i64],
    ) -> StoreResult<Vec<Link>>;
}
