//! `GET`/`PUT /crm/rest/v1/account/profile` (`keap/rest-v1.md` §11).

use reqwest::Method;

use crate::client::Keap;
use crate::error::Result;
use crate::model::AccountProfile;

const PATH: &str = "rest/v1/account/profile";

/// The account (tenant) handler. From [`Keap::account`].
#[derive(Debug, Clone)]
pub struct Account {
    client: Keap,
}

impl Account {
    pub(crate) fn new(client: Keap) -> Self {
        Account { client }
    }

    /// `GET /account/profile`.
    pub fn profile(&self) -> GetProfile {
        GetProfile {
            client: self.client.clone(),
        }
    }

    /// `PUT /account/profile`: fields left `None` are not sent.
    pub fn update_profile(&self, profile: AccountProfile) -> UpdateProfile {
        UpdateProfile {
            client: self.client.clone(),
            profile,
        }
    }
}

/// `GET /account/profile`. From [`Account::profile`].
#[derive(Debug)]
#[must_use = "does nothing until .send().await"]
pub struct GetProfile {
    client: Keap,
}

impl GetProfile {
    /// Sends the request.
    ///
    /// # Errors
    ///
    /// Any request error.
    pub async fn send(self) -> Result<AccountProfile> {
        self.client.request(Method::GET, PATH).send_json().await
    }
}

/// `PUT /account/profile`. From [`Account::update_profile`].
#[derive(Debug)]
#[must_use = "does nothing until .send().await"]
pub struct UpdateProfile {
    client: Keap,
    profile: AccountProfile,
}

impl UpdateProfile {
    /// Sends the request; returns the profile as stored.
    ///
    /// # Errors
    ///
    /// [`Error::Validation`](crate::Error::Validation) for rejected values, or any request error.
    pub async fn send(self) -> Result<AccountProfile> {
        self.client
            .request(Method::PUT, PATH)
            .json(&self.profile)
            .send_json()
            .await
    }
}
