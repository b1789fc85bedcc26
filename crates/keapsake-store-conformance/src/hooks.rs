//! [`HookStore`](keapsake_core::hooks::HookStore) conformance: the hook outbox.
//!
//! What the cases pin down:
//! - a change of a record (or a tag application) becomes an outbox row per *verified*
//!   subscription of the *same account* listening for its event key, in the change's
//!   transaction: a refused or conflicting write leaves none; unverified or inactive
//!   subscriptions, other event keys and other accounts get none;
//! - the event rules: add/edit/delete per kind, orders also raise `invoice.*`, an order whose
//!   `payments` array grew raises `invoice.payment.add`, tag links raise
//!   `contactGroup.applied`/`.removed` with object = tag and contact = the contact;
//! - claims batch rows of one subscription and event key in sequence order, lease them (no
//!   second claim until the lease expires), and concurrent claimers never get the same row;
//!   `finish` and `retry` act only on rows the caller still holds; retried rows wait for their
//!   time.
//!
//! Every claim is restricted to the case's own account, so cases can share one database.

use crate::races::overlap;
use crate::support::{account, now};
use keapsake_core::AccountId;
use keapsake_core::hooks::{ClaimedBatch, HookStatus, Subscription};
use keapsake_core::records::{Create, Edit, Edited, Keys, LinkKind, NewRecord, RecordKind};
use keapsake_core::store::{Store, StoreError};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::sync::Arc;
use time::Duration;

const LEASE: Duration = Duration::seconds(30);

fn create(data: Value, keys: Keys) -> Create {
    Box::new(move |_id| Ok(NewRecord { data, keys }))
}

async fn insert(store: &dyn Store, account: AccountId, kind: RecordKind, data: Value) -> i64 {
    insert_keys(store, account, kind, data, Keys::default()).await
}

async fn insert_keys(
    store: &dyn Store,
    account: AccountId,
    kind: RecordKind,
    data: Value,
    keys: Keys,
) -> i64 {
    match store
        .insert_record(account, kind, create(data, keys), now())
        .await
    {
        Ok(Edited::Updated(r)) => r.id,
        other => panic!("insert of a fresh {kind:?} must store it, got {other:?}"),
    }
}

/// A subscription record for `event` with `status`; returns its record id.
async fn subscribe(store: &dyn Store, account: AccountId, event: &str, status: HookStatus) -> i64 {
    let sub = Subscription {
        key: format!("k{}", crate::support::suffix()),
        event_key: event.to_owned(),
        hook_url: "http://127.0.0.1:9/hook".to_owned(),
        status,
        owner: "client".to_owned(),
        secret_sha256: None,
    };
    let keys = sub.keys();
    insert_keys(
        store,
        account,
        RecordKind::Hook,
        serde_json::to_value(&sub).expect("serialises"),
        keys,
    )
    .await
}

async fn edit(store: &dyn Store, account: AccountId, kind: RecordKind, id: i64, data: Value) {
    let e: Edit = Box::new(move |_, doc| {
        *doc = data;
        Ok(Keys::default())
    });
    match store.update_record(account, kind, id, e, now()).await {
        Ok(Edited::Updated(_)) => {}
        other => panic!("edit must store, got {other:?}"),
    }
}

/// Claims everything due for `account` (in batches of `max`), finishing each batch; returns
/// the batches.
async fn drain(store: &dyn Store, account: AccountId, max: usize) -> Vec<ClaimedBatch> {
    let mut out = Vec::new();
    while let Some(b) = store
        .claim_hook_batch("drain", Some(account), now(), LEASE, max)
        .await
        .expect("claim answers")
    {
        let n = store
            .finish_hook_items("drain", &b.seqs())
            .await
            .expect("finish answers");
        assert_eq!(n as usize, b.items.len(), "finish deletes the claimed rows");
        out.push(b);
        assert!(out.len() < 10_000, "drain must end");
    }
    out
}

