//! What the logout endpoints answer: a status (Okta reads only the status), a small JSON error
//! body, `Cache-Control: no-store` always.

use std::time::Duration;

use axum_core::body::Body;
use http::header::{ALLOW, CACHE_CONTROL, CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use http::{HeaderValue, Response, StatusCode};

/// An answer with `status` and no body.
pub(super) fn empty(status: StatusCode) -> Response<Body> {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// An OAuth-style error answer: `{"error": code, "error_description": description}`.
pub(super) fn error(status: StatusCode, code: &str, description: &str) -> Response<Body> {
    let body = serde_json::json!({"error": code, "error_description": description}).to_string();
    let mut response = empty(status);
    *response.body_mut() = Body::from(body);
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    response
}

/// `401` with an RFC 6750 challenge.
pub(super) fn unauthorized(error_code: Option<&'static str>) -> Response<Body> {
    let mut response = error(
        StatusCode::UNAUTHORIZED,
        error_code.unwrap_or("unauthorized"),
        "A valid signed request is required",
    );
    let challenge = match error_code {
        Some(code) => format!("Bearer error=\"{code}\""),
        None => "Bearer".to_owned(),
    };
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        response.headers_mut().insert(WWW_AUTHENTICATE, value);
    }
    response
}

/// `503` with `Retry-After`: the revocation could not be recorded (or checked).
pub(super) fn unavailable(retry_after: Option<Duration>) -> Response<Body> {
    let mut response = error(
        StatusCode::SERVICE_UNAVAILABLE,
        "temporarily_unavailable",
        "The logout could not be recorded; try again",
    );
    let secs = retry_after.map_or(5, |d| d.as_secs().max(1));
    response
        .headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from(secs));
    response
}

/// `405` with `Allow: POST`.
pub(super) fn method_not_allowed() -> Response<Body> {
    let mut response = empty(StatusCode::METHOD_NOT_ALLOWED);
    response
        .headers_mut()
        .insert(ALLOW, HeaderValue::from_static("POST"));
    response
}
