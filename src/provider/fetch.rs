//! Outbound HTTP: bounded reads, no redirects, clear errors.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::StatusCode;
use http::header::{CACHE_CONTROL, ETAG, IF_NONE_MATCH};

use super::call_span::{CallKind, send};
pub(crate) use super::unreachable::Unreachable;
use crate::error::{ConfigError, LoadError};

/// Largest provider document (discovery, key set, token response) read, in bytes.
pub(crate) const DEFAULT_MAX_BODY: usize = 256 * 1024;

/// The HTTP client the crate uses for discovery, keys, token and introspection calls.
#[derive(Clone, Debug)]
pub(crate) struct Fetcher {
    pub(crate) client: reqwest::Client,
    pub(crate) max_body: usize,
}

/// A successful GET.
#[derive(Debug)]
pub(crate) enum Fetched {
    /// 304 after `If-None-Match`.
    NotModified { cache_control: Option<String> },
    /// 200 with a body.
    Body {
        body: Bytes,
        etag: Option<String>,
        cache_control: Option<String>,
    },
}

impl Fetcher {
    /// The default client: rustls, 10 s overall timeout, 5 s connect timeout, no redirects.
    pub(crate) fn default_client(timeout: Duration) -> Result<reqwest::Client, ConfigError> {
        reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("okta-oidc/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|_| ConfigError::Invalid("the HTTP client could not be built"))
    }

    /// GET a JSON document, optionally conditional on an ETag, in a span of `kind`.
    pub(crate) async fn get(
        &self,
        kind: CallKind,
        url: &str,
        if_none_match: Option<&str>,
    ) -> Result<Fetched, LoadError> {
        let mut request = self
            .client
            .get(url)
            .header(http::header::ACCEPT, "application/json");
        if let Some(tag) = if_none_match {
            request = request.header(IF_NONE_MATCH, tag);
        }
        let response = send(kind, request).await.map_err(describe)?;
        let header = |name| {
            response
                .headers()
                .get(name)
                .and_then(|v: &http::HeaderValue| v.to_str().ok())
                .map(str::to_owned)
        };
        let cache_control = header(CACHE_CONTROL);
        let etag = header(ETAG);
        match response.status() {
            StatusCode::NOT_MODIFIED if if_none_match.is_some() => {
                Ok(Fetched::NotModified { cache_control })
            }
            StatusCode::OK => {
                let body = read_limited(response, self.max_body).await?;
                Ok(Fetched::Body {
                    body,
                    etag,
                    cache_control,
                })
            }
            status => Err(LoadError::Http(format!("{url} answered {status}"))),
        }
    }
}

/// Reads a response body, failing once it exceeds `max` bytes (never buffering more).
pub(crate) async fn read_limited(
    mut response: reqwest::Response,
    max: usize,
) -> Result<Bytes, LoadError> {
    if response
        .content_length()
        .is_some_and(|len| len > max as u64)
    {
        return Err(LoadError::Document(format!(
            "response larger than {max} bytes"
        )));
    }
    let mut buf = BytesMut::new();
    while let Some(chunk) = response.chunk().await.map_err(describe)? {
        if buf.len() + chunk.len() > max {
            return Err(LoadError::Document(format!(
                "response larger than {max} bytes"
            )));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

/// A short description of a transport error with its cause (DNS, refused, TLS, …), without
/// query strings (which may hold secrets): the causes below reqwest's own error never hold
/// the URL. A host name that does not resolve is [`LoadError::HostNotFound`].
pub(crate) fn describe(e: reqwest::Error) -> LoadError {
    let kind = Unreachable::of(&e).as_str();
    let url = e
        .url()
        .map(|u| format!("{}://{}{}", u.scheme(), u.authority(), u.path()))
        .unwrap_or_default();
    let mut causes = Vec::new();
    let mut dns = false;
    let mut source = std::error::Error::source(&e);
    while let Some(cause) = source {
        let text = cause.to_string();
        dns |= text.starts_with("dns error") || text.contains("failed to lookup address");
        if !causes.contains(&text) {
            causes.push(text);
        }
        source = cause.source();
    }
    // The innermost cause says what happened; the ones above it mostly wrap it.
    let cause = causes.last().cloned().unwrap_or_default();
    if dns && let Some(host) = e.url().and_then(|u| u.host_str()) {
        return LoadError::HostNotFound {
            host: host.to_owned(),
            detail: cause,
        };
    }
    if cause.is_empty() {
        LoadError::Http(format!("{url} {kind}"))
    } else {
        LoadError::Http(format!("{url} {kind}: {cause}"))
    }
}

/// The `max-age` of a `Cache-Control` value; `no-cache`/`no-store` give zero.
pub(crate) fn max_age(cache_control: Option<&str>) -> Option<Duration> {
    let value = cache_control?;
    let mut age = None;
    for directive in value.split(',') {
        let directive = directive.trim();
        let (name, arg) = match directive.split_once('=') {
            Some((n, a)) => (n.trim(), Some(a.trim().trim_matches('"'))),
            None => (directive, None),
        };
        if name.eq_ignore_ascii_case("no-cache") || name.eq_ignore_ascii_case("no-store") {
            return Some(Duration::ZERO);
        }
        if name.eq_ignore_ascii_case("max-age") {
            age = arg
                .and_then(|a| a.parse::<u64>().ok())
                .map(Duration::from_secs);
        }
    }
    age
}

/// Which provider URLs are accepted beyond absolute `https://` ones on the issuer's host: what
/// the application allowed explicitly.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct UrlPolicy {
    /// `http://` on a loopback host (tests, the offline demos).
    pub(crate) loopback_http: bool,
    /// Endpoints of a discovery document on another host than the issuer's.
    pub(crate) other_hosts: bool,
}

impl UrlPolicy {
    /// An issuer, or any provider URL: absolute `https://`, or `http://` on a loopback host
    /// when allowed.
    pub(crate) fn check(self, url: &str) -> Result<reqwest::Url, &'static str> {
        let parsed = check_secure_url(url)?;
        if parsed.scheme() == "http" && !self.loopback_http {
            return Err(
                "http:// on a loopback host needs OktaOidcBuilder::allow_loopback_http(true)",
            );
        }
        Ok(parsed)
    }

    /// An endpoint named by `issuer`'s discovery document: as [`check`](Self::check), and on
    /// the issuer's host unless allowed.
    pub(crate) fn check_endpoint(
        self,
        issuer: &str,
        endpoint: &str,
    ) -> Result<reqwest::Url, &'static str> {
        let parsed = self.check(endpoint)?;
        if !self.other_hosts {
            let issuer_host = reqwest::Url::parse(issuer)
                .ok()
                .and_then(|u| u.host_str().map(str::to_owned));
            if parsed.host_str() != issuer_host.as_deref() {
                return Err("is not on the issuer's host \
                     (OktaOidcBuilder::allow_endpoints_on_other_hosts(true) allows it)");
            }
        }
        Ok(parsed)
    }
}

/// Checks that a URL is absolute `https://`, or `http://` on a loopback host.
pub(crate) fn check_secure_url(url: &str) -> Result<reqwest::Url, &'static str> {
    let parsed = reqwest::Url::parse(url).map_err(|_| "not an absolute URL")?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err("must not hold credentials");
    }
    match parsed.scheme() {
        "https" => {}
        "http" if is_loopback(&parsed) => {}
        "http" => return Err("http:// is only allowed for loopback hosts"),
        _ => return Err("scheme must be https"),
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err("has no host");
    }
    Ok(parsed)
}

