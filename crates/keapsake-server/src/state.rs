//! The state every handler receives: the store, the clock, the configuration, and a few values
//! derived once from the configuration (base URL, own origin, cookie name) plus the bounded pool
//! for password hashing.

use crate::config::Config;
use keapsake_core::{Clock, Store};
use std::sync::Arc;
use tokio::sync::Semaphore;

/// Shared by all handlers. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// Storage.
    pub store: Arc<dyn Store>,
    /// "Now", injected so tests can move time.
    pub clock: Arc<dyn Clock>,
    /// Configuration as given (with the bound port written back by [`crate::Server::bind`]).
    pub config: Arc<Config>,
    pub(crate) web: Arc<Web>,
}

/// Values derived from [`Config`] once.
pub(crate) struct Web {
    /// `Config::base_url()`, always ending in `/`.
    pub base_url: url::Url,
    /// `scheme://host[:port]` of the base URL, compared with the `Origin` of form posts.
    pub origin: String,
    /// https: cookies are `Secure` and `__Host-` prefixed.
    pub secure_cookies: bool,
    /// Bounds concurrent Argon2 work so a login flood cannot starve the runtime (SECURITY.md §9).
    pub hashing: Semaphore,
    /// `Config::quota_limits()`.
    pub quota_limits: crate::quota::Limits,
    /// The sandbox profile's per-process request counts.
    pub local_quota: crate::quota::LocalCounters,
    /// Account aliases by id. An alias never changes once the account exists, so each is read
    /// from the store once per process (the token endpoint needs it for every `scope`).
    pub aliases: std::sync::RwLock<std::collections::HashMap<keapsake_core::AccountId, Arc<str>>>,
    /// Hook delivery: SSRF policy, guarded resolver, HTTP client, lease owner name.
    pub outbound: crate::webhooks::Outbound,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("backend", &self.store.backend())
            .field("base_url", &self.web.base_url.as_str())
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// Builds the state. The base URL comes from `config.public_url`, else from `config.listen`.
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, config: Config) -> Self {
        let base_url = config.base_url();
        let origin = base_url.origin().ascii_serialization();
        let secure_cookies = config.is_https();
        let quota_limits = config.quota_limits();
        let outbound = crate::webhooks::Outbound::new(
            &config.hooks,
            config.profile == crate::quota::Profile::Production,
        );
        let permits = std::thread::available_parallelism()
            .map(std::num::NonZeroUsize::get)
            .unwrap_or(2)
            .max(2);
        Self {
            store,
            clock,
            config: Arc::new(config),
            web: Arc::new(Web {
                base_url,
                origin,
                secure_cookies,
                hashing: Semaphore::new(permits),
                quota_limits,
                local_quota: crate::quota::LocalCounters::default(),
                aliases: std::sync::RwLock::default(),
                outbound,
            }),
        }
    }

    /// Hook delivery's outbound side.
    pub(crate) fn outbound(&self) -> &crate::webhooks::Outbound {
        &self.web.outbound
    }

    /// The alias (`ab123`) of an account, from the in-process cache or, the first time, the store.
    ///
    /// # Errors
    /// The store's, on a cache miss (`NotFound` for an unknown account).
    pub(crate) async fn account_alias(
        &self,
        id: keapsake_core::AccountId,
    ) -> Result<Arc<str>, keapsake_core::StoreError> {
        if let Some(alias) = self
            .web
            .aliases
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&id)
        {
            return Ok(alias.clone());
        }
        let alias: Arc<str> = self.store.get_account(id).await?.alias.into();
        self.web
            .aliases
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(id, alias.clone());
        Ok(alias)
    }

    /// The base URL every absolute link starts with (ends in `/`).
    pub fn base_url(&self) -> &url::Url {
        &self.web.base_url
    }

    /// The absolute path prefix of the base URL (`/` unless `public_url` has a path).
    pub(crate) fn base_path(&self) -> &str {
        self.web.base_url.path()
    }

    /// Runs CPU-heavy hashing work (Argon2) on the blocking pool, at most a few at a time.
    pub(crate) async fn blocking_hash<T, F>(&self, f: F) -> T
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static + Default,
    {
        // The semaphore is never closed, so `acquire` cannot fail; if it somehow did we still
        // run the work rather than fail open or closed differently for different users.
        let _permit = self.web.hashing.acquire().await.ok();
        tokio::task::spawn_blocking(f).await.unwrap_or_default()
    }
}
