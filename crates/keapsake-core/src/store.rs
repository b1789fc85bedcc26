//! The storage contract. One small trait per area; [`Store`] is all of them. The server holds an
//! `Arc<dyn Store>`; SQLite and PostgreSQL implement it, and `keapsake-store-conformance` is the
//! suite both must pass.
//!
//! Rules every implementation keeps:
//! - A method is a whole operation and is atomic inside the implementation; callers never open
//!   transactions. A method returns only after its writes are durable (committed).
//! - Every method that touches tenant data takes an [`AccountId`]; nothing reads across accounts.
//! - Secrets arrive only as [`TokenHash`]es (or Argon2 PHC strings for passwords).
//! - Timestamps are passed in (`now`), never read from a clock inside the store.

use crate::ids::{AccountId, AppId, FamilyId, UserId};
use crate::secret::TokenHash;
use async_trait::async_trait;
use keapsake_types::AccountProfile;
use time::{Duration, OffsetDateTime};

/// What a store operation can fail with. Backend errors never leak their driver type.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The thing addressed does not exist (or belongs to another account, which looks the same).
    #[error("not found")]
    NotFound,
    /// A uniqueness rule was broken; `what` names it for the client ("email", "alias", "client_id").
    #[error("{what} already exists")]
    Conflict {
        /// Which unique value clashed.
        what: String,
    },
    /// The database is overloaded or a transaction kept failing to serialise; try again later (503).
    #[error("storage is busy: {0}")]
    Busy(String),
    /// Anything else from the backend. The HTTP layer logs it and answers 500/503.
    #[error("storage backend error")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Result alias for store methods.
pub type StoreResult<T> = Result<T, StoreError>;

// ---------------------------------------------------------------------------------------------
// Users, accounts, memberships, apps
// ---------------------------------------------------------------------------------------------

/// A user to create. The password is already an Argon2id PHC string.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Login e-mail; unique (ASCII case-insensitive).
    pub email: String,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// First name.
    pub given_name: String,
    /// Last name.
    pub family_name: String,
}

/// A user as stored (without the password hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Global id.
    pub id: UserId,
    /// Login e-mail, as registered.
    pub email: String,
    /// First name.
    pub given_name: String,
    /// Last name.
    pub family_name: String,
    /// When created.
    pub created_at: OffsetDateTime,
}

/// An account (tenant) to create.
#[derive(Debug, Clone)]
pub struct NewAccount {
    /// The Keap app name, e.g. `ab123`: `[a-z0-9]{2,32}`, unique. Appears in the token `scope`.
    pub alias: String,
    /// Business name.
    pub name: String,
}

/// An account (tenant).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// Global id.
    pub id: AccountId,
    /// The Keap app name, e.g. `ab123`.
    pub alias: String,
    /// Business name.
    pub name: String,
    /// When created.
    pub created_at: OffsetDateTime,
}

/// An account as seen by one of its members.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    /// The account.
    pub account: Account,
    /// Whether the user administers it.
    pub is_admin: bool,
}

/// An OAuth client to register.
#[derive(Debug, Clone)]
pub struct NewApp {
    /// Public client id; unique.
    pub client_id: String,
    /// Stored form of the secret (see `oauth::hash_client_secret`).
    pub secret_hash: String,
    /// Display name shown on the consent page.
    pub name: String,
    /// Registered redirect URIs, already validated, matched byte for byte.
    pub redirect_uris: Vec<String>,
}

/// A registered OAuth client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct App {
    /// Internal id.
    pub id: AppId,
    /// Public client id.
    pub client_id: String,
    /// Stored form of the secret.
    pub secret_hash: String,
    /// Display name.
    pub name: String,
    /// Registered redirect URIs.
    pub redirect_uris: Vec<String>,
    /// Disabled apps cannot authorize, exchange, refresh, or use their tokens.
    pub enabled: bool,
    /// When registered.
    pub created_at: OffsetDateTime,
}

