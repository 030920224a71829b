//! The layer rows' service and request, shared by `benches/validation.rs` and
//! `benches/memory.rs`: a trivial inner service, and a request with the token as its bearer.
#![allow(dead_code)]

use std::convert::Infallible;

use axum::body::Body;
use http::{HeaderValue, Request, Response, header::AUTHORIZATION};

/// An inner service that answers 200 with an empty body.
pub fn inner() -> impl tower::Service<
    Request<Body>,
    Response = Response<Body>,
    Error = Infallible,
    Future = impl Future<Output = Result<Response<Body>, Infallible>> + Send,
> + Copy {
    tower::service_fn(|_req: Request<Body>| async {
        Ok::<_, Infallible>(Response::new(Body::empty()))
    })
}

/// A maker of `GET /api/me` requests with `Authorization: Bearer <token>`.
pub fn bearer_request(token: &str) -> impl Fn() -> Request<Body> + Clone {
    let auth = HeaderValue::from_str(&format!("Bearer {token}")).expect("header");
    move || {
        Request::builder()
            .uri("/api/me")
            .header(AUTHORIZATION, auth.clone())
            .body(Body::empty())
            .expect("request")
    }
}
