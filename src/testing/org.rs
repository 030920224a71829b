//! [`MockOkta`]: the handle to a mock org — its keys, faults, hit counters and tokens — and
//! [`MockOktaBuilder`].

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::Ordering;
use std::sync::{Arc, MutexGuard};

use serde_json::{Map, Value, json};
use tokio::task::JoinHandle;

use super::keys;
use super::state::{Endpoint, Fault, Shared, State};
use super::token::{self, TokenBuilder};

const DEFAULT_CLIENT_ID: &str = "0oa1mockclient";
const DEFAULT_CLIENT_SECRET: &str = "mock-client-secret";
const DEFAULT_KEYS_CACHE_CONTROL: &str = "max-age=3600, must-revalidate";

pub(super) struct Inner {
    pub(super) shared: Arc<Shared>,
    pub(super) server: JoinHandle<()>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// An in-process mock Okta org serving HTTP on `127.0.0.1`.
///
/// Cheap to clone; the server stops when the last clone is dropped. Needs a
/// Tokio runtime.
///
/// ```
/// use okta_oidc::testing::{Endpoint, Fault, MockOkta};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let okta = MockOkta::start().await;
/// let jwks_uri = okta.url("/oauth2/v1/keys");
/// let id_token = okta.id_token().claim("nonce", "n-0S6_WzA2Mj").build();
/// assert_eq!(id_token.split('.').count(), 3);
///
/// okta.rotate_keys(); // new signing key; the old one stays published
/// okta.set_fault(Endpoint::Keys, Fault::Status(503));
/// assert_eq!(okta.hits(Endpoint::Keys), 0);
/// # let _ = jwks_uri;
/// # }
/// ```
#[derive(Clone)]
pub struct MockOkta {
    pub(super) inner: Arc<Inner>,
}

impl fmt::Debug for MockOkta {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MockOkta")
            .field("issuer", &self.inner.shared.issuer)
            .finish_non_exhaustive()
    }
}

/// Configures a [`MockOkta`] before it starts; see [`MockOkta::builder`].
#[derive(Clone, Debug)]
#[must_use]
pub struct MockOktaBuilder {
    pub(super) client_id: String,
    pub(super) client_secret: String,
    pub(super) keys_cache_control: Option<String>,
    pub(super) bind: SocketAddr,
    pub(super) mistakes: super::state::Mistakes,
}

impl MockOktaBuilder {
    /// The OAuth client id (default `"0oa1mockclient"`).
    pub fn client_id(mut self, client_id: impl Into<String>) -> Self {
        self.client_id = client_id.into();
        self
    }

    /// The OAuth client secret (default `"mock-client-secret"`).
    pub fn client_secret(mut self, client_secret: impl Into<String>) -> Self {
        self.client_secret = client_secret.into();
        self
    }

    /// `Cache-Control` of the keys endpoint (default
    /// `Some("max-age=3600, must-revalidate")`; `None` sends no header).
    pub fn keys_cache_control(mut self, value: Option<String>) -> Self {
        self.keys_cache_control = value;
        self
    }

    /// The address to listen on (default `127.0.0.1:0`: an ephemeral loopback port).
    ///
    /// A fixed address lets the mock stand in for an org at a known issuer, for instance one
    /// started, stopped or restarted under an app already configured with it. The issuer is
    /// `http://` and the bound address (with the port actually bound when `addr` asks for port
    /// 0); an unspecified address (`0.0.0.0`, `[::]`) gives the loopback address of its family.
    ///
    /// ```
    /// use std::net::{Ipv4Addr, SocketAddr};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    /// let okta = okta_oidc::testing::MockOkta::builder()
    ///     .bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
    ///     .build()
    ///     .await;
    /// assert_eq!(okta.issuer(), format!("http://127.0.0.1:{port}"));
    /// # let url = format!("http://127.0.0.1:{port}/.well-known/openid-configuration");
    /// # let http = reqwest::Client::builder().no_proxy().build()?;
    /// # let doc: serde_json::Value = serde_json::from_str(&http.get(url).send().await?.text().await?)?;
    /// # assert_eq!(doc["issuer"], okta.issuer().as_str());
    /// # Ok(())
    /// # }
    /// ```
    pub fn bind(mut self, addr: SocketAddr) -> Self {
        self.bind = addr;
        self
    }
}

