//! `discovery.found`, `discovery.issuer_matches`, `discovery.endpoints_on_issuer_host`,
//! `logout.end_session`, `introspection.endpoint`: the discovery document, read with the
//! runtime's parser and checked with its rules, one rule per check.

use http::StatusCode;
use http::header::ACCEPT;

use super::context::Env;
use super::http::{Reply, send};
use super::report::{Check, CheckCode, excerpt};
use crate::provider::discovery::{
    ProviderMetadata, check_issuer, discovery_url, endpoints, parse_document,
};
use crate::provider::fetch::{Unreachable, UrlPolicy};

/// The message of a check skipped for want of a discovery document.
pub(super) const SKIPPED: &str = "not run: discovery.found did not pass";

/// GET `{issuer}/.well-known/openid-configuration`, once.
pub(super) async fn fetch(env: &Env<'_>, issuer: &str) -> Result<Reply, Unreachable> {
    let request = env
        .fetcher
        .client
        .get(discovery_url(issuer))
        .header(ACCEPT, "application/json");
    send(env.fetcher, request, env.timeout).await
}

/// `discovery.found`: 200 with a JSON document holding at least `issuer` and `jwks_uri`.
pub(super) fn found(
    reply: Option<&Result<Reply, Unreachable>>,
) -> (Check, Option<ProviderMetadata>) {
    let code = CheckCode::DiscoveryFound;
    let Some(Ok(reply)) = reply else {
        return (
            Check::skip(code, "not run: issuer.reachable did not pass"),
            None,
        );
    };
    let fix = "Set the issuer to the org URL (https://{org}.okta.com or its custom domain) or \
               to a custom authorization server's Issuer URI (Admin Console: Security > API > \
               Authorization Servers); each serves /.well-known/openid-configuration.";
    if reply.status != StatusCode::OK {
        let message = format!(
            "{{issuer}}/.well-known/openid-configuration answered HTTP {}, not 200",
            reply.status.as_u16()
        );
        return (Check::fail(code, message, fix), None);
    }
    let body = match &reply.body {
        Ok(body) => body,
        Err(_) => {
            let message = "the discovery document could not be read (too large, or cut)";
            return (Check::fail(code, message, fix), None);
        }
    };
    match parse_document(body) {
        Ok(metadata) => (
            Check::pass(code, "a JSON discovery document with issuer and jwks_uri"),
            Some(metadata),
        ),
        Err(_) => {
            let start = String::from_utf8_lossy(&body[..body.len().min(64)]).into_owned();
            let message = format!(
                "the answer is not a discovery document (JSON with issuer and jwks_uri); it \
                 starts with {}",
                excerpt(&start)
            );
            (Check::fail(code, message, fix), None)
        }
    }
}

/// `discovery.issuer_matches`: the document's `issuer` equals the configured one exactly
/// (OpenID Connect Discovery 1.0 §4.3), naming both when not.
pub(super) fn issuer_matches(metadata: Option<&ProviderMetadata>, issuer: &str) -> Check {
    let code = CheckCode::DiscoveryIssuerMatches;
    let Some(metadata) = metadata else {
        return Check::skip(code, SKIPPED);
    };
    if check_issuer(metadata, issuer).is_ok() {
        return Check::pass(code, "the document's issuer equals the configured one");
    }
    let found = metadata.issuer.as_str();
    let hint = if found.trim_end_matches('/') == issuer.trim_end_matches('/') {
        "; they differ only by a trailing slash"
    } else if found.eq_ignore_ascii_case(issuer) {
        "; they differ only in letter case"
    } else {
        ""
    };
    Check::fail(
        code,
        format!(
            "the discovery document names issuer {}, the tenant is configured with {}{hint}: \
             every token would be refused",
            excerpt(found),
            excerpt(issuer)
        ),
        "Set the tenant's issuer to exactly the issuer the org publishes, if it is the \
         customer's org; a document naming another host means the URL reaches a proxy or \
         another org (Admin Console: Security > API > Authorization Servers shows the Issuer \
         URI; with a custom domain, Customizations > Brands > Domains).",
    )
}

