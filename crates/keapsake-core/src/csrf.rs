//! CSRF tokens for the HTML forms (SECURITY.md §4): an HMAC-SHA256, keyed by the session's own
//! random key, over the form's purpose and the pending authorization request. A token minted for
//! one session, one form or one request is useless for any other, and nothing needs storing per
//! form. Compared in constant time.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{KeyInit, Mac};
use sha2::Sha256;

type HmacSha256 = hmac::Hmac<Sha256>;

fn mac(session_key: &[u8], purpose: &str, context: &str) -> HmacSha256 {
    // `new_from_slice` accepts keys of any length for HMAC; an empty key still yields a MAC.
    let mut m = <HmacSha256 as KeyInit>::new_from_slice(session_key).unwrap_or_else(|_| {
        <HmacSha256 as KeyInit>::new_from_slice(&[0u8; 32]).expect("a 32-byte HMAC key is valid")
    });
    m.update(purpose.as_bytes());
    m.update(&[0]);
    m.update(context.as_bytes());
    m
}

/// The token to embed in a form. `purpose` names the form (`login`, `choose`, `consent`, `logout`);
/// `context` binds it to the pending request (the authorize query string).
pub fn token(session_key: &[u8], purpose: &str, context: &str) -> String {
    URL_SAFE_NO_PAD.encode(mac(session_key, purpose, context).finalize().into_bytes())
}

/// Checks a submitted token in constant time.
pub fn verify(session_key: &[u8], purpose: &str, context: &str, submitted: &str) -> bool {
    let Ok(bytes) = URL_SAFE_NO_PAD.decode(submitted) else {
        return false;
    };
    mac(session_key, purpose, context)
        .verify_slice(&bytes)
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_is_bound_to_key_purpose_and_context() {
        let k1 = [1u8; 32];
        let k2 = [2u8; 32];
        let t = token(&k1, "consent", "client_id=a&redirect_uri=b");
        assert!(verify(&k1, "consent", "client_id=a&redirect_uri=b", &t));
        assert!(!verify(&k2, "consent", "client_id=a&redirect_uri=b", &t));
        assert!(!verify(&k1, "login", "client_id=a&redirect_uri=b", &t));
        assert!(!verify(&k1, "consent", "client_id=a&redirect_uri=c", &t));
        assert!(!verify(&k1, "consent", "client_id=a&redirect_uri=b", ""));
        assert!(!verify(&k1, "consent", "client_id=a&redirect_uri=b", "!!!"));
    }
}
