//! The mock org's state, shared by the handle and the server task: keys, faults, hit counters,
//! sign-in grants, and the tokens the introspection endpoint knows.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use serde_json::{Map, Value, json};
use tokio::sync::Notify;

use super::keys::{self, Material};
use super::token::{KeyLookup, TokenBuilder};

/// At most this many RSA keys are published at once.
const MAX_PUBLISHED_RSA: usize = 3;

/// An endpoint of the mock org, for hit counters and faults.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// `GET /.well-known/openid-configuration`
    Discovery,
    /// `GET /oauth2/v1/keys`
    Keys,
    /// `/oauth2/v1/authorize`
    Authorize,
    /// `/oauth2/v1/token`
    Token,
    /// `/oauth2/v1/userinfo`
    Userinfo,
    /// `/oauth2/v1/introspect`
    Introspect,
    /// `/oauth2/v1/logout`
    Logout,
}

impl Endpoint {
    pub(super) const COUNT: usize = 7;

    /// The endpoint's path on the mock, e.g. `"/oauth2/v1/keys"`.
    pub fn path(self) -> &'static str {
        match self {
            Endpoint::Discovery => "/.well-known/openid-configuration",
            Endpoint::Keys => "/oauth2/v1/keys",
            Endpoint::Authorize => "/oauth2/v1/authorize",
            Endpoint::Token => "/oauth2/v1/token",
            Endpoint::Userinfo => "/oauth2/v1/userinfo",
            Endpoint::Introspect => "/oauth2/v1/introspect",
            Endpoint::Logout => "/oauth2/v1/logout",
        }
    }

    pub(super) fn index(self) -> usize {
        match self {
            Endpoint::Discovery => 0,
            Endpoint::Keys => 1,
            Endpoint::Authorize => 2,
            Endpoint::Token => 3,
            Endpoint::Userinfo => 4,
            Endpoint::Introspect => 5,
            Endpoint::Logout => 6,
        }
    }
}

/// A misbehaviour injected into one endpoint with [`MockOkta::set_fault`](crate::testing::MockOkta::set_fault).
#[non_exhaustive]
#[derive(Clone, Debug)]
pub enum Fault {
    /// Answer this status (500 if it is not a valid status code) with a small
    /// Okta-style JSON error body.
    Status(u16),
    /// Wait this long, then answer normally.
    Delay(Duration),
    /// 200 with `Content-Type: application/json` and a body that is not JSON.
    Garbage,
    /// 200 with a body of exactly this many bytes: a JSON prefix, then padding
    /// (valid JSON when there is room to close it). `Content-Length` is set.
    Huge(usize),
    /// 429 with `X-Rate-Limit-Limit`, `X-Rate-Limit-Remaining: 0` and
    /// `X-Rate-Limit-Reset: reset_epoch_secs`.
    RateLimited {
        /// Unix time, in seconds, when the rate limit resets.
        reset_epoch_secs: u64,
    },
    /// Every `every`-th hit of the endpoint (by its hit counter) gets `fault`;
    /// other hits are answered normally. `every: 0` never applies the fault.
    Flapping {
        /// Period, in hits.
        every: usize,
        /// The fault applied on those hits.
        fault: Box<Fault>,
    },
}

/// A key the mock can sign with.
pub(super) struct HeldKey {
    pub(super) kid: String,
    pub(super) material: &'static Material,
}

/// Mutable state, behind one mutex never held across an await.
pub(super) struct State {
    pub(super) client_id: String,
    pub(super) client_secret: String,
    pub(super) held: Vec<HeldKey>,
    /// Kids of the published keys, oldest first.
    pub(super) published: Vec<String>,
    pub(super) signing_kid: String,
    /// RSA keys created so far (kid counter).
    pub(super) rsa_created: usize,
    /// Where this mock starts in the key pool, so that two mocks in one process (a victim and
    /// an attacker) never sign with the same key.
    pub(super) key_offset: usize,
    pub(super) extra_jwks: Vec<Value>,
    /// Pinned keys of apps with automatic rotation off: client id → kids, served at
    /// `/oauth2/v1/keys?client_id=`.
    pub(super) app_keys: HashMap<String, Vec<String>>,
    pub(super) keys_cache_control: Option<String>,
    /// Discovery overrides; `Value::Null` removes the field.
    pub(super) discovery_overrides: Map<String, Value>,
    pub(super) faults: HashMap<Endpoint, Fault>,
    /// Sign-in state: user, codes, issued tokens, hooks.
    pub(super) oauth: OAuthState,
    /// Configuration mistakes on purpose (the tenant doctor's tests).
    pub(super) mistakes: Mistakes,
    /// The W3C `traceparent` of the last requests that carried one: (path, value), at most
    /// [`TRACEPARENTS_KEPT`], oldest first.
    pub(super) traceparents: std::collections::VecDeque<(String, String)>,
}

