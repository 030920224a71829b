//! The endpoints an identity provider calls to sign a user out of the app: Okta's **Universal
//! Logout** (a global token revocation request, OIN) and **OpenID Connect Back-Channel Logout
//! 1.0**.
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
mod universal;

pub use self::config::{LogoutEndpoints, LogoutEndpointsConfig};
pub use self::service::{LogoutEndpointFuture, LogoutEndpointService};
