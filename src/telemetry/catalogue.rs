//! The metrics catalogue: every metric name, label name and label value this crate emits.
//!
//! **They are part of the public API**: a name, a label or a label value that changes or goes
//! is a breaking change, listed in `CHANGELOG.md`. Label values are closed sets written here;
//! none comes from traffic (an issuer host only for a configured or loaded tenant, a tenant id
//! only for a registered tenant and only with
//! [`OktaOidcBuilder::metrics_tenant_label`](crate::OktaOidcBuilder::metrics_tenant_label)), so
//! no request can add a time series.
//!
//! | name | kind | labels |
//! | --- | --- | --- |
//! | [`REQUESTS_TOTAL`] | counter | `outcome` ([`OUTCOMES`]), `scheme` ([`SCHEMES`]), `reason` ([`reasons`]), `tenant`\* |
//! | [`VERIFICATION_DURATION_SECONDS`] | histogram | `cache` ([`CACHE`]) |
//! | [`KEY_SET_REFRESHES_TOTAL`] | counter | `issuer_host`, `result` ([`KEY_SET_RESULTS`]) |
//! | [`KEY_SET_AGE_SECONDS`] | gauge | `issuer_host` |
//! | [`INTROSPECTION_CALLS_TOTAL`] | counter | `result` ([`INTROSPECTION_RESULTS`]), `tenant`\* |
//! | [`REVOCATIONS_TOTAL`] | counter | `source` ([`REVOCATION_SOURCES`]) |
//! | [`REVOCATION_STORE_CONNECTED`] | gauge | (none) |
//! | [`REVOCATION_MIRROR_ENTRIES`] | gauge | (none) |
//! | [`LOGINS_TOTAL`] | counter | `result` ([`LOGIN_RESULTS`]), `reason` ([`LOGIN_REASONS`]) |
//! | [`TENANTS`] | gauge | `source` ([`TENANT_SOURCES`]) |
//! | [`SECURITY_EVENTS_TOTAL`] | counter | `event` ([`SECURITY_EVENTS`]) |
//!
//! \* `tenant` is there only with `metrics_tenant_label(true)`: the id of a registered tenant,
//! or the empty value (the same as no label, to Prometheus) for anything else: a loaded
//! tenant, or a refusal no registered tenant can be named for.
//!
//! - `issuer_host` is the issuer URL without its scheme: `acme.okta.com` for the org
//!   authorization server, `acme.okta.com/oauth2/default` for a custom one.
//! - [`VERIFICATION_DURATION_SECONDS`] observes every request that missed the verified-token
//!   cache (`miss`: the whole authentication, calls to the provider included) and **one in
//!   [`CACHE_HIT_SAMPLE`]** of the cache hits (`hit`: a few hundred nanoseconds each; timing all
//!   of them would cost more than the hit itself). Count requests with [`REQUESTS_TOTAL`].
//! - [`KEY_SET_AGE_SECONDS`] is the age of the issuer's key set (since it was last fetched or
//!   confirmed by a `304`), set at each refresh attempt and at each verification that reads
//!   the set: it grows while refreshes fail and tokens still come.
//! - [`REVOCATION_STORE_CONNECTED`] and [`REVOCATION_MIRROR_ENTRIES`] describe the process's
//!   revocation store (one per process is the rule; with several, the last one to change
//!   writes them).

/// Requests the layer decided, by outcome, scheme and reason.
pub const REQUESTS_TOTAL: &str = "okta_oidc_requests_total";
/// How long a request's authentication took (seconds), by `cache`.
pub const VERIFICATION_DURATION_SECONDS: &str = "okta_oidc_verification_duration_seconds";
/// Key set refresh attempts, by issuer and result.
pub const KEY_SET_REFRESHES_TOTAL: &str = "okta_oidc_key_set_refreshes_total";
/// Seconds since an issuer's key set was last fetched or confirmed.
pub const KEY_SET_AGE_SECONDS: &str = "okta_oidc_key_set_age_seconds";
/// Token introspection (RFC 7662) calls and the calls a budget held back, by result.
pub const INTROSPECTION_CALLS_TOTAL: &str = "okta_oidc_introspection_calls_total";
/// Revocations recorded in the store, by the signal that asked for them.
pub const REVOCATIONS_TOTAL: &str = "okta_oidc_revocations_total";
/// 1 while the revocation store is connected (the memory store: always), else 0.
pub const REVOCATION_STORE_CONNECTED: &str = "okta_oidc_revocation_store_connected";
/// Revocations held in the local mirror of the revocation store.
pub const REVOCATION_MIRROR_ENTRIES: &str = "okta_oidc_revocation_mirror_entries";
/// Sign-ins started, completed and failed, by reason.
pub const LOGINS_TOTAL: &str = "okta_oidc_logins_total";
/// Tenants known, by source.
pub const TENANTS: &str = "okta_oidc_tenants";
/// Shared Signals events accepted at the push endpoint, by event.
pub const SECURITY_EVENTS_TOTAL: &str = "okta_oidc_security_events_total";

