//! The token endpoint of a vendor's own authorization server for Okta's **Cross App Access**:
//! an AI agent signed in to Okta exchanges the user's ID token at Okta for an Identity
//! Assertion JWT Authorization Grant (ID-JAG, draft-ietf-oauth-identity-assertion-authz-grant),
//! and presents it here with the JWT bearer grant (RFC 7523 §2.1) to get an access token for
//! the vendor's API, without a consent screen. MCP calls this "enterprise-managed
//! authorization".
//!
//! [`JwtBearerGrant`] checks the client (`client_secret_basic` or `client_secret_post`
//! against the clients the application registers), the grant through the crate's one
//! verifier (`Expect::IdJag`: `typ`, issuer = a tenant's org, `aud` = this authorization
//! server, `client_id` = the client, short `exp`, single-use `jti`), and answers an RFC 9068
//! access token that the application signs ([`AccessTokenSigner`]: the application owns the
//! key). The layer then validates those tokens like any tenant's (a [`Tenant`](crate::Tenant)
//! for this issuer, with [`own_authorization_server`](crate::Tenant::own_authorization_server)),
//! and the revocation store ends them when Okta signs the user out (Universal Logout).
//! Nothing here imports the login half.

mod answer;
mod client;
mod config;
mod log;
mod metadata;
#[cfg(feature = "axum")]
mod router;
mod service;
mod settings;
mod signer;
mod token;

pub use self::client::GrantClient;
pub use self::config::{JwtBearerGrant, JwtBearerGrantConfig};
pub use self::service::{JwtBearerGrantFuture, JwtBearerGrantService};
pub use self::signer::{AccessTokenSigner, SignFuture, SigningError};