/// How many `traceparent` headers the mock remembers.
pub(super) const TRACEPARENTS_KEPT: usize = 64;

impl State {
    pub(super) fn key(&self, kid: &str) -> Option<&'static Material> {
        self.held.iter().find(|k| k.kid == kid).map(|k| k.material)
    }

    pub(super) fn publish(&mut self, kid: &str) {
        if !self.published.iter().any(|k| k == kid) {
            self.published.push(kid.to_owned());
        }
    }

    /// Creates and publishes the next RSA key, optionally as the signing key.
    pub(super) fn new_rsa_key(&mut self, sign_with_it: bool) -> String {
        let material = keys::rsa(self.key_offset + self.rsa_created);
        self.rsa_created += 1;
        let kid = format!("mock-rsa-{}", self.rsa_created);
        self.held.push(HeldKey {
            kid: kid.clone(),
            material,
        });
        self.publish(&kid);
        if sign_with_it {
            self.signing_kid = kid.clone();
        }
        self.drop_excess_rsa();
        kid
    }

    /// Unpublishes the oldest RSA keys (never the signing key) over the cap.
    pub(super) fn drop_excess_rsa(&mut self) {
        loop {
            let rsa: Vec<&String> = self
                .published
                .iter()
                .filter(|kid| self.key(kid).is_some_and(Material::is_rsa))
                .collect();
            if rsa.len() <= MAX_PUBLISHED_RSA {
                return;
            }
            let Some(oldest) = rsa
                .into_iter()
                .find(|kid| **kid != self.signing_kid)
                .cloned()
            else {
                return;
            };
            self.published.retain(|kid| *kid != oldest);
        }
    }

    pub(super) fn jwks(&self) -> Value {
        let mut keys: Vec<Value> = self
            .published
            .iter()
            .filter_map(|kid| self.key(kid).map(|m| m.public_jwk(kid)))
            .collect();
        keys.extend(self.extra_jwks.iter().cloned());
        self.served_jwks(json!({ "keys": keys }))
    }

    /// The key set served for `?client_id=`: the app's pinned keys when it has some, else the
    /// org's (as Okta answers for an app with automatic rotation on).
    pub(super) fn jwks_for_client(&self, client_id: &str) -> Value {
        match self.app_keys.get(client_id) {
            Some(kids) => {
                let keys: Vec<Value> = kids
                    .iter()
                    .filter_map(|kid| self.key(kid).map(|m| m.public_jwk(kid)))
                    .collect();
                json!({ "keys": keys })
            }
            None => self.jwks(),
        }
    }
}

/// Shared between the handle and the server task.
pub(super) struct Shared {
    pub(super) issuer: String,
    pub(super) state: Mutex<State>,
    pub(super) hits: [AtomicUsize; Endpoint::COUNT],
    pub(super) hit_notify: Notify,
    /// Counter for token ids.
    pub(super) serial: AtomicU64,
    /// Opaque tokens known to the introspection endpoint.
    pub(super) introspection: Introspection,
    /// The Shared Signals transmitter's stream.
    pub(super) ssf: Transmitter,
}

impl Shared {
    pub(super) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts a hit and returns the endpoint's new count.
    pub(super) fn record_hit(&self, endpoint: Endpoint) -> usize {
        let n = self.hits[endpoint.index()].fetch_add(1, Ordering::SeqCst) + 1;
        self.hit_notify.notify_waiters();
        n
    }

    pub(super) fn next_serial(&self) -> u64 {
        self.serial.fetch_add(1, Ordering::Relaxed) + 1
    }
}

/// A logout request the mock received.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct LogoutRequest {
    /// The `id_token_hint` parameter.
    pub id_token_hint: Option<String>,
    /// The `post_logout_redirect_uri` parameter.
    pub post_logout_redirect_uri: Option<String>,
    /// The `state` parameter.
    pub state: Option<String>,
}

/// A code handed out by authorize, waiting for the token endpoint.
pub(super) struct Grant {
    pub(super) client_id: String,
    pub(super) redirect_uri: String,
    pub(super) challenge: String,
    pub(super) nonce: Option<String>,
    pub(super) scope: String,
    pub(super) user: Map<String, Value>,
    /// The authentication context class of this sign-in: the first of the `acr_values`
    /// asked, else Okta's password-only one.
    pub(super) acr: String,
}

/// Sign-in state of the mock (inside its one mutex).
/// Hook applied to every ID token the token endpoint mints.
pub(super) type IdTokenHook = Arc<dyn Fn(TokenBuilder) -> TokenBuilder + Send + Sync>;

