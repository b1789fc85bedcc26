//! `/app/oauth/authorize`: every row of `keap/oauth.md` §3.3, the steps of §3.2, sessions.

use crate::support::*;
use axum::http::StatusCode;
use keapsake_core::Clock;

// ---- client_id and redirect_uri: 400 pages, never a redirect ---------------------------------

#[tokio::test]
async fn missing_client_id_is_a_400_page_without_redirect() {
    let h = Harness::new().await;
    let res = h
        .get(
            &authorize(&format!(
                "redirect_uri={}&response_type=code",
                enc(REDIRECT)
            )),
            None,
        )
        .await;
    assert_inert_page(&res, StatusCode::BAD_REQUEST, Some(REDIRECT));
}

#[tokio::test]
async fn unknown_client_id_is_a_400_page_without_redirect() {
    let h = Harness::new().await;
    let res = h
        .get(
            &authorize(&format!(
                "client_id=nobody&redirect_uri={}&state=s",
                enc(REDIRECT)
            )),
            None,
        )
        .await;
    assert_inert_page(&res, StatusCode::BAD_REQUEST, Some(REDIRECT));
    assert!(res.cookie().is_none(), "no session before validation");
}

#[tokio::test]
async fn repeated_client_id_is_a_400_page() {
    let h = Harness::new().await;
    let res = h
        .get(
            &authorize(&format!(
                "client_id={CLIENT_ID}&client_id={CLIENT_ID}&redirect_uri={}",
                enc(REDIRECT)
            )),
            None,
        )
        .await;
    assert_inert_page(&res, StatusCode::BAD_REQUEST, Some(REDIRECT));
}

#[tokio::test]
async fn disabled_app_is_treated_as_unknown() {
    let h = Harness::new().await;
    h.store.set_app_enabled(CLIENT_ID, false).await.unwrap();
    let res = h.get(&authorize(&h.query("")), None).await;
    assert_inert_page(&res, StatusCode::BAD_REQUEST, Some(REDIRECT));
}

#[tokio::test]
async fn missing_redirect_uri_is_a_400_page() {
    let h = Harness::new().await;
    let res = h
        .get(
            &authorize(&format!("client_id={CLIENT_ID}&response_type=code")),
            None,
        )
        .await;
    assert_inert_page(&res, StatusCode::BAD_REQUEST, None);
}

#[tokio::test]
async fn redirect_uri_must_be_byte_equal_to_a_registered_one() {
    let h = Harness::new().await;
    for near in [
        "https://app.example.com/cb/",
        "https://APP.example.com/cb",
        "https://app.example.com:443/cb",
        "https://app.example.com/%63b",
        "https://app.example.com/./cb",
        "https://app.example.com/cb?x=1",
        "http://app.example.com/cb",
        "https://evil.example.net/cb",
        "https://app.example.com/cb2?tenant=7&x=1",
    ] {
        let res = h
            .get(
                &authorize(&format!(
                    "client_id={CLIENT_ID}&redirect_uri={}&state=s",
                    enc(near)
                )),
                None,
            )
            .await;
        assert_inert_page(&res, StatusCode::BAD_REQUEST, Some(near));
    }
}

#[tokio::test]
async fn another_apps_redirect_uri_is_refused() {
    // Arrange: other-app has only REDIRECT; test-app's second URI is not other-app's.
    let h = Harness::new().await;
    // Act
    let res = h
        .get(
            &authorize(&format!(
                "client_id={OTHER_CLIENT_ID}&redirect_uri={}",
                enc(REDIRECT_WITH_QUERY)
            )),
            None,
        )
        .await;
    // Assert
    assert_inert_page(&res, StatusCode::BAD_REQUEST, Some(REDIRECT_WITH_QUERY));
}

#[tokio::test]
async fn repeated_redirect_uri_is_a_400_page() {
    let h = Harness::new().await;
    let res = h
        .get(
            &authorize(&format!(
                "client_id={CLIENT_ID}&redirect_uri={r}&redirect_uri={r}",
                r = enc(REDIRECT)
            )),
            None,
        )
        .await;
    assert_inert_page(&res, StatusCode::BAD_REQUEST, Some(REDIRECT));
}

#[tokio::test]
async fn invalid_client_is_checked_before_anything_on_post_too() {
    let h = Harness::new().await;
    let res = h
        .post_form(
            &authorize(&format!("client_id=nobody&redirect_uri={}", enc(REDIRECT))),
            "form=login&email=a&password=b",
            None,
            &[],
        )
        .await;
    assert_inert_page(&res, StatusCode::BAD_REQUEST, Some(REDIRECT));
}

