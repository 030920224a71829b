//! What every check of a run may use: the runtime's fetcher and rules, the clock, the limits.

use std::time::Duration;

use super::options::DiagnosisOptions;
use crate::algorithm::Algorithm;
use crate::provider::fetch::{Fetcher, UrlPolicy};
use crate::time::Clock;

/// What every check may use.
pub(super) struct Env<'a> {
    pub(super) fetcher: &'a Fetcher,
    pub(super) urls: UrlPolicy,
    pub(super) algorithms: &'a [Algorithm],
    pub(super) clock: &'a dyn Clock,
    pub(super) max_skew: Duration,
    pub(super) timeout: Duration,
    pub(super) options: &'a DiagnosisOptions,
}
