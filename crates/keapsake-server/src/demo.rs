//! The demo sandbox: well-known credentials so README copy-paste works, seeded idempotently,
//! and `GET /demo/callback` (only with [`crate::Config::demo`]) showing the code the demo app
//! received and the curl command that exchanges it.

use crate::oauth::pages::{self, DemoCallbackPage, css_href};
use crate::params::{self, Params};
use crate::state::AppState;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use keapsake_core::oauth::{self, validate_redirect_registration};
use keapsake_core::store::{NewAccount, NewApp, NewUser};
use keapsake_core::{AccountId, AppId, Clock, Store, StoreError, UserId, password};
use keapsake_types::AccountProfile;

/// The demo user's login.
pub const DEMO_EMAIL: &str = "demo@keapsake.test";
/// The demo user's password.
pub const DEMO_PASSWORD: &str = "keapsake-demo";
/// The demo account's alias (Keap app name).
pub const DEMO_ACCOUNT_ALIAS: &str = "demo1";
/// The demo account's business name.
pub const DEMO_ACCOUNT_NAME: &str = "Demo Company";
/// The demo app's client id.
pub const DEMO_CLIENT_ID: &str = "keapsake-demo-app";
/// The demo app's client secret.
pub const DEMO_CLIENT_SECRET: &str = "keapsake-demo-secret";
/// The demo app's display name.
pub const DEMO_APP_NAME: &str = "keapsake Demo App";
/// The loopback redirect URI the CLI's `login` command listens on.
pub const DEMO_LOOPBACK_REDIRECT: &str = "http://127.0.0.1:8765/callback";

/// What [`seed_demo`] made sure exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoSeed {
    /// The demo user.
    pub user_id: UserId,
    /// Its login.
    pub email: String,
    /// Its password.
    pub password: String,
    /// The demo account.
    pub account_id: AccountId,
    /// Its alias.
    pub account_alias: String,
    /// Its business name.
    pub account_name: String,
    /// The demo app.
    pub app_id: AppId,
    /// Its client id.
    pub client_id: String,
    /// Its client secret.
    pub client_secret: String,
    /// Its redirect URIs: `{base_url}demo/callback` (if registrable) and the loopback one.
    pub redirect_uris: Vec<String>,
    /// A ready-made authorize URL for the first redirect URI, with `state=demo`.
    pub authorize_url: String,
}

fn hashing_failed(e: password::HashError) -> StoreError {
    StoreError::Backend(Box::new(e))
}

async fn hash(secret: &'static str) -> Result<String, StoreError> {
    tokio::task::spawn_blocking(move || password::hash_password(secret))
        .await
        .map_err(|e| StoreError::Backend(Box::new(e)))?
        .map_err(hashing_failed)
}

