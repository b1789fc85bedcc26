//! [`SessionStore`] on PostgreSQL: browser sessions, shared by every node through the database.

use crate::PgStore;
use crate::error::{Fail, backend, retry};
use async_trait::async_trait;
use keapsake_core::clock::{from_millis, to_millis};
use keapsake_core::ids::UserId;
use keapsake_core::secret::TokenHash;
use keapsake_core::store::{Session, SessionStore, StoreResult};
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
    type Error = Fail;

    fn try_from(r: SessionRow) -> Result<Self, Fail> {
        let id_hash = TokenHash::from_slice(&r.id_hash)
            .ok_or_else(|| Fail::Store(backend("sessions.id_hash is not 32 bytes")))?;
        Ok(Session {
            id_hash,
            user_id: r.user_id.map(UserId),
            csrf_key: r.csrf_key,
            created_at: from_millis(r.created_at),
            last_seen_at: from_millis(r.last_seen_at),
        })
    }
}

#[async_trait]
impl SessionStore for PgStore {
    async fn create_session(&self, session: Session) -> StoreResult<()> {
        let pool = &self.pool;
        let session = &session;
        retry("create_session", move || async move {
            sqlx::query(
                "INSERT INTO sessions (id_hash, user_id, csrf_key, created_at, last_seen_at) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(session.id_hash.as_bytes())
            .bind(session.user_id.map(|u| u.0))
            .bind(session.csrf_key.as_slice())
            .bind(to_millis(session.created_at))
            .bind(to_millis(session.last_seen_at))
            .execute(pool)
            .await?;
            Ok::<_, Fail>(())
        })
        .await
    }

    async fn get_session(&self, id_hash: &TokenHash) -> StoreResult<Option<Session>> {
        let pool = &self.pool;
        retry("get_session", move || async move {
            let row: Option<SessionRow> = sqlx::query_as(
                "SELECT id_hash, user_id, csrf_key, created_at, last_seen_at \
                 FROM sessions WHERE id_hash = $1",
            )
            .bind(id_hash.as_bytes())
            .fetch_optional(pool)
            .await?;
            row.map(Session::try_from).transpose()
        })
        .await
    }

    async fn touch_session(&self, id_hash: &TokenHash, now: OffsetDateTime) -> StoreResult<()> {
        let pool = &self.pool;
        let now = to_millis(now);
        retry("touch_session", move || async move {
            // GREATEST: two nodes touching out of order never move the idle clock backwards. A
            // session deleted meanwhile is simply not touched.
            sqlx::query(
                "UPDATE sessions SET last_seen_at = GREATEST(last_seen_at, $2) WHERE id_hash = $1",
            )
            .bind(id_hash.as_bytes())
            .bind(now)
            .execute(pool)
            .await?;
            Ok::<_, Fail>(())
        })
        .await
    }

    async fn delete_session(&self, id_hash: &TokenHash) -> StoreResult<()> {
        let pool = &self.pool;
        retry("delete_session", move || async move {
            sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
                .bind(id_hash.as_bytes())
                .execute(pool)
                .await?;
            Ok::<_, Fail>(())
        })
        .await
    }

    async fn purge_sessions(
        &self,
        created_before: OffsetDateTime,
        idle_before: OffsetDateTime,
    ) -> StoreResult<u64> {
        let pool = &self.pool;
        let created_before = to_millis(created_before);
        let idle_before = to_millis(idle_before);
        retry("purge_sessions", move || async move {
            let done =
                sqlx::query("DELETE FROM sessions WHERE created_at < $1 OR last_seen_at < $2")
                    .bind(created_before)
                    .bind(idle_before)
                    .execute(pool)
                    .await?;
            Ok::<_, Fail>(done.rows_affected())
        })
        .await
    }
}
