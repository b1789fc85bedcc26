//! `POST /token` bodies (`keap/oauth.md` §4.4 and §4.5).

use serde::{Deserialize, Serialize};

/// The success body of `POST /token`, for both grants.
///
/// Field order is the order Keap sends (`oauth.md` §4.4).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenResponse {
    /// Opaque bearer token.
    pub access_token: String,
    /// Always lower-case `"bearer"`.
    pub token_type: String,
    /// Lifetime of the access token in seconds (Keap's docs: 3600).
    pub expires_in: i64,
    /// Opaque refresh token; a new one on every issue.
    pub refresh_token: String,
    /// `full|<account>.<domain>`, naming the account the grant is for.
    pub scope: String,
}

impl std::fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenResponse")
            .field("access_token", &"[redacted]")
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .field("refresh_token", &"[redacted]")
            .field("scope", &self.scope)
            .finish()
    }
}

/// RFC 6749 §5.2 error body, used by `/token`, `/oauth/revoke` and `/oauth/introspect`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OAuthErrorBody {
    /// `invalid_request`, `invalid_client`, `invalid_grant`, `unsupported_grant_type`, `invalid_scope`…
    pub error: String,
    /// A human-readable sentence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
}
