//! `ceiling-sqlite`: the naive storage ceiling. Each `POST /token` does ONE single-row INSERT in
//! its own transaction on a SQLite file (WAL, synchronous=NORMAL) through a sqlx pool, then
//! answers the same fixed body as `ceiling-http`. No group commit, no fsync per commit (NORMAL
//! in WAL mode syncs only at checkpoints): the throughput a straightforward one-transaction-per-
//! request design gets from SQLite on this machine.
//!
//! The row is shaped like keapsake's `access_tokens` row (a random 32-byte hash as the primary
//! key of a WITHOUT ROWID table), so each insert lands on a random B-tree page as keapsake's do;
//! a sequential key would only ever touch the rightmost page and flatter the ceiling.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, PRAGMA};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use clap::Parser;
use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Flags.
#[derive(Debug, Parser)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8091")]
    listen: SocketAddr,
    /// SQLite file (created if missing).
    #[arg(long, default_value = "ceiling.db")]
    database: PathBuf,
    /// Pool size. Default: sqlx's own default, 10, which is what naive code gets. Writers then
    /// contend for SQLite's write lock in its busy handler; on the 2-core reference machine 10
    /// still measured faster than 1, 2 or 4 (5.2–6.5k vs 4.6–4.8k req/s at 64 connections).
    #[arg(long, default_value_t = 10)]
    pool: u32,
}

/// Same body as `ceiling-http`.
const BODY: &str = r#"{"access_token":"Xq3cJ0vJ9f8yZpQ2mW7rT1sL5nB4hK6dG8aE0uC2iO9","token_type":"bearer","expires_in":3600,"refresh_token":"Rf8mZ2pL0qW4eT6yU1iO3aS5dF7gH9jK2lZ4xC6vB8n","scope":"full|demo1.infusionsoft.com"}"#;

#[derive(Clone)]
struct St {
    pool: SqlitePool,
    seq: Arc<AtomicU64>,
}

/// splitmix64: a well-mixed 64-bit value per counter value (stands in for a token's SHA-256).
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

async fn token(State(st): State<St>, _body: Bytes) -> Response {
    let n = st.seq.fetch_add(4, Ordering::Relaxed);
    let mut hash = [0u8; 32];
    for (i, chunk) in hash.chunks_mut(8).enumerate() {
        chunk.copy_from_slice(&mix(n + i as u64).to_le_bytes());
    }
    let insert = async {
        let mut tx = st.pool.begin().await?;
        sqlx::query("INSERT INTO access_tokens (hash, family_id, created_at, expires_at) VALUES (?, 1, unixepoch(), unixepoch() + 3600)")
            .bind(&hash[..])
            .execute(&mut *tx)
            .await?;
        tx.commit().await
    };
    match insert.await {
        Ok(()) => (
            [
                (CONTENT_TYPE, "application/json;charset=UTF-8"),
                (CACHE_CONTROL, "no-store"),
                (PRAGMA, "no-cache"),
            ],
            BODY,
        )
            .into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let opts = SqliteConnectOptions::new()
        .filename(&args.database)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal);
    let pool = SqlitePoolOptions::new()
        .max_connections(args.pool)
        .connect_with(opts)
        .await?;
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS access_tokens (hash BLOB PRIMARY KEY CHECK (length(hash) = 32), \
         family_id INTEGER NOT NULL, created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL) STRICT, WITHOUT ROWID",
    )
    .execute(&pool)
    .await?;
    // Restarts (the cold-start runs) reuse the file: seed the counter from the clock so hashes
    // never repeat across runs.
    let start = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let st = St {
        pool,
        seq: Arc::new(AtomicU64::new(start)),
    };
    let app = Router::new()
        .route("/token", post(token))
        .route("/healthz", get(|| async { "ok" }))
        .with_state(st);
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    axum::serve(listener, app).await?;
    Ok(())
}
