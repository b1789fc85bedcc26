//! Runs the shared conformance suite against a fresh SQLite store per test, each in its own
//! temp-file database (a file behaves like production and cannot vanish with its last connection).

#![allow(clippy::unwrap_used)]

use keapsake_store_sqlite::{SqliteOptions, SqliteStore};

/// The store and the directory holding its file; the directory is removed when the test ends.
struct Fresh {
    store: SqliteStore,
    _dir: tempfile::TempDir,
}

impl std::ops::Deref for Fresh {
    type Target = SqliteStore;
    fn deref(&self) -> &SqliteStore {
        &self.store
    }
}

async fn fresh_store() -> Fresh {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("keapsake.db"), SqliteOptions::default())
        .await
        .unwrap();
    Fresh { store, _dir: dir }
}

keapsake_store_conformance::store_conformance!(fresh_store);
keapsake_store_conformance::records_conformance!(fresh_store);
keapsake_store_conformance::counters_conformance!(fresh_store);
