//! Endpoints, the authorization URL, credentials on the wire, redaction.

use keapsake_sdk::{Error, Keap, Method, OAuthApp};
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::*;

#[test]
fn defaults_are_keaps_real_hosts() {
    let client = Keap::builder().oauth(app()).build().unwrap();
    let ep = client.endpoints();
    assert_eq!(
        ep.authorize.as_str(),
        "https://accounts.infusionsoft.com/app/oauth/authorize"
    );
    assert_eq!(ep.token.as_str(), "https://api.infusionsoft.com/token");
    assert_eq!(ep.api.as_str(), "https://api.infusionsoft.com/crm/");
    assert_eq!(ep.root.as_str(), "https://api.infusionsoft.com/");
}

#[test]
fn one_base_url_points_everything_at_keapsake() {
    let client = Keap::builder()
        .base_url("http://127.0.0.1:8080/keap")
        .oauth(app())
        .build()
        .unwrap();
    let ep = client.endpoints();
    assert_eq!(
        ep.authorize.as_str(),
        "http://127.0.0.1:8080/keap/app/oauth/authorize"
    );
    assert_eq!(ep.token.as_str(), "http://127.0.0.1:8080/keap/token");
    assert_eq!(ep.api.as_str(), "http://127.0.0.1:8080/keap/crm/");
    assert_eq!(ep.root.as_str(), "http://127.0.0.1:8080/keap/");
}

#[test]
fn single_endpoint_overrides_win_over_base_url() {
    let client = Keap::builder()
        .base_url("http://127.0.0.1:8080")
        .authorize_url("https://signin.infusionsoft.com/app/oauth/authorize")
        .build()
        .unwrap();
    assert_eq!(
        client.endpoints().authorize.host_str(),
        Some("signin.infusionsoft.com")
    );
    assert_eq!(
        client.endpoints().token.as_str(),
        "http://127.0.0.1:8080/token"
    );
}

#[test]
fn bad_base_url_is_a_config_error() {
    let err = Keap::builder()
        .base_url("ftp://example.com")
        .build()
        .unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err:?}");
}

#[test]
fn authorization_url_carries_keaps_parameters() {
    let client = Keap::builder().oauth(app()).build().unwrap();
    let url = client.authorization_url("xyz").unwrap();
    let q: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    assert_eq!(
        q,
        vec![
            ("client_id".into(), CLIENT_ID.into()),
            ("redirect_uri".into(), REDIRECT_URI.into()),
            ("response_type".into(), "code".into()),
            ("scope".into(), "full".into()),
            ("state".into(), "xyz".into()),
        ]
    );
    assert!(
        url.as_str()
            .starts_with("https://accounts.infusionsoft.com/app/oauth/authorize?")
    );
}

#[test]
fn authorization_url_with_pkce_sends_an_s256_challenge() {
    let client = Keap::builder().oauth(app()).build().unwrap();
    let (url, verifier) = client.authorization_url_with_pkce("s").unwrap();
    let get = |k: &str| {
        url.query_pairs()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.into_owned())
    };
    assert_eq!(get("code_challenge_method").as_deref(), Some("S256"));
    assert_eq!(get("code_challenge"), Some(verifier.challenge()));
}

#[test]
fn secrets_print_redacted() {
    let app = OAuthApp::new("cid", "super-secret-value", REDIRECT_URI);
    assert!(!format!("{app:?}").contains("super-secret-value"));
    let client = Keap::builder()
        .api_key("KeapAK-abcdef0123")
        .build()
        .unwrap();
    assert!(!format!("{client:?}").contains("KeapAK"));
}

#[tokio::test]
async fn api_key_goes_in_x_keap_api_key_without_authorization() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(USERINFO))
        .and(header("x-keap-api-key", "KeapAK-abcdef0123"))
        .and(NoHeader("authorization"))
        .respond_with(ResponseTemplate::new(200).set_body_json(userinfo_body()))
        .expect(1)
        .mount(&server)
        .await;
    let client = Keap::builder()
        .base_url(server.uri())
        .api_key("KeapAK-abcdef0123")
        .build()
        .unwrap();

    let me = client.userinfo().send().await.unwrap();

    assert_eq!(me.email.as_deref(), Some("demo@example.com"));
    assert_eq!(me.global_user_id, Some(1));
}

#[tokio::test]
async fn raw_requests_resolve_crm_paths_and_return_error_statuses() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/crm/rest/v1/contacts"))
        .and(query_param("limit", "5"))
        .respond_with(
            ResponseTemplate::new(403).set_body_json(serde_json::json!({"message":"nope"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let client = Keap::builder()
        .base_url(server.uri())
        .api_key("k")
        .build()
        .unwrap();

    let resp = client
        .request(Method::GET, "/crm/rest/v1/contacts")
        .query("limit", 5)
        .send()
        .await
        .unwrap();

    assert_eq!(resp.status().as_u16(), 403);
    assert_eq!(resp.text(), r#"{"message":"nope"}"#);
    let err = resp.error_for_status().unwrap_err();
    assert!(
        matches!(&err, Error::Api { status: 403, message } if message == "nope"),
        "{err:?}"
    );
}

#[tokio::test]
async fn raw_requests_refuse_to_send_credentials_to_another_origin() {
    let client = Keap::builder()
        .base_url("http://127.0.0.1:9")
        .api_key("k")
        .build()
        .unwrap();
    let err = client
        .request(Method::GET, "https://evil.example.com/crm/rest/v1/contacts")
        .send()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err:?}");
}

#[tokio::test]
async fn oauth_without_a_token_says_so() {
    let server = MockServer::start().await;
    let client = oauth_client(&server, keapsake_sdk::MemoryTokenStore::new());
    let err = client.userinfo().send().await.unwrap_err();
    assert!(matches!(err, Error::NoToken), "{err:?}");
    assert!(err.requires_reauthorization());
}
