//! The resource-side credential check (`keap/oauth.md` §5–§6): where credentials are found,
//! which one decides, and the Apigee 401 envelope for each failure.

use crate::support::*;
use axum::http::StatusCode;
use keapsake_core::store::KeyKind;

#[tokio::test]
async fn no_credential_is_the_oauth_v2_fault() {
    let h = Harness::new().await;
    let res = h.get(USERINFO, None).await;
    assert_fault(&res, "Invalid access token", "oauth.v2.InvalidAccessToken");
}

#[tokio::test]
async fn non_bearer_authorization_is_the_oauth_v2_fault() {
    let h = Harness::new().await;
    let (at, _) = h.tokens().await;
    for auth in [
        basic_raw(CLIENT_ID, CLIENT_SECRET),
        format!("Token {at}"),
        at.clone(),
    ] {
        let res = h.get_with(USERINFO, &[("authorization", &auth)]).await;
        assert_fault(&res, "Invalid access token", "oauth.v2.InvalidAccessToken");
    }
}

#[tokio::test]
async fn unknown_token_is_invalid_access_token() {
    let h = Harness::new().await;
    let res = h
        .get_with(USERINFO, &[("authorization", "Bearer nope")])
        .await;
    assert_invalid_access_token(&res);
    let res = h
        .get_with(USERINFO, &[("x-keap-api-key", "KeapAK-0000")])
        .await;
    assert_invalid_access_token(&res);
    let res = h.get(&format!("{USERINFO}?access_token=nope"), None).await;
    assert_invalid_access_token(&res);
    let res = h.get_with(USERINFO, &[("authorization", "Bearer ")]).await;
    assert_invalid_access_token(&res);
}

#[tokio::test]
async fn expired_access_token_is_access_token_expired() {
    let h = Harness::new().await;
    let (at, _) = h.tokens().await;
    h.clock.advance(time::Duration::seconds(3600));
    let res = h.get_bearer(USERINFO, &at).await;
    assert_fault(
        &res,
        "Access Token expired",
        "keymanagement.service.access_token_expired",
    );
}

#[tokio::test]
async fn revoked_access_token_is_invalid_access_token() {
    let h = Harness::new().await;
    let (at, _) = h.tokens().await;
    h.post_client_form(
        "/oauth/revoke",
        &format!("token={at}"),
        &basic_encoded(CLIENT_ID, CLIENT_SECRET),
    )
    .await
    .assert_status(StatusCode::OK);
    let res = h.get_bearer(USERINFO, &at).await;
    assert_invalid_access_token(&res);
}

#[tokio::test]
async fn token_of_a_disabled_app_is_not_approved() {
    let h = Harness::new().await;
    let (at, _) = h.tokens().await;
    h.store.set_app_enabled(CLIENT_ID, false).await.unwrap();
    let res = h.get_bearer(USERINFO, &at).await;
    assert_fault(
        &res,
        "Invalid Access Token",
        "keymanagement.service.access_token_not_approved",
    );
}

#[tokio::test]
async fn refresh_tokens_and_codes_are_not_bearer_credentials() {
    let h = Harness::new().await;
    let (_, rt) = h.tokens().await;
    let code = h.code().await;
    for t in [rt, code] {
        let res = h.get_bearer(USERINFO, &t).await;
        assert_invalid_access_token(&res);
    }
}

#[tokio::test]
async fn every_presentation_works_and_the_bearer_scheme_is_case_insensitive() {
    let h = Harness::new().await;
    let (at, _) = h.tokens().await;
    let (pat, _) = h.api_key(KeyKind::Pat, false, None).await;
    h.get_with(USERINFO, &[("authorization", &format!("bearer {at}"))])
        .await
        .assert_status(StatusCode::OK);
    h.get_with(USERINFO, &[("authorization", &format!("BEARER {at}"))])
        .await
        .assert_status(StatusCode::OK);
    h.get(&format!("{USERINFO}?access_token={at}"), None)
        .await
        .assert_status(StatusCode::OK);
    h.get_with(USERINFO, &[("x-keap-api-key", &pat)])
        .await
        .assert_status(StatusCode::OK);
    h.get_bearer(USERINFO, &pat)
        .await
        .assert_status(StatusCode::OK);
    // A token that is not KeapAK-shaped still works from X-Keap-API-Key: lookup, not shape.
    h.get_with(USERINFO, &[("x-keap-api-key", &at)])
        .await
        .assert_status(StatusCode::OK);
}

