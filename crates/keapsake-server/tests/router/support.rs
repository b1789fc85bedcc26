//! The harness: a temp-file SQLite store, a manual clock, a seeded world (a user in one account,
//! a second user in two accounts, a third in none, two apps), and helpers that drive
//! `router(state).oneshot(req)` and walk the authorization pages.

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use base64::Engine as _;
use keapsake_core::oauth::hash_client_secret;
use keapsake_core::password::hash_password;
use keapsake_core::store::{Account, App, KeyKind, NewAccount, NewApiKey, NewApp, NewUser, User};
use keapsake_core::{Clock, ManualClock, Secret, Store};
use keapsake_server::{AppState, Config, router};
use keapsake_store_sqlite::{Durability, SqliteOptions, SqliteStore};
use std::sync::Arc;
use tower::ServiceExt as _;

pub const PASSWORD: &str = "correct horse battery";
pub const REDIRECT: &str = "https://app.example.com/cb";
pub const REDIRECT_WITH_QUERY: &str = "https://app.example.com/cb2?tenant=7";
pub const CLIENT_ID: &str = "test-app";
pub const CLIENT_SECRET: &str = "test-secret+with%special";
pub const OTHER_CLIENT_ID: &str = "other-app";
pub const OTHER_CLIENT_SECRET: &str = "other-secret";
pub const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'";
/// RFC 7636-shaped verifier and its S256 challenge (computed independently with Python).
pub const VERIFIER: &str = "dBjftJeZ4CVP-mJ92K1zD9-8LN_wFprmPYomnYfU9sWw";
pub const CHALLENGE_S256: &str = "uWs1oFjgpXikBAGjr9O-zdM8WpWTE_thmS3E9XiGJQE";
/// The v1 user info: the plainest authenticated REST GET.
pub const USERINFO: &str = "/crm/rest/v1/oauth/connect/userinfo";

/// One response, fully read.
#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", self.text()))
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
    }

    pub fn location(&self) -> Option<String> {
        self.header("location")
    }

    /// `name=value` of the Set-Cookie, if any.
    pub fn cookie(&self) -> Option<String> {
        self.header("set-cookie")
            .map(|c| c.split(';').next().unwrap_or("").to_owned())
    }

    /// The CSRF tokens of the page's forms, in document order.
    pub fn csrf_tokens(&self) -> Vec<String> {
        let html = self.text();
        html.split("name=\"csrf_token\" value=\"")
            .skip(1)
            .map(|rest| rest.split('"').next().unwrap_or("").to_owned())
            .collect()
    }

    /// The value of a hidden input.
    pub fn hidden(&self, name: &str) -> Option<String> {
        let html = self.text();
        let marker = format!("name=\"{name}\" value=\"");
        html.split(&marker)
            .nth(1)
            .map(|rest| rest.split('"').next().unwrap_or("").to_owned())
    }

    /// Query parameters of the Location header (decoded).
    pub fn location_params(&self) -> Vec<(String, String)> {
        let loc = self.location().expect("a Location header");
        let url = url::Url::parse(&loc).expect("an absolute Location");
        url.query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }

    pub fn location_param(&self, name: &str) -> Option<String> {
        self.location_params()
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }

    #[track_caller]
    pub fn assert_status(&self, status: StatusCode) -> &Self {
        assert_eq!(
            self.status,
            status,
            "unexpected status; body: {}",
            self.text()
        );
        self
    }
}

/// One response from `router`, fully read.
pub async fn send_to(router: &Router, req: Request<Body>) -> Resp {
    let res = router.clone().oneshot(req).await.expect("infallible");
    let status = res.status();
    let headers = res.headers().clone();
    let body = axum::body::to_bytes(res.into_body(), usize::MAX)
        .await
        .expect("body")
        .to_vec();
    Resp {
        status,
        headers,
        body,
    }
}

/// The authorization endpoint with `query`.
pub fn authorize(query: &str) -> String {
    format!("/app/oauth/authorize?{query}")
}

/// A seeded world.
pub struct Harness {
    pub state: AppState,
    pub store: Arc<dyn Store>,
    pub clock: Arc<ManualClock>,
    /// Member of `account` (admin).
    pub user: User,
    pub account: Account,
    /// Member of `account` and `second_account`.
    pub multi_user: User,
    pub second_account: Account,
    /// Member of nothing.
    pub lonely_user: User,
    pub app: App,
    _dir: tempfile::TempDir,
}

