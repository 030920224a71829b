//! The axum convenience (feature `axum`): the endpoints at their configured paths.

use axum::Router;

use super::config::LogoutEndpoints;

impl LogoutEndpoints {
    /// The endpoints at their configured paths (the Shared Signals one when configured), to merge into the app's router (feature
    /// `axum`). Put them outside any authentication layer: the identity provider calls them
    /// with its own credential, and outside CSRF checks (no browser, no cookie is involved).
    pub fn router<S>(&self) -> Router<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        let router = Router::new()
            .route_service(
                &self.settings.universal_path,
                self.universal_logout_service(),
            )
            .route_service(
                &self.settings.backchannel_path,
                self.backchannel_logout_service(),
            );
        match (&self.settings.ssf, self.ssf_events_service()) {
            (Some(ssf), Some(service)) => router.route_service(&ssf.path, service),
            _ => router,
        }
    }
}
