//! The doctor's calls: one request through the runtime's fetcher (its client, no redirects,
//! bounded body), under the diagnosis's per-call timeout, with the cause of a missing answer.

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, StatusCode};

use crate::error::LoadError;
use crate::provider::fetch::{Fetcher, Unreachable, read_limited};

/// An HTTP answer, whatever its status.
#[derive(Debug)]
pub(super) struct Reply {
    pub(super) status: StatusCode,
    pub(super) headers: HeaderMap,
    /// The body, or why it could not be read (too large, cut).
    pub(super) body: Result<Bytes, LoadError>,
}

impl Reply {
    /// A header as text.
    pub(super) fn header(&self, name: http::HeaderName) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Sends `request`, reads at most the fetcher's body limit, all within `timeout`.
pub(super) async fn send(
    fetcher: &Fetcher,
    request: reqwest::RequestBuilder,
    timeout: Duration,
) -> Result<Reply, Unreachable> {
    let call = async {
        let response = request.send().await.map_err(|e| Unreachable::of(&e))?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = read_limited(response, fetcher.max_body).await;
        Ok(Reply {
            status,
            headers,
            body,
        })
    };
    tokio::time::timeout(timeout, call)
        .await
        .unwrap_or(Err(Unreachable::Timeout))
}

/// Runs `call` within `timeout`; `None` when it took longer.
pub(super) async fn bounded<T>(timeout: Duration, call: impl Future<Output = T>) -> Option<T> {
    tokio::time::timeout(timeout, call).await.ok()
}
