//! User info (v1, v2) and the account profile (`keap/oauth.md` §9, `keap/rest-v1.md` §11).

use crate::support::*;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use keapsake_core::store::KeyKind;

#[tokio::test]
async fn userinfo_v1_has_keaps_shape() {
    let h = Harness::new().await;
    let (at, _) = h.tokens().await;
    let res = h.get_bearer(USERINFO, &at).await;
    res.assert_status(StatusCode::OK);
    assert_eq!(
        res.header("content-type").as_deref(),
        Some("application/json")
    );
    assert_eq!(
        res.json(),
        serde_json::json!({
            "email": "ada@example.com",
            "family_name": "Tester",
            "given_name": "Ada",
            "global_user_id": h.user.id.0,
            "infusionsoft_id": "ada@example.com",
            "is_admin": true,
            "middle_name": "",
            "preferred_name": "Ada Tester",
            "sub": h.user.id.0.to_string(),
        })
    );
}

#[tokio::test]
async fn userinfo_v2_has_string_members_and_the_tenant() {
    let h = Harness::new().await;
    let (at, _) = h.tokens().await;
    let res = h
        .get_bearer("/crm/rest/v2/oauth/connect/userinfo", &at)
        .await;
    res.assert_status(StatusCode::OK);
    let id = h.user.id.0.to_string();
    assert_eq!(
        res.json(),
        serde_json::json!({
            "email": "ada@example.com",
            "sub": id,
            "id": id,
            "keap_id": "ada@example.com",
            "family_name": "Tester",
            "given_name": "Ada",
            "middle_name": "",
            "preferred_name": "Ada Tester",
            "is_admin": true,
            "tenant_id": "ab123",
        })
    );
}

#[tokio::test]
async fn userinfo_reports_non_admin_members() {
    let h = Harness::new().await;
    let q = h.query("");
    let cookie = h.login_as(&q, &h.multi_user.email).await;
    let chooser = h
        .get(&format!("/app/oauth/authorize?{q}"), Some(&cookie))
        .await;
    let token = chooser.csrf_tokens().remove(0);
    let consent = h
        .post_form(
            &format!("/app/oauth/authorize?{q}"),
            &format!(
                "form=choose&csrf_token={token}&account_id={}",
                h.account.id.0
            ),
            Some(&cookie),
            &[],
        )
        .await;
    let token = consent.csrf_tokens().remove(0);
    let res = h
        .post_form(
            &format!("/app/oauth/authorize?{q}"),
            &format!(
                "form=consent&csrf_token={token}&account_id={}&decision=allow",
                h.account.id.0
            ),
            Some(&cookie),
            &[],
        )
        .await;
    let code = res.location_param("code").unwrap();
    let at = h.exchange(&code).await.json()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = h.get_bearer(USERINFO, &at).await;
    assert_eq!(res.json()["is_admin"], false);
    assert_eq!(res.json()["email"], "multi@example.com");
}

#[tokio::test]
async fn trailing_slashes_are_accepted_on_rest_paths() {
    let h = Harness::new().await;
    let (at, _) = h.tokens().await;
    for path in [
        "/crm/rest/v1/oauth/connect/userinfo/",
        "/crm/rest/v2/oauth/connect/userinfo/",
        "/crm/rest/v1/account/profile/?",
    ] {
        h.get_bearer(path, &at).await.assert_status(StatusCode::OK);
    }
}

#[tokio::test]
async fn profile_get_has_every_field() {
    let h = Harness::new().await;
    let (at, _) = h.tokens().await;
    let res = h.get_bearer("/crm/rest/v1/account/profile", &at).await;
    res.assert_status(StatusCode::OK);
    let j = res.json();
    let keys: Vec<&str> = j.as_object().unwrap().keys().map(String::as_str).collect();
    for k in [
        "name",
        "email",
        "phone",
        "phone_ext",
        "website",
        "time_zone",
        "currency_code",
        "language_tag",
        "logo_url",
        "business_type",
        "business_goals",
        "business_primary_color",
        "business_secondary_color",
        "address",
    ] {
        assert!(keys.contains(&k), "{k} missing from {j}");
    }
    assert!(j["business_goals"].is_array());
}

