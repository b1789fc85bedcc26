//! Quotas and throttles on the REST APIs (`keap/oauth.md` §7) and brute-force limits on sign-in
//! and `/token` client authentication (SECURITY.md §9). Time only moves through the manual clock.

use crate::support::*;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request, StatusCode, header};
use keapsake_core::Clock as _;
use keapsake_core::clock::to_millis;
use keapsake_core::counters::{BruteForce, Unit};
use keapsake_core::oauth::hash_client_secret;
use keapsake_core::store::{KeyKind, NewApp};
use keapsake_server::quota::{Limits, QuotaOverrides};
use keapsake_server::{Config, Profile};
use std::net::SocketAddr;
use time::Duration;

const IP_A: &str = "203.0.113.7";
const IP_B: &str = "198.51.100.9";

/// Every quota header name of `keap/oauth.md` §7.
const QUOTA_HEADERS: [&str; 16] = [
    "x-keap-product-quota-limit",
    "x-keap-product-quota-time-unit",
    "x-keap-product-quota-interval",
    "x-keap-product-quota-available",
    "x-keap-product-quota-used",
    "x-keap-product-quota-expiry-time",
    "x-keap-product-throttle-limit",
    "x-keap-product-throttle-time-unit",
    "x-keap-product-throttle-interval",
    "x-keap-product-throttle-available",
    "x-keap-product-throttle-used",
    "x-keap-tenant-throttle-limit",
    "x-keap-tenant-throttle-used",
    "x-keap-tenant-throttle-available",
    "x-keap-tenant-throttle-time-unit",
    "x-keap-tenant-throttle-interval",
];

/// A credential as sent.
#[derive(Clone, Copy)]
enum Cred<'a> {
    Bearer(&'a str),
    Key(&'a str),
}

async fn rest(h: &Harness, cred: Cred<'_>) -> Resp {
    let bearer_value;
    let pair = match cred {
        Cred::Bearer(t) => {
            bearer_value = bearer(t);
            ("authorization", bearer_value.as_str())
        }
        Cred::Key(k) => ("x-keap-api-key", k),
    };
    h.get_with(USERINFO, &[pair]).await
}

/// The quota headers of a response as `name → value`, asserting every one is present.
#[track_caller]
fn quota_headers(res: &Resp) -> std::collections::BTreeMap<&'static str, String> {
    QUOTA_HEADERS
        .iter()
        .map(|n| {
            let v = res
                .header(n)
                .unwrap_or_else(|| panic!("{n} missing; status {}", res.status));
            (*n, v)
        })
        .collect()
}

/// The headers a response must carry after `product` and `tenant` requests in this minute and
/// day (`used` counts include the request itself).
#[allow(clippy::too_many_arguments)]
#[track_caller]
fn assert_quota_headers(
    res: &Resp,
    (minute_limit, day_limit): (u64, u64),
    (tenant_minute_limit, tenant_day_limit): (u64, u64),
    (minute_used, day_used): (u64, u64),
    (tenant_minute_used, tenant_day_used): (u64, u64),
    now: time::OffsetDateTime,
) {
    let h = quota_headers(res);
    let expect = |n: &str, v: String| assert_eq!(h[n], v, "{n}");
    expect("x-keap-product-quota-limit", day_limit.to_string());
    expect("x-keap-product-quota-time-unit", "day".into());
    expect("x-keap-product-quota-interval", "1".into());
    expect("x-keap-product-quota-used", day_used.to_string());
    expect(
        "x-keap-product-quota-available",
        (day_limit - day_used).to_string(),
    );
    expect(
        "x-keap-product-quota-expiry-time",
        to_millis(Unit::Day.end(now)).to_string(),
    );
    expect("x-keap-product-throttle-limit", minute_limit.to_string());
    expect("x-keap-product-throttle-time-unit", "minute".into());
    expect("x-keap-product-throttle-interval", "1".into());
    expect("x-keap-product-throttle-used", minute_used.to_string());
    expect(
        "x-keap-product-throttle-available",
        (minute_limit - minute_used).to_string(),
    );
    expect(
        "x-keap-tenant-throttle-limit",
        format!("{tenant_minute_limit}|{tenant_day_limit}"),
    );
    expect(
        "x-keap-tenant-throttle-used",
        format!("{tenant_minute_used}|{tenant_day_used}"),
    );
    expect(
        "x-keap-tenant-throttle-available",
        format!(
            "{}|{}",
            tenant_minute_limit - tenant_minute_used,
            tenant_day_limit - tenant_day_used
        ),
    );
    expect("x-keap-tenant-throttle-time-unit", "minute|day".into());
    expect("x-keap-tenant-throttle-interval", "1|1".into());
}

