//! `GET /crm/rest/v1/merchants` (`keap/rest-v1.md` §11).

use reqwest::Method;

use crate::client::Keap;
use crate::error::Result;
use crate::model::MerchantAccounts;

/// Fetches the account's merchant accounts. From [`Keap::merchants`].
#[derive(Debug, Clone)]
#[must_use = "does nothing until .send().await"]
pub struct ListMerchants {
    client: Keap,
}

impl ListMerchants {
    pub(crate) fn new(client: Keap) -> Self {
        ListMerchants { client }
    }

    /// Sends the request.
    ///
    /// # Errors
    ///
    /// Any request error.
    pub async fn send(self) -> Result<MerchantAccounts> {
        self.client
            .request(Method::GET, "rest/v1/merchants")
            .send_json()
            .await
    }
}
