//! Who a token acts as, and the account (tenant) profile (`keap/oauth.md` §9, `keap/rest-v1.md` §11).

use serde::{Deserialize, Serialize};

/// `GET /crm/rest/v1/oauth/connect/userinfo`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserInfoV1 {
    /// The user's e-mail address.
    pub email: String,
    /// Last name.
    pub family_name: String,
    /// First name.
    pub given_name: String,
    /// keapsake's global user id.
    pub global_user_id: i64,
    /// The login (e-mail), as a string.
    pub infusionsoft_id: String,
    /// Whether the user administers the account the token is for.
    pub is_admin: bool,
    /// Middle name (may be empty).
    pub middle_name: String,
    /// Display name.
    pub preferred_name: String,
    /// Subject: the user id as a string.
    pub sub: String,
}

/// `GET /crm/rest/v2/oauth/connect/userinfo`: every member a string except `is_admin`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserInfoV2 {
    /// The user's e-mail address.
    pub email: String,
    /// Subject: the user id.
    pub sub: String,
    /// The user id.
    pub id: String,
    /// The login.
    pub keap_id: String,
    /// Last name.
    pub family_name: String,
    /// First name.
    pub given_name: String,
    /// Middle name.
    pub middle_name: String,
    /// Display name.
    pub preferred_name: String,
    /// Whether the user administers the account.
    pub is_admin: bool,
    /// The account (tenant) alias, e.g. `ab123`.
    pub tenant_id: String,
}

/// A postal address as in REST v1 `ContactAddress`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactAddress {
    /// `BILLING`, `SHIPPING` or `OTHER`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Street, first line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line1: Option<String>,
    /// Street, second line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line2: Option<String>,
    /// City.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locality: Option<String>,
    /// State or province.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Postal code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    /// ZIP code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zip_code: Option<String>,
    /// ZIP+4.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zip_four: Option<String>,
    /// ISO 3166-1 alpha-3 country code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country_code: Option<String>,
}

/// `GET /crm/rest/v1/account/profile`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountProfile {
    /// Business name.
    #[serde(default)]
    pub name: Option<String>,
    /// Business e-mail.
    #[serde(default)]
    pub email: Option<String>,
    /// Phone.
    #[serde(default)]
    pub phone: Option<String>,
    /// Phone extension.
    #[serde(default)]
    pub phone_ext: Option<String>,
    /// Website.
    #[serde(default)]
    pub website: Option<String>,
    /// IANA time zone, e.g. `America/New_York`.
    #[serde(default)]
    pub time_zone: Option<String>,
    /// ISO 4217 currency, e.g. `USD`.
    #[serde(default)]
    pub currency_code: Option<String>,
    /// BCP 47 language tag, e.g. `en-US`.
    #[serde(default)]
    pub language_tag: Option<String>,
    /// Logo URL.
    #[serde(default)]
    pub logo_url: Option<String>,
    /// Business type.
    #[serde(default)]
    pub business_type: Option<String>,
    /// Business goals.
    #[serde(default)]
    pub business_goals: Vec<String>,
    /// Primary brand colour.
    #[serde(default)]
    pub business_primary_color: Option<String>,
    /// Secondary brand colour.
    #[serde(default)]
    pub business_secondary_color: Option<String>,
    /// Business address.
    #[serde(default)]
    pub address: Option<ContactAddress>,
}
