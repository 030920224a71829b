//! The fuzz harness of what a stranger or a provider sends to the endpoints beyond the login
//! half: DPoP proofs through the layer (RFC 9449), Universal Logout and Back-Channel Logout
//! requests through [`LogoutEndpoints`], and RFC 9728 metadata paths through the
//! [`ResourceMetadataService`](crate::ResourceMetadataService).
//!
//! Each entry point takes the text form of an input (what `fuzz/corpus/<target>/` and
//! `fuzz/regressions/<target>/` hold). A line that starts with `{` is a JWS payload the harness
//! signs itself — `CLAIMS` with the usual header, or `HEADER<TAB>CLAIMS` — so that the fuzzer
//! reaches every check behind the signature; the bytes are signed verbatim (RS256 with the
//! tenant's RSA key when the header says so — Universal Logout requests —, else Ed25519 with the
//! tenant's key for logout tokens and with the client's key for DPoP proofs). Needs the
//! `rust_crypto` backend, whose crates sign.

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::routing::any;
use axum_core::response::Response;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::header::{AUTHORIZATION, CONTENT_TYPE, HOST};
use http::{HeaderValue, Method, Request};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tower_service::Service;

use crate::__fuzz::htu::same_uri;
use crate::__fuzz::keys::{CLIENT_SEED, EdKey, RsaKey, TENANT_SEED};
use crate::__fuzz::{ALGORITHMS, AUDIENCE, CLIENT_ID, ISSUER, NOW, TENANT, metadata_of};
use crate::claims::Claims;
use crate::handle::OktaOidc;
use crate::idp_logout::{LogoutEndpoints, LogoutEndpointsConfig};
use crate::middleware::layer::OktaOidcLayer;
use crate::protected_resource::ProtectedResource;
use crate::store::{MemoryStore, RevocationKind, RevocationStore};
use crate::tenant::Tenant;
use crate::time::ManualClock;
use crate::verify::dpop_config::Dpop;

/// The second tenant's id: its own issuer and its own resource.
pub const TENANT2: &str = "fuzz2";
/// The second tenant's issuer.
pub const ISSUER2: &str = "https://fuzz2.okta.example";
/// The application's protected resource (RFC 9728), and the base of DPoP `htu`.
pub const RESOURCE: &str = "https://api.fuzz.example/v1";
/// The second tenant's own resource.
pub const RESOURCE2: &str = "https://t2.api.fuzz.example/v2";
/// The base URL of the app: the Universal Logout `aud` is this + `/auth/global-token-revocation`.
pub const APP_BASE_URL: &str = "https://app.fuzz.example";
/// The kid of the tenants' Ed25519 signing key (the harness signs logout tokens and the bound
/// access token with it).
pub const SIGNAL_KID: &str = "fuzz-ed-1";
/// The kid of the tenants' RSA signing key (the harness signs Universal Logout requests with
/// it: RS256 only).
pub const RSA_KID: &str = "fuzz-rsa-1";
/// The subject of the DPoP-bound access token.
pub const DPOP_SUB: &str = "00u1fuzzuser";
/// The request line of a DPoP input without one.
pub const DEFAULT_REQUEST: &str = "GET /v1/api/me";

/// Splits at the first newline: `(first line, rest)`.
fn line(input: &str) -> (&str, &str) {
    input.split_once('\n').unwrap_or((input, ""))
}

/// The payload segment of a compact JWS, decoded, if it is JSON.
fn payload(token: &str) -> Option<Value> {
    let segment = token.split('.').nth(1)?;
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(segment).ok()?).ok()
}

/// Two tenants (one issuer each, keys from a static set plus the harness's signing key), DPoP
/// on, a protected resource, the logout endpoints, a tenant resolver by `Host`; a frozen clock
/// and a memory store; a current-thread runtime. Nothing it does reaches the network.
pub struct Signals {
    runtime: tokio::runtime::Runtime,
    oidc: OktaOidc,
    api: Router,
    logout: Router,
    store: MemoryStore,
    tenant_key: EdKey,
    tenant_rsa: RsaKey,
    client_key: EdKey,
    bound_token: String,
    universal_url: String,
}

impl std::fmt::Debug for Signals {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signals").finish_non_exhaustive()
    }
}

