//! Extractors: the resource-API credential ([`Principal`], `keap/oauth.md` §5–§6), JSON bodies
//! with Keap's error shape ([`KeapJson`]), size-limited form bodies, and HTTP Basic client
//! credentials for the OAuth endpoints.

use crate::error::{ApiError, json};
use crate::params::{self, Params};
use crate::state::AppState;
use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use keapsake_core::store::KeyKind;
use keapsake_core::{AccountId, AppId, FamilyId, Secret, StoreError, UserId};
use keapsake_types::ApigeeFault;
use serde::de::DeserializeOwned;

/// Body limit of `/token`, `/oauth/*` and the HTML forms (SECURITY.md §6).
pub const FORM_LIMIT: usize = 64 * 1024;
/// Body limit of REST JSON (SECURITY.md §6).
pub const JSON_LIMIT: usize = 2 * 1024 * 1024;

/// `X-Keap-API-Key`.
pub const API_KEY_HEADER: &str = "x-keap-api-key";

/// Who a resource request acts for. The account (tenant) comes only from the credential
/// (SECURITY.md §5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The account every read and write is confined to.
    pub account_id: AccountId,
    /// The user the credential acts as (`None` for keys not tied to a user).
    pub user_id: Option<UserId>,
    /// How the caller authenticated.
    pub via: Via,
}

/// The kind of credential behind a [`Principal`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Via {
    /// An OAuth access token.
    OAuth {
        /// The client it was issued to.
        app_id: AppId,
        /// The authorization it descends from.
        family_id: FamilyId,
    },
    /// A PAT, SAK or legacy key.
    Key {
        /// Key id.
        id: i64,
        /// PAT, SAK or legacy.
        kind: KeyKind,
        /// Read-only keys may not write.
        read_only: bool,
    },
}

impl Principal {
    /// Whether this credential may write (read-only keys may not).
    pub fn can_write(&self) -> bool {
        !matches!(
            self.via,
            Via::Key {
                read_only: true,
                ..
            }
        )
    }
}

/// Why a credential was refused (`keap/oauth.md` §6).
#[derive(Debug)]
pub enum AuthRejection {
    /// No credential, or an `Authorization` header that is not Bearer.
    Missing,
    /// Unknown or revoked token or key.
    Invalid,
    /// Expired token or key.
    Expired,
    /// The token's app is disabled.
    NotApproved,
    /// The store failed while checking.
    Store(StoreError),
}

impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        let (faultstring, errorcode) = match self {
            Self::Missing => ("Invalid access token", "oauth.v2.InvalidAccessToken"),
            Self::Invalid => (
                "Invalid Access Token",
                "keymanagement.service.invalid_access_token",
            ),
            Self::Expired => (
                "Access Token expired",
                "keymanagement.service.access_token_expired",
            ),
            Self::NotApproved => (
                "Invalid Access Token",
                "keymanagement.service.access_token_not_approved",
            ),
            Self::Store(e) => return ApiError::from(e).into_response(),
        };
        let mut res = json(
            StatusCode::UNAUTHORIZED,
            &ApigeeFault::new(faultstring, errorcode),
        );
        res.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"keapsake\", error=\"invalid_token\""),
        );
        res
    }
}

/// Where the credential was found: the first of `Authorization`, `X-Keap-API-Key`,
/// `access_token` query parameter decides (`keap/oauth.md` §5).
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Presented {
    /// A token to look up.
    Token(String),
    /// None, or an `Authorization` header whose scheme is not Bearer.
    Missing,
}

/// Finds the credential in a request (pure; unit-tested).
pub(crate) fn presented_credential(headers: &HeaderMap, query: Option<&str>) -> Presented {
    if let Some(auth) = headers.get(header::AUTHORIZATION) {
        let Ok(value) = auth.to_str() else {
            return Presented::Missing;
        };
        let value = value.trim();
        let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Presented::Missing;
        }
        return Presented::Token(rest.trim().to_owned());
    }
    if let Some(key) = headers.get(API_KEY_HEADER) {
        return Presented::Token(String::from_utf8_lossy(key.as_bytes()).trim().to_owned());
    }
    if let Some(q) = query {
        let p = Params::parse(q.as_bytes());
        if let Some(t) = p.get_bytes("access_token") {
            return Presented::Token(String::from_utf8_lossy(t).into_owned());
        }
    }
    Presented::Missing
}

