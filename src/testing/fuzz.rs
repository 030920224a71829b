//! Entry points for the fuzz targets in `fuzz/` and their regression tests (feature `fuzzing`).
//!
//! Not a public API: hidden from the docs, may change in any release. Each function takes raw
//! bytes from the fuzzer, runs the crate's own code on them and returns a small summary; none
//! of them touches the network. Invariants that must hold for every input are asserted here,
//! so that a violation is a crash the fuzzer reports.

#[path = "fuzz_htu.rs"]
mod htu;
#[cfg(feature = "rust_crypto")]
#[path = "fuzz_keys.rs"]
mod keys;
#[cfg(feature = "rust_crypto")]
#[path = "fuzz_signals.rs"]
mod signals;
#[path = "fuzz_store.rs"]
mod store_wire;

pub use self::htu::{htu, normalized_uri, same_uri};
#[cfg(feature = "rust_crypto")]
pub use self::signals::{
    APP_BASE_URL, DEFAULT_REQUEST, DPOP_SUB, ISSUER2, RESOURCE, RESOURCE2, RSA_KID, SIGNAL_KID,
    Signals, TENANT2, logout_claims, proof_claims, universal_claims,
};
pub use self::store_wire::revocation_wire;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use crate::algorithm::Algorithm;
use axum::Router;
use axum::body::Body;
use axum::routing::get;
use axum_core::response::Response;
use http::header::{AUTHORIZATION, COOKIE};
use http::{HeaderMap, HeaderValue, Request, StatusCode, Uri};
use tower_service::Service;

use crate::Claims;
use crate::error::AuthError;
use crate::handle::OktaOidc;
use crate::login::config::LoginSettings;
use crate::login::seal::Purpose;
use crate::login::{Login, LoginConfig};
use crate::provider::discovery::ProviderMetadata;
use crate::provider::fetch::{DEFAULT_MAX_BODY, Fetcher};
use crate::provider::jwk::{KeySet, Lookup};
use crate::tenant::Tenant;
use crate::time::{ManualClock, SharedClock};
use crate::verify::introspection::Call;
use crate::verify::jws::{self, ValidationOptions};
use crate::verify::rules::{self, TokenKind, Window};

/// The issuer of the fuzzing tenant (never contacted).
pub const ISSUER: &str = "https://fuzz.okta.example";
/// The tenant's client id.
pub const CLIENT_ID: &str = "0oa1fuzzclient";
/// The tenant's API audience.
pub const AUDIENCE: &str = "api://default";
/// The tenant's id.
pub const TENANT: &str = "fuzz";
/// The frozen time of every harness, seconds since the epoch. Seed tokens are minted around it.
pub const NOW: u64 = 1_700_000_000;
/// The session secret of the harness.
pub const SESSION_SECRET: [u8; 32] = [7; 32];
/// The session cookie's name.
pub const SESSION_COOKIE: &str = "okta_session";
/// The `state` of the login cookie target (and of the seed login cookies).
pub const LOGIN_STATE: &str = "c3RhdGUtZm9yLWZ1enppbmctdGhlLWNhbGxiYWNrLXJvdXRl";
/// The algorithms the harness accepts (everything the crate supports).
pub const ALGORITHMS: [Algorithm; 4] = [
    Algorithm::RS256,
    Algorithm::PS256,
    Algorithm::ES256,
    Algorithm::EdDSA,
];

fn tenant() -> Tenant {
    Tenant::new(TENANT, ISSUER)
        .client(CLIENT_ID, "fuzz-client-secret")
        .audience(AUDIENCE)
}

fn options() -> ValidationOptions {
    ValidationOptions {
        algorithms: ALGORITHMS.to_vec(),
        ..ValidationOptions::default()
    }
}

/// The static discovery document of the harness: no token or introspection endpoint, so that
/// no input can lead to an outbound call.
pub fn metadata() -> ProviderMetadata {
    metadata_of(ISSUER)
}

/// [`metadata`] of another issuer.
pub(crate) fn metadata_of(issuer: &str) -> ProviderMetadata {
    ProviderMetadata {
        issuer: issuer.into(),
        jwks_uri: format!("{issuer}/oauth2/v1/keys"),
        authorization_endpoint: Some(format!("{issuer}/oauth2/v1/authorize")),
        token_endpoint: None,
        userinfo_endpoint: None,
        end_session_endpoint: Some(format!("{issuer}/oauth2/v1/logout")),
        introspection_endpoint: None,
        revocation_endpoint: None,
        token_endpoint_auth_methods_supported: None,
        introspection_endpoint_auth_methods_supported: None,
        code_challenge_methods_supported: Some(vec!["S256".into()]),
        id_token_signing_alg_values_supported: Some(vec!["RS256".into()]),
        authorization_response_iss_parameter_supported: None,
    }
}

