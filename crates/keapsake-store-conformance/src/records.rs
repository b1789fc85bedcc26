//! [`RecordStore`](keapsake_core::records::RecordStore) conformance: tenant data as documents
//! with per-account ids, generic indexed keys, atomic edits and upserts, and links.
//!
//! What the cases pin down, beyond the doc comments of `keapsake_core::records`:
//! - ids come from a sequence per (account, kind) that starts at 1 and never hands out an id
//!   twice, even after deletes; a refused or conflicting write consumes no id ("changes
//!   nothing");
//! - another account's id behaves exactly like a missing one (SECURITY.md §5): `NotFound`, the
//!   edit closure is never run, and nothing changes;
//! - text keys compare byte for byte (SECURITY.md §6: `%` and `_` are literal, no case folding
//!   in the store), and order byte-wise too (`COLLATE "C"` on PostgreSQL, `BINARY` on SQLite),
//!   so both backends page identically;
//! - an empty `IdIn` or `AnyTextEq` column list matches nothing;
//! - the races of SECURITY.md §10: parallel edits of one record lose nothing, parallel upserts of
//!   one key create one record.
//!
//! Ordering on a key column that holds NULLs is not specified by the contract, so the ordering
//! case fills every key.
//!
//! A store crate runs these with [`records_conformance!`](crate::records_conformance), which takes
//! the same factory forms as [`store_conformance!`](crate::store_conformance).

use crate::races::overlap;
use crate::support::{account, assert_conflict, assert_not_found, now};
use keapsake_core::AccountId;
use keapsake_core::records::{
    Column, Cond, Create, Edit, Edited, INT_KEYS, Keys, Link, LinkKind, LinkOutcome, NewRecord,
    Query, Record, RecordKind, Side, TEXT_KEYS, Upserted,
};
use keapsake_core::store::Store;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use time::{Duration, OffsetDateTime};

const CONTACT: RecordKind = RecordKind::Contact;
const TAG: RecordKind = RecordKind::Tag;
const COMPANY: RecordKind = RecordKind::Company;
const CT: LinkKind = LinkKind::ContactTag;
const CO_T: LinkKind = LinkKind::CompanyTag;

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// A [`Keys`] builder.
#[derive(Debug, Clone, Default)]
struct K(Keys);

impl K {
    fn new() -> Self {
        Self::default()
    }
    fn text(mut self, i: usize, v: &str) -> Self {
        self.0.text[i] = Some(v.to_owned());
        self
    }
    fn int(mut self, i: usize, v: i64) -> Self {
        self.0.int[i] = Some(v);
        self
    }
    fn unique(mut self, v: &str) -> Self {
        self.0.unique = Some(v.to_owned());
        self
    }
    fn done(self) -> Keys {
        self.0
    }
}

/// A `Create` that stores `data` with `keys`.
fn create(data: Value, keys: Keys) -> Create {
    Box::new(move |_id| Ok(NewRecord { data, keys }))
}

/// An `Edit` that replaces the document with `data` and the keys with `keys`.
fn replace(data: Value, keys: Keys) -> Edit {
    Box::new(move |_id, doc| {
        *doc = data;
        Ok(keys)
    })
}

/// Inserts a record that must be stored.
async fn insert(
    store: &dyn Store,
    account: AccountId,
    kind: RecordKind,
    data: Value,
    keys: Keys,
    at: OffsetDateTime,
) -> Record {
    match store
        .insert_record(account, kind, create(data, keys), at)
        .await
    {
        Ok(Edited::Updated(r)) => r,
        other => panic!("insert_record of a fresh {kind:?} must store it, got {other:?}"),
    }
}

/// Inserts `n` records `{"i": 0..n}` with no keys; returns their ids.
async fn insert_n(store: &dyn Store, account: AccountId, kind: RecordKind, n: usize) -> Vec<i64> {
    let mut ids = Vec::new();
    for i in 0..n {
        ids.push(
            insert(
                store,
                account,
                kind,
                json!({ "i": i }),
                Keys::default(),
                now(),
            )
            .await
            .id,
        );
    }
    ids
}

/// Edits a record with an edit that must be stored.
async fn update(
    store: &dyn Store,
    account: AccountId,
    kind: RecordKind,
    id: i64,
    edit: Edit,
    at: OffsetDateTime,
) -> Record {
    match store.update_record(account, kind, id, edit, at).await {
        Ok(Edited::Updated(r)) => r,
        other => panic!("update_record of {kind:?} {id} must store the edit, got {other:?}"),
    }
}

/// Loads a record that must exist.
async fn get(store: &dyn Store, account: AccountId, kind: RecordKind, id: i64) -> Record {
    store
        .get_record(account, kind, id)
        .await
        .unwrap_or_else(|e| panic!("get_record of existing {kind:?} {id} failed: {e:?}"))
}

/// A page of ids and the total.
async fn list(
    store: &dyn Store,
    account: AccountId,
    kind: RecordKind,
    query: Query,
) -> (Vec<i64>, i64) {
    let (page, total) = store
        .list_records(account, kind, &query)
        .await
        .unwrap_or_else(|e| panic!("list_records({query:?}) failed: {e:?}"));
    (page.into_iter().map(|r| r.id).collect(), total)
}

/// Every id matching `conds` (id order); also checks the total equals the count.
async fn find(
    store: &dyn Store,
    account: AccountId,
    kind: RecordKind,
    conds: Vec<Cond>,
) -> Vec<i64> {
    let what = format!("{conds:?}");
    let (ids, total) = list(
        store,
        account,
        kind,
        Query {
            conds,
            ..Query::default()
        },
    )
    .await;
    assert_eq!(
        total,
        i64::try_from(ids.len()).unwrap_or(i64::MAX),
        "total of an unpaged list of {what} must equal the rows returned ({ids:?})"
    );
    ids
}

/// Total number of records of a kind in an account.
async fn count(store: &dyn Store, account: AccountId, kind: RecordKind) -> i64 {
    list(
        store,
        account,
        kind,
        Query {
            limit: 0,
            ..Query::default()
        },
    )
    .await
    .1
}

/// Links pairs and returns the outcomes.
async fn link(
    store: &dyn Store,
    account: AccountId,
    kind: LinkKind,
    pairs: &[(i64, i64)],
    at: OffsetDateTime,
) -> Vec<LinkOutcome> {
    store
        .link(account, kind, pairs, at)
        .await
        .unwrap_or_else(|e| panic!("link({pairs:?}) failed: {e:?}"))
}

/// Links pairs that must all be new.
async fn link_new(
    store: &dyn Store,
    account: AccountId,
    kind: LinkKind,
    pairs: &[(i64, i64)],
    at: OffsetDateTime,
) {
    let out = link(store, account, kind, pairs, at).await;
    assert_eq!(
        out,
        vec![LinkOutcome::Linked; pairs.len()],
        "linking fresh pairs {pairs:?}"
    );
}

/// A page of links from one side.
async fn links_from(
    store: &dyn Store,
    account: AccountId,
    kind: LinkKind,
    side: Side,
    limit: i64,
    offset: i64,
) -> (Vec<Link>, i64) {
    store
        .list_links(account, kind, side, limit, offset)
        .await
        .unwrap_or_else(|e| panic!("list_links({side:?}, {limit}, {offset}) failed: {e:?}"))
}

/// Every link of `a_ids` as sorted `(a, b)` pairs.
async fn pairs_of(
    store: &dyn Store,
    account: AccountId,
    kind: LinkKind,
    a_ids: &[i64],
) -> Vec<(i64, i64)> {
    let mut v: Vec<_> = store
        .links_of(account, kind, a_ids)
        .await
        .unwrap_or_else(|e| panic!("links_of({a_ids:?}) failed: {e:?}"))
        .into_iter()
        .map(|l| (l.a, l.b))
        .collect();
    v.sort_unstable();
    v
}

/// `t + ms` milliseconds.
fn ms(t: OffsetDateTime, ms: i64) -> OffsetDateTime {
    t + Duration::milliseconds(ms)
}

// ---------------------------------------------------------------------------------------------
// Ids
// ---------------------------------------------------------------------------------------------

