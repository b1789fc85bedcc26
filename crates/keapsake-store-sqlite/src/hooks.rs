//! [`HookStore`] on SQLite (`migrations/0010_hooks.sql`). Rows are written by the triggers of
//! that migration inside the writer's transactions; draining runs in the single writer too, so
//! a claim (select + lease) is atomic with respect to every other write.

use crate::SqliteStore;
use crate::error::map;
use async_trait::async_trait;
use keapsake_core::clock::{from_millis, to_millis};
use keapsake_core::hooks::{ClaimedBatch, HookStore, OutboxItem};
use keapsake_core::ids::AccountId;
use keapsake_core::store::StoreResult;
use time::{Duration, OffsetDateTime};

#[derive(sqlx::FromRow)]
struct Row {
    seq: i64,
    account_id: i64,
    hook_id: i64,
    event_key: String,
    object_id: i64,
    contact_id: Option<i64>,
    changed_at: i64,
    attempts: i64,
}

fn json_ids(ids: &[i64]) -> String {
    serde_json::Value::from(ids.to_vec()).to_string()
}

/// A due, unleased row: `$1` is now (ms).
const CLAIMABLE: &str =
    "(attempts = 0 OR next_at <= $1) AND (lease_until IS NULL OR lease_until <= $1)";

#[async_trait]
impl HookStore for SqliteStore {
    async fn claim_hook_batch(
        &self,
        owner: &str,
        only: Option<AccountId>,
        now: OffsetDateTime,
        lease: Duration,
        max: usize,
    ) -> StoreResult<Option<ClaimedBatch>> {
        let owner = owner.to_owned();
        let now = to_millis(now);
        let until = now + lease.whole_milliseconds() as i64;
        let max = i64::try_from(max.max(1)).unwrap_or(1000);
        let only = only.map(|a| a.0);
        let rows: Vec<Row> = self
            .write(move |conn| {
                Box::pin(async move {
                    // One statement: the oldest claimable row picks the group, the group's
                    // claimable rows (oldest first, at most max) get the lease.
                    let sql = format!(
                        "WITH first AS (SELECT account_id, hook_id, event_key FROM hook_outbox \
                           WHERE {CLAIMABLE} AND ($5 IS NULL OR account_id = $5) \
                           ORDER BY seq LIMIT 1), \
                         picked AS (SELECT o.seq FROM hook_outbox o JOIN first f \
                           ON o.account_id = f.account_id AND o.hook_id = f.hook_id \
                          AND o.event_key = f.event_key \
                           WHERE {c} ORDER BY o.seq LIMIT $4) \
                         UPDATE hook_outbox SET lease_owner = $2, lease_until = $3 \
                         WHERE seq IN (SELECT seq FROM picked) \
                         RETURNING seq, account_id, hook_id, event_key, object_id, contact_id, \
                           changed_at, attempts",
                        c = CLAIMABLE
                            .replace("attempts", "o.attempts")
                            .replace("next_at", "o.next_at")
                            .replace("lease_until", "o.lease_until"),
                    );
                    sqlx::query_as::<_, Row>(sqlx::AssertSqlSafe(sql))
                        .bind(now)
                        .bind(owner)
                        .bind(until)
                        .bind(max)
                        .bind(only)
                        .fetch_all(&mut *conn)
                        .await
                        .map_err(map)
                })
            })
            .await?;
        Ok(batch(rows))
    }

    async fn finish_hook_items(&self, owner: &str, seqs: &[i64]) -> StoreResult<u64> {
        let owner = owner.to_owned();
        let ids = json_ids(seqs);
        self.write(move |conn| {
            Box::pin(async move {
                sqlx::query(
                    "DELETE FROM hook_outbox WHERE lease_owner = $1 \
                     AND seq IN (SELECT value FROM json_each($2))",
                )
                .bind(owner)
                .bind(ids)
                .execute(&mut *conn)
                .await
                .map(|r| r.rows_affected())
                .map_err(map)
            })
        })
        .await
    }

    async fn retry_hook_items(
        &self,
        owner: &str,
        seqs: &[i64],
        next_at: OffsetDateTime,
    ) -> StoreResult<u64> {
        let owner = owner.to_owned();
        let ids = json_ids(seqs);
        let next_at = to_millis(next_at);
        self.write(move |conn| {
            Box::pin(async move {
                sqlx::query(
                    "UPDATE hook_outbox SET attempts = attempts + 1, next_at = $3, \
                       lease_owner = NULL, lease_until = NULL \
                     WHERE lease_owner = $1 AND seq IN (SELECT value FROM json_each($2))",
                )
                .bind(owner)
                .bind(ids)
                .bind(next_at)
                .execute(&mut *conn)
                .await
                .map(|r| r.rows_affected())
                .map_err(map)
            })
        })
        .await
    }

    async fn drop_hook_items(&self, account: AccountId, hook_id: i64) -> StoreResult<u64> {
        self.write(move |conn| {
            Box::pin(async move {
                sqlx::query("DELETE FROM hook_outbox WHERE account_id = $1 AND hook_id = $2")
                    .bind(account.0)
                    .bind(hook_id)
                    .execute(&mut *conn)
                    .await
                    .map(|r| r.rows_affected())
                    .map_err(map)
            })
        })
        .await
    }

    async fn pending_hook_items(&self, account: Option<AccountId>) -> StoreResult<i64> {
        sqlx::query_scalar("SELECT count(*) FROM hook_outbox WHERE $1 IS NULL OR account_id = $1")
            .bind(account.map(|a| a.0))
            .fetch_one(self.read())
            .await
            .map_err(map)
    }
}

/// The claimed rows as a batch, in sequence order.
fn batch(mut rows: Vec<Row>) -> Option<ClaimedBatch> {
    rows.sort_by_key(|r| r.seq);
    let first = rows.first()?;
    Some(ClaimedBatch {
        account: AccountId(first.account_id),
        hook_id: first.hook_id,
        event_key: first.event_key.clone(),
        items: rows
            .into_iter()
            .map(|r| OutboxItem {
                seq: r.seq,
                object_id: r.object_id,
                contact_id: r.contact_id,
                changed_at: from_millis(r.changed_at),
                attempts: i32::try_from(r.attempts).unwrap_or(i32::MAX),
            })
            .collect(),
    })
}
