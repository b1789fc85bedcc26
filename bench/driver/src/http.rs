//! One HTTP/1.1 keep-alive connection, driven by hyper's low-level client API.
//!
//! Why not reqwest: on a 2-core machine the driver shares the CPU with the server under test, so
//! every microsecond it spends is one the server does not get. A bare `SendRequest` per task has
//! no pool, no redirect or cookie logic, and one connection per task is exactly what we want to
//! model (N clients, each with its own keep-alive connection).

use anyhow::{Context as _, anyhow};
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST, HeaderValue};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use std::net::SocketAddr;
use tokio::net::TcpStream;

/// HTTP Basic client credentials, pre-encoded once.
#[derive(Clone, Debug)]
pub struct BasicAuth(HeaderValue);

impl BasicAuth {
    /// Encodes `client_id:client_secret` (no form-encoding: the demo credentials are plain ASCII,
    /// and keapsake accepts raw values per `oauth.md` §4.1).
    ///
    /// # Errors
    /// If the encoded value is not a valid header value (it always is: base64 is ASCII).
    pub fn new(client_id: &str, client_secret: &str) -> anyhow::Result<Self> {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD
            .encode(format!("{client_id}:{client_secret}"));
        Ok(Self(HeaderValue::from_str(&format!("Basic {b64}"))?))
    }
}

/// The fields of a `/token` success body the driver needs.
#[derive(Debug, Clone, Deserialize)]
pub struct TokenPair {
    /// The new access token.
    pub access_token: String,
    /// The new refresh token: the next request of this chain presents it.
    pub refresh_token: String,
}

/// The form body of a refresh grant.
pub fn refresh_form(refresh_token: &str) -> Bytes {
    Bytes::from(
        form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "refresh_token")
            .append_pair("refresh_token", refresh_token)
            .finish(),
    )
}

/// One open keep-alive connection.
pub struct Conn {
    sender: SendRequest<Full<Bytes>>,
    host: HeaderValue,
}

impl Conn {
    /// Opens a TCP connection (with `TCP_NODELAY`) and performs the HTTP/1.1 handshake.
    ///
    /// # Errors
    /// If the connection is refused or the handshake fails.
    pub async fn connect(addr: SocketAddr) -> anyhow::Result<Self> {
        let stream = TcpStream::connect(addr)
            .await
            .with_context(|| format!("connect {addr}"))?;
        stream.set_nodelay(true)?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            // The connection ends when the server closes it or the sender is dropped; either is
            // reported to the caller through `send_request`.
            let _ = conn.await;
        });
        Ok(Self {
            sender,
            host: HeaderValue::from_str(&addr.to_string())?,
        })
    }

    /// Sends a request and reads the whole response body.
    ///
    /// # Errors
    /// Transport errors (connection closed, reset, refused).
    pub async fn send(
        &mut self,
        method: Method,
        path: &str,
        auth: Option<&HeaderValue>,
        form: Option<Bytes>,
    ) -> anyhow::Result<(StatusCode, Bytes)> {
        let body = form.map(|b| {
            (
                HeaderValue::from_static("application/x-www-form-urlencoded"),
                b,
            )
        });
        self.send_typed(method, path, auth, body).await
    }

    /// Sends a request whose body (if any) has the given content type, and reads the whole
    /// response body.
    ///
    /// # Errors
    /// Transport errors (connection closed, reset, refused).
    pub async fn send_typed(
        &mut self,
        method: Method,
        path: &str,
        auth: Option<&HeaderValue>,
        body: Option<(HeaderValue, Bytes)>,
    ) -> anyhow::Result<(StatusCode, Bytes)> {
        self.sender.ready().await?;
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header(HOST, self.host.clone());
        if let Some(a) = auth {
            req = req.header(AUTHORIZATION, a.clone());
        }
        let body = match body {
            Some((ctype, b)) => {
                req = req.header(CONTENT_TYPE, ctype);
                b
            }
            None => Bytes::new(),
        };
        let req = req
            .body(Full::new(body))
            .map_err(|e| anyhow!("build request: {e}"))?;
        let resp = self.sender.send_request(req).await?;
        let status = resp.status();
        let body = resp.into_body().collect().await?.to_bytes();
        Ok((status, body))
    }

    /// `POST /token` with a refresh grant and Basic client authentication.
    ///
    /// # Errors
    /// Transport errors only; an HTTP error status is returned as `Ok`.
    pub async fn refresh(
        &mut self,
        auth: &BasicAuth,
        refresh_token: &str,
    ) -> anyhow::Result<(StatusCode, Bytes)> {
        self.send(
            Method::POST,
            "/token",
            Some(&auth.0),
            Some(refresh_form(refresh_token)),
        )
        .await
    }

    /// `GET /crm/rest/v1/oauth/connect/userinfo` with a Bearer access token.
    ///
    /// # Errors
    /// Transport errors only.
    pub async fn userinfo(&mut self, access_token: &str) -> anyhow::Result<StatusCode> {
        let bearer = HeaderValue::from_str(&format!("Bearer {access_token}"))?;
        let (status, _) = self
            .send(
                Method::GET,
                "/crm/rest/v1/oauth/connect/userinfo",
                Some(&bearer),
                None,
            )
            .await?;
        Ok(status)
    }
}
