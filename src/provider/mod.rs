//! What talks to an OpenID Provider (an Okta org): the bounded HTTP fetcher, discovery, JSON
//! Web Key parsing, and the key cache of each issuer.

pub(crate) mod call_span;
pub(crate) mod client_auth;
pub(crate) mod context;
pub(crate) mod discovery;
pub(crate) mod fetch;
pub(crate) mod jwk;
pub(crate) mod key_cache;
pub(crate) mod key_lookup;
pub(crate) mod private_key;
pub(crate) mod public_key;
pub(crate) mod refresh_policy;
pub(crate) mod unreachable;
