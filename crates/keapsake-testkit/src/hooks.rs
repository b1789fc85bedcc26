//! A local REST hook receiver for tests: records every request it gets (headers and body) and
//! answers according to its [`Mode`].

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};

/// How the receiver answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Mode {
    /// 200, echoing `X-Hook-Secret` when one is sent (the PHP SDK's `autoverify()`).
    Echo = 0,
    /// 200 without echoing the secret (verification fails; deliveries succeed).
    NoEcho = 1,
    /// 500 to everything.
    Fail = 2,
    /// 410 Gone to everything.
    Gone = 3,
}

/// One request received.
#[derive(Debug, Clone)]
pub struct Received {
    /// Request headers.
    pub headers: HeaderMap,
    /// The body parsed as JSON (`Null` when empty or not JSON).
    pub json: serde_json::Value,
    /// Raw body length.
    pub len: usize,
    /// What the receiver answered.
    pub answered: u16,
}

impl Received {
    /// A header as a string.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }
}

#[derive(Clone)]
struct Shared {
    mode: Arc<AtomicU8>,
    log: Arc<Mutex<Vec<Received>>>,
}

/// A running receiver on 127.0.0.1.
pub struct HookReceiver {
    /// `http://127.0.0.1:<port>/hook`.
    pub url: String,
    shared: Shared,
    task: tokio::task::JoinHandle<()>,
}

impl HookReceiver {
    /// Starts a receiver in `mode`.
    ///
    /// # Panics
    /// If no local port can be bound.
    pub async fn start(mode: Mode) -> HookReceiver {
        let shared = Shared {
            mode: Arc::new(AtomicU8::new(mode as u8)),
            log: Arc::default(),
        };
        let app = Router::new()
            .route("/hook", axum::routing::post(receive))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a local port for the hook receiver");
        let addr = listener.local_addr().expect("bound");
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        HookReceiver {
            url: format!("http://{addr}/hook"),
            shared,
            task,
        }
    }

    /// Changes how it answers from now on.
    pub fn set_mode(&self, mode: Mode) {
        self.shared.mode.store(mode as u8, Ordering::SeqCst);
    }

    /// Everything received so far, in arrival order.
    pub fn received(&self) -> Vec<Received> {
        self.shared
            .log
            .lock()
            .map(|l| l.clone())
            .unwrap_or_default()
    }

    /// Event deliveries only (requests without `X-Hook-Secret`), in arrival order.
    pub fn deliveries(&self) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|r| r.header("x-hook-secret").is_none())
            .collect()
    }

    /// Forgets what was received.
    pub fn clear(&self) {
        if let Ok(mut l) = self.shared.log.lock() {
            l.clear();
        }
    }
}

impl Drop for HookReceiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn receive(State(s): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let mode = s.mode.load(Ordering::SeqCst);
    let secret = headers.get("x-hook-secret").cloned();
    let (status, echo) = match mode {
        0 => (StatusCode::OK, secret),
        1 => (StatusCode::OK, None),
        2 => (StatusCode::INTERNAL_SERVER_ERROR, None),
        _ => (StatusCode::GONE, None),
    };
    let json = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
    if let Ok(mut l) = s.log.lock() {
        l.push(Received {
            headers: headers.clone(),
            json,
            len: body.len(),
            answered: status.as_u16(),
        });
    }
    let mut res = status.into_response();
    if let Some(v) = echo {
        res.headers_mut().insert("x-hook-secret", v);
    }
    res
}
