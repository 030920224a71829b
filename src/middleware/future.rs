//! The response future of the middleware services.

use std::future::Future;
use std::pin::Pin;

use axum_core::response::Response;

/// The response future of [`OktaOidcService`](super::layer::OktaOidcService) and
/// [`RequireScopesService`](super::scopes::RequireScopesService).
pub type ResponseFuture<E> = Pin<Box<dyn Future<Output = Result<Response, E>> + Send>>;
