//! The OAuth 2.0 client side of Keap's authorization server (`keap/oauth.md` §3–§4).
//!
//! Keap's wire contract, which this module follows exactly:
//! - the browser goes to `…/app/oauth/authorize?client_id&redirect_uri&response_type=code&scope=full&state`;
//! - the code exchange posts `grant_type=authorization_code`, `code`, `redirect_uri`, `client_id`
//!   and `client_secret` **in the form body**;
//! - the refresh posts `grant_type=refresh_token` and `refresh_token`, authenticating the app with
//!   **HTTP Basic** `base64(client_id:client_secret)`. The id and secret are not form-encoded
//!   first, as in Keap's PHP SDK and Keap's own pseudo-code (keapsake accepts both forms).
//!
//! PKCE (RFC 7636, `S256`) is optional: Keap ignores it, keapsake honours it.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::error::Error;
use crate::token::Token;

/// A registered OAuth app: what the developer portal (or `keapsake admin`) issued.
#[derive(Clone)]
pub struct OAuthApp {
    pub(crate) client_id: String,
    pub(crate) client_secret: SecretString,
    pub(crate) redirect_uri: String,
}

impl OAuthApp {
    /// An app from its client id, client secret and the redirect URI registered for it.
    pub fn new(
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
        redirect_uri: impl Into<String>,
    ) -> Self {
        OAuthApp {
            client_id: client_id.into(),
            client_secret: SecretString::from(client_secret.into()),
            redirect_uri: redirect_uri.into(),
        }
    }

    /// The public client id.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The registered redirect URI the authorization and the code exchange use.
    pub fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }
}

impl fmt::Debug for OAuthApp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthApp")
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .field("redirect_uri", &self.redirect_uri)
            .finish()
    }
}

/// A PKCE code verifier (RFC 7636): 32 random bytes, base64url. Keep it between building the
/// authorization URL and exchanging the code. `Debug` prints it redacted.
#[derive(Clone)]
pub struct PkceVerifier(SecretString);

impl PkceVerifier {
    /// A fresh random verifier.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] if the operating system's random source fails.
    pub fn generate() -> Result<Self, Error> {
        Ok(PkceVerifier(SecretString::from(random_token(32)?)))
    }

    /// A verifier from a known string (43–128 characters of `[A-Za-z0-9-._~]`).
    pub fn from_string(verifier: impl Into<String>) -> Self {
        PkceVerifier(SecretString::from(verifier.into()))
    }

    /// The `S256` challenge: `base64url(sha256(verifier))`.
    pub fn challenge(&self) -> String {
        URL_SAFE_NO_PAD.encode(Sha256::digest(self.0.expose_secret().as_bytes()))
    }

    /// The verifier itself, sent as `code_verifier` in the code exchange.
    pub fn secret(&self) -> &SecretString {
        &self.0
    }
}

impl fmt::Debug for PkceVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PkceVerifier([redacted])")
    }
}

/// A random, URL-safe `state` value (128 bits) for the authorization request.
///
/// # Errors
///
/// [`Error::Config`] if the operating system's random source fails.
pub fn generate_state() -> Result<String, Error> {
    random_token(16)
}

fn random_token(bytes: usize) -> Result<String, Error> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf)
        .map_err(|e| Error::Config(format!("no randomness available: {e}")))?;
    Ok(URL_SAFE_NO_PAD.encode(&buf))
}

/// The success body of `POST /token`, read tolerantly: only `access_token` is required
/// (`keap/oauth.md` §4.4; `expires_in` is read, never assumed).
#[derive(Deserialize)]
pub(crate) struct TokenBody {
    access_token: String,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default, deserialize_with = "int_or_string")]
    expires_in: Option<i64>,
    #[serde(default)]
    scope: Option<String>,
}

impl TokenBody {
    pub(crate) fn into_token(self, received_at: OffsetDateTime) -> Token {
        let expires_at = self
            .expires_in
            .map(|s| received_at + time::Duration::seconds(s.max(0)));
        let t = Token::new(self.access_token, self.refresh_token, expires_at)
            .with_issued_at(received_at);
        match self.scope {
            Some(s) => t.with_scope(s),
            None => t,
        }
    }
}

fn int_or_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum V {
        I(i64),
        F(f64),
        S(String),
    }
    Ok(match Option::<V>::deserialize(d)? {
        None => None,
        Some(V::I(i)) => Some(i),
        #[allow(clippy::cast_possible_truncation)]
        Some(V::F(f)) => Some(f as i64),
        Some(V::S(s)) => s.trim().parse().ok(),
    })
}

/// RFC 6749 §5.2 error body: the wire type shared with the server.
pub(crate) use keapsake_types::OAuthErrorBody;

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn rfc7636_appendix_b_challenge() {
        let v = PkceVerifier::from_string("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
        assert_eq!(v.challenge(), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    }

    #[test]
    fn generated_values_are_distinct_and_url_safe() {
        let a = generate_state().unwrap();
        let b = generate_state().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 22);
        let v = PkceVerifier::generate().unwrap();
        assert_eq!(v.secret().expose_secret().len(), 43);
        assert!(format!("{v:?}").contains("redacted"));
    }

    #[test]
    fn token_body_tolerates_string_expiry_and_missing_fields() {
        let now = OffsetDateTime::UNIX_EPOCH;
        let b: TokenBody =
            serde_json::from_str(r#"{"access_token":"a","expires_in":"3600","extra":1}"#).unwrap();
        let t = b.into_token(now);
        assert_eq!(t.expires_at().unwrap().unix_timestamp(), 3600);
        assert!(t.refresh_token().is_none());
    }
}
