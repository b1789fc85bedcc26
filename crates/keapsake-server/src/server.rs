//! Opening a store from a database string, binding, and serving (plain or TLS) with graceful
//! shutdown and connection info.

use crate::config::{Config, TlsConfig};
use crate::state::AppState;
use axum_server::tls_rustls::RustlsConfig;
use keapsake_core::{Clock, Store, StoreError};
use keapsake_store_postgres::PgStore;
use keapsake_store_sqlite::{Durability, SqliteOptions, SqliteStore};
use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// How long graceful shutdown waits for in-flight requests.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);
/// How long a client may take to send its request headers (SECURITY.md §6).
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How often expired browser sessions and rate counters are purged.
const PURGE_EVERY: Duration = Duration::from_secs(600);

/// Opens the store a database string names: `postgres://…`/`postgresql://…` → PostgreSQL;
/// `sqlite://<path>`, `sqlite:<path>` or a plain path → SQLite (created if missing).
/// `durability` applies to SQLite only.
///
/// # Errors
/// The backend's connection or migration failure.
pub async fn open_store(
    database: &str,
    durability: Durability,
) -> Result<Arc<dyn Store>, StoreError> {
    if database.starts_with("postgres://") || database.starts_with("postgresql://") {
        return Ok(Arc::new(PgStore::connect(database).await?));
    }
    let path = database
        .strip_prefix("sqlite://")
        .or_else(|| database.strip_prefix("sqlite:"))
        .unwrap_or(database);
    let store = SqliteStore::open(
        Path::new(path),
        SqliteOptions {
            durability,
            ..SqliteOptions::default()
        },
    )
    .await?;
    Ok(Arc::new(store))
}

/// A bound, not yet running server.
pub struct Server {
    listener: std::net::TcpListener,
    addr: SocketAddr,
    tls: Option<RustlsConfig>,
    state: AppState,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("addr", &self.addr)
            .field("tls", &self.tls.is_some())
            .finish_non_exhaustive()
    }
}

/// Builds the rustls configuration for `tls`.
async fn rustls_config(tls: &TlsConfig) -> std::io::Result<RustlsConfig> {
    match tls {
        TlsConfig::SelfSigned => {
            let cert = rcgen::generate_simple_self_signed(vec![
                "localhost".to_owned(),
                "127.0.0.1".to_owned(),
            ])
            .map_err(std::io::Error::other)?;
            RustlsConfig::from_pem(
                cert.cert.pem().into_bytes(),
                cert.signing_key.serialize_pem().into_bytes(),
            )
            .await
        }
        TlsConfig::Files { cert, key } => RustlsConfig::from_pem_file(cert, key).await,
    }
}

impl Server {
    /// Binds `config.listen` (port 0 picks a free port, written back into the config so the
    /// default base URL names it) and prepares TLS if configured.
    ///
    /// # Errors
    /// The address cannot be bound, or the TLS certificate cannot be made or read.
    pub async fn bind(
        mut config: Config,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
    ) -> std::io::Result<Server> {
        let listener = tokio::net::TcpListener::bind(config.listen).await?;
        let addr = listener.local_addr()?;
        let listener = listener.into_std()?;
        config.listen = addr;
        let tls = match &config.tls {
            Some(t) => Some(rustls_config(t).await?),
            None => None,
        };
        // Compute the dummy hash in the background now rather than on the first failed login,
        // without delaying start-up by one Argon2 run (tens of milliseconds).
        drop(tokio::task::spawn_blocking(
            keapsake_core::password::dummy_hash,
        ));
        let state = AppState::new(store, clock, config);
        Ok(Server {
            listener,
            addr,
            tls,
            state,
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The base URL (from `public_url`, else the bound address); ends in `/`.
    pub fn url(&self) -> url::Url {
        self.state.base_url().clone()
    }

    /// The state the router will serve (to seed data or share the store).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` completes, then stops accepting and lets in-flight requests
    /// finish (up to [`SHUTDOWN_GRACE`]). Handlers see the peer address as
    /// `ConnectInfo<SocketAddr>`.
    ///
    /// # Errors
    /// The listener fails.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let Server {
            listener,
            addr,
            tls,
            state,
        } = self;
        let handle = axum_server::Handle::new();
        let stopper = handle.clone();
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            shutdown.await;
            tracing::info!("shutting down");
            let _ = stop_tx.send(true);
            stopper.graceful_shutdown(Some(SHUTDOWN_GRACE));
        });
        if state.config.hooks.worker {
            tokio::spawn(crate::webhooks::run_worker(state.clone(), stop_rx.clone()));
        }
        if state.config.smtp.is_some() {
            tokio::spawn(crate::mail::smtp::run_worker(
                state.clone(),
                stop_rx.clone(),
            ));
        }
        tokio::spawn(purge_sessions(state.clone(), stop_rx));

        let app = crate::router(state).into_make_service_with_connect_info::<SocketAddr>();
        tracing::info!(%addr, tls = tls.is_some(), "listening");
        match tls {
            None => {
                let mut server = axum_server::from_tcp(listener)?.handle(handle);
                server
                    .http_builder()
                    .http1()
                    .header_read_timeout(HEADER_READ_TIMEOUT);
                server.serve(app).await
            }
            Some(cfg) => {
                let mut server = axum_server::from_tcp_rustls(listener, cfg)?.handle(handle);
                server
                    .http_builder()
                    .http1()
                    .header_read_timeout(HEADER_READ_TIMEOUT);
                server.serve(app).await
            }
        }
    }
}

/// Deletes expired browser sessions and rate counters every [`PURGE_EVERY`] until shutdown.
async fn purge_sessions(state: AppState, mut stop: tokio::sync::watch::Receiver<bool>) {
    use crate::oauth::session::{ABSOLUTE_TIMEOUT, IDLE_TIMEOUT};
    loop {
        tokio::select! {
            _ = tokio::time::sleep(PURGE_EVERY) => {}
            _ = stop.changed() => return,
        }
        let now = state.clock.now();
        match state
            .store
            .purge_sessions(now - ABSOLUTE_TIMEOUT, now - IDLE_TIMEOUT)
            .await
        {
            Ok(n) if n > 0 => tracing::debug!(purged = n, "expired sessions purged"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "could not purge sessions"),
        }
        // Rate counters past their window (quota windows, 15-minute brute-force windows).
        match state.store.purge_expired(now).await {
            Ok(n) if n > 0 => tracing::debug!(purged = n, "expired rate counters purged"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "could not purge rate counters"),
        }
    }
}
