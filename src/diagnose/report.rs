//! What a diagnosis says: the stable check codes, the statuses, one [`Check`] per code, and the
//! bounded, escaped excerpt that is the only provider text ever shown.

use std::fmt;

use serde::Serialize;

/// The stable code of a check. Codes are part of the public API: a new code, or a code whose
/// meaning changes, is named in the CHANGELOG.
///
/// ```
/// use okta_oidc::CheckCode;
///
/// assert_eq!(CheckCode::ClientRedirectUri.as_str(), "client.redirect_uri");
/// assert_eq!("keys.usable".parse::<CheckCode>(), Ok(CheckCode::KeysUsable));
/// ```
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CheckCode {
    /// `issuer.url`: https (or allowed loopback http), no query or fragment, no trailing slash,
    /// nothing pasted around or after the org URL.
    IssuerUrl,
    /// `issuer.reachable`: DNS, connect and TLS to the issuer's host.
    IssuerReachable,
    /// `issuer.kind`: the org authorization server, or a custom one (`/oauth2/…`).
    IssuerKind,
    /// `discovery.found`: `/.well-known/openid-configuration` answers a JSON document.
    DiscoveryFound,
    /// `discovery.issuer_matches`: the document's `issuer` equals the configured one.
    DiscoveryIssuerMatches,
    /// `discovery.endpoints_on_issuer_host`: every endpoint is on the issuer's host.
    DiscoveryEndpointsOnIssuerHost,
    /// `keys.usable`: the key set loads, has keys this crate accepts, no duplicate `kid`.
    KeysUsable,
    /// `clock.skew`: the provider's `Date` against this host's clock.
    ClockSkew,
    /// `client.credentials`: the client id and secret are accepted.
    ClientCredentials,
    /// `client.redirect_uri`: the redirect URI is registered for the client.
    ClientRedirectUri,
    /// `logout.end_session`: the document has an `end_session_endpoint`.
    LogoutEndSession,
    /// `introspection.endpoint`: the document has an `introspection_endpoint` (when needed).
    IntrospectionEndpoint,
    /// `universal_logout.reachable`: the app's own Universal Logout endpoint is mounted.
    UniversalLogoutReachable,
}

impl CheckCode {
    /// Every code, in the order a diagnosis runs them.
    pub const ALL: [CheckCode; 13] = [
        CheckCode::IssuerUrl,
        CheckCode::IssuerReachable,
        CheckCode::IssuerKind,
        CheckCode::DiscoveryFound,
        CheckCode::DiscoveryIssuerMatches,
        CheckCode::DiscoveryEndpointsOnIssuerHost,
        CheckCode::KeysUsable,
        CheckCode::ClockSkew,
        CheckCode::ClientCredentials,
        CheckCode::ClientRedirectUri,
        CheckCode::LogoutEndSession,
        CheckCode::IntrospectionEndpoint,
        CheckCode::UniversalLogoutReachable,
    ];

    /// The code as written in every rendering, e.g. `"issuer.reachable"`.
    pub fn as_str(self) -> &'static str {
        match self {
            CheckCode::IssuerUrl => "issuer.url",
            CheckCode::IssuerReachable => "issuer.reachable",
            CheckCode::IssuerKind => "issuer.kind",
            CheckCode::DiscoveryFound => "discovery.found",
            CheckCode::DiscoveryIssuerMatches => "discovery.issuer_matches",
            CheckCode::DiscoveryEndpointsOnIssuerHost => "discovery.endpoints_on_issuer_host",
            CheckCode::KeysUsable => "keys.usable",
            CheckCode::ClockSkew => "clock.skew",
            CheckCode::ClientCredentials => "client.credentials",
            CheckCode::ClientRedirectUri => "client.redirect_uri",
            CheckCode::LogoutEndSession => "logout.end_session",
            CheckCode::IntrospectionEndpoint => "introspection.endpoint",
            CheckCode::UniversalLogoutReachable => "universal_logout.reachable",
        }
    }
}

impl fmt::Display for CheckCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for CheckCode {
    type Err = UnknownCheckCode;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CheckCode::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or(UnknownCheckCode)
    }
}

