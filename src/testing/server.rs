//! The mock's HTTP routes, one router function per endpoint group.
//!
//! Every handler starts with [`enter`], which counts the hit and applies the
//! endpoint's fault; it answers normally only when `enter` returns `None`.

use std::collections::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::header::{CACHE_CONTROL, ETAG, IF_NONE_MATCH};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::sync::Notify;

use super::keys;
use super::org::{Inner, MockOkta, MockOktaBuilder};
use super::respond::{enter, json_bytes, json_response};
use super::state::{Endpoint, HeldKey, OAuthState, Shared, State as OrgState};

type Mock = State<Arc<Shared>>;

/// The whole mock org.
pub(super) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .merge(discovery_routes())
        .merge(keys_routes())
        .merge(super::oauth::routes())
        .merge(introspect_routes())
        .merge(super::ssf::routes())
        .layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            super::mistakes::skew_date,
        ))
        .layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            record_traceparent,
        ))
        .with_state(shared)
}

/// Remembers the W3C `traceparent` of a request (what `MockOkta::traceparents` answers).
async fn record_traceparent(
    State(shared): Mock,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if let Some(value) = request
        .headers()
        .get("traceparent")
        .and_then(|v| v.to_str().ok())
    {
        let mut state = shared.lock();
        if state.traceparents.len() == super::state::TRACEPARENTS_KEPT {
            state.traceparents.pop_front();
        }
        let entry = (request.uri().path().to_owned(), value.to_owned());
        state.traceparents.push_back(entry);
    }
    next.run(request).await
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

async fn keys(State(shared): Mock, RawQuery(query): RawQuery, headers: HeaderMap) -> Response {
    if let Some(response) = enter(&shared, Endpoint::Keys).await {
        return response;
    }
    let client_id = url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .find(|(k, _)| k == "client_id")
        .map(|(_, v)| v.into_owned());
    let (jwks, cache_control) = {
        let state = shared.lock();
        let jwks = match &client_id {
            Some(client_id) => state.jwks_for_client(client_id),
            None => state.jwks(),
        };
        (jwks, state.keys_cache_control.clone())
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

impl MockOktaBuilder {
    /// Binds the [`bind`](Self::bind) address (`127.0.0.1:0` by default) and starts serving.
    ///
    /// # Panics
    ///
    /// If the address cannot be bound, or outside a Tokio runtime.
    pub async fn build(self) -> MockOkta {
        crate::builder::install_crypto_provider();
        let listener = tokio::net::TcpListener::bind(self.bind)
            .await
            .unwrap_or_else(|e| panic!("MockOkta: cannot bind {}: {e}", self.bind));
        let mut local = listener
            .local_addr()
            .expect("MockOkta: bound socket has no local address");
        if local.ip().is_unspecified() {
            local.set_ip(match local {
                SocketAddr::V4(_) => Ipv4Addr::LOCALHOST.into(),
                SocketAddr::V6(_) => Ipv6Addr::LOCALHOST.into(),
            });
        }
        static INSTANCES: AtomicUsize = AtomicUsize::new(0);
        let key_offset = INSTANCES.fetch_add(1, Ordering::Relaxed);
        let first = keys::rsa(key_offset);
        let signing_kid = "mock-rsa-1".to_owned();
        let state = OrgState {
            client_id: self.client_id,
            client_secret: self.client_secret,
            held: vec![
                HeldKey {
                    kid: signing_kid.clone(),
                    material: first,
                },
                HeldKey {
                    kid: keys::EC_KID.into(),
                    material: keys::ec(),
                },
                HeldKey {
                    kid: keys::ED_KID.into(),
                    material: keys::ed(),
                },
            ],
            published: vec![signing_kid.clone()],
            signing_kid,
            rsa_created: 1,
            key_offset,
            extra_jwks: Vec::new(),
            app_keys: HashMap::new(),
            keys_cache_control: self.keys_cache_control,
            discovery_overrides: self.mistakes.discovery.clone(),
            faults: HashMap::new(),
            oauth: OAuthState {
                redirect_uris: self.mistakes.redirect_uris.clone(),
                ..OAuthState::default()
            },
            mistakes: self.mistakes,
            traceparents: Default::default(),
        };
        let shared = Arc::new(Shared {
            issuer: format!("http://{local}"),
            state: Mutex::new(state),
            hits: Default::default(),
            hit_notify: Notify::new(),
            serial: AtomicU64::new(0),
            introspection: Default::default(),
            ssf: Default::default(),
        });
        let app = router(shared.clone());
        let server = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, app).await {
                tracing::warn!(%error, "MockOkta server stopped");
            }
        });
        MockOkta {
            inner: Arc::new(Inner { shared, server }),
        }
    }
}
