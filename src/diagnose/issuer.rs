//! `issuer.url`, `issuer.reachable`, `issuer.kind`: the URL the customer pasted, whether its
//! host answers, and which authorization server it names.

use super::http::Reply;
use super::report::{Check, CheckCode, excerpt};
use crate::provider::fetch::{Unreachable, UrlPolicy};

/// The message of a check skipped because the issuer URL is unusable.
pub(super) const SKIPPED: &str = "not run: issuer.url failed";

const FIX_ISSUER: &str = "Set the tenant's issuer to the customer's Okta org URL exactly, \
     e.g. https://acme.okta.com (Okta Admin Console: the org URL is shown in the menu under \
     the admin's name in the top right; Security > API > Authorization Servers lists the \
     Issuer URI of each server).";

/// `issuer.url`: absolute https (loopback http when allowed), no credentials, query,
/// fragment, whitespace or trailing slash, and not an endpoint or the Admin Console's URL.
pub(super) fn url(issuer: &str, urls: UrlPolicy) -> Check {
    let code = CheckCode::IssuerUrl;
    let fail = |message: String| Check::fail(code, message, FIX_ISSUER);
    if issuer.trim() != issuer {
        return fail(format!(
            "the issuer {} has whitespace at its start or end (pasted with a space?)",
            excerpt(issuer)
        ));
    }
    if issuer.contains(['?', '#']) {
        return fail(format!(
            "the issuer {} has a query or a fragment; an issuer has neither",
            excerpt(issuer)
        ));
    }
    let parsed = match urls.check(issuer) {
        Ok(parsed) => parsed,
        Err(why) => return fail(format!("the issuer {}: {why}", excerpt(issuer))),
    };
    let host = parsed.host_str().unwrap_or_default();
    if host.contains("-admin.") && is_okta_host(host) {
        return fail(format!(
            "the issuer {} is the Admin Console's address (\"-admin\"), not the org's",
            excerpt(issuer)
        ));
    }
    let path = parsed.path();
    if path.contains("/.well-known/") || path.contains("/v1/") {
        return fail(format!(
            "the issuer {} is an endpoint's URL (it has {}), not an issuer",
            excerpt(issuer),
            if path.contains("/.well-known/") {
                "/.well-known/"
            } else {
                "/v1/"
            }
        ));
    }
    if issuer.ends_with('/') {
        return Check::warn(
            code,
            format!(
                "the issuer {} ends with a slash; Okta's issuers have none, and tokens' iss \
                 must equal it exactly",
                excerpt(issuer)
            ),
            "Remove the trailing slash from the tenant's issuer.",
        );
    }
    let scheme = match parsed.scheme() {
        "http" => "http:// on a loopback host (allowed)",
        _ => "https",
    };
    Check::pass(
        code,
        format!("{scheme}, no query, fragment or trailing slash"),
    )
}

/// `issuer.reachable`, from the discovery call: the cause when there was no answer.
pub(super) fn reachable(reply: Option<&Result<Reply, Unreachable>>) -> Check {
    let code = CheckCode::IssuerReachable;
    let Some(reply) = reply else {
        return Check::skip(code, SKIPPED);
    };
    match reply {
        Ok(reply) => Check::pass(
            code,
            format!(
                "the issuer's host answered (HTTP {})",
                reply.status.as_u16()
            ),
        ),
        Err(cause) => {
            let (message, fix) = match cause {
                Unreachable::Dns => (
                    "the issuer's host name does not resolve (DNS lookup failed)",
                    "Check the org URL for a typo (e.g. acme.okta.com, acme.oktapreview.com, \
                     or the org's custom domain), and that this server can resolve it.",
                ),
                Unreachable::Refused => (
                    "the issuer's host refused the connection (nothing listens on that port)",
                    "Check the org URL's host and port; Okta answers on 443.",
                ),
                Unreachable::Tls => (
                    "the TLS handshake with the issuer's host failed (certificate not trusted, \
                     or not TLS)",
                    "A custom domain needs a valid certificate (Admin Console: Customizations > \
                     Brands > Domains); a proxy that intercepts TLS needs its CA trusted here.",
                ),
                Unreachable::Timeout => (
                    "the issuer's host did not answer in time",
                    "Check that this server can reach the org (firewall, proxy, egress rules).",
                ),
                Unreachable::Connect | Unreachable::Body | Unreachable::Other => (
                    "the connection to the issuer's host failed",
                    "Check that this server can reach the org (firewall, proxy, egress rules).",
                ),
            };
            Check::fail(code, message, fix)
        }
    }
}

