//! What every logout endpoint reads: the verifier's handle and the configured paths and URL.

use super::ssf_config::SsfSettings;
use crate::handle::OktaOidc;

pub(super) struct Settings {
    pub(super) oidc: OktaOidc,
    pub(super) universal_path: String,
    pub(super) backchannel_path: String,
    /// The absolute URL a Universal Logout request's `aud` must be.
    pub(super) universal_url: String,
    /// The Shared Signals push endpoint, when configured.
    pub(super) ssf: Option<SsfSettings>,
}
