//! An in-process keapsake for tests: [`TestServer`] binds 127.0.0.1:0 with a fresh database
//! (a temp-file SQLite, or a new PostgreSQL database), seeds the demo user, account and app, and
//! drives the HTML authorization flow without a browser ([`TestServer::authorize`]).
//!
//! Time is a [`ManualClock`] the test moves; nothing sleeps.

use keapsake_core::oauth::{Lifetimes, hash_client_secret};
use keapsake_core::store::{NewAccount, NewApp, NewUser};
use keapsake_core::{AccountId, Clock, ManualClock, Store, UserId, password};
use keapsake_server::{Config, Server};
use std::sync::Arc;
use time::OffsetDateTime;
use tokio::sync::OnceCell;
use url::Url;

pub mod hooks;
pub mod html;
pub mod smtp;

/// Which storage backend a [`TestServer`] runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A temp-file SQLite database.
    Sqlite,
    /// A fresh database on the PostgreSQL at `KEAPSAKE_TEST_PG_URL`
    /// (default `postgres://postgres@127.0.0.1:5432/postgres`).
    Postgres,
}

impl Backend {
    /// Both backends, for tests that run on each.
    pub const ALL: [Backend; 2] = [Backend::Sqlite, Backend::Postgres];
}

/// An OAuth client registered on a [`TestServer`].
#[derive(Debug, Clone)]
pub struct TestApp {
    /// Public client id.
    pub client_id: String,
    /// Client secret (plain; the server stores its hash).
    pub client_secret: String,
    /// The first registered redirect URI.
    pub redirect_uri: String,
}

/// A user who can log in on a [`TestServer`].
#[derive(Debug, Clone)]
pub struct TestUser {
    /// Id.
    pub id: UserId,
    /// Login e-mail.
    pub email: String,
    /// Password (plain).
    pub password: String,
}

/// An account (tenant) on a [`TestServer`].
#[derive(Debug, Clone)]
pub struct TestAccount {
    /// Id.
    pub id: AccountId,
    /// Alias (`demo1`…), as in the token scope.
    pub alias: String,
}

/// Options for [`TestServer::start_with`].
#[derive(Debug, Clone, Default)]
pub struct TestOptions {
    /// Token lifetimes (default: Keap's).
    pub lifetimes: Option<Lifetimes>,
    /// Hook delivery settings (default: the server's, background worker on).
    pub hooks: Option<keapsake_server::webhooks::HookConfig>,
    /// Quota/network profile (default: sandbox).
    pub profile: Option<keapsake_server::quota::Profile>,
    /// Use this PostgreSQL database instead of a fresh one (several nodes on one database).
    pub database_url: Option<String>,
}

/// Extra parameters for [`TestServer::authorize_with`].
#[derive(Debug, Clone, Default)]
pub struct AuthorizeOptions {
    /// Which account to choose when the user has several (default: the first offered).
    pub account: Option<AccountId>,
    /// `(code_challenge, code_challenge_method)`.
    pub pkce: Option<(String, String)>,
    /// `state` to send.
    pub state: Option<String>,
    /// Press Deny instead of Allow.
    pub deny: bool,
}

/// A running in-process keapsake.
pub struct TestServer {
    url: Url,
    /// The demo app.
    pub app: TestApp,
    /// The demo user (member of [`TestServer::account`] only).
    pub user: TestUser,
    /// The demo account.
    pub account: TestAccount,
    /// The store behind the server, for arranging state and asserting what was left behind.
    pub store: Arc<dyn Store>,
    /// The server's clock.
    pub clock: Arc<ManualClock>,
    /// The server's state (to drive `keapsake_server::webhooks::deliver_due` directly).
    pub state: keapsake_server::state::AppState,
    /// Which backend.
    pub backend: Backend,
    /// Path of the SQLite file (SQLite only), e.g. to scan it for secrets.
    pub sqlite_path: Option<std::path::PathBuf>,
    /// URL of the PostgreSQL database (Postgres only).
    pub database_url: Option<String>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    _dir: tempfile::TempDir,
}

impl std::fmt::Debug for TestServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestServer")
            .field("url", &self.url)
            .field("backend", &self.backend)
            .finish()
    }
}

static PG_ADMIN: OnceCell<String> = OnceCell::const_new();