impl Signals {
    /// The harness; `jwks` is the tenants' key set (`fuzz/keys.json`): the harness adds its
    /// own Ed25519 key ([`SIGNAL_KID`]) to it.
    ///
    /// # Panics
    ///
    /// If `jwks` is not a key set, or the runtime cannot start.
    pub fn new(jwks: &[u8]) -> Signals {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a current-thread runtime");
        let clock = ManualClock::new(Duration::from_secs(NOW));
        let store = MemoryStore::with_clock(clock.clone());
        let tenant_key = EdKey::new(TENANT_SEED);
        let tenant_rsa = RsaKey::new();
        let client_key = EdKey::new(CLIENT_SEED);
        let oidc = OktaOidc::builder()
            .tenant(
                Tenant::new(TENANT, ISSUER)
                    .client(CLIENT_ID, "fuzz-client-secret")
                    .audience(AUDIENCE),
            )
            .tenant(
                Tenant::new(TENANT2, ISSUER2)
                    .client("0oa2fuzzclient", "fuzz-client-secret-2")
                    .audience(AUDIENCE)
                    .resource(RESOURCE2),
            )
            .tenant_resolver(|request: &http::request::Parts| {
                let host = request.headers.get(HOST)?.to_str().ok()?;
                match host {
                    "api.fuzz.example" => Some(TENANT.to_owned()),
                    "t2.api.fuzz.example" => Some(TENANT2.to_owned()),
                    _ => None,
                }
            })
            .protected_resource(ProtectedResource::new(RESOURCE).scopes_supported(["read"]))
            .dpop(Dpop::new())
            .revocation_store(store.clone())
            .algorithms(ALGORITHMS)
            .clock(clock)
            .background_refresh(false)
            .unknown_kid_cooldown(Duration::from_secs(100 * 365 * 24 * 3600))
            .build_lazy()
            .expect("a valid fuzzing configuration");
        let mut set: Value = serde_json::from_slice(jwks).expect("a JSON key set");
        let mut signal_jwk = tenant_key.jwk();
        signal_jwk["kid"] = json!(SIGNAL_KID);
        signal_jwk["alg"] = json!("EdDSA");
        let mut rsa_jwk = tenant_rsa.jwk.clone();
        rsa_jwk["kid"] = json!(RSA_KID);
        rsa_jwk["alg"] = json!("RS256");
        let keys = set["keys"].as_array_mut().expect("a key set with keys");
        keys.push(signal_jwk);
        keys.push(rsa_jwk);
        let set = set.to_string();
        for issuer in [ISSUER, ISSUER2] {
            let keys = crate::provider::jwk::parse_jwks(set.as_bytes(), &ALGORITHMS, None, issuer)
                .expect("the harness key set has usable keys");
            oidc.directory()
                .registry
                .by_issuer(issuer)
                .expect("the fuzzing tenants are registered")
                .keys
                .install_static(metadata_of(issuer), keys);
        }
        let bound_claims = json!({
            "iss": ISSUER, "aud": AUDIENCE, "cid": CLIENT_ID, "sub": DPOP_SUB,
            "iat": NOW, "exp": NOW + 3600, "jti": "AT.dpop.fuzz", "scp": ["read"],
            "cnf": {"jkt": client_key.thumbprint()},
        });
        let header = json!({"alg": "EdDSA", "kid": SIGNAL_KID, "typ": "JWT"});
        let bound_token = tenant_key.sign(
            header.to_string().as_bytes(),
            bound_claims.to_string().as_bytes(),
        );
        let endpoints = LogoutEndpoints::new(&oidc, LogoutEndpointsConfig::new(APP_BASE_URL))
            .expect("valid logout endpoints");
        let universal_url = endpoints.universal_logout_url().to_owned();
        let api = Router::new()
            // Every method and path reaches the layer and, past it, a handler (no 404 or 405
            // after a successful check).
            .route(
                "/v1/api/me",
                any(|claims: Claims| async move { claims.sub.clone() }),
            )
            .fallback(|claims: Claims| async move { claims.sub.clone() })
            .layer(OktaOidcLayer::new(oidc.clone()));
        Signals {
            runtime,
            logout: endpoints.router(),
            oidc,
            api,
            store,
            tenant_key,
            tenant_rsa,
            client_key,
            bound_token,
            universal_url,
        }
    }

    /// The DPoP-bound access token every DPoP input is sent with.
    pub fn bound_token(&self) -> &str {
        &self.bound_token
    }

