//! `client.credentials` and `client.redirect_uri`: the client id and secret against a harmless
//! authenticated call, and the redirect URI against an authorize request no user signs.

use http::StatusCode;
use http::header::LOCATION;

use super::context::Env;
use super::discovery::SKIPPED;
use super::http::{bounded, send};
use super::report::{Check, CheckCode, excerpt};
use crate::provider::call_span::CallKind;
use crate::provider::client_auth::{
    Answer, Client, ClientAuthMethod, ClientSecret, post_form_once, refused_client,
};
use crate::provider::discovery::ProviderMetadata;
use crate::provider::fetch::check_secure_url;
use crate::tenant::config::Tenant;

/// The value introspected or exchanged: never a token or a code.
const JUNK: &str = "okta-oidc-doctor-not-a-token";

/// `state` of the doctor's authorize request (only `[A-Za-z0-9,._-]`, as Okta wants).
const STATE: &str = "okta-oidc-doctor";

/// PKCE S256 challenge of a fixed verifier: nothing is ever exchanged.
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

const FIX_CLIENT_ID: &str = "Copy the Client ID from the Okta Admin Console: Applications > \
     Applications > the app > General > Client Credentials.";
const FIX_SECRET: &str = "Copy the secret from the Okta Admin Console: Applications > \
     Applications > the app > General > Client Credentials > Client Secrets (Copy to \
     clipboard, nothing around it; or Generate new secret), and check that Client \
     authentication is \"Client secret\".";

/// `client.credentials`, and whether the provider said it does not know the client id.
pub(super) struct Credentials {
    pub(super) check: Check,
    pub(super) unknown_client: bool,
}

/// What the provider said to one secret.
enum Verdict {
    Accepted,
    UnknownClient,
    WrongSecret,
    Refused,
    Unexpected(StatusCode, String),
    NoAnswer,
}

/// `client.credentials`: one introspection of a junk value per secret (`{"active": false}`
/// with good credentials, `invalid_client` with bad ones), or, without an introspection
/// endpoint, one code exchange of a junk code (`invalid_grant` with good credentials).
pub(super) async fn credentials(
    env: &Env<'_>,
    tenant: &Tenant,
    metadata: Option<&ProviderMetadata>,
) -> Credentials {
    let code = CheckCode::ClientCredentials;
    let done = |check| Credentials {
        check,
        unknown_client: false,
    };
    let Some(metadata) = metadata else {
        return done(Check::skip(code, SKIPPED));
    };
    let Some(client_id) = tenant.get_client_id() else {
        return done(Check::fail(
            code,
            "the tenant has no client id",
            FIX_CLIENT_ID,
        ));
    };
    if tenant.secrets().is_empty() {
        return done(Check::skip(
            code,
            "not run: the tenant has no client secret (sign-in and introspection need one)",
        ));
    }
    let issuer = tenant.issuer();
    let usable = |url: &Option<String>| {
        url.as_deref()
            .filter(|u| env.urls.check_endpoint(issuer, u).is_ok())
            .map(str::to_owned)
    };
    let (endpoint, methods, introspect) = match (
        usable(&metadata.introspection_endpoint),
        usable(&metadata.token_endpoint),
    ) {
        (Some(url), _) => (
            url,
            metadata
                .introspection_endpoint_auth_methods_supported
                .as_deref(),
            true,
        ),
        (None, Some(url)) => (
            url,
            metadata.token_endpoint_auth_methods_supported.as_deref(),
            false,
        ),
        (None, None) => {
            return done(Check::skip(
                code,
                "not run: no usable introspection or token endpoint",
            ));
        }
    };
    let client = Client {
        id: client_id,
        secrets: tenant.secrets(),
        method: ClientAuthMethod::choose(methods),
        // The doctor checks the secrets (Okta's answers to a wrong one tell which is stale).
        key: None,
    };
    let form: &[(&str, &str)] = if introspect {
        &[("token", JUNK), ("token_type_hint", "access_token")]
    } else {
        &[
            ("grant_type", "authorization_code"),
            ("code", JUNK),
            ("redirect_uri", issuer),
        ]
    };
    let mut verdicts = Vec::with_capacity(client.secrets.len());
    for secret in client.secrets {
        let kind = if introspect {
            CallKind::Introspection
        } else {
            CallKind::Token
        };
        let call = post_form_once(
            kind,
            env.fetcher,
            &endpoint,
            form,
            &client,
            secret,
            16 * 1024,
        );
        let verdict = match bounded(env.timeout, call).await {
            Some(Ok(answer)) => judge(&answer, introspect),
            _ => Verdict::NoAnswer,
        };
        verdicts.push((secret, verdict));
    }
    let unknown_client = verdicts
        .iter()
        .any(|(_, v)| matches!(v, Verdict::UnknownClient));
    let check = summarize(code, client_id, &verdicts);
    Credentials {
        check,
        unknown_client,
    }
}

