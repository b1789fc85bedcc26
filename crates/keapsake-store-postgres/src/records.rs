//! [`RecordStore`] on PostgreSQL: tenant documents, per-account ids and links
//! (`migrations/0002_records.sql`, docs/schema.md "Tenant data").
//!
//! Transactions run at READ COMMITTED; correctness comes from locks:
//! - ids: one `INSERT INTO id_sequences … ON CONFLICT DO UPDATE … RETURNING` in the transaction
//!   that inserts the record. The sequence row stays locked until commit, so concurrent inserts
//!   of one (account, kind) take turns, and a rolled-back insert consumes no id;
//! - `update_record`: `SELECT … FOR UPDATE`, the edit, `UPDATE`, so concurrent edits of one
//!   record queue and each sees the previous one's commit;
//! - `upsert_record`: `pg_advisory_xact_lock` on a hash of (account, kind, lock key) first, so
//!   upserts of one key are serialised; then the oldest match (lowest id) is locked and edited,
//!   or a record is created, in the same transaction;
//! - `link` locks both records (`FOR KEY SHARE`) before inserting, and `delete_record` deletes
//!   the record and then its links, so no link outlives its records.
//!
//! The caller's closures ([`Edit`], [`Create`]) run between the read and the write, synchronously
//! (they are never held across an `.await`). They are `FnOnce`: if the transaction must be
//! retried after one ran (a deadlock; READ COMMITTED with row locks raises no serialization
//! failures here), the retry reuses its result when the record reads back exactly as the closure
//! saw it, and otherwise answers `Busy` rather than running a stale result.
//!
//! Queries built at run time ([`Query`] conditions and order) bind every value as a parameter;
//! column names come only from the fixed tables [`TEXT_COLUMNS`] and [`INT_COLUMNS`].

use crate::PgStore;
use crate::error::{Fail, backend, retry};
use async_trait::async_trait;
use keapsake_core::AccountId;
use keapsake_core::clock::{from_millis, to_millis};
use keapsake_core::records::{
    Column, Cond, Create, Edit, Edited, INT_KEYS, Keys, Link, LinkKind, LinkOutcome, NewRecord,
    Query, Record, RecordKind, RecordStore, Side, TEXT_KEYS, Upserted,
};
use keapsake_core::store::{StoreError, StoreResult};
use serde_json::Value;
use sqlx::postgres::PgArguments;
use sqlx::{AssertSqlSafe, PgConnection, Postgres};
use std::collections::HashSet;
use std::sync::{Mutex, PoisonError};
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

/// First key of the two-key advisory locks taken by `upsert_record` ("KREC"). The two-key form
/// lives apart from the one-key locks (sqlx's migration lock), so they never collide.
const UPSERT_LOCK_CLASS: i32 = 0x4b52_4543;

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
    fn into_record(self) -> Result<Record, Fail> {
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

/// A stored document.
fn parse(data: &str) -> Result<Value, Fail> {
    serde_json::from_str(data)
        .map_err(|e| Fail::Store(backend(format!("a stored record is not JSON: {e}"))))
}

/// A document to store.
fn serialize(data: &Value) -> Result<String, Fail> {
    serde_json::to_string(data)
        .map_err(|e| Fail::Store(backend(format!("a record cannot be serialised: {e}"))))
}

/// The SQL name of text key `i`.
fn text_column(i: usize) -> Result<&'static str, Fail> {
    TEXT_COLUMNS
        .get(i)
        .copied()
        .ok_or_else(|| Fail::Store(backend(format!("there is no text key k{i}"))))
}

/// The SQL name of integer key `i`.
fn int_column(i: usize) -> Result<&'static str, Fail> {
    INT_COLUMNS
        .get(i)
        .copied()
        .ok_or_else(|| Fail::Store(backend(format!("there is no integer key n{i}"))))
}

/// The SQL name of an ordering column.
fn order_column(c: Column) -> Result<&'static str, Fail> {
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

/// A bound parameter of a query built at run time.
#[derive(Debug, Clone)]
enum Arg {
    Int(i64),
    Text(String),
    Ints(Vec<i64>),
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

