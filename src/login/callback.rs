//! `GET /auth/callback`: the login cookie by `state`, the tenant bound in it, the code exchange,
//! the ID token's checks, userinfo, and the session cookie.

use std::sync::Arc;
use std::time::Duration;

use axum::response::Response;
use http::request::Parts;
use http::{HeaderValue, StatusCode};
use serde::Deserialize;
use serde_json::{Map, Value};
use subtle::ConstantTimeEq;

use super::cookies;
use super::handle::{Login, provider};
use super::page::{Failure, redirect};
use super::pending::{self, PendingLogin, is_state_charset, login_cookie_name};
use super::request::Query;
use super::seal;
use super::session::{self, SessionData};
use crate::error::{AuthError, TokenError};
use crate::provider::call_span::{CallKind, send};
use crate::provider::client_auth::{Client, ClientAuthMethod, PostError, post_form};
use crate::provider::discovery::ProviderMetadata;
use crate::provider::fetch::{describe, read_limited};
use crate::telemetry::metrics;
use crate::tenant::config::Tenant;
use crate::time::UnixTime;
use crate::verify::Expect;

/// The kind of single-use marker of login states.
const STATE_MARKER: &str = crate::store::LOGIN_STATE;

pub(crate) async fn callback(ctx: Login, parts: Parts) -> Response {
    let settings = &ctx.settings;
    let q = Query::of(&parts);
    // Whatever happens next, the login cookie of this state is used up.
    let param_state = q
        .one("state")
        .ok()
        .flatten()
        .filter(|s| is_state_charset(s));
    let cookie_name = param_state.and_then(|state| login_cookie_name(settings, state));
    let clear: Vec<HeaderValue> = cookie_name
        .as_deref()
        .and_then(|n| cookies::clear(&settings.attrs, n, &settings.login_path))
        .into_iter()
        .collect();
    let login = cookie_name.as_deref().and_then(|name| {
        let sealed = cookies::get(&parts.headers, name)?;
        let pending = pending::open(settings, name, sealed)?;
        let wanted = param_state?;
        bool::from(pending.state.as_bytes().ct_eq(wanted.as_bytes())).then_some(pending)
    });
    let tenant_id = login.as_ref().map(|l| l.tenant_id.clone());
    match finish(&ctx, &parts, &q, login).await {
        Ok((location, mut cookies)) => {
            let mut all = clear;
            all.append(&mut cookies);
            tracing::info!(
                tenant = tenant_id.as_deref().unwrap_or("-"),
                "login succeeded"
            );
            metrics::login("completed", "ok");
            redirect(&location, all)
        }
        Err(failure) => {
            // A refusal that may pass later keeps the login, so the same callback can be sent
            // again.
            let clear = if failure.retry_after.is_some() {
                Vec::new()
            } else {
                clear
            };
            failure.respond(tenant_id.as_deref(), &settings.home(), clear)
        }
    }
}

