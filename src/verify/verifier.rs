//! [`Verifier`]: the one place a credential becomes an identity, and [`Expect`], what the
//! caller expects a token to be (it selects the rules).

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use futures_util::future::{Either, ready};
use http::request::Parts;

use super::dpop::DpopVerifier;
use super::introspection::Introspector;
use super::jws::{Parsed, ValidationOptions};
use super::revocation::Revocations;
use super::rules::{TokenKind, Window};
use super::token_cache::TokenCache;
use super::{global_token_revocation, id_jag, id_token, jws, logout_token, rules, security_event};
use crate::claims::{CredentialSource, Identity, Issuance};
use crate::error::{AuthError, TokenError};
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
    pub(super) fn check_revocations(&self, identity: &Identity) -> Result<(), AuthError> {
        let now = UnixTime::now(self.provider.clock.as_ref());
        self.revocations.check(identity, now)
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
    pub(super) fn issuer_entry<'a>(
        &'a self,
        issuer: &'a str,
    ) -> impl Future<Output = Result<Arc<IssuerEntry>, AuthError>> + Send + 'a {
        match self.tenants.registry.by_issuer(issuer) {
            Some(entry) => Either::Left(ready(Ok(entry))),
            None => Either::Right(Box::pin(self.tenants.entry_for_issuer(issuer))),
        }
    }

    /// The time rules' window now.
    pub(super) fn window(&self) -> Window {
        Window::new(self.provider.clock.now(), self.options.leeway)
    }

    /// The key of a parsed token of `tenant`, from its app's pinned keys or its issuer's key
    /// set: found in a current set at once, or (a boxed future, rare) after a shared refetch for
    /// an unknown `kid` — never for a token that is expired anyway, cooled down unless the token
    /// came over the `back_channel` from the provider.
    ///
    /// The steps after it are plain functions ([`Self::accept`]), so that the parsed token is
    /// held once in the caller's future (which a move copies whole).
    pub(super) fn key_of<'a>(
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
    pub(super) fn accept(
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
}

/// A token bound to a DPoP key is usable only with a proof (RFC 9449 §7.2).
pub(super) fn refuse_dpop_bound(identity: &Identity) -> Result<(), AuthError> {
    if identity.claims.is_dpop_bound() {
        return Err(TokenError::DpopBoundAsBearer.into());
    }
    Ok(())
}
