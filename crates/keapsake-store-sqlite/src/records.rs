//! [`RecordStore`] on SQLite: tenant documents, per-account ids and links
//! (`migrations/0002_records.sql`, docs/schema.md "Tenant data").
//!
//! Every write is one job of the single writer ([`crate::writer`]), so writes are serialised
//! with each other and each runs inside its own savepoint of the writer's batch transaction:
//! - ids: the job reads `next_id` of (account, kind), runs the [`Create`], then inserts the
//!   record and stores `next_id + 1`. Nothing else can take an id in between;
//! - `update_record`: the job reads the record, runs the [`Edit`] and writes the result, so
//!   concurrent edits of one record run one after the other and each sees the previous one;
//! - `upsert_record`: the job finds the oldest match (lowest id) and edits it, or creates a
//!   record. Upserts of one key (of any key: `lock_key` is not needed) cannot interleave, and a
//!   later job of the same batch sees what an earlier one created, so N parallel upserts of one
//!   e-mail create exactly one record;
//! - `link` checks that both records exist in the job that inserts the links, and
//!   `delete_record` deletes the record and its links in one job, so no link outlives its
//!   records.
//!
//! **Refusals.** Each job reads first and writes only after the caller's closure has accepted,
//! so a closure that refuses leaves nothing to undo: the job answers `Rejected` as a success
//! (`Ok`), and the writer releases its empty savepoint. Failures after a write has started (a
//! unique clash: `Conflict { what: "unique" }`) are errors, and the writer rolls the job back to
//! its savepoint, the id bump included. So neither consumes an id.
//!
//! The closures run synchronously inside the writer task (never held across an `.await`), between
//! the job's read and its write; a slow closure delays every write of the store. A panicking one
//! is caught by the writer, which rolls the job back (its caller gets an error).
//!
//! Reads ([`RecordStore::get_record`], `get_records`, `list_records`, `list_links`, `links_of`)
//! run on the read pool; a page and its total come from one statement, hence one snapshot.
//!
//! Queries built at run time ([`Query`] conditions and order) bind every value as a parameter;
//! column names come only from the fixed tables [`TEXT_COLUMNS`] and [`INT_COLUMNS`]. Lists of
//! ids or pairs are bound as one JSON array parameter and read with `json_each`.

use crate::SqliteStore;
use crate::error::{self, SqliteFailure, corrupt, map};
use async_trait::async_trait;
use keapsake_core::AccountId;
use keapsake_core::clock::{from_millis, to_millis};
use keapsake_core::records::{
    Column, Cond, Create, Edit, Edited, INT_KEYS, Keys, Link, LinkKind, LinkOutcome, NewRecord,
    Query, Record, RecordKind, RecordStore, Side, TEXT_KEYS, Upserted,
};
use keapsake_core::store::{StoreError, StoreResult};
use serde_json::Value;
use sqlx::error::ErrorKind;
use sqlx::sqlite::{SqliteArguments, SqliteRow};
use sqlx::{AssertSqlSafe, Sqlite, SqliteConnection};
use std::collections::HashSet;
use time::OffsetDateTime;

/// SQL names of the text keys, by index. The only way a text column name reaches SQL.
const TEXT_COLUMNS: [&str; TEXT_KEYS] = ["k0", "k1", "k2", "k3", "k4", "k5"];
/// SQL names of the integer keys, by index. The only way an integer column name reaches SQL.
const INT_COLUMNS: [&str; INT_KEYS] = ["n0", "n1", "n2"];

/// Every link kind, for cascading deletes.
const ALL_LINK_KINDS: [LinkKind; 2] = [LinkKind::ContactTag, LinkKind::CompanyTag];

/// Fails to compile when a link kind is added without extending [`ALL_LINK_KINDS`].
const _: fn(LinkKind) = |k| match k {
    LinkKind::ContactTag | LinkKind::CompanyTag => {}
};

/// The record columns read back, in order.
const RECORD_COLUMNS: &str = "r.id, r.data, r.created_at, r.updated_at";

#[derive(sqlx::FromRow)]
struct RecordRow {
    id: i64,
    data: String,
    created_at: i64,
    updated_at: i64,
}

impl RecordRow {
    fn into_record(self) -> StoreResult<Record> {
        Ok(Record {
            id: self.id,
            data: parse(&self.data)?,
            created_at: from_millis(self.created_at),
            updated_at: from_millis(self.updated_at),
        })
    }
}

/// One row of a page query: the total, and a record unless the page is empty.
#[derive(sqlx::FromRow)]
struct PageRow {
    total: i64,
    id: Option<i64>,
    data: Option<String>,
    created_at: Option<i64>,
    updated_at: Option<i64>,
}

/// The one row an upsert reads: the next id of (account, kind), and the oldest match if any.
#[derive(sqlx::FromRow)]
struct UpsertRow {
    next_id: i64,
    id: Option<i64>,
    data: Option<String>,
    created_at: Option<i64>,
    updated_at: Option<i64>,
}

