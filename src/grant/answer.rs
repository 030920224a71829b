//! What the token endpoint answers: an RFC 6749 §5.1 token response or a §5.2 error, both JSON
//! with `Cache-Control: no-store` and `Pragma: no-cache`.

use axum_core::body::Body;
use http::header::{ALLOW, CACHE_CONTROL, CONTENT_TYPE, PRAGMA, RETRY_AFTER, WWW_AUTHENTICATE};
use http::{HeaderValue, Response, StatusCode};
use serde_json::Value;

/// A JSON answer that no cache keeps.
pub(super) fn json(status: StatusCode, body: &Value) -> Response<Body> {
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

/// An RFC 6749 §5.2 error: `400` with `{"error", "error_description"}`.
pub(super) fn error(code: &'static str, description: &'static str) -> Response<Body> {
    json(
        StatusCode::BAD_REQUEST,
        &serde_json::json!({"error": code, "error_description": description}),
    )
}

/// `invalid_client` (RFC 6749 §5.2): `401` with `WWW-Authenticate: Basic`, the scheme this
/// endpoint takes in the `Authorization` header (required when the client used it, allowed
/// otherwise).
pub(super) fn invalid_client(description: &'static str) -> Response<Body> {
    let mut response = json(
        StatusCode::UNAUTHORIZED,
        &serde_json::json!({"error": "invalid_client", "error_description": description}),
    );
    response.headers_mut().insert(
        WWW_AUTHENTICATE,
        HeaderValue::from_static("Basic realm=\"token\", charset=\"UTF-8\""),
    );
    response
}

/// `503` with `Retry-After`: the grant could not be checked or its use recorded now.
pub(super) fn unavailable(retry_after_secs: u64) -> Response<Body> {
    let mut response = json(
        StatusCode::SERVICE_UNAVAILABLE,
        &serde_json::json!({
            "error": "temporarily_unavailable",
            "error_description": "The grant cannot be checked now; try again",
        }),
    );
    response
        .headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from(retry_after_secs.max(1)));
    response
}

/// `500 server_error`: the token could not be signed.
pub(super) fn server_error() -> Response<Body> {
    json(
        StatusCode::INTERNAL_SERVER_ERROR,
        &serde_json::json!({
            "error": "server_error",
            "error_description": "The access token could not be issued",
        }),
    )
}

/// `405` with `Allow`.
pub(super) fn method_not_allowed(allow: &'static str) -> Response<Body> {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
    response
        .headers_mut()
        .insert(ALLOW, HeaderValue::from_static(allow));
    response
}
