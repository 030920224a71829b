//! The mock's RFC 7662 introspection endpoint and its opaque tokens.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use axum::extract::State;
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::post;
use axum::{Form, Router};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};

use super::server::{enter, json_response};
use super::token::now;
use super::{Endpoint, Shared};

/// Tokens the mock's introspection endpoint knows: token → claims (without `active`).
#[derive(Default)]
pub(super) struct Introspection {
    tokens: Mutex<HashMap<String, Map<String, Value>>>,
}

impl Introspection {
    pub(super) fn register(&self, token: String, claims: Map<String, Value>) {
        self.lock().insert(token, claims);
    }

    pub(super) fn revoke(&self, token: &str) -> bool {
        self.lock().remove(token).is_some()
    }

    fn lookup(&self, token: &str) -> Option<Map<String, Value>> {
        self.lock().get(token).cloned()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Map<String, Value>>> {
        self.tokens.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

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
    let (client_id, client_secret) = {
        let state = shared.lock();
        (state.client_id.clone(), state.client_secret.clone())
    };
    let presented = basic_credentials(&headers).or_else(|| {
        Some((
            form.get("client_id")?.clone(),
            form.get("client_secret")?.clone(),
        ))
    });
    match presented {
        Some((id, secret)) if id == client_id && secret == client_secret => {}
        _ => {
            let body = json!({"error": "invalid_client", "error_description": "Client authentication failed."});
            return json_response(StatusCode::UNAUTHORIZED, &body);
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
