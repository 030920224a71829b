//! [`LoginConfig`]: what the application configures for browser sign-in, and the checked
//! settings the routes and the layer share.

use std::fmt;
use std::time::Duration;

use super::cookies;
use super::request::same_origin_path;
use super::seal;
use crate::call_budget::CallBudget;
use crate::error::ConfigError;
use crate::provider::fetch::{check_secure_url, is_loopback};

/// Smallest session secret accepted, in bytes.
const MIN_SECRET_LEN: usize = 32;

/// Configuration of browser sign-in and sessions.
///
/// ```
/// use okta_oidc::{Login, LoginConfig, OktaOidc, Tenant};
/// use std::time::Duration;
///
/// # fn build() -> Result<Login, okta_oidc::ConfigError> {
/// let config = LoginConfig::new("https://app.example.com")
///     // 32 bytes or more, the same on every instance; keep it out of the source code
///     .session_secret("a long random secret, at least 32 bytes")
///     .idle_timeout(Duration::from_secs(30 * 60));
/// let oidc = OktaOidc::builder()
///     .tenant(Tenant::new("acme", "https://acme.okta.com").client("0oa1acme", "secret"))
///     .build_lazy()?;
/// let login = Login::new(&oidc, config)?;
/// # Ok(login) }
/// ```
#[must_use]
#[derive(Clone)]
pub struct LoginConfig {
    app_base_url: String,
    base_path: String,
    secrets: Vec<Vec<u8>>,
    random_secret: bool,
    scopes: Vec<String>,
    session_lifetime: Duration,
    idle_timeout: Duration,
    login_timeout: Duration,
    userinfo: bool,
    post_logout_redirect_uri: Option<String>,
    cookie_name: String,
    cookie_domain: Option<String>,
    default_return_to: Option<String>,
    max_pending_logins: usize,
    code_exchanges: (CallBudget, CallBudget),
}

impl fmt::Debug for LoginConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginConfig")
            .field("app_base_url", &self.app_base_url)
            .field("base_path", &self.base_path)
            .field(
                "secrets",
                &format_args!("<{} redacted>", self.secrets.len()),
            )
            .field("scopes", &self.scopes)
            .field("session_lifetime", &self.session_lifetime)
            .field("idle_timeout", &self.idle_timeout)
            .field("userinfo", &self.userinfo)
            .field("cookie_name", &self.cookie_name)
            .finish_non_exhaustive()
    }
}

impl LoginConfig {
    /// Sign-in for the app served at `app_base_url`: scheme, host, port and, for an app served
    /// under a path, that path (for example `https://app.example.com` or
    /// `https://example.com/app`). The redirect URI registered at Okta is
    /// `{app_base_url}/auth/callback` (with the default base path), and the sign-out redirect
    /// `{app_base_url}/`.
    ///
    /// Under a path, everything sign-in makes carries it: the routes
    /// ([`Login::router`](crate::Login::router) serves `/app/auth/login`, …), the redirect URI,
    /// the cookies' `Path`, the redirects, and `return_to` must stay under it.
    ///
    /// Over `https://`, the session cookie is named `__Host-{cookie_name}` at the root path
    /// (`__Secure-…` under a path or with a [cookie domain](Self::cookie_domain)) and the login
    /// cookies `__Host-okta_login_…` at `Path=/` (under an app path their names carry a tag of
    /// it), so that no other site or subdomain can set them. On loopback `http://` (a local
    /// demo) the names stay plain.
    pub fn new(app_base_url: impl Into<String>) -> Self {
        LoginConfig {
            app_base_url: app_base_url.into().trim_end_matches('/').to_owned(),
            base_path: "/auth".into(),
            secrets: Vec::new(),
            random_secret: false,
            scopes: vec!["openid".into(), "profile".into(), "email".into()],
            session_lifetime: Duration::from_secs(8 * 3600),
            idle_timeout: Duration::from_secs(3600),
            login_timeout: Duration::from_secs(600),
            userinfo: true,
            post_logout_redirect_uri: None,
            cookie_name: "okta_session".into(),
            cookie_domain: None,
            default_return_to: None,
            max_pending_logins: DEFAULT_MAX_PENDING_LOGINS,
            code_exchanges: (DEFAULT_EXCHANGES, DEFAULT_EXCHANGE_SHARE),
        }
    }

