//! Automatic refresh: before expiry, on a 401 `access_token_expired`, single-flight, and never
//! using a token that was not saved.

use std::time::Duration;

use futures_util::future::join_all;
use keapsake_sdk::Error;
use secrecy::ExposeSecret;
use wiremock::matchers::{bearer_token, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::*;

async fn mount_userinfo_for(server: &MockServer, access: &str, times: u64) {
    Mock::given(method("GET"))
        .and(path(USERINFO))
        .and(bearer_token(access))
        .respond_with(ResponseTemplate::new(200).set_body_json(userinfo_body()))
        .expect(times)
        .mount(server)
        .await;
}

#[tokio::test]
async fn fifty_concurrent_calls_as_the_token_expires_make_exactly_one_refresh() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(header("authorization", BASIC))
        .and(FormIs(vec![
            ("grant_type", "refresh_token".into()),
            ("refresh_token", "r1".into()),
        ]))
        // Slow enough that every caller arrives while the refresh is in flight.
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(token_body("a2", "r2"))
                .set_delay(Duration::from_millis(300)),
        )
        .expect(1)
        .mount(&server)
        .await;
    mount_userinfo_for(&server, "a2", 50).await;
    let store = store_with(expired_token("a1", "r1"));
    let client = oauth_client(&server, store.clone());

    let results = join_all((0..50).map(|_| {
        let c = client.clone();
        tokio::spawn(async move { c.userinfo().send().await })
    }))
    .await;

    for r in results {
        r.unwrap().unwrap();
    }
    server.verify().await;
    assert_eq!(
        store
            .get()
            .unwrap()
            .refresh_token()
            .unwrap()
            .expose_secret(),
        "r2"
    );
}

#[tokio::test]
async fn a_token_inside_the_refresh_margin_is_refreshed_before_use() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_body("a2", "r2")))
        .expect(1)
        .mount(&server)
        .await;
    mount_userinfo_for(&server, "a2", 2).await;
    mount_userinfo_for(&server, "a1", 0).await;
    // Expires in 30 s; the default margin is 60 s.
    let soon = keapsake_sdk::Token::new(
        "a1",
        Some("r1".into()),
        Some(time::OffsetDateTime::now_utc() + time::Duration::seconds(30)),
    );
    let client = oauth_client(&server, store_with(soon));

    client.userinfo().send().await.unwrap();
    client.userinfo().send().await.unwrap();

    server.verify().await;
}

#[tokio::test]
async fn a_401_access_token_expired_refreshes_once_and_retries() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(USERINFO))
        .and(bearer_token("a1"))
        .respond_with(ResponseTemplate::new(401).set_body_json(expired_fault()))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_body("a2", "r2")))
        .expect(1)
        .mount(&server)
        .await;
    mount_userinfo_for(&server, "a2", 1).await;
    // Locally the token looks valid (clocks disagree, or the server revoked it early).
    let client = oauth_client(&server, store_with(valid_token("a1", "r1")));

    let me = client.userinfo().send().await.unwrap();

    assert_eq!(me.sub.as_deref(), Some("1"));
    server.verify().await;
}

#[tokio::test]
async fn fifty_callers_hitting_a_server_side_expiry_share_one_refresh() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(USERINFO))
        .and(bearer_token("a1"))
        .respond_with(ResponseTemplate::new(401).set_body_json(expired_fault()))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(token_body("a2", "r2"))
                .set_delay(Duration::from_millis(100)),
        )
        .expect(1)
        .mount(&server)
        .await;
    mount_userinfo_for(&server, "a2", 50).await;
    let client = oauth_client(&server, store_with(valid_token("a1", "r1")));

    let results = join_all((0..50).map(|_| client.userinfo().send())).await;

    assert!(results.iter().all(Result::is_ok));
    server.verify().await;
}

#[tokio::test]
async fn a_second_401_after_refreshing_is_returned_not_looped() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(USERINFO))
        .respond_with(ResponseTemplate::new(401).set_body_json(expired_fault()))
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_body("a2", "r2")))
        .expect(1)
        .mount(&server)
        .await;
    let client = oauth_client(&server, store_with(valid_token("a1", "r1")));

    let err = client.userinfo().send().await.unwrap_err();

    assert!(
        matches!(&err, Error::Auth { status: 401, errorcode: Some(c), .. } if c == "keymanagement.service.access_token_expired"),
        "{err:?}"
    );
    server.verify().await;
}

#[tokio::test]
async fn an_invalid_token_401_is_an_auth_error_without_refresh() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(USERINFO))
        .respond_with(ResponseTemplate::new(401).set_body_json(invalid_fault()))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&server)
        .await;
    let client = oauth_client(&server, store_with(valid_token("a1", "r1")));

    let err = client.userinfo().send().await.unwrap_err();

    match &err {
        Error::Auth {
            message, errorcode, ..
        } => {
            assert_eq!(message, "Invalid Access Token");
            assert_eq!(
                errorcode.as_deref(),
                Some("keymanagement.service.invalid_access_token")
            );
        }
        other => panic!("expected Error::Auth, got {other:?}"),
    }
    assert!(err.requires_reauthorization());
    server.verify().await;
}

#[tokio::test]
async fn a_rotated_token_that_cannot_be_saved_is_never_used_until_it_is() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_body("a2", "r2")))
        .expect(1)
        .mount(&server)
        .await;
    let guard = Mock::given(method("GET"))
        .and(path(USERINFO))
        .respond_with(ResponseTemplate::new(200).set_body_json(userinfo_body()))
        .expect(0)
        .mount_as_scoped(&server)
        .await;
    let store = FlakyStore::default();
    store.inner.set(Some(expired_token("a1", "r1")));
    store.set_failing(true);
    let client = oauth_client(&server, store.clone());

    let err = client.userinfo().send().await.unwrap_err();
    assert!(matches!(err, Error::TokenStore(_)), "{err:?}");
    let err = client.userinfo().send().await.unwrap_err();
    assert!(matches!(err, Error::TokenStore(_)), "{err:?}");
    drop(guard); // no API request was made with the unsaved token

    // Once the store works, the kept token is saved first, then used; no second refresh.
    mount_userinfo_for(&server, "a2", 1).await;
    store.set_failing(false);
    client.userinfo().send().await.unwrap();
    assert_eq!(
        store
            .inner
            .get()
            .unwrap()
            .refresh_token()
            .unwrap()
            .expose_secret(),
        "r2"
    );
    server.verify().await;
}

#[tokio::test]
async fn a_token_another_process_already_rotated_is_adopted_instead_of_refreshing() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(USERINFO))
        .and(bearer_token("a1"))
        .respond_with(ResponseTemplate::new(401).set_body_json(expired_fault()))
        .mount(&server)
        .await;
    mount_userinfo_for(&server, "a2", 2).await;
    let store = store_with(valid_token("a1", "r1"));
    let client = oauth_client(&server, store.clone());
    client.token().await.unwrap(); // the client has loaded a1/r1

    // Another process sharing the store refreshed meanwhile.
    store.set(Some(valid_token("a2", "r2")));
    client.userinfo().send().await.unwrap();
    client.userinfo().send().await.unwrap();

    server.verify().await;
}