/// Users, accounts, memberships and apps: the admin side.
#[async_trait]
pub trait AdminStore: Send + Sync {
    /// Creates a user. Errors: `Conflict { what: "email" }` if the e-mail (ASCII case-folded) exists.
    async fn create_user(&self, user: NewUser, now: OffsetDateTime) -> StoreResult<User>;
    /// Finds a user and their password hash by e-mail, folding ASCII case only.
    async fn find_user_by_email(&self, email: &str) -> StoreResult<Option<(User, String)>>;
    /// Loads a user. Errors: `NotFound`.
    async fn get_user(&self, id: UserId) -> StoreResult<User>;
    /// Every user, by id.
    async fn list_users(&self) -> StoreResult<Vec<User>>;

    /// Creates an account with an empty profile. Errors: `Conflict { what: "alias" }`.
    async fn create_account(
        &self,
        account: NewAccount,
        now: OffsetDateTime,
    ) -> StoreResult<Account>;
    /// Loads an account. Errors: `NotFound`.
    async fn get_account(&self, id: AccountId) -> StoreResult<Account>;
    /// Finds an account by alias.
    async fn find_account_by_alias(&self, alias: &str) -> StoreResult<Option<Account>>;
    /// Every account, by id.
    async fn list_accounts(&self) -> StoreResult<Vec<Account>>;
    /// The account's profile (`GET /account/profile`). Errors: `NotFound`.
    async fn get_profile(&self, account: AccountId) -> StoreResult<AccountProfile>;
    /// Replaces the account's profile. Errors: `NotFound`.
    async fn put_profile(&self, account: AccountId, profile: &AccountProfile) -> StoreResult<()>;

    /// Makes `user` a member of `account` (idempotent; a second call updates `is_admin`).
    /// Errors: `NotFound` if either does not exist.
    async fn add_member(&self, account: AccountId, user: UserId, is_admin: bool)
    -> StoreResult<()>;
    /// The accounts a user may choose at authorize time, by account id.
    async fn memberships(&self, user: UserId) -> StoreResult<Vec<Membership>>;
    /// The user's membership of one account, if any.
    async fn membership(&self, account: AccountId, user: UserId)
    -> StoreResult<Option<Membership>>;

    /// Registers an app. Errors: `Conflict { what: "client_id" }`.
    async fn create_app(&self, app: NewApp, now: OffsetDateTime) -> StoreResult<App>;
    /// Finds an app by its public client id (enabled or not).
    async fn find_app(&self, client_id: &str) -> StoreResult<Option<App>>;
    /// Loads an app by internal id. Errors: `NotFound`.
    async fn get_app(&self, id: AppId) -> StoreResult<App>;
    /// Every app, by id.
    async fn list_apps(&self) -> StoreResult<Vec<App>>;
    /// Replaces an app's secret. Existing tokens stay valid. Errors: `NotFound`.
    async fn set_app_secret(&self, client_id: &str, secret_hash: &str) -> StoreResult<()>;
    /// Enables or disables an app. Errors: `NotFound`.
    async fn set_app_enabled(&self, client_id: &str, enabled: bool) -> StoreResult<()>;
    /// Replaces an app's redirect URIs. Errors: `NotFound`.
    async fn set_app_redirect_uris(&self, client_id: &str, uris: &[String]) -> StoreResult<()>;
}

// ---------------------------------------------------------------------------------------------
// OAuth codes and tokens
// ---------------------------------------------------------------------------------------------

/// An authorization code to store, bound to everything it was issued for (`oauth.md` §3.4).
#[derive(Debug, Clone)]
pub struct NewCode {
    /// SHA-256 of the code.
    pub hash: TokenHash,
    /// The client it was issued to.
    pub app_id: AppId,
    /// Who allowed it.
    pub user_id: UserId,
    /// The account chosen.
    pub account_id: AccountId,
    /// The redirect URI used at authorize, byte for byte.
    pub redirect_uri: String,
    /// Always `full` today.
    pub scope: String,
    /// PKCE challenge, if one was sent.
    pub code_challenge: Option<String>,
    /// `S256` or `plain`, with the challenge.
    pub code_challenge_method: Option<String>,
    /// Issue time.
    pub created_at: OffsetDateTime,
    /// Expiry (issue + 10 min).
    pub expires_at: OffsetDateTime,
}

