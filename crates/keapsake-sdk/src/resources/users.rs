//! Users of the account (`keap/rest-v1.md` §11). Inviting users (`POST /users`) is not
//! wrapped.

use futures_util::stream::BoxStream;
use reqwest::Method;

use crate::client::Keap;
use crate::error::Result;
use crate::ids::UserId;
use crate::model::User;
use crate::page::{Page, stream_from};

/// The users handler. From [`Keap::users`].
#[derive(Debug, Clone)]
pub struct Users {
    client: Keap,
}

impl Users {
    pub(crate) fn new(client: Keap) -> Self {
        Users { client }
    }

    /// `GET /users`.
    pub fn list(&self) -> ListUsers {
        ListUsers {
            client: self.client.clone(),
            include_inactive: None,
            include_partners: None,
            limit: None,
            offset: None,
        }
    }

    /// `GET /users/{id}/signature`: the user's e-mail signature (HTML).
    pub fn signature(&self, id: impl Into<UserId>) -> GetSignature {
        GetSignature {
            client: self.client.clone(),
            id: id.into(),
        }
    }
}

/// `GET /users`. From [`Users::list`].
#[derive(Debug, Clone)]
#[must_use = "does nothing until .send().await or .stream()"]
pub struct ListUsers {
    client: Keap,
    include_inactive: Option<bool>,
    include_partners: Option<bool>,
    limit: Option<u32>,
    offset: Option<u64>,
}

impl ListUsers {
    /// Include inactive users.
    pub fn include_inactive(mut self, v: bool) -> Self {
        self.include_inactive = Some(v);
        self
    }

    /// Include partner users.
    pub fn include_partners(mut self, v: bool) -> Self {
        self.include_partners = Some(v);
        self
    }

    /// Page size (Keap: default and maximum 1000).
    pub fn limit(mut self, n: u32) -> Self {
        self.limit = Some(n);
        self
    }

    /// Items to skip.
    pub fn offset(mut self, n: u64) -> Self {
        self.offset = Some(n);
        self
    }

    /// Fetches the first page.
    ///
    /// # Errors
    ///
    /// Any request error.
    pub async fn send(self) -> Result<Page<User>> {
        let resp = self
            .client
            .request(Method::GET, "rest/v1/users")
            .query_opt("include_inactive", self.include_inactive)
            .query_opt("include_partners", self.include_partners)
            .query_opt("limit", self.limit)
            .query_opt("offset", self.offset)
            .send()
            .await?;
        Page::from_response(self.client, "users", resp)
    }

    /// Every user, page after page, fetched as the stream is read.
    pub fn stream(self) -> BoxStream<'static, Result<User>> {
        stream_from(self.send())
    }
}

/// `GET /users/{id}/signature`. From [`Users::signature`].
#[derive(Debug, Clone)]
#[must_use = "does nothing until .send().await"]
pub struct GetSignature {
    client: Keap,
    id: UserId,
}

impl GetSignature {
    /// Sends the request; returns the signature's HTML (empty when the user has none). Keap's
    /// spec declares a JSON string; a bare HTML body is accepted as well.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`](crate::Error::NotFound) when the user is not a user of this
    /// account, or any request error.
    pub async fn send(self) -> Result<String> {
        let resp = self
            .client
            .request(Method::GET, format!("rest/v1/users/{}/signature", self.id))
            .send()
            .await?
            .error_for_status()?;
        match serde_json::from_slice::<Option<String>>(resp.bytes()) {
            Ok(s) => Ok(s.unwrap_or_default()),
            Err(_) => Ok(resp.text()),
        }
    }
}
