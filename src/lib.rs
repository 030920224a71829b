//! # okta-oidc
//!
//! Okta sign-in and token validation for [axum](https://docs.rs/axum) and any
//! [Tower](https://docs.rs/tower) service, built for SaaS apps in the Okta Integration Network
//! (OIN), where every customer is its own Okta org.
//!
//! - [`OktaOidcLayer`] validates bearer tokens against each tenant's key set, kept in a
//!   lock-free cache refreshed off the request path, and puts typed [`Claims`] in the request.
//! - Tenants ([`Tenant`]) come and go at runtime, or load lazily through a [`TenantLoader`].
//! - [`LogoutEndpoints`] serves Okta's Universal Logout and OpenID Connect Back-Channel Logout;
//!   with RP-initiated logout they record revocations in the [`store`] (memory, or Redis with
//!   feature `redis` for many instances), which every accepted identity is checked against.
//! - The [`testing`] module (feature `test-util`) runs a mock Okta org in process.
//!
//! ## Quick start
//!
//! ```no_run
//! use axum::{Json, Router, routing::get};
//! use okta_oidc::{Claims, OktaOidc, OktaOidcLayer, Tenant};
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let oidc = OktaOidc::builder()
//!         .tenant(Tenant::new("acme", "https://acme.okta.com").client_id("0oa1acme"))
//!         .build()
//!         .await?; // discovery + key set loaded, or a clear error
//!     let app = Router::new()
//!         .route("/api/me", get(|claims: Claims| async move { Json(claims) }))
//!         .layer(OktaOidcLayer::new(oidc));
//!     let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//!     axum::serve(listener, app).await?;
//!     Ok(())
//! }
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
mod diagnose;
mod error;
mod expiring_map;
mod handle;
mod idp_logout;
#[cfg(feature = "login")]
mod login;
mod middleware;
mod protected_resource;
mod provider;
mod resource_metadata;
mod single_flight;
pub mod store;
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
pub use handle::OktaOidc;
pub use idp_logout::{
    LogoutEndpointFuture, LogoutEndpointService, LogoutEndpoints, LogoutEndpointsConfig,
};
#[cfg(feature = "login")]
pub use login::{Login, LoginConfig};
pub use middleware::body::ResponseBody;
pub use middleware::extract::ClaimsRejection;
pub use middleware::future::ResponseFuture;
pub use middleware::layer::OktaOidcLayer;
pub use middleware::scopes::{RequireScopes, RequireScopesService};
pub use middleware::service::OktaOidcService;
pub use middleware::sessions::{Session, SessionFuture, SessionSource};
pub use protected_resource::ProtectedResource;
pub use provider::discovery::ProviderMetadata;
pub use provider::refresh_policy::KeyRefreshPolicy;
pub use resource_metadata::ResourceMetadataService;
pub use tenant::{
    BoxError, ClientSecret, LoadFuture, Tenant, TenantKey, TenantLoader, TenantResolver,
};
pub use time::{Clock, ManualClock, SystemClock};
pub use verify::dpop_config::Dpop;
pub use verify::dpop_replay::{MemoryProofReplay, ProofReplay, ReplayFuture};