async fn finish(
    ctx: &Login,
    parts: &Parts,
    q: &Query,
    login: Option<PendingLogin>,
) -> Result<(String, Vec<HeaderValue>), Failure> {
    let settings = &ctx.settings;
    if let Some(error) = q.one("error")? {
        // The provider refused (the user denied, or a policy): say so, never redirect again.
        let code: String = error
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .take(64)
            .collect();
        let status = if code == "access_denied" {
            StatusCode::FORBIDDEN
        } else {
            StatusCode::BAD_REQUEST
        };
        return Err(Failure::new(
            status,
            "The identity provider did not sign you in (access denied or not allowed).",
            format!("provider returned error={code}"),
        )
        .reason("provider_denied"));
    }
    let Some(login) = login else {
        return Err(Failure::bad_request(
            "This sign-in has expired, was already completed, or was started elsewhere. \
             Start again from the home page.",
        )
        .reason("state"));
    };
    let now = UnixTime::now(&*ctx.oidc.provider().clock);
    let expiry = login.started_at.after(settings.login_timeout);
    if now >= expiry {
        return Err(Failure::bad_request(
            "This sign-in has expired. Start again from the home page.",
        )
        .reason("state"));
    }
    // A callback without a usable code spends nothing (no single-use marker).
    let code = q
        .one("code")?
        .filter(|code| is_code(code))
        .ok_or_else(|| Failure::bad_request("The identity provider sent no code."))?;
    // The code exchange is a call Okta counts against the org's `/token` limit, and anyone
    // can send a forged code: within the org's budget and the client's share of it, before
    // the state is used up (so the same callback can be retried once it is refused).
    let client = ctx.oidc.verifier().client_of(parts);
    let _exchange = ctx
        .exchanges
        .try_acquire(&login.issuer, client, now)
        .map_err(|retry| {
            Failure::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "Sign-in is busy. Try again in a moment.",
                format!(
                    "code exchange budget spent (retry in {} s)",
                    retry.as_secs()
                ),
            )
            .retry_after(retry)
        })?;
    // Single use, even if the cookie is replayed, on every instance (the revocation store).
    let revocations = &ctx.oidc.verifier().revocations;
    match revocations
        .mark_used(STATE_MARKER, &login.state, expiry.since(now))
        .await
    {
        Ok(true) => {}
        Ok(false) => {
            return Err(Failure::bad_request(
                "This sign-in was already completed. Start again from the home page.",
            )
            .reason("state"));
        }
        Err(e) => {
            return Err(Failure::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "Sign-in is unavailable for a moment. Try again.",
                format!("login state cannot be marked used: {e}"),
            ));
        }
    }

    let tenant = ctx
        .oidc
        .directory()
        .tenant_by_id(&login.tenant_id)
        .await
        .map_err(|e| {
            Failure::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "Sign-in is unavailable for a moment. Try again.",
                format!("tenant could not be loaded: {e}"),
            )
        })?
        .filter(|t| *t.issuer == login.issuer && t.client_id.as_deref() == Some(&*login.client_id))
        .ok_or_else(|| Failure::bad_request("This organization is no longer registered."))?;
    let (_, meta) = provider(&ctx.oidc, &tenant).await?;
    match q.one("iss")? {
        Some(iss) if iss != &*tenant.issuer => {
            return Err(Failure::bad_request(
                "The response came from another identity provider than the one the sign-in \
                 started with.",
            ));
        }
        None if meta.authorization_response_iss_parameter_supported == Some(true) => {
            return Err(Failure::bad_request(
                "The identity provider's response lacks its issuer.",
            ));
        }
        _ => {}
    }
    let tokens = exchange(ctx, &tenant, &meta, code, &login.pkce_verifier).await?;
    let id_token = tokens.id_token.as_deref().ok_or_else(|| {
        Failure::new(
            StatusCode::BAD_GATEWAY,
            "The identity provider's answer was not usable.",
            "token response has no id_token",
        )
    })?;
    let (sub, claims) = check_id_token(
        ctx,
        &tenant,
        id_token,
        &login.nonce,
        tokens.access_token.as_deref(),
    )
    .await
    .map_err(|e| match e.status() {
        // The keys could not be fetched: nothing wrong with the answer, sign in again later.
        StatusCode::SERVICE_UNAVAILABLE => Failure::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "Sign-in is unavailable for a moment. Start again from the home page.",
            format!("ID token could not be checked: {e}"),
        ),
        _ => Failure::new(
            StatusCode::UNAUTHORIZED,
            "The identity provider's answer did not pass our checks.",
            format!("ID token rejected: {e}"),
        ),
    })?;
    check_step_up(&login, &claims, now, ctx.oidc.verifier().options.leeway)?;
    let mut additions = None;
    if settings.userinfo
        && let (Some(endpoint), Some(access_token)) = (
            meta.userinfo_endpoint.as_deref(),
            tokens.access_token.as_deref(),
        )
    {
        let info = userinfo(ctx, endpoint, access_token).await?;
        if info.get("sub").and_then(Value::as_str) != Some(sub.as_str()) {
            return Err(Failure::new(
                StatusCode::UNAUTHORIZED,
                "The identity provider's answer did not pass our checks.",
                "userinfo sub differs from the ID token's",
            ));
        }
        let extra: Map<String, Value> = info
            .into_iter()
            .filter(|(k, _)| !claims.contains_key(k))
            .collect();
        additions = (!extra.is_empty()).then_some(extra);
    }
    let data = SessionData {
        tenant_id: tenant.id.to_string(),
        issuer: tenant.issuer.to_string(),
        client_id: login.client_id.clone(),
        id_token: id_token.to_owned(),
        userinfo: additions,
        signed_in_at: now,
        last_seen_at: now,
        session_id: seal::random_token(16).ok_or_else(|| {
            Failure::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Sign-in is unavailable.",
                "no random source",
            )
        })?,
    };
    let cookies = session::write(settings, &data, &parts.headers, now).map_err(|e| {
        Failure::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Your profile is too large to keep in a session cookie.",
            format!(
                "session of {} bytes exceeds {} cookies",
                e.0,
                session::MAX_CHUNKS
            ),
        )
    })?;
    Ok((login.return_to, cookies))
}

