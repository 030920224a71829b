//! Shared helpers for the integration tests: a real axum server on 127.0.0.1 in front of the
//! layer and a real reqwest client, or the same router called in process (`oneshot`) for
//! middleware behaviour; a log capture; a cookie jar.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, Once};

use axum::body::Body;
use axum::routing::get;
use axum::{Json, Router};
use http::header::AUTHORIZATION;
use http::{HeaderMap, Request, StatusCode};
use okta_oidc::testing::MockOkta;
use okta_oidc::{Claims, ManualClock, OktaOidc, OktaOidcBuilder, OktaOidcLayer, Tenant};

/// Serves `app` on an ephemeral loopback port; returns its base URL.
pub async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    format!("http://{addr}")
}

/// The API under test: `/api/me` answers the claims as JSON.
pub fn api(layer: OktaOidcLayer) -> Router {
    Router::new()
        .route("/api/me", get(|claims: Claims| async move { Json(claims) }))
        .layer(layer)
        .route("/health", get(|| async { "ok" }))
}

/// A builder with one tenant for `mock` (aud = its client id, plus `api://default`).
pub fn builder_for(mock: &MockOkta) -> OktaOidcBuilder {
    OktaOidc::builder()
        .allow_loopback_http(true)
        .tenant(tenant_for("mock", mock))
}

/// A tenant for `mock`, accepting its ID tokens and its `api://default` access tokens.
pub fn tenant_for(id: &str, mock: &MockOkta) -> Tenant {
    Tenant::new(id, mock.issuer())
        .client(mock.client_id(), mock.client_secret())
        .audience("api://default")
}

/// A running stack: mock Okta, a warmed-up `OktaOidc`, and the API in front of the layer.
pub struct Stack {
    pub mock: MockOkta,
    pub oidc: OktaOidc,
    pub base: String,
    pub http: reqwest::Client,
}

impl Stack {
    pub async fn start() -> Stack {
        let mock = MockOkta::start().await;
        let oidc = builder_for(&mock).build().await.unwrap();
        Stack::with(mock, oidc).await
    }

    pub async fn with(mock: MockOkta, oidc: OktaOidc) -> Stack {
        let base = serve(api(OktaOidcLayer::new(oidc.clone()))).await;
        Stack {
            mock,
            oidc,
            base,
            http: client(),
        }
    }

    /// GET /api/me with this bearer token; the status.
    pub async fn status(&self, token: &str) -> u16 {
        self.get(token).await.status().as_u16()
    }

    pub async fn get(&self, token: &str) -> reqwest::Response {
        self.http
            .get(format!("{}/api/me", self.base))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }
}

/// A response of a request sent in process, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

/// Sends `request` (with an empty body) through `app` in process with
/// `tower::ServiceExt::oneshot`, as tower-http's own tests do: for middleware behaviour, where
/// a socket adds nothing. Tests over the public API use [`serve`] and real HTTP instead.
pub async fn call(app: &Router, request: http::request::Builder) -> Reply {
    use tower::ServiceExt;

    let request = request.body(Body::empty()).unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    Reply {
        status: parts.status,
        headers: parts.headers,
        body: String::from_utf8(body.to_vec()).unwrap(),
    }
}

/// `GET path` with `Authorization: Bearer <token>`.
pub fn get_with_bearer(path: &str, token: &str) -> http::request::Builder {
    Request::get(path).header(AUTHORIZATION, format!("Bearer {token}"))
}

/// The API of [`api`] called in process: mock Okta (which the validator still reaches over
/// loopback), and the router with the layer, without a server.
pub struct InProcess {
    pub mock: MockOkta,
    pub app: Router,
}

impl InProcess {
    pub async fn start() -> InProcess {
        let mock = MockOkta::start().await;
        let oidc = builder_for(&mock).build().await.unwrap();
        InProcess {
            mock,
            app: api(OktaOidcLayer::new(oidc)),
        }
    }

    /// Sends `request` through the API in process.
    pub async fn call(&self, request: http::request::Builder) -> Reply {
        call(&self.app, request).await
    }

    /// GET /api/me with this bearer token.
    pub async fn get(&self, token: &str) -> Reply {
        self.call(get_with_bearer("/api/me", token)).await
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .unwrap()
}

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Buffers of the log captures alive now; every log event is written to each of them.
static CAPTURES: Mutex<Vec<Arc<Mutex<Vec<u8>>>>> = Mutex::new(Vec::new());

/// The logs written while this capture lives, at every level, from every thread.
///
/// All tests run in one process, so the subscriber is global and installed once: a
/// thread-local one (`set_default`) misses events whose callsites other test threads
/// registered first. Each capture gets its own buffer, filled only while it lives, and no
/// event is even formatted while no test captures: the other tests do not pay for logging,
/// and a buffer does not grow with the logs of the whole run.
pub struct LogCapture {
    buffer: Arc<Mutex<Vec<u8>>>,
}

/// Starts capturing logs; see [`LogCapture`].
pub fn capture_logs() -> LogCapture {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::{Layer, filter};

    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let layer = tracing_subscriber::fmt::layer()
            .with_ansi(false)
            .with_writer(|| Fanout)
            // Dynamic: asked at every event (a plain `filter_fn` caches its first answer per
            // callsite, and would keep refusing events first seen while nobody captured).
            .with_filter(filter::dynamic_filter_fn(|_, _| {
                !CAPTURES.lock().unwrap().is_empty()
            }));
        tracing::subscriber::set_global_default(tracing_subscriber::registry().with(layer))
            .expect("no other global subscriber");
    });
    let buffer = Arc::default();
    CAPTURES.lock().unwrap().push(Arc::clone(&buffer));
    LogCapture { buffer }
}

