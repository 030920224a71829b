//! [`CallBudget`]: how many calls the crate makes to a remote on behalf of credentials it
//! cannot vouch for yet — the one helper behind every bounded outbound call made for a request
//! (introspection, per tenant; the tenant loader, for issuers and ids nobody registered).
//!
//! A budget is a token bucket (`per_minute` sustained, `burst` after a quiet period), a cap on
//! the calls in flight, and a pause until a given time (a provider's `429`). When it says no,
//! the caller answers `503` with `Retry-After` (a new credential) or serves what it already
//! knows; a warning is logged, at most once a minute per budget, with how many calls were
//! refused since the last one.

use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use crate::error::ConfigError;
use crate::time::UnixTime;

/// Limits of the calls made to a remote for requests: a token bucket and a cap on calls in
/// flight. See [`OktaOidcBuilder::introspection_budget`](crate::OktaOidcBuilder::introspection_budget)
/// and [`OktaOidcBuilder::loader_budget`](crate::OktaOidcBuilder::loader_budget).
///
/// ```
/// use okta_oidc::CallBudget;
///
/// // 60 calls a minute sustained, 10 at once after a quiet period, 4 in flight.
/// let budget = CallBudget::new(60, 10, 4);
/// assert_eq!(budget.per_minute, 60);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CallBudget {
    /// Calls a minute, sustained (the bucket's refill rate).
    pub per_minute: u32,
    /// Calls that may be made in a row after a quiet period (the bucket's size).
    pub burst: u32,
    /// Calls in flight at once.
    pub max_in_flight: u32,
}

impl CallBudget {
    /// A budget of `per_minute` calls a minute, `burst` in a row, `max_in_flight` at once.
    pub const fn new(per_minute: u32, burst: u32, max_in_flight: u32) -> Self {
        CallBudget {
            per_minute,
            burst,
            max_in_flight,
        }
    }

    pub(crate) fn check(&self, what: &'static str) -> Result<(), ConfigError> {
        if self.per_minute == 0 || self.burst == 0 || self.max_in_flight == 0 {
            return Err(ConfigError::Invalid(what));
        }
        Ok(())
    }
}

/// The Okta org of an issuer, whose rate limits its tenants share: its scheme and host
/// (`https://acme.okta.com` for the org server and for `…/oauth2/default` alike).
pub(crate) fn org_of(issuer: &str) -> &str {
    let after_scheme = issuer.find("://").map_or(0, |i| i + 3);
    match issuer[after_scheme..].find('/') {
        Some(slash) => &issuer[..after_scheme + slash],
        None => issuer,
    }
}

/// A budget per Okta org and, within it, a share per client address: what one client's
/// requests spend never takes another client's share (introspection of new tokens, the code
/// exchanges of sign-ins).
pub(crate) struct SharedBudgets {
    orgs: Budgets,
    shares: Budgets,
}

impl fmt::Debug for SharedBudgets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedBudgets")
            .field("orgs", &self.orgs)
            .field("shares", &self.shares)
            .finish()
    }
}

/// A call allowed by an org's budget and its client's share; both count it in flight until
/// it is dropped.
#[derive(Debug)]
pub(crate) struct SharedPermit {
    _org: Permit,
    _share: Permit,
}

impl SharedBudgets {
    /// `org` for each org, `share` for each (org, client) pair, named `kind` in warnings.
    pub(crate) fn new(org: CallBudget, share: CallBudget, kind: &'static str) -> Self {
        SharedBudgets {
            orgs: Budgets::new(org, kind, 20_000),
            shares: Budgets::new(share, kind, 100_000).quiet(),
        }
    }

    /// Calls `issuer`'s org could make now (not spent by asking).
    pub(crate) fn org_remaining(&self, issuer: &str, now: UnixTime) -> u32 {
        self.orgs.remaining(org_of(issuer), now)
    }

    /// The budget of `issuer`'s org.
    pub(crate) fn org(&self, issuer: &str, now: UnixTime) -> Arc<Budget> {
        self.orgs.of(&Arc::from(org_of(issuer)), now)
    }

    /// One call for `client` at `issuer`'s org: from the client's share first (a client that
    /// spent its share takes nothing from the org), then from the org's budget.
    pub(crate) fn try_acquire(
        &self,
        issuer: &str,
        client: Option<std::net::IpAddr>,
        now: UnixTime,
    ) -> Result<SharedPermit, Duration> {
        let org = org_of(issuer);
        let key = format!("{org} {:02x?}", crate::client_address::share_key(client));
        let share = self.shares.of(&Arc::from(key), now).try_acquire(now)?;
        let org = self.orgs.of(&Arc::from(org), now).try_acquire(now)?;
        Ok(SharedPermit {
            _org: org,
            _share: share,
        })
    }
}

/// One thousandth of a call: the bucket's unit, so that refills need no floating point.
const MILLI: u64 = 1000;
/// Least time between two warnings of one budget.
const WARN_EVERY: Duration = Duration::from_secs(60);

