//! Races (SECURITY.md §2 and §10 figures): many truly parallel calls on one code, one refresh
//! token, one e-mail or one alias, and exactly one of them wins.
//!
//! The calls run on their own OS threads (see [`overlap`]), released together by a barrier, so
//! they overlap for real rather than taking turns on one task.

use crate::support::{
    self, assert_access, assert_not_stored, assert_refresh, issue, new_account, new_code, new_user,
    now, tokens, world,
};
use keapsake_core::store::{CodeExchange, NewAccount, NewUser, Rotation, Store, StoreError};
use std::future::Future;
use time::Duration;

/// Runs `f(0) … f(n-1)` at the same time, each on its own thread driving its future with the
/// current Tokio runtime's handle, and returns their outputs in index order.
///
/// Cases receive `&dyn Store`, which is not `'static`, so `tokio::spawn` cannot take it; scoped
/// threads can, and give at least as much overlap (each call has a thread of its own). A barrier
/// releases every call at once. Must be called from a multi-threaded runtime.
///
/// # Panics
/// If a call panics (the panic is re-raised here).
pub fn overlap<T, F, Fut>(n: usize, f: F) -> Vec<T>
where
    F: Fn(usize) -> Fut + Sync,
    Fut: Future<Output = T>,
    T: Send,
{
    let handle = tokio::runtime::Handle::current();
    let barrier = std::sync::Barrier::new(n);
    tokio::task::block_in_place(|| {
        std::thread::scope(|scope| {
            let threads: Vec<_> = (0..n)
                .map(|i| {
                    let (f, barrier, handle) = (&f, &barrier, &handle);
                    scope.spawn(move || {
                        let call = f(i);
                        barrier.wait();
                        handle.block_on(call)
                    })
                })
                .collect();
            threads
                .into_iter()
                .map(|t| t.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                .collect()
        })
    })
}

/// 20 parallel exchanges of one code: exactly one `Issued`, the other 19 `Replayed`, no error;
/// only the winner's tokens were stored, and the replays have revoked them.
pub async fn concurrent_code_exchange_issues_once(store: &dyn Store) {
    // Arrange
    const N: usize = 20;
    let w = world(store).await;
    let t0 = now();
    let code = new_code(&w, t0);
    let h = code.hash;
    store.insert_code(code).await.expect("insert_code");
    let pairs: Vec<_> = (0..N).map(|_| tokens(t0)).collect();
    // Act
    let results = overlap(N, |i| store.exchange_code(&h, w.app.id, pairs[i]));
    // Assert
    let mut winners = Vec::new();
    for (i, r) in results.into_iter().enumerate() {
        match r {
            Ok(CodeExchange::Issued(_)) => winners.push(i),
            Ok(CodeExchange::Replayed) => {}
            other => panic!("exchange {i}: expected Issued or Replayed, got {other:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one exchange wins: {winners:?}");
    let win = winners[0];
    assert_access(
        store,
        &pairs[win].access_hash,
        true,
        "winner after 19 replays",
    )
    .await;
    assert_refresh(
        store,
        &pairs[win].refresh_hash,
        true,
        false,
        "winner after replays",
    )
    .await;
    for (i, p) in pairs.iter().enumerate().filter(|(i, _)| *i != win) {
        assert_not_stored(store, p, &format!("loser {i}")).await;
    }
    assert_eq!(
        store
            .count_active_families(w.app.id, t0)
            .await
            .expect("count_active_families"),
        0
    );
}

/// 100 parallel refreshes of one token with a large grace window: exactly one `Rotated`, 99
/// `RejectedInGrace`, no error; the family is intact and only the winner's pair was stored.
pub async fn concurrent_rotation_rotates_once(store: &dyn Store) {
    // Arrange
    const N: usize = 100;
    let w = world(store).await;
    let t0 = now();
    let (grant, t) = issue(store, &w, t0).await;
    let t1 = t0 + Duration::minutes(1);
    let pairs: Vec<_> = (0..N).map(|_| tokens(t1)).collect();
    let grace = Duration::days(1);
    // Act
    let results = overlap(N, |i| {
        store.rotate_refresh(&t.refresh_hash, w.app.id, grace, pairs[i])
    });
    // Assert
    let mut winners = Vec::new();
    for (i, r) in results.into_iter().enumerate() {
        match r {
            Ok(Rotation::Rotated(g)) => {
                assert_eq!(g, grant, "the winner keeps the family");
                winners.push(i);
            }
            Ok(Rotation::RejectedInGrace) => {}
            other => panic!("refresh {i}: expected Rotated or RejectedInGrace, got {other:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one refresh wins: {winners:?}");
    let win = winners[0];
    assert_access(store, &pairs[win].access_hash, false, "winner's access").await;
    assert_refresh(
        store,
        &pairs[win].refresh_hash,
        false,
        false,
        "winner's refresh",
    )
    .await;
    assert_refresh(store, &t.refresh_hash, false, true, "the presented token").await;
    for (i, p) in pairs.iter().enumerate().filter(|(i, _)| *i != win) {
        assert_not_stored(store, p, &format!("loser {i}")).await;
    }
    assert_eq!(
        store
            .count_active_families(w.app.id, t1)
            .await
            .expect("count_active_families"),
        1
    );
}

/// A reuse after grace racing rotations of the winner's new token: whatever order they run in,
/// the family ends revoked and no token minted by a concurrent rotation survives (SECURITY.md §2:
/// reuse handling and rotation lock the same family).
pub async fn concurrent_replay_and_rotation_leave_nothing_alive(store: &dyn Store) {
    // Arrange
    const N: usize = 20;
    let w = world(store).await;
    let t0 = now();
    let (_, t) = issue(store, &w, t0).await;
    let t1 = t0 + Duration::minutes(1);
    let winner = tokens(t1);
    let grace = Duration::ZERO;
    assert!(matches!(
        store
            .rotate_refresh(&t.refresh_hash, w.app.id, grace, winner)
            .await
            .expect("rotate_refresh"),
        Rotation::Rotated(_)
    ));
    let t2 = t1 + Duration::seconds(5);
    let pairs: Vec<_> = (0..N).map(|_| tokens(t2)).collect();
    // Act: even indices replay the rotated token (reuse), odd ones rotate the winner's token.
    let results = overlap(N, |i| {
        let presented = if i % 2 == 0 {
            &t.refresh_hash
        } else {
            &winner.refresh_hash
        };
        store.rotate_refresh(presented, w.app.id, grace, pairs[i])
    });
    // Assert
    let mut reused = 0;
    let mut minted = Vec::new();
    for (i, r) in results.into_iter().enumerate() {
        match (i % 2, r) {
            (0, Ok(Rotation::Reused)) => reused += 1,
            // Once the family is revoked, the contract allows Invalid for later replays.
            (0, Ok(Rotation::Invalid)) => {}
            (1, Ok(Rotation::Rotated(_))) => minted.push(i),
            (1, Ok(Rotation::RejectedInGrace | Rotation::Reused | Rotation::Invalid)) => {}
            (_, other) => panic!("call {i}: unexpected {other:?}"),
        }
    }
    assert!(reused >= 1, "the first replay after grace is Reused");
    assert!(minted.len() <= 1, "one rotation at most: {minted:?}");
    for i in minted {
        assert_access(store, &pairs[i].access_hash, true, "minted during the race").await;
        assert_refresh(
            store,
            &pairs[i].refresh_hash,
            true,
            false,
            "minted during the race",
        )
        .await;
    }
    assert_access(store, &winner.access_hash, true, "winner's access").await;
    assert_eq!(
        store
            .count_active_families(w.app.id, t2)
            .await
            .expect("count_active_families"),
        0
    );
}

/// 20 parallel `create_user` calls with one e-mail in different ASCII cases: exactly one user, 19
/// `Conflict { what: "email" }`.
pub async fn concurrent_create_user_same_email_creates_one(store: &dyn Store) {
    const N: usize = 20;
    let s = support::suffix();
    let users: Vec<NewUser> = (0..N)
        .map(|i| {
            let local = if i % 2 == 0 { "Same" } else { "sAME" };
            NewUser {
                email: format!("{local}-{s}@Example.com"),
                ..new_user()
            }
        })
        .collect();
    let results = overlap(N, |i| store.create_user(users[i].clone(), now()));
    let mut created = 0;
    for (i, r) in results.into_iter().enumerate() {
        match r {
            Ok(_) => created += 1,
            Err(StoreError::Conflict { what }) if what == "email" => {}
            other => panic!("create_user {i}: expected Ok or Conflict(email), got {other:?}"),
        }
    }
    assert_eq!(created, 1, "exactly one user is created");
    assert!(
        store
            .find_user_by_email(&format!("same-{s}@example.com"))
            .await
            .expect("find_user_by_email")
            .is_some()
    );
}

/// 20 parallel `create_account` calls with one alias: exactly one account, 19
/// `Conflict { what: "alias" }`.
pub async fn concurrent_create_account_same_alias_creates_one(store: &dyn Store) {
    const N: usize = 20;
    let alias = new_account().alias;
    let results = overlap(N, |i| {
        store.create_account(
            NewAccount {
                alias: alias.clone(),
                name: format!("Racer {i}"),
            },
            now(),
        )
    });
    let mut created = 0;
    for (i, r) in results.into_iter().enumerate() {
        match r {
            Ok(_) => created += 1,
            Err(StoreError::Conflict { what }) if what == "alias" => {}
            other => panic!("create_account {i}: expected Ok or Conflict(alias), got {other:?}"),
        }
    }
    assert_eq!(created, 1, "exactly one account is created");
}

/// 20 parallel `add_member` calls for one pair all succeed and leave exactly one membership.
pub async fn concurrent_add_member_is_idempotent(store: &dyn Store) {
    const N: usize = 20;
    let user = support::user(store).await;
    let account = support::account(store).await;
    let results = overlap(N, |i| store.add_member(account.id, user.id, i % 2 == 0));
    for (i, r) in results.into_iter().enumerate() {
        assert!(r.is_ok(), "add_member {i}: {r:?}");
    }
    let list = store.memberships(user.id).await.expect("memberships");
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0].account, account);
}