impl LogCapture {
    /// Everything logged since the capture started.
    pub fn text(&self) -> String {
        String::from_utf8(self.buffer.lock().unwrap().clone()).unwrap()
    }
}

impl Drop for LogCapture {
    fn drop(&mut self) {
        CAPTURES
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .retain(|b| !Arc::ptr_eq(b, &self.buffer));
    }
}

/// The writer of the global subscriber: each formatted event (one `write` call) goes to every
/// live capture.
struct Fanout;

impl Write for Fanout {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        for capture in CAPTURES.lock().unwrap().iter() {
            capture.lock().unwrap().extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A stack whose `OktaOidc` reads time from a `ManualClock` starting now.
pub async fn stack_with_clock() -> (Stack, ManualClock) {
    clocked_stack(MockOkta::start().await, |b| b).await
}

/// A stack in front of `mock` whose `OktaOidc` reads time from a `ManualClock` starting now,
/// with the builder adjusted by `configure`.
pub async fn clocked_stack(
    mock: MockOkta,
    configure: impl FnOnce(OktaOidcBuilder) -> OktaOidcBuilder,
) -> (Stack, ManualClock) {
    let clock = ManualClock::starting_now();
    let oidc = configure(builder_for(&mock).clock(clock.clone()))
        .build()
        .await
        .unwrap();
    (Stack::with(mock, oidc).await, clock)
}

/// Makes `mock`'s introspection endpoint answer 429 with an `X-Rate-Limit-Reset` `secs` after
/// `clock`'s now.
pub fn rate_limit_introspection(mock: &MockOkta, clock: &ManualClock, secs: u64) {
    use okta_oidc::Clock;
    mock.set_fault(
        okta_oidc::testing::Endpoint::Introspect,
        okta_oidc::testing::Fault::RateLimited {
            reset_epoch_secs: clock.now().as_secs() + secs,
        },
    );
}

/// The `Retry-After` of a response, in seconds.
pub fn retry_after(response: &reqwest::Response) -> u64 {
    response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// A loopback address bound but not listening: connections are refused, and no other test can
/// take the port while the socket lives.
pub fn refusing_address() -> (tokio::net::TcpSocket, SocketAddr) {
    let reserved = tokio::net::TcpSocket::new_v4().unwrap();
    reserved.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let address = reserved.local_addr().unwrap();
    (reserved, address)
}

/// Tenants `a` and `b` of two mock orgs, and, when `header` is given, a resolver that takes the
/// tenant id from that request header.
pub async fn two_tenants(a: &MockOkta, b: &MockOkta, header: Option<&'static str>) -> OktaOidc {
    let mut builder = OktaOidc::builder()
        .allow_loopback_http(true)
        .tenant(tenant_for("a", a))
        .tenant(tenant_for("b", b));
    if let Some(name) = header {
        builder = builder.tenant_resolver(header_resolver(name));
    }
    builder.build().await.unwrap()
}

/// A resolver that takes the tenant id from the request header `name`.
pub fn header_resolver(
    name: &'static str,
) -> impl Fn(&http::request::Parts) -> Option<String> + Send + Sync + 'static {
    move |request: &http::request::Parts| {
        let tenant = request.headers.get(name)?.to_str().ok()?;
        Some(tenant.to_owned())
    }
}

/// A hand-kept cookie jar (name → value) for a browser-like client.
pub type Jar = BTreeMap<String, String>;

/// The `Cookie` header value of a jar.
pub fn cookie_header(jar: &Jar) -> String {
    jar.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The `Location` header of a redirect.
pub fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get(http::header::LOCATION)
        .expect("Location")
        .to_str()
        .unwrap()
        .to_owned()
}

/// Stores a response's `Set-Cookie`s in the jar (`Max-Age=0` removes).
pub fn store_cookies(jar: &mut Jar, response: &reqwest::Response) {
    for value in response.headers().get_all(http::header::SET_COOKIE) {
        let text = value.to_str().unwrap();
        let pair = text.split(';').next().unwrap();
        let (name, value) = pair.split_once('=').unwrap();
        if text.contains("Max-Age=0") {
            jar.remove(name);
        } else {
            jar.insert(name.to_owned(), value.to_owned());
        }
    }
}
