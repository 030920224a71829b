//! Opaque access tokens: RFC 7662 introspection at the tenant's authorization server, cached,
//! one call in flight per token, and Okta's rate limits honoured.

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use http::StatusCode;
use sha2::{Digest, Sha256};

use super::introspection_guard::{
    DEFAULT_MAX_OPAQUE, DEFAULT_MIN_OPAQUE, check_opaque_shape, pause_for_rate_limit,
};
use super::rules;
use crate::call_budget::{Budget, CallBudget, SharedBudgets};
use crate::claims::{CredentialSource, Identity, Issuance, StandardClaims};
use crate::client_address::TrustedProxies;
use crate::error::{AuthError, TokenError};
use crate::expiring_map::ExpiringMap;
use crate::provider::call_span::CallKind;
use crate::provider::client_auth::{Client, ClientAuthMethod, PostError, post_form};
use crate::provider::fetch::Fetcher;
use crate::single_flight::SingleFlight;
use crate::telemetry::metrics::Metrics;
use crate::tenant::config::Tenant;
use crate::time::{SharedClock, UnixTime};

/// Introspection settings.
#[derive(Clone, Debug)]
pub(crate) struct IntrospectionConfig {
    /// Longest time an active result is reused without asking again (it is never reused past
    /// the token's `exp`; past this age it is still served while the tenant's budget is spent).
    pub(crate) max_ttl: Duration,
    /// How long an inactive result is remembered.
    pub(crate) inactive_ttl: Duration,
    /// Most results kept (active and inactive ones each).
    pub(crate) capacity: usize,
    /// Calls per Okta org (tenants of one org share it: Okta counts its limits per org).
    pub(crate) budget: CallBudget,
    /// Calls per client address within an org's budget, for tokens not seen yet.
    pub(crate) client_share: CallBudget,
    /// Whose `X-Forwarded-For` gives the client address.
    pub(crate) trusted_proxies: TrustedProxies,
    /// Lengths of an opaque token worth a call.
    pub(crate) opaque_len: (usize, usize),
}

impl Default for IntrospectionConfig {
    fn default() -> Self {
        IntrospectionConfig {
            max_ttl: Duration::from_secs(300),
            inactive_ttl: Duration::from_secs(600),
            capacity: 100_000,
            budget: DEFAULT_BUDGET,
            client_share: DEFAULT_CLIENT_SHARE,
            trusted_proxies: TrustedProxies::default(),
            opaque_len: (DEFAULT_MIN_OPAQUE, DEFAULT_MAX_OPAQUE),
        }
    }
}

/// The default introspection budget per tenant: 120 calls a minute, 30 in a row, 10 at once —
/// under half of the smallest org-wide bucket Okta publishes for `/oauth2/v1/*` (300 a minute,
/// shared with userinfo and logout), and far under its org concurrency limit (35).
pub(crate) const DEFAULT_BUDGET: CallBudget = CallBudget::new(120, 30, 10);

/// The default share of one client address in its org's budget, for tokens not seen yet: a
/// half (60 a minute, 15 in a row, 5 at once), so that one client's junk leaves the other
/// half to everyone else, and one honest client that forwards many users' tokens (a backend
/// for a front end) still gets half the org's calls.
pub(crate) const DEFAULT_CLIENT_SHARE: CallBudget = CallBudget::new(60, 15, 5);

type Digest32 = [u8; 32];

/// A remembered active token: its identity, and until when it is served without a new call.
#[derive(Clone)]
struct Active {
    identity: Arc<Identity>,
    fresh_until: UnixTime,
}

type Outcome = Result<Arc<Identity>, AuthError>;

/// The introspection client with its cache.
pub(crate) struct Introspector {
    config: IntrospectionConfig,
    /// Active answers by SHA-256(tenant, token), until the token's `exp`.
    active: ExpiringMap<Digest32, Active>,
    /// Tokens the tenant said are not active, by the same hash: a flood of unknown tokens
    /// fills this map, never the one above.
    inactive: ExpiringMap<Digest32, ()>,
    calls: SingleFlight<Digest32, Outcome>,
    /// Per Okta org (the issuer's host): calls a minute, at once, and the pause after a 429;
    /// per (org, client address): the client's share of it for new tokens.
    budgets: SharedBudgets,
}

impl fmt::Debug for Introspector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Introspector")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// What a call needs, owned so it can run in a spawned task.
pub(crate) struct Call {
    pub(crate) tenant: Arc<Tenant>,
    pub(crate) endpoint: String,
    pub(crate) method: ClientAuthMethod,
    pub(crate) fetcher: Fetcher,
    pub(crate) clock: SharedClock,
    /// The address of the client that sent the token (`None`: the server records none).
    pub(crate) client: Option<IpAddr>,
    /// Where the calls are counted.
    pub(crate) metrics: Arc<Metrics>,
}

