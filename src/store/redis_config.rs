//! [`RedisStoreConfig`]: the settings of a [`RedisStore`](super::RedisStore).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::time::{Clock, SharedClock, SystemClock};

/// Settings of a [`RedisStore`](super::RedisStore).
#[derive(Clone)]
#[must_use]
pub struct RedisStoreConfig {
    pub(super) url: String,
    pub(super) prefix: String,
    pub(super) resync_interval: Duration,
    pub(super) command_timeout: Duration,
    pub(super) reconnect_delay: Duration,
    pub(super) clock: SharedClock,
}

impl fmt::Debug for RedisStoreConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The URL may hold a password.
        f.debug_struct("RedisStoreConfig")
            .field("prefix", &self.prefix)
            .field("resync_interval", &self.resync_interval)
            .field("command_timeout", &self.command_timeout)
            .finish_non_exhaustive()
    }
}

impl RedisStoreConfig {
    /// The store at `url` (`redis://host:port/db`, `rediss://` for TLS is not built in).
    pub fn new(url: impl Into<String>) -> Self {
        RedisStoreConfig {
            url: url.into(),
            prefix: "okta-oidc:".into(),
            resync_interval: Duration::from_secs(30),
            command_timeout: Duration::from_secs(2),
            reconnect_delay: Duration::from_millis(200),
            clock: Arc::new(SystemClock),
        }
    }

    /// The prefix of every key and of the channel (default `okta-oidc:`): apps sharing one
    /// Redis keep apart with their own.
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// How often the mirror is synced in full besides pub/sub (default 30 s). It also bounds
    /// how soon a lost connection is noticed when nothing else is sent.
    pub fn resync_interval(mut self, interval: Duration) -> Self {
        self.resync_interval = interval.max(Duration::from_millis(10));
        self
    }

    /// Longest wait for one Redis command (default 2 s); past it the revocation request is
    /// answered `503`.
    pub fn command_timeout(mut self, timeout: Duration) -> Self {
        self.command_timeout = timeout;
        self
    }

    /// First wait before reconnecting (default 200 ms; doubled up to 5 s while Redis stays
    /// away).
    pub fn reconnect_delay(mut self, delay: Duration) -> Self {
        self.reconnect_delay = delay;
        self
    }

    /// The clock (the same as the [`OktaOidc`](crate::OktaOidc)'s: tests pass a
    /// [`ManualClock`](crate::ManualClock) to both).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }
}