/// `issuer.kind`: the org authorization server (no path) or a custom one (`/oauth2/{id}`).
pub(super) fn kind(issuer: &str) -> Check {
    let code = CheckCode::IssuerKind;
    let Ok(url) = url::Url::parse(issuer) else {
        return Check::skip(code, SKIPPED);
    };
    let path = url.path().trim_end_matches('/');
    if path.is_empty() {
        return Check::pass(
            code,
            "the org authorization server, which Okta Integration Network apps must use",
        );
    }
    if let Some(server) = path.strip_prefix("/oauth2/").filter(|s| !s.contains('/')) {
        return Check::warn(
            code,
            format!(
                "a custom authorization server ({}): right for an app's own API with API Access \
                 Management, where tokens carry that server's audience; an Okta Integration \
                 Network app must use the org authorization server, which every customer org has",
                excerpt(server)
            ),
            "For an OIN app, set the issuer to the org URL without /oauth2/...; keep the custom \
             server only for a private app that validates its own API's access tokens.",
        );
    }
    let host = url.host_str().unwrap_or_default();
    if is_okta_host(host) {
        return Check::warn(
            code,
            format!(
                "the path {} is neither an org nor a custom authorization server",
                excerpt(path)
            ),
            FIX_ISSUER,
        );
    }
    Check::pass(
        code,
        "not an Okta URL: checked as a generic OpenID Provider",
    )
}

/// Whether the issuer names an org authorization server (no path), whose access tokens only
/// introspection can check.
pub(super) fn is_org_server(issuer: &str) -> bool {
    url::Url::parse(issuer).is_ok_and(|u| u.path().trim_end_matches('/').is_empty())
}

fn is_okta_host(host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    [
        ".okta.com",
        ".oktapreview.com",
        ".okta-emea.com",
        ".okta-gov.com",
    ]
    .iter()
    .any(|suffix| host.ends_with(suffix))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::report::Status;

    const STRICT: UrlPolicy = UrlPolicy {
        loopback_http: false,
        other_hosts: false,
    };

    #[test]
    fn issuer_urls() {
        let status = |s: &str| url(s, STRICT).status;
        assert_eq!(status("https://acme.okta.com"), Status::Pass);
        assert_eq!(status("https://acme.okta.com/oauth2/default"), Status::Pass);
        assert_eq!(status("https://acme.okta.com/"), Status::Warn);
        assert_eq!(status(" https://acme.okta.com"), Status::Fail);
        assert_eq!(status("https://acme.okta.com?x=1"), Status::Fail);
        assert_eq!(status("http://acme.okta.com"), Status::Fail);
        assert_eq!(status("http://127.0.0.1:8080"), Status::Fail);
        assert_eq!(status("acme.okta.com"), Status::Fail);
        assert_eq!(status("https://acme-admin.okta.com"), Status::Fail);
        assert_eq!(
            status("https://acme.okta.com/.well-known/openid-configuration"),
            Status::Fail
        );
        assert_eq!(
            status("https://acme.okta.com/oauth2/v1/authorize"),
            Status::Fail
        );
        let loopback = UrlPolicy {
            loopback_http: true,
            ..STRICT
        };
        assert_eq!(url("http://127.0.0.1:8080", loopback).status, Status::Pass);
    }

    #[test]
    fn kinds() {
        assert_eq!(kind("https://acme.okta.com").status, Status::Pass);
        assert_eq!(
            kind("https://acme.okta.com/oauth2/default").status,
            Status::Warn
        );
        assert_eq!(kind("https://acme.okta.com/app/x").status, Status::Warn);
        assert_eq!(
            kind("https://login.example.com/realms/x").status,
            Status::Pass
        );
        assert!(is_org_server("https://acme.okta.com"));
        assert!(!is_org_server("https://acme.okta.com/oauth2/default"));
    }
}
