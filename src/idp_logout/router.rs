//! The axum convenience (feature `axum`): both endpoints at their configured paths.

use axum::Router;

use super::config::LogoutEndpoints;

impl LogoutEndpoints {
    /// Both endpoints at their configured paths, to merge into the app's router (feature
    /// `axum`). Put them outside any authentication layer: the identity provider calls them
    /// with its own credential, and outside CSRF checks (no browser, no cookie is involved).
    pub fn router<S>(&self) -> Router<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        Router::new()
            .route_service(
                &self.settings.universal_path,
                self.universal_logout_service(),
            )
            .route_service(
                &self.settings.backchannel_path,
                self.backchannel_logout_service(),
            )
    }
}
