//! Interactive login for command-line tools: the OAuth authorization-code flow with a loopback
//! redirect (RFC 8252 §7.3).
//!
//! [`LoopbackLogin`] binds a port on 127.0.0.1, gives the authorization URL to open in a browser
//! (or print), waits for the browser to come back to `http://127.0.0.1:<port>/<path>?code&state`,
//! checks `state`, and exchanges the code (with PKCE) for tokens, which the client saves to its
//! token store.
//!
//! The redirect URI must be registered for the app **exactly** (keapsake compares the whole
//! string; it allows `http` for `127.0.0.1`/`localhost`). Keap itself only accepts `https`
//! redirect URIs, so against real Keap this helper needs an app registered with a loopback URI,
//! which Keap's developer portal may refuse.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use url::Url;

use crate::client::Keap;
use crate::error::{Error, Result};
use crate::oauth::{PkceVerifier, generate_state};
use crate::token::Token;

/// A loopback login in progress. See the [module documentation](self).
///
/// ```no_run
/// # async fn demo(client: keapsake_sdk::Keap) -> Result<(), keapsake_sdk::Error> {
/// use keapsake_sdk::login::LoopbackLogin;
/// // The app's redirect URI is e.g. http://127.0.0.1:8976/callback.
/// let login = LoopbackLogin::start(&client).await?;
/// println!("Open this URL to sign in:\n{}", login.authorize_url());
/// let token = login.finish().await?;
/// println!("signed in to {:?}", token.account());
/// # Ok(()) }
/// ```
pub struct LoopbackLogin {
    client: Keap,
    listener: TcpListener,
    redirect_uri: String,
    callback_path: String,
    state: String,
    pkce: Option<PkceVerifier>,
    authorize_url: Url,
    timeout: Duration,
}

impl std::fmt::Debug for LoopbackLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoopbackLogin")
            .field("redirect_uri", &self.redirect_uri)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

enum Outcome {
    /// Not the redirect we wait for (or a bad one): answer and keep waiting.
    Ignore(u16, &'static str),
    Code(String),
    Denied {
        error: String,
        description: Option<String>,
    },
}

const PAGE_DONE: &str = "<!doctype html><meta charset=utf-8><title>Signed in</title><p>Signed in. You can close this window and return to the terminal.";
const PAGE_FAILED: &str = "<!doctype html><meta charset=utf-8><title>Sign-in failed</title><p>Sign-in failed. See the terminal for details.";
const PAGE_DENIED: &str = "<!doctype html><meta charset=utf-8><title>Not signed in</title><p>Authorization was not granted. You can close this window.";
const PAGE_BAD_STATE: &str = "<!doctype html><meta charset=utf-8><title>Unexpected sign-in</title><p>This redirect does not belong to the sign-in the terminal is waiting for.";
const PAGE_NOT_FOUND: &str =
    "<!doctype html><meta charset=utf-8><title>Not found</title><p>Not found.";

impl LoopbackLogin {
    /// Starts a login that listens on the client's registered redirect URI, which must be
    /// `http://127.0.0.1:<port>/…`, `http://localhost:<port>/…` or `http://[::1]:<port>/…`.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when the client has no OAuth app or its redirect URI is not a loopback
    /// `http` URI; [`Error::Login`] when the port cannot be bound.
    pub async fn start(client: &Keap) -> Result<Self> {
        let redirect = client.oauth_app()?.redirect_uri().to_owned();
        let url = Url::parse(&redirect)
            .map_err(|e| Error::Config(format!("redirect URI {redirect:?}: {e}")))?;
        let bind: SocketAddr = match (url.scheme(), url.host_str()) {
            ("http", Some("127.0.0.1" | "localhost")) => {
                SocketAddr::from(([127, 0, 0, 1], url.port_or_known_default().unwrap_or(80)))
            }
            ("http", Some("[::1]")) => SocketAddr::from((
                std::net::Ipv6Addr::LOCALHOST,
                url.port_or_known_default().unwrap_or(80),
            )),
            _ => {
                return Err(Error::Config(format!(
                    "redirect URI {redirect:?} is not a loopback http URI (http://127.0.0.1:<port>/...)"
                )));
            }
        };
        let listener = TcpListener::bind(bind)
            .await
            .map_err(|e| Error::Login(format!("cannot listen on {bind}: {e}")))?;
        Self::with_listener(client, listener, redirect, url.path().to_owned())
    }

