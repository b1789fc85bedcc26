//! OAuth tokens and where they are kept between runs.
//!
//! Keap rotates refresh tokens: every refresh returns a new one and the presented one stops
//! working at once (`keap/oauth.md` §4.3). A refresh token that is not saved before the process
//! dies is lost, and with it the grant. The client therefore saves every token it receives through
//! the [`TokenStore`] **before** it uses the new access token for anything.
//!
//! Two stores ship: [`MemoryTokenStore`] (tests, short-lived tools) and [`FileTokenStore`] (a JSON
//! file written atomically with mode 0600). Implement [`TokenStore`] to keep tokens elsewhere.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::future::BoxFuture;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// An OAuth token pair as issued by `POST /token`, with its expiry made absolute.
///
/// `Debug` prints the secrets redacted; there is no `Display`.
#[derive(Clone)]
pub struct Token {
    access_token: SecretString,
    refresh_token: Option<SecretString>,
    expires_at: Option<OffsetDateTime>,
    issued_at: Option<OffsetDateTime>,
    scope: Option<String>,
}

impl Token {
    /// A token from its parts. `expires_at` is `None` when the server did not say.
    pub fn new(
        access_token: impl Into<String>,
        refresh_token: Option<String>,
        expires_at: Option<OffsetDateTime>,
    ) -> Self {
        Token {
            access_token: SecretString::from(access_token.into()),
            refresh_token: refresh_token.map(SecretString::from),
            expires_at,
            issued_at: None,
            scope: None,
        }
    }

    /// The same token, noting when it was issued. With it, the client never refreshes earlier
    /// than half-way through the token's life, even when the lifetime is shorter than the
    /// refresh margin.
    pub fn with_issued_at(mut self, issued_at: OffsetDateTime) -> Self {
        self.issued_at = Some(issued_at);
        self
    }

    /// When the token was issued, when known.
    pub fn issued_at(&self) -> Option<OffsetDateTime> {
        self.issued_at
    }

    /// Whether the client should refresh now: the token expires within `margin`, the margin
    /// being capped at half the token's lifetime when its issue time is known.
    pub(crate) fn refresh_due(&self, now: OffsetDateTime, margin: Duration) -> bool {
        let margin = match (self.issued_at, self.expires_at) {
            (Some(i), Some(e)) if e > i => {
                let half = Duration::try_from((e - i) / 2).unwrap_or(Duration::ZERO);
                margin.min(half)
            }
            _ => margin,
        };
        self.expires_within(now, margin)
    }

    /// The same token with its `scope` (Keap: `full|<account host>`).
    pub fn with_scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = Some(scope.into());
        self
    }

    /// The bearer access token.
    pub fn access_token(&self) -> &SecretString {
        &self.access_token
    }

    /// The refresh token, when one was issued.
    pub fn refresh_token(&self) -> Option<&SecretString> {
        self.refresh_token.as_ref()
    }

    /// When the access token expires, computed from `expires_in` at receipt.
    pub fn expires_at(&self) -> Option<OffsetDateTime> {
        self.expires_at
    }

    /// The granted scope, e.g. `full|ab123.infusionsoft.com`.
    pub fn scope(&self) -> Option<&str> {
        self.scope.as_deref()
    }

    /// The account the grant is for: the part of the scope after `|`, e.g.
    /// `ab123.infusionsoft.com` (`keap/oauth.md` §4.4).
    pub fn account(&self) -> Option<&str> {
        self.scope.as_deref()?.split_once('|').map(|(_, a)| a)
    }

    /// True when the access token expires before `now + margin`. A token without a known expiry
    /// never counts as expiring; the SDK then relies on the server's 401.
    pub fn expires_within(&self, now: OffsetDateTime, margin: Duration) -> bool {
        self.expires_at.is_some_and(|e| now + margin >= e)
    }

    /// The token as JSON, **secrets in clear**: what [`FileTokenStore`] writes. For custom
    /// stores; never log it.
    ///
    /// # Errors
    ///
    /// Only if serialisation fails, which it does not for this shape.
    pub fn to_json(&self) -> Result<String, TokenStoreError> {
        let stored = StoredToken {
            access_token: self.access_token.expose_secret().to_owned(),
            refresh_token: self
                .refresh_token
                .as_ref()
                .map(|t| t.expose_secret().to_owned()),
            expires_at: self.expires_at.and_then(|e| e.format(&Rfc3339).ok()),
            issued_at: self.issued_at.and_then(|e| e.format(&Rfc3339).ok()),
            scope: self.scope.clone(),
            token_type: "bearer".to_owned(),
        };
        Ok(serde_json::to_string_pretty(&stored)?)
    }

    /// Reads what [`Token::to_json`] wrote.
    ///
    /// # Errors
    ///
    /// [`TokenStoreError::Format`] when the JSON is malformed or lacks `access_token`.
    pub fn from_json(json: &str) -> Result<Token, TokenStoreError> {
        let s: StoredToken = serde_json::from_str(json)?;
        let time = |what: &str,
                    v: Option<String>|
         -> Result<Option<OffsetDateTime>, TokenStoreError> {
            match v {
                Some(e) => Ok(Some(OffsetDateTime::parse(&e, &Rfc3339).map_err(
                    |err| {
                        TokenStoreError::Other(format!("bad {what} in stored token: {err}").into())
                    },
                )?)),
                None => Ok(None),
            }
        };
        Ok(Token {
            access_token: SecretString::from(s.access_token),
            refresh_token: s.refresh_token.map(SecretString::from),
            expires_at: time("expires_at", s.expires_at)?,
            issued_at: time("issued_at", s.issued_at)?,
            scope: s.scope,
        })
    }

    pub(crate) fn same_refresh_token(&self, other: &Token) -> bool {
        match (&self.refresh_token, &other.refresh_token) {
            (Some(a), Some(b)) => a.expose_secret() == b.expose_secret(),
            (None, None) => self.access_token.expose_secret() == other.access_token.expose_secret(),
            _ => false,
        }
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token")
            .field("access_token", &"[redacted]")
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "[redacted]"),
            )
            .field("expires_at", &self.expires_at)
            .field("issued_at", &self.issued_at)
            .field("scope", &self.scope)
            .finish()
    }
}

