//! `keapsake login` and `keapsake api`: the SDK in a terminal, like `gh auth login` / `gh api`.
//! The token lives in a 0600 file and is refreshed (and the rotated refresh token saved) as needed.

use anyhow::{Context as _, bail};
use keapsake_sdk::{FileTokenStore, Keap, OAuthApp};
use std::path::PathBuf;

/// Where and as whom to connect; shared by `login` and `api`.
#[derive(Debug, Clone, clap::Args)]
pub struct ClientArgs {
    /// Base URL of keapsake (or of Keap: https://api.infusionsoft.com/ with --keap).
    #[arg(long, env = "KEAPSAKE_URL", default_value = "http://127.0.0.1:8080/")]
    pub base_url: String,
    /// OAuth client id.
    #[arg(long, env = "KEAPSAKE_CLIENT_ID", default_value = "keapsake-demo-app")]
    pub client_id: String,
    /// OAuth client secret.
    #[arg(
        long,
        env = "KEAPSAKE_CLIENT_SECRET",
        default_value = "keapsake-demo-secret",
        hide_env_values = true
    )]
    pub client_secret: String,
    /// Loopback redirect URI registered for the app; `login` listens on it.
    #[arg(
        long,
        env = "KEAPSAKE_REDIRECT_URI",
        default_value = "http://127.0.0.1:8765/callback"
    )]
    pub redirect_uri: String,
    /// Token file (created with mode 0600).
    #[arg(long, env = "KEAPSAKE_TOKEN_FILE")]
    pub token_file: Option<PathBuf>,
}

impl ClientArgs {
    fn token_path(&self) -> anyhow::Result<PathBuf> {
        if let Some(p) = &self.token_file {
            return Ok(p.clone());
        }
        let base = std::env::var_os("XDG_CONFIG_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
            .context("cannot find a config directory: set --token-file or KEAPSAKE_TOKEN_FILE")?;
        Ok(base.join("keapsake").join("token.json"))
    }

    fn client(&self) -> anyhow::Result<Keap> {
        let store = FileTokenStore::new(self.token_path()?);
        Ok(Keap::builder()
            .base_url(&self.base_url)
            .oauth(OAuthApp::new(
                &self.client_id,
                &self.client_secret,
                &self.redirect_uri,
            ))
            .token_store(store)
            .build()?)
    }
}

/// Flags of `keapsake login`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Example (against `keapsake serve --demo`, whose demo app registers http://127.0.0.1:8765/callback):\n  keapsake login\n  keapsake api GET /crm/rest/v1/oauth/connect/userinfo"
)]
pub struct LoginArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    /// Give up waiting for the browser after this many seconds.
    #[arg(long, default_value_t = 300)]
    pub timeout: u64,
}

/// Runs the loopback login: prints the authorize URL, waits for the redirect, exchanges the
/// code (with PKCE) and saves the token.
pub async fn login(args: LoginArgs) -> anyhow::Result<()> {
    let client = args.client.client()?;
    let login = keapsake_sdk::login::LoopbackLogin::start(&client)
        .await?
        .with_timeout(std::time::Duration::from_secs(args.timeout));
    eprintln!(
        "Open this URL in a browser, sign in and click Allow:\n\n  {}\n",
        login.authorize_url()
    );
    eprintln!("Waiting for the redirect to {} …", login.redirect_uri());
    let token = login.finish().await.context("login failed")?;
    eprintln!(
        "Logged in ({}). Token saved to {}",
        token.scope().unwrap_or("full"),
        args.client.token_path()?.display()
    );
    Ok(())
}

/// Flags of `keapsake api`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  keapsake api GET /crm/rest/v1/oauth/connect/userinfo\n  keapsake api GET '/crm/rest/v1/contacts?limit=5'\n  keapsake api POST /crm/rest/v1/contacts --data '{\"email_addresses\":[{\"email\":\"a@example.com\",\"field\":\"EMAIL1\"}]}'"
)]
pub struct ApiArgs {
    /// HTTP method.
    pub method: String,
    /// Path (with an optional query), e.g. /crm/rest/v1/contacts?limit=5.
    pub path: String,
    /// JSON request body, or @FILE to read it from a file.
    #[arg(long)]
    pub data: Option<String>,
    /// Print the status line and response headers too.
    #[arg(long, short = 'i')]
    pub include: bool,
    #[command(flatten)]
    pub client: ClientArgs,
}

/// Makes one authenticated call (refreshing the token first if needed) and prints the body.
/// Exits non-zero on an HTTP error status, after printing the error body.
pub async fn api(args: ApiArgs) -> anyhow::Result<()> {
    let method = keapsake_sdk::Method::from_bytes(args.method.to_ascii_uppercase().as_bytes())
        .with_context(|| format!("`{}` is not an HTTP method", args.method))?;
    let client = args.client.client()?;
    if client.token().await?.is_none() {
        bail!(
            "not logged in: run `keapsake login` first (token file {})",
            args.client.token_path()?.display()
        );
    }
    let (path, query) = match args.path.split_once('?') {
        Some((p, q)) => (p.to_string(), Some(q.to_string())),
        None => (args.path.clone(), None),
    };
    let mut req = client.request(method, path);
    if let Some(q) = query {
        for (k, v) in url::form_urlencoded::parse(q.as_bytes()) {
            req = req.query(k.into_owned(), v.into_owned());
        }
    }
    if let Some(d) = args.data {
        let text = match d.strip_prefix('@') {
            Some(file) => {
                std::fs::read_to_string(file).with_context(|| format!("cannot read {file}"))?
            }
            None => d,
        };
        let v: serde_json::Value =
            serde_json::from_str(&text).context("--data is not valid JSON")?;
        req = req.json(&v);
    }
    let resp = req.send().await?;
    if args.include {
        println!("HTTP {}", resp.status());
        for (k, v) in resp.headers() {
            println!("{}: {}", k, v.to_str().unwrap_or("<binary>"));
        }
        println!();
    }
    let text = resp.text();
    match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(v) => println!("{}", serde_json::to_string_pretty(&v).unwrap_or(text)),
        Err(_) if !text.is_empty() => println!("{text}"),
        Err(_) => {}
    }
    if resp.status().is_client_error() || resp.status().is_server_error() {
        bail!("HTTP {}", resp.status());
    }
    Ok(())
}
