//! The rejection log: why a request was refused, at `INFO` (`WARN` when the provider is
//! unavailable), so that a wrong audience or a bad signature is visible at the default level.
//!
//! One line per reason per tenant per interval: the first refusal of an interval is logged at
//! once, the next ones of that interval are only counted, and the next line says how many were
//! folded (`folded=N`). The table is keyed by the reason (a closed set,
//! [`REJECTION_REASONS`](crate::REJECTION_REASONS)) and a *registered* tenant (or none):
//! nothing a request says can add a key, so it stays as small as reasons × tenants.
//!
//! A line never holds the token. Where a value is not secret it says what was expected and
//! what was received (the audience, an unknown issuer), as ASP.NET's `IDX10214` does.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use http::header::AUTHORIZATION;
use http::request::Parts;

use crate::claims::{Identity, StandardClaims};
use crate::error::{AuthError, TokenError};
use crate::tenant::config::Tenant;
use crate::tenant::directory::TenantDirectory;
use crate::time::UnixTime;
use crate::verify::Verifier;
use crate::verify::jws;

/// Seconds between two lines of the same reason and tenant.
const INTERVAL_SECS: i64 = 60;
/// At most this many (reason, tenant) slots; beyond it, slots whose interval ended are dropped.
const MAX_SLOTS: usize = 4096;
/// Longest received value written to a line (values from a request are cut there).
const MAX_VALUE_CHARS: usize = 200;