impl MockOkta {
    /// Starts a mock org with the defaults.
    ///
    /// # Panics
    ///
    /// If the port cannot be bound, or outside a Tokio runtime.
    pub async fn start() -> MockOkta {
        MockOkta::builder().build().await
    }

    /// A builder for a mock org with a custom client or cache headers.
    pub fn builder() -> MockOktaBuilder {
        MockOktaBuilder {
            client_id: DEFAULT_CLIENT_ID.into(),
            client_secret: DEFAULT_CLIENT_SECRET.into(),
            keys_cache_control: Some(DEFAULT_KEYS_CACHE_CONTROL.into()),
            bind: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            mistakes: Default::default(),
        }
    }

    pub(super) fn shared(&self) -> &Arc<Shared> {
        &self.inner.shared
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, State> {
        self.shared().lock()
    }

    /// The issuer, `http://127.0.0.1:{port}` unless [`MockOktaBuilder::bind`] says otherwise
    /// (org authorization server form: no path, no trailing slash).
    pub fn issuer(&self) -> String {
        self.shared().issuer.clone()
    }

    /// The issuer followed by `path`, e.g. `url("/oauth2/v1/keys")`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.shared().issuer)
    }

    /// The OAuth client id (default `"0oa1mockclient"`).
    pub fn client_id(&self) -> String {
        self.lock().client_id.clone()
    }

    /// The OAuth client secret (default `"mock-client-secret"`).
    pub fn client_secret(&self) -> String {
        self.lock().client_secret.clone()
    }

    /// The kid that [`id_token`](Self::id_token) and friends sign with.
    pub fn signing_kid(&self) -> String {
        self.lock().signing_kid.clone()
    }

    /// Publishes a new RSA key and makes it the signing key; the previous key
    /// stays published. At most 3 RSA keys are published: the oldest one that
    /// is not the signing key is unpublished. Returns the new kid
    /// (`"mock-rsa-N"`, N always growing; the material wraps over a pool of 6).
    pub fn rotate_keys(&self) -> String {
        self.lock().new_rsa_key(true)
    }

    /// Publishes a new RSA key without signing with it yet; returns its kid.
    /// The 3-RSA-key cap of [`rotate_keys`](Self::rotate_keys) applies.
    pub fn publish_next_key(&self) -> String {
        self.lock().new_rsa_key(false)
    }

    /// Makes `kid` the default signing key (it need not be published).
    ///
    /// # Panics
    ///
    /// If the mock holds no private key with that kid.
    pub fn use_signing_key(&self, kid: &str) {
        let mut state = self.lock();
        if state.key(kid).is_none() {
            drop(state);
            panic!("MockOkta: no key with kid {kid:?}");
        }
        state.signing_kid = kid.to_owned();
    }

    /// Unpublishes `kid` (also any raw JWK with that kid). The key can still
    /// sign, to forge tokens with a removed key.
    pub fn retire_key(&self, kid: &str) {
        let mut state = self.lock();
        state.published.retain(|k| k != kid);
        state
            .extra_jwks
            .retain(|jwk| jwk.get("kid") != Some(&Value::from(kid)));
    }

    /// Gives the app `client_id` its own signing key, as an Okta app with custom keys
    /// (automatic key rotation off) has: published at `/oauth2/v1/keys?client_id=<client_id>`
    /// only, not in the org's key set. Sign with it through `.kid(&kid)`. Returns the new kid
    /// (`"mock-app-N"`).
    pub fn pin_app_key(&self, client_id: &str) -> String {
        let mut state = self.lock();
        let material = keys::rsa(state.key_offset + state.rsa_created);
        state.rsa_created += 1;
        let kid = format!("mock-app-{}", state.rsa_created);
        state.held.push(super::state::HeldKey {
            kid: kid.clone(),
            material,
        });
        state
            .app_keys
            .entry(client_id.to_owned())
            .or_default()
            .push(kid.clone());
        kid
    }

    /// Publishes the P-256 key (alg ES256); returns its kid, `"mock-ec-1"`.
    pub fn publish_ec_key(&self) -> String {
        self.lock().publish(keys::EC_KID);
        keys::EC_KID.into()
    }

    /// Publishes the Ed25519 key (alg EdDSA, kty OKP); returns its kid,
    /// `"mock-ed-1"`.
    pub fn publish_ed_key(&self) -> String {
        self.lock().publish(keys::ED_KID);
        keys::ED_KID.into()
    }

    /// Appends `jwk` verbatim to the JWKS `keys` array.
    pub fn add_raw_jwk(&self, jwk: Value) {
        self.lock().extra_jwks.push(jwk);
    }