    /// The secret the cookie keys are derived from (HKDF-SHA256), at least 32 bytes. Setting it
    /// again makes the new secret current and keeps the previous ones for decryption only:
    /// during a rotation, give the old secret first and the new one last, or use
    /// [`previous_session_secret`](Self::previous_session_secret).
    pub fn session_secret(mut self, secret: impl AsRef<[u8]>) -> Self {
        self.secrets.insert(0, secret.as_ref().to_vec());
        self
    }

    /// An older secret: cookies sealed with it are still accepted (and re-sealed with the
    /// current secret at the next refresh), new cookies never use it.
    pub fn previous_session_secret(mut self, secret: impl AsRef<[u8]>) -> Self {
        self.secrets.push(secret.as_ref().to_vec());
        self
    }

    /// Uses a random secret made at start, when none is given: sessions then end when the
    /// process restarts and are not shared between instances (a warning is logged).
    pub fn random_session_secret_if_unset(mut self) -> Self {
        self.random_secret = true;
        self
    }

    /// Where the routes live under the app's path (default `/auth`: `/auth/login`,
    /// `/auth/callback`, `/auth/logout`; `/app/auth/login`, … for an app served under `/app`).
    pub fn base_path(mut self, path: impl Into<String>) -> Self {
        self.base_path = path.into().trim_end_matches('/').to_owned();
        self
    }

    /// The scopes asked for (default `openid profile email`; `openid` is always added).
    pub fn scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut scopes: Vec<String> = scopes.into_iter().map(Into::into).collect();
        if !scopes.iter().any(|s| s == "openid") {
            scopes.insert(0, "openid".into());
        }
        self.scopes = scopes;
        self
    }

    /// Absolute session lifetime from login (default 8 h).
    pub fn session_lifetime(mut self, lifetime: Duration) -> Self {
        self.session_lifetime = lifetime;
        self
    }

    /// A session unused for this long ends (default 1 h). The layer re-issues the cookie as it
    /// is used.
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// How long a started login can be completed (default 10 min).
    pub fn login_timeout(mut self, timeout: Duration) -> Self {
        self.login_timeout = timeout;
        self
    }

    /// Whether the callback fetches the userinfo endpoint and adds its claims (default on).
    /// A userinfo `sub` that differs from the ID token's fails the login.
    pub fn userinfo(mut self, fetch: bool) -> Self {
        self.userinfo = fetch;
        self
    }

    /// Where the provider sends the browser after logout (default `{app_base_url}/`); register
    /// it at Okta as a sign-out redirect URI.
    pub fn post_logout_redirect_uri(mut self, uri: impl Into<String>) -> Self {
        self.post_logout_redirect_uri = Some(uri.into());
        self
    }

    /// The session cookie's name (default `okta_session`).
    pub fn cookie_name(mut self, name: impl Into<String>) -> Self {
        self.cookie_name = name.into();
        self
    }

    /// The `Domain` attribute of the cookies (default none: host-only cookies).
    pub fn cookie_domain(mut self, domain: impl Into<String>) -> Self {
        self.cookie_domain = Some(domain.into());
        self
    }

    /// Where the user lands after login when no `return_to` was given (default the app's
    /// home: `/`, or `/app/` for an app served under `/app`). A path on the app's origin,
    /// under the app's path.
    pub fn default_return_to(mut self, path: impl Into<String>) -> Self {
        self.default_return_to = Some(path.into());
        self
    }

    /// Most logins a browser can have started and not finished (default 3; several tabs can
    /// sign in at once). Each started login is a small cookie; past this many, starting one
    /// more drops the oldest, so a page that keeps sending the browser to sign in never piles
    /// up cookies.
    pub fn max_pending_logins(mut self, max: usize) -> Self {
        self.max_pending_logins = max;
        self
    }

    /// How many code exchanges (calls to the token endpoint, one per callback) each Okta org
    /// gets, and each client address within it (defaults: 300 a minute, 100 in a row, 20 at
    /// once per org; 60 a minute, 30 in a row, 5 at once per client). A stranger can start
    /// logins and send forged codes to the callback for free, and each forged code costs a call
    /// that Okta counts against the org's `/token` rate limit: the share keeps one client from
    /// spending what the org's users need to sign in. Past either, the callback answers `503`
    /// with `Retry-After` (the login can be finished then: its state is not used up). The
    /// client address is the one the core counts by
    /// ([`OktaOidcBuilder::trusted_proxies`](crate::OktaOidcBuilder::trusted_proxies)).
    ///
    /// ```
    /// use okta_oidc::{CallBudget, LoginConfig};
    ///
    /// let config = LoginConfig::new("https://app.example.com")
    ///     .code_exchange_budget(CallBudget::new(600, 200, 40), CallBudget::new(30, 10, 3));
    /// # let _ = config;
    /// ```
    pub fn code_exchange_budget(mut self, per_org: CallBudget, per_client: CallBudget) -> Self {
        self.code_exchanges = (per_org, per_client);
        self
    }
}