/// Asserts a 429 with Apigee's fault body and `Retry-After`.
#[track_caller]
fn assert_429(res: &Resp, faultstring: &str, errorcode: &str, retry_after: u64) {
    res.assert_status(StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        res.header("content-type").as_deref(),
        Some("application/json")
    );
    assert_eq!(
        res.json(),
        serde_json::json!({"fault":{"faultstring":faultstring,"detail":{"errorcode":errorcode}}})
    );
    assert_eq!(
        res.header("retry-after").as_deref(),
        Some(retry_after.to_string().as_str())
    );
}

async fn production(overrides: QuotaOverrides) -> Harness {
    Harness::with_config(Config {
        profile: Profile::Production,
        quota_overrides: overrides,
        ..Config::default()
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// Headers
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn sandbox_reports_every_header_with_generous_limits_and_writes_no_counter() {
    // Arrange
    let h = Harness::new().await;
    let (at, _) = h.tokens().await;
    let (key, _) = h.api_key(KeyKind::Pat, false, None).await;
    let now = h.clock.now();
    let s = Limits::SANDBOX;
    // Act
    let first = rest(&h, Cred::Bearer(&at)).await;
    let second = rest(&h, Cred::Bearer(&at)).await;
    let by_key = rest(&h, Cred::Key(&key)).await;
    // Assert: OAuth counts per client, the key per key, the tenant across both.
    first.assert_status(StatusCode::OK);
    let oauth = (s.oauth.per_minute, s.oauth.per_day);
    let tenant = (s.tenant.per_minute, s.tenant.per_day);
    assert_quota_headers(&first, oauth, tenant, (1, 1), (1, 1), now);
    assert_quota_headers(&second, oauth, tenant, (2, 2), (2, 2), now);
    assert_eq!(
        (s.oauth.per_minute, s.oauth.per_day),
        (1_500_000, 150_000_000)
    );
    let keys = (s.key.per_minute, s.key.per_day);
    assert_eq!(keys, (240_000, 30_000_000));
    assert_quota_headers(&by_key, keys, tenant, (1, 1), (3, 3), now);
    // Nothing was written to the shared counters.
    let minute = Unit::Minute.start(now);
    for key in [
        format!("quota:app:{}:minute", h.app.id.0),
        format!("quota:account:{}:minute", h.account.id.0),
    ] {
        assert_eq!(h.store.peek(&key, minute).await.unwrap(), 0, "{key}");
    }
}

#[tokio::test]
async fn production_headers_follow_keaps_figures_per_credential_kind() {
    // Arrange
    let h = production(QuotaOverrides::default()).await;
    let (at, _) = h.tokens().await;
    let (key, _) = h.api_key(KeyKind::Sak, false, None).await;
    let now = h.clock.now();
    let k = Limits::KEAP;
    // Act
    let oauth = rest(&h, Cred::Bearer(&at)).await;
    let sak = rest(&h, Cred::Key(&key)).await;
    let sak_as_bearer = rest(&h, Cred::Bearer(&key)).await;
    let oauth_again = rest(&h, Cred::Bearer(&at)).await;
    // Assert
    let tenant = (10_000, 250_000);
    assert_eq!((k.tenant.per_minute, k.tenant.per_day), tenant);
    assert_quota_headers(&oauth, (1_500, 150_000), tenant, (1, 1), (1, 1), now);
    assert_quota_headers(&sak, (240, 30_000), tenant, (1, 1), (2, 2), now);
    assert_quota_headers(&sak_as_bearer, (240, 30_000), tenant, (2, 2), (3, 3), now);
    assert_quota_headers(&oauth_again, (1_500, 150_000), tenant, (2, 2), (4, 4), now);
    // The counters are in the store, so every node shares them.
    let minute = Unit::Minute.start(now);
    assert_eq!(
        h.store
            .peek(&format!("quota:app:{}:minute", h.app.id.0), minute)
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        h.store
            .peek(
                &format!("quota:account:{}:day", h.account.id.0),
                Unit::Day.start(now)
            )
            .await
            .unwrap(),
        4
    );
}

#[tokio::test]
async fn headers_ride_on_error_responses_but_not_on_refused_credentials() {
    let h = production(QuotaOverrides::default()).await;
    let (at, _) = h.tokens().await;
    // A valid credential on an unknown path: 404, counted, with headers.
    let res = h.get_bearer("/crm/rest/v1/nothing-here", &at).await;
    res.assert_status(StatusCode::NOT_FOUND);
    assert_eq!(quota_headers(&res)["x-keap-product-throttle-used"], "1");
    // No or a bad credential: the gateway's 401, before any quota.
    for res in [
        h.get(USERINFO, None).await,
        h.get_with(USERINFO, &[("authorization", "Bearer nope")])
            .await,
    ] {
        res.assert_status(StatusCode::UNAUTHORIZED);
        assert!(res.header("x-keap-product-quota-limit").is_none());
    }
    // Non-REST paths carry none.
    let res = h.get("/healthz", None).await;
    assert!(res.header("x-keap-product-quota-limit").is_none());
}

// ---------------------------------------------------------------------------------------------
// Production: 429 exactly at limit + 1
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn figure_key_spike_arrest_answers_the_eleventh_request_in_a_second() {
    // Arrange
    let h = production(QuotaOverrides::default()).await;
    let (key, _) = h.api_key(KeyKind::Pat, false, None).await;
    // Act: ten in one instant, then the eleventh.
    let mut statuses = Vec::new();
    for _ in 0..10 {
        statuses.push(rest(&h, Cred::Key(&key)).await.status);
    }
    let eleventh = rest(&h, Cred::Key(&key)).await;
    h.clock.advance(Duration::SECOND);
    let next_second = rest(&h, Cred::Key(&key)).await;
    // Assert
    assert!(
        statuses.iter().all(|s| *s == StatusCode::OK),
        "{statuses:?}"
    );
    assert_429(
        &eleventh,
        "Spike arrest violation. Allowed rate : 10ps",
        "policies.ratelimit.SpikeArrestViolation",
        1,
    );
    // The refused request gave its counts back.
    let hd = quota_headers(&eleventh);
    assert_eq!(hd["x-keap-product-throttle-used"], "10");
    assert_eq!(hd["x-keap-tenant-throttle-used"], "10|10");
    next_second.assert_status(StatusCode::OK);
    assert_eq!(
        quota_headers(&next_second)["x-keap-product-throttle-used"],
        "11"
    );
    println!(
        "FIGURE [SECURITY §9] PAT/SAK spike arrest 10/s: requests 1-10 in one second 200, request 11 -> 429 SpikeArrestViolation, Retry-After 1"
    );
}

#[tokio::test]
async fn oauth_spike_arrest_is_twenty_five_per_second() {
    let h = production(QuotaOverrides::default()).await;
    let (at, _) = h.tokens().await;
    for i in 1..=25 {
        rest(&h, Cred::Bearer(&at))
            .await
            .assert_status(StatusCode::OK);
        let _ = i;
    }
    let res = rest(&h, Cred::Bearer(&at)).await;
    assert_429(
        &res,
        "Spike arrest violation. Allowed rate : 25ps",
        "policies.ratelimit.SpikeArrestViolation",
        1,
    );
}

/// Sends `n` requests, moving the clock one second after every `per_second` so that no spike
/// arrest fires; returns how many were refused.
async fn send_spread(h: &Harness, cred: Cred<'_>, n: u64, per_second: u64) -> (u64, Resp) {
    let mut refused = 0;
    let mut last = None;
    for i in 0..n {
        if i > 0 && i % per_second == 0 {
            h.clock.advance(Duration::SECOND);
        }
        let res = rest(h, cred).await;
        if res.status == StatusCode::TOO_MANY_REQUESTS {
            refused += 1;
        }
        last = Some(res);
    }
    (refused, last.expect("n > 0"))
}

#[tokio::test]
async fn figure_key_per_minute_throttle_refuses_exactly_request_241() {
    // Arrange: 12:00:00, so 240 requests at 10/s end at 12:00:23, inside one minute.
    let h = production(QuotaOverrides::default()).await;
    let (key, _) = h.api_key(KeyKind::Pat, false, None).await;
    // Act: 95 % of the quota, then the rest, then one more.
    let (false_at_95, _) = send_spread(&h, Cred::Key(&key), 228, 10).await;
    h.clock.advance(Duration::SECOND);
    let (false_to_limit, at_limit) = send_spread(&h, Cred::Key(&key), 12, 10).await;
    let over = rest(&h, Cred::Key(&key)).await;
    // Assert
    assert_eq!(false_at_95, 0, "no 429 at 95 % of the quota");
    assert_eq!(false_to_limit, 0, "no 429 up to the limit");
    at_limit.assert_status(StatusCode::OK);
    assert_eq!(
        quota_headers(&at_limit)["x-keap-product-throttle-available"],
        "0"
    );
    let now = h.clock.now();
    let to_next_minute = (Unit::Minute.end(now) - now).whole_seconds();
    assert_429(
        &over,
        "Rate limit quota violation. Quota limit exceeded.",
        "policies.ratelimit.QuotaViolation",
        u64::try_from(to_next_minute).unwrap(),
    );
    assert_eq!(quota_headers(&over)["x-keap-product-throttle-used"], "240");
    // The next minute starts afresh.
    h.clock.set(Unit::Minute.end(now));
    rest(&h, Cred::Key(&key))
        .await
        .assert_status(StatusCode::OK);
    println!(
        "FIGURE [SECURITY §9] PAT/SAK per-minute quota 240: 0 false 429s in 228 requests (95 %), 0 up to 240, request 241 -> 429 QuotaViolation, Retry-After {to_next_minute}"
    );
}

#[tokio::test]
async fn figure_oauth_per_minute_throttle_refuses_exactly_request_1501() {
    // Arrange: spike arrest off, so 1,500 requests can share one second.
    let h = production(QuotaOverrides {
        oauth_per_second: Some(0),
        ..QuotaOverrides::default()
    })
    .await;
    let (at, _) = h.tokens().await;
    // Act
    let (false_at_95, _) = send_spread(&h, Cred::Bearer(&at), 1_425, 1_425).await;
    let (false_to_limit, _) = send_spread(&h, Cred::Bearer(&at), 75, 75).await;
    let over = rest(&h, Cred::Bearer(&at)).await;
    // Assert
    assert_eq!((false_at_95, false_to_limit), (0, 0));
    assert_429(
        &over,
        "Rate limit quota violation. Quota limit exceeded.",
        "policies.ratelimit.QuotaViolation",
        60,
    );
    let hd = quota_headers(&over);
    assert_eq!(hd["x-keap-product-throttle-used"], "1500");
    assert_eq!(hd["x-keap-product-quota-used"], "1500");
    println!(
        "FIGURE [SECURITY §9] OAuth per-minute quota 1500: 0 false 429s in 1425 requests (95 %), 0 up to 1500, request 1501 -> 429 QuotaViolation"
    );
}

#[tokio::test]
async fn daily_quota_refuses_until_midnight_utc() {
    // Arrange: a small daily quota for keys.
    let h = production(QuotaOverrides {
        key_per_day: Some(50),
        ..QuotaOverrides::default()
    })
    .await;
    let (key, _) = h.api_key(KeyKind::Pat, false, None).await;
    // Act
    let (refused, _) = send_spread(&h, Cred::Key(&key), 50, 10).await;
    h.clock.advance(Duration::SECOND); // clear of the spike arrest
    let over = rest(&h, Cred::Key(&key)).await;
    let now = h.clock.now();
    // Assert
    assert_eq!(refused, 0);
    let to_midnight = (Unit::Day.end(now) - now).whole_seconds();
    assert_429(
        &over,
        "Rate limit quota violation. Quota limit exceeded.",
        "policies.ratelimit.QuotaViolation",
        u64::try_from(to_midnight).unwrap(),
    );
    let hd = quota_headers(&over);
    assert_eq!(hd["x-keap-product-quota-limit"], "50");
    assert_eq!(hd["x-keap-product-quota-available"], "0");
    // A new UTC day, a new quota.
    h.clock.set(Unit::Day.end(now));
    let res = rest(&h, Cred::Key(&key)).await;
    res.assert_status(StatusCode::OK);
    assert_eq!(quota_headers(&res)["x-keap-product-quota-used"], "1");
}

#[tokio::test]
async fn tenant_throttle_is_shared_by_every_credential_of_the_account() {
    // Arrange
    let h = production(QuotaOverrides {
        tenant_per_minute: Some(5),
        ..QuotaOverrides::default()
    })
    .await;
    let (at, _) = h.tokens().await;
    let (key, _) = h.api_key(KeyKind::Pat, false, None).await;
    // Act: 3 by token and 2 by key fill the tenant's minute; the sixth is refused.
    for _ in 0..3 {
        rest(&h, Cred::Bearer(&at))
            .await
            .assert_status(StatusCode::OK);
    }
    for _ in 0..2 {
        rest(&h, Cred::Key(&key))
            .await
            .assert_status(StatusCode::OK);
    }
    let over = rest(&h, Cred::Bearer(&at)).await;
    // Assert
    assert_429(
        &over,
        "Rate limit quota violation. Quota limit exceeded.",
        "policies.ratelimit.QuotaViolation",
        60,
    );
    let hd = quota_headers(&over);
    assert_eq!(hd["x-keap-tenant-throttle-limit"], "5|250000");
    assert_eq!(hd["x-keap-tenant-throttle-used"], "5|5");
    assert_eq!(hd["x-keap-tenant-throttle-available"], "0|249995");
    assert_eq!(hd["x-keap-product-throttle-used"], "3");
}

// ---------------------------------------------------------------------------------------------
// Brute force: sign-in
// ---------------------------------------------------------------------------------------------

/// `req` as if it came from `ip` (what `into_make_service_with_connect_info` provides).
fn from_ip(mut req: Request<Body>, ip: &str) -> Request<Body> {
    let addr = SocketAddr::new(ip.parse().expect("an IP address"), 40_000);
    req.extensions_mut().insert(ConnectInfo(addr));
    req
}

/// A pre-login session on the login page: the query, cookie and login CSRF token.
struct LoginForm {
    query: String,
    cookie: String,
    token: String,
}

async fn login_form(h: &Harness) -> LoginForm {
    let query = h.query("");
    let (cookie, token) = h.login_page(&query).await;
    LoginForm {
        query,
        cookie,
        token,
    }
}

async fn sign_in(h: &Harness, f: &LoginForm, email: &str, password: &str, ip: &str) -> Resp {
    let req = Request::builder()
        .method(Method::POST)
        .uri(format!("/app/oauth/authorize?{}", f.query))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::COOKIE, &f.cookie)
        .body(Body::from(format!(
            "form=login&csrf_token={}&email={}&password={}",
            f.token,
            enc(email),
            enc(password)
        )))
        .expect("request");
    h.send(from_ip(req, ip)).await
}

const WRONG: &str = "not the password";
const FAILED: &str = "The e-mail address or password is incorrect.";

#[tokio::test]
async fn sixth_bad_password_from_one_ip_is_refused_and_the_right_one_waits_too() {
    // Arrange: five failures for ada from IP A.
    let h = Harness::new().await;
    let f = login_form(&h).await;
    let ada = h.user.email.clone();
    for i in 1..=5 {
        let res = sign_in(&h, &f, &ada, WRONG, IP_A).await;
        res.assert_status(StatusCode::OK);
        assert!(res.text().contains(FAILED), "failure {i}");
    }
    // Act
    let sixth = sign_in(&h, &f, &ada, WRONG, IP_A).await;
    let right_too_soon = sign_in(&h, &f, &ada, PASSWORD, IP_A).await;
    let other_user_same_ip = sign_in(
        &h,
        &login_form(&h).await,
        &h.multi_user.email,
        PASSWORD,
        IP_A,
    )
    .await;
    let same_user_other_ip = sign_in(&h, &login_form(&h).await, &ada, PASSWORD, IP_B).await;
    // Assert: 429, the login page's layout with a message and the form, Retry-After 1 s.
    for res in [&sixth, &right_too_soon] {
        res.assert_status(StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(res.header("retry-after").as_deref(), Some("1"));
        assert_html_security_headers(res);
        let html = res.text();
        assert!(html.contains("Too many failed sign-in attempts. Wait 1 second, then try again."));
        assert!(
            html.contains("name=\"password\""),
            "the form is still there"
        );
        assert!(res.cookie().is_none(), "no session was created");
    }
    other_user_same_ip.assert_status(StatusCode::SEE_OTHER);
    same_user_other_ip.assert_status(StatusCode::SEE_OTHER);
    // Once the delay has passed, the right password from IP A works (and successes do not count).
    h.clock.advance(Duration::SECOND);
    sign_in(&h, &f, &ada, PASSWORD, IP_A)
        .await
        .assert_status(StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn delays_double_from_one_second_to_at_most_sixty() {
    // Arrange
    let h = Harness::new().await;
    let f = login_form(&h).await;
    let ada = h.user.email.clone();
    for _ in 0..5 {
        sign_in(&h, &f, &ada, WRONG, IP_A).await;
    }
    // Act: after each wait, one more failure, and see the next wait.
    let mut waits = Vec::new();
    for _ in 0..8 {
        let res = sign_in(&h, &f, &ada, WRONG, IP_A).await;
        res.assert_status(StatusCode::TOO_MANY_REQUESTS);
        let wait: i64 = res.header("retry-after").unwrap().parse().unwrap();
        waits.push(wait);
        h.clock.advance(Duration::seconds(wait));
        sign_in(&h, &f, &ada, WRONG, IP_A)
            .await
            .assert_status(StatusCode::OK);
    }
    // Assert
    assert_eq!(waits, vec![1, 2, 4, 8, 16, 32, 60, 60]);
}

#[tokio::test]
async fn failures_are_forgotten_after_fifteen_minutes() {
    // Arrange: five failures at t0.
    let h = Harness::new().await;
    let ada = h.user.email.clone();
    let f = login_form(&h).await;
    for _ in 0..5 {
        sign_in(&h, &f, &ada, WRONG, IP_A).await;
    }
    // Act: a second before they expire they still count (the next failure is the sixth); at 15
    // minutes they are gone.
    h.clock.advance(Duration::minutes(15) - Duration::SECOND);
    let f = login_form(&h).await;
    sign_in(&h, &f, &ada, WRONG, IP_A)
        .await
        .assert_status(StatusCode::OK); // the 1 s wait is long over: the sixth runs
    let seventh = sign_in(&h, &f, &ada, WRONG, IP_A).await;
    h.clock.advance(Duration::SECOND);
    let mut after = Vec::new();
    for _ in 0..5 {
        after.push(sign_in(&h, &f, &ada, WRONG, IP_A).await.status);
    }
    // Assert
    assert_eq!(seventh.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(seventh.header("retry-after").as_deref(), Some("2"));
    assert_eq!(
        after,
        [vec![StatusCode::OK; 4], vec![StatusCode::TOO_MANY_REQUESTS]].concat(),
        "the first five failures expired after 15 minutes: only the sixth still counts, so four \
         more are free (the refused seventh was never counted)"
    );
    // The store really forgets them: a purge at +30 min leaves nothing for ada from IP A.
    let now = h.clock.now();
    h.store
        .purge_expired(now + Duration::minutes(15))
        .await
        .unwrap();
    let key = format!("bf:login:{IP_A}:{ada}");
    assert_eq!(
        h.store
            .recent(&key, now - Duration::HOUR)
            .await
            .unwrap()
            .total,
        0
    );
}

#[tokio::test]
async fn one_address_trying_many_accounts_is_slowed_after_twenty_failures() {
    // Arrange: 20 failures from IP A, four for each of five (mostly unknown) e-mails.
    let h = Harness::new().await;
    let f = login_form(&h).await;
    for i in 0..20 {
        let email = format!("victim{}@example.com", i % 5);
        sign_in(&h, &f, &email, WRONG, IP_A)
            .await
            .assert_status(StatusCode::OK);
    }
    // Act
    let from_a = sign_in(&h, &f, &h.user.email, PASSWORD, IP_A).await;
    let from_b = sign_in(&h, &login_form(&h).await, &h.user.email, PASSWORD, IP_B).await;
    // Assert
    from_a.assert_status(StatusCode::TOO_MANY_REQUESTS);
    from_b.assert_status(StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn parallel_guesses_get_only_the_free_attempts_evaluated() {
    // Arrange: 40 wrong passwords for ada from one address, all at once.
    let h = Harness::new().await;
    let f = login_form(&h).await;
    let ada = h.user.email.clone();
    // Act
    let results =
        futures_util::future::join_all((0..40).map(|_| sign_in(&h, &f, &ada, WRONG, IP_A))).await;
    // Assert: the check and the count are one step, so no more than five run the password check.
    let evaluated = results
        .iter()
        .filter(|r| r.status == StatusCode::OK)
        .count();
    let refused = results
        .iter()
        .filter(|r| r.status == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!((evaluated, refused), (5, 35));
    println!(
        "FIGURE [SECURITY §9] 40 parallel wrong passwords for one account from one IP: {evaluated} evaluated, {refused} refused with 429"
    );
}

#[tokio::test]
async fn figure_guesses_per_account_per_ip_per_hour() {
    // Arrange: an attacker who retries the moment Retry-After allows, for one hour and then for
    // a second hour.
    let h = Harness::new().await;
    let ada = h.user.email.clone();
    let start = h.clock.now();
    let mut evaluated = [0_u64; 2];
    let mut f = login_form(&h).await;
    // Act
    while h.clock.now() < start + 2 * Duration::HOUR {
        let hour = usize::from(h.clock.now() >= start + Duration::HOUR);
        let res = sign_in(&h, &f, &ada, WRONG, IP_A).await;
        match res.status {
            StatusCode::OK => evaluated[hour] += 1,
            StatusCode::TOO_MANY_REQUESTS => {
                let wait: i64 = res.header("retry-after").unwrap().parse().unwrap();
                assert!((1..=60).contains(&wait), "Retry-After {wait}");
                h.clock.advance(Duration::seconds(wait));
            }
            // The pre-login session went idle (30 min without activity): a fresh login page.
            StatusCode::FORBIDDEN => f = login_form(&h).await,
            other => panic!("unexpected {other}"),
        }
    }
    // Assert: what the server did is what the policy says.
    let policy = BruteForce::PER_ACCOUNT;
    assert_eq!(evaluated[0], policy.max_guesses(Duration::HOUR));
    assert_eq!(
        evaluated[1],
        policy.guesses_between(Duration::HOUR, 2 * Duration::HOUR)
    );
    assert_eq!(evaluated[1], 60);
    println!(
        "FIGURE [SECURITY §9] guesses per account per IP per hour <= {} from a cold start (5 free, then waits of 1-32 s, then 60 s), steady state <= {} per hour (one per 60 s cap); Retry-After never above 60 s",
        evaluated[0], evaluated[1]
    );
}

// ---------------------------------------------------------------------------------------------
// Brute force: /token client authentication
// ---------------------------------------------------------------------------------------------

async fn token_from(h: &Harness, body: &str, ip: &str) -> Resp {
    let req = Request::builder()
        .method(Method::POST)
        .uri("/token")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body.to_owned()))
        .expect("request");
    h.send(from_ip(req, ip)).await
}

fn refresh_with(rt: &str, client_id: &str, secret: &str) -> String {
    format!(
        "grant_type=refresh_token&refresh_token={}&client_id={}&client_secret={}",
        enc(rt),
        enc(client_id),
        enc(secret)
    )
}

#[track_caller]
fn assert_token_429(res: &Resp, retry_after: &str) {
    assert_oauth_error(res, StatusCode::TOO_MANY_REQUESTS, "invalid_request");
    assert_eq!(res.header("retry-after").as_deref(), Some(retry_after));
}

#[tokio::test]
async fn sixth_wrong_client_secret_is_429_with_retry_after() {
    // Arrange: an app with an operator-chosen (Argon2) secret, and a refresh token of it.
    let h = Harness::new().await;
    let (_, rt) = h.tokens().await;
    let chosen = "operator chosen secret";
    h.store
        .create_app(
            NewApp {
                client_id: "chosen-app".into(),
                secret_hash: hash_client_secret(chosen, false).unwrap(),
                name: "Chosen".into(),
                redirect_uris: vec![REDIRECT.into()],
            },
            h.clock.now(),
        )
        .await
        .unwrap();
    for _ in 0..5 {
        let res = token_from(&h, &refresh_with(&rt, "chosen-app", "wrong"), IP_A).await;
        assert_oauth_error(&res, StatusCode::UNAUTHORIZED, "invalid_client");
    }
    // Act
    let sixth = token_from(&h, &refresh_with(&rt, "chosen-app", "wrong"), IP_A).await;
    let right_too_soon = token_from(&h, &refresh_with(&rt, "chosen-app", chosen), IP_A).await;
    let other_ip = token_from(&h, &refresh_with(&rt, "chosen-app", chosen), IP_B).await;
    h.clock.advance(Duration::SECOND);
    let right_later = token_from(&h, &refresh_with(&rt, "chosen-app", chosen), IP_A).await;
    // Assert: the refresh token belongs to the other app, so a verified client gets
    // invalid_grant: what matters is that the client check ran (not 401, not 429).
    assert_token_429(&sixth, "1");
    assert_token_429(&right_too_soon, "1");
    assert_oauth_error(&other_ip, StatusCode::BAD_REQUEST, "invalid_grant");
    assert_oauth_error(&right_later, StatusCode::BAD_REQUEST, "invalid_grant");
}

#[tokio::test]
async fn generated_secrets_are_checked_first_so_the_real_client_is_never_held_up() {
    // Arrange: the harness app has a generated (SHA-256) secret.
    let h = Harness::new().await;
    let (_, rt) = h.tokens().await;
    for _ in 0..5 {
        let res = token_from(&h, &refresh_with(&rt, CLIENT_ID, "wrong"), IP_A).await;
        assert_oauth_error(&res, StatusCode::UNAUTHORIZED, "invalid_client");
    }
    // Act
    let sixth = token_from(&h, &refresh_with(&rt, CLIENT_ID, "wrong"), IP_A).await;
    let right = token_from(&h, &refresh_with(&rt, CLIENT_ID, CLIENT_SECRET), IP_A).await;
    // Assert
    assert_token_429(&sixth, "1");
    right.assert_status(StatusCode::OK);
}

#[tokio::test]
async fn unknown_client_ids_from_one_address_are_slowed_after_twenty() {
    let h = Harness::new().await;
    for i in 0..20 {
        let res = token_from(&h, &refresh_with("x", &format!("nobody-{i}"), "x"), IP_A).await;
        assert_oauth_error(&res, StatusCode::UNAUTHORIZED, "invalid_client");
    }
    let res = token_from(&h, &refresh_with("x", "nobody-new", "x"), IP_A).await;
    assert_token_429(&res, "1");
    let res = token_from(&h, &refresh_with("x", "nobody-new", "x"), IP_B).await;
    assert_oauth_error(&res, StatusCode::UNAUTHORIZED, "invalid_client");
}

// ---------------------------------------------------------------------------------------------
// Several nodes on one PostgreSQL database (SECURITY.md §10)
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn figure_two_nodes_on_one_postgres_share_quotas_and_failure_counts() {
    use keapsake_core::store::{NewAccount, NewApiKey, NewUser};
    use keapsake_core::{ManualClock, Secret, Store};
    use keapsake_server::{AppState, router};
    use keapsake_store_postgres::{PgStore, create_test_database};
    use std::sync::Arc;
    // Arrange: two nodes, each with its own pool, on one fresh database, in the production
    // profile; a user, an account, an app and a PAT.
    let admin = std::env::var("KEAPSAKE_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let url = create_test_database(&admin).await.unwrap_or_else(|e| {
        panic!("this test needs PostgreSQL on 127.0.0.1:5432 with trust auth (or KEAPSAKE_TEST_PG_URL): {e}")
    });
    let store_a: Arc<dyn Store> = Arc::new(PgStore::connect(&url).await.unwrap());
    let store_b: Arc<dyn Store> = Arc::new(PgStore::connect(&url).await.unwrap());
    let clock = Arc::new(ManualClock::new(start_time()));
    let now = clock.now();
    let config = Config {
        profile: Profile::Production,
        ..Config::default()
    };
    let node_a = router(AppState::new(
        store_a.clone(),
        clock.clone(),
        config.clone(),
    ));
    let node_b = router(AppState::new(store_b, clock.clone(), config));
    let user = store_a
        .create_user(
            NewUser {
                email: "ada@example.com".into(),
                password_hash: keapsake_core::password::hash_password(PASSWORD).unwrap(),
                given_name: "Ada".into(),
                family_name: "Tester".into(),
            },
            now,
        )
        .await
        .unwrap();
    let account = store_a
        .create_account(
            NewAccount {
                alias: "ab123".into(),
                name: "Acme".into(),
            },
            now,
        )
        .await
        .unwrap();
    store_a.add_member(account.id, user.id, true).await.unwrap();
    store_a
        .create_app(
            NewApp {
                client_id: CLIENT_ID.into(),
                secret_hash: hash_client_secret(CLIENT_SECRET, true).unwrap(),
                name: "App".into(),
                redirect_uris: vec![REDIRECT.into()],
            },
            now,
        )
        .await
        .unwrap();
    let key = Secret::generate_hex("KeapAK-", 25);
    store_a
        .create_api_key(NewApiKey {
            hash: key.hash(),
            display_prefix: key.expose()[..11].to_owned(),
            name: "k".into(),
            kind: KeyKind::Pat,
            account_id: account.id,
            user_id: Some(user.id),
            read_only: false,
            created_at: now,
            expires_at: None,
        })
        .await
        .unwrap();
    let get = |node: &axum::Router| {
        let node = node.clone();
        let key = key.expose().to_owned();
        async move {
            let req = Request::builder()
                .uri(USERINFO)
                .header("x-keap-api-key", key)
                .body(Body::empty())
                .unwrap();
            send_to(&node, req).await
        }
    };
    // Act 1: ten requests in one second, alternating nodes, then an eleventh.
    let mut statuses = Vec::new();
    for i in 0..10 {
        let node = if i % 2 == 0 { &node_a } else { &node_b };
        statuses.push(get(node).await.status);
    }
    let eleventh = get(&node_b).await;
    // Assert 1: one budget for both nodes.
    assert!(
        statuses.iter().all(|s| *s == StatusCode::OK),
        "{statuses:?}"
    );
    assert_429(
        &eleventh,
        "Spike arrest violation. Allowed rate : 10ps",
        "policies.ratelimit.SpikeArrestViolation",
        1,
    );
    assert_eq!(
        quota_headers(&eleventh)["x-keap-product-throttle-used"],
        "10"
    );

    // Act 2: a sign-in page from node A, then wrong passwords from one address on both nodes.
    let query = format!(
        "client_id={CLIENT_ID}&redirect_uri={}&response_type=code&scope=full",
        enc(REDIRECT)
    );
    let page = send_to(
        &node_a,
        Request::builder()
            .uri(format!("/app/oauth/authorize?{query}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    let form = LoginForm {
        cookie: page.cookie().expect("a session cookie"),
        token: page.csrf_tokens().remove(0),
        query,
    };
    let post = |node: &axum::Router, password: &str| {
        let node = node.clone();
        let req = Request::builder()
            .method(Method::POST)
            .uri(format!("/app/oauth/authorize?{}", form.query))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::COOKIE, &form.cookie)
            .body(Body::from(format!(
                "form=login&csrf_token={}&email=ada%40example.com&password={}",
                form.token,
                enc(password)
            )))
            .unwrap();
        async move { send_to(&node, from_ip(req, IP_A)).await }
    };
    let mut failures = Vec::new();
    for i in 0..5 {
        let node = if i % 2 == 0 { &node_a } else { &node_b };
        failures.push(post(node, WRONG).await.status);
    }
    let sixth_on_b = post(&node_b, PASSWORD).await;
    // Assert 2
    assert_eq!(failures, vec![StatusCode::OK; 5]);
    sixth_on_b.assert_status(StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(sixth_on_b.header("retry-after").as_deref(), Some("1"));
    println!(
        "FIGURE [SECURITY §10] two nodes on one PostgreSQL: 10/s key budget shared (request 11 -> 429), 5 sign-in failures split over both -> 6th attempt 429"
    );
}
