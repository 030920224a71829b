//! The Shared Signals receiver's settings: what the builder collects ([`SsfConfig`]), what the
//! endpoint keeps (the `Authorization` digest, verification `state`s, counts), and
//! [`OnCredentialChange`].

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use sha2::{Digest, Sha256};

use crate::verify::security_event::OrgKeys;

/// The default path of the push endpoint.
pub(super) const DEFAULT_PATH: &str = "/auth/ssf/events";

/// What a CAEP `credential-change` event does (OpenID CAEP 1.0 §3.3: a password reset or
/// update, an MFA factor activated, deactivated, reset, suspended or updated, in Okta).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum OnCredentialChange {
    /// Every session and token of the user issued before the change is refused (the default:
    /// whoever knew the old password or held the old factor is signed out).
    #[default]
    Revoke,
    /// Only recorded: an `INFO` line with the tenant, `change_type` and `credential_type`, and
    /// the count in [`SsfEventCounts::credential_change`].
    Record,
}

/// The receiver's part of [`LogoutEndpointsConfig`]. The `Authorization` value is a secret:
/// only its digest is kept past the builder, and `Debug` never shows it.
#[derive(Clone, Default)]
pub(super) struct SsfConfig {
    pub(super) authorization: Option<String>,
    pub(super) path: Option<String>,
    pub(super) audience: Option<String>,
    pub(super) on_credential_change: OnCredentialChange,
}

impl fmt::Debug for SsfConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SsfConfig")
            .field("enabled", &self.authorization.is_some())
            .field("path", &self.path)
            .field("audience", &self.audience)
            .field("on_credential_change", &self.on_credential_change)
            .finish()
    }
}

/// How many events the push endpoint took (in SETs it accepted), by kind, since it was made.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SsfEventCounts {
    /// CAEP `session-revoked` events applied.
    pub session_revoked: u64,
    /// CAEP `credential-change` events applied or recorded.
    pub credential_change: u64,
    /// SSF `verification` events.
    pub verification: u64,
    /// Events of any other type: accepted (`202`) and ignored.
    pub ignored: u64,
}

/// The receiver as built: the `Authorization` digest, where it is served, and what it
/// remembers.
pub(super) struct SsfSettings {
    authorization: [u8; 32],
    pub(super) path: String,
    pub(super) url: String,
    pub(super) audience: String,
    pub(super) on_credential_change: OnCredentialChange,
    /// The last verification `state` per transmitter (issuer): at most one per registered
    /// issuer, since only verified SETs reach it.
    verifications: Mutex<HashMap<String, String>>,
    counts: [AtomicU64; 4],
    /// The key caches of orgs whose tenants all use a custom authorization server.
    pub(super) org_keys: OrgKeys,
    /// Refusal lines: per reason (a closed set), when the last was written and how many were
    /// folded since.
    log_slots: Mutex<HashMap<&'static str, (i64, u64)>>,
}

/// Seconds between two refusal lines of the same reason.
const LOG_INTERVAL_SECS: i64 = 60;

/// The index of each count in [`SsfSettings::counts`].
#[derive(Clone, Copy)]
pub(super) enum Count {
    SessionRevoked = 0,
    CredentialChange = 1,
    Verification = 2,
    Ignored = 3,
}

impl SsfSettings {
    pub(super) fn new(config: SsfConfig, app_base_url: &str, authorization: &str) -> Self {
        let path = config.path.unwrap_or_else(|| DEFAULT_PATH.to_owned());
        SsfSettings {
            authorization: Sha256::digest(authorization.as_bytes()).into(),
            url: format!("{app_base_url}{path}"),
            path,
            audience: config.audience.unwrap_or_else(|| app_base_url.to_owned()),
            on_credential_change: config.on_credential_change,
            verifications: Mutex::new(HashMap::new()),
            counts: Default::default(),
            org_keys: OrgKeys::default(),
            log_slots: Mutex::new(HashMap::new()),
        }
    }

    /// Whether `value` is the configured `Authorization` value: both digests compared in
    /// constant time (the length of the value is not told either).
    pub(super) fn authorizes(&self, value: &[u8]) -> bool {
        use subtle::ConstantTimeEq;
        let digest: [u8; 32] = Sha256::digest(value).into();
        digest.ct_eq(&self.authorization).into()
    }

    pub(super) fn count(&self, count: Count) {
        self.counts[count as usize].fetch_add(1, Ordering::Relaxed);
        let event = match count {
            Count::SessionRevoked => "session_revoked",
            Count::CredentialChange => "credential_change",
            Count::Verification => "verification",
            Count::Ignored => "other",
        };
        crate::telemetry::metrics::security_event(event);
    }

    pub(super) fn counts(&self) -> SsfEventCounts {
        let get = |c: Count| self.counts[c as usize].load(Ordering::Relaxed);
        SsfEventCounts {
            session_revoked: get(Count::SessionRevoked),
            credential_change: get(Count::CredentialChange),
            verification: get(Count::Verification),
            ignored: get(Count::Ignored),
        }
    }

    /// `Some(folded)` when a refusal line for `reason` is due at `now` (seconds).
    pub(super) fn admit_log(&self, reason: &'static str, now: i64) -> Option<u64> {
        let mut slots = self
            .log_slots
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match slots.get_mut(reason) {
            Some((logged_at, folded)) if now - *logged_at < LOG_INTERVAL_SECS => {
                *folded += 1;
                None
            }
            Some(slot) => {
                let folded = slot.1;
                *slot = (now, 0);
                Some(folded)
            }
            None => {
                slots.insert(reason, (now, 0));
                Some(0)
            }
        }
    }

    pub(super) fn remember_verification(&self, issuer: &str, state: String) {
        let mut map = self
            .verifications
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        map.insert(issuer.to_owned(), state);
    }

    pub(super) fn verification(&self, issuer: &str) -> Option<String> {
        let map = self
            .verifications
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        map.get(issuer).cloned()
    }
}
