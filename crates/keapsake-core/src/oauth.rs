//! OAuth 2.0 rules that do not depend on HTTP: redirect-URI registration and matching, PKCE,
//! scope, client-secret verification, token lifetimes (`keap/oauth.md` §2–§4, SECURITY.md §1–§2).

use crate::password;
use crate::secret::{TokenHash, ct_eq_bytes};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use time::Duration;

/// The only scope Keap has (`oauth.md` §2).
pub const SCOPE_FULL: &str = "full";

/// Why a redirect URI cannot be registered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RedirectUriError {
    /// Not an absolute URI.
    #[error("redirect URI `{0}` is not an absolute URI")]
    NotAbsolute(String),
    /// `http` on a host other than loopback, or another scheme.
    #[error(
        "redirect URI `{0}` must use https (http is allowed only on localhost, 127.0.0.1 and [::1])"
    )]
    Insecure(String),
    /// Has a `#fragment` (RFC 6749 §3.1.2).
    #[error("redirect URI `{0}` must not contain a fragment")]
    Fragment(String),
    /// Contains `*`.
    #[error("redirect URI `{0}` must not contain a wildcard")]
    Wildcard(String),
}

/// Checks a redirect URI offered for registration (SECURITY.md §1): absolute `https`, or `http` on
/// `localhost`/`127.0.0.1`/`[::1]`; no fragment; no wildcard.
///
/// # Errors
/// The first rule the URI breaks.
pub fn validate_redirect_registration(uri: &str) -> Result<(), RedirectUriError> {
    if uri.contains('#') {
        return Err(RedirectUriError::Fragment(uri.into()));
    }
    if uri.contains('*') {
        return Err(RedirectUriError::Wildcard(uri.into()));
    }
    let parsed = url::Url::parse(uri).map_err(|_| RedirectUriError::NotAbsolute(uri.into()))?;
    if parsed.cannot_be_a_base() || parsed.host_str().is_none() {
        return Err(RedirectUriError::NotAbsolute(uri.into()));
    }
    match parsed.scheme() {
        "https" => Ok(()),
        "http" => match parsed.host() {
            Some(url::Host::Domain("localhost")) => Ok(()),
            Some(url::Host::Ipv4(ip)) if ip.is_loopback() => Ok(()),
            Some(url::Host::Ipv6(ip)) if ip.is_loopback() => Ok(()),
            _ => Err(RedirectUriError::Insecure(uri.into())),
        },
        _ => Err(RedirectUriError::Insecure(uri.into())),
    }
}

/// Whether `presented` is byte-for-byte one of `registered`. No normalisation of any kind: case,
/// trailing slash, percent-encoding, default port and loopback port all count (SECURITY.md §1).
pub fn redirect_matches(registered: &[String], presented: &str) -> bool {
    registered
        .iter()
        .any(|r| r.len() == presented.len() && ct_eq_bytes(r.as_bytes(), presented.as_bytes()))
}

/// A `code_challenge_method` other than `S256` or `plain`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("code_challenge_method must be S256 or plain")]
pub struct UnknownPkceMethod;

/// PKCE method (RFC 7636). keapsake accepts both; Keap documents neither.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PkceMethod {
    /// `BASE64URL(SHA256(verifier)) == challenge`.
    S256,
    /// `verifier == challenge`.
    Plain,
}

impl PkceMethod {
    /// Parses `code_challenge_method`; absent means `plain` (RFC 7636 §4.3).
    ///
    /// # Errors
    /// [`UnknownPkceMethod`] for any other value: the caller answers `invalid_request`.
    pub fn parse(s: Option<&str>) -> Result<Self, UnknownPkceMethod> {
        match s {
            None | Some("plain") => Ok(Self::Plain),
            Some("S256") => Ok(Self::S256),
            Some(_) => Err(UnknownPkceMethod),
        }
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::S256 => "S256",
            Self::Plain => "plain",
        }
    }
}

