//! Browser sign-in: the login, callback and logout routes, the short-lived login cookie and the
//! encrypted session cookie (feature `login`, on by default).
//!
//! Make a [`Login`] from an [`OktaOidc`](crate::OktaOidc) and a [`LoginConfig`], merge
//! [`Login::router`] into the app, and put [`Login::layer`] (or
//! [`OktaOidcLayer::sessions`](crate::OktaOidcLayer::sessions)) on the routes that accept the
//! session cookie: handlers get the same [`Claims`](crate::Claims) as with a bearer token.
//! Nothing in the core imports this module.
//!
//! Sessions are stateless: everything lives in the encrypted cookie, so any number of app
//! instances behind a load balancer share sessions by sharing the session secret.

mod callback;
pub(crate) mod config;
mod cookies;
mod csrf;
pub(crate) mod handle;
mod logout;
mod page;
mod pending;
mod request;
mod router;
pub(crate) mod seal;
pub(crate) mod session;
mod start;

pub use self::config::LoginConfig;
pub use self::handle::Login;
