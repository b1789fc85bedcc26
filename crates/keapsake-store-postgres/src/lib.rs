//! keapsake's [`Store`] on PostgreSQL.
//!
//! [`PgStore`] holds a connection pool and implements every trait of [`keapsake_core::store`].
//! Table and column names are those of `docs/schema.md`, shared with the SQLite backend; the DDL
//! lives in this crate's `migrations/` and is embedded at build time.
//!
//! Several nodes may share one database (SECURITY.md §10):
//! - migrations run under sqlx's advisory lock, so nodes may start at the same moment;
//! - single use of an authorization code is one conditional `UPDATE … WHERE used_at IS NULL`
//!   (rows affected checked) in the transaction that creates the family and inserts its tokens;
//! - rotation, reuse handling and revocation lock the same `token_families` row
//!   (`SELECT … FOR UPDATE`), so nothing minted concurrently survives a revocation;
//! - tenant records take per-account ids from a locked `id_sequences` row, edits lock their
//!   record, and upserts of one key are serialised by an advisory lock (see `records`);
//! - serialization failures and deadlocks are retried up to three times, then reported as
//!   [`StoreError::Busy`](keapsake_core::StoreError::Busy), never as a backend failure.
//!
//! Queries are runtime `sqlx::query`/`query_as` with `FromRow` rows (see DEPENDENCIES.md, "Why not
//! `query!` now"); `sqlx::Error` never leaves the crate.

mod admin;
mod counters;
mod error;
mod hooks;
mod keys;
mod oauth;
mod records;
mod session;

use crate::error::{Fail, backend, map_sqlx, retry};
use async_trait::async_trait;
use keapsake_core::clock::to_millis;
use keapsake_core::store::{Store, StoreResult};
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::{Connection, PgConnection};
use std::time::Duration;

/// The embedded migrations (`crates/keapsake-store-postgres/migrations`).
static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// Connections per pool, per node. Postgres allows 100 by default; a few nodes and test processes
/// must fit under that.
const MAX_CONNECTIONS: u32 = 10;

/// How long a call waits for a pooled connection before answering `Busy`.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);

/// keapsake's storage on PostgreSQL: a connection pool. Cheap to clone (the pool is shared).
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// Connects to the database at `url` (e.g. `postgres://postgres@127.0.0.1:5432/keapsake`)
    /// and brings its schema up to date with the embedded migrations. Migrations take a Postgres
    /// advisory lock, so several nodes may call this at once against one database.
    ///
    /// # Errors
    /// `Backend` if the server cannot be reached, refuses the login, or a migration fails;
    /// `Busy` if the server has no connection slots left.
    pub async fn connect(url: &str) -> StoreResult<PgStore> {
        let unreachable = |e: sqlx::Error| match map_sqlx(e) {
            keapsake_core::StoreError::Backend(inner) => backend(format!(
                "cannot connect to PostgreSQL at {}: {inner}",
                redact_url(url)
            )),
            other => other,
        };
        // One direct connection first: it fails at once if the server is unreachable or refuses
        // the login, where a pool would keep retrying until its acquire timeout.
        let probe = PgConnection::connect(url).await.map_err(unreachable)?;
        // Closing politely; a failure here changes nothing for the caller.
        let _ = probe.close().await;
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_lazy(url)
            .map_err(unreachable)?;
        // sqlx's migrator holds a Postgres advisory lock while it checks and applies migrations.
        MIGRATOR
            .run(&pool)
            .await
            .map_err(|e| backend(format!("migrating the database failed: {e}")))?;
        Ok(PgStore { pool })
    }

    /// Closes every pooled connection and waits until they are closed. Calls made afterwards fail.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Test support: creates a database with a random name (`keapsake_test_<16 hex digits>`) on the
