//! Turns `sqlx::Error` into [`StoreError`] so the driver's type never leaves this crate: unique
//! violations become `Conflict { what }`, SQLITE_BUSY/SQLITE_LOCKED and an exhausted read pool
//! become `Busy`, everything else `Backend`.

use keapsake_core::store::StoreError;
use sqlx::error::ErrorKind;
use std::sync::Arc;

/// A backend failure, as text: the message of the driver error, without its type.
#[derive(Debug, thiserror::Error)]
#[error("sqlite: {0}")]
pub(crate) struct SqliteFailure(pub(crate) String);

/// A failure shared by every job of a group commit (BEGIN, a savepoint, or COMMIT failed).
#[derive(Debug, thiserror::Error)]
#[error("sqlite: the batch this write was committed in failed: {0}")]
pub(crate) struct BatchFailure(pub(crate) Arc<str>);

/// SQLITE_BUSY and SQLITE_LOCKED, the primary result codes that mean "try again later".
const SQLITE_BUSY: i64 = 5;
const SQLITE_LOCKED: i64 = 6;

/// Whether `e` is SQLite saying another connection holds a lock.
fn is_busy(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => db
            .code()
            .and_then(|c| c.parse::<i64>().ok())
            .is_some_and(|code| matches!(code & 0xff, SQLITE_BUSY | SQLITE_LOCKED)),
        sqlx::Error::PoolTimedOut => true,
        _ => false,
    }
}

/// Whether `e` is a foreign-key violation (a referenced row does not exist).
pub(crate) fn is_foreign_key_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.kind() == ErrorKind::ForeignKeyViolation)
}

/// Names the unique rule a `UNIQUE constraint failed: table.column` message is about, in the words
/// the HTTP layer shows (`email`, `alias`, `client_id`, …).
fn unique_what(message: &str) -> String {
    let columns = message
        .split_once("constraint failed:")
        .map_or(message, |(_, cols)| cols)
        .trim();
    let what = match columns {
        "users.email_folded" | "users.email" => "email",
        "accounts.alias" => "alias",
        "apps.client_id" => "client_id",
        "api_keys.hash" => "api_key",
        "auth_codes.hash" => "code",
        "access_tokens.hash" => "access_token",
        "refresh_tokens.hash" => "refresh_token",
        "sessions.id_hash" => "session",
        other => other.rsplit('.').next().unwrap_or(other),
    };
    what.to_owned()
}

/// Maps a driver error. Call sites that give a foreign-key violation a meaning (`NotFound`) check
/// [`is_foreign_key_violation`] first.
pub(crate) fn map(e: sqlx::Error) -> StoreError {
    if is_busy(&e) {
        return StoreError::Busy(e.to_string());
    }
    if let sqlx::Error::Database(db) = &e
        && db.kind() == ErrorKind::UniqueViolation
    {
        return StoreError::Conflict {
            what: unique_what(db.message()),
        };
    }
    StoreError::Backend(Box::new(SqliteFailure(e.to_string())))
}

/// Maps a foreign-key violation to `NotFound` (the referenced account or user does not exist) and
/// anything else as [`map`] does.
pub(crate) fn map_fk_not_found(e: sqlx::Error) -> StoreError {
    if is_foreign_key_violation(&e) {
        StoreError::NotFound
    } else {
        map(e)
    }
}

/// The error each job of a failed batch receives. Busy stays busy (503, retry); the rest is a
/// backend failure.
pub(crate) fn batch(busy: bool, message: &Arc<str>) -> StoreError {
    if busy {
        StoreError::Busy(message.to_string())
    } else {
        StoreError::Backend(Box::new(BatchFailure(Arc::clone(message))))
    }
}

/// Summarises a batch-level driver error once, to hand a copy to every job.
pub(crate) fn summarise(e: &sqlx::Error) -> (bool, Arc<str>) {
    (is_busy(e), Arc::from(e.to_string()))
}

/// A stored value that does not decode (a corrupt row, or a bug): never shown to clients.
pub(crate) fn corrupt(what: &str) -> StoreError {
    StoreError::Backend(Box::new(SqliteFailure(format!(
        "corrupt stored value: {what}"
    ))))
}

/// The writer task has stopped (the store was closed, or the task died).
pub(crate) fn writer_gone() -> StoreError {
    StoreError::Backend(Box::new(SqliteFailure(
        "the store is closed (writer task stopped)".to_owned(),
    )))
}

#[cfg(test)]
mod tests {
    use super::unique_what;

    #[test]
    fn unique_messages_name_the_rule() {
        assert_eq!(
            unique_what("UNIQUE constraint failed: users.email_folded"),
            "email"
        );
        assert_eq!(
            unique_what("UNIQUE constraint failed: accounts.alias"),
            "alias"
        );
        assert_eq!(
            unique_what("UNIQUE constraint failed: apps.client_id"),
            "client_id"
        );
        assert_eq!(unique_what("UNIQUE constraint failed: t.other"), "other");
    }
}