    /// The Universal Logout URL (the `aud` its requests carry).
    pub fn universal_url(&self) -> &str {
        &self.universal_url
    }

    /// The client's public DPoP key (the `jwk` of the proofs the harness signs).
    pub fn client_jwk(&self) -> Value {
        self.client_key.jwk()
    }

    /// A line of input as a compact JWS: `{…}` (claims) or `{…}<TAB>{…}` (header, claims) is
    /// signed (`default_header` when no header is given) with the RSA key when the header's
    /// `alg` is `RS256`, else with `key`; anything else is taken as it is.
    fn token(&self, key: &EdKey, line: &str, default_header: &Value) -> String {
        if !line.starts_with('{') {
            return line.to_owned();
        }
        let default = default_header.to_string();
        let (header, claims) = line.split_once('\t').unwrap_or((&default, line));
        let alg = serde_json::from_str::<Value>(header)
            .ok()
            .and_then(|h| h.get("alg").and_then(Value::as_str).map(str::to_owned));
        if alg.as_deref() == Some("RS256") {
            self.tenant_rsa.sign(header.as_bytes(), claims.as_bytes())
        } else {
            key.sign(header.as_bytes(), claims.as_bytes())
        }
    }

    /// A DPoP proof (or a payload to sign with the client key) on the first line, the request
    /// (`METHOD /path?query`, default [`DEFAULT_REQUEST`]) on the second; sent through the
    /// layer with `Authorization: DPoP` and [`bound_token`](Self::bound_token). Returns the
    /// status; asserts only 200, 400, 401 and 403 are answered, that an accepted proof names
    /// the request (`htm`, `htu`, `ath`) and that it is never accepted twice.
    pub fn dpop(&self, input: &[u8]) -> u16 {
        let Ok(text) = std::str::from_utf8(input) else {
            return 0;
        };
        let (proof_line, rest) = line(text);
        let (request_line, _) = line(rest);
        let request_line = if request_line.is_empty() {
            DEFAULT_REQUEST
        } else {
            request_line
        };
        let header = json!({"typ": "dpop+jwt", "alg": "EdDSA", "jwk": self.client_key.jwk()});
        let proof = self.token(&self.client_key, proof_line, &header);
        let Some((method, target)) = request_line.split_once(' ') else {
            return 0;
        };
        let Ok(method) = Method::from_bytes(method.as_bytes()) else {
            return 0;
        };
        let send = || {
            let request = Request::builder()
                .method(method.clone())
                .uri(target)
                .header(AUTHORIZATION, format!("DPoP {}", self.bound_token))
                .header("dpop", proof.as_str())
                .body(Body::empty());
            let Ok(request) = request else {
                return 0;
            };
            let mut api = self.api.clone();
            let response: Response = self
                .runtime
                .block_on(async move { api.call(request).await })
                .unwrap_or_else(|never| match never {});
            response.status().as_u16()
        };
        self.store.forget_markers();
        let status = send();
        assert!(
            matches!(status, 0 | 200 | 400 | 401 | 403),
            "unexpected status {status}"
        );
        if status == 200 {
            let claims = payload(&proof).expect("an accepted proof has JSON claims");
            assert_eq!(
                claims["htm"].as_str(),
                Some(method.as_str()),
                "a proof for another method was accepted"
            );
            let path = target.split(['?', '#']).next().unwrap_or_default();
            let uri = format!("https://api.fuzz.example{path}");
            let htu = claims["htu"].as_str().unwrap_or_default();
            assert!(same_uri(htu, &uri), "a proof for another URI was accepted");
            let ath = URL_SAFE_NO_PAD.encode(Sha256::digest(self.bound_token.as_bytes()));
            assert_eq!(
                claims["ath"].as_str(),
                Some(ath.as_str()),
                "wrong ath accepted"
            );
            assert_ne!(send(), 200, "a DPoP proof was accepted twice");
        }
        status
    }