/// A string that is no [`CheckCode`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnknownCheckCode;

impl fmt::Display for UnknownCheckCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("unknown check code")
    }
}

impl std::error::Error for UnknownCheckCode {}

impl Serialize for CheckCode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// The outcome of one check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Right as configured.
    Pass,
    /// Works, but is probably not what was meant (read the message).
    Warn,
    /// Will make sign-in or validation fail: apply the fix.
    Fail,
    /// Not run: an earlier check failed, or what it needs was not given (the message says).
    Skip,
}

impl Status {
    /// `"pass"`, `"warn"`, `"fail"` or `"skip"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Warn => "warn",
            Status::Fail => "fail",
            Status::Skip => "skip",
        }
    }

    /// The mark of the text rendering: `✔`, `⚠`, `✘` or `·`.
    pub fn mark(self) -> char {
        match self {
            Status::Pass => '✔',
            Status::Warn => '⚠',
            Status::Fail => '✘',
            Status::Skip => '·',
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One check of a [`Diagnosis`](crate::Diagnosis).
///
/// The message is this crate's own text (values of the tenant's configuration, the HTTP status,
/// and at most a bounded, escaped excerpt of what the provider sent); the fix, when there is
/// one, is a step in the Okta Admin Console or in the tenant's configuration.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Check {
    /// The stable code.
    pub code: CheckCode,
    /// The outcome.
    pub status: Status,
    /// What was found, in one sentence.
    pub message: String,
    /// What to do about it; `None` when there is nothing to do.
    pub fix: Option<String>,
}

impl Check {
    pub(crate) fn new(code: CheckCode, status: Status, message: impl Into<String>) -> Self {
        Check {
            code,
            status,
            message: message.into(),
            fix: None,
        }
    }

    pub(crate) fn pass(code: CheckCode, message: impl Into<String>) -> Self {
        Check::new(code, Status::Pass, message)
    }

    pub(crate) fn skip(code: CheckCode, message: impl Into<String>) -> Self {
        Check::new(code, Status::Skip, message)
    }

    pub(crate) fn warn(
        code: CheckCode,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Check::new(code, Status::Warn, message).with_fix(fix)
    }

    pub(crate) fn fail(
        code: CheckCode,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Check::new(code, Status::Fail, message).with_fix(fix)
    }

    pub(crate) fn with_fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = Some(fix.into());
        self
    }
}

/// Longest excerpt of provider text shown, in characters.
pub(crate) const EXCERPT_CHARS: usize = 80;

/// Provider text made safe to show: in double quotes, at most [`EXCERPT_CHARS`] characters,
/// every character outside printable ASCII (and `"`, `\`) escaped, `…` when cut.
pub(crate) fn excerpt(text: &str) -> String {
    let mut out = String::from("\"");
    for (shown, c) in text.chars().enumerate() {
        if shown == EXCERPT_CHARS {
            out.push('…');
            break;
        }
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            ' '..='~' => out.push(c),
            c => out.push_str(&format!("\\u{{{:x}}}", u32::from(c))),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_are_unique() {
        for code in CheckCode::ALL {
            assert_eq!(code.as_str().parse::<CheckCode>(), Ok(code));
        }
        let mut names: Vec<_> = CheckCode::ALL.iter().map(|c| c.as_str()).collect();
        names.dedup();
        assert_eq!(names.len(), CheckCode::ALL.len());
        assert!("issuer".parse::<CheckCode>().is_err());
    }

    #[test]
    fn excerpts_are_bounded_and_escaped() {
        assert_eq!(excerpt("ok"), "\"ok\"");
        assert_eq!(excerpt("a\"b\\c"), "\"a\\\"b\\\\c\"");
        assert_eq!(excerpt("<x>\n\u{1b}[31m"), "\"<x>\\u{a}\\u{1b}[31m\"");
        assert_eq!(excerpt("é"), "\"\\u{e9}\"");
        let long = "x".repeat(500);
        let shown = excerpt(&long);
        assert_eq!(shown.chars().count(), EXCERPT_CHARS + 3);
        assert!(shown.ends_with("…\""));
    }
}
