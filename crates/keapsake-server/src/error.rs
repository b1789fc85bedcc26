//! Error rendering. The HTTP layer alone picks statuses and bodies; causes go to the log.
//!
//! | Type | Where | Body |
//! |---|---|---|
//! | [`OAuthError`] | `/token`, `/oauth/*` | RFC 6749 §5.2 JSON, `keap/oauth.md` §4.5 |
//! | [`ApiError`] | REST v1 | `{"message": …}` (`keap/rest-v1.md` §0.4) |
//! | [`V2Error`] | REST v2 | `{"code","message","status","details"}` (`keap/rest-v2.md` §2.3) |
//! | [`crate::extract::AuthRejection`] | REST 401 | Apigee fault envelope (`keap/oauth.md` §6) |
//! | [`crate::oauth::pages::PageError`] | `/app/oauth/*` | HTML page |

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use keapsake_core::StoreError;
use keapsake_types::{OAuthErrorBody, V1Error};
use serde::Serialize;
use std::borrow::Cow;

/// `Content-Type` of every `/token` response, exactly as Keap sends it (`keap/oauth.md` §4.4).
pub const OAUTH_JSON: &str = "application/json;charset=UTF-8";

/// Serialises `body` as an OAuth endpoint response: `application/json;charset=UTF-8`,
/// `Cache-Control: no-store`, `Pragma: no-cache`.
pub fn oauth_json(status: StatusCode, body: &impl Serialize) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_else(|_| b"{}".to_vec());
    let mut res = (status, bytes).into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(OAUTH_JSON));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    res
}

/// Serialises `body` as plain `application/json`.
pub fn json(status: StatusCode, body: &impl Serialize) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_else(|_| b"{}".to_vec());
    let mut res = (status, bytes).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    res
}

/// An RFC 6749 §5.2 error from an OAuth endpoint.
#[derive(Debug, Clone)]
pub struct OAuthError {
    /// HTTP status.
    pub status: StatusCode,
    /// The `error` code.
    pub error: &'static str,
    /// The `error_description`.
    pub description: Cow<'static, str>,
    /// Add `WWW-Authenticate: Basic realm="keapsake"` (the client authenticated with Basic).
    pub basic_challenge: bool,
    /// `Retry-After` seconds (429 after too many failed client authentications). A 503 always
    /// says 1.
    pub retry_after: Option<u64>,
}

impl OAuthError {
    fn new(
        status: StatusCode,
        error: &'static str,
        description: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self {
            status,
            error,
            description: description.into(),
            basic_challenge: false,
            retry_after: None,
        }
    }

    /// 400 `invalid_request`.
    pub fn invalid_request(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }

    /// The body Keap answers a non-form body or a missing `grant_type` with (`keap/oauth.md` §4.5).
    pub fn grant_type_required() -> Self {
        Self::invalid_request("response_type or grant_type is required")
    }

    /// 401 `invalid_client`; `basic` adds the `WWW-Authenticate` challenge.
    pub fn invalid_client(basic: bool) -> Self {
        Self {
            basic_challenge: basic,
            ..Self::new(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "Client authentication failed",
            )
        }
    }

    /// 429 `invalid_request` with `Retry-After`: too many failed client authentications from
    /// this address (SECURITY.md §9). RFC 6749 has no error code for this; the body keeps its
    /// shape so clients that parse every answer as JSON keep working.
    pub fn too_many_attempts(retry_after: u64) -> Self {
        Self {
            retry_after: Some(retry_after),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "invalid_request",
                format!(
                    "Too many failed client authentications; try again in {}",
                    crate::throttle::seconds_text(retry_after)
                ),
            )
        }
    }

    /// 400 `invalid_grant`.
    pub fn invalid_grant(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_grant", description)
    }

    /// 400 `unsupported_grant_type`.
    pub fn unsupported_grant_type() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "Only authorization_code and refresh_token are supported",
        )
    }

    /// 400 `invalid_scope`.
    pub fn invalid_scope() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            "The only scope is full",
        )
    }

    /// 413 `invalid_request` for a body over the limit.
    pub fn too_large() -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_request",
            "The request body is too large",
        )
    }

    /// 503 `temporarily_unavailable`.
    pub fn busy() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            "The server is busy; try again",
        )
    }

    /// 500 `server_error`.
    pub fn server_error() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "The server could not complete the request",
        )
    }
}

