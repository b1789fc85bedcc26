//! [`KeyStore`] on PostgreSQL: personal access tokens, service account keys and legacy keys,
//! stored only as hashes.

use crate::PgStore;
use crate::error::{Fail, backend, retry};
use async_trait::async_trait;
use keapsake_core::StoreError;
use keapsake_core::clock::{from_millis, to_millis};
use keapsake_core::ids::{AccountId, UserId};
use keapsake_core::secret::TokenHash;
use keapsake_core::store::{ApiKey, KeyKind, KeyStore, NewApiKey, StoreResult};
use time::OffsetDateTime;

#[derive(sqlx::FromRow)]
struct ApiKeyRow {
    id: i64,
    display_prefix: String,
    name: String,
    kind: String,
    account_id: i64,
    user_id: Option<i64>,
    read_only: bool,
    created_at: i64,
    expires_at: Option<i64>,
    revoked_at: Option<i64>,
}

impl TryFrom<ApiKeyRow> for ApiKey {
    type Error = Fail;

    fn try_from(r: ApiKeyRow) -> Result<Self, Fail> {
        let kind = KeyKind::parse(&r.kind).ok_or_else(|| {
            Fail::Store(backend(format!(
                "api_keys.kind of key {} is {:?}",
                r.id, r.kind
            )))
        })?;
        Ok(ApiKey {
            id: r.id,
            display_prefix: r.display_prefix,
            name: r.name,
            kind,
            account_id: AccountId(r.account_id),
            user_id: r.user_id.map(UserId),
            read_only: r.read_only,
            created_at: from_millis(r.created_at),
            expires_at: r.expires_at.map(from_millis),
            revoked_at: r.revoked_at.map(from_millis),
        })
    }
}

#[async_trait]
impl KeyStore for PgStore {
    async fn create_api_key(&self, key: NewApiKey) -> StoreResult<ApiKey> {
        let pool = &self.pool;
        let key = &key;
        retry("create_api_key", move || async move {
            // A missing account (or user) fails its foreign key, which maps to NotFound.
            let row: ApiKeyRow = sqlx::query_as(
                "INSERT INTO api_keys (hash, display_prefix, name, kind, account_id, user_id, \
                 read_only, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                 RETURNING id, display_prefix, name, kind, account_id, user_id, read_only, \
                 created_at, expires_at, revoked_at",
            )
            .bind(key.hash.as_bytes())
            .bind(&key.display_prefix)
            .bind(&key.name)
            .bind(key.kind.as_str())
            .bind(key.account_id.0)
            .bind(key.user_id.map(|u| u.0))
            .bind(key.read_only)
            .bind(to_millis(key.created_at))
            .bind(key.expires_at.map(to_millis))
            .fetch_one(pool)
            .await?;
            ApiKey::try_from(row)
        })
        .await
    }

    async fn find_api_key(&self, hash: &TokenHash) -> StoreResult<Option<ApiKey>> {
        let pool = &self.pool;
        retry("find_api_key", move || async move {
            let row: Option<ApiKeyRow> = sqlx::query_as(
                "SELECT id, display_prefix, name, kind, account_id, user_id, read_only, \
                 created_at, expires_at, revoked_at FROM api_keys WHERE hash = $1",
            )
            .bind(hash.as_bytes())
            .fetch_optional(pool)
            .await?;
            row.map(ApiKey::try_from).transpose()
        })
        .await
    }

    async fn list_api_keys(&self, account: AccountId) -> StoreResult<Vec<ApiKey>> {
        let pool = &self.pool;
        retry("list_api_keys", move || async move {
            let rows: Vec<ApiKeyRow> = sqlx::query_as(
                "SELECT id, display_prefix, name, kind, account_id, user_id, read_only, \
                 created_at, expires_at, revoked_at FROM api_keys \
                 WHERE account_id = $1 ORDER BY id",
            )
            .bind(account.0)
            .fetch_all(pool)
            .await?;
            rows.into_iter().map(ApiKey::try_from).collect()
        })
        .await
    }

    async fn revoke_api_key(
        &self,
        account: AccountId,
        id: i64,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        let pool = &self.pool;
        let now = to_millis(now);
        retry("revoke_api_key", move || async move {
            // The account is part of the condition: another account's key id answers NotFound,
            // exactly like an id that never existed. Revoking twice keeps the first time.
            let done = sqlx::query(
                "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $3) \
                 WHERE account_id = $1 AND id = $2",
            )
            .bind(account.0)
            .bind(id)
            .bind(now)
            .execute(pool)
            .await?;
            if done.rows_affected() == 0 {
                return Err(Fail::Store(StoreError::NotFound));
            }
            Ok(())
        })
        .await
    }
}
