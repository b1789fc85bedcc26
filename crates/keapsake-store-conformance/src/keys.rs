//! Cases for [`KeyStore`](keapsake_core::store::KeyStore): API keys (PAT, SAK, legacy) are stored
//! by hash, listed per account, and revoked per account (another account's key id is `NotFound`).

use crate::support::{
    self, assert_not_found, assert_strictly_increasing, hash, missing_account, now,
};
use keapsake_core::store::{ApiKey, KeyKind, NewApiKey, Store};
use keapsake_core::{AccountId, UserId};
use time::Duration;

fn new_key(account: AccountId, user: Option<UserId>, kind: KeyKind) -> NewApiKey {
    let s = support::suffix();
    NewApiKey {
        hash: hash(),
        display_prefix: format!("KeapAK-{}", &s[..4]),
        name: format!("key {s}"),
        kind,
        account_id: account,
        user_id: user,
        read_only: false,
        created_at: now(),
        expires_at: None,
    }
}

/// Every kind of key round-trips through `create_api_key` and `find_api_key`, optional fields set
/// or not; an unknown hash is `None`.
pub async fn api_key_round_trip(store: &dyn Store) {
    // Arrange
    let w = support::world(store).await;
    let t0 = now();
    let keys = [
        NewApiKey {
            read_only: true,
            expires_at: Some(t0 + Duration::days(30)),
            ..new_key(w.account.id, Some(w.user.id), KeyKind::Pat)
        },
        new_key(w.account.id, None, KeyKind::Sak),
        new_key(w.account.id, Some(w.user.id), KeyKind::Legacy),
    ];
    for new in keys {
        // Act
        let created = store
            .create_api_key(new.clone())
            .await
            .expect("create_api_key");
        // Assert
        let expected = ApiKey {
            id: created.id,
            display_prefix: new.display_prefix.clone(),
            name: new.name.clone(),
            kind: new.kind,
            account_id: new.account_id,
            user_id: new.user_id,
            read_only: new.read_only,
            created_at: new.created_at,
            expires_at: new.expires_at,
            revoked_at: None,
        };
        assert_eq!(created, expected);
        assert_eq!(
            store.find_api_key(&new.hash).await.expect("find_api_key"),
            Some(expected)
        );
    }
    assert_eq!(
        store.find_api_key(&hash()).await.expect("find_api_key"),
        None
    );
}

/// A key for an account that does not exist is `NotFound`.
pub async fn api_key_for_unknown_account_is_not_found(store: &dyn Store) {
    let new = new_key(missing_account(), None, KeyKind::Sak);
    let h = new.hash;
    assert_not_found(
        store.create_api_key(new).await,
        "create_api_key(unknown account)",
    );
    assert_eq!(store.find_api_key(&h).await.expect("find_api_key"), None);
}

/// `list_api_keys` returns one account's keys, by id, revoked ones included, and none of another
/// account's.
pub async fn list_api_keys_is_per_account(store: &dyn Store) {
    // Arrange
    let a = support::account(store).await;
    let b = support::account(store).await;
    let empty = support::account(store).await;
    let mut mine = Vec::new();
    for kind in [KeyKind::Pat, KeyKind::Sak, KeyKind::Legacy] {
        mine.push(
            store
                .create_api_key(new_key(a.id, None, kind))
                .await
                .expect("create_api_key"),
        );
        store
            .create_api_key(new_key(b.id, None, kind))
            .await
            .expect("create_api_key (other account)");
    }
    let t0 = now();
    store
        .revoke_api_key(a.id, mine[1].id, t0)
        .await
        .expect("revoke_api_key");
    mine[1].revoked_at = Some(t0);
    // Act
    let listed = store.list_api_keys(a.id).await.expect("list_api_keys");
    // Assert
    assert_eq!(listed, mine);
    assert_strictly_increasing(
        &listed.iter().map(|k| k.id).collect::<Vec<_>>(),
        "list_api_keys",
    );
    assert!(
        store
            .list_api_keys(empty.id)
            .await
            .expect("list_api_keys")
            .is_empty()
    );
}

/// `revoke_api_key` sets `revoked_at`, and `find_api_key` still returns the key (the caller
/// decides); an unknown id is `NotFound`.
pub async fn revoke_api_key_sets_revoked_at(store: &dyn Store) {
    let w = support::world(store).await;
    let new = new_key(w.account.id, Some(w.user.id), KeyKind::Pat);
    let h = new.hash;
    let key = store.create_api_key(new).await.expect("create_api_key");
    let keep = store
        .create_api_key(new_key(w.account.id, None, KeyKind::Sak))
        .await
        .expect("create_api_key");
    let t1 = now() + Duration::seconds(1);
    store
        .revoke_api_key(w.account.id, key.id, t1)
        .await
        .expect("revoke_api_key");
    assert_eq!(
        store.find_api_key(&h).await.expect("find_api_key"),
        Some(ApiKey {
            revoked_at: Some(t1),
            ..key
        })
    );
    let listed = store
        .list_api_keys(w.account.id)
        .await
        .expect("list_api_keys");
    let kept = listed
        .iter()
        .find(|k| k.id == keep.id)
        .expect("the other key is listed");
    assert_eq!(kept.revoked_at, None, "only the addressed key is revoked");
    assert_not_found(
        store
            .revoke_api_key(w.account.id, support::MISSING_ID, t1)
            .await,
        "revoke_api_key(unknown id)",
    );
}

/// Revoking another account's key id is `NotFound`, exactly like an unknown id, and leaves the key
/// alone (SECURITY.md §5).
pub async fn revoke_api_key_of_another_account_is_not_found(store: &dyn Store) {
    let owner = support::account(store).await;
    let attacker = support::account(store).await;
    let new = new_key(owner.id, None, KeyKind::Sak);
    let h = new.hash;
    let key = store.create_api_key(new).await.expect("create_api_key");
    assert_not_found(
        store.revoke_api_key(attacker.id, key.id, now()).await,
        "revoke_api_key(another account's key)",
    );
    assert_eq!(
        store.find_api_key(&h).await.expect("find_api_key"),
        Some(key),
        "the key is untouched"
    );
}
