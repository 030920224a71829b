//! `GET /auth/login`: picks the tenant, makes `state`, `nonce` and the PKCE verifier, keeps them
//! in a sealed login cookie, and sends the browser to the provider.

use std::sync::Arc;

use axum::response::Response;
use http::StatusCode;
use http::request::Parts;

use super::config::LoginSettings;
use super::cookies;
use super::handle::{Login, provider};
use super::page::{Failure, redirect};
use super::pending::{self, MAX_RETURN_TO, PendingLogin, RANDOM_BYTES, login_cookie_name};
use super::request::Query;
use super::seal::{self, Purpose};
use crate::error::AuthError;
use crate::provider::fetch::check_secure_url;
use crate::telemetry::metrics;
use crate::tenant::config::Tenant;
use crate::time::UnixTime;

pub(crate) async fn login(ctx: Login, parts: Parts) -> Response {
    match start(&ctx, &parts).await {
        Ok(response) => {
            metrics::login("started", "ok");
            response
        }
        Err((failure, tenant)) => {
            failure.respond(tenant.as_deref(), &ctx.settings.home(), Vec::new())
        }
    }
}

/// The tenant of a login: the application's [`TenantResolver`](crate::TenantResolver) when it
/// names one for this request (and then `?tenant=` or `?iss=` naming another tenant is refused:
/// a login stays on the tenant of its host or path); else `?iss=` (a login started from the
/// Okta dashboard, OIDC Core §4), `?tenant=`, or the only tenant. Tenants known only to the
/// loader are loaded; an issuer nobody registered is never contacted.
async fn pick_tenant(ctx: &Login, parts: &Parts, q: &Query) -> Result<Arc<Tenant>, Failure> {
    let directory = ctx.oidc.directory();
    let by_id = q.one("tenant")?;
    let iss = q.one("iss")?;
    if directory.has_resolver() {
        let resolved = directory.resolve(parts).await.map_err(unavailable)?;
        if let Some(tenant) = resolved {
            return stays_on(tenant, by_id, iss);
        }
        if by_id.is_none() && iss.is_none() {
            return Err(Failure::bad_request("Unknown tenant."));
        }
    }
    if let Some(iss) = iss {
        let entry = match directory.entry_for_issuer(iss).await {
            Ok(entry) => entry,
            Err(AuthError::InvalidToken(_)) => {
                return Err(Failure::new(
                    StatusCode::BAD_REQUEST,
                    "This identity provider is not registered with this app.",
                    "unknown iss in login request",
                ));
            }
            Err(e) => return Err(unavailable(e)),
        };
        let mut candidates = entry
            .tenants
            .iter()
            .filter(|t| by_id.is_none_or(|id| *t.id == *id));
        return match (candidates.next(), candidates.next()) {
            (Some(t), None) => Ok(Arc::clone(t)),
            (None, _) => Err(Failure::bad_request(
                "The tenant does not belong to this identity provider.",
            )),
            (Some(_), Some(_)) => Err(Failure::bad_request(
                "Several app instances use this identity provider: add ?tenant= to the \
                 Initiate login URI.",
            )),
        };
    }
    if let Some(id) = by_id {
        return directory
            .tenant_named_by_request(id)
            .await
            .map_err(unavailable)?
            .ok_or_else(|| Failure::bad_request("Unknown tenant."));
    }
    let all = directory.registry.all();
    match all.as_slice() {
        [only] => Ok(Arc::clone(only)),
        _ => Err(Failure::bad_request(
            "Which organization? Start the sign-in with ?tenant= or from your Okta dashboard.",
        )),
    }
}

/// The resolver's tenant, when `?tenant=` and `?iss=` (if given) name it too.
fn stays_on(
    tenant: Arc<Tenant>,
    by_id: Option<&str>,
    iss: Option<&str>,
) -> Result<Arc<Tenant>, Failure> {
    let other_id = by_id.is_some_and(|id| *tenant.id != *id);
    let other_issuer = iss.is_some_and(|iss| *tenant.issuer != *iss);
    if other_id || other_issuer {
        return Err(Failure::new(
            StatusCode::BAD_REQUEST,
            "This sign-in names another organization than this address belongs to.",
            format!(
                "login for tenant {} names another tenant (?tenant= or ?iss=)",
                tenant.id
            ),
        ));
    }
    Ok(tenant)
}

fn unavailable(error: AuthError) -> Failure {
    Failure::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "Sign-in is unavailable for a moment. Try again.",
        format!("tenant could not be loaded: {error}"),
    )
}

/// Longest `acr_values` a sign-in asks for (a few class references).
const MAX_ACR_VALUES: usize = 256;

/// `?acr_values=` (space-separated authentication context class references, OpenID Connect
/// Core §3.1.2.1: visible ASCII) and `?max_age=` (seconds): what a step-up sign-in asks the
/// provider for, and what the callback then checks in the ID token.
fn step_up(q: &Query) -> Result<(Option<String>, Option<u64>), Failure> {
    let acr_values = match q.one("acr_values")? {
        Some(values)
            if values.len() <= MAX_ACR_VALUES
                && values
                    .bytes()
                    .all(|b| (0x21..=0x7e).contains(&b) || b == b' ')
                && values
                    .split(' ')
                    .all(|v| !v.is_empty() && !v.contains(['"', '\\'])) =>
        {
            Some(values.to_owned())
        }
        Some(_) => {
            return Err(Failure::bad_request(
                "acr_values is not a list of class references.",
            ));
        }
        None => None,
    };
    let max_age = match q.one("max_age")? {
        Some(age) => Some(
            age.parse::<u64>()
                .ok()
                .filter(|_| age.len() <= 10)
                .ok_or_else(|| Failure::bad_request("max_age must be a number of seconds."))?,
        ),
        None => None,
    };
    Ok((acr_values, max_age))
}