/// One row of a links page query.
#[derive(sqlx::FromRow)]
struct LinkPageRow {
    total: i64,
    a: Option<i64>,
    b: Option<i64>,
    created_at: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct LinkRow {
    a: i64,
    b: i64,
    created_at: i64,
}

impl From<LinkRow> for Link {
    fn from(r: LinkRow) -> Self {
        Link {
            a: r.a,
            b: r.b,
            created_at: from_millis(r.created_at),
        }
    }
}

/// A `Backend` error about the store's own input or state (never shown to clients).
fn backend(message: String) -> StoreError {
    StoreError::Backend(Box::new(SqliteFailure(message)))
}

/// A stored document.
fn parse(data: &str) -> StoreResult<Value> {
    serde_json::from_str(data).map_err(|_| corrupt("a record document is not JSON"))
}

/// A document to store.
fn serialize(data: &Value) -> StoreResult<String> {
    serde_json::to_string(data).map_err(|e| backend(format!("a record cannot be serialised: {e}")))
}

/// A list bound as one JSON array parameter (read with `json_each`).
fn json_list<T: Clone + Into<Value>>(items: &[T]) -> String {
    Value::from(items).to_string()
}

/// Pairs bound as one JSON array of `[a, b]` arrays.
fn json_pairs(pairs: &[(i64, i64)]) -> String {
    Value::from(
        pairs
            .iter()
            .map(|&(a, b)| Value::from(vec![a, b]))
            .collect::<Vec<_>>(),
    )
    .to_string()
}

/// Maps a driver error of a statement that writes a record: a clash on `unique_key` is
/// `Conflict { what: "unique" }` (the contract's word, whatever SQLite's message says), a missing
/// account `NotFound`, the rest as [`error::map`].
fn map_write(e: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(db) = &e
        && db.kind() == ErrorKind::UniqueViolation
        && db.message().contains("records.unique_key")
    {
        return StoreError::Conflict {
            what: "unique".to_owned(),
        };
    }
    error::map_fk_not_found(e)
}

/// The SQL name of text key `i`.
fn text_column(i: usize) -> StoreResult<&'static str> {
    TEXT_COLUMNS
        .get(i)
        .copied()
        .ok_or_else(|| backend(format!("there is no text key k{i}")))
}

/// The SQL name of integer key `i`.
fn int_column(i: usize) -> StoreResult<&'static str> {
    INT_COLUMNS
        .get(i)
        .copied()
        .ok_or_else(|| backend(format!("there is no integer key n{i}")))
}

/// The SQL name of an ordering column.
fn order_column(c: Column) -> StoreResult<&'static str> {
    match c {
        Column::Id => Ok("id"),
        Column::CreatedAt => Ok("created_at"),
        Column::UpdatedAt => Ok("updated_at"),
        Column::Text(i) => text_column(i),
        Column::Int(i) => int_column(i),
    }
}

/// The smallest whole millisecond at or after `t` (an inclusive lower bound on stored times).
fn millis_ceil(t: OffsetDateTime) -> i64 {
    let n = t.unix_timestamp_nanos();
    i64::try_from(-((-n).div_euclid(1_000_000))).unwrap_or(if n < 0 { i64::MIN } else { i64::MAX })
}

/// The largest whole millisecond at or before `t` (an inclusive upper bound on stored times).
fn millis_floor(t: OffsetDateTime) -> i64 {
    let n = t.unix_timestamp_nanos();
    i64::try_from(n.div_euclid(1_000_000)).unwrap_or(if n < 0 { i64::MIN } else { i64::MAX })
}

/// A page bound: the contract treats negatives as 0 (and SQLite would read a negative LIMIT as
/// "no limit").
fn clamp(v: i64) -> i64 {
    v.max(0)
}

/// A bound parameter of a query built at run time.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Arg {
    Int(i64),
    Text(String),
}

/// A WHERE clause over `records r` built from conditions; values only as parameters. `$1` is
/// the account and `$2` the kind.
#[derive(Debug, Clone)]
struct Filter {
    sql: String,
    args: Vec<Arg>,
}

impl Filter {
    fn new(account: AccountId, kind: RecordKind) -> Self {
        Filter {
            sql: "r.account_id = $1 AND r.kind = $2".to_owned(),
            args: vec![Arg::Int(account.0), Arg::Text(kind.as_str().to_owned())],
        }
    }

    /// Adds a parameter and returns its placeholder.
    fn param(&mut self, arg: Arg) -> String {
        self.args.push(arg);
        format!("${}", self.args.len())
    }

    fn and(&mut self, clause: &str) {
        self.sql.push_str(" AND ");
        self.sql.push_str(clause);
    }

    fn with(mut self, conds: &[Cond]) -> StoreResult<Self> {
        for c in conds {
            match c {
                // Keys never hold NUL (the contract; PostgreSQL text cannot), so such a value
                // matches nothing, on both backends alike.
                Cond::TextEq(_, v) | Cond::AnyTextEq(_, v) if v.contains('\0') => {
                    self.and("0");
                }
                Cond::TextEq(i, v) => {
                    let col = text_column(*i)?;
                    let p = self.param(Arg::Text(v.clone()));
                    self.and(&format!("r.{col} = {p}"));
                }
                Cond::AnyTextEq(cols, v) => {
                    if cols.is_empty() {
                        self.and("0");
                        continue;
                    }
                    let p = self.param(Arg::Text(v.clone()));
                    // One indexed lookup per column, united: SQLite does not use the per-column
                    // indexes for `k0 = ? OR k1 = ? …` next to the account and kind terms, and
                    // scanned the whole kind instead (36 ms per `?email=` over 100,000 contacts).
                    let any = cols
                        .iter()
                        .map(|i| {
                            text_column(*i).map(|col| {
                                format!(
                                    "SELECT id FROM records WHERE account_id = $1 AND kind = $2 AND {col} = {p}"
                                )
                            })
                        })
                        .collect::<StoreResult<Vec<_>>>()?
                        .join(" UNION ");
                    self.and(&format!("r.id IN ({any})"));
                }
                Cond::IntEq(i, v) => {
                    let col = int_column(*i)?;
                    let p = self.param(Arg::Int(*v));
                    self.and(&format!("r.{col} = {p}"));
                }
                Cond::IntIsNull(i) => {
                    let col = int_column(*i)?;
                    self.and(&format!("r.{col} IS NULL"));
                }
                Cond::IdIn(ids) => {
                    // An empty array has no rows: matches nothing.
                    let p = self.param(Arg::Text(json_list(ids)));
                    self.and(&format!("r.id IN (SELECT value FROM json_each({p}))"));
                }
                Cond::UpdatedSince(t) => {
                    let p = self.param(Arg::Int(millis_ceil(*t)));
                    self.and(&format!("r.updated_at >= {p}"));
                }
                Cond::UpdatedUntil(t) => {
                    let p = self.param(Arg::Int(millis_floor(*t)));
                    self.and(&format!("r.updated_at <= {p}"));
                }
                Cond::LinkedTo(kind, b) => {
                    let pk = self.param(Arg::Text(kind.as_str().to_owned()));
                    let pb = self.param(Arg::Int(*b));
                    self.and(&format!(
                        "EXISTS (SELECT 1 FROM links l WHERE l.account_id = r.account_id \
                         AND l.kind = {pk} AND l.a = r.id AND l.b = {pb})"
                    ));
                }
            }
        }
        Ok(self)
    }
}

