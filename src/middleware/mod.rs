//! The Tower middleware: [`OktaOidcLayer`](layer::OktaOidcLayer) and its service,
//! [`RequireScopes`](scopes::RequireScopes), the RFC 6750 challenge rendering, the extractors
//! and their rejections.

pub(crate) mod body;
pub(crate) mod cache_control;
pub(crate) mod challenge;
pub(crate) mod credential;
pub(crate) mod decide;
pub(crate) mod extract;
pub(crate) mod future;
pub(crate) mod layer;
pub(crate) mod scopes;
pub(crate) mod service;
pub(crate) mod sessions;
pub(crate) mod step_up;
