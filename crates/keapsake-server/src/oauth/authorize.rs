//! `GET`/`POST /app/oauth/authorize` and `POST /app/oauth/logout` (`keap/oauth.md` §3,
//! SECURITY.md §1 and §4).
//!
//! The query string *is* the pending request: every page's form posts back to the same URL with
//! the original query, and every request (GET or POST) re-validates it, `client_id` then
//! `redirect_uri` first. Until both are trusted, errors are 400 HTML pages; afterwards they are
//! 302 redirects to the client carrying `error`, `error_description` and `state`.
//!
//! Steps: no signed-in session → login page → (new session id) → account chooser when the user
//! has two or more accounts → consent page → Allow issues a code, Deny answers `access_denied`.

use crate::extract::{FORM_LIMIT, read_body};
use crate::oauth::pages::{
    self, AccountChoice, ChooseAccountPage, ConsentPage, LoginPage, PageError, css_href,
};
use crate::oauth::session::{self, Current};
use crate::params::{self, Params};
use crate::state::AppState;
use crate::throttle::{ClientIp, Guard, Refused};
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use keapsake_core::oauth::{self, PkceMethod, SCOPE_FULL};
use keapsake_core::store::{App, Membership, NewCode};
use keapsake_core::{AccountId, Secret, StoreError, UserId, csrf, password};

/// Form purposes, each with its own CSRF token.
const LOGIN: &str = "login";
const CHOOSE: &str = "choose";
const CONSENT: &str = "consent";
const LOGOUT: &str = "logout";

/// A validated authorization request.
#[derive(Debug, Clone)]
pub struct AuthorizeRequest {
    /// The client (enabled).
    pub app: App,
    /// The redirect URI, byte-equal to a registered one.
    pub redirect_uri: String,
    /// `state` exactly as decoded from the query, if present (even empty).
    pub state: Option<Vec<u8>>,
    /// PKCE challenge and method, if sent.
    pub pkce: Option<(String, PkceMethod)>,
    /// The raw query string: the pending request, and the CSRF context.
    pub raw_query: String,
}

/// A 302 to `redirect_uri` with `pairs` appended to its query (`&` if it already has one).
/// 302, never 307/308: a 307 would replay the login or consent POST to the client.
fn redirect_to_client(redirect_uri: &str, pairs: &[(&str, &[u8])]) -> Response {
    let sep = if redirect_uri.ends_with('?') || redirect_uri.ends_with('&') {
        ""
    } else if redirect_uri.contains('?') {
        "&"
    } else {
        "?"
    };
    let location = format!(
        "{redirect_uri}{sep}{}",
        params::encode_pairs(pairs.iter().copied())
    );
    match HeaderValue::from_bytes(location.as_bytes()) {
        Ok(v) => {
            let mut res = StatusCode::FOUND.into_response();
            res.headers_mut().insert(header::LOCATION, v);
            res.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            res
        }
        Err(_) => PageError::internal().into_response(),
    }
}

/// An error redirect (RFC 6749 §4.1.2.1).
fn error_redirect(
    redirect_uri: &str,
    state: Option<&[u8]>,
    error: &str,
    description: &str,
) -> Response {
    let mut pairs: Vec<(&str, &[u8])> = vec![
        ("error", error.as_bytes()),
        ("error_description", description.as_bytes()),
    ];
    if let Some(s) = state {
        pairs.push(("state", s));
    }
    redirect_to_client(redirect_uri, &pairs)
}

/// The redirect for a store failure after validation (`keap/oauth.md` §3.3).
fn failure_redirect(req: &AuthorizeRequest, e: StoreError) -> Response {
    let (error, description) = match e {
        StoreError::Busy(_) => ("temporarily_unavailable", "The server is busy; try again"),
        _ => ("server_error", "The server could not complete the request"),
    };
    tracing::error!(error = %e, "store failure during authorization");
    error_redirect(&req.redirect_uri, req.state.as_deref(), error, description)
}

fn bad_client(base_path: &str, message: &'static str) -> Response {
    PageError::new(
        StatusCode::BAD_REQUEST,
        "This sign-in link is not valid",
        message,
    )
    .with_base(base_path)
    .into_response()
}

