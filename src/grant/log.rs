//! The token endpoint's refusal lines at `INFO`: every refusal of an authenticated client (a
//! registered client, answerable for its requests), and at most [`PER_MINUTE`] a minute of the
//! refusals before a client is authenticated (anyone can send those), the next line saying how
//! many were folded. Never a grant, a secret or a token.

use std::sync::{Mutex, PoisonError};

/// Lines a minute for requests whose client is not authenticated.
const PER_MINUTE: u64 = 10;

/// The rate limit of unauthenticated refusals: (minute, lines in it, folded since the last line).
#[derive(Debug, Default)]
pub(super) struct RefusalLog {
    window: Mutex<(u64, u64, u64)>,
}

impl RefusalLog {
    /// Logs a refusal of the authenticated `client` (always), for `tenant` when known.
    pub(super) fn client(&self, reason: &str, client: &str, tenant: Option<&str>) {
        tracing::info!(
            reason,
            client,
            tenant = tenant.unwrap_or("-"),
            "token request refused"
        );
    }

    /// Logs a refusal before any client was authenticated, within the rate limit.
    pub(super) fn anonymous(&self, reason: &str, now_secs: u64) {
        let folded = {
            let mut w = self.window.lock().unwrap_or_else(PoisonError::into_inner);
            let minute = now_secs / 60;
            if w.0 != minute {
                w.0 = minute;
                w.1 = 0;
            }
            if w.1 >= PER_MINUTE {
                w.2 += 1;
                return;
            }
            w.1 += 1;
            std::mem::take(&mut w.2)
        };
        tracing::info!(
            reason,
            client = "-",
            folded,
            "token request refused (before client authentication; at most {PER_MINUTE} lines a minute)"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anonymous_refusals_are_folded_past_the_limit() {
        let log = RefusalLog::default();
        for _ in 0..15 {
            log.anonymous("x", 120);
        }
        assert_eq!(*log.window.lock().unwrap(), (2, 10, 5));
        log.anonymous("x", 180);
        assert_eq!(
            *log.window.lock().unwrap(),
            (3, 1, 0),
            "the next line carries the count"
        );
    }
}
