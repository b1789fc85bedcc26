//! The whole OAuth flow as a Keap client drives it: authorize (login, account choice, allow,
//! deny), code exchange (body credentials and Basic), refresh (Basic and body), rotation,
//! userinfo v1/v2 and the account profile.

use keapsake_testkit::{AuthorizeOptions, Backend, TestServer};
use serde_json::Value;

fn assert_token_body(v: &Value, alias: &str) {
    let obj = v.as_object().expect("a JSON object");
    let keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "access_token",
            "token_type",
            "expires_in",
            "refresh_token",
            "scope"
        ],
        "field order"
    );
    assert_eq!(v["token_type"], "bearer");
    assert_eq!(v["expires_in"], 3600);
    assert_eq!(v["scope"], format!("full|{alias}.infusionsoft.com"));
    assert!(v["access_token"].as_str().unwrap().len() >= 32);
    assert_ne!(v["access_token"], v["refresh_token"]);
}

async fn get_json(url: &str, bearer: &str) -> (u16, Value) {
    let r = reqwest::Client::new()
        .get(url)
        .bearer_auth(bearer)
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

async fn full_flow(backend: Backend) {
    let srv = TestServer::start(backend).await;
    // Authorize: login, single account auto-selected, allow.
    let code = srv.authorize(&srv.app, &srv.user).await;

    // Exchange with credentials in the body (what Keap documents).
    let (status, tok) = srv.exchange(&srv.app, &code).await;
    assert_eq!(status, 200, "{tok}");
    assert_token_body(&tok, &srv.account.alias);

    // userinfo v1 and v2, account profile.
    let at = tok["access_token"].as_str().unwrap();
    let (s, v1) = get_json(&srv.at("crm/rest/v1/oauth/connect/userinfo"), at).await;
    assert_eq!(s, 200);
    assert_eq!(v1["email"], srv.user.email);
    assert_eq!(v1["global_user_id"], srv.user.id.0);
    assert!(v1["sub"].is_string() && v1["infusionsoft_id"].is_string());
    let (s, v2) = get_json(&srv.at("crm/rest/v2/oauth/connect/userinfo"), at).await;
    assert_eq!(s, 200);
    assert_eq!(v2["tenant_id"], srv.account.alias);
    for k in [
        "email",
        "sub",
        "id",
        "keap_id",
        "family_name",
        "given_name",
        "middle_name",
        "preferred_name",
        "tenant_id",
    ] {
        assert!(v2[k].is_string(), "v2 userinfo {k} must be a string: {v2}");
    }
    assert!(v2["is_admin"].is_boolean());
    let (s, profile) = get_json(&srv.at("crm/rest/v1/account/profile"), at).await;
    assert_eq!(s, 200, "{profile}");
    assert!(profile.is_object());

    // Access token in the query string works too (keap-python).
    let r = reqwest::get(format!(
        "{}?access_token={at}",
        srv.at("crm/rest/v1/oauth/connect/userinfo")
    ))
    .await
    .unwrap();
    assert_eq!(r.status(), 200);

    // Refresh with Basic (what Keap documents): a new pair, the old refresh token stops working.
    let rt1 = tok["refresh_token"].as_str().unwrap();
    let (s, tok2) = srv.refresh(&srv.app, rt1).await;
    assert_eq!(s, 200, "{tok2}");
    assert_token_body(&tok2, &srv.account.alias);
    assert_ne!(tok2["refresh_token"], tok["refresh_token"]);
    let (s, err) = srv.refresh(&srv.app, rt1).await;
    assert_eq!(s, 400);
    assert_eq!(
        err,
        serde_json::json!({"error": "invalid_grant", "error_description": "Invalid Refresh Token"})
    );

    // Refresh with credentials in the body also works.
    let r = reqwest::Client::new()
        .post(srv.at("token"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", tok2["refresh_token"].as_str().unwrap()),
            ("client_id", &srv.app.client_id),
            ("client_secret", &srv.app.client_secret),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let tok3: Value = r.json().await.unwrap();
    assert_token_body(&tok3, &srv.account.alias);
    let (s, _) = get_json(
        &srv.at("crm/rest/v1/oauth/connect/userinfo"),
        tok3["access_token"].as_str().unwrap(),
    )
    .await;
    assert_eq!(s, 200);
}
on_both_stores!(full_flow);

async fn code_exchange_with_basic_auth(backend: Backend) {
    let srv = TestServer::start(backend).await;
    let code = srv.authorize(&srv.app, &srv.user).await;
    let r = reqwest::Client::new()
        .post(srv.at("token"))
        .basic_auth(&srv.app.client_id, Some(&srv.app.client_secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", &srv.app.redirect_uri),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    assert_eq!(r.headers()["pragma"], "no-cache");
    assert_eq!(
        r.headers()["content-type"],
        "application/json;charset=UTF-8"
    );
    let v: Value = r.json().await.unwrap();
    assert_token_body(&v, &srv.account.alias);
}
on_both_stores!(code_exchange_with_basic_auth);

async fn user_with_two_accounts_chooses_one(backend: Backend) {
    let srv = TestServer::start(backend).await;
    let email = format!("multi-{}@example.com", keapsake_testkit::unique_suffix());
    let (user, accounts) = srv.add_user_with_accounts(&email, 2).await;
    let opts = AuthorizeOptions {
        account: Some(accounts[1].id),
        state: Some("s 1&2".into()),
        ..Default::default()
    };
    let loc = srv.authorize_with(&srv.app, &user, opts).await;
    let u = url::Url::parse(&loc).unwrap();
    let q: std::collections::HashMap<_, _> = u.query_pairs().into_owned().collect();
    assert_eq!(
        q.get("state").map(String::as_str),
        Some("s 1&2"),
        "state echoed byte for byte"
    );
    let (s, tok) = srv.exchange(&srv.app, &q["code"]).await;
    assert_eq!(s, 200);
    assert_eq!(
        tok["scope"],
        format!("full|{}.infusionsoft.com", accounts[1].alias),
        "the chosen account, not the first"
    );
}
on_both_stores!(user_with_two_accounts_chooses_one);

async fn deny_redirects_with_access_denied(backend: Backend) {
    let srv = TestServer::start(backend).await;
    let opts = AuthorizeOptions {
        deny: true,
        state: Some("xyz".into()),
        ..Default::default()
    };
    let loc = srv.authorize_with(&srv.app, &srv.user, opts).await;
    let u = url::Url::parse(&loc).unwrap();
    let q: std::collections::HashMap<_, _> = u.query_pairs().into_owned().collect();
    assert_eq!(q.get("error").map(String::as_str), Some("access_denied"));
    assert_eq!(q.get("state").map(String::as_str), Some("xyz"));
    assert!(q.contains_key("error_description"));
    assert!(!q.contains_key("code"));
}
on_both_stores!(deny_redirects_with_access_denied);

async fn pkce_s256_round_trip(backend: Backend) {
    use base64::Engine as _;
    use sha2::Digest as _;
    let srv = TestServer::start(backend).await;
    let verifier = "a-verifier-that-is-long-enough-to-be-valid-0123456789";
    let challenge =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier));
    let opts = AuthorizeOptions {
        pkce: Some((challenge, "S256".into())),
        ..Default::default()
    };
    let loc = srv.authorize_with(&srv.app, &srv.user, opts).await;
    let code = url::Url::parse(&loc)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let post = |v: &'static str| {
        reqwest::Client::new().post(srv.at("token")).form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", srv.app.redirect_uri.as_str()),
            ("client_id", srv.app.client_id.as_str()),
            ("client_secret", srv.app.client_secret.as_str()),
            ("code_verifier", v),
        ])
    };
    let wrong = post("a-verifier-that-is-long-enough-to-be-valid-0123456780")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 400);
    let right = post(verifier).send().await.unwrap();
    assert_eq!(
        right.status(),
        200,
        "a wrong verifier must not consume the code"
    );
}
on_both_stores!(pkce_s256_round_trip);

async fn expired_access_token_gets_the_apigee_fault(backend: Backend) {
    let srv = TestServer::start(backend).await;
    let code = srv.authorize(&srv.app, &srv.user).await;
    let (_, tok) = srv.exchange(&srv.app, &code).await;
    srv.clock.advance(time::Duration::seconds(3601));
    let r = reqwest::Client::new()
        .get(srv.at("crm/rest/v1/oauth/connect/userinfo"))
        .bearer_auth(tok["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let v: Value = r.json().await.unwrap();
    assert_eq!(
        v,
        serde_json::json!({"fault":{"faultstring":"Access Token expired","detail":{"errorcode":"keymanagement.service.access_token_expired"}}})
    );
    // The refresh token still works after the access token expired.
    let (s, _) = srv
        .refresh(&srv.app, tok["refresh_token"].as_str().unwrap())
        .await;
    assert_eq!(s, 200);
}
on_both_stores!(expired_access_token_gets_the_apigee_fault);
