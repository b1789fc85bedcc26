//! The SDK against a real keapsake, in-process (`keapsake_testkit::TestServer`): the OAuth flow,
//! userinfo, the account profile, refresh rotation, server-side expiry, persistence and the
//! loopback login. The full flow runs on both storage backends.

use std::time::Duration;

use futures_util::future::join_all;
use keapsake_sdk::login::LoopbackLogin;
use keapsake_sdk::model::AccountProfile;
use keapsake_sdk::{Error, FileTokenStore, Keap, MemoryTokenStore, Method, OAuthApp, TokenStore};
use keapsake_testkit::{AuthorizeOptions, Backend, TestApp, TestServer};
use secrecy::ExposeSecret;

fn client_for(srv: &TestServer, app: &TestApp, store: impl TokenStore) -> Keap {
    Keap::builder()
        .base_url(srv.url())
        .oauth(OAuthApp::new(
            &app.client_id,
            &app.client_secret,
            &app.redirect_uri,
        ))
        .token_store(store)
        .retry_policy(crate::support::fast_retries())
        .build()
        .unwrap()
}

/// A client that has been through the authorization flow.
async fn authorized(srv: &TestServer, store: impl TokenStore) -> Keap {
    let code = srv.authorize(&srv.app, &srv.user).await;
    let client = client_for(srv, &srv.app, store);
    client.exchange_code(&code).await.unwrap();
    client
}

fn code_of(location: &str) -> String {
    let u = url::Url::parse(location).unwrap();
    u.query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .unwrap()
}

#[tokio::test]
async fn full_oauth_flow_then_userinfo_on_both_backends() {
    for backend in Backend::ALL {
        let srv = TestServer::start(backend).await;
        let code = srv.authorize(&srv.app, &srv.user).await;
        let store = MemoryTokenStore::new();
        let client = client_for(&srv, &srv.app, store.clone());

        let token = client.exchange_code(&code).await.unwrap();

        assert_eq!(
            token.scope().map(|s| s.split('|').next().unwrap()),
            Some("full"),
            "{backend:?}"
        );
        assert!(
            token
                .account()
                .unwrap()
                .starts_with(&format!("{}.", srv.account.alias)),
            "{backend:?}"
        );
        assert!(store.get().is_some());
        let me = client.userinfo().send().await.unwrap();
        assert_eq!(
            me.email.as_deref(),
            Some(srv.user.email.as_str()),
            "{backend:?}"
        );
        assert_eq!(me.sub, Some(srv.user.id.to_string()), "{backend:?}");
        // The code is single-use: a second exchange is invalid_grant.
        let again = client.exchange_code(&code).await;
        assert_eq!(
            again.as_ref().err().and_then(Error::oauth_error),
            Some("invalid_grant"),
            "{backend:?}: a reused code gave {again:?}"
        );
        srv.stop().await;
    }
}

#[tokio::test]
async fn pkce_flow_against_keapsake() {
    let srv = TestServer::start(Backend::Sqlite).await;
    let client = client_for(&srv, &srv.app, MemoryTokenStore::new());
    let (url, verifier) = client.authorization_url_with_pkce("st-1").unwrap();
    let get = |k: &str| {
        url.query_pairs()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.into_owned())
            .unwrap()
    };
    let location = srv
        .authorize_with(
            &srv.app,
            &srv.user,
            AuthorizeOptions {
                pkce: Some((get("code_challenge"), get("code_challenge_method"))),
                state: Some("st-1".into()),
                ..Default::default()
            },
        )
        .await;
    assert!(location.contains("state=st-1"));

    // A wrong verifier is refused; the right one works.
    let wrong = keapsake_sdk::PkceVerifier::generate().unwrap();
    let code = code_of(&location);
    let err = client
        .exchange_code_with_pkce(&code, &wrong)
        .await
        .unwrap_err();
    assert_eq!(err.oauth_error(), Some("invalid_grant"));

    let location = srv
        .authorize_with(
            &srv.app,
            &srv.user,
            AuthorizeOptions {
                pkce: Some((get("code_challenge"), "S256".into())),
                ..Default::default()
            },
        )
        .await;
    client
        .exchange_code_with_pkce(&code_of(&location), &verifier)
        .await
        .unwrap();
    client.userinfo().send().await.unwrap();
}

#[tokio::test]
async fn account_profile_round_trip() {
    let srv = TestServer::start(Backend::Sqlite).await;
    let client = authorized(&srv, MemoryTokenStore::new()).await;

    let before = client.account().profile().send().await.unwrap();
    let mut changed = AccountProfile {
        name: Some("Renamed by the SDK".into()),
        ..before.clone()
    };
    changed.website = Some("https://example.com".into());
    let after = client
        .account()
        .update_profile(changed)
        .send()
        .await
        .unwrap();
    let again = client.account().profile().send().await.unwrap();

    assert_eq!(after.name.as_deref(), Some("Renamed by the SDK"));
    assert_eq!(again.name.as_deref(), Some("Renamed by the SDK"));
    assert_eq!(again.website.as_deref(), Some("https://example.com"));
    assert_eq!(again.time_zone, before.time_zone);
}

