//! `keapsake serve`.

use crate::DbArgs;
use anyhow::Context as _;
use keapsake_core::oauth::Lifetimes;
use keapsake_core::{Clock, SystemClock};
use keapsake_server::quota::QuotaOverrides;
use keapsake_server::{Config, Profile, Server, SmtpRelay, TlsConfig};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

/// Flags of `keapsake serve`. Each one can also be set by the environment variable shown.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  keapsake serve --demo\n  keapsake serve --listen 0.0.0.0:8443 --tls --database postgres://keapsake@db/keapsake\n  KEAPSAKE_ACCESS_TOKEN_TTL=86400 keapsake serve"
)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "KEAPSAKE_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    #[command(flatten)]
    pub db: DbArgs,
    /// Seed a demo user, account and app, and print how to use them.
    #[arg(long, env = "KEAPSAKE_DEMO")]
    pub demo: bool,
    /// Public base URL (for links, the issuer, cookies) when behind a proxy, e.g. https://keap.example.com/.
    #[arg(long, env = "KEAPSAKE_PUBLIC_URL")]
    pub public_url: Option<url::Url>,
    /// Domain in the token scope: full|<account>.<domain>.
    #[arg(long, env = "KEAPSAKE_APP_DOMAIN", default_value = "infusionsoft.com")]
    pub app_domain: String,
    /// Access-token lifetime in seconds (Keap documents 3600).
    #[arg(long, env = "KEAPSAKE_ACCESS_TOKEN_TTL", default_value_t = 3600, value_parser = clap::value_parser!(i64).range(1..))]
    pub access_token_ttl: i64,
    /// Refresh-token lifetime in seconds (Keap: 45 days).
    #[arg(long, env = "KEAPSAKE_REFRESH_TOKEN_TTL", default_value_t = 45 * 86400, value_parser = clap::value_parser!(i64).range(1..))]
    pub refresh_token_ttl: i64,
    /// Seconds during which a replayed, already-rotated refresh token is refused without revoking its family.
    #[arg(long, env = "KEAPSAKE_REFRESH_REUSE_GRACE", default_value_t = 60, value_parser = clap::value_parser!(i64).range(0..))]
    pub refresh_reuse_grace: i64,
    /// SQLite durability: `full` (synchronous=FULL, survives power loss) or `relaxed` (synchronous=NORMAL).
    #[arg(long, env = "KEAPSAKE_DURABILITY", default_value = "full", value_parser = ["full", "relaxed"])]
    pub durability: String,
    /// Serve HTTPS with a self-signed development certificate for localhost.
    #[arg(long, env = "KEAPSAKE_TLS")]
    pub tls: bool,
    /// Serve HTTPS with this PEM certificate chain (with --tls-key).
    #[arg(long, env = "KEAPSAKE_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for --tls-cert.
    #[arg(long, env = "KEAPSAKE_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Trust X-Forwarded-For/-Proto from a reverse proxy.
    #[arg(long, env = "KEAPSAKE_TRUST_FORWARDED")]
    pub trust_forwarded: bool,
    /// Log format.
    #[arg(long, env = "KEAPSAKE_LOG_FORMAT", default_value = "text", value_parser = ["text", "json"])]
    pub log_format: String,
    /// Quotas on the REST/XML-RPC APIs: `sandbox` reports generous limits (Keap's × 1000) and never answers 429; `production` enforces Keap's (keap/oauth.md §7).
    #[arg(long, env = "KEAPSAKE_PROFILE", default_value = "sandbox", value_parser = ["sandbox", "production"])]
    pub profile: String,
    /// How often (ms) the REST hook worker delivers due events: the longest wait between a
    /// change and its first delivery. Default: 1000 in the sandbox profile, 30000 in production
    /// (Keap: 30–60 s).
    #[arg(long, env = "KEAPSAKE_HOOK_INTERVAL_MS", value_parser = clap::value_parser!(u64).range(10..))]
    pub hook_interval_ms: Option<u64>,
    /// Seconds a hook receiver has to answer (connect timeout is at most 10 s).
    #[arg(long, env = "KEAPSAKE_HOOK_TIMEOUT", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=300))]
    pub hook_timeout: u64,
    /// Seconds claimed hook events stay reserved for this node; after a crash they are
    /// delivered by another (or the restarted) node this long after the claim. Must exceed
    /// --hook-timeout.
    #[arg(long, env = "KEAPSAKE_HOOK_LEASE", default_value_t = 60, value_parser = clap::value_parser!(u64).range(2..=3600))]
    pub hook_lease: u64,
    /// Comma-separated CIDR ranges hooks may reach in the production profile although they
    /// are internal (e.g. 10.0.0.0/8). Link-local, 0.0.0.0/8 and multicast stay blocked.
    #[arg(long, env = "KEAPSAKE_HOOK_ALLOW", value_delimiter = ',')]
    pub hook_allow: Vec<String>,
    /// Hook deliveries in flight at a time per pass (receivers that hang hold only their own
    /// slots).
    #[arg(long, env = "KEAPSAKE_HOOK_CONCURRENCY", default_value_t = 32, value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub hook_concurrency: u64,
    /// Do not run the hook delivery worker on this node (events stay queued for other nodes).
    #[arg(long, env = "KEAPSAKE_NO_HOOK_WORKER")]
    pub no_hook_worker: bool,
    /// Deliver the mail outbox (POST /emails/queue) through this SMTP relay:
    /// smtp://host:port (plain), smtp://host:port?tls=required (STARTTLS) or
    /// smtps://user:pass@host (TLS). Without it no mail is sent; messages stay in the outbox
    /// (see `keapsake mail list`).
    #[arg(long, env = "KEAPSAKE_SMTP", hide_env_values = true, value_parser = check_smtp)]
    pub smtp: Option<String>,
    // Boxed: eight optional numbers would make `serve` the one outsized variant of the command enum.
    #[command(flatten)]
    pub quota: Box<QuotaArgs>,
}