    fn post(&self, path: &str, authorization: Option<&str>, body: Vec<u8>, form: bool) -> u16 {
        let mut request = Request::builder().method(Method::POST).uri(path).header(
            CONTENT_TYPE,
            if form {
                "application/x-www-form-urlencoded"
            } else {
                "application/json"
            },
        );
        if let Some(token) = authorization {
            let Ok(value) = HeaderValue::from_str(&format!("Bearer {token}")) else {
                return 0;
            };
            request = request.header(AUTHORIZATION, value);
        }
        let Ok(request) = request.body(Body::from(body)) else {
            return 0;
        };
        let mut logout = self.logout.clone();
        let response: Response = self
            .runtime
            .block_on(async move { logout.call(request).await })
            .unwrap_or_else(|never| match never {});
        response.status().as_u16()
    }

    /// The tenant of the signal's `iss`, if it is one of the harness's.
    fn tenant_of(token: &str) -> Option<&'static str> {
        match payload(token)?.get("iss")?.as_str()? {
            ISSUER => Some(TENANT),
            ISSUER2 => Some(TENANT2),
            _ => None,
        }
    }

    fn revoked(&self, kind: RevocationKind, tenant: &str, value: &str) -> Option<u64> {
        self.store
            .mirror()
            .revoked_before(kind, tenant, value, NOW * 1000)
    }

    /// A Universal Logout request: the bearer token (or a payload the harness signs with the
    /// tenant key as a `global-token-revocation+jwt`) on the first line, the JSON body after
    /// it. Returns the status; asserts only 204, 400, 401, 403 and 503 are answered, that a `204`
    /// recorded the revocation of the named user in the token's tenant, and that the same
    /// request is refused the second time (its `jti` is used up).
    pub fn universal_logout(&self, input: &[u8]) -> u16 {
        let Ok(text) = std::str::from_utf8(input) else {
            return 0;
        };
        let (token_line, body) = line(text);
        let header = json!({"alg": "RS256", "kid": RSA_KID, "typ": "global-token-revocation+jwt"});
        let token = self.token(&self.tenant_key, token_line, &header);
        let authorization = (!token.is_empty()).then_some(token.as_str());
        let path = "/auth/global-token-revocation";
        self.store.forget_markers();
        let status = self.post(path, authorization, body.as_bytes().to_vec(), false);
        assert!(
            // 503: a `kid` the key set lacks while a refetch is held back (the harness holds
            // every refetch back; #25: the key may be new, so the caller should retry).
            matches!(status, 0 | 204 | 400 | 401 | 403 | 503),
            "unexpected status {status}"
        );
        if status == 204 {
            let tenant = Self::tenant_of(&token).expect("a 204 for a harness tenant");
            let json: Value = serde_json::from_str(body).expect("a 204 for a JSON body");
            let subject = json.get("sub_id").or_else(|| json.get("subject"));
            let subject = subject.expect("a 204 names the user");
            let (kind, value) = match subject["format"].as_str() {
                Some("email") => (
                    RevocationKind::Email,
                    subject["email"].as_str().unwrap_or_default().to_lowercase(),
                ),
                _ => (
                    RevocationKind::Subject,
                    subject["sub"].as_str().unwrap_or_default().to_owned(),
                ),
            };
            assert_eq!(
                self.revoked(kind, tenant, &value),
                Some(NOW * 1000),
                "a 204 without the revocation recorded"
            );
            let again = self.post(path, authorization, body.as_bytes().to_vec(), false);
            assert_eq!(again, 401, "a Universal Logout request was accepted twice");
        }
        status
    }

    /// A Back-Channel Logout request: the form body, or (a line starting with `{`) a payload
    /// the harness signs with the tenant key as a `logout+jwt` and sends as the form's
    /// `logout_token`. Returns the status; asserts only 200, 400 and 503 are answered, that a `200`
    /// recorded the revocation of the token's `sid` (else `sub`), and that the same token is
    /// refused the second time.
    pub fn backchannel_logout(&self, input: &[u8]) -> u16 {
        let Ok(text) = std::str::from_utf8(input) else {
            return 0;
        };
        let header = json!({"alg": "EdDSA", "kid": SIGNAL_KID, "typ": "logout+jwt"});
        let body = if text.starts_with('{') {
            let token = self.token(&self.tenant_key, line(text).0, &header);
            format!("logout_token={token}")
        } else {
            text.to_owned()
        };
        let path = "/auth/backchannel-logout";
        self.store.forget_markers();
        let status = self.post(path, None, body.clone().into_bytes(), true);
        assert!(
            // 503: a `kid` the key set lacks while a refetch is held back (#25).
            matches!(status, 0 | 200 | 400 | 503),
            "unexpected status {status}"
        );
        if status == 200 {
            let token = url::form_urlencoded::parse(body.as_bytes())
                .find(|(k, _)| k == "logout_token")
                .map(|(_, v)| v.into_owned())
                .expect("a 200 for a form with a logout token");
            let tenant = Self::tenant_of(&token).expect("a 200 for a harness tenant");
            let claims = payload(&token).expect("a 200 for JSON claims");
            let sid = claims["sid"].as_str().filter(|s| !s.is_empty());
            let (kind, value) = match sid {
                Some(sid) => (RevocationKind::Sid, sid),
                None => (
                    RevocationKind::Subject,
                    claims["sub"].as_str().unwrap_or_default(),
                ),
            };
            assert_eq!(
                self.revoked(kind, tenant, value),
                Some(NOW * 1000),
                "a 200 without the revocation recorded"
            );
            let again = self.post(path, None, body.into_bytes(), true);
            assert_eq!(again, 400, "a logout token was accepted twice");
        }
        status
    }

    /// An RFC 9728 metadata request: the request target on the first line, the `Host` header
    /// (optional) on the second, the method (optional, default `GET`) on the third. Returns
    /// the status; asserts only 200, 404 and 405 are answered, and that a document names one
    /// of the configured resources and, as authorization server, at most the issuer of the
    /// tenant whose resource it is (the list of customers is never published).
    pub fn resource_metadata(&self, input: &[u8]) -> u16 {
        let Ok(text) = std::str::from_utf8(input) else {
            return 0;
        };
        let (target, rest) = line(text);
        let (host, rest) = line(rest);
        let (method, _) = line(rest);
        let method = if method.is_empty() { "GET" } else { method };
        let Ok(method) = Method::from_bytes(method.as_bytes()) else {
            return 0;
        };
        let mut request = Request::builder().method(method.clone()).uri(target);
        if !host.is_empty() {
            let Ok(host) = HeaderValue::from_str(host) else {
                return 0;
            };
            request = request.header(HOST, host);
        }
        let Ok(request) = request.body(Body::empty()) else {
            return 0;
        };
        let mut service = self.oidc.resource_metadata_service();
        let (status, body) = self.runtime.block_on(async move {
            let response = service
                .call(request)
                .await
                .unwrap_or_else(|never| match never {});
            let status = response.status().as_u16();
            let body = axum::body::to_bytes(response.into_body(), 1 << 20)
                .await
                .unwrap_or_default();
            (status, body)
        });
        assert!(
            matches!(status, 200 | 404 | 405),
            "unexpected status {status}"
        );
        if status == 200 && method == Method::GET {
            let document: Value = serde_json::from_slice(&body).expect("a JSON document");
            let resource = document["resource"].as_str().expect("a resource");
            let servers = document.get("authorization_servers");
            let servers: Vec<&str> = servers
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            match resource {
                RESOURCE => assert!(servers.is_empty() || servers == [ISSUER]),
                RESOURCE2 => assert!(servers.is_empty() || servers == [ISSUER2]),
                other => panic!("a document for a resource never configured: {other}"),
            }
        }
        status
    }
}

/// Claims of a valid Universal Logout token (tenant [`TENANT`]) for the seeds.
pub fn universal_claims(signals: &Signals, jti: &str) -> Value {
    json!({
        "iss": ISSUER, "sub": CLIENT_ID, "aud": signals.universal_url(),
        "iat": NOW, "nbf": NOW - 300, "exp": NOW + 300, "jti": jti,
    })
}

/// Claims of a valid Back-Channel Logout token for the seeds.
pub fn logout_claims(jti: &str) -> Value {
    json!({
        "iss": ISSUER, "aud": CLIENT_ID, "iat": NOW, "exp": NOW + 120, "jti": jti,
        "events": {"http://schemas.openid.net/event/backchannel-logout": {}},
        "sub": "00u1fuzzuser",
    })
}

/// Claims of a valid DPoP proof for [`DEFAULT_REQUEST`] and the bound token, for the seeds.
pub fn proof_claims(signals: &Signals, jti: &str) -> Value {
    json!({
        "jti": jti, "htm": "GET", "htu": "https://api.fuzz.example/v1/api/me", "iat": NOW,
        "ath": URL_SAFE_NO_PAD.encode(Sha256::digest(signals.bound_token().as_bytes())),
    })
}
