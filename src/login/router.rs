//! The login routes, to merge into the application's router.

use axum::Router;
use axum::routing::get;
use http::request::Parts;

use super::handle::Login;
use super::{callback, logout, start};

impl Login {
    /// The login, callback and logout routes (default `/auth/login`, `/auth/callback`,
    /// `/auth/logout`), to merge into the app's router.
    ///
    /// - `GET /auth/login`: starts a login. The tenant comes from `?tenant=ID`, from `?iss=`
    ///   (login initiated by Okta: matched exactly against registered tenants, else 400 without
    ///   any network call; `login_hint` is passed on, `target_link_uri` honoured when
    ///   same-origin), from the [resolver](crate::OktaOidcBuilder::tenant_resolver), or is the only
    ///   registered tenant. `?return_to=/path` says where to go after login (same origin only).
    /// - `GET /auth/callback`: completes it and sets the session cookie.
    /// - `GET|POST /auth/logout`: ends the session, then signs out at the provider.
    ///
    /// See [`Login`] for a complete example.
    pub fn router<S>(&self) -> Router<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        let settings = &self.settings;
        let (c1, c2, c3) = (self.clone(), self.clone(), self.clone());
        Router::new()
            .route(
                &settings.route("login"),
                get(move |parts: Parts| {
                    let ctx = c1.clone();
                    async move { start::login(ctx, parts).await }
                }),
            )
            .route(
                &settings.route("callback"),
                get(move |parts: Parts| {
                    let ctx = c2.clone();
                    async move { callback::callback(ctx, parts).await }
                }),
            )
            .route(
                &settings.route("logout"),
                get({
                    let ctx = c3.clone();
                    move |parts: Parts| {
                        let ctx = ctx.clone();
                        async move { logout::logout(ctx, parts).await }
                    }
                })
                .post(move |parts: Parts| {
                    let ctx = c3.clone();
                    async move { logout::logout(ctx, parts).await }
                }),
            )
    }
}