// ---- errors after validation: 302 to the client ---------------------------------------------

#[track_caller]
fn assert_error_redirect(res: &Resp, base: &str, error: &str, state: Option<&str>) {
    res.assert_status(StatusCode::FOUND);
    let loc = res.location().unwrap();
    assert!(loc.starts_with(base), "{loc} does not start with {base}");
    assert_eq!(res.location_param("error").as_deref(), Some(error));
    assert!(res.location_param("error_description").is_some());
    assert_eq!(res.location_param("state").as_deref(), state);
    assert!(
        res.location_param("code").is_none(),
        "no code on an error redirect"
    );
}

#[tokio::test]
async fn unsupported_response_type_redirects_with_the_error_and_state() {
    let h = Harness::new().await;
    let q = format!(
        "client_id={CLIENT_ID}&redirect_uri={}&response_type=token&state=xyz",
        enc(REDIRECT)
    );
    let res = h.get(&authorize(&q), None).await;
    assert_error_redirect(
        &res,
        "https://app.example.com/cb?error=",
        "unsupported_response_type",
        Some("xyz"),
    );
}

#[tokio::test]
async fn missing_response_type_means_code() {
    let h = Harness::new().await;
    let q = format!("client_id={CLIENT_ID}&redirect_uri={}", enc(REDIRECT));
    let res = h.get(&authorize(&q), None).await;
    res.assert_status(StatusCode::OK);
    assert!(res.text().contains("name=\"password\""));
}

#[tokio::test]
async fn scope_other_than_full_is_invalid_scope() {
    let h = Harness::new().await;
    for scope in ["openid", "full%20openid", "read"] {
        let q = format!(
            "client_id={CLIENT_ID}&redirect_uri={}&scope={scope}&state=s1",
            enc(REDIRECT)
        );
        let res = h.get(&authorize(&q), None).await;
        assert_error_redirect(
            &res,
            "https://app.example.com/cb?",
            "invalid_scope",
            Some("s1"),
        );
    }
}

#[tokio::test]
async fn keaps_own_scope_forms_are_accepted() {
    let h = Harness::new().await;
    for scope in ["", "full", "full%7Cab123.infusionsoft.com"] {
        let q = format!(
            "client_id={CLIENT_ID}&redirect_uri={}&scope={scope}",
            enc(REDIRECT)
        );
        h.get(&authorize(&q), None)
            .await
            .assert_status(StatusCode::OK);
    }
}

#[tokio::test]
async fn duplicate_parameters_are_invalid_request() {
    let h = Harness::new().await;
    let res = h.get(&authorize(&h.query("&scope=full")), None).await;
    assert_error_redirect(
        &res,
        "https://app.example.com/cb?",
        "invalid_request",
        Some("xyz"),
    );
}

#[tokio::test]
async fn bad_pkce_method_is_invalid_request() {
    let h = Harness::new().await;
    let res = h
        .get(
            &authorize(&h.query(&format!(
                "&code_challenge={CHALLENGE_S256}&code_challenge_method=S512"
            ))),
            None,
        )
        .await;
    assert_error_redirect(
        &res,
        "https://app.example.com/cb?",
        "invalid_request",
        Some("xyz"),
    );
}

#[tokio::test]
async fn malformed_pkce_challenge_is_invalid_request() {
    let h = Harness::new().await;
    for extra in [
        "&code_challenge=short&code_challenge_method=S256",
        "&code_challenge=has%20space%20aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "&code_challenge_method=S256",
    ] {
        let res = h.get(&authorize(&h.query(extra)), None).await;
        assert_error_redirect(
            &res,
            "https://app.example.com/cb?",
            "invalid_request",
            Some("xyz"),
        );
    }
}

#[tokio::test]
async fn error_redirect_keeps_the_registered_query_and_appends_with_ampersand() {
    let h = Harness::new().await;
    let q = format!(
        "client_id={CLIENT_ID}&redirect_uri={}&response_type=token&state=s",
        enc(REDIRECT_WITH_QUERY)
    );
    let res = h.get(&authorize(&q), None).await;
    assert_error_redirect(
        &res,
        "https://app.example.com/cb2?tenant=7&error=",
        "unsupported_response_type",
        Some("s"),
    );
    assert_eq!(res.location_param("tenant").as_deref(), Some("7"));
}

