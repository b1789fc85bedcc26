//! The file token store across a simulated restart.

use keapsake_sdk::{FileTokenStore, Token, TokenStore};
use secrecy::ExposeSecret;
use wiremock::matchers::{bearer_token, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::*;

#[cfg(unix)]
fn mode(p: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[tokio::test]
async fn tokens_survive_a_restart_and_every_rotation_is_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("config").join("keap-token.json");
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(FormIs(vec![
            ("grant_type", "authorization_code".into()),
            ("code", "c1".into()),
            ("redirect_uri", REDIRECT_URI.into()),
            ("client_id", CLIENT_ID.into()),
            ("client_secret", CLIENT_SECRET.into()),
        ]))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_body("a1", "r1")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(FormIs(vec![
            ("grant_type", "refresh_token".into()),
            ("refresh_token", "r1".into()),
        ]))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_body("a2", "r2")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(USERINFO))
        .and(bearer_token("a1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(userinfo_body()))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(USERINFO))
        .and(bearer_token("a2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(userinfo_body()))
        .expect(1)
        .mount(&server)
        .await;

    // First run: authorize.
    {
        let client = oauth_client(&server, FileTokenStore::new(&file));
        client.exchange_code("c1").await.unwrap();
    }
    #[cfg(unix)]
    {
        assert_eq!(mode(&file), 0o600, "token file must be private");
        assert_eq!(
            mode(file.parent().unwrap()),
            0o700,
            "created directory must be private"
        );
    }

    // Second run: the stored token is used as is, then rotated.
    {
        let client = oauth_client(&server, FileTokenStore::new(&file));
        client.userinfo().send().await.unwrap();
        client.refresh().await.unwrap();
    }

    // Third run: the rotated pair is what is on disk, and it works.
    let store = FileTokenStore::new(&file);
    let stored = store.load().await.unwrap().unwrap();
    assert_eq!(stored.refresh_token().unwrap().expose_secret(), "r2");
    assert_eq!(stored.scope(), Some("full|ab123.infusionsoft.com"));
    let client = oauth_client(&server, store);
    client.userinfo().send().await.unwrap();

    #[cfg(unix)]
    assert_eq!(mode(&file), 0o600);
    let leftovers: Vec<_> = std::fs::read_dir(file.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers, vec![std::ffi::OsString::from("keap-token.json")]);
    server.verify().await;
}

#[tokio::test]
async fn a_missing_file_is_no_token_and_clear_removes_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("t.json");
    let store = FileTokenStore::new(&file);
    assert!(store.load().await.unwrap().is_none());

    store.save(&valid_token("a", "r")).await.unwrap();
    assert!(file.exists());
    store.clear().await.unwrap();
    assert!(!file.exists());
    store.clear().await.unwrap();
}

#[tokio::test]
async fn a_corrupt_token_file_is_a_token_store_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("t.json");
    std::fs::write(&file, "{not json").unwrap();
    let server = MockServer::start().await;
    let client = oauth_client(&server, FileTokenStore::new(&file));

    let err = client.userinfo().send().await.unwrap_err();

    assert!(matches!(err, keapsake_sdk::Error::TokenStore(_)), "{err:?}");
}

#[test]
fn the_file_format_is_plain_json_with_an_rfc3339_expiry() {
    let t = Token::new(
        "a",
        Some("r".into()),
        Some(time::macros::datetime!(2030-01-02 03:04:05 UTC)),
    )
    .with_scope("full|x.infusionsoft.com");
    let v: serde_json::Value = serde_json::from_str(&t.to_json().unwrap()).unwrap();
    assert_eq!(v["access_token"], "a");
    assert_eq!(v["refresh_token"], "r");
    assert_eq!(v["expires_at"], "2030-01-02T03:04:05Z");
    assert_eq!(v["scope"], "full|x.infusionsoft.com");
}
