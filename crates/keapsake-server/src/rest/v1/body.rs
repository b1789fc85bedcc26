//! Keep-alive after an answer that did not read the request body.
//!
//! Some v1 answers are decided before the body is read: a credential rejection (401), a path id
//! that is not an int64 (400), a deliberate 501. hyper then finds unread body bytes when the
//! response is written; if they have not all arrived yet it closes the connection (without a
//! `Connection: close`), so a client that reuses it — `requests` sessions, Guzzle's pool, the
//! refresh-and-retry after a 401 — sees its *next* request fail with a reset or broken pipe.
//! [`drain_unread_body`] hands the handler a body it reads through a shared slot; once the
//! response is ready, whatever the handler left unread is read and discarded (bounded by
//! [`DRAIN_LIMIT`] and [`DRAIN_TIMEOUT`]) before the response goes out, so the connection stays
//! usable; a body that cannot be drained gets `Connection: close` on the response. A request
//! that asked for `100-continue` and whose body was never read is not drained: the client has
//! not sent it and should not be asked to.

use crate::extract::JSON_LIMIT;
use axum::body::{Body, BodyDataStream, Bytes};
use axum::extract::Request;
use axum::http::HeaderValue;
use axum::http::header::{CONNECTION, EXPECT};
use axum::middleware::Next;
use axum::response::Response;
use futures_util::{Stream, StreamExt};
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

/// How much of an unread body is read and discarded: four times the REST body limit, so a
/// client that sent a body somewhat over the limit gets its 413 instead of a broken pipe.
pub const DRAIN_LIMIT: usize = 4 * JSON_LIMIT;

/// How long draining an unread body may delay a response.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(2);

/// The request body, readable by the handler and afterwards by the middleware.
#[derive(Clone)]
struct Shared {
    inner: Arc<Mutex<Option<BodyDataStream>>>,
    /// Whether the handler polled the body at all.
    polled: Arc<std::sync::atomic::AtomicBool>,
}

impl Stream for Shared {
    type Item = Result<Bytes, axum::Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.polled
            .store(true, std::sync::atomic::Ordering::Relaxed);
        let mut slot = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        match slot.as_mut() {
            Some(stream) => stream.poll_next_unpin(cx),
            None => Poll::Ready(None),
        }
    }
}

/// Middleware: see the module documentation.
pub async fn drain_unread_body(req: Request, next: Next) -> Response {
    let expects_continue = req.headers().contains_key(EXPECT);
    let (parts, body) = req.into_parts();
    let shared = Shared {
        inner: Arc::new(Mutex::new(Some(body.into_data_stream()))),
        polled: Arc::default(),
    };
    let response = next
        .run(Request::from_parts(
            parts,
            Body::from_stream(shared.clone()),
        ))
        .await;
    let polled = shared.polled.load(std::sync::atomic::Ordering::Relaxed);
    let rest = shared
        .inner
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take();
    let mut response = response;
    if let Some(mut rest) = rest
        && (polled || !expects_continue)
    {
        // Whether the whole body was read: only then can the connection carry another request.
        let drain = async {
            let mut seen = 0usize;
            loop {
                match rest.next().await {
                    None => return true,
                    Some(Err(_)) => return false,
                    Some(Ok(chunk)) => {
                        seen = seen.saturating_add(chunk.len());
                        if seen > DRAIN_LIMIT {
                            return false;
                        }
                    }
                }
            }
        };
        // Past the limit or the timeout hyper closes the connection; say so, or a client that
        // pools connections sends its next request on a closed one.
        let drained = tokio::time::timeout(DRAIN_TIMEOUT, drain)
            .await
            .unwrap_or(false);
        if !drained {
            response
                .headers_mut()
                .insert(CONNECTION, HeaderValue::from_static("close"));
        }
    }
    response
}