/// `discovery.endpoints_on_issuer_host`: every endpoint https and on the issuer's host, the
/// runtime's rule (`UrlPolicy::check_endpoint`). Where the application allows other hosts, a
/// warning.
pub(super) fn endpoints_on_issuer_host(
    metadata: Option<&ProviderMetadata>,
    issuer: &str,
    urls: UrlPolicy,
) -> Check {
    let code = CheckCode::DiscoveryEndpointsOnIssuerHost;
    let Some(metadata) = metadata else {
        return Check::skip(code, SKIPPED);
    };
    let strict = UrlPolicy {
        other_hosts: false,
        ..urls
    };
    let all = endpoints(metadata);
    let listed = all.iter().filter(|(_, url)| url.is_some()).count();
    let off: Vec<&str> = all
        .iter()
        .filter_map(|(name, url)| {
            let url = (*url)?;
            strict.check_endpoint(issuer, url).is_err().then_some(*name)
        })
        .collect();
    if off.is_empty() {
        return Check::pass(
            code,
            format!("all {listed} endpoints are on the issuer's host"),
        );
    }
    let message = format!(
        "{} not https on the issuer's host",
        match off.as_slice() {
            [one] => format!("{one} is"),
            many => format!("{} are", many.join(", ")),
        }
    );
    let fix = "With a custom domain, set the issuer to the custom domain too (Admin Console: \
               Customizations > Brands > Domains), so that the org publishes every endpoint \
               under it; endpoints on another host are refused unless the app allows them \
               (OktaOidcBuilder::allow_endpoints_on_other_hosts).";
    if urls.other_hosts {
        // The runtime accepts them when still https (or allowed loopback http).
        let insecure = off.iter().any(|name| {
            let url = all.iter().find(|(n, _)| n == name).and_then(|(_, u)| *u);
            url.is_none_or(|u| urls.check(u).is_err())
        });
        if !insecure {
            return Check::warn(code, format!("{message} (allowed by the app)"), fix);
        }
    }
    Check::fail(code, message, fix)
}

/// `logout.end_session`: RP-initiated logout needs `end_session_endpoint`.
pub(super) fn end_session(metadata: Option<&ProviderMetadata>) -> Check {
    let code = CheckCode::LogoutEndSession;
    let Some(metadata) = metadata else {
        return Check::skip(code, SKIPPED);
    };
    match metadata.end_session_endpoint {
        Some(_) => Check::pass(
            code,
            "end_session_endpoint is published (RP-initiated logout)",
        ),
        None => Check::warn(
            code,
            "the document has no end_session_endpoint: signing out of the app will not sign \
             the user out of Okta",
            "Every Okta org and authorization server publishes it: check that the issuer is \
             the customer's Okta org (Security > API > Authorization Servers) and not a proxy.",
        ),
    }
}

/// `introspection.endpoint`: present when the tenant introspects (org-server access tokens).
pub(super) fn introspection(metadata: Option<&ProviderMetadata>, introspects: bool) -> Check {
    let code = CheckCode::IntrospectionEndpoint;
    if !introspects {
        return Check::skip(
            code,
            "not run: the tenant does not introspect (its issuer is a custom authorization \
             server, whose access tokens are checked locally)",
        );
    }
    let Some(metadata) = metadata else {
        return Check::skip(code, SKIPPED);
    };
    match metadata.introspection_endpoint {
        Some(_) => Check::pass(code, "introspection_endpoint is published"),
        None => Check::fail(
            code,
            "the tenant checks access tokens by introspection, and the document has no \
             introspection_endpoint",
            "Use the org URL of the customer's Okta org as the issuer (its org authorization \
             server publishes /oauth2/v1/introspect), or validate tokens of a custom \
             authorization server locally.",
        ),
    }
}
