//! Configuration shared by the examples: environment variables and `OKTA_TENANTS_FILE`, and
//! start-up errors that name the variable to change.
#![allow(dead_code)]

use std::process::ExitCode;
use std::sync::Arc;

use okta_oidc::{BuildError, ConfigError, Tenant};

/// Where an example reads its settings: the process environment, or a fixed map (the tests
/// drive the examples in process, several at once, each with its own settings).
#[derive(Clone)]
pub struct Env(Arc<Lookup>);

/// How an [`Env`] reads one variable.
type Lookup = dyn Fn(&str) -> Option<String> + Send + Sync;

impl Env {
    /// The process environment.
    pub fn process() -> Env {
        Env(Arc::new(|name: &str| std::env::var(name).ok()))
    }

    /// These variables only.
    pub fn from_pairs(pairs: &[(&str, &str)]) -> Env {
        let map: std::collections::HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Env(Arc::new(move |name: &str| map.get(name).cloned()))
    }

    /// A non-empty variable.
    pub fn get(&self, name: &str) -> Option<String> {
        (self.0)(name).filter(|v| !v.trim().is_empty())
    }
}

/// Ends `main`: an error is printed with `Display` (never Rust's `Debug`), prefixed with the
/// example's name, and the exit status is 1.
pub fn exit_on_error(example: &str, result: Result<(), String>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("{example}: {error}");
            ExitCode::FAILURE
        }
    }
}

/// A build error in the words of an example user: the variable to change, not the builder
/// method.
pub fn explain_build_error(error: &BuildError) -> String {
    match error {
        BuildError::Config(e) => explain_config_error(e),
        other => format!("{other}; check OKTA_ISSUER (or OKTA_TENANTS_FILE)"),
    }
}

/// A configuration error in the words of an example user.
pub fn explain_config_error(error: &ConfigError) -> String {
    match error {
        ConfigError::InvalidIssuer { issuer, .. } if issuer.starts_with("http://") => format!(
            "OKTA_ISSUER (or OKTA_TENANTS_FILE): {error}; for a local mock org on a loopback \
             host, set OKTA_ALLOW_LOOPBACK_HTTP=1"
        ),
        ConfigError::InvalidIssuer { .. } => {
            format!("OKTA_ISSUER (or OKTA_TENANTS_FILE): {error}")
        }
        ConfigError::InvalidUrl { .. } => format!("APP_BASE_URL: {error}"),
        ConfigError::Invalid(why) if why.contains("session secret") => {
            format!("SESSION_SECRET: {why} (e.g. SESSION_SECRET=$(openssl rand -hex 32))")
        }
        other => other.to_string(),
    }
}

/// Reads the tenants of an `OKTA_TENANTS_FILE` (a JSON array of tenants, as `Tenant`'s
/// `Deserialize` reads them), with the file name in every error.
pub fn tenants_from_file(path: &str) -> Result<Vec<Tenant>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    serde_json::from_str(&text).map_err(|e| format!("{path}: {e}"))
}

/// A non-empty variable of the process environment.
pub fn env(name: &str) -> Option<String> {
    Env::process().get(name)
}

/// Logs to stdout, `RUST_LOG` or `info` by default.
pub fn init_tracing() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
}

/// `BIND_ADDR`, default `127.0.0.1:3000`.
pub fn bind_addr(env: &Env) -> Result<std::net::SocketAddr, String> {
    env.get("BIND_ADDR")
        .unwrap_or_else(|| "127.0.0.1:3000".into())
        .parse()
        .map_err(|e| format!("BIND_ADDR: {e}"))
}

/// Whether `OKTA_ALLOW_LOOPBACK_HTTP=1` asks to accept an `http://` issuer on a loopback host
/// (a mock org such as `mock_okta` from the tools crate); the embedded mock always is.
pub fn allow_loopback_http(env: &Env) -> bool {
    env.get("OKTA_ALLOW_LOOPBACK_HTTP")
        .is_some_and(|v| v == "1" || v.eq_ignore_ascii_case("true"))
}

