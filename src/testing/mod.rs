//! An in-process mock Okta org for tests and offline examples.
//!
//! [`MockOkta`] serves the org authorization server's discovery document and
//! JWKS over real HTTP on `127.0.0.1`, mints tokens signed with embedded keys
//! ([`TokenBuilder`]), counts requests per [`Endpoint`] and injects [`Fault`]s. [`DpopKey`]
//! signs DPoP proofs and binds tokens to a key.
//!
//! Its issuer is `http://127.0.0.1:{port}`: an `OktaOidc` that trusts it must allow loopback
//! `http://` explicitly, which no production configuration should do.
//!
//! ```
//! use okta_oidc::testing::MockOkta;
//! use okta_oidc::{OktaOidc, Tenant};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let okta = MockOkta::start().await;
//! let oidc = OktaOidc::builder()
//!     .allow_loopback_http(true) // the mock serves http://127.0.0.1
//!     .tenant(Tenant::new("mock", okta.issuer()).client(okta.client_id(), okta.client_secret()))
//!     .build()
//!     .await
//!     .unwrap();
//! assert!(oidc.validate(&okta.id_token().build()).await.is_ok());
//! # }
//! ```

mod dpop;
mod introspect;
mod keys;
mod logout;
mod mistakes;
mod oauth;
mod org;
mod respond;
mod server;
mod service_app;
mod signer;
mod ssf;
mod state;
mod token;
mod token_exchange;

pub use self::dpop::DpopKey;
pub use self::org::{MockOkta, MockOktaBuilder};
pub use self::signer::TestAccessTokenSigner;
pub use self::state::{Endpoint, Fault, KeySetMistake, LogoutRequest};
pub use self::token::TokenBuilder;