#[tokio::test]
async fn refresh_rotates_and_the_old_refresh_token_stops_working() {
    let srv = TestServer::start(Backend::Sqlite).await;
    let store = MemoryTokenStore::new();
    let client = authorized(&srv, store.clone()).await;
    let first = store.get().unwrap();

    let second = client.refresh().await.unwrap();

    let old_rt = first.refresh_token().unwrap().expose_secret().to_owned();
    let new_rt = second.refresh_token().unwrap().expose_secret().to_owned();
    assert_ne!(old_rt, new_rt);
    assert_ne!(
        first.access_token().expose_secret(),
        second.access_token().expose_secret()
    );
    assert_eq!(
        store
            .get()
            .unwrap()
            .refresh_token()
            .unwrap()
            .expose_secret(),
        new_rt
    );
    // Another client still holding the rotated token gets invalid_grant, and keeps its token.
    let stale_store = MemoryTokenStore::with_token(first.clone());
    let stale = client_for(&srv, &srv.app, stale_store.clone());
    let err = stale.refresh().await.unwrap_err();
    assert!(
        matches!(&err, Error::OAuth { status: 400, error, .. } if error == "invalid_grant"),
        "{err:?}"
    );
    assert!(err.requires_reauthorization());
    assert_eq!(
        stale_store
            .get()
            .unwrap()
            .refresh_token()
            .unwrap()
            .expose_secret(),
        old_rt
    );
    // The rotated pair keeps working.
    client.userinfo().send().await.unwrap();
}

#[tokio::test]
async fn an_access_token_expired_on_the_server_is_refreshed_once_for_fifty_callers() {
    let srv = TestServer::start(Backend::Sqlite).await;
    let store = MemoryTokenStore::new();
    let client = authorized(&srv, store.clone()).await;
    let before = store.get().unwrap();
    // The server's clock moves past the access token's hour; the SDK's does not.
    srv.clock.advance(time::Duration::minutes(61));

    let results = join_all((0..50).map(|_| client.userinfo().send())).await;

    for r in &results {
        assert!(r.is_ok(), "{r:?}");
    }
    // Had two refreshes presented the same refresh token, keapsake would have refused the
    // second and some calls would have failed. One rotation happened:
    let after = store.get().unwrap();
    assert_ne!(
        before.refresh_token().unwrap().expose_secret(),
        after.refresh_token().unwrap().expose_secret()
    );
    // …and only one: the previous refresh token is dead, the stored one alive.
    let (status, _) = srv
        .refresh(&srv.app, before.refresh_token().unwrap().expose_secret())
        .await;
    assert_eq!(status, 400);
    client.userinfo().send().await.unwrap();
}

#[tokio::test]
async fn the_file_store_keeps_the_grant_across_restarts() {
    let srv = TestServer::start(Backend::Sqlite).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token.json");
    authorized(&srv, FileTokenStore::new(&file)).await;

    let second_run = client_for(&srv, &srv.app, FileTokenStore::new(&file));
    second_run.userinfo().send().await.unwrap();
    second_run.refresh().await.unwrap();

    let third_run = client_for(&srv, &srv.app, FileTokenStore::new(&file));
    let me = third_run.userinfo().send().await.unwrap();
    assert_eq!(me.email.as_deref(), Some(srv.user.email.as_str()));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
}

#[tokio::test]
async fn raw_requests_and_error_mapping_against_keapsake() {
    let srv = TestServer::start(Backend::Sqlite).await;
    let client = authorized(&srv, MemoryTokenStore::new()).await;

    let v1 = client
        .request(Method::GET, "/crm/rest/v1/oauth/connect/userinfo")
        .send()
        .await
        .unwrap();
    let v2 = client
        .request(Method::GET, "/crm/rest/v2/oauth/connect/userinfo")
        .send()
        .await
        .unwrap();
    assert_eq!(v1.status().as_u16(), 200);
    assert_eq!(
        v2.json::<serde_json::Value>().unwrap()["email"],
        srv.user.email.as_str()
    );

    let unauthenticated = Keap::builder()
        .base_url(srv.url())
        .api_key("KeapAK-not-a-real-key")
        .build()
        .unwrap();
    let err = unauthenticated.userinfo().send().await.unwrap_err();
    assert!(
        matches!(&err, Error::Auth { status: 401, errorcode: Some(c), .. } if c.contains("invalid_access_token")),
        "{err:?}"
    );

    let missing = client
        .request(Method::GET, "/crm/rest/v1/no-such-thing")
        .send()
        .await
        .unwrap();
    assert!(matches!(
        missing.error_for_status().unwrap_err(),
        Error::NotFound { .. }
    ));
}

#[tokio::test]
async fn loopback_login_end_to_end() {
    let srv = TestServer::start(Backend::Sqlite).await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let app = srv
        .add_app(
            "sdk-login-test",
            &format!("http://127.0.0.1:{port}/callback"),
        )
        .await;
    let store = MemoryTokenStore::new();
    let client = client_for(&srv, &app, store.clone());
    let login = LoopbackLogin::start(&client)
        .await
        .unwrap()
        .with_timeout(Duration::from_secs(30));
    let authorize = login.authorize_url().clone();
    let get = |k: &str| {
        authorize
            .query_pairs()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.into_owned())
            .unwrap()
    };
    let waiting = tokio::spawn(login.finish());

    // The user signs in and allows; the browser follows the redirect to the loopback port.
    let location = srv
        .authorize_with(
            &app,
            &srv.user,
            AuthorizeOptions {
                state: Some(get("state")),
                pkce: Some((get("code_challenge"), get("code_challenge_method"))),
                ..Default::default()
            },
        )
        .await;
    let page = reqwest::get(&location).await.unwrap();
    assert_eq!(page.status(), 200);

    let token = waiting.await.unwrap().unwrap();
    assert!(token.refresh_token().is_some());
    assert!(store.get().is_some());
    let me = client.userinfo().send().await.unwrap();
    assert_eq!(me.email.as_deref(), Some(srv.user.email.as_str()));
}
