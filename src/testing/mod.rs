//! An in-process mock Okta org for tests and offline examples.
//!
//! [`MockOkta`] serves the org authorization server's discovery document and
//! JWKS over real HTTP on `127.0.0.1`, mints tokens signed with embedded keys
//! ([`TokenBuilder`]), counts requests per [`Endpoint`] and injects [`Fault`]s.

mod introspect;
mod keys;
mod logout;
mod oauth;
mod org;
mod respond;
mod server;
mod state;
mod token;

pub use self::org::{MockOkta, MockOktaBuilder};
pub use self::state::{Endpoint, Fault, LogoutRequest};
pub use self::token::TokenBuilder;
