//! The endpoints an identity provider calls to sign a user out of the app: Okta's **Universal
//! Logout** (a global token revocation request, OIN), **OpenID Connect Back-Channel Logout
//! 1.0**, and the **Shared Signals** push endpoint (OpenID SSF 1.0, CAEP 1.0, RFC 8935: the
//! `session-revoked` and `credential-change` events Okta transmits).
//!
//! Both are plain Tower services ([`LogoutEndpointService`]), so an API-only app mounts them
//! without the `login` feature; [`LogoutEndpoints::router`] (feature `axum`, on with `login`)
//! is the axum convenience. Each request's JWT goes through the crate's one verifier with its
//! own rules, and the revocation is recorded in the [revocation store](crate::store) before the
//! answer: every instance then refuses the user's sessions, ID tokens and introspected tokens
//! issued before it. Nothing here imports the login half.

mod answer;
mod backchannel;
mod config;
#[cfg(feature = "axum")]
mod router;
mod service;
mod settings;
mod signal;
mod ssf;
mod ssf_api;
mod ssf_config;
mod ssf_event;
mod ssf_manage;
mod universal;

pub use self::config::{LogoutEndpoints, LogoutEndpointsConfig};
pub use self::service::{LogoutEndpointFuture, LogoutEndpointService};
pub use self::ssf_config::{OnCredentialChange, SsfEventCounts};
pub use self::ssf_manage::{
    ServiceApp, SsfConfiguration, SsfManageError, SsfStream, SsfTransmitter,
};
