//! The client ([`Keap`]), its builder, and the request pipeline every call goes through:
//! credentials → send → refresh once on an expired token → retry 429/5xx with backoff → quota.
//!
//! # Token refresh
//!
//! With OAuth, the client refreshes the access token shortly before it expires
//! ([`KeapBuilder::refresh_margin`], default 60 s) and once when the gateway answers 401
//! `keymanagement.service.access_token_expired`. Refreshes are single-flight: all callers that
//! find the same token stale share one `POST /token`; a refresh token is never presented twice by
//! one client, even when it was rejected (the rejection is remembered and handed to later
//! callers until a new token arrives). The refresh runs on its own task, so a caller that gives up
//! (a dropped future, a timeout) cannot lose the rotated refresh token halfway. Each new token is
//! saved to the [`TokenStore`] before it is used; if saving fails the token is kept in memory,
//! the caller gets [`Error::TokenStore`], and the next call tries to save it again before using it.

use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use base64::Engine;
use futures_util::FutureExt;
use futures_util::future::{BoxFuture, Shared};
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use time::OffsetDateTime;
use url::Url;

use crate::error::{Error, Result};
use crate::oauth::{OAuthApp, OAuthErrorBody, PkceVerifier, TokenBody};
use crate::quota::Quota;
use crate::request::{RawResponse, RequestBuilder};
use crate::resources::{
    Account, Companies, Contacts, ListMerchants, Locales, Notes, Opportunities, Settings, Tags,
    Tasks, UserInfoRequest, Users,
};
use crate::token::{MemoryTokenStore, Token, TokenStore};

/// Keap's authorization endpoint (the browser goes here).
pub const KEAP_AUTHORIZE_URL: &str = "https://accounts.infusionsoft.com/app/oauth/authorize";
/// Keap's token endpoint.
pub const KEAP_TOKEN_URL: &str = "https://api.infusionsoft.com/token";
/// Keap's API base; REST v1 is under `rest/v1`, v2 under `rest/v2`, XML-RPC under `xmlrpc/v1`.
pub const KEAP_API_URL: &str = "https://api.infusionsoft.com/crm";

/// The three URLs a client talks to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    /// Authorization endpoint (browser).
    pub authorize: Url,
    /// Token endpoint.
    pub token: Url,
    /// API base, ending in `/crm/` (REST v1 is `rest/v1/…` below it).
    pub api: Url,
    /// Where paths starting with `/` resolve: the API base without its final `crm/` segment.
    pub root: Url,
}

/// How many times and how long the client retries.
///
/// Retried: HTTP 429 on any method (the gateway refused it before it ran), waiting for the
/// server's `Retry-After` when it sends one; HTTP 500/502/503/504 and transport failures on
/// idempotent methods (GET, HEAD, OPTIONS, PUT, DELETE) only; connection failures (nothing was
/// sent) on every method. Backoff is exponential with jitter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (0 disables retrying).
    pub max_retries: usize,
    /// First backoff delay.
    pub min_delay: Duration,
    /// Largest backoff delay.
    pub max_delay: Duration,
    /// Longest `Retry-After` the client will wait out; a longer one (say, the daily quota
    /// resetting in hours) ends the call with [`Error::RateLimited`] at once.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 3,
            min_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(10),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// Never retry.
    pub fn none() -> Self {
        RetryPolicy {
            max_retries: 0,
            ..Self::default()
        }
    }
}

enum BuilderAuth {
    None,
    OAuth(OAuthApp),
    ApiKey(SecretString),
}

/// Builds a [`Keap`] client. Start with [`Keap::builder`].
pub struct KeapBuilder {
    base_url: Option<String>,
    authorize_url: Option<String>,
    token_url: Option<String>,
    api_url: Option<String>,
    auth: BuilderAuth,
    store: Option<Arc<dyn TokenStore>>,
    http: Option<reqwest::Client>,
    timeout: Duration,
    connect_timeout: Duration,
    retry: RetryPolicy,
    refresh_margin: Duration,
    user_agent: String,
}

