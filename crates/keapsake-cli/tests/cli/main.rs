//! The `keapsake` binary, driven as a user would, against a TestServer's database.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod admin;
mod hooks_crash;
mod login;
mod mail;
