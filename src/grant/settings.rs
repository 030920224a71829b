//! What the token endpoint reads: the verifier's handle, the issuer and its paths, the clients,
//! the resources served and the signer.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use super::client::GrantClient;
use super::log::RefusalLog;
use super::signer::AccessTokenSigner;
use crate::handle::OktaOidc;

pub(super) struct Settings {
    pub(super) oidc: OktaOidc,
    /// This authorization server's issuer: every grant's `aud`, every token's `iss`.
    pub(super) issuer: String,
    /// The issuer's scheme, host and port (the paths below are on it).
    pub(super) origin: String,
    pub(super) token_path: String,
    pub(super) jwks_path: String,
    pub(super) clients: HashMap<Arc<str>, GrantClient>,
    /// The resource identifiers (RFC 8707) tokens may be for; the first when a grant names none.
    pub(super) resources: Vec<String>,
    pub(super) token_lifetime: Duration,
    pub(super) signer: Arc<dyn AccessTokenSigner>,
    pub(super) refusals: RefusalLog,
}
