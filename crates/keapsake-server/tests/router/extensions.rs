//! Extensions beyond Keap: RFC 7009 revocation, RFC 7662 introspection, RFC 8414 metadata.

use crate::support::*;
use axum::http::StatusCode;

#[tokio::test]
async fn revoke_kills_the_whole_family_and_answers_200() {
    let h = Harness::new().await;
    let (at, rt) = h.tokens().await;
    let res = h
        .post_client_form(
            "/oauth/revoke",
            &format!("token={}", enc(&rt)),
            &basic_encoded(CLIENT_ID, CLIENT_SECRET),
        )
        .await;
    res.assert_status(StatusCode::OK);
    assert_token_headers(&res);
    let res = h.get_bearer(USERINFO, &at).await;
    assert_invalid_access_token(&res);
    let res = h
        .token(
            &format!("grant_type=refresh_token&refresh_token={}", enc(&rt)),
            &[("authorization", &basic_encoded(CLIENT_ID, CLIENT_SECRET))],
        )
        .await;
    res.assert_status(StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn revoke_of_unknown_or_foreign_tokens_is_200_and_changes_nothing() {
    let h = Harness::new().await;
    let (at, _) = h.tokens().await;
    let other = basic_encoded(OTHER_CLIENT_ID, OTHER_CLIENT_SECRET);
    for token in ["unknown".to_owned(), at.clone()] {
        let res = h
            .post_client_form("/oauth/revoke", &format!("token={token}"), &other)
            .await;
        res.assert_status(StatusCode::OK);
    }
    h.get_bearer(USERINFO, &at)
        .await
        .assert_status(StatusCode::OK);
}

#[tokio::test]
async fn revoke_requires_client_authentication_and_a_token() {
    let h = Harness::new().await;
    let res = h.post_form("/oauth/revoke", "token=x", None, &[]).await;
    assert_oauth_error(&res, StatusCode::UNAUTHORIZED, "invalid_client");
    let res = h
        .post_client_form(
            "/oauth/revoke",
            "",
            &basic_encoded(CLIENT_ID, CLIENT_SECRET),
        )
        .await;
    assert_oauth_error(&res, StatusCode::BAD_REQUEST, "invalid_request");
}

#[tokio::test]
async fn introspection_shows_only_the_clients_own_live_tokens() {
    let h = Harness::new().await;
    let (at, rt) = h.tokens().await;
    let own = basic_encoded(CLIENT_ID, CLIENT_SECRET);
    let res = h
        .post_client_form("/oauth/introspect", &format!("token={at}"), &own)
        .await;
    res.assert_status(StatusCode::OK);
    let j = res.json();
    assert_eq!(j["active"], true);
    assert_eq!(j["token_type"], "access_token");
    assert_eq!(j["client_id"], CLIENT_ID);
    assert_eq!(j["scope"], "full|ab123.infusionsoft.com");
    assert_eq!(j["sub"], h.user.id.0.to_string());
    let res = h
        .post_client_form("/oauth/introspect", &format!("token={rt}"), &own)
        .await;
    assert_eq!(res.json()["token_type"], "refresh_token");
    // Another client sees nothing.
    let other = basic_encoded(OTHER_CLIENT_ID, OTHER_CLIENT_SECRET);
    let res = h
        .post_client_form("/oauth/introspect", &format!("token={at}"), &other)
        .await;
    assert_eq!(res.json(), serde_json::json!({"active": false}));
    // Expired: inactive.
    h.clock.advance(time::Duration::hours(2));
    let res = h
        .post_client_form("/oauth/introspect", &format!("token={at}"), &own)
        .await;
    assert_eq!(res.json(), serde_json::json!({"active": false}));
}

#[tokio::test]
async fn metadata_names_every_endpoint() {
    let h = Harness::new().await;
    let res = h.get("/.well-known/oauth-authorization-server", None).await;
    res.assert_status(StatusCode::OK);
    let j = res.json();
    assert_eq!(j["issuer"], "http://127.0.0.1:8080");
    assert_eq!(
        j["authorization_endpoint"],
        "http://127.0.0.1:8080/app/oauth/authorize"
    );
    assert_eq!(j["token_endpoint"], "http://127.0.0.1:8080/token");
    assert_eq!(
        j["revocation_endpoint"],
        "http://127.0.0.1:8080/oauth/revoke"
    );
    assert_eq!(
        j["code_challenge_methods_supported"],
        serde_json::json!(["S256", "plain"])
    );
    assert_eq!(j["scopes_supported"], serde_json::json!(["full"]));
}