#[tokio::test]
async fn the_first_credential_found_decides() {
    let h = Harness::new().await;
    let (at, _) = h.tokens().await;
    // A bad Authorization beats a good key and query.
    let res = h
        .get_with(
            &format!("{USERINFO}?access_token={at}"),
            &[("authorization", "Bearer bad"), ("x-keap-api-key", &at)],
        )
        .await;
    assert_invalid_access_token(&res);
    // A bad key header beats a good query token.
    let res = h
        .get_with(
            &format!("{USERINFO}?access_token={at}"),
            &[("x-keap-api-key", "bad")],
        )
        .await;
    res.assert_status(StatusCode::UNAUTHORIZED);
    // Good Authorization wins over a bad query token.
    h.get_bearer(&format!("{USERINFO}?access_token=bad"), &at)
        .await
        .assert_status(StatusCode::OK);
}

#[tokio::test]
async fn expired_and_revoked_api_keys_are_refused() {
    let h = Harness::new().await;
    let (expiring, _) = h
        .api_key(KeyKind::Sak, false, Some(time::Duration::hours(1)))
        .await;
    let (revoked, id) = h.api_key(KeyKind::Pat, false, None).await;
    h.store
        .revoke_api_key(h.account.id, id, start_time())
        .await
        .unwrap();
    h.clock.advance(time::Duration::hours(2));
    let res = h.get_with(USERINFO, &[("x-keap-api-key", &expiring)]).await;
    assert_fault(
        &res,
        "Access Token expired",
        "keymanagement.service.access_token_expired",
    );
    let res = h.get_with(USERINFO, &[("x-keap-api-key", &revoked)]).await;
    assert_invalid_access_token(&res);
}

#[tokio::test]
async fn unknown_rest_paths_authenticate_first_then_404() {
    let h = Harness::new().await;
    let res = h.get("/crm/rest/v1/no/such/thing", None).await;
    assert_fault(&res, "Invalid access token", "oauth.v2.InvalidAccessToken");
    let res = h
        .get_with(
            "/crm/rest/v1/no/such/thing",
            &[("authorization", "Bearer bad")],
        )
        .await;
    assert_invalid_access_token(&res);
    let (at, _) = h.tokens().await;
    let res = h.get_bearer("/crm/rest/v1/no/such/thing", &at).await;
    res.assert_status(StatusCode::NOT_FOUND);
    assert_eq!(
        res.header("content-type").as_deref(),
        Some("application/json")
    );
    assert_eq!(res.json(), serde_json::json!({"message":"Not Found"}));
    let res = h.get_bearer("/crm/rest/v2/no/such/thing", &at).await;
    res.assert_status(StatusCode::NOT_FOUND);
    assert_eq!(
        res.json(),
        serde_json::json!({"code":404,"message":"Not Found","status":"NOT_FOUND","details":[]})
    );
    let res = h.get("/crm/rest/v2/no/such/thing", None).await;
    assert_fault(&res, "Invalid access token", "oauth.v2.InvalidAccessToken");
}

#[tokio::test]
async fn wrong_method_on_a_rest_path_authenticates_first_then_405() {
    let h = Harness::new().await;
    let req = |auth: Option<String>| {
        let mut b = axum::http::Request::delete("/crm/rest/v1/account/profile");
        if let Some(a) = auth {
            b = b.header("authorization", a);
        }
        b.body(axum::body::Body::empty()).unwrap()
    };
    let res = h.send(req(None)).await;
    assert_fault(&res, "Invalid access token", "oauth.v2.InvalidAccessToken");
    let (at, _) = h.tokens().await;
    let res = h.send(req(Some(bearer(&at)))).await;
    res.assert_status(StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(
        res.json(),
        serde_json::json!({"message":"Method Not Allowed"})
    );
    let allow = res.header("allow").unwrap();
    assert!(allow.contains("GET") && allow.contains("PUT"), "{allow}");
}
