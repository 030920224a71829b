//! # okta-oidc
//!
//! Okta sign-in and token validation for [axum](https://docs.rs/axum) and any
//! [Tower](https://docs.rs/tower) service, built for SaaS apps in the Okta Integration Network
//! (OIN), where every customer is its own Okta org.
//!
//! - [`OktaOidcLayer`] validates bearer tokens against each tenant's key set, kept in a
//!   lock-free cache refreshed off the request path, and puts typed [`Claims`] in the request.
//! - Tenants ([`Tenant`]) come and go at runtime, or load lazily through a [`TenantLoader`].
//! - [`Login`] (feature `login`, default) signs browsers in and keeps an encrypted session.
//! - [`LogoutEndpoints`] serves Okta's Universal Logout and OpenID Connect Back-Channel Logout;
//!   with RP-initiated logout they record revocations in the [`store`] (memory, or Redis with
//!   feature `redis` for many instances), which every accepted identity is checked against.
//! - [`Dpop`] accepts sender-constrained tokens (RFC 9449), and [`ProtectedResource`] publishes
//!   the API's metadata (RFC 9728).
//! - The [`testing`] module (feature `test-util`) runs a mock Okta org in process.
//!
//! Every refusal is logged at `INFO` with a short reason ([`AuthError::reason`]), once a minute
//! per reason and tenant; `RUST_LOG=okta_oidc=debug` (with tracing-subscriber's `EnvFilter`)
//! shows more.
//!
//! ## Quick start: an API that takes access tokens
//!
//! ```no_run
//! use axum::{Json, Router, routing::get};
//! use okta_oidc::{Claims, OktaOidc, OktaOidcLayer, Tenant};
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let oidc = OktaOidc::builder()
//!         .tenant(Tenant::new("acme", "https://acme.okta.com/oauth2/default").audience("api://default"))
//!         .build()
//!         .await?;
//!     // build() fails only on a configuration error; an org it cannot reach is logged (WARN,
//!     // with the cause) and its requests answer 503 until its keys load.
//!     let app = Router::new()
//!         .route("/api/me", get(|claims: Claims| async move { Json(claims) }))
//!         .layer(OktaOidcLayer::new(oidc));
//!     let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//!     axum::serve(listener, app).await?;
//!     Ok(())
//! }
//! ```
//!
//! `.audience("api://default")` on `https://{org}/oauth2/default` accepts that server's access
//! tokens; `.client_id(id)` accepts that client's ID tokens; the org server's access tokens
//! (issuer `https://{org}`) are introspected with `.client(id, secret)`.
//!
//! ## Your own claims: `Claims<T>`
//!
//! ```
//! use axum::{Router, routing::get};
//! use okta_oidc::Claims;
//!
//! #[derive(serde::Deserialize)]
//! struct Extra {
//!     #[serde(default)]
//!     groups: Vec<String>,
//! }
//!
//! async fn me(claims: Claims<Extra>) -> String {
//!     format!("{} in {:?}", claims.sub, claims.extra.groups)
//! }
//!
//! let app: Router = Router::new().route("/api/me", get(me)); // behind OktaOidcLayer
//! # let _ = app;
//! ```
//!
//! ## Browser sign-in
//!
//! ```no_run
//! use axum::{Json, Router, routing::get};
//! use okta_oidc::{Claims, Login, LoginConfig, OktaOidc, Tenant};
//!
//! # async fn app() -> Result<Router, Box<dyn std::error::Error>> {
//! let oidc = OktaOidc::builder()
//!     .tenant(Tenant::new("acme", "https://acme.okta.com").client("0oa1acme", "client secret"))
//!     .build()
//!     .await?;
//! let login = Login::new(&oidc, LoginConfig::new("https://app.example.com").session_secret([7u8; 32]))?;
//! let app = Router::new()
//!     .route("/api/me", get(|c: Claims| async move { Json(c) }))
//!     .layer(login.layer()) // the session cookie or a bearer token
//!     .merge(login.router()); // /auth/login, /auth/callback, /auth/logout
//! # Ok(app) }
//! ```
//!
//! ## Logout signals: Universal Logout and back-channel logout
//!
//! ```no_run
//! use axum::Router;
//! use okta_oidc::{LogoutEndpoints, LogoutEndpointsConfig, OktaOidc, Tenant};
//!
//! # fn app() -> Result<Router, Box<dyn std::error::Error>> {
//! let oidc = OktaOidc::builder()
//!     .tenant(Tenant::new("acme", "https://acme.okta.com").client_id("0oa1acme"))
//!     .build_lazy()?;
//! let logout = LogoutEndpoints::new(&oidc, LogoutEndpointsConfig::new("https://app.example.com"))?;
//! let app = Router::new().merge(logout.router()); // POST /auth/global-token-revocation, …
//! # Ok(app) }
//! ```
//!
//! ## DPoP (RFC 9449) and protected-resource metadata (RFC 9728)
//!
//! ```
//! use axum::{Json, Router, routing::get};
//! use okta_oidc::{Claims, Dpop, OktaOidc, OktaOidcLayer, ProtectedResource, Tenant};
//!
//! # fn app() -> Result<Router, okta_oidc::ConfigError> {
//! let oidc = OktaOidc::builder()
//!     .tenant(Tenant::new("acme", "https://acme.okta.com/oauth2/default").audience("api://default"))
//!     .protected_resource(ProtectedResource::new("https://api.example.com"))
//!     .dpop(Dpop::new()) // `Authorization: DPoP` with a proof, beside `Bearer`
//!     .build_lazy()?;
//! let app = Router::new()
//!     .route("/api/me", get(|c: Claims| async move { Json(c) }))
//!     .layer(OktaOidcLayer::new(oidc.clone())) // 401s name the metadata URL
//!     .merge(oidc.resource_metadata_router()); // /.well-known/oauth-protected-resource
//! # Ok(app) }
//! ```
//!
//! ## Security
//!
//! - Keys come only from the tenant's discovery `jwks_uri`; header `jku`, `x5u`, `jwk` and
//!   `x5c` are never used, and the issuer of an unregistered tenant is never contacted.
//! - The algorithm allow-list (default RS256) is checked before anything else; `none` and HMAC
//!   are never accepted, and a key is used only with its own algorithm.
//! - Tokens, secrets and cookies never reach logs; `Debug` redacts them.
//! - `http://` issuers and endpoints are refused, on loopback hosts too unless the application
//!   asks ([`OktaOidcBuilder::allow_loopback_http`]); discovery endpoints must be on the
//!   issuer's host.
//! - Strangers cannot spend a customer's Okta rate limit: introspection calls per tenant and
//!   loader calls are bounded ([`OktaOidcBuilder::introspection_budget`],
//!   [`OktaOidcBuilder::loader_budget`]); values that cannot be tokens cost no call.
//! - The login half's session cookie is `__Host-`/`__Secure-` over https, refused for
//!   cross-site state-changing requests, and never stored by a shared cache.