impl std::fmt::Debug for KeapBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeapBuilder")
            .field("base_url", &self.base_url)
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl KeapBuilder {
    fn new() -> Self {
        KeapBuilder {
            base_url: None,
            authorize_url: None,
            token_url: None,
            api_url: None,
            auth: BuilderAuth::None,
            store: None,
            http: None,
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            retry: RetryPolicy::default(),
            refresh_margin: Duration::from_secs(60),
            user_agent: concat!("keapsake-sdk/", env!("CARGO_PKG_VERSION")).to_owned(),
        }
    }

    /// Points every endpoint at one origin, as keapsake serves them: `<url>/app/oauth/authorize`,
    /// `<url>/token` and `<url>/crm`. A path prefix is kept (`https://h/keap` →
    /// `https://h/keap/token`). Without this the client talks to Keap's real hosts.
    pub fn base_url(mut self, url: impl AsRef<str>) -> Self {
        self.base_url = Some(url.as_ref().to_owned());
        self
    }

    /// Overrides the authorization endpoint only (e.g. Keap's legacy
    /// `https://signin.infusionsoft.com/app/oauth/authorize`).
    pub fn authorize_url(mut self, url: impl AsRef<str>) -> Self {
        self.authorize_url = Some(url.as_ref().to_owned());
        self
    }

    /// Overrides the token endpoint only.
    pub fn token_url(mut self, url: impl AsRef<str>) -> Self {
        self.token_url = Some(url.as_ref().to_owned());
        self
    }

    /// Overrides the API base only, e.g. `https://api.keap.com/crm`.
    pub fn api_url(mut self, url: impl AsRef<str>) -> Self {
        self.api_url = Some(url.as_ref().to_owned());
        self
    }

    /// Authenticates with OAuth as this app. Tokens come from the [`TokenStore`]
    /// (see [`token_store`](Self::token_store)) and from [`Keap::exchange_code`].
    pub fn oauth(mut self, app: OAuthApp) -> Self {
        self.auth = BuilderAuth::OAuth(app);
        self
    }

    /// Authenticates with a Personal Access Token or Service Account Key (`KeapAK-…`), sent as
    /// `X-Keap-API-Key` (`keap/oauth.md` §5). No refresh happens.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.auth = BuilderAuth::ApiKey(SecretString::from(key.into()));
        self
    }

    /// Where OAuth tokens are kept (default: in memory only).
    pub fn token_store(mut self, store: impl TokenStore) -> Self {
        self.store = Some(Arc::new(store));
        self
    }

    /// Uses this `reqwest` client instead of building one; then [`timeout`](Self::timeout),
    /// [`connect_timeout`](Self::connect_timeout) and [`user_agent`](Self::user_agent) are not
    /// applied.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }

    /// Per-attempt timeout for a whole request, response body included (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Connect timeout (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Retry policy (default: [`RetryPolicy::default`]).
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// How long before expiry the access token is refreshed (default 60 s).
    pub fn refresh_margin(mut self, margin: Duration) -> Self {
        self.refresh_margin = margin;
        self
    }

    /// The `User-Agent` header (default `keapsake-sdk/<version>`).
    pub fn user_agent(mut self, ua: impl Into<String>) -> Self {
        self.user_agent = ua.into();
        self
    }

    /// Builds the client.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when a URL does not parse or is not http(s), or the HTTP client cannot
    /// be built.
    pub fn build(self) -> Result<Keap> {
        let endpoints = self.endpoints()?;
        let http = match self.http {
            Some(h) => h,
            None => reqwest::Client::builder()
                .timeout(self.timeout)
                .connect_timeout(self.connect_timeout)
                .user_agent(self.user_agent)
                // Never follow redirects: X-Keap-API-Key is not a header reqwest strips on a
                // cross-origin redirect, and Keap's API does not redirect.
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .map_err(|e| Error::Config(format!("cannot build the HTTP client: {e}")))?,
        };
        let auth = match self.auth {
            BuilderAuth::None => AuthConfig::None,
            BuilderAuth::ApiKey(k) => AuthConfig::ApiKey(k),
            BuilderAuth::OAuth(app) => AuthConfig::OAuth(Box::new(OAuthState {
                app,
                store: self
                    .store
                    .unwrap_or_else(|| Arc::new(MemoryTokenStore::new())),
                margin: self.refresh_margin,
                slot: Mutex::new(Slot::default()),
            })),
        };
        Ok(Keap {
            inner: Arc::new(Inner {
                http,
                endpoints,
                auth,
                retry: self.retry,
                last_quota: Mutex::new(None),
            }),
        })
    }

    fn endpoints(&self) -> Result<Endpoints> {
        let parse = |what: &str, s: &str| -> Result<Url> {
            let u = Url::parse(s).map_err(|e| Error::Config(format!("{what} {s:?}: {e}")))?;
            if !matches!(u.scheme(), "http" | "https") || u.host().is_none() {
                return Err(Error::Config(format!("{what} {s:?} is not an http(s) URL")));
            }
            Ok(u)
        };
        let dir = |mut u: Url| {
            if !u.path().ends_with('/') {
                let p = format!("{}/", u.path());
                u.set_path(&p);
            }
            u
        };
        let join = |base: &Url, rel: &str| {
            base.join(rel)
                .map_err(|e| Error::Config(format!("cannot join {rel:?} to {base}: {e}")))
        };
        let base = match &self.base_url {
            Some(b) => Some(dir(parse("base URL", b)?)),
            None => None,
        };
        let authorize = match (&self.authorize_url, &base) {
            (Some(u), _) => parse("authorize URL", u)?,
            (None, Some(b)) => join(b, "app/oauth/authorize")?,
            (None, None) => parse("authorize URL", KEAP_AUTHORIZE_URL)?,
        };
        let token = match (&self.token_url, &base) {
            (Some(u), _) => parse("token URL", u)?,
            (None, Some(b)) => join(b, "token")?,
            (None, None) => parse("token URL", KEAP_TOKEN_URL)?,
        };
        let api = match (&self.api_url, &base) {
            (Some(u), _) => dir(parse("API URL", u)?),
            (None, Some(b)) => join(b, "crm/")?,
            (None, None) => dir(parse("API URL", KEAP_API_URL)?),
        };
        let root = if api.path().ends_with("/crm/") {
            join(&api, "../")?
        } else {
            api.clone()
        };
        Ok(Endpoints {
            authorize,
            token,
            api,
            root,
        })
    }
}

