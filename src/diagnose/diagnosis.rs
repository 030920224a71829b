//! [`Diagnosis`]: every check of one tenant, in order; how a run goes, and
//! [`OktaOidc::diagnose`].

use std::time::Duration;

use serde::Serialize;

use super::context::Env;
use super::options::DiagnosisOptions;
use super::report::{Check, CheckCode, Status};
use super::{client, discovery, issuer, keys, universal_logout};
use crate::handle::OktaOidc;
use crate::provider::fetch::{DEFAULT_MAX_BODY, Fetcher, UrlPolicy};
use crate::tenant::config::Tenant;
use crate::time::SystemClock;

/// The result of the tenant doctor: every check, in the order run, each with a stable
/// [`CheckCode`], a [`Status`], a message of this crate's own and the fix.
///
/// Run it on a tenant not yet registered ([`Diagnosis::run`], for instance while a customer
/// onboards) or on a registered one ([`OktaOidc::diagnose`]). Render it with
/// [`to_text`](Self::to_text), [`to_json`](Self::to_json) or [`to_html`](Self::to_html).
///
/// A run makes at most a few calls per check, each bounded by a short timeout and never
/// retried: discovery once, the key set once, one introspection of a junk value per client
/// secret, one authorize request that no user signs, and one POST to the app's Universal
/// Logout endpoint. A host that does not answer costs one timeout: every later check that
/// needs it is skipped.
///
/// ```
/// use okta_oidc::testing::MockOkta;
/// use okta_oidc::{CheckCode, Diagnosis, DiagnosisOptions, Status, Tenant};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let okta = MockOkta::start().await;
/// let tenant = Tenant::new("acme", okta.issuer()).client(okta.client_id(), "wrong secret");
/// let options = DiagnosisOptions::new().allow_loopback_http(true);
/// let diagnosis = Diagnosis::run(&tenant, &options).await;
/// assert_eq!(diagnosis.status(CheckCode::KeysUsable), Some(Status::Pass));
/// assert_eq!(diagnosis.status(CheckCode::ClientCredentials), Some(Status::Fail));
/// assert!(diagnosis.failed());
/// println!("{}", diagnosis.to_text());
/// # }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Diagnosis {
    pub(crate) checks: Vec<Check>,
}

impl Diagnosis {
    /// Diagnoses a tenant that need not be registered anywhere, with a client of its own (no
    /// redirects followed, [`DiagnosisOptions::call_timeout`] per call).
    pub async fn run(tenant: &Tenant, options: &DiagnosisOptions) -> Diagnosis {
        crate::builder::install_crypto_provider();
        let timeout = options.call_timeout.max(Duration::from_millis(100));
        let client = match Fetcher::default_client(timeout) {
            Ok(client) => client,
            Err(_) => {
                return Diagnosis {
                    checks: vec![Check::fail(
                        CheckCode::IssuerReachable,
                        "the HTTP client could not be built (no TLS backend)",
                        "Check the crate's TLS features.",
                    )],
                };
            }
        };
        let fetcher = Fetcher {
            client,
            max_body: DEFAULT_MAX_BODY,
        };
        let env = Env {
            fetcher: &fetcher,
            urls: UrlPolicy {
                loopback_http: options.allow_loopback_http,
                other_hosts: false,
            },
            algorithms: &options.algorithms,
            clock: &SystemClock,
            max_skew: options.max_skew,
            timeout,
            options,
        };
        run_with(tenant, &env).await
    }

    /// Every check, in the order run.
    pub fn checks(&self) -> &[Check] {
        &self.checks
    }

    /// The check of a code, when it ran.
    pub fn check(&self, code: CheckCode) -> Option<&Check> {
        self.checks.iter().find(|c| c.code == code)
    }

    /// The status of a code, when it ran.
    pub fn status(&self, code: CheckCode) -> Option<Status> {
        self.check(code).map(|c| c.status)
    }

    /// Whether any check failed (the command-line tool exits 1 then).
    pub fn failed(&self) -> bool {
        self.checks.iter().any(|c| c.status == Status::Fail)
    }
}

impl OktaOidc {
    /// Diagnoses a registered tenant with this handle's own HTTP client, URL policy (loopback
    /// `http://`, endpoints on other hosts), algorithms, clock and leeway; `None` when no tenant
    /// has this id. `options` gives the redirect URI, the app URL and the per-call timeout.
    ///
    /// ```
    /// use okta_oidc::testing::MockOkta;
    /// use okta_oidc::{DiagnosisOptions, OktaOidc, Tenant};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let okta = MockOkta::start().await;
    /// let oidc = OktaOidc::builder()
    ///     .allow_loopback_http(true)
    ///     .tenant(Tenant::new("acme", okta.issuer()).client(okta.client_id(), okta.client_secret()))
    ///     .build_lazy()
    ///     .unwrap();
    /// let options = DiagnosisOptions::new().redirect_uri("http://127.0.0.1:3000/auth/callback");
    /// let diagnosis = oidc.diagnose("acme", &options).await.unwrap();
    /// assert!(!diagnosis.failed(), "{}", diagnosis.to_text());
    /// # }
    /// ```
    pub async fn diagnose(&self, tenant_id: &str, options: &DiagnosisOptions) -> Option<Diagnosis> {
        let tenant = self.tenant(tenant_id)?;
        let provider = self.provider();
        let env = Env {
            fetcher: &provider.fetcher,
            urls: provider.urls,
            algorithms: &provider.algorithms,
            clock: &*provider.clock,
            max_skew: self.verifier().options.leeway,
            timeout: options.call_timeout,
            options,
        };
        Some(run_with(&tenant, &env).await)
    }
}

/// Every check, in order; a check that needs what an earlier one could not give is skipped.
async fn run_with(tenant: &Tenant, env: &Env<'_>) -> Diagnosis {
    let issuer = tenant.issuer();
    let mut checks = Vec::with_capacity(CheckCode::ALL.len());

    let url = issuer::url(issuer, env.urls);
    let usable = url.status != Status::Fail;
    checks.push(url);
    let reply = match usable {
        true => Some(discovery::fetch(env, issuer).await),
        false => None,
    };
    checks.push(issuer::reachable(reply.as_ref()));
    checks.push(match usable {
        true => issuer::kind(issuer),
        false => Check::skip(CheckCode::IssuerKind, issuer::SKIPPED),
    });

    let (found, metadata) = discovery::found(reply.as_ref());
    checks.push(found);
    let metadata = metadata.as_ref();
    checks.push(discovery::issuer_matches(metadata, issuer));
    checks.push(discovery::endpoints_on_issuer_host(
        metadata, issuer, env.urls,
    ));
    let keys_reply = keys::fetch(env, metadata, issuer).await;
    checks.push(keys::usable(env, keys_reply.as_ref(), issuer));
    let date_from = reply.as_ref().and_then(|r| r.as_ref().ok());
    checks.push(keys::clock_skew(env, date_from));

    let credentials = client::credentials(env, tenant, metadata).await;
    let unknown_client = credentials.unknown_client;
    checks.push(credentials.check);
    checks.push(client::redirect_uri(env, tenant, metadata, unknown_client).await);
    checks.push(discovery::end_session(metadata));
    let introspects = env
        .options
        .introspects
        .unwrap_or_else(|| issuer::is_org_server(issuer));
    checks.push(discovery::introspection(metadata, introspects));
    checks.push(universal_logout::reachable(env).await);
    Diagnosis { checks }
}