/// Default of [`LoginConfig::max_pending_logins`].
const DEFAULT_MAX_PENDING_LOGINS: usize = 3;
/// Default code exchanges per Okta org: 300 a minute, 100 in a row, 20 at once — Okta's
/// smallest org-wide `/oauth2/v1/token` bucket is 600 a minute.
const DEFAULT_EXCHANGES: CallBudget = CallBudget::new(300, 100, 20);
/// Default code exchanges per client address within its org's: 60 a minute, 30 in a row, 5 at
/// once (an office behind one address signing in at nine still gets through).
const DEFAULT_EXCHANGE_SHARE: CallBudget = CallBudget::new(60, 30, 5);

/// The checked configuration, shared by the routes and the layer.
pub(crate) struct LoginSettings {
    pub(crate) origin: String,
    /// The path the app is served under (`""` at the root, else `/app`).
    pub(crate) app_path: String,
    pub(crate) base_path: String,
    pub(crate) redirect_uri: String,
    pub(crate) post_logout_redirect_uri: String,
    pub(crate) scope: String,
    pub(crate) session_lifetime: Duration,
    pub(crate) idle_timeout: Duration,
    pub(crate) login_timeout: Duration,
    pub(crate) userinfo: bool,
    /// The session cookie's name, prefixed (`__Host-okta_session` over https at the root).
    pub(crate) cookie_name: String,
    /// The session cookie's `Path`: the app's path, or `/`.
    pub(crate) session_path: String,
    /// The login cookies' name prefix (`__Host-okta_login_` over https; under an app path it
    /// carries a tag of that path, `__Host-okta_login_3f2a9c1e_`, so that apps sharing a host
    /// never take each other's) and `Path` (`/`, which `__Host-` requires).
    pub(crate) login_cookie_prefix: String,
    pub(crate) login_path: String,
    pub(crate) max_pending_logins: usize,
    /// Code exchanges per org and per client address within it.
    pub(crate) code_exchanges: (CallBudget, CallBudget),
    /// The login cookies' attributes: host-only always (no `Domain`: only the callback of this
    /// host reads them), so that they can be `__Host-` over https.
    pub(crate) attrs: cookies::Attributes,
    /// The session cookie's attributes (the configured `Domain`, if any).
    pub(crate) session_attrs: cookies::Attributes,
    pub(crate) default_return_to: String,
    pub(crate) keys: seal::KeyRing,
}

impl fmt::Debug for LoginSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginSettings")
            .field("origin", &self.origin)
            .field("redirect_uri", &self.redirect_uri)
            .finish_non_exhaustive()
    }
}

fn is_cookie_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'))
}

