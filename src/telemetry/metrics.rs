//! The crate's side of the `metrics` facade (feature `metrics`; without it every call here is
//! empty and compiled away). Names and label values: [`catalogue`](super::catalogue).
//!
//! The request path never allocates and never registers: each (scheme, reason) counter handle
//! is made once, on its first use, and kept. Events off the request path (a key refresh, an
//! introspection call, a revocation, a sign-in) go through the facade's macros.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::catalogue as names;

/// The credential a request carried, as the `scheme` label says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Scheme {
    /// `Authorization: Bearer`.
    Bearer,
    /// `Authorization: DPoP` with its proof.
    Dpop,
    /// The session cookie.
    Session,
    /// No credential.
    None,
}

impl Scheme {
    /// The label value.
    pub(crate) fn as_str(self) -> &'static str {
        names::SCHEMES[self as usize]
    }
}

/// The `outcome` label of a request refused or accepted for `reason` (`ok`: accepted).
pub(crate) fn outcome_of(reason: &str) -> &'static str {
    match reason {
        "ok" => "accepted",
        "unavailable" => "unavailable",
        _ => "rejected",
    }
}

/// The issuer URL without its scheme: the `issuer_host` label.
#[cfg_attr(not(feature = "metrics"), allow(dead_code))]
pub(crate) fn issuer_host(issuer: &str) -> &str {
    let rest = issuer.split_once("://").map_or(issuer, |(_, rest)| rest);
    rest.trim_end_matches('/')
}

/// The metrics of one `OktaOidc`: the request counters' handles, and which tenants may be a
/// label value.
#[derive(Debug, Default)]
pub(crate) struct Metrics {
    #[cfg(feature = "metrics")]
    inner: enabled::Inner,
}

impl Metrics {
    /// `tenant_label`: whether request and introspection counters carry the registered
    /// tenant's id.
    #[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
    pub(crate) fn new(tenant_label: bool) -> Self {
        Metrics {
            #[cfg(feature = "metrics")]
            inner: enabled::Inner::new(tenant_label),
        }
    }

    /// The registered tenants changed: these ids may be a `tenant` label value, and the
    /// [`TENANTS`](names::TENANTS) gauge is set.
    #[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
    pub(crate) fn tenants_changed<'a>(
        &self,
        registered: impl Iterator<Item = &'a Arc<str>>,
        loaded: usize,
    ) {
        #[cfg(feature = "metrics")]
        self.inner.tenants_changed(registered, loaded);
    }

    /// A request decided: its tenant (when the request named one), scheme and reason (`ok`
    /// when accepted).
    #[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
    #[inline]
    pub(crate) fn request(&self, tenant: Option<&str>, scheme: Scheme, reason: &'static str) {
        #[cfg(feature = "metrics")]
        self.inner.request(tenant, scheme, reason);
    }

    /// A clock reading for one cache hit in [`CACHE_HIT_SAMPLE`](names::CACHE_HIT_SAMPLE), to
    /// give back to [`Metrics::hit`]; `None` for the others (and without the feature).
    #[inline]
    pub(crate) fn hit_timer(&self) -> Option<Instant> {
        #[cfg(feature = "metrics")]
        return enabled::sampled_now();
        #[cfg(not(feature = "metrics"))]
        None
    }

    /// A bearer token accepted from the verified-token cache.
    #[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
    #[inline]
    pub(crate) fn hit(&self, tenant: &str, timer: Option<Instant>) {
        #[cfg(feature = "metrics")]
        self.inner.hit(tenant, timer);
    }

    /// How long the authentication of a request that missed the cache took.
    #[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
    pub(crate) fn miss(&self, took: Duration) {
        #[cfg(feature = "metrics")]
        self.inner.miss(took);
    }

    /// An introspection call made (`active`, `inactive`, `error`, `rate_limited`) or held back
    /// (`budget_spent`), for `tenant`.
    #[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
    pub(crate) fn introspection(&self, tenant: &str, result: &'static str) {
        #[cfg(feature = "metrics")]
        self.inner.introspection(tenant, result);
    }
}