/// A Keap API client. Cheap to clone (clones share the connection pool, the token and its
/// refresh state).
///
/// Build one with [`Keap::builder`]; see the [crate documentation](crate) for a complete example.
#[derive(Clone)]
pub struct Keap {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Keap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let auth = match &self.inner.auth {
            AuthConfig::None => "none",
            AuthConfig::ApiKey(_) => "api key",
            AuthConfig::OAuth(_) => "oauth",
        };
        f.debug_struct("Keap")
            .field("api", &self.inner.endpoints.api.as_str())
            .field("auth", &auth)
            .finish()
    }
}

pub(crate) struct Inner {
    http: reqwest::Client,
    endpoints: Endpoints,
    auth: AuthConfig,
    retry: RetryPolicy,
    last_quota: Mutex<Option<Quota>>,
}

enum AuthConfig {
    None,
    ApiKey(SecretString),
    OAuth(Box<OAuthState>),
}

struct OAuthState {
    app: OAuthApp,
    store: Arc<dyn TokenStore>,
    margin: Duration,
    slot: Mutex<Slot>,
}

type RefreshFuture = Shared<BoxFuture<'static, Result<Current>>>;

#[derive(Default)]
struct Slot {
    /// The store has been read once.
    loaded: bool,
    current: Option<Current>,
    next_generation: u64,
    /// The refresh of `current` in progress, shared by every caller waiting on it.
    inflight: Option<RefreshFuture>,
    /// A token generation whose refresh the server rejected, and how.
    dead: Option<(u64, Error)>,
}

impl Slot {
    fn install(&mut self, token: Token, persisted: bool) -> Current {
        let c = Current {
            generation: self.next_generation,
            token: Arc::new(token),
            persisted,
        };
        self.next_generation += 1;
        self.current = Some(c.clone());
        self.loaded = true;
        self.dead = None;
        c
    }
}

/// One token as held by the client; `generation` tells refreshes of different tokens apart.
#[derive(Clone)]
struct Current {
    generation: u64,
    token: Arc<Token>,
    persisted: bool,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A request ready to send (and to send again on retry).
pub(crate) struct Prepared {
    pub(crate) method: Method,
    pub(crate) url: Url,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Option<(Vec<u8>, HeaderValue)>,
}

/// Why an attempt did not return a final response.
enum Retry {
    /// A response the policy may retry (429, 5xx); returned as is when retries run out.
    Status(Box<RawResponse>),
    /// No usable response.
    Fail(Error),
}

struct Credential {
    header: Option<(HeaderName, HeaderValue)>,
    generation: Option<u64>,
}

impl Keap {
    /// Starts building a client.
    pub fn builder() -> KeapBuilder {
        KeapBuilder::new()
    }

    /// The endpoints this client talks to.
    pub fn endpoints(&self) -> &Endpoints {
        &self.inner.endpoints
    }

    /// The quota headers of the most recent response that carried any.
    pub fn last_quota(&self) -> Option<Quota> {
        lock(&self.inner.last_quota).clone()
    }