/// `(event key, object id, contact id)` of every row drained, in claim order.
async fn events(store: &dyn Store, account: AccountId) -> Vec<(String, i64, Option<i64>)> {
    drain(store, account, 1000)
        .await
        .into_iter()
        .flat_map(|b| {
            let key = b.event_key.clone();
            b.items
                .into_iter()
                .map(move |i| (key.clone(), i.object_id, i.contact_id))
        })
        .collect()
}

fn ev(key: &str, id: i64) -> (String, i64, Option<i64>) {
    (key.to_owned(), id, None)
}

/// Only verified subscriptions of the same account and event key get rows.
pub async fn changes_reach_only_verified_subscriptions_of_their_key(store: &dyn Store) {
    // Arrange
    let a = account(store).await.id;
    let b = account(store).await.id;
    subscribe(store, a, "contact.add", HookStatus::Verified).await;
    subscribe(store, a, "contact.add", HookStatus::Unverified).await;
    subscribe(store, a, "contact.add", HookStatus::Inactive).await;
    subscribe(store, a, "company.add", HookStatus::Verified).await;
    // Act
    let c = insert(store, a, RecordKind::Contact, json!({"n": 1})).await;
    let _other = insert(store, b, RecordKind::Contact, json!({"n": 2})).await;
    // Assert
    assert_eq!(
        store
            .pending_hook_items(Some(a))
            .await
            .expect("the store answers"),
        1
    );
    assert_eq!(
        store
            .pending_hook_items(Some(b))
            .await
            .expect("the store answers"),
        0
    );
    assert_eq!(events(store, a).await, vec![ev("contact.add", c)]);
    assert_eq!(events(store, b).await, vec![]);
}

/// Two verified subscriptions of one key get a row each.
pub async fn each_verified_subscription_gets_its_own_row(store: &dyn Store) {
    let a = account(store).await.id;
    let h1 = subscribe(store, a, "note.add", HookStatus::Verified).await;
    let h2 = subscribe(store, a, "note.add", HookStatus::Verified).await;
    let n = insert(store, a, RecordKind::Note, json!({})).await;
    let batches = drain(store, a, 1000).await;
    let hooks: BTreeSet<i64> = batches.iter().map(|b| b.hook_id).collect();
    assert_eq!(hooks, BTreeSet::from([h1, h2]));
    assert!(
        batches
            .iter()
            .all(|b| b.items.len() == 1 && b.items[0].object_id == n)
    );
}

/// add, edit and delete of a record; tag application and removal.
pub async fn edits_deletes_and_tag_links_raise_their_events(store: &dyn Store) {
    // Arrange
    let a = account(store).await.id;
    for key in [
        "contact.edit",
        "contact.delete",
        "contactGroup.applied",
        "contactGroup.removed",
        "contactGroup.add",
    ] {
        subscribe(store, a, key, HookStatus::Verified).await;
    }
    let c = insert(store, a, RecordKind::Contact, json!({})).await;
    let t = insert(store, a, RecordKind::Tag, json!({})).await;
    assert_eq!(events(store, a).await, vec![ev("contactGroup.add", t)]);
    // Act + Assert
    edit(store, a, RecordKind::Contact, c, json!({"x": 1})).await;
    assert_eq!(events(store, a).await, vec![ev("contact.edit", c)]);
    store
        .link(a, LinkKind::ContactTag, &[(c, t)], now())
        .await
        .expect("the store answers");
    // Linking again changes nothing and raises nothing.
    store
        .link(a, LinkKind::ContactTag, &[(c, t)], now())
        .await
        .expect("the store answers");
    assert_eq!(
        events(store, a).await,
        vec![("contactGroup.applied".to_owned(), t, Some(c))]
    );
    store
        .unlink(a, LinkKind::ContactTag, &[(c, t)])
        .await
        .expect("the store answers");
    assert_eq!(
        events(store, a).await,
        vec![("contactGroup.removed".to_owned(), t, Some(c))]
    );
    store
        .link(a, LinkKind::ContactTag, &[(c, t)], now())
        .await
        .expect("the store answers");
    let _ = events(store, a).await;
    // Deleting the contact deletes its links: removed, then the delete itself.
    store
        .delete_record(a, RecordKind::Contact, c)
        .await
        .expect("the store answers");
    let mut got = events(store, a).await;
    got.sort();
    assert_eq!(
        got,
        vec![
            ev("contact.delete", c),
            ("contactGroup.removed".to_owned(), t, Some(c)),
        ]
    );
}

