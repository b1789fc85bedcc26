//! Raw requests ([`RequestBuilder`], from [`Keap::request`]) and raw responses
//! ([`RawResponse`]), which the typed resources are built on.
//!
//! A raw request goes through the same pipeline as a typed one (credentials, refresh, retries,
//! quota headers), but its [`send`](RequestBuilder::send) returns the final response whatever
//! its status: `keapsake api GET /crm/rest/v1/...` wants to print Keap's error bodies.
//! [`RawResponse::error_for_status`] turns a non-success status into the matching [`Error`].

use std::time::Duration;

use reqwest::header::{ACCEPT, HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use time::OffsetDateTime;
use url::Url;

use crate::client::{Keap, Prepared};
use crate::error::{Error, Result};
use crate::quota::Quota;

/// A raw request being built. Created by [`Keap::request`]; ends in [`send`](Self::send).
#[derive(Debug)]
#[must_use = "a request does nothing until .send().await"]
pub struct RequestBuilder {
    client: Keap,
    method: Method,
    target: String,
    query: Vec<(String, String)>,
    headers: HeaderMap,
    body: Option<(Vec<u8>, HeaderValue)>,
    error: Option<Error>,
    rebase: bool,
}

impl RequestBuilder {
    pub(crate) fn new(client: Keap, method: Method, target: String) -> Self {
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        RequestBuilder {
            client,
            method,
            target,
            query: Vec::new(),
            headers,
            body: None,
            error: None,
            rebase: false,
        }
    }

    /// Adds a query parameter (appended to any query already in the path).
    pub fn query(mut self, key: impl Into<String>, value: impl ToString) -> Self {
        self.query.push((key.into(), value.to_string()));
        self
    }

    pub(crate) fn query_opt(self, key: &str, value: Option<impl ToString>) -> Self {
        match value {
            Some(v) => self.query(key, v),
            None => self,
        }
    }

    /// Adds a header. Invalid names or values make [`send`](Self::send) fail with
    /// [`Error::Config`].
    pub fn header(mut self, name: &str, value: &str) -> Self {
        match (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            (Ok(n), Ok(v)) => {
                self.headers.insert(n, v);
            }
            _ => self.error = Some(Error::Config(format!("invalid header {name:?}"))),
        }
        self
    }

    /// Sends `body` as JSON (`Content-Type: application/json`).
    pub fn json<T: Serialize + ?Sized>(mut self, body: &T) -> Self {
        match serde_json::to_vec(body) {
            Ok(b) => self.body = Some((b, HeaderValue::from_static("application/json"))),
            Err(e) => self.error = Some(Error::Config(format!("body is not serialisable: {e}"))),
        }
        self
    }

    /// Sends raw bytes with the given content type.
    pub fn body(mut self, bytes: impl Into<Vec<u8>>, content_type: &str) -> Self {
        match HeaderValue::from_str(content_type) {
            Ok(ct) => self.body = Some((bytes.into(), ct)),
            Err(_) => {
                self.error = Some(Error::Config(format!(
                    "invalid content type {content_type:?}"
                )))
            }
        }
        self
    }

    /// Lets an absolute URL on another origin through by moving it onto the API's origin
    /// (used for `next` links).
    pub(crate) fn rebase_foreign_origin(mut self) -> Self {
        self.rebase = true;
        self
    }

    /// Sends the request and returns the final response, whatever its status, after refreshing
    /// an expired token and retrying as the [`RetryPolicy`](crate::RetryPolicy) allows.
    ///
    /// # Errors
    ///
    /// Transport failures, credential problems ([`Error::NoToken`], a failed refresh), and
    /// [`Error::Config`] for an invalid request. HTTP error statuses are **not** errors here;
    /// see [`RawResponse::error_for_status`].
    pub async fn send(self) -> Result<RawResponse> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let mut url = self.client.resolve(&self.target, self.rebase)?;
        if !self.query.is_empty() {
            let mut q = url.query_pairs_mut();
            for (k, v) in &self.query {
                q.append_pair(k, v);
            }
        }
        let prepared = Prepared {
            method: self.method,
            url,
            headers: self.headers,
            body: self.body,
        };
        self.client.execute(prepared).await
    }

    /// Sends the request and decodes a successful JSON body.
    pub(crate) async fn send_json<T: DeserializeOwned>(self) -> Result<T> {
        self.send().await?.error_for_status()?.json()
    }

    /// Sends the request and expects success with no body of interest.
    pub(crate) async fn send_empty(self) -> Result<()> {
        self.send().await?.error_for_status()?;
        Ok(())
    }
}

