//! What the mock's endpoints answer when a fault is injected, and JSON answers.

use std::convert::Infallible;

use axum::body::Body;
use axum::http::header::{CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE, WWW_AUTHENTICATE};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::{Value, json};

use super::state::{Endpoint, Fault, Shared};

/// Counts a hit for `endpoint` and applies its fault: `Some` is the response
/// that replaces the normal one.
pub(super) async fn enter(shared: &Shared, endpoint: Endpoint) -> Option<Response> {
    let hit = shared.record_hit(endpoint);
    let fault = shared.lock().faults.get(&endpoint).cloned()?;
    match resolve(&fault, hit)? {
        Fault::Delay(delay) => {
            tokio::time::sleep(*delay).await;
            None
        }
        Fault::Status(code) => {
            let status = StatusCode::from_u16(*code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let summary = format!("MockOkta fault: status {}", status.as_u16());
            Some(okta_error(status, "E0000009", &summary))
        }
        Fault::Garbage => Some(json_bytes(
            StatusCode::OK,
            b"<html><body>MockOkta garbage: not JSON</body></html>".to_vec(),
        )),
        Fault::Huge(size) => Some(huge(*size)),
        Fault::RateLimited { reset_epoch_secs } => {
            let mut response = okta_error(
                StatusCode::TOO_MANY_REQUESTS,
                "E0000047",
                "API call exceeded rate limit due to too many requests.",
            );
            let headers = response.headers_mut();
            let mut set = |name: &'static str, value: HeaderValue| {
                headers.insert(HeaderName::from_static(name), value);
            };
            set("x-rate-limit-limit", HeaderValue::from_static("100"));
            set("x-rate-limit-remaining", HeaderValue::from_static("0"));
            set("x-rate-limit-reset", HeaderValue::from(*reset_epoch_secs));
            Some(response)
        }
        Fault::Flapping { .. } => None,
    }
}

/// The fault that applies to hit number `hit`, looking through `Flapping`.
fn resolve(mut fault: &Fault, hit: usize) -> Option<&Fault> {
    while let Fault::Flapping {
        every,
        fault: inner,
    } = fault
    {
        if *every == 0 || !hit.is_multiple_of(*every) {
            return None;
        }
        fault = inner;
    }
    Some(fault)
}

/// A 200 body of exactly `size` bytes, streamed (nothing that size is held in
/// memory): a JSON prefix, `x` padding, and a closing suffix when it fits.
fn huge(size: usize) -> Response {
    const PREFIX: &[u8] = br#"{"keys":[],"padding":""#;
    const SUFFIX: &[u8] = br#""}"#;
    const CHUNK: usize = 64 * 1024;
    static PAD: [u8; CHUNK] = [b'x'; CHUNK];

    let head = &PREFIX[..PREFIX.len().min(size)];
    let rest = size - head.len();
    let (pad, tail) = match rest.checked_sub(SUFFIX.len()) {
        Some(pad) => (pad, SUFFIX),
        None => (rest, &[][..]),
    };
    let pads = (0..pad.div_ceil(CHUNK)).map(move |i| &PAD[..CHUNK.min(pad - i * CHUNK)]);
    let chunks = std::iter::once(head)
        .chain(pads)
        .chain(std::iter::once(tail))
        .filter(|chunk| !chunk.is_empty())
        .map(|chunk| Ok::<_, Infallible>(Bytes::from_static(chunk)));
    let mut response = Response::new(Body::from_stream(futures_util::stream::iter(chunks)));
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(CONTENT_LENGTH, HeaderValue::from(size));
    response
}

// ---------------------------------------------------------------- helpers

/// An Okta API error body.
fn okta_error(status: StatusCode, code: &str, summary: &str) -> Response {
    let body = json!({
        "errorCode": code,
        "errorSummary": summary,
        "errorLink": code,
        "errorId": "oaeMockOktaFault",
        "errorCauses": [],
    });
    json_response(status, &body)
}

pub(super) fn json_response(status: StatusCode, body: &Value) -> Response {
    json_bytes(status, serde_json::to_vec(body).unwrap_or_default())
}

pub(super) fn json_bytes(status: StatusCode, body: Vec<u8>) -> Response {
    (
        status,
        [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
        body,
    )
        .into_response()
}

/// An OAuth error answer (RFC 6749 §5.2) as the mock's token endpoint gives it; `401` with
/// `WWW-Authenticate: Basic`.
pub(super) fn oauth_error(status: StatusCode, code: &str) -> Response {
    let mut response = (
        status,
        [
            (CONTENT_TYPE, HeaderValue::from_static("application/json")),
            (CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        json!({ "error": code, "error_description": format!("MockOkta: {code}") }).to_string(),
    )
        .into_response();
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"MockOkta\""),
        );
    }
    response
}