/// The admin URL of the test PostgreSQL server.
pub fn pg_admin_url() -> String {
    std::env::var("KEAPSAKE_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string())
}

/// A fresh, randomly named PostgreSQL database for one test server.
///
/// # Panics
/// If PostgreSQL cannot be reached: the Postgres suites never skip silently.
pub async fn fresh_pg_database() -> String {
    let admin = PG_ADMIN.get_or_init(|| async { pg_admin_url() }).await;
    match keapsake_store_postgres::create_test_database(admin).await {
        Ok(url) => url,
        Err(e) => panic!(
            "PostgreSQL is not reachable at {admin} ({e}). Start it (e.g. `pg_ctlcluster 15 main start`) \
             or set KEAPSAKE_TEST_PG_URL; ./scripts/test does this for you."
        ),
    }
}

impl TestServer {
    /// Starts a server on `backend` with the demo seed.
    ///
    /// # Panics
    /// If the server cannot start: a test cannot go on without it.
    pub async fn start(backend: Backend) -> TestServer {
        Self::start_with(backend, TestOptions::default()).await
    }

    /// Starts a server with options.
    ///
    /// # Panics
    /// If the server cannot start.
    pub async fn start_with(backend: Backend, opts: TestOptions) -> TestServer {
        let dir = tempfile::tempdir().expect("a temp dir for the test database");
        let (database, sqlite_path, database_url) = match backend {
            Backend::Sqlite => {
                let p = dir.path().join("keapsake.db");
                (p.display().to_string(), Some(p), None)
            }
            Backend::Postgres => {
                let url = match opts.database_url.clone() {
                    Some(u) => u,
                    None => fresh_pg_database().await,
                };
                (url.clone(), None, Some(url))
            }
        };
        let store = keapsake_server::open_store(&database, Default::default())
            .await
            .expect("the test store opens");
        let clock = Arc::new(ManualClock::new(OffsetDateTime::now_utc()));
        let mut config = Config {
            listen: "127.0.0.1:0".parse().expect("a valid socket address"),
            demo: true,
            ..Config::default()
        };
        if let Some(l) = opts.lifetimes {
            config.lifetimes = l;
        }
        if let Some(h) = opts.hooks {
            config.hooks = h;
        }
        if let Some(p) = opts.profile {
            config.profile = p;
        }
        let server = Server::bind(config, store.clone(), clock.clone() as Arc<dyn Clock>)
            .await
            .expect("the test server binds");
        let url = server.url();
        let state = server.state().clone();
        let seed = keapsake_server::demo::seed_demo(store.as_ref(), clock.as_ref(), &url)
            .await
            .expect("the demo seed applies");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(server.run(async move {
            let _ = rx.await;
        }));
        let user = store
            .find_user_by_email(&seed.email)
            .await
            .expect("store answers")
            .expect("the demo user exists")
            .0;
        let account = store
            .find_account_by_alias(&seed.account_alias)
            .await
            .expect("store answers")
            .expect("the demo account exists");
        TestServer {
            url,
            app: TestApp {
                client_id: seed.client_id.clone(),
                client_secret: seed.client_secret.clone(),
                redirect_uri: seed.redirect_uris[0].clone(),
            },
            user: TestUser {
                id: user.id,
                email: seed.email.clone(),
                password: seed.password.clone(),
            },
            account: TestAccount {
                id: account.id,
                alias: account.alias,
            },
            store,
            clock,
            state,
            backend,
            sqlite_path,
            database_url,
            shutdown: Some(tx),
            task: Some(task),
            _dir: dir,
        }
    }

    /// The server's base URL, ending in `/`.
    pub fn url(&self) -> Url {
        self.url.clone()
    }

    /// `self.url()` joined with `path` (no leading slash needed).
    pub fn at(&self, path: &str) -> String {
        format!("{}{}", self.url, path.trim_start_matches('/'))
    }

    /// Registers another app with one redirect URI.
    ///
    /// # Panics
    /// On a store error.
    pub async fn add_app(&self, client_id: &str, redirect_uri: &str) -> TestApp {
        let secret = keapsake_core::Secret::generate();
        self.store
            .create_app(
                NewApp {
                    client_id: client_id.to_string(),
                    secret_hash: hash_client_secret(secret.expose(), true).expect("hash"),
                    name: format!("Test app {client_id}"),
                    redirect_uris: vec![redirect_uri.to_string()],
                },
                self.clock.now(),
            )
            .await
            .expect("app created");
        TestApp {
            client_id: client_id.to_string(),
            client_secret: secret.expose().to_string(),
            redirect_uri: redirect_uri.to_string(),
        }
    }

    /// Creates a user who is a member of `n` new accounts (for the account-choice step).
    ///
    /// # Panics
    /// On a store error.
    pub async fn add_user_with_accounts(
        &self,
        email: &str,
        n: usize,
    ) -> (TestUser, Vec<TestAccount>) {
        let pw = format!("pw-{}-{}", unique_suffix(), unique_suffix());
        let user = self
            .store
            .create_user(
                NewUser {
                    email: email.to_string(),
                    password_hash: password::hash_password(&pw).expect("hash"),
                    given_name: "Test".into(),
                    family_name: "User".into(),
                },
                self.clock.now(),
            )
            .await
            .expect("user created");
        let mut accounts = Vec::new();
        for i in 0..n {
            let alias = format!("t{}{}", unique_suffix(), i);
            let a = self
                .store
                .create_account(
                    NewAccount {
                        alias: alias.clone(),
                        name: format!("Account {alias}"),
                    },
                    self.clock.now(),
                )
                .await
                .expect("account created");
            self.store
                .add_member(a.id, user.id, i == 0)
                .await
                .expect("member added");
            accounts.push(TestAccount { id: a.id, alias });
        }
        (
            TestUser {
                id: user.id,
                email: email.to_string(),
                password: pw,
            },
            accounts,
        )
    }

    /// The authorize URL for `app` with optional extras.
    pub fn authorize_url(&self, app: &TestApp, opts: &AuthorizeOptions) -> String {
        let mut u = Url::parse(&self.at("app/oauth/authorize")).expect("a valid URL");
        {
            let mut q = u.query_pairs_mut();
            q.append_pair("client_id", &app.client_id)
                .append_pair("redirect_uri", &app.redirect_uri)
                .append_pair("response_type", "code")
                .append_pair("scope", "full");
            if let Some(s) = &opts.state {
                q.append_pair("state", s);
            }
            if let Some((c, m)) = &opts.pkce {
                q.append_pair("code_challenge", c)
                    .append_pair("code_challenge_method", m);
            }
        }
        u.to_string()
    }

    /// Logs `user` in through the HTML forms, allows `app`, and returns the `code`.
    ///
    /// # Panics
    /// If the flow does not end in a redirect carrying a code.
    pub async fn authorize(&self, app: &TestApp, user: &TestUser) -> String {
        let loc = self
            .authorize_with(app, user, AuthorizeOptions::default())
            .await;
        let u = Url::parse(&loc).expect("the redirect is a URL");
        u.query_pairs()
            .find(|(k, _)| k == "code")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_else(|| panic!("no code in the redirect {loc}"))
    }

    /// Runs the HTML flow with options and returns the final `Location` sent to the client.
    ///
    /// # Panics
    /// If a page is not what a user would see, or the flow does not end in a redirect.
    pub async fn authorize_with(
        &self,
        app: &TestApp,
        user: &TestUser,
        opts: AuthorizeOptions,
    ) -> String {
        let browser = html::Browser::new();
        let mut page = browser.get(&self.authorize_url(app, &opts)).await;
        for _ in 0..6 {
            if let Some(loc) = page.redirect_to_client(&app.redirect_uri) {
                return loc;
            }
            let form = page.forms().into_iter().next().unwrap_or_else(|| {
                panic!(
                    "no form on the page (status {}): {}",
                    page.status, page.body
                )
            });
            page = if form.has_field("password") {
                browser
                    .submit(
                        &page,
                        &form,
                        &[("email", &user.email), ("password", &user.password)],
                        None,
                    )
                    .await
            } else if form
                .inputs
                .iter()
                .any(|i| i.0 == "account_id" && i.2 == "radio")
            {
                let offered: Vec<&str> = form
                    .inputs
                    .iter()
                    .filter(|i| i.0 == "account_id" && i.2 == "radio")
                    .map(|i| i.1.as_str())
                    .collect();
                let chosen = opts
                    .account
                    .map(|a| a.to_string())
                    .unwrap_or_else(|| offered[0].to_string());
                assert!(
                    offered.contains(&chosen.as_str()),
                    "account {chosen} is not offered: {offered:?}"
                );
                browser
                    .submit(&page, &form, &[("account_id", &chosen)], None)
                    .await
            } else if form.buttons.iter().any(|b| b.0 == "decision") {
                let d = if opts.deny { "deny" } else { "allow" };
                browser
                    .submit(&page, &form, &[], Some(("decision", d)))
                    .await
            } else {
                panic!("unexpected form: {form:?}");
            };
        }
        panic!("the authorize flow did not finish: {}", page.body)
    }

    /// Exchanges a code with body credentials; returns (status, JSON body).
    ///
    /// # Panics
    /// On a transport error.
    pub async fn exchange(&self, app: &TestApp, code: &str) -> (u16, serde_json::Value) {
        let r = reqwest::Client::new()
            .post(self.at("token"))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", &app.redirect_uri),
                ("client_id", &app.client_id),
                ("client_secret", &app.client_secret),
            ])
            .send()
            .await
            .expect("the token endpoint answers");
        let status = r.status().as_u16();
        (
            status,
            r.json().await.expect("the token endpoint answers JSON"),
        )
    }

    /// Refreshes with HTTP Basic client auth; returns (status, JSON body).
    ///
    /// # Panics
    /// On a transport error.
    pub async fn refresh(&self, app: &TestApp, refresh_token: &str) -> (u16, serde_json::Value) {
        let r = reqwest::Client::new()
            .post(self.at("token"))
            .basic_auth(&app.client_id, Some(&app.client_secret))
            .form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token),
            ])
            .send()
            .await
            .expect("the token endpoint answers");
        let status = r.status().as_u16();
        (
            status,
            r.json().await.expect("the token endpoint answers JSON"),
        )
    }

    /// Stops the server gracefully and waits for it.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// A short random suffix for unique names.
pub fn unique_suffix() -> String {
    let b = keapsake_core::secret::random_bytes::<5>();
    b.iter().map(|x| format!("{x:02x}")).collect()
}