impl Introspector {
    pub(crate) fn new(config: IntrospectionConfig) -> Arc<Self> {
        let capacity = config.capacity.max(1);
        let budgets = SharedBudgets::new(config.budget, config.client_share, "introspection");
        Arc::new(Introspector {
            config,
            active: ExpiringMap::new(capacity),
            inactive: ExpiringMap::new(capacity),
            calls: SingleFlight::default(),
            budgets,
        })
    }

    /// The client address of a request, for its budget shares.
    pub(crate) fn client_of(&self, request: &http::request::Parts) -> Option<IpAddr> {
        self.config.trusted_proxies.client_of(request)
    }

    /// Introspection calls the org of `issuer` could make now (its budget, shared by the org's
    /// tenants; not spent by asking).
    pub(crate) fn budget_left(&self, issuer: &str, now: UnixTime) -> u32 {
        self.budgets.org_remaining(issuer, now)
    }

    /// Refuses, without any call, a value that cannot be an opaque access token.
    pub(crate) fn check_shape(&self, token: &str) -> Result<(), TokenError> {
        let (min, max) = self.config.opaque_len;
        check_opaque_shape(token, min, max)
    }

    fn digest(tenant: &Tenant, token: &str) -> Digest32 {
        let mut hasher = Sha256::new();
        hasher.update(tenant.id.as_bytes());
        hasher.update([0u8]);
        hasher.update(token.as_bytes());
        hasher.finalize().into()
    }

    /// Validates an opaque token with the tenant's introspection endpoint: cached, one call in
    /// flight per token, and within the tenant's budget. When the budget is spent (or Okta
    /// answered 429), a token already known active is still served until its `exp`; a new one
    /// answers 503 with `Retry-After`.
    pub(crate) async fn check(self: &Arc<Self>, token: &str, call: Call) -> Outcome {
        let key = Self::digest(&call.tenant, token);
        let now = UnixTime::now(call.clock.as_ref());
        let tenant_id = Arc::clone(&call.tenant.id);
        let known = self.active.get(&key, now);
        if let Some(active) = &known
            && active.fresh_until > now
        {
            return Ok(Arc::clone(&active.identity));
        }
        if self.inactive.contains(&key, now) {
            return Err(TokenError::Inactive.into());
        }
        let budget = self.budgets.org(&call.tenant.issuer, now);
        let call_metrics = Arc::clone(&call.metrics);
        let start = || {
            // Checking a known token again never takes a call a new token needs; a new token
            // takes one from its client's share first, so one client's junk cannot spend what
            // the org's other clients need.
            let permit = match known {
                Some(_) => (Some(budget.try_acquire_spare(now)?), None),
                None => {
                    let issuer = &call.tenant.issuer;
                    (
                        None,
                        Some(self.budgets.try_acquire(issuer, call.client, now)?),
                    )
                }
            };
            let this = Arc::clone(self);
            let budget = Arc::clone(&budget);
            let token = token.to_owned();
            Ok(async move {
                let (result, counted) = this.call(&token, &call, &budget).await;
                call.metrics.introspection(&call.tenant.id, counted);
                drop(permit);
                this.remember(key, &result, &call);
                result
            })
        };
        let panicked = || Err(AuthError::TemporarilyUnavailable { retry_after: None });
        let metrics = Arc::clone(&call_metrics);
        let outcome = match self.calls.join_or_start(key, start, panicked) {
            Ok(flight) => flight.await,
            Err(retry) => {
                metrics.introspection(&tenant_id, "budget_spent");
                Err(AuthError::TemporarilyUnavailable {
                    retry_after: Some(retry),
                })
            }
        };
        match (outcome, known) {
            // Known active, and no answer now: it keeps working until its `exp`.
            (Err(AuthError::TemporarilyUnavailable { .. }), Some(active)) => {
                tracing::debug!(
                    tenant = &*tenant_id,
                    "introspection not possible now; serving the known answer"
                );
                Ok(active.identity)
            }
            (outcome, _) => outcome,
        }
    }

    fn remember(&self, key: Digest32, result: &Outcome, call: &Call) {
        let now = UnixTime::now(call.clock.as_ref());
        match result {
            Ok(identity) => {
                let fresh_until = now.after(self.config.max_ttl);
                let until = identity.claims.exp.map_or(fresh_until, UnixTime::from_secs);
                let active = Active {
                    identity: Arc::clone(identity),
                    fresh_until: fresh_until.min(until),
                };
                self.active.insert(key, active, until);
            }
            Err(AuthError::InvalidToken(TokenError::Inactive)) => {
                self.active.remove(&key);
                self.inactive
                    .insert(key, (), now.after(self.config.inactive_ttl));
            }
            Err(_) => {}
        }
    }

