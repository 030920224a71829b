//! [`ResponseFuture`]: the response future of [`OktaOidcService`](crate::OktaOidcService).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use futures_util::future::BoxFuture;
use http::header::SET_COOKIE;
use http::{HeaderValue, Request, Response};
use pin_project_lite::pin_project;
use tower_service::Service;

use super::body::ResponseBody;
use super::cache_control::make_private;
use super::decide::Decision;

pin_project! {
    /// The response future of [`OktaOidcService`](crate::OktaOidcService): the inner service's
    /// future directly when the token was found in the verified-token cache; otherwise the
    /// authentication first, then the inner service (or the answer the layer wrote).
    pub struct ResponseFuture<S, B>
    where
        S: Service<Request<B>>,
    {
        #[pin]
        state: State<S::Future, B>,
        service: Option<S>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F, B> {
        Authenticating { decision: BoxFuture<'static, Decision<B>> },
        Calling { #[pin] future: F, set_cookies: Vec<HeaderValue> },
        Answered { response: Option<axum_core::response::Response> },
    }
}

impl<S, B> ResponseFuture<S, B>
where
    S: Service<Request<B>>,
{
    /// The inner service was called already (the fast path).
    pub(crate) fn calling(future: S::Future) -> Self {
        ResponseFuture {
            state: State::Calling {
                future,
                set_cookies: Vec::new(),
            },
            service: None,
        }
    }

    /// Authentication first; `service` (ready) is called after.
    pub(crate) fn authenticating(decision: BoxFuture<'static, Decision<B>>, service: S) -> Self {
        ResponseFuture {
            state: State::Authenticating { decision },
            service: Some(service),
        }
    }

    /// An answer known at once.
    pub(crate) fn answered(response: axum_core::response::Response) -> Self {
        ResponseFuture {
            state: State::Answered {
                response: Some(response),
            },
            service: None,
        }
    }
}

impl<S, B, R> Future for ResponseFuture<S, B>
where
    S: Service<Request<B>, Response = Response<R>>,
{
    type Output = Result<Response<ResponseBody<R>>, S::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            match this.state.as_mut().project() {
                StateProj::Authenticating { decision } => {
                    match ready!(decision.as_mut().poll(cx)) {
                        Decision::Proceed(request, set_cookies) => {
                            let Some(mut service) = this.service.take() else {
                                unreachable!("an authenticating future holds its service")
                            };
                            let future = service.call(request);
                            this.state.set(State::Calling {
                                future,
                                set_cookies,
                            });
                        }
                        Decision::Answer(response) => {
                            return Poll::Ready(Ok(response.map(ResponseBody::written)));
                        }
                    }
                }
                StateProj::Calling {
                    future,
                    set_cookies,
                } => {
                    let mut response = ready!(future.poll(cx))?;
                    if !set_cookies.is_empty() {
                        make_private(response.headers_mut());
                    }
                    for cookie in set_cookies.drain(..) {
                        response.headers_mut().append(SET_COOKIE, cookie);
                    }
                    return Poll::Ready(Ok(response.map(ResponseBody::inner)));
                }
                StateProj::Answered { response } => {
                    let Some(response) = response.take() else {
                        panic!("ResponseFuture polled after completion")
                    };
                    return Poll::Ready(Ok(response.map(ResponseBody::written)));
                }
            }
        }
    }
}
