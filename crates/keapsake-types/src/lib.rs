//! Keap wire types shared by the keapsake server and the SDK.
//!
//! Field names and field order follow what Keap puts on the wire (see `keap/oauth.md` and
//! `keap/rest-v1.md`), because existing clients depend on them. This crate only (de)serialises:
//! no I/O and no rules.

pub mod account;
pub mod error;
pub mod oauth;

pub use account::{AccountProfile, ContactAddress, UserInfoV1, UserInfoV2};
pub use error::{ApigeeFault, FaultBody, FaultDetail, V1Error};
pub use oauth::{OAuthErrorBody, TokenResponse};
