//! Account settings (`keap/rest-v1.md` §11): `/setting/application/enabled`,
//! `/setting/contact/optionTypes` and `/setting/application/configuration`.

use reqwest::Method;
use serde::Deserialize;

use crate::client::Keap;
use crate::error::{Error, Result};
use crate::model::ApplicationConfiguration;

/// The settings handler. From [`Keap::settings`].
#[derive(Debug, Clone)]
pub struct Settings {
    client: Keap,
}

impl Settings {
    pub(crate) fn new(client: Keap) -> Self {
        Settings { client }
    }

    /// `GET /setting/application/enabled`: whether the application is enabled (keap-python's
    /// connection test).
    pub fn application_enabled(&self) -> GetApplicationEnabled {
        GetApplicationEnabled {
            client: self.client.clone(),
        }
    }

    /// `GET /setting/contact/optionTypes`: the contact types (`Lead`, `Customer`, …).
    pub fn contact_option_types(&self) -> GetContactOptionTypes {
        GetContactOptionTypes {
            client: self.client.clone(),
        }
    }

    /// `GET /setting/application/configuration`.
    pub fn application_configuration(&self) -> GetApplicationConfiguration {
        GetApplicationConfiguration {
            client: self.client.clone(),
        }
    }
}

/// Keap's `Setting`: `{"value": "…"}`, the value a string per the spec.
#[derive(Deserialize)]
struct Setting {
    #[serde(default)]
    value: serde_json::Value,
}

/// `GET /setting/application/enabled`. From [`Settings::application_enabled`].
#[derive(Debug, Clone)]
#[must_use = "does nothing until .send().await"]
pub struct GetApplicationEnabled {
    client: Keap,
}

impl GetApplicationEnabled {
    /// Sends the request; `{"value":"true"}` reads as `true` (a JSON boolean is accepted too).
    ///
    /// # Errors
    ///
    /// [`Error::UnexpectedResponse`] when `value` is neither `true` nor `false`, or any
    /// request error.
    pub async fn send(self) -> Result<bool> {
        let resp = self
            .client
            .request(Method::GET, "rest/v1/setting/application/enabled")
            .send()
            .await?
            .error_for_status()?;
        let setting: Setting = resp.json()?;
        match &setting.value {
            serde_json::Value::Bool(b) => Ok(*b),
            serde_json::Value::String(s) if s.trim().eq_ignore_ascii_case("true") => Ok(true),
            serde_json::Value::String(s) if s.trim().eq_ignore_ascii_case("false") => Ok(false),
            _ => Err(Error::unexpected(
                resp.status().as_u16(),
                "`value` of /setting/application/enabled is not true or false",
            )),
        }
    }
}

/// `GET /setting/contact/optionTypes`. From [`Settings::contact_option_types`].
#[derive(Debug, Clone)]
#[must_use = "does nothing until .send().await"]
pub struct GetContactOptionTypes {
    client: Keap,
}

impl GetContactOptionTypes {
    /// Sends the request; Keap's comma-separated `value` comes back split and trimmed.
    ///
    /// # Errors
    ///
    /// [`Error::UnexpectedResponse`] when `value` is not a string, or any request error.
    pub async fn send(self) -> Result<Vec<String>> {
        let resp = self
            .client
            .request(Method::GET, "rest/v1/setting/contact/optionTypes")
            .send()
            .await?
            .error_for_status()?;
        let setting: Setting = resp.json()?;
        match &setting.value {
            serde_json::Value::Null => Ok(Vec::new()),
            serde_json::Value::String(s) => Ok(s
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()),
            _ => Err(Error::unexpected(
                resp.status().as_u16(),
                "`value` of /setting/contact/optionTypes is not a string",
            )),
        }
    }
}

/// `GET /setting/application/configuration`. From [`Settings::application_configuration`].
#[derive(Debug, Clone)]
#[must_use = "does nothing until .send().await"]
pub struct GetApplicationConfiguration {
    client: Keap,
}

impl GetApplicationConfiguration {
    /// Sends the request.
    ///
    /// # Errors
    ///
    /// Any request error.
    pub async fn send(self) -> Result<ApplicationConfiguration> {
        self.client
            .request(Method::GET, "rest/v1/setting/application/configuration")
            .send_json()
            .await
    }
}