    fn with(mut self, conds: &[Cond]) -> Result<Self, Fail> {
        for c in conds {
            match c {
                // PostgreSQL text cannot hold NUL, so no stored key equals such a value (and
                // binding it would be an error rather than "no match").
                Cond::TextEq(_, v) | Cond::AnyTextEq(_, v) if v.contains('\0') => {
                    self.and("FALSE");
                }
                Cond::TextEq(i, v) => {
                    let col = text_column(*i)?;
                    let p = self.param(Arg::Text(v.clone()));
                    self.and(&format!("r.{col} = {p}"));
                }
                Cond::AnyTextEq(cols, v) => {
                    if cols.is_empty() {
                        self.and("FALSE");
                        continue;
                    }
                    let p = self.param(Arg::Text(v.clone()));
                    let any = cols
                        .iter()
                        .map(|i| text_column(*i).map(|col| format!("r.{col} = {p}")))
                        .collect::<Result<Vec<_>, _>>()?
                        .join(" OR ");
                    self.and(&format!("({any})"));
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
                    let p = self.param(Arg::Ints(ids.clone()));
                    self.and(&format!("r.id = ANY({p})"));
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
) -> sqlx::query::QueryAs<'static, Postgres, O, PgArguments>
where
    O: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>,
{
    // Safe: `sql` is assembled from fixed fragments and whitelisted column names only; every
    // value is a bound parameter.
    let mut q = sqlx::query_as(AssertSqlSafe(sql));
    for arg in args {
        q = match arg {
            Arg::Int(v) => q.bind(v),
            Arg::Text(v) => q.bind(v),
            Arg::Ints(v) => q.bind(v),
        };
    }
    q
}

/// Takes the next id of (account, kind), locking the sequence row until the transaction ends.
async fn next_id(
    conn: &mut PgConnection,
    account: AccountId,
    kind: RecordKind,
) -> Result<i64, Fail> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO id_sequences (account_id, kind, next_id) VALUES ($1, $2, 2) \
         ON CONFLICT (account_id, kind) DO UPDATE SET next_id = id_sequences.next_id + 1 \
         RETURNING next_id - 1",
    )
    .bind(account.0)
    .bind(kind.as_str())
    .fetch_one(conn)
    .await?;
    Ok(id)
}

/// Inserts a record row.
async fn insert_row(
    conn: &mut PgConnection,
    account: AccountId,
    kind: RecordKind,
    id: i64,
    rec: &NewRecord,
    now: i64,
) -> Result<(), Fail> {
    let data = serialize(&rec.data)?;
    let k = &rec.keys;
    sqlx::query(
        "INSERT INTO records (account_id, kind, id, data, k0, k1, k2, k3, k4, k5, n0, n1, n2, \
         unique_key, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15)",
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
    .await?;
    Ok(())
}

/// Rewrites a (locked) record's document and keys and sets `updated_at`.
async fn update_row(
    conn: &mut PgConnection,
    account: AccountId,
    kind: RecordKind,
    id: i64,
    data: &Value,
    k: &Keys,
    now: i64,
) -> Result<(), Fail> {
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
    .await?;
    Ok(())
}

/// Answer when a retry would need a closure that already ran on a record that has changed since.
fn stale_retry() -> Fail {
    Fail::Store(StoreError::Busy(
        "the transaction was rolled back after the edit ran, and the record changed since".into(),
    ))
}

/// What an edit produced: the new document and keys, or the refusal.
type EditOutcome = Result<(Value, Keys), String>;

/// An [`Edit`] that runs at most once across the retries of one operation; a retry that reads
/// the record exactly as the edit saw it reuses its result.
struct EditOnce {
    edit: Option<Edit>,
    memo: Option<(i64, Value, EditOutcome)>,
}

impl EditOnce {
    fn new(edit: Edit) -> Mutex<Self> {
        Mutex::new(EditOnce {
            edit: Some(edit),
            memo: None,
        })
    }

    /// The edited document and keys, or the refusal.
    fn run(cell: &Mutex<Self>, id: i64, doc: Value) -> Result<EditOutcome, Fail> {
        let mut this = cell.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(edit) = this.edit.take() {
            let seen = doc.clone();
            let mut doc = doc;
            let out = edit(id, &mut doc).map(|keys| (doc, keys));
            this.memo = Some((id, seen, out.clone()));
            return Ok(out);
        }
        match &this.memo {
            Some((i, seen, out)) if *i == id && *seen == doc => Ok(out.clone()),
            _ => Err(stale_retry()),
        }
    }
}

/// A [`Create`] that runs at most once across the retries of one operation; a retry that gets
/// the same id reuses its result.
struct CreateOnce {
    create: Option<Create>,
    memo: Option<(i64, Result<NewRecord, String>)>,
}

impl CreateOnce {
    fn new(create: Create) -> Mutex<Self> {
        Mutex::new(CreateOnce {
            create: Some(create),
            memo: None,
        })
    }

    /// The record to insert with `id`, or the refusal.
    fn run(cell: &Mutex<Self>, id: i64) -> Result<Result<NewRecord, String>, Fail> {
        let mut this = cell.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(create) = this.create.take() {
            let out = create(id);
            this.memo = Some((id, out.clone()));
            return Ok(out);
        }
        match &this.memo {
            Some((i, out)) if *i == id => Ok(out.clone()),
            _ => Err(stale_retry()),
        }
    }
}

/// 32-bit FNV-1a of (account, kind, lock key): the second key of an upsert's advisory lock. A
/// collision only makes two unrelated upserts take turns.
fn upsert_lock_key(account: AccountId, kind: RecordKind, lock_key: &str) -> i32 {
    let mut h: u32 = 0x811c_9dc5;
    let parts: [&[u8]; 5] = [
        &account.0.to_le_bytes(),
        kind.as_str().as_bytes(),
        &[0xff],
        lock_key.as_bytes(),
        &[0xfe],
    ];
    for b in parts.into_iter().flatten() {
        h ^= u32::from(*b);
        h = h.wrapping_mul(0x0100_0193);
    }
    i32::from_ne_bytes(h.to_ne_bytes())
}

/// Inserts a record with the next id inside `conn`'s transaction; `Err(Ok(message))` when the
/// create refused (the caller rolls back).
async fn create_in(
    conn: &mut PgConnection,
    account: AccountId,
    kind: RecordKind,
    create: &Mutex<CreateOnce>,
    now: i64,
) -> Result<Result<Record, String>, Fail> {
    let id = next_id(conn, account, kind).await?;
    let rec = match CreateOnce::run(create, id)? {
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

/// Edits a record locked by the caller inside `conn`'s transaction.
async fn edit_in(
    conn: &mut PgConnection,
    account: AccountId,
    kind: RecordKind,
    row: RecordRow,
    edit: &Mutex<EditOnce>,
    now: i64,
) -> Result<Result<Record, String>, Fail> {
    let doc = parse(&row.data)?;
    let (data, keys) = match EditOnce::run(edit, row.id, doc)? {
        Ok(v) => v,
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

/// Clamps a page bound: PostgreSQL refuses negative LIMIT and OFFSET.
fn clamp(v: i64) -> i64 {
    v.max(0)
}

#[async_trait]
impl RecordStore for PgStore {
    async fn insert_record(
        &self,
        account: AccountId,
        kind: RecordKind,
        create: Create,
        now: OffsetDateTime,
    ) -> StoreResult<Edited> {
        let pool = &self.pool;
        let now = to_millis(now);
        let create = &CreateOnce::new(create);
        retry("insert_record", move || async move {
            let mut tx = pool.begin().await?;
            match create_in(&mut tx, account, kind, create, now).await? {
                Ok(rec) => {
                    tx.commit().await?;
                    Ok(Edited::Updated(rec))
                }
                Err(msg) => {
                    tx.rollback().await?;
                    Ok(Edited::Rejected(msg))
                }
            }
        })
        .await
    }

    async fn get_record(
        &self,
        account: AccountId,
        kind: RecordKind,
        id: i64,
    ) -> StoreResult<Record> {
        let pool = &self.pool;
        retry("get_record", move || async move {
            let row: Option<RecordRow> = sqlx::query_as(
                "SELECT r.id, r.data, r.created_at, r.updated_at FROM records r \
                 WHERE r.account_id = $1 AND r.kind = $2 AND r.id = $3",
            )
            .bind(account.0)
            .bind(kind.as_str())
            .bind(id)
            .fetch_optional(pool)
            .await?;
            row.ok_or(Fail::Store(StoreError::NotFound))?.into_record()
        })
        .await
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
        let pool = &self.pool;
        retry("get_records", move || async move {
            let rows: Vec<RecordRow> = sqlx::query_as(
                "SELECT r.id, r.data, r.created_at, r.updated_at FROM records r \
                 WHERE r.account_id = $1 AND r.kind = $2 AND r.id = ANY($3) ORDER BY r.id",
            )
            .bind(account.0)
            .bind(kind.as_str())
            .bind(ids)
            .fetch_all(pool)
            .await?;
            rows.into_iter().map(RecordRow::into_record).collect()
        })
        .await
    }

    async fn update_record(
        &self,
        account: AccountId,
        kind: RecordKind,
        id: i64,
        edit: Edit,
        now: OffsetDateTime,
    ) -> StoreResult<Edited> {
        let pool = &self.pool;
        let now = to_millis(now);
        let edit = &EditOnce::new(edit);
        retry("update_record", move || async move {
            let mut tx = pool.begin().await?;
            let row: Option<RecordRow> = sqlx::query_as(
                "SELECT r.id, r.data, r.created_at, r.updated_at FROM records r \
                 WHERE r.account_id = $1 AND r.kind = $2 AND r.id = $3 FOR UPDATE",
            )
            .bind(account.0)
            .bind(kind.as_str())
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
            let row = row.ok_or(Fail::Store(StoreError::NotFound))?;
            match edit_in(&mut tx, account, kind, row, edit, now).await? {
                Ok(rec) => {
                    tx.commit().await?;
                    Ok(Edited::Updated(rec))
                }
                Err(msg) => {
                    tx.rollback().await?;
                    Ok(Edited::Rejected(msg))
                }
            }
        })
        .await
    }

    async fn upsert_record(
        &self,
        account: AccountId,
        kind: RecordKind,
        lock_key: &str,
        matching: Vec<Cond>,
        create: Create,
        edit: Edit,
        now: OffsetDateTime,
    ) -> StoreResult<Upserted> {
        let filter = Filter::new(account, kind)
            .with(&matching)
            .map_err(StoreError::from)?;
        let sql = format!(
            "SELECT {RECORD_COLUMNS} FROM records r WHERE {} ORDER BY r.id LIMIT 1 FOR UPDATE OF r",
            filter.sql
        );
        let (sql, args) = (&sql, &filter.args);
        let pool = &self.pool;
        let now = to_millis(now);
        let lock = upsert_lock_key(account, kind, lock_key);
        let create = &CreateOnce::new(create);
        let edit = &EditOnce::new(edit);
        retry("upsert_record", move || async move {
            let mut tx = pool.begin().await?;
            sqlx::query("SELECT pg_advisory_xact_lock($1, $2)")
                .bind(UPSERT_LOCK_CLASS)
                .bind(lock)
                .execute(&mut *tx)
                .await?;
            // A new statement: its snapshot includes whatever the previous holder committed.
            let found: Option<RecordRow> = bind_all(sql.clone(), args.clone())
                .fetch_optional(&mut *tx)
                .await?;
            let (out, created) = match found {
                Some(row) => (
                    edit_in(&mut tx, account, kind, row, edit, now).await?,
                    false,
                ),
                None => (create_in(&mut tx, account, kind, create, now).await?, true),
            };
            match out {
                Ok(rec) => {
                    tx.commit().await?;
                    Ok(if created {
                        Upserted::Created(rec)
                    } else {
                        Upserted::Updated(rec)
                    })
                }
                Err(msg) => {
                    tx.rollback().await?;
                    Ok(Upserted::Rejected(msg))
                }
            }
        })
        .await
    }

    async fn delete_record(
        &self,
        account: AccountId,
        kind: RecordKind,
        id: i64,
    ) -> StoreResult<()> {
        let pool = &self.pool;
        let as_a: Vec<String> = ALL_LINK_KINDS
            .iter()
            .filter(|l| l.kinds().0 == kind)
            .map(|l| l.as_str().to_owned())
            .collect();
        let as_b: Vec<String> = ALL_LINK_KINDS
            .iter()
            .filter(|l| l.kinds().1 == kind)
            .map(|l| l.as_str().to_owned())
            .collect();
        let (as_a, as_b) = (&as_a, &as_b);
        retry("delete_record", move || async move {
            let mut tx = pool.begin().await?;
            let done =
                sqlx::query("DELETE FROM records WHERE account_id = $1 AND kind = $2 AND id = $3")
                    .bind(account.0)
                    .bind(kind.as_str())
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            if done.rows_affected() == 0 {
                return Err(Fail::Store(StoreError::NotFound));
            }
            if !as_a.is_empty() {
                sqlx::query(
                    "DELETE FROM links WHERE account_id = $1 AND kind = ANY($2) AND a = $3",
                )
                .bind(account.0)
                .bind(as_a)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            }
            if !as_b.is_empty() {
                sqlx::query(
                    "DELETE FROM links WHERE account_id = $1 AND kind = ANY($2) AND b = $3",
                )
                .bind(account.0)
                .bind(as_b)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Ok(())
        })
        .await
    }

    async fn list_records(
        &self,
        account: AccountId,
        kind: RecordKind,
        query: &Query,
    ) -> StoreResult<(Vec<Record>, i64)> {
        let filter = Filter::new(account, kind)
            .with(&query.conds)
            .map_err(StoreError::from)?;
        let col = order_column(query.order).map_err(StoreError::from)?;
        // NULL keys order first ascending and last descending, as on SQLite.
        let (dir, nulls) = if query.descending {
            ("DESC", "LAST")
        } else {
            ("ASC", "FIRST")
        };
        let mut args = filter.args.clone();
        args.push(Arg::Int(clamp(query.limit)));
        let limit = args.len();
        args.push(Arg::Int(clamp(query.offset)));
        let offset = args.len();
        // One statement, so the page and the total come from one snapshot; the count row is
        // there even when the page is empty.
        let sql = format!(
            "SELECT t.total, p.id, p.data, p.created_at, p.updated_at \
             FROM (SELECT count(*) AS total FROM records r WHERE {w}) t \
             LEFT JOIN LATERAL (SELECT {RECORD_COLUMNS} FROM records r WHERE {w} \
               ORDER BY r.{col} {dir} NULLS {nulls}, r.id {dir} LIMIT ${limit} OFFSET ${offset}) p ON TRUE",
            w = filter.sql
        );
        let (sql, args) = (&sql, &args);
        let pool = &self.pool;
        retry("list_records", move || async move {
            let rows: Vec<PageRow> = bind_all(sql.clone(), args.clone()).fetch_all(pool).await?;
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
        })
        .await
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
        let pool = &self.pool;
        let now = to_millis(now);
        let (a_kind, b_kind) = kind.kinds();
        let mut a_ids: Vec<i64> = pairs.iter().map(|p| p.0).collect();
        let mut b_ids: Vec<i64> = pairs.iter().map(|p| p.1).collect();
        a_ids.sort_unstable();
        a_ids.dedup();
        b_ids.sort_unstable();
        b_ids.dedup();
        let (a_ids, b_ids) = (&a_ids, &b_ids);
        retry("link", move || async move {
            let mut tx = pool.begin().await?;
            // Lock both sides (in id order) so neither can be deleted before this commits.
            let lock = "SELECT id FROM records WHERE account_id = $1 AND kind = $2 AND id = ANY($3) \
                        ORDER BY id FOR KEY SHARE";
            let a_found: HashSet<i64> = sqlx::query_scalar::<_, i64>(lock)
                .bind(account.0)
                .bind(a_kind.as_str())
                .bind(a_ids)
                .fetch_all(&mut *tx)
                .await?
                .into_iter()
                .collect();
            let b_found: HashSet<i64> = sqlx::query_scalar::<_, i64>(lock)
                .bind(account.0)
                .bind(b_kind.as_str())
                .bind(b_ids)
                .fetch_all(&mut *tx)
                .await?
                .into_iter()
                .collect();
            let mut valid: Vec<(i64, i64)> =
                pairs.iter().copied().filter(|(a, b)| a_found.contains(a) && b_found.contains(b)).collect();
            valid.sort_unstable();
            valid.dedup();
            let (va, vb): (Vec<i64>, Vec<i64>) = valid.into_iter().unzip();
            let inserted: Vec<(i64, i64)> = sqlx::query_as(
                "INSERT INTO links (account_id, kind, a, b, created_at) \
                 SELECT $1, $2, x.a, x.b, $5 FROM unnest($3::BIGINT[], $4::BIGINT[]) AS x (a, b) \
                 ORDER BY x.a, x.b \
                 ON CONFLICT (account_id, kind, a, b) DO NOTHING RETURNING a, b",
            )
            .bind(account.0)
            .bind(kind.as_str())
            .bind(&va)
            .bind(&vb)
            .bind(now)
            .fetch_all(&mut *tx)
            .await?;
            tx.commit().await?;
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
        let (va, vb): (Vec<i64>, Vec<i64>) = pairs.iter().copied().unzip();
        let (va, vb) = (&va, &vb);
        let pool = &self.pool;
        retry("unlink", move || async move {
            let done = sqlx::query(
                "DELETE FROM links WHERE account_id = $1 AND kind = $2 \
                 AND (a, b) IN (SELECT x.a, x.b FROM unnest($3::BIGINT[], $4::BIGINT[]) AS x (a, b))",
            )
            .bind(account.0)
            .bind(kind.as_str())
            .bind(va)
            .bind(vb)
            .execute(pool)
            .await?;
            Ok(done.rows_affected())
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
                 FROM (SELECT count(*) AS total FROM links WHERE account_id = $1 AND kind = $2 AND a = $3) t \
                 LEFT JOIN LATERAL (SELECT a, b, created_at FROM links \
                   WHERE account_id = $1 AND kind = $2 AND a = $3 ORDER BY b LIMIT $4 OFFSET $5) p ON TRUE",
                id,
            ),
            Side::B(id) => (
                "SELECT t.total, p.a, p.b, p.created_at \
                 FROM (SELECT count(*) AS total FROM links WHERE account_id = $1 AND kind = $2 AND b = $3) t \
                 LEFT JOIN LATERAL (SELECT a, b, created_at FROM links \
                   WHERE account_id = $1 AND kind = $2 AND b = $3 ORDER BY a LIMIT $4 OFFSET $5) p ON TRUE",
                id,
            ),
        };
        let pool = &self.pool;
        retry("list_links", move || async move {
            let rows: Vec<LinkPageRow> = sqlx::query_as(sql)
                .bind(account.0)
                .bind(kind.as_str())
                .bind(id)
                .bind(clamp(limit))
                .bind(clamp(offset))
                .fetch_all(pool)
                .await?;
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
        })
        .await
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
        let pool = &self.pool;
        retry("links_of", move || async move {
            let rows: Vec<LinkRow> = sqlx::query_as(
                "SELECT a, b, created_at FROM links WHERE account_id = $1 AND kind = $2 AND a = ANY($3) \
                 ORDER BY a, b",
            )
            .bind(account.0)
            .bind(kind.as_str())
            .bind(a_ids)
            .fetch_all(pool)
            .await?;
            Ok(rows.into_iter().map(Link::from).collect())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            ])
            .map_err(StoreError::from)
            .expect("valid conditions");
        assert_eq!(
            f.sql,
            "r.account_id = $1 AND r.kind = $2 AND r.k2 = $3 AND (r.k0 = $4 OR r.k5 = $4) AND FALSE AND FALSE"
        );
        assert_eq!(f.args.len(), 4);
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
    }

    #[test]
    fn upsert_lock_keys_separate_accounts_kinds_and_keys() {
        let k = upsert_lock_key(AccountId(1), RecordKind::Contact, "a@b.c");
        assert_eq!(
            k,
            upsert_lock_key(AccountId(1), RecordKind::Contact, "a@b.c")
        );
        assert_ne!(
            k,
            upsert_lock_key(AccountId(2), RecordKind::Contact, "a@b.c")
        );
        assert_ne!(k, upsert_lock_key(AccountId(1), RecordKind::Tag, "a@b.c"));
        assert_ne!(
            k,
            upsert_lock_key(AccountId(1), RecordKind::Contact, "a@b.d")
        );
    }

    #[test]
    fn an_edit_runs_once_and_a_retry_reuses_it_only_on_the_same_document() {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicU32, Ordering};
        let runs = Arc::new(AtomicU32::new(0));
        let r = Arc::clone(&runs);
        let cell = EditOnce::new(Box::new(move |_, doc| {
            r.fetch_add(1, Ordering::SeqCst);
            doc["n"] = serde_json::json!(2);
            Ok(Keys::default())
        }));
        let doc = serde_json::json!({ "n": 1 });
        let first = EditOnce::run(&cell, 1, doc.clone())
            .map_err(StoreError::from)
            .expect("runs");
        let again = EditOnce::run(&cell, 1, doc)
            .map_err(StoreError::from)
            .expect("reused");
        assert_eq!(first, again);
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        let changed =
            EditOnce::run(&cell, 1, serde_json::json!({ "n": 5 })).map_err(StoreError::from);
        assert!(matches!(changed, Err(StoreError::Busy(_))));
    }
}
