//! The logs a whole authorization flow leaves behind (SECURITY.md §3): at TRACE level they
//! contain none of the secrets the flow minted or typed. A binary of its own because it installs
//! the process-wide subscriber.
#![allow(clippy::unwrap_used)]

#[allow(dead_code)]
#[path = "../router/support.rs"]
mod support;

use axum::http::StatusCode;
use std::io::Write;
use std::sync::{Arc, Mutex};
use support::*;

/// A log sink shared with the subscriber.
#[derive(Clone, Default)]
struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn logs_at_trace_level_contain_none_of_the_secrets_of_a_whole_flow() {
    // Arrange: every event of this test, at TRACE, into a buffer.
    let sink = Sink::default();
    let writer = sink.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    // Global, not scoped: the store's writer task and the blocking pool log from other threads,
    // and tracing's per-callsite interest cache is process-wide. Hence a binary of its own.
    tracing::subscriber::set_global_default(subscriber).unwrap();
    let h = Harness::new().await;

    // Act: login (password), consent (code, state), exchange (client secret), refresh, and
    // resource calls with the token in the query and in headers.
    let q = h.query("").replace("state=xyz", "state=state-secret-123");
    let cookie = h.login(&q).await;
    let res = h.decide(&q, &cookie, "allow").await;
    let code = res.location_param("code").unwrap();
    let tokens = h.exchange(&code).await.json();
    let at = tokens["access_token"].as_str().unwrap().to_owned();
    let rt = tokens["refresh_token"].as_str().unwrap().to_owned();
    let refreshed = h
        .token(
            &format!("grant_type=refresh_token&refresh_token={rt}"),
            &[("authorization", &basic_encoded(CLIENT_ID, CLIENT_SECRET))],
        )
        .await
        .json();
    let at2 = refreshed["access_token"].as_str().unwrap().to_owned();
    h.get(
        &format!("/crm/rest/v1/oauth/connect/userinfo?access_token={at}&limit=5"),
        None,
    )
    .await
    .assert_status(StatusCode::OK);
    h.get_with(
        "/crm/rest/v1/account/profile",
        &[("authorization", &bearer(&at2))],
    )
    .await
    .assert_status(StatusCode::OK);
    h.get(
        &format!("/demo/callback?code={code}&state=state-secret-123"),
        None,
    )
    .await;
    h.get(&format!("/crm/rest/v1/nope?access_token={at}"), None)
        .await;

    // Assert
    let logs = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("limit=5"),
        "the request span is logged with its query"
    );
    assert!(logs.contains("access_token=[redacted]"));
    let session = cookie.split_once('=').unwrap().1.to_owned();
    for secret in [
        at,
        rt,
        at2,
        code,
        session,
        CLIENT_SECRET.to_owned(),
        enc(CLIENT_SECRET),
        PASSWORD.to_owned(),
        enc(PASSWORD),
        "state-secret-123".to_owned(),
    ] {
        assert!(
            !logs.contains(&secret),
            "a secret reached the logs: {secret}"
        );
    }
}
