//! Time source, injectable so tests can move time without sleeping.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A source of wall-clock time, as a duration since the Unix epoch.
///
/// The crate reads time only through this trait: token lifetimes (`exp`, `nbf`, `iat`), cache
/// expiry and refresh cooldowns. Production code uses [`SystemClock`]; tests inject a
/// [`ManualClock`] and move it explicitly.
pub trait Clock: Send + Sync + 'static {
    /// The current time since the Unix epoch.
    fn now(&self) -> Duration;
}

/// The system's wall clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Duration {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
    }
}

/// A clock that only moves when told to; for tests.
///
/// ```
/// use okta_oidc::{Clock, ManualClock};
/// use std::time::Duration;
///
/// let clock = ManualClock::new(Duration::from_secs(1_700_000_000));
/// clock.advance(Duration::from_secs(60));
/// assert_eq!(clock.now().as_secs(), 1_700_000_060);
/// ```
#[derive(Clone, Default)]
pub struct ManualClock {
    millis: Arc<AtomicU64>,
}

impl ManualClock {
    /// A clock standing at `now` (since the Unix epoch).
    pub fn new(now: Duration) -> Self {
        let clock = Self::default();
        clock.set(now);
        clock
    }

    /// A clock standing at the system's current time.
    pub fn starting_now() -> Self {
        Self::new(SystemClock.now())
    }

    /// Sets the time.
    pub fn set(&self, now: Duration) {
        let millis = u64::try_from(now.as_millis()).unwrap_or(u64::MAX);
        self.millis.store(millis, Ordering::SeqCst);
    }

    /// Moves the time forward.
    pub fn advance(&self, by: Duration) {
        let by = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        let _ = self
            .millis
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |m| {
                Some(m.saturating_add(by))
            });
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Duration {
        Duration::from_millis(self.millis.load(Ordering::SeqCst))
    }
}

impl fmt::Debug for ManualClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ManualClock")
            .field("now_ms", &self.millis.load(Ordering::SeqCst))
            .finish()
    }
}

/// Shared handle to the configured clock.
pub(crate) type SharedClock = Arc<dyn Clock>;

/// A point in time, in milliseconds since the Unix epoch: the one time type inside the crate
/// (deadlines of caches, cooldowns, login and session times). Arithmetic saturates.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "login", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "login", serde(transparent))]
pub(crate) struct UnixTime(u64);

impl UnixTime {
    /// The clock's current time.
    pub(crate) fn now(clock: &dyn Clock) -> Self {
        UnixTime(u64::try_from(clock.now().as_millis()).unwrap_or(u64::MAX))
    }

    /// A NumericDate (seconds since the epoch) of a token; negative ones are the epoch.
    pub(crate) fn from_secs(secs: i64) -> Self {
        UnixTime(u64::try_from(secs).unwrap_or(0).saturating_mul(1000))
    }

    /// Whole seconds since the epoch, for comparing with NumericDates.
    pub(crate) fn as_secs(self) -> i64 {
        i64::try_from(self.0 / 1000).unwrap_or(i64::MAX)
    }

    /// Milliseconds since the epoch.
    pub(crate) fn as_millis(self) -> u64 {
        self.0
    }

    /// This time plus `d`.
    pub(crate) fn after(self, d: Duration) -> Self {
        UnixTime(
            self.0
                .saturating_add(u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
        )
    }

    /// How long after `earlier` this time is (zero when it is not after).
    pub(crate) fn since(self, earlier: UnixTime) -> Duration {
        Duration::from_millis(self.0.saturating_sub(earlier.0))
    }

    /// The latest possible time: "never".
    #[cfg_attr(not(feature = "fuzzing"), allow(dead_code))]
    pub(crate) const MAX: UnixTime = UnixTime(u64::MAX);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_time_saturates() {
        let t = UnixTime::from_secs(1_700_000_000);
        assert_eq!(t.as_secs(), 1_700_000_000);
        assert_eq!(
            t.after(Duration::from_millis(1500)).as_secs(),
            1_700_000_001
        );
        assert_eq!(t.since(t.after(Duration::from_secs(5))), Duration::ZERO);
        assert_eq!(
            t.after(Duration::from_secs(5)).since(t),
            Duration::from_secs(5)
        );
        assert_eq!(UnixTime::from_secs(-5), UnixTime(0));
        assert_eq!(UnixTime(u64::MAX).after(Duration::MAX), UnixTime(u64::MAX));
    }
}