#[tokio::test]
async fn state_is_echoed_byte_for_byte_including_empty_and_odd_bytes() {
    let h = Harness::new().await;
    for (sent, expected) in [
        ("", ""),
        ("a%20b%2Bc%26d%3D", "a b+c&d="),
        ("%E2%9C%93%2F", "\u{2713}/"),
    ] {
        let q = format!(
            "client_id={CLIENT_ID}&redirect_uri={}&response_type=token&state={sent}",
            enc(REDIRECT)
        );
        let res = h.get(&authorize(&q), None).await;
        assert_error_redirect(
            &res,
            "https://app.example.com/cb?",
            "unsupported_response_type",
            Some(expected),
        );
    }
    // Invalid UTF-8 comes back as the same bytes.
    let q = format!(
        "client_id={CLIENT_ID}&redirect_uri={}&response_type=token&state=%FF%00x",
        enc(REDIRECT)
    );
    let res = h.get(&authorize(&q), None).await;
    assert!(res.location().unwrap().ends_with("&state=%FF%00x"));
}

#[tokio::test]
async fn no_state_means_no_state_on_the_redirect() {
    let h = Harness::new().await;
    let q = format!(
        "client_id={CLIENT_ID}&redirect_uri={}&response_type=token",
        enc(REDIRECT)
    );
    let res = h.get(&authorize(&q), None).await;
    assert_error_redirect(
        &res,
        "https://app.example.com/cb?",
        "unsupported_response_type",
        None,
    );
}

// ---- the happy path ---------------------------------------------------------------------------

#[tokio::test]
async fn first_visit_shows_the_login_page_with_a_pre_login_session() {
    let h = Harness::new().await;
    let res = h.get(&authorize(&h.query("")), None).await;
    res.assert_status(StatusCode::OK);
    assert_html_security_headers(&res);
    let set_cookie = res.header("set-cookie").unwrap();
    assert!(set_cookie.starts_with("keapsake_session="));
    for attr in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(set_cookie.contains(attr), "{set_cookie} lacks {attr}");
    }
    assert!(!set_cookie.contains("Secure"));
    let html = res.text();
    assert!(
        html.contains("Bakery Sync &#60;Pro&#62;"),
        "app name, escaped"
    );
    assert!(html.contains("name=\"email\""));
    assert_eq!(res.csrf_tokens().len(), 1);
}

#[tokio::test]
async fn https_sessions_use_the_host_prefix_and_secure() {
    let h = Harness::with_config(keapsake_server::Config {
        public_url: Some(url::Url::parse("https://keap.example.com/").unwrap()),
        ..keapsake_server::Config::default()
    })
    .await;
    let res = h.get(&authorize(&h.query("")), None).await;
    let set_cookie = res.header("set-cookie").unwrap();
    assert!(set_cookie.starts_with("__Host-keapsake_session="));
    assert!(set_cookie.contains("; Secure"));
    assert!(set_cookie.contains("Path=/"));
}

#[tokio::test]
async fn login_issues_a_new_session_and_redirects_back_to_the_request() {
    // Arrange
    let h = Harness::new().await;
    let q = h.query("");
    let (pre, token) = h.login_page(&q).await;
    // Act
    let res = h
        .post_form(
            &authorize(&q),
            &format!(
                "form=login&csrf_token={token}&email=ADA%40example.com&password={}",
                enc(PASSWORD)
            ),
            Some(&pre),
            &[],
        )
        .await;
    // Assert: 303 (never 307) back to the same request, with a different session id.
    res.assert_status(StatusCode::SEE_OTHER);
    assert_eq!(res.location().unwrap(), authorize(&q));
    let post = res.cookie().unwrap();
    assert_ne!(pre, post);
    // The pre-login session is gone: it shows the login page again, with a new cookie.
    let again = h.get(&authorize(&q), Some(&pre)).await;
    assert!(again.text().contains("name=\"password\""));
    assert!(again.cookie().is_some());
    // The new one reaches consent.
    let consent = h.get(&authorize(&q), Some(&post)).await;
    assert!(consent.text().contains("value=\"allow\""));
}

#[tokio::test]
async fn consent_names_the_app_and_the_account() {
    let h = Harness::new().await;
    let q = h.query("");
    let cookie = h.login(&q).await;
    let page = h.consent_page(&q, &cookie).await;
    assert_html_security_headers(&page);
    let html = page.text();
    assert!(html.contains("Bakery Sync &#60;Pro&#62;"));
    assert!(html.contains("Acme Bakery"));
    assert!(html.contains("ab123.infusionsoft.com"));
    assert!(
        html.contains("https://app.example.com<"),
        "where the user will land"
    );
    assert!(html.contains("value=\"deny\""));
    assert_eq!(
        page.hidden("account_id").unwrap(),
        h.account.id.0.to_string()
    );
}

