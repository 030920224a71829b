//! Browser sign-in: the login, callback and logout routes, the short-lived login cookie and the
//! encrypted session cookie (feature `login`, on by default).
//!
//! Configure it once with [`OktaOidcBuilder::login`](crate::OktaOidcBuilder::login), merge
//! [`OktaOidc::login_router`] into the app, and put [`OktaOidcLayer`](crate::OktaOidcLayer) on
//! the routes: the layer accepts the session cookie as a credential, and handlers get the same
//! [`Claims`](crate::Claims) as with a bearer token.
//!
//! Sessions are stateless: everything lives in the encrypted cookie, so any number of app
//! instances behind a load balancer share sessions by sharing the session secret.

mod callback;
pub(crate) mod config;
mod context;
mod cookies;
mod logout;
mod page;
mod pending;
mod request;
pub(crate) mod seal;
pub(crate) mod session;
mod start;

use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use http::request::Parts;

use crate::handle::OktaOidc;

pub use self::config::LoginConfig;

impl OktaOidc {
    /// The login, callback and logout routes (default `/auth/login`, `/auth/callback`,
    /// `/auth/logout`), to merge into the app's router.
    ///
    /// - `GET /auth/login`: starts a login. The tenant comes from `?tenant=ID`, from `?iss=`
    ///   (login initiated by Okta: matched exactly against registered tenants, else 400 without
    ///   any network call; `login_hint` is passed on, `target_link_uri` honoured when
    ///   same-origin), from the [resolver](LoginConfig::tenant_resolver), or is the only
    ///   registered tenant. `?return_to=/path` says where to go after login (same origin only).
    /// - `GET /auth/callback`: completes it and sets the session cookie.
    /// - `GET|POST /auth/logout`: ends the session, then signs out at the provider.
    ///
    /// Without [`OktaOidcBuilder::login`](crate::OktaOidcBuilder::login) every route answers 500 and logs why.
    ///
    /// ```
    /// use axum::{Router, routing::get};
    /// use okta_oidc::{Claims, LoginConfig, OktaOidc, OktaOidcLayer, Tenant};
    ///
    /// # fn app() -> Result<Router, okta_oidc::ConfigError> {
    /// let oidc = OktaOidc::builder()
    ///     .tenant(Tenant::new("acme", "https://acme.okta.com").client("0oa1acme", "secret"))
    ///     .login(LoginConfig::new("https://app.example.com").session_secret([7u8; 32]))
    ///     .build_lazy()?;
    /// let pages = Router::new()
    ///     .route("/profile", get(|claims: Claims| async move { format!("Hello {:?}", claims.name) }))
    ///     .layer(OktaOidcLayer::new(oidc.clone()).redirect_to_login());
    /// let app = Router::new().merge(pages).merge(oidc.login_router());
    /// # Ok(app) }
    /// ```
    pub fn login_router<S>(&self) -> Router<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        let Some(state) = self.inner.login.clone() else {
            tracing::error!("login_router used without OktaOidcBuilder::login");
            return Router::new().route(
                "/auth/{*rest}",
                get(|| async {
                    page::error(
                        http::StatusCode::INTERNAL_SERVER_ERROR,
                        "Sign-in is not configured.",
                    )
                }),
            );
        };
        let ctx = context::Ctx {
            oidc: self.clone(),
            state: Arc::clone(&state),
        };
        let (c1, c2, c3) = (ctx.clone(), ctx.clone(), ctx);
        Router::new()
            .route(
                &state.route("login"),
                get(move |parts: Parts| {
                    let ctx = c1.clone();
                    async move { start::login(ctx, parts).await }
                }),
            )
            .route(
                &state.route("callback"),
                get(move |parts: Parts| {
                    let ctx = c2.clone();
                    async move { callback::callback(ctx, parts).await }
                }),
            )
            .route(
                &state.route("logout"),
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
