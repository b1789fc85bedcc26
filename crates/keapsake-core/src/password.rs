//! Argon2id for user passwords and client secrets chosen by operators.
//!
//! Hashing is CPU-bound (tens of milliseconds): callers on an async runtime run these functions in
//! `spawn_blocking` behind a semaphore (SECURITY.md §9).

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};

/// A password hash could not be produced.
#[derive(Debug, thiserror::Error)]
#[error("could not hash the password: {0}")]
pub struct HashError(String);

/// Hashes `password` with Argon2id and a random salt, in PHC string form.
///
/// # Errors
/// Only if Argon2 rejects its parameters, which the defaults never do.
pub fn hash_password(password: &str) -> Result<String, HashError> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| HashError(e.to_string()))
}

/// Checks `password` against a PHC hash. A malformed stored hash verifies as `false`.
pub fn verify_password(password: &str, phc: &str) -> bool {
    // `PasswordVerifier<str>` parses the PHC string; a malformed one is an error, hence `false`.
    Argon2::default()
        .verify_password(password.as_bytes(), phc)
        .is_ok()
}

/// A valid hash of a password nobody knows. Verifying against it costs the same as a real check,
/// so an unknown user and a wrong password take the same time (SECURITY.md §4).
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| {
        hash_password(crate::secret::Secret::generate().expose())
            .unwrap_or_else(|_| String::from("$argon2id$v=19$m=19456,t=2,p=1$invalid"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifies_the_right_password_only() {
        let h = hash_password("correct horse").expect("hash");
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("correct horsf", &h));
        assert!(!verify_password("correct horse", "not a hash"));
    }
}