/// A key set refresh of `issuer` ended with `result` (`updated`, `unchanged`, `error`).
#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
pub(crate) fn key_set_refreshed(issuer: &str, result: &'static str) {
    #[cfg(feature = "metrics")]
    metrics::counter!(names::KEY_SET_REFRESHES_TOTAL, "issuer_host" => issuer_host(issuer).to_owned(), "result" => result)
        .increment(1);
}

/// The [`KEY_SET_AGE_SECONDS`](names::KEY_SET_AGE_SECONDS) gauge of one issuer's key set, its
/// handle made once: set at each refresh attempt and each verification that reads the set,
/// so it stays current while tokens flow.
#[derive(Debug, Default)]
pub(crate) struct KeySetAge {
    #[cfg(feature = "metrics")]
    gauge: std::sync::OnceLock<metrics::Gauge>,
}

impl KeySetAge {
    /// Sets the age of `issuer`'s key set to what `age` says (not called without the
    /// feature: no clock is read).
    #[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
    #[inline]
    pub(crate) fn set(&self, issuer: &str, age: impl FnOnce() -> Option<Duration>) {
        #[cfg(feature = "metrics")]
        if let Some(age) = age() {
            self.gauge
                .get_or_init(|| {
                    metrics::gauge!(names::KEY_SET_AGE_SECONDS, "issuer_host" => issuer_host(issuer).to_owned())
                })
                .set(age.as_secs_f64());
        }
    }
}

/// A revocation recorded because of `source` (`universal_logout`, `backchannel_logout`,
/// `rp_logout`).
#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
pub(crate) fn revocation(source: &'static str) {
    #[cfg(feature = "metrics")]
    metrics::counter!(names::REVOCATIONS_TOTAL, "source" => source).increment(1);
}

/// A Shared Signals event accepted (`session_revoked`, `credential_change`, `verification`,
/// `other`).
#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
pub(crate) fn security_event(event: &'static str) {
    #[cfg(feature = "metrics")]
    metrics::counter!(names::SECURITY_EVENTS_TOTAL, "event" => event).increment(1);
}

/// Whether the revocation store is connected now.
#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
pub(crate) fn store_connected(connected: bool) {
    #[cfg(feature = "metrics")]
    metrics::gauge!(names::REVOCATION_STORE_CONNECTED).set(if connected { 1.0 } else { 0.0 });
}

/// How many revocations the local mirror holds.
#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
pub(crate) fn mirror_entries(entries: usize) {
    #[cfg(feature = "metrics")]
    metrics::gauge!(names::REVOCATION_MIRROR_ENTRIES).set(entries as f64);
}

/// A sign-in `started`, `completed` or `failed`, and why (`ok` unless failed).
#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
#[cfg_attr(not(feature = "login"), allow(dead_code))]
pub(crate) fn login(result: &'static str, reason: &'static str) {
    #[cfg(feature = "metrics")]
    metrics::counter!(names::LOGINS_TOTAL, "result" => result, "reason" => reason).increment(1);
}

#[cfg(feature = "metrics")]
mod enabled {
    use std::cell::Cell;
    use std::collections::HashMap;
    use std::sync::{Arc, OnceLock};
    use std::time::{Duration, Instant};

    use arc_swap::ArcSwap;
    use metrics::{Counter, Histogram, Label};

    use super::{Scheme, names, outcome_of};

    /// Reasons: `ok`, then every rejection reason.
    const REASONS: usize = 1 + crate::REJECTION_REASONS.len();
    const CELLS: usize = 4 * REASONS;