pub fn start_time() -> time::OffsetDateTime {
    time::macros::datetime!(2026-03-01 12:00:00 UTC)
}

impl Harness {
    pub async fn new() -> Self {
        Self::with_config(Config::default()).await
    }

    pub async fn with_config(config: Config) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let sqlite = SqliteStore::open(
            &dir.path().join("keapsake.db"),
            SqliteOptions {
                durability: Durability::Relaxed,
                ..SqliteOptions::default()
            },
        )
        .await
        .expect("open sqlite store");
        let store: Arc<dyn Store> = Arc::new(sqlite);
        let clock = Arc::new(ManualClock::new(start_time()));
        let now = clock.now();
        let pw = hash_password(PASSWORD).expect("hash");
        let mk_user = |email: &str, given: &str| NewUser {
            email: email.to_owned(),
            password_hash: pw.clone(),
            given_name: given.to_owned(),
            family_name: "Tester".to_owned(),
        };
        let user = store
            .create_user(mk_user("ada@example.com", "Ada"), now)
            .await
            .expect("user");
        let multi_user = store
            .create_user(mk_user("multi@example.com", "Multi"), now)
            .await
            .expect("user");
        let lonely_user = store
            .create_user(mk_user("lonely@example.com", "Lonely"), now)
            .await
            .expect("user");
        let account = store
            .create_account(
                NewAccount {
                    alias: "ab123".into(),
                    name: "Acme Bakery".into(),
                },
                now,
            )
            .await
            .expect("account");
        let second_account = store
            .create_account(
                NewAccount {
                    alias: "zz999".into(),
                    name: "Zed Zoo".into(),
                },
                now,
            )
            .await
            .expect("account");
        store
            .add_member(account.id, user.id, true)
            .await
            .expect("member");
        store
            .add_member(account.id, multi_user.id, false)
            .await
            .expect("member");
        store
            .add_member(second_account.id, multi_user.id, true)
            .await
            .expect("member");
        let app = store
            .create_app(
                NewApp {
                    client_id: CLIENT_ID.into(),
                    secret_hash: hash_client_secret(CLIENT_SECRET, true).expect("hash"),
                    name: "Bakery Sync <Pro>".into(),
                    redirect_uris: vec![REDIRECT.into(), REDIRECT_WITH_QUERY.into()],
                },
                now,
            )
            .await
            .expect("app");
        store
            .create_app(
                NewApp {
                    client_id: OTHER_CLIENT_ID.into(),
                    secret_hash: hash_client_secret(OTHER_CLIENT_SECRET, true).expect("hash"),
                    name: "Other".into(),
                    redirect_uris: vec![REDIRECT.into()],
                },
                now,
            )
            .await
            .expect("app");
        let state = AppState::new(store.clone(), clock.clone(), config);
        Self {
            state,
            store,
            clock,
            user,
            account,
            multi_user,
            second_account,
            lonely_user,
            app,
            _dir: dir,
        }
    }

    pub fn router(&self) -> Router {
        router(self.state.clone())
    }

    pub async fn send(&self, req: Request<Body>) -> Resp {
        send_to(&self.router(), req).await
    }

    pub async fn get(&self, uri: &str, cookie: Option<&str>) -> Resp {
        let mut req = Request::builder().method(Method::GET).uri(uri);
        if let Some(c) = cookie {
            req = req.header(header::COOKIE, c);
        }
        self.send(req.body(Body::empty()).expect("request")).await
    }

    pub async fn get_with(&self, uri: &str, headers: &[(&str, &str)]) -> Resp {
        let mut req = Request::builder().method(Method::GET).uri(uri);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        self.send(req.body(Body::empty()).expect("request")).await
    }

    /// A GET with `Authorization: Bearer <token>`.
    pub async fn get_bearer(&self, uri: &str, token: &str) -> Resp {
        self.get_with(uri, &[("authorization", &bearer(token))])
            .await
    }

    /// A form POST with optional cookie and extra headers.
    pub async fn post_form(
        &self,
        uri: &str,
        body: &str,
        cookie: Option<&str>,
        extra: &[(&str, &str)],
    ) -> Resp {
        let mut req = Request::builder()
            .method(Method::POST)
            .uri(uri)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some(c) = cookie {
            req = req.header(header::COOKIE, c);
        }
        for (k, v) in extra {
            req = req.header(*k, *v);
        }
        self.send(req.body(Body::from(body.to_owned())).expect("request"))
            .await
    }

    /// A form POST authenticated as a client (`authorization` is the header's whole value), as
    /// `/oauth/revoke` and `/oauth/introspect` take it.
    pub async fn post_client_form(&self, uri: &str, body: &str, authorization: &str) -> Resp {
        self.post_form(uri, body, None, &[("authorization", authorization)])
            .await
    }

    /// `client_id=…&redirect_uri=…&response_type=code&scope=full&state=xyz` + `extra`.
    pub fn query(&self, extra: &str) -> String {
        format!(
            "client_id={CLIENT_ID}&redirect_uri={}&response_type=code&scope=full&state=xyz{extra}",
            enc(REDIRECT)
        )
    }

    /// GETs the login page (creating the pre-login session); returns (cookie, login csrf).
    pub async fn login_page(&self, query: &str) -> (String, String) {
        let page = self.get(&authorize(query), None).await;
        page.assert_status(StatusCode::OK);
        let cookie = page.cookie().expect("a pre-login session cookie");
        let token = page.csrf_tokens().remove(0);
        (cookie, token)
    }

    /// Signs in as `email`; returns the signed-in session cookie.
    pub async fn login_as(&self, query: &str, email: &str) -> String {
        let (cookie, token) = self.login_page(query).await;
        let res = self
            .post_form(
                &authorize(query),
                &format!(
                    "form=login&csrf_token={token}&email={}&password={}",
                    enc(email),
                    enc(PASSWORD)
                ),
                Some(&cookie),
                &[],
            )
            .await;
        res.assert_status(StatusCode::SEE_OTHER);
        res.cookie().expect("a new session cookie at login")
    }

    pub async fn login(&self, query: &str) -> String {
        self.login_as(query, &self.user.email).await
    }

    /// GETs the consent page with a signed-in cookie.
    pub async fn consent_page(&self, query: &str, cookie: &str) -> Resp {
        let page = self.get(&authorize(query), Some(cookie)).await;
        page.assert_status(StatusCode::OK);
        page
    }

    /// Posts the consent form with `decision`.
    pub async fn decide(&self, query: &str, cookie: &str, decision: &str) -> Resp {
        let page = self.consent_page(query, cookie).await;
        let token = page.csrf_tokens().remove(0);
        let account = page
            .hidden("account_id")
            .expect("account_id on the consent page");
        self.post_form(
            &authorize(query),
            &format!("form=consent&csrf_token={token}&account_id={account}&decision={decision}"),
            Some(cookie),
            &[],
        )
        .await
    }

    /// Signs in, allows, and returns the code.
    pub async fn code_for(&self, query: &str) -> String {
        let cookie = self.login(query).await;
        let res = self.decide(query, &cookie, "allow").await;
        res.assert_status(StatusCode::FOUND);
        res.location_param("code").expect("a code")
    }

    pub async fn code(&self) -> String {
        self.code_for(&self.query("")).await
    }

    /// POST /token with an already-encoded form body.
    pub async fn token(&self, body: &str, extra: &[(&str, &str)]) -> Resp {
        self.post_form("/token", body, None, extra).await
    }

    /// Exchanges a code with body credentials.
    pub async fn exchange(&self, code: &str) -> Resp {
        self.token(
            &format!(
                "grant_type=authorization_code&code={code}&redirect_uri={}&client_id={CLIENT_ID}&client_secret={}",
                enc(REDIRECT),
                enc(CLIENT_SECRET)
            ),
            &[],
        )
        .await
    }

    /// A fresh token pair for `user` in `account`: (access, refresh).
    pub async fn tokens(&self) -> (String, String) {
        let code = self.code().await;
        let res = self.exchange(&code).await;
        res.assert_status(StatusCode::OK);
        let j = res.json();
        (
            j["access_token"].as_str().expect("access").to_owned(),
            j["refresh_token"].as_str().expect("refresh").to_owned(),
        )
    }

    /// Mints an API key of `kind` for `account` as `user`.
    pub async fn api_key(
        &self,
        kind: KeyKind,
        read_only: bool,
        expires_in: Option<time::Duration>,
    ) -> (String, i64) {
        let key = Secret::generate_hex("KeapAK-", 25);
        let now = self.clock.now();
        let stored = self
            .store
            .create_api_key(NewApiKey {
                hash: key.hash(),
                display_prefix: key.expose()[..11].to_owned(),
                name: "test key".into(),
                kind,
                account_id: self.account.id,
                user_id: Some(self.user.id),
                read_only,
                created_at: now,
                expires_at: expires_in.map(|d| now + d),
            })
            .await
            .expect("api key");
        (key.expose().to_owned(), stored.id)
    }
}