/// Validates the query. `Err` is the response to send: a 400 page until `client_id` and
/// `redirect_uri` are trusted, a 302 error redirect afterwards.
pub async fn validate(state: &AppState, raw_query: &str) -> Result<AuthorizeRequest, Response> {
    let base = state.base_path();
    let p = Params::parse(raw_query.as_bytes());

    // 1. client_id: present once, known, enabled (a disabled app looks unknown).
    let client_id = match (p.count("client_id"), p.get("client_id")) {
        (1, Ok(Some(id))) if !id.is_empty() => id,
        (0, _) | (1, Ok(Some(_))) => {
            return Err(bad_client(
                base,
                "The request does not name an application (client_id is missing).",
            ));
        }
        _ => {
            return Err(bad_client(
                base,
                "The request names its application (client_id) more than once or in an invalid form.",
            ));
        }
    };
    let app = match state.store.find_app(client_id).await {
        Ok(Some(app)) if app.enabled => app,
        Ok(_) => {
            return Err(bad_client(
                base,
                "The application (client_id) is not registered with keapsake.",
            ));
        }
        Err(e) => {
            tracing::error!(error = %e, "store failure looking up a client");
            return Err(PageError::internal().with_base(base).into_response());
        }
    };

    // 2. redirect_uri: present once and byte-equal to a registered one. Never echoed.
    let redirect_uri = match (p.count("redirect_uri"), p.get("redirect_uri")) {
        (1, Ok(Some(uri))) if oauth::redirect_matches(&app.redirect_uris, uri) => uri.to_owned(),
        (0, _) => {
            return Err(bad_client(
                base,
                "The request does not say where to return to (redirect_uri is missing).",
            ));
        }
        _ => {
            return Err(bad_client(
                base,
                "The return address (redirect_uri) is not registered for this application.",
            ));
        }
    };

    // Trusted from here on: errors go back to the client.
    let st = p.get_bytes("state").map(<[u8]>::to_vec);
    let fail = |error: &str, description: &str| {
        error_redirect(&redirect_uri, st.as_deref(), error, description)
    };

    if p.first_repeated().is_some() {
        return Err(fail("invalid_request", "A parameter is repeated"));
    }
    match p.get_nonempty("response_type") {
        Ok(None) | Ok(Some("code")) => {}
        _ => {
            return Err(fail(
                "unsupported_response_type",
                "Only response_type=code is supported",
            ));
        }
    }
    match p.get("scope") {
        Ok(scope) if oauth::scope_is_acceptable(scope) => {}
        _ => return Err(fail("invalid_scope", "The only scope is full")),
    }
    let (Ok(challenge), Ok(method)) = (
        p.get_nonempty("code_challenge"),
        p.get_nonempty("code_challenge_method"),
    ) else {
        return Err(fail("invalid_request", "Malformed PKCE parameters"));
    };
    let pkce = match (challenge, method) {
        (None, None) => None,
        (None, Some(_)) => {
            return Err(fail(
                "invalid_request",
                "code_challenge_method was sent without code_challenge",
            ));
        }
        (Some(challenge), method) => {
            let Ok(method) = PkceMethod::parse(method) else {
                return Err(fail(
                    "invalid_request",
                    "code_challenge_method must be S256 or plain",
                ));
            };
            if !oauth::is_pkce_string(challenge) {
                return Err(fail("invalid_request", "Malformed code_challenge"));
            }
            Some((challenge.to_owned(), method))
        }
    };

    Ok(AuthorizeRequest {
        app,
        redirect_uri,
        state: st,
        pkce,
        raw_query: raw_query.to_owned(),
    })
}

/// `{base}app/oauth/authorize?{query}`: the form action and post-login redirect.
fn authorize_path(state: &AppState, raw_query: &str) -> String {
    format!("{}app/oauth/authorize?{raw_query}", state.base_path())
}

fn logout_path(state: &AppState, raw_query: &str) -> String {
    format!("{}app/oauth/logout?{raw_query}", state.base_path())
}

fn with_cookie(mut res: Response, cookie: Option<HeaderValue>) -> Response {
    if let Some(c) = cookie {
        res.headers_mut().append(header::SET_COOKIE, c);
    }
    res
}

