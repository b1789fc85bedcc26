//! Browser sessions for the authorization pages (SECURITY.md §4): server-side rows keyed by the
//! SHA-256 of a 256-bit cookie; idle timeout 30 minutes, absolute 12 hours; a new id at login.
//! A pre-login (anonymous) session exists only to key the login form's CSRF token.

use crate::state::AppState;
use axum::http::{HeaderMap, HeaderValue, header};
use keapsake_core::secret::random_bytes;
use keapsake_core::store::Session;
use keapsake_core::{Secret, StoreResult, UserId};
use time::Duration;

/// Sessions idle longer than this are gone.
pub const IDLE_TIMEOUT: Duration = Duration::minutes(30);
/// Sessions older than this are gone, however busy.
pub const ABSOLUTE_TIMEOUT: Duration = Duration::hours(12);

/// Cookie name over plain http.
pub const COOKIE: &str = "keapsake_session";
/// Cookie name over https: the `__Host-` prefix pins it to our host, `Path=/` and `Secure`.
pub const COOKIE_SECURE: &str = "__Host-keapsake_session";

/// The cookie name for this server.
pub fn cookie_name(state: &AppState) -> &'static str {
    if state.web.secure_cookies {
        COOKIE_SECURE
    } else {
        COOKIE
    }
}

/// The session cookie's value, if the request carries one.
pub fn read_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.trim().to_owned())
}

/// A live session as loaded for a request.
#[derive(Debug, Clone)]
pub struct Current {
    /// The stored row.
    pub session: Session,
}

impl Current {
    /// The signed-in user, if any.
    pub fn user(&self) -> Option<UserId> {
        self.session.user_id
    }
}

/// Loads the request's session. Expired sessions are deleted and reported as absent.
///
/// # Errors
/// Store failures.
pub async fn load(state: &AppState, headers: &HeaderMap) -> StoreResult<Option<Current>> {
    let Some(value) = read_cookie(headers, cookie_name(state)) else {
        return Ok(None);
    };
    if value.is_empty() {
        return Ok(None);
    }
    let hash = Secret::new(value).hash();
    let Some(session) = state.store.get_session(&hash).await? else {
        return Ok(None);
    };
    let now = state.clock.now();
    if now - session.last_seen_at > IDLE_TIMEOUT || now - session.created_at > ABSOLUTE_TIMEOUT {
        state.store.delete_session(&hash).await?;
        return Ok(None);
    }
    Ok(Some(Current { session }))
}

/// Records activity (idle timeout).
///
/// # Errors
/// Store failures.
pub async fn touch(state: &AppState, current: &Current) -> StoreResult<()> {
    state
        .store
        .touch_session(&current.session.id_hash, state.clock.now())
        .await
}

/// Creates a session (anonymous when `user` is `None`) and returns it with its `Set-Cookie`.
///
/// # Errors
/// Store failures.
pub async fn create(state: &AppState, user: Option<UserId>) -> StoreResult<(Current, HeaderValue)> {
    let id = Secret::generate();
    let now = state.clock.now();
    let session = Session {
        id_hash: id.hash(),
        user_id: user,
        csrf_key: random_bytes::<32>().to_vec(),
        created_at: now,
        last_seen_at: now,
    };
    state.store.create_session(session.clone()).await?;
    Ok((Current { session }, set_cookie(state, Some(&id))))
}

/// `Set-Cookie` for a session id, or one that clears the cookie when `id` is `None`.
pub fn set_cookie(state: &AppState, id: Option<&Secret>) -> HeaderValue {
    let secure = if state.web.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    let (value, max_age) = match id {
        Some(id) => (id.expose(), ABSOLUTE_TIMEOUT.whole_seconds()),
        None => ("", 0),
    };
    let cookie = format!(
        "{}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}",
        cookie_name(state)
    );
    HeaderValue::from_str(&cookie)
        .expect("a base64url session id and fixed attributes form a valid header value")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_named_cookie_among_others() {
        let mut h = HeaderMap::new();
        h.append(
            header::COOKIE,
            HeaderValue::from_static("a=1; keapsake_session=abc"),
        );
        h.append(header::COOKIE, HeaderValue::from_static("b=2"));
        assert_eq!(read_cookie(&h, COOKIE).as_deref(), Some("abc"));
        assert_eq!(read_cookie(&h, COOKIE_SECURE), None);
        assert_eq!(read_cookie(&h, "b").as_deref(), Some("2"));
    }
}
