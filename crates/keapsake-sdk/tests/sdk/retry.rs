//! Retries: 429 with `Retry-After` on any method, 5xx only on idempotent ones.

use std::time::{Duration, Instant};

use keapsake_sdk::model::ContactInput;
use keapsake_sdk::{Error, Keap, RetryPolicy};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::*;

fn key_client(server: &MockServer, policy: RetryPolicy) -> Keap {
    Keap::builder()
        .base_url(server.uri())
        .api_key("KeapAK-test")
        .retry_policy(policy)
        .build()
        .unwrap()
}

fn quota_violation() -> serde_json::Value {
    json!({"fault":{"faultstring":"Rate limit quota violation. Quota limit exceeded.","detail":{"errorcode":"policies.ratelimit.QuotaViolation"}}})
}

fn contact_json() -> serde_json::Value {
    json!({"id": 22, "given_name": "Ada", "email_addresses": [{"email": "ada@example.com", "field": "EMAIL1"}]})
}

#[tokio::test]
async fn a_429_storm_is_waited_out_honouring_retry_after() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/crm/rest/v1/contacts/22"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "1")
                .set_body_json(quota_violation()),
        )
        .up_to_n_times(2)
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/crm/rest/v1/contacts/22"))
        .respond_with(ResponseTemplate::new(200).set_body_json(contact_json()))
        .expect(1)
        .mount(&server)
        .await;
    let client = key_client(&server, fast_retries());
    let started = Instant::now();

    let c = client.contacts().get(22).send().await.unwrap();

    assert_eq!(c.given_name.as_deref(), Some("Ada"));
    // Two waits of Retry-After: 1, not the 10–50 ms backoff.
    assert!(
        started.elapsed() >= Duration::from_millis(1900),
        "{:?}",
        started.elapsed()
    );
    server.verify().await;
}

#[tokio::test]
async fn a_429_on_post_is_retried_too_because_the_gateway_refused_it_unprocessed() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/crm/rest/v1/contacts"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "0"))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/crm/rest/v1/contacts"))
        .respond_with(ResponseTemplate::new(201).set_body_json(contact_json()))
        .expect(1)
        .mount(&server)
        .await;
    let client = key_client(&server, fast_retries());

    client
        .contacts()
        .create(ContactInput::new().email("ada@example.com"))
        .send()
        .await
        .unwrap();

    server.verify().await;
}

#[tokio::test]
async fn a_retry_after_longer_than_the_policy_allows_fails_at_once_with_the_wait() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/crm/rest/v1/contacts/22"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "3600")
                .insert_header("x-keap-product-quota-available", "0")
                .insert_header("x-keap-product-quota-limit", "150000")
                .set_body_json(quota_violation()),
        )
        .expect(1)
        .mount(&server)
        .await;
    let client = key_client(&server, fast_retries());
    let started = Instant::now();

    let err = client.contacts().get(22).send().await.unwrap_err();

    assert!(started.elapsed() < Duration::from_secs(2));
    match &err {
        Error::RateLimited {
            retry_after,
            errorcode,
            quota,
            ..
        } => {
            assert_eq!(*retry_after, Some(Duration::from_secs(3600)));
            assert_eq!(
                errorcode.as_deref(),
                Some("policies.ratelimit.QuotaViolation")
            );
            assert_eq!(quota.product_quota[0].available, Some(0));
        }
        other => panic!("expected RateLimited, got {other:?}"),
    }
    assert_eq!(err.retry_after(), Some(Duration::from_secs(3600)));
    server.verify().await;
}

#[tokio::test]
async fn a_429_that_outlasts_the_retries_is_rate_limited() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/crm/rest/v1/contacts/22"))
        .respond_with(ResponseTemplate::new(429).set_body_json(quota_violation()))
        .expect(4)
        .mount(&server)
        .await;
    let client = key_client(&server, fast_retries());

    let err = client.contacts().get(22).send().await.unwrap_err();

    assert!(
        matches!(
            err,
            Error::RateLimited {
                retry_after: None,
                ..
            }
        ),
        "{err:?}"
    );
    server.verify().await;
}

#[tokio::test]
async fn a_503_on_get_is_retried() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/crm/rest/v1/contacts/22"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(2)
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/crm/rest/v1/contacts/22"))
        .respond_with(ResponseTemplate::new(200).set_body_json(contact_json()))
        .expect(1)
        .mount(&server)
        .await;
    let client = key_client(&server, fast_retries());

    client.contacts().get(22).send().await.unwrap();

    server.verify().await;
}

#[tokio::test]
async fn a_503_on_post_is_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/crm/rest/v1/contacts"))
        .respond_with(
            ResponseTemplate::new(503).set_body_json(json!({"message":"Service Unavailable"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let client = key_client(&server, fast_retries());

    let err = client
        .contacts()
        .create(ContactInput::new().email("a@b.c"))
        .send()
        .await
        .unwrap_err();

    assert!(
        matches!(&err, Error::Api { status: 503, message } if message == "Service Unavailable"),
        "{err:?}"
    );
    server.verify().await;
}

#[tokio::test]
async fn a_503_on_the_token_endpoint_is_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(ResponseTemplate::new(503))
        .expect(1)
        .mount(&server)
        .await;
    let client = oauth_client(&server, store_with(expired_token("a1", "r1")));

    let err = client.refresh().await.unwrap_err();

    assert!(matches!(err, Error::Api { status: 503, .. }), "{err:?}");
    server.verify().await;
}

#[tokio::test]
async fn retries_can_be_turned_off() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/crm/rest/v1/contacts/22"))
        .respond_with(ResponseTemplate::new(503))
        .expect(1)
        .mount(&server)
        .await;
    let client = key_client(&server, RetryPolicy::none());

    let err = client.contacts().get(22).send().await.unwrap_err();

    assert_eq!(err.status(), Some(503));
    server.verify().await;
}

#[tokio::test]
async fn a_slow_server_times_out_as_a_transport_error() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/crm/rest/v1/contacts/22"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(contact_json())
                .set_delay(Duration::from_secs(5)),
        )
        .mount(&server)
        .await;
    let client = Keap::builder()
        .base_url(server.uri())
        .api_key("k")
        .timeout(Duration::from_millis(200))
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();

    let err = client.contacts().get(22).send().await.unwrap_err();

    assert!(err.is_timeout(), "{err:?}");
}

#[tokio::test]
async fn an_unreachable_server_is_a_transport_error() {
    // A port nothing listens on: bind, note it, drop.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = Keap::builder()
        .base_url(format!("http://127.0.0.1:{port}"))
        .api_key("k")
        .retry_policy(fast_retries())
        .build()
        .unwrap();

    let err = client.contacts().get(22).send().await.unwrap_err();

    assert!(matches!(err, Error::Transport(_)), "{err:?}");
}