fn judge(answer: &Answer, introspect: bool) -> Verdict {
    #[derive(serde::Deserialize, Default)]
    struct Error {
        #[serde(default)]
        error: String,
        #[serde(default)]
        error_description: String,
        #[serde(default, rename = "errorSummary")]
        error_summary: String,
    }
    let error: Error = serde_json::from_slice(&answer.body).unwrap_or_default();
    if refused_client(answer.status, &answer.body) {
        // Okta: "Invalid value for 'client_id' parameter." or "The client secret supplied for
        // a confidential client is invalid." Read, never shown.
        let said = format!("{} {}", error.error_description, error.error_summary).to_lowercase();
        return if said.contains("client_id") || said.contains("client id") {
            Verdict::UnknownClient
        } else if said.contains("secret") {
            Verdict::WrongSecret
        } else {
            Verdict::Refused
        };
    }
    let accepted = if introspect {
        answer.status == StatusCode::OK
    } else {
        answer.status == StatusCode::BAD_REQUEST && error.error == "invalid_grant"
    };
    if accepted {
        Verdict::Accepted
    } else {
        Verdict::Unexpected(answer.status, error.error)
    }
}

fn summarize(code: CheckCode, client_id: &str, verdicts: &[(&ClientSecret, Verdict)]) -> Check {
    let padded = |secret: &ClientSecret| secret.expose().trim() != secret.expose();
    let whitespace = verdicts.iter().any(|(s, _)| padded(s));
    let pasted = if whitespace {
        "; the secret has whitespace at its start or end (pasted with a space?)"
    } else {
        ""
    };
    let fix_secret = if whitespace {
        format!("Remove the whitespace around the secret. {FIX_SECRET}")
    } else {
        FIX_SECRET.to_owned()
    };
    let accepted = verdicts
        .iter()
        .filter(|(_, v)| matches!(v, Verdict::Accepted))
        .count();
    let two = verdicts.len() > 1;
    if accepted == verdicts.len() {
        return if whitespace {
            Check::warn(
                code,
                format!("the client credentials are accepted{pasted}"),
                "Remove the whitespace around the secret.",
            )
        } else {
            Check::pass(code, "the client id and secret are accepted")
        };
    }
    if accepted > 0 && two {
        return Check::warn(
            code,
            format!("one of the two client secrets is refused{pasted}"),
            format!(
                "Drop the refused secret from the tenant once the rotation is done. {FIX_SECRET}"
            ),
        );
    }
    let refused = verdicts
        .iter()
        .map(|(_, v)| v)
        .find(|v| !matches!(v, Verdict::Accepted));
    match refused.unwrap_or(&Verdict::NoAnswer) {
        Verdict::UnknownClient => Check::fail(
            code,
            format!(
                "the provider does not know client id {}",
                excerpt(client_id)
            ),
            FIX_CLIENT_ID,
        ),
        Verdict::WrongSecret => Check::fail(
            code,
            format!("the client id is known but the secret is refused{pasted}"),
            fix_secret,
        ),
        Verdict::Refused => Check::fail(
            code,
            format!("the client id or the secret is refused (invalid_client){pasted}"),
            format!("{FIX_CLIENT_ID} {fix_secret}"),
        ),
        Verdict::Unexpected(status, error) => Check::warn(
            code,
            format!(
                "unexpected answer to the credentials check: HTTP {}{}",
                status.as_u16(),
                if error.is_empty() {
                    String::new()
                } else {
                    format!(", error {}", excerpt(error))
                }
            ),
            "Check the app's Client authentication (Client secret) and grant types in the Okta \
             Admin Console: Applications > Applications > the app > General.",
        ),
        Verdict::NoAnswer | Verdict::Accepted => Check::fail(
            code,
            "no answer from the provider to the credentials check",
            "Check that this server can reach the org.",
        ),
    }
}