    /// A raw request to any path, with the client's credentials, refresh and retries. Paths
    /// starting with `/` are taken from the API host's root (`/crm/rest/v1/contacts`); other
    /// relative paths from the API base (`rest/v1/contacts`); absolute URLs must be on the API's
    /// origin.
    ///
    /// ```no_run
    /// # async fn demo(client: keapsake_sdk::Keap) -> Result<(), keapsake_sdk::Error> {
    /// let resp = client
    ///     .request(reqwest::Method::GET, "/crm/rest/v1/contacts")
    ///     .query("limit", "5")
    ///     .send()
    ///     .await?;
    /// println!("{} {}", resp.status(), resp.text());
    /// # Ok(()) }
    /// ```
    pub fn request(&self, method: Method, path: impl Into<String>) -> RequestBuilder {
        RequestBuilder::new(self.clone(), method, path.into())
    }

    /// `GET /crm/rest/v1/oauth/connect/userinfo`: who the credential acts as.
    pub fn userinfo(&self) -> UserInfoRequest {
        UserInfoRequest::new(self.clone())
    }

    /// The account (tenant) profile.
    pub fn account(&self) -> Account {
        Account::new(self.clone())
    }

    /// Contacts.
    pub fn contacts(&self) -> Contacts {
        Contacts::new(self.clone())
    }

    /// Tags.
    pub fn tags(&self) -> Tags {
        Tags::new(self.clone())
    }

    /// Companies.
    pub fn companies(&self) -> Companies {
        Companies::new(self.clone())
    }

    /// Notes on contacts.
    pub fn notes(&self) -> Notes {
        Notes::new(self.clone())
    }

    /// REST hook subscriptions (receivers: see [`crate::hooks`]).
    pub fn hooks(&self) -> crate::resources::Hooks {
        crate::resources::Hooks::new(self.clone())
    }

    /// E-mail records, sending, and opt-in/out.
    pub fn emails(&self) -> crate::resources::Emails {
        crate::resources::Emails::new(self.clone())
    }

    /// Products, their subscription plans and image, and the product sync.
    pub fn products(&self) -> crate::resources::Products {
        crate::resources::Products::new(self.clone())
    }

    /// Orders, their items, payments, transactions and payment plan.
    pub fn orders(&self) -> crate::resources::Orders {
        crate::resources::Orders::new(self.clone())
    }

    /// Contacts' subscriptions to product plans.
    pub fn subscriptions(&self) -> crate::resources::Subscriptions {
        crate::resources::Subscriptions::new(self.clone())
    }

    /// Tasks.
    pub fn tasks(&self) -> Tasks {
        Tasks::new(self.clone())
    }

    /// Opportunities and the stage pipeline.
    pub fn opportunities(&self) -> Opportunities {
        Opportunities::new(self.clone())
    }

    /// Account settings: application enabled, contact option types, application configuration.
    pub fn settings(&self) -> Settings {
        Settings::new(self.clone())
    }

    /// Users of the account.
    pub fn users(&self) -> Users {
        Users::new(self.clone())
    }

    /// Locale data: countries, provinces, default option lists.
    pub fn locales(&self) -> Locales {
        Locales::new(self.clone())
    }

    /// `GET /crm/rest/v1/merchants`: the account's merchant accounts.
    pub fn merchants(&self) -> ListMerchants {
        ListMerchants::new(self.clone())
    }

    // ---------------------------------------------------------------------------------------
    // OAuth
    // ---------------------------------------------------------------------------------------

    fn oauth(&self) -> Result<&OAuthState> {
        match &self.inner.auth {
            AuthConfig::OAuth(s) => Ok(s),
            _ => Err(Error::Config(
                "this client has no OAuth app; build it with KeapBuilder::oauth".into(),
            )),
        }
    }

    /// The OAuth app this client was built with.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when the client was built without [`KeapBuilder::oauth`].
    pub fn oauth_app(&self) -> Result<&OAuthApp> {
        Ok(&self.oauth()?.app)
    }

    /// The URL to send the user's browser to: `client_id`, `redirect_uri`,
    /// `response_type=code`, `scope=full` and `state` (`keap/oauth.md` §3.1). Use a fresh random
    /// `state` ([`crate::oauth::generate_state`]) and check it on the redirect.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when the client has no OAuth app.
    pub fn authorization_url(&self, state: &str) -> Result<Url> {
        self.authorization_url_for(None, state, None)
    }

    /// Like [`authorization_url`](Self::authorization_url), with a PKCE `S256` challenge. Keep
    /// the verifier and pass it to [`exchange_code_with_pkce`](Self::exchange_code_with_pkce).
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when the client has no OAuth app or randomness is unavailable.
    pub fn authorization_url_with_pkce(&self, state: &str) -> Result<(Url, PkceVerifier)> {
        let v = PkceVerifier::generate()?;
        let url = self.authorization_url_for(None, state, Some(&v))?;
        Ok((url, v))
    }

