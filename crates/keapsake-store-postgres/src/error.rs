//! Driver errors to [`StoreError`], and the retry loop for serialization failures and deadlocks.
//!
//! `sqlx::Error` never leaves this crate: database errors are classified here (unique violation →
//! `Conflict`, foreign-key violation → `NotFound`, overload → `Busy`) and anything else becomes
//! `Backend` carrying only the driver's message, not the driver type.

use keapsake_core::StoreError;
use keapsake_core::store::StoreResult;
use std::future::Future;
use std::time::Duration;

/// How many times an operation is retried after a serialization failure or deadlock before it
/// reports [`StoreError::Busy`] (SECURITY.md §10: retried ≤ 3, then 503, never 500).
pub(crate) const MAX_RETRIES: u32 = 3;

/// What an attempt inside [`retry`] can fail with: the driver (classified afterwards, maybe
/// retried) or a decided store outcome (returned as is).
#[derive(Debug)]
pub(crate) enum Fail {
    /// From sqlx; classified by [`map_sqlx`], retried if [`is_retryable`].
    Db(sqlx::Error),
    /// Already a store error (e.g. `NotFound` from zero rows affected, undecodable JSON).
    Store(StoreError),
}

impl From<sqlx::Error> for Fail {
    fn from(e: sqlx::Error) -> Self {
        Self::Db(e)
    }
}

impl From<StoreError> for Fail {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

/// The error type carried by [`StoreError::Backend`]: the driver's message only, so the driver's
/// type never escapes the crate.
#[derive(Debug, thiserror::Error)]
#[error("postgres: {0}")]
pub(crate) struct PgBackendError(pub(crate) String);

/// A `Backend` error with `message`.
pub(crate) fn backend(message: impl Into<String>) -> StoreError {
    StoreError::Backend(Box::new(PgBackendError(message.into())))
}

/// SQLSTATE of a database error, if it is one.
fn sqlstate(e: &sqlx::Error) -> Option<String> {
    match e {
        sqlx::Error::Database(db) => db.code().map(|c| c.into_owned()),
        _ => None,
    }
}

/// Serialization failure (40001) or deadlock (40P01): the transaction was rolled back as a whole,
/// so running it again is safe.
pub(crate) fn is_retryable(e: &sqlx::Error) -> bool {
    matches!(sqlstate(e).as_deref(), Some("40001" | "40P01"))
}

/// Names the unique rule a constraint enforces, in the words the HTTP layer shows clients.
fn conflict_name(constraint: Option<&str>) -> &'static str {
    match constraint {
        Some("users_email_folded_key") => "email",
        Some("accounts_alias_key") => "alias",
        Some("apps_client_id_key") => "client_id",
        Some("api_keys_hash_key") => "api_key",
        Some("auth_codes_pkey") => "code",
        Some("access_tokens_pkey" | "refresh_tokens_pkey") => "token",
        Some("sessions_pkey") => "session",
        Some("memberships_pkey") => "membership",
        Some("records_unique_key") => "unique",
        _ => "record",
    }
}

/// Classifies a driver error.
pub(crate) fn map_sqlx(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(db) => {
            let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
            match code.as_str() {
                // unique_violation
                "23505" => StoreError::Conflict {
                    what: conflict_name(db.constraint()).to_owned(),
                },
                // foreign_key_violation: the account, user or app referred to does not exist.
                "23503" => StoreError::NotFound,
                // serialization_failure, deadlock_detected, lock_not_available, query_canceled
                // (statement timeout), insufficient resources (53xxx: too many connections …),
                // cannot_connect_now (server starting or shutting down).
                "40001" | "40P01" | "55P03" | "57014" | "57P03" => {
                    StoreError::Busy(format!("postgres {code}: {}", db.message()))
                }
                c if c.starts_with("53") => {
                    StoreError::Busy(format!("postgres {code}: {}", db.message()))
                }
                _ => backend(format!("{code}: {}", db.message())),
            }
        }
        sqlx::Error::PoolTimedOut => StoreError::Busy("no database connection available".into()),
        sqlx::Error::RowNotFound => StoreError::NotFound,
        _ => backend(e.to_string()),
    }
}

impl From<Fail> for StoreError {
    fn from(f: Fail) -> Self {
        match f {
            Fail::Db(e) => map_sqlx(e),
            Fail::Store(e) => e,
        }
    }
}

