//! [`OAuthStore`] on SQLite: codes, token families, access and refresh tokens.
//!
//! Single use is one conditional `UPDATE … WHERE used_at IS NULL` (resp. `rotated_at IS NULL`)
//! whose affected row is checked (`RETURNING`), inside the writer job that also inserts the new
//! tokens (SECURITY.md §2). Because every write runs in the one writer, the "why did the claim
//! fail" read that follows, and the family revocation it may lead to, are serialised with every
//! rotation and revocation: nothing minted concurrently survives a revocation.

use crate::SqliteStore;
use crate::error::{map, map_fk_not_found};
use async_trait::async_trait;
use keapsake_core::clock::{from_millis, to_millis};
use keapsake_core::store::{
    AccessRecord, CodeExchange, CodeRecord, Grant, NewCode, NewTokens, OAuthStore, RefreshRecord,
    Rotation, StoreResult,
};
use keapsake_core::{AccountId, AppId, FamilyId, TokenHash, UserId};
use sqlx::SqliteConnection;
use time::{Duration, OffsetDateTime};

#[derive(sqlx::FromRow)]
struct GrantRow {
    family_id: i64,
    app_id: i64,
    user_id: i64,
    account_id: i64,
    scope: String,
}

impl From<GrantRow> for Grant {
    fn from(r: GrantRow) -> Self {
        Grant {
            family_id: FamilyId(r.family_id),
            app_id: AppId(r.app_id),
            user_id: UserId(r.user_id),
            account_id: AccountId(r.account_id),
            scope: r.scope,
        }
    }
}

#[derive(sqlx::FromRow)]
struct CodeRow {
    app_id: i64,
    user_id: i64,
    account_id: i64,
    redirect_uri: String,
    scope: String,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
    expires_at: i64,
    used: bool,
}

/// Why a code could not be claimed.
#[derive(sqlx::FromRow)]
struct CodeState {
    app_id: i64,
    used_at: Option<i64>,
    family_id: Option<i64>,
}

