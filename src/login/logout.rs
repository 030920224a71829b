//! `GET|POST /auth/logout`: ends the session — revoked in the revocation store, so a copy of
//! the cookie, or the ID token sent as `id_token_hint` (by `jti`, `sid` and digest: with or
//! without `jti`), is refused afterwards on every instance — and sends the browser to the provider's `end_session_endpoint` with
//! `id_token_hint`; for a request from the app itself: any other gets a page with a sign-out
//! button (a link on another site cannot sign the user out).

use axum::response::Response;
use http::request::Parts;

use super::config::LoginSettings;
use super::csrf;
use super::handle::{Login, provider};
use super::page::{confirm_logout, redirect};
use super::seal;
use super::session::{self, SessionData};
use crate::provider::fetch::check_secure_url;
use crate::store::{Revocation, RevocationKind, token_digest};
use crate::telemetry::metrics;
use crate::time::UnixTime;

pub(crate) async fn logout(ctx: Login, parts: Parts) -> Response {
    let settings = &ctx.settings;
    if !csrf::is_same_origin(&parts.headers, &settings.origin) {
        return confirm(settings, &parts);
    }
    let data = session::read(settings, &parts.headers);
    let clear = session::clear(settings, &parts.headers);
    let Some(data) = data else {
        tracing::info!("logout without session");
        return redirect(&settings.post_logout_redirect_uri, clear);
    };
    revoke(&ctx, &data).await;
    let tenant = ctx
        .oidc
        .directory()
        .tenant_by_id(&data.tenant_id)
        .await
        .ok()
        .flatten();
    let endpoint = match &tenant {
        Some(t) => match provider(&ctx.oidc, t).await {
            Ok((_, meta)) => meta
                .end_session_endpoint
                .as_deref()
                .and_then(|e| check_secure_url(e).ok()),
            Err(f) => {
                tracing::warn!(reason = %f.reason, "logout: provider unavailable, local logout");
                None
            }
        },
        None => None,
    };
    let Some(mut url) = endpoint else {
        tracing::info!(tenant = &*data.tenant_id, "local logout");
        return redirect(&settings.post_logout_redirect_uri, clear);
    };
    let logout_state = seal::random_token(16).unwrap_or_default();
    url.query_pairs_mut()
        .append_pair("id_token_hint", &data.id_token)
        .append_pair(
            "post_logout_redirect_uri",
            &settings.post_logout_redirect_uri,
        )
        .append_pair("state", &logout_state);
    tracing::info!(
        tenant = &*data.tenant_id,
        "logout: ending the provider session"
    );
    redirect(url.as_str(), clear)
}

/// The sign-out page for a logout that does not come from the app: `200` for a `GET` (a link
/// followed), `403` for anything else (a form of another site).
fn confirm(settings: &LoginSettings, parts: &Parts) -> Response {
    tracing::info!("logout from another origin: asking the user to confirm");
    let status = if parts.method == http::Method::GET {
        http::StatusCode::OK
    } else {
        http::StatusCode::FORBIDDEN
    };
    confirm_logout(status, &settings.route("logout"), &settings.home())
}

/// Revokes the session (by its id, until its absolute end) and its ID token — by `jti`, and by
/// its digest (an ID token without `jti` is a bearer too), until its `exp` — and the provider
/// session it came from (`sid`: every credential of it issued before now, user-wide for the
/// revocation TTL). A store that cannot record them is logged: the browser is signed out all
/// the same, and this instance refuses them at once.
async fn revoke(ctx: &Login, data: &SessionData) {
    let settings = &ctx.settings;
    let verifier = ctx.oidc.verifier();
    let now = UnixTime::now(&*ctx.oidc.provider().clock);
    let session_end = data.signed_in_at.after(settings.session_lifetime);
    let tenant = data.tenant_id.as_str();
    let mut revocations = Vec::new();
    if !data.session_id.is_empty() {
        revocations.push(Revocation::new(
            RevocationKind::Session,
            tenant,
            &data.session_id,
            u64::MAX,
            session_end.as_millis(),
        ));
    }
    let claims = session::claims_of(data).unwrap_or_default();
    let token_end = claims
        .get("exp")
        .and_then(serde_json::Value::as_i64)
        .map_or(session_end, UnixTime::from_secs)
        .after(verifier.options.leeway)
        .max(now)
        .as_millis();
    let one_token = |kind, value: &str| Revocation::new(kind, tenant, value, u64::MAX, token_end);
    if let Some(jti) = claims.get("jti").and_then(|v| v.as_str()) {
        revocations.push(one_token(RevocationKind::TokenId, jti));
    }
    if !data.id_token.is_empty() {
        let digest = token_digest(&data.id_token);
        revocations.push(one_token(RevocationKind::TokenDigest, &digest));
    }
    if let Some(sid) = claims.get("sid").and_then(|v| v.as_str())
        && !sid.is_empty()
    {
        let sid_wide = verifier
            .revocations
            .user_wide(RevocationKind::Sid, tenant, sid, now);
        revocations.push(sid_wide);
    }
    let mut recorded = false;
    for revocation in &revocations {
        match verifier.revocations.record(revocation).await {
            Ok(()) => recorded = true,
            Err(e) => tracing::error!(
                tenant = &*data.tenant_id,
                kind = ?revocation.kind,
                error = %e,
                "logout: the revocation could not be shared with other instances"
            ),
        }
    }
    if recorded {
        metrics::revocation("rp_logout");
    }
}