/// server `admin_url` points at, and returns that database's URL (the admin URL with its path
/// replaced). The database is empty; [`PgStore::connect`] migrates it. Every Postgres test suite
/// of the workspace uses this, one database per test process.
///
/// # Errors
/// `Backend` if the server cannot be reached (the message names the server and says how to start
/// one), if `admin_url` is not a URL, or if the role may not create databases.
pub async fn create_test_database(admin_url: &str) -> StoreResult<String> {
    let mut url = url::Url::parse(admin_url)
        .map_err(|e| backend(format!("the admin URL is not a URL ({e})")))?;
    let mut conn = PgConnection::connect(admin_url).await.map_err(|e| {
        backend(format!(
            "cannot connect to PostgreSQL at {} ({e}). Start a server on 127.0.0.1:5432 with trust \
             auth for user postgres (e.g. `pg_ctlcluster 15 main start`, or `initdb -A trust -U \
             postgres -D /tmp/pg && pg_ctl -D /tmp/pg -o '-k /tmp' start`), or point \
             KEAPSAKE_TEST_PG_URL at one.",
            redact_url(admin_url)
        ))
    })?;

    let name = format!(
        "keapsake_test_{}",
        hex(&keapsake_core::secret::random_bytes::<8>())
    );
    // DDL takes no bind parameters; the name is built from hex digits only.
    let ddl = format!("CREATE DATABASE {name}");
    let mut attempts = 0u32;
    loop {
        match sqlx::query(sqlx::AssertSqlSafe(ddl.clone()))
            .execute(&mut conn)
            .await
        {
            Ok(_) => break,
            // 55006 object_in_use: another session is connected to template1 (often another test
            // process creating its own database at the same moment). It clears quickly.
            Err(sqlx::Error::Database(db))
                if db.code().as_deref() == Some("55006") && attempts < 50 =>
            {
                attempts += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => {
                return Err(backend(format!(
                    "creating the test database {name} failed: {}",
                    map_sqlx(e).source_message()
                )));
            }
        }
    }
    // Marks the database with its creation time so later runs can clean it up; best effort.
    let created = to_millis(time::OffsetDateTime::now_utc());
    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
        "COMMENT ON DATABASE {name} IS '{TEST_DB_COMMENT}{created}'"
    )))
    .execute(&mut conn)
    .await;
    drop_stale_test_databases(&mut conn, created).await;
    // Closing politely; a failure here changes nothing for the caller.
    let _ = conn.close().await;

    url.set_path(&format!("/{name}"));
    Ok(url.into())
}

/// Prefix of the comment [`create_test_database`] puts on its databases, followed by the creation
/// time in Unix milliseconds.
const TEST_DB_COMMENT: &str = "keapsake test database, created at ms ";

/// Test databases older than this are dropped by later runs (if nobody is connected to them).
const TEST_DB_MAX_AGE_MS: i64 = 24 * 60 * 60 * 1000;

/// Best effort: drops up to 10 databases made by [`create_test_database`] more than a day before
/// `now_ms` that nobody is connected to, so test runs do not fill the server. Only names of the
/// exact `keapsake_test_<16 hex>` shape carrying our comment are considered, and without `FORCE`
/// a database still in use is left alone. Failures are ignored.
async fn drop_stale_test_databases(conn: &mut PgConnection, now_ms: i64) {
    let found: Result<Vec<(String, Option<String>)>, _> = sqlx::query_as(
        "SELECT datname::text, shobj_description(oid, 'pg_database') FROM pg_database \
         WHERE datname LIKE 'keapsake\\_test\\_%' ORDER BY datname",
    )
    .fetch_all(&mut *conn)
    .await;
    let Ok(found) = found else { return };
    let stale = found.into_iter().filter_map(|(name, comment)| {
        let created: i64 = comment?.strip_prefix(TEST_DB_COMMENT)?.parse().ok()?;
        let hex = name.strip_prefix("keapsake_test_")?;
        let shaped = hex.len() == 16 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        (shaped && now_ms.saturating_sub(created) > TEST_DB_MAX_AGE_MS).then_some(name)
    });
    for name in stale.take(10) {
        if let Err(e) = sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name}"
        )))
        .execute(&mut *conn)
        .await
        {
            tracing::debug!(database = %name, error = %e, "left a stale test database in place");
        }
    }
}

/// The text of an error and its sources, for messages.
trait SourceMessage {
    fn source_message(&self) -> String;
}

impl SourceMessage for keapsake_core::StoreError {
    fn source_message(&self) -> String {
        let mut s = self.to_string();
        let mut src = std::error::Error::source(self);
        while let Some(e) = src {
            s.push_str(": ");
            s.push_str(&e.to_string());
            src = e.source();
        }
        s
    }
}

/// `url` without its password, for error messages.
fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            if u.password().is_some() {
                let _ = u.set_password(Some("[redacted]"));
            }
            u.into()
        }
        Err(_) => "[unparseable URL]".into(),
    }
}

/// Lower-case hex of `bytes`.
fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[async_trait]
impl Store for PgStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn ping(&self) -> StoreResult<()> {
        let pool = &self.pool;
        retry("ping", move || async move {
            sqlx::query("SELECT 1").execute(pool).await?;
            Ok::<_, Fail>(())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted_from_messages() {
        let r = redact_url("postgres://u:hunter2@db:5432/x");
        assert!(!r.contains("hunter2"), "{r}");
        assert!(r.contains("db:5432"));
    }

    #[test]
    fn hex_is_lower_case_and_two_digits_per_byte() {
        assert_eq!(hex(&[0, 0xab, 0x1f]), "00ab1f");
    }
}
