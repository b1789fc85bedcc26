//! [`CounterStore`] on PostgreSQL (`migrations/0003_counters.sql`), shared by every node.
//!
//! An increment is one statement, `INSERT … ON CONFLICT (key, window_start) DO UPDATE SET n =
//! counters.n + EXCLUDED.n RETURNING n`: the conflicting row is locked for the update, so
//! concurrent hits from any number of nodes queue on it and each sees the previous one's count.
//! [`hit_all`](CounterStore::hit_all) sends every counter in one statement (`UNNEST` of arrays),
//! in key order, so two calls locking the same rows lock them in the same order and cannot
//! deadlock; a deadlock or serialization failure would be retried anyway (the statement is its
//! own transaction and rolled back as a whole).

use crate::PgStore;
use crate::error::{Fail, backend, retry};
use async_trait::async_trait;
use keapsake_core::clock::{from_millis, to_millis};
use keapsake_core::counters::{CounterStore, Hit, Recent, merge_hits};
use keapsake_core::store::StoreResult;
use std::collections::HashMap;
use time::{Duration, OffsetDateTime};

#[async_trait]
impl CounterStore for PgStore {
    async fn hit(
        &self,
        key: &str,
        window_start: OffsetDateTime,
        window: Duration,
        by: i64,
    ) -> StoreResult<i64> {
        let pool = &self.pool;
        let (start, expires) = (to_millis(window_start), to_millis(window_start + window));
        retry("counter_hit", move || async move {
            let n: i64 = sqlx::query_scalar(
                "INSERT INTO counters (key, window_start, expires_at, n) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (key, window_start) DO UPDATE SET n = counters.n + EXCLUDED.n, \
                 expires_at = GREATEST(counters.expires_at, EXCLUDED.expires_at) \
                 RETURNING n",
            )
            .bind(key)
            .bind(start)
            .bind(expires)
            .bind(by)
            .fetch_one(pool)
            .await?;
            Ok::<_, Fail>(n)
        })
        .await
    }

    async fn hit_all(&self, hits: &[Hit<'_>]) -> StoreResult<Vec<i64>> {
        if hits.is_empty() {
            return Ok(Vec::new());
        }
        // Distinct counters in key order: one row may not be updated twice by one statement,
        // and a fixed order keeps concurrent calls from deadlocking.
        let (merged, index) = merge_hits(hits);
        let keys: Vec<&str> = merged.iter().map(|h| h.key).collect();
        let starts: Vec<i64> = merged.iter().map(|h| to_millis(h.window_start)).collect();
        let expiries: Vec<i64> = merged
            .iter()
            .map(|h| to_millis(h.window_start + h.window))
            .collect();
        let bys: Vec<i64> = merged.iter().map(|h| h.by).collect();
        let pool = &self.pool;
        let (keys, starts, expiries, bys) = (&keys, &starts, &expiries, &bys);
        let returned = retry("counter_hit_all", move || async move {
            let rows: Vec<(String, i64, i64)> = sqlx::query_as(
                "INSERT INTO counters (key, window_start, expires_at, n) \
                 SELECT h.key, h.window_start, h.expires_at, h.n \
                 FROM UNNEST($1::text[], $2::int8[], $3::int8[], $4::int8[]) \
                      WITH ORDINALITY AS h (key, window_start, expires_at, n, ord) \
                 ORDER BY h.ord \
                 ON CONFLICT (key, window_start) DO UPDATE SET n = counters.n + EXCLUDED.n, \
                 expires_at = GREATEST(counters.expires_at, EXCLUDED.expires_at) \
                 RETURNING key, window_start, n",
            )
            .bind(keys)
            .bind(starts)
            .bind(expiries)
            .bind(bys)
            .fetch_all(pool)
            .await?;
            Ok::<_, Fail>(rows)
        })
        .await?;
        let by_counter: HashMap<(&str, i64), i64> = returned
            .iter()
            .map(|(key, start, n)| ((key.as_str(), *start), *n))
            .collect();
        let counts =
            keys.iter()
                .zip(starts.iter())
                .map(|(k, s)| {
                    by_counter.get(&(*k, *s)).copied().ok_or_else(|| {
                        backend("counters: the upsert returned no row for a counter")
                    })
                })
                .collect::<StoreResult<Vec<i64>>>()?;
        Ok(index.into_iter().map(|i| counts[i]).collect())
    }

    async fn peek(&self, key: &str, window_start: OffsetDateTime) -> StoreResult<i64> {
        let pool = &self.pool;
        let start = to_millis(window_start);
        retry("counter_peek", move || async move {
            let n: Option<i64> =
                sqlx::query_scalar("SELECT n FROM counters WHERE key = $1 AND window_start = $2")
                    .bind(key)
                    .bind(start)
                    .fetch_optional(pool)
                    .await?;
            Ok::<_, Fail>(n.unwrap_or_default())
        })
        .await
    }

    async fn recent(&self, key: &str, since: OffsetDateTime) -> StoreResult<Recent> {
        let pool = &self.pool;
        let since = to_millis(since);
        retry("counter_recent", move || async move {
            let rows: Vec<(i64, i64)> = sqlx::query_as(
                "SELECT window_start, n FROM counters \
                 WHERE key = $1 AND window_start >= $2 AND n > 0",
            )
            .bind(key)
            .bind(since)
            .fetch_all(pool)
            .await?;
            Ok::<_, Fail>(Recent::from_rows(
                rows.into_iter().map(|(start, n)| (from_millis(start), n)),
            ))
        })
        .await
    }

    async fn purge_expired(&self, now: OffsetDateTime) -> StoreResult<u64> {
        let pool = &self.pool;
        let now = to_millis(now);
        retry("counter_purge", move || async move {
            let done = sqlx::query("DELETE FROM counters WHERE expires_at <= $1")
                .bind(now)
                .execute(pool)
                .await?;
            Ok::<_, Fail>(done.rows_affected())
        })
        .await
    }
}