impl LoginSettings {
    pub(crate) fn new(config: LoginConfig) -> Result<Self, ConfigError> {
        let invalid_url = |reason| ConfigError::InvalidUrl {
            url: config.app_base_url.clone(),
            reason,
        };
        let base = check_secure_url(&config.app_base_url).map_err(invalid_url)?;
        if base.query().is_some() || base.fragment().is_some() {
            return Err(invalid_url("must not have a query or fragment"));
        }
        let origin = base.origin().ascii_serialization();
        let secure = !(base.scheme() == "http" && is_loopback(&base));
        let app_path = base.path().trim_end_matches('/').to_owned();
        let base_path = config.base_path.clone();
        if !base_path.is_empty() && (!base_path.starts_with('/') || base_path.starts_with("//")) {
            return Err(ConfigError::Invalid("base_path must start with one '/'"));
        }
        if !is_cookie_name(&config.cookie_name) {
            return Err(ConfigError::Invalid(
                "cookie_name may only hold letters, digits, '_' and '-'",
            ));
        }
        let default_return_to = config
            .default_return_to
            .clone()
            .unwrap_or_else(|| format!("{app_path}/"));
        if same_origin_path(&default_return_to).is_none_or(|p| !under_app(&app_path, p)) {
            return Err(ConfigError::Invalid(
                "default_return_to must be a path on the app's origin, under its path",
            ));
        }
        config
            .code_exchanges
            .0
            .check("code_exchange_budget needs positive limits")?;
        config
            .code_exchanges
            .1
            .check("code_exchange_budget needs positive limits")?;
        if config.max_pending_logins == 0 {
            return Err(ConfigError::Invalid("max_pending_logins must be positive"));
        }
        let mut secrets = config.secrets.clone();
        if secrets.is_empty() && config.random_secret {
            tracing::warn!(
                "no session secret configured: using a random one; sessions end at restart \
                 and are not shared between instances"
            );
            secrets.push(seal::random_secret().ok_or(ConfigError::Invalid(
                "no random source for the session secret",
            ))?);
        }
        if secrets.is_empty() {
            return Err(ConfigError::Invalid(
                "login needs a session secret (LoginConfig::session_secret)",
            ));
        }
        if secrets.iter().any(|s| s.len() < MIN_SECRET_LEN) {
            return Err(ConfigError::Invalid(
                "session secrets must be at least 32 bytes",
            ));
        }
        if config.session_lifetime.is_zero()
            || config.idle_timeout.is_zero()
            || config.login_timeout.is_zero()
        {
            return Err(ConfigError::Invalid(
                "session and login timeouts must be positive",
            ));
        }
        let app = config.app_base_url.clone();
        let redirect_uri = format!("{app}{base_path}/callback");
        let post_logout_redirect_uri = config
            .post_logout_redirect_uri
            .clone()
            .unwrap_or_else(|| format!("{app}/"));
        check_secure_url(&post_logout_redirect_uri).map_err(|reason| ConfigError::InvalidUrl {
            url: post_logout_redirect_uri.clone(),
            reason,
        })?;
        let session_attrs = cookies::Attributes {
            secure,
            domain: config.cookie_domain,
        };
        let attrs = cookies::Attributes {
            secure,
            domain: None,
        };
        let session_path = if app_path.is_empty() {
            "/".to_owned()
        } else {
            app_path.clone()
        };
        // Login cookies live at the root (`__Host-` needs `Path=/`); their names hold the
        // `state` (several logins at once) and, under an app path, a tag of it.
        let login_path = "/".to_owned();
        let login_name = if app_path.is_empty() {
            "okta_login_".to_owned()
        } else {
            format!("okta_login_{}_", cookies::path_tag(&app_path))
        };
        Ok(LoginSettings {
            origin,
            cookie_name: session_attrs.prefixed(&config.cookie_name, &session_path),
            session_path,
            login_cookie_prefix: attrs.prefixed(&login_name, &login_path),
            login_path,
            max_pending_logins: config.max_pending_logins,
            code_exchanges: config.code_exchanges,
            app_path,
            base_path,
            redirect_uri,
            post_logout_redirect_uri,
            scope: config.scopes.join(" "),
            session_lifetime: config.session_lifetime,
            idle_timeout: config.idle_timeout,
            login_timeout: config.login_timeout,
            userinfo: config.userinfo,
            attrs,
            session_attrs,
            default_return_to,
            keys: seal::KeyRing::new(&secrets),
        })
    }

    /// The path of a route: the app's path, the base path, the route's name.
    pub(crate) fn route(&self, name: &str) -> String {
        format!("{}{}/{name}", self.app_path, self.base_path)
    }

    /// The app's home page (`/`, or `/app/` under a path).
    pub(crate) fn home(&self) -> String {
        format!("{}/", self.app_path)
    }

    /// `path` when it can be a `return_to`: a path on the app's origin, under its path.
    pub(crate) fn return_path<'p>(&self, path: &'p str) -> Option<&'p str> {
        same_origin_path(path).filter(|p| under_app(&self.app_path, p))
    }
}

/// Whether `path` (a same-origin path) is the app's path or under it.
fn under_app(app_path: &str, path: &str) -> bool {
    match path.strip_prefix(app_path) {
        Some(rest) => app_path.is_empty() || rest.is_empty() || rest.starts_with(['/', '?', '#']),
        None => false,
    }
}
