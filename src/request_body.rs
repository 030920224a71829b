//! A request body read whole within a size bound: what the endpoints that take a small form or
//! JSON body (the logout endpoints, the token endpoint of `grant/`) share.

use std::future::poll_fn;

use bytes::{Buf, BufMut, Bytes, BytesMut};

/// The body, or `None` when it is larger than `max` bytes or cannot be read.
pub(crate) async fn read_limited<B: http_body::Body>(body: B, max: usize) -> Option<Bytes> {
    let mut body = std::pin::pin!(body);
    let mut buffer = BytesMut::new();
    while let Some(frame) = poll_fn(|cx| body.as_mut().poll_frame(cx)).await {
        let Ok(data) = frame.ok()?.into_data() else {
            continue;
        };
        if buffer.len() + data.remaining() > max {
            return None;
        }
        buffer.put(data);
    }
    Some(buffer.freeze())
}
