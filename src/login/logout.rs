//! `GET|POST /auth/logout`: ends the session and sends the browser to the provider's
//! `end_session_endpoint` with `id_token_hint`.

use axum::response::Response;
use http::request::Parts;

use super::handle::{Login, provider};
use super::page::redirect;
use super::seal;
use super::session;
use crate::provider::fetch::check_secure_url;

pub(crate) async fn logout(ctx: Login, parts: Parts) -> Response {
    let settings = &ctx.settings;
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