/// Percent-encodes a component.
pub fn enc(s: &str) -> String {
    keapsake_server::params::encode(s.as_bytes())
}

/// `Basic base64(id:secret)`, raw (not form-encoded first).
pub fn basic_raw(id: &str, secret: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
    )
}

/// `Basic base64(urlencode(id):urlencode(secret))` as RFC 6749 §2.3.1 says.
pub fn basic_encoded(id: &str, secret: &str) -> String {
    let e = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    basic_raw(&e(id), &e(secret))
}

/// Asserts every HTML security header (SECURITY.md §1).
#[track_caller]
pub fn assert_html_security_headers(res: &Resp) {
    assert!(
        res.header("content-type")
            .is_some_and(|c| c.starts_with("text/html")),
        "not HTML: {:?}",
        res.header("content-type")
    );
    assert_eq!(res.header("content-security-policy").as_deref(), Some(CSP));
    assert_eq!(res.header("x-frame-options").as_deref(), Some("DENY"));
    assert_eq!(
        res.header("referrer-policy").as_deref(),
        Some("same-origin")
    );
    assert_eq!(res.header("cache-control").as_deref(), Some("no-store"));
    assert_eq!(
        res.header("x-content-type-options").as_deref(),
        Some("nosniff")
    );
}

/// Asserts an HTML page that does not send the browser anywhere: no Location, no refresh, no
/// script, and no mention of `uri`.
#[track_caller]
pub fn assert_inert_page(res: &Resp, status: StatusCode, uri: Option<&str>) {
    res.assert_status(status);
    assert!(res.location().is_none(), "unexpected Location");
    assert!(res.header("refresh").is_none());
    let html = res.text().to_ascii_lowercase();
    assert!(!html.contains("<script"));
    assert!(!html.contains("http-equiv"));
    if let Some(uri) = uri {
        assert!(!res.text().contains(uri), "the page mentions {uri}");
        assert!(!res.text().contains(&enc(uri)));
    }
    assert_html_security_headers(res);
}