/// A step-up sign-in (`acr_values`, `max_age` asked of the provider): the ID token's `acr` is
/// one of those asked (OpenID Connect Core §3.1.2.1: the provider may not honour them, so the
/// client checks), and its `auth_time` is at most `max_age` old, allowing the clock leeway
/// (Core §3.1.2.1: with `max_age`, the ID token must carry `auth_time`; §3.1.3.7 step 13).
fn check_step_up(
    login: &PendingLogin,
    claims: &Map<String, Value>,
    now: UnixTime,
    leeway: Duration,
) -> Result<(), Failure> {
    let refused = |why: String| {
        Failure::new(
            StatusCode::UNAUTHORIZED,
            "The sign-in was not strong or recent enough for this page. Start again from the \
             home page.",
            why,
        )
        .reason("step_up")
    };
    if let Some(asked) = &login.acr_values {
        let acr = claims.get("acr").and_then(Value::as_str);
        if !acr.is_some_and(|acr| asked.split(' ').any(|v| v == acr)) {
            return Err(refused(format!(
                "ID token acr {} is none of those asked ({asked})",
                acr.unwrap_or("(none)")
            )));
        }
    }
    if let Some(max_age) = login.max_age {
        let Some(auth_time) = claims.get("auth_time").and_then(Value::as_i64) else {
            return Err(refused(
                "ID token has no auth_time, and max_age was asked".into(),
            ));
        };
        let now = now.as_secs();
        let allowed = i64::try_from(max_age.saturating_add(leeway.as_secs())).unwrap_or(i64::MAX);
        if now.saturating_sub(auth_time) > allowed {
            return Err(refused(format!(
                "ID token auth_time is {} s old, max_age {max_age} s was asked",
                now.saturating_sub(auth_time)
            )));
        }
    }
    Ok(())
}

/// Longest authorization code accepted (Okta's are 43 characters; other providers' up to a
/// few hundred).
const MAX_CODE_LEN: usize = 2048;

/// Whether `code` is a well-formed authorization code: 1 to [`MAX_CODE_LEN`] visible ASCII
/// characters (RFC 6749 §A.11, `VSCHAR` without the space).
fn is_code(code: &str) -> bool {
    (1..=MAX_CODE_LEN).contains(&code.len()) && code.bytes().all(|b| (0x21..=0x7e).contains(&b))
}

#[derive(Deserialize)]
struct TokenResponse {
    #[serde(default)]
    id_token: Option<String>,
    #[serde(default)]
    access_token: Option<String>,
}

