//! Secrets are types: they print `[redacted]`, have no `Display`, are stored only as a SHA-256
//! [`TokenHash`], and are compared in constant time (SECURITY.md §3).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A secret string: a token, code, key or password as typed or minted. Never logged.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    /// Wraps a string that must stay secret.
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    /// 256 bits from the OS CSPRNG, base64url without padding (43 characters).
    ///
    /// # Panics
    /// If the operating system has no usable random source, which keapsake cannot run without.
    pub fn generate() -> Self {
        Self(URL_SAFE_NO_PAD.encode(random_bytes::<32>()))
    }

    /// `prefix` followed by 25 random bytes as lower-case hex (50 characters): the shape of Keap's
    /// `KeapAK-…` personal access tokens and service account keys (`keap/oauth.md` §8).
    pub fn generate_hex(prefix: &str, bytes: usize) -> Self {
        let mut buf = vec![0u8; bytes];
        fill_random(&mut buf);
        let mut s = String::with_capacity(prefix.len() + bytes * 2);
        s.push_str(prefix);
        for b in buf {
            s.push_str(&format!("{b:02x}"));
        }
        Self(s)
    }

    /// The secret itself. Call sites are few and deliberate: hashing, and handing it once to its owner.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The SHA-256 under which this secret is stored and looked up.
    pub fn hash(&self) -> TokenHash {
        TokenHash::of(&self.0)
    }

    /// Constant-time equality with another secret string.
    pub fn ct_eq(&self, other: &str) -> bool {
        self.0.as_bytes().ct_eq(other.as_bytes()).into()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

/// SHA-256 of a secret: the only form in which codes, tokens and keys reach storage.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenHash(pub [u8; 32]);

impl TokenHash {
    /// Hashes a presented secret for lookup.
    pub fn of(secret: &str) -> Self {
        Self(Sha256::digest(secret.as_bytes()).into())
    }

    /// The raw bytes, for storage.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Rebuilds a hash read from storage; `None` if it is not 32 bytes.
    pub fn from_slice(b: &[u8]) -> Option<Self> {
        <[u8; 32]>::try_from(b).ok().map(Self)
    }

    /// Constant-time comparison.
    pub fn ct_eq(&self, other: &TokenHash) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl std::fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // A prefix is enough to tell hashes apart in a test failure and reveals nothing usable.
        write!(
            f,
            "TokenHash({:02x}{:02x}{:02x}…)",
            self.0[0], self.0[1], self.0[2]
        )
    }
}

/// Fills `buf` from the OS CSPRNG.
///
/// # Panics
/// If the OS random source fails: continuing would mint guessable secrets.
pub fn fill_random(buf: &mut [u8]) {
    getrandom::fill(buf).expect("the OS random source must be available to mint secrets");
}

/// `N` random bytes from the OS CSPRNG.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    fill_random(&mut b);
    b
}

/// Constant-time comparison of two byte strings (lengths may leak, contents do not).
pub fn ct_eq_bytes(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secrets_are_256_bit_and_distinct() {
        let a = Secret::generate();
        let b = Secret::generate();
        assert_eq!(a.expose().len(), 43);
        assert_ne!(a.expose(), b.expose());
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let s = Secret::new("hunter2-very-secret");
        assert!(!format!("{s:?}").contains("hunter2"));
    }

    #[test]
    fn keap_key_shape() {
        let k = Secret::generate_hex("KeapAK-", 25);
        assert!(k.expose().starts_with("KeapAK-"));
        assert_eq!(k.expose().len(), 7 + 50);
        assert!(
            k.expose()[7..]
                .chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
    }

    #[test]
    fn hash_is_sha256() {
        // echo -n abc | sha256sum
        let h = TokenHash::of("abc");
        assert_eq!(h.0[0], 0xba);
        assert_eq!(h.0[31], 0xad);
        assert!(h.ct_eq(&TokenHash::of("abc")));
        assert!(!h.ct_eq(&TokenHash::of("abd")));
    }
}
