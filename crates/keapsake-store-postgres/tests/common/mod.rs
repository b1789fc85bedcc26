//! Shared by this crate's test binaries: one fresh database per test process, a store ("node")
//! per test, and failure messages that say how to start Postgres. Nothing here skips a test.

#![allow(dead_code)]

use keapsake_store_postgres::{PgStore, create_test_database};
use tokio::sync::OnceCell;

/// Where the tests find a server when `KEAPSAKE_TEST_PG_URL` is not set.
pub const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// How to get a server, printed whenever one cannot be reached.
pub const HOW_TO_START: &str = "The PostgreSQL tests need a server. Start one on 127.0.0.1:5432 \
     with trust auth for user `postgres` (Debian: `pg_ctlcluster 15 main start`; anywhere: \
     `initdb -A trust -U postgres -D /tmp/kpg && pg_ctl -D /tmp/kpg -l /tmp/kpg.log start`), \
     or set KEAPSAKE_TEST_PG_URL to an admin URL of a server where that role may CREATE DATABASE.";

/// The admin URL: `KEAPSAKE_TEST_PG_URL`, or [`DEFAULT_ADMIN_URL`].
pub fn admin_url() -> String {
    std::env::var("KEAPSAKE_TEST_PG_URL").unwrap_or_else(|_| DEFAULT_ADMIN_URL.to_owned())
}

/// An error with its whole source chain.
pub fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    s
}

static DATABASE: OnceCell<String> = OnceCell::const_new();

/// The URL of this process's test database, created on first use.
pub async fn database_url() -> String {
    DATABASE
        .get_or_init(|| async {
            let admin = admin_url();
            match create_test_database(&admin).await {
                Ok(url) => url,
                Err(e) => panic!(
                    "cannot create a test database via {admin}: {}\n{HOW_TO_START}",
                    chain(&e)
                ),
            }
        })
        .await
        .clone()
}

/// A new store (a "node": its own pool) on this process's test database.
pub async fn node() -> PgStore {
    let url = database_url().await;
    PgStore::connect(&url)
        .await
        .unwrap_or_else(|e| panic!("connecting to {url}: {}\n{HOW_TO_START}", chain(&e)))
}
