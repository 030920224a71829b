//! The layer's HTTP contract (RFC 6750), extractors, optional mode, custom errors, and the
//! no-leak invariant for logs and `Debug`.
//!
//! These are middleware behaviour: the router is called in process (`common::call`, tower's
//! `oneshot`); the mock Okta still serves keys over loopback. The no-leak test goes through a
//! real server, so every log line of a real request is checked.

use crate::common::{self, InProcess, Stack, builder_for, call, get_with_bearer};
use axum::Router;
use axum::http::header::AUTHORIZATION;
use axum::http::{Request, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use okta_oidc::testing::MockOkta;
use okta_oidc::{Claims, ClientSecret, OktaOidc, OktaOidcLayer, Tenant};
use serde::Deserialize;

#[tokio::test]
async fn missing_credential_gets_a_bare_challenge() {
    let s = InProcess::start().await;
    let response = s.call(Request::get("/api/me")).await;
    assert_eq!(response.status, 401);
    assert_eq!(response.headers["www-authenticate"], "Bearer realm=\"api\"");
    let basic = s
        .call(Request::get("/api/me").header(AUTHORIZATION, "Basic dXNlcjpwYXNz"))
        .await;
    assert_eq!(basic.status, 401);
    assert_eq!(basic.headers["www-authenticate"], "Bearer realm=\"api\"");
    let health = s.call(Request::get("/health")).await;
    assert_eq!(health.status, 200);
}

#[tokio::test]
async fn invalid_token_reveals_nothing_useful() {
    let s = InProcess::start().await;
    let bad_kid = s.mock.id_token().kid("nope").build();
    let bad_sig = s.mock.id_token().signature("AAAA").build();
    let wrong_aud = s.mock.id_token().claim("aud", "x").build();
    let mut descriptions = Vec::new();
    for token in [&bad_kid, &bad_sig, &wrong_aud] {
        let response = s.get(token).await;
        assert_eq!(response.status, 401);
        let challenge = response.headers["www-authenticate"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(challenge.starts_with("Bearer realm=\"api\", error=\"invalid_token\""));
        assert!(!response.body.contains(token.as_str()));
        descriptions.push(challenge);
    }
    descriptions.dedup();
    assert_eq!(
        descriptions.len(),
        1,
        "every rejection reads the same: {descriptions:?}"
    );
}

#[tokio::test]
async fn scheme_is_case_insensitive_and_two_headers_are_an_error() {
    let s = InProcess::start().await;
    let token = s.mock.id_token().build();
    for scheme in ["bearer", "BEARER", "bEaReR"] {
        let r = s
            .call(Request::get("/api/me").header(AUTHORIZATION, format!("{scheme} {token}")))
            .await;
        assert_eq!(r.status, 200, "{scheme}");
    }
    let r = s
        .call(
            Request::get("/api/me")
                .header(AUTHORIZATION, format!("Bearer {token}"))
                .header(AUTHORIZATION, format!("Bearer {token}")),
        )
        .await;
    assert_eq!(r.status, 400);
    assert!(
        r.headers["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_request")
    );
}

#[derive(Debug, Deserialize)]
struct Department {
    department: String,
}

#[tokio::test]
async fn typed_extra_claims_and_optional_mode() {
    let mock = MockOkta::start().await;
    let oidc = builder_for(&mock).build().await.unwrap();
    let app = Router::new()
        .route(
            "/dept",
            get(|c: Claims<Department>| async move { format!("{}:{}", c.sub, c.extra.department) }),
        )
        .route(
            "/maybe",
            get(|c: Option<Claims>| async move { c.map_or("anonymous".to_owned(), |c| c.sub.clone()) }),
        )
        .route("/tenant", get(|c: Claims| async move { c.tenant().id.to_string() }))
        .layer(OktaOidcLayer::new(oidc).optional());
    let app = &app;
    let get = |path: &str, token: Option<String>| {
        let request = match token {
            Some(t) => get_with_bearer(path, &t),
            None => Request::get(path),
        };
        async move {
            let r = call(app, request).await;
            (r.status.as_u16(), r.body)
        }
    };
    let with_dept = mock.id_token().claim("department", "ops").build();
    assert_eq!(
        get("/dept", Some(with_dept)).await,
        (200, "00u1mockuser:ops".into())
    );
    let (status, _) = get("/dept", Some(mock.id_token().build())).await;
    assert_eq!(status, 401, "claims that do not fit the handler's type");
    assert_eq!(get("/maybe", None).await, (200, "anonymous".into()));
    assert_eq!(
        get("/maybe", Some(mock.id_token().build())).await,
        (200, "00u1mockuser".into())
    );
    let (status, _) = get("/maybe", Some(mock.id_token().claim("aud", "x").build())).await;
    assert_eq!(status, 401, "a presented credential must still be valid");
    let (status, _) = get("/dept", None).await;
    assert_eq!(status, 401, "Claims (not Option) without identity");
    assert_eq!(
        get("/tenant", Some(mock.id_token().build())).await,
        (200, "mock".into())
    );
}

#[tokio::test]
async fn claims_without_the_layer_is_a_clear_server_error() {
    let app = Router::new().route("/me", get(|c: Claims| async move { c.sub.clone() }));
    let r = call(&app, Request::get("/me")).await;
    assert_eq!(r.status, 500);
    assert!(r.body.contains("not configured"));
}

#[tokio::test]
async fn custom_error_responses_and_realm() {
    let mock = MockOkta::start().await;
    let oidc = builder_for(&mock).build().await.unwrap();
    let app = Router::new()
        .route("/a", get(|| async { "a" }))
        .layer(OktaOidcLayer::new(oidc.clone()).realm("orders"));
    let r = call(&app, Request::get("/a")).await;
    assert_eq!(r.headers["www-authenticate"], "Bearer realm=\"orders\"");

    let app =
        Router::new()
            .route("/b", get(|| async { "b" }))
            .layer(OktaOidcLayer::new(oidc).on_error(|e| {
                (
                    StatusCode::IM_A_TEAPOT,
                    format!("custom: {}", e.status().as_u16()),
                )
                    .into_response()
            }));
    let r = call(&app, Request::get("/b")).await;
    assert_eq!(r.status, 418);
    assert_eq!(r.body, "custom: 401");
}

#[tokio::test]
async fn tokens_and_secrets_never_reach_logs_or_debug() {
    let capture = common::capture_logs();

    let s = Stack::start().await;
    let tokens = [
        s.mock.id_token().build(),
        s.mock.id_token().kid("unknown-kid").build(),
        s.mock.id_token().claim("aud", "x").build(),
        s.mock.id_token().alg("none").signature("").build(),
        s.mock.opaque_token(serde_json::json!({})),
        "00TnotKnownOpaque".to_owned(),
    ];
    for token in &tokens {
        let _ = s.status(token).await;
    }
    let logs = capture.text();
    assert!(
        logs.contains("request refused"),
        "rejections are logged: {logs}"
    );
    for token in &tokens {
        let signature = token.rsplit('.').next().unwrap();
        assert!(!logs.contains(token.as_str()), "token in logs");
        assert!(
            signature.len() < 16 || !logs.contains(signature),
            "signature in logs"
        );
    }
    assert!(!logs.contains(&s.mock.client_secret()));

    let secret = "super-secret-value";
    let tenant = Tenant::new("t", "https://acme.okta.com").client("0oa1", secret);
    assert!(!format!("{tenant:?}").contains(secret));
    assert!(!format!("{:?}", ClientSecret::new(secret)).contains(secret));
    let oidc = OktaOidc::builder().tenant(tenant).build_lazy().unwrap();
    assert!(!format!("{oidc:?}").contains(secret));
}

/// The layer is a Tower middleware: it wraps a plain `tower::service_fn` whose response body is
/// a `String` (not axum's body), keeps that body for accepted requests, and writes its own for
/// rejections; the inner service is reachable with `get_ref`/`into_inner`.
#[tokio::test]
async fn wraps_a_plain_tower_service_with_its_own_body_type() {
    use http_body_util::BodyExt;
    use tower::{Layer, ServiceExt};

    let mock = MockOkta::start().await;
    let oidc = builder_for(&mock).build().await.unwrap();
    let inner = tower::service_fn(|request: Request<String>| async move {
        let sub = Claims::<()>::from_extensions(request.extensions())
            .ok()
            .map(|c| c.sub.clone());
        let body = format!("inner saw {}", sub.as_deref().unwrap_or("nobody"));
        Ok::<_, std::convert::Infallible>(http::Response::new(body))
    });
    let service = OktaOidcLayer::new(oidc).layer(inner);
    let _: &_ = service.get_ref();

    let token = mock.access_token().build();
    for _ in 0..2 {
        // The first call verifies the token, the second is the cached fast path.
        let request = Request::get("/")
            .header(AUTHORIZATION, format!("Bearer {token}"))
            .body(String::new())
            .unwrap();
        let response = service.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), 200);
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(&body[..], b"inner saw mock.user@example.com");
    }

    let request = Request::get("/").body(String::new()).unwrap();
    let response = service.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(
        response.headers()["www-authenticate"],
        "Bearer realm=\"api\""
    );
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json["error"], "unauthorized");
    let _inner = service.into_inner();
}
