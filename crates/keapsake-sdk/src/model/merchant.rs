//! `GET /merchants` (`keap/rest-v1.md` §11, `RestMerchantAccountResponse`).

use serde::{Deserialize, Serialize};

use super::null_as_empty;
use crate::ids::MerchantId;

/// The account's merchant accounts (payment gateways) and which one is the default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MerchantAccounts {
    /// The default merchant account.
    #[serde(default)]
    pub default_merchant_account: Option<MerchantId>,
    /// Every merchant account.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub merchant_accounts: Vec<MerchantAccount>,
}

impl MerchantAccounts {
    /// The default merchant account, when it is among [`merchant_accounts`](Self::merchant_accounts).
    pub fn default_account(&self) -> Option<&MerchantAccount> {
        let id = self.default_merchant_account?;
        self.merchant_accounts.iter().find(|m| m.id == id)
    }
}

/// A merchant account (`Merchant`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MerchantAccount {
    /// Merchant account id.
    pub id: MerchantId,
    /// Name.
    #[serde(default)]
    pub account_name: Option<String>,
    /// Gateway type.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// Whether it is a test gateway.
    #[serde(default)]
    pub is_test: Option<bool>,
}
