//! [`ProtectedResource`]: this API as an OAuth protected resource (RFC 9728) — its identifier,
//! what its metadata document says, and where that document lives. Pure: no I/O; the endpoint
//! that serves it is `resource_metadata.rs`.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::algorithm::Algorithm;
use crate::error::ConfigError;

/// The well-known path of RFC 9728 §3.
pub(crate) const WELL_KNOWN: &str = "/.well-known/oauth-protected-resource";

/// This API as an OAuth 2.0 protected resource (RFC 9728): its resource identifier — the URL
/// clients call it by — and what its metadata document advertises.
///
/// Set it with [`OktaOidcBuilder::protected_resource`](crate::OktaOidcBuilder::protected_resource);
/// a tenant reached at its own host or path sets its own identifier with
/// [`Tenant::resource`](crate::Tenant::resource). Then:
///
/// - [`OktaOidc::resource_metadata_router`](crate::OktaOidc::resource_metadata_router) serves
///   `/.well-known/oauth-protected-resource` (with the resource's path inserted after it when
///   the identifier has one, RFC 9728 §3.1): `resource` is the identifier exactly as
///   configured, `authorization_servers` the issuer of the request's tenant only;
/// - the layer's `401` challenges carry `resource_metadata="…"` (RFC 9728 §5.1);
/// - DPoP proofs' `htu` are checked against the identifier's origin and the request's path.
///
/// ```
/// use okta_oidc::{OktaOidc, ProtectedResource, Tenant};
///
/// # fn build() -> Result<OktaOidc, okta_oidc::ConfigError> {
/// let oidc = OktaOidc::builder()
///     .tenant(Tenant::new("acme", "https://acme.okta.com/oauth2/default").audience("api://acme"))
///     .protected_resource(
///         ProtectedResource::new("https://api.example.com")
///             .scopes_supported(["orders:read", "orders:write"])
///             .resource_name("Orders API"),
///     )
///     .build_lazy()?;
/// # Ok(oidc) }
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct ProtectedResource {
    pub(crate) resource: Arc<str>,
    pub(crate) scopes: Vec<String>,
    pub(crate) name: Option<String>,
    pub(crate) documentation: Option<String>,
}

impl ProtectedResource {
    /// A resource known to clients as `resource`: an `https://` URL (or `http://` on a
    /// loopback host) without query or fragment, e.g. `https://api.example.com` or
    /// `https://api.example.com/orders`.
    pub fn new(resource: impl Into<String>) -> Self {
        ProtectedResource {
            resource: Arc::from(resource.into()),
            scopes: Vec::new(),
            name: None,
            documentation: None,
        }
    }

    /// The scopes clients may ask for to call this API (`scopes_supported`).
    pub fn scopes_supported<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// A name for people (`resource_name`).
    pub fn resource_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// A page about the API for developers (`resource_documentation`).
    pub fn resource_documentation(mut self, url: impl Into<String>) -> Self {
        self.documentation = Some(url.into());
        self
    }

    /// The resource identifier.
    pub fn resource(&self) -> &str {
        &self.resource
    }

    pub(crate) fn check(&self) -> Result<(), ConfigError> {
        check_resource_id(&self.resource)
    }
}

/// Checks a resource identifier: an absolute `https://` URL (`http://` on loopback), with no
/// query or fragment (RFC 9728 §1.2).
pub(crate) fn check_resource_id(resource: &str) -> Result<(), ConfigError> {
    let invalid = |reason| ConfigError::InvalidUrl {
        url: resource.to_owned(),
        reason,
    };
    let url = url::Url::parse(resource).map_err(|_| invalid("not an absolute URL"))?;
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => return Err(invalid("has no host")),
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        _ => return Err(invalid("must be https (http only on a loopback host)")),
    }
    if resource.contains(['?', '#']) {
        return Err(invalid("must not have a query or fragment"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("must not hold user information"));
    }
    Ok(())
}

