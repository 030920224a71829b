//! What the layer decides for one request: let it through with an identity (and maybe
//! `Set-Cookie` values), or answer it (RFC 6750 error, redirect to sign in).

use std::sync::Arc;
use std::time::Instant;

use axum_core::body::Body;
use axum_core::response::Response;
use http::header::{AUTHORIZATION, CACHE_CONTROL, LOCATION, SET_COOKIE};
use http::request::Parts;
use http::{HeaderMap, HeaderValue, Method, Request, StatusCode};

use super::cache_control::make_private;
use super::challenge::{Challenges, DEFAULT_REALM, DPOP_NONCE};
use super::credential::{
    AuthContext, DpopOffer, bearer_token, check_scopes, check_token68, dpop_proof, dpop_token,
    uses_dpop,
};
use super::sessions::{SessionCheck, SessionEnd, SessionSource};
use tracing::{Instrument, Span};

use crate::claims::{CredentialSource, Identity};
use crate::error::{AuthError, TokenError};
use crate::handle::OktaOidc;
use crate::resource_metadata::metadata_url_for;
use crate::telemetry::metrics::{Scheme, outcome_of};
use crate::telemetry::trace;

pub(crate) type ErrorHandler = Arc<dyn Fn(&AuthError) -> Response + Send + Sync>;

/// The layer's configuration, shared by every service it makes.
#[derive(Clone)]
pub(crate) struct LayerConfig {
    pub(crate) oidc: OktaOidc,
    pub(crate) optional: bool,
    pub(crate) required_scopes: Arc<[String]>,
    pub(crate) realm: Arc<str>,
    pub(crate) on_error: Option<ErrorHandler>,
    pub(crate) sessions: Option<Arc<dyn SessionSource>>,
    pub(crate) redirect_to_login: bool,
    /// This route refuses `Bearer` (DPoP only).
    pub(crate) require_dpop: bool,
}

/// The outcome for a request.
pub(crate) enum Decision<B> {
    /// Call the inner service with this request (its identity is in the extensions), then add
    /// these headers to its response.
    Proceed(Request<B>, Additions),
    /// Answer this instead.
    Answer(Response),
}

/// What the layer adds to the inner service's response: nothing on the fast path.
#[derive(Default)]
pub(crate) struct Additions {
    /// `Set-Cookie` values of a refreshed session; the response becomes `private`.
    set_cookies: Vec<HeaderValue>,
    /// The current server nonce for a DPoP request (RFC 9449 §9).
    dpop_nonce: Option<HeaderValue>,
    /// A session that ended: for the request extensions, or the page that explains it.
    session_end: Option<SessionEnd>,
}

impl Additions {
    /// Adds them to the inner service's response headers.
    pub(crate) fn apply(self, headers: &mut HeaderMap) {
        if !self.set_cookies.is_empty() {
            make_private(headers);
        }
        for cookie in self.set_cookies {
            headers.append(SET_COOKIE, cookie);
        }
        if let Some(nonce) = self.dpop_nonce {
            headers.insert(DPOP_NONCE, nonce);
        }
    }
}

/// An identity, and what its response gets (a refreshed session, a DPoP nonce).
type Authenticated = (Option<Arc<Identity>>, Additions);

impl LayerConfig {
    /// The identity of a bearer token found in the verified-token cache, when it holds every
    /// required scope: the synchronous fast path.
    pub(crate) fn cached(&self, headers: &HeaderMap) -> Option<Arc<Identity>> {
        let token = bearer_token(headers).ok()??;
        let identity = self.oidc.verifier().cached(token)?;
        if identity.claims.is_dpop_bound() || self.dpop_only() {
            return None;
        }
        check_scopes(&identity, &self.required_scopes)
            .is_ok()
            .then_some(identity)
    }

    /// What the request extensions get.
    pub(crate) fn context(&self, identity: Option<Arc<Identity>>) -> AuthContext {
        // Only a DPoP request carries a bound identity (a bound token is refused as `Bearer`),
        // and it never takes the fast path.
        let dpop = identity
            .as_ref()
            .filter(|identity| identity.claims.is_dpop_bound())
            .and_then(|_| self.oidc.verifier().dpop.as_ref())
            .map(|dpop| DpopOffer {
                algs: Arc::clone(dpop.algs()),
                bearer: !self.dpop_only(),
            });
        let sign_in = identity
            .as_ref()
            .filter(|identity| identity.source == CredentialSource::Session)
            .filter(|_| self.redirect_to_login)
            .and_then(|_| self.sessions.clone());
        AuthContext {
            identity,
            // `None` for the default realm: no shared reference count touched per request.
            realm: (*self.realm != *DEFAULT_REALM).then(|| Arc::clone(&self.realm)),
            dpop,
            sign_in,
        }
    }