/// Ids come from a sequence per (account, kind): account A's first contact is 1 and so is
/// account B's; A's first tag is 1 too. `create` receives the id the record gets.
pub async fn ids_are_per_account_and_kind(store: &dyn Store) {
    // Arrange
    let a = account(store).await.id;
    let b = account(store).await.id;
    let t = now();
    let seen = Arc::new(AtomicI64::new(0));
    let seen2 = Arc::clone(&seen);
    // Act
    let first = store
        .insert_record(
            a,
            CONTACT,
            Box::new(move |id| {
                seen2.store(id, Ordering::SeqCst);
                Ok(NewRecord {
                    data: json!({ "who": "a1" }),
                    keys: Keys::default(),
                })
            }),
            t,
        )
        .await;
    let b1 = insert(
        store,
        b,
        CONTACT,
        json!({ "who": "b1" }),
        Keys::default(),
        t,
    )
    .await;
    let a2 = insert(
        store,
        a,
        CONTACT,
        json!({ "who": "a2" }),
        Keys::default(),
        t,
    )
    .await;
    let a_tag = insert(store, a, TAG, json!({ "who": "a-tag" }), Keys::default(), t).await;
    let b2 = insert(
        store,
        b,
        CONTACT,
        json!({ "who": "b2" }),
        Keys::default(),
        t,
    )
    .await;
    // Assert
    let a1 = match first {
        Ok(Edited::Updated(r)) => r,
        other => panic!("first insert must store, got {other:?}"),
    };
    assert_eq!(a1.id, 1, "account A's first contact is id 1");
    assert_eq!(
        seen.load(Ordering::SeqCst),
        1,
        "create is called with the id the record gets"
    );
    assert_eq!(b1.id, 1, "account B's first contact is id 1 too");
    assert_eq!(a2.id, 2);
    assert_eq!(a_tag.id, 1, "tags have their own sequence");
    assert_eq!(b2.id, 2);
    assert_eq!(get(store, a, CONTACT, 1).await.data, json!({ "who": "a1" }));
    assert_eq!(get(store, b, CONTACT, 1).await.data, json!({ "who": "b1" }));
    assert_eq!(get(store, a, TAG, 1).await.data, json!({ "who": "a-tag" }));
}

/// A deleted id is never handed out again, not even the highest one.
pub async fn ids_are_never_reused_after_delete(store: &dyn Store) {
    // Arrange
    let a = account(store).await.id;
    assert_eq!(insert_n(store, a, CONTACT, 3).await, vec![1, 2, 3]);
    // Act / Assert
    store.delete_record(a, CONTACT, 3).await.expect("delete 3");
    assert_eq!(
        insert_n(store, a, CONTACT, 1).await,
        vec![4],
        "3 was deleted and is not reused"
    );
    for id in [4, 1, 2] {
        store.delete_record(a, CONTACT, id).await.expect("delete");
    }
    assert_eq!(count(store, a, CONTACT).await, 0);
    assert_eq!(
        insert_n(store, a, CONTACT, 1).await,
        vec![5],
        "an emptied kind keeps counting"
    );
}

// ---------------------------------------------------------------------------------------------
// Insert, get, update, delete
// ---------------------------------------------------------------------------------------------

/// A record reads back as inserted: document, times (`updated_at` = `created_at` = now) and
/// every key column.
pub async fn record_round_trip(store: &dyn Store) {
    // Arrange
    let a = account(store).await.id;
    let t = now();
    let data = json!({
        "given_name": "Ada",
        "email_addresses": [{ "email": "ada@example.com", "field": "EMAIL1" }],
        "nested": { "x": 1.5, "n": null, "b": true, "big": 9_007_199_254_740_993_i64 },
        "text": "Ünïcødé ✓ 'quoted' \"double\" \\ %_"
    });
    let mut k = K::new().unique("ada@example.com");
    for i in 0..TEXT_KEYS {
        k = k.text(i, &format!("text-{i}"));
    }
    for i in 0..INT_KEYS {
        k = k.int(i, 100 + i64::try_from(i).unwrap_or(0));
    }
    // Act
    let r = insert(store, a, CONTACT, data.clone(), k.done(), t).await;
    // Assert
    assert_eq!(r.data, data, "the document is stored as given");
    assert_eq!(
        (r.created_at, r.updated_at),
        (t, t),
        "created_at = updated_at = now"
    );
    assert_eq!(
        get(store, a, CONTACT, r.id).await,
        r,
        "get_record returns what insert returned"
    );
    for i in 0..TEXT_KEYS {
        assert_eq!(
            find(
                store,
                a,
                CONTACT,
                vec![Cond::TextEq(i, format!("text-{i}"))]
            )
            .await,
            vec![r.id],
            "k{i}"
        );
    }
    for i in 0..INT_KEYS {
        let v = 100 + i64::try_from(i).unwrap_or(0);
        assert_eq!(
            find(store, a, CONTACT, vec![Cond::IntEq(i, v)]).await,
            vec![r.id],
            "n{i}"
        );
    }
}

/// `get_records` returns the existing ids among those asked for, in id order.
pub async fn get_records_returns_id_order_and_skips_missing(store: &dyn Store) {
    // Arrange
    let a = account(store).await.id;
    insert_n(store, a, CONTACT, 5).await;
    store.delete_record(a, CONTACT, 3).await.expect("delete 3");
    // Act
    let got = store
        .get_records(a, CONTACT, &[5, 1, 3, 4, 1000, -1])
        .await
        .expect("get_records");
    let none = store
        .get_records(a, CONTACT, &[])
        .await
        .expect("get_records of nothing");
    // Assert
    let ids: Vec<i64> = got.iter().map(|r| r.id).collect();
    assert_eq!(ids, vec![1, 4, 5]);
    assert_eq!(
        got[1].data,
        json!({ "i": 3 }),
        "record 4 is the fourth inserted"
    );
    assert!(none.is_empty());
}

/// Another account's id, another kind's id and a never-used id all answer `NotFound` on get, and
/// are skipped by `get_records`.
pub async fn get_of_missing_or_other_accounts_record_is_not_found(store: &dyn Store) {
    // Arrange
    let a = account(store).await.id;
    let b = account(store).await.id;
    insert(
        store,
        a,
        CONTACT,
        json!({ "who": "a" }),
        Keys::default(),
        now(),
    )
    .await;
    insert_n(store, a, TAG, 2).await;
    insert_n(store, b, CONTACT, 3).await;
    // Act / Assert
    assert_not_found(
        store.get_record(a, CONTACT, 3).await,
        "B's contact 3 read from A",
    );
    assert_not_found(
        store.get_record(a, CONTACT, 2).await,
        "A's tag 2 read as a contact",
    );
    for id in [0, -1, 99, i64::MAX] {
        assert_not_found(store.get_record(a, CONTACT, id).await, "never-used id");
    }
    let got = store
        .get_records(a, CONTACT, &[3, 1, 2])
        .await
        .expect("get_records");
    assert_eq!(got.len(), 1, "only A's own contact 1: {got:?}");
    assert_eq!(got[0].data, json!({ "who": "a" }));
}

/// `update_record` runs the edit on the stored document with the record's id, stores the new
/// document and keys, sets `updated_at` and keeps `created_at`.
pub async fn update_record_edits_document_and_keys(store: &dyn Store) {
    // Arrange
    let a = account(store).await.id;
    let t0 = now();
    let t1 = t0 + Duration::seconds(5);
    let old = json!({ "name": "old", "n": 1 });
    let r = insert(
        store,
        a,
        CONTACT,
        old.clone(),
        K::new().text(0, "old").int(0, 1).done(),
        t0,
    )
    .await;
    let seen: Arc<Mutex<Option<(i64, Value)>>> = Arc::default();
    let seen2 = Arc::clone(&seen);
    // Act
    let u = update(
        store,
        a,
        CONTACT,
        r.id,
        Box::new(move |id, doc| {
            *seen2.lock().expect("not poisoned") = Some((id, doc.clone()));
            doc["name"] = json!("new");
            Ok(K::new().text(0, "new").int(0, 2).done())
        }),
        t1,
    )
    .await;
    // Assert
    let seen = seen.lock().expect("not poisoned").clone();
    assert_eq!(
        seen,
        Some((r.id, old)),
        "the edit sees the id and the stored document"
    );
    assert_eq!(u.id, r.id);
    assert_eq!(u.data, json!({ "name": "new", "n": 1 }));
    assert_eq!(
        (u.created_at, u.updated_at),
        (t0, t1),
        "created_at kept, updated_at = now"
    );
    assert_eq!(get(store, a, CONTACT, r.id).await, u, "the edit is stored");
    assert!(
        find(store, a, CONTACT, vec![Cond::TextEq(0, "old".into())])
            .await
            .is_empty(),
        "old key replaced"
    );
    assert_eq!(
        find(store, a, CONTACT, vec![Cond::TextEq(0, "new".into())]).await,
        vec![r.id]
    );
    assert_eq!(
        find(store, a, CONTACT, vec![Cond::IntEq(0, 2)]).await,
        vec![r.id]
    );
    assert!(
        find(store, a, CONTACT, vec![Cond::IntEq(0, 1)])
            .await
            .is_empty()
    );
}

