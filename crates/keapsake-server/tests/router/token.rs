//! `POST /token`: every row of `keap/oauth.md` §4.5, both grants with body credentials and
//! Basic, PKCE, rotation.

use crate::support::*;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};

fn code_body(code: &str) -> String {
    format!(
        "grant_type=authorization_code&code={code}&redirect_uri={}&client_id={CLIENT_ID}&client_secret={}",
        enc(REDIRECT),
        enc(CLIENT_SECRET)
    )
}

fn refresh_body(rt: &str) -> String {
    format!("grant_type=refresh_token&refresh_token={}", enc(rt))
}

/// Refreshes `rt` with the client authenticated by the `Authorization` value `authorization`.
async fn refresh_with_header(h: &Harness, rt: &str, authorization: &str) -> Resp {
    h.token(&refresh_body(rt), &[("authorization", authorization)])
        .await
}

/// Exchanges `code` with body credentials and `code_verifier=<verifier>`.
async fn exchange_verifying(h: &Harness, code: &str, verifier: &str) -> Resp {
    h.token(
        &format!("{}&code_verifier={verifier}", code_body(code)),
        &[],
    )
    .await
}

// ---- success -----------------------------------------------------------------------------------

#[tokio::test]
async fn code_exchange_with_body_credentials_returns_keaps_token_body() {
    // Arrange
    let h = Harness::new().await;
    let code = h.code().await;
    // Act
    let res = h.exchange(&code).await;
    // Assert
    res.assert_status(StatusCode::OK);
    assert_token_headers(&res);
    let text = res.text();
    let keys: Vec<usize> = [
        "\"access_token\"",
        "\"token_type\"",
        "\"expires_in\"",
        "\"refresh_token\"",
        "\"scope\"",
    ]
    .iter()
    .map(|k| {
        text.find(k)
            .unwrap_or_else(|| panic!("{k} missing in {text}"))
    })
    .collect();
    assert!(keys.windows(2).all(|w| w[0] < w[1]), "field order: {text}");
    let j = res.json();
    assert_eq!(j.as_object().unwrap().len(), 5);
    assert_eq!(j["token_type"], "bearer");
    assert_eq!(j["expires_in"], 3600);
    assert_eq!(j["scope"], "full|ab123.infusionsoft.com");
    assert_eq!(j["access_token"].as_str().unwrap().len(), 43);
    assert_ne!(j["access_token"], j["refresh_token"]);
}

#[tokio::test]
async fn code_exchange_with_basic_credentials_works_encoded_and_raw() {
    let h = Harness::new().await;
    for auth in [
        basic_encoded(CLIENT_ID, CLIENT_SECRET),
        basic_raw(CLIENT_ID, CLIENT_SECRET),
    ] {
        let code = h.code().await;
        let res = h
            .token(
                &format!(
                    "grant_type=authorization_code&code={code}&redirect_uri={}",
                    enc(REDIRECT)
                ),
                &[("authorization", &auth)],
            )
            .await;
        res.assert_status(StatusCode::OK);
    }
}

#[tokio::test]
async fn refresh_with_basic_rotates_and_the_old_token_stops_working() {
    let h = Harness::new().await;
    let (at, rt) = h.tokens().await;
    let auth = basic_encoded(CLIENT_ID, CLIENT_SECRET);
    let res = refresh_with_header(&h, &rt, &auth).await;
    res.assert_status(StatusCode::OK);
    assert_token_headers(&res);
    let j = res.json();
    assert_ne!(j["refresh_token"], rt.as_str());
    assert_eq!(j["scope"], "full|ab123.infusionsoft.com");
    // The old refresh token is dead (inside the grace window: refused, nothing revoked).
    let again = refresh_with_header(&h, &rt, &auth).await;
    again.assert_status(StatusCode::BAD_REQUEST);
    assert_eq!(
        again.json(),
        serde_json::json!({"error":"invalid_grant","error_description":"Invalid Refresh Token"})
    );
    // The old access token stays valid until its own expiry.
    h.get_bearer(USERINFO, &at)
        .await
        .assert_status(StatusCode::OK);
    // The new pair works.
    let new_at = j["access_token"].as_str().unwrap();
    h.get_bearer(USERINFO, new_at)
        .await
        .assert_status(StatusCode::OK);
}

