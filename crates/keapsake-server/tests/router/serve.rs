//! `Server`: binding, serving over TCP with connect info, graceful shutdown, TLS setup.

use crate::support::*;
use keapsake_core::{Clock, ManualClock, Store};
use keapsake_server::{Config, Server, TlsConfig};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn sqlite(dir: &tempfile::TempDir) -> Arc<dyn Store> {
    keapsake_server::open_store(
        &format!("sqlite://{}", dir.path().join("s.db").display()),
        keapsake_store_sqlite::Durability::Relaxed,
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn server_binds_a_free_port_serves_and_shuts_down_gracefully() {
    // Arrange
    let dir = tempfile::tempdir().unwrap();
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::new(start_time()));
    let config = Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        ..Config::default()
    };
    let server = Server::bind(config, sqlite(&dir).await, clock)
        .await
        .unwrap();
    let addr = server.local_addr();
    assert_ne!(addr.port(), 0);
    assert_eq!(
        server.url().as_str(),
        format!("http://127.0.0.1:{}/", addr.port())
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(server.run(async move {
        let _ = stopped.await;
    }));
    // Act
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    tcp.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut raw = String::new();
    tcp.read_to_string(&mut raw).await.unwrap();
    stop.send(()).unwrap();
    // Assert
    assert!(raw.starts_with("HTTP/1.1 200 OK"), "{raw}");
    assert!(
        raw.ends_with("{\"status\":\"ok\",\"backend\":\"sqlite\"}"),
        "{raw}"
    );
    assert!(raw.to_ascii_lowercase().contains("x-request-id:"));
    tokio::time::timeout(std::time::Duration::from_secs(10), running)
        .await
        .expect("run() returns after shutdown")
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn self_signed_tls_binds_with_an_https_url_and_secure_cookies() {
    let dir = tempfile::tempdir().unwrap();
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::new(start_time()));
    let config = Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        tls: Some(TlsConfig::SelfSigned),
        ..Config::default()
    };
    let server = Server::bind(config, sqlite(&dir).await, clock)
        .await
        .unwrap();
    assert_eq!(server.url().scheme(), "https");
    assert!(server.state().config.is_https());
}

#[tokio::test]
async fn open_store_refuses_an_unreachable_postgres_url_without_panicking() {
    let err = keapsake_server::open_store(
        "postgres://nobody@127.0.0.1:1/none",
        keapsake_store_sqlite::Durability::Full,
    )
    .await;
    assert!(err.is_err());
}