impl From<StoreError> for OAuthError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Busy(_) => {
                tracing::warn!(error = %e, "store busy");
                Self::busy()
            }
            e => {
                tracing::error!(error = %e, source = ?std::error::Error::source(&e), "store failure");
                Self::server_error()
            }
        }
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let mut res = oauth_json(
            self.status,
            &OAuthErrorBody {
                error: self.error.to_owned(),
                error_description: Some(self.description.into_owned()),
            },
        );
        if self.basic_challenge {
            res.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"keapsake\""),
            );
        }
        if let Some(secs) = self.retry_after {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        } else if self.status == StatusCode::SERVICE_UNAVAILABLE {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        res
    }
}

/// A REST v1 error: `{"message": …}`.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// The message.
    pub message: Cow<'static, str>,
}

impl ApiError {
    /// An error with this status and message.
    pub fn new(status: StatusCode, message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    /// 400 with a validation message.
    pub fn bad_request(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// 400 for a body that is not the JSON expected (`keap/rest-v1.md` §0.4 wording).
    pub fn unparseable() -> Self {
        Self::bad_request("Input could not be converted to a valid request")
    }

    /// 404 `Not Found` (unknown path).
    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "Not Found")
    }

    /// 403 with a message.
    pub fn forbidden(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::FORBIDDEN, message)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => Self::not_found(),
            StoreError::Conflict { what } => Self::bad_request(format!("{what} already exists")),
            StoreError::Busy(_) => {
                tracing::warn!(error = %e, "store busy");
                Self::new(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable")
            }
            e => {
                tracing::error!(error = %e, source = ?std::error::Error::source(&e), "store failure");
                Self::new(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        json(
            self.status,
            &V1Error {
                message: self.message.into_owned(),
            },
        )
    }
}

/// One entry of a v2 error's `details`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct V2ErrorDetail {
    /// The resource family, e.g. `contacts`.
    pub domain: String,
    /// The resource, e.g. the id.
    pub resource: String,
}

/// REST v2 error body (`keap/rest-v2.md` §2.3). Not in `keapsake-types` yet, so it lives here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct V2ErrorBody {
    /// HTTP status as a number.
    pub code: u16,
    /// Human-readable text.
    pub message: String,
    /// google.rpc canonical code name, e.g. `NOT_FOUND`.
    pub status: String,
    /// Which resource.
    pub details: Vec<V2ErrorDetail>,
}

/// A REST v2 error.
#[derive(Debug, Clone)]
pub struct V2Error {
    /// HTTP status.
    pub status: StatusCode,
    /// Message.
    pub message: Cow<'static, str>,
    /// Details.
    pub details: Vec<V2ErrorDetail>,
    /// The google.rpc name when it is not the status's usual one (`FAILED_PRECONDITION` is a
    /// 409 like `ALREADY_EXISTS`).
    pub canonical: Option<&'static str>,
}