fn login_page(
    state: &AppState,
    req: &AuthorizeRequest,
    current: &Current,
    email: &str,
    error: Option<&str>,
) -> Response {
    pages::render(
        StatusCode::OK,
        &LoginPage {
            css_href: css_href(state.base_path()),
            action: authorize_path(state, &req.raw_query),
            csrf_token: csrf::token(&current.session.csrf_key, LOGIN, &req.raw_query),
            app_name: req.app.name.clone(),
            email: email.to_owned(),
            error: error.map(str::to_owned),
        },
    )
}

fn consent_page(
    state: &AppState,
    req: &AuthorizeRequest,
    current: &Current,
    user_email: &str,
    membership: &Membership,
) -> Response {
    let key = &current.session.csrf_key;
    // Scheme, host and port: enough for the user to recognise where they will land.
    let redirect_host = url::Url::parse(&req.redirect_uri)
        .ok()
        .map(|u| u.origin().ascii_serialization())
        .filter(|o| o != "null")
        .unwrap_or_else(|| req.redirect_uri.clone());
    pages::render(
        StatusCode::OK,
        &ConsentPage {
            css_href: css_href(state.base_path()),
            action: authorize_path(state, &req.raw_query),
            csrf_token: csrf::token(key, CONSENT, &req.raw_query),
            app_name: req.app.name.clone(),
            client_id: req.app.client_id.clone(),
            user_email: user_email.to_owned(),
            account_id: membership.account.id.0,
            account_name: membership.account.name.clone(),
            account_host: format!("{}.{}", membership.account.alias, state.config.app_domain),
            redirect_host,
            logout_action: logout_path(state, &req.raw_query),
            logout_csrf_token: csrf::token(key, LOGOUT, &req.raw_query),
        },
    )
}

/// After sign-in: choose an account (two or more), go straight to consent (one), or explain
/// (none).
async fn account_step(
    state: &AppState,
    req: &AuthorizeRequest,
    current: &Current,
    user: UserId,
) -> Result<Response, StoreError> {
    let user_row = state.store.get_user(user).await?;
    let mut memberships = state.store.memberships(user).await?;
    match memberships.len() {
        0 => Ok(PageError::new(
            StatusCode::FORBIDDEN,
            "No Keap account to connect",
            format!(
                "You are signed in as {}, but you are not a member of any account, so there is \
                 nothing {} could be given access to. Ask an administrator to add you to an account.",
                user_row.email, req.app.name
            ),
        )
        .with_base(state.base_path())
        .into_response()),
        1 => {
            let only = memberships.remove(0);
            Ok(consent_page(state, req, current, &user_row.email, &only))
        }
        _ => {
            let key = &current.session.csrf_key;
            Ok(pages::render(
                StatusCode::OK,
                &ChooseAccountPage {
                    css_href: css_href(state.base_path()),
                    action: authorize_path(state, &req.raw_query),
                    csrf_token: csrf::token(key, CHOOSE, &req.raw_query),
                    app_name: req.app.name.clone(),
                    user_email: user_row.email,
                    accounts: memberships
                        .into_iter()
                        .map(|m| AccountChoice {
                            id: m.account.id.0,
                            alias: m.account.alias,
                            name: m.account.name,
                        })
                        .collect(),
                    logout_action: logout_path(state, &req.raw_query),
                    logout_csrf_token: csrf::token(key, LOGOUT, &req.raw_query),
                },
            ))
        }
    }
}

/// `GET /app/oauth/authorize`.
pub async fn get(State(state): State<AppState>, headers: HeaderMap, uri: Uri) -> Response {
    let raw_query = uri.query().unwrap_or("");
    let req = match validate(&state, raw_query).await {
        Ok(r) => r,
        Err(res) => return res,
    };
    show(&state, &req, &headers)
        .await
        .unwrap_or_else(|e| failure_redirect(&req, e))
}

async fn show(
    state: &AppState,
    req: &AuthorizeRequest,
    headers: &HeaderMap,
) -> Result<Response, StoreError> {
    match session::load(state, headers).await? {
        Some(current) => match current.user() {
            Some(user) => {
                session::touch(state, &current).await?;
                account_step(state, req, &current, user).await
            }
            None => Ok(login_page(state, req, &current, "", None)),
        },
        None => {
            let (current, cookie) = session::create(state, None).await?;
            Ok(with_cookie(
                login_page(state, req, &current, "", None),
                Some(cookie),
            ))
        }
    }
}

