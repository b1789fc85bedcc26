//! Client authentication for `/token`, `/oauth/revoke` and `/oauth/introspect`
//! (`keap/oauth.md` §4.1): form-body credentials or HTTP Basic, on every grant. When both are
//! sent they must agree. Unknown client, wrong secret, missing secret and disabled app all give
//! the same 401 `invalid_client`, after the same Argon2 work; too many of them from one address
//! give 429 (SECURITY.md §9).

use crate::error::OAuthError;
use crate::extract::{Basic, basic_credentials};
use crate::params::Params;
use crate::state::AppState;
use crate::throttle::{ClientIp, Guard, Refused};
use axum::http::HeaderMap;
use keapsake_core::oauth;
use keapsake_core::password;
use keapsake_core::secret::ct_eq_bytes;
use keapsake_core::store::App;

/// Credential candidates, in the order they are tried.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Presented {
    /// `(client_id, client_secret)` pairs: Basic's decoded form, then its raw form if different;
    /// or the body's pair.
    pub candidates: Vec<(String, String)>,
    /// Whether Basic was used (401s then carry `WWW-Authenticate`).
    pub basic: bool,
}

/// Works out which credentials a request presents (pure; unit-tested).
///
/// # Errors
/// `invalid_client` when none are present or Basic is malformed; `invalid_request` when body
/// and Basic disagree.
pub(crate) fn presented(headers: &HeaderMap, form: &Params) -> Result<Presented, OAuthError> {
    let body_id = form
        .get_nonempty("client_id")
        .map_err(|_| OAuthError::invalid_request("client_id is not valid UTF-8"))?;
    let body_secret = form
        .get_nonempty("client_secret")
        .map_err(|_| OAuthError::invalid_request("client_secret is not valid UTF-8"))?;
    match basic_credentials(headers) {
        Basic::Malformed => Err(OAuthError::invalid_client(true)),
        Basic::Present(b) => {
            let same = |x: &str, (d, r): (&str, &str)| {
                ct_eq_bytes(x.as_bytes(), d.as_bytes()) || ct_eq_bytes(x.as_bytes(), r.as_bytes())
            };
            let id_ok = body_id.is_none_or(|id| same(id, (&b.decoded.0, &b.raw.0)));
            let secret_ok = body_secret.is_none_or(|s| same(s, (&b.decoded.1, &b.raw.1)));
            if !(id_ok && secret_ok) {
                return Err(OAuthError::invalid_request(
                    "Client credentials in the Authorization header and the body disagree",
                ));
            }
            let mut candidates = vec![b.decoded.clone()];
            if b.raw != b.decoded {
                candidates.push(b.raw);
            }
            Ok(Presented {
                candidates,
                basic: true,
            })
        }
        Basic::Absent => match (body_id, body_secret) {
            (Some(id), secret) => Ok(Presented {
                candidates: vec![(id.to_owned(), secret.unwrap_or("").to_owned())],
                basic: false,
            }),
            (None, _) => Err(OAuthError::invalid_client(false)),
        },
    }
}

/// Authenticates the client.
///
/// Failures are limited per (client id, IP) and per IP (SECURITY.md §9, [`crate::throttle`]):
/// when the check would cost Argon2 (an operator-chosen secret, or an unknown client, which costs
/// the same dummy verification), the limit is checked and the attempt reserved before the work;
/// a generated secret (SHA-256) is verified first and the limit consulted only after it failed.
///
/// # Errors
/// 401 `invalid_client` (with a Basic challenge when Basic was used), `invalid_request` for
/// disagreeing credentials, 429 `invalid_request` with `Retry-After` after too many failures,
/// or a store failure.
pub async fn authenticate(
    state: &AppState,
    ip: &ClientIp,
    headers: &HeaderMap,
    form: &Params,
) -> Result<App, OAuthError> {
    let presented = presented(headers, form)?;
    let client_id = presented
        .candidates
        .first()
        .map_or("", |(id, _)| id.as_str());
    let guard = Guard::client(ip, client_id);
    let mut found: Vec<(App, String)> = Vec::with_capacity(presented.candidates.len());
    for (id, secret) in &presented.candidates {
        if let Some(app) = state.store.find_app(id).await? {
            found.push((app, secret.clone()));
        }
    }
    // Generated secrets (256 bits) are stored as SHA-256: verifying is one hash and a
    // constant-time compare, cheaper than a trip to the blocking pool. Operator-chosen secrets
    // are Argon2id and go to the bounded hashing pool; so does an unknown client, for the same
    // cost as a wrong secret.
    let argon2 = found.is_empty()
        || found
            .iter()
            .any(|(app, secret)| !secret.is_empty() && !app.secret_hash.starts_with("sha256:"));
    let attempt = if argon2 {
        Some(guard.clone().begin(state).await.map_err(refused)?)
    } else {
        None
    };
    if found.is_empty() {
        state
            .blocking_hash(|| password::verify_password("", password::dummy_hash()))
            .await;
    }
    for (app, secret) in found {
        if secret.is_empty() {
            continue;
        }
        let stored = app.secret_hash.clone();
        let ok = if stored.starts_with("sha256:") {
            oauth::verify_client_secret(&secret, &stored)
        } else {
            state
                .blocking_hash(move || oauth::verify_client_secret(&secret, &stored))
                .await
        };
        if ok && app.enabled {
            if let Some(attempt) = attempt {
                attempt.succeeded(state).await;
            }
            return Ok(app);
        }
    }
    if attempt.is_none() {
        guard.failed(state).await.map_err(refused)?;
    }
    Err(OAuthError::invalid_client(presented.basic))
}

/// A refused attempt as the token endpoint answers it.
fn refused(r: Refused) -> OAuthError {
    match r {
        Refused::Wait(secs) => {
            tracing::info!(retry_after = secs, "client authentication throttled");
            OAuthError::too_many_attempts(secs)
        }
        Refused::Store(e) => e.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use base64::Engine as _;

    fn basic(id_secret: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        let v = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(id_secret)
        );
        h.insert(
            axum::http::header::AUTHORIZATION,
            HeaderValue::from_str(&v).expect("value"),
        );
        h
    }

    #[test]
    fn body_credentials_alone() {
        let p = presented(
            &HeaderMap::new(),
            &Params::parse(b"client_id=a&client_secret=s"),
        )
        .expect("presented");
        assert_eq!(p.candidates, vec![("a".into(), "s".into())]);
        assert!(!p.basic);
    }

    #[test]
    fn nothing_is_invalid_client_without_a_challenge() {
        let e = presented(&HeaderMap::new(), &Params::parse(b"grant_type=x")).expect_err("none");
        assert_eq!(e.error, "invalid_client");
        assert!(!e.basic_challenge);
    }

    #[test]
    fn basic_with_agreeing_body_id_is_fine_and_disagreeing_is_invalid_request() {
        let p = presented(&basic("a:s"), &Params::parse(b"client_id=a")).expect("agree");
        assert!(p.basic);
        let e = presented(&basic("a:s"), &Params::parse(b"client_id=b")).expect_err("disagree");
        assert_eq!(e.error, "invalid_request");
        let e = presented(
            &basic("a:s"),
            &Params::parse(b"client_id=a&client_secret=t"),
        )
        .expect_err("disagree");
        assert_eq!(e.error, "invalid_request");
    }

    #[test]
    fn basic_tries_the_decoded_then_the_raw_form() {
        let p = presented(&basic("a:s%2Bt"), &Params::default()).expect("basic");
        assert_eq!(
            p.candidates,
            vec![("a".into(), "s+t".into()), ("a".into(), "s%2Bt".into())]
        );
    }
}
