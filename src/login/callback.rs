//! `GET /auth/callback`: the login cookie by `state`, the tenant bound in it, the code exchange,
//! the ID token's checks, userinfo, and the session cookie.

use std::sync::Arc;

use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::header::AUTHORIZATION;
use http::request::Parts;
use http::{HeaderValue, StatusCode};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::cookies;
use super::handle::{Login, provider};
use super::page::{Failure, redirect};
use super::pending::{LoginData, is_state_charset, login_cookie_name};
use super::request::Query;
use super::seal::{self, Purpose};
use super::session::{self, SessionData};
use crate::error::{AuthError, TokenError};
use crate::provider::discovery::ProviderMetadata;
use crate::provider::fetch::{describe, read_limited};
use crate::tenant::config::Tenant;
use crate::time::now_millis;
use crate::verify::Expect;

pub(crate) async fn callback(ctx: Login, parts: Parts) -> Response {
    let settings = &ctx.settings;
    let q = Query::of(&parts);
    // Whatever happens next, the login cookie of this state is used up.
    let param_state = q
        .one("state")
        .ok()
        .flatten()
        .filter(|s| is_state_charset(s));
    let cookie_name = param_state.and_then(login_cookie_name);
    let clear: Vec<HeaderValue> = cookie_name
        .as_deref()
        .and_then(|n| cookies::clear(&settings.attrs, n, &settings.route("callback")))
        .into_iter()
        .collect();
    let login = cookie_name.as_deref().and_then(|name| {
        let sealed = cookies::get(&parts.headers, name)?;
        let json = settings
            .keys
            .open(Purpose::Login, name.as_bytes(), sealed)?;
        let data: LoginData = serde_json::from_slice(&json).ok()?;
        let wanted = param_state?;
        seal::constant_time_eq(data.s.as_bytes(), wanted.as_bytes()).then_some(data)
    });
    let tenant_id = login.as_ref().map(|l| l.t.clone());
    match finish(&ctx, &parts, &q, login).await {
        Ok((location, mut cookies)) => {
            let mut all = clear;
            all.append(&mut cookies);
            tracing::info!(
                tenant = tenant_id.as_deref().unwrap_or("-"),
                "login succeeded"
            );
            redirect(&location, all)
        }
        Err(failure) => failure.respond(tenant_id.as_deref(), clear),
    }
}

async fn finish(
    ctx: &Login,
    parts: &Parts,
    q: &Query,
    login: Option<LoginData>,
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
        ));
    }
    let Some(login) = login else {
        return Err(Failure::bad_request(
            "This sign-in has expired, was already completed, or was started elsewhere. \
             Start again from the home page.",
        ));
    };
    let now = now_millis(&*ctx.oidc.provider().clock);
    let login_ms = u64::try_from(settings.login_timeout.as_millis()).unwrap_or(u64::MAX);
    if now >= login.at.saturating_add(login_ms) {
        return Err(Failure::bad_request(
            "This sign-in has expired. Start again from the home page.",
        ));
    }
    // Single use, even if the cookie is replayed.
    let expiry = login.at.saturating_add(login_ms);
    if settings
        .used_states
        .get(&login.s)
        .is_some_and(|exp| exp > now)
    {
        return Err(Failure::bad_request(
            "This sign-in was already completed. Start again from the home page.",
        ));
    }
    settings.used_states.insert(login.s.clone(), expiry);

    let tenant = ctx
        .oidc
        .directory()
        .tenant_by_id(&login.t)
        .await
        .map_err(|e| {
            Failure::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "Sign-in is unavailable for a moment. Try again.",
                format!("tenant could not be loaded: {e}"),
            )
        })?
        .filter(|t| *t.issuer == login.iss && t.client_id.as_deref() == Some(&*login.cid))
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
    let code = q
        .one("code")?
        .ok_or_else(|| Failure::bad_request("The identity provider sent no code."))?;
    let tokens = exchange(ctx, &tenant, &meta, code, &login.v).await?;
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
        &login.n,
        tokens.access_token.as_deref(),
    )
    .await
    .map_err(|e| {
        Failure::new(
            StatusCode::UNAUTHORIZED,
            "The identity provider's answer did not pass our checks.",
            format!("ID token rejected: {e}"),
        )
    })?;
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
        t: tenant.id.to_string(),
        iss: tenant.issuer.to_string(),
        cid: login.cid.clone(),
        idt: id_token.to_owned(),
        ui: additions,
        iat: now,
        seen: now,
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
    Ok((login.r, cookies))
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

/// Exchanges the code (client_secret_basic, or client_secret_post when the provider only
/// offers that); with two secrets, retries with the second on `invalid_client`.
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
    let client_id = tenant.client_id.as_deref().unwrap_or_default();
    let methods = meta.token_endpoint_auth_methods_supported.as_deref();
    let offers = |m: &str| methods.is_some_and(|ms| ms.iter().any(|x| x == m));
    let use_post =
        methods.is_some() && !offers("client_secret_basic") && offers("client_secret_post");
    if tenant.secrets.is_empty() {
        return Err(Failure::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Sign-in is not configured for this organization.",
            "tenant has no client secret",
        ));
    }
    let fetcher = &ctx.oidc.provider().fetcher;
    let count = tenant.secrets.len();
    for (i, secret) in tenant.secrets.iter().enumerate() {
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", ctx.settings.redirect_uri.as_str()),
            ("code_verifier", verifier),
        ];
        let mut request = fetcher
            .client
            .post(endpoint)
            .header(http::header::ACCEPT, "application/json");
        if use_post {
            form.push(("client_id", client_id));
            form.push(("client_secret", secret.expose()));
        } else {
            let enc =
                |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
            let basic = STANDARD.encode(format!("{}:{}", enc(client_id), enc(secret.expose())));
            request = request.header(AUTHORIZATION, format!("Basic {basic}"));
        }
        let response = request
            .form(&form)
            .send()
            .await
            .map_err(|e| provider_error(format!("token request: {}", describe(e))))?;
        let status = response.status();
        let body = read_limited(response, fetcher.max_body)
            .await
            .map_err(|e| provider_error(format!("token response: {e}")))?;
        if status.is_success() {
            return serde_json::from_slice(&body)
                .map_err(|_| provider_error("token response is not JSON".into()));
        }
        let error = serde_json::from_slice::<OAuthError>(&body)
            .map(|e| e.error)
            .unwrap_or_default();
        let error: String = error
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .take(64)
            .collect();
        if error == "invalid_client" && i + 1 < count {
            tracing::info!(tenant = %tenant.id, "client secret refused: trying the other one");
            continue;
        }
        return Err(provider_error(format!(
            "token endpoint answered {} error={error}",
            status.as_u16()
        )));
    }
    Err(provider_error("no client secret accepted".into()))
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
    let response = fetcher
        .client
        .get(endpoint)
        .header(http::header::ACCEPT, "application/json")
        .bearer_auth(access_token)
        .send()
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