/// Updating or deleting another account's id answers `NotFound` exactly like a never-used id,
/// never runs the edit, and leaves the other account's record as it was.
pub async fn update_or_delete_of_other_accounts_id_is_not_found(store: &dyn Store) {
    // Arrange
    let a = account(store).await.id;
    let b = account(store).await.id;
    insert_n(store, a, CONTACT, 1).await;
    insert_n(store, b, CONTACT, 3).await;
    let b3 = get(store, b, CONTACT, 3).await;
    let called = Arc::new(AtomicBool::new(false));
    let edit = |called: &Arc<AtomicBool>| -> Edit {
        let called = Arc::clone(called);
        Box::new(move |_, doc| {
            called.store(true, Ordering::SeqCst);
            *doc = json!({ "hijacked": true });
            Ok(K::new().text(0, "hijacked").done())
        })
    };
    // Act / Assert
    let later = now() + Duration::minutes(1);
    assert_not_found(
        store
            .update_record(a, CONTACT, 3, edit(&called), later)
            .await,
        "update of B's id from A",
    );
    assert_not_found(
        store
            .update_record(a, CONTACT, 99, edit(&called), later)
            .await,
        "update of a never-used id",
    );
    assert_not_found(
        store.update_record(a, TAG, 1, edit(&called), later).await,
        "update of a contact id as a tag",
    );
    assert!(
        !called.load(Ordering::SeqCst),
        "the edit never runs for a record the account does not have"
    );
    assert_not_found(
        store.delete_record(a, CONTACT, 3).await,
        "delete of B's id from A",
    );
    assert_not_found(
        store.delete_record(a, CONTACT, 99).await,
        "delete of a never-used id",
    );
    assert_not_found(
        store.delete_record(a, TAG, 1).await,
        "delete of a contact id as a tag",
    );
    assert_eq!(
        get(store, b, CONTACT, 3).await,
        b3,
        "B's record is untouched"
    );
    assert_eq!(count(store, b, CONTACT).await, 3);
    assert_eq!(
        count(store, a, CONTACT).await,
        1,
        "A's own contact is untouched"
    );
    assert!(
        find(store, b, CONTACT, vec![Cond::TextEq(0, "hijacked".into())])
            .await
            .is_empty()
    );
}

/// A deleted record is gone (get, list, keys) and a second delete is `NotFound`.
pub async fn delete_record_deletes_once(store: &dyn Store) {
    // Arrange
    let a = account(store).await.id;
    let r1 = insert(
        store,
        a,
        CONTACT,
        json!({}),
        K::new().text(0, "gone").unique("u").done(),
        now(),
    )
    .await;
    let r2 = insert(
        store,
        a,
        CONTACT,
        json!({}),
        K::new().text(0, "kept").done(),
        now(),
    )
    .await;
    // Act
    store
        .delete_record(a, CONTACT, r1.id)
        .await
        .expect("delete an existing record");
    // Assert
    assert_not_found(store.get_record(a, CONTACT, r1.id).await, "deleted record");
    assert_not_found(
        store.delete_record(a, CONTACT, r1.id).await,
        "second delete",
    );
    assert_eq!(find(store, a, CONTACT, vec![]).await, vec![r2.id]);
    assert!(
        find(store, a, CONTACT, vec![Cond::TextEq(0, "gone".into())])
            .await
            .is_empty()
    );
}

/// A refused create stores nothing and consumes no id.
pub async fn rejected_insert_changes_nothing(store: &dyn Store) {
    // Arrange
    let a = account(store).await.id;
    // Act
    let r = store
        .insert_record(
            a,
            CONTACT,
            Box::new(|_| Err("name is required".to_owned())),
            now(),
        )
        .await;
    // Assert
    match r {
        Ok(Edited::Rejected(m)) => assert_eq!(
            m, "name is required",
            "the refusal message is passed through"
        ),
        other => panic!("a refused create must be Rejected, got {other:?}"),
    }
    assert_eq!(count(store, a, CONTACT).await, 0, "nothing stored");
    assert_eq!(
        insert_n(store, a, CONTACT, 1).await,
        vec![1],
        "the refused create consumed no id"
    );
}

/// A refused edit changes nothing, even though it mutated the document before refusing.
pub async fn rejected_edit_changes_nothing(store: &dyn Store) {
    // Arrange
    let a = account(store).await.id;
    let t0 = now();
    let r = insert(
        store,
        a,
        CONTACT,
        json!({ "name": "kept" }),
        K::new().text(0, "kept").done(),
        t0,
    )
    .await;
    // Act
    let out = store
        .update_record(
            a,
            CONTACT,
            r.id,
            Box::new(|_, doc| {
                doc["name"] = json!("changed");
                Err("email is invalid".to_owned())
            }),
            t0 + Duration::minutes(1),
        )
        .await;
    // Assert
    match out {
        Ok(Edited::Rejected(m)) => assert_eq!(m, "email is invalid"),
        other => panic!("a refused edit must be Rejected, got {other:?}"),
    }
    assert_eq!(
        get(store, a, CONTACT, r.id).await,
        r,
        "document and updated_at unchanged"
    );
    assert_eq!(
        find(store, a, CONTACT, vec![Cond::TextEq(0, "kept".into())]).await,
        vec![r.id]
    );
}

/// A clashing `unique` key on insert is `Conflict { what: "unique" }`, stores nothing and
/// consumes no id. The key is unique per (account, kind) only, and absent keys never clash.
pub async fn unique_key_conflict_on_insert_writes_nothing(store: &dyn Store) {
    // Arrange
    let a = account(store).await.id;
    let b = account(store).await.id;
    let t = now();
    insert(
        store,
        a,
        CONTACT,
        json!({ "n": 1 }),
        K::new().unique("ada@example.com").done(),
        t,
    )
    .await;
    // Act
    let clash = store
        .insert_record(
            a,
            CONTACT,
            create(
                json!({ "n": 2 }),
                K::new().text(0, "second").unique("ada@example.com").done(),
            ),
            t,
        )
        .await;
    // Assert
    assert_conflict(clash, "unique");
    assert_eq!(count(store, a, CONTACT).await, 1, "nothing stored");
    assert!(
        find(store, a, CONTACT, vec![Cond::TextEq(0, "second".into())])
            .await
            .is_empty()
    );
    let next = insert(
        store,
        a,
        CONTACT,
        json!({}),
        K::new().unique("bob@example.com").done(),
        t,
    )
    .await;
    assert_eq!(next.id, 2, "the conflicting insert consumed no id");
    insert(
        store,
        b,
        CONTACT,
        json!({}),
        K::new().unique("ada@example.com").done(),
        t,
    )
    .await;
    insert(
        store,
        a,
        TAG,
        json!({}),
        K::new().unique("ada@example.com").done(),
        t,
    )
    .await;
    insert(store, a, CONTACT, json!({}), Keys::default(), t).await;
    insert(store, a, CONTACT, json!({}), Keys::default(), t).await;
    assert_eq!(
        count(store, a, CONTACT).await,
        4,
        "records without a unique key never clash"
    );
}

/// An edit that sets another record's `unique` key is `Conflict { what: "unique" }` and changes
/// nothing; keeping one's own key is no clash; a key freed by an edit or a delete is reusable.
pub async fn unique_key_conflict_on_update_changes_nothing(store: &dyn Store) {
    // Arrange
    let a = account(store).await.id;
    let t = now();
    let r1 = insert(
        store,
        a,
        CONTACT,
        json!({ "n": 1 }),
        K::new().unique("x").done(),
        t,
    )
    .await;
    let r2 = insert(
        store,
        a,
        CONTACT,
        json!({ "n": 2 }),
        K::new().text(0, "two").unique("y").done(),
        t,
    )
    .await;
    // Act
    let clash = store
        .update_record(
            a,
            CONTACT,
            r2.id,
            replace(json!({ "n": 22 }), K::new().unique("x").done()),
            ms(t, 1),
        )
        .await;
    // Assert
    assert_conflict(clash, "unique");
    assert_eq!(
        get(store, a, CONTACT, r2.id).await,
        r2,
        "the clashing edit changed nothing"
    );
    assert_eq!(
        find(store, a, CONTACT, vec![Cond::TextEq(0, "two".into())]).await,
        vec![r2.id]
    );
    update(
        store,
        a,
        CONTACT,
        r1.id,
        replace(json!({ "n": 11 }), K::new().unique("x").done()),
        ms(t, 2),
    )
    .await;
    update(
        store,
        a,
        CONTACT,
        r2.id,
        replace(json!({ "n": 2 }), Keys::default()),
        ms(t, 3),
    )
    .await;
    let r3 = insert(store, a, CONTACT, json!({}), K::new().unique("y").done(), t).await;
    assert_eq!(r3.id, 3, "'y' was freed by the edit");
    store
        .delete_record(a, CONTACT, r1.id)
        .await
        .expect("delete r1");
    insert(store, a, CONTACT, json!({}), K::new().unique("x").done(), t).await;
}

// ---------------------------------------------------------------------------------------------
// Listing: conditions
// ---------------------------------------------------------------------------------------------