/// Whether the URL's host is a loopback address or `localhost`.
pub(crate) fn is_loopback(url: &reqwest::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_control() {
        assert_eq!(
            max_age(Some("max-age=3832304, must-revalidate")),
            Some(Duration::from_secs(3_832_304))
        );
        assert_eq!(max_age(Some("public, no-cache")), Some(Duration::ZERO));
        assert_eq!(max_age(Some("private")), None);
        assert_eq!(max_age(Some("max-age=abc")), None);
        assert_eq!(max_age(None), None);
    }

    #[test]
    fn secure_urls() {
        assert!(check_secure_url("https://acme.okta.com").is_ok());
        assert!(check_secure_url("http://127.0.0.1:8080").is_ok());
        assert!(check_secure_url("http://127.9.9.9").is_ok());
        assert!(check_secure_url("http://[::1]:3000").is_ok());
        assert!(check_secure_url("http://localhost:3000").is_ok());
        assert!(check_secure_url("http://acme.okta.com").is_err());
        assert!(check_secure_url("http://10.0.0.1").is_err());
        assert!(check_secure_url("ftp://acme.okta.com").is_err());
        assert!(check_secure_url("https://user:pw@acme.okta.com").is_err());
        assert!(check_secure_url("acme.okta.com").is_err());
    }

    #[test]
    fn url_policy() {
        let strict = UrlPolicy::default();
        assert!(strict.check("https://acme.okta.com").is_ok());
        assert!(strict.check("http://127.0.0.1:8080").is_err());
        let loopback = UrlPolicy {
            loopback_http: true,
            ..strict
        };
        assert!(loopback.check("http://127.0.0.1:8080").is_ok());
        assert!(loopback.check("http://acme.okta.com").is_err());
        let issuer = "https://acme.okta.com";
        assert!(
            strict
                .check_endpoint(issuer, "https://acme.okta.com/keys")
                .is_ok()
        );
        assert!(
            strict
                .check_endpoint(issuer, "https://ACME.okta.com:8443/k")
                .is_ok()
        );
        assert!(
            strict
                .check_endpoint(issuer, "https://evil.example/keys")
                .is_err()
        );
        assert!(
            strict
                .check_endpoint(issuer, "https://acme.okta.com.evil/k")
                .is_err()
        );
        let anywhere = UrlPolicy {
            other_hosts: true,
            ..strict
        };
        assert!(
            anywhere
                .check_endpoint(issuer, "https://keys.example/k")
                .is_ok()
        );
        assert!(
            anywhere
                .check_endpoint(issuer, "http://keys.example/k")
                .is_err()
        );
    }
}
