//! [`ResponseFuture`]: the response future of [`OktaOidcService`](crate::OktaOidcService).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use futures_util::future::BoxFuture;
use http::{Request, Response};
use pin_project_lite::pin_project;
use tower_service::Service;

use super::body::ResponseBody;
use super::decide::{Additions, Decision};

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
        Calling { #[pin] future: F, additions: Additions },
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
                additions: Additions::default(),
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
                        Decision::Proceed(request, additions) => {
                            let Some(mut service) = this.service.take() else {
                                unreachable!("an authenticating future holds its service")
                            };
                            let future = service.call(request);
                            this.state.set(State::Calling { future, additions });
                        }
                        Decision::Answer(response) => {
                            return Poll::Ready(Ok(response.map(ResponseBody::written)));
                        }
                    }
                }
                StateProj::Calling { future, additions } => {
                    let mut response = ready!(future.poll(cx))?;
                    std::mem::take(additions).apply(response.headers_mut());
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