/// `client.redirect_uri`: `GET authorize?…&prompt=none` with the app's redirect URI. A
/// registered URI gets a redirect back (`error=login_required` without an Okta session); an
/// unregistered one gets Okta's error page. No user signs in, nothing is exchanged.
pub(super) async fn redirect_uri(
    env: &Env<'_>,
    tenant: &Tenant,
    metadata: Option<&ProviderMetadata>,
    unknown_client: bool,
) -> Check {
    let code = CheckCode::ClientRedirectUri;
    let Some(redirect) = env.options.redirect_uri.as_deref() else {
        return Check::skip(code, "not run: no redirect URI given");
    };
    let Some(metadata) = metadata else {
        return Check::skip(code, SKIPPED);
    };
    let Some(client_id) = tenant.get_client_id() else {
        return Check::skip(code, "not run: the tenant has no client id");
    };
    let redirect_url = match check_secure_url(redirect) {
        Ok(url) if url.fragment().is_none() => url,
        _ => {
            return Check::fail(
                code,
                format!(
                    "the redirect URI {} must be absolute https (http only on a loopback host), \
                     without a fragment",
                    excerpt(redirect)
                ),
                "Use the app's public https URL followed by /auth/callback (LoginConfig's \
                 base URL).",
            );
        }
    };
    let issuer = tenant.issuer();
    let Some(endpoint) = metadata
        .authorization_endpoint
        .as_deref()
        .and_then(|e| env.urls.check_endpoint(issuer, e).ok())
    else {
        return Check::skip(code, "not run: no usable authorization_endpoint");
    };
    let mut url = endpoint;
    url.query_pairs_mut()
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", redirect)
        .append_pair("response_type", "code")
        .append_pair("scope", "openid")
        .append_pair("state", STATE)
        .append_pair("nonce", STATE)
        .append_pair("prompt", "none")
        .append_pair("code_challenge", CHALLENGE)
        .append_pair("code_challenge_method", "S256");
    let fix = format!(
        "In the Okta Admin Console: Applications > Applications > the app > General > Login > \
         Sign-in redirect URIs: add {redirect} exactly (scheme, host, port and path), then Save."
    );
    let reply = match send(env.fetcher, env.fetcher.client.get(url), env.timeout).await {
        Ok(reply) => reply,
        Err(cause) => {
            return Check::fail(
                code,
                format!("the authorize endpoint did not answer: {}", cause.as_str()),
                "Check that this server can reach the org.",
            );
        }
    };
    let location = reply.header(LOCATION).and_then(|l| url::Url::parse(l).ok());
    if reply.status.is_redirection() {
        let back = location.as_ref().is_some_and(|l| {
            l.scheme() == redirect_url.scheme()
                && l.host_str() == redirect_url.host_str()
                && l.port_or_known_default() == redirect_url.port_or_known_default()
                && l.path() == redirect_url.path()
        });
        if back {
            let error = location
                .iter()
                .flat_map(|l| l.query_pairs())
                .find(|(k, _)| k == "error")
                .map(|(_, v)| v.into_owned());
            let said = match error.as_deref() {
                Some(e) => format!(" with error={}", excerpt(e)),
                None => String::new(),
            };
            return Check::pass(
                code,
                format!(
                    "the authorize endpoint redirected back to the redirect URI{said}: it is registered"
                ),
            );
        }
        return Check::warn(
            code,
            format!(
                "the authorize endpoint redirected (HTTP {}) elsewhere than the redirect URI",
                reply.status.as_u16()
            ),
            fix,
        );
    }
    let cause = if unknown_client {
        "the client id is unknown (see client.credentials)".to_owned()
    } else {
        format!(
            "{} is not a sign-in redirect URI of this client",
            excerpt(redirect)
        )
    };
    Check::fail(
        code,
        format!(
            "the authorize endpoint answered HTTP {} with an error page instead of redirecting \
             back: {cause}",
            reply.status.as_u16()
        ),
        if unknown_client {
            FIX_CLIENT_ID.to_owned()
        } else {
            fix
        },
    )
}