/// A slot's key: the reason and the registered tenant (or none).
type SlotKey = (&'static str, Option<Arc<str>>);

/// The counters behind the rate limit; one per [`OktaOidc`](crate::OktaOidc).
#[derive(Default)]
pub(crate) struct RejectionLog {
    slots: Mutex<HashMap<SlotKey, Slot>>,
}

struct Slot {
    /// When the last line of this slot was written.
    logged_at: i64,
    /// Refusals counted since, without a line.
    folded: u64,
}

/// What a line says beyond the reason: found again from the request (the refusal itself
/// carries no more than its kind), only when a line is written or a slot must be chosen.
struct Context {
    tenant: Option<Arc<Tenant>>,
    expected: Option<String>,
    received: Option<String>,
    hint: Option<String>,
}

impl RejectionLog {
    /// Records the refusal of `parts` with `error`, and writes its line unless one for the
    /// same reason and tenant was written less than the interval ago.
    pub(crate) fn record(
        &self,
        verifier: &Verifier,
        error: &AuthError,
        parts: &Parts,
    ) -> Option<Arc<str>> {
        let reason = error.reason();
        let claims = unverified_claims(verifier, parts);
        let tenant = tenant_of(&verifier.tenants, claims.as_ref(), parts);
        let tenant_id = tenant.as_ref().map(|t| Arc::clone(&t.id));
        let now = UnixTime::now(verifier.provider.clock.as_ref()).as_secs();
        let Some(folded) = self.admit(reason, tenant_id.as_ref(), now) else {
            return tenant_id;
        };
        let context = describe(error, tenant, claims.as_ref());
        let tenant = context.tenant.as_ref().map_or("-", |t| &*t.id);
        let expected = context.expected.as_deref().unwrap_or("-");
        let received = context.received.as_deref().unwrap_or("-");
        let hint = context.hint.as_deref().unwrap_or("-");
        if reason == "unavailable" {
            tracing::warn!(
                reason,
                tenant,
                folded,
                "request refused: {error}; the provider could not be reached"
            );
        } else {
            tracing::info!(
                reason,
                tenant,
                expected,
                received,
                hint,
                folded,
                "request refused: {error}"
            );
        }
        tenant_id
    }

    pub(crate) fn record_route(&self, error: &AuthError, identity: Option<&Identity>, now: i64) {
        let reason = error.reason();
        let tenant = identity.map(|identity| &identity.tenant.id);
        let Some(folded) = self.admit(reason, tenant, now) else {
            return;
        };
        let expected = match error {
            AuthError::InsufficientScope { required } => required.join(" "),
            AuthError::InsufficientUserAuthentication {
                acr_values,
                max_age,
            } => {
                let acr = if acr_values.is_empty() {
                    "any".to_owned()
                } else {
                    acr_values.join("|")
                };
                let age = max_age.map_or("-".to_owned(), |a| format!("{}s", a.as_secs()));
                cut(&format!("acr={acr} max_age={age}"))
            }
            _ => "-".to_owned(),
        };
        let received = match (error, identity) {
            (_, None) => "-".to_owned(),
            (AuthError::InsufficientUserAuthentication { .. }, Some(i)) => {
                let acr = i.claims.acr.as_deref().unwrap_or("-");
                let age = i
                    .claims
                    .auth_time
                    .map_or("-".to_owned(), |at| format!("{}s", now.saturating_sub(at)));
                cut(&format!("acr={acr} age={age}"))
            }
            (_, Some(i)) => cut(&i.claims.scopes.join(" ")),
        };
        tracing::info!(
            reason,
            tenant = tenant.map_or("-", |t| &**t),
            expected,
            received,
            hint = "-",
            folded,
            "request refused: {error}"
        );
    }

    /// `Some(folded)` when a line is due for this reason and tenant at `now` (seconds).
    fn admit(&self, reason: &'static str, tenant: Option<&Arc<str>>, now: i64) -> Option<u64> {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        let key = (reason, tenant.cloned());
        if let Some(slot) = slots.get_mut(&key) {
            if now - slot.logged_at < INTERVAL_SECS {
                slot.folded += 1;
                return None;
            }
            let folded = slot.folded;
            *slot = Slot {
                logged_at: now,
                folded: 0,
            };
            return Some(folded);
        }
        if slots.len() >= MAX_SLOTS {
            slots.retain(|_, slot| now - slot.logged_at < INTERVAL_SECS);
        }
        if slots.len() < MAX_SLOTS {
            slots.insert(
                key,
                Slot {
                    logged_at: now,
                    folded: 0,
                },
            );
        }
        Some(0)
    }
}

/// The claims of the request's JWT, unverified: only to name its tenant and what it holds.
fn unverified_claims(verifier: &Verifier, parts: &Parts) -> Option<StandardClaims> {
    let value = parts.headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (_scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    if !jws::looks_like_jwt(token) {
        return None;
    }
    let mut header = jws::HeaderBuf::new();
    jws::parse(token, &verifier.options, &mut header)
        .ok()
        .map(|parsed| parsed.claims)
}

/// The registered tenant the refused request was for: a JWT's by its issuer (and client),
/// anything else's (opaque tokens, sessions, no credential) by the resolver's pick or the only
/// tenant. Never a tenant the request made up: a JWT of an unknown issuer has none.
fn tenant_of(
    directory: &TenantDirectory,
    claims: Option<&StandardClaims>,
    parts: &Parts,
) -> Option<Arc<Tenant>> {
    let Some(claims) = claims else {
        return directory.resolve_registered(parts);
    };
    let entry = directory.registry.by_issuer(&claims.iss)?;
    match TenantDirectory::route_jwt(&entry, claims) {
        Ok(tenant) => Some(Arc::clone(tenant)),
        Err(_) if entry.tenants.len() == 1 => entry.tenants.first().cloned(),
        Err(_) => None,
    }
}

/// Expected and received values where they are not secret, and a hint where a usual mistake
/// explains the refusal.
fn describe(
    error: &AuthError,
    tenant: Option<Arc<Tenant>>,
    claims: Option<&StandardClaims>,
) -> Context {
    let mut context = Context {
        tenant,
        expected: None,
        received: None,
        hint: None,
    };
    match error {
        AuthError::InvalidToken(TokenError::AudienceMismatch) => {
            if let Some(tenant) = &context.tenant {
                let mut accepted: Vec<&str> = Vec::new();
                for audience in tenant.accepted_audiences() {
                    if !accepted.contains(&audience) {
                        accepted.push(audience);
                    }
                }
                context.expected = Some(accepted.join(" "));
                let access_token = claims.is_some_and(|c| c.cid.is_some() || !c.scopes.is_empty());
                if tenant.audiences.is_empty() && access_token {
                    context.hint = Some(format!(
                        "tenant {:?} has only a client id, which accepts ID tokens; an access \
                         token needs its API audience: Tenant::audience (`api://default` for \
                         https://{{org}}/oauth2/default)",
                        &*tenant.id
                    ));
                }
            }
            context.received = claims.map(|c| cut(&c.aud.iter().collect::<Vec<_>>().join(" ")));
        }
        AuthError::InvalidToken(TokenError::UnknownIssuer) => {
            context.received = claims.map(|c| cut(&c.iss));
            context.hint = Some("the token's iss must equal a tenant's issuer exactly".into());
        }
        AuthError::InvalidToken(TokenError::ClientIdMismatch) => {
            context.expected = context
                .tenant
                .as_ref()
                .and_then(|t| t.client_id.as_deref().map(str::to_owned));
            context.received = claims.and_then(|c| c.cid.as_deref().map(cut));
        }
        AuthError::InsufficientScope { required } => {
            context.expected = Some(required.join(" "));
            context.received = claims.map(|c| cut(&c.scopes.join(" ")));
        }
        AuthError::InvalidToken(TokenError::Expired) => {
            context.received = claims.and_then(|c| c.exp).map(|exp| format!("exp={exp}"));
        }
        _ => {}
    }
    context
}

/// A value from a request, cut to a length fit for a log line.
fn cut(value: &str) -> String {
    match value.char_indices().nth(MAX_VALUE_CHARS) {
        Some((at, _)) => format!("{}…", &value[..at]),
        None => value.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_reason_and_tenant_per_interval_with_the_folded_count() {
        let log = RejectionLog::default();
        let acme: Arc<str> = Arc::from("acme");
        assert_eq!(log.admit("audience", Some(&acme), 1000), Some(0));
        assert_eq!(log.admit("audience", Some(&acme), 1001), None);
        assert_eq!(log.admit("audience", Some(&acme), 1059), None);
        // Another reason, another tenant, no tenant: their own slots.
        assert_eq!(log.admit("expired", Some(&acme), 1001), Some(0));
        assert_eq!(
            log.admit("audience", Some(&Arc::from("globex")), 1001),
            Some(0)
        );
        assert_eq!(log.admit("audience", None, 1001), Some(0));
        // The interval is over: a line, with the two refusals folded since the last one.
        assert_eq!(log.admit("audience", Some(&acme), 1060), Some(2));
        assert_eq!(log.admit("audience", Some(&acme), 1061), None);
    }

    #[test]
    fn the_table_stays_bounded() {
        let log = RejectionLog::default();
        for i in 0..(MAX_SLOTS + 100) {
            let tenant: Arc<str> = Arc::from(format!("t{i}"));
            assert_eq!(log.admit("audience", Some(&tenant), 0), Some(0));
        }
        assert!(log.slots.lock().unwrap().len() <= MAX_SLOTS);
        // Once their interval ended, old slots make room.
        let late: Arc<str> = Arc::from("late");
        assert_eq!(log.admit("audience", Some(&late), 61), Some(0));
        assert!(log.slots.lock().unwrap().len() <= MAX_SLOTS);
        assert!(
            log.slots
                .lock()
                .unwrap()
                .contains_key(&("audience", Some(late)))
        );
    }

    #[test]
    fn received_values_are_cut() {
        let long = "a".repeat(1000);
        assert_eq!(cut(&long).chars().count(), MAX_VALUE_CHARS + 1);
        assert_eq!(cut("api://default"), "api://default");
    }
}