/// Every metric name, in the order of the table above.
pub const NAMES: &[&str] = &[
    REQUESTS_TOTAL,
    VERIFICATION_DURATION_SECONDS,
    KEY_SET_REFRESHES_TOTAL,
    KEY_SET_AGE_SECONDS,
    INTROSPECTION_CALLS_TOTAL,
    REVOCATIONS_TOTAL,
    REVOCATION_STORE_CONNECTED,
    REVOCATION_MIRROR_ENTRIES,
    LOGINS_TOTAL,
    TENANTS,
    SECURITY_EVENTS_TOTAL,
];

/// `outcome` of [`REQUESTS_TOTAL`]: the identity was accepted (also: an optional route with
/// no credential), refused (401, 403, a redirect to sign in), or could not be checked now
/// (503: the provider is unreachable, a budget is spent, the store is away).
pub const OUTCOMES: &[&str] = &["accepted", "rejected", "unavailable"];
/// `scheme` of [`REQUESTS_TOTAL`]: `Authorization: Bearer`, `Authorization: DPoP`, the
/// session cookie, or no credential.
pub const SCHEMES: &[&str] = &["bearer", "dpop", "session", "none"];
/// `reason` of [`REQUESTS_TOTAL`] for an accepted request. A refused one says why with one of
/// [`REJECTION_REASONS`](crate::REJECTION_REASONS) (`unavailable` for every 503), the same name
/// the rejection log line gives: [`reasons`] lists them all.
pub const ACCEPTED: &str = "ok";

/// Every `reason` of [`REQUESTS_TOTAL`]: [`ACCEPTED`], then the rejection reasons.
pub fn reasons() -> impl Iterator<Item = &'static str> {
    std::iter::once(ACCEPTED).chain(crate::REJECTION_REASONS.iter().copied())
}

/// `cache` of [`VERIFICATION_DURATION_SECONDS`].
pub const CACHE: &[&str] = &["hit", "miss"];
/// One cache hit in this many is timed (see the module documentation).
pub const CACHE_HIT_SAMPLE: u32 = 64;
/// `result` of [`KEY_SET_REFRESHES_TOTAL`]: new keys, the same keys (or `304 Not Modified`),
/// or a failure (unreachable, an HTTP error, no usable key; the last good set stays).
pub const KEY_SET_RESULTS: &[&str] = &["updated", "unchanged", "error"];
/// `result` of [`INTROSPECTION_CALLS_TOTAL`]: the answer was active or inactive, the call
/// failed (unreachable, refused client, a bad answer), Okta answered 429, or the org's budget
/// (or the client's share of it) held the call back.
pub const INTROSPECTION_RESULTS: &[&str] = &[
    "active",
    "inactive",
    "error",
    "rate_limited",
    "budget_spent",
];
/// `source` of [`REVOCATIONS_TOTAL`]: Okta Universal Logout, OIDC Back-Channel Logout, a
/// sign-out through the login routes (RP logout: one per sign-out, whatever it revokes), a
/// Shared Signals event (one per tenant of the transmitting org it revokes in).
pub const REVOCATION_SOURCES: &[&str] = &[
    "universal_logout",
    "backchannel_logout",
    "rp_logout",
    "shared_signals",
];
/// `result` of [`LOGINS_TOTAL`].
pub const LOGIN_RESULTS: &[&str] = &["started", "completed", "failed"];
/// `reason` of [`LOGINS_TOTAL`]: `ok` for `started` and `completed`; for `failed`: a malformed
/// request or an unknown tenant, a login state unknown, expired or already used, the identity
/// provider's own error (`access_denied`, …), an ID token (or userinfo) that failed the
/// checks, a step-up sign-in whose `acr` or `auth_time` is not what was asked, the provider's
/// answer unusable, a budget spent or a dependency away, or an internal
/// error.
pub const LOGIN_REASONS: &[&str] = &[
    "ok",
    "invalid_request",
    "state",
    "provider_denied",
    "id_token",
    "step_up",
    "provider",
    "unavailable",
    "internal",
];
/// `event` of [`SECURITY_EVENTS_TOTAL`]: CAEP session revoked, CAEP credential change, the
/// SSF stream verification, any other event type (accepted, ignored).
pub const SECURITY_EVENTS: &[&str] = &[
    "session_revoked",
    "credential_change",
    "verification",
    "other",
];
/// `source` of [`TENANTS`]: registered by the application, or loaded on demand by its loader.
pub const TENANT_SOURCES: &[&str] = &["registered", "loaded"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reasons_are_ok_and_every_rejection_reason() {
        let all: Vec<&str> = reasons().collect();
        assert_eq!(all[0], "ok");
        assert_eq!(&all[1..], crate::REJECTION_REASONS);
    }
}
