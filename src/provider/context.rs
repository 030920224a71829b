//! What every key cache and provider call of one `OktaOidc` shares.

use std::fmt;
use std::sync::Arc;

use crate::algorithm::Algorithm;

use super::fetch::{Fetcher, UrlPolicy};
use super::refresh_policy::KeyRefreshPolicy;
use crate::telemetry::metrics::Metrics;
use crate::time::SharedClock;

/// The HTTP client, clock, refresh policy and algorithm allow-list shared by every issuer.
pub(crate) struct ProviderContext {
    pub(crate) fetcher: Fetcher,
    pub(crate) clock: SharedClock,
    pub(crate) policy: KeyRefreshPolicy,
    pub(crate) algorithms: Vec<Algorithm>,
    pub(crate) background_refresh: bool,
    /// Which issuer and endpoint URLs are accepted.
    pub(crate) urls: UrlPolicy,
    /// The metrics handles (feature `metrics`; empty without it).
    pub(crate) metrics: Arc<Metrics>,
}

impl fmt::Debug for ProviderContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProviderContext")
            .field("policy", &self.policy)
            .field("algorithms", &self.algorithms)
            .finish_non_exhaustive()
    }
}
