//! Fixtures and assertions shared by the cases: unique names, random hashes, millisecond-exact
//! times, and a ready-made "world" (a user who is a member of an account, and an app).

use keapsake_core::clock::{from_millis, to_millis};
use keapsake_core::oauth::SCOPE_FULL;
use keapsake_core::secret::random_bytes;
use keapsake_core::store::{
    Account, App, CodeExchange, Grant, NewAccount, NewApp, NewCode, NewTokens, NewUser, Store,
    StoreError, StoreResult, User,
};
use keapsake_core::{AccountId, AppId, TokenHash, UserId};
use std::fmt::Debug;
use time::{Duration, OffsetDateTime};

/// A random lower-case hex suffix (12 characters, 48 bits) that keeps names unique when many
/// cases share one database.
pub fn suffix() -> String {
    random_bytes::<6>()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Now, truncated to whole milliseconds (the stored precision), so round trips compare equal.
pub fn now() -> OffsetDateTime {
    from_millis(to_millis(OffsetDateTime::now_utc()))
}

/// A fresh random hash, standing in for the hash of a freshly minted secret.
pub fn hash() -> TokenHash {
    TokenHash(random_bytes::<32>())
}

/// A user to create, with a unique e-mail.
pub fn new_user() -> NewUser {
    let s = suffix();
    NewUser {
        email: format!("user-{s}@example.com"),
        password_hash: format!("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA${s}"),
        given_name: format!("Given{s}"),
        family_name: format!("Family{s}"),
    }
}

/// Creates a user with a unique e-mail.
pub async fn user(store: &dyn Store) -> User {
    store
        .create_user(new_user(), now())
        .await
        .expect("create_user with a fresh e-mail succeeds")
}

/// An account to create, with a unique alias.
pub fn new_account() -> NewAccount {
    let s = suffix();
    NewAccount {
        alias: format!("ab{s}"),
        name: format!("Business {s}"),
    }
}

/// Creates an account with a unique alias.
pub async fn account(store: &dyn Store) -> Account {
    store
        .create_account(new_account(), now())
        .await
        .expect("create_account with a fresh alias succeeds")
}

/// An app to register, with a unique client id and two redirect URIs.
pub fn new_app() -> NewApp {
    let s = suffix();
    NewApp {
        client_id: format!("client-{s}"),
        secret_hash: format!("secret-hash-{s}"),
        name: format!("App {s}"),
        redirect_uris: vec![
            format!("https://{s}.example.com/callback"),
            "http://localhost:8080/cb?x=1".to_owned(),
        ],
    }
}

/// Registers an app with a unique client id.
pub async fn app(store: &dyn Store) -> App {
    store
        .create_app(new_app(), now())
        .await
        .expect("create_app with a fresh client_id succeeds")
}

/// A user who is an admin member of an account, and an app.
#[derive(Debug, Clone)]
pub struct World {
    /// The user.
    pub user: User,
    /// The account the user belongs to.
    pub account: Account,
    /// The OAuth client.
    pub app: App,
}

/// Creates a fresh [`World`].
pub async fn world(store: &dyn Store) -> World {
    let user = user(store).await;
    let account = account(store).await;
    store
        .add_member(account.id, user.id, true)
        .await
        .expect("add_member of an existing user and account succeeds");
    let app = app(store).await;
    World { user, account, app }
}

/// A code for `world`'s user, account and app, issued at `at` and expiring 10 minutes later.
pub fn new_code(world: &World, at: OffsetDateTime) -> NewCode {
    NewCode {
        hash: hash(),
        app_id: world.app.id,
        user_id: world.user.id,
        account_id: world.account.id,
        redirect_uri: world.app.redirect_uris[0].clone(),
        scope: SCOPE_FULL.to_owned(),
        code_challenge: None,
        code_challenge_method: None,
        created_at: at,
        expires_at: at + Duration::minutes(10),
    }
}

/// A fresh token pair issued at `at`: access token for 24 h, refresh token for 45 days.
pub fn tokens(at: OffsetDateTime) -> NewTokens {
    NewTokens {
        access_hash: hash(),
        access_expires_at: at + Duration::hours(24),
        refresh_hash: hash(),
        refresh_expires_at: at + Duration::days(45),
        now: at,
    }
}

/// The grant a code for `world` is expected to issue (the family id aside).
pub fn expected_grant(world: &World, family: keapsake_core::FamilyId) -> Grant {
    Grant {
        family_id: family,
        app_id: world.app.id,
        user_id: world.user.id,
        account_id: world.account.id,
        scope: SCOPE_FULL.to_owned(),
    }
}

/// Inserts a code for `world` at `at` and exchanges it; returns the grant and the issued tokens.
pub async fn issue(store: &dyn Store, world: &World, at: OffsetDateTime) -> (Grant, NewTokens) {
    let code = new_code(world, at);
    let code_hash = code.hash;
    store.insert_code(code).await.expect("insert_code succeeds");
    let t = tokens(at);
    match store
        .exchange_code(&code_hash, world.app.id, t)
        .await
        .expect("exchange_code succeeds")
    {
        CodeExchange::Issued(grant) => (grant, t),
        other => panic!("a fresh code must exchange to Issued, got {other:?}"),
    }
}

/// Asserts that `r` is `Err(Conflict { what })` with exactly this `what`.
pub fn assert_conflict<T: Debug>(r: StoreResult<T>, what: &str) {
    match r {
        Err(StoreError::Conflict { what: w }) => assert_eq!(
            w, what,
            "Conflict must name the clashing value: expected {what:?}, got {w:?}"
        ),
        other => panic!("expected Err(Conflict {{ what: {what:?} }}), got {other:?}"),
    }
}

/// Asserts that `r` is `Err(NotFound)`.
pub fn assert_not_found<T: Debug>(r: StoreResult<T>, context: &str) {
    match r {
        Err(StoreError::NotFound) => {}
        other => panic!("{context}: expected Err(NotFound), got {other:?}"),
    }
}

/// Asserts that the access token with `hash` exists and whether its family is revoked.
pub async fn assert_access(store: &dyn Store, hash: &TokenHash, revoked: bool, context: &str) {
    let rec = store
        .find_access_token(hash)
        .await
        .expect("find_access_token succeeds")
        .unwrap_or_else(|| panic!("{context}: access token must exist"));
    assert_eq!(
        rec.revoked, revoked,
        "{context}: access token revoked flag (record: {rec:?})"
    );
}

/// Asserts that the refresh token with `hash` exists, whether its family is revoked, and whether
/// it was rotated.
pub async fn assert_refresh(
    store: &dyn Store,
    hash: &TokenHash,
    revoked: bool,
    rotated: bool,
    context: &str,
) {
    let rec = store
        .find_refresh_token(hash)
        .await
        .expect("find_refresh_token succeeds")
        .unwrap_or_else(|| panic!("{context}: refresh token must exist"));
    assert_eq!(
        (rec.revoked, rec.rotated),
        (revoked, rotated),
        "{context}: refresh token (revoked, rotated) (record: {rec:?})"
    );
}

/// Asserts that neither token of `t` was stored (a refused call must not have inserted its pair).
pub async fn assert_not_stored(store: &dyn Store, t: &NewTokens, context: &str) {
    let at = store
        .find_access_token(&t.access_hash)
        .await
        .expect("find_access_token succeeds");
    assert!(at.is_none(), "{context}: access token must not be stored");
    let rt = store
        .find_refresh_token(&t.refresh_hash)
        .await
        .expect("find_refresh_token succeeds");
    assert!(rt.is_none(), "{context}: refresh token must not be stored");
}

/// Asserts that `ids` is strictly increasing.
pub fn assert_strictly_increasing(ids: &[i64], what: &str) {
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "{what} must be ordered by id: {ids:?}"
    );
}

/// Id of a user, account or app that certainly does not exist.
pub const MISSING_ID: i64 = i64::MAX - 7;

/// A user id that does not exist.
pub fn missing_user() -> UserId {
    UserId(MISSING_ID)
}

/// An account id that does not exist.
pub fn missing_account() -> AccountId {
    AccountId(MISSING_ID)
}

/// An app id that does not exist.
pub fn missing_app() -> AppId {
    AppId(MISSING_ID)
}