    /// One call, and its `result` label: `active`, `inactive`, `error` or `rate_limited`.
    async fn call(&self, token: &str, call: &Call, budget: &Budget) -> (Outcome, &'static str) {
        let (result, label) = self.ask(token, call, budget).await;
        let counted = label.unwrap_or(match &result {
            Ok(_) => "active",
            Err(AuthError::InvalidToken(TokenError::Inactive)) => "inactive",
            Err(_) => "error",
        });
        (result, counted)
    }

    async fn ask(
        &self,
        token: &str,
        call: &Call,
        budget: &Budget,
    ) -> (Outcome, Option<&'static str>) {
        let tenant = &call.tenant;
        let Some(client_id) = tenant.client_id.as_deref() else {
            return (
                Err(TokenError::Malformed("opaque token, but the tenant has no client").into()),
                None,
            );
        };
        let client = Client {
            id: client_id,
            secrets: &tenant.secrets,
            method: call.method,
            key: tenant.key.as_ref(),
        };
        let form = [("token", token), ("token_type_hint", "access_token")];
        let unavailable = |retry: Duration| AuthError::TemporarilyUnavailable {
            retry_after: Some(retry),
        };
        let answer = match post_form(
            CallKind::Introspection,
            &call.fetcher,
            &call.endpoint,
            &form,
            &client,
            64 * 1024,
        )
        .await
        {
            Ok(answer) => answer,
            Err(PostError::NoSecret) => {
                tracing::warn!(
                    tenant = &*tenant.id,
                    "opaque token, but the tenant has no client secret"
                );
                return (
                    Err(AuthError::TemporarilyUnavailable { retry_after: None }),
                    None,
                );
            }
            Err(PostError::InvalidClient) => {
                tracing::error!(
                    tenant = &*tenant.id,
                    "introspection: client authentication failed"
                );
                return (
                    Err(AuthError::TemporarilyUnavailable { retry_after: None }),
                    None,
                );
            }
            Err(PostError::Transport(e)) => {
                tracing::warn!(tenant = &*tenant.id, error = %e, "introspection unreachable");
                return (Err(unavailable(Duration::from_secs(5))), None);
            }
        };
        if answer.status == StatusCode::TOO_MANY_REQUESTS {
            let now = UnixTime::now(call.clock.as_ref());
            let retry = pause_for_rate_limit(budget, &answer.headers, now);
            tracing::warn!(
                tenant = &*tenant.id,
                retry_secs = retry.as_secs(),
                "introspection rate-limited"
            );
            return (Err(unavailable(retry)), Some("rate_limited"));
        }
        if !answer.status.is_success() {
            tracing::warn!(tenant = &*tenant.id, status = %answer.status, "introspection failed");
            return (Err(unavailable(Duration::from_secs(5))), None);
        }
        (parse_response(&answer.body, tenant, call), None)
    }
}

/// Parses an introspection response into an identity.
pub(crate) fn parse_response(
    body: &[u8],
    tenant: &Tenant,
    call: &Call,
) -> Result<Arc<Identity>, AuthError> {
    let invalid = |why: &'static str| {
        tracing::warn!(tenant = &*tenant.id, why, "introspection response rejected");
        AuthError::TemporarilyUnavailable {
            retry_after: Some(Duration::from_secs(5)),
        }
    };
    let mut object: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(body).map_err(|_| invalid("not a JSON object"))?;
    match object.get("active") {
        Some(serde_json::Value::Bool(true)) => {}
        Some(serde_json::Value::Bool(false)) => return Err(TokenError::Inactive.into()),
        _ => return Err(invalid("no boolean `active`")),
    }
    // A member that is `null` is a member the provider did not send (RFC 7662 §2.2 lists
    // optional members; `"sub": null` is no subject): the rules then refuse a missing one
    // with 401, as for an absent member, instead of a claim "of the wrong type" (503).
    object.retain(|_, value| !value.is_null());
    if !object.contains_key("cid")
        && let Some(client_id) = object.get("client_id").cloned()
    {
        object.insert("cid".into(), client_id);
    }
    object.remove("active");
    let raw = serde_json::Value::Object(object).to_string();
    let claims: StandardClaims =
        serde_json::from_str(&raw).map_err(|_| invalid("claims of the wrong type"))?;
    let now = i64::try_from(call.clock.now().as_secs()).unwrap_or(i64::MAX);
    if let Err(e) = rules::check_introspected(&claims, tenant, now) {
        tracing::warn!(tenant = &*tenant.id, reason = %e, "introspected token refused");
        return Err(e.into());
    }
    Ok(Arc::new(Identity {
        claims,
        raw: raw.into_boxed_str(),
        tenant: tenant.as_ref_info(),
        source: CredentialSource::Introspection,
        issuance: Issuance::default(),
    }))
}