/// `TextEq` is byte-exact: `%` and `_` are literal, case and trailing spaces matter, and each
/// column is compared on its own.
pub async fn text_eq_is_exact(store: &dyn Store) {
    // Arrange
    let a = account(store).await.id;
    let values = ["a%", "abc", "a_c", "aXc", "ABC", "a", "abc ", "a\\%"];
    let mut ids = Vec::new();
    for v in values {
        ids.push(
            insert(
                store,
                a,
                CONTACT,
                json!({ "v": v }),
                K::new().text(0, v).done(),
                now(),
            )
            .await
            .id,
        );
    }
    let id = |v: &str| {
        ids[values
            .iter()
            .position(|x| *x == v)
            .expect("a value of the table")]
    };
    let eq = |v: &str| vec![Cond::TextEq(0, v.to_owned())];
    // Act / Assert
    for v in values {
        assert_eq!(
            find(store, a, CONTACT, eq(v)).await,
            vec![id(v)],
            "TextEq(0, {v:?}) matches only itself"
        );
    }
    assert!(
        find(store, a, CONTACT, eq("%")).await.is_empty(),
        "'%' is not a wildcard"
    );
    assert!(
        find(store, a, CONTACT, eq("a%c")).await.is_empty(),
        "'a%c' does not match 'abc'"
    );
    assert!(
        find(store, a, CONTACT, eq("___")).await.is_empty(),
        "'_' is not a wildcard"
    );
    assert!(
        find(store, a, CONTACT, eq("Abc")).await.is_empty(),
        "no case folding in the store"
    );
    assert!(find(store, a, CONTACT, eq("")).await.is_empty());
    assert!(
        find(store, a, CONTACT, vec![Cond::TextEq(1, "abc".into())])
            .await
            .is_empty(),
        "k1 is not k0"
    );
}

/// `AnyTextEq` matches when any of the named columns equals the value (exactly); an empty column
/// list matches nothing.
pub async fn any_text_eq_matches_any_named_column(store: &dyn Store) {
    // Arrange
    let a = account(store).await.id;
    let t = now();
    let r1 = insert(
        store,
        a,
        CONTACT,
        json!({}),
        K::new().text(0, "x").done(),
        t,
    )
    .await
    .id;
    let r2 = insert(
        store,
        a,
        CONTACT,
        json!({}),
        K::new().text(2, "x").done(),
        t,
    )
    .await
    .id;
    let r3 = insert(
        store,
        a,
        CONTACT,
        json!({}),
        K::new().text(1, "x").done(),
        t,
    )
    .await
    .id;
    let r4 = insert(
        store,
        a,
        CONTACT,
        json!({}),
        K::new().text(0, "y").text(2, "x%").done(),
        t,
    )
    .await
    .id;
    let r5 = insert(
        store,
        a,
        CONTACT,
        json!({}),
        K::new().text(0, "x").text(2, "x").done(),
        t,
    )
    .await
    .id;
    let any = |cols: &[usize], v: &str| vec![Cond::AnyTextEq(cols.to_vec(), v.to_owned())];
    // Act / Assert
    assert_eq!(
        find(store, a, CONTACT, any(&[0, 2], "x")).await,
        vec![r1, r2, r5],
        "once each"
    );
    assert_eq!(find(store, a, CONTACT, any(&[1], "x")).await, vec![r3]);
    assert_eq!(
        find(store, a, CONTACT, any(&[0, 1, 2], "x")).await,
        vec![r1, r2, r3, r5]
    );
    assert_eq!(
        find(store, a, CONTACT, any(&[0, 2], "x%")).await,
        vec![r4],
        "'%' literal"
    );
    assert!(
        find(store, a, CONTACT, any(&[3, 4, 5], "x"))
            .await
            .is_empty()
    );
    assert!(
        find(store, a, CONTACT, any(&[], "x")).await.is_empty(),
        "no columns match nothing"
    );
}

/// `IntEq` and `IntIsNull` per integer column (0 is not NULL).
pub async fn int_eq_and_int_is_null(store: &dyn Store) {
    // Arrange
    let a = account(store).await.id;
    let t = now();
    let r1 = insert(store, a, CONTACT, json!({}), K::new().int(0, 5).done(), t)
        .await
        .id;
    let r2 = insert(store, a, CONTACT, json!({}), K::new().int(0, -5).done(), t)
        .await
        .id;
    let r3 = insert(store, a, CONTACT, json!({}), K::new().int(1, 5).done(), t)
        .await
        .id;
    let r4 = insert(
        store,
        a,
        CONTACT,
        json!({}),
        K::new().int(0, i64::MAX).int(1, 0).done(),
        t,
    )
    .await
    .id;
    // Act / Assert
    assert_eq!(
        find(store, a, CONTACT, vec![Cond::IntEq(0, 5)]).await,
        vec![r1]
    );
    assert_eq!(
        find(store, a, CONTACT, vec![Cond::IntEq(0, -5)]).await,
        vec![r2]
    );
    assert_eq!(
        find(store, a, CONTACT, vec![Cond::IntEq(0, i64::MAX)]).await,
        vec![r4]
    );
    assert_eq!(
        find(store, a, CONTACT, vec![Cond::IntEq(1, 5)]).await,
        vec![r3]
    );
    assert_eq!(
        find(store, a, CONTACT, vec![Cond::IntEq(1, 0)]).await,
        vec![r4]
    );
    assert_eq!(
        find(store, a, CONTACT, vec![Cond::IntIsNull(0)]).await,
        vec![r3]
    );
    assert_eq!(
        find(store, a, CONTACT, vec![Cond::IntIsNull(1)]).await,
        vec![r1, r2],
        "0 is not NULL"
    );
    assert_eq!(
        find(store, a, CONTACT, vec![Cond::IntIsNull(2)]).await,
        vec![r1, r2, r3, r4]
    );
    assert!(
        find(store, a, CONTACT, vec![Cond::IntEq(2, 0)])
            .await
            .is_empty()
    );
}

/// `IdIn` selects the listed ids that exist in this account and kind; an empty list matches
/// nothing; duplicates do not duplicate rows.
pub async fn id_in_selects_listed_ids(store: &dyn Store) {
    // Arrange
    let a = account(store).await.id;
    let b = account(store).await.id;
    insert_n(store, a, CONTACT, 5).await;
    insert_n(store, b, CONTACT, 7).await;
    store.delete_record(a, CONTACT, 4).await.expect("delete 4");
    // Act / Assert
    assert_eq!(
        find(store, a, CONTACT, vec![Cond::IdIn(vec![5, 2, 4, 7, 99])]).await,
        vec![2, 5]
    );
    assert_eq!(
        find(store, a, CONTACT, vec![Cond::IdIn(vec![2, 2])]).await,
        vec![2]
    );
    assert!(
        find(store, a, CONTACT, vec![Cond::IdIn(vec![])])
            .await
            .is_empty(),
        "empty IdIn matches nothing"
    );
    assert!(
        find(store, a, TAG, vec![Cond::IdIn(vec![1, 2])])
            .await
            .is_empty(),
        "other kind"
    );
}

/// `UpdatedSince` and `UpdatedUntil` are inclusive bounds on `updated_at`.
pub async fn updated_since_and_until_are_inclusive(store: &dyn Store) {
    // Arrange
    let a = account(store).await.id;
    let t0 = now();
    let r1 = insert(store, a, CONTACT, json!({}), Keys::default(), t0)
        .await
        .id;
    let r2 = insert(store, a, CONTACT, json!({}), Keys::default(), ms(t0, 1))
        .await
        .id;
    let r3 = insert(store, a, CONTACT, json!({}), Keys::default(), ms(t0, 2))
        .await
        .id;
    let since = |t| Cond::UpdatedSince(t);
    let until = |t| Cond::UpdatedUntil(t);
    // Act / Assert
    assert_eq!(
        find(store, a, CONTACT, vec![since(ms(t0, 1))]).await,
        vec![r2, r3]
    );
    assert_eq!(
        find(store, a, CONTACT, vec![until(ms(t0, 1))]).await,
        vec![r1, r2]
    );
    assert_eq!(
        find(store, a, CONTACT, vec![since(ms(t0, 1)), until(ms(t0, 1))]).await,
        vec![r2]
    );
    assert!(
        find(store, a, CONTACT, vec![since(ms(t0, 3))])
            .await
            .is_empty()
    );
    assert!(
        find(store, a, CONTACT, vec![until(ms(t0, -1))])
            .await
            .is_empty()
    );
    update(
        store,
        a,
        CONTACT,
        r1,
        replace(json!({ "v": 2 }), Keys::default()),
        ms(t0, 5),
    )
    .await;
    assert_eq!(
        find(store, a, CONTACT, vec![since(ms(t0, 3))]).await,
        vec![r1],
        "an edit moves updated_at"
    );
    assert_eq!(
        find(store, a, CONTACT, vec![until(ms(t0, 4))]).await,
        vec![r2, r3]
    );
}

