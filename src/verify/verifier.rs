//! [`Verifier`]: the one place a credential becomes an identity, and [`Expect`], what the
//! caller expects a token to be (it selects the rules).

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::{Either, ready};
use http::request::Parts;

use super::dpop::{DpopVerifier, ProofTarget};
use super::introspection::{Call, Introspector};
use super::jws::{Parsed, ValidationOptions};
use super::revocation::Revocations;
use super::rules::{TokenKind, Window};
#[cfg(feature = "login")]
use super::session::SessionCredential;
use super::token_cache::TokenCache;
use super::{global_token_revocation, id_jag, id_token, jws, logout_token, rules, security_event};
use crate::claims::{CredentialSource, Identity, Issuance};
use crate::error::{AuthError, TokenError};
use crate::provider::client_auth::ClientAuthMethod;
use crate::provider::context::ProviderContext;
use crate::provider::jwk::VerifyKey;
use crate::provider::key_lookup::Refetch;
use crate::tenant::config::Tenant;
use crate::tenant::directory::TenantDirectory;
use crate::tenant::registry::IssuerEntry;
use crate::time::UnixTime;

/// What the caller expects a token to be; it selects the rules.
#[cfg_attr(not(feature = "login"), allow(dead_code))]
pub(crate) enum Expect<'a> {
    /// A bearer credential of an API request, of whichever tenant its claims name.
    Bearer,
    /// The ID token of a login at `tenant`, with the login's `nonce` and the access token that
    /// came with it (for `at_hash`). It comes from the token endpoint (the back channel): an
    /// unknown `kid` refetches the key set at once, whatever the cooldown.
    IdToken {
        tenant: &'a Arc<Tenant>,
        nonce: &'a str,
        access_token: Option<&'a str>,
    },
    /// The `Authorization` JWT of a Universal Logout call (Okta's global token revocation
    /// request), for the endpoint at `audience` (its absolute URL). Rules:
    /// `verify/global_token_revocation.rs`.
    GlobalTokenRevocation { audience: &'a str },
    /// An OpenID Connect Back-Channel Logout 1.0 logout token. Rules: `verify/logout_token.rs`.
    LogoutToken,
    /// A Security Event Token pushed by a Shared Signals transmitter (RFC 8417, RFC 8935), for
    /// the receiver's `audience`. Rules: `verify/security_event.rs`.
    SecurityEvent {
        audience: &'a str,
        org_keys: &'a security_event::OrgKeys,
    },
    /// An Identity Assertion JWT Authorization Grant (ID-JAG) presented to the application's
    /// own authorization server at `audience` (its issuer) by the authenticated client
    /// `client_id`. Rules: `verify/id_jag.rs`; its `jti` is used up like a logout signal's.
    IdJag {
        audience: &'a str,
        client_id: &'a str,
    },
}

impl Expect<'_> {
    /// The rules of `rules::check`, for the credentials that become a request's identity.
    fn kind(&self) -> Option<TokenKind> {
        match self {
            Expect::Bearer => Some(TokenKind::Bearer),
            Expect::IdToken { .. } => Some(TokenKind::IdToken),
            Expect::GlobalTokenRevocation { .. }
            | Expect::LogoutToken
            | Expect::SecurityEvent { .. }
            | Expect::IdJag { .. } => None,
        }
    }
}