#[tokio::test]
async fn refresh_with_body_credentials_and_with_both_agreeing() {
    let h = Harness::new().await;
    let (_, rt) = h.tokens().await;
    let res = h
        .token(
            &format!(
                "{}&client_id={CLIENT_ID}&client_secret={}",
                refresh_body(&rt),
                enc(CLIENT_SECRET)
            ),
            &[],
        )
        .await;
    res.assert_status(StatusCode::OK);
    let rt2 = res.json()["refresh_token"].as_str().unwrap().to_owned();
    let res = h
        .token(
            &format!("{}&client_id={CLIENT_ID}", refresh_body(&rt2)),
            &[("authorization", &basic_encoded(CLIENT_ID, CLIENT_SECRET))],
        )
        .await;
    res.assert_status(StatusCode::OK);
}

#[tokio::test]
async fn refresh_reuse_after_the_grace_window_revokes_the_family() {
    let h = Harness::new().await;
    let (_, rt) = h.tokens().await;
    let auth = basic_encoded(CLIENT_ID, CLIENT_SECRET);
    let res = refresh_with_header(&h, &rt, &auth).await;
    let winner_at = res.json()["access_token"].as_str().unwrap().to_owned();
    let winner_rt = res.json()["refresh_token"].as_str().unwrap().to_owned();
    h.clock.advance(time::Duration::seconds(61));
    let replay = refresh_with_header(&h, &rt, &auth).await;
    replay.assert_status(StatusCode::BAD_REQUEST);
    assert_eq!(
        replay.json(),
        serde_json::json!({"error":"invalid_grant","error_description":"Invalid Refresh Token"})
    );
    // The winner's pair is dead too.
    let res = refresh_with_header(&h, &winner_rt, &auth).await;
    res.assert_status(StatusCode::BAD_REQUEST);
    let res = h.get_bearer(USERINFO, &winner_at).await;
    assert_invalid_access_token(&res);
}

// ---- §4.5 error rows -----------------------------------------------------------------------------

#[tokio::test]
async fn json_body_is_invalid_request_with_keaps_wording() {
    let h = Harness::new().await;
    let (_, rt) = h.tokens().await;
    let req = Request::post("/token")
        .header(header::CONTENT_TYPE, "application/json")
        .header(
            header::AUTHORIZATION,
            basic_encoded(CLIENT_ID, CLIENT_SECRET),
        )
        .body(Body::from(format!(
            "{{\"grant_type\":\"refresh_token\",\"refresh_token\":\"{rt}\"}}"
        )))
        .unwrap();
    let res = h.send(req).await;
    res.assert_status(StatusCode::BAD_REQUEST);
    assert_token_headers(&res);
    assert_eq!(
        res.json(),
        serde_json::json!({"error":"invalid_request","error_description":"response_type or grant_type is required"})
    );
}

#[tokio::test]
async fn missing_content_type_is_invalid_request() {
    let h = Harness::new().await;
    let req = Request::post("/token")
        .body(Body::from("grant_type=refresh_token"))
        .unwrap();
    let res = h.send(req).await;
    assert_oauth_error(&res, StatusCode::BAD_REQUEST, "invalid_request");
}

#[tokio::test]
async fn missing_grant_type_is_invalid_request_with_keaps_wording() {
    let h = Harness::new().await;
    let res = h
        .token(
            &format!("client_id={CLIENT_ID}&client_secret={}", enc(CLIENT_SECRET)),
            &[],
        )
        .await;
    res.assert_status(StatusCode::BAD_REQUEST);
    assert_token_headers(&res);
    assert_eq!(
        res.json(),
        serde_json::json!({"error":"invalid_request","error_description":"response_type or grant_type is required"})
    );
}

#[tokio::test]
async fn query_string_parameters_are_ignored() {
    let h = Harness::new().await;
    let code = h.code().await;
    let uri = format!("/token?{}", code_body(&code));
    let res = h.post_form(&uri, "", None, &[]).await;
    res.assert_status(StatusCode::BAD_REQUEST);
    assert_eq!(
        res.json()["error_description"],
        "response_type or grant_type is required"
    );
    // The code was not consumed.
    h.exchange(&code).await.assert_status(StatusCode::OK);
}