/// Single quota limits replacing the profile's (requests per window). Enforced only in the production profile.
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct QuotaArgs {
    /// OAuth clients: requests per second (spike arrest; 0 turns it off). Production: 25.
    #[arg(long, env = "KEAPSAKE_QUOTA_OAUTH_PER_SECOND")]
    pub quota_oauth_per_second: Option<u64>,
    /// OAuth clients: requests per minute, across tenants. Production: 1500.
    #[arg(long, env = "KEAPSAKE_QUOTA_OAUTH_PER_MINUTE")]
    pub quota_oauth_per_minute: Option<u64>,
    /// OAuth clients: requests per UTC day, across tenants. Production: 150000.
    #[arg(long, env = "KEAPSAKE_QUOTA_OAUTH_PER_DAY")]
    pub quota_oauth_per_day: Option<u64>,
    /// PAT/SAK/legacy keys: requests per second (0 turns it off). Production: 10.
    #[arg(long, env = "KEAPSAKE_QUOTA_KEY_PER_SECOND")]
    pub quota_key_per_second: Option<u64>,
    /// PAT/SAK/legacy keys: requests per minute. Production: 240.
    #[arg(long, env = "KEAPSAKE_QUOTA_KEY_PER_MINUTE")]
    pub quota_key_per_minute: Option<u64>,
    /// PAT/SAK/legacy keys: requests per UTC day. Production: 30000.
    #[arg(long, env = "KEAPSAKE_QUOTA_KEY_PER_DAY")]
    pub quota_key_per_day: Option<u64>,
    /// Per account (tenant), any credential: requests per minute. Production: 10000.
    #[arg(long, env = "KEAPSAKE_QUOTA_TENANT_PER_MINUTE")]
    pub quota_tenant_per_minute: Option<u64>,
    /// Per account (tenant), any credential: requests per UTC day. Production: 250000.
    #[arg(long, env = "KEAPSAKE_QUOTA_TENANT_PER_DAY")]
    pub quota_tenant_per_day: Option<u64>,
}

impl From<QuotaArgs> for QuotaOverrides {
    fn from(a: QuotaArgs) -> Self {
        QuotaOverrides {
            oauth_per_second: a.quota_oauth_per_second,
            oauth_per_minute: a.quota_oauth_per_minute,
            oauth_per_day: a.quota_oauth_per_day,
            key_per_second: a.quota_key_per_second,
            key_per_minute: a.quota_key_per_minute,
            key_per_day: a.quota_key_per_day,
            tenant_per_minute: a.quota_tenant_per_minute,
            tenant_per_day: a.quota_tenant_per_day,
        }
    }
}