    pub(crate) fn authorization_url_for(
        &self,
        redirect_uri: Option<&str>,
        state: &str,
        pkce: Option<&PkceVerifier>,
    ) -> Result<Url> {
        let app = &self.oauth()?.app;
        let mut url = self.inner.endpoints.authorize.clone();
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("client_id", &app.client_id)
                .append_pair("redirect_uri", redirect_uri.unwrap_or(&app.redirect_uri))
                .append_pair("response_type", "code")
                .append_pair("scope", "full")
                .append_pair("state", state);
            if let Some(v) = pkce {
                q.append_pair("code_challenge", &v.challenge())
                    .append_pair("code_challenge_method", "S256");
            }
        }
        Ok(url)
    }

    /// Exchanges an authorization code for tokens (`grant_type=authorization_code`, client
    /// credentials in the form body), saves them to the token store, and returns them.
    ///
    /// # Errors
    ///
    /// [`Error::OAuth`] when the server refuses the code (`invalid_grant` for a used or expired
    /// code), [`Error::TokenStore`] when the tokens cannot be saved (they are still used by this
    /// client), or a transport error.
    pub async fn exchange_code(&self, code: &str) -> Result<Token> {
        self.exchange_code_for(code, None, None).await
    }

    /// Like [`exchange_code`](Self::exchange_code), also sending the PKCE `code_verifier`.
    ///
    /// # Errors
    ///
    /// As [`exchange_code`](Self::exchange_code).
    pub async fn exchange_code_with_pkce(
        &self,
        code: &str,
        verifier: &PkceVerifier,
    ) -> Result<Token> {
        self.exchange_code_for(code, None, Some(verifier)).await
    }

    pub(crate) async fn exchange_code_for(
        &self,
        code: &str,
        redirect_uri: Option<&str>,
        verifier: Option<&PkceVerifier>,
    ) -> Result<Token> {
        let st = self.oauth()?;
        let mut form = vec![
            ("grant_type", "authorization_code".to_owned()),
            ("code", code.to_owned()),
            (
                "redirect_uri",
                redirect_uri.unwrap_or(&st.app.redirect_uri).to_owned(),
            ),
            ("client_id", st.app.client_id.clone()),
            (
                "client_secret",
                st.app.client_secret.expose_secret().to_owned(),
            ),
        ];
        if let Some(v) = verifier {
            form.push(("code_verifier", v.secret().expose_secret().to_owned()));
        }
        let token = self.token_request(&form, false).await?;
        let saved = st.store.save(&token).await;
        lock(&st.slot).install(token.clone(), saved.is_ok());
        saved?;
        Ok(token)
    }

    /// Refreshes the access token now (`grant_type=refresh_token`, HTTP Basic client
    /// authentication), saves the rotated pair, and returns it. Concurrent calls share one
    /// refresh. The client also refreshes by itself; call this only to force it.
    ///
    /// # Errors
    ///
    /// [`Error::NoToken`] without a stored token; [`Error::OAuth`] when the server rejects the
    /// refresh token (the stored token is left as it was); [`Error::TokenStore`] when the new
    /// pair cannot be saved.
    pub async fn refresh(&self) -> Result<Token> {
        self.ensure_loaded().await?;
        let generation = {
            let st = self.oauth()?;
            let slot = lock(&st.slot);
            slot.current.as_ref().ok_or(Error::NoToken)?.generation
        };
        let c = self.refresh_from(generation).await?;
        Ok((*c.token).clone())
    }

    /// The token the client holds now (read from the store on first use), without refreshing.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] without an OAuth app; [`Error::TokenStore`] when the store fails.
    pub async fn token(&self) -> Result<Option<Token>> {
        self.ensure_loaded().await?;
        let st = self.oauth()?;
        let slot = lock(&st.slot);
        Ok(slot.current.as_ref().map(|c| (*c.token).clone()))
    }

    /// Forgets the token, here and in the store (logout). Keap has no revocation endpoint, so
    /// the token stays valid on the server until it expires.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] without an OAuth app; [`Error::TokenStore`] when the store fails.
    pub async fn clear_token(&self) -> Result<()> {
        let st = self.oauth()?;
        st.store.clear().await?;
        let mut slot = lock(&st.slot);
        slot.current = None;
        slot.loaded = true;
        slot.dead = None;
        Ok(())
    }

    async fn ensure_loaded(&self) -> Result<()> {
        let st = self.oauth()?;
        if lock(&st.slot).loaded {
            return Ok(());
        }
        let stored = st.store.load().await?;
        let mut slot = lock(&st.slot);
        if !slot.loaded {
            match stored {
                Some(t) => {
                    slot.install(t, true);
                }
                None => slot.loaded = true,
            }
        }
        Ok(())
    }