#[tokio::test]
async fn unknown_grant_types_are_unsupported() {
    let h = Harness::new().await;
    for grant in [
        "client_credentials",
        "password",
        "implicit",
        "urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code",
    ] {
        let res = h
            .token(
                &format!(
                    "grant_type={grant}&client_id={CLIENT_ID}&client_secret={}",
                    enc(CLIENT_SECRET)
                ),
                &[],
            )
            .await;
        assert_oauth_error(&res, StatusCode::BAD_REQUEST, "unsupported_grant_type");
    }
}

#[tokio::test]
async fn missing_required_fields_are_invalid_request() {
    let h = Harness::new().await;
    let creds = format!("client_id={CLIENT_ID}&client_secret={}", enc(CLIENT_SECRET));
    for body in [
        format!(
            "grant_type=authorization_code&redirect_uri={}&{creds}",
            enc(REDIRECT)
        ),
        format!("grant_type=authorization_code&code=abc&{creds}"),
        format!(
            "grant_type=authorization_code&code=&redirect_uri={}&{creds}",
            enc(REDIRECT)
        ),
        format!("grant_type=refresh_token&{creds}"),
    ] {
        let res = h.token(&body, &[]).await;
        assert_oauth_error(&res, StatusCode::BAD_REQUEST, "invalid_request");
    }
}

#[tokio::test]
async fn repeated_parameters_are_invalid_request() {
    let h = Harness::new().await;
    let code = h.code().await;
    let res = h
        .token(&format!("{}&code={code}", code_body(&code)), &[])
        .await;
    assert_oauth_error(&res, StatusCode::BAD_REQUEST, "invalid_request");
    let res = h
        .token(
            &format!("grant_type=refresh_token&{}", code_body(&code)),
            &[],
        )
        .await;
    assert_oauth_error(&res, StatusCode::BAD_REQUEST, "invalid_request");
    // Neither consumed the code.
    h.exchange(&code).await.assert_status(StatusCode::OK);
}

#[tokio::test]
async fn client_authentication_failures_are_401_invalid_client() {
    let h = Harness::new().await;
    let code = h.code().await;
    let base = format!(
        "grant_type=authorization_code&code={code}&redirect_uri={}",
        enc(REDIRECT)
    );
    // Body credentials: unknown client, wrong secret, no secret, nothing at all. No challenge.
    for creds in [
        "client_id=nobody&client_secret=x".to_owned(),
        format!("client_id={CLIENT_ID}&client_secret=wrong"),
        format!("client_id={CLIENT_ID}"),
        String::new(),
    ] {
        let res = h.token(&format!("{base}&{creds}"), &[]).await;
        res.assert_status(StatusCode::UNAUTHORIZED);
        assert_token_headers(&res);
        assert_eq!(res.json()["error"], "invalid_client");
        assert!(res.header("www-authenticate").is_none());
    }
    // Basic: unknown client, wrong secret, malformed. With the challenge.
    for auth in [
        basic_raw("nobody", "x"),
        basic_raw(CLIENT_ID, "wrong"),
        "Basic !!!".to_owned(),
    ] {
        let res = h.token(&base, &[("authorization", &auth)]).await;
        res.assert_status(StatusCode::UNAUTHORIZED);
        assert_eq!(res.json()["error"], "invalid_client");
        assert_eq!(
            res.header("www-authenticate").as_deref(),
            Some("Basic realm=\"keapsake\"")
        );
    }
    // Unknown client and wrong secret answer the very same body.
    let a = h
        .token(&format!("{base}&client_id=nobody&client_secret=x"), &[])
        .await;
    let b = h
        .token(
            &format!("{base}&client_id={CLIENT_ID}&client_secret=x"),
            &[],
        )
        .await;
    assert_eq!(a.body, b.body);
    // The code survived all of that.
    h.exchange(&code).await.assert_status(StatusCode::OK);
}

#[tokio::test]
async fn disabled_app_cannot_exchange_or_refresh() {
    let h = Harness::new().await;
    let code = h.code().await;
    let (_, rt) = h.tokens().await;
    h.store.set_app_enabled(CLIENT_ID, false).await.unwrap();
    assert_oauth_error(
        &h.exchange(&code).await,
        StatusCode::UNAUTHORIZED,
        "invalid_client",
    );
    let res = refresh_with_header(&h, &rt, &basic_encoded(CLIENT_ID, CLIENT_SECRET)).await;
    assert_oauth_error(&res, StatusCode::UNAUTHORIZED, "invalid_client");
}

