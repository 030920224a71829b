//! A token request with the JWT bearer grant (RFC 7523 §2.1) carrying an ID-JAG
//! (draft-ietf-oauth-identity-assertion-authz-grant, "Access Token Request"): the form, the
//! client, the grant through the verifier, the scope and resource, then an RFC 9068 access
//! token signed by the application.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use axum_core::body::Body;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use http::{HeaderMap, Response, StatusCode};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::answer;
use super::client::{self, GrantClient, Refusal};
use super::metadata::JWT_BEARER;
use super::settings::Settings;
use crate::claims::Identity;
use crate::error::AuthError;
use crate::time::UnixTime;
use crate::verify::Expect;
use crate::verify::id_jag::GrantClaims;

/// The header `typ` of the access tokens issued (RFC 9068 §2.1).
const ACCESS_TOKEN_TYP: &str = "at+jwt";

pub(super) async fn handle(
    settings: &Settings,
    headers: &HeaderMap,
    body: Option<Bytes>,
) -> Response<Body> {
    let log = &settings.refusals;
    let clock = settings.oidc.verifier().provider.clock.as_ref();
    let anonymous = |reason: &str| log.anonymous(reason, UnixTime::now(clock).as_millis() / 1000);
    let Some(form) = body.as_deref().and_then(parse_form) else {
        anonymous("malformed or repeated form parameters");
        return answer::error(
            "invalid_request",
            "The body must be a form with each parameter at most once",
        );
    };
    match form.get("grant_type").map(String::as_str) {
        None => {
            anonymous("no grant_type");
            return answer::error("invalid_request", "grant_type is required");
        }
        Some(JWT_BEARER) => {}
        Some(_) => {
            anonymous("unsupported grant_type");
            return answer::error(
                "unsupported_grant_type",
                "Only urn:ietf:params:oauth:grant-type:jwt-bearer is supported",
            );
        }
    }
    let client = match client::authenticate(headers, &form, &settings.clients) {
        Ok(client) => client,
        Err(Refusal::InvalidRequest(why)) => {
            anonymous(why);
            return answer::error("invalid_request", why);
        }
        Err(Refusal::InvalidClient(why)) => {
            anonymous(why);
            return answer::invalid_client("Client authentication failed");
        }
    };
    let client_id = client.id();
    let Some(assertion) = form.get("assertion").filter(|a| !a.is_empty()) else {
        log.client("no assertion", client_id, None);
        return answer::error("invalid_request", "assertion is required");
    };
    let identity = match verify(settings, assertion, client_id).await {
        Ok(identity) => identity,
        Err(answer) => return answer,
    };
    let tenant = &*identity.tenant.id;
    let Ok(grant) = GrantClaims::read(&identity.raw) else {
        log.client("unreadable grant claims", client_id, Some(tenant));
        return answer::error("invalid_grant", "The grant's claims cannot be read");
    };
    let audience = match resources(settings, &grant) {
        Ok(audience) => audience,
        Err(why) => {
            log.client(why, client_id, Some(tenant));
            return answer::error("invalid_grant", "The grant's resource is not served here");
        }
    };
    let scopes = match scopes(&grant, client, form.get("scope").map(String::as_str)) {
        Ok(scopes) => scopes,
        Err(why) => {
            log.client(why, client_id, Some(tenant));
            return answer::error("invalid_scope", why);
        }
    };
    issue(settings, &identity, client_id, audience, &scopes).await
}

/// The form's parameters, `None` when one is repeated (RFC 6749 §3.2: "MUST NOT be included
/// more than once").
fn parse_form(body: &[u8]) -> Option<HashMap<String, String>> {
    let mut form = HashMap::new();
    for (k, v) in url::form_urlencoded::parse(body) {
        match form.entry(k.into_owned()) {
            Entry::Occupied(_) => return None,
            Entry::Vacant(e) => {
                e.insert(v.into_owned());
            }
        }
    }
    Some(form)
}

/// The grant through the verifier (`Expect::IdJag`), then the revocation mirror: a user the
/// org signed out after the grant was issued gets no token from it.
async fn verify(
    settings: &Settings,
    assertion: &str,
    client_id: &str,
) -> Result<std::sync::Arc<Identity>, Response<Body>> {
    let verifier = settings.oidc.verifier();
    let expect = Expect::IdJag {
        audience: &settings.issuer,
        client_id,
    };
    let result = match verifier.verify_jws(assertion, expect).await {
        Ok(identity) => {
            let now = UnixTime::now(verifier.provider.clock.as_ref());
            verifier
                .revocations
                .check(&identity, now)
                .map(|()| identity)
        }
        Err(e) => Err(e),
    };
    let log = &settings.refusals;
    result.map_err(|e| match e {
        AuthError::InvalidToken(reason) => {
            log.client(&reason.to_string(), client_id, None);
            answer::error(
                "invalid_grant",
                "The assertion is not a valid grant for this client",
            )
        }
        AuthError::TemporarilyUnavailable { retry_after } => {
            log.client("grant cannot be checked now", client_id, None);
            answer::unavailable(retry_after.map_or(5, |d| d.as_secs()))
        }
        AuthError::KeysUnavailable { .. } => {
            log.client("the org's keys are unavailable", client_id, None);
            answer::unavailable(5)
        }
        other => {
            log.client(&other.to_string(), client_id, None);
            answer::error(
                "invalid_grant",
                "The assertion is not a valid grant for this client",
            )
        }
    })
}

