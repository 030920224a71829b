//! The mock's Cross App Access: the token exchange (RFC 8693 §2.1) at its token endpoint that
//! turns the user's ID token into an Identity Assertion JWT Authorization Grant (ID-JAG,
//! draft-ietf-oauth-identity-assertion-authz-grant, "Token Exchange"), as Okta does for an AI
//! agent, and the ID-JAG builder to forge one.

use std::collections::HashMap;
use std::sync::Arc;

use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::DecodingKey;
use serde_json::{Map, Value, json};

use super::org::MockOkta;
use super::respond::oauth_error;
use super::state::{CrossApp, Shared};
use super::token::{self, TokenBuilder};

/// The token exchange grant type (RFC 8693 §2.1).
pub(super) const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
/// The token type of an ID-JAG (the draft's IANA registration).
const ID_JAG: &str = "urn:ietf:params:oauth:token-type:id-jag";
/// The subject token type of an ID token (RFC 8693 §3).
const ID_TOKEN: &str = "urn:ietf:params:oauth:token-type:id_token";
/// How long the mock's grants live (Okta's: 5 minutes).
const LIFETIME_SECS: i64 = 300;

impl MockOkta {
    /// Cross App Access policy: the client may exchange its users' ID tokens for ID-JAGs for
    /// the authorization server whose issuer is `audience`, where it is known as
    /// `resource_client_id` (the ID-JAG's `client_id`), with at most `scopes`. Without it, the
    /// exchange answers `invalid_grant`, as Okta does for an unmanaged connection.
    pub fn allow_cross_app_access<I, S>(&self, audience: &str, resource_client_id: &str, scopes: I)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.lock().oauth.cross_app.insert(
            audience.to_owned(),
            CrossApp {
                client_id: resource_client_id.to_owned(),
                scopes: scopes.into_iter().map(Into::into).collect(),
            },
        );
    }

    /// An ID-JAG as the mock issues it, signed with the signing key: header `typ`
    /// `oauth-id-jag+jwt`; `iss` the org, `sub` the default user, `aud` = `audience`,
    /// `client_id` = `client_id`, a fresh `jti`, `iat` now, `exp` in 5 minutes. Add `resource`
    /// and `scope`, or change anything to forge one.
    pub fn id_jag(&self, audience: &str, client_id: &str) -> TokenBuilder {
        id_jag(self.shared(), audience, client_id, "00u1mockuser")
    }
}

fn id_jag(shared: &Arc<Shared>, audience: &str, client_id: &str, sub: &str) -> TokenBuilder {
    let now = token::now();
    let kid = shared.lock().signing_kid.clone();
    let claims = json!({
        "iss": shared.issuer,
        "sub": sub,
        "aud": audience,
        "client_id": client_id,
        "jti": format!("IDJAG.{}", shared.next_serial()),
        "iat": now,
        "exp": now + LIFETIME_SECS,
    });
    TokenBuilder::new(shared.key_lookup(), &kid, claims).header("typ", "oauth-id-jag+jwt")
}

/// The exchange for the authenticated client `client_id` (its secret already checked).
pub(super) fn exchange(
    shared: &Arc<Shared>,
    client_id: &str,
    form: &HashMap<String, String>,
) -> Response {
    let get = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    if get("requested_token_type") != ID_JAG
        || get("subject_token_type") != ID_TOKEN
        || get("audience").is_empty()
    {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_request");
    }
    // The subject token: an ID token this org signed for this very client, still valid
    // (the draft's processing rules: its `aud` is the authenticated client).
    let Some(subject) = verified_claims(shared, get("subject_token")) else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    };
    let valid = subject.get("iss").and_then(Value::as_str) == Some(shared.issuer.as_str())
        && subject.get("aud").and_then(Value::as_str) == Some(client_id)
        && subject
            .get("exp")
            .and_then(Value::as_i64)
            .is_some_and(|exp| exp > token::now());
    let sub = subject.get("sub").and_then(Value::as_str).unwrap_or("");
    if !valid || sub.is_empty() {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    }
    let Some(policy) = shared.lock().oauth.cross_app.get(get("audience")).cloned() else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    };
    let scopes: Vec<&str> = match form.get("scope") {
        Some(asked) => asked
            .split(' ')
            .filter(|s| policy.scopes.iter().any(|p| p == s))
            .collect(),
        None => policy.scopes.iter().map(String::as_str).collect(),
    };
    if scopes.is_empty() {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_scope");
    }
    let scope = scopes.join(" ");
    let mut grant = id_jag(shared, get("audience"), &policy.client_id, sub).claim("scope", &scope);
    if let Some(resource) = form.get("resource") {
        grant = grant.claim("resource", resource);
    }
    for name in ["auth_time", "amr", "email"] {
        if let Some(value) = subject.get(name) {
            grant = grant.claim(name, value);
        }
    }
    let body = json!({
        "issued_token_type": ID_JAG,
        "access_token": grant.build(),
        "token_type": "N_A",
        "scope": scope,
        "expires_in": LIFETIME_SECS,
    });
    (
        StatusCode::OK,
        [
            (CONTENT_TYPE, HeaderValue::from_static("application/json")),
            (CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        body.to_string(),
    )
        .into_response()
}

/// The claims of a JWS this org signed with one of its RSA keys, `None` for anything else.
fn verified_claims(shared: &Arc<Shared>, token: &str) -> Option<Map<String, Value>> {
    let mut parts = token.split('.');
    let (header, payload, signature) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let decode = |segment: &str| -> Option<Map<String, Value>> {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(segment).ok()?).ok()
    };
    let kid = decode(header)?.get("kid")?.as_str()?.to_owned();
    let material = shared.lock().key(&kid)?;
    let key = DecodingKey::from_rsa_pem(material.public_pem.as_bytes()).ok()?;
    let message = format!("{header}.{payload}");
    jsonwebtoken::crypto::verify(signature, message.as_bytes(), &key, material.alg)
        .ok()
        .filter(|ok| *ok)?;
    decode(payload)
}
