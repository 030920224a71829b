//! `GET|POST /auth/logout`: ends the session and sends the browser to the provider's
//! `end_session_endpoint` with `id_token_hint` — for a request from the app itself; any other
//! gets a page with a sign-out button (a link on another site cannot sign the user out).

use axum::response::Response;
use http::request::Parts;

use super::config::LoginSettings;
use super::csrf;
use super::handle::{Login, provider};
use super::page::{confirm_logout, redirect};
use super::seal;
use super::session;
use crate::provider::fetch::check_secure_url;

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
        tracing::info!(tenant = %data.tenant_id, "local logout");
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
    tracing::info!(tenant = %data.tenant_id, "logout: ending the provider session");
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