    /// Authenticates a request that missed the fast path, in an `okta_oidc.authenticate`
    /// span; counts and times what was decided.
    pub(crate) async fn decide<B>(self: Arc<Self>, request: Request<B>) -> Decision<B> {
        let span = trace::authenticate_span();
        let started = Instant::now();
        let (parts, body) = request.into_parts();
        let authenticated = self.authenticate(&parts).instrument(span.clone()).await;
        let observed = Observed {
            span,
            started,
            scheme: scheme_of(&parts.headers, &authenticated),
            ended: authenticated
                .as_ref()
                .ok()
                .and_then(|(_, additions)| additions.session_end),
        };
        self.conclude(parts, body, authenticated, &observed)
    }

    fn conclude<B>(
        &self,
        mut parts: Parts,
        body: B,
        authenticated: Result<Authenticated, AuthError>,
        observed: &Observed,
    ) -> Decision<B> {
        let (identity, additions) = match authenticated {
            Ok(authenticated) => authenticated,
            Err(error) => return Decision::Answer(self.reject(&error, &parts, observed)),
        };
        match &identity {
            None if !self.optional => {
                let mut response = match self.login_redirect(&parts, observed.ended) {
                    Some(response) => {
                        let reason = observed.reason(&AuthError::MissingCredential);
                        let tenant = self.oidc.directory().resolve_registered(&parts);
                        observed.conclude(&self.oidc, tenant.as_ref().map(|t| &*t.id), reason);
                        response
                    }
                    None => self.reject(&AuthError::MissingCredential, &parts, observed),
                };
                // An ended session's cookies are deleted, whatever the answer.
                additions.apply(response.headers_mut());
                return Decision::Answer(response);
            }
            Some(identity) => {
                if let Err(error) = check_scopes(identity, &self.required_scopes) {
                    return Decision::Answer(self.reject(&error, &parts, observed));
                }
                observed.conclude(&self.oidc, Some(&identity.tenant.id), "ok");
            }
            None => {
                let reason = observed.ended.map_or("ok", session_end_reason);
                let tenant = self.oidc.directory().resolve_registered(&parts);
                observed.conclude(&self.oidc, tenant.as_ref().map(|t| &*t.id), reason);
                if let Some(end) = additions.session_end {
                    parts.extensions.insert(end);
                }
            }
        }
        parts.extensions.insert(self.context(identity));
        Decision::Proceed(Request::from_parts(parts, body), additions)
    }

    async fn authenticate(&self, parts: &Parts) -> Result<Authenticated, AuthError> {
        if self.oidc.verifier().dpop.is_some()
            && let Some(token) = dpop_token(&parts.headers)?
        {
            check_token68(token)?;
            let proof = dpop_proof(&parts.headers)?;
            let verifier = self.oidc.verifier();
            let identity = verifier.dpop(token, proof, parts).await?;
            self.check_request_tenant(parts, &identity)?;
            let dpop_nonce = verifier
                .dpop
                .as_ref()
                .and_then(|dpop| dpop.current_nonce())
                .and_then(|nonce| HeaderValue::try_from(nonce).ok());
            let additions = Additions {
                dpop_nonce,
                ..Additions::default()
            };
            return Ok((Some(identity), additions));
        }
        if let Some(token) = bearer_token(&parts.headers)? {
            if self.dpop_only() {
                return Err(TokenError::DpopRequired.into());
            }
            check_token68(token)?;
            let identity = self.oidc.verifier().bearer(token, parts).await?;
            self.check_request_tenant(parts, &identity)?;
            return Ok((Some(identity), Additions::default()));
        }
        if let Some(sessions) = &self.sessions {
            match sessions.check(parts).await? {
                SessionCheck::Active(session) => {
                    let identity = session.claims.into_identity();
                    if self.check_request_tenant(parts, &identity).is_err() {
                        // Another tenant's session is no session here: a page asks to sign in.
                        return Ok((None, Additions::default()));
                    }
                    let additions = Additions {
                        set_cookies: session.set_cookies,
                        ..Additions::default()
                    };
                    return Ok((Some(identity), additions));
                }
                SessionCheck::Ended(ended) => {
                    let additions = Additions {
                        set_cookies: ended.set_cookies,
                        session_end: Some(ended.reason),
                        ..Additions::default()
                    };
                    return Ok((None, additions));
                }
                SessionCheck::Absent => {}
            }
        }
        Ok((None, Additions::default()))
    }