/// Where a resource's metadata lives (RFC 9728 §3.1): the well-known path inserted between the
/// host and the resource's path; `None` for an identifier that does not parse.
pub(crate) fn metadata_url(resource: &str) -> Option<String> {
    let url = url::Url::parse(resource).ok()?;
    let origin = url.origin().ascii_serialization();
    Some(format!("{origin}{WELL_KNOWN}{}", resource_path(&url)))
}

/// The path a resource's metadata is served under, after the well-known prefix: `""` for a
/// resource at the root, else its path (`/acme`).
pub(crate) fn metadata_suffix(resource: &str) -> Option<String> {
    url::Url::parse(resource)
        .ok()
        .map(|url| resource_path(&url).to_owned())
}

fn resource_path(url: &url::Url) -> &str {
    match url.path() {
        "/" => "",
        path => path,
    }
}

/// The origin (`scheme://host[:port]`) clients reach a resource at: the base of DPoP `htu`.
pub(crate) fn origin(resource: &str) -> Option<String> {
    url::Url::parse(resource)
        .ok()
        .map(|url| url.origin().ascii_serialization())
}

/// What the metadata document's DPoP members say.
pub(crate) struct DpopSupport<'a> {
    pub(crate) algorithms: &'a [Algorithm],
    pub(crate) required: bool,
}

impl ProtectedResource {
    /// The metadata document (RFC 9728 §2) of `resource` — this one's identifier or a tenant's
    /// — whose authorization server is `issuer` (`None`: the request named no tenant, and the
    /// list of customers is nobody's business).
    pub(crate) fn document(
        &self,
        resource: &str,
        issuer: Option<&str>,
        dpop: Option<DpopSupport<'_>>,
    ) -> Value {
        let mut doc = json!({
            "resource": resource,
            "bearer_methods_supported": ["header"],
        });
        let Value::Object(map) = &mut doc else {
            return doc;
        };
        if let Some(issuer) = issuer {
            map.insert("authorization_servers".into(), json!([issuer]));
        }
        if !self.scopes.is_empty() {
            map.insert("scopes_supported".into(), json!(self.scopes));
        }
        if let Some(name) = &self.name {
            map.insert("resource_name".into(), json!(name));
        }
        if let Some(url) = &self.documentation {
            map.insert("resource_documentation".into(), json!(url));
        }
        if let Some(dpop) = dpop {
            let algs: Vec<&str> = dpop.algorithms.iter().map(|a| a.name()).collect();
            map.insert("dpop_signing_alg_values_supported".into(), json!(algs));
            map.insert(
                "dpop_bound_access_tokens_required".into(),
                json!(dpop.required),
            );
        }
        doc
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_urls_insert_the_well_known_path() {
        // RFC 9728 §3.1 examples.
        assert_eq!(
            metadata_url("https://resource.example.com").as_deref(),
            Some("https://resource.example.com/.well-known/oauth-protected-resource")
        );
        assert_eq!(
            metadata_url("https://resource.example.com/").as_deref(),
            Some("https://resource.example.com/.well-known/oauth-protected-resource")
        );
        assert_eq!(
            metadata_url("https://resource.example.com/resource1").as_deref(),
            Some("https://resource.example.com/.well-known/oauth-protected-resource/resource1")
        );
        assert_eq!(
            origin("https://API.example.com:443/x").as_deref(),
            Some("https://api.example.com")
        );
    }

    #[test]
    fn resource_identifiers_are_checked() {
        assert!(check_resource_id("https://api.example.com/v1").is_ok());
        assert!(check_resource_id("http://127.0.0.1:8080").is_ok());
        for bad in [
            "http://api.example.com",
            "https://api.example.com/?a=1",
            "https://api.example.com/#x",
            "api.example.com",
            "https://u:p@api.example.com",
        ] {
            assert!(check_resource_id(bad).is_err(), "{bad}");
        }
    }
}