/// Resolves a presented token: OAuth access tokens first, then API keys, both by hash.
pub(crate) async fn resolve(state: &AppState, token: &str) -> Result<Principal, AuthRejection> {
    if token.is_empty() {
        return Err(AuthRejection::Invalid);
    }
    let hash = Secret::new(token).hash();
    let now = state.clock.now();
    if let Some(rec) = state
        .store
        .find_access_token(&hash)
        .await
        .map_err(AuthRejection::Store)?
    {
        if rec.revoked {
            return Err(AuthRejection::Invalid);
        }
        if !rec.app_enabled {
            return Err(AuthRejection::NotApproved);
        }
        if now >= rec.expires_at {
            return Err(AuthRejection::Expired);
        }
        return Ok(Principal {
            account_id: rec.grant.account_id,
            user_id: Some(rec.grant.user_id),
            via: Via::OAuth {
                app_id: rec.grant.app_id,
                family_id: rec.grant.family_id,
            },
        });
    }
    if let Some(key) = state
        .store
        .find_api_key(&hash)
        .await
        .map_err(AuthRejection::Store)?
    {
        if key.revoked_at.is_some() {
            return Err(AuthRejection::Invalid);
        }
        if key.expires_at.is_some_and(|e| now >= e) {
            return Err(AuthRejection::Expired);
        }
        return Ok(Principal {
            account_id: key.account_id,
            user_id: key.user_id,
            via: Via::Key {
                id: key.id,
                kind: key.kind,
                read_only: key.read_only,
            },
        });
    }
    Err(AuthRejection::Invalid)
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = AuthRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        // Already resolved by the quota layer (`crate::quota::enforce`): one lookup per request.
        if let Some(principal) = parts.extensions.get::<Principal>() {
            tracing::Span::current().record("account", principal.account_id.0);
            return Ok(principal.clone());
        }
        match presented_credential(&parts.headers, parts.uri.query()) {
            Presented::Missing => Err(AuthRejection::Missing),
            Presented::Token(t) => {
                let principal = resolve(state, &t).await?;
                tracing::Span::current().record("account", principal.account_id.0);
                Ok(principal)
            }
        }
    }
}

/// Reads a whole body up to `limit` bytes; `None` if it is larger (or the stream failed).
pub(crate) async fn read_body(body: Body, limit: usize) -> Option<Bytes> {
    axum::body::to_bytes(body, limit).await.ok()
}

/// A JSON body for REST v1, with Keap's `{"message"}` 400 on anything unparseable (never axum's
/// `text/plain` rejection) and a 2 MiB limit. The `Content-Type` is not checked: Keap clients
/// are inconsistent about it.
#[derive(Debug, Clone)]
pub struct KeapJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for KeapJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let bytes = read_body(req.into_body(), JSON_LIMIT)
            .await
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "The request body is too large",
                )
            })?;
        serde_json::from_slice(&bytes)
            .map(KeapJson)
            .map_err(|_| ApiError::unparseable())
    }
}

/// Client credentials from `Authorization: Basic` (RFC 6749 §2.3.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BasicCredentials {
    /// Id and secret, form-urldecoded after base64 decoding (what RFC 6749 says clients send).
    pub decoded: (String, String),
    /// Id and secret as they came out of base64 (what Keap's pseudo-code sends).
    pub raw: (String, String),
}

/// Outcome of looking for Basic credentials.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Basic {
    /// No `Authorization` header, or another scheme.
    Absent,
    /// Basic, but not `base64(id:secret)` in UTF-8.
    Malformed,
    /// Basic credentials.
    Present(BasicCredentials),
}