#[derive(Deserialize)]
struct OAuthError {
    #[serde(default)]
    error: String,
}

fn provider_error(reason: String) -> Failure {
    Failure::new(
        StatusCode::BAD_GATEWAY,
        "The identity provider could not complete the sign-in. Start again from the home page.",
        reason,
    )
}

/// Exchanges the code at the token endpoint, authenticated as the tenant's client (see
/// `provider::client_auth`: basic or post, the second secret during a rotation).
async fn exchange(
    ctx: &Login,
    tenant: &Tenant,
    meta: &ProviderMetadata,
    code: &str,
    verifier: &str,
) -> Result<TokenResponse, Failure> {
    let endpoint = meta
        .token_endpoint
        .as_deref()
        .ok_or_else(|| provider_error("provider has no token_endpoint".into()))?;
    let client = Client {
        id: tenant.client_id.as_deref().unwrap_or_default(),
        secrets: &tenant.secrets,
        method: ClientAuthMethod::choose(meta.token_endpoint_auth_methods_supported.as_deref()),
        key: tenant.key.as_ref(),
    };
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", ctx.settings.redirect_uri.as_str()),
        ("code_verifier", verifier),
    ];
    let fetcher = &ctx.oidc.provider().fetcher;
    let answer = match post_form(
        CallKind::Token,
        fetcher,
        endpoint,
        &form,
        &client,
        fetcher.max_body,
    )
    .await
    {
        Ok(answer) => answer,
        Err(PostError::NoSecret) => {
            return Err(Failure::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Sign-in is not configured for this organization.",
                "tenant has no client secret",
            ));
        }
        Err(PostError::InvalidClient) => {
            return Err(provider_error("no client secret accepted".into()));
        }
        Err(PostError::Transport(e)) => return Err(provider_error(format!("token request: {e}"))),
    };
    if answer.status.is_success() {
        return serde_json::from_slice(&answer.body)
            .map_err(|_| provider_error("token response is not JSON".into()));
    }
    let error = serde_json::from_slice::<OAuthError>(&answer.body)
        .map(|e| e.error)
        .unwrap_or_default();
    let error: String = error
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .take(64)
        .collect();
    Err(provider_error(format!(
        "token endpoint answered {} error={error}",
        answer.status.as_u16()
    )))
}

/// The ID token through the one verification pipeline, with the login's expectations.
async fn check_id_token(
    ctx: &Login,
    tenant: &Arc<Tenant>,
    token: &str,
    nonce: &str,
    access_token: Option<&str>,
) -> Result<(String, Map<String, Value>), AuthError> {
    let expect = Expect::IdToken {
        tenant,
        nonce,
        access_token,
    };
    let identity = ctx.oidc.verifier().verify_jws(token, expect).await?;
    let raw: Map<String, Value> = serde_json::from_str(&identity.raw)
        .map_err(|_| TokenError::Malformed("payload is not a JSON object"))?;
    Ok((identity.claims.sub.clone(), raw))
}

async fn userinfo(
    ctx: &Login,
    endpoint: &str,
    access_token: &str,
) -> Result<Map<String, Value>, Failure> {
    let fetcher = &ctx.oidc.provider().fetcher;
    let request = fetcher
        .client
        .get(endpoint)
        .header(http::header::ACCEPT, "application/json")
        .bearer_auth(access_token);
    let response = send(CallKind::Userinfo, request)
        .await
        .map_err(|e| provider_error(format!("userinfo request: {}", describe(e))))?;
    let status = response.status();
    let body = read_limited(response, fetcher.max_body)
        .await
        .map_err(|e| provider_error(format!("userinfo response: {e}")))?;
    if !status.is_success() {
        return Err(provider_error(format!(
            "userinfo answered {}",
            status.as_u16()
        )));
    }
    serde_json::from_slice(&body)
        .map_err(|_| provider_error("userinfo is not a JSON object".into()))
}