#[tokio::test]
async fn basic_and_body_naming_different_clients_is_invalid_request() {
    let h = Harness::new().await;
    let code = h.code().await;
    let res = h
        .token(
            &code_body(&code),
            &[(
                "authorization",
                &basic_encoded(OTHER_CLIENT_ID, OTHER_CLIENT_SECRET),
            )],
        )
        .await;
    assert_oauth_error(&res, StatusCode::BAD_REQUEST, "invalid_request");
}

#[tokio::test]
async fn unknown_code_is_invalid_grant() {
    let h = Harness::new().await;
    let res = h.exchange("not-a-code").await;
    assert_oauth_error(&res, StatusCode::BAD_REQUEST, "invalid_grant");
}

#[tokio::test]
async fn expired_code_is_invalid_grant() {
    let h = Harness::new().await;
    let code = h.code().await;
    h.clock.advance(time::Duration::minutes(11));
    assert_oauth_error(
        &h.exchange(&code).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    );
}

#[tokio::test]
async fn used_code_is_invalid_grant_and_revokes_what_it_issued() {
    let h = Harness::new().await;
    let code = h.code().await;
    let first = h.exchange(&code).await;
    first.assert_status(StatusCode::OK);
    let at = first.json()["access_token"].as_str().unwrap().to_owned();
    let rt = first.json()["refresh_token"].as_str().unwrap().to_owned();
    let now = keapsake_core::Clock::now(h.clock.as_ref());
    assert_eq!(
        h.store.count_active_families(h.app.id, now).await.unwrap(),
        1
    );
    assert_oauth_error(
        &h.exchange(&code).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    );
    assert_eq!(
        h.store.count_active_families(h.app.id, now).await.unwrap(),
        0
    );
    let res = h.get_bearer(USERINFO, &at).await;
    assert_invalid_access_token(&res);
    let res = refresh_with_header(&h, &rt, &basic_encoded(CLIENT_ID, CLIENT_SECRET)).await;
    res.assert_status(StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn code_issued_to_another_client_is_invalid_grant_and_stays_usable() {
    let h = Harness::new().await;
    let code = h.code().await;
    let res = h
        .token(
            &format!(
                "grant_type=authorization_code&code={code}&redirect_uri={}",
                enc(REDIRECT)
            ),
            &[(
                "authorization",
                &basic_encoded(OTHER_CLIENT_ID, OTHER_CLIENT_SECRET),
            )],
        )
        .await;
    assert_oauth_error(&res, StatusCode::BAD_REQUEST, "invalid_grant");
    h.exchange(&code).await.assert_status(StatusCode::OK);
}

#[tokio::test]
async fn redirect_uri_mismatch_is_invalid_grant() {
    let h = Harness::new().await;
    let code = h.code().await;
    for other in [
        "https://app.example.com/cb/",
        REDIRECT_WITH_QUERY,
        "https://APP.example.com/cb",
    ] {
        let res = h
            .token(
                &format!(
                    "grant_type=authorization_code&code={code}&redirect_uri={}&client_id={CLIENT_ID}&client_secret={}",
                    enc(other),
                    enc(CLIENT_SECRET)
                ),
                &[],
            )
            .await;
        assert_oauth_error(&res, StatusCode::BAD_REQUEST, "invalid_grant");
    }
    h.exchange(&code).await.assert_status(StatusCode::OK);
}

#[tokio::test]
async fn refresh_failures_answer_the_exact_invalid_grant_body() {
    let h = Harness::new().await;
    let (at, _) = h.tokens().await;
    let auth = basic_encoded(CLIENT_ID, CLIENT_SECRET);
    let code = h.code().await;
    for rt in ["unknown-token".to_owned(), at, code] {
        let res = refresh_with_header(&h, &rt, &auth).await;
        res.assert_status(StatusCode::BAD_REQUEST);
        assert_token_headers(&res);
        assert_eq!(
            res.json(),
            serde_json::json!({"error":"invalid_grant","error_description":"Invalid Refresh Token"})
        );
    }
}

#[tokio::test]
async fn expired_refresh_token_is_invalid_grant() {
    let h = Harness::new().await;
    let (_, rt) = h.tokens().await;
    h.clock.advance(time::Duration::days(46));
    let res = refresh_with_header(&h, &rt, &basic_encoded(CLIENT_ID, CLIENT_SECRET)).await;
    assert_eq!(
        res.json(),
        serde_json::json!({"error":"invalid_grant","error_description":"Invalid Refresh Token"})
    );
}

#[tokio::test]
async fn refresh_token_of_another_client_is_invalid_grant_and_stays_usable() {
    let h = Harness::new().await;
    let (_, rt) = h.tokens().await;
    let res = h
        .token(
            &refresh_body(&rt),
            &[(
                "authorization",
                &basic_encoded(OTHER_CLIENT_ID, OTHER_CLIENT_SECRET),
            )],
        )
        .await;
    assert_eq!(res.json()["error"], "invalid_grant");
    let res = refresh_with_header(&h, &rt, &basic_encoded(CLIENT_ID, CLIENT_SECRET)).await;
    res.assert_status(StatusCode::OK);
}

#[tokio::test]
async fn refresh_scope_other_than_full_is_invalid_scope() {
    let h = Harness::new().await;
    let (_, rt) = h.tokens().await;
    let auth = basic_encoded(CLIENT_ID, CLIENT_SECRET);
    let res = h
        .token(
            &format!("{}&scope=openid", refresh_body(&rt)),
            &[("authorization", &auth)],
        )
        .await;
    assert_oauth_error(&res, StatusCode::BAD_REQUEST, "invalid_scope");
    // `full` (or Keap's own form) is fine.
    let res = h
        .token(
            &format!("{}&scope=full", refresh_body(&rt)),
            &[("authorization", &auth)],
        )
        .await;
    res.assert_status(StatusCode::OK);
}

#[tokio::test]
async fn oversized_body_is_refused_in_oauth_json() {
    let h = Harness::new().await;
    let body = format!(
        "grant_type=refresh_token&refresh_token={}",
        "a".repeat(70 * 1024)
    );
    let res = h.token(&body, &[]).await;
    assert_oauth_error(&res, StatusCode::PAYLOAD_TOO_LARGE, "invalid_request");
}

#[tokio::test]
async fn get_on_token_is_405_in_oauth_json() {
    let h = Harness::new().await;
    let res = h.get("/token", None).await;
    res.assert_status(StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(res.json()["error"], "invalid_request");
    assert_eq!(res.header("allow").as_deref(), Some("POST"));
}

// ---- PKCE -----------------------------------------------------------------------------------------

#[tokio::test]
async fn pkce_s256_requires_the_right_verifier() {
    let h = Harness::new().await;
    let q = h.query(&format!(
        "&code_challenge={CHALLENGE_S256}&code_challenge_method=S256"
    ));
    // Missing verifier.
    let code = h.code_for(&q).await;
    assert_oauth_error(
        &h.exchange(&code).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    );
    // Wrong verifier.
    let code = h.code_for(&q).await;
    let wrong = VERIFIER.replace('d', "e");
    let res = exchange_verifying(&h, &code, &wrong).await;
    assert_oauth_error(&res, StatusCode::BAD_REQUEST, "invalid_grant");
    // The challenge itself as verifier (a plain-style guess).
    let res = exchange_verifying(&h, &code, CHALLENGE_S256).await;
    assert_oauth_error(&res, StatusCode::BAD_REQUEST, "invalid_grant");
    // Right verifier.
    let code = h.code_for(&q).await;
    let res = exchange_verifying(&h, &code, VERIFIER).await;
    res.assert_status(StatusCode::OK);
}

#[tokio::test]
async fn pkce_plain_and_the_default_method_compare_the_verifier() {
    let h = Harness::new().await;
    for method in ["&code_challenge_method=plain", ""] {
        let q = h.query(&format!("&code_challenge={VERIFIER}{method}"));
        let code = h.code_for(&q).await;
        let res = exchange_verifying(&h, &code, CHALLENGE_S256).await;
        assert_oauth_error(&res, StatusCode::BAD_REQUEST, "invalid_grant");
        let code = h.code_for(&q).await;
        let res = exchange_verifying(&h, &code, VERIFIER).await;
        res.assert_status(StatusCode::OK);
    }
}

#[tokio::test]
async fn a_verifier_for_a_code_without_challenge_is_a_refused_downgrade() {
    let h = Harness::new().await;
    let code = h.code().await;
    let res = exchange_verifying(&h, &code, VERIFIER).await;
    assert_oauth_error(&res, StatusCode::BAD_REQUEST, "invalid_grant");
}