/// Token parsing and the claim rules (no key): the error, or `Ok` when every keyless rule
/// passes.
pub fn token(input: &[u8]) -> Result<(), String> {
    let Ok(text) = std::str::from_utf8(input) else {
        return Err("not UTF-8".into());
    };
    let _ = jws::looks_like_jwt(text);
    let mut header = jws::HeaderBuf::new();
    let parsed = jws::parse(text, &options(), &mut header).map_err(|e| e.to_string())?;
    let tenant = tenant();
    for leeway in [0, 120] {
        let window = Window::new(Duration::from_secs(NOW), Duration::from_secs(leeway));
        for kind in [TokenKind::Bearer, TokenKind::IdToken] {
            let _ = rules::check(&parsed, &tenant, kind, window);
        }
    }
    let window = Window::new(Duration::from_secs(NOW), Duration::from_secs(120));
    rules::check(&parsed, &tenant, TokenKind::Bearer, window).map_err(|e| e.to_string())
}

/// A key set document: lenient parsing, key reuse against the previous set, and lookups.
/// Returns the number of usable keys.
pub fn jwks(input: &[u8]) -> Result<usize, String> {
    let keys = crate::provider::jwk::parse_jwks(input, &ALGORITHMS, None, ISSUER)
        .map_err(|e| e.to_string())?;
    assert!(!keys.is_empty(), "parse_jwks returned Ok with no key");
    for k in &keys {
        assert!(ALGORITHMS.contains(&k.alg), "a key outside the allow-list");
    }
    let first = KeySet {
        keys,
        generation: 1,
    };
    let again = crate::provider::jwk::parse_jwks(input, &ALGORITHMS, Some(&first), ISSUER)
        .map_err(|e| e.to_string())?;
    assert_eq!(
        again.len(),
        first.keys.len(),
        "parsing is not deterministic"
    );
    for (a, b) in first.keys.iter().zip(&again) {
        assert_eq!(a.id, b.id, "an unchanged key got a new id");
    }
    for k in &first.keys {
        match first.find(k.kid.as_deref(), k.alg) {
            Lookup::Found(found) => assert_eq!(found.alg, k.alg),
            Lookup::Ambiguous => assert!(k.kid.is_none()),
            Lookup::Unknown | Lookup::WrongAlgorithm => {
                panic!("a parsed key cannot be found by its own kid and alg")
            }
        }
    }
    Ok(first.keys.len())
}

/// A discovery document, checked against [`ISSUER`].
pub fn discovery(input: &[u8]) -> Result<(), String> {
    match crate::provider::discovery::parse_metadata(input, ISSUER, Default::default()) {
        Ok(m) => {
            assert_eq!(m.issuer, ISSUER);
            Ok(())
        }
        Err(e) => Err(e.to_string()),
    }
}

fn fetcher() -> Fetcher {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    let client = CLIENT.get_or_init(|| {
        crate::builder::install_crypto_provider();
        reqwest::Client::builder()
            .build()
            .unwrap_or_else(|_| reqwest::Client::new())
    });
    Fetcher {
        client: client.clone(),
        max_body: DEFAULT_MAX_BODY,
    }
}

/// An introspection response for the fuzzing tenant: the identity's `sub`, or the error.
pub fn introspection(input: &[u8]) -> Result<String, String> {
    let tenant = Arc::new(tenant());
    let clock: SharedClock = Arc::new(ManualClock::new(Duration::from_secs(NOW)));
    let call = Call {
        tenant: Arc::clone(&tenant),
        endpoint: format!("{ISSUER}/oauth2/v1/introspect"),
        method: crate::provider::client_auth::ClientAuthMethod::Basic,
        fetcher: fetcher(),
        clock,
        client: None,
        metrics: Arc::default(),
    };
    match crate::verify::introspection::parse_response(input, &tenant, &call) {
        Ok(identity) => {
            if let Some(exp) = identity.claims.exp {
                assert!(
                    exp > NOW as i64,
                    "an expired introspection result was accepted"
                );
            }
            let _ = Claims::<serde_json::Value>::from_identity(Arc::clone(&identity));
            Ok(identity.claims.sub.clone())
        }
        Err(e) => Err(e.to_string()),
    }
}

/// Splits fuzz input at the first newline: `(first line, rest)`.
fn split_line(input: &[u8]) -> (&[u8], &[u8]) {
    match input.iter().position(|b| *b == b'\n') {
        Some(i) => (&input[..i], &input[i + 1..]),
        None => (input, &[]),
    }
}

/// A prepared `OktaOidc` (one tenant, keys from a static key set, frozen clock, sign-in
/// configured) with the layer and the login router in front of it, on a current-thread
/// runtime. Nothing it does reaches the network.
pub struct Harness {
    runtime: tokio::runtime::Runtime,
    oidc: OktaOidc,
    sign_in: Login,
    api: Router,
    login: Router,
    clock: ManualClock,
    store: crate::store::MemoryStore,
}

