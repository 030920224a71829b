//! [`DiagnosisOptions`]: what a diagnosis needs beyond the tenant.

use std::time::Duration;

use crate::algorithm::Algorithm;

/// Per-call timeout by default: a dead host costs at most this once (every later check that
/// needs the host is skipped).
pub(crate) const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(3);

/// Largest clock difference accepted by default: Okta's own verifiers allow 120 s, and so does
/// this crate's default leeway.
pub(crate) const DEFAULT_MAX_SKEW: Duration = Duration::from_secs(120);

/// What a [`Diagnosis`](crate::Diagnosis) needs beyond the tenant: the app's redirect URI and
/// public URL, and how the app talks to the provider.
///
/// ```
/// use okta_oidc::DiagnosisOptions;
///
/// let options = DiagnosisOptions::new()
///     .redirect_uri("https://app.example.com/auth/callback")
///     .app_url("https://app.example.com");
/// # let _ = options;
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct DiagnosisOptions {
    pub(crate) redirect_uri: Option<String>,
    pub(crate) app_url: Option<String>,
    pub(crate) allow_loopback_http: bool,
    pub(crate) introspects: Option<bool>,
    pub(crate) call_timeout: Duration,
    pub(crate) max_skew: Duration,
    pub(crate) algorithms: Vec<Algorithm>,
}

impl Default for DiagnosisOptions {
    fn default() -> Self {
        DiagnosisOptions {
            redirect_uri: None,
            app_url: None,
            allow_loopback_http: false,
            introspects: None,
            call_timeout: DEFAULT_CALL_TIMEOUT,
            max_skew: DEFAULT_MAX_SKEW,
            algorithms: vec![Algorithm::RS256],
        }
    }
}

impl DiagnosisOptions {
    /// The defaults: no redirect URI (`client.redirect_uri` is skipped), no app URL
    /// (`universal_logout.reachable` is skipped), 3 s per call, 120 s of allowed skew, RS256.
    pub fn new() -> Self {
        DiagnosisOptions::default()
    }

    /// The app's sign-in redirect URI (the login half's `…/auth/callback`), checked as
    /// registered for the client with an authorize request that no user signs.
    pub fn redirect_uri(mut self, uri: impl Into<String>) -> Self {
        self.redirect_uri = Some(uri.into());
        self
    }

    /// The app's public URL: its Universal Logout endpoint,
    /// `{app_url}/auth/global-token-revocation`, must answer 401 to an unsigned request.
    pub fn app_url(mut self, url: impl Into<String>) -> Self {
        self.app_url = Some(url.into().trim_end_matches('/').to_owned());
        self
    }

    /// Accepts `http://` issuers and app URLs on loopback hosts (a mock org). For
    /// [`OktaOidc::diagnose`](crate::OktaOidc::diagnose) the handle's own setting applies.
    pub fn allow_loopback_http(mut self, allow: bool) -> Self {
        self.allow_loopback_http = allow;
        self
    }

    /// Whether the tenant validates opaque access tokens by introspection (then
    /// `introspection.endpoint` must pass). Default: when the issuer is an org authorization
    /// server, whose access tokens only Okta can check.
    pub fn introspects(mut self, introspects: bool) -> Self {
        self.introspects = Some(introspects);
        self
    }

    /// The longest wait for one call (default 3 s). No call is retried.
    pub fn call_timeout(mut self, timeout: Duration) -> Self {
        self.call_timeout = timeout;
        self
    }

    /// The clock difference past which `clock.skew` fails (default 120 s; it warns past 30 s).
    /// For [`OktaOidc::diagnose`](crate::OktaOidc::diagnose) the handle's leeway applies.
    pub fn allowed_clock_skew(mut self, skew: std::time::Duration) -> Self {
        self.max_skew = skew;
        self
    }

    /// The signature algorithms the app accepts (default RS256). For
    /// [`OktaOidc::diagnose`](crate::OktaOidc::diagnose) the handle's apply.
    pub fn algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        self.algorithms = algorithms.into_iter().collect();
        self
    }
}
