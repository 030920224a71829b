//! The configuration mistakes a customer's org can show, for the tenant doctor's tests: a
//! skewed `Date`, an empty or unusable key set, a duplicate `kid`, a discovery document naming
//! another issuer or lacking `end_session_endpoint`, registered redirect URIs, Okta's two
//! `invalid_client` answers (unknown client id, wrong secret), and a dead host.

use std::time::{Duration, SystemTime};

use axum::extract::{Request, State};
use axum::http::header::{DATE, WWW_AUTHENTICATE};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use serde_json::{Value, json};

use super::org::{MockOkta, MockOktaBuilder};
use super::respond::json_response;
use super::state::{KeySetMistake, Shared, State as OrgState};

impl MockOktaBuilder {
    /// Makes every answer's `Date` header `seconds` ahead (negative: behind) of the real time,
    /// as an org seen from a server whose clock is off.
    pub fn date_skew(mut self, seconds: i64) -> Self {
        self.mistakes.date_skew = seconds;
        self
    }

    /// Serves a broken key set from the start; see [`KeySetMistake`].
    pub fn key_set_mistake(mut self, mistake: KeySetMistake) -> Self {
        self.mistakes.key_set = Some(mistake);
        self
    }

    /// Makes the discovery document name another `issuer` (a proxy, another org, a trailing
    /// slash).
    pub fn discovery_issuer(mut self, issuer: impl Into<String>) -> Self {
        self.mistakes
            .discovery
            .insert("issuer".into(), Value::String(issuer.into()));
        self
    }

    /// Leaves `end_session_endpoint` out of the discovery document.
    pub fn without_end_session_endpoint(mut self) -> Self {
        self.mistakes
            .discovery
            .insert("end_session_endpoint".into(), Value::Null);
        self
    }

    /// Registers a sign-in redirect URI. With at least one registered, authorize answers any
    /// other with its error page (400, no redirect), as Okta does.
    pub fn redirect_uri(mut self, uri: impl Into<String>) -> Self {
        self.mistakes.redirect_uris.push(uri.into());
        self
    }
}

impl MockOkta {
    /// Makes every later answer's `Date` header `seconds` ahead (negative: behind).
    pub fn set_date_skew(&self, seconds: i64) {
        self.lock().mistakes.date_skew = seconds;
    }

    /// Serves a broken key set (`None`: the real one again).
    pub fn set_key_set_mistake(&self, mistake: Option<KeySetMistake>) {
        self.lock().mistakes.key_set = mistake;
    }

    /// Removes `end_session_endpoint` from the discovery document.
    pub fn remove_end_session_endpoint(&self) {
        self.set_discovery_field("end_session_endpoint", Value::Null);
    }

    /// An issuer URL on the loopback host where nothing listens: every connection is refused
    /// (a dead host that needs no DNS).
    pub fn dead_issuer() -> String {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap_or(9);
        format!("http://127.0.0.1:{port}")
    }
}

impl OrgState {
    /// The key set as served, with the key-set mistake applied.
    pub(super) fn served_jwks(&self, real: Value) -> Value {
        let Some(mistake) = self.mistakes.key_set else {
            return real;
        };
        match mistake {
            KeySetMistake::Empty => json!({ "keys": [] }),
            KeySetMistake::Unusable => json!({ "keys": [
                {"kty": "oct", "kid": "mock-hmac", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQ"},
                {"kty": "RSA", "kid": "mock-enc", "use": "enc", "alg": "RSA-OAEP",
                 "n": "AQAB", "e": "AQAB"},
            ]}),
            KeySetMistake::DuplicateKid => {
                let mut keys = real["keys"].as_array().cloned().unwrap_or_default();
                let kid = self.signing_kid.clone();
                let other = super::keys::rsa(self.key_offset + 5).public_jwk(&kid);
                keys.push(other);
                json!({ "keys": keys })
            }
        }
    }

    /// Okta's `invalid_client` answer when `id`/`secret` is not this org's client: which of
    /// the two is wrong is in `error_description`, in Okta's words.
    pub(super) fn refuse_client(&self, id: &str, secret: &str) -> Option<Response> {
        let description = if id != self.client_id {
            "Invalid value for 'client_id' parameter."
        } else {
            let accepted = self.oauth.secrets.as_ref().map_or_else(
                || secret == self.client_secret,
                |s| s.iter().any(|x| x == secret),
            );
            if accepted {
                return None;
            }
            "The client secret supplied for a confidential client is invalid."
        };
        let body = json!({"error": "invalid_client", "error_description": description});
        let mut response = json_response(StatusCode::UNAUTHORIZED, &body);
        response.headers_mut().insert(
            WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"MockOkta\""),
        );
        Some(response)
    }
}

/// Middleware of the whole mock: the `Date` header, skewed when asked.
pub(super) async fn skew_date(
    State(shared): State<std::sync::Arc<Shared>>,
    request: Request,
    next: Next,
) -> Response {
    let mut response = next.run(request).await;
    let skew = shared.lock().mistakes.date_skew;
    if skew != 0 {
        let now = SystemTime::now();
        let shifted = if skew > 0 {
            now + Duration::from_secs(skew.unsigned_abs())
        } else {
            now - Duration::from_secs(skew.unsigned_abs())
        };
        if let Ok(value) = HeaderValue::from_str(&httpdate::fmt_http_date(shifted)) {
            response.headers_mut().insert(DATE, value);
        }
    }
    response
}
