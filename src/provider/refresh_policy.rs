//! [`KeyRefreshPolicy`]: when and how often key sets are refreshed.

use std::time::Duration;

use super::fetch::max_age;

/// When and how often key sets are refreshed.
///
/// The background refresh follows the key set's `Cache-Control: max-age`, clamped to
/// [`min_refresh`](Self::min_refresh)..=[`max_refresh`](Self::max_refresh). A token with an
/// unknown `kid` triggers one shared refetch, at most once per
/// [`unknown_kid_cooldown`](Self::unknown_kid_cooldown).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct KeyRefreshPolicy {
    /// Lower bound of the background refresh interval (default 5 min).
    pub min_refresh: Duration,
    /// Upper bound of the background refresh interval (default 24 h).
    pub max_refresh: Duration,
    /// Interval when the key set has no `max-age` (default 1 h).
    pub default_refresh: Duration,
    /// Least time between two refetches caused by requests (unknown `kid`, keys never loaded);
    /// default 30 s. While it holds a refetch back, a token with an unknown `kid` is answered
    /// `503` with `Retry-After` (the time left), not `401`: its key may be new. The ID token of
    /// a sign-in (from the token endpoint) is never held back: an unknown `kid` there refetches
    /// at once.
    pub unknown_kid_cooldown: Duration,
    /// First retry delay after a failed background refresh, doubled up to `min_refresh`
    /// (default 10 s).
    pub retry_after_failure: Duration,
    /// Age after which the discovery document is fetched again, with the next key set refresh
    /// (default 24 h), so a changed endpoint is picked up without a restart. A failed fetch
    /// keeps the last good document.
    pub discovery_max_age: Duration,
}

impl Default for KeyRefreshPolicy {
    fn default() -> Self {
        KeyRefreshPolicy {
            min_refresh: Duration::from_secs(5 * 60),
            max_refresh: Duration::from_secs(24 * 3600),
            default_refresh: Duration::from_secs(3600),
            unknown_kid_cooldown: Duration::from_secs(30),
            retry_after_failure: Duration::from_secs(10),
            discovery_max_age: Duration::from_secs(24 * 3600),
        }
    }
}

impl KeyRefreshPolicy {
    /// The delay before the next background refresh after a successful fetch.
    pub(crate) fn next_interval(&self, cache_control: Option<&str>) -> Duration {
        max_age(cache_control)
            .unwrap_or(self.default_refresh)
            .clamp(self.min_refresh, self.max_refresh.max(self.min_refresh))
    }

    /// The delay before retrying after `failures` consecutive failures.
    pub(crate) fn retry_interval(&self, failures: u32) -> Duration {
        let factor = 1u32
            .checked_shl(failures.saturating_sub(1).min(16))
            .unwrap_or(u32::MAX);
        self.retry_after_failure
            .saturating_mul(factor)
            .min(self.min_refresh.max(self.retry_after_failure))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_interval_is_clamped() {
        let p = KeyRefreshPolicy::default();
        assert_eq!(p.next_interval(Some("max-age=3832304")), p.max_refresh);
        assert_eq!(p.next_interval(Some("no-cache")), p.min_refresh);
        assert_eq!(p.next_interval(None), p.default_refresh);
        assert_eq!(
            p.next_interval(Some("max-age=7200")),
            Duration::from_secs(7200)
        );
        assert_eq!(p.retry_interval(1), Duration::from_secs(10));
        assert_eq!(p.retry_interval(2), Duration::from_secs(20));
        assert_eq!(p.retry_interval(30), p.min_refresh);
    }
}