/// The token's audience: the grant's `resource` (each one served here), else the first
/// resource configured.
fn resources(settings: &Settings, grant: &GrantClaims) -> Result<Value, &'static str> {
    if grant.resource.is_empty() {
        return Ok(Value::from(settings.resources[0].as_str()));
    }
    if !grant
        .resource
        .iter()
        .all(|r| settings.resources.contains(r))
    {
        return Err("the grant names a resource not served here");
    }
    Ok(match grant.resource.as_slice() {
        [one] => Value::from(one.as_str()),
        many => Value::from(many.to_vec()),
    })
}

/// The scopes granted (RFC 6749 §3.3): each one asked for must be in the grant (what the org
/// authorized) and among the client's allowed scopes, else `invalid_scope` (§5.2: "exceeds the
/// scope granted by the resource owner") — never silently narrowed; without `scope`, the
/// grant's scopes the client is allowed. An empty result is refused too.
fn scopes(
    grant: &GrantClaims,
    client: &GrantClient,
    requested: Option<&str>,
) -> Result<Vec<String>, &'static str> {
    let granted = grant.scopes();
    let allowed = |s: &str| granted.contains(&s) && client.allowed_scopes.iter().any(|a| a == s);
    let mut out: Vec<String> = Vec::new();
    match requested {
        Some(requested) => {
            for s in requested.split(' ').filter(|s| !s.is_empty()) {
                if !allowed(s) {
                    return Err(
                        "a requested scope is not in the grant or not allowed for the client",
                    );
                }
                if !out.iter().any(|o| o == s) {
                    out.push(s.to_owned());
                }
            }
        }
        None => out.extend(
            granted
                .iter()
                .filter(|s| allowed(s))
                .map(|s| (*s).to_owned()),
        ),
    }
    if out.is_empty() {
        return Err("no scope to grant: the grant and the client's allowed scopes share none");
    }
    Ok(out)
}

/// Signs and answers the access token (RFC 9068 §2.2; RFC 6749 §5.1, no refresh token).
async fn issue(
    settings: &Settings,
    identity: &Identity,
    client_id: &str,
    audience: Value,
    scopes: &[String],
) -> Response<Body> {
    let tenant = &*identity.tenant.id;
    let verifier = settings.oidc.verifier();
    let now = UnixTime::now(verifier.provider.clock.as_ref());
    let iat = i64::try_from(now.as_millis() / 1000).unwrap_or(i64::MAX);
    let lifetime = settings.token_lifetime.as_secs();
    let exp = iat.saturating_add(i64::try_from(lifetime).unwrap_or(i64::MAX));
    let scope = scopes.join(" ");
    let claims = json!({
        "iss": settings.issuer,
        "sub": identity.claims.sub,
        "aud": audience,
        "client_id": client_id,
        "tenant": tenant,
        "scope": scope,
        "jti": token_id(tenant, identity.claims.jti.as_deref().unwrap_or("")),
        "iat": iat,
        "exp": exp,
    });
    let Value::Object(claims) = claims else {
        return answer::server_error();
    };
    let claims: Map<String, Value> = claims;
    match settings.signer.sign(ACCESS_TOKEN_TYP, &claims).await {
        Ok(token) => {
            tracing::info!(
                client = client_id,
                tenant,
                scope,
                "access token issued for a grant"
            );
            answer::json(
                StatusCode::OK,
                &json!({
                    "access_token": token,
                    "token_type": "Bearer",
                    "expires_in": lifetime,
                    "scope": scope,
                }),
            )
        }
        Err(e) => {
            tracing::error!(client = client_id, tenant, error = %e, "access token not signed");
            answer::server_error()
        }
    }
}

/// A token's `jti`: unique because the grant's own `jti` is used once per tenant.
fn token_id(tenant: &str, grant_jti: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update((tenant.len() as u64).to_be_bytes());
    hasher.update(tenant.as_bytes());
    hasher.update(grant_jti.as_bytes());
    URL_SAFE_NO_PAD.encode(&hasher.finalize()[..18])
}
