//! The SDK's integration suite: one binary, one module per area.
//!
//! Wire-format, failure and concurrency cases run against wiremock (exact bodies and headers,
//! 429 storms, 5xx, truncated bodies, request counts). `keapsake.rs` drives the SDK against a
//! real keapsake in-process (`keapsake_testkit::TestServer`).
#![allow(clippy::unwrap_used)]

mod support;

mod commerce;
mod config;
mod crm;
mod crm_more;
mod errors;
mod hooks_emails;
mod keapsake;
mod login;
mod oauth_wire;
mod persistence;
mod refresh;
mod resources;
mod retry;
mod wire_more;