#[tokio::test]
async fn allow_redirects_with_a_code_and_the_state() {
    let h = Harness::new().await;
    let q = h.query("");
    let cookie = h.login(&q).await;
    let res = h.decide(&q, &cookie, "allow").await;
    res.assert_status(StatusCode::FOUND);
    let loc = res.location().unwrap();
    assert!(loc.starts_with("https://app.example.com/cb?code="));
    let code = res.location_param("code").unwrap();
    assert_eq!(code.len(), 43, "256-bit base64url code");
    assert_eq!(res.location_param("state").as_deref(), Some("xyz"));
    assert!(res.location_param("error").is_none());
}

#[tokio::test]
async fn allow_appends_the_code_to_a_registered_query() {
    let h = Harness::new().await;
    let q = format!(
        "client_id={CLIENT_ID}&redirect_uri={}&state=",
        enc(REDIRECT_WITH_QUERY)
    );
    let cookie = h.login(&q).await;
    let res = h.decide(&q, &cookie, "allow").await;
    res.assert_status(StatusCode::FOUND);
    assert!(
        res.location()
            .unwrap()
            .starts_with("https://app.example.com/cb2?tenant=7&code=")
    );
    assert_eq!(res.location_param("state").as_deref(), Some(""));
}

#[tokio::test]
async fn deny_redirects_with_access_denied() {
    let h = Harness::new().await;
    let q = h.query("");
    let cookie = h.login(&q).await;
    let res = h.decide(&q, &cookie, "deny").await;
    assert_error_redirect(
        &res,
        "https://app.example.com/cb?error=access_denied",
        "access_denied",
        Some("xyz"),
    );
}

#[tokio::test]
async fn a_signed_in_session_goes_straight_to_consent_for_a_new_request() {
    let h = Harness::new().await;
    let cookie = h.login(&h.query("")).await;
    let q2 = format!(
        "client_id={OTHER_CLIENT_ID}&redirect_uri={}&state=again",
        enc(REDIRECT)
    );
    let page = h.get(&authorize(&q2), Some(&cookie)).await;
    page.assert_status(StatusCode::OK);
    assert!(page.text().contains("value=\"allow\""));
    assert!(!page.text().contains("name=\"password\""));
}

#[tokio::test]
async fn user_with_two_accounts_chooses_and_consent_names_the_choice() {
    // Arrange
    let h = Harness::new().await;
    let q = h.query("");
    let cookie = h.login_as(&q, &h.multi_user.email).await;
    let chooser = h.get(&authorize(&q), Some(&cookie)).await;
    chooser.assert_status(StatusCode::OK);
    assert_html_security_headers(&chooser);
    assert!(chooser.text().contains("Acme Bakery") && chooser.text().contains("Zed Zoo"));
    let token = chooser.csrf_tokens().remove(0);
    // Act
    let consent = h
        .post_form(
            &authorize(&q),
            &format!(
                "form=choose&csrf_token={token}&account_id={}",
                h.second_account.id.0
            ),
            Some(&cookie),
            &[],
        )
        .await;
    // Assert
    consent.assert_status(StatusCode::OK);
    assert!(consent.text().contains("Zed Zoo"));
    assert!(consent.text().contains("zz999.infusionsoft.com"));
    assert_eq!(
        consent.hidden("account_id").unwrap(),
        h.second_account.id.0.to_string()
    );
    let consent_token = consent.csrf_tokens().remove(0);
    let res = h
        .post_form(
            &authorize(&q),
            &format!(
                "form=consent&csrf_token={consent_token}&account_id={}&decision=allow",
                h.second_account.id.0
            ),
            Some(&cookie),
            &[],
        )
        .await;
    res.assert_status(StatusCode::FOUND);
    let code = res.location_param("code").unwrap();
    let tokens = h.exchange(&code).await;
    assert_eq!(tokens.json()["scope"], "full|zz999.infusionsoft.com");
}

#[tokio::test]
async fn choosing_an_account_the_user_is_not_in_is_refused() {
    let h = Harness::new().await;
    let q = h.query("");
    let cookie = h.login(&q).await; // member of `account` only
    let page = h.consent_page(&q, &cookie).await;
    let token = page.csrf_tokens().remove(0);
    let res = h
        .post_form(
            &authorize(&q),
            &format!(
                "form=consent&csrf_token={token}&account_id={}&decision=allow",
                h.second_account.id.0
            ),
            Some(&cookie),
            &[],
        )
        .await;
    assert_inert_page(&res, StatusCode::FORBIDDEN, None);
}