    /// The reason at `index`: `ok` (0), else a rejection reason.
    fn reason_at(index: usize) -> &'static str {
        match index.checked_sub(1) {
            None => names::ACCEPTED,
            Some(i) => crate::REJECTION_REASONS[i],
        }
    }

    /// The request counters of one `tenant` label value ("" when there is none), made on
    /// first use.
    #[derive(Debug)]
    struct Table {
        tenant: Option<Arc<str>>,
        cells: Box<[OnceLock<Counter>]>,
    }

    impl Table {
        fn new(tenant: Option<Arc<str>>) -> Self {
            Table {
                tenant,
                cells: (0..CELLS).map(|_| OnceLock::new()).collect(),
            }
        }

        #[inline]
        fn increment(&self, scheme: Scheme, reason_index: usize) {
            let index = scheme as usize * REASONS + reason_index;
            self.cells[index]
                .get_or_init(|| {
                    let reason = reason_at(reason_index);
                    let mut labels = vec![
                        Label::from_static_parts("outcome", outcome_of(reason)),
                        Label::from_static_parts("scheme", scheme.as_str()),
                        Label::from_static_parts("reason", reason),
                    ];
                    if let Some(tenant) = &self.tenant {
                        labels.push(Label::new("tenant", tenant.to_string()));
                    }
                    metrics::counter!(names::REQUESTS_TOTAL, labels)
                })
                .increment(1);
        }
    }

    #[derive(Debug)]
    pub(super) struct Inner {
        tenant_label: bool,
        /// The table of requests with no tenant label value.
        shared: Table,
        /// With `tenant_label`: a table per registered tenant.
        by_tenant: ArcSwap<HashMap<Arc<str>, Arc<Table>>>,
        hit: OnceLock<Histogram>,
        miss: OnceLock<Histogram>,
    }

    impl Default for Inner {
        fn default() -> Self {
            Inner::new(false)
        }
    }

    thread_local! {
        static HITS: Cell<u32> = const { Cell::new(0) };
    }

    /// `Some(now)` for one call in `CACHE_HIT_SAMPLE` on this thread.
    #[inline]
    pub(super) fn sampled_now() -> Option<Instant> {
        HITS.with(|hits| {
            let n = hits.get();
            hits.set(n.wrapping_add(1));
            (n % names::CACHE_HIT_SAMPLE == 0).then(Instant::now)
        })
    }

    /// The index of `reason`: `ok` is 0; a rejection reason its place in
    /// `REJECTION_REASONS` plus one (every `AuthError::reason` is there, a unit test of
    /// `reason.rs` says so; anything else would count as `invalid_request`, never as `ok`).
    fn reason_index(reason: &str) -> usize {
        if reason == names::ACCEPTED {
            return 0;
        }
        1 + crate::REJECTION_REASONS
            .iter()
            .position(|r| *r == reason)
            .unwrap_or(1)
    }

    fn histogram(cache: &'static str) -> Histogram {
        metrics::histogram!(names::VERIFICATION_DURATION_SECONDS, "cache" => cache)
    }

    impl Inner {
        pub(super) fn new(tenant_label: bool) -> Self {
            describe();
            Inner {
                tenant_label,
                shared: Table::new(tenant_label.then(|| Arc::from(""))),
                by_tenant: ArcSwap::default(),
                hit: OnceLock::new(),
                miss: OnceLock::new(),
            }
        }

        pub(super) fn tenants_changed<'a>(
            &self,
            registered: impl Iterator<Item = &'a Arc<str>>,
            loaded: usize,
        ) {
            let current = self.by_tenant.load();
            let mut by_tenant = HashMap::new();
            let mut count = 0usize;
            for id in registered {
                count += 1;
                if self.tenant_label {
                    let table = current
                        .get(id)
                        .cloned()
                        .unwrap_or_else(|| Arc::new(Table::new(Some(Arc::clone(id)))));
                    by_tenant.insert(Arc::clone(id), table);
                }
            }
            if self.tenant_label {
                self.by_tenant.store(Arc::new(by_tenant));
            }
            metrics::gauge!(names::TENANTS, "source" => "registered").set(count as f64);
            metrics::gauge!(names::TENANTS, "source" => "loaded").set(loaded as f64);
        }

        #[inline]
        fn with_table(&self, tenant: Option<&str>, f: impl FnOnce(&Table)) {
            if self.tenant_label
                && let Some(tenant) = tenant
                && let Some(table) = self.by_tenant.load().get(tenant)
            {
                return f(table);
            }
            f(&self.shared)
        }

        pub(super) fn request(&self, tenant: Option<&str>, scheme: Scheme, reason: &'static str) {
            let index = reason_index(reason);
            self.with_table(tenant, |table| table.increment(scheme, index));
        }

        #[inline]
        pub(super) fn hit(&self, tenant: &str, timer: Option<Instant>) {
            self.with_table(Some(tenant), |table| table.increment(Scheme::Bearer, 0));
            if let Some(started) = timer {
                self.hit
                    .get_or_init(|| histogram("hit"))
                    .record(started.elapsed());
            }
        }

        pub(super) fn miss(&self, took: Duration) {
            self.miss.get_or_init(|| histogram("miss")).record(took);
        }

        pub(super) fn introspection(&self, tenant: &str, result: &'static str) {
            let registered = self.tenant_label && self.by_tenant.load().contains_key(tenant);
            if registered {
                metrics::counter!(names::INTROSPECTION_CALLS_TOTAL, "result" => result, "tenant" => tenant.to_owned())
                    .increment(1);
            } else if self.tenant_label {
                metrics::counter!(names::INTROSPECTION_CALLS_TOTAL, "result" => result, "tenant" => "")
                    .increment(1);
            } else {
                metrics::counter!(names::INTROSPECTION_CALLS_TOTAL, "result" => result)
                    .increment(1);
            }
        }
    }

    /// Describes every metric of the catalogue to the recorder (units and help texts).
    fn describe() {
        use metrics::Unit;
        metrics::describe_counter!(
            names::REQUESTS_TOTAL,
            "Requests the okta-oidc layer decided, by outcome, scheme and reason."
        );
        metrics::describe_histogram!(
            names::VERIFICATION_DURATION_SECONDS,
            Unit::Seconds,
            "Authentication time: every cache miss, one cache hit in 64."
        );
        metrics::describe_counter!(
            names::KEY_SET_REFRESHES_TOTAL,
            "Key set refresh attempts, by issuer and result."
        );
        metrics::describe_gauge!(
            names::KEY_SET_AGE_SECONDS,
            Unit::Seconds,
            "Time since the issuer's key set was last fetched or confirmed."
        );
        metrics::describe_counter!(
            names::INTROSPECTION_CALLS_TOTAL,
            "Introspection calls, and those a budget held back, by result."
        );
        metrics::describe_counter!(
            names::REVOCATIONS_TOTAL,
            "Revocations recorded, by the signal that asked for them."
        );
        metrics::describe_gauge!(
            names::REVOCATION_STORE_CONNECTED,
            "1 while the revocation store is connected."
        );
        metrics::describe_gauge!(
            names::REVOCATION_MIRROR_ENTRIES,
            "Revocations held in the local mirror."
        );
        metrics::describe_counter!(
            names::LOGINS_TOTAL,
            "Sign-ins started, completed and failed."
        );
        metrics::describe_gauge!(names::TENANTS, "Tenants known, by source.");
        metrics::describe_counter!(
            names::SECURITY_EVENTS_TOTAL,
            "Shared Signals events accepted, by event."
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuer_hosts() {
        assert_eq!(issuer_host("https://acme.okta.com"), "acme.okta.com");
        assert_eq!(
            issuer_host("https://acme.okta.com/oauth2/default/"),
            "acme.okta.com/oauth2/default"
        );
    }

    #[test]
    fn outcomes() {
        assert_eq!(outcome_of("ok"), "accepted");
        assert_eq!(outcome_of("unavailable"), "unavailable");
        assert_eq!(outcome_of("expired"), "rejected");
        for reason in names::reasons() {
            assert!(names::OUTCOMES.contains(&outcome_of(reason)));
        }
    }

    #[test]
    fn schemes_index_the_catalogue() {
        assert_eq!(Scheme::Bearer.as_str(), "bearer");
        assert_eq!(Scheme::Dpop.as_str(), "dpop");
        assert_eq!(Scheme::Session.as_str(), "session");
        assert_eq!(Scheme::None.as_str(), "none");
    }
}