    /// The public JWK of a 1024-bit RSA key (kid `"mock-weak-1"`, alg RS256),
    /// not published unless passed to [`add_raw_jwk`](Self::add_raw_jwk). The
    /// mock cannot sign with it (the crypto backend refuses keys that small).
    pub fn weak_rsa_jwk(&self) -> Value {
        keys::weak_jwk()
    }

    /// The SPKI PEM of a key's public half (any held kid, or
    /// `"mock-weak-1"`), e.g. for the "HS256 keyed with the RSA public key"
    /// attack.
    pub fn public_key_pem(&self, kid: &str) -> Option<String> {
        if kid == keys::WEAK_KID {
            return Some(keys::weak_public_pem().into());
        }
        self.lock().key(kid).map(|m| m.public_pem.to_owned())
    }

    /// The currently published key set, as served: `{"keys": [...]}`.
    pub fn jwks(&self) -> Value {
        self.lock().jwks()
    }

    /// Sets the keys endpoint's `Cache-Control` (`None`: no header).
    pub fn set_keys_cache_control(&self, value: Option<&str>) {
        self.lock().keys_cache_control = value.map(str::to_owned);
    }

    /// Makes the discovery document claim another `issuer`.
    pub fn set_discovery_issuer(&self, issuer: &str) {
        self.set_discovery_field("issuer", issuer.into());
    }

    /// Overrides or adds a discovery field; `Value::Null` removes it.
    pub fn set_discovery_field(&self, key: &str, value: Value) {
        self.lock()
            .discovery_overrides
            .insert(key.to_owned(), value);
    }

    /// Requests received by `endpoint` since start or [`reset_hits`](Self::reset_hits).
    pub fn hits(&self, endpoint: Endpoint) -> usize {
        self.shared().hits[endpoint.index()].load(Ordering::SeqCst)
    }

    /// Sets every hit counter to zero.
    pub fn reset_hits(&self) {
        for hits in &self.shared().hits {
            hits.store(0, Ordering::SeqCst);
        }
    }

    /// Returns once `hits(endpoint) >= n` (woken by the server, no polling).
    pub async fn wait_for_hits(&self, endpoint: Endpoint, n: usize) {
        let shared = self.shared();
        loop {
            let mut notified = std::pin::pin!(shared.hit_notify.notified());
            notified.as_mut().enable();
            if self.hits(endpoint) >= n {
                return;
            }
            notified.await;
        }
    }

    /// The W3C `traceparent` headers of the last requests that carried one (at most 64),
    /// oldest first: (path, value). An application's calls carry one when it traces with
    /// OpenTelemetry (feature `opentelemetry`).
    pub fn traceparents(&self) -> Vec<(String, String)> {
        self.lock().traceparents.iter().cloned().collect()
    }

    /// Injects `fault` into every later request to `endpoint`.
    pub fn set_fault(&self, endpoint: Endpoint, fault: Fault) {
        self.lock().faults.insert(endpoint, fault);
    }

    /// Makes `endpoint` behave normally again.
    pub fn clear_fault(&self, endpoint: Endpoint) {
        self.lock().faults.remove(&endpoint);
    }

    /// An Okta-shaped ID token for the client, signed with the signing key.
    pub fn id_token(&self) -> TokenBuilder {
        let state = self.lock();
        let now = token::now();
        let claims = json!({
            "ver": 1,
            "jti": format!("ID.{}", self.shared().next_serial()),
            "iss": self.shared().issuer,
            "aud": state.client_id,
            "sub": "00u1mockuser",
            "iat": now,
            "exp": now + 3600,
            "auth_time": now,
            "amr": ["pwd"],
            "idp": "00o1mockidp",
            "name": "Mock User",
            "email": "mock.user@example.com",
            "email_verified": true,
            "preferred_username": "mock.user@example.com",
        });
        TokenBuilder::new(self.shared().key_lookup(), &state.signing_kid, claims)
    }

    /// An Okta-shaped access token (`aud` `"api://default"`), signed with the
    /// signing key.
    pub fn access_token(&self) -> TokenBuilder {
        let state = self.lock();
        let now = token::now();
        let claims = json!({
            "ver": 1,
            "jti": format!("AT.{}", self.shared().next_serial()),
            "iss": self.shared().issuer,
            "aud": "api://default",
            "sub": "mock.user@example.com",
            "uid": "00u1mockuser",
            "cid": state.client_id,
            "scp": ["openid", "profile", "email"],
            "iat": now,
            "exp": now + 3600,
            "auth_time": now,
        });
        TokenBuilder::new(self.shared().key_lookup(), &state.signing_kid, claims)
    }