/// Parses `Authorization: Basic …` (scheme case-insensitive; padding optional).
pub(crate) fn basic_credentials(headers: &HeaderMap) -> Basic {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Basic::Absent;
    };
    let Ok(value) = value.to_str() else {
        return Basic::Absent;
    };
    let value = value.trim();
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("basic") {
        return Basic::Absent;
    }
    let rest = rest.trim();
    let engine = base64::engine::general_purpose::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    );
    let Ok(bytes) = engine.decode(rest) else {
        return Basic::Malformed;
    };
    let Some(colon) = bytes.iter().position(|b| *b == b':') else {
        return Basic::Malformed;
    };
    let (id, secret) = (&bytes[..colon], &bytes[colon + 1..]);
    let (Ok(raw_id), Ok(raw_secret)) = (std::str::from_utf8(id), std::str::from_utf8(secret))
    else {
        return Basic::Malformed;
    };
    let dec = |b: &[u8]| String::from_utf8(params::decode(b)).ok();
    let (Some(dec_id), Some(dec_secret)) = (dec(id), dec(secret)) else {
        return Basic::Present(BasicCredentials {
            decoded: (raw_id.to_owned(), raw_secret.to_owned()),
            raw: (raw_id.to_owned(), raw_secret.to_owned()),
        });
    };
    Basic::Present(BasicCredentials {
        decoded: (dec_id, dec_secret),
        raw: (raw_id.to_owned(), raw_secret.to_owned()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).expect("header value"));
        }
        h
    }

    #[test]
    fn authorization_header_wins_even_when_invalid() {
        let h = headers(&[("authorization", "Basic abc"), (API_KEY_HEADER, "KeapAK-1")]);
        assert_eq!(
            presented_credential(&h, Some("access_token=x")),
            Presented::Missing
        );
        let h = headers(&[
            ("authorization", "bEaReR tok"),
            (API_KEY_HEADER, "KeapAK-1"),
        ]);
        assert_eq!(
            presented_credential(&h, Some("access_token=x")),
            Presented::Token("tok".into())
        );
    }

    #[test]
    fn key_header_then_query() {
        let h = headers(&[(API_KEY_HEADER, " KeapAK-1 ")]);
        assert_eq!(
            presented_credential(&h, Some("access_token=x")),
            Presented::Token("KeapAK-1".into())
        );
        assert_eq!(
            presented_credential(&HeaderMap::new(), Some("limit=1&access_token=a%2Bb")),
            Presented::Token("a+b".into())
        );
        assert_eq!(
            presented_credential(&HeaderMap::new(), Some("limit=1")),
            Presented::Missing
        );
        assert_eq!(
            presented_credential(&HeaderMap::new(), None),
            Presented::Missing
        );
    }

    #[test]
    fn basic_is_form_decoded_after_base64_and_keeps_the_raw_form() {
        let b64 = base64::engine::general_purpose::STANDARD.encode("my+id:s%3Acr%2Bt");
        let h = headers(&[("authorization", &format!("basic {b64}"))]);
        assert_eq!(
            basic_credentials(&h),
            Basic::Present(BasicCredentials {
                decoded: ("my id".into(), "s:cr+t".into()),
                raw: ("my+id".into(), "s%3Acr%2Bt".into()),
            })
        );
    }

    #[test]
    fn basic_without_padding_or_colon() {
        let b64 = base64::engine::general_purpose::STANDARD_NO_PAD.encode("a:bc");
        let h = headers(&[("authorization", &format!("Basic {b64}"))]);
        assert!(matches!(basic_credentials(&h), Basic::Present(_)));
        let b64 = base64::engine::general_purpose::STANDARD.encode("nocolon");
        let h = headers(&[("authorization", &format!("Basic {b64}"))]);
        assert_eq!(basic_credentials(&h), Basic::Malformed);
        let h = headers(&[("authorization", "Basic !!!")]);
        assert_eq!(basic_credentials(&h), Basic::Malformed);
        let h = headers(&[("authorization", "Bearer x")]);
        assert_eq!(basic_credentials(&h), Basic::Absent);
    }
}
