//! Forged form posts (SECURITY.md §4): no token, another session's token, a stale token and a
//! foreign Origin, against every form → 403, nothing changes, no code.

use crate::support::*;
use axum::http::StatusCode;

/// The four forgeries of one form: (label, token to send, extra headers).
struct Forgery {
    label: &'static str,
    token: Option<String>,
    origin: Option<&'static str>,
}

fn forgeries(valid: &str, foreign_session: &str, stale: &str) -> Vec<Forgery> {
    vec![
        Forgery {
            label: "no token",
            token: None,
            origin: None,
        },
        Forgery {
            label: "other session's token",
            token: Some(foreign_session.to_owned()),
            origin: None,
        },
        Forgery {
            label: "stale token",
            token: Some(stale.to_owned()),
            origin: None,
        },
        Forgery {
            label: "foreign origin",
            token: Some(valid.to_owned()),
            origin: Some("https://evil.example.net"),
        },
    ]
}

fn with_token(fields: &str, token: &Option<String>) -> String {
    match token {
        Some(t) => format!("{fields}&csrf_token={t}"),
        None => fields.to_owned(),
    }
}

impl Forgery {
    /// Posts `fields` to `path` with `cookie`, this forgery's token and its Origin, if any.
    async fn post(&self, h: &Harness, path: &str, fields: &str, cookie: &str) -> Resp {
        let origin: Vec<(&str, &str)> =
            self.origin.map(|o| vec![("origin", o)]).unwrap_or_default();
        h.post_form(
            path,
            &with_token(fields, &self.token),
            Some(cookie),
            &origin,
        )
        .await
    }
}

#[tokio::test]
async fn forged_login_posts_are_refused_and_sign_nobody_in() {
    // Arrange
    let h = Harness::new().await;
    let q = h.query("");
    let (cookie, valid) = h.login_page(&q).await;
    let (_, foreign) = h.login_page(&q).await;
    let (_, stale) = {
        // A token of this very session, but minted for another pending request.
        let q2 = h.query("&x=1");
        let page = h.get(&authorize(&q2), Some(&cookie)).await;
        (q2, page.csrf_tokens().remove(0))
    };
    let fields = format!(
        "form=login&email={}&password={}",
        enc(&h.user.email),
        enc(PASSWORD)
    );
    for f in forgeries(&valid, &foreign, &stale) {
        // Act
        let res = f.post(&h, &authorize(&q), &fields, &cookie).await;
        // Assert
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", f.label);
        assert!(res.location().is_none(), "{}", f.label);
        assert!(res.cookie().is_none(), "{}: no session issued", f.label);
        assert_html_security_headers(&res);
    }
    // Nothing changed: still the login page.
    let page = h.get(&authorize(&q), Some(&cookie)).await;
    assert!(page.text().contains("name=\"password\""));
    // Control: the genuine post works, also with our own Origin or `null`.
    let ok = h
        .post_form(
            &authorize(&q),
            &with_token(&fields, &Some(valid)),
            Some(&cookie),
            &[("origin", "null")],
        )
        .await;
    ok.assert_status(StatusCode::SEE_OTHER);
    println!(
        "FIGURE [SECURITY §4] forged login posts (no token, other session's token, stale token, foreign Origin): 0 accepted, no state change"
    );
}

#[tokio::test]
async fn login_post_without_any_session_is_refused() {
    let h = Harness::new().await;
    let q = h.query("");
    let (_, token) = h.login_page(&q).await;
    let res = h
        .post_form(
            &authorize(&q),
            &format!(
                "form=login&csrf_token={token}&email={}&password={}",
                enc(&h.user.email),
                enc(PASSWORD)
            ),
            None,
            &[],
        )
        .await;
    res.assert_status(StatusCode::FORBIDDEN);
    assert!(res.cookie().is_none());
}

#[tokio::test]
async fn forged_choose_posts_are_refused() {
    let h = Harness::new().await;
    let q = h.query("");
    let cookie = h.login_as(&q, &h.multi_user.email).await;
    let valid = h
        .get(&authorize(&q), Some(&cookie))
        .await
        .csrf_tokens()
        .remove(0);
    let other_cookie = h.login_as(&q, &h.multi_user.email).await;
    let foreign = h
        .get(&authorize(&q), Some(&other_cookie))
        .await
        .csrf_tokens()
        .remove(0);
    let q2 = format!("client_id={OTHER_CLIENT_ID}&redirect_uri={}", enc(REDIRECT));
    let stale = h
        .get(&authorize(&q2), Some(&cookie))
        .await
        .csrf_tokens()
        .remove(0);
    let fields = format!("form=choose&account_id={}", h.second_account.id.0);
    for f in forgeries(&valid, &foreign, &stale) {
        let res = f.post(&h, &authorize(&q), &fields, &cookie).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", f.label);
        assert!(
            !res.text().contains("value=\"allow\""),
            "{}: no consent page",
            f.label
        );
    }
    // Control.
    let ok = h
        .post_form(
            &authorize(&q),
            &with_token(&fields, &Some(valid)),
            Some(&cookie),
            &[],
        )
        .await;
    ok.assert_status(StatusCode::OK);
    assert!(ok.text().contains("value=\"allow\""));
    println!(
        "FIGURE [SECURITY §4] forged account-choice posts (no token, other session's token, stale token, foreign Origin): 0 accepted, no state change"
    );
}