/// `sql` as a query with `args` bound in order.
fn bind_all<O>(
    sql: String,
    args: Vec<Arg>,
) -> sqlx::query::QueryAs<'static, Sqlite, O, SqliteArguments>
where
    O: for<'r> sqlx::FromRow<'r, SqliteRow>,
{
    // Safe: `sql` is assembled from fixed fragments and whitelisted column names only; every
    // value is a bound parameter.
    let mut q = sqlx::query_as(AssertSqlSafe(sql));
    for arg in args {
        q = match arg {
            Arg::Int(v) => q.bind(v),
            Arg::Text(v) => q.bind(v),
        };
    }
    q
}

/// The next id of (account, kind), read inside the writer job that will use it.
async fn next_id(
    conn: &mut SqliteConnection,
    account: AccountId,
    kind: RecordKind,
) -> StoreResult<i64> {
    sqlx::query_scalar(
        "SELECT coalesce((SELECT next_id FROM id_sequences WHERE account_id = $1 AND kind = $2), 1)",
    )
    .bind(account.0)
    .bind(kind.as_str())
    .fetch_one(conn)
    .await
    .map_err(map)
}

/// Inserts a record with `id` (read by [`next_id`] in this job) and moves the sequence past it,
/// in one round trip. On a unique clash the sequence is untouched (the statement before failed)
/// and the writer rolls the job back anyway.
async fn insert_row(
    conn: &mut SqliteConnection,
    account: AccountId,
    kind: RecordKind,
    id: i64,
    rec: &NewRecord,
    now: i64,
) -> StoreResult<()> {
    let data = serialize(&rec.data)?;
    let k = &rec.keys;
    sqlx::query(
        "INSERT INTO records (account_id, kind, id, data, k0, k1, k2, k3, k4, k5, n0, n1, n2, \
           unique_key, created_at, updated_at) \
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15); \
         INSERT INTO id_sequences (account_id, kind, next_id) VALUES ($1, $2, $3 + 1) \
           ON CONFLICT (account_id, kind) DO UPDATE SET next_id = excluded.next_id",
    )
    .bind(account.0)
    .bind(kind.as_str())
    .bind(id)
    .bind(data)
    .bind(k.text[0].as_deref())
    .bind(k.text[1].as_deref())
    .bind(k.text[2].as_deref())
    .bind(k.text[3].as_deref())
    .bind(k.text[4].as_deref())
    .bind(k.text[5].as_deref())
    .bind(k.int[0])
    .bind(k.int[1])
    .bind(k.int[2])
    .bind(k.unique.as_deref())
    .bind(now)
    .execute(conn)
    .await
    .map_err(map_write)?;
    Ok(())
}

/// Rewrites a record's document and keys and sets `updated_at`.
async fn update_row(
    conn: &mut SqliteConnection,
    account: AccountId,
    kind: RecordKind,
    id: i64,
    data: &Value,
    k: &Keys,
    now: i64,
) -> StoreResult<()> {
    let data = serialize(data)?;
    sqlx::query(
        "UPDATE records SET data = $4, k0 = $5, k1 = $6, k2 = $7, k3 = $8, k4 = $9, k5 = $10, \
         n0 = $11, n1 = $12, n2 = $13, unique_key = $14, updated_at = $15 \
         WHERE account_id = $1 AND kind = $2 AND id = $3",
    )
    .bind(account.0)
    .bind(kind.as_str())
    .bind(id)
    .bind(data)
    .bind(k.text[0].as_deref())
    .bind(k.text[1].as_deref())
    .bind(k.text[2].as_deref())
    .bind(k.text[3].as_deref())
    .bind(k.text[4].as_deref())
    .bind(k.text[5].as_deref())
    .bind(k.int[0])
    .bind(k.int[1])
    .bind(k.int[2])
    .bind(k.unique.as_deref())
    .bind(now)
    .execute(conn)
    .await
    .map_err(map_write)?;
    Ok(())
}

