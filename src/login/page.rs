//! What the login routes answer: redirects, and small HTML pages for failures (never a
//! redirect to the provider after a failure: no loop to `/authorize`).

use axum::response::{IntoResponse, Response};
use http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, LOCATION, SET_COOKIE};
use http::{HeaderValue, StatusCode};

use crate::html::escape;
use crate::middleware::sessions::SessionEnd;
use crate::telemetry::metrics;

/// A plain error page with `status`, saying `message` (escaped), with a link to `home`.
pub(crate) fn error(status: StatusCode, message: &str, home: &str) -> Response {
    let body = format!(
        "<h1>Sign-in failed</h1><p>{}</p><p><a href=\"{}\">Back to the home page</a></p>",
        escape(message),
        escape(home)
    );
    html(status, "Sign-in failed", &body)
}

/// The page a logout that did not come from the app itself shows: a button that signs out with
/// a same-origin `POST` (a link on another site cannot end the session).
pub(crate) fn confirm_logout(status: StatusCode, action: &str, home: &str) -> Response {
    let body = format!(
        "<h1>Sign out?</h1><form method=\"post\" action=\"{}\">\
         <button type=\"submit\">Sign out</button></form>\
         <p><a href=\"{}\">Back to the home page</a></p>",
        escape(action),
        escape(home)
    );
    html(status, "Sign out", &body)
}

/// The page of a page route whose session ended (`200`, never cached): what happened, and a
/// link that signs in again (`sign_in`, a same-origin path) and comes back.
pub(crate) fn session_ended(reason: SessionEnd, sign_in: &str, home: &str) -> Response {
    let why = match reason {
        SessionEnd::Expired => "It reached its maximum length.",
        SessionEnd::Idle => "It was not used for a while.",
        SessionEnd::Revoked => {
            "You were signed out: by a sign-out elsewhere, or by your organization's \
             administrator."
        }
    };
    let body = format!(
        "<h1 id=\"signed-out\">Your session has ended</h1><p>{why}</p>\
         <p><a href=\"{}\">Sign in again</a> · <a href=\"{}\">Home</a></p>",
        escape(sign_in),
        escape(home)
    );
    html(StatusCode::OK, "Signed out", &body)
}

/// A small HTML page, never cached, that no other site may frame.
fn html(status: StatusCode, title: &str, body: &str) -> Response {
    let page = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{}</title></head>\
         <body>{body}</body></html>",
        escape(title)
    );
    let mut response = (status, page).into_response();
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("frame-ancestors 'none'"),
    );
    response
}

/// A failed step: the status and text the user sees, and the reason that is logged.
pub(crate) struct Failure {
    pub(crate) status: StatusCode,
    pub(crate) public: &'static str,
    pub(crate) reason: String,
    /// When the same request may work again (`Retry-After`); the login is kept for it.
    pub(crate) retry_after: Option<std::time::Duration>,
    /// The `reason` of the `okta_oidc_logins_total{result="failed"}` count (the catalogue's
    /// `LOGIN_REASONS`): by default from the status.
    pub(crate) label: &'static str,
}

impl Failure {
    pub(crate) fn new(status: StatusCode, public: &'static str, reason: impl Into<String>) -> Self {
        let label = match status {
            StatusCode::UNAUTHORIZED => "id_token",
            StatusCode::FORBIDDEN => "provider_denied",
            StatusCode::BAD_GATEWAY => "provider",
            StatusCode::SERVICE_UNAVAILABLE => "unavailable",
            s if s.is_server_error() => "internal",
            _ => "invalid_request",
        };
        Failure {
            status,
            public,
            reason: reason.into(),
            retry_after: None,
            label,
        }
    }

    /// Counts this failure under `label` (one of the catalogue's `LOGIN_REASONS`).
    pub(crate) fn reason(mut self, label: &'static str) -> Self {
        self.label = label;
        self
    }

    /// The same request may work again after `retry` (sent as `Retry-After`).
    pub(crate) fn retry_after(mut self, retry: std::time::Duration) -> Self {
        self.retry_after = Some(retry);
        self
    }

    pub(crate) fn bad_request(public: &'static str) -> Self {
        Failure::new(StatusCode::BAD_REQUEST, public, public)
    }

    pub(crate) fn respond(
        self,
        tenant: Option<&str>,
        home: &str,
        set_cookies: Vec<HeaderValue>,
    ) -> Response {
        tracing::warn!(
            tenant = tenant.unwrap_or("-"),
            status = self.status.as_u16(),
            reason = %self.reason,
            "login failed"
        );
        metrics::login("failed", self.label);
        let mut response = with_cookies(error(self.status, self.public, home), set_cookies);
        if let Some(retry) = self.retry_after
            && let Ok(value) = HeaderValue::try_from(retry.as_secs().max(1).to_string())
        {
            response
                .headers_mut()
                .insert(http::header::RETRY_AFTER, value);
        }
        response
    }
}

pub(crate) fn with_cookies(mut response: Response, set_cookies: Vec<HeaderValue>) -> Response {
    for c in set_cookies {
        response.headers_mut().append(SET_COOKIE, c);
    }
    response
}

pub(crate) fn redirect(location: &str, set_cookies: Vec<HeaderValue>) -> Response {
    let mut response = StatusCode::FOUND.into_response();
    match HeaderValue::from_str(location) {
        Ok(v) => {
            response.headers_mut().insert(LOCATION, v);
        }
        Err(_) => return error(StatusCode::INTERNAL_SERVER_ERROR, "Bad redirect.", "/"),
    }
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    with_cookies(response, set_cookies)
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes() {
        assert_eq!(
            super::escape("<a href='x'>&\"</a>"),
            "&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;"
        );
    }
}
