//! [`CounterStore`] on SQLite (`migrations/0003_counters.sql`).
//!
//! Increments are one multi-row `INSERT … ON CONFLICT DO UPDATE SET n = n + excluded.n
//! RETURNING` run by the single writer, so concurrent hits are serialised and none is lost, and
//! a [`hit_all`](CounterStore::hit_all) is one job (one statement, committed with its batch).
//! Reads use the read pool.

use crate::SqliteStore;
use crate::error::map;
use async_trait::async_trait;
use keapsake_core::clock::{from_millis, to_millis};
use keapsake_core::counters::{CounterStore, Hit, Recent, merge_hits};
use keapsake_core::store::StoreResult;
use sqlx::AssertSqlSafe;
use std::collections::HashMap;
use std::fmt::Write as _;
use time::{Duration, OffsetDateTime};

/// A merged hit, owned so it can travel to the writer.
struct Owned {
    key: String,
    window_start: i64,
    expires_at: i64,
    by: i64,
}

/// `INSERT … VALUES ($1, $2, $3, $4), ($5, …) ON CONFLICT … RETURNING` for `rows` rows.
fn upsert_sql(rows: usize) -> String {
    let mut sql = String::from("INSERT INTO counters (key, window_start, expires_at, n) VALUES ");
    for i in 0..rows {
        let p = 4 * i;
        let sep = if i == 0 { "" } else { ", " };
        let _ = write!(sql, "{sep}(${}, ${}, ${}, ${})", p + 1, p + 2, p + 3, p + 4);
    }
    sql.push_str(
        " ON CONFLICT (key, window_start) DO UPDATE SET n = n + excluded.n, \
         expires_at = MAX(expires_at, excluded.expires_at) \
         RETURNING key, window_start, n",
    );
    sql
}

#[async_trait]
impl CounterStore for SqliteStore {
    async fn hit(
        &self,
        key: &str,
        window_start: OffsetDateTime,
        window: Duration,
        by: i64,
    ) -> StoreResult<i64> {
        let counts = self
            .hit_all(&[Hit {
                key,
                window_start,
                window,
                by,
            }])
            .await?;
        Ok(counts.first().copied().unwrap_or_default())
    }

    async fn hit_all(&self, hits: &[Hit<'_>]) -> StoreResult<Vec<i64>> {
        if hits.is_empty() {
            return Ok(Vec::new());
        }
        let (merged, index) = merge_hits(hits);
        let rows: Vec<Owned> = merged
            .iter()
            .map(|h| Owned {
                key: h.key.to_owned(),
                window_start: to_millis(h.window_start),
                expires_at: to_millis(h.window_start + h.window),
                by: h.by,
            })
            .collect();
        let counts = self
            .write(move |conn| {
                Box::pin(async move {
                    let sql = upsert_sql(rows.len());
                    let mut q = sqlx::query_as::<_, (String, i64, i64)>(AssertSqlSafe(sql));
                    for r in &rows {
                        q = q
                            .bind(r.key.as_str())
                            .bind(r.window_start)
                            .bind(r.expires_at)
                            .bind(r.by);
                    }
                    let returned = q.fetch_all(&mut *conn).await.map_err(map)?;
                    // RETURNING's row order is not specified; match rows by their counter.
                    let by_counter: HashMap<(String, i64), i64> = returned
                        .into_iter()
                        .map(|(key, start, n)| ((key, start), n))
                        .collect();
                    rows.iter()
                        .map(|r| {
                            by_counter
                                .get(&(r.key.clone(), r.window_start))
                                .copied()
                                .ok_or_else(|| {
                                    crate::error::corrupt("counters: upsert returned no row")
                                })
                        })
                        .collect::<StoreResult<Vec<i64>>>()
                })
            })
            .await?;
        Ok(index.into_iter().map(|i| counts[i]).collect())
    }

    async fn peek(&self, key: &str, window_start: OffsetDateTime) -> StoreResult<i64> {
        let n: Option<i64> =
            sqlx::query_scalar("SELECT n FROM counters WHERE key = $1 AND window_start = $2")
                .bind(key)
                .bind(to_millis(window_start))
                .fetch_optional(self.read())
                .await
                .map_err(map)?;
        Ok(n.unwrap_or_default())
    }

    async fn recent(&self, key: &str, since: OffsetDateTime) -> StoreResult<Recent> {
        let rows: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT window_start, n FROM counters \
             WHERE key = $1 AND window_start >= $2 AND n > 0",
        )
        .bind(key)
        .bind(to_millis(since))
        .fetch_all(self.read())
        .await
        .map_err(map)?;
        Ok(Recent::from_rows(
            rows.into_iter().map(|(start, n)| (from_millis(start), n)),
        ))
    }

    async fn purge_expired(&self, now: OffsetDateTime) -> StoreResult<u64> {
        let now = to_millis(now);
        self.write(move |conn| {
            Box::pin(async move {
                let done = sqlx::query("DELETE FROM counters WHERE expires_at <= $1")
                    .bind(now)
                    .execute(&mut *conn)
                    .await
                    .map_err(map)?;
                Ok(done.rows_affected())
            })
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn upsert_sql_numbers_every_placeholder() {
        let sql = super::upsert_sql(2);
        assert!(sql.contains("VALUES ($1, $2, $3, $4), ($5, $6, $7, $8) ON CONFLICT"));
    }
}