#![deny(missing_docs)]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "fuzzing")]
#[doc(hidden)]
#[path = "testing/fuzz.rs"]
pub mod __fuzz;
mod algorithm;
mod builder;
mod call_budget;
mod claims;
mod client_address;
mod diagnose;
mod error;
mod expiring_map;
mod grant;
mod handle;
mod html;
mod idp_logout;
#[cfg(feature = "login")]
mod login;
mod middleware;
mod protected_resource;
mod provider;
mod reason;
mod rejection_log;
mod request_body;
mod resource_metadata;
mod single_flight;
pub mod store;
pub mod telemetry;
mod tenant;
mod time;
mod verify;

#[cfg(feature = "test-util")]
pub mod testing;

pub use algorithm::{Algorithm, UnknownAlgorithm};
pub use builder::{BuildError, OktaOidcBuilder};
pub use call_budget::CallBudget;
pub use claims::{Audience, Claims, Confirmation, CredentialSource, StandardClaims, TenantRef};
pub use diagnose::{
    Check, CheckCode, Diagnosis, DiagnosisOptions, KeySetStatus, RevocationStatus, Status,
    TenantStatus, UnknownCheckCode,
};
pub use error::{AuthError, ConfigError, LoadError, ProofError, TokenError, WarmUpError};
pub use grant::{
    AccessTokenSigner, GrantClient, JwtBearerGrant, JwtBearerGrantConfig, JwtBearerGrantFuture,
    JwtBearerGrantService, SignFuture, SigningError,
};
pub use handle::OktaOidc;
pub use idp_logout::{
    LogoutEndpointFuture, LogoutEndpointService, LogoutEndpoints, LogoutEndpointsConfig,
    OnCredentialChange, ServiceApp, SsfConfiguration, SsfEventCounts, SsfManageError, SsfStream,
    SsfTransmitter,
};
#[cfg(feature = "login")]
pub use login::{Login, LoginConfig};
pub use middleware::body::ResponseBody;
pub use middleware::extract::ClaimsRejection;
pub use middleware::future::ResponseFuture;
pub use middleware::layer::OktaOidcLayer;
pub use middleware::scopes::{RequireScopes, RequireScopesService};
pub use middleware::service::OktaOidcService;
pub use middleware::sessions::{
    EndedSession, Session, SessionCheck, SessionCheckFuture, SessionEnd, SessionFuture,
    SessionSource,
};
pub use middleware::step_up::{RequireAuthentication, RequireAuthenticationService};
pub use protected_resource::ProtectedResource;
pub use provider::discovery::ProviderMetadata;
pub use provider::private_key::ClientKey;
pub use provider::refresh_policy::KeyRefreshPolicy;
pub use reason::REJECTION_REASONS;
pub use resource_metadata::ResourceMetadataService;
pub use tenant::{
    BoxError, ClientSecret, FilteredLoader, LoadFuture, Tenant, TenantKey, TenantLoader,
    TenantResolver,
};
pub use time::{Clock, ManualClock, SystemClock};
pub use verify::dpop_config::Dpop;
pub use verify::dpop_replay::{MemoryProofReplay, ProofReplay, ReplayFuture};

/// The README's code, compiled by `cargo test --all-features`: every snippet as shown.
#[cfg(all(
    doctest,
    feature = "login",
    feature = "redis-tls",
    feature = "test-util"
))]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
