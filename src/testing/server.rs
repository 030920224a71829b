//! The mock's HTTP routes, one router function per endpoint group.
//!
//! Every handler starts with [`enter`], which counts the hit and applies the
//! endpoint's fault; it answers normally only when `enter` returns `None`.

use std::convert::Infallible;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{Endpoint, Fault, Shared};

type Mock = State<Arc<Shared>>;

/// The whole mock org.
pub(super) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .merge(discovery_routes())
        .merge(keys_routes())
        .merge(super::oauth::routes())
        .merge(introspect_routes())
        .with_state(shared)
}

// ---------------------------------------------------------------- discovery

fn discovery_routes() -> Router<Arc<Shared>> {
    Router::new().route(Endpoint::Discovery.path(), get(discovery))
}

async fn discovery(State(shared): Mock) -> Response {
    if let Some(response) = enter(&shared, Endpoint::Discovery).await {
        return response;
    }
    let mut doc = discovery_document(&shared.issuer);
    for (key, value) in &shared.lock().discovery_overrides {
        if value.is_null() {
            doc.remove(key);
        } else {
            doc.insert(key.clone(), value.clone());
        }
    }
    json_response(StatusCode::OK, &Value::Object(doc))
}

fn discovery_document(issuer: &str) -> serde_json::Map<String, Value> {
    let url = |endpoint: &str| format!("{issuer}/oauth2/v1/{endpoint}");
    let auth_methods = json!(["client_secret_basic", "client_secret_post"]);
    let doc = json!({
        "issuer": issuer,
        "authorization_endpoint": url("authorize"),
        "token_endpoint": url("token"),
        "userinfo_endpoint": url("userinfo"),
        "registration_endpoint": url("clients"),
        "jwks_uri": url("keys"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "fragment", "form_post"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": [
            "openid", "email", "profile", "address", "phone", "offline_access", "groups"
        ],
        "token_endpoint_auth_methods_supported": auth_methods,
        "claims_supported": [
            "iss", "ver", "sub", "aud", "iat", "exp", "jti", "auth_time", "amr", "idp",
            "nonce", "name", "nickname", "preferred_username", "given_name", "middle_name",
            "family_name", "email", "email_verified", "profile", "zoneinfo", "locale",
            "address", "phone_number", "picture", "website", "gender", "birthdate",
            "updated_at", "at_hash", "c_hash"
        ],
        "code_challenge_methods_supported": ["S256"],
        "introspection_endpoint": url("introspect"),
        "introspection_endpoint_auth_methods_supported": auth_methods,
        "revocation_endpoint": url("revoke"),
        "revocation_endpoint_auth_methods_supported": auth_methods,
        "end_session_endpoint": url("logout"),
        "request_parameter_supported": true,
        "request_object_signing_alg_values_supported": ["HS256", "RS256"],
    });
    match doc {
        Value::Object(map) => map,
        _ => serde_json::Map::new(),
    }
}

// ---------------------------------------------------------------- keys

fn keys_routes() -> Router<Arc<Shared>> {
    Router::new().route(Endpoint::Keys.path(), get(keys))
}

async fn keys(State(shared): Mock, headers: HeaderMap) -> Response {
    if let Some(response) = enter(&shared, Endpoint::Keys).await {
        return response;
    }
    let (jwks, cache_control) = {
        let state = shared.lock();
        (state.jwks(), state.keys_cache_control.clone())
    };
    let body = serde_json::to_vec(&jwks).unwrap_or_default();
    let etag = etag_of(&body);
    let mut response = if if_none_match(&headers, &etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        json_bytes(StatusCode::OK, body)
    };
    let response_headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&etag) {
        response_headers.insert(ETAG, value);
    }
    if let Some(value) = cache_control.and_then(|v| HeaderValue::from_str(&v).ok()) {
        response_headers.insert(CACHE_CONTROL, value);
    }
    response
}

/// A strong entity tag from the SHA-256 of `body`.
fn etag_of(body: &[u8]) -> String {
    let digest = Sha256::digest(body);
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
}

/// Whether `If-None-Match` matches `etag` (weak comparison, as RFC 9110 asks).
fn if_none_match(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(IF_NONE_MATCH)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == etag)
}

// ------------------------------------------- OAuth endpoints
//
// authorize, token, userinfo and logout live in `oauth.rs`, introspection in
// `introspect.rs`; each handler starts with `enter(&shared, Endpoint::X)`.

fn introspect_routes() -> Router<Arc<Shared>> {
    super::introspect::routes()
}

// ---------------------------------------------------------------- faults

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

fn json_bytes(status: StatusCode, body: Vec<u8>) -> Response {
    (
        status,
        [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
        body,
    )
        .into_response()
}