/// Runs `attempt` (one whole transaction) and runs it again after a serialization failure or
/// deadlock, at most [`MAX_RETRIES`] times, with a short jittered back-off; then answers
/// [`StoreError::Busy`]. Every other error is classified once and returned.
pub(crate) async fn retry<T, F, Fut>(op: &'static str, mut attempt: F) -> StoreResult<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Fail>>,
{
    let mut retries = 0u32;
    loop {
        match attempt().await {
            Ok(v) => return Ok(v),
            Err(Fail::Db(e)) if is_retryable(&e) => {
                if retries >= MAX_RETRIES {
                    tracing::warn!(
                        op,
                        retries,
                        "giving up after repeated serialization failures"
                    );
                    return Err(StoreError::Busy(format!(
                        "{op}: transaction kept conflicting ({})",
                        sqlstate(&e).unwrap_or_default()
                    )));
                }
                retries += 1;
                tracing::debug!(
                    op,
                    retries,
                    "retrying after serialization failure or deadlock"
                );
                tokio::time::sleep(backoff(retries)).await;
            }
            Err(f) => return Err(f.into()),
        }
    }
}

/// 2, 4, 8 ms plus up to 8 ms of jitter, so racing transactions do not collide again in lockstep.
fn backoff(retry: u32) -> Duration {
    let [jitter] = keapsake_core::secret::random_bytes::<1>();
    Duration::from_micros((1_000u64 << retry.min(6)) + u64::from(jitter) * 32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_timeout_is_busy_not_backend() {
        assert!(matches!(
            map_sqlx(sqlx::Error::PoolTimedOut),
            StoreError::Busy(_)
        ));
    }

    #[test]
    fn constraint_names_map_to_client_words() {
        assert_eq!(conflict_name(Some("users_email_folded_key")), "email");
        assert_eq!(conflict_name(Some("accounts_alias_key")), "alias");
        assert_eq!(conflict_name(Some("apps_client_id_key")), "client_id");
        assert_eq!(conflict_name(Some("records_unique_key")), "unique");
        assert_eq!(conflict_name(None), "record");
    }

    /// A pool on the test server's admin database; these cases only raise errors, they store
    /// nothing.
    fn admin_pool() -> sqlx::PgPool {
        let url = std::env::var("KEAPSAKE_TEST_PG_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
        sqlx::postgres::PgPoolOptions::new()
            .max_connections(2)
            .connect_lazy(&url)
            .expect("the test admin URL parses")
    }

    /// Raises `sqlstate` from the server, as a real transaction conflict would.
    async fn raise(pool: &sqlx::PgPool, sqlstate: &'static str) -> Result<(), sqlx::Error> {
        let sql = match sqlstate {
            "40001" => "DO $$ BEGIN RAISE EXCEPTION 'conflict' USING ERRCODE = '40001'; END $$",
            "40P01" => "DO $$ BEGIN RAISE EXCEPTION 'deadlock' USING ERRCODE = '40P01'; END $$",
            _ => "DO $$ BEGIN RAISE EXCEPTION 'broken' USING ERRCODE = 'XX000'; END $$",
        };
        sqlx::query(sql).execute(pool).await.map(|_| ())
    }

    #[tokio::test]
    async fn serialization_failures_are_retried_three_times_then_busy() {
        use std::sync::atomic::{AtomicU32, Ordering};
        let pool = admin_pool();
        let attempts = AtomicU32::new(0);
        let (pool, attempts_ref) = (&pool, &attempts);
        let r: StoreResult<()> = retry("test", move || async move {
            attempts_ref.fetch_add(1, Ordering::SeqCst);
            raise(pool, "40001").await?;
            Ok(())
        })
        .await;
        assert!(
            matches!(r, Err(StoreError::Busy(_))),
            "is Postgres running on 127.0.0.1:5432? {r:?}"
        );
        assert_eq!(attempts.load(Ordering::SeqCst), 1 + MAX_RETRIES);
    }

    #[tokio::test]
    async fn a_deadlock_then_success_succeeds() {
        use std::sync::atomic::{AtomicU32, Ordering};
        let pool = admin_pool();
        let attempts = AtomicU32::new(0);
        let (pool, attempts_ref) = (&pool, &attempts);
        let r: StoreResult<u32> = retry("test", move || async move {
            let n = attempts_ref.fetch_add(1, Ordering::SeqCst);
            if n == 0 {
                raise(pool, "40P01").await?;
            }
            Ok(n)
        })
        .await;
        assert_eq!(r.expect("the second attempt succeeds"), 1);
    }

    #[tokio::test]
    async fn other_errors_are_not_retried_and_become_backend() {
        use std::sync::atomic::{AtomicU32, Ordering};
        let pool = admin_pool();
        let attempts = AtomicU32::new(0);
        let (pool, attempts_ref) = (&pool, &attempts);
        let r: StoreResult<()> = retry("test", move || async move {
            attempts_ref.fetch_add(1, Ordering::SeqCst);
            raise(pool, "XX000").await?;
            Ok(())
        })
        .await;
        match r {
            Err(StoreError::Backend(e)) => {
                assert!(
                    e.downcast_ref::<sqlx::Error>().is_none(),
                    "no sqlx type leaks"
                );
                assert!(e.to_string().contains("XX000"), "{e}");
            }
            other => panic!("is Postgres running on 127.0.0.1:5432? {other:?}"),
        }
        assert_eq!(attempts.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn backoff_stays_small() {
        for r in 1..=MAX_RETRIES {
            assert!(backoff(r) < Duration::from_millis(20));
        }
    }
}