/// Runs `create` with `id` and inserts its record; `Ok(Err(message))` when it refused (nothing
/// was written).
async fn create_with(
    conn: &mut SqliteConnection,
    account: AccountId,
    kind: RecordKind,
    id: i64,
    create: Create,
    now: i64,
) -> StoreResult<Result<Record, String>> {
    let rec = match create(id) {
        Ok(rec) => rec,
        Err(msg) => return Ok(Err(msg)),
    };
    insert_row(conn, account, kind, id, &rec, now).await?;
    Ok(Ok(Record {
        id,
        data: rec.data,
        created_at: from_millis(now),
        updated_at: from_millis(now),
    }))
}

/// Runs `edit` on a record read in this job and writes the result; `Ok(Err(message))` when it
/// refused (nothing was written).
async fn edit_row(
    conn: &mut SqliteConnection,
    account: AccountId,
    kind: RecordKind,
    row: RecordRow,
    edit: Edit,
    now: i64,
) -> StoreResult<Result<Record, String>> {
    let mut data = parse(&row.data)?;
    let keys = match edit(row.id, &mut data) {
        Ok(keys) => keys,
        Err(msg) => return Ok(Err(msg)),
    };
    update_row(conn, account, kind, row.id, &data, &keys, now).await?;
    Ok(Ok(Record {
        id: row.id,
        data,
        created_at: from_millis(row.created_at),
        updated_at: from_millis(now),
    }))
}

/// The link kinds whose `a` side (`.0`) and whose `b` side (`.1`) are records of `kind`, as JSON
/// arrays of their stored names.
fn link_kinds_of(kind: RecordKind) -> (String, String) {
    let side = |pick: fn((RecordKind, RecordKind)) -> RecordKind| -> Vec<&'static str> {
        ALL_LINK_KINDS
            .iter()
            .filter(|l| pick(l.kinds()) == kind)
            .map(|l| l.as_str())
            .collect()
    };
    (json_list(&side(|k| k.0)), json_list(&side(|k| k.1)))
}

#[async_trait]
impl RecordStore for SqliteStore {
    async fn insert_record(
        &self,
        account: AccountId,
        kind: RecordKind,
        create: Create,
        now: OffsetDateTime,
    ) -> StoreResult<Edited> {
        let now = to_millis(now);
        self.write(move |conn| {
            Box::pin(async move {
                let id = next_id(conn, account, kind).await?;
                Ok(
                    match create_with(conn, account, kind, id, create, now).await? {
                        Ok(rec) => Edited::Updated(rec),
                        Err(msg) => Edited::Rejected(msg),
                    },
                )
            })
        })
        .await
    }

    async fn get_record(
        &self,
        account: AccountId,
        kind: RecordKind,
        id: i64,
    ) -> StoreResult<Record> {
        let row: Option<RecordRow> = sqlx::query_as(
            "SELECT r.id, r.data, r.created_at, r.updated_at FROM records r \
             WHERE r.account_id = $1 AND r.kind = $2 AND r.id = $3",
        )
        .bind(account.0)
        .bind(kind.as_str())
        .bind(id)
        .fetch_optional(self.read())
        .await
        .map_err(map)?;
        row.ok_or(StoreError::NotFound)?.into_record()
    }