struct Bucket {
    milli_calls: u64,
    updated: UnixTime,
    paused_until: UnixTime,
    last_warning: Option<UnixTime>,
    refused: u64,
}

/// A running budget: what [`CallBudget`] allows, spent as calls are made.
pub(crate) struct Budget {
    limits: CallBudget,
    /// What the calls are ("introspection", "tenant loader") and for whom, for the warning.
    kind: &'static str,
    owner: Arc<str>,
    bucket: Mutex<Bucket>,
    in_flight: Arc<AtomicU32>,
    /// No warning when it says no (one of many shares: the owner's own budget warns).
    quiet: bool,
}

impl fmt::Debug for Budget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Budget")
            .field("limits", &self.limits)
            .field("kind", &self.kind)
            .field("in_flight", &self.in_flight.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// A call the budget allowed; it counts as in flight until dropped.
#[derive(Debug)]
pub(crate) struct Permit {
    in_flight: Arc<AtomicU32>,
}

impl Drop for Permit {
    fn drop(&mut self) {
        self.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Budget {
    /// A full budget.
    pub(crate) fn new(
        limits: CallBudget,
        kind: &'static str,
        owner: Arc<str>,
        now: UnixTime,
    ) -> Self {
        Budget {
            limits,
            kind,
            owner,
            bucket: Mutex::new(Bucket {
                milli_calls: u64::from(limits.burst) * MILLI,
                updated: now,
                paused_until: now,
                last_warning: None,
                refused: 0,
            }),
            in_flight: Arc::new(AtomicU32::new(0)),
            quiet: false,
        }
    }

    /// Takes one call from the budget, or says how long to wait before asking again.
    pub(crate) fn try_acquire(&self, now: UnixTime) -> Result<Permit, Duration> {
        self.acquire(now, 0)
    }

    /// Takes one call only from the upper half of the bucket: for a call that is not needed
    /// now (checking again a token already known), so that it never takes a call a new
    /// credential needs. Its refusals are not warned about.
    pub(crate) fn try_acquire_spare(&self, now: UnixTime) -> Result<Permit, Duration> {
        self.acquire(now, self.limits.burst / 2)
    }

    fn acquire(&self, now: UnixTime, reserve: u32) -> Result<Permit, Duration> {
        let mut bucket = self.bucket.lock().unwrap_or_else(PoisonError::into_inner);
        let full = u64::from(self.limits.burst) * MILLI;
        let elapsed = u64::try_from(now.since(bucket.updated).as_millis()).unwrap_or(u64::MAX);
        let refill = elapsed.saturating_mul(u64::from(self.limits.per_minute)) / 60;
        bucket.milli_calls = bucket.milli_calls.saturating_add(refill).min(full);
        if now > bucket.updated {
            bucket.updated = now;
        }
        let refused = if bucket.paused_until > now {
            Some(bucket.paused_until.since(now))
        } else if self.in_flight.load(Ordering::Acquire) >= self.limits.max_in_flight {
            Some(Duration::from_secs(1))
        } else if bucket.milli_calls < (u64::from(reserve) + 1) * MILLI {
            let missing = (u64::from(reserve) + 1) * MILLI - bucket.milli_calls;
            let millis = missing
                .saturating_mul(60)
                .div_ceil(u64::from(self.limits.per_minute));
            Some(Duration::from_millis(millis))
        } else {
            None
        };
        if let Some(wait) = refused {
            let wait = wait.max(Duration::from_secs(1));
            if reserve > 0 || self.quiet {
                return Err(wait);
            }
            bucket.refused = bucket.refused.saturating_add(1);
            if bucket
                .last_warning
                .is_none_or(|last| now.since(last) >= WARN_EVERY)
            {
                tracing::warn!(
                    calls = self.kind,
                    owner = &*self.owner,
                    refused = bucket.refused,
                    retry_secs = wait.as_secs(),
                    per_minute = self.limits.per_minute,
                    burst = self.limits.burst,
                    max_in_flight = self.limits.max_in_flight,
                    "call budget spent: new credentials answered 503 until it refills"
                );
                bucket.last_warning = Some(now);
                bucket.refused = 0;
            }
            return Err(wait);
        }
        bucket.milli_calls -= MILLI;
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        Ok(Permit {
            in_flight: Arc::clone(&self.in_flight),
        })
    }

    /// Calls that could be made now (0 while paused), without spending any.
    pub(crate) fn remaining(&self, now: UnixTime) -> u32 {
        let bucket = self.bucket.lock().unwrap_or_else(PoisonError::into_inner);
        if bucket.paused_until > now {
            return 0;
        }
        let full = u64::from(self.limits.burst) * MILLI;
        let elapsed = u64::try_from(now.since(bucket.updated).as_millis()).unwrap_or(u64::MAX);
        let refill = elapsed.saturating_mul(u64::from(self.limits.per_minute)) / 60;
        let calls = bucket.milli_calls.saturating_add(refill).min(full) / MILLI;
        u32::try_from(calls).unwrap_or(u32::MAX)
    }

    /// No call before `until` (a provider's rate limit); a later pause wins.
    pub(crate) fn pause_until(&self, until: UnixTime) {
        let mut bucket = self.bucket.lock().unwrap_or_else(PoisonError::into_inner);
        bucket.paused_until = bucket.paused_until.max(until);
    }
}

/// One budget per key (a tenant id), made full on first use.
pub(crate) struct Budgets {
    limits: CallBudget,
    kind: &'static str,
    entries: quick_cache::sync::Cache<Arc<str>, Arc<Budget>>,
    quiet: bool,
}

impl fmt::Debug for Budgets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Budgets")
            .field("limits", &self.limits)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

impl Budgets {
    /// Budgets of `limits` for at most about `capacity` keys (the least used are forgotten,
    /// and start full when they come back).
    pub(crate) fn new(limits: CallBudget, kind: &'static str, capacity: usize) -> Self {
        Budgets {
            limits,
            kind,
            entries: quick_cache::sync::Cache::new(capacity.max(1)),
            quiet: false,
        }
    }

    /// Budgets that never warn when they say no: shares of another budget, which warns.
    pub(crate) fn quiet(mut self) -> Self {
        self.quiet = true;
        self
    }

    /// Calls `key` could make now: a full budget when it has made none lately.
    pub(crate) fn remaining(&self, key: &str, now: UnixTime) -> u32 {
        self.entries
            .get(key)
            .map_or(self.limits.burst, |budget| budget.remaining(now))
    }

    /// The budget of `key`.
    pub(crate) fn of(&self, key: &Arc<str>, now: UnixTime) -> Arc<Budget> {
        let made = self.entries.get_or_insert_with(key, || {
            let mut budget = Budget::new(self.limits, self.kind, Arc::clone(key), now);
            budget.quiet = self.quiet;
            Ok::<_, std::convert::Infallible>(Arc::new(budget))
        });
        match made {
            Ok(budget) => budget,
            Err(never) => match never {},
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> UnixTime {
        UnixTime::from_secs(1_700_000_000).after(Duration::from_secs(secs))
    }

    #[test]
    fn bucket_refills_at_the_sustained_rate() {
        let budget = Budget::new(CallBudget::new(60, 3, 100), "test", "t".into(), at(0));
        let permits: Vec<Permit> = (0..3).map(|_| budget.try_acquire(at(0)).unwrap()).collect();
        assert_eq!(
            budget.try_acquire(at(0)).unwrap_err(),
            Duration::from_secs(1)
        );
        drop(permits);
        // 60 a minute: one more call each second, never more than the burst.
        assert!(budget.try_acquire(at(1)).is_ok());
        assert!(budget.try_acquire(at(1)).is_err());
        let later: Vec<Permit> = (0..3)
            .map(|_| budget.try_acquire(at(100)).unwrap())
            .collect();
        assert!(budget.try_acquire(at(100)).is_err(), "capped at the burst");
        drop(later);
    }

    #[test]
    fn spare_calls_leave_half_the_bucket_to_new_credentials() {
        let budget = Budget::new(CallBudget::new(60, 4, 100), "test", "t".into(), at(0));
        let spare: Vec<Permit> = (0..2)
            .map(|_| budget.try_acquire_spare(at(0)).unwrap())
            .collect();
        assert!(
            budget.try_acquire_spare(at(0)).is_err(),
            "half the bucket is kept"
        );
        let new: Vec<Permit> = (0..2).map(|_| budget.try_acquire(at(0)).unwrap()).collect();
        assert!(budget.try_acquire(at(0)).is_err());
        drop((spare, new));
    }

    #[test]
    fn in_flight_cap_and_pause() {
        let budget = Budget::new(CallBudget::new(600, 100, 2), "test", "t".into(), at(0));
        let a = budget.try_acquire(at(0)).unwrap();
        let _b = budget.try_acquire(at(0)).unwrap();
        assert!(budget.try_acquire(at(0)).is_err(), "two in flight");
        drop(a);
        let _c = budget.try_acquire(at(0)).unwrap();
        budget.pause_until(at(30));
        assert_eq!(
            budget.try_acquire(at(10)).unwrap_err(),
            Duration::from_secs(20)
        );
        budget.pause_until(at(20));
        assert!(budget.try_acquire(at(25)).is_err(), "the later pause wins");
    }

    #[test]
    fn zero_limits_are_refused() {
        assert!(CallBudget::new(0, 1, 1).check("x").is_err());
        assert!(CallBudget::new(1, 0, 1).check("x").is_err());
        assert!(CallBudget::new(1, 1, 0).check("x").is_err());
        assert!(CallBudget::new(1, 1, 1).check("x").is_ok());
    }
}