fn put_profile(token: &str, body: &str) -> Request<Body> {
    Request::put("/crm/rest/v1/account/profile")
        .header(header::AUTHORIZATION, bearer(token))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_owned()))
        .unwrap()
}

#[tokio::test]
async fn profile_put_replaces_and_returns_the_profile() {
    let h = Harness::new().await;
    let (at, _) = h.tokens().await;
    let body = serde_json::json!({
        "name": "Acme Bakery LLC",
        "email": "hello@acme.test",
        "currency_code": "usd",
        "business_goals": ["grow"],
        "address": {"line1": "1 Main St", "country_code": "USA", "field": "BILLING"},
        "id": 99,
    });
    let res = h.send(put_profile(&at, &body.to_string())).await;
    res.assert_status(StatusCode::OK);
    let j = res.json();
    assert_eq!(j["name"], "Acme Bakery LLC");
    assert_eq!(j["currency_code"], "USD");
    assert_eq!(j["address"]["line1"], "1 Main St");
    let again = h.get_bearer("/crm/rest/v1/account/profile", &at).await;
    assert_eq!(again.json(), j);
}

#[tokio::test]
async fn profile_put_with_bad_json_is_a_v1_400() {
    let h = Harness::new().await;
    let (at, _) = h.tokens().await;
    for body in [
        "{not json",
        "",
        "[]",
        "{\"business_goals\": 5}",
        "{\"name\": 12}",
    ] {
        let res = h.send(put_profile(&at, body)).await;
        res.assert_status(StatusCode::BAD_REQUEST);
        assert_eq!(
            res.header("content-type").as_deref(),
            Some("application/json")
        );
        assert_eq!(
            res.json(),
            serde_json::json!({"message":"Input could not be converted to a valid request"})
        );
    }
}

#[tokio::test]
async fn profile_put_with_invalid_fields_says_which() {
    let h = Harness::new().await;
    let (at, _) = h.tokens().await;
    let res = h
        .send(put_profile(&at, r#"{"email":"not-an-email"}"#))
        .await;
    res.assert_status(StatusCode::BAD_REQUEST);
    assert_eq!(
        res.json(),
        serde_json::json!({"message":"Invalid email address"})
    );
    // Nothing was stored.
    let now = h.get_bearer("/crm/rest/v1/account/profile", &at).await;
    assert_ne!(now.json()["email"], "not-an-email");
}

#[tokio::test]
async fn profile_put_over_two_mebibytes_is_a_v1_413() {
    let h = Harness::new().await;
    let (at, _) = h.tokens().await;
    let body = format!("{{\"name\":\"{}\"}}", "a".repeat(2 * 1024 * 1024 + 10));
    let res = h.send(put_profile(&at, &body)).await;
    res.assert_status(StatusCode::PAYLOAD_TOO_LARGE);
    assert!(res.json()["message"].is_string());
}

#[tokio::test]
async fn read_only_keys_cannot_put_the_profile() {
    let h = Harness::new().await;
    let (key, _) = h.api_key(KeyKind::Pat, true, None).await;
    h.get_with("/crm/rest/v1/account/profile", &[("x-keap-api-key", &key)])
        .await
        .assert_status(StatusCode::OK);
    let req = Request::put("/crm/rest/v1/account/profile")
        .header("x-keap-api-key", &key)
        .body(Body::from("{\"name\":\"x\"}"))
        .unwrap();
    let res = h.send(req).await;
    res.assert_status(StatusCode::FORBIDDEN);
    assert!(res.json()["message"].is_string());
}

#[tokio::test]
async fn the_account_comes_only_from_the_credential() {
    // Arrange: a token for the second account, held by the multi-account user.
    let h = Harness::new().await;
    let (at_first, _) = h.tokens().await;
    h.send(put_profile(&at_first, r#"{"name":"First"}"#))
        .await
        .assert_status(StatusCode::OK);
    // Act: the same user's other account has its own profile.
    let res = h
        .get_with(
            "/crm/rest/v1/account/profile",
            &[
                ("authorization", &bearer(&at_first)),
                ("host", "zz999.infusionsoft.com"),
            ],
        )
        .await;
    // Assert
    assert_eq!(res.json()["name"], "First");
}