    /// The token to use now: loaded, saved, and refreshed if it is about to expire.
    async fn current_token(&self) -> Result<Current> {
        self.ensure_loaded().await?;
        let st = self.oauth()?;
        let mut cur = lock(&st.slot).current.clone().ok_or(Error::NoToken)?;
        if !cur.persisted {
            // A previous save failed: the token must be durable before it is used.
            st.store.save(&cur.token).await?;
            let mut slot = lock(&st.slot);
            if let Some(c) = slot
                .current
                .as_mut()
                .filter(|c| c.generation == cur.generation)
            {
                c.persisted = true;
            }
            cur.persisted = true;
        }
        let now = OffsetDateTime::now_utc();
        if cur.token.refresh_token().is_some() && cur.token.refresh_due(now, st.margin) {
            match self.refresh_from(cur.generation).await {
                Ok(c) => return Ok(c),
                // Refreshing early failed for a passing reason and the token still works: use it.
                Err(e @ (Error::Transport(_) | Error::RateLimited { .. } | Error::Api { .. }))
                    if !cur.token.expires_within(now, Duration::ZERO) =>
                {
                    tracing::warn!(error = %e, "early token refresh failed; using the current token");
                }
                Err(e) => return Err(e),
            }
        }
        Ok(cur)
    }

    /// Refreshes token generation `stale_generation`, or joins the refresh already running for it, or
    /// returns the newer token when it was refreshed meanwhile.
    async fn refresh_from(&self, stale_generation: u64) -> Result<Current> {
        let st = self.oauth()?;
        let fut = {
            let mut slot = lock(&st.slot);
            let cur = slot.current.clone().ok_or(Error::NoToken)?;
            if cur.generation != stale_generation {
                return Ok(cur);
            }
            match &slot.inflight {
                Some(f) => f.clone(),
                None => {
                    let dead = slot
                        .dead
                        .as_ref()
                        .filter(|(g, _)| *g == stale_generation)
                        .map(|(_, e)| e.clone());
                    // Spawned at once, so the refresh completes (and its result is saved)
                    // even if every caller gives up.
                    let handle = tokio::spawn(self.clone().run_refresh(cur, dead));
                    let f = async move {
                        handle.await.unwrap_or_else(|e| {
                            Err(Error::Config(format!("the token refresh task failed: {e}")))
                        })
                    }
                    .boxed()
                    .shared();
                    slot.inflight = Some(f.clone());
                    f
                }
            }
        };
        fut.await
    }

    async fn run_refresh(self, stale: Current, dead: Option<Error>) -> Result<Current> {
        let st = self.oauth()?;
        let outcome = self.refresh_outcome(st, &stale, dead).await;
        let mut slot = lock(&st.slot);
        slot.inflight = None;
        let still_current = slot
            .current
            .as_ref()
            .is_some_and(|c| c.generation == stale.generation);
        match outcome {
            Ok((token, persisted)) => {
                if !still_current {
                    // Replaced meanwhile (e.g. a new code exchange): keep the newer token.
                    return slot.current.clone().ok_or(Error::NoToken);
                }
                let c = slot.install(token, persisted.is_ok());
                persisted?;
                Ok(c)
            }
            Err(e) => {
                if still_current && matches!(e, Error::OAuth { .. }) {
                    slot.dead = Some((stale.generation, e.clone()));
                }
                Err(e)
            }
        }
    }

    /// Gets the next token for `stale`: one another process already stored, or a refreshed one
    /// (saved before it is returned). The inner result says whether saving worked.
    async fn refresh_outcome(
        &self,
        st: &OAuthState,
        stale: &Current,
        dead: Option<Error>,
    ) -> Result<(Token, Result<()>)> {
        // Another process sharing the store may have refreshed this token already; presenting
        // the old refresh token again would fail (and on keapsake, after a grace window, revoke
        // the grant). Only trust the store when it held our token, i.e. our token was saved.
        if stale.persisted {
            match st.store.load().await {
                Ok(Some(stored)) if !stored.same_refresh_token(&stale.token) => {
                    let now = OffsetDateTime::now_utc();
                    if !stored.refresh_due(now, st.margin) {
                        tracing::debug!("adopting the token another process stored");
                        return Ok((stored, Ok(())));
                    }
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "token store unreadable before refresh"),
            }
        }
        if let Some(e) = dead {
            return Err(e);
        }
        let refresh_token = stale.token.refresh_token().ok_or(Error::NoToken)?;
        let form = [
            ("grant_type", "refresh_token".to_owned()),
            ("refresh_token", refresh_token.expose_secret().to_owned()),
        ];
        let token = self.token_request(&form, true).await?;
        // Persist the rotated refresh token before anyone uses the new access token.
        let saved = st.store.save(&token).await.map_err(Error::from);
        if let Err(e) = &saved {
            tracing::error!(error = %e, "the rotated token could not be saved; keeping it in memory");
        }
        Ok((token, saved))
    }

