//! The rules of a Security Event Token (RFC 8417) pushed by a Shared Signals transmitter
//! (OpenID SSF 1.0, RFC 8935), once its signature verified with the transmitter's keys (for
//! Okta, the org's: the `jwks_uri` of its `/.well-known/ssf-configuration` is the org's key
//! set). What the events say is read by the endpoint (`idp_logout/ssf_event.rs`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use serde_json::Value;

use super::jws::Parsed;
use super::rules::{SingleUse, Window, same_typ};
use crate::claims::StandardClaims;
use crate::error::TokenError;
use crate::provider::context::ProviderContext;
use crate::provider::key_cache::KeyCache;
use crate::tenant::config::Tenant;
use crate::tenant::registry::{IssuerEntry, Registry};

/// The header `typ` of a SET (RFC 8417 §2.3).
pub(crate) const TYP: &str = "secevent+jwt";
/// The kind of single-use marker of SETs' `jti`. The memory store keeps it with the other
/// signed-signal markers that refuse rather than forget when full.
pub(crate) const JTI_MARKER: &str = "ssf-jti";
/// Oldest `iat` accepted, besides the leeway: a transmitter retries a failed push for a while,
/// never for longer than this (and the `jti` is remembered this long).
pub(crate) const MAX_AGE_SECS: i64 = 3600;

/// - header `typ` is `secevent+jwt` (RFC 8417 §2.3; RFC 8725 §3.11: never an ID token or a
///   logout token signed by the same keys);
/// - `iss` is the transmitter's issuer: the tenant's, or its org's (the origin of a custom
///   authorization server's issuer: Okta's SETs name the org URL);
/// - `aud` holds the receiver's audience (RFC 8417 §2.2; Okta sends one string);
/// - `iat` present, at most [`MAX_AGE_SECS`] old and not in the future, with the leeway;
///   `exp` not required (SETs have none) but refused when passed; `nbf`, when present, passed;
/// - `jti` present ([`single_use`]: the caller marks it used on every instance once the events
///   are recorded, until `iat` + the maximum age);
/// - `events` a non-empty JSON object of objects (RFC 8417 §2.2); Okta sends one event, more
///   are accepted.
pub(crate) fn check(
    parsed: &Parsed<'_>,
    tenant: &Tenant,
    audience: &str,
    window: Window,
) -> Result<(), TokenError> {
    let typ = parsed.header.typ.as_deref().unwrap_or("");
    if !same_typ(TYP, typ) {
        return Err(TokenError::TypeMismatch);
    }
    let claims = &parsed.claims;
    if !transmits_for(&claims.iss, &tenant.issuer) {
        return Err(TokenError::UnknownIssuer);
    }
    if !claims.aud.contains(audience) {
        return Err(TokenError::AudienceMismatch);
    }
    let horizon = window.now.saturating_add(window.leeway);
    let iat = claims.iat.ok_or(TokenError::MissingClaim("iat"))?;
    if iat > horizon {
        return Err(TokenError::IssuedInFuture);
    }
    if iat
        < window
            .now
            .saturating_sub(window.leeway.saturating_add(MAX_AGE_SECS))
    {
        return Err(TokenError::Expired);
    }
    if window.expired(claims) {
        return Err(TokenError::Expired);
    }
    if claims.nbf.is_some_and(|nbf| nbf > horizon) {
        return Err(TokenError::NotYetValid);
    }
    single_use(claims)?;
    let raw: Value = serde_json::from_str(&parsed.raw_claims)
        .map_err(|_| TokenError::Malformed("payload is not a JSON object"))?;
    match raw.get("events").and_then(Value::as_object) {
        Some(events) if !events.is_empty() && events.values().all(Value::is_object) => {}
        _ => {
            return Err(TokenError::InvalidClaim(
                "events must be a non-empty object of event objects",
            ));
        }
    }
    Ok(())
}

/// The single-use marker of a SET: its `jti` (required), remembered until `iat` plus the
/// maximum age.
pub(crate) fn single_use(claims: &StandardClaims) -> Result<SingleUse<'_>, TokenError> {
    SingleUse::of_jti(
        claims,
        JTI_MARKER,
        claims.iat.unwrap_or_default().saturating_add(MAX_AGE_SECS),
    )
}

/// The org URL of an issuer: its origin (`https://acme.okta.com/oauth2/default` →
/// `https://acme.okta.com`).
pub(crate) fn org_of(issuer: &str) -> Option<String> {
    let url = url::Url::parse(issuer).ok()?;
    Some(url.origin().ascii_serialization())
}

/// Whether the transmitter `iss` speaks for a tenant of `issuer`: the same issuer, or the org
/// of a custom authorization server's issuer.
pub(crate) fn transmits_for(iss: &str, issuer: &str) -> bool {
    iss == issuer || org_of(issuer).is_some_and(|org| org == iss)
}

/// The registered tenants the transmitter `iss` speaks for (every app instance of the org),
/// by id. A scan of the tenants: only pushes that passed the stream's `Authorization` get here.
pub(crate) fn transmitter_tenants(registry: &Registry, iss: &str) -> Vec<Arc<Tenant>> {
    let mut tenants: Vec<Arc<Tenant>> = registry
        .all()
        .into_iter()
        .filter(|t| transmits_for(iss, &t.issuer))
        .collect();
    tenants.sort_by(|a, b| a.id.cmp(&b.id));
    tenants
}

/// The key caches of orgs that transmit for tenants registered only with a custom
/// authorization server (no tenant has the org URL as its issuer): one per org URL, made when
/// its first SET comes (at most one per registered tenant's org), discovery at the org URL.
#[derive(Default)]
pub(crate) struct OrgKeys {
    caches: Mutex<HashMap<String, Arc<KeyCache>>>,
}

impl OrgKeys {
    /// The entry of org `iss` (its tenants, its key cache), or `None` when no registered
    /// tenant is of that org (nothing is fetched for an unknown issuer).
    pub(crate) fn entry(
        &self,
        registry: &Registry,
        iss: &str,
        ctx: &Arc<ProviderContext>,
    ) -> Option<Arc<IssuerEntry>> {
        let tenants = transmitter_tenants(registry, iss);
        if tenants.is_empty() {
            return None;
        }
        let keys = {
            let mut caches = self.caches.lock().unwrap_or_else(PoisonError::into_inner);
            Arc::clone(
                caches
                    .entry(iss.to_owned())
                    .or_insert_with(|| KeyCache::new(Arc::from(iss), Arc::clone(ctx))),
            )
        };
        Some(Arc::new(IssuerEntry {
            tenants,
            keys,
            app_keys: Vec::new(),
        }))
    }
}