/// Makes sure the demo user, account, membership and app exist, with the well-known
/// credentials. Idempotent: existing rows are reused, the app's redirect URIs are reset to
/// exactly the two demo ones (the port may have changed), and the app's secret is reset only if
/// it no longer verifies.
///
/// # Errors
/// Store failures.
pub async fn seed_demo(
    store: &dyn Store,
    clock: &dyn Clock,
    base_url: &url::Url,
) -> Result<DemoSeed, StoreError> {
    let now = clock.now();
    let user = match store.find_user_by_email(DEMO_EMAIL).await? {
        Some((user, _)) => user,
        None => {
            let created = store
                .create_user(
                    NewUser {
                        email: DEMO_EMAIL.to_owned(),
                        password_hash: hash(DEMO_PASSWORD).await?,
                        given_name: "Demo".to_owned(),
                        family_name: "User".to_owned(),
                    },
                    now,
                )
                .await;
            match created {
                Ok(u) => u,
                // Another node seeded it concurrently.
                Err(StoreError::Conflict { .. }) => store
                    .find_user_by_email(DEMO_EMAIL)
                    .await?
                    .map(|(u, _)| u)
                    .ok_or(StoreError::NotFound)?,
                Err(e) => return Err(e),
            }
        }
    };
    let account = match store.find_account_by_alias(DEMO_ACCOUNT_ALIAS).await? {
        Some(a) => a,
        None => {
            let created = store
                .create_account(
                    NewAccount {
                        alias: DEMO_ACCOUNT_ALIAS.to_owned(),
                        name: DEMO_ACCOUNT_NAME.to_owned(),
                    },
                    now,
                )
                .await;
            match created {
                Ok(a) => a,
                Err(StoreError::Conflict { .. }) => store
                    .find_account_by_alias(DEMO_ACCOUNT_ALIAS)
                    .await?
                    .ok_or(StoreError::NotFound)?,
                Err(e) => return Err(e),
            }
        }
    };
    store.add_member(account.id, user.id, true).await?;
    let profile = store.get_profile(account.id).await?;
    if profile.name.is_none() {
        store
            .put_profile(
                account.id,
                &AccountProfile {
                    name: Some(DEMO_ACCOUNT_NAME.to_owned()),
                    email: Some(DEMO_EMAIL.to_owned()),
                    time_zone: Some("America/New_York".to_owned()),
                    currency_code: Some("USD".to_owned()),
                    language_tag: Some("en-US".to_owned()),
                    ..profile
                },
            )
            .await?;
    }

    let callback = format!("{base_url}demo/callback");
    let mut redirect_uris = Vec::new();
    match validate_redirect_registration(&callback) {
        Ok(()) => redirect_uris.push(callback),
        Err(e) => {
            tracing::warn!(error = %e, "the demo callback cannot be registered; only the loopback redirect is")
        }
    }
    redirect_uris.push(DEMO_LOOPBACK_REDIRECT.to_owned());

    let app = match store.find_app(DEMO_CLIENT_ID).await? {
        Some(app) => {
            store
                .set_app_redirect_uris(DEMO_CLIENT_ID, &redirect_uris)
                .await?;
            let stored = app.secret_hash.clone();
            // The demo secret is published in the README, so no hash can protect it; it is stored
            // in the cheap SHA-256 form (like generated secrets) so that sandbox traffic and the
            // benchmark do not pay Argon2 on every `/token` call. Older seeds are migrated here.
            let still_valid = stored.starts_with("sha256:")
                && oauth::verify_client_secret(DEMO_CLIENT_SECRET, &stored);
            if !still_valid {
                let h = tokio::task::spawn_blocking(|| {
                    oauth::hash_client_secret(DEMO_CLIENT_SECRET, true)
                })
                .await
                .map_err(|e| StoreError::Backend(Box::new(e)))?
                .map_err(hashing_failed)?;
                store.set_app_secret(DEMO_CLIENT_ID, &h).await?;
            }
            app
        }
        None => {
            let secret_hash =
                tokio::task::spawn_blocking(|| oauth::hash_client_secret(DEMO_CLIENT_SECRET, true))
                    .await
                    .map_err(|e| StoreError::Backend(Box::new(e)))?
                    .map_err(hashing_failed)?;
            let created = store
                .create_app(
                    NewApp {
                        client_id: DEMO_CLIENT_ID.to_owned(),
                        secret_hash,
                        name: DEMO_APP_NAME.to_owned(),
                        redirect_uris: redirect_uris.clone(),
                    },
                    now,
                )
                .await;
            match created {
                Ok(app) => app,
                Err(StoreError::Conflict { .. }) => {
                    store
                        .set_app_redirect_uris(DEMO_CLIENT_ID, &redirect_uris)
                        .await?;
                    store
                        .find_app(DEMO_CLIENT_ID)
                        .await?
                        .ok_or(StoreError::NotFound)?
                }
                Err(e) => return Err(e),
            }
        }
    };

    let authorize_url = format!(
        "{base_url}app/oauth/authorize?{}",
        params::encode_pairs([
            ("client_id", DEMO_CLIENT_ID.as_bytes()),
            ("redirect_uri", redirect_uris[0].as_bytes()),
            ("response_type", b"code".as_slice()),
            ("scope", b"full".as_slice()),
            ("state", b"demo".as_slice()),
        ])
    );
    Ok(DemoSeed {
        user_id: user.id,
        email: DEMO_EMAIL.to_owned(),
        password: DEMO_PASSWORD.to_owned(),
        account_id: account.id,
        account_alias: account.alias,
        account_name: account.name,
        app_id: app.id,
        client_id: DEMO_CLIENT_ID.to_owned(),
        client_secret: DEMO_CLIENT_SECRET.to_owned(),
        redirect_uris,
        authorize_url,
    })
}

/// Whether a code looks like one keapsake mints (base64url), so it is safe inside a shell
/// command.
fn looks_like_code(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The curl command exchanging `code` at this server.
pub fn curl_command(base_url: &url::Url, code: &str) -> String {
    format!(
        "curl -s -X POST '{base_url}token' \\\n  -d grant_type=authorization_code \\\n  -d code={code} \\\n  --data-urlencode 'redirect_uri={base_url}demo/callback' \\\n  -d client_id={DEMO_CLIENT_ID} \\\n  -d client_secret={DEMO_CLIENT_SECRET}"
    )
}

/// `GET /demo/callback`.
pub async fn callback(State(state): State<AppState>, uri: Uri) -> Response {
    let p = Params::parse(uri.query().unwrap_or("").as_bytes());
    let text = |name: &str| {
        p.get_bytes(name)
            .map(|b| String::from_utf8_lossy(b).into_owned())
    };
    let code = text("code").filter(|c| looks_like_code(c));
    let error = text("error").map(|e| match text("error_description") {
        Some(d) => format!("{e}: {d}"),
        None => e,
    });
    let curl = code.as_deref().map(|c| curl_command(state.base_url(), c));
    pages::render(
        StatusCode::OK,
        &DemoCallbackPage {
            css_href: css_href(state.base_path()),
            code,
            state: text("state"),
            error,
            curl,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_base64url_codes_reach_the_shell_command() {
        assert!(looks_like_code("AbC-_09"));
        assert!(!looks_like_code("a;rm -rf /"));
        assert!(!looks_like_code("a'b"));
        assert!(!looks_like_code(""));
    }

    #[test]
    fn curl_command_names_the_token_endpoint_and_demo_client() {
        let base = url::Url::parse("http://127.0.0.1:8080/").expect("url");
        let c = curl_command(&base, "abc");
        assert!(c.contains("'http://127.0.0.1:8080/token'"));
        assert!(c.contains("-d code=abc"));
        assert!(c.contains("redirect_uri=http://127.0.0.1:8080/demo/callback"));
        assert!(c.contains("client_secret=keapsake-demo-secret"));
    }
}