/// Turns credentials into identities.
pub(crate) struct Verifier {
    pub(crate) tenants: TenantDirectory,
    pub(crate) provider: Arc<ProviderContext>,
    pub(crate) options: ValidationOptions,
    /// Opaque-token introspection and its cache.
    pub(crate) introspector: Arc<Introspector>,
    /// Verified tokens (`None` when turned off).
    pub(super) token_cache: Option<TokenCache>,
    /// DPoP proofs, when the application accepts them.
    pub(crate) dpop: Option<DpopVerifier>,
    /// The revocation store, its mirror and the checks against it.
    pub(crate) revocations: Revocations,
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field("tenants", &self.tenants)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl Verifier {
    pub(crate) fn new(
        tenants: TenantDirectory,
        provider: Arc<ProviderContext>,
        options: ValidationOptions,
        introspector: Arc<Introspector>,
        token_cache: Option<TokenCache>,
        revocations: Revocations,
    ) -> Self {
        Verifier {
            tenants,
            provider,
            options,
            introspector,
            token_cache,
            dpop: None,
            revocations,
        }
    }

    /// Accepts DPoP proofs with these settings.
    pub(crate) fn with_dpop(mut self, dpop: Option<DpopVerifier>) -> Self {
        self.dpop = dpop;
        self
    }

    /// The identity of a token found in the verified-token cache, if every rule still holds
    /// (the revocation mirror included).
    pub(crate) fn cached(&self, token: &str) -> Option<Arc<Identity>> {
        self.token_cache.as_ref()?.get(
            token,
            &self.tenants.registry,
            self.provider.clock.as_ref(),
            &self.revocations,
        )
    }

    /// The address of the client that sent `request`, for the budget shares (the peer's, or
    /// the one a trusted proxy forwarded).
    #[cfg_attr(not(feature = "login"), allow(dead_code))]
    pub(crate) fn client_of(&self, request: &Parts) -> Option<std::net::IpAddr> {
        self.introspector.client_of(request)
    }

    /// Refuses an identity the revocation mirror revokes.
    fn check_revocations(&self, identity: &Identity) -> Result<(), AuthError> {
        let now = UnixTime::now(self.provider.clock.as_ref());
        self.revocations.check(identity, now)
    }

    /// Validates a bearer credential the verified-token cache does not hold (the layer looked
    /// it up first, in its synchronous fast path; see [`access_token`](Self::access_token)); a
    /// token bound to a DPoP key is refused (RFC 9449 §7.2).
    pub(crate) async fn bearer(
        &self,
        token: &str,
        request: &Parts,
    ) -> Result<Arc<Identity>, AuthError> {
        let identity = self.access_token(token, request).await?;
        refuse_dpop_bound(&identity)?;
        Ok(identity)
    }

    /// Validates a `DPoP` credential (RFC 9449 §7.1): the access token as for a bearer (from
    /// the verified-token cache when it is there), then its proof, against the request's
    /// method and its URI as clients reach it (the tenant's resource origin, else the
    /// configured one, and the request's path before any `Router::nest` stripped it).
    pub(crate) async fn dpop(
        &self,
        token: &str,
        proof: &str,
        request: &Parts,
    ) -> Result<Arc<Identity>, AuthError> {
        let Some(dpop) = &self.dpop else {
            return Err(AuthError::MissingCredential);
        };
        let identity = match self.cached(token) {
            Some(identity) => identity,
            None => self.access_token(token, request).await?,
        };
        let tenant_origin = self
            .tenants
            .registry
            .by_id(&identity.tenant.id)
            .and_then(|t| {
                t.resource
                    .as_deref()
                    .and_then(crate::protected_resource::origin)
            });
        let Some(origin) = tenant_origin.as_deref().or(dpop.default_origin()) else {
            tracing::error!(
                tenant = &*identity.tenant.id,
                "DPoP proof, and no resource identifier to check its htu against"
            );
            return Err(AuthError::TemporarilyUnavailable { retry_after: None });
        };
        let uri = format!("{origin}{}", client_path(request));
        let target = ProofTarget {
            method: request.method.as_str(),
            uri: &uri,
        };
        dpop.check(proof, token, &identity.claims, &target).await?;
        Ok(identity)
    }

    /// Validates an access token the verified-token cache does not hold: a JWT locally (or,
    /// for an Okta org authorization server's access token, by introspection), anything else by
    /// introspection at the tenant the request names.
    async fn access_token(&self, token: &str, request: &Parts) -> Result<Arc<Identity>, AuthError> {
        let max = self.options.max_token_bytes;
        if token.len() > max {
            return Err(TokenError::TooLarge {
                len: token.len(),
                max,
            }
            .into());
        }
        if !jws::looks_like_jwt(token) {
            self.introspector.check_shape(token)?;
            // Boxed, like the introspection below: the JWT path's future stays small.
            return Box::pin(async {
                let tenant = self.tenants.for_opaque_token(request).await?;
                self.introspect(token, tenant, request).await
            })
            .await;
        }
        let mut header = jws::HeaderBuf::new();
        let mut parsed = jws::parse(token, &self.options, &mut header);
        let parsed = parsed.as_mut().map_err(|e| e.clone())?;
        let entry = self.issuer_entry(&parsed.claims.iss).await?;
        if TenantDirectory::is_org_access_token(&entry, &parsed.claims) {
            let Some(tenant) = self
                .tenants
                .for_org_access_token(&entry, &parsed.claims, request)
            else {
                return Err(TokenError::AudienceMismatch.into());
            };
            Self::screen_org_access_token(parsed, &entry, &tenant, self.window())?;
            return Box::pin(self.introspect(token, tenant, request)).await;
        }
        let tenant = TenantDirectory::route_jwt(&entry, &parsed.claims)?;
        let window = self.window();
        let key = Self::key_of(parsed, &entry, tenant, window, false).await?;
        self.accept(token, parsed, &key, tenant, Expect::Bearer, window)
    }

    /// What can be checked of an Okta org authorization server's access token before a call
    /// is spent on it: the time rules (an expired one is refused without a call) and, when it
    /// names a key the org publishes, its signature (a forgery is refused without a call).
    /// Okta signs these tokens with keys it does not publish (see the Okta facts in
    /// DESIGN.md): a token naming another key goes to introspection, within its client's share.
    fn screen_org_access_token(
        parsed: &Parsed<'_>,
        entry: &IssuerEntry,
        tenant: &Tenant,
        window: Window,
    ) -> Result<(), AuthError> {
        rules::check_times(&parsed.claims, window)?;
        rules::refuse_non_credential(parsed)?;
        let kid = parsed.header.kid.as_deref();
        if kid.is_some()
            && let Some(key) = entry.current_key(tenant, kid, parsed.alg)
        {
            jws::verify_signature(parsed, &key)?;
        }
        Ok(())
    }

    /// Introspects an access token at the tenant's authorization server, within the budget
    /// share of the client that sent `request`.
    async fn introspect(
        &self,
        token: &str,
        tenant: Arc<Tenant>,
        request: &Parts,
    ) -> Result<Arc<Identity>, AuthError> {
        if tenant.client_id.is_none() || tenant.secrets.is_empty() {
            // Retrying cannot help: without credentials no call will ever vouch for it.
            return Err(TokenError::NoIntrospection.into());
        }
        let entry = self
            .tenants
            .registry
            .by_issuer(&tenant.issuer)
            .ok_or(TokenError::UnknownIssuer)?;
        let metadata = entry.keys.ensure_metadata().await.map_err(|e| {
            tracing::warn!(tenant = &*tenant.id, error = %e, "discovery unavailable for introspection");
            AuthError::TemporarilyUnavailable {
                retry_after: Some(Duration::from_secs(5)),
            }
        })?;
        let Some(endpoint) = metadata.introspection_endpoint.clone() else {
            tracing::warn!(
                tenant = &*tenant.id,
                "provider has no introspection endpoint"
            );
            return Err(
                TokenError::Malformed("opaque token, and no introspection endpoint").into(),
            );
        };
        let methods = metadata
            .introspection_endpoint_auth_methods_supported
            .as_deref()
            .or(metadata.token_endpoint_auth_methods_supported.as_deref());
        let call = Call {
            tenant,
            endpoint,
            method: ClientAuthMethod::choose(methods),
            fetcher: self.provider.fetcher.clone(),
            clock: Arc::clone(&self.provider.clock),
            client: self.introspector.client_of(request),
            metrics: Arc::clone(&self.provider.metrics),
        };
        let identity = self.introspector.check(token, call).await?;
        rules::check_binding(&identity.claims)?;
        // Cached answers too: a user revoked since is refused without asking again.
        self.check_revocations(&identity)?;
        Ok(identity)
    }

    /// Validates a JWT bearer token into an identity (no introspection); a DPoP-bound token is
    /// refused (there is no proof to check here).
    pub(crate) async fn jwt(&self, token: &str) -> Result<Arc<Identity>, AuthError> {
        let identity = match self.cached(token) {
            Some(identity) => identity,
            // Boxed: the verification's future is some 3 KB, which a cached hit would otherwise
            // carry (and copy each time the future moves).
            None => Box::pin(self.verify_jws(token, Expect::Bearer)).await?,
        };
        refuse_dpop_bound(&identity)?;
        Ok(identity)
    }

    /// Verifies a compact JWS for what the caller expects. The token is parsed once; then, in
    /// this order: size cap, header and algorithm allow-list (in [`jws::parse`]), tenant, key,
    /// **signature**, claim rules for the expected kind of token. A forged token is reported
    /// invalid (never "expired"), and an expired token with an unknown `kid` causes no key
    /// refetch.
    pub(crate) async fn verify_jws(
        &self,
        token: &str,
        expect: Expect<'_>,
    ) -> Result<Arc<Identity>, AuthError> {
        let mut header = jws::HeaderBuf::new();
        // Borrowed in place: moving the parsed token out of the result would copy it whole.
        let mut parsed = jws::parse(token, &self.options, &mut header);
        let parsed = parsed.as_mut().map_err(|e| e.clone())?;
        let entry = match &expect {
            Expect::IdToken { tenant, .. } => {
                if parsed.claims.iss != *tenant.issuer {
                    return Err(TokenError::UnknownIssuer.into());
                }
                self.tenants
                    .registry
                    .by_issuer(&tenant.issuer)
                    .ok_or(TokenError::UnknownIssuer)?
            }
            // Okta's SETs name the org URL, also for tenants of a custom authorization server.
            Expect::SecurityEvent { org_keys, .. } => {
                let iss = &parsed.claims.iss;
                match self.tenants.registry.by_issuer(iss) {
                    Some(entry) => entry,
                    None => match org_keys.entry(&self.tenants.registry, iss, &self.provider) {
                        Some(entry) => entry,
                        None => self.issuer_entry(iss).await?,
                    },
                }
            }
            _ => self.issuer_entry(&parsed.claims.iss).await?,
        };
        let tenant = match &expect {
            Expect::Bearer => TenantDirectory::route_jwt(&entry, &parsed.claims)?,
            Expect::IdToken { tenant, .. } => *tenant,
            // Okta's request names the app instance by `sub` = its client id.
            Expect::GlobalTokenRevocation { .. } => {
                TenantDirectory::route_by_client_id(&entry, |c| c == parsed.claims.sub)?
            }
            // A logout token is for a client: its `aud` names the client id.
            Expect::LogoutToken => {
                TenantDirectory::route_by_client_id(&entry, |c| parsed.claims.aud.contains(c))?
            }
            // A SET names no client: the transmitter (the org) speaks for all its tenants; the
            // first one's keys are the org's, and the endpoint applies the events to each.
            Expect::SecurityEvent { .. } => {
                entry.tenants.first().ok_or(TokenError::UnknownIssuer)?
            }
            // An ID-JAG names the vendor's client, not the org's app instance.
            Expect::IdJag { .. } => TenantDirectory::route_org_grant(&entry)?,
        };
        let window = self.window();
        let back_channel = matches!(expect, Expect::IdToken { .. });
        let key = Self::key_of(parsed, &entry, tenant, window, back_channel).await?;
        if expect.kind().is_none() {
            return self
                .accept_signal(parsed, &key, tenant, expect, window)
                .await;
        }
        self.accept(token, parsed, &key, tenant, expect, window)
    }

    /// The tenants of an issuer: registered ones at once, others through the loader. A future
    /// of a few words: the loader's, rare, is boxed rather than carried by every verification.
    fn issuer_entry<'a>(
        &'a self,
        issuer: &'a str,
    ) -> impl Future<Output = Result<Arc<IssuerEntry>, AuthError>> + Send + 'a {
        match self.tenants.registry.by_issuer(issuer) {
            Some(entry) => Either::Left(ready(Ok(entry))),
            None => Either::Right(Box::pin(self.tenants.entry_for_issuer(issuer))),
        }
    }

    /// The time rules' window now.
    fn window(&self) -> Window {
        Window::new(self.provider.clock.now(), self.options.leeway)
    }

    /// The key of a parsed token of `tenant`, from its app's pinned keys or its issuer's key
    /// set: found in a current set at once, or (a boxed future, rare) after a shared refetch for
    /// an unknown `kid` — never for a token that is expired anyway, cooled down unless the token
    /// came over the `back_channel` from the provider.
    ///
    /// The steps after it are plain functions ([`Self::accept`]), so that the parsed token is
    /// held once in the caller's future (which a move copies whole).
    fn key_of<'a>(
        parsed: &Parsed<'a>,
        entry: &'a IssuerEntry,
        tenant: &'a Tenant,
        window: Window,
        back_channel: bool,
    ) -> impl Future<Output = Result<Arc<VerifyKey>, AuthError>> + Send + 'a {
        let kid = parsed.header.kid.as_deref();
        match entry.current_key(tenant, kid, parsed.alg) {
            Some(key) => Either::Left(ready(Ok(key))),
            None => {
                let kid = kid.map(str::to_owned);
                let refetch = match (window.expired(&parsed.claims), back_channel) {
                    (true, _) => Refetch::Never,
                    (false, true) => Refetch::Now,
                    (false, false) => Refetch::CooledDown,
                };
                let alg = parsed.alg;
                Either::Right(Box::pin(async move {
                    entry.key_for(tenant, kid.as_deref(), alg, refetch).await
                }))
            }
        }
    }

    /// The steps after the key for a credential that becomes a request's identity: signature,
    /// rules, identity, the revocation mirror; and the verified-token cache for bearer tokens.
    fn accept(
        &self,
        token: &str,
        parsed: &mut Parsed<'_>,
        key: &VerifyKey,
        tenant: &Arc<Tenant>,
        expect: Expect<'_>,
        window: Window,
    ) -> Result<Arc<Identity>, AuthError> {
        jws::verify_signature(parsed, key)?;
        let Some(kind) = expect.kind() else {
            return Err(TokenError::Malformed("a logout signal is not a credential").into());
        };
        rules::check(parsed, tenant, kind, window)?;
        rules::check_binding(&parsed.claims)?;
        if let Expect::IdToken {
            nonce,
            access_token,
            ..
        } = expect
        {
            id_token::check(&parsed.claims, parsed.alg, nonce, access_token)?;
        }
        let user_credential =
            kind == TokenKind::IdToken || rules::is_id_token(&parsed.claims, tenant);
        let user_tenant = tenant
            .own_authorization_server
            .then(|| id_jag::user_tenant(&parsed.raw_claims))
            .flatten();
        let identity = Arc::new(Identity {
            claims: std::mem::take(&mut parsed.claims),
            raw: std::mem::take(&mut parsed.raw_claims).into_boxed_str(),
            tenant: tenant.as_ref_info(),
            source: CredentialSource::Jwt,
            issuance: Issuance {
                user_credential,
                // What a logout revokes of an ID token without `jti` (#17).
                token_digest: (user_credential && kind == TokenKind::Bearer)
                    .then(|| crate::store::token_digest(token).into_boxed_str()),
                user_tenant,
                ..Issuance::default()
            },
        });
        if kind == TokenKind::Bearer {
            // The generation before the check: a revocation that lands in between makes the
            // cache check the entry again. (A login's ID token is not checked: it was just
            // issued for this login's nonce, and starts a session after any revocation.)
            let generation = self.revocations.generation();
            self.check_revocations(&identity)?;
            if let Some(cache) = &self.token_cache {
                let clock = self.provider.clock.as_ref();
                cache.insert(token, &identity, tenant, key.id, clock, generation);
            }
        }
        Ok(identity)
    }

    /// The steps after the key for a logout signal (Universal Logout, back-channel logout):
    /// signature, its own rules, then its `jti` used up on every instance.
    async fn accept_signal(
        &self,
        parsed: &mut Parsed<'_>,
        key: &VerifyKey,
        tenant: &Arc<Tenant>,
        expect: Expect<'_>,
        window: Window,
    ) -> Result<Arc<Identity>, AuthError> {
        jws::verify_signature(parsed, key)?;
        let marker = match expect {
            Expect::GlobalTokenRevocation { audience } => Some(global_token_revocation::check(
                parsed, tenant, audience, window,
            )?),
            // Its `jti` is used up once its events are recorded (`use_up_security_event`).
            Expect::SecurityEvent { audience, .. } => {
                security_event::check(parsed, tenant, audience, window)?;
                None
            }
            Expect::IdJag {
                audience,
                client_id,
            } => Some(id_jag::check(parsed, tenant, audience, client_id, window)?),
            _ => Some(logout_token::check(parsed, tenant, window)?),
        };
        if let Some(marker) = marker {
            let now = UnixTime::now(self.provider.clock.as_ref());
            (self.revocations)
                .use_up(&tenant.id, marker, self.options.leeway, now)
                .await?;
        }
        Ok(Arc::new(Identity {
            claims: std::mem::take(&mut parsed.claims),
            raw: std::mem::take(&mut parsed.raw_claims).into_boxed_str(),
            tenant: tenant.as_ref_info(),
            source: CredentialSource::Jwt,
            issuance: Issuance::default(),
        }))
    }

    /// Uses up the `jti` of a Security Event Token verified with `Expect::SecurityEvent`, on
    /// every instance, per issuer (RFC 8417 §2.2: unique per issuer). Called once its events
    /// are recorded: a transmitter that retries after a failure (RFC 8935 §2.4: a `5xx`) sends
    /// the same SET, which must not count as a replay; a replay of a SET already taken records
    /// the same revocations again (they name the event's time, so nothing changes) and is
    /// refused here.
    pub(crate) async fn use_up_security_event(&self, identity: &Identity) -> Result<(), AuthError> {
        let marker = security_event::single_use(&identity.claims)?;
        let now = UnixTime::now(self.provider.clock.as_ref());
        (self.revocations)
            .use_up(&identity.claims.iss, marker, self.options.leeway, now)
            .await
    }

    #[cfg(feature = "login")]
    /// The identity of a session the login half opened: its tenant must still be known (it is
    /// loaded again after a restart or an eviction) with the issuer and client id it signed in
    /// with, and the revocation mirror must not revoke it. `None` when it is not (the session
    /// counts as no credential: a page asks to sign in again).
    pub(crate) async fn session(
        &self,
        session: SessionCredential,
    ) -> Result<Option<Arc<Identity>>, AuthError> {
        let Some(tenant) = self.tenants.tenant_by_id(&session.tenant_id).await? else {
            tracing::debug!(
                tenant = &*session.tenant_id,
                "session of a tenant nobody knows"
            );
            return Ok(None);
        };
        if *tenant.issuer != session.issuer
            || tenant.client_id.as_deref() != Some(session.client_id.as_str())
        {
            tracing::debug!(
                tenant = &*session.tenant_id,
                "session of a tenant that changed"
            );
            return Ok(None);
        }
        let Ok(raw) = serde_json::to_string(&session.claims) else {
            return Ok(None);
        };
        let Ok(claims) = serde_json::from_value::<crate::claims::StandardClaims>(
            serde_json::Value::Object(session.claims),
        ) else {
            return Ok(None);
        };
        let identity = Identity {
            claims,
            raw: raw.into_boxed_str(),
            tenant: tenant.as_ref_info(),
            source: CredentialSource::Session,
            issuance: Issuance {
                started_at: Some(session.signed_in_at),
                session_id: (!session.session_id.is_empty())
                    .then(|| session.session_id.into_boxed_str()),
                user_credential: true,
                token_digest: None,
                user_tenant: None,
            },
        };
        match self.check_revocations(&identity) {
            Ok(()) => Ok(Some(Arc::new(identity))),
            Err(AuthError::InvalidToken(TokenError::Revoked)) => {
                tracing::info!(
                    tenant = &*identity.tenant.id,
                    "revoked session: sign in again"
                );
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }
}

/// The path of the request as the client sent it (a DPoP proof's `htu`): with feature `axum`,
/// axum's `OriginalUri` when a `Router::nest` stripped a prefix before the layer; else the path
/// the layer sees. (A reverse proxy in front that strips a prefix is not seen.)
fn client_path(request: &Parts) -> &str {
    #[cfg(feature = "axum")]
    if let Some(axum::extract::OriginalUri(uri)) = request.extensions.get() {
        return uri.path();
    }
    request.uri.path()
}

/// A token bound to a DPoP key is usable only with a proof (RFC 9449 §7.2).
fn refuse_dpop_bound(identity: &Identity) -> Result<(), AuthError> {
    if identity.claims.is_dpop_bound() {
        return Err(TokenError::DpopBoundAsBearer.into());
    }
    Ok(())
}
