//! `keys.usable` and `clock.skew`: the key set, parsed by the runtime's parser (which says
//! what it skipped), and the provider's `Date` against this host's clock.

use std::time::{Duration, UNIX_EPOCH};

use http::StatusCode;
use http::header::{ACCEPT, DATE};

use super::context::Env;
use super::http::{Reply, send};
use super::report::{Check, CheckCode, excerpt};
use crate::error::LoadError;
use crate::provider::discovery::ProviderMetadata;
use crate::provider::fetch::Unreachable;
use crate::provider::jwk::{JwksReport, parse_jwks_reporting};

/// Past this, `clock.skew` warns.
const WARN_SKEW: Duration = Duration::from_secs(30);

/// The key-set call: skipped (with why), or what came back.
pub(super) enum KeysReply {
    Skipped(&'static str),
    Called(Result<Reply, Unreachable>),
}

/// GET `jwks_uri`, once, when discovery gave one the runtime would call.
pub(super) async fn fetch(
    env: &Env<'_>,
    metadata: Option<&ProviderMetadata>,
    issuer: &str,
) -> Option<KeysReply> {
    let metadata = metadata?;
    if env.urls.check_endpoint(issuer, &metadata.jwks_uri).is_err() {
        return Some(KeysReply::Skipped(
            "not run: jwks_uri is refused (see discovery.endpoints_on_issuer_host)",
        ));
    }
    let request = env
        .fetcher
        .client
        .get(&metadata.jwks_uri)
        .header(ACCEPT, "application/json");
    Some(KeysReply::Called(
        send(env.fetcher, request, env.timeout).await,
    ))
}

/// `keys.usable`: the set loads, lists keys, at least one is usable with an accepted
/// algorithm, and no `kid` is listed twice.
pub(super) fn usable(env: &Env<'_>, reply: Option<&KeysReply>, issuer: &str) -> Check {
    let code = CheckCode::KeysUsable;
    let reply = match reply {
        None => return Check::skip(code, super::discovery::SKIPPED),
        Some(KeysReply::Skipped(why)) => return Check::skip(code, *why),
        Some(KeysReply::Called(reply)) => reply,
    };
    let fix_okta = "Okta publishes the keys itself: check that the issuer is the customer's \
                    org (Security > API > Authorization Servers); for an app with custom \
                    signing keys (Applications > the app > General > Client Credentials), \
                    publish RS256 keys with distinct kids.";
    let reply = match reply {
        Ok(reply) => reply,
        Err(cause) => {
            return Check::fail(
                code,
                format!("the key set could not be fetched: {}", cause.as_str()),
                "Check that this server can reach the org's jwks_uri.",
            );
        }
    };
    if reply.status != StatusCode::OK {
        return Check::fail(
            code,
            format!("jwks_uri answered HTTP {}, not 200", reply.status.as_u16()),
            fix_okta,
        );
    }
    let Ok(body) = &reply.body else {
        return Check::fail(
            code,
            "the key set could not be read (too large, or cut)",
            fix_okta,
        );
    };
    let mut report = JwksReport::default();
    let parsed = parse_jwks_reporting(body, env.algorithms, None, issuer, &mut report);
    let reasons = || {
        report
            .skipped
            .iter()
            .map(|s| match &s.kid {
                Some(kid) => format!("kid {}: {}", excerpt(kid), s.why),
                None => format!("key #{}: {}", s.index + 1, s.why),
            })
            .collect::<Vec<_>>()
            .join("; ")
    };
    let keys = match parsed {
        Err(LoadError::NoUsableKeys) if report.listed == 0 => {
            return Check::fail(
                code,
                "the key set is empty: no token can be verified",
                fix_okta,
            );
        }
        Err(LoadError::NoUsableKeys) => {
            return Check::fail(
                code,
                format!(
                    "none of the {} keys is usable ({})",
                    report.listed,
                    reasons()
                ),
                fix_okta,
            );
        }
        Err(_) => {
            return Check::fail(
                code,
                "the key set is not JSON with a keys array (RFC 7517 §5)",
                fix_okta,
            );
        }
        Ok(keys) => keys,
    };
    if let Some(duplicate) = report.skipped.iter().find(|s| s.why == "duplicate kid") {
        return Check::fail(
            code,
            format!(
                "kid {} is listed more than once: tokens signed with the later key are refused",
                excerpt(duplicate.kid.as_deref().unwrap_or_default())
            ),
            fix_okta,
        );
    }
    let mut algorithms: Vec<&str> = keys.iter().map(|k| k.alg.name()).collect();
    algorithms.sort_unstable();
    algorithms.dedup();
    let message = format!(
        "{} usable key{} ({})",
        keys.len(),
        if keys.len() == 1 { "" } else { "s" },
        algorithms.join(", ")
    );
    if report.skipped.is_empty() {
        Check::pass(code, message)
    } else {
        Check::warn(
            code,
            format!("{message}; skipped: {}", reasons()),
            "Nothing to do if tokens are signed with the usable keys; to accept another \
             algorithm, add it with OktaOidcBuilder::algorithms.",
        )
    }
}

/// `clock.skew`: the discovery answer's `Date` against this host's clock; warns past 30 s,
/// fails past the allowed skew (the leeway tokens get).
pub(super) fn clock_skew(env: &Env<'_>, reply: Option<&Reply>) -> Check {
    let code = CheckCode::ClockSkew;
    let Some(reply) = reply else {
        return Check::skip(code, "not run: issuer.reachable did not pass");
    };
    let Some(theirs) = reply
        .header(DATE)
        .and_then(|d| httpdate::parse_http_date(d).ok())
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
    else {
        return Check::warn(
            code,
            "the provider's answer has no valid Date header: the clocks cannot be compared",
            "Check that nothing between this server and Okta strips the Date header.",
        );
    };
    let ours = env.clock.now();
    let (skew, direction) = if theirs >= ours {
        (theirs - ours, "behind")
    } else {
        (ours - theirs, "ahead of")
    };
    let secs = skew.as_secs();
    let fix = format!(
        "Set this server's clock by NTP (e.g. timedatectl set-ntp true, or chrony); Okta's \
         clock is right. Tokens are refused when the clocks differ by more than {} s.",
        env.max_skew.as_secs()
    );
    if skew > env.max_skew {
        Check::fail(
            code,
            format!(
                "this server's clock is {secs} s {direction} the provider's, past the {} s allowed",
                env.max_skew.as_secs()
            ),
            fix,
        )
    } else if skew > WARN_SKEW {
        Check::warn(
            code,
            format!(
                "this server's clock is {secs} s {direction} the provider's (allowed: {} s)",
                env.max_skew.as_secs()
            ),
            fix,
        )
    } else {
        Check::pass(
            code,
            format!("the clocks differ by {secs} s (Date has a resolution of 1 s)"),
        )
    }
}
