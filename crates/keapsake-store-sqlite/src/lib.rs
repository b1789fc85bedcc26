//! keapsake's [`Store`] on embedded SQLite.
//!
//! Layout (SECURITY.md §10, DEPENDENCIES.md "Storage approach"):
//! - **One writer.** Every write is a job for a single task (on a thread of its own) that owns the
//!   only write connection and commits in groups (`BEGIN IMMEDIATE`, one `SAVEPOINT` per job, one `COMMIT`): see
//!   [`writer`]. A method returns only after the commit that holds its write.
//! - **A pool of readers** (`PRAGMA query_only`), which WAL lets run beside the writer.
//! - Every connection: `journal_mode=WAL`, `foreign_keys=ON`, `busy_timeout`, and
//!   `synchronous=FULL` (or `NORMAL` with [`Durability::Relaxed`]).
//! - Migrations from `migrations/` are embedded and run by [`SqliteStore::open`].
//!
//! Queries are runtime `sqlx::query`/`query_as` with `$1…$N` placeholders; `sqlx::Error` is
//! mapped in [`error`] and never leaves the crate.

mod admin;
mod counters;
mod error;
mod hooks;
mod keys;
mod oauth;
mod sessions;
mod writer;

use async_trait::async_trait;
use futures_util::future::BoxFuture;
use keapsake_core::store::{Store, StoreResult};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{ConnectOptions as _, SqliteConnection};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Mutex, mpsc, oneshot};

/// The embedded migrations (`crates/keapsake-store-sqlite/migrations`).
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!();

/// How long a connection waits on another process's lock before answering `Busy`.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// How many times [`SqliteStore::open`] tries to connect and migrate before giving up.
const OPEN_ATTEMPTS: u64 = 6;

/// Read connections when [`SqliteOptions::read_connections`] is 0.
const DEFAULT_READ_CONNECTIONS: u32 = 4;

/// How long a read waits for a free pooled connection before answering `Busy`.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);

/// When a commit counts as done.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Durability {
    /// `synchronous=FULL`: a commit is on disk before it is acknowledged, even across a power
    /// loss. The production setting (SECURITY.md §10).
    #[default]
    Full,
    /// `synchronous=NORMAL`: in WAL mode a commit survives a crash of the process but the last
    /// commits may be lost on power loss or an OS crash. For tests and throwaway sandboxes.
    Relaxed,
}

impl Durability {
    fn synchronous(self) -> SqliteSynchronous {
        match self {
            Self::Full => SqliteSynchronous::Full,
            Self::Relaxed => SqliteSynchronous::Normal,
        }
    }
}

/// Options for [`SqliteStore::open`].
#[derive(Clone, Copy, Debug, Default)]
pub struct SqliteOptions {
    /// `synchronous` setting of every connection.
    pub durability: Durability,
    /// Size of the read pool; 0 means the default, 4.
    pub read_connections: u32,
}

/// keapsake's store on one SQLite file. Cheap to clone; clones share the writer and the pool.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    jobs: mpsc::Sender<writer::Msg>,
    readers: SqlitePool,
    /// Resolves when the writer has stopped; taken (and awaited) by the first
    /// [`SqliteStore::close`].
    writer: Mutex<Option<oneshot::Receiver<()>>>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("read_connections", &self.inner.readers.size())
            .field("closed", &self.inner.jobs.is_closed())
            .finish()
    }
}

/// The options every connection shares: WAL, foreign keys, busy timeout, the chosen durability.
fn connect_options(path: &Path, durability: Durability) -> SqliteConnectOptions {
    SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .foreign_keys(true)
        .busy_timeout(BUSY_TIMEOUT)
        .synchronous(durability.synchronous())
}