/// Whether a form post may come from this `Origin` (SECURITY.md §4): absent, `null`, our own
/// origin, or the origin the request itself addressed. `Sec-Fetch-Site: cross-site` never.
pub fn origin_allowed(state: &AppState, headers: &HeaderMap) -> bool {
    if headers
        .get("sec-fetch-site")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"cross-site"))
    {
        return false;
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    if origin == "null" || origin.eq_ignore_ascii_case(&state.web.origin) {
        return true;
    }
    // The host the browser addressed: a cross-site attacker cannot make the victim's browser
    // send our Host with their Origin, so `scheme://Host` is same-origin by construction.
    let forwarded = |name: &str| {
        state
            .config
            .trust_forwarded
            .then(|| headers.get(name).and_then(|v| v.to_str().ok()))
            .flatten()
            .and_then(|v| v.split(',').next())
            .map(str::trim)
    };
    let scheme = forwarded("x-forwarded-proto").unwrap_or(state.web.base_url.scheme());
    let host = forwarded("x-forwarded-host")
        .or_else(|| headers.get(header::HOST).and_then(|v| v.to_str().ok()));
    host.is_some_and(|h| origin.eq_ignore_ascii_case(&format!("{scheme}://{h}")))
}

fn forbidden(state: &AppState) -> Response {
    PageError::forbidden()
        .with_base(state.base_path())
        .into_response()
}

/// Checks Origin, reads the form, loads the session and verifies the CSRF token for `purpose`
/// (taken from the form's `form` field when `purpose` is `None`). `Err` is a 403/400/413 page.
async fn verified_form(
    state: &AppState,
    headers: &HeaderMap,
    raw_query: &str,
    body: Body,
    purpose: Option<&'static str>,
) -> Result<(Params, Current, &'static str), Response> {
    if !origin_allowed(state, headers) {
        return Err(forbidden(state));
    }
    let Some(bytes) = read_body(body, FORM_LIMIT).await else {
        return Err(PageError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Form too large",
            "The form you submitted is larger than keapsake accepts.",
        )
        .with_base(state.base_path())
        .into_response());
    };
    let form = Params::parse(&bytes);
    if form.first_repeated().is_some() {
        return Err(PageError::new(
            StatusCode::BAD_REQUEST,
            "Malformed form",
            "The form you submitted repeats a field.",
        )
        .with_base(state.base_path())
        .into_response());
    }
    let purpose = match purpose {
        Some(p) => p,
        None => match form.get("form") {
            Ok(Some("login")) => LOGIN,
            Ok(Some("choose")) => CHOOSE,
            Ok(Some("consent")) => CONSENT,
            _ => return Err(forbidden(state)),
        },
    };
    let current = match session::load(state, headers).await {
        Ok(Some(c)) => c,
        Ok(None) => return Err(forbidden(state)),
        Err(e) => {
            tracing::error!(error = %e, "store failure loading a session");
            return Err(PageError::internal()
                .with_base(state.base_path())
                .into_response());
        }
    };
    let token = match form.get("csrf_token") {
        Ok(Some(t)) => t,
        _ => return Err(forbidden(state)),
    };
    if !csrf::verify(&current.session.csrf_key, purpose, raw_query, token) {
        return Err(forbidden(state));
    }
    Ok((form, current, purpose))
}

/// `POST /app/oauth/authorize`: the login, account-choice and consent forms.
pub async fn post(
    State(state): State<AppState>,
    ip: ClientIp,
    headers: HeaderMap,
    uri: Uri,
    body: Body,
) -> Response {
    let raw_query = uri.query().unwrap_or("");
    let req = match validate(&state, raw_query).await {
        Ok(r) => r,
        Err(res) => return res,
    };
    let (form, current, purpose) =
        match verified_form(&state, &headers, raw_query, body, None).await {
            Ok(v) => v,
            Err(res) => return res,
        };
    let result = match (purpose, current.user()) {
        (LOGIN, _) => login(&state, &ip, &req, &current, &form).await,
        (CHOOSE, Some(user)) => choose(&state, &req, &current, user, &form).await,
        (CONSENT, Some(user)) => consent(&state, &req, user, &form).await,
        // A choose/consent post on a session that is not signed in: it cannot carry a valid
        // token (we never mint one for such a session), but refuse explicitly anyway.
        _ => Ok(forbidden(&state)),
    };
    result.unwrap_or_else(|e| failure_redirect(&req, e))
}

