//! The mock org's API service apps: client credentials with `private_key_jwt` (RFC 7523 §2.2,
//! §3) at the token endpoint, for the scopes the app was granted; the tokens it issues are
//! what the SSF stream API (`ssf.rs`) asks for.

use std::collections::HashMap;
use std::sync::{MutexGuard, PoisonError};

use axum::http::StatusCode;
use axum::response::Response;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::json;

use super::keys;
use super::org::MockOkta;
use super::respond::json_response;
use super::state::{ServiceAppRecord, Shared};

/// An OAuth error answer of the token endpoint (RFC 6749 §5.2).
fn oauth_error(status: StatusCode, code: &str) -> Response {
    json_response(status, &json!({"error": code}))
}

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

fn lock<T>(m: &std::sync::Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// `grant_type=client_credentials`: the client assertion checked against the app's public key
/// (`iss` = `sub` = the client id, `aud` the token endpoint, `exp` not passed, `jti` single
/// use), every scope asked for granted to the app; an opaque token for an hour.
pub(super) fn client_credentials(shared: &Shared, form: &HashMap<String, String>) -> Response {
    let field = |name: &str| form.get(name).map(String::as_str).unwrap_or("");
    if !assertion_authenticates(shared, form, "token") {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
    }
    let client_id = field("client_id");
    let Some(app) = lock(&shared.ssf.service_apps).get(client_id).cloned() else {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
    };
    let scopes: Vec<String> = field("scope")
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    if scopes.is_empty() || !scopes.iter().all(|s| app.scopes.contains(s)) {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_scope");
    }
    let token = format!("svc.{}.{}", client_id, shared.next_serial());
    lock(&shared.ssf.tokens).insert(token.clone(), scopes.clone());
    json_response(
        StatusCode::OK,
        &json!({
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": 3600,
            "scope": scopes.join(" "),
        }),
    )
}

/// Whether the form's client assertion (`private_key_jwt`, RFC 7523 §2.2, §3) authenticates its
/// `client_id`, sent to the org's `/oauth2/v1/{endpoint}`: signed by the key registered for
/// that client (a service app's, or the app's own with `MockOkta::use_private_key_jwt`), `iss`
/// = `sub` = the client id, `aud` the endpoint, `exp` not passed, `jti` single use.
pub(super) fn assertion_authenticates(
    shared: &Shared,
    form: &HashMap<String, String>,
    endpoint: &str,
) -> bool {
    let field = |name: &str| form.get(name).map(String::as_str).unwrap_or("");
    if field("client_assertion_type") != JWT_BEARER || field("client_assertion").is_empty() {
        return false;
    }
    let client_id = field("client_id");
    let Some(app) = lock(&shared.ssf.service_apps).get(client_id).cloned() else {
        return false;
    };
    let Ok(key) = DecodingKey::from_rsa_pem(app.public_pem.as_bytes()) else {
        return false;
    };
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[format!("{}/oauth2/v1/{endpoint}", shared.issuer)]);
    validation.set_issuer(&[client_id]);
    validation.sub = Some(client_id.to_owned());
    validation.set_required_spec_claims(&["exp", "iss", "sub", "aud"]);
    let claims = match jsonwebtoken::decode::<serde_json::Value>(
        field("client_assertion"),
        &key,
        &validation,
    ) {
        Ok(data) if data.header.kid.as_deref() == Some(app.kid.as_str()) => data.claims,
        _ => return false,
    };
    claims["jti"]
        .as_str()
        .is_some_and(|jti| lock(&shared.ssf.assertion_jtis).insert(jti.to_owned()))
}

/// Whether `authorization` is a service app's token with `scope`.
pub(super) fn token_has_scope(shared: &Shared, authorization: Option<&str>, scope: &str) -> bool {
    let Some(token) = authorization.and_then(|v| v.strip_prefix("Bearer ")) else {
        return false;
    };
    lock(&shared.ssf.tokens)
        .get(token)
        .is_some_and(|scopes| scopes.iter().any(|s| s == scope))
}

/// Whether the org issued `token` to a service app.
pub(super) fn is_issued(shared: &Shared, token: &str) -> bool {
    lock(&shared.ssf.tokens).contains_key(token)
}

impl MockOkta {
    /// Registers an API service app `client_id` granted `scopes` (Okta's SSF stream API asks
    /// for `ssf.manage` to change a stream, `ssf.read` or `ssf.manage` to read one), with a
    /// public key for `private_key_jwt`. Returns its private key (PKCS #8 PEM) and the key's
    /// `kid`, for [`ClientKey::from_pkcs8_pem`](crate::ClientKey::from_pkcs8_pem).
    pub fn add_service_app(&self, client_id: &str, scopes: &[&str]) -> (String, String) {
        self.register_client_key(client_id, scopes)
    }

    /// The app's own client (`client_id()`) authenticates with `private_key_jwt` too, at the
    /// token and introspection endpoints: returns its private key (PKCS #8 PEM) and `kid`, for
    /// [`ClientKey::from_pkcs8_pem`](crate::ClientKey::from_pkcs8_pem) and
    /// [`Tenant::client_key`](crate::Tenant::client_key). Its secret still works.
    pub fn use_private_key_jwt(&self) -> (String, String) {
        self.register_client_key(&self.client_id(), &[])
    }

    fn register_client_key(&self, client_id: &str, scopes: &[&str]) -> (String, String) {
        let index = self.lock().key_offset + 3;
        let material = keys::rsa(index);
        let kid = format!("svc-{client_id}");
        let record = ServiceAppRecord {
            kid: kid.clone(),
            public_pem: material.public_pem,
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
        };
        lock(&self.shared().ssf.service_apps).insert(client_id.to_owned(), record);
        (keys::rsa_private_pem(index).to_owned(), kid)
    }
}