impl V2Error {
    /// An error with no details.
    pub fn new(status: StatusCode, message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            status,
            message: message.into(),
            details: Vec::new(),
            canonical: None,
        }
    }

    /// 409 `FAILED_PRECONDITION`: the record is in a state that forbids the operation.
    pub fn failed_precondition(message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            canonical: Some("FAILED_PRECONDITION"),
            ..Self::new(StatusCode::CONFLICT, message)
        }
    }

    /// 404 for an unknown path.
    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "Not Found")
    }

    /// 400 `INVALID_ARGUMENT` with a validation message.
    pub fn bad_request(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// 403 `PERMISSION_DENIED`.
    pub fn forbidden(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::FORBIDDEN, message)
    }

    /// 404 `NOT_FOUND` for a record: `"<Kind> <id> not found"` with the detail
    /// `{"domain": <domain>, "resource": "<id>"}` (`keap/rest-v2.md` §2.3).
    pub fn missing(kind: &str, domain: &str, id: i64) -> Self {
        Self::new(StatusCode::NOT_FOUND, format!("{kind} {id} not found"))
            .with_detail(domain, id.to_string())
    }

    /// 409 `ALREADY_EXISTS` / `FAILED_PRECONDITION`-style conflicts.
    pub fn conflict(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::CONFLICT, message)
    }

    /// 501 `UNIMPLEMENTED`: an operation of Keap's spec keapsake does not implement.
    pub fn unimplemented(operation: &str, domain: &str) -> Self {
        Self::new(
            StatusCode::NOT_IMPLEMENTED,
            format!("{operation} is not implemented in keapsake"),
        )
        .with_detail(domain, operation)
    }

    /// Adds a `details` entry.
    #[must_use]
    pub fn with_detail(mut self, domain: impl Into<String>, resource: impl Into<String>) -> Self {
        self.details.push(V2ErrorDetail {
            domain: domain.into(),
            resource: resource.into(),
        });
        self
    }

    /// The google.rpc name for a status (`keap/rest-v2.md` §2.3).
    pub fn status_name(status: StatusCode) -> &'static str {
        match status.as_u16() {
            400 | 413 => "INVALID_ARGUMENT",
            401 => "UNAUTHENTICATED",
            403 => "PERMISSION_DENIED",
            404 => "NOT_FOUND",
            405 => "METHOD_NOT_ALLOWED",
            408 | 504 => "DEADLINE_EXCEEDED",
            409 => "ALREADY_EXISTS",
            429 => "RESOURCE_EXHAUSTED",
            501 => "UNIMPLEMENTED",
            503 => "UNAVAILABLE",
            _ => "INTERNAL",
        }
    }
}

impl From<StoreError> for V2Error {
    fn from(e: StoreError) -> Self {
        if let StoreError::Conflict { what } = &e {
            return Self::conflict(format!("{what} already exists"));
        }
        let v1 = ApiError::from(e);
        Self::new(v1.status, v1.message)
    }
}

impl From<ApiError> for V2Error {
    /// Errors of helpers shared with v1 (body reading, address status lookups), in v2's shape.
    fn from(e: ApiError) -> Self {
        Self::new(e.status, e.message)
    }
}

impl IntoResponse for V2Error {
    fn into_response(self) -> Response {
        json(
            self.status,
            &V2ErrorBody {
                code: self.status.as_u16(),
                message: self.message.into_owned(),
                status: self
                    .canonical
                    .unwrap_or_else(|| Self::status_name(self.status))
                    .to_owned(),
                details: self.details,
            },
        )
    }
}

/// Which error dialect a path speaks, for responses produced outside a handler (fallbacks,
/// timeouts, body limits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// `/token`, `/oauth/*`, `/.well-known/*`.
    OAuth,
    /// `/crm/rest/v1/*` and anything unknown.
    V1,
    /// `/crm/rest/v2/*`.
    V2,
    /// `/app/oauth/*`, `/demo/*`: HTML pages.
    Html,
}

impl Shape {
    /// The dialect of `path`.
    pub fn for_path(path: &str) -> Self {
        if path == "/token" || path.starts_with("/token/") || path.starts_with("/oauth/") {
            Self::OAuth
        } else if path.starts_with("/crm/rest/v2") {
            Self::V2
        } else if path.starts_with("/app/") || path.starts_with("/demo/") {
            Self::Html
        } else {
            Self::V1
        }
    }

    /// An error response in this dialect.
    pub fn error(self, status: StatusCode, message: &'static str) -> Response {
        match self {
            Self::OAuth => {
                let error = match status.as_u16() {
                    500 => "server_error",
                    503 | 408 => "temporarily_unavailable",
                    _ => "invalid_request",
                };
                OAuthError::new(status, error, message).into_response()
            }
            Self::V1 => ApiError::new(status, message).into_response(),
            Self::V2 => V2Error::new(status, message).into_response(),
            Self::Html => {
                crate::oauth::pages::PageError::new(status, "Something went wrong", message)
                    .into_response()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_by_path() {
        assert_eq!(Shape::for_path("/token"), Shape::OAuth);
        assert_eq!(Shape::for_path("/oauth/revoke"), Shape::OAuth);
        assert_eq!(Shape::for_path("/crm/rest/v2/contacts"), Shape::V2);
        assert_eq!(Shape::for_path("/crm/rest/v1/contacts"), Shape::V1);
        assert_eq!(Shape::for_path("/app/oauth/authorize"), Shape::Html);
        assert_eq!(Shape::for_path("/tokenx"), Shape::V1);
    }
}
