//! The verification pipeline: where a credential becomes an identity.
//!
//! [`Verifier`] is the one place every credential goes through: bearer JWTs (checked locally
//! against the tenant's keys), opaque access tokens (introspection) and the verified-token
//! cache in front of both.

pub(crate) mod dpop;
pub(crate) mod dpop_config;
pub(crate) mod dpop_key;
pub(crate) mod dpop_nonce;
pub(crate) mod dpop_replay;
pub(crate) mod global_token_revocation;
pub(crate) mod id_jag;
pub(crate) mod id_token;
pub(crate) mod introspection;
pub(crate) mod introspection_guard;
pub(crate) mod jws;
pub(crate) mod logout_token;
mod request_credential;
pub(crate) mod revocation;
pub(crate) mod rules;
pub(crate) mod security_event;
#[cfg(feature = "login")]
pub(crate) mod session;
#[cfg(feature = "login")]
mod session_identity;
pub(crate) mod token_cache;
pub(crate) mod token_front;
mod verifier;

pub(crate) use self::verifier::{Expect, Verifier};
