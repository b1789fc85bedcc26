//! `ceiling-http`: the HTTP ceiling. A bare axum 0.8 server whose `POST /token` answers a fixed
//! token body of keapsake's size and headers, with no storage and no checks: whatever keapsake
//! spends above this is its own work.

use axum::Router;
use axum::body::Bytes;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, PRAGMA};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use clap::Parser;
use std::net::SocketAddr;

/// Flags.
#[derive(Debug, Parser)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8090")]
    listen: SocketAddr,
}

/// A /token success body shaped like keapsake's (43-character tokens, oauth.md §4.4).
const BODY: &str = r#"{"access_token":"Xq3cJ0vJ9f8yZpQ2mW7rT1sL5nB4hK6dG8aE0uC2iO9","token_type":"bearer","expires_in":3600,"refresh_token":"Rf8mZ2pL0qW4eT6yU1iO3aS5dF7gH9jK2lZ4xC6vB8n","scope":"full|demo1.infusionsoft.com"}"#;

async fn token(_body: Bytes) -> impl IntoResponse {
    (
        [
            (CONTENT_TYPE, "application/json;charset=UTF-8"),
            (CACHE_CONTROL, "no-store"),
            (PRAGMA, "no-cache"),
        ],
        BODY,
    )
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let app = Router::new()
        .route("/token", post(token))
        .route("/healthz", get(|| async { "ok" }));
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    axum::serve(listener, app).await?;
    Ok(())
}
