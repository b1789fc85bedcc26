//! `GET /locales/defaultOptions` (`keap/rest-v1.md` §11, `RestDefaultOptionsResponse`).

use serde::{Deserialize, Serialize};

use super::null_as_empty;

/// The option lists of contact forms.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DefaultOptions {
    /// Contact types (`Lead`, `Customer`, …).
    #[serde(default, deserialize_with = "null_as_empty")]
    pub contact_types: Vec<String>,
    /// Fax types.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub fax_types: Vec<String>,
    /// Phone types.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub phone_types: Vec<String>,
    /// Name suffixes.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub suffix_types: Vec<String>,
    /// Name prefixes (titles).
    #[serde(default, deserialize_with = "null_as_empty")]
    pub title_types: Vec<String>,
}
