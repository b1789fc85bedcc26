//! [`OAuthStore`] on PostgreSQL: authorization codes, token families, access and refresh tokens.
//!
//! Transactions run at READ COMMITTED, and correctness comes from row locks rather than from the
//! isolation level:
//! - `exchange_code` claims the code with one conditional `UPDATE … WHERE used_at IS NULL AND
//!   app_id = … AND expires_at > now`. A concurrent claimer blocks on the row lock, re-evaluates
//!   the condition on the committed row, and touches nothing; so exactly one call wins. The same
//!   statement takes the new family id from the family sequence, and the family and tokens are
//!   inserted in the same transaction (the code's foreign key to the family is deferred).
//! - `rotate_refresh`, reuse handling and `revoke_token` lock the family row (`FOR UPDATE`) first
//!   and read the token's state only after holding it, so each sees what the previous holder
//!   committed, and no token is minted into a family after it was revoked.

use crate::PgStore;
use crate::error::{Fail, retry};
use async_trait::async_trait;
use keapsake_core::clock::{from_millis, to_millis};
use keapsake_core::ids::{AccountId, AppId, FamilyId, UserId};
use keapsake_core::secret::TokenHash;
use keapsake_core::store::{
    AccessRecord, CodeExchange, CodeRecord, Grant, NewCode, NewTokens, OAuthStore, RefreshRecord,
    Rotation, StoreResult,
};
use sqlx::PgConnection;
use time::{Duration, OffsetDateTime};

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

/// What the claiming `UPDATE` returns.
#[derive(sqlx::FromRow)]
struct ClaimedCode {
    family_id: i64,
    app_id: i64,
    user_id: i64,
    account_id: i64,
    scope: String,
}

/// A code that could not be claimed: why.
#[derive(sqlx::FromRow)]
struct UnclaimedCode {
    app_id: i64,
    used_at: Option<i64>,
    family_id: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct FamilyRow {
    id: i64,
    app_id: i64,
    user_id: i64,
    account_id: i64,
    scope: String,
    revoked_at: Option<i64>,
}

impl FamilyRow {
    fn grant(&self) -> Grant {
        Grant {
            family_id: FamilyId(self.id),
            app_id: AppId(self.app_id),
            user_id: UserId(self.user_id),
            account_id: AccountId(self.account_id),
            scope: self.scope.clone(),
        }
    }
}

#[derive(sqlx::FromRow)]
struct RefreshState {
    expires_at: i64,
    rotated_at: Option<i64>,
}

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

/// Locks a family row for the rest of the transaction and returns it as committed by whoever
/// held the lock before.
async fn lock_family(conn: &mut PgConnection, id: i64) -> Result<Option<FamilyRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, app_id, user_id, account_id, scope, revoked_at \
         FROM token_families WHERE id = $1 FOR UPDATE",
    )
    .bind(id)
    .fetch_optional(conn)
    .await
}

/// Marks a (locked) family revoked; a family revoked before keeps its first revocation time.
/// Returns whether this call revoked it.
async fn revoke_family(conn: &mut PgConnection, id: i64, now: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE token_families SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
    )
    .bind(id)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Inserts an access and refresh token pair into a family.
