//! `GET /crm/rest/v1/oauth/connect/userinfo` (`keap/oauth.md` §9).

use reqwest::Method;

use crate::client::Keap;
use crate::error::Result;
use crate::model::UserInfo;

/// Fetches who the credential acts as. From [`Keap::userinfo`].
#[derive(Debug)]
#[must_use = "does nothing until .send().await"]
pub struct UserInfoRequest {
    client: Keap,
}

impl UserInfoRequest {
    pub(crate) fn new(client: Keap) -> Self {
        UserInfoRequest { client }
    }

    /// Sends the request.
    ///
    /// # Errors
    ///
    /// [`Error::Auth`](crate::Error::Auth) for a rejected credential, or any request error.
    pub async fn send(self) -> Result<UserInfo> {
        self.client
            .request(Method::GET, "rest/v1/oauth/connect/userinfo")
            .send_json()
            .await
    }
}