    /// A token with no claims and header `{"alg":"RS256","kid":<signing kid>}`.
    pub fn token(&self) -> TokenBuilder {
        let signing_kid = self.signing_kid();
        TokenBuilder::new(self.shared().key_lookup(), &signing_kid, json!({}))
    }

    /// Issues an opaque access token that the introspection endpoint answers as active, with
    /// Okta's claims (`scope` "openid profile email", `client_id`, `username`, `sub`, `uid`,
    /// `iss`, `aud`, `iat`, `exp` in one hour, `token_type` "Bearer") overridden by `claims`
    /// (a JSON object; `Value::Null` entries remove a claim).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let okta = okta_oidc::testing::MockOkta::start().await;
    /// let token = okta.opaque_token(serde_json::json!({"scope": "orders:read"}));
    /// assert!(!token.contains('.'));
    /// # }
    /// ```
    pub fn opaque_token(&self, claims: Value) -> String {
        let serial = self.shared().serial.fetch_add(1, Ordering::Relaxed);
        let token = format!(
            "00opaque{serial:06}{}",
            self.issuer().len() * 7919 + serial as usize
        );
        let token = URL_SAFE_NO_PAD_ENGINE.encode(format!("{token}-{}", self.issuer()));
        self.register_active(token.clone(), claims);
        token
    }

    /// An access token of the org authorization server as Okta issues it: a JWT whose `aud`
    /// is the org itself, signed with a key that is not published (only Okta can verify it),
    /// and known to the introspection endpoint as active with the same claims.
    pub fn org_access_token(&self) -> String {
        let issuer = self.issuer();
        let builder = self
            .access_token()
            .claim("aud", &issuer)
            .kid("org-as-unpublished");
        let claims = builder.claims();
        let token = builder
            .signature("c2lnbmF0dXJlLW9ubHktb2t0YS1jYW4tY2hlY2s")
            .build();
        let mut active = json!({"token_type": "Bearer"});
        if let (Value::Object(active), Value::Object(claims)) = (&mut active, claims) {
            active.extend(claims);
            if let Some(cid) = active.get("cid").cloned() {
                active.insert("client_id".into(), cid);
            }
            if let Some(Value::Array(scp)) = active.remove("scp") {
                let scope: Vec<&str> = scp.iter().filter_map(Value::as_str).collect();
                active.insert("scope".into(), scope.join(" ").into());
            }
        }
        self.shared()
            .introspection
            .register(token.clone(), as_map(active));
        token
    }

    /// Issues an opaque token whose introspection answer is `{"active": true}` plus exactly
    /// the members of `answer` (a JSON object), `null` values included: for testing how a
    /// resource server reads answers that are odd but well formed.
    pub fn opaque_token_answering(&self, answer: Value) -> String {
        let serial = self.shared().serial.fetch_add(1, Ordering::Relaxed);
        let token = format!("00exact{serial:06}{}", "x".repeat(16));
        self.shared()
            .introspection
            .register(token.clone(), as_map(answer));
        token
    }

    /// Makes the introspection endpoint answer `{"active": false}` for this token from now on.
    pub fn revoke_token(&self, token: &str) -> bool {
        self.shared().introspection.revoke(token)
    }

    fn register_active(&self, token: String, overrides: Value) {
        let now = token::now();
        let mut claims = json!({
            "scope": "openid profile email",
            "client_id": self.client_id(),
            "username": "mock.user@example.com",
            "sub": "mock.user@example.com",
            "uid": "00u1mockuser",
            "iss": self.issuer(),
            "aud": self.issuer(),
            "iat": now,
            "exp": now + 3600,
            "token_type": "Bearer",
        });
        if let (Value::Object(base), Value::Object(overrides)) = (&mut claims, overrides) {
            for (k, v) in overrides {
                if v.is_null() {
                    base.remove(&k);
                } else {
                    base.insert(k, v);
                }
            }
        }
        self.shared().introspection.register(token, as_map(claims));
    }
}

fn as_map(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

use base64::Engine as _;
const URL_SAFE_NO_PAD_ENGINE: base64::engine::GeneralPurpose =
    base64::engine::general_purpose::URL_SAFE_NO_PAD;
