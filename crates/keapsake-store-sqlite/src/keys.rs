//! [`KeyStore`] on SQLite: API keys by hash, listed and revoked within one account only.

use crate::SqliteStore;
use crate::error::{self, map, map_fk_not_found};
use async_trait::async_trait;
use keapsake_core::clock::{from_millis, to_millis};
use keapsake_core::store::{ApiKey, KeyKind, KeyStore, NewApiKey, StoreError, StoreResult};
use keapsake_core::{AccountId, TokenHash, UserId};
use time::OffsetDateTime;

#[derive(sqlx::FromRow)]
struct KeyRow {
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

impl TryFrom<KeyRow> for ApiKey {
    type Error = StoreError;
    fn try_from(r: KeyRow) -> StoreResult<Self> {
        Ok(ApiKey {
            id: r.id,
            kind: KeyKind::parse(&r.kind).ok_or_else(|| error::corrupt("api_keys.kind"))?,
            display_prefix: r.display_prefix,
            name: r.name,
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
impl KeyStore for SqliteStore {
    async fn create_api_key(&self, key: NewApiKey) -> StoreResult<ApiKey> {
        self.write(move |conn| {
            Box::pin(async move {
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO api_keys (hash, display_prefix, name, kind, account_id, user_id, \
                     read_only, created_at, expires_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
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
                .fetch_one(&mut *conn)
                .await
                .map_err(map_fk_not_found)?;
                Ok(ApiKey {
                    id,
                    display_prefix: key.display_prefix,
                    name: key.name,
                    kind: key.kind,
                    account_id: key.account_id,
                    user_id: key.user_id,
                    read_only: key.read_only,
                    created_at: from_millis(to_millis(key.created_at)),
                    expires_at: key.expires_at.map(|t| from_millis(to_millis(t))),
                    revoked_at: None,
                })
            })
        })
        .await
    }

    async fn find_api_key(&self, hash: &TokenHash) -> StoreResult<Option<ApiKey>> {
        let row: Option<KeyRow> = sqlx::query_as(
            "SELECT id, display_prefix, name, kind, account_id, user_id, read_only, created_at, \
             expires_at, revoked_at FROM api_keys WHERE hash = $1",
        )
        .bind(hash.as_bytes())
        .fetch_optional(self.read())
        .await
        .map_err(map)?;
        row.map(ApiKey::try_from).transpose()
    }

    async fn list_api_keys(&self, account: AccountId) -> StoreResult<Vec<ApiKey>> {
        let rows: Vec<KeyRow> = sqlx::query_as(
            "SELECT id, display_prefix, name, kind, account_id, user_id, read_only, created_at, \
             expires_at, revoked_at FROM api_keys WHERE account_id = $1 ORDER BY id",
        )
        .bind(account.0)
        .fetch_all(self.read())
        .await
        .map_err(map)?;
        rows.into_iter().map(ApiKey::try_from).collect()
    }

    async fn revoke_api_key(
        &self,
        account: AccountId,
        id: i64,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        let now = to_millis(now);
        self.write(move |conn| {
            Box::pin(async move {
                // The account is part of the key: another account's id is NotFound, exactly like
                // an id that never existed (SECURITY.md §5). A second revocation keeps the first
                // time.
                let done = sqlx::query(
                    "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $3) \
                     WHERE id = $1 AND account_id = $2",
                )
                .bind(id)
                .bind(account.0)
                .bind(now)
                .execute(&mut *conn)
                .await
                .map_err(map)?;
                if done.rows_affected() == 0 {
                    Err(StoreError::NotFound)
                } else {
                    Ok(())
                }
            })
        })
        .await
    }
}