impl std::fmt::Debug for Harness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Harness").finish_non_exhaustive()
    }
}

impl Harness {
    /// A harness whose tenant's keys are the usable keys of `jwks`.
    ///
    /// # Panics
    ///
    /// If `jwks` holds no usable key, or the runtime cannot start.
    pub fn new(jwks: &[u8]) -> Harness {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a current-thread runtime");
        let clock = ManualClock::new(Duration::from_secs(NOW));
        let store = crate::store::MemoryStore::with_clock(clock.clone());
        let oidc = OktaOidc::builder()
            .tenant(tenant())
            .revocation_store(store.clone())
            .algorithms(ALGORITHMS)
            .clock(clock.clone())
            .background_refresh(false)
            .unknown_kid_cooldown(Duration::from_secs(100 * 365 * 24 * 3600))
            .build_lazy()
            .expect("a valid fuzzing configuration");
        let sign_in = Login::new(
            &oidc,
            // Loopback http: the cookies keep their plain names (`okta_session`,
            // `okta_login_…`), which the committed seeds are sealed for.
            LoginConfig::new("http://127.0.0.1:8080")
                .session_secret(SESSION_SECRET)
                .userinfo(false),
        )
        .expect("a valid sign-in configuration");
        let keys = crate::provider::jwk::parse_jwks(jwks, &ALGORITHMS, None, ISSUER)
            .expect("the harness key set has usable keys");
        oidc.directory()
            .registry
            .by_issuer(ISSUER)
            .expect("the fuzzing tenant is registered")
            .keys
            .install_static(metadata(), keys);
        let api = Router::new()
            .route(
                "/api/me",
                get(|claims: Claims| async move { claims.sub.clone() }),
            )
            .layer(sign_in.layer());
        let login = sign_in.router();
        Harness {
            runtime,
            oidc,
            sign_in,
            api,
            login,
            clock,
            store,
        }
    }

    /// The harness's clock (frozen at [`NOW`] unless moved).
    pub fn clock(&self) -> &ManualClock {
        &self.clock
    }

    /// Validates a bearer token with [`OktaOidc::validate`].
    pub fn validate(&self, token: &str) -> Result<Claims, AuthError> {
        self.runtime.block_on(self.oidc.validate(token))
    }

