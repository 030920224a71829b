//! RFC 9728 protected-resource metadata: the document for a resource at the root and one with
//! a path (§3.1, path-inserted well-known URL), over real HTTP; one document per tenant when
//! the tenant comes from the path or the host, naming that tenant's issuer only; and the
//! `resource_metadata` parameter of the layer's `401` (§5.1). The DPoP proofs of a tenant with
//! its own host are checked against that host (RFC 9449 §4.3 step 9).

use axum::Router;
use axum::routing::get;
use http::Request;
use http::header::AUTHORIZATION;
use okta_oidc::testing::{DpopKey, MockOkta};
use okta_oidc::{Claims, Dpop, OktaOidc, OktaOidcLayer, ProtectedResource, Tenant};
use serde_json::{Value, json};

use crate::common::{api, builder_for, call, client, serve, tenant_for};
use crate::dpop::error_of;

const WELL_KNOWN: &str = "/.well-known/oauth-protected-resource";

async fn get_json(url: &str) -> (u16, Value) {
    let response = client().get(url).send().await.unwrap();
    let status = response.status().as_u16();
    let body = response.text().await.unwrap();
    (status, serde_json::from_str(&body).unwrap_or(Value::Null))
}

/// The metadata of a resource at the root and of a resource with a path, as clients read them
/// (RFC 9728 §3): `resource` is the identifier exactly, the tenant's issuer is the only
/// authorization server, and the DPoP members say what the layer accepts.
#[tokio::test]
async fn documents_of_a_root_and_a_path_resource() {
    let mock = MockOkta::start().await;
    for (resource, path) in [
        ("https://api.example.com", WELL_KNOWN.to_owned()),
        (
            "https://api.example.com/orders",
            format!("{WELL_KNOWN}/orders"),
        ),
    ] {
        let oidc = builder_for(&mock)
            .protected_resource(
                ProtectedResource::new(resource)
                    .scopes_supported(["orders:read"])
                    .resource_name("Orders"),
            )
            .dpop(Dpop::new().algorithms([okta_oidc::Algorithm::ES256]))
            .build_lazy()
            .unwrap();
        let app = api(OktaOidcLayer::new(oidc.clone())).merge(oidc.resource_metadata_router());
        let base = serve(app).await;
        let (status, doc) = get_json(&format!("{base}{path}")).await;
        assert_eq!(status, 200, "{resource}");
        assert_eq!(
            doc,
            json!({
                "resource": resource,
                "authorization_servers": [mock.issuer()],
                "scopes_supported": ["orders:read"],
                "resource_name": "Orders",
                "bearer_methods_supported": ["header"],
                "dpop_signing_alg_values_supported": ["ES256"],
                "dpop_bound_access_tokens_required": false,
            })
        );
        // The other form is not this resource's document.
        let other = if path == WELL_KNOWN {
            format!("{WELL_KNOWN}/orders")
        } else {
            WELL_KNOWN.to_owned()
        };
        assert_eq!(get_json(&format!("{base}{other}")).await.0, 404);
        // RFC 9728 §5.1: the 401 names where the metadata is.
        let response = client().get(format!("{base}/api/me")).send().await.unwrap();
        assert_eq!(response.status(), 401);
        let challenge = response.headers()["www-authenticate"].to_str().unwrap();
        let expected = format!("https://api.example.com{path}");
        assert!(
            challenge.contains(&format!("resource_metadata=\"{expected}\"")),
            "{challenge}"
        );
        let post = client().post(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(post.status(), 405);
    }
}

/// Without a configured resource, challenges carry no `resource_metadata`.
#[tokio::test]
async fn no_resource_no_metadata_parameter() {
    let s = crate::common::InProcess::start().await;
    let reply = s.call(Request::get("/api/me")).await;
    assert_eq!(reply.headers["www-authenticate"], "Bearer realm=\"api\"");
}

/// Tenants by path: `/acme/...` is acme's. Each document names its own tenant's issuer only;
/// the root document (no tenant) names none; an unknown path has no document.
#[tokio::test]
async fn one_document_per_tenant_by_path() {
    let (acme, bigco) = (MockOkta::start().await, MockOkta::start().await);
    let tenant = |id: &str, mock: &MockOkta| {
        Tenant::new(id, mock.issuer())
            .client(mock.client_id(), mock.client_secret())
            .audience("api://default")
            .resource(format!("https://api.example.com/{id}"))
    };
    let oidc = OktaOidc::builder()
        .allow_loopback_http(true)
        .tenant(tenant("acme", &acme))
        .tenant(tenant("bigco", &bigco))
        .tenant_resolver(|request: &http::request::Parts| {
            let first = request
                .uri
                .path()
                .trim_start_matches('/')
                .split('/')
                .next()?;
            Some(first.to_owned()).filter(|s| !s.is_empty())
        })
        .protected_resource(ProtectedResource::new("https://api.example.com"))
        .build_lazy()
        .unwrap();
    let app = Router::new()
        .route(
            "/{tenant}/api/me",
            get(|c: Claims| async move { c.sub.clone() }),
        )
        .layer(OktaOidcLayer::new(oidc.clone()))
        .merge(oidc.resource_metadata_router());
    let base = serve(app).await;
    for (id, mock, other) in [("acme", &acme, &bigco), ("bigco", &bigco, &acme)] {
        let (status, doc) = get_json(&format!("{base}{WELL_KNOWN}/{id}")).await;
        assert_eq!(status, 200);
        assert_eq!(doc["resource"], format!("https://api.example.com/{id}"));
        assert_eq!(doc["authorization_servers"], json!([mock.issuer()]));
        assert!(!doc.to_string().contains(&other.issuer()), "{doc}");
        let response = client()
            .get(format!("{base}/{id}/api/me"))
            .send()
            .await
            .unwrap();
        let challenge = response.headers()["www-authenticate"].to_str().unwrap();
        assert!(
            challenge.contains(&format!(
                "resource_metadata=\"https://api.example.com{WELL_KNOWN}/{id}\""
            )),
            "{challenge}"
        );
    }
    let (status, root) = get_json(&format!("{base}{WELL_KNOWN}")).await;
    assert_eq!(status, 200);
    assert_eq!(root["resource"], "https://api.example.com");
    assert!(root.get("authorization_servers").is_none(), "{root}");
    assert_eq!(get_json(&format!("{base}{WELL_KNOWN}/nobody")).await.0, 404);
}

/// Tenants by host: each host's document and DPoP `htu` are that tenant's, from its configured
/// resource (the `Host` header only picks the tenant, through the application's resolver).
#[tokio::test]
async fn one_document_per_tenant_by_host_and_dpop_against_it() {
    let mock = MockOkta::start().await;
    let oidc = OktaOidc::builder()
        .allow_loopback_http(true)
        .tenant(tenant_for("acme", &mock).resource("https://acme.api.example.com"))
        .tenant_resolver(|request: &http::request::Parts| {
            let host = request.headers.get("host")?.to_str().ok()?;
            Some(host.split('.').next()?.to_owned())
        })
        .protected_resource(ProtectedResource::new("https://api.example.com"))
        .dpop(Dpop::new())
        .build_lazy()
        .unwrap();
    let app = api(OktaOidcLayer::new(oidc.clone())).merge(oidc.resource_metadata_router());
    let doc = call(
        &app,
        Request::get(WELL_KNOWN).header("host", "acme.api.example.com"),
    )
    .await;
    assert_eq!(doc.status, 200);
    let doc: Value = serde_json::from_str(&doc.body).unwrap();
    assert_eq!(doc["resource"], "https://acme.api.example.com");
    assert_eq!(doc["authorization_servers"], json!([mock.issuer()]));

    let key = DpopKey::es256();
    let token = mock.access_token().bound_to(&key).build();
    let send = |htu: &str| {
        let proof = key
            .proof("GET", htu)
            .claim("ath", DpopKey::ath(&token))
            .build();
        Request::get("/api/me")
            .header("host", "acme.api.example.com")
            .header(AUTHORIZATION, format!("DPoP {token}"))
            .header("dpop", proof)
    };
    let at_default = call(&app, send("https://api.example.com/api/me")).await;
    assert_eq!(
        (at_default.status.as_u16(), error_of(&at_default).as_str()),
        (401, "invalid_dpop_proof")
    );
    let at_tenant = call(&app, send("https://acme.api.example.com/api/me")).await;
    assert_eq!(at_tenant.status, 200, "{at_tenant:?}");
}
