//! The loopback login helper, with a "browser" played by reqwest.

use std::time::Duration;

use keapsake_sdk::login::LoopbackLogin;
use keapsake_sdk::{Error, Keap, MemoryTokenStore, OAuthApp};
use secrecy::ExposeSecret;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::support::*;

fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn param(url: &url::Url, key: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

#[tokio::test]
async fn login_waits_for_the_redirect_checks_state_and_exchanges_the_code_with_pkce() {
    let server = MockServer::start().await;
    let store = MemoryTokenStore::new();
    let client = oauth_client(&server, store.clone());
    let login = LoopbackLogin::start_on_port(&client, 0)
        .await
        .unwrap()
        .with_timeout(Duration::from_secs(20));
    let redirect = login.redirect_uri().to_owned();
    let authorize = login.authorize_url().clone();
    let state = login.state().to_owned();
    let challenge = param(&authorize, "code_challenge").unwrap();
    assert_eq!(
        param(&authorize, "redirect_uri").as_deref(),
        Some(redirect.as_str())
    );
    assert_eq!(param(&authorize, "state").as_deref(), Some(state.as_str()));
    assert_eq!(
        param(&authorize, "code_challenge_method").as_deref(),
        Some("S256")
    );
    assert!(redirect.starts_with("http://127.0.0.1:") && redirect.ends_with("/callback"));

    let expected_redirect = redirect.clone();
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(move |req: &Request| {
            let form: Vec<(String, String)> = url::form_urlencoded::parse(&req.body)
                .into_owned()
                .collect();
            let get = |k: &str| {
                form.iter()
                    .find(|(key, _)| key == k)
                    .map(|(_, v)| v.clone())
            };
            let verifier = get("code_verifier").unwrap_or_default();
            get("grant_type").as_deref() == Some("authorization_code")
                && get("code").as_deref() == Some("good-code")
                && get("redirect_uri").as_deref() == Some(expected_redirect.as_str())
                && keapsake_sdk::PkceVerifier::from_string(verifier).challenge() == challenge
        })
        .respond_with(ResponseTemplate::new(200).set_body_json(token_body("a1", "r1")))
        .expect(1)
        .mount(&server)
        .await;
    let waiting = tokio::spawn(login.finish());
    let b = browser();

    // Noise the helper must shrug off: another path, and a redirect with someone else's state.
    let favicon = b
        .get(redirect.replace("/callback", "/favicon.ico"))
        .send()
        .await
        .unwrap();
    assert_eq!(favicon.status(), 404);
    let forged = b
        .get(format!("{redirect}?code=evil&state=not-{state}"))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 400);
    // The real redirect.
    let ok = b
        .get(format!("{redirect}?code=good-code&state={state}"))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    assert!(ok.text().await.unwrap().contains("Signed in"));

    let token = waiting.await.unwrap().unwrap();
    assert_eq!(token.access_token().expose_secret(), "a1");
    assert_eq!(
        store
            .get()
            .unwrap()
            .refresh_token()
            .unwrap()
            .expose_secret(),
        "r1"
    );
    server.verify().await;
}

#[tokio::test]
async fn a_denied_authorization_comes_back_as_an_oauth_error() {
    let server = MockServer::start().await;
    let client = oauth_client(&server, MemoryTokenStore::new());
    let login = LoopbackLogin::start_on_port(&client, 0).await.unwrap();
    let redirect = login.redirect_uri().to_owned();
    let state = login.state().to_owned();
    let waiting = tokio::spawn(login.finish());

    browser()
        .get(format!(
            "{redirect}?error=access_denied&error_description=The+user+denied+access&state={state}"
        ))
        .send()
        .await
        .unwrap();

    let err = waiting.await.unwrap().unwrap_err();
    assert!(
        matches!(&err, Error::OAuth { error, description: Some(d), .. } if error == "access_denied" && d == "The user denied access"),
        "{err:?}"
    );
}

#[tokio::test]
async fn login_binds_the_port_of_a_registered_loopback_redirect_uri() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = Keap::builder()
        .oauth(OAuthApp::new(
            "cid",
            "s",
            format!("http://localhost:{port}/oauth/done"),
        ))
        .build()
        .unwrap();

    let login = LoopbackLogin::start(&client).await.unwrap();

    assert_eq!(login.local_addr().unwrap().port(), port);
    assert_eq!(
        login.redirect_uri(),
        format!("http://localhost:{port}/oauth/done")
    );
    assert!(
        login
            .authorize_url()
            .as_str()
            .starts_with("https://accounts.infusionsoft.com/app/oauth/authorize?")
    );
}

#[tokio::test]
async fn login_refuses_a_non_loopback_redirect_uri() {
    let client = Keap::builder().oauth(app()).build().unwrap();
    let err = LoopbackLogin::start(&client).await.unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err:?}");
}

#[tokio::test]
async fn login_gives_up_after_its_timeout() {
    let client = Keap::builder().oauth(app()).build().unwrap();
    let login = LoopbackLogin::start_on_port(&client, 0)
        .await
        .unwrap()
        .with_timeout(Duration::from_millis(100));
    let err = login.finish().await.unwrap_err();
    assert!(matches!(err, Error::Login(_)), "{err:?}");
}