    /// `input` as a bearer credential, through `authenticate_bearer` (JWT or opaque) and then
    /// through the layer over HTTP types. Returns the layer's status; asserts that the two
    /// agree and that only 200, 400, 401, 403 and 503 are ever answered.
    pub fn bearer(&self, input: &[u8]) -> u16 {
        let Ok(text) = std::str::from_utf8(input) else {
            return 0;
        };
        let validated = self.validate(text);
        let Ok(value) = HeaderValue::from_str(&format!("Bearer {text}")) else {
            return 0;
        };
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, value.clone());
        let extracted =
            crate::middleware::credential::bearer_token(&headers).map(|t| t.map(str::to_owned));
        let status = self.call_api(Some(value), None);
        assert!(
            matches!(status, 200 | 400 | 401 | 403 | 503),
            "unexpected status {status}"
        );
        match extracted {
            Ok(Some(token)) => {
                let mut request = Request::builder()
                    .uri("/api/me")
                    .body(())
                    .unwrap_or_default();
                *request.headers_mut() = headers;
                let (parts, ()) = request.into_parts();
                let direct = self
                    .runtime
                    .block_on(self.oidc.verifier().bearer(&token, &parts));
                assert_eq!(
                    direct.is_ok(),
                    status == 200,
                    "the layer and the validator disagree"
                );
                if token == text {
                    assert!(
                        validated.is_err() || direct.is_ok(),
                        "validate accepted what authenticate_bearer refused"
                    );
                }
            }
            _ => assert_ne!(status, 200, "the layer accepted a request without a token"),
        }
        status
    }

    fn call_api(&self, authorization: Option<HeaderValue>, cookie: Option<HeaderValue>) -> u16 {
        let mut request = Request::builder().uri("/api/me");
        if let Some(v) = authorization {
            request = request.header(AUTHORIZATION, v);
        }
        if let Some(v) = cookie {
            request = request.header(COOKIE, v);
        }
        let Ok(request) = request.body(Body::empty()) else {
            return 0;
        };
        let mut api = self.api.clone();
        let response: Response = self
            .runtime
            .block_on(async move { api.call(request).await })
            .unwrap_or_else(|never| match never {});
        response.status().as_u16()
    }

    /// Seals `plaintext` as the session cookie value (for the fuzzer's sealed mode).
    pub fn seal_session(&self, plaintext: &[u8]) -> String {
        let state = self.login_state();
        let sealed = state
            .keys
            .seal(Purpose::Session, state.cookie_name.as_bytes(), plaintext)
            .expect("sealing works");
        format!("1.{sealed}")
    }

    /// Opens a sealed session value (without the `N.` chunk prefix).
    pub fn open_session(&self, sealed: &str) -> Option<Vec<u8>> {
        let state = self.login_state();
        state
            .keys
            .open(Purpose::Session, state.cookie_name.as_bytes(), sealed)
    }

    /// Seals `plaintext` as the login cookie of `cookie_name`.
    pub fn seal_login(&self, cookie_name: &str, plaintext: &[u8]) -> String {
        self.login_state()
            .keys
            .seal(Purpose::Login, cookie_name.as_bytes(), plaintext)
            .expect("sealing works")
    }

    /// Opens a sealed login cookie value of `cookie_name`.
    pub fn open_login(&self, cookie_name: &str, sealed: &str) -> Option<Vec<u8>> {
        self.login_state()
            .keys
            .open(Purpose::Login, cookie_name.as_bytes(), sealed)
    }

    fn login_state(&self) -> &LoginSettings {
        &self.sign_in.settings
    }

    /// The session cookie through the layer. Input starting with `{` is sealed first (so the
    /// fuzzer reaches the JSON inside); anything else is the raw `Cookie` header. Returns the
    /// layer's status.
    pub fn session_cookie(&self, input: &[u8]) -> u16 {
        let header = if input.first() == Some(&b'{') {
            format!("{SESSION_COOKIE}={}", self.seal_session(input))
        } else {
            match std::str::from_utf8(input) {
                Ok(s) => s.to_owned(),
                Err(_) => return 0,
            }
        };
        let Ok(value) = HeaderValue::from_str(&header) else {
            return 0;
        };
        let status = self.call_api(None, Some(value));
        assert!(
            matches!(status, 200 | 401 | 403),
            "unexpected status {status}"
        );
        status
    }

    /// The login cookie of a fixed `state` through the callback route. Input starting with `{`
    /// is sealed first (so the fuzzer reaches the JSON inside); anything else is the raw cookie
    /// value.
    pub fn login_cookie(&self, input: &[u8]) -> u16 {
        let Ok(text) = std::str::from_utf8(input) else {
            return 0;
        };
        let name = format!("okta_login_{}", &LOGIN_STATE[..16]);
        let query = format!("state={LOGIN_STATE}&code=fuzz-code&iss={ISSUER}");
        if text.starts_with('{') {
            return self.callback(format!("{query}\n{text}").as_bytes());
        }
        let _ = self.open_login(&name, text);
        self.callback(format!("{query}\n{name}={text}").as_bytes())
    }

    /// The callback route. The first line of `input` is the query string. The rest is the
    /// login cookie: when it starts with `{` it is sealed as the login cookie of the query's
    /// `state` (so the fuzzer reaches the JSON inside), else it is the raw `Cookie` header.
    /// Returns the status; asserts the callback never signs anyone in (the harness has no
    /// token endpoint) and never answers 5xx other than 502/503.
    pub fn callback(&self, input: &[u8]) -> u16 {
        let (query, rest) = split_line(input);
        let (Ok(query), Ok(rest)) = (std::str::from_utf8(query), std::str::from_utf8(rest)) else {
            return 0;
        };
        let cookie = if rest.starts_with('{') {
            let state = url::form_urlencoded::parse(query.as_bytes())
                .find(|(k, _)| k == "state")
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default();
            match state.get(..16) {
                Some(prefix) => {
                    let name = format!("okta_login_{prefix}");
                    format!("{name}={}", self.seal_login(&name, rest.as_bytes()))
                }
                None => String::new(),
            }
        } else {
            rest.to_owned()
        };
        let Ok(uri) = format!("/auth/callback?{query}").parse::<Uri>() else {
            return 0;
        };
        let mut request = Request::builder().uri(uri);
        if let Ok(v) = HeaderValue::from_str(&cookie)
            && !cookie.is_empty()
        {
            request = request.header(COOKIE, v);
        }
        let Ok(request) = request.body(Body::empty()) else {
            return 0;
        };
        // Each input on its own: forget the states earlier inputs used up.
        self.store.forget_markers();
        let mut login = self.login.clone();
        let response: Response = self
            .runtime
            .block_on(async move { login.call(request).await })
            .unwrap_or_else(|never| match never {});
        let status = response.status();
        assert!(
            status != StatusCode::FOUND && status != StatusCode::OK,
            "the callback signed someone in without a token endpoint ({status})"
        );
        assert!(
            status.is_client_error() || matches!(status.as_u16(), 500 | 502 | 503),
            "unexpected status {status}"
        );
        status.as_u16()
    }
}