/// Where to go after login: `?return_to=` (a path of this app), a same-origin
/// `target_link_uri`, else the default. One longer than [`MAX_RETURN_TO`] gives the default:
/// the login cookie stays small.
fn pick_return_to(settings: &LoginSettings, q: &Query) -> Result<String, Failure> {
    let picked = explicit_return_to(settings, q)?;
    match picked {
        Some(path) if path.len() <= MAX_RETURN_TO => Ok(path),
        Some(_) => {
            tracing::debug!("return_to longer than {MAX_RETURN_TO} bytes: the default is used");
            Ok(settings.default_return_to.clone())
        }
        None => Ok(settings.default_return_to.clone()),
    }
}

fn explicit_return_to(settings: &LoginSettings, q: &Query) -> Result<Option<String>, Failure> {
    if let Some(r) = q.one("return_to")? {
        return settings
            .return_path(r)
            .map(|p| Some(p.to_owned()))
            .ok_or_else(|| Failure::bad_request("return_to must be a path of this app."));
    }
    if let Some(target) = q.one("target_link_uri")? {
        if let Ok(url) = url::Url::parse(target)
            && url.origin().ascii_serialization() == settings.origin
        {
            let mut path = url.path().to_owned();
            if let Some(query) = url.query() {
                path.push('?');
                path.push_str(query);
            }
            if let Some(p) = settings.return_path(&path) {
                return Ok(Some(p.to_owned()));
            }
        }
        tracing::debug!("target_link_uri ignored: not on this app's origin and path");
    }
    Ok(None)
}

async fn start(ctx: &Login, parts: &Parts) -> Result<Response, (Failure, Option<String>)> {
    let settings = &ctx.settings;
    let q = Query::of(parts);
    let tenant = pick_tenant(ctx, parts, &q).await.map_err(|f| (f, None))?;
    let tid = Some(tenant.id.to_string());
    let fail = |f: Failure| (f, tid.clone());
    let return_to = pick_return_to(settings, &q).map_err(fail)?;
    let login_hint = q.one("login_hint").map_err(fail)?;
    let (acr_values, max_age) = step_up(&q).map_err(fail)?;
    let client_id = tenant.client_id.as_deref().ok_or_else(|| {
        fail(Failure::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Sign-in is not configured for this organization.",
            "tenant has no client id",
        ))
    })?;
    let (_, meta) = provider(&ctx.oidc, &tenant).await.map_err(fail)?;
    let endpoint = meta
        .authorization_endpoint
        .as_deref()
        .and_then(|e| check_secure_url(e).ok())
        .ok_or_else(|| {
            fail(Failure::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "The identity provider is unavailable. Try again in a moment.",
                "provider has no usable authorization_endpoint",
            ))
        })?;
    let no_random = || {
        fail(Failure::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Sign-in is unavailable.",
            "no random source",
        ))
    };
    let state = seal::random_token(RANDOM_BYTES).ok_or_else(no_random)?;
    let nonce = seal::random_token(RANDOM_BYTES).ok_or_else(no_random)?;
    let pkce_verifier = seal::random_token(RANDOM_BYTES).ok_or_else(no_random)?;
    let challenge = seal::pkce_challenge(&pkce_verifier);
    let mut url = endpoint;
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", &settings.redirect_uri)
        .append_pair("scope", &settings.scope)
        .append_pair("state", &state)
        .append_pair("nonce", &nonce)
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    if let Some(hint) = login_hint {
        url.query_pairs_mut().append_pair("login_hint", hint);
    }
    if let Some(acr_values) = &acr_values {
        url.query_pairs_mut().append_pair("acr_values", acr_values);
    }
    if let Some(max_age) = max_age {
        url.query_pairs_mut()
            .append_pair("max_age", &max_age.to_string());
    }
    let now = UnixTime::now(&*ctx.oidc.provider().clock);
    let pending = PendingLogin {
        state: state.clone(),
        nonce,
        pkce_verifier,
        tenant_id: tenant.id.to_string(),
        issuer: tenant.issuer.to_string(),
        client_id: client_id.to_owned(),
        return_to,
        started_at: now,
        acr_values,
        max_age,
    };
    let name = login_cookie_name(settings, &state).ok_or_else(no_random)?;
    let json = serde_json::to_vec(&pending).map_err(|_| no_random())?;
    let sealed = settings
        .keys
        .seal(Purpose::Login, name.as_bytes(), &json)
        .ok_or_else(no_random)?;
    let mut set_cookies = pending::crowded_out(settings, &parts.headers, now);
    set_cookies.extend(cookies::set(
        &settings.attrs,
        &name,
        &sealed,
        &settings.login_path,
        Some(settings.login_timeout),
    ));
    tracing::info!(tenant = &*tenant.id, "login started");
    Ok(redirect(url.as_str(), set_cookies))
}