async fn insert_pair(
    conn: &mut PgConnection,
    family: i64,
    tokens: &NewTokens,
) -> Result<(), sqlx::Error> {
    let now = to_millis(tokens.now);
    sqlx::query(
        "INSERT INTO access_tokens (hash, family_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(tokens.access_hash.as_bytes())
    .bind(family)
    .bind(now)
    .bind(to_millis(tokens.access_expires_at))
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO refresh_tokens (hash, family_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(tokens.refresh_hash.as_bytes())
    .bind(family)
    .bind(now)
    .bind(to_millis(tokens.refresh_expires_at))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// `grace` in milliseconds, clamped to `0..=i64::MAX` (a negative grace is no grace).
fn grace_millis(grace: Duration) -> i64 {
    i64::try_from(grace.whole_milliseconds().max(0)).unwrap_or(i64::MAX)
}

impl PgStore {
    async fn exchange_code_once(
        &self,
        hash: &TokenHash,
        app: AppId,
        tokens: &NewTokens,
    ) -> Result<CodeExchange, Fail> {
        let now = to_millis(tokens.now);
        let mut tx = self.pool.begin().await?;

        // Single use: ONE conditional write, rows affected checked (SECURITY.md §2). The family id
        // comes from the family sequence so the code records it in the same statement.
        let claimed: Option<ClaimedCode> = sqlx::query_as(
            "UPDATE auth_codes \
             SET used_at = $1, family_id = nextval(pg_get_serial_sequence('token_families', 'id')) \
             WHERE hash = $2 AND app_id = $3 AND used_at IS NULL AND expires_at > $1 \
             RETURNING family_id, app_id, user_id, account_id, scope",
        )
        .bind(now)
        .bind(hash.as_bytes())
        .bind(app.0)
        .fetch_optional(&mut *tx)
        .await?;

        if let Some(code) = claimed {
            sqlx::query(
                "INSERT INTO token_families (id, app_id, user_id, account_id, scope, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(code.family_id)
            .bind(code.app_id)
            .bind(code.user_id)
            .bind(code.account_id)
            .bind(&code.scope)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            insert_pair(&mut tx, code.family_id, tokens).await?;
            tx.commit().await?;
            return Ok(CodeExchange::Issued(Grant {
                family_id: FamilyId(code.family_id),
                app_id: AppId(code.app_id),
                user_id: UserId(code.user_id),
                account_id: AccountId(code.account_id),
                scope: code.scope,
            }));
        }

        // Not claimed. This statement has a fresh snapshot, so a winner that held the row lock
        // while our UPDATE waited is visible as committed.
        let row: Option<UnclaimedCode> =
            sqlx::query_as("SELECT app_id, used_at, family_id FROM auth_codes WHERE hash = $1")
                .bind(hash.as_bytes())
                .fetch_optional(&mut *tx)
                .await?;
        let Some(row) = row else {
            return Ok(CodeExchange::Invalid);
        };
        if row.app_id != app.0 || row.used_at.is_none() {
            // Another app's code, or an unused one that expired: change nothing.
            return Ok(CodeExchange::Invalid);
        }
        // Replay by the code's own app (expired or not): revoke everything it issued (RFC 6749
        // §4.1.2), under the family lock that rotation also takes.
        if let Some(family) = row.family_id
            && lock_family(&mut tx, family).await?.is_some()
        {
            revoke_family(&mut tx, family, now).await?;
        }
        tx.commit().await?;
        Ok(CodeExchange::Replayed)
    }

    async fn rotate_refresh_once(
        &self,
        hash: &TokenHash,
        app: AppId,
        grace: i64,
        tokens: &NewTokens,
    ) -> Result<Rotation, Fail> {
        let now = to_millis(tokens.now);
        let mut tx = self.pool.begin().await?;

        // The family a token belongs to never changes, so it can be read before the lock.
        let family_id: Option<i64> =
            sqlx::query_scalar("SELECT family_id FROM refresh_tokens WHERE hash = $1")
                .bind(hash.as_bytes())
                .fetch_optional(&mut *tx)
                .await?;
        let Some(family_id) = family_id else {
            return Ok(Rotation::Invalid);
        };
        let Some(family) = lock_family(&mut tx, family_id).await? else {
            return Ok(Rotation::Invalid);
        };
        if family.app_id != app.0 || family.revoked_at.is_some() {
            return Ok(Rotation::Invalid);
        }

        // Read only now, holding the lock: sees a rotation committed by the previous holder.
        let state: Option<RefreshState> =
            sqlx::query_as("SELECT expires_at, rotated_at FROM refresh_tokens WHERE hash = $1")
                .bind(hash.as_bytes())
                .fetch_optional(&mut *tx)
                .await?;
        let Some(state) = state else {
            return Ok(Rotation::Invalid);
        };

        if let Some(rotated_at) = state.rotated_at {
            // Reuse is judged before expiry: replaying a rotated token is evidence of theft
            // whether or not it has also expired.
            if now.saturating_sub(rotated_at) <= grace {
                return Ok(Rotation::RejectedInGrace);
            }
            revoke_family(&mut tx, family.id, now).await?;
            tx.commit().await?;
            return Ok(Rotation::Reused);
        }
        if state.expires_at <= now {
            return Ok(Rotation::Invalid);
        }

        let done = sqlx::query(
            "UPDATE refresh_tokens SET rotated_at = $1 \
             WHERE hash = $2 AND rotated_at IS NULL AND expires_at > $1",
        )
        .bind(now)
        .bind(hash.as_bytes())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            // Unreachable while the family lock is held; refuse rather than mint twice.
            return Ok(Rotation::Invalid);
        }
        insert_pair(&mut tx, family.id, tokens).await?;
        tx.commit().await?;
        Ok(Rotation::Rotated(family.grant()))
    }

    async fn revoke_token_once(
        &self,
        hash: &TokenHash,
        app: AppId,
        now: i64,
    ) -> Result<bool, Fail> {
        let mut tx = self.pool.begin().await?;
        let family_id: Option<i64> = sqlx::query_scalar(
            "SELECT family_id FROM access_tokens WHERE hash = $1 \
             UNION ALL SELECT family_id FROM refresh_tokens WHERE hash = $1 LIMIT 1",
        )
        .bind(hash.as_bytes())
        .fetch_optional(&mut *tx)
        .await?;
        let Some(family_id) = family_id else {
            return Ok(false);
        };
        let Some(family) = lock_family(&mut tx, family_id).await? else {
            return Ok(false);
        };
        if family.app_id != app.0 {
            // RFC 7009 §2.1: a token of another client is not revoked.
            return Ok(false);
        }
        let revoked = revoke_family(&mut tx, family.id, now).await?;
        tx.commit().await?;
        Ok(revoked)
    }
}

#[async_trait]
impl OAuthStore for PgStore {
    async fn insert_code(&self, code: NewCode) -> StoreResult<()> {
        let pool = &self.pool;
        let code = &code;
        retry("insert_code", move || async move {
            sqlx::query(
                "INSERT INTO auth_codes (hash, app_id, user_id, account_id, redirect_uri, scope, \
                 code_challenge, code_challenge_method, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(code.hash.as_bytes())
            .bind(code.app_id.0)
            .bind(code.user_id.0)
            .bind(code.account_id.0)
            .bind(&code.redirect_uri)
            .bind(&code.scope)
            .bind(code.code_challenge.as_deref())
            .bind(code.code_challenge_method.as_deref())
            .bind(to_millis(code.created_at))
            .bind(to_millis(code.expires_at))
            .execute(pool)
            .await?;
            Ok::<_, Fail>(())
        })
        .await
    }

    async fn peek_code(&self, hash: &TokenHash) -> StoreResult<Option<CodeRecord>> {
        let pool = &self.pool;
        retry("peek_code", move || async move {
            let row: Option<CodeRow> = sqlx::query_as(
                "SELECT app_id, user_id, account_id, redirect_uri, scope, code_challenge, \
                 code_challenge_method, expires_at, used_at IS NOT NULL AS used \
                 FROM auth_codes WHERE hash = $1",
            )
            .bind(hash.as_bytes())
            .fetch_optional(pool)
            .await?;
            Ok::<_, Fail>(row.map(|r| CodeRecord {
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
        })
        .await
    }

    async fn exchange_code(
        &self,
        hash: &TokenHash,
        app: AppId,
        tokens: NewTokens,
    ) -> StoreResult<CodeExchange> {
        let tokens = &tokens;
        retry("exchange_code", move || {
            self.exchange_code_once(hash, app, tokens)
        })
        .await
    }

    async fn rotate_refresh(
        &self,
        hash: &TokenHash,
        app: AppId,
        grace: Duration,
        tokens: NewTokens,
    ) -> StoreResult<Rotation> {
        let tokens = &tokens;
        let grace = grace_millis(grace);
        retry("rotate_refresh", move || {
            self.rotate_refresh_once(hash, app, grace, tokens)
        })
        .await
    }

    async fn find_access_token(&self, hash: &TokenHash) -> StoreResult<Option<AccessRecord>> {
        let pool = &self.pool;
        retry("find_access_token", move || async move {
            let row: Option<AccessRow> = sqlx::query_as(
                "SELECT f.id AS family_id, f.app_id, f.user_id, f.account_id, f.scope, \
                 t.expires_at, f.revoked_at IS NOT NULL AS revoked, p.enabled AS app_enabled \
                 FROM access_tokens t \
                 JOIN token_families f ON f.id = t.family_id \
                 JOIN apps p ON p.id = f.app_id \
                 WHERE t.hash = $1",
            )
            .bind(hash.as_bytes())
            .fetch_optional(pool)
            .await?;
            Ok::<_, Fail>(row.map(|r| AccessRecord {
                grant: r.grant.into(),
                expires_at: from_millis(r.expires_at),
                revoked: r.revoked,
                app_enabled: r.app_enabled,
            }))
        })
        .await
    }

    async fn find_refresh_token(&self, hash: &TokenHash) -> StoreResult<Option<RefreshRecord>> {
        let pool = &self.pool;
        retry("find_refresh_token", move || async move {
            let row: Option<RefreshRow> = sqlx::query_as(
                "SELECT f.id AS family_id, f.app_id, f.user_id, f.account_id, f.scope, \
                 t.expires_at, f.revoked_at IS NOT NULL AS revoked, \
                 t.rotated_at IS NOT NULL AS rotated \
                 FROM refresh_tokens t \
                 JOIN token_families f ON f.id = t.family_id \
                 WHERE t.hash = $1",
            )
            .bind(hash.as_bytes())
            .fetch_optional(pool)
            .await?;
            Ok::<_, Fail>(row.map(|r| RefreshRecord {
                grant: r.grant.into(),
                expires_at: from_millis(r.expires_at),
                revoked: r.revoked,
                rotated: r.rotated,
            }))
        })
        .await
    }

    async fn revoke_token(
        &self,
        hash: &TokenHash,
        app: AppId,
        now: OffsetDateTime,
    ) -> StoreResult<bool> {
        let now = to_millis(now);
        retry("revoke_token", move || {
            self.revoke_token_once(hash, app, now)
        })
        .await
    }

    async fn count_active_families(&self, app: AppId, now: OffsetDateTime) -> StoreResult<i64> {
        let pool = &self.pool;
        let now = to_millis(now);
        retry("count_active_families", move || async move {
            // Active: not revoked, and still holding a token that works at `now` (an unrotated,
            // unexpired refresh token or an unexpired access token).
            let n: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM token_families f \
                 WHERE f.app_id = $1 AND f.revoked_at IS NULL AND ( \
                   EXISTS (SELECT 1 FROM refresh_tokens r \
                           WHERE r.family_id = f.id AND r.rotated_at IS NULL AND r.expires_at > $2) \
                   OR EXISTS (SELECT 1 FROM access_tokens a \
                              WHERE a.family_id = f.id AND a.expires_at > $2))",
            )
            .bind(app.0)
            .bind(now)
            .fetch_one(pool)
            .await?;
            Ok::<_, Fail>(n)
        })
        .await
    }
}