    async fn get_records(
        &self,
        account: AccountId,
        kind: RecordKind,
        ids: &[i64],
    ) -> StoreResult<Vec<Record>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows: Vec<RecordRow> = sqlx::query_as(
            "SELECT r.id, r.data, r.created_at, r.updated_at FROM records r \
             WHERE r.account_id = $1 AND r.kind = $2 \
               AND r.id IN (SELECT value FROM json_each($3)) \
             ORDER BY r.id",
        )
        .bind(account.0)
        .bind(kind.as_str())
        .bind(json_list(ids))
        .fetch_all(self.read())
        .await
        .map_err(map)?;
        rows.into_iter().map(RecordRow::into_record).collect()
    }

    async fn update_record(
        &self,
        account: AccountId,
        kind: RecordKind,
        id: i64,
        edit: Edit,
        now: OffsetDateTime,
    ) -> StoreResult<Edited> {
        let now = to_millis(now);
        self.write(move |conn| {
            Box::pin(async move {
                let row: Option<RecordRow> = sqlx::query_as(
                    "SELECT r.id, r.data, r.created_at, r.updated_at FROM records r \
                     WHERE r.account_id = $1 AND r.kind = $2 AND r.id = $3",
                )
                .bind(account.0)
                .bind(kind.as_str())
                .bind(id)
                .fetch_optional(&mut *conn)
                .await
                .map_err(map)?;
                let row = row.ok_or(StoreError::NotFound)?;
                Ok(match edit_row(conn, account, kind, row, edit, now).await? {
                    Ok(rec) => Edited::Updated(rec),
                    Err(msg) => Edited::Rejected(msg),
                })
            })
        })
        .await
    }

    async fn upsert_record(
        &self,
        account: AccountId,
        kind: RecordKind,
        _lock_key: &str,
        matching: Vec<Cond>,
        create: Create,
        edit: Edit,
        now: OffsetDateTime,
    ) -> StoreResult<Upserted> {
        // No lock is needed: the single writer runs one job at a time, so the search and the
        // edit-or-create below cannot interleave with another upsert of any key.
        let filter = Filter::new(account, kind).with(&matching)?;
        // One round trip reads both what an edit needs (the oldest match) and what a create
        // needs (the next id); `$1` and `$2` are the filter's account and kind.
        let sql = format!(
            "SELECT s.next_id, m.id, m.data, m.created_at, m.updated_at \
             FROM (SELECT coalesce((SELECT next_id FROM id_sequences \
                     WHERE account_id = $1 AND kind = $2), 1) AS next_id) s \
             LEFT JOIN (SELECT {RECORD_COLUMNS} FROM records r WHERE {w} \
                        ORDER BY r.id LIMIT 1) m ON 1",
            w = filter.sql
        );
        let args = filter.args;
        let now = to_millis(now);
        self.write(move |conn| {
            Box::pin(async move {
                let found: UpsertRow = bind_all(sql, args)
                    .fetch_one(&mut *conn)
                    .await
                    .map_err(map)?;
                if let (Some(id), Some(data), Some(created_at), Some(updated_at)) =
                    (found.id, found.data, found.created_at, found.updated_at)
                {
                    let row = RecordRow {
                        id,
                        data,
                        created_at,
                        updated_at,
                    };
                    return Ok(match edit_row(conn, account, kind, row, edit, now).await? {
                        Ok(rec) => Upserted::Updated(rec),
                        Err(msg) => Upserted::Rejected(msg),
                    });
                }
                Ok(
                    match create_with(conn, account, kind, found.next_id, create, now).await? {
                        Ok(rec) => Upserted::Created(rec),
                        Err(msg) => Upserted::Rejected(msg),
                    },
                )
            })
        })
        .await
    }

    async fn delete_record(
        &self,
        account: AccountId,
        kind: RecordKind,
        id: i64,
    ) -> StoreResult<()> {
        let (as_a, as_b) = link_kinds_of(kind);
        self.write(move |conn| {
            Box::pin(async move {
                // One round trip: the record (its id comes back if it existed), then its links
                // on both sides. If it did not exist, the job fails with NotFound and the writer
                // rolls it back (there were no links to delete anyway).
                let deleted: Vec<i64> = sqlx::query_scalar(
                    "DELETE FROM records WHERE account_id = $1 AND kind = $2 AND id = $3 \
                       RETURNING id; \
                     DELETE FROM links WHERE account_id = $1 \
                       AND kind IN (SELECT value FROM json_each($4)) AND a = $3; \
                     DELETE FROM links WHERE account_id = $1 \
                       AND kind IN (SELECT value FROM json_each($5)) AND b = $3",
                )
                .bind(account.0)
                .bind(kind.as_str())
                .bind(id)
                .bind(as_a)
                .bind(as_b)
                // fetch_all: the statements after the one returning a row must run too.
                .fetch_all(&mut *conn)
                .await
                .map_err(map)?;
                if deleted.is_empty() {
                    return Err(StoreError::NotFound);
                }
                Ok(())
            })
        })
        .await
    }

    async fn list_records(
        &self,
        account: AccountId,
        kind: RecordKind,
        query: &Query,
    ) -> StoreResult<(Vec<Record>, i64)> {
        let filter = Filter::new(account, kind).with(&query.conds)?;
        let col = order_column(query.order)?;
        // SQLite orders NULL first ascending and last descending: the contract, no NULLS clause
        // needed (and none that could keep the key indexes from serving the ORDER BY).
        let dir = if query.descending { "DESC" } else { "ASC" };
        let mut args = filter.args;
        args.push(Arg::Int(clamp(query.limit)));
        let limit = args.len();
        args.push(Arg::Int(clamp(query.offset)));
        let offset = args.len();
        // Ties are broken by id. Ordering by id itself names it once: `ORDER BY r.id, r.id`
        // keeps SQLite's planner from serving the order with a key index (which ends in id).
        let (inner, outer) = if col == "id" {
            (format!("r.id {dir}"), format!("p.id {dir}"))
        } else {
            (
                format!("r.{col} {dir}, r.id {dir}"),
                format!("p.sort_key {dir}, p.id {dir}"),
            )
        };
        // One statement, so the page and the total come from one snapshot; the count row is
        // there even when the page is empty. The outer ORDER BY (over at most `limit` rows)
        // makes the page's order a guarantee rather than a property of the subquery's plan.
        let sql = format!(
            "SELECT t.total, p.id, p.data, p.created_at, p.updated_at \
             FROM (SELECT count(*) AS total FROM records r WHERE {w}) t \
             LEFT JOIN (SELECT {RECORD_COLUMNS}, r.{col} AS sort_key FROM records r WHERE {w} \
               ORDER BY {inner} LIMIT ${limit} OFFSET ${offset}) p ON 1 \
             ORDER BY {outer}",
            w = filter.sql
        );
        let rows: Vec<PageRow> = bind_all(sql, args)
            .fetch_all(self.read())
            .await
            .map_err(map)?;
        let total = rows.first().map_or(0, |r| r.total);
        let mut page = Vec::with_capacity(rows.len());
        for r in rows {
            if let (Some(id), Some(data), Some(created_at), Some(updated_at)) =
                (r.id, r.data, r.created_at, r.updated_at)
            {
                page.push(
                    RecordRow {
                        id,
                        data,
                        created_at,
                        updated_at,
                    }
                    .into_record()?,
                );
            }
        }
        Ok((page, total))
    }

    async fn link(
        &self,
        account: AccountId,
        kind: LinkKind,
        pairs: &[(i64, i64)],
        now: OffsetDateTime,
    ) -> StoreResult<Vec<LinkOutcome>> {
        if pairs.is_empty() {
            return Ok(Vec::new());
        }
        let now = to_millis(now);
        let (a_kind, b_kind) = kind.kinds();
        let pairs = pairs.to_vec();
        let mut a_ids: Vec<i64> = pairs.iter().map(|p| p.0).collect();
        let mut b_ids: Vec<i64> = pairs.iter().map(|p| p.1).collect();
        a_ids.sort_unstable();
        a_ids.dedup();
        b_ids.sort_unstable();
        b_ids.dedup();
        let (a_ids, b_ids) = (json_list(&a_ids), json_list(&b_ids));
        self.write(move |conn| {
            Box::pin(async move {
                // Which of the records exist, read in the job that links them: no delete can
                // come in between.
                let found: Vec<(i64, i64)> = sqlx::query_as(
                    "SELECT 0, id FROM records WHERE account_id = $1 AND kind = $2 \
                       AND id IN (SELECT value FROM json_each($3)) \
                     UNION ALL \
                     SELECT 1, id FROM records WHERE account_id = $1 AND kind = $4 \
                       AND id IN (SELECT value FROM json_each($5))",
                )
                .bind(account.0)
                .bind(a_kind.as_str())
                .bind(a_ids)
                .bind(b_kind.as_str())
                .bind(b_ids)
                .fetch_all(&mut *conn)
                .await
                .map_err(map)?;
                let mut a_found = HashSet::new();
                let mut b_found = HashSet::new();
                for (side, id) in found {
                    if side == 0 {
                        a_found.insert(id);
                    } else {
                        b_found.insert(id);
                    }
                }
                let mut valid: Vec<(i64, i64)> = pairs
                    .iter()
                    .copied()
                    .filter(|(a, b)| a_found.contains(a) && b_found.contains(b))
                    .collect();
                valid.sort_unstable();
                valid.dedup();
                let inserted: Vec<(i64, i64)> = if valid.is_empty() {
                    Vec::new()
                } else {
                    // `WHERE 1` keeps SQLite from reading ON CONFLICT as a join constraint of
                    // the SELECT. RETURNING lists only the rows actually inserted.
                    sqlx::query_as(
                        "INSERT INTO links (account_id, kind, a, b, created_at) \
                         SELECT $1, $2, json_extract(value, '$[0]'), json_extract(value, '$[1]'), $4 \
                         FROM json_each($3) WHERE 1 \
                         ON CONFLICT (account_id, kind, a, b) DO NOTHING RETURNING a, b",
                    )
                    .bind(account.0)
                    .bind(kind.as_str())
                    .bind(json_pairs(&valid))
                    .bind(now)
                    .fetch_all(&mut *conn)
                    .await
                    .map_err(map)?
                };
                let mut fresh: HashSet<(i64, i64)> = inserted.into_iter().collect();
                Ok(pairs
                    .iter()
                    .map(|p| {
                        if !a_found.contains(&p.0) {
                            LinkOutcome::MissingA
                        } else if !b_found.contains(&p.1) {
                            LinkOutcome::MissingB
                        } else if fresh.remove(p) {
                            LinkOutcome::Linked
                        } else {
                            LinkOutcome::AlreadyLinked
                        }
                    })
                    .collect())
            })
        })
        .await
    }

    async fn unlink(
        &self,
        account: AccountId,
        kind: LinkKind,
        pairs: &[(i64, i64)],
    ) -> StoreResult<u64> {
        if pairs.is_empty() {
            return Ok(0);
        }
        let pairs = json_pairs(pairs);
        self.write(move |conn| {
            Box::pin(async move {
                let done = sqlx::query(
                    "DELETE FROM links WHERE account_id = $1 AND kind = $2 AND (a, b) IN \
                     (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') \
                      FROM json_each($3))",
                )
                .bind(account.0)
                .bind(kind.as_str())
                .bind(pairs)
                .execute(&mut *conn)
                .await
                .map_err(map)?;
                Ok(done.rows_affected())
            })
        })
        .await
    }

    async fn list_links(
        &self,
        account: AccountId,
        kind: LinkKind,
        side: Side,
        limit: i64,
        offset: i64,
    ) -> StoreResult<(Vec<Link>, i64)> {
        // Two fixed statements: which side is given decides the column filtered and ordered on.
        let (sql, id) = match side {
            Side::A(id) => (
                "SELECT t.total, p.a, p.b, p.created_at \
                 FROM (SELECT count(*) AS total FROM links \
                       WHERE account_id = $1 AND kind = $2 AND a = $3) t \
                 LEFT JOIN (SELECT a, b, created_at FROM links \
                   WHERE account_id = $1 AND kind = $2 AND a = $3 ORDER BY b LIMIT $4 OFFSET $5) p \
                 ON 1",
                id,
            ),
            Side::B(id) => (
                "SELECT t.total, p.a, p.b, p.created_at \
                 FROM (SELECT count(*) AS total FROM links \
                       WHERE account_id = $1 AND kind = $2 AND b = $3) t \
                 LEFT JOIN (SELECT a, b, created_at FROM links \
                   WHERE account_id = $1 AND kind = $2 AND b = $3 ORDER BY a LIMIT $4 OFFSET $5) p \
                 ON 1",
                id,
            ),
        };
        let rows: Vec<LinkPageRow> = sqlx::query_as(sql)
            .bind(account.0)
            .bind(kind.as_str())
            .bind(id)
            .bind(clamp(limit))
            .bind(clamp(offset))
            .fetch_all(self.read())
            .await
            .map_err(map)?;
        let total = rows.first().map_or(0, |r| r.total);
        let links = rows
            .into_iter()
            .filter_map(|r| {
                Some(Link {
                    a: r.a?,
                    b: r.b?,
                    created_at: from_millis(r.created_at?),
                })
            })
            .collect();
        Ok((links, total))
    }

    async fn links_of(
        &self,
        account: AccountId,
        kind: LinkKind,
        a_ids: &[i64],
    ) -> StoreResult<Vec<Link>> {
        if a_ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows: Vec<LinkRow> = sqlx::query_as(
            "SELECT a, b, created_at FROM links WHERE account_id = $1 AND kind = $2 \
               AND a IN (SELECT value FROM json_each($3)) \
             ORDER BY a, b",
        )
        .bind(account.0)
        .bind(kind.as_str())
        .bind(json_list(a_ids))
        .fetch_all(self.read())
        .await
        .map_err(map)?;
        Ok(rows.into_iter().map(Link::from).collect())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::SqliteOptions;
    use keapsake_core::store::{AdminStore, NewAccount};
    use serde_json::json;

    #[test]
    fn inclusive_bounds_round_inwards() {
        let t = from_millis(1_000) + time::Duration::microseconds(500);
        assert_eq!(millis_ceil(t), 1_001);
        assert_eq!(millis_floor(t), 1_000);
        let exact = from_millis(1_000);
        assert_eq!((millis_ceil(exact), millis_floor(exact)), (1_000, 1_000));
        let before = from_millis(-1_000) - time::Duration::microseconds(500);
        assert_eq!(
            (millis_ceil(before), millis_floor(before)),
            (-1_000, -1_001)
        );
    }

    #[test]
    fn filters_bind_values_and_whitelist_columns() {
        let f = Filter::new(AccountId(7), RecordKind::Contact)
            .with(&[
                Cond::TextEq(2, "x'; DROP TABLE records; --".into()),
                Cond::AnyTextEq(vec![0, 5], "y".into()),
                Cond::AnyTextEq(vec![], "z".into()),
                Cond::TextEq(0, "nul\0".into()),
                Cond::IdIn(vec![3, 1]),
            ])
            .unwrap();
        assert_eq!(
            f.sql,
            "r.account_id = $1 AND r.kind = $2 AND r.k2 = $3 AND r.id IN (SELECT id FROM records \
             WHERE account_id = $1 AND kind = $2 AND k0 = $4 UNION SELECT id FROM records \
             WHERE account_id = $1 AND kind = $2 AND k5 = $4) AND 0 AND 0 AND r.id IN \
             (SELECT value FROM json_each($5))"
        );
        assert_eq!(
            f.args,
            vec![
                Arg::Int(7),
                Arg::Text("contact".into()),
                Arg::Text("x'; DROP TABLE records; --".into()),
                Arg::Text("y".into()),
                Arg::Text("[3,1]".into()),
            ]
        );
        assert!(
            Filter::new(AccountId(7), RecordKind::Contact)
                .with(&[Cond::TextEq(TEXT_KEYS, "x".into())])
                .is_err()
        );
        assert!(
            Filter::new(AccountId(7), RecordKind::Contact)
                .with(&[Cond::IntIsNull(INT_KEYS)])
                .is_err()
        );
        assert!(order_column(Column::Text(TEXT_KEYS)).is_err());
        assert!(order_column(Column::Int(INT_KEYS)).is_err());
    }

    #[test]
    fn link_kinds_of_names_each_side() {
        assert_eq!(
            link_kinds_of(RecordKind::Contact),
            (r#"["contact_tag"]"#.to_owned(), "[]".to_owned())
        );
        assert_eq!(
            link_kinds_of(RecordKind::Tag),
            (
                "[]".to_owned(),
                r#"["contact_tag","company_tag"]"#.to_owned()
            )
        );
        assert_eq!(
            link_kinds_of(RecordKind::Note),
            ("[]".to_owned(), "[]".to_owned())
        );
    }

    /// A store on a temp file and one account in it.
    async fn store_with_account() -> (SqliteStore, AccountId, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("k.db"), SqliteOptions::default())
            .await
            .unwrap();
        let account = store
            .create_account(
                NewAccount {
                    alias: "records".into(),
                    name: "Records".into(),
                },
                OffsetDateTime::now_utc(),
            )
            .await
            .unwrap()
            .id;
        (store, account, dir)
    }

    fn with_k0(v: Option<&str>) -> Create {
        let mut keys = Keys::default();
        keys.text[0] = v.map(str::to_owned);
        Box::new(move |_| {
            Ok(NewRecord {
                data: json!({}),
                keys,
            })
        })
    }

    async fn insert(
        store: &SqliteStore,
        account: AccountId,
        create: Create,
    ) -> StoreResult<Edited> {
        store
            .insert_record(
                account,
                RecordKind::Contact,
                create,
                OffsetDateTime::now_utc(),
            )
            .await
    }

    /// Inserts a record that must be stored; its id.
    async fn insert_ok(store: &SqliteStore, account: AccountId, create: Create) -> i64 {
        match insert(store, account, create).await {
            Ok(Edited::Updated(r)) => r.id,
            other => panic!("insert must store, got {other:?}"),
        }
    }

    async fn ids(store: &SqliteStore, account: AccountId, query: Query) -> (Vec<i64>, i64) {
        let (page, total) = store
            .list_records(account, RecordKind::Contact, &query)
            .await
            .unwrap();
        (page.into_iter().map(|r| r.id).collect(), total)
    }

    #[tokio::test]
    async fn null_keys_order_first_ascending_and_last_descending() {
        let (store, a, _dir) = store_with_account().await;
        for v in [Some("b"), None, Some("a"), None] {
            insert_ok(&store, a, with_k0(v)).await;
        }
        let by_k0 = |descending| Query {
            order: Column::Text(0),
            descending,
            ..Query::default()
        };
        assert_eq!(ids(&store, a, by_k0(false)).await, (vec![2, 4, 3, 1], 4));
        assert_eq!(ids(&store, a, by_k0(true)).await, (vec![1, 3, 4, 2], 4));
        store.close().await;
    }

    #[tokio::test]
    async fn negative_limit_and_offset_count_as_zero() {
        let (store, a, _dir) = store_with_account().await;
        for _ in 0..3 {
            insert_ok(&store, a, with_k0(None)).await;
        }
        let page = |limit, offset| Query {
            limit,
            offset,
            ..Query::default()
        };
        assert_eq!(ids(&store, a, page(-1, 0)).await, (vec![], 3));
        assert_eq!(ids(&store, a, page(2, -5)).await, (vec![1, 2], 3));
        let links = store
            .list_links(a, LinkKind::ContactTag, Side::A(1), -1, -1)
            .await
            .unwrap();
        assert_eq!(links, (vec![], 0));
        store.close().await;
    }

    /// Occupies the writer until the returned sender fires, so that jobs sent meanwhile queue
    /// up and are drained into one batch.
    async fn hold_writer(store: &SqliteStore) -> tokio::sync::oneshot::Sender<()> {
        let (release, wait) = tokio::sync::oneshot::channel::<()>();
        let (started_tx, started) = tokio::sync::oneshot::channel::<()>();
        let s = store.clone();
        tokio::spawn(async move {
            s.write(move |_conn| {
                Box::pin(async move {
                    let _ = started_tx.send(());
                    let _ = wait.await;
                    Ok(())
                })
            })
            .await
        });
        started.await.unwrap();
        release
    }

    /// Waits until `n` jobs are queued for the writer.
    async fn wait_queued(store: &SqliteStore, n: usize) {
        while crate::writer::QUEUE_DEPTH - store.inner.jobs.capacity() < n {
            tokio::task::yield_now().await;
        }
    }

    /// Refusals and unique clashes queued in one batch of the writer together with successful
    /// inserts roll back only themselves, and the ids stay gapless.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn refused_and_clashing_inserts_in_one_batch_consume_no_id() {
        let (store, a, _dir) = store_with_account().await;
        let release = hold_writer(&store).await;
        let calls: Vec<_> = (0..60_usize)
            .map(|i| {
                let s = store.clone();
                tokio::spawn(async move {
                    let create: Create = match i % 3 {
                        0 => with_k0(Some("ok")),
                        1 => Box::new(|_| Err("no".to_owned())),
                        _ => Box::new(|_| {
                            Ok(NewRecord {
                                data: json!({}),
                                keys: Keys {
                                    unique: Some("same".into()),
                                    ..Keys::default()
                                },
                            })
                        }),
                    };
                    insert(&s, a, create).await
                })
            })
            .collect();
        wait_queued(&store, 60).await;
        release.send(()).unwrap();
        let (mut stored, mut refused, mut clashed) = (Vec::new(), 0, 0);
        for c in calls {
            match c.await.unwrap() {
                Ok(Edited::Updated(r)) => stored.push(r.id),
                Ok(Edited::Rejected(m)) if m == "no" => refused += 1,
                Err(StoreError::Conflict { what }) if what == "unique" => clashed += 1,
                other => panic!("unexpected {other:?}"),
            }
        }
        stored.sort_unstable();
        assert_eq!(refused, 20);
        assert_eq!(clashed, 19, "one of the 20 same-key inserts wins");
        assert_eq!(stored, (1..=21).collect::<Vec<i64>>(), "no gaps");
        assert_eq!(insert_ok(&store, a, with_k0(None)).await, 22);
        store.close().await;
    }

    /// Upserts of one key queued in one batch: each job sees what the one before it created.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn upserts_in_one_batch_see_each_other() {
        let (store, a, _dir) = store_with_account().await;
        let release = hold_writer(&store).await;
        let calls: Vec<_> = (0..30)
            .map(|_| {
                let s = store.clone();
                tokio::spawn(async move {
                    let edit: Edit = Box::new(|_, doc| {
                        doc["n"] = json!(doc["n"].as_i64().unwrap_or(-100) + 1);
                        let mut keys = Keys::default();
                        keys.text[0] = Some("k".into());
                        Ok(keys)
                    });
                    let create: Create = Box::new(|_| {
                        let mut keys = Keys::default();
                        keys.text[0] = Some("k".into());
                        Ok(NewRecord {
                            data: json!({ "n": 0 }),
                            keys,
                        })
                    });
                    s.upsert_record(
                        a,
                        RecordKind::Contact,
                        "k",
                        vec![Cond::TextEq(0, "k".into())],
                        create,
                        edit,
                        OffsetDateTime::now_utc(),
                    )
                    .await
                })
            })
            .collect();
        wait_queued(&store, 30).await;
        release.send(()).unwrap();
        let mut created = 0;
        for c in calls {
            match c.await.unwrap() {
                Ok(Upserted::Created(_)) => created += 1,
                Ok(Upserted::Updated(_)) => {}
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(created, 1);
        let (page, total) = store
            .list_records(a, RecordKind::Contact, &Query::default())
            .await
            .unwrap();
        assert_eq!(total, 1);
        assert_eq!(page[0].data, json!({ "n": 29 }));
        store.close().await;
    }

    #[tokio::test]
    async fn insert_into_a_missing_account_is_not_found() {
        let (store, _a, _dir) = store_with_account().await;
        let r = insert(&store, AccountId(999), with_k0(None)).await;
        assert!(matches!(r, Err(StoreError::NotFound)), "{r:?}");
        store.close().await;
    }
}