/// Orders raise `order.*` and `invoice.*`; a growing `payments` array raises
/// `invoice.payment.add` (and an edit that does not add a payment does not).
pub async fn orders_raise_invoice_and_payment_events(store: &dyn Store) {
    let a = account(store).await.id;
    for key in [
        "order.add",
        "invoice.add",
        "invoice.edit",
        "invoice.payment.add",
    ] {
        subscribe(store, a, key, HookStatus::Verified).await;
    }
    let o = insert(store, a, RecordKind::Order, json!({"payments": []})).await;
    let mut got = events(store, a).await;
    got.sort();
    assert_eq!(got, vec![ev("invoice.add", o), ev("order.add", o)]);
    edit(
        store,
        a,
        RecordKind::Order,
        o,
        json!({"payments": [{"id": 1}]}),
    )
    .await;
    let mut got = events(store, a).await;
    got.sort();
    assert_eq!(
        got,
        vec![ev("invoice.edit", o), ev("invoice.payment.add", o)]
    );
    edit(
        store,
        a,
        RecordKind::Order,
        o,
        json!({"payments": [{"id": 1}], "x": 1}),
    )
    .await;
    assert_eq!(events(store, a).await, vec![ev("invoice.edit", o)]);
}

/// A refused write and a unique clash leave no event (the row is in the change's transaction).
pub async fn writes_that_roll_back_leave_no_event(store: &dyn Store) {
    let a = account(store).await.id;
    subscribe(store, a, "contact.add", HookStatus::Verified).await;
    subscribe(store, a, "contact.edit", HookStatus::Verified).await;
    let refused: Create = Box::new(|_| Err("no".to_owned()));
    let r = store
        .insert_record(a, RecordKind::Contact, refused, now())
        .await;
    assert!(matches!(r, Ok(Edited::Rejected(_))), "{r:?}");
    let keys = Keys {
        unique: Some("same".to_owned()),
        ..Keys::default()
    };
    let first = insert_keys(store, a, RecordKind::Contact, json!({}), keys.clone()).await;
    let clash = store
        .insert_record(a, RecordKind::Contact, create(json!({}), keys), now())
        .await;
    assert!(
        matches!(clash, Err(StoreError::Conflict { .. })),
        "{clash:?}"
    );
    let refused_edit: Edit = Box::new(|_, _| Err("no".to_owned()));
    let r = store
        .update_record(a, RecordKind::Contact, first, refused_edit, now())
        .await;
    assert!(matches!(r, Ok(Edited::Rejected(_))), "{r:?}");
    assert_eq!(events(store, a).await, vec![ev("contact.add", first)]);
}

