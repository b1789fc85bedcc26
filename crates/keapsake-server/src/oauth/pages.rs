//! The HTML pages of the authorization flow, one askama template each (auto-escaped; templates in
//! `templates/`). Every form carries a `csrf_token`. Security headers are added to every HTML
//! response by [`crate::middleware::security_headers`].

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::borrow::Cow;

/// Renders a template with `status` as `text/html; charset=utf-8`.
pub fn render(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(body) => {
            let mut res = (status, body).into_response();
            res.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            res
        }
        Err(e) => {
            tracing::error!(error = %e, "template rendering failed");
            let mut res = (
                StatusCode::INTERNAL_SERVER_ERROR,
                "<!doctype html><title>Error</title><p>Internal error.</p>",
            )
                .into_response();
            res.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            res
        }
    }
}

/// `/assets/keapsake.css`, relative to the base URL's path.
pub fn css_href(base_path: &str) -> String {
    format!("{base_path}assets/keapsake.css")
}

/// The sign-in form.
#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage {
    /// Stylesheet URL.
    pub css_href: String,
    /// Form action: the authorize URL with the original query.
    pub action: String,
    /// CSRF token, purpose `login`.
    pub csrf_token: String,
    /// The app asking for access.
    pub app_name: String,
    /// The e-mail typed before, to refill the field after a failure.
    pub email: String,
    /// Shown above the form after a failed attempt.
    pub error: Option<String>,
}

/// One account on the chooser.
pub struct AccountChoice {
    /// Account id (the radio value).
    pub id: i64,
    /// Keap app name, e.g. `ab123`.
    pub alias: String,
    /// Business name.
    pub name: String,
}

/// The account chooser, shown when the user belongs to two or more accounts.
#[derive(Template)]
#[template(path = "choose_account.html")]
pub struct ChooseAccountPage {
    /// Stylesheet URL.
    pub css_href: String,
    /// Form action.
    pub action: String,
    /// CSRF token, purpose `choose`.
    pub csrf_token: String,
    /// The app asking for access.
    pub app_name: String,
    /// Who is signed in.
    pub user_email: String,
    /// The accounts to pick from.
    pub accounts: Vec<AccountChoice>,
    /// Sign-out form action.
    pub logout_action: String,
    /// CSRF token, purpose `logout`.
    pub logout_csrf_token: String,
}

/// The consent page: which app wants `full` access to which account.
#[derive(Template)]
#[template(path = "consent.html")]
pub struct ConsentPage {
    /// Stylesheet URL.
    pub css_href: String,
    /// Form action.
    pub action: String,
    /// CSRF token, purpose `consent`.
    pub csrf_token: String,
    /// The app asking for access.
    pub app_name: String,
    /// Its client id, shown small.
    pub client_id: String,
    /// Who is signed in.
    pub user_email: String,
    /// Chosen account id (hidden field).
    pub account_id: i64,
    /// Chosen account's business name.
    pub account_name: String,
    /// Chosen account's host, e.g. `ab123.infusionsoft.com`.
    pub account_host: String,
    /// Origin (scheme, host, port) of the redirect URI: where the user will be sent.
    pub redirect_host: String,
    /// Sign-out form action.
    pub logout_action: String,
    /// CSRF token, purpose `logout`.
    pub logout_csrf_token: String,
}

/// A page that explains something went wrong (or, for sign-out, that it went right).
#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    /// Stylesheet URL.
    pub css_href: String,
    /// Heading.
    pub title: String,
    /// Explanation.
    pub message: String,
}

/// `GET /demo/callback`: the code the demo app received and how to exchange it.
#[derive(Template)]
#[template(path = "demo_callback.html")]
pub struct DemoCallbackPage {
    /// Stylesheet URL.
    pub css_href: String,
    /// The code, if the redirect carried one that looks like ours.
    pub code: Option<String>,
    /// The `state` echoed back.
    pub state: Option<String>,
    /// `error` and `error_description`, if the redirect carried an error.
    pub error: Option<String>,
    /// The curl command exchanging the code.
    pub curl: Option<String>,
}

/// An HTML error page as a response: status, title and message. Never carries a `Location`.
#[derive(Debug, Clone)]
pub struct PageError {
    /// HTTP status.
    pub status: StatusCode,
    /// Heading.
    pub title: Cow<'static, str>,
    /// Explanation.
    pub message: Cow<'static, str>,
    /// Stylesheet URL (depends on the base path; `/assets/keapsake.css` by default).
    pub css_href: String,
}

impl PageError {
    /// A page with this status, title and message.
    pub fn new(
        status: StatusCode,
        title: impl Into<Cow<'static, str>>,
        message: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self {
            status,
            title: title.into(),
            message: message.into(),
            css_href: css_href("/"),
        }
    }

    /// Sets the stylesheet URL for a non-root base path.
    pub fn with_base(mut self, base_path: &str) -> Self {
        self.css_href = css_href(base_path);
        self
    }

    /// 403 for a form post that fails the CSRF or Origin check.
    pub fn forbidden() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "This form has expired",
            "The form you submitted could not be verified, so nothing was changed. \
             Go back to the application and start signing in again.",
        )
    }

    /// 500/503 after validation when no redirect is possible.
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Something went wrong",
            "keapsake could not complete the request. Try again in a moment.",
        )
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        render(
            self.status,
            &ErrorPage {
                css_href: self.css_href,
                title: self.title.into_owned(),
                message: self.message.into_owned(),
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_escape_what_they_show() {
        let page = ErrorPage {
            css_href: css_href("/"),
            title: "<script>".into(),
            message: "\"&'".into(),
        };
        let html = page.render().expect("render");
        assert!(!html.contains("<script>"));
        assert!(html.contains("&#60;script&#62;"));
    }

    #[test]
    fn login_form_carries_its_csrf_token_and_action() {
        let page = LoginPage {
            css_href: css_href("/"),
            action: "/app/oauth/authorize?client_id=a&redirect_uri=b".into(),
            csrf_token: "TOKEN123".into(),
            app_name: "My App".into(),
            email: String::new(),
            error: None,
        };
        let html = page.render().expect("render");
        assert!(html.contains("name=\"csrf_token\" value=\"TOKEN123\""));
        assert!(html.contains("action=\"/app/oauth/authorize?client_id=a&#38;redirect_uri=b\""));
        assert!(html.contains("My App"));
    }
}
