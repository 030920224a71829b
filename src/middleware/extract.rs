//! Extractors: `Claims<T>` and `Option<Claims<T>>`.

use std::fmt;

use axum_core::extract::{FromRequestParts, OptionalFromRequestParts};
use axum_core::response::{IntoResponse, Response};
use http::StatusCode;
use http::request::Parts;
use serde::de::DeserializeOwned;

use super::credential::AuthContext;
use crate::claims::Claims;
use crate::error::{AuthError, TokenError};

/// Why [`Claims`] could not be extracted.
#[derive(Debug)]
#[non_exhaustive]
pub enum ClaimsRejection {
    /// `OktaOidcLayer` is not installed on this route: a server bug, answered with 500.
    MissingLayer,
    /// The layer let the request through without an identity (optional mode): 401.
    Unauthenticated,
    /// The identity's claims do not fit the requested type `T`: 401 `invalid_token`.
    ClaimsShape(serde_json::Error),
}

impl fmt::Display for ClaimsRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClaimsRejection::MissingLayer => f.write_str(
                "Claims extractor used on a route without OktaOidcLayer: add .layer(OktaOidcLayer::new(oidc))",
            ),
            ClaimsRejection::Unauthenticated => f.write_str("request is not authenticated"),
            ClaimsRejection::ClaimsShape(e) => {
                write!(f, "claims do not fit the requested type: {e}")
            }
        }
    }
}

impl std::error::Error for ClaimsRejection {}

impl IntoResponse for ClaimsRejection {
    fn into_response(self) -> Response {
        match self {
            ClaimsRejection::MissingLayer => {
                tracing::error!("{self}");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "authentication is not configured on this route",
                )
                    .into_response()
            }
            ClaimsRejection::Unauthenticated => AuthError::MissingCredential.into_response(),
            ClaimsRejection::ClaimsShape(e) => {
                tracing::debug!(error = %e, "claims do not fit the handler's type");
                AuthError::InvalidToken(TokenError::ClaimsShape).into_response()
            }
        }
    }
}

impl<T: DeserializeOwned> Claims<T> {
    /// The claims the layer left in a request's extensions, for services that are not axum
    /// handlers (a `tower::service_fn`, a hyper service).
    ///
    /// ```
    /// use okta_oidc::Claims;
    ///
    /// async fn handle(request: http::Request<String>) -> Result<http::Response<String>, std::convert::Infallible> {
    ///     let body = match Claims::<()>::from_extensions(request.extensions()) {
    ///         Ok(claims) => format!("hello {}", claims.sub),
    ///         Err(rejection) => rejection.to_string(),
    ///     };
    ///     Ok(http::Response::new(body))
    /// }
    /// # let _ = tower::service_fn(handle);
    /// ```
    pub fn from_extensions(extensions: &http::Extensions) -> Result<Self, ClaimsRejection> {
        let identity = extensions
            .get::<AuthContext>()
            .ok_or(ClaimsRejection::MissingLayer)?
            .identity
            .clone()
            .ok_or(ClaimsRejection::Unauthenticated)?;
        Claims::from_identity(identity).map_err(ClaimsRejection::ClaimsShape)
    }
}

impl<S, T> FromRequestParts<S> for Claims<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Send + Sync + 'static,
{
    type Rejection = ClaimsRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Claims::from_extensions(&parts.extensions)
    }
}

impl<S, T> OptionalFromRequestParts<S> for Claims<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Send + Sync + 'static,
{
    type Rejection = ClaimsRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        match Claims::from_extensions(&parts.extensions) {
            Err(ClaimsRejection::Unauthenticated) => Ok(None),
            other => other.map(Some),
        }
    }
}
