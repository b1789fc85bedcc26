//! Users of the account (`keap/rest-v1.md` §11, `RestUser`).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{Address, FaxNumber, PhoneNumber, null_as_empty, string_or_number};
use crate::ids::UserId;

/// A user of the account, as `GET /users` lists them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// User id (what `owner_id`, `user_id` and the like hold).
    pub id: UserId,
    /// Keap's global user id.
    #[serde(default)]
    pub global_user_id: Option<i64>,
    /// The login (an e-mail address), as text.
    #[serde(default, deserialize_with = "string_or_number")]
    pub infusionsoft_id: Option<String>,
    /// E-mail address.
    #[serde(default)]
    pub email_address: Option<String>,
    /// First name.
    #[serde(default)]
    pub given_name: Option<String>,
    /// Middle name.
    #[serde(default)]
    pub middle_name: Option<String>,
    /// Last name.
    #[serde(default)]
    pub family_name: Option<String>,
    /// Display name.
    #[serde(default)]
    pub preferred_name: Option<String>,
    /// The account's business name.
    #[serde(default)]
    pub company_name: Option<String>,
    /// Job title.
    #[serde(default)]
    pub job_title: Option<String>,
    /// `Active`, `Invited` or `Inactive`.
    #[serde(default)]
    pub status: Option<String>,
    /// Whether the user is a partner.
    #[serde(default)]
    pub partner: Option<bool>,
    /// IANA time zone.
    #[serde(default)]
    pub time_zone: Option<String>,
    /// Website.
    #[serde(default)]
    pub website: Option<String>,
    /// Phone numbers.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub phone_numbers: Vec<PhoneNumber>,
    /// Fax numbers.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub fax_numbers: Vec<FaxNumber>,
    /// Address.
    #[serde(default)]
    pub address: Option<Address>,
    /// Creation time.
    #[serde(default, with = "crate::date::option_datetime")]
    pub date_created: Option<OffsetDateTime>,
    /// Last change.
    #[serde(default, with = "crate::date::option_datetime")]
    pub last_updated: Option<OffsetDateTime>,
    /// Who created the user.
    #[serde(default)]
    pub created_by: Option<UserId>,
    /// Who changed the user last.
    #[serde(default)]
    pub last_updated_by: Option<UserId>,
}

impl User {
    /// True when the user's `status` is `Active`.
    pub fn is_active(&self) -> bool {
        self.status.as_deref() == Some("Active")
    }
}
