//! Rendering an [`AuthError`] as an HTTP answer: RFC 6750 §3 `WWW-Authenticate` challenges,
//! a small JSON body, `Retry-After` for temporary failures.

use std::time::Duration;

use axum_core::body::Body;
use axum_core::response::{IntoResponse, Response};
use http::header::{CACHE_CONTROL, CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use http::{HeaderValue, StatusCode};

use crate::error::AuthError;

/// The realm named in `WWW-Authenticate` unless configured.
pub(crate) const DEFAULT_REALM: &str = "api";

impl AuthError {
    /// Builds the RFC 6750 response for this error, with `realm` in the challenge.
    pub fn to_response(&self, realm: &str) -> Response {
        let status = self.status();
        let mut challenge = format!("Bearer realm=\"{}\"", quote_safe(realm));
        if let Some(code) = self.error_code()
            && status != StatusCode::SERVICE_UNAVAILABLE
        {
            challenge.push_str(&format!(
                ", error=\"{code}\", error_description=\"{}\"",
                self.public_description()
            ));
        }
        if let AuthError::InsufficientScope { required } = self {
            challenge.push_str(&format!(", scope=\"{}\"", quote_safe(&required.join(" "))));
        }
        let fallback = match self {
            AuthError::CrossSiteRequest => "cross_site_request",
            _ => "unauthorized",
        };
        let body = serde_json::json!({
            "error": self.error_code().unwrap_or(fallback),
            "error_description": self.public_description(),
        })
        .to_string();
        let mut response = Response::new(Body::from(body));
        *response.status_mut() = status;
        let headers = response.headers_mut();
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        // No challenge where no credential would help: the provider is down, or the session
        // is fine and the request came from another site.
        if status != StatusCode::SERVICE_UNAVAILABLE
            && !matches!(self, AuthError::CrossSiteRequest)
            && let Ok(v) = HeaderValue::from_str(&challenge)
        {
            headers.insert(WWW_AUTHENTICATE, v);
        }
        let retry = match self {
            AuthError::TemporarilyUnavailable { retry_after } => {
                Some(retry_after.unwrap_or(Duration::from_secs(5)))
            }
            AuthError::KeysUnavailable { .. } => Some(Duration::from_secs(5)),
            _ => None,
        };
        if let Some(retry) = retry {
            let secs = retry.as_secs().max(1);
            headers.insert(RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

impl IntoResponse for AuthError {
    fn into_response(self) -> Response {
        self.to_response(DEFAULT_REALM)
    }
}

/// Keeps a value usable inside a quoted-string of a header (drops `"` and `\` and controls).
fn quote_safe(s: &str) -> String {
    s.chars()
        .filter(|c| *c != '"' && *c != '\\' && !c.is_control())
        .collect()
}