    /// Refuses an identity of another tenant than the one the request names (the
    /// application's resolver), unless the application accepts every tenant's users.
    pub(crate) fn check_request_tenant(
        &self,
        parts: &Parts,
        identity: &Identity,
    ) -> Result<(), TokenError> {
        (self.oidc.directory()).check_request_tenant(parts, &identity.tenant.id)
    }

    /// Whether a cached identity must be checked against the request's tenant (a resolver
    /// is set): then the fast path takes the request apart to ask it.
    pub(crate) fn pins_tenants(&self) -> bool {
        self.oidc.directory().pins_requests()
    }

    /// A 302 to the session source's sign-in route, for a page request without credential;
    /// for one whose session ended, the source's page that explains it, if it has one.
    fn login_redirect(&self, parts: &Parts, ended: Option<SessionEnd>) -> Option<Response> {
        if !self.redirect_to_login || !matches!(parts.method, Method::GET | Method::HEAD) {
            return None;
        }
        let sessions = self.sessions.as_ref()?;
        if let Some(page) = ended.and_then(|reason| sessions.ended_page(parts, reason)) {
            return Some(page);
        }
        let location = sessions.login_location(parts)?;
        let mut response = Response::new(Body::empty());
        *response.status_mut() = StatusCode::FOUND;
        response.headers_mut().insert(LOCATION, location);
        response
            .headers_mut()
            .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        Some(response)
    }

    /// Whether this route refuses `Bearer`: the layer's or the application's choice.
    fn dpop_only(&self) -> bool {
        self.require_dpop
            || self
                .oidc
                .verifier()
                .dpop
                .as_ref()
                .is_some_and(|d| d.required())
    }

    fn reject(&self, error: &AuthError, parts: &Parts, observed: &Observed) -> Response {
        // One INFO line per reason and tenant per minute (`rejection_log.rs`).
        let tenant = self
            .oidc
            .inner
            .rejections
            .record(self.oidc.verifier(), error, parts);
        observed.conclude(&self.oidc, tenant.as_deref(), observed.reason(error));
        if let Some(handler) = &self.on_error {
            return handler(error);
        }
        let resource_metadata = metadata_url_for(&self.oidc, parts);
        let dpop = self.oidc.verifier().dpop.as_ref();
        error.render(&Challenges {
            realm: &self.realm,
            bearer: !self.dpop_only(),
            dpop_algs: dpop.map(|d| &**d.algs()),
            resource_metadata: resource_metadata.as_deref(),
            used_dpop: dpop.is_some() && uses_dpop(&parts.headers),
        })
    }
}

/// What a decision is observed with: its span, when it began, the credential's scheme.
pub(crate) struct Observed {
    span: Span,
    started: Instant,
    scheme: Scheme,
    /// The session that ended, if the session source found one.
    ended: Option<SessionEnd>,
}

impl Observed {
    /// The `reason` label of a refusal: a missing credential after a session ended says why
    /// it ended (`revoked`, `session`).
    fn reason(&self, error: &AuthError) -> &'static str {
        match (error, self.ended) {
            (AuthError::MissingCredential, Some(end)) => session_end_reason(end),
            _ => error.reason(),
        }
    }

    /// Counts, times and records on the span what was decided (`ok`: accepted).
    fn conclude(&self, oidc: &OktaOidc, tenant: Option<&str>, reason: &'static str) {
        let metrics = &oidc.provider().metrics;
        metrics.request(tenant, self.scheme, reason);
        metrics.miss(self.started.elapsed());
        let outcome = outcome_of(reason);
        trace::record_decision(&self.span, tenant, self.scheme.as_str(), outcome, reason);
    }
}

/// The `reason` of a session that ended: `revoked`, or `session` (expired, idle).
fn session_end_reason(end: SessionEnd) -> &'static str {
    match end {
        SessionEnd::Revoked => "revoked",
        SessionEnd::Expired | SessionEnd::Idle => "session",
    }
}

/// The credential a request carried: the `Authorization` scheme, else the session cookie when
/// the session source found one (active or ended), else none.
fn scheme_of(headers: &HeaderMap, authenticated: &Result<Authenticated, AuthError>) -> Scheme {
    if let Some(value) = headers.get(AUTHORIZATION) {
        let dpop = value
            .as_bytes()
            .get(..5)
            .is_some_and(|prefix| prefix.eq_ignore_ascii_case(b"dpop "));
        return if dpop { Scheme::Dpop } else { Scheme::Bearer };
    }
    match authenticated {
        Ok((Some(identity), _)) if identity.source == CredentialSource::Session => Scheme::Session,
        Ok((None, additions)) if additions.session_end.is_some() => Scheme::Session,
        _ => Scheme::None,
    }
}