#[derive(Serialize, Deserialize)]
struct StoredToken {
    access_token: String,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    expires_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    issued_at: Option<String>,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    token_type: String,
}

/// Why a [`TokenStore`] failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TokenStoreError {
    /// Reading or writing the backing file failed.
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    /// The stored token is not valid JSON of the expected shape.
    #[error("stored token is malformed: {0}")]
    Format(#[from] serde_json::Error),
    /// Anything else (for custom stores).
    #[error("{0}")]
    Other(Box<dyn std::error::Error + Send + Sync>),
}

/// Where the client keeps its token between calls and between runs.
///
/// Contract: [`save`](TokenStore::save) returns only once the token is durable (for a file: on
/// disk, renamed into place); the client saves every new token before it uses it, so a crash right
/// after a refresh never loses the rotated refresh token. [`load`](TokenStore::load) returns the
/// last token saved, or `None`.
///
/// Methods return boxed futures so the trait can be used as `Arc<dyn TokenStore>`. Implement
/// them with `Box::pin(async move { … })`.
pub trait TokenStore: Send + Sync + 'static {
    /// The last token saved, or `None` when there is none.
    fn load(&self) -> BoxFuture<'_, Result<Option<Token>, TokenStoreError>>;

    /// Saves `token` durably, replacing the previous one.
    fn save<'a>(&'a self, token: &'a Token) -> BoxFuture<'a, Result<(), TokenStoreError>>;

    /// Forgets the stored token (logout). Clearing an empty store succeeds.
    fn clear(&self) -> BoxFuture<'_, Result<(), TokenStoreError>>;
}

impl<T: TokenStore + ?Sized> TokenStore for Arc<T> {
    fn load(&self) -> BoxFuture<'_, Result<Option<Token>, TokenStoreError>> {
        (**self).load()
    }
    fn save<'a>(&'a self, token: &'a Token) -> BoxFuture<'a, Result<(), TokenStoreError>> {
        (**self).save(token)
    }
    fn clear(&self) -> BoxFuture<'_, Result<(), TokenStoreError>> {
        (**self).clear()
    }
}

/// A token kept in memory only. Clones share the same slot, so a test can hold one clone and
/// give another to the client.
#[derive(Clone, Default)]
pub struct MemoryTokenStore {
    slot: Arc<Mutex<Option<Token>>>,
}

impl MemoryTokenStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// A store that already holds `token`.
    pub fn with_token(token: Token) -> Self {
        let s = Self::default();
        s.set(Some(token));
        s
    }

    /// The token held now.
    pub fn get(&self) -> Option<Token> {
        self.slot.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Replaces the held token (as another process writing a shared store would).
    pub fn set(&self, token: Option<Token>) {
        *self.slot.lock().unwrap_or_else(|p| p.into_inner()) = token;
    }
}

impl fmt::Debug for MemoryTokenStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryTokenStore")
            .field("token", &self.get())
            .finish()
    }
}

impl TokenStore for MemoryTokenStore {
    fn load(&self) -> BoxFuture<'_, Result<Option<Token>, TokenStoreError>> {
        let t = self.get();
        Box::pin(async move { Ok(t) })
    }
    fn save<'a>(&'a self, token: &'a Token) -> BoxFuture<'a, Result<(), TokenStoreError>> {
        self.set(Some(token.clone()));
        Box::pin(async { Ok(()) })
    }
    fn clear(&self) -> BoxFuture<'_, Result<(), TokenStoreError>> {
        self.set(None);
        Box::pin(async { Ok(()) })
    }
}