#[tokio::test]
async fn forged_consent_posts_are_refused_and_issue_no_code() {
    let h = Harness::new().await;
    let q = h.query("");
    let cookie = h.login(&q).await;
    let valid = h.consent_page(&q, &cookie).await.csrf_tokens().remove(0);
    let other_cookie = h.login(&q).await;
    let foreign = h
        .consent_page(&q, &other_cookie)
        .await
        .csrf_tokens()
        .remove(0);
    // Stale: a consent token for a different pending request (another state).
    let q_other_state = q.replace("state=xyz", "state=abc");
    let stale = h
        .consent_page(&q_other_state, &cookie)
        .await
        .csrf_tokens()
        .remove(0);
    let fields = format!("form=consent&account_id={}&decision=allow", h.account.id.0);
    for f in forgeries(&valid, &foreign, &stale) {
        let res = f.post(&h, &authorize(&q), &fields, &cookie).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", f.label);
        assert!(res.location().is_none(), "{}: no code", f.label);
        assert!(!res.text().contains("code="), "{}", f.label);
    }
    // A cross-site fetch (Sec-Fetch-Site) is refused even with a valid token and no Origin.
    let res = h
        .post_form(
            &authorize(&q),
            &with_token(&fields, &Some(valid.clone())),
            Some(&cookie),
            &[("sec-fetch-site", "cross-site")],
        )
        .await;
    res.assert_status(StatusCode::FORBIDDEN);
    // Control: our own origin is fine.
    let ok = h
        .post_form(
            &authorize(&q),
            &with_token(&fields, &Some(valid)),
            Some(&cookie),
            &[("origin", "http://127.0.0.1:8080")],
        )
        .await;
    ok.assert_status(StatusCode::FOUND);
    assert!(ok.location_param("code").is_some());
    println!(
        "FIGURE [SECURITY §4] forged consent posts (no token, other session's token, stale token, foreign Origin): 0 accepted, no state change"
    );
}

#[tokio::test]
async fn a_consent_token_from_before_a_new_login_is_stale() {
    let h = Harness::new().await;
    let q = h.query("");
    let old_cookie = h.login(&q).await;
    let old_token = h
        .consent_page(&q, &old_cookie)
        .await
        .csrf_tokens()
        .remove(0);
    // Sign out and in again: a new session and a new CSRF key.
    let logout_token = h
        .consent_page(&q, &old_cookie)
        .await
        .csrf_tokens()
        .pop()
        .unwrap();
    h.post_form(
        &format!("/app/oauth/logout?{q}"),
        &format!("csrf_token={logout_token}"),
        Some(&old_cookie),
        &[],
    )
    .await
    .assert_status(StatusCode::SEE_OTHER);
    let new_cookie = h.login(&q).await;
    let res = h
        .post_form(
            &authorize(&q),
            &format!(
                "form=consent&csrf_token={old_token}&account_id={}&decision=allow",
                h.account.id.0
            ),
            Some(&new_cookie),
            &[],
        )
        .await;
    res.assert_status(StatusCode::FORBIDDEN);
    assert!(res.location().is_none());
}

#[tokio::test]
async fn a_login_token_cannot_be_used_for_consent() {
    let h = Harness::new().await;
    let q = h.query("");
    let cookie = h.login(&q).await;
    // The logout token of the consent page is bound to another purpose.
    let logout_token = h
        .consent_page(&q, &cookie)
        .await
        .csrf_tokens()
        .pop()
        .unwrap();
    let res = h
        .post_form(
            &authorize(&q),
            &format!(
                "form=consent&csrf_token={logout_token}&account_id={}&decision=allow",
                h.account.id.0
            ),
            Some(&cookie),
            &[],
        )
        .await;
    res.assert_status(StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn forged_logout_posts_are_refused_and_keep_the_session() {
    let h = Harness::new().await;
    let q = h.query("");
    let cookie = h.login(&q).await;
    let valid = h
        .consent_page(&q, &cookie)
        .await
        .csrf_tokens()
        .pop()
        .unwrap();
    let other_cookie = h.login(&q).await;
    let foreign = h
        .consent_page(&q, &other_cookie)
        .await
        .csrf_tokens()
        .pop()
        .unwrap();
    let q2 = q.replace("state=xyz", "state=other");
    let stale = h
        .consent_page(&q2, &cookie)
        .await
        .csrf_tokens()
        .pop()
        .unwrap();
    for f in forgeries(&valid, &foreign, &stale) {
        let res = f
            .post(&h, &format!("/app/oauth/logout?{q}"), "x=1", &cookie)
            .await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", f.label);
        assert!(res.header("set-cookie").is_none(), "{}", f.label);
    }
    // Still signed in.
    assert!(
        h.consent_page(&q, &cookie)
            .await
            .text()
            .contains("value=\"allow\"")
    );
    println!(
        "FIGURE [SECURITY §4] forged logout posts (no token, other session's token, stale token, foreign Origin): 0 accepted, no state change"
    );
}