/// Asserts the /token response headers (`keap/oauth.md` §4.4).
#[track_caller]
pub fn assert_token_headers(res: &Resp) {
    assert_eq!(
        res.header("content-type").as_deref(),
        Some("application/json;charset=UTF-8")
    );
    assert_eq!(res.header("cache-control").as_deref(), Some("no-store"));
    assert_eq!(res.header("pragma").as_deref(), Some("no-cache"));
}

/// Asserts an exact OAuth error body and the token headers.
#[track_caller]
pub fn assert_oauth_error(res: &Resp, status: StatusCode, error: &str) {
    res.assert_status(status);
    assert_token_headers(res);
    let j = res.json();
    assert_eq!(j["error"], error, "body: {}", res.text());
    assert!(j["error_description"].is_string());
}

/// Asserts the Apigee 401 envelope.
#[track_caller]
pub fn assert_fault(res: &Resp, faultstring: &str, errorcode: &str) {
    res.assert_status(StatusCode::UNAUTHORIZED);
    assert_eq!(
        res.header("content-type").as_deref(),
        Some("application/json")
    );
    assert_eq!(
        res.header("www-authenticate").as_deref(),
        Some("Bearer realm=\"keapsake\", error=\"invalid_token\"")
    );
    assert_eq!(
        res.json(),
        serde_json::json!({"fault":{"faultstring":faultstring,"detail":{"errorcode":errorcode}}})
    );
}

pub fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// Asserts the Apigee 401 of an access token that is unknown, revoked or not one at all.
#[track_caller]
pub fn assert_invalid_access_token(res: &Resp) {
    assert_fault(
        res,
        "Invalid Access Token",
        "keymanagement.service.invalid_access_token",
    );
}

/// A REST call with `Authorization: Bearer <token>` and, when there is a body, that JSON body.
pub async fn call(
    h: &Harness,
    token: &str,
    method: Method,
    path: &str,
    body: Option<serde_json::Value>,
) -> Resp {
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header(header::AUTHORIZATION, bearer(token));
    let body = match body {
        Some(b) => {
            req = req.header(header::CONTENT_TYPE, "application/json");
            Body::from(b.to_string())
        }
        None => Body::empty(),
    };
    h.send(req.body(body).expect("request")).await
}