/// `TRUSTED_PROXIES` (comma-separated addresses): the reverse proxies whose `X-Forwarded-For`
/// gives the client address that budget shares are counted by; from any other peer the header
/// is ignored. Unset: none.
pub fn trusted_proxies(env: &Env) -> Result<Vec<std::net::IpAddr>, String> {
    let Some(list) = env.get("TRUSTED_PROXIES") else {
        return Ok(Vec::new());
    };
    list.split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(|item| {
            item.parse()
                .map_err(|e| format!("TRUSTED_PROXIES: {item:?} is not an IP address ({e})"))
        })
        .collect()
}

/// A resolver that takes the request's tenant from the `X-Okta-Tenant: <id>` header (with
/// `OKTA_TENANTS_FILE`; a real app would use the host): it names the tenant of every credential,
/// and an identity of another tenant is refused on that request.
pub fn tenant_header(request: &http::request::Parts) -> Option<String> {
    let tenant = request.headers.get("x-okta-tenant")?.to_str().ok()?;
    Some(tenant.to_owned())
}

/// The path of `APP_BASE_URL` (`""` at the root, `/app` for `https://host/app`): every route of
/// the example is served under it.
pub fn app_path(app_base_url: &str) -> Result<String, String> {
    let url = url::Url::parse(app_base_url).map_err(|e| format!("APP_BASE_URL: {e}"))?;
    Ok(url.path().trim_end_matches('/').to_owned())
}

/// The revocation store: Redis when `REDIS_URL` is set (feature `redis`; every instance pointed
/// at the same Redis shares logouts; `redis+sentinel://host:port,…/<master>` behind Sentinel;
/// `REDIS_MIN_REPLICAS_ACKED` sets how many replicas must hold a revocation before it is
/// acknowledged), else the embedded memory store (one instance).
pub fn with_revocation_store(
    env: &Env,
    builder: okta_oidc::OktaOidcBuilder,
) -> Result<okta_oidc::OktaOidcBuilder, String> {
    let Some(url) = env.get("REDIS_URL") else {
        return Ok(builder);
    };
    #[cfg(feature = "redis")]
    {
        let mut config = okta_oidc::store::RedisStoreConfig::new(url);
        if let Some(n) = env.get("REDIS_MIN_REPLICAS_ACKED") {
            let n = n.trim().parse().map_err(|_| {
                format!("REDIS_MIN_REPLICAS_ACKED={n}: expected a number of replicas (0, 1, …)")
            })?;
            config = config.min_replicas_acked(n);
        }
        let store = okta_oidc::store::RedisStore::with_config(config)
            .map_err(|e| format!("REDIS_URL: {e}"))?;
        tracing::info!("revocations shared through Redis (REDIS_URL)");
        Ok(builder.revocation_store(store))
    }
    #[cfg(not(feature = "redis"))]
    {
        let _ = (url, builder);
        Err(
            "REDIS_URL is set, but this build lacks the `redis` feature: \
             cargo run --features redis --example …"
                .into(),
        )
    }
}

/// After `build()`, for a single tenant configured by `OKTA_ISSUER`: an issuer whose host does
/// not resolve at all stops the start (a typo far more often than an outage); any other
/// failure (refused, TLS, timeout) is logged with its cause, and the app starts, answering
/// `503` for the tenant until its keys load.
pub fn check_issuer(
    oidc: &okta_oidc::OktaOidc,
    tenant_id: &str,
    issuer: &str,
) -> Result<(), String> {
    match oidc.last_key_error(tenant_id) {
        Some(okta_oidc::LoadError::HostNotFound { host, detail }) => Err(format!(
            "OKTA_ISSUER={issuer}: host {host:?} not found (DNS: {detail}); check OKTA_ISSUER"
        )),
        Some(error) => {
            tracing::warn!(
                issuer,
                error = %error,
                "OKTA_ISSUER cannot be loaded yet; requests answer 503 until it can (check \
                 OKTA_ISSUER if this lasts)"
            );
            Ok(())
        }
        None => Ok(()),
    }
}