/// A stored code, as [`OAuthStore::peek_code`] sees it. Every field but `used` is immutable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeRecord {
    /// The client it was issued to.
    pub app_id: AppId,
    /// Who allowed it.
    pub user_id: UserId,
    /// The account chosen.
    pub account_id: AccountId,
    /// The redirect URI used at authorize.
    pub redirect_uri: String,
    /// Scope granted.
    pub scope: String,
    /// PKCE challenge.
    pub code_challenge: Option<String>,
    /// PKCE method.
    pub code_challenge_method: Option<String>,
    /// Expiry.
    pub expires_at: OffsetDateTime,
    /// Whether it has been exchanged.
    pub used: bool,
}

/// A new access and refresh token pair to store.
#[derive(Debug, Clone, Copy)]
pub struct NewTokens {
    /// SHA-256 of the access token.
    pub access_hash: TokenHash,
    /// Access-token expiry.
    pub access_expires_at: OffsetDateTime,
    /// SHA-256 of the refresh token.
    pub refresh_hash: TokenHash,
    /// Refresh-token expiry.
    pub refresh_expires_at: OffsetDateTime,
    /// Now: the issue time, and the instant expiry and single use are judged at.
    pub now: OffsetDateTime,
}

/// Who a grant (family) is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The authorization this belongs to.
    pub family_id: FamilyId,
    /// The client.
    pub app_id: AppId,
    /// The user who allowed it.
    pub user_id: UserId,
    /// The account (tenant) it acts on.
    pub account_id: AccountId,
    /// Scope granted (`full`).
    pub scope: String,
}

/// Outcome of [`OAuthStore::exchange_code`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeExchange {
    /// First use: the code is now used and the tokens are stored (committed).
    Issued(Grant),
    /// Replay of a used code: every token issued from it has now been revoked.
    Replayed,
    /// Unknown, expired, or issued to another app. Nothing was changed.
    Invalid,
}

/// Outcome of [`OAuthStore::rotate_refresh`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotation {
    /// The presented token is now rotated and the new pair is stored (committed).
    Rotated(Grant),
    /// The token was already rotated, within the grace window: refused, nothing revoked.
    RejectedInGrace,
    /// The token was already rotated, after the grace window: its whole family is now revoked.
    Reused,
    /// Unknown, expired, revoked, or issued to another app. Nothing was changed.
    Invalid,
}

/// An access token as looked up for a resource request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessRecord {
    /// Who it acts as.
    pub grant: Grant,
    /// Expiry.
    pub expires_at: OffsetDateTime,
    /// Whether its family was revoked.
    pub revoked: bool,
    /// Whether its app is still enabled.
    pub app_enabled: bool,
}

/// A refresh token as looked up for introspection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshRecord {
    /// Who it acts as.
    pub grant: Grant,
    /// Expiry.
    pub expires_at: OffsetDateTime,
    /// Whether its family was revoked.
    pub revoked: bool,
    /// Whether it was already rotated.
    pub rotated: bool,
}

/// Codes and tokens.
#[async_trait]
pub trait OAuthStore: Send + Sync {
    /// Stores a new authorization code.
    async fn insert_code(&self, code: NewCode) -> StoreResult<()>;

    /// Reads a code without consuming it, to check its immutable bindings (client, redirect URI,
    /// PKCE) before [`exchange_code`](Self::exchange_code). Single use is decided only by
    /// `exchange_code`.
    async fn peek_code(&self, hash: &TokenHash) -> StoreResult<Option<CodeRecord>>;