/// The login form. Unknown user and wrong password cost the same Argon2 verification and get
/// the same page (SECURITY.md §4). Failures are limited per (e-mail, IP) and per IP before any
/// of that work (SECURITY.md §9): over the limit the form comes back with 429 and `Retry-After`,
/// whatever the password.
async fn login(
    state: &AppState,
    ip: &ClientIp,
    req: &AuthorizeRequest,
    current: &Current,
    form: &Params,
) -> Result<Response, StoreError> {
    let email = form.get("email").ok().flatten().unwrap_or("").trim();
    let password = form.get("password").ok().flatten().unwrap_or("").to_owned();
    let attempt = match Guard::login(ip, email).begin(state).await {
        Ok(attempt) => attempt,
        Err(Refused::Wait(secs)) => {
            tracing::info!(retry_after = secs, "sign-in throttled");
            let mut res = login_page(
                state,
                req,
                current,
                email,
                Some(&format!(
                    "Too many failed sign-in attempts. Wait {}, then try again.",
                    crate::throttle::seconds_text(secs)
                )),
            );
            *res.status_mut() = StatusCode::TOO_MANY_REQUESTS;
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
            return Ok(res);
        }
        Err(Refused::Store(e)) => return Err(e),
    };
    let found = if email.is_empty() {
        None
    } else {
        state.store.find_user_by_email(email).await?
    };
    let (user, hash) = match found {
        Some((user, hash)) => (Some(user), hash),
        None => (None, password::dummy_hash().to_owned()),
    };
    let verified = state
        .blocking_hash(move || password::verify_password(&password, &hash))
        .await;
    let Some(user) = user.filter(|_| verified) else {
        // The attempt's reservation stays: it is this failure.
        drop(attempt);
        tracing::info!("failed sign-in");
        return Ok(login_page(
            state,
            req,
            current,
            email,
            Some("The e-mail address or password is incorrect."),
        ));
    };
    attempt.succeeded(state).await;
    // A new session id at login: the pre-login cookie never reaches consent.
    state.store.delete_session(&current.session.id_hash).await?;
    let (_, cookie) = session::create(state, Some(user.id)).await?;
    tracing::info!(user = user.id.0, "signed in");
    let mut res = StatusCode::SEE_OTHER.into_response();
    if let Ok(loc) = HeaderValue::from_str(&authorize_path(state, &req.raw_query)) {
        res.headers_mut().insert(header::LOCATION, loc);
    }
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(with_cookie(res, Some(cookie)))
}

/// The posted `account_id`, re-checked for membership.
async fn posted_membership(
    state: &AppState,
    user: UserId,
    form: &Params,
) -> Result<Result<Membership, Response>, StoreError> {
    let Some(id) = form
        .get("account_id")
        .ok()
        .flatten()
        .and_then(|s| s.trim().parse::<i64>().ok())
    else {
        return Ok(Err(PageError::new(
            StatusCode::BAD_REQUEST,
            "Choose an account",
            "No account was chosen. Go back and pick one.",
        )
        .with_base(state.base_path())
        .into_response()));
    };
    match state.store.membership(AccountId(id), user).await? {
        Some(m) => Ok(Ok(m)),
        None => Ok(Err(PageError::new(
            StatusCode::FORBIDDEN,
            "Not your account",
            "You do not have access to that account.",
        )
        .with_base(state.base_path())
        .into_response())),
    }
}

async fn choose(
    state: &AppState,
    req: &AuthorizeRequest,
    current: &Current,
    user: UserId,
    form: &Params,
) -> Result<Response, StoreError> {
    session::touch(state, current).await?;
    let membership = match posted_membership(state, user, form).await? {
        Ok(m) => m,
        Err(res) => return Ok(res),
    };
    let user_row = state.store.get_user(user).await?;
    Ok(consent_page(
        state,
        req,
        current,
        &user_row.email,
        &membership,
    ))
}