#[tokio::test]
async fn user_without_accounts_gets_an_explanation_not_a_redirect() {
    let h = Harness::new().await;
    let q = h.query("");
    let cookie = h.login_as(&q, &h.lonely_user.email).await;
    let res = h.get(&authorize(&q), Some(&cookie)).await;
    assert_inert_page(&res, StatusCode::FORBIDDEN, None);
    assert!(res.text().contains("not a member of any account"));
}

#[tokio::test]
async fn unknown_user_and_wrong_password_look_identical() {
    // Arrange: one pre-login session, so the CSRF token (and the page) is the same for both.
    let h = Harness::new().await;
    let q = h.query("");
    let (cookie, token) = h.login_page(&q).await;
    let attempt = |email: &'static str, password: &'static str| {
        let (h, q, cookie, token) = (&h, &q, &cookie, &token);
        async move {
            h.post_form(
                &authorize(q),
                &format!(
                    "form=login&csrf_token={token}&email={}&password={}",
                    enc(email),
                    enc(password)
                ),
                Some(cookie),
                &[],
            )
            .await
        }
    };
    // Act
    let unknown = attempt("nobody@example.com", "whatever").await;
    let wrong = attempt("nobody@example.com", PASSWORD).await;
    let bad_pw = h
        .post_form(
            &authorize(&q),
            &format!(
                "form=login&csrf_token={token}&email={}&password=wrong",
                enc("ada@example.com")
            ),
            Some(&cookie),
            &[],
        )
        .await;
    // Assert: same status, same headers that matter, same body modulo the e-mail typed.
    for res in [&unknown, &wrong, &bad_pw] {
        res.assert_status(StatusCode::OK);
        assert!(res.cookie().is_none(), "no new session on failure");
        assert!(
            res.text()
                .contains("The e-mail address or password is incorrect.")
        );
        assert_html_security_headers(res);
    }
    assert_eq!(unknown.body, wrong.body);
    assert_eq!(
        unknown.text().replace("nobody@example.com", "E"),
        bad_pw.text().replace("ada@example.com", "E")
    );
    // And the session is still not signed in.
    let page = h.get(&authorize(&q), Some(&cookie)).await;
    assert!(page.text().contains("name=\"password\""));
}

#[tokio::test]
async fn sessions_expire_after_thirty_idle_minutes() {
    let h = Harness::new().await;
    let q = h.query("");
    let cookie = h.login(&q).await;
    h.clock.advance(time::Duration::minutes(29));
    assert!(
        h.consent_page(&q, &cookie)
            .await
            .text()
            .contains("value=\"allow\"")
    );
    h.clock.advance(time::Duration::minutes(29)); // touched at 29; now 58, idle 29
    assert!(
        h.consent_page(&q, &cookie)
            .await
            .text()
            .contains("value=\"allow\"")
    );
    h.clock.advance(time::Duration::minutes(31));
    let page = h.get(&authorize(&q), Some(&cookie)).await;
    assert!(page.text().contains("name=\"password\""));
}

#[tokio::test]
async fn sessions_expire_after_twelve_hours_however_busy() {
    let h = Harness::new().await;
    let q = h.query("");
    let cookie = h.login(&q).await;
    for _ in 0..25 {
        h.clock.advance(time::Duration::minutes(29));
        h.get(&authorize(&q), Some(&cookie)).await;
    }
    // 25 × 29 min = 12 h 5 min since login.
    let page = h.get(&authorize(&q), Some(&cookie)).await;
    assert!(page.text().contains("name=\"password\""));
}

#[tokio::test]
async fn logout_deletes_the_session_and_returns_to_the_login_page() {
    let h = Harness::new().await;
    let q = h.query("");
    let cookie = h.login(&q).await;
    let page = h.consent_page(&q, &cookie).await;
    let logout_token = page.csrf_tokens().pop().unwrap();
    let res = h
        .post_form(
            &format!("/app/oauth/logout?{q}"),
            &format!("csrf_token={logout_token}"),
            Some(&cookie),
            &[],
        )
        .await;
    res.assert_status(StatusCode::SEE_OTHER);
    assert_eq!(res.location().unwrap(), authorize(&q));
    assert!(res.header("set-cookie").unwrap().contains("Max-Age=0"));
    let after = h.get(&authorize(&q), Some(&cookie)).await;
    assert!(after.text().contains("name=\"password\""));
}

#[tokio::test]
async fn codes_are_bound_to_the_clock_for_ten_minutes() {
    let h = Harness::new().await;
    let code = h.code().await;
    h.clock
        .advance(time::Duration::minutes(10) + time::Duration::seconds(1));
    let res = h.exchange(&code).await;
    assert_oauth_error(&res, StatusCode::BAD_REQUEST, "invalid_grant");
    let _ = h.clock.now();
}