    /// Consumes a code and issues its first token pair, atomically.
    ///
    /// Contract: one conditional write (`used_at IS NULL AND app = ? AND expires_at > now`) in the
    /// transaction that creates the family and inserts the tokens. Of any number of concurrent
    /// calls with one code, exactly one returns `Issued`. A later call by the same app returns
    /// `Replayed` and has revoked the family the code issued. A call by another app, or after
    /// expiry, returns `Invalid` and changes nothing.
    async fn exchange_code(
        &self,
        hash: &TokenHash,
        app: AppId,
        tokens: NewTokens,
    ) -> StoreResult<CodeExchange>;

    /// Rotates a refresh token, atomically, under a lock on its family.
    ///
    /// Contract: of concurrent calls with one token, exactly one returns `Rotated`. A later call
    /// returns `RejectedInGrace` while `now - rotated_at <= grace`, else `Reused` having revoked
    /// the family (every access and refresh token of it). Another app's token, an expired one, or
    /// one of a revoked family → `Invalid`, unchanged.
    async fn rotate_refresh(
        &self,
        hash: &TokenHash,
        app: AppId,
        grace: Duration,
        tokens: NewTokens,
    ) -> StoreResult<Rotation>;

    /// Looks up an access token for a resource request.
    async fn find_access_token(&self, hash: &TokenHash) -> StoreResult<Option<AccessRecord>>;

    /// Looks up a refresh token (introspection).
    async fn find_refresh_token(&self, hash: &TokenHash) -> StoreResult<Option<RefreshRecord>>;

    /// Revokes the family of the access or refresh token with this hash if it belongs to `app`
    /// (RFC 7009). Returns whether a family was revoked by this call; revoking twice is harmless.
    async fn revoke_token(
        &self,
        hash: &TokenHash,
        app: AppId,
        now: OffsetDateTime,
    ) -> StoreResult<bool>;

    /// How many of the app's families are not revoked and still hold a token (access or refresh)
    /// unexpired at `now` (tests, admin output).
    async fn count_active_families(&self, app: AppId, now: OffsetDateTime) -> StoreResult<i64>;
}

// ---------------------------------------------------------------------------------------------
// Browser sessions (login cookie) for the HTML flow
// ---------------------------------------------------------------------------------------------

/// A browser session. The cookie holds a 256-bit id; only its hash is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// SHA-256 of the cookie value.
    pub id_hash: TokenHash,
    /// Logged-in user, or `None` for a pre-login session (which carries only the CSRF secret).
    pub user_id: Option<UserId>,
    /// Per-session key for CSRF tokens (32 random bytes).
    pub csrf_key: Vec<u8>,
    /// When created (absolute timeout).
    pub created_at: OffsetDateTime,
    /// When last used (idle timeout).
    pub last_seen_at: OffsetDateTime,
}

/// Browser sessions. Stored in the database so several nodes share them.
#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Stores a new session.
    async fn create_session(&self, session: Session) -> StoreResult<()>;
    /// Loads a session by the hash of its cookie.
    async fn get_session(&self, id_hash: &TokenHash) -> StoreResult<Option<Session>>;
    /// Records activity on a session (idle timeout).
    async fn touch_session(&self, id_hash: &TokenHash, now: OffsetDateTime) -> StoreResult<()>;
    /// Deletes a session (logout, or replacement at login). Deleting twice is harmless.
    async fn delete_session(&self, id_hash: &TokenHash) -> StoreResult<()>;
    /// Deletes sessions created before `created_before` or idle since `idle_before`; returns how many.
    async fn purge_sessions(
        &self,
        created_before: OffsetDateTime,
        idle_before: OffsetDateTime,
    ) -> StoreResult<u64>;
}

// ---------------------------------------------------------------------------------------------
// API keys: PAT, SAK, legacy
// ---------------------------------------------------------------------------------------------

