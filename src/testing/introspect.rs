//! The mock's RFC 7662 introspection endpoint and its opaque tokens.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::State;
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::post;
use axum::{Form, Router};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use super::respond::{enter, json_response};
use super::state::{Endpoint, Shared};
use super::token::now;

pub(super) fn routes() -> Router<Arc<Shared>> {
    Router::new().route(Endpoint::Introspect.path(), post(introspect))
}

async fn introspect(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if let Some(response) = enter(&shared, Endpoint::Introspect).await {
        return response;
    }
    let by_key = form.contains_key("client_assertion");
    if by_key && !super::service_app::assertion_authenticates(&shared, &form, "introspect") {
        let body = json!({"error": "invalid_client", "error_description": "Client authentication failed."});
        return json_response(StatusCode::UNAUTHORIZED, &body);
    }
    let presented = basic_credentials(&headers).or_else(|| {
        Some((
            form.get("client_id")?.clone(),
            form.get("client_secret")?.clone(),
        ))
    });
    if !by_key {
        let Some((id, secret)) = presented else {
            let body = json!({"error": "invalid_client", "error_description": "Client authentication failed."});
            return json_response(StatusCode::UNAUTHORIZED, &body);
        };
        if let Some(refused) = shared.lock().refuse_client(&id, &secret) {
            return refused;
        }
    }
    let Some(token) = form.get("token") else {
        let body = json!({"error": "invalid_request", "error_description": "token is required"});
        return json_response(StatusCode::BAD_REQUEST, &body);
    };
    let active = shared.introspection.lookup(token).filter(|claims| {
        claims
            .get("exp")
            .and_then(Value::as_i64)
            .is_none_or(|exp| exp > now())
    });
    let body = match active {
        Some(mut claims) => {
            claims.insert("active".into(), true.into());
            Value::Object(claims)
        }
        None => json!({"active": false}),
    };
    json_response(StatusCode::OK, &body)
}

/// `Authorization: Basic` credentials, form-decoded (RFC 6749 §2.3.1).
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let decode = |s: &str| -> String {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Some((decode(id), decode(secret)))
}
