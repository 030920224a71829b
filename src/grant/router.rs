//! The axum convenience (feature `axum`): the token endpoint, the metadata document and the
//! key set at their paths.

use axum::Router;
use axum::routing::get;
use http::HeaderValue;
use http::header::{CACHE_CONTROL, CONTENT_TYPE};

use super::config::JwtBearerGrant;
use super::metadata;

impl JwtBearerGrant {
    /// The token endpoint, the metadata (RFC 8414 §3.1 `/.well-known/oauth-authorization-server`
    /// and `/.well-known/openid-configuration` under the issuer's path) and the key set, to
    /// merge into the app's router served at the issuer's host (feature `axum`). Put it outside
    /// any authentication layer: clients authenticate to the token endpoint themselves.
    pub fn router<S>(&self) -> Router<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        let issuer_path = url::Url::parse(&self.settings.issuer)
            .map(|u| u.path().to_owned())
            .unwrap_or_default();
        let document = json_response(self.metadata().to_string());
        let mut router = Router::new().route_service(&self.settings.token_path, self.service());
        for path in metadata::paths(&issuer_path) {
            let document = document.clone();
            router = router.route(&path, get(move || async move { document }));
        }
        let settings = std::sync::Arc::clone(&self.settings);
        router.route(
            &self.settings.jwks_path,
            get(move || async move { json_response(settings.signer.jwks().to_string()) }),
        )
    }
}

/// A JSON document that caches may keep for a few minutes.
fn json_response(body: String) -> ([(http::HeaderName, HeaderValue); 2], String) {
    (
        [
            (CONTENT_TYPE, HeaderValue::from_static("application/json")),
            (CACHE_CONTROL, HeaderValue::from_static("max-age=300")),
        ],
        body,
    )
}