/// Runs the server until Ctrl-C or SIGTERM.
pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    keapsake_server::telemetry::init_tracing(args.log_format == "json");
    let durability = if args.durability == "relaxed" {
        keapsake_store_sqlite::Durability::Relaxed
    } else {
        keapsake_store_sqlite::Durability::Full
    };
    let store = keapsake_server::open_store(&args.db.database, durability)
        .await
        .with_context(|| format!("cannot open the database {}", redact_url(&args.db.database)))?;
    let tls = match (args.tls_cert, args.tls_key) {
        (Some(cert), Some(key)) => Some(TlsConfig::Files { cert, key }),
        _ if args.tls => Some(TlsConfig::SelfSigned),
        _ => None,
    };
    let smtp = args
        .smtp
        .as_deref()
        .map(SmtpRelay::parse)
        .transpose()
        .map_err(|e| anyhow::anyhow!("--smtp: {e}"))?;
    let profile = Profile::parse(&args.profile).unwrap_or_default();
    if args.hook_lease <= args.hook_timeout {
        anyhow::bail!(
            "--hook-lease ({} s) must exceed --hook-timeout ({} s): a slow receiver would otherwise get the same events from two nodes",
            args.hook_lease,
            args.hook_timeout
        );
    }
    let allow = args
        .hook_allow
        .iter()
        .filter(|s| !s.trim().is_empty())
        .map(|s| keapsake_server::webhooks::ssrf::Cidr::parse(s))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| anyhow::anyhow!("--hook-allow: {e}"))?;
    let interval_ms = args.hook_interval_ms.unwrap_or(match profile {
        Profile::Sandbox => 1000,
        Profile::Production => 30_000,
    });
    let hooks = keapsake_server::webhooks::HookConfig {
        worker: !args.no_hook_worker,
        interval: std::time::Duration::from_millis(interval_ms),
        connect_timeout: std::time::Duration::from_secs(args.hook_timeout.min(10)),
        timeout: std::time::Duration::from_secs(args.hook_timeout),
        lease: std::time::Duration::from_secs(args.hook_lease),
        concurrency: usize::try_from(args.hook_concurrency).unwrap_or(32),
        allow,
        ..Default::default()
    };
    let config = Config {
        listen: args.listen,
        public_url: args.public_url,
        app_domain: args.app_domain,
        lifetimes: Lifetimes {
            access: time::Duration::seconds(args.access_token_ttl),
            refresh: time::Duration::seconds(args.refresh_token_ttl),
            refresh_reuse_grace: time::Duration::seconds(args.refresh_reuse_grace),
            ..Lifetimes::default()
        },
        tls,
        demo: args.demo,
        trust_forwarded: args.trust_forwarded,
        profile,
        quota_overrides: (*args.quota).into(),
        smtp,
        hooks,
    };
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let server = Server::bind(config, store.clone(), clock.clone())
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let url = server.url();
    eprintln!(
        "keapsake is listening on {url} ({} store: {}, {} profile)",
        store.backend(),
        redact_url(&args.db.database),
        args.profile
    );
    if let Some(relay) = &server.state().config.smtp {
        eprintln!("mail outbox delivered through {}", relay.redacted());
    }
    if args.demo {
        let seed = keapsake_server::demo::seed_demo(store.as_ref(), clock.as_ref(), &url)
            .await
            .context("cannot seed the demo data")?;
        eprintln!(
            "\nDemo sandbox (fixed sandbox credentials; never use --demo in production)\n\
             \x20 user           {} / {}\n\
             \x20 account        {}\n\
             \x20 client_id      {}\n\
             \x20 client_secret  {}\n\
             \x20 redirect_uri   {}\n\n\
             1. Open this URL in a browser, log in and click Allow:\n\
             \x20  {}\n\
             2. The callback page shows the code and the curl command that exchanges it at {}token\n",
            seed.email,
            seed.password,
            seed.account_alias,
            seed.client_id,
            seed.client_secret,
            seed.redirect_uris[0],
            seed.authorize_url,
            url,
        );
    }
    server
        .run(shutdown_signal())
        .await
        .context("the server stopped with an error")?;
    eprintln!("keapsake stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

/// Checks `--smtp` when the flags are parsed (kept as a string: it may hold a password).
fn check_smtp(s: &str) -> Result<String, String> {
    SmtpRelay::parse(s).map(|_| s.to_owned())
}

/// Hides a password in a database URL before printing it.
pub fn redact_url(db: &str) -> String {
    match url::Url::parse(db) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("[redacted]"));
            u.to_string()
        }
        _ => db.to_string(),
    }
}
