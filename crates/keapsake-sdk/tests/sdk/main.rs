//! The SDK's integration suite: one binary, one module per area.
//!
//! Wire-format, failure and concurrency cases run against wiremock (exact bodies and headers,
//! 429 storms, 5xx, truncated bodies, request counts). Against a real keapsake in-process:
//! see `keapsake.rs` (enabled once `keapsake-testkit` provides `TestServer`).
#![allow(clippy::unwrap_used)]

mod support;

mod config;
mod errors;
mod login;
mod oauth_wire;
mod persistence;
mod refresh;
mod resources;
mod retry;