    /// Starts a login on `127.0.0.1:<port>` with redirect URI `http://127.0.0.1:<port>/callback`
    /// (port 0 picks a free port; then the app must accept that URI, which keapsake only does if
    /// it is registered). The redirect URI replaces the client's for this login only.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when the client has no OAuth app; [`Error::Login`] when the port cannot
    /// be bound.
    pub async fn start_on_port(client: &Keap, port: u16) -> Result<Self> {
        client.oauth_app()?;
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port)))
            .await
            .map_err(|e| Error::Login(format!("cannot listen on 127.0.0.1:{port}: {e}")))?;
        let port = listener
            .local_addr()
            .map_err(|e| Error::Login(e.to_string()))?
            .port();
        let redirect = format!("http://127.0.0.1:{port}/callback");
        Self::with_listener(client, listener, redirect, "/callback".to_owned())
    }

    fn with_listener(
        client: &Keap,
        listener: TcpListener,
        redirect_uri: String,
        path: String,
    ) -> Result<Self> {
        let state = generate_state()?;
        let pkce = PkceVerifier::generate()?;
        let authorize_url =
            client.authorization_url_for(Some(&redirect_uri), &state, Some(&pkce))?;
        Ok(LoopbackLogin {
            client: client.clone(),
            listener,
            redirect_uri,
            callback_path: if path.is_empty() {
                "/".to_owned()
            } else {
                path
            },
            state,
            pkce: Some(pkce),
            authorize_url,
            timeout: Duration::from_secs(300),
        })
    }

    /// Leaves PKCE out of the authorization request and the exchange (for servers that reject
    /// unknown parameters).
    ///
    /// # Errors
    ///
    /// [`Error::Config`] if the URL cannot be rebuilt.
    pub fn without_pkce(mut self) -> Result<Self> {
        self.pkce = None;
        self.authorize_url =
            self.client
                .authorization_url_for(Some(&self.redirect_uri), &self.state, None)?;
        Ok(self)
    }

    /// How long [`finish`](Self::finish) waits for the browser (default 5 minutes).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The URL to open in the user's browser.
    pub fn authorize_url(&self) -> &Url {
        &self.authorize_url
    }

    /// The redirect URI this login listens on.
    pub fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }

    /// The `state` sent in the authorization request.
    pub fn state(&self) -> &str {
        &self.state
    }

    /// The bound address.
    ///
    /// # Errors
    ///
    /// [`Error::Login`] if the socket has no address (it always has once bound).
    pub fn local_addr(&self) -> Result<SocketAddr> {
        self.listener
            .local_addr()
            .map_err(|e| Error::Login(e.to_string()))
    }

    /// Waits for the redirect, checks `state`, exchanges the code, and returns the token (already
    /// saved to the client's token store). Requests to other paths and redirects with a wrong
    /// `state` are answered with an error page and ignored.
    ///
    /// # Errors
    ///
    /// [`Error::OAuth`] (status 302) when the redirect carries an `error` such as
    /// `access_denied`; [`Error::Login`] on timeout; any error of
    /// [`Keap::exchange_code`].
    pub async fn finish(self) -> Result<Token> {
        let timeout = self.timeout;
        match tokio::time::timeout(timeout, self.serve()).await {
            Ok(r) => r,
            Err(_) => Err(Error::Login(format!(
                "no redirect arrived within {}s",
                timeout.as_secs()
            ))),
        }
    }

    async fn serve(self) -> Result<Token> {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<(TcpStream, String)>(8);
        loop {
            tokio::select! {
                accepted = self.listener.accept() => {
                    let (mut stream, _) = accepted.map_err(|e| Error::Login(format!("accept: {e}")))?;
                    let tx = tx.clone();
                    // Browsers open speculative connections that never send a request; read
                    // each connection on its own task so one cannot stall the login.
                    tokio::spawn(async move {
                        if let Ok(Some(target)) = tokio::time::timeout(Duration::from_secs(10), read_target(&mut stream)).await {
                            let _ = tx.send((stream, target)).await;
                        }
                    });
                }
                Some((mut stream, target)) = rx.recv() => {
                    match self.judge(&target) {
                        Outcome::Ignore(status, page) => respond(&mut stream, status, page).await,
                        Outcome::Denied { error, description } => {
                            respond(&mut stream, 200, PAGE_DENIED).await;
                            return Err(Error::OAuth { status: 302, error, description });
                        }
                        Outcome::Code(code) => {
                            let result = self
                                .client
                                .exchange_code_for(&code, Some(&self.redirect_uri), self.pkce.as_ref())
                                .await;
                            let page = if result.is_ok() { PAGE_DONE } else { PAGE_FAILED };
                            respond(&mut stream, 200, page).await;
                            return result;
                        }
                    }
                }
            }
        }
    }

    fn judge(&self, target: &str) -> Outcome {
        let Ok(url) = Url::parse(&format!("http://127.0.0.1{target}")) else {
            return Outcome::Ignore(400, PAGE_NOT_FOUND);
        };
        if url.path() != self.callback_path {
            return Outcome::Ignore(404, PAGE_NOT_FOUND);
        }
        let get = |k: &str| {
            url.query_pairs()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.into_owned())
        };
        if get("state").as_deref() != Some(self.state.as_str()) {
            tracing::warn!("ignoring a redirect whose state does not match this login");
            return Outcome::Ignore(400, PAGE_BAD_STATE);
        }
        if let Some(error) = get("error") {
            return Outcome::Denied {
                error,
                description: get("error_description"),
            };
        }
        match get("code") {
            Some(code) if !code.is_empty() => Outcome::Code(code),
            _ => Outcome::Ignore(400, PAGE_FAILED),
        }
    }
}

/// Reads an HTTP request head and returns its request target, or `None` for garbage.
async fn read_target(stream: &mut TcpStream) -> Option<String> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        if buf.len() > 16 * 1024 {
            return None;
        }
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let head = String::from_utf8_lossy(&buf);
    let line = head.lines().next()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?;
    let target = parts.next()?;
    (method == "GET" && target.starts_with('/')).then(|| target.to_owned())
}

async fn respond(stream: &mut TcpStream, status: u16, page: &str) {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        _ => "Not Found",
    };
    let msg = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nCache-Control: no-store\r\nReferrer-Policy: no-referrer\r\nConnection: close\r\n\r\n{page}",
        page.len()
    );
    let _ = stream.write_all(msg.as_bytes()).await;
    let _ = stream.shutdown().await;
}