/// Whether a string is a well-formed PKCE verifier or challenge: 43–128 characters of
/// `[A-Za-z0-9-._~]` (RFC 7636 §4.1).
pub fn is_pkce_string(s: &str) -> bool {
    (43..=128).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// Checks a `code_verifier` against the stored challenge, in constant time.
pub fn pkce_verify(method: PkceMethod, challenge: &str, verifier: &str) -> bool {
    if !is_pkce_string(verifier) {
        return false;
    }
    match method {
        PkceMethod::Plain => ct_eq_bytes(challenge.as_bytes(), verifier.as_bytes()),
        PkceMethod::S256 => {
            let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
            ct_eq_bytes(challenge.as_bytes(), computed.as_bytes())
        }
    }
}

/// Parses the `scope` request parameter: absent or empty means `full`; anything else but `full`
/// is refused. Keap's own `full|host` form (what `/token` returns) is accepted back, as some
/// clients echo it.
pub fn scope_is_acceptable(scope: Option<&str>) -> bool {
    match scope {
        None => true,
        Some(s) => {
            let s = s.trim();
            s.is_empty()
                || s == SCOPE_FULL
                || s.split('|').next() == Some(SCOPE_FULL) && !s.contains(' ')
        }
    }
}

/// The `scope` string returned by `/token`: `full|<alias>.<domain>` (`oauth.md` §4.4).
pub fn scope_for(account_alias: &str, app_domain: &str) -> String {
    format!("{SCOPE_FULL}|{account_alias}.{app_domain}")
}

/// How a client secret is stored: generated secrets (256 bits) as SHA-256, operator-chosen ones
/// as Argon2id (SECURITY.md §3).
pub fn hash_client_secret(secret: &str, generated: bool) -> Result<String, password::HashError> {
    if generated {
        Ok(format!("sha256:{}", hex(TokenHash::of(secret).as_bytes())))
    } else {
        password::hash_password(secret)
    }
}

/// Verifies a presented client secret against its stored form, in constant time.
pub fn verify_client_secret(presented: &str, stored: &str) -> bool {
    if let Some(hex_hash) = stored.strip_prefix("sha256:") {
        let computed = hex(TokenHash::of(presented).as_bytes());
        ct_eq_bytes(computed.as_bytes(), hex_hash.as_bytes())
    } else {
        password::verify_password(presented, stored)
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Token lifetimes. Defaults: access 3600 s (Keap's docs), refresh 45 days (Keap staff), code 10 min
/// (RFC 6749 §4.1.2), refresh-reuse grace 60 s (`oauth.md` §4.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetimes {
    /// Access-token lifetime.
    pub access: Duration,
    /// Refresh-token lifetime.
    pub refresh: Duration,
    /// Authorization-code lifetime.
    pub code: Duration,
    /// A rotated refresh token replayed within this window is refused without revoking its family.
    pub refresh_reuse_grace: Duration,
}

impl Default for Lifetimes {
    fn default() -> Self {
        Self {
            access: Duration::seconds(3600),
            refresh: Duration::days(45),
            code: Duration::minutes(10),
            refresh_reuse_grace: Duration::seconds(60),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registration_accepts_https_and_loopback_http_only() {
        assert!(validate_redirect_registration("https://app.example.com/cb").is_ok());
        assert!(validate_redirect_registration("http://localhost:8080/cb").is_ok());
        assert!(validate_redirect_registration("http://127.0.0.1/cb").is_ok());
        assert!(validate_redirect_registration("http://[::1]:9/cb").is_ok());
        assert!(matches!(
            validate_redirect_registration("http://app.example.com/cb"),
            Err(RedirectUriError::Insecure(_))
        ));
        assert!(matches!(
            validate_redirect_registration("https://app.example.com/cb#x"),
            Err(RedirectUriError::Fragment(_))
        ));
        assert!(matches!(
            validate_redirect_registration("https://*.example.com/cb"),
            Err(RedirectUriError::Wildcard(_))
        ));
        assert!(validate_redirect_registration("/cb").is_err());
        assert!(validate_redirect_registration("javascript:alert(1)").is_err());
    }

    #[test]
    fn redirect_matching_is_byte_equal() {
        let reg = vec!["https://app.example.com/cb?x=1".to_string()];
        assert!(redirect_matches(&reg, "https://app.example.com/cb?x=1"));
        for near in [
            "https://app.example.com/cb?x=1/",
            "https://APP.example.com/cb?x=1",
            "https://app.example.com:443/cb?x=1",
            "https://app.example.com/%63b?x=1",
            "https://app.example.com/./cb?x=1",
            "https://app.example.com/cb?x=1&y=2",
            "https://app.example.com/cb",
            "",
        ] {
            assert!(!redirect_matches(&reg, near), "{near} must not match");
        }
    }

    #[test]
    fn pkce_s256_matches_an_independent_computation() {
        let verifier = "dBjftJeZ4CVP-mJ92K1zD9-8LN_wFprmPYomnYfU9sWw";
        // Computed with Python: base64.urlsafe_b64encode(hashlib.sha256(v).digest()).rstrip(b"=")
        let challenge = "uWs1oFjgpXikBAGjr9O-zdM8WpWTE_thmS3E9XiGJQE";
        assert!(pkce_verify(PkceMethod::S256, challenge, verifier));
        assert!(!pkce_verify(
            PkceMethod::S256,
            challenge,
            &verifier.replace('d', "e")
        ));
        assert!(!pkce_verify(PkceMethod::Plain, challenge, verifier));
        assert!(pkce_verify(PkceMethod::Plain, verifier, verifier));
        assert!(!pkce_verify(PkceMethod::Plain, "short", "short"));
    }

    #[test]
    fn pkce_methods() {
        assert_eq!(PkceMethod::parse(None), Ok(PkceMethod::Plain));
        assert_eq!(PkceMethod::parse(Some("S256")), Ok(PkceMethod::S256));
        assert_eq!(PkceMethod::parse(Some("s256")), Err(UnknownPkceMethod));
        assert!(PkceMethod::parse(Some("S512")).is_err());
    }

    #[test]
    fn scope_rules() {
        assert!(scope_is_acceptable(None));
        assert!(scope_is_acceptable(Some("")));
        assert!(scope_is_acceptable(Some("full")));
        assert!(scope_is_acceptable(Some("full|ab123.infusionsoft.com")));
        assert!(!scope_is_acceptable(Some("openid")));
        assert!(!scope_is_acceptable(Some("full openid")));
        assert_eq!(
            scope_for("ab123", "infusionsoft.com"),
            "full|ab123.infusionsoft.com"
        );
    }

    #[test]
    fn client_secrets_verify_in_both_forms() {
        let g = hash_client_secret("s3cret", true).expect("hash");
        assert!(g.starts_with("sha256:"));
        assert!(verify_client_secret("s3cret", &g));
        assert!(!verify_client_secret("s3creT", &g));
        let a = hash_client_secret("chosen", false).expect("hash");
        assert!(verify_client_secret("chosen", &a));
        assert!(!verify_client_secret("chosen!", &a));
    }
}