/// A token kept in a JSON file.
///
/// Writes are atomic: the token goes to a temporary file in the same directory (created with
/// mode 0600 on Unix), is flushed to disk, then renamed over the target, so a reader never sees
/// a half-written file and a crash leaves either the old or the new token. A missing directory
/// is created (mode 0700 on Unix).
#[derive(Debug, Clone)]
pub struct FileTokenStore {
    path: PathBuf,
}

impl FileTokenStore {
    /// A store backed by the file at `path` (which need not exist yet).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        FileTokenStore { path: path.into() }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn load_file(path: &Path) -> Result<Option<Token>, TokenStoreError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(path)
            && meta.permissions().mode() & 0o077 != 0
        {
            tracing::warn!(path = %path.display(), "token file is readable by other users; it should be mode 0600");
        }
    }
    Token::from_json(&text).map(Some)
}

fn save_file(path: &Path, json: &str) -> Result<(), TokenStoreError> {
    use std::io::Write;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !dir.exists() {
        let mut b = std::fs::DirBuilder::new();
        b.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            b.mode(0o700);
        }
        b.create(&dir)?;
    }
    // tempfile creates the file with mode 0600 on Unix; set it explicitly anyway, since the
    // rename keeps the temp file's mode.
    let mut tmp = tempfile::Builder::new()
        .prefix(".keapsake-token-")
        .suffix(".tmp")
        .tempfile_in(&dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    tmp.write_all(json.as_bytes())?;
    tmp.as_file().sync_all()?;
    tmp.persist(path)
        .map_err(|e| TokenStoreError::Io(e.error))?;
    // Make the rename itself durable (best effort: not every platform can open a directory).
    #[cfg(unix)]
    if let Ok(d) = std::fs::File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, TokenStoreError> + Send + 'static,
) -> Result<T, TokenStoreError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| TokenStoreError::Other(Box::new(e)))?
}

impl TokenStore for FileTokenStore {
    fn load(&self) -> BoxFuture<'_, Result<Option<Token>, TokenStoreError>> {
        let path = self.path.clone();
        Box::pin(blocking(move || load_file(&path)))
    }

    fn save<'a>(&'a self, token: &'a Token) -> BoxFuture<'a, Result<(), TokenStoreError>> {
        let path = self.path.clone();
        let json = token.to_json();
        Box::pin(async move {
            let json = json?;
            blocking(move || save_file(&path, &json)).await
        })
    }

    fn clear(&self) -> BoxFuture<'_, Result<(), TokenStoreError>> {
        let path = self.path.clone();
        Box::pin(blocking(move || match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.into()),
        }))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use time::macros::datetime;

    #[test]
    fn debug_redacts_secrets() {
        let t = Token::new("acc-secret", Some("ref-secret".into()), None);
        let shown = format!("{t:?}");
        assert!(!shown.contains("acc-secret"));
        assert!(!shown.contains("ref-secret"));
        assert!(shown.contains("[redacted]"));
    }

    #[test]
    fn json_round_trip_and_account() {
        let t = Token::new("a", Some("r".into()), Some(datetime!(2030-01-01 0:00 UTC)))
            .with_scope("full|ab123.infusionsoft.com");
        let back = Token::from_json(&t.to_json().unwrap()).unwrap();
        assert_eq!(back.access_token().expose_secret(), "a");
        assert_eq!(back.refresh_token().unwrap().expose_secret(), "r");
        assert_eq!(back.expires_at(), t.expires_at());
        assert_eq!(back.account(), Some("ab123.infusionsoft.com"));
    }

    #[test]
    fn expiry_margin() {
        let t = Token::new("a", None, Some(datetime!(2030-01-01 0:01 UTC)));
        assert!(!t.expires_within(datetime!(2030-01-01 0:00 UTC), Duration::from_secs(30)));
        assert!(t.expires_within(datetime!(2030-01-01 0:00 UTC), Duration::from_secs(60)));
        assert!(
            !Token::new("a", None, None)
                .expires_within(datetime!(2030-01-01 0:00 UTC), Duration::from_secs(60))
        );
    }

    #[test]
    fn a_short_lived_token_is_not_refreshed_before_half_its_life() {
        // 30 s lifetime, 60 s margin: refresh from 15 s on, not at once.
        let t = Token::new("a", None, Some(datetime!(2030-01-01 0:00:30 UTC)))
            .with_issued_at(datetime!(2030-01-01 0:00 UTC));
        let margin = Duration::from_secs(60);
        assert!(!t.refresh_due(datetime!(2030-01-01 0:00:01 UTC), margin));
        assert!(t.refresh_due(datetime!(2030-01-01 0:00:16 UTC), margin));
        // An hour-long token uses the full margin.
        let t = Token::new("a", None, Some(datetime!(2030-01-01 1:00 UTC)))
            .with_issued_at(datetime!(2030-01-01 0:00 UTC));
        assert!(t.refresh_due(datetime!(2030-01-01 0:59:01 UTC), margin));
        assert!(!t.refresh_due(datetime!(2030-01-01 0:58:59 UTC), margin));
    }
}
