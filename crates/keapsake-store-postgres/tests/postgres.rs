//! PostgreSQL-specific behaviour beyond the shared conformance suite: several nodes (stores with
//! their own pools) on one database racing for one code or refresh token, revocation racing
//! rotation, concurrent migrations, and the test-support database factory.

#![allow(clippy::unwrap_used)]

mod common;

use common::{chain, node};
use keapsake_core::clock::{from_millis, to_millis};
use keapsake_core::secret::random_bytes;
use keapsake_core::store::{
    AdminStore, CodeExchange, Grant, NewAccount, NewApp, NewCode, NewTokens, NewUser, OAuthStore,
    Rotation, Store,
};
use keapsake_core::{AppId, TokenHash};
use keapsake_store_postgres::{PgStore, create_test_database};
use std::sync::Arc;
use time::{Duration, OffsetDateTime};

fn now() -> OffsetDateTime {
    from_millis(to_millis(OffsetDateTime::now_utc()))
}

fn suffix() -> String {
    random_bytes::<6>()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn hash() -> TokenHash {
    TokenHash(random_bytes::<32>())
}

fn tokens(at: OffsetDateTime) -> NewTokens {
    NewTokens {
        access_hash: hash(),
        access_expires_at: at + Duration::hours(24),
        refresh_hash: hash(),
        refresh_expires_at: at + Duration::days(45),
        now: at,
    }
}

/// A user, an account they belong to, an app, and a stored code for them; returns the app and
/// the code's hash.
async fn code_for_new_world(store: &dyn Store, at: OffsetDateTime) -> (AppId, TokenHash) {
    let s = suffix();
    let user = store
        .create_user(
            NewUser {
                email: format!("race-{s}@example.com"),
                password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$x".into(),
                given_name: "Race".into(),
                family_name: s.clone(),
            },
            at,
        )
        .await
        .unwrap();
    let account = store
        .create_account(
            NewAccount {
                alias: format!("rc{s}"),
                name: format!("Race {s}"),
            },
            at,
        )
        .await
        .unwrap();
    store.add_member(account.id, user.id, true).await.unwrap();
    let app = store
        .create_app(
            NewApp {
                client_id: format!("race-{s}"),
                secret_hash: "x".into(),
                name: "Race".into(),
                redirect_uris: vec!["https://race.example.com/cb".into()],
            },
            at,
        )
        .await
        .unwrap();
    let code = hash();
    store
        .insert_code(NewCode {
            hash: code,
            app_id: app.id,
            user_id: user.id,
            account_id: account.id,
            redirect_uri: "https://race.example.com/cb".into(),
            scope: "full".into(),
            code_challenge: None,
            code_challenge_method: None,
            created_at: at,
            expires_at: at + Duration::minutes(10),
        })
        .await
        .unwrap();
    (app.id, code)
}

/// Exchanges a fresh code; returns the app, the grant and the first pair.
async fn issued(store: &dyn Store, at: OffsetDateTime) -> (AppId, Grant, NewTokens) {
    let (app, code) = code_for_new_world(store, at).await;
    let t = tokens(at);
    match store.exchange_code(&code, app, t).await.unwrap() {
        CodeExchange::Issued(g) => (app, g, t),
        other => panic!("a fresh code must be Issued, got {other:?}"),
    }
}

#[tokio::test]
async fn backend_is_postgres_and_answers_ping() {
    let store = node().await;
    assert_eq!(store.backend(), "postgres");
    store.ping().await.unwrap();
    store.close().await;
    assert!(
        store.ping().await.is_err(),
        "a closed store no longer answers"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_nodes_racing_100_rotations_of_one_refresh_token_rotate_exactly_once() {
    // Arrange
    let nodes = [Arc::new(node().await), Arc::new(node().await)];
    let t0 = now();
    let (app, grant, first) = issued(&*nodes[0], t0).await;
    let t1 = t0 + Duration::minutes(1);
    // Act: 100 concurrent refreshes, alternating between the two nodes.
    let mut tasks = Vec::new();
    for i in 0..100 {
        let store = Arc::clone(&nodes[i % 2]);
        let next = tokens(t1);
        tasks.push(tokio::spawn(async move {
            let r = store
                .rotate_refresh(&first.refresh_hash, app, Duration::seconds(60), next)
                .await;
            (r, next)
        }));
    }
    let mut rotated = Vec::new();
    let mut rejected = 0;
    let mut losers = Vec::new();
    for task in tasks {
        let (result, next) = task.await.unwrap();
        match result {
            Ok(Rotation::Rotated(g)) => rotated.push((g, next)),
            Ok(Rotation::RejectedInGrace) => {
                rejected += 1;
                losers.push(next);
            }
            other => panic!("every loser is RejectedInGrace (no error, no Busy), got {other:?}"),
        }
    }
    // Assert
    assert_eq!(rotated.len(), 1, "exactly one rotation wins");
    assert_eq!(rejected, 99);
    let (g, winner) = &rotated[0];
    assert_eq!(g, &grant);
    let rec = nodes[1]
        .find_refresh_token(&winner.refresh_hash)
        .await
        .unwrap()
        .expect("the winner's refresh token is stored");
    assert!(!rec.revoked && !rec.rotated, "{rec:?}");
    for lost in &losers {
        assert!(
            nodes[0]
                .find_refresh_token(&lost.refresh_hash)
                .await
                .unwrap()
                .is_none(),
            "a losing call stored nothing"
        );
    }
    assert_eq!(nodes[0].count_active_families(app, t1).await.unwrap(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_nodes_racing_without_grace_rotate_once_and_later_replays_revoke_the_family() {
    // Arrange: grace zero, and the racers' clocks spread over 100 ms, so losers after the winner
    // see reuse and revoke.
    let nodes = [Arc::new(node().await), Arc::new(node().await)];
    let t0 = now();
    let (app, _, first) = issued(&*nodes[0], t0).await;
    let t1 = t0 + Duration::minutes(1);
    // Act
    let mut tasks = Vec::new();
    for i in 0..100i64 {
        let store = Arc::clone(&nodes[(i % 2) as usize]);
        let next = tokens(t1 + Duration::milliseconds(i));
        tasks.push(tokio::spawn(async move {
            store
                .rotate_refresh(&first.refresh_hash, app, Duration::ZERO, next)
                .await
                .map(|r| (r, next))
        }));
    }
    let mut winners = Vec::new();
    let mut reused = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok((Rotation::Rotated(_), next)) => winners.push(next),
            Ok((Rotation::Reused, _)) => reused += 1,
            Ok((Rotation::RejectedInGrace | Rotation::Invalid, _)) => {}
            Err(e) => panic!("no call may fail: {}", chain(&e)),
        }
    }
    // Assert
    assert_eq!(winners.len(), 1, "exactly one rotation wins");
    if reused > 0 {
        let rec = nodes[1]
            .find_access_token(&winners[0].access_hash)
            .await
            .unwrap()
            .unwrap();
        assert!(
            rec.revoked,
            "a reuse after the win revoked the winner's pair"
        );
    }
    // A replay well after the race always revokes.
    let late = tokens(t1 + Duration::minutes(5));
    let replay = nodes[1]
        .rotate_refresh(&first.refresh_hash, app, Duration::ZERO, late)
        .await
        .unwrap();
    assert!(
        matches!(replay, Rotation::Reused | Rotation::Invalid),
        "{replay:?}"
    );
    let rec = nodes[0]
        .find_refresh_token(&winners[0].refresh_hash)
        .await
        .unwrap()
        .unwrap();
    assert!(
        rec.revoked,
        "the winner's refresh token died with its family"
    );
    assert_eq!(nodes[0].count_active_families(app, t1).await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_nodes_racing_20_exchanges_of_one_code_issue_exactly_once() {
    // Arrange
    let nodes = [Arc::new(node().await), Arc::new(node().await)];
    let t0 = now();
    let (app, code) = code_for_new_world(&*nodes[0], t0).await;
    // Act
    let mut tasks = Vec::new();
    for i in 0..20 {
        let store = Arc::clone(&nodes[i % 2]);
        let t = tokens(t0);
        tasks.push(tokio::spawn(async move {
            store.exchange_code(&code, app, t).await.map(|r| (r, t))
        }));
    }
    let mut issued = Vec::new();
    let mut replayed = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok((CodeExchange::Issued(_), t)) => issued.push(t),
            Ok((CodeExchange::Replayed, _)) => replayed += 1,
            other => panic!("every loser is Replayed, got {other:?}"),
        }
    }
    // Assert
    assert_eq!(issued.len(), 1, "exactly one exchange wins");
    assert_eq!(replayed, 19);
    let rec = nodes[0]
        .find_access_token(&issued[0].access_hash)
        .await
        .unwrap()
        .unwrap();
    assert!(rec.revoked, "the replays revoked what the code issued");
    assert!(nodes[1].peek_code(&code).await.unwrap().unwrap().used);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn nothing_minted_while_a_revocation_races_survives_it() {
    for round in 0..5 {
        // Arrange
        let a = Arc::new(node().await);
        let b = Arc::new(node().await);
        let t0 = now();
        let (app, _, first) = issued(&*a, t0).await;
        // Act: node a rotates the chain as fast as it can; node b revokes part-way through.
        let rotator = {
            let a = Arc::clone(&a);
            tokio::spawn(async move {
                let mut minted = vec![first];
                for i in 1..=40 {
                    let current = minted[minted.len() - 1];
                    let next = tokens(t0 + Duration::seconds(i));
                    match a
                        .rotate_refresh(&current.refresh_hash, app, Duration::ZERO, next)
                        .await
                        .unwrap()
                    {
                        Rotation::Rotated(_) => minted.push(next),
                        Rotation::Invalid => break,
                        other => panic!("unexpected {other:?}"),
                    }
                }
                minted
            })
        };
        tokio::time::sleep(std::time::Duration::from_millis(2 * round)).await;
        let revoked = b
            .revoke_token(&first.access_hash, app, t0 + Duration::seconds(1))
            .await
            .unwrap();
        let minted = rotator.await.unwrap();
        // Assert
        assert!(revoked, "the family was live, so this call revoked it");
        for (i, t) in minted.iter().enumerate() {
            let access = b.find_access_token(&t.access_hash).await.unwrap().unwrap();
            let refresh = b
                .find_refresh_token(&t.refresh_hash)
                .await
                .unwrap()
                .unwrap();
            assert!(
                access.revoked && refresh.revoked,
                "round {round}: pair {i} of {} survived the revocation",
                minted.len()
            );
        }
        let last = minted[minted.len() - 1];
        assert_eq!(
            a.rotate_refresh(
                &last.refresh_hash,
                app,
                Duration::ZERO,
                tokens(t0 + Duration::hours(1))
            )
            .await
            .unwrap(),
            Rotation::Invalid
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn several_nodes_migrate_one_fresh_database_at_once() {
    // Arrange: a database of its own, empty.
    let admin = common::admin_url();
    let url = create_test_database(&admin)
        .await
        .unwrap_or_else(|e| panic!("{}\n{}", chain(&e), common::HOW_TO_START));
    // Act
    let mut tasks = Vec::new();
    for _ in 0..5 {
        let url = url.clone();
        tasks.push(tokio::spawn(async move { PgStore::connect(&url).await }));
    }
    // Assert
    let mut stores = Vec::new();
    for task in tasks {
        match task.await.unwrap() {
            Ok(s) => stores.push(s),
            Err(e) => panic!("a node failed to start: {}", chain(&e)),
        }
    }
    for s in &stores {
        assert!(s.list_users().await.unwrap().is_empty());
        s.close().await;
    }
    drop_database(&admin, &url).await;
}

#[tokio::test]
async fn test_databases_get_distinct_random_names() {
    let admin = common::admin_url();
    let a = create_test_database(&admin).await.unwrap();
    let b = create_test_database(&admin).await.unwrap();
    assert_ne!(a, b);
    for url in [&a, &b] {
        let name = url.rsplit('/').next().unwrap();
        assert!(name.starts_with("keapsake_test_"), "{url}");
        assert_eq!(name.len(), "keapsake_test_".len() + 16, "{url}");
        drop_database(&admin, url).await;
    }
}

#[tokio::test]
async fn test_databases_older_than_a_day_are_dropped_by_later_runs() {
    use sqlx::Connection as _;
    // Arrange: a test database whose creation mark says it is two days old.
    let admin = common::admin_url();
    let old = create_test_database(&admin).await.unwrap();
    let old_name = old.rsplit('/').next().unwrap().to_owned();
    let two_days_ago = to_millis(OffsetDateTime::now_utc() - Duration::days(2));
    let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "COMMENT ON DATABASE {old_name} IS 'keapsake test database, created at ms {two_days_ago}'"
    )))
    .execute(&mut conn)
    .await
    .unwrap();
    // Act
    let fresh = create_test_database(&admin).await.unwrap();
    // Assert
    let exists = |name: String| {
        let admin = admin.clone();
        async move {
            let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap();
            let n: i64 = sqlx::query_scalar("SELECT count(*) FROM pg_database WHERE datname = $1")
                .bind(name)
                .fetch_one(&mut conn)
                .await
                .unwrap();
            n == 1
        }
    };
    assert!(!exists(old_name).await, "the stale database was dropped");
    let fresh_name = fresh.rsplit('/').next().unwrap().to_owned();
    assert!(exists(fresh_name).await, "the new one was not");
    drop_database(&admin, &fresh).await;
}

#[tokio::test]
async fn an_unreachable_server_fails_with_instructions() {
    // Port 9 (discard) on loopback: nothing speaks Postgres there.
    let err = create_test_database("postgres://postgres@127.0.0.1:9/postgres")
        .await
        .expect_err("no server listens there");
    let msg = chain(&err);
    assert!(msg.contains("127.0.0.1:9"), "{msg}");
    assert!(msg.contains("KEAPSAKE_TEST_PG_URL"), "{msg}");
    let err = PgStore::connect("postgres://postgres:hunter2@127.0.0.1:9/x")
        .await
        .expect_err("no server listens there");
    let msg = chain(&err);
    assert!(!msg.contains("hunter2"), "the password is redacted: {msg}");
}

/// Drops a database this test created (the shared per-process one is left for inspection).
async fn drop_database(admin: &str, url: &str) {
    use sqlx::Connection as _;
    let name = url.rsplit('/').next().unwrap().to_owned();
    assert!(name.starts_with("keapsake_test_"));
    let mut conn = sqlx::PgConnection::connect(admin).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    )))
    .execute(&mut conn)
    .await
    .unwrap();
}
