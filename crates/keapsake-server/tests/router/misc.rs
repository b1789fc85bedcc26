//! Health, assets, request ids, security headers on every page, the demo seed and callback.

use crate::support::*;
use axum::http::StatusCode;
use keapsake_core::Clock;
use keapsake_server::demo::{
    DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_EMAIL, DEMO_PASSWORD, seed_demo,
};

#[tokio::test]
async fn healthz_reports_the_backend_after_a_ping() {
    let h = Harness::new().await;
    let res = h.get("/healthz", None).await;
    res.assert_status(StatusCode::OK);
    assert_eq!(
        res.json(),
        serde_json::json!({"status":"ok","backend":"sqlite"})
    );
}

#[tokio::test]
async fn stylesheet_is_served_locally() {
    let h = Harness::new().await;
    let res = h.get("/assets/keapsake.css", None).await;
    res.assert_status(StatusCode::OK);
    assert!(res.header("content-type").unwrap().starts_with("text/css"));
    assert!(res.text().contains(".card"));
    let page = h
        .get(&format!("/app/oauth/authorize?{}", h.query("")), None)
        .await;
    assert!(page.text().contains("href=\"/assets/keapsake.css\""));
    assert!(
        !page.text().contains("https://"),
        "no third-party resources"
    );
}

#[tokio::test]
async fn every_response_carries_a_request_id_and_a_given_one_is_kept() {
    let h = Harness::new().await;
    let res = h.get("/healthz", None).await;
    assert!(res.header("x-request-id").is_some_and(|v| !v.is_empty()));
    let res = h.get_with("/healthz", &[("x-request-id", "abc-123")]).await;
    assert_eq!(res.header("x-request-id").as_deref(), Some("abc-123"));
}

#[tokio::test]
async fn unknown_paths_outside_the_apis_are_json_404s() {
    let h = Harness::new().await;
    let res = h.get("/nope", None).await;
    res.assert_status(StatusCode::NOT_FOUND);
    assert_eq!(res.json(), serde_json::json!({"message":"Not Found"}));
    let res = h.get("/app/oauth/nope", None).await;
    assert_inert_page(&res, StatusCode::NOT_FOUND, None);
}

#[tokio::test]
async fn html_error_pages_carry_the_security_headers() {
    let h = Harness::new().await;
    let res = h.get("/app/oauth/authorize", None).await;
    assert_inert_page(&res, StatusCode::BAD_REQUEST, None);
    let res = h
        .post_form(
            &format!("/app/oauth/authorize?{}", h.query("")),
            "form=login",
            None,
            &[],
        )
        .await;
    assert_inert_page(&res, StatusCode::FORBIDDEN, None);
}

#[tokio::test]
async fn demo_seed_is_idempotent_and_its_credentials_complete_the_flow() {
    // Arrange
    let h = Harness::with_config(keapsake_server::Config {
        demo: true,
        ..keapsake_server::Config::default()
    })
    .await;
    let base = h.state.base_url().clone();
    let first = seed_demo(h.store.as_ref(), h.clock.as_ref(), &base)
        .await
        .unwrap();
    let other_base = url::Url::parse("http://127.0.0.1:9999/").unwrap();
    seed_demo(h.store.as_ref(), h.clock.as_ref(), &other_base)
        .await
        .unwrap();
    // Act: seeding again with the real base resets the redirect URIs.
    let seed = seed_demo(h.store.as_ref(), h.clock.as_ref(), &base)
        .await
        .unwrap();
    // Assert
    assert_eq!(first, seed);
    assert_eq!(
        seed.redirect_uris,
        vec![
            "http://127.0.0.1:8080/demo/callback".to_owned(),
            "http://127.0.0.1:8765/callback".to_owned()
        ]
    );
    let app = h.store.find_app(DEMO_CLIENT_ID).await.unwrap().unwrap();
    assert_eq!(app.redirect_uris, seed.redirect_uris);
    assert!(seed.authorize_url.starts_with(
        "http://127.0.0.1:8080/app/oauth/authorize?client_id=keapsake-demo-app&redirect_uri="
    ));
    assert!(seed.authorize_url.ends_with("&state=demo"));

    // The README flow: authorize URL → login → consent → callback page → curl's exchange.
    let path = seed
        .authorize_url
        .trim_start_matches("http://127.0.0.1:8080");
    let q = path.split_once('?').unwrap().1.to_owned();
    let page = h.get(path, None).await;
    let cookie = page.cookie().unwrap();
    let token = page.csrf_tokens().remove(0);
    let login = h
        .post_form(
            path,
            &format!(
                "form=login&csrf_token={token}&email={}&password={}",
                enc(DEMO_EMAIL),
                enc(DEMO_PASSWORD)
            ),
            Some(&cookie),
            &[],
        )
        .await;
    login.assert_status(StatusCode::SEE_OTHER);
    let cookie = login.cookie().unwrap();
    let res = h.decide(&q, &cookie, "allow").await;
    res.assert_status(StatusCode::FOUND);
    let loc = res.location().unwrap();
    assert!(loc.starts_with("http://127.0.0.1:8080/demo/callback?code="));
    let callback = h
        .get(loc.trim_start_matches("http://127.0.0.1:8080"), None)
        .await;
    callback.assert_status(StatusCode::OK);
    assert_html_security_headers(&callback);
    let code = res.location_param("code").unwrap();
    assert!(callback.text().contains(&code));
    assert!(callback.text().contains("curl -s -X POST"));
    let tokens = h
        .token(
            &format!(
                "grant_type=authorization_code&code={code}&redirect_uri={}&client_id={DEMO_CLIENT_ID}&client_secret={DEMO_CLIENT_SECRET}",
                enc("http://127.0.0.1:8080/demo/callback")
            ),
            &[],
        )
        .await;
    tokens.assert_status(StatusCode::OK);
    assert_eq!(tokens.json()["scope"], "full|demo1.infusionsoft.com");
    let _ = h.clock.now();
}

#[tokio::test]
async fn demo_callback_is_absent_unless_enabled() {
    let h = Harness::new().await;
    let res = h.get("/demo/callback?code=abc", None).await;
    res.assert_status(StatusCode::NOT_FOUND);
}
