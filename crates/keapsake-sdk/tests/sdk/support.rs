//! Shared fixtures: a client wired to a mock server, token bodies, form matchers, stores.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures_util::future::BoxFuture;
use keapsake_sdk::{
    Keap, MemoryTokenStore, OAuthApp, RetryPolicy, Token, TokenStore, TokenStoreError,
};
use serde_json::{Value, json};
use time::OffsetDateTime;
use wiremock::{Match, MockServer, Request};

pub const CLIENT_ID: &str = "cid";
pub const CLIENT_SECRET: &str = "csecret";
pub const REDIRECT_URI: &str = "https://app.example.com/callback";
/// `base64("cid:csecret")`, written out so the test does not reuse the SDK's encoding.
pub const BASIC: &str = "Basic Y2lkOmNzZWNyZXQ=";

pub fn fast_retries() -> RetryPolicy {
    RetryPolicy {
        max_retries: 3,
        min_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(50),
        max_retry_after: Duration::from_secs(5),
    }
}

pub fn app() -> OAuthApp {
    OAuthApp::new(CLIENT_ID, CLIENT_SECRET, REDIRECT_URI)
}

pub fn oauth_client(server: &MockServer, store: impl TokenStore) -> Keap {
    Keap::builder()
        .base_url(server.uri())
        .oauth(app())
        .token_store(store)
        .retry_policy(fast_retries())
        .build()
        .unwrap()
}

pub fn token_body(access: &str, refresh: &str) -> Value {
    json!({
        "access_token": access,
        "token_type": "bearer",
        "expires_in": 3600,
        "refresh_token": refresh,
        "scope": "full|ab123.infusionsoft.com"
    })
}

pub fn valid_token(access: &str, refresh: &str) -> Token {
    Token::new(
        access,
        Some(refresh.to_owned()),
        Some(OffsetDateTime::now_utc() + time::Duration::hours(1)),
    )
}

pub fn expired_token(access: &str, refresh: &str) -> Token {
    Token::new(
        access,
        Some(refresh.to_owned()),
        Some(OffsetDateTime::now_utc() - time::Duration::minutes(1)),
    )
}

pub fn store_with(token: Token) -> MemoryTokenStore {
    MemoryTokenStore::with_token(token)
}

/// The request's form body equals exactly these pairs (any order).
pub struct FormIs(pub Vec<(&'static str, String)>);

impl Match for FormIs {
    fn matches(&self, req: &Request) -> bool {
        let mut got: Vec<(String, String)> = url::form_urlencoded::parse(&req.body)
            .into_owned()
            .collect();
        let mut want: Vec<(String, String)> = self
            .0
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect();
        got.sort();
        want.sort();
        got == want
    }
}

/// The request has no header of this name.
pub struct NoHeader(pub &'static str);

impl Match for NoHeader {
    fn matches(&self, req: &Request) -> bool {
        !req.headers.contains_key(self.0)
    }
}

/// A store whose saves can be made to fail, to show a token is never used unsaved.
#[derive(Clone, Default)]
pub struct FlakyStore {
    pub inner: MemoryTokenStore,
    pub fail_saves: Arc<AtomicBool>,
}

impl FlakyStore {
    pub fn set_failing(&self, fail: bool) {
        self.fail_saves.store(fail, Ordering::SeqCst);
    }
}

impl TokenStore for FlakyStore {
    fn load(&self) -> BoxFuture<'_, Result<Option<Token>, TokenStoreError>> {
        self.inner.load()
    }
    fn save<'a>(&'a self, token: &'a Token) -> BoxFuture<'a, Result<(), TokenStoreError>> {
        if self.fail_saves.load(Ordering::SeqCst) {
            return Box::pin(async { Err(TokenStoreError::Other("disk full".into())) });
        }
        self.inner.save(token)
    }
    fn clear(&self) -> BoxFuture<'_, Result<(), TokenStoreError>> {
        self.inner.clear()
    }
}

/// Keap's 401 for an expired token (`keap/oauth.md` §6).
pub fn expired_fault() -> Value {
    json!({"fault":{"faultstring":"Access Token expired","detail":{"errorcode":"keymanagement.service.access_token_expired"}}})
}

/// Keap's 401 for an unknown token.
pub fn invalid_fault() -> Value {
    json!({"fault":{"faultstring":"Invalid Access Token","detail":{"errorcode":"keymanagement.service.invalid_access_token"}}})
}

pub const USERINFO: &str = "/crm/rest/v1/oauth/connect/userinfo";

pub fn userinfo_body() -> Value {
    json!({"email":"demo@example.com","family_name":"User","given_name":"Demo","global_user_id":1,
           "infusionsoft_id":"demo@example.com","is_admin":true,"middle_name":"","preferred_name":"Demo","sub":"1"})
}
