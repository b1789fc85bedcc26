//! [`SessionStore`] on SQLite: browser sessions keyed by the hash of their cookie.

use crate::SqliteStore;
use crate::error::{self, map, map_fk_not_found};
use async_trait::async_trait;
use keapsake_core::clock::{from_millis, to_millis};
use keapsake_core::store::{Session, SessionStore, StoreResult};
use keapsake_core::{TokenHash, UserId};
use time::OffsetDateTime;

#[derive(sqlx::FromRow)]
struct SessionRow {
    id_hash: Vec<u8>,
    user_id: Option<i64>,
    csrf_key: Vec<u8>,
    created_at: i64,
    last_seen_at: i64,
}

impl TryFrom<SessionRow> for Session {
    type Error = keapsake_core::StoreError;
    fn try_from(r: SessionRow) -> StoreResult<Self> {
        Ok(Session {
            id_hash: TokenHash::from_slice(&r.id_hash)
                .ok_or_else(|| error::corrupt("sessions.id_hash"))?,
            user_id: r.user_id.map(UserId),
            csrf_key: r.csrf_key,
            created_at: from_millis(r.created_at),
            last_seen_at: from_millis(r.last_seen_at),
        })
    }
}

#[async_trait]
impl SessionStore for SqliteStore {
    async fn create_session(&self, session: Session) -> StoreResult<()> {
        self.write(move |conn| {
            Box::pin(async move {
                sqlx::query(
                    "INSERT INTO sessions (id_hash, user_id, csrf_key, created_at, last_seen_at) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(session.id_hash.as_bytes())
                .bind(session.user_id.map(|u| u.0))
                .bind(&session.csrf_key)
                .bind(to_millis(session.created_at))
                .bind(to_millis(session.last_seen_at))
                .execute(&mut *conn)
                .await
                .map_err(map_fk_not_found)?;
                Ok(())
            })
        })
        .await
    }

    async fn get_session(&self, id_hash: &TokenHash) -> StoreResult<Option<Session>> {
        let row: Option<SessionRow> = sqlx::query_as(
            "SELECT id_hash, user_id, csrf_key, created_at, last_seen_at \
             FROM sessions WHERE id_hash = $1",
        )
        .bind(id_hash.as_bytes())
        .fetch_optional(self.read())
        .await
        .map_err(map)?;
        row.map(Session::try_from).transpose()
    }

    async fn touch_session(&self, id_hash: &TokenHash, now: OffsetDateTime) -> StoreResult<()> {
        let (id_hash, now) = (*id_hash, to_millis(now));
        self.write(move |conn| {
            Box::pin(async move {
                // Unknown sessions are ignored: the caller has just read the session, and a
                // concurrent logout that deleted it must win.
                sqlx::query("UPDATE sessions SET last_seen_at = $2 WHERE id_hash = $1")
                    .bind(id_hash.as_bytes())
                    .bind(now)
                    .execute(&mut *conn)
                    .await
                    .map_err(map)?;
                Ok(())
            })
        })
        .await
    }

    async fn delete_session(&self, id_hash: &TokenHash) -> StoreResult<()> {
        let id_hash = *id_hash;
        self.write(move |conn| {
            Box::pin(async move {
                sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
                    .bind(id_hash.as_bytes())
                    .execute(&mut *conn)
                    .await
                    .map_err(map)?;
                Ok(())
            })
        })
        .await
    }

    async fn purge_sessions(
        &self,
        created_before: OffsetDateTime,
        idle_before: OffsetDateTime,
    ) -> StoreResult<u64> {
        let (created_before, idle_before) = (to_millis(created_before), to_millis(idle_before));
        self.write(move |conn| {
            Box::pin(async move {
                let done =
                    sqlx::query("DELETE FROM sessions WHERE created_at < $1 OR last_seen_at < $2")
                        .bind(created_before)
                        .bind(idle_before)
                        .execute(&mut *conn)
                        .await
                        .map_err(map)?;
                Ok(done.rows_affected())
            })
        })
        .await
    }
}
