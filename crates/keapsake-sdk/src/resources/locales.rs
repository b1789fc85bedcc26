//! Locale data (`keap/rest-v1.md` §11): countries, their provinces, and the option lists of
//! contact forms.

use std::collections::BTreeMap;

use reqwest::Method;
use serde::Deserialize;

use crate::client::Keap;
use crate::error::Result;
use crate::model::DefaultOptions;

/// The locales handler. From [`Keap::locales`].
#[derive(Debug, Clone)]
pub struct Locales {
    client: Keap,
}

impl Locales {
    pub(crate) fn new(client: Keap) -> Self {
        Locales { client }
    }

    /// `GET /locales/countries`: country names by ISO 3166-1 alpha-3 code (`USA` →
    /// `United States`).
    pub fn countries(&self) -> ListCountries {
        ListCountries {
            client: self.client.clone(),
        }
    }

    /// `GET /locales/countries/{code}/provinces`: the provinces of a country by ISO 3166-2
    /// code (`US-CA` → `California`).
    pub fn provinces(&self, country_code: impl Into<String>) -> ListProvinces {
        ListProvinces {
            client: self.client.clone(),
            country_code: country_code.into(),
        }
    }

    /// `GET /locales/defaultOptions`: the option lists of contact forms.
    pub fn default_options(&self) -> GetDefaultOptions {
        GetDefaultOptions {
            client: self.client.clone(),
        }
    }
}

/// A `{"<key>": {code: name}}` body; `null` reads as empty.
#[derive(Deserialize)]
struct CountriesBody {
    #[serde(default)]
    countries: Option<BTreeMap<String, String>>,
}

#[derive(Deserialize)]
struct ProvincesBody {
    #[serde(default)]
    provinces: Option<BTreeMap<String, String>>,
}

/// Percent-encodes one path segment (everything but RFC 3986 unreserved characters).
fn segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `GET /locales/countries`. From [`Locales::countries`].
#[derive(Debug, Clone)]
#[must_use = "does nothing until .send().await"]
pub struct ListCountries {
    client: Keap,
}

impl ListCountries {
    /// Sends the request; returns names by code.
    ///
    /// # Errors
    ///
    /// Any request error.
    pub async fn send(self) -> Result<BTreeMap<String, String>> {
        let body: CountriesBody = self
            .client
            .request(Method::GET, "rest/v1/locales/countries")
            .send_json()
            .await?;
        Ok(body.countries.unwrap_or_default())
    }
}

/// `GET /locales/countries/{code}/provinces`. From [`Locales::provinces`].
#[derive(Debug, Clone)]
#[must_use = "does nothing until .send().await"]
pub struct ListProvinces {
    client: Keap,
    country_code: String,
}

impl ListProvinces {
    /// Sends the request; returns names by code (empty for a country without any).
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`](crate::Error::NotFound) for a code that is no known country, or
    /// any request error.
    pub async fn send(self) -> Result<BTreeMap<String, String>> {
        let body: ProvincesBody = self
            .client
            .request(
                Method::GET,
                format!(
                    "rest/v1/locales/countries/{}/provinces",
                    segment(&self.country_code)
                ),
            )
            .send_json()
            .await?;
        Ok(body.provinces.unwrap_or_default())
    }
}

/// `GET /locales/defaultOptions`. From [`Locales::default_options`].
#[derive(Debug, Clone)]
#[must_use = "does nothing until .send().await"]
pub struct GetDefaultOptions {
    client: Keap,
}

impl GetDefaultOptions {
    /// Sends the request.
    ///
    /// # Errors
    ///
    /// Any request error.
    pub async fn send(self) -> Result<DefaultOptions> {
        self.client
            .request(Method::GET, "rest/v1/locales/defaultOptions")
            .send_json()
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::segment;

    #[test]
    fn country_codes_are_one_path_segment() {
        assert_eq!(segment("USA"), "USA");
        assert_eq!(segment("a/b ?"), "a%2Fb%20%3F");
        assert_eq!(segment("é"), "%C3%A9");
    }
}