/// Kinds of API key (`oauth.md` §8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyKind {
    /// Personal Access Token: acts as its user.
    Pat,
    /// Service Account Key: admin over the account.
    Sak,
    /// Legacy API key ("encrypted key"): admin, XML-RPC first.
    Legacy,
}

impl KeyKind {
    /// Storage and CLI name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pat => "pat",
            Self::Sak => "sak",
            Self::Legacy => "legacy",
        }
    }

    /// Parses [`as_str`](Self::as_str).
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pat" => Some(Self::Pat),
            "sak" => Some(Self::Sak),
            "legacy" => Some(Self::Legacy),
            _ => None,
        }
    }
}

/// An API key to store.
#[derive(Debug, Clone)]
pub struct NewApiKey {
    /// SHA-256 of the key.
    pub hash: TokenHash,
    /// A short, non-secret prefix shown in listings (e.g. `KeapAK-1a2b…`).
    pub display_prefix: String,
    /// Name given at creation.
    pub name: String,
    /// Kind.
    pub kind: KeyKind,
    /// The account it acts on.
    pub account_id: AccountId,
    /// The user it acts as (PATs), or the creator.
    pub user_id: Option<UserId>,
    /// Read-only keys answer 403 on writes.
    pub read_only: bool,
    /// Creation time.
    pub created_at: OffsetDateTime,
    /// Optional expiry.
    pub expires_at: Option<OffsetDateTime>,
}

/// A stored API key (never the key itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    /// Id within keapsake.
    pub id: i64,
    /// Non-secret prefix.
    pub display_prefix: String,
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: KeyKind,
    /// The account it acts on.
    pub account_id: AccountId,
    /// The user it acts as.
    pub user_id: Option<UserId>,
    /// Read-only.
    pub read_only: bool,
    /// Created.
    pub created_at: OffsetDateTime,
    /// Expiry.
    pub expires_at: Option<OffsetDateTime>,
    /// Revocation time, if revoked.
    pub revoked_at: Option<OffsetDateTime>,
}

/// API keys.
#[async_trait]
pub trait KeyStore: Send + Sync {
    /// Stores a key. Errors: `NotFound` if the account does not exist.
    async fn create_api_key(&self, key: NewApiKey) -> StoreResult<ApiKey>;
    /// Looks a key up by hash (revoked ones too; the caller decides).
    async fn find_api_key(&self, hash: &TokenHash) -> StoreResult<Option<ApiKey>>;
    /// The keys of one account, by id.
    async fn list_api_keys(&self, account: AccountId) -> StoreResult<Vec<ApiKey>>;
    /// Revokes one key of one account. Errors: `NotFound` (also for another account's key).
    async fn revoke_api_key(
        &self,
        account: AccountId,
        id: i64,
        now: OffsetDateTime,
    ) -> StoreResult<()>;
}

/// Everything keapsake stores. The server holds an `Arc<dyn Store>`.
#[async_trait]
pub trait Store:
    AdminStore
    + OAuthStore
    + SessionStore
    + KeyStore
    + crate::records::RecordStore
    + crate::counters::CounterStore
    + crate::hooks::HookStore
    + Send
    + Sync
    + 'static
{
    /// `sqlite` or `postgres`, for logs and `/healthz`.
    fn backend(&self) -> &'static str;
    /// A cheap round trip proving the database answers.
    async fn ping(&self) -> StoreResult<()>;
}

/// Folds ASCII letters to lower case and leaves every other character alone (SECURITY.md §6:
/// Unicode folding would make `K` (Kelvin) match `k`).
pub fn fold_email(email: &str) -> String {
    email.to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    #[test]
    fn email_folding_is_ascii_only() {
        assert_eq!(super::fold_email("Demo@Example.COM"), "demo@example.com");
        // U+212A KELVIN SIGN must not become 'k'.
        assert_eq!(super::fold_email("\u{212A}im@x.io"), "\u{212A}im@x.io");
    }
}