/// Sign-in state of the mock (inside its one mutex).
#[derive(Default)]
pub(super) struct OAuthState {
    pub(super) user: Option<Map<String, Value>>,
    pub(super) deny: bool,
    pub(super) redirect_uris: Vec<String>,
    pub(super) secrets: Option<Vec<String>>,
    pub(super) codes: HashMap<String, Grant>,
    pub(super) access_tokens: HashMap<String, Map<String, Value>>,
    pub(super) id_token_hook: Option<IdTokenHook>,
    pub(super) userinfo_sub: Option<String>,
    pub(super) logouts: Vec<LogoutRequest>,
    pub(super) last_auth_method: Option<String>,
    /// Cross App Access: the authorization servers (by issuer) the client may get an ID-JAG
    /// for, and how.
    pub(super) cross_app: HashMap<String, CrossApp>,
}

/// What the mock's Cross App Access policy says of one resource authorization server.
#[derive(Clone, Debug)]
pub(super) struct CrossApp {
    /// The client's id at that authorization server (the ID-JAG's `client_id`).
    pub(super) client_id: String,
    /// The scopes the org grants there.
    pub(super) scopes: Vec<String>,
}

impl fmt::Debug for OAuthState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthState")
            .field("deny", &self.deny)
            .field("redirect_uris", &self.redirect_uris)
            .finish_non_exhaustive()
    }
}

pub(super) fn default_user() -> Map<String, Value> {
    match json!({
        "sub": "00u1mockuser",
        "name": "Mock User",
        "email": "mock.user@example.com",
        "email_verified": true,
        "preferred_username": "mock.user@example.com",
    }) {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// Tokens the mock's introspection endpoint knows: token → claims (without `active`).
#[derive(Default)]
pub(super) struct Introspection {
    pub(super) tokens: Mutex<HashMap<String, Map<String, Value>>>,
}

impl Introspection {
    pub(super) fn register(&self, token: String, claims: Map<String, Value>) {
        self.lock().insert(token, claims);
    }

    pub(super) fn revoke(&self, token: &str) -> bool {
        self.lock().remove(token).is_some()
    }

    pub(super) fn lookup(&self, token: &str) -> Option<Map<String, Value>> {
        self.lock().get(token).cloned()
    }

    pub(super) fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Map<String, Value>>> {
        self.tokens.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Shared {
    /// How tokens minted by this org find their signing keys.
    pub(super) fn key_lookup(self: &Arc<Self>) -> KeyLookup {
        let shared = Arc::clone(self);
        Arc::new(move |kid: &str| shared.lock().key(kid))
    }
}

/// What is wrong with the key set the mock serves; see [`MockOkta::set_key_set_mistake`](crate::testing::MockOkta::set_key_set_mistake).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeySetMistake {
    /// `{"keys": []}`.
    Empty,
    /// Only keys no verifier may use: a symmetric (`oct`) key and an RSA key for encryption.
    Unusable,
    /// The signing key, then another key under the same `kid`.
    DuplicateKid,
}

/// The mistakes of one mock org (inside its state).
#[derive(Clone, Debug, Default)]
pub(super) struct Mistakes {
    /// Seconds added to the `Date` header of every answer.
    pub(super) date_skew: i64,
    pub(super) key_set: Option<KeySetMistake>,
    /// Discovery overrides set on the builder (`Value::Null` removes the field).
    pub(super) discovery: Map<String, Value>,
    /// Redirect URIs registered on the builder.
    pub(super) redirect_uris: Vec<String>,
}

/// The org's one stream (Okta: one per client id; the mock: one per org).
#[derive(Clone, Debug)]
pub(super) struct Stream {
    pub(super) id: String,
    pub(super) endpoint_url: String,
    pub(super) authorization_header: Option<String>,
    pub(super) events_requested: Vec<String>,
    pub(super) format: String,
    pub(super) aud: String,
}

/// What the transmitter holds (in the mock's shared state).
#[derive(Default)]
pub(super) struct Transmitter {
    stream: Mutex<Option<Stream>>,
    /// API service apps (`private_key_jwt`): client id → their public key and scopes.
    pub(super) service_apps: Mutex<HashMap<String, ServiceAppRecord>>,
    /// Access tokens issued to service apps → their scopes.
    pub(super) tokens: Mutex<HashMap<String, Vec<String>>>,
    /// Client assertion `jti`s seen (single use).
    pub(super) assertion_jtis: Mutex<std::collections::HashSet<String>>,
}

/// An API service app of the mock org.
#[derive(Clone, Debug)]
pub(super) struct ServiceAppRecord {
    pub(super) kid: String,
    pub(super) public_pem: &'static str,
    pub(super) scopes: Vec<String>,
}

impl Transmitter {
    pub(super) fn stream(&self) -> Option<Stream> {
        self.stream
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub(super) fn set(&self, stream: Option<Stream>) {
        *self.stream.lock().unwrap_or_else(PoisonError::into_inner) = stream;
    }
}
