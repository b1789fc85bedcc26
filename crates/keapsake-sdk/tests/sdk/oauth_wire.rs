//! `POST /token` exactly as Keap expects it (`keap/oauth.md` §4).

use keapsake_sdk::{Error, MemoryTokenStore, PkceVerifier};
use secrecy::ExposeSecret;
use wiremock::matchers::{bearer_token, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::*;

#[tokio::test]
async fn code_exchange_sends_credentials_in_the_form_body_and_no_basic_header() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(NoHeader("authorization"))
        .and(FormIs(vec![
            ("grant_type", "authorization_code".into()),
            ("code", "the-code".into()),
            ("redirect_uri", REDIRECT_URI.into()),
            ("client_id", CLIENT_ID.into()),
            ("client_secret", CLIENT_SECRET.into()),
        ]))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_body("a1", "r1")))
        .expect(1)
        .mount(&server)
        .await;
    let store = MemoryTokenStore::new();
    let client = oauth_client(&server, store.clone());

    let token = client.exchange_code("the-code").await.unwrap();

    assert_eq!(token.access_token().expose_secret(), "a1");
    assert_eq!(token.refresh_token().unwrap().expose_secret(), "r1");
    assert_eq!(token.account(), Some("ab123.infusionsoft.com"));
    let expires_in = token.expires_at().unwrap() - time::OffsetDateTime::now_utc();
    assert!(expires_in > time::Duration::minutes(59) && expires_in <= time::Duration::hours(1));
    // Saved before it was handed back.
    assert_eq!(
        store
            .get()
            .unwrap()
            .refresh_token()
            .unwrap()
            .expose_secret(),
        "r1"
    );
}

#[tokio::test]
async fn code_exchange_with_pkce_adds_the_verifier() {
    let server = MockServer::start().await;
    let verifier = PkceVerifier::from_string("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(FormIs(vec![
            ("grant_type", "authorization_code".into()),
            ("code", "c".into()),
            ("redirect_uri", REDIRECT_URI.into()),
            ("client_id", CLIENT_ID.into()),
            ("client_secret", CLIENT_SECRET.into()),
            (
                "code_verifier",
                "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk".into(),
            ),
        ]))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_body("a1", "r1")))
        .expect(1)
        .mount(&server)
        .await;
    let client = oauth_client(&server, MemoryTokenStore::new());

    client
        .exchange_code_with_pkce("c", &verifier)
        .await
        .unwrap();
}

#[tokio::test]
async fn refresh_uses_basic_auth_and_only_grant_type_and_refresh_token_in_the_body() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(header("authorization", BASIC))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(FormIs(vec![
            ("grant_type", "refresh_token".into()),
            ("refresh_token", "r1".into()),
        ]))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_body("a2", "r2")))
        .expect(1)
        .mount(&server)
        .await;
    let store = store_with(valid_token("a1", "r1"));
    let client = oauth_client(&server, store.clone());

    let token = client.refresh().await.unwrap();

    assert_eq!(token.access_token().expose_secret(), "a2");
    let saved = store.get().unwrap();
    assert_eq!(saved.refresh_token().unwrap().expose_secret(), "r2");
    assert_eq!(saved.access_token().expose_secret(), "a2");
}

#[tokio::test]
async fn a_used_code_is_an_oauth_error_with_the_rfc_code() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(ResponseTemplate::new(400).set_body_json(
            serde_json::json!({"error":"invalid_grant","error_description":"Invalid authorization code"}),
        ))
        .mount(&server)
        .await;
    let store = MemoryTokenStore::new();
    let client = oauth_client(&server, store.clone());

    let err = client.exchange_code("used").await.unwrap_err();

    match &err {
        Error::OAuth {
            status,
            error,
            description,
        } => {
            assert_eq!(*status, 400);
            assert_eq!(error, "invalid_grant");
            assert_eq!(description.as_deref(), Some("Invalid authorization code"));
        }
        other => panic!("expected Error::OAuth, got {other:?}"),
    }
    assert_eq!(err.oauth_error(), Some("invalid_grant"));
    assert!(store.get().is_none());
}

#[tokio::test]
async fn refresh_rejected_with_invalid_grant_keeps_the_stored_token_and_is_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(ResponseTemplate::new(400).set_body_json(
            serde_json::json!({"error":"invalid_grant","error_description":"Invalid Refresh Token"}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(USERINFO))
        .respond_with(ResponseTemplate::new(200).set_body_json(userinfo_body()))
        .expect(0)
        .mount(&server)
        .await;
    let store = store_with(expired_token("a1", "r1"));
    let client = oauth_client(&server, store.clone());

    let first = client.userinfo().send().await.unwrap_err();
    let second = client.userinfo().send().await.unwrap_err();

    for err in [&first, &second] {
        assert!(
            matches!(err, Error::OAuth { error, .. } if error == "invalid_grant"),
            "{err:?}"
        );
        assert!(err.requires_reauthorization());
    }
    // Not lost, not overwritten: the user can still see what was stored and re-authorize.
    let kept = store.get().unwrap();
    assert_eq!(kept.refresh_token().unwrap().expose_secret(), "r1");
    assert_eq!(kept.access_token().expose_secret(), "a1");
    server.verify().await;
}

#[tokio::test]
async fn keaps_invalid_request_for_a_dead_refresh_token_also_asks_for_reauthorization() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(ResponseTemplate::new(400).set_body_json(
            serde_json::json!({"error":"invalid_request","error_description":"Invalid Refresh Token"}),
        ))
        .mount(&server)
        .await;
    let client = oauth_client(&server, store_with(valid_token("a1", "r1")));

    let err = client.refresh().await.unwrap_err();

    assert!(err.requires_reauthorization(), "{err:?}");
}

#[tokio::test]
async fn a_new_code_exchange_revives_a_client_whose_refresh_token_died() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(FormIs(vec![
            ("grant_type", "refresh_token".into()),
            ("refresh_token", "r1".into()),
        ]))
        .respond_with(
            ResponseTemplate::new(400).set_body_json(serde_json::json!({"error":"invalid_grant"})),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(wiremock::matchers::body_string_contains(
            "grant_type=authorization_code",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_body("a2", "r2")))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(USERINFO))
        .and(bearer_token("a2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(userinfo_body()))
        .expect(1)
        .mount(&server)
        .await;
    let client = oauth_client(&server, store_with(expired_token("a1", "r1")));
    assert!(client.userinfo().send().await.is_err());

    client.exchange_code("fresh").await.unwrap();

    client.userinfo().send().await.unwrap();
}

#[tokio::test]
async fn a_token_body_that_is_not_a_token_is_an_unexpected_response() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(r#"{"access_tok"#, "application/json"),
        )
        .mount(&server)
        .await;
    let client = oauth_client(&server, MemoryTokenStore::new());

    let err = client.exchange_code("c").await.unwrap_err();

    assert!(
        matches!(err, Error::UnexpectedResponse { status: 200, .. }),
        "{err:?}"
    );
}