/// Why a refresh token could not be claimed.
#[derive(sqlx::FromRow)]
struct RefreshState {
    rotated_at: Option<i64>,
    family_id: i64,
    app_id: i64,
    revoked_at: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct AccessRow {
    #[sqlx(flatten)]
    grant: GrantRow,
    expires_at: i64,
    revoked: bool,
    app_enabled: bool,
}

#[derive(sqlx::FromRow)]
struct RefreshRow {
    #[sqlx(flatten)]
    grant: GrantRow,
    expires_at: i64,
    revoked: bool,
    rotated: bool,
}

/// Revokes a family (if not already revoked) at `now`.
async fn revoke_family(conn: &mut SqliteConnection, family: i64, now: i64) -> StoreResult<()> {
    sqlx::query("UPDATE token_families SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
        .bind(family)
        .bind(now)
        .execute(&mut *conn)
        .await
        .map_err(map)?;
    Ok(())
}

/// Whether a token rotated at `rotated_at` is presented again within `grace` of it (inclusive).
fn within_grace(now: i64, rotated_at: i64, grace: Duration) -> bool {
    i128::from(now) - i128::from(rotated_at) <= grace.whole_milliseconds()
}

/// The exchange itself, run inside the writer.
async fn exchange(
    conn: &mut SqliteConnection,
    hash: TokenHash,
    app: AppId,
    tokens: NewTokens,
) -> StoreResult<CodeExchange> {
    let now = to_millis(tokens.now);
    // One round trip to the connection's thread for the whole happy path. The first statement
    // is the single-use decision, one conditional write; each later statement runs only if the
    // one before it changed exactly one row (`changes()` is the row count of the most recently
    // completed statement), so a refused claim inserts nothing. The job's savepoint undoes a
    // partial run.
    let claimed: Option<GrantRow> = sqlx::query_as(
        "UPDATE auth_codes SET used_at = $3 \
           WHERE hash = $1 AND app_id = $2 AND used_at IS NULL AND expires_at > $3; \
         INSERT INTO token_families (app_id, user_id, account_id, scope, created_at) \
           SELECT app_id, user_id, account_id, scope, $3 FROM auth_codes \
           WHERE hash = $1 AND changes() = 1; \
         UPDATE auth_codes SET family_id = last_insert_rowid() \
           WHERE hash = $1 AND changes() = 1 \
           RETURNING family_id, app_id, user_id, account_id, scope; \
         INSERT INTO access_tokens (hash, family_id, created_at, expires_at) \
           SELECT $4, family_id, $3, $5 FROM auth_codes WHERE hash = $1 AND changes() = 1; \
         INSERT INTO refresh_tokens (hash, family_id, created_at, expires_at) \
           SELECT $6, family_id, $3, $7 FROM access_tokens WHERE hash = $4 AND changes() = 1",
    )
    .bind(hash.as_bytes())
    .bind(app.0)
    .bind(now)
    .bind(tokens.access_hash.as_bytes())
    .bind(to_millis(tokens.access_expires_at))
    .bind(tokens.refresh_hash.as_bytes())
    .bind(to_millis(tokens.refresh_expires_at))
    // fetch_all, not fetch_optional: the statements after the one returning a row must run too.
    .fetch_all(&mut *conn)
    .await
    .map_err(map)?
    .pop();
    if let Some(grant) = claimed {
        return Ok(CodeExchange::Issued(grant.into()));
    }
    let state: Option<CodeState> =
        sqlx::query_as("SELECT app_id, used_at, family_id FROM auth_codes WHERE hash = $1")
            .bind(hash.as_bytes())
            .fetch_optional(&mut *conn)
            .await
            .map_err(map)?;
    match state {
        // Unknown, or another app's code: change nothing, reveal nothing.
        None => Ok(CodeExchange::Invalid),
        Some(s) if s.app_id != app.0 => Ok(CodeExchange::Invalid),
        // Used: a replay, even after expiry. RFC 6749 §4.1.2: revoke what the code issued.
        Some(CodeState {
            used_at: Some(_),
            family_id,
            ..
        }) => {
            if let Some(family) = family_id {
                revoke_family(conn, family, now).await?;
            }
            Ok(CodeExchange::Replayed)
        }
        // Unused but not claimable: expired.
        Some(_) => Ok(CodeExchange::Invalid),
    }
}

/// The rotation itself, run inside the writer.
async fn rotate(
    conn: &mut SqliteConnection,
    hash: TokenHash,
    app: AppId,
    grace: Duration,
    tokens: NewTokens,
) -> StoreResult<Rotation> {
    let now = to_millis(tokens.now);
    // One round trip for the whole happy path, as in `exchange`: the conditional write (limited
    // to live families of this app) returns the grant, and each insert runs only if the
    // statement before it changed exactly one row.
    let claimed: Option<GrantRow> = sqlx::query_as(
        "UPDATE refresh_tokens SET rotated_at = $3 \
           WHERE hash = $1 AND rotated_at IS NULL AND expires_at > $3 \
             AND family_id IN \
                 (SELECT id FROM token_families WHERE app_id = $2 AND revoked_at IS NULL) \
           RETURNING family_id, \
             (SELECT app_id FROM token_families f WHERE f.id = family_id) AS app_id, \
             (SELECT user_id FROM token_families f WHERE f.id = family_id) AS user_id, \
             (SELECT account_id FROM token_families f WHERE f.id = family_id) AS account_id, \
             (SELECT scope FROM token_families f WHERE f.id = family_id) AS scope; \
         INSERT INTO access_tokens (hash, family_id, created_at, expires_at) \
           SELECT $4, family_id, $3, $5 FROM refresh_tokens WHERE hash = $1 AND changes() = 1; \
         INSERT INTO refresh_tokens (hash, family_id, created_at, expires_at) \
           SELECT $6, family_id, $3, $7 FROM access_tokens WHERE hash = $4 AND changes() = 1",
    )
    .bind(hash.as_bytes())
    .bind(app.0)
    .bind(now)
    .bind(tokens.access_hash.as_bytes())
    .bind(to_millis(tokens.access_expires_at))
    .bind(tokens.refresh_hash.as_bytes())
    .bind(to_millis(tokens.refresh_expires_at))
    // fetch_all, not fetch_optional: the statements after the one returning a row must run too.
    .fetch_all(&mut *conn)
    .await
    .map_err(map)?
    .pop();
    if let Some(grant) = claimed {
        return Ok(Rotation::Rotated(grant.into()));
    }
    let state: Option<RefreshState> = sqlx::query_as(
        "SELECT r.rotated_at, r.family_id, f.app_id, f.revoked_at \
         FROM refresh_tokens r JOIN token_families f ON f.id = r.family_id \
         WHERE r.hash = $1",
    )
    .bind(hash.as_bytes())
    .fetch_optional(&mut *conn)
    .await
    .map_err(map)?;
    match state {
        Some(RefreshState {
            rotated_at: Some(rotated_at),
            family_id,
            app_id,
            revoked_at: None,
        }) if app_id == app.0 => {
            if within_grace(now, rotated_at, grace) {
                // A racing client (oauth.md §4.3): refuse, revoke nothing.
                Ok(Rotation::RejectedInGrace)
            } else {
                revoke_family(conn, family_id, now).await?;
                Ok(Rotation::Reused)
            }
        }
        // Unknown, another app's, of a revoked family, or unrotated but expired.
        _ => Ok(Rotation::Invalid),
    }
}

#[async_trait]
impl OAuthStore for SqliteStore {
    async fn insert_code(&self, code: NewCode) -> StoreResult<()> {
        self.write(move |conn| {
            Box::pin(async move {
                sqlx::query(
                    "INSERT INTO auth_codes (hash, app_id, user_id, account_id, redirect_uri, \
                     scope, code_challenge, code_challenge_method, created_at, expires_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                )
                .bind(code.hash.as_bytes())
                .bind(code.app_id.0)
                .bind(code.user_id.0)
                .bind(code.account_id.0)
                .bind(&code.redirect_uri)
                .bind(&code.scope)
                .bind(&code.code_challenge)
                .bind(&code.code_challenge_method)
                .bind(to_millis(code.created_at))
                .bind(to_millis(code.expires_at))
                .execute(&mut *conn)
                .await
                .map_err(map_fk_not_found)?;
                Ok(())
            })
        })
        .await
    }

    async fn peek_code(&self, hash: &TokenHash) -> StoreResult<Option<CodeRecord>> {
        let row: Option<CodeRow> = sqlx::query_as(
            "SELECT app_id, user_id, account_id, redirect_uri, scope, code_challenge, \
             code_challenge_method, expires_at, used_at IS NOT NULL AS used \
             FROM auth_codes WHERE hash = $1",
        )
        .bind(hash.as_bytes())
        .fetch_optional(self.read())
        .await
        .map_err(map)?;
        Ok(row.map(|r| CodeRecord {
            app_id: AppId(r.app_id),
            user_id: UserId(r.user_id),
            account_id: AccountId(r.account_id),
            redirect_uri: r.redirect_uri,
            scope: r.scope,
            code_challenge: r.code_challenge,
            code_challenge_method: r.code_challenge_method,
            expires_at: from_millis(r.expires_at),
            used: r.used,
        }))
    }

    async fn exchange_code(
        &self,
        hash: &TokenHash,
        app: AppId,
        tokens: NewTokens,
    ) -> StoreResult<CodeExchange> {
        let hash = *hash;
        self.write(move |conn| Box::pin(exchange(conn, hash, app, tokens)))
            .await
    }

    async fn rotate_refresh(
        &self,
        hash: &TokenHash,
        app: AppId,
        grace: Duration,
        tokens: NewTokens,
    ) -> StoreResult<Rotation> {
        let hash = *hash;
        self.write(move |conn| Box::pin(rotate(conn, hash, app, grace, tokens)))
            .await
    }

    async fn find_access_token(&self, hash: &TokenHash) -> StoreResult<Option<AccessRecord>> {
        let row: Option<AccessRow> = sqlx::query_as(
            "SELECT f.id AS family_id, f.app_id, f.user_id, f.account_id, f.scope, \
             t.expires_at, f.revoked_at IS NOT NULL AS revoked, a.enabled AS app_enabled \
             FROM access_tokens t \
             JOIN token_families f ON f.id = t.family_id \
             JOIN apps a ON a.id = f.app_id \
             WHERE t.hash = $1",
        )
        .bind(hash.as_bytes())
        .fetch_optional(self.read())
        .await
        .map_err(map)?;
        Ok(row.map(|r| AccessRecord {
            grant: r.grant.into(),
            expires_at: from_millis(r.expires_at),
            revoked: r.revoked,
            app_enabled: r.app_enabled,
        }))
    }

    async fn find_refresh_token(&self, hash: &TokenHash) -> StoreResult<Option<RefreshRecord>> {
        let row: Option<RefreshRow> = sqlx::query_as(
            "SELECT f.id AS family_id, f.app_id, f.user_id, f.account_id, f.scope, \
             t.expires_at, f.revoked_at IS NOT NULL AS revoked, \
             t.rotated_at IS NOT NULL AS rotated \
             FROM refresh_tokens t \
             JOIN token_families f ON f.id = t.family_id \
             WHERE t.hash = $1",
        )
        .bind(hash.as_bytes())
        .fetch_optional(self.read())
        .await
        .map_err(map)?;
        Ok(row.map(|r| RefreshRecord {
            grant: r.grant.into(),
            expires_at: from_millis(r.expires_at),
            revoked: r.revoked,
            rotated: r.rotated,
        }))
    }

    async fn revoke_token(
        &self,
        hash: &TokenHash,
        app: AppId,
        now: OffsetDateTime,
    ) -> StoreResult<bool> {
        let hash = *hash;
        let now = to_millis(now);
        self.write(move |conn| {
            Box::pin(async move {
                let done = sqlx::query(
                    "UPDATE token_families SET revoked_at = $3 \
                     WHERE revoked_at IS NULL AND app_id = $2 AND id IN ( \
                       SELECT family_id FROM access_tokens WHERE hash = $1 \
                       UNION ALL \
                       SELECT family_id FROM refresh_tokens WHERE hash = $1)",
                )
                .bind(hash.as_bytes())
                .bind(app.0)
                .bind(now)
                .execute(&mut *conn)
                .await
                .map_err(map)?;
                Ok(done.rows_affected() > 0)
            })
        })
        .await
    }

    async fn count_active_families(&self, app: AppId, now: OffsetDateTime) -> StoreResult<i64> {
        // Active: not revoked, and still holding a token that works at `now` (an unrotated,
        // unexpired refresh token or an unexpired access token). Same rule as PostgreSQL.
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM token_families f \
             WHERE f.app_id = $1 AND f.revoked_at IS NULL AND ( \
               EXISTS (SELECT 1 FROM refresh_tokens r \
                       WHERE r.family_id = f.id AND r.rotated_at IS NULL AND r.expires_at > $2) \
               OR EXISTS (SELECT 1 FROM access_tokens a \
                          WHERE a.family_id = f.id AND a.expires_at > $2))",
        )
        .bind(app.0)
        .bind(to_millis(now))
        .fetch_one(self.read())
        .await
        .map_err(map)
    }
}

#[cfg(test)]
mod tests {
    use super::within_grace;
    use time::Duration;

    #[test]
    fn grace_is_inclusive() {
        let g = Duration::seconds(60);
        assert!(within_grace(1_000 + 60_000, 1_000, g));
        assert!(!within_grace(1_000 + 60_001, 1_000, g));
        assert!(within_grace(1_000, 1_000, Duration::ZERO));
        assert!(!within_grace(1_001, 1_000, Duration::ZERO));
    }
}
