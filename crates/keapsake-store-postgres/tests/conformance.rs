//! Runs the shared conformance suite against PostgreSQL: one database per test process (random
//! name, on `KEAPSAKE_TEST_PG_URL` or 127.0.0.1:5432), and a fresh `PgStore` per test. If
//! Postgres is unreachable every test fails with a message saying how to start it.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

async fn fresh_store() -> Arc<keapsake_store_postgres::PgStore> {
    Arc::new(common::node().await)
}

keapsake_store_conformance::store_conformance!(fresh_store);
keapsake_store_conformance::records_conformance!(fresh_store);
keapsake_store_conformance::counters_conformance!(fresh_store);
