//! A keep-alive connection stays usable after a REST v1 answer that was decided before the
//! request body was read (`rest/v1/body.rs`): a 501 stub, a path id that is not an int64, a
//! rejected credential. Found by compat/spec: without the drain, hyper closed the connection
//! whenever the body had not fully arrived, and the client's *next* request on it failed.
//!
//! Raw TCP, so the test controls exactly when the body is sent and that the second request goes
//! over the same connection.

use keapsake_testkit::{Backend, TestServer};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Reads one HTTP/1.1 response with a `content-length` body: its status, or `None` if the
/// connection closed (or failed) first.
async fn read_response(stream: &mut TcpStream) -> Option<u16> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        match tokio::time::timeout(Duration::from_secs(10), stream.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => buf.extend_from_slice(&chunk[..n]),
            _ => return None,
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let status: u16 = head.split_whitespace().nth(1)?.parse().ok()?;
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .map_or(0, |v| v.trim().parse().unwrap_or(0));
    while buf.len() < head_end + length {
        match tokio::time::timeout(Duration::from_secs(10), stream.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => buf.extend_from_slice(&chunk[..n]),
            _ => return None,
        }
    }
    Some(status)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_connection_survives_answers_that_did_not_read_the_body() {
    let srv = TestServer::start(Backend::Sqlite).await;
    let code = srv.authorize(&srv.app, &srv.user).await;
    let (s, tok) = srv.exchange(&srv.app, &code).await;
    assert_eq!(s, 200, "{tok}");
    let token = tok["access_token"].as_str().unwrap().to_owned();
    let url = srv.at("");
    let host = url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();

    let body = r#"{"contact_id": 1, "title": "x"}"#;
    for (method, path, auth, expected) in [
        ("PUT", "/crm/rest/v1/appointments/1", token.as_str(), 501),
        ("PUT", "/crm/rest/v1/notes/abc", token.as_str(), 400),
        ("PATCH", "/crm/rest/v1/notes/1", "not-a-token", 401),
    ] {
        let mut stream = TcpStream::connect(&host).await.unwrap();
        // Headers first; the body only after the server has had time to answer without it.
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {auth}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        tokio::time::sleep(Duration::from_millis(150)).await;
        stream.write_all(body.as_bytes()).await.unwrap();
        assert_eq!(
            read_response(&mut stream).await,
            Some(expected),
            "{method} {path}"
        );

        // The next request on the same connection.
        let next = format!(
            "GET /crm/rest/v1/contacts/model HTTP/1.1\r\nHost: {host}\r\n\
             Authorization: Bearer {token}\r\n\r\n"
        );
        let sent = stream.write_all(next.as_bytes()).await;
        let status = match sent {
            Ok(()) => read_response(&mut stream).await,
            Err(_) => None,
        };
        assert_eq!(
            status,
            Some(200),
            "after {method} {path}: the connection was closed instead of kept alive"
        );
    }
}

/// A body too large to drain: the server closes the connection after answering, and says so
/// (`Connection: close`), or a pooling client sends its next request on a dead connection (found
/// by the hostile-input suite: reqwest's next request failed with `IncompleteMessage`). A body
/// over the 2 MiB limit but under the drain limit gets its 413 and keeps the connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_undrainable_body_is_answered_with_connection_close() {
    let srv = TestServer::start(Backend::Sqlite).await;
    let code = srv.authorize(&srv.app, &srv.user).await;
    let (s, tok) = srv.exchange(&srv.app, &code).await;
    assert_eq!(s, 200, "{tok}");
    let token = tok["access_token"].as_str().unwrap().to_owned();
    let url = srv.at("");
    let host = url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();

    // 5 MB: read to the 2 MiB limit, 413, the rest drained, connection kept.
    let big = format!("{{\"product_name\": \"{}\"}}", "x".repeat(5 * 1024 * 1024));
    let mut stream = TcpStream::connect(&host).await.unwrap();
    let head = format!(
        "POST /crm/rest/v1/products HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        big.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(big.as_bytes()).await.unwrap();
    assert_eq!(read_response(&mut stream).await, Some(413));
    let next = format!(
        "GET /crm/rest/v1/contacts/model HTTP/1.1\r\nHost: {host}\r\n\
         Authorization: Bearer {token}\r\n\r\n"
    );
    stream.write_all(next.as_bytes()).await.unwrap();
    assert_eq!(read_response(&mut stream).await, Some(200));

    // 40 MB announced, 12 MB sent (over the drain limit), then nothing: the answer says close.
    let mut stream = TcpStream::connect(&host).await.unwrap();
    let head = format!(
        "POST /crm/rest/v1/products HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        40 * 1024 * 1024
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let (mut rd, mut wr) = stream.into_split();
    let writer = tokio::spawn(async move {
        let chunk = vec![b' '; 1024 * 1024];
        for _ in 0..12 {
            if wr.write_all(&chunk).await.is_err() {
                break;
            }
        }
        wr
    });
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break String::from_utf8_lossy(&buf[..i]).to_ascii_lowercase();
        }
        match tokio::time::timeout(Duration::from_secs(10), rd.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => buf.extend_from_slice(&chunk[..n]),
            other => panic!("no response head: {other:?}"),
        }
    };
    drop(writer.await);
    assert!(head.starts_with("http/1.1 413"), "{head}");
    assert!(head.contains("\r\nconnection: close"), "{head}");
}