/// Batches: one subscription and key, sequence order, at most `max`; leased rows are not
/// claimed again until the lease expires; finish/retry only touch the holder's rows.
pub async fn claims_batch_lease_and_retry(store: &dyn Store) {
    // Arrange
    let a = account(store).await.id;
    let h = subscribe(store, a, "task.add", HookStatus::Verified).await;
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(insert(store, a, RecordKind::Task, json!({})).await);
    }
    let t0 = now();
    // Act: a batch of 3, then of 2.
    let b1 = store
        .claim_hook_batch("n1", Some(a), t0, LEASE, 3)
        .await
        .expect("the store answers")
        .expect("rows are due");
    let b2 = store
        .claim_hook_batch("n2", Some(a), t0, LEASE, 3)
        .await
        .expect("the store answers")
        .expect("two rows are left");
    let none = store
        .claim_hook_batch("n3", Some(a), t0, LEASE, 3)
        .await
        .expect("the store answers");
    // Assert
    assert_eq!((b1.hook_id, b1.event_key.as_str()), (h, "task.add"));
    let objs = |b: &ClaimedBatch| b.items.iter().map(|i| i.object_id).collect::<Vec<_>>();
    assert_eq!(objs(&b1), ids[..3].to_vec());
    assert_eq!(objs(&b2), ids[3..].to_vec());
    assert!(none.is_none(), "leased rows are not claimable: {none:?}");
    // Another node cannot finish or retry rows it does not hold.
    assert_eq!(
        store
            .finish_hook_items("n2", &b1.seqs())
            .await
            .expect("the store answers"),
        0
    );
    assert_eq!(
        store
            .retry_hook_items("n2", &b1.seqs(), t0)
            .await
            .expect("the store answers"),
        0
    );
    // n1 fails: its rows wait for their retry time.
    let retry_at = t0 + Duration::minutes(5);
    assert_eq!(
        store
            .retry_hook_items("n1", &b1.seqs(), retry_at)
            .await
            .expect("the store answers"),
        3
    );
    assert!(
        store
            .claim_hook_batch("n3", Some(a), t0 + Duration::seconds(20), LEASE, 10)
            .await
            .expect("the store answers")
            .is_none(),
        "retried rows wait for next_at"
    );
    // n2 dies: after its lease, its rows come back (before n1's retries, in sequence order).
    let later = t0 + LEASE + Duration::seconds(1);
    let back = store
        .claim_hook_batch("n3", Some(a), later, LEASE, 10)
        .await
        .expect("the store answers")
        .expect("expired lease");
    assert_eq!(objs(&back), ids[3..].to_vec());
    assert!(back.items.iter().all(|i| i.attempts == 0));
    assert_eq!(
        store
            .finish_hook_items("n2", &b2.seqs())
            .await
            .expect("the store answers"),
        0
    );
    assert_eq!(
        store
            .finish_hook_items("n3", &back.seqs())
            .await
            .expect("the store answers"),
        2
    );
    let retried = store
        .claim_hook_batch("n3", Some(a), retry_at, LEASE, 10)
        .await
        .expect("the store answers")
        .expect("due now");
    assert_eq!(objs(&retried), ids[..3].to_vec());
    assert!(retried.items.iter().all(|i| i.attempts == 1));
    assert_eq!(retried.attempts(), 1);
    assert_eq!(
        store
            .drop_hook_items(a, h)
            .await
            .expect("the store answers"),
        3
    );
    assert_eq!(
        store
            .pending_hook_items(Some(a))
            .await
            .expect("the store answers"),
        0
    );
}

/// Parallel claimers (as several nodes would) never get the same row, and together get all.
pub async fn concurrent_claims_never_share_a_row(store: &dyn Store) {
    let a = account(store).await.id;
    let keys = ["contact.add", "contact.edit"];
    for k in keys {
        subscribe(store, a, k, HookStatus::Verified).await;
    }
    let mut expected = 0;
    for i in 0..60 {
        let c = insert(store, a, RecordKind::Contact, json!({"i": i})).await;
        edit(store, a, RecordKind::Contact, c, json!({"i": i, "e": 1})).await;
        expected += 2;
    }
    let store_ptr: &dyn Store = store;
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let t = now();
    overlap(8, |n| {
        let seen = seen.clone();
        async move {
            let owner = format!("node{n}");
            while let Some(b) = store_ptr
                .claim_hook_batch(&owner, Some(a), t, LEASE, 7)
                .await
                .expect("claim answers")
            {
                assert!(b.items.len() <= 7);
                seen.lock().expect("not poisoned").extend(b.seqs());
            }
        }
    });
    let seen = seen.lock().expect("not poisoned").clone();
    let distinct: BTreeSet<i64> = seen.iter().copied().collect();
    assert_eq!(distinct.len(), seen.len(), "a row was claimed twice");
    assert_eq!(seen.len(), expected, "every row was claimed");
}