/// Opens the write connection and brings the schema up to date.
///
/// Tolerates another process opening the same new file at the same moment (a server and an admin
/// command started together): switching a new file to WAL can answer `database is locked` without
/// waiting, and each migration commits together with its bookkeeping row, so a migration that
/// lost the race failed without effect and the next attempt finds it applied. A migration that is
/// itself broken fails every attempt.
async fn open_writer(base: &SqliteConnectOptions, path: &Path) -> StoreResult<SqliteConnection> {
    let mut attempt: u64 = 1;
    loop {
        let result = async {
            let mut conn = base.connect().await.map_err(error::map)?;
            // `run_direct` rather than `run`: `run`'s `Acquire<'a>` bound makes this future fail
            // the `Send` check ("implementation of `Acquire` is not general enough"), so `open`
            // could not be called inside `tokio::spawn`. sqlx provides `run_direct` for this.
            MIGRATOR
                .run_direct(None, &mut conn, false)
                .await
                .map_err(|e| {
                    keapsake_core::StoreError::Backend(Box::new(error::SqliteFailure(format!(
                        "migrating {}: {e}",
                        path.display()
                    ))))
                })?;
            Ok(conn)
        }
        .await;
        match result {
            Ok(conn) => return Ok(conn),
            Err(e) if attempt < OPEN_ATTEMPTS => {
                tracing::debug!(error = %e, attempt, "opening the SQLite store failed; retrying");
                tokio::time::sleep(Duration::from_millis(25 * attempt)).await;
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path`, runs the embedded migrations, starts the
    /// writer task and the read pool. Must be called inside a Tokio runtime.
    ///
    /// # Errors
    /// `Busy` if another process holds the database locked past the busy timeout; `Backend` if
    /// the file cannot be opened or created, or a migration fails.
    pub async fn open(path: &Path, opts: SqliteOptions) -> StoreResult<SqliteStore> {
        let base = connect_options(path, opts.durability);
        let write_conn = open_writer(&base, path).await?;
        let read_connections = match opts.read_connections {
            0 => DEFAULT_READ_CONNECTIONS,
            n => n,
        };
        let readers = SqlitePoolOptions::new()
            .max_connections(read_connections)
            .min_connections(0)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(base.pragma("query_only", "ON"))
            .await
            .map_err(error::map)?;
        let (jobs, rx) = mpsc::channel(writer::QUEUE_DEPTH);
        let writer = writer::spawn(write_conn, rx).map_err(|e| {
            keapsake_core::StoreError::Backend(Box::new(error::SqliteFailure(format!(
                "starting the writer thread: {e}"
            ))))
        })?;
        tracing::debug!(path = %path.display(), read_connections, durability = ?opts.durability, "opened SQLite store");
        Ok(SqliteStore {
            inner: Arc::new(Inner {
                jobs,
                readers,
                writer: Mutex::new(Some(writer)),
            }),
        })
    }

    /// Finishes every queued write, closes the write connection (which checkpoints the WAL) and the
    /// read pool. Later calls on this store, or any clone, fail with `Backend`. Closing twice is
    /// harmless.
    pub async fn close(&self) {
        // Holding the lock while waiting makes a concurrent second `close` wait for the first.
        let mut guard = self.inner.writer.lock().await;
        if let Some(task) = guard.take() {
            // A send error means the writer already stopped; there is nothing to tell it.
            let _ = self.inner.jobs.send(writer::Msg::Close).await;
            if task.await.is_err() {
                tracing::error!("the SQLite writer thread ended without closing its connection");
            }
        }
        self.inner.readers.close().await;
    }

    /// Runs `f` on the write connection inside the writer's current batch transaction (in its own
    /// savepoint) and returns its result once that transaction has committed.
    ///
    /// `f` is the whole operation: any read that decides the write happens inside it. If `f`
    /// returns `Err`, its writes are rolled back (and the rest of the batch is unaffected).
    ///
    /// # Errors
    /// `f`'s own error; or, if the batch could not commit, `Busy`/`Backend` although `f`
    /// succeeded; or `Backend` if the store is closed.
    async fn write<T: Send + 'static>(
        &self,
        f: impl for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, StoreResult<T>>
        + Send
        + 'static,
    ) -> StoreResult<T> {
        let (job, rx) = writer::job(f);
        self.inner
            .jobs
            .send(writer::Msg::Job(job))
            .await
            .map_err(|_| error::writer_gone())?;
        rx.await.map_err(|_| error::writer_gone())?
    }

    /// The read pool.
    fn read(&self) -> &SqlitePool {
        &self.inner.readers
    }
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn ping(&self) -> StoreResult<()> {
        if self.inner.jobs.is_closed() {
            return Err(error::writer_gone());
        }
        sqlx::query("SELECT 1")
            .execute(self.read())
            .await
            .map(|_| ())
            .map_err(error::map)
    }
}

// `RecordStore` (tenant documents, per-account ids, links) is implemented in `records`.
mod records;

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use sqlx::Connection as _;

    #[derive(Debug, PartialEq, Eq)]
    struct Pragmas {
        journal_mode: String,
        foreign_keys: i64,
        busy_timeout: i64,
        synchronous: i64,
    }

    async fn pragmas(conn: &mut SqliteConnection) -> Result<Pragmas, sqlx::Error> {
        Ok(Pragmas {
            journal_mode: sqlx::query_scalar("PRAGMA journal_mode")
                .fetch_one(&mut *conn)
                .await?,
            foreign_keys: sqlx::query_scalar("PRAGMA foreign_keys")
                .fetch_one(&mut *conn)
                .await?,
            busy_timeout: sqlx::query_scalar("PRAGMA busy_timeout")
                .fetch_one(&mut *conn)
                .await?,
            synchronous: sqlx::query_scalar("PRAGMA synchronous")
                .fetch_one(&mut *conn)
                .await?,
        })
    }

    fn expected(synchronous: i64) -> Pragmas {
        Pragmas {
            journal_mode: "wal".to_owned(),
            foreign_keys: 1,
            busy_timeout: 5000,
            synchronous,
        }
    }

    async fn assert_pragmas(durability: Durability, synchronous: i64) {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(
            &dir.path().join("k.db"),
            SqliteOptions {
                durability,
                read_connections: 3,
            },
        )
        .await
        .unwrap();
        // Hold every pooled connection at once, so each one is checked, not one of them 3 times.
        let mut held = Vec::new();
        for _ in 0..3 {
            held.push(store.read().acquire().await.unwrap());
        }
        for conn in &mut held {
            let p = pragmas(conn).await.unwrap();
            assert_eq!(p, expected(synchronous), "read connection");
            let q: i64 = sqlx::query_scalar("PRAGMA query_only")
                .fetch_one(&mut **conn)
                .await
                .unwrap();
            assert_eq!(q, 1, "read connections are query_only");
        }
        assert_eq!(store.read().size(), 3);
        drop(held);
        let on_writer = store
            .write(|conn| Box::pin(async move { pragmas(conn).await.map_err(error::map) }))
            .await
            .unwrap();
        assert_eq!(on_writer, expected(synchronous), "write connection");
        store.close().await;
    }

    #[tokio::test]
    async fn every_connection_has_the_pragmas_full() {
        assert_pragmas(Durability::Full, 2).await;
    }

    #[tokio::test]
    async fn every_connection_has_the_pragmas_relaxed() {
        assert_pragmas(Durability::Relaxed, 1).await;
    }

    /// Occupies the writer until the returned sender fires, so that jobs sent meanwhile queue up
    /// and are drained into one batch.
    async fn hold_writer(
        store: &SqliteStore,
    ) -> (
        oneshot::Sender<()>,
        tokio::task::JoinHandle<StoreResult<()>>,
    ) {
        let (release, wait) = oneshot::channel::<()>();
        let (started_tx, started) = oneshot::channel::<()>();
        let s = store.clone();
        let held = tokio::spawn(async move {
            s.write(move |_conn| {
                Box::pin(async move {
                    let _ = started_tx.send(());
                    let _ = wait.await;
                    Ok(())
                })
            })
            .await
        });
        started.await.unwrap();
        (release, held)
    }

    /// Waits until `n` jobs are queued for the writer.
    async fn wait_queued(store: &SqliteStore, n: usize) {
        while writer::QUEUE_DEPTH - store.inner.jobs.capacity() < n {
            tokio::task::yield_now().await;
        }
    }

    /// A write job inserting an account with this alias, failing afterwards if `fail`.
    fn insert_account(
        store: &SqliteStore,
        alias: String,
        fail: bool,
    ) -> tokio::task::JoinHandle<StoreResult<()>> {
        let s = store.clone();
        tokio::spawn(async move {
            s.write(move |conn| {
                Box::pin(async move {
                    sqlx::query(
                        "INSERT INTO accounts (alias, name, profile, created_at) \
                         VALUES ($1, 'n', '{}', 0)",
                    )
                    .bind(alias)
                    .execute(&mut *conn)
                    .await
                    .map_err(error::map)?;
                    if fail {
                        return Err(keapsake_core::StoreError::NotFound);
                    }
                    Ok(())
                })
            })
            .await
        })
    }

    async fn count_accounts(store: &SqliteStore, pattern: &str) -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM accounts WHERE alias LIKE $1")
            .bind(pattern)
            .fetch_one(store.read())
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn a_failing_job_rolls_back_only_itself() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("k.db"), SqliteOptions::default())
            .await
            .unwrap();
        // Arrange: 50 jobs queued behind a held writer land in one batch; every other one fails
        // after writing.
        let (release, held) = hold_writer(&store).await;
        let calls: Vec<_> = (0..50)
            .map(|i| insert_account(&store, format!("batch{i}"), i % 2 == 1))
            .collect();
        wait_queued(&store, 50).await;
        // Act
        release.send(()).unwrap();
        held.await.unwrap().unwrap();
        // Assert
        for (i, c) in calls.into_iter().enumerate() {
            let r = c.await.unwrap();
            assert_eq!(r.is_ok(), i % 2 == 0, "job {i}: {r:?}");
        }
        assert_eq!(
            count_accounts(&store, "batch%").await,
            25,
            "only the successful jobs' writes remain"
        );
        store.close().await;
    }

    #[tokio::test]
    async fn a_failed_commit_fails_every_job_of_the_batch() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("k.db"), SqliteOptions::default())
            .await
            .unwrap();
        // A foreign key checked only at COMMIT lets a job succeed and its batch's COMMIT fail.
        store
            .write(|conn| {
                Box::pin(async move {
                    sqlx::query(
                        "CREATE TABLE deferred_fk (account_id INTEGER \
                         REFERENCES accounts (id) DEFERRABLE INITIALLY DEFERRED)",
                    )
                    .execute(&mut *conn)
                    .await
                    .map(|_| ())
                    .map_err(error::map)
                })
            })
            .await
            .unwrap();
        let (release, held) = hold_writer(&store).await;
        let good = insert_account(&store, "innocent".to_owned(), false);
        let s = store.clone();
        let bad = tokio::spawn(async move {
            s.write(|conn| {
                Box::pin(async move {
                    sqlx::query("INSERT INTO deferred_fk (account_id) VALUES (424242)")
                        .execute(&mut *conn)
                        .await
                        .map(|_| ())
                        .map_err(error::map)
                })
            })
            .await
        });
        wait_queued(&store, 2).await;
        // Act
        release.send(()).unwrap();
        held.await.unwrap().unwrap();
        // Assert: nobody is told "done" for a write that did not commit.
        let good = good.await.unwrap();
        let bad = bad.await.unwrap();
        assert!(
            matches!(good, Err(keapsake_core::StoreError::Backend(_))),
            "{good:?}"
        );
        assert!(
            matches!(bad, Err(keapsake_core::StoreError::Backend(_))),
            "{bad:?}"
        );
        assert_eq!(count_accounts(&store, "innocent").await, 0);
        // The writer rolled back and carries on.
        insert_account(&store, "after".to_owned(), false)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(count_accounts(&store, "after").await, 1);
        store.close().await;
    }

    #[tokio::test]
    async fn a_panicking_job_does_not_kill_the_writer() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("k.db"), SqliteOptions::default())
            .await
            .unwrap();
        let r: StoreResult<()> = store
            .write(|_conn| Box::pin(async move { panic!("job bug") }))
            .await;
        assert!(r.is_err());
        let ok = store
            .write(|conn| {
                Box::pin(async move {
                    sqlx::query_scalar::<_, i64>("SELECT 41 + 1")
                        .fetch_one(&mut *conn)
                        .await
                        .map_err(error::map)
                })
            })
            .await
            .unwrap();
        assert_eq!(ok, 42);
        store.close().await;
    }

    #[tokio::test]
    async fn close_finishes_queued_writes_and_refuses_later_ones() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.db");
        let store = SqliteStore::open(&path, SqliteOptions::default())
            .await
            .unwrap();
        let pending: Vec<_> = (0..20_i64)
            .map(|i| {
                let s = store.clone();
                tokio::spawn(async move {
                    s.write(move |conn| {
                        Box::pin(async move {
                            sqlx::query(
                                "INSERT INTO accounts (alias, name, profile, created_at) \
                                 VALUES ($1, 'n', '{}', 0)",
                            )
                            .bind(format!("close{i}"))
                            .execute(&mut *conn)
                            .await
                            .map(|_| ())
                            .map_err(error::map)
                        })
                    })
                    .await
                })
            })
            .collect();
        tokio::task::yield_now().await;
        store.close().await;
        store.close().await;
        let acknowledged = {
            let mut n = 0;
            for p in pending {
                if p.await.unwrap().is_ok() {
                    n += 1;
                }
            }
            n
        };
        assert!(
            store.ping().await.is_err(),
            "a closed store does not answer"
        );
        // Every acknowledged write is in the file.
        let mut conn = connect_options(&path, Durability::Full)
            .connect()
            .await
            .unwrap();
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM accounts")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!(n, acknowledged);
        conn.close().await.unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_opens_of_a_new_file_all_succeed() {
        // A server and an admin command started together on a fresh file both migrate it.
        for _ in 0..5 {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("k.db");
            let opens: Vec<_> = (0..4)
                .map(|_| {
                    let path = path.clone();
                    tokio::spawn(
                        async move { SqliteStore::open(&path, SqliteOptions::default()).await },
                    )
                })
                .collect();
            for o in opens {
                let store = o.await.unwrap().unwrap();
                store.ping().await.unwrap();
                store.close().await;
            }
        }
    }

    #[tokio::test]
    async fn reopening_keeps_data_and_reruns_no_migration() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.db");
        let store = SqliteStore::open(&path, SqliteOptions::default())
            .await
            .unwrap();
        assert_eq!(store.backend(), "sqlite");
        store.ping().await.unwrap();
        store
            .write(|conn| {
                Box::pin(async move {
                    sqlx::query(
                        "INSERT INTO accounts (alias, name, profile, created_at) \
                         VALUES ('kept', 'n', '{}', 0)",
                    )
                    .execute(&mut *conn)
                    .await
                    .map(|_| ())
                    .map_err(error::map)
                })
            })
            .await
            .unwrap();
        store.close().await;
        let again = SqliteStore::open(&path, SqliteOptions::default())
            .await
            .unwrap();
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM accounts WHERE alias = 'kept'")
            .fetch_one(again.read())
            .await
            .unwrap();
        assert_eq!(n, 1);
        again.close().await;
    }
}