/// `LinkedTo(kind, b)` selects the records linked as `a` to `b` with that link kind, in this
/// account only.
pub async fn linked_to_selects_records_linked_to_b(store: &dyn Store) {
    // Arrange: in A, contacts 1..4, tags 1..2, company 1; in B the same ids with other links.
    let a = account(store).await.id;
    let b = account(store).await.id;
    let t = now();
    for acct in [a, b] {
        insert_n(store, acct, CONTACT, 4).await;
        insert_n(store, acct, TAG, 2).await;
        insert_n(store, acct, COMPANY, 1).await;
    }
    link_new(store, a, CT, &[(1, 1), (2, 1), (2, 2)], t).await;
    link_new(store, a, CO_T, &[(1, 2)], t).await;
    link_new(store, b, CT, &[(3, 1), (4, 1), (1, 2)], t).await;
    let to = |tag| Cond::LinkedTo(CT, tag);
    // Act / Assert
    assert_eq!(find(store, a, CONTACT, vec![to(1)]).await, vec![1, 2]);
    assert_eq!(
        find(store, a, CONTACT, vec![to(2)]).await,
        vec![2],
        "company 1's tag is not contact 1's"
    );
    assert_eq!(
        find(store, a, CONTACT, vec![to(1), to(2)]).await,
        vec![2],
        "conditions AND"
    );
    assert!(find(store, a, CONTACT, vec![to(99)]).await.is_empty());
    assert_eq!(
        find(store, a, COMPANY, vec![Cond::LinkedTo(CO_T, 2)]).await,
        vec![1]
    );
    assert_eq!(
        find(store, b, CONTACT, vec![to(1)]).await,
        vec![3, 4],
        "B sees only its own links"
    );
    let removed = store.unlink(a, CT, &[(2, 1)]).await.expect("unlink");
    assert_eq!(removed, 1);
    assert_eq!(find(store, a, CONTACT, vec![to(1)]).await, vec![1]);
}

/// Conditions combine with AND, across every variant at once.
pub async fn conditions_combine_with_and(store: &dyn Store) {
    // Arrange
    let a = account(store).await.id;
    let t = now();
    let mut ids = Vec::new();
    for i in 0..6_i64 {
        let k = K::new()
            .text(0, if i % 2 == 0 { "even" } else { "odd" })
            .text(3, "z")
            .int(0, i % 3);
        ids.push(
            insert(store, a, CONTACT, json!({ "i": i }), k.done(), ms(t, i))
                .await
                .id,
        );
    }
    insert_n(store, a, TAG, 1).await;
    link_new(
        store,
        a,
        CT,
        &[(ids[0], 1), (ids[2], 1), (ids[3], 1), (ids[4], 1)],
        t,
    )
    .await;
    // Act
    let got = find(
        store,
        a,
        CONTACT,
        vec![
            Cond::TextEq(0, "even".into()),
            Cond::AnyTextEq(vec![1, 3], "z".into()),
            Cond::IdIn(ids.clone()),
            Cond::UpdatedSince(ms(t, 1)),
            Cond::UpdatedUntil(ms(t, 4)),
            Cond::LinkedTo(CT, 1),
            Cond::IntIsNull(1),
        ],
    )
    .await;
    let one = find(
        store,
        a,
        CONTACT,
        vec![Cond::TextEq(0, "even".into()), Cond::IntEq(0, 1)],
    )
    .await;
    // Assert: i in {2, 4} are even, linked, and inside [t+1, t+4].
    assert_eq!(got, vec![ids[2], ids[4]]);
    assert_eq!(one, vec![ids[4]], "i = 4: even and 4 % 3 = 1");
}

/// Listing sees only this account's records of this kind.
pub async fn list_is_per_account_and_kind(store: &dyn Store) {
    // Arrange
    let a = account(store).await.id;
    let b = account(store).await.id;
    let t = now();
    for _ in 0..3 {
        insert(
            store,
            a,
            CONTACT,
            json!({}),
            K::new().text(0, "same").done(),
            t,
        )
        .await;
    }
    for _ in 0..2 {
        insert(store, a, TAG, json!({}), K::new().text(0, "same").done(), t).await;
    }
    for _ in 0..4 {
        insert(
            store,
            b,
            CONTACT,
            json!({}),
            K::new().text(0, "same").done(),
            t,
        )
        .await;
    }
    // Act / Assert
    assert_eq!(find(store, a, CONTACT, vec![]).await, vec![1, 2, 3]);
    assert_eq!(
        find(store, a, CONTACT, vec![Cond::TextEq(0, "same".into())]).await,
        vec![1, 2, 3]
    );
    assert_eq!(
        find(store, a, TAG, vec![Cond::TextEq(0, "same".into())]).await,
        vec![1, 2]
    );
    assert_eq!(
        find(store, b, CONTACT, vec![Cond::TextEq(0, "same".into())]).await,
        vec![1, 2, 3, 4]
    );
    assert!(find(store, b, TAG, vec![]).await.is_empty());
}

// ---------------------------------------------------------------------------------------------
// Listing: order and paging
// ---------------------------------------------------------------------------------------------

/// One row of the ordering model.
struct Row {
    id: i64,
    text: Vec<String>,
    int: Vec<i64>,
    created: i64,
    updated: i64,
}

/// A sortable value of one column.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
enum SortVal<'a> {
    Int(i64),
    Text(&'a str),
}

impl Row {
    fn val(&self, c: Column) -> SortVal<'_> {
        match c {
            Column::Id => SortVal::Int(self.id),
            Column::CreatedAt => SortVal::Int(self.created),
            Column::UpdatedAt => SortVal::Int(self.updated),
            Column::Text(i) => SortVal::Text(&self.text[i]),
            Column::Int(i) => SortVal::Int(self.int[i]),
        }
    }
}

/// Ordering by every column, ascending and descending, with ties broken by id in the same
/// direction. Text orders byte-wise ("A" < "B" < "_" < "a" < "ab" < "b" < "é"), so both backends
/// page identically.
pub async fn list_orders_by_every_column_both_ways_with_id_tie_break(store: &dyn Store) {
    // Arrange: nine records, each column with ties, each key set (NULL order is unspecified).
    let a = account(store).await.id;
    let t0 = now();
    let texts = ["b", "B", "a", "a", "ab", "A", "b", "é", "_"];
    let ints = [3, -1, 3, 0, i64::MIN, 7, -1, 3, i64::MAX];
    let created = [2, 0, 2, 1, 5, 0, 3, 1, 2];
    let updated = [10, 12, 10, 15, 11, 12, 10, 13, 14];
    let mut model = Vec::new();
    for j in 0..9 {
        let text: Vec<String> = (0..TEXT_KEYS)
            .map(|i| texts[(j + 2 * i) % 9].to_owned())
            .collect();
        let int: Vec<i64> = (0..INT_KEYS).map(|i| ints[(j + 4 * i) % 9]).collect();
        let mut k = K::new();
        for (i, v) in text.iter().enumerate() {
            k = k.text(i, v);
        }
        for (i, v) in int.iter().enumerate() {
            k = k.int(i, *v);
        }
        let keys = k.done();
        let r = insert(
            store,
            a,
            CONTACT,
            json!({ "j": j }),
            keys.clone(),
            ms(t0, created[j]),
        )
        .await;
        update(
            store,
            a,
            CONTACT,
            r.id,
            replace(json!({ "j": j, "edited": true }), keys),
            ms(t0, 100 + updated[j]),
        )
        .await;
        model.push(Row {
            id: r.id,
            text,
            int,
            created: created[j],
            updated: 100 + updated[j],
        });
    }
    let mut columns = vec![Column::Id, Column::CreatedAt, Column::UpdatedAt];
    columns.extend((0..TEXT_KEYS).map(Column::Text));
    columns.extend((0..INT_KEYS).map(Column::Int));
    // Act / Assert
    for order in columns {
        for descending in [false, true] {
            let mut expected: Vec<&Row> = model.iter().collect();
            expected.sort_by(|x, y| x.val(order).cmp(&y.val(order)).then(x.id.cmp(&y.id)));
            if descending {
                expected.reverse();
            }
            let expected: Vec<i64> = expected.iter().map(|r| r.id).collect();
            let q = Query {
                order,
                descending,
                ..Query::default()
            };
            let (ids, total) = list(store, a, CONTACT, q).await;
            assert_eq!(
                ids, expected,
                "order by {order:?}, descending = {descending}"
            );
            assert_eq!(total, 9);
            // Pages of two, concatenated, give the same order.
            let mut paged = Vec::new();
            for offset in (0..10).step_by(2) {
                let q = Query {
                    order,
                    descending,
                    limit: 2,
                    offset,
                    ..Query::default()
                };
                paged.extend(list(store, a, CONTACT, q).await.0);
            }
            assert_eq!(
                paged, expected,
                "pages of 2 by {order:?}, descending = {descending}"
            );
        }
    }
}

