//! Throughput check for the group-committing writer (ignored by default; it measures, it does not
//! verify behaviour). Run with
//! `cargo test --release -p keapsake-store-sqlite --test throughput -- --ignored --nocapture`.
//!
//! Compares, at 64 concurrent clients for a fixed time:
//! - keapsake: `rotate_refresh` (a full refresh grant: conditional update + two inserts) on a
//!   `SqliteStore` at `synchronous=FULL`;
//! - a naive baseline: one `BEGIN IMMEDIATE; INSERT; COMMIT` per request on a 64-connection pool at
//!   `synchronous=NORMAL`.
//!
//! The design goal is keapsake >= baseline.

#![allow(clippy::unwrap_used)]

use keapsake_core::store::{
    AdminStore, NewAccount, NewApp, NewCode, NewTokens, NewUser, OAuthStore, Rotation,
};
use keapsake_core::{Secret, TokenHash};
use keapsake_store_sqlite::{Durability, SqliteOptions, SqliteStore};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use time::OffsetDateTime;

const CLIENTS: usize = 64;
const RUN: Duration = Duration::from_secs(2);
const ROUNDS: usize = 3;

fn tokens(now: OffsetDateTime) -> NewTokens {
    NewTokens {
        access_hash: Secret::generate().hash(),
        access_expires_at: now + time::Duration::hours(24),
        refresh_hash: Secret::generate().hash(),
        refresh_expires_at: now + time::Duration::days(45),
        now,
    }
}

async fn keapsake_refreshes_per_second(durability: Durability) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(
        SqliteStore::open(
            &dir.path().join("k.db"),
            SqliteOptions {
                durability,
                read_connections: 0,
            },
        )
        .await
        .unwrap(),
    );
    let now = OffsetDateTime::now_utc();
    let user = store
        .create_user(
            NewUser {
                email: "bench@example.com".into(),
                password_hash: "x".into(),
                given_name: "B".into(),
                family_name: "B".into(),
            },
            now,
        )
        .await
        .unwrap();
    let account = store
        .create_account(
            NewAccount {
                alias: "bench".into(),
                name: "Bench".into(),
            },
            now,
        )
        .await
        .unwrap();
    let app = store
        .create_app(
            NewApp {
                client_id: "bench".into(),
                secret_hash: "x".into(),
                name: "Bench".into(),
                redirect_uris: vec!["https://b.example/cb".into()],
            },
            now,
        )
        .await
        .unwrap();
    // One family per client, each with its own refresh chain.
    let mut chains: Vec<TokenHash> = Vec::new();
    for _ in 0..CLIENTS {
        let code = Secret::generate().hash();
        store
            .insert_code(NewCode {
                hash: code,
                app_id: app.id,
                user_id: user.id,
                account_id: account.id,
                redirect_uri: "https://b.example/cb".into(),
                scope: "full".into(),
                code_challenge: None,
                code_challenge_method: None,
                created_at: now,
                expires_at: now + time::Duration::minutes(10),
            })
            .await
            .unwrap();
        let t = tokens(now);
        store.exchange_code(&code, app.id, t).await.unwrap();
        chains.push(t.refresh_hash);
    }
    let done = Arc::new(AtomicU64::new(0));
    let cpu = cpu_seconds();
    let start = Instant::now();
    let tasks: Vec<_> = chains
        .into_iter()
        .map(|mut rt| {
            let (store, done) = (Arc::clone(&store), Arc::clone(&done));
            let app = app.id;
            tokio::spawn(async move {
                while start.elapsed() < RUN {
                    let t = tokens(OffsetDateTime::now_utc());
                    let r = store
                        .rotate_refresh(&rt, app, time::Duration::ZERO, t)
                        .await
                        .unwrap();
                    assert!(matches!(r, Rotation::Rotated(_)), "{r:?}");
                    rt = t.refresh_hash;
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let ops = done.load(Ordering::Relaxed) as f64;
    let rate = ops / start.elapsed().as_secs_f64();
    println!(
        "  keapsake {durability:?}: {:.0} µs CPU per refresh",
        (cpu_seconds() - cpu) * 1e6 / ops
    );
    store.close().await;
    rate
}

async fn naive_inserts_per_second() -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let opts = SqliteConnectOptions::new()
        .filename(dir.path().join("naive.db"))
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(30));
    let pool = SqlitePoolOptions::new()
        .max_connections(CLIENTS as u32)
        .connect_with(opts)
        .await
        .unwrap();
    sqlx::query(
        "CREATE TABLE t (hash BLOB PRIMARY KEY, family_id INTEGER NOT NULL, \
         created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL) WITHOUT ROWID",
    )
    .execute(&pool)
    .await
    .unwrap();
    let done = Arc::new(AtomicU64::new(0));
    let cpu = cpu_seconds();
    let start = Instant::now();
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|i| {
            let (pool, done) = (pool.clone(), Arc::clone(&done));
            tokio::spawn(async move {
                while start.elapsed() < RUN {
                    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await.unwrap();
                    sqlx::query(
                        "INSERT INTO t (hash, family_id, created_at, expires_at) \
                         VALUES ($1, $2, 0, 0)",
                    )
                    .bind(Secret::generate().hash().as_bytes().to_vec())
                    .bind(i as i64)
                    .execute(&mut *tx)
                    .await
                    .unwrap();
                    tx.commit().await.unwrap();
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let ops = done.load(Ordering::Relaxed) as f64;
    let rate = ops / start.elapsed().as_secs_f64();
    println!(
        "  naive: {:.0} µs CPU per insert",
        (cpu_seconds() - cpu) * 1e6 / ops
    );
    pool.close().await;
    rate
}

/// CPU time (user + system) this process has used, from /proc (Linux), in seconds.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<f64> = after
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0.0))
        .collect();
    // Fields 14 and 15 of the file, 12 and 13 after the command name; clock ticks of 1/100 s.
    (f.get(11).copied().unwrap_or(0.0) + f.get(12).copied().unwrap_or(0.0)) / 100.0
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "a measurement, run on demand with --release --ignored --nocapture"]
async fn refresh_throughput_at_64_clients() {
    // Interleaved rounds, medians: the machine may be busy with other work.
    let (mut naive, mut full, mut relaxed) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        naive.push(naive_inserts_per_second().await);
        full.push(keapsake_refreshes_per_second(Durability::Full).await);
        relaxed.push(keapsake_refreshes_per_second(Durability::Relaxed).await);
        println!(
            "round {round}: naive {:.0}/s, full {:.0}/s, relaxed {:.0}/s",
            naive[round], full[round], relaxed[round]
        );
    }
    let (naive, full, relaxed) = (median(naive), median(full), median(relaxed));
    println!("median of {ROUNDS} rounds of {RUN:?}, {CLIENTS} clients:");
    println!("naive insert, 1 txn/request, synchronous=NORMAL: {naive:>9.0} /s");
    println!(
        "keapsake rotate_refresh, synchronous=FULL:       {full:>9.0} /s ({:.2}x)",
        full / naive
    );
    println!(
        "keapsake rotate_refresh, synchronous=NORMAL:     {relaxed:>9.0} /s ({:.2}x)",
        relaxed / naive
    );
}