/// A response as received: status, headers, quota and the whole body.
#[derive(Clone)]
pub struct RawResponse {
    status: StatusCode,
    headers: HeaderMap,
    url: Url,
    body: Vec<u8>,
    quota: Quota,
}

impl std::fmt::Debug for RawResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawResponse")
            .field("status", &self.status)
            .field("url", &self.url.path())
            .field("body_len", &self.body.len())
            .finish_non_exhaustive()
    }
}

impl RawResponse {
    pub(crate) fn new(
        status: StatusCode,
        headers: HeaderMap,
        url: Url,
        body: Vec<u8>,
        quota: Quota,
    ) -> Self {
        RawResponse {
            status,
            headers,
            url,
            body,
            quota,
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The response headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The URL that answered.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The quota headers (`keap/oauth.md` §7).
    pub fn quota(&self) -> &Quota {
        &self.quota
    }

    /// The body bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.body
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Decodes the body as JSON.
    ///
    /// # Errors
    ///
    /// [`Error::UnexpectedResponse`] when the body is not JSON of that shape, truncated bodies
    /// included.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_slice(&self.body).map_err(|e| {
            Error::unexpected(
                self.status.as_u16(),
                format!("body is not the expected JSON: {e}"),
            )
        })
    }

    /// The server's `Retry-After`: delta seconds or an HTTP date.
    pub fn retry_after(&self) -> Option<Duration> {
        let v = self
            .headers
            .get(reqwest::header::RETRY_AFTER)?
            .to_str()
            .ok()?
            .trim();
        if let Ok(secs) = v.parse::<u64>() {
            return Some(Duration::from_secs(secs));
        }
        let at = OffsetDateTime::parse(v, &time::format_description::well_known::Rfc2822).ok()?;
        let wait = at - OffsetDateTime::now_utc();
        Some(Duration::try_from(wait).unwrap_or(Duration::ZERO))
    }

    /// Returns the response if its status is a success, else the matching [`Error`].
    ///
    /// # Errors
    ///
    /// See [`RawResponse::to_error`].
    pub fn error_for_status(self) -> Result<Self> {
        if self.status.is_success() {
            Ok(self)
        } else {
            Err(self.to_error())
        }
    }

    /// The [`Error`] for this response's status and body: 400/422 → [`Error::Validation`],
    /// 401 → [`Error::Auth`], 404 → [`Error::NotFound`], 429 → [`Error::RateLimited`], other
    /// → [`Error::Api`]. (A success status gives [`Error::UnexpectedResponse`].)
    pub fn to_error(&self) -> Error {
        let status = self.status.as_u16();
        let body: Option<serde_json::Value> = serde_json::from_slice(&self.body).ok();
        let field = |path: &[&str]| -> Option<String> {
            let mut v = body.as_ref()?;
            for p in path {
                v = v.get(p)?;
            }
            v.as_str().map(str::to_owned)
        };
        // Keap's two error shapes, as the server writes them (keapsake-types); the loose
        // lookups below catch partial or foreign variants of them.
        let fault = serde_json::from_slice::<keapsake_types::ApigeeFault>(&self.body).ok();
        let v1 = serde_json::from_slice::<keapsake_types::V1Error>(&self.body).ok();
        let faultstring = fault
            .as_ref()
            .map(|f| f.fault.faultstring.clone())
            .or_else(|| field(&["fault", "faultstring"]));
        let errorcode = fault
            .map(|f| f.fault.detail.errorcode)
            .or_else(|| field(&["fault", "detail", "errorcode"]));
        let message = v1
            .map(|e| e.message)
            .or_else(|| faultstring.clone())
            .or_else(|| field(&["error_description"]))
            .or_else(|| field(&["error"]))
            .unwrap_or_else(|| self.fallback_message());
        match status {
            s if (200..300).contains(&s) => Error::unexpected(s, "success status, no error"),
            400 | 422 => Error::Validation { status, message },
            401 => Error::Auth {
                status,
                message,
                errorcode,
            },
            404 => Error::NotFound { message },
            429 => Error::RateLimited {
                retry_after: self.retry_after(),
                errorcode,
                message,
                quota: Box::new(self.quota.clone()),
            },
            _ => Error::Api { status, message },
        }
    }

    fn fallback_message(&self) -> String {
        let text = String::from_utf8_lossy(&self.body);
        let text = text.trim();
        let reason = self.status.canonical_reason().unwrap_or("error").to_owned();
        if text.is_empty() || text.starts_with('<') {
            // Keap's gateway answers some errors with an HTML page; it says nothing useful.
            reason
        } else {
            text.chars().take(200).collect()
        }
    }

    /// True for the gateway's 401 saying the access token expired (`keap/oauth.md` §6).
    pub(crate) fn is_expired_token_fault(&self) -> bool {
        matches!(self.to_error(), Error::Auth { errorcode: Some(c), .. } if c.ends_with("access_token_expired"))
            || matches!(self.to_error(), Error::Auth { message, .. } if message.eq_ignore_ascii_case("Access Token expired"))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use reqwest::header::RETRY_AFTER;

    fn with_retry_after(v: &'static str) -> RawResponse {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_static(v));
        RawResponse::new(
            StatusCode::TOO_MANY_REQUESTS,
            h,
            Url::parse("http://127.0.0.1/").unwrap(),
            Vec::new(),
            Quota::default(),
        )
    }

    #[test]
    fn retry_after_in_seconds_or_as_an_http_date() {
        assert_eq!(
            with_retry_after("120").retry_after(),
            Some(Duration::from_secs(120))
        );
        // A date in the past means "now".
        assert_eq!(
            with_retry_after("Wed, 21 Oct 2015 07:28:00 GMT").retry_after(),
            Some(Duration::ZERO)
        );
        let later = (OffsetDateTime::now_utc() + time::Duration::hours(2))
            .format(&time::format_description::well_known::Rfc2822)
            .unwrap();
        let later: &'static str = Box::leak(later.into_boxed_str());
        let wait = with_retry_after(later).retry_after().unwrap();
        assert!(
            wait > Duration::from_secs(7100) && wait <= Duration::from_secs(7200),
            "{wait:?}"
        );
        assert_eq!(with_retry_after("soon").retry_after(), None);
    }

    #[test]
    fn error_bodies_map_to_variants() {
        let mk = |status: u16, body: &str| {
            RawResponse::new(
                StatusCode::from_u16(status).unwrap(),
                HeaderMap::new(),
                Url::parse("http://127.0.0.1/").unwrap(),
                body.as_bytes().to_vec(),
                Quota::default(),
            )
            .to_error()
        };
        assert!(
            matches!(mk(422, r#"{"message":"bad"}"#), Error::Validation { status: 422, message } if message == "bad")
        );
        assert!(
            matches!(mk(500, ""), Error::Api { status: 500, message } if message == "Internal Server Error")
        );
        assert!(
            matches!(mk(401, "nope"), Error::Auth { errorcode: None, message, .. } if message == "nope")
        );
        assert!(matches!(
            mk(200, "{}"),
            Error::UnexpectedResponse { status: 200, .. }
        ));
    }
}