/// `limit` and `offset` page the result; the total counts every match regardless of paging; an
/// offset past the end gives an empty page and the right total.
pub async fn list_pages_with_limit_offset_and_total(store: &dyn Store) {
    // Arrange
    let a = account(store).await.id;
    let t = now();
    for i in 1..=7_i64 {
        let parity = if i % 2 == 0 { "even" } else { "odd" };
        insert(
            store,
            a,
            CONTACT,
            json!({ "i": i }),
            K::new().text(0, parity).done(),
            t,
        )
        .await;
    }
    let page = |limit, offset| Query {
        limit,
        offset,
        ..Query::default()
    };
    // Act / Assert
    let cases: [(i64, i64, Vec<i64>); 9] = [
        (3, 0, vec![1, 2, 3]),
        (3, 3, vec![4, 5, 6]),
        (3, 6, vec![7]),
        (3, 7, vec![]),
        (3, 100, vec![]),
        (0, 0, vec![]),
        (100, 0, vec![1, 2, 3, 4, 5, 6, 7]),
        (2, 5, vec![6, 7]),
        (1, 3, vec![4]),
    ];
    for (limit, offset, expected) in cases {
        let (ids, total) = list(store, a, CONTACT, page(limit, offset)).await;
        assert_eq!(
            (ids, total),
            (expected, 7),
            "limit {limit}, offset {offset}"
        );
    }
    let desc = Query {
        descending: true,
        ..page(3, 0)
    };
    assert_eq!(list(store, a, CONTACT, desc).await, (vec![7, 6, 5], 7));
    let filtered = Query {
        conds: vec![Cond::TextEq(0, "even".into())],
        ..page(1, 1)
    };
    assert_eq!(
        list(store, a, CONTACT, filtered).await,
        (vec![4], 3),
        "total counts the filtered matches"
    );
    let past = Query {
        conds: vec![Cond::TextEq(0, "odd".into())],
        ..page(10, 4)
    };
    assert_eq!(
        list(store, a, CONTACT, past).await,
        (vec![], 4),
        "offset past the end"
    );
}

// ---------------------------------------------------------------------------------------------
// Links
// ---------------------------------------------------------------------------------------------

/// `link` reports each pair: `Linked`, `AlreadyLinked` (keeping the original time), `MissingA`,
/// `MissingB`, where a record of another account or of the other kind counts as missing.
pub async fn link_reports_each_pairs_outcome(store: &dyn Store) {
    // Arrange: A has contacts 1..2 and tags 1..3; B has contacts and tags 1..5.
    let a = account(store).await.id;
    let b = account(store).await.id;
    insert_n(store, a, CONTACT, 2).await;
    insert_n(store, a, TAG, 3).await;
    insert_n(store, b, CONTACT, 5).await;
    insert_n(store, b, TAG, 5).await;
    let t0 = now();
    let t1 = t0 + Duration::minutes(1);
    // Act
    let first = link(store, a, CT, &[(1, 1), (2, 1), (3, 1), (1, 4), (1, 2)], t0).await;
    let second = link(store, a, CT, &[(1, 1), (2, 2)], t1).await;
    let empty = link(store, a, CT, &[], t1).await;
    // Assert
    use LinkOutcome::{AlreadyLinked, Linked, MissingA, MissingB};
    assert_eq!(
        first,
        vec![Linked, Linked, MissingA, MissingB, Linked],
        "contact 3 and tag 4 are B's"
    );
    assert_eq!(second, vec![AlreadyLinked, Linked]);
    assert!(empty.is_empty());
    let l1 = links_from(store, a, CT, Side::A(1), 100, 0).await;
    assert_eq!(
        l1,
        (
            vec![
                Link {
                    a: 1,
                    b: 1,
                    created_at: t0
                },
                Link {
                    a: 1,
                    b: 2,
                    created_at: t0
                }
            ],
            2
        ),
        "re-linking kept the original time"
    );
    let l2 = links_from(store, a, CT, Side::A(2), 100, 0).await;
    assert_eq!(
        l2,
        (
            vec![
                Link {
                    a: 2,
                    b: 1,
                    created_at: t0
                },
                Link {
                    a: 2,
                    b: 2,
                    created_at: t1
                }
            ],
            2
        )
    );
    assert_eq!(
        links_from(store, a, CT, Side::A(3), 100, 0).await.1,
        0,
        "MissingA stored nothing"
    );
    assert_eq!(
        links_from(store, a, CT, Side::B(4), 100, 0).await.1,
        0,
        "MissingB stored nothing"
    );
    assert_eq!(
        links_from(store, b, CT, Side::A(1), 100, 0).await.1,
        0,
        "B has no links"
    );
    let missing_a_for_kind = link(store, a, CO_T, &[(1, 1)], t1).await;
    assert_eq!(
        missing_a_for_kind,
        vec![MissingA],
        "contact 1 is not a company"
    );
}

/// `unlink` removes the listed links of this account and counts them; absent pairs are ignored.
pub async fn unlink_counts_removed_links(store: &dyn Store) {
    // Arrange
    let a = account(store).await.id;
    let b = account(store).await.id;
    let t = now();
    for acct in [a, b] {
        insert_n(store, acct, CONTACT, 2).await;
        insert_n(store, acct, TAG, 2).await;
    }
    link_new(store, a, CT, &[(1, 1), (1, 2), (2, 1)], t).await;
    link_new(store, b, CT, &[(1, 1)], t).await;
    // Act / Assert
    let unlink = |acct, pairs: &'static [(i64, i64)]| async move {
        store
            .unlink(acct, CT, pairs)
            .await
            .unwrap_or_else(|e| panic!("unlink {pairs:?}: {e:?}"))
    };
    assert_eq!(unlink(a, &[(1, 1), (2, 2), (9, 9)]).await, 1);
    assert_eq!(unlink(a, &[(1, 1)]).await, 0, "already gone");
    assert_eq!(
        unlink(b, &[(1, 2), (2, 1)]).await,
        0,
        "A's links are not B's"
    );
    assert_eq!(unlink(a, &[]).await, 0);
    assert_eq!(pairs_of(store, a, CT, &[1, 2]).await, vec![(1, 2), (2, 1)]);
    assert_eq!(
        pairs_of(store, b, CT, &[1, 2]).await,
        vec![(1, 1)],
        "B's own (1, 1) survives A's unlink"
    );
}

/// `list_links` pages from either side, ordered by the other side's id, with the total.
pub async fn list_links_pages_from_either_side(store: &dyn Store) {
    // Arrange
    let a = account(store).await.id;
    let t0 = now();
    insert_n(store, a, CONTACT, 4).await;
    insert_n(store, a, TAG, 6).await;
    for (i, tag) in [5, 1, 3, 6, 2].into_iter().enumerate() {
        link_new(
            store,
            a,
            CT,
            &[(2, tag)],
            ms(t0, i64::try_from(i).unwrap_or(0)),
        )
        .await;
    }
    link_new(store, a, CT, &[(4, 3), (1, 3)], ms(t0, 10)).await;
    let bs = |v: &(Vec<Link>, i64)| (v.0.iter().map(|l| l.b).collect::<Vec<_>>(), v.1);
    let as_ = |v: &(Vec<Link>, i64)| (v.0.iter().map(|l| l.a).collect::<Vec<_>>(), v.1);
    // Act / Assert
    let all = links_from(store, a, CT, Side::A(2), 100, 0).await;
    assert_eq!(bs(&all), (vec![1, 2, 3, 5, 6], 5));
    assert!(all.0.iter().all(|l| l.a == 2));
    assert_eq!(
        all.0[0],
        Link {
            a: 2,
            b: 1,
            created_at: ms(t0, 1)
        }
    );
    assert_eq!(
        bs(&links_from(store, a, CT, Side::A(2), 2, 0).await),
        (vec![1, 2], 5)
    );
    assert_eq!(
        bs(&links_from(store, a, CT, Side::A(2), 2, 2).await),
        (vec![3, 5], 5)
    );
    assert_eq!(
        bs(&links_from(store, a, CT, Side::A(2), 2, 4).await),
        (vec![6], 5)
    );
    assert_eq!(
        bs(&links_from(store, a, CT, Side::A(2), 2, 5).await),
        (vec![], 5)
    );
    assert_eq!(
        bs(&links_from(store, a, CT, Side::A(2), 2, 50).await),
        (vec![], 5)
    );
    let tag3 = links_from(store, a, CT, Side::B(3), 100, 0).await;
    assert_eq!(as_(&tag3), (vec![1, 2, 4], 3));
    assert!(tag3.0.iter().all(|l| l.b == 3));
    assert_eq!(
        as_(&links_from(store, a, CT, Side::B(3), 2, 1).await),
        (vec![2, 4], 3)
    );
    assert_eq!(
        links_from(store, a, CO_T, Side::B(3), 100, 0).await,
        (vec![], 0),
        "other link kind"
    );
    assert_eq!(
        links_from(store, a, CT, Side::A(3), 100, 0).await,
        (vec![], 0)
    );
}

/// `links_of` returns every link whose `a` is listed, in this account only.
pub async fn links_of_returns_links_of_listed_a_ids(store: &dyn Store) {
    // Arrange
    let a = account(store).await.id;
    let b = account(store).await.id;
    let t = now();
    for acct in [a, b] {
        insert_n(store, acct, CONTACT, 4).await;
        insert_n(store, acct, TAG, 3).await;
    }
    link_new(store, a, CT, &[(1, 1), (1, 2), (2, 3), (3, 1)], t).await;
    link_new(store, b, CT, &[(1, 3), (4, 1)], t).await;
    // Act / Assert
    assert_eq!(
        pairs_of(store, a, CT, &[1, 3, 4]).await,
        vec![(1, 1), (1, 2), (3, 1)]
    );
    assert!(pairs_of(store, a, CT, &[]).await.is_empty());
    assert!(
        pairs_of(store, a, CO_T, &[1, 2, 3]).await.is_empty(),
        "other link kind"
    );
    let two = store.links_of(a, CT, &[2]).await.expect("links_of");
    assert_eq!(
        two,
        vec![Link {
            a: 2,
            b: 3,
            created_at: t
        }]
    );
    assert_eq!(
        pairs_of(store, b, CT, &[1, 2, 3, 4]).await,
        vec![(1, 3), (4, 1)]
    );
}

