//! [`HookStore`] on PostgreSQL (`migrations/0010_hooks.sql`), shared by every node. Rows are
//! written by the migration's triggers in the transaction of each change. A claim is one
//! statement whose row selection uses `FOR UPDATE SKIP LOCKED`: two nodes claiming at once lock
//! disjoint rows, and the lease they write keeps the rows out of every later claim until it
//! expires (a crashed node's rows come back after `lease`).

use crate::PgStore;
use crate::error::{Fail, retry};
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
    attempts: i32,
}

#[async_trait]
impl HookStore for PgStore {
    async fn claim_hook_batch(
        &self,
        owner: &str,
        only: Option<AccountId>,
        now: OffsetDateTime,
        lease: Duration,
        max: usize,
    ) -> StoreResult<Option<ClaimedBatch>> {
        let pool = &self.pool;
        let now = to_millis(now);
        let until = now + lease.whole_milliseconds() as i64;
        let max = i64::try_from(max.max(1)).unwrap_or(1000);
        let only = only.map(|a| a.0);
        let rows: Vec<Row> = retry("claim_hook_batch", move || async move {
            Ok(sqlx::query_as::<_, Row>(
                "WITH first AS (SELECT account_id, hook_id, event_key FROM hook_outbox \
                   WHERE (attempts = 0 OR next_at <= $1) \
                     AND (lease_until IS NULL OR lease_until <= $1) \
                     AND ($5::BIGINT IS NULL OR account_id = $5) \
                   ORDER BY seq LIMIT 1 FOR UPDATE SKIP LOCKED), \
                 picked AS (SELECT o.seq FROM hook_outbox o JOIN first f \
                   ON o.account_id = f.account_id AND o.hook_id = f.hook_id \
                  AND o.event_key = f.event_key \
                   WHERE (o.attempts = 0 OR o.next_at <= $1) \
                     AND (o.lease_until IS NULL OR o.lease_until <= $1) \
                   ORDER BY o.seq LIMIT $4 FOR UPDATE OF o SKIP LOCKED) \
                 UPDATE hook_outbox SET lease_owner = $2, lease_until = $3 \
                 WHERE seq IN (SELECT seq FROM picked) \
                 RETURNING seq, account_id, hook_id, event_key, object_id, contact_id, \
                   changed_at, attempts",
            )
            .bind(now)
            .bind(owner)
            .bind(until)
            .bind(max)
            .bind(only)
            .fetch_all(pool)
            .await?)
        })
        .await?;
        Ok(batch(rows))
    }

    async fn finish_hook_items(&self, owner: &str, seqs: &[i64]) -> StoreResult<u64> {
        let pool = &self.pool;
        retry("finish_hook_items", move || async move {
            Ok(
                sqlx::query("DELETE FROM hook_outbox WHERE lease_owner = $1 AND seq = ANY($2)")
                    .bind(owner)
                    .bind(seqs)
                    .execute(pool)
                    .await?
                    .rows_affected(),
            )
        })
        .await
    }

    async fn retry_hook_items(
        &self,
        owner: &str,
        seqs: &[i64],
        next_at: OffsetDateTime,
    ) -> StoreResult<u64> {
        let pool = &self.pool;
        let next_at = to_millis(next_at);
        retry("retry_hook_items", move || async move {
            Ok(sqlx::query(
                "UPDATE hook_outbox SET attempts = attempts + 1, next_at = $3, \
                   lease_owner = NULL, lease_until = NULL \
                 WHERE lease_owner = $1 AND seq = ANY($2)",
            )
            .bind(owner)
            .bind(seqs)
            .bind(next_at)
            .execute(pool)
            .await?
            .rows_affected())
        })
        .await
    }

    async fn drop_hook_items(&self, account: AccountId, hook_id: i64) -> StoreResult<u64> {
        let pool = &self.pool;
        retry("drop_hook_items", move || async move {
            Ok(
                sqlx::query("DELETE FROM hook_outbox WHERE account_id = $1 AND hook_id = $2")
                    .bind(account.0)
                    .bind(hook_id)
                    .execute(pool)
                    .await?
                    .rows_affected(),
            )
        })
        .await
    }

    async fn pending_hook_items(&self, account: Option<AccountId>) -> StoreResult<i64> {
        let pool = &self.pool;
        let account = account.map(|a| a.0);
        retry("pending_hook_items", move || async move {
            let n: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM hook_outbox WHERE $1::BIGINT IS NULL OR account_id = $1",
            )
            .bind(account)
            .fetch_one(pool)
            .await?;
            Ok::<_, Fail>(n)
        })
        .await
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
                attempts: r.attempts,
            })
            .collect(),
    })
}
