//! The one error type of the SDK.
//!
//! Every fallible call returns [`Error`]. Its variants tell apart what a caller branches on:
//! the network failed ([`Error::Transport`]), the token endpoint refused a grant
//! ([`Error::OAuth`], with the RFC 6749 code), the API gateway refused the credential
//! ([`Error::Auth`], with Apigee's `errorcode`), a quota ran out ([`Error::RateLimited`], with the
//! time to wait), the object does not exist ([`Error::NotFound`]), the input was rejected
//! ([`Error::Validation`], with Keap's `message`), or the server answered something the SDK cannot
//! read ([`Error::UnexpectedResponse`], e.g. a truncated JSON body).
//!
//! `Error` is `Clone` (sources are shared behind `Arc`) because one failed token refresh is
//! reported to every caller that was waiting on it.

use std::sync::Arc;
use std::time::Duration;

use crate::quota::Quota;

/// Everything that can go wrong in a call to Keap (or keapsake).
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The request could not be sent or its response could not be read: DNS, connect, TLS,
    /// timeout, or a connection that closed mid-body.
    #[error("transport error: {0}")]
    Transport(#[source] Arc<reqwest::Error>),

    /// The token endpoint (`POST /token`) refused a grant, with an RFC 6749 §5.2 body; or the
    /// authorization redirect came back with an `error` (then `status` is 302).
    ///
    /// `error` is the RFC code: `invalid_grant` (a used, expired or rotated code or refresh
    /// token), `invalid_client`, `invalid_request`, `unsupported_grant_type`, `invalid_scope`…
    /// See [`Error::requires_reauthorization`].
    #[error("OAuth error {error} (HTTP {status}){}", fmt_description(description))]
    OAuth {
        /// HTTP status (400 or 401 from `/token`; 302 for an error on the redirect).
        status: u16,
        /// The RFC 6749 error code, e.g. `invalid_grant`.
        error: String,
        /// `error_description`, when the server sent one.
        description: Option<String>,
    },

    /// The API gateway refused the credential: HTTP 401 with Keap's Apigee fault envelope
    /// (`keap/oauth.md` §6).
    ///
    /// An expired OAuth access token is refreshed and the request retried once before this is
    /// returned.
    #[error("authentication failed (HTTP {status}): {message}")]
    Auth {
        /// HTTP status (401).
        status: u16,
        /// `faultstring`, e.g. `Invalid Access Token`.
        message: String,
        /// `detail.errorcode`, e.g. `keymanagement.service.invalid_access_token`.
        errorcode: Option<String>,
    },

    /// HTTP 429: a quota or throttle ran out, and the SDK's retries did not get through (or the
    /// server asked for a wait longer than [`RetryPolicy::max_retry_after`](crate::RetryPolicy)).
    #[error("rate limited (HTTP 429){}: {message}", fmt_retry_after(retry_after))]
    RateLimited {
        /// The server's `Retry-After`, when it sent one.
        retry_after: Option<Duration>,
        /// The Apigee `errorcode`, e.g. `policies.ratelimit.QuotaViolation`.
        errorcode: Option<String>,
        /// The fault string or message.
        message: String,
        /// The quota headers of the refusing response.
        quota: Box<Quota>,
    },

    /// HTTP 404: the object does not exist (in this account), or the path is unknown.
    #[error("not found: {message}")]
    NotFound {
        /// Keap's `message`, e.g. `Unable to find this Contact`.
        message: String,
    },

    /// HTTP 400 or 422: the request was rejected as invalid.
    #[error("invalid request (HTTP {status}): {message}")]
    Validation {
        /// HTTP status.
        status: u16,
        /// Keap's `message`, e.g. `Contact must contain an e-mail address or phone number`.
        message: String,
    },

    /// Any other non-success status (403, 405, 409, 5xx…).
    #[error("HTTP {status}: {message}")]
    Api {
        /// HTTP status.
        status: u16,
        /// Keap's `message`, or a short description of the body.
        message: String,
    },

    /// The server answered, but not with what the SDK expects: a body that is not valid JSON
    /// (e.g. truncated), JSON of the wrong shape, or a success status with an error body.
    #[error("unexpected response (HTTP {status}): {reason}")]
    UnexpectedResponse {
        /// HTTP status of the response.
        status: u16,
        /// What was wrong. Never contains the body (it may hold tokens or personal data).
        reason: String,
    },

    /// The client is set up for OAuth but holds no token yet: run the authorization flow
    /// ([`Keap::exchange_code`](crate::Keap::exchange_code)) first.
    #[error("no OAuth token: authorize the app first")]
    NoToken,

    /// The [`TokenStore`](crate::TokenStore) failed to load or save a token.
    #[error("token store: {0}")]
    TokenStore(#[source] Arc<crate::token::TokenStoreError>),

    /// The client was built or called with an invalid setting.
    #[error("configuration: {0}")]
    Config(String),

    /// The loopback login helper failed (bind, timeout, malformed redirect).
    #[error("login: {0}")]
    Login(String),
}

fn fmt_description(d: &Option<String>) -> String {
    match d {
        Some(d) => format!(": {d}"),
        None => String::new(),
    }
}

fn fmt_retry_after(d: &Option<Duration>) -> String {
    match d {
        Some(d) => format!(", retry after {}s", d.as_secs()),
        None => String::new(),
    }
}

impl Error {
    /// The HTTP status the server answered with, when there was an answer.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::OAuth { status, .. }
            | Error::Auth { status, .. }
            | Error::Validation { status, .. }
            | Error::Api { status, .. }
            | Error::UnexpectedResponse { status, .. } => Some(*status),
            Error::RateLimited { .. } => Some(429),
            Error::NotFound { .. } => Some(404),
            Error::Transport(e) => e.status().map(|s| s.as_u16()),
            _ => None,
        }
    }

    /// How long the server asked to wait, for [`Error::RateLimited`].
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::RateLimited { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// The RFC 6749 error code, for [`Error::OAuth`].
    pub fn oauth_error(&self) -> Option<&str> {
        match self {
            Error::OAuth { error, .. } => Some(error),
            _ => None,
        }
    }

    /// True when only a new authorization (the browser flow) can fix this: no token is stored,
    /// the token endpoint rejected the refresh token, or the gateway rejected the token as
    /// invalid (not merely expired). (`invalid_client` is not included: a wrong client id or
    /// secret is fixed in configuration, not by logging in again.)
    ///
    /// Keap has answered a dead refresh token both with `invalid_grant` and with
    /// `invalid_request` + "Invalid Refresh Token" (`keap/oauth.md` §4.5); both count.
    pub fn requires_reauthorization(&self) -> bool {
        match self {
            Error::NoToken => true,
            Error::OAuth { error, .. } => {
                error == "invalid_grant"
                    || (error == "invalid_request"
                        && self
                            .oauth_description()
                            .is_some_and(|d| d.to_ascii_lowercase().contains("refresh token")))
            }
            Error::Auth { errorcode, .. } => errorcode.as_deref().is_some_and(|c| {
                c.ends_with("invalid_access_token") || c.ends_with("InvalidAccessToken")
            }),
            _ => false,
        }
    }

    fn oauth_description(&self) -> Option<&str> {
        match self {
            Error::OAuth { description, .. } => description.as_deref(),
            _ => None,
        }
    }

    /// True for [`Error::Transport`] caused by a timeout.
    pub fn is_timeout(&self) -> bool {
        matches!(self, Error::Transport(e) if e.is_timeout())
    }

    pub(crate) fn transport(e: reqwest::Error) -> Self {
        Error::Transport(Arc::new(e))
    }

    pub(crate) fn unexpected(status: u16, reason: impl Into<String>) -> Self {
        Error::UnexpectedResponse {
            status,
            reason: reason.into(),
        }
    }
}

impl From<crate::token::TokenStoreError> for Error {
    fn from(e: crate::token::TokenStoreError) -> Self {
        Error::TokenStore(Arc::new(e))
    }
}

/// `Result` with the SDK's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