    /// `POST /token` with a form body; `basic` authenticates the app with HTTP Basic.
    async fn token_request(&self, form: &[(&str, String)], basic: bool) -> Result<Token> {
        let st = self.oauth()?;
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form.iter().map(|(k, v)| (*k, v.as_str())))
            .finish();
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        if basic {
            // Keap's SDKs send base64(id:secret) without form-encoding the parts first.
            let raw = format!(
                "{}:{}",
                st.app.client_id,
                st.app.client_secret.expose_secret()
            );
            let mut v = HeaderValue::from_str(&format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(raw)
            ))
            .map_err(|_| Error::Config("client id or secret is not a valid header value".into()))?;
            v.set_sensitive(true);
            headers.insert(AUTHORIZATION, v);
        }
        let prepared = Prepared {
            method: Method::POST,
            url: self.inner.endpoints.token.clone(),
            headers,
            body: Some((
                body.into_bytes(),
                HeaderValue::from_static("application/x-www-form-urlencoded"),
            )),
        };
        let sent_at = OffsetDateTime::now_utc();
        let resp = self
            .with_retries(false, || async {
                let r = self.send_once(&prepared, None).await.map_err(Retry::Fail)?;
                if is_retryable_status(r.status()) {
                    Err(Retry::Status(Box::new(r)))
                } else {
                    Ok(r)
                }
            })
            .await?;
        let status = resp.status();
        if status.is_success() {
            let body: TokenBody = serde_json::from_slice(resp.bytes()).map_err(|e| {
                Error::unexpected(
                    status.as_u16(),
                    format!("token response is not a token: {e}"),
                )
            })?;
            return Ok(body.into_token(sent_at));
        }
        if status != StatusCode::TOO_MANY_REQUESTS
            && let Ok(e) = serde_json::from_slice::<OAuthErrorBody>(resp.bytes())
        {
            return Err(Error::OAuth {
                status: status.as_u16(),
                error: e.error,
                description: e.error_description,
            });
        }
        Err(resp.to_error())
    }

    // ---------------------------------------------------------------------------------------
    // The pipeline
    // ---------------------------------------------------------------------------------------

    /// Resolves a request target (see [`Keap::request`]). With `rebase`, an absolute URL on
    /// another origin is moved onto the API's origin instead of being refused (for `next`
    /// links of a server that does not know its public address).
    pub(crate) fn resolve(&self, target: &str, rebase: bool) -> Result<Url> {
        let ep = &self.inner.endpoints;
        if target.starts_with("http://") || target.starts_with("https://") {
            let mut u = Url::parse(target)
                .map_err(|e| Error::Config(format!("bad URL {target:?}: {e}")))?;
            if u.origin() != ep.api.origin() {
                if !rebase {
                    return Err(Error::Config(format!(
                        "refusing to send credentials to {}, which is not the API's origin {}",
                        u.origin().ascii_serialization(),
                        ep.api.origin().ascii_serialization()
                    )));
                }
                tracing::debug!(from = %u.origin().ascii_serialization(), "moving a link onto the API origin");
                let ok = u.set_scheme(ep.api.scheme()).is_ok()
                    && u.set_host(ep.api.host_str()).is_ok()
                    && u.set_port(ep.api.port()).is_ok();
                if !ok {
                    return Err(Error::Config(format!("cannot rebase {target:?}")));
                }
            }
            return Ok(u);
        }
        let joined = match target.strip_prefix('/') {
            Some(rest) => ep.root.join(rest),
            None => ep.api.join(target),
        };
        joined.map_err(|e| Error::Config(format!("bad path {target:?}: {e}")))
    }

    /// Sends a prepared API request with credentials, refresh-on-expiry and retries.
    pub(crate) async fn execute(&self, p: Prepared) -> Result<RawResponse> {
        let idempotent = matches!(
            p.method,
            Method::GET | Method::HEAD | Method::OPTIONS | Method::PUT | Method::DELETE
        );
        self.with_retries(idempotent, || self.attempt(&p)).await
    }

    async fn attempt(&self, p: &Prepared) -> std::result::Result<RawResponse, Retry> {
        let mut refreshed = false;
        loop {
            let cred = self.credential().await.map_err(Retry::Fail)?;
            let r = self
                .send_once(p, cred.header.as_ref())
                .await
                .map_err(Retry::Fail)?;
            if r.status() == StatusCode::UNAUTHORIZED
                && !refreshed
                && let Some(generation) = cred.generation
                && r.is_expired_token_fault()
            {
                tracing::debug!("access token expired on the server; refreshing once");
                self.refresh_from(generation).await.map_err(Retry::Fail)?;
                refreshed = true;
                continue;
            }
            if is_retryable_status(r.status()) {
                return Err(Retry::Status(Box::new(r)));
            }
            return Ok(r);
        }
    }

    async fn credential(&self) -> Result<Credential> {
        match &self.inner.auth {
            AuthConfig::None => Ok(Credential {
                header: None,
                generation: None,
            }),
            AuthConfig::ApiKey(k) => {
                let mut v = HeaderValue::from_str(k.expose_secret())
                    .map_err(|_| Error::Config("the API key is not a valid header value".into()))?;
                v.set_sensitive(true);
                Ok(Credential {
                    header: Some((HeaderName::from_static("x-keap-api-key"), v)),
                    generation: None,
                })
            }
            AuthConfig::OAuth(_) => {
                let c = self.current_token().await?;
                let mut v = HeaderValue::from_str(&format!(
                    "Bearer {}",
                    c.token.access_token().expose_secret()
                ))
                .map_err(|_| {
                    Error::unexpected(200, "the access token is not a valid header value")
                })?;
                v.set_sensitive(true);
                Ok(Credential {
                    header: Some((AUTHORIZATION, v)),
                    generation: Some(c.generation),
                })
            }
        }
    }

    async fn send_once(
        &self,
        p: &Prepared,
        auth: Option<&(HeaderName, HeaderValue)>,
    ) -> Result<RawResponse> {
        let mut rb = self
            .inner
            .http
            .request(p.method.clone(), p.url.clone())
            .headers(p.headers.clone());
        if let Some((name, value)) = auth {
            rb = rb.header(name, value.clone());
        }
        if let Some((bytes, ct)) = &p.body {
            rb = rb.header(CONTENT_TYPE, ct.clone()).body(bytes.clone());
        }
        let resp = rb.send().await.map_err(Error::transport)?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let url = resp.url().clone();
        let body = resp.bytes().await.map_err(Error::transport)?.to_vec();
        tracing::debug!(method = %p.method, path = %url.path(), status = status.as_u16(), "keap response");
        let quota = Quota::from_headers(&headers);
        if !quota.is_empty() {
            *lock(&self.inner.last_quota) = Some(quota.clone());
        }
        Ok(RawResponse::new(status, headers, url, body, quota))
    }

    async fn with_retries<F, Fut>(&self, idempotent: bool, f: F) -> Result<RawResponse>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = std::result::Result<RawResponse, Retry>>,
    {
        let policy = &self.inner.retry;
        let backoff = ExponentialBuilder::default()
            .with_min_delay(policy.min_delay)
            .with_max_delay(policy.max_delay)
            .with_max_times(policy.max_retries)
            .with_jitter();
        let max_wait = policy.max_retry_after;
        let result = f
            .retry(backoff)
            .sleep(tokio::time::sleep)
            .when(|e| should_retry(e, idempotent))
            .adjust(|e, backoff| {
                let backoff = backoff?;
                match e {
                    Retry::Status(r) if r.status() == StatusCode::TOO_MANY_REQUESTS => {
                        match r.retry_after() {
                            Some(wait) if wait > max_wait => None,
                            Some(wait) => Some(wait),
                            None => Some(backoff),
                        }
                    }
                    _ => Some(backoff),
                }
            })
            .notify(|e, wait| {
                let why = match e {
                    Retry::Status(r) => format!("HTTP {}", r.status().as_u16()),
                    Retry::Fail(e) => e.to_string(),
                };
                tracing::debug!(%why, wait_ms = wait.as_millis() as u64, "retrying");
            })
            .await;
        match result {
            Ok(r) => Ok(r),
            Err(Retry::Status(r)) => Ok(*r),
            Err(Retry::Fail(e)) => Err(e),
        }
    }
}

fn is_retryable_status(s: StatusCode) -> bool {
    s == StatusCode::TOO_MANY_REQUESTS || matches!(s.as_u16(), 500 | 502 | 503 | 504)
}

fn should_retry(e: &Retry, idempotent: bool) -> bool {
    match e {
        Retry::Status(r) => r.status() == StatusCode::TOO_MANY_REQUESTS || idempotent,
        Retry::Fail(Error::Transport(t)) => idempotent || t.is_connect(),
        Retry::Fail(_) => false,
    }
}