async fn consent(
    state: &AppState,
    req: &AuthorizeRequest,
    user: UserId,
    form: &Params,
) -> Result<Response, StoreError> {
    match form.get("decision") {
        Ok(Some("allow")) => {}
        Ok(Some("deny")) => {
            tracing::info!(client = %req.app.client_id, "user denied access");
            return Ok(error_redirect(
                &req.redirect_uri,
                req.state.as_deref(),
                "access_denied",
                "The user denied access",
            ));
        }
        _ => {
            return Ok(PageError::new(
                StatusCode::BAD_REQUEST,
                "Allow or deny",
                "The form did not say whether to allow access.",
            )
            .with_base(state.base_path())
            .into_response());
        }
    }
    let membership = match posted_membership(state, user, form).await? {
        Ok(m) => m,
        Err(res) => return Ok(res),
    };
    let code = Secret::generate();
    let now = state.clock.now();
    let (code_challenge, code_challenge_method) = match &req.pkce {
        Some((c, m)) => (Some(c.clone()), Some(m.as_str().to_owned())),
        None => (None, None),
    };
    state
        .store
        .insert_code(NewCode {
            hash: code.hash(),
            app_id: req.app.id,
            user_id: user,
            account_id: membership.account.id,
            redirect_uri: req.redirect_uri.clone(),
            scope: SCOPE_FULL.to_owned(),
            code_challenge,
            code_challenge_method,
            created_at: now,
            expires_at: now + state.config.lifetimes.code,
        })
        .await?;
    tracing::info!(client = %req.app.client_id, account = membership.account.id.0, "code issued");
    let mut pairs: Vec<(&str, &[u8])> = vec![("code", code.expose().as_bytes())];
    if let Some(s) = &req.state {
        pairs.push(("state", s));
    }
    Ok(redirect_to_client(&req.redirect_uri, &pairs))
}

/// `POST /app/oauth/logout`: deletes the session. The form posts with the pending request's
/// query; when there is one, the browser goes back to it (and so to the login page).
pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    body: Body,
) -> Response {
    let raw_query = uri.query().unwrap_or("");
    let (_, current, _) = match verified_form(&state, &headers, raw_query, body, Some(LOGOUT)).await
    {
        Ok(v) => v,
        Err(res) => return res,
    };
    if let Err(e) = state.store.delete_session(&current.session.id_hash).await {
        tracing::error!(error = %e, "store failure deleting a session");
        return PageError::internal()
            .with_base(state.base_path())
            .into_response();
    }
    let clear = session::set_cookie(&state, None);
    let res = if raw_query.is_empty() {
        PageError::new(
            StatusCode::OK,
            "Signed out",
            "You are signed out of keapsake.",
        )
        .with_base(state.base_path())
        .into_response()
    } else {
        let mut res = StatusCode::SEE_OTHER.into_response();
        if let Ok(loc) = HeaderValue::from_str(&authorize_path(&state, raw_query)) {
            res.headers_mut().insert(header::LOCATION, loc);
        }
        res
    };
    with_cookie(res, Some(clear))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_redirect_appends_to_an_existing_query_and_encodes_state() {
        let res = error_redirect(
            "https://app.example.com/cb?x=1",
            Some(b"a b&c"),
            "access_denied",
            "The user denied access",
        );
        assert_eq!(res.status(), StatusCode::FOUND);
        assert_eq!(
            res.headers()[header::LOCATION],
            "https://app.example.com/cb?x=1&error=access_denied&error_description=The%20user%20denied%20access&state=a%20b%26c"
        );
    }

    #[test]
    fn redirect_without_state_omits_it_and_keeps_empty_state() {
        let res = redirect_to_client("https://a.test/cb", &[("code", b"xyz")]);
        assert_eq!(
            res.headers()[header::LOCATION],
            "https://a.test/cb?code=xyz"
        );
        let res = redirect_to_client("https://a.test/cb?", &[("code", b"xyz"), ("state", b"")]);
        assert_eq!(
            res.headers()[header::LOCATION],
            "https://a.test/cb?code=xyz&state="
        );
    }
}