/// Deleting a record deletes every link it takes part in, as `a` or as `b`, and nothing else.
pub async fn delete_record_removes_its_links_on_both_sides(store: &dyn Store) {
    // Arrange
    let a = account(store).await.id;
    let b = account(store).await.id;
    let t = now();
    for acct in [a, b] {
        insert_n(store, acct, CONTACT, 3).await;
        insert_n(store, acct, TAG, 2).await;
    }
    link_new(store, a, CT, &[(1, 1), (1, 2), (2, 1), (2, 2), (3, 2)], t).await;
    link_new(store, b, CT, &[(1, 1), (2, 2)], t).await;
    // Act
    store
        .delete_record(a, CONTACT, 1)
        .await
        .expect("delete contact 1");
    store.delete_record(a, TAG, 2).await.expect("delete tag 2");
    // Assert
    assert_eq!(pairs_of(store, a, CT, &[1, 2, 3]).await, vec![(2, 1)]);
    assert_eq!(
        links_from(store, a, CT, Side::B(2), 100, 0).await,
        (vec![], 0)
    );
    assert_eq!(
        links_from(store, a, CT, Side::A(1), 100, 0).await,
        (vec![], 0)
    );
    assert_eq!(
        find(store, a, CONTACT, vec![Cond::LinkedTo(CT, 1)]).await,
        vec![2]
    );
    assert_eq!(
        pairs_of(store, b, CT, &[1, 2]).await,
        vec![(1, 1), (2, 2)],
        "B's links are untouched"
    );
    let new_tag = insert_n(store, a, TAG, 1).await;
    assert_eq!(new_tag, vec![3]);
    assert_eq!(
        links_from(store, a, CT, Side::B(3), 100, 0).await,
        (vec![], 0),
        "a new tag has no links"
    );
    assert_eq!(
        link(store, a, CT, &[(3, 2)], t).await,
        vec![LinkOutcome::MissingB],
        "tag 2 is gone"
    );
}

// ---------------------------------------------------------------------------------------------
// Upsert
// ---------------------------------------------------------------------------------------------

/// The document an upsert creates, and the edit it applies to a match (counts its edits).
fn upsert_parts(email: &str) -> (Create, Edit) {
    let e = email.to_owned();
    let create: Create = Box::new(move |_| {
        Ok(NewRecord {
            data: json!({ "email": e, "edits": 0 }),
            keys: K::new().text(0, &e).done(),
        })
    });
    let e = email.to_owned();
    let edit: Edit = Box::new(move |_, doc| {
        let n = doc["edits"].as_i64().unwrap_or(-1000);
        doc["edits"] = json!(n + 1);
        Ok(K::new().text(0, &e).done())
    });
    (create, edit)
}

/// Upserts `email` in `account` (lock key and condition: the e-mail in k0).
async fn upsert_email(
    store: &dyn Store,
    account: AccountId,
    email: &str,
    at: OffsetDateTime,
) -> Upserted {
    let (create, edit) = upsert_parts(email);
    store
        .upsert_record(
            account,
            CONTACT,
            email,
            vec![Cond::TextEq(0, email.to_owned())],
            create,
            edit,
            at,
        )
        .await
        .unwrap_or_else(|e| panic!("upsert of {email} failed: {e:?}"))
}

/// The first upsert of a key creates a record (next id, times = now); the second edits it
/// (same id, `created_at` kept, `updated_at` = now).
pub async fn upsert_creates_then_edits(store: &dyn Store) {
    // Arrange
    let a = account(store).await.id;
    let t0 = now();
    let t1 = t0 + Duration::seconds(1);
    // Act
    let first = upsert_email(store, a, "ada@example.com", t0).await;
    let second = upsert_email(store, a, "ada@example.com", t1).await;
    let other = upsert_email(store, a, "bob@example.com", t1).await;
    // Assert
    let Upserted::Created(c) = first else {
        panic!("first upsert must create, got {first:?}")
    };
    assert_eq!((c.id, c.created_at, c.updated_at), (1, t0, t0));
    assert_eq!(c.data, json!({ "email": "ada@example.com", "edits": 0 }));
    let Upserted::Updated(u) = second else {
        panic!("second upsert must update, got {second:?}")
    };
    assert_eq!((u.id, u.created_at, u.updated_at), (1, t0, t1));
    assert_eq!(u.data, json!({ "email": "ada@example.com", "edits": 1 }));
    assert_eq!(get(store, a, CONTACT, 1).await, u);
    let Upserted::Created(o) = other else {
        panic!("another key must create, got {other:?}")
    };
    assert_eq!(o.id, 2);
    assert_eq!(count(store, a, CONTACT).await, 2);
}

/// With several matches the oldest is edited and the others are left alone.
pub async fn upsert_edits_the_oldest_match(store: &dyn Store) {
    // Arrange
    let a = account(store).await.id;
    let t0 = now();
    let k = || K::new().text(0, "dup").done();
    insert(
        store,
        a,
        CONTACT,
        json!({ "other": true }),
        K::new().text(0, "other").done(),
        t0,
    )
    .await;
    let old = insert(store, a, CONTACT, json!({ "edits": 0 }), k(), ms(t0, 1)).await;
    let young = insert(store, a, CONTACT, json!({ "edits": 0 }), k(), ms(t0, 2)).await;
    let (create, edit) = upsert_parts("dup");
    // Act
    let r = store
        .upsert_record(
            a,
            CONTACT,
            "dup",
            vec![Cond::TextEq(0, "dup".into())],
            create,
            edit,
            ms(t0, 3),
        )
        .await
        .expect("upsert");
    // Assert
    match r {
        Upserted::Updated(u) => assert_eq!(u.id, old.id, "the oldest match is edited"),
        other => panic!("expected Updated, got {other:?}"),
    }
    assert_eq!(
        get(store, a, CONTACT, young.id).await,
        young,
        "the younger match is untouched"
    );
    assert_eq!(count(store, a, CONTACT).await, 3);
}

/// An upsert matches only records of its own account.
pub async fn upsert_is_per_account(store: &dyn Store) {
    // Arrange
    let a = account(store).await.id;
    let b = account(store).await.id;
    let t = now();
    let b_rec = match upsert_email(store, b, "ada@example.com", t).await {
        Upserted::Created(r) => r,
        other => panic!("expected Created, got {other:?}"),
    };
    // Act
    let r = upsert_email(store, a, "ada@example.com", ms(t, 1)).await;
    // Assert
    assert!(
        matches!(r, Upserted::Created(ref c) if c.id == 1),
        "A creates its own: {r:?}"
    );
    assert_eq!(
        get(store, b, CONTACT, b_rec.id).await,
        b_rec,
        "B's record is untouched"
    );
}

/// A refused create or edit inside an upsert changes nothing and consumes no id; a unique clash
/// on create is `Conflict { what: "unique" }`.
pub async fn rejected_upsert_changes_nothing(store: &dyn Store) {
    // Arrange
    let a = account(store).await.id;
    let t = now();
    let refuse_create: Create = Box::new(|_| Err("bad create".to_owned()));
    let never_edit: Edit = Box::new(|_, _| Err("not reached".to_owned()));
    // Act / Assert: refused create
    let r = store
        .upsert_record(
            a,
            CONTACT,
            "k",
            vec![Cond::TextEq(0, "k".into())],
            refuse_create,
            never_edit,
            t,
        )
        .await
        .expect("upsert");
    assert_eq!(r, Upserted::Rejected("bad create".into()));
    assert_eq!(count(store, a, CONTACT).await, 0);
    // Refused edit
    let rec = insert(
        store,
        a,
        CONTACT,
        json!({ "v": 1 }),
        K::new().text(0, "k").unique("u").done(),
        t,
    )
    .await;
    assert_eq!(rec.id, 1, "the refused create consumed no id");
    let (create, _) = upsert_parts("k");
    let refuse_edit: Edit = Box::new(|_, doc| {
        doc["v"] = json!(2);
        Err("bad edit".to_owned())
    });
    let r = store
        .upsert_record(
            a,
            CONTACT,
            "k",
            vec![Cond::TextEq(0, "k".into())],
            create,
            refuse_edit,
            ms(t, 1),
        )
        .await
        .expect("upsert");
    assert_eq!(r, Upserted::Rejected("bad edit".into()));
    assert_eq!(
        get(store, a, CONTACT, 1).await,
        rec,
        "the refused edit changed nothing"
    );
    // Unique clash on create
    let clash: Create = Box::new(|_| {
        Ok(NewRecord {
            data: json!({}),
            keys: K::new().text(0, "n").unique("u").done(),
        })
    });
    let never_edit: Edit = Box::new(|_, _| Err("not reached".to_owned()));
    let r = store
        .upsert_record(
            a,
            CONTACT,
            "n",
            vec![Cond::TextEq(0, "n".into())],
            clash,
            never_edit,
            t,
        )
        .await;
    assert_conflict(r, "unique");
    assert_eq!(count(store, a, CONTACT).await, 1);
}

// ---------------------------------------------------------------------------------------------
// Races (SECURITY.md §10)
// ---------------------------------------------------------------------------------------------

/// 50 parallel edits of one record, each appending to an array: all 50 appends are stored (no
/// lost update).
pub async fn concurrent_edits_lose_no_update(store: &dyn Store) {
    // Arrange
    const N: usize = 50;
    let a = account(store).await.id;
    let t = now();
    let r = insert(
        store,
        a,
        CONTACT,
        json!({ "items": [] }),
        K::new().text(0, "race").done(),
        t,
    )
    .await;
    // Act
    let results = overlap(N, |i| {
        let edit: Edit = Box::new(move |_, doc| {
            match doc["items"].as_array_mut() {
                Some(items) => items.push(json!(i)),
                None => return Err("items is not an array".to_owned()),
            }
            Ok(K::new().text(0, "race").done())
        });
        store.update_record(a, CONTACT, r.id, edit, ms(t, 1))
    });
    // Assert
    for (i, res) in results.into_iter().enumerate() {
        assert!(matches!(res, Ok(Edited::Updated(_))), "edit {i}: {res:?}");
    }
    let stored = get(store, a, CONTACT, r.id).await;
    let mut items: Vec<i64> = stored.data["items"]
        .as_array()
        .expect("items is an array")
        .iter()
        .map(|v| v.as_i64().expect("an integer"))
        .collect();
    items.sort_unstable();
    let expected: Vec<i64> = (0..50).collect();
    assert_eq!(items, expected, "every append survives");
}

/// 50 parallel upserts with one lock key and a matching condition: exactly one record is
/// created (1 `Created`, 49 `Updated`) and it carries all 49 edits. Five rounds, each on a new
/// key: the first also warms the store's connections, so the later rounds overlap tightly (one
/// round alone let a store without the lock pass about half the time).
pub async fn concurrent_upserts_of_one_key_create_one_record(store: &dyn Store) {
    const N: usize = 50;
    const ROUNDS: i64 = 5;
    let a = account(store).await.id;
    let t = now();
    for round in 1..=ROUNDS {
        // Arrange
        let email = format!("race-{round}@example.com");
        let email = email.as_str();
        // Act
        let results = overlap(N, |_| {
            let (create, edit) = upsert_parts(email);
            let matching = vec![Cond::TextEq(0, email.to_owned())];
            store.upsert_record(a, CONTACT, email, matching, create, edit, t)
        });
        // Assert
        let (mut created, mut updated) = (Vec::new(), 0);
        for (i, res) in results.into_iter().enumerate() {
            match res {
                Ok(Upserted::Created(r)) => created.push(r.id),
                Ok(Upserted::Updated(_)) => updated += 1,
                other => {
                    panic!("round {round}, upsert {i}: expected Created or Updated, got {other:?}")
                }
            }
        }
        assert_eq!(
            (created.len(), updated),
            (1, N - 1),
            "round {round}: exactly one upsert creates (created ids {created:?})"
        );
        assert_eq!(
            find(store, a, CONTACT, vec![Cond::TextEq(0, email.into())]).await,
            vec![round],
            "round {round}: one record for the key"
        );
        assert_eq!(
            get(store, a, CONTACT, round).await.data["edits"],
            json!(N - 1),
            "round {round}: no edit lost"
        );
    }
}

/// 50 parallel inserts into one (account, kind) get the ids 1..=50, each once.
pub async fn concurrent_inserts_get_distinct_ids(store: &dyn Store) {
    // Arrange
    const N: usize = 50;
    let a = account(store).await.id;
    let t = now();
    // Act
    let results = overlap(N, |i| {
        store.insert_record(a, CONTACT, create(json!({ "i": i }), Keys::default()), t)
    });
    // Assert
    let mut ids: Vec<i64> = results
        .into_iter()
        .map(|r| match r {
            Ok(Edited::Updated(r)) => r.id,
            other => panic!("insert: {other:?}"),
        })
        .collect();
    ids.sort_unstable();
    assert_eq!(ids, (1..=50).collect::<Vec<i64>>());
    assert_eq!(count(store, a, CONTACT).await, 50);
}

/// 20 parallel links of one pair: exactly one `Linked`, the rest `AlreadyLinked`, one link.
pub async fn concurrent_links_of_one_pair_link_once(store: &dyn Store) {
    // Arrange
    const N: usize = 20;
    let a = account(store).await.id;
    insert_n(store, a, CONTACT, 1).await;
    insert_n(store, a, TAG, 1).await;
    let t = now();
    // Act
    let results = overlap(N, |_| store.link(a, CT, &[(1, 1)], t));
    // Assert
    let mut linked = 0;
    for (i, r) in results.into_iter().enumerate() {
        match r.as_deref() {
            Ok([LinkOutcome::Linked]) => linked += 1,
            Ok([LinkOutcome::AlreadyLinked]) => {}
            other => panic!("link {i}: expected Linked or AlreadyLinked, got {other:?}"),
        }
    }
    assert_eq!(linked, 1);
    assert_eq!(links_from(store, a, CT, Side::A(1), 100, 0).await.1, 1);
}

// ---------------------------------------------------------------------------------------------
// The macro
// ---------------------------------------------------------------------------------------------

/// Stamps out every [`records`](crate::records) case as a
/// `#[tokio::test(flavor = "multi_thread", worker_threads = 4)]` in a module `records`.
///
/// `$factory` takes the same forms as in [`store_conformance!`](crate::store_conformance): a path
/// or closure called as `($factory)().await`, or an `async { … }` / `async move { … }` block. The
/// store it yields dereferences to a `Store`.
#[macro_export]
macro_rules! records_conformance {
    (async move $body:block $(,)?) => {
        $crate::__records_conformance_cases!([$crate::__stamp_cases] (async move $body));
    };
    (async $body:block $(,)?) => {
        $crate::__records_conformance_cases!([$crate::__stamp_cases] (async $body));
    };
    ($factory:expr $(,)?) => {
        $crate::__records_conformance_cases!([$crate::__stamp_cases] (($factory)()));
    };
}

/// The list of every records case; hands it to `$callback!` with `$make`.
#[doc(hidden)]
#[macro_export]
macro_rules! __records_conformance_cases {
    ([$($callback:tt)*] $make:tt) => {
        $($callback)*! { $make;
            records {
                ids_are_per_account_and_kind,
                ids_are_never_reused_after_delete,
                record_round_trip,
                get_records_returns_id_order_and_skips_missing,
                get_of_missing_or_other_accounts_record_is_not_found,
                update_record_edits_document_and_keys,
                update_or_delete_of_other_accounts_id_is_not_found,
                delete_record_deletes_once,
                rejected_insert_changes_nothing,
                rejected_edit_changes_nothing,
                unique_key_conflict_on_insert_writes_nothing,
                unique_key_conflict_on_update_changes_nothing,
                text_eq_is_exact,
                any_text_eq_matches_any_named_column,
                int_eq_and_int_is_null,
                id_in_selects_listed_ids,
                updated_since_and_until_are_inclusive,
                linked_to_selects_records_linked_to_b,
                conditions_combine_with_and,
                list_is_per_account_and_kind,
                list_orders_by_every_column_both_ways_with_id_tie_break,
                list_pages_with_limit_offset_and_total,
                link_reports_each_pairs_outcome,
                unlink_counts_removed_links,
                list_links_pages_from_either_side,
                links_of_returns_links_of_listed_a_ids,
                delete_record_removes_its_links_on_both_sides,
                upsert_creates_then_edits,
                upsert_edits_the_oldest_match,
                upsert_is_per_account,
                rejected_upsert_changes_nothing,
                concurrent_edits_lose_no_update,
                concurrent_upserts_of_one_key_create_one_record,
                concurrent_inserts_get_distinct_ids,
                concurrent_links_of_one_pair_link_once,
            }
            hooks {
                changes_reach_only_verified_subscriptions_of_their_key,
                each_verified_subscription_gets_its_own_row,
                edits_deletes_and_tag_links_raise_their_events,
                orders_raise_invoice_and_payment_events,
                writes_that_roll_back_leave_no_event,
                claims_batch_lease_and_retry,
                concurrent_claims_never_share_a_row,
            }
        }
    };
}

/// How many cases [`records_conformance!`](crate::records_conformance) stamps out.
pub const CASE_COUNT: usize = {
    macro_rules! __count {
        ($make:tt; $( $group:ident { $( $case:ident ),* $(,)? } )*) => {
            0 $( $( + { let _ = stringify!($case); 1 } )* )*
        };
    }
    __records_conformance_cases!([__count]())
};
