//! The rules of the one verification pipeline (issue "One verification pipeline"), each over
//! real HTTP against the mock Okta, and each failing on the first wave's code:
//!
//! 1. tenants sharing an issuer: a token goes to the tenant its `cid` / client-id `aud` names;
//! 2. introspection answers are checked against the tenant, not only `active`;
//! 3. `iat` is required (OpenID Connect Core §2, RFC 9068 §2.2), and a JSON `null` is missing;
//! 4. several audiences only with `azp` (OpenID Connect Core §3.1.3.7 steps 4–5);
//! 5. tenants known only to the loader sign in, keep their sessions, use opaque tokens, and are
//!    bounded;
//! 6. start-up never depends on a customer's org;
//!
//! and one code path: a rule reaches both the bearer path and the login callback.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::common::{self, client, location, serve};
use axum::Router;
use axum::routing::get;
use okta_oidc::testing::{Endpoint, Fault, MockOkta};
use okta_oidc::{
    BoxError, Claims, Login, LoginConfig, ManualClock, OktaOidc, OktaOidcLayer, Tenant, TenantKey,
};
use reqwest::header::COOKIE;
use serde_json::json;

const SECRET: [u8; 32] = [9; 32];

/// `/who` answers the id of the tenant that accepted the request.
fn who(layer: OktaOidcLayer) -> Router {
    Router::new()
        .route(
            "/who",
            get(|c: Claims| async move { c.tenant().id.to_string() }),
        )
        .layer(layer)
}

async fn who_is(base: &str, token: &str) -> (u16, String) {
    let response = client()
        .get(format!("{base}/who"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// Two app instances (two clients) in one Okta org, both accepting the org's `api://default`.
fn two_clients(mock: &MockOkta, require_cid: bool) -> Vec<Tenant> {
    ["a", "b"]
        .into_iter()
        .map(|id| {
            Tenant::new(id, mock.issuer())
                .client(format!("0oa1{id}"), "secret")
                .audience("api://default")
                .require_cid(require_cid)
        })
        .collect()
}

/// Rule 1: a token of client B is never credited to tenant A.
#[tokio::test]
async fn tenants_sharing_an_issuer_get_their_own_tokens() {
    let mock = MockOkta::start().await;
    let oidc = OktaOidc::builder()
        .allow_loopback_http(true)
        .tenants(two_clients(&mock, false))
        .build()
        .await
        .unwrap();
    let base = serve(who(OktaOidcLayer::new(oidc))).await;
    let access = |cid: &str| mock.access_token().claim("cid", cid).build();
    assert_eq!(who_is(&base, &access("0oa1b")).await, (200, "b".into()));
    assert_eq!(who_is(&base, &access("0oa1a")).await, (200, "a".into()));
    let id_token = |aud: &str| mock.id_token().claim("aud", aud).build();
    assert_eq!(who_is(&base, &id_token("0oa1b")).await, (200, "b".into()));
    assert_eq!(who_is(&base, &id_token("0oa1a")).await, (200, "a".into()));
    // A client that is no tenant, calling the API both tenants serve: no way to tell which.
    assert_eq!(who_is(&base, &access("0oa1c")).await.0, 401);

    // require_cid routes B's tokens to B instead of refusing them at A.
    let strict = OktaOidc::builder()
        .allow_loopback_http(true)
        .tenants(two_clients(&mock, true))
        .build()
        .await
        .unwrap();
    let base = serve(who(OktaOidcLayer::new(strict))).await;
    assert_eq!(who_is(&base, &access("0oa1b")).await, (200, "b".into()));
    assert_eq!(who_is(&base, &access("0oa1a")).await, (200, "a".into()));
    assert_eq!(who_is(&base, &access("0oa1c")).await.0, 401);
}

/// Rule 2: an introspection answer is checked against the tenant (RFC 7662 §2.2), not only for
/// `active`; a refresh token sent as a bearer never authenticates a request.
#[tokio::test]
async fn introspection_answers_are_checked_against_the_tenant() {
    let mock = MockOkta::start().await;
    let tenant = common::tenant_for("mock", &mock).trust_client_id("0oa1spa");
    let oidc = OktaOidc::builder()
        .allow_loopback_http(true)
        .tenant(tenant)
        .build()
        .await
        .unwrap();
    let base = serve(who(OktaOidcLayer::new(oidc))).await;
    let status = |claims: serde_json::Value| {
        let token = mock.opaque_token(claims);
        let base = base.clone();
        async move { who_is(&base, &token).await.0 }
    };
    assert_eq!(status(json!({})).await, 200, "the mock's default answer");
    assert_eq!(
        status(json!({"client_id": "0oa1spa"})).await,
        200,
        "trusted"
    );
    for (refused, why) in [
        (json!({"token_type": "refresh_token"}), "a refresh token"),
        (json!({"token_type": "id_token"}), "an ID token"),
        (json!({"client_id": "0oa1other"}), "another client's token"),
        (json!({"client_id": null}), "no client_id"),
        (json!({"iss": "https://evil.example.com"}), "another issuer"),
        (
            json!({"aud": "api://someone-else"}),
            "another API's audience",
        ),
        (json!({"sub": null}), "no sub"),
        (json!({"exp": null}), "no exp"),
    ] {
        assert_eq!(status(refused).await, 401, "{why}");
    }
}

/// Rule 3: `iat` is required on ID tokens (OpenID Connect Core §2) and JWT access tokens
/// (RFC 9068 §2.2), and a JSON `null` for a required claim is a missing claim.
#[tokio::test]
async fn iat_is_required_and_null_is_missing() {
    let s = common::Stack::start().await;
    assert_eq!(s.status(&s.mock.id_token().build()).await, 200);
    assert_eq!(s.status(&s.mock.access_token().build()).await, 200);
    assert_eq!(
        s.status(&s.mock.id_token().without_claim("iat").build())
            .await,
        401
    );
    assert_eq!(
        s.status(&s.mock.access_token().without_claim("iat").build())
            .await,
        401
    );
    for claim in ["iat", "exp", "sub", "iss"] {
        let token = s
            .mock
            .id_token()
            .claim(claim, serde_json::Value::Null)
            .build();
        assert_eq!(s.status(&token).await, 401, "{claim}: null");
    }
}

/// Rule 4: several audiences are accepted only with `azp` the tenant's client id — or, for a
/// tenant with an audience and no client id, that audience (OpenID Connect Core §3.1.3.7).
#[tokio::test]
async fn several_audiences_need_azp() {
    let mock = MockOkta::start().await;
    let api_only = Tenant::new("api", mock.issuer()).audience("api://default");
    let oidc = OktaOidc::builder()
        .allow_loopback_http(true)
        .tenant(api_only)
        .build()
        .await
        .unwrap();
    let base = serve(who(OktaOidcLayer::new(oidc))).await;
    let token = |azp: Option<&str>| {
        let builder = mock
            .access_token()
            .claim("aud", json!(["api://default", "api://other"]));
        match azp {
            Some(azp) => builder.claim("azp", azp).build(),
            None => builder.build(),
        }
    };
    assert_eq!(who_is(&base, &token(None)).await.0, 401);
    assert_eq!(who_is(&base, &token(Some("api://other"))).await.0, 401);
    assert_eq!(who_is(&base, &token(Some("api://default"))).await.0, 200);
    let single = mock.access_token().claim("aud", "api://default").build();
    assert_eq!(who_is(&base, &single).await.0, 200);
}

/// A browser with a hand-kept cookie jar.
struct Browser {
    base: String,
    jar: common::Jar,
}

impl Browser {
    async fn get(&mut self, url: &str) -> reqwest::Response {
        let url = if url.starts_with("http") {
            url.to_owned()
        } else {
            format!("{}{url}", self.base)
        };
        let mut request = client().get(url);
        if !self.jar.is_empty() {
            request = request.header(COOKIE, common::cookie_header(&self.jar));
        }
        let response = request.send().await.unwrap();
        common::store_cookies(&mut self.jar, &response);
        response
    }

    /// The whole sign-in from `/auth/login{query}`; the callback's status.
    async fn sign_in(&mut self, query: &str) -> u16 {
        let start = self.get(&format!("/auth/login{query}")).await;
        assert_eq!(start.status(), 302, "{:?}", start.text().await);
        let authorize = client().get(location(&start)).send().await.unwrap();
        assert_eq!(authorize.status(), 302);
        self.get(&location(&authorize)).await.status().as_u16()
    }
}

/// An app whose only tenant store is a loader that knows `acme` (by issuer and by id); counts
/// its calls.
async fn loader_app(mock: &MockOkta, calls: Arc<AtomicUsize>) -> (String, OktaOidc) {
    let issuer = mock.issuer();
    let (id, secret) = (mock.client_id(), mock.client_secret());
    let oidc = OktaOidc::builder()
        .allow_loopback_http(true)
        .loader(move |key: TenantKey| {
            calls.fetch_add(1, Ordering::SeqCst);
            let known = key.issuer() == Some(issuer.as_str()) || key.id() == Some("acme");
            let tenant = known.then(|| {
                Tenant::new("acme", issuer.clone())
                    .client(id.clone(), secret.clone())
                    .audience("api://default")
            });
            async move { Ok::<_, BoxError>(tenant) }
        })
        .tenant_resolver(|request: &http::request::Parts| {
            let tenant = request.headers.get("x-tenant")?.to_str().ok()?;
            Some(tenant.to_owned())
        })
        .build()
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let login = Login::new(&oidc, LoginConfig::new(&base).session_secret(SECRET)).unwrap();
    let app = who(login.layer()).merge(login.router());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, oidc)
}

/// Rule 5: tenants known only to the loader sign in (`?tenant=`, `?iss=`), keep their sessions
/// after a restart, and use opaque tokens.
#[tokio::test]
async fn loaded_tenants_sign_in_keep_sessions_and_use_opaque_tokens() {
    let mock = MockOkta::start().await;
    let calls = Arc::new(AtomicUsize::new(0));
    let (base, _) = loader_app(&mock, Arc::clone(&calls)).await;
    let mut browser = Browser {
        base: base.clone(),
        jar: BTreeMap::new(),
    };
    assert_eq!(browser.sign_in("?tenant=acme").await, 302);
    assert_eq!(browser.get("/who").await.text().await.unwrap(), "acme");
    let mut from_dashboard = Browser {
        base: base.clone(),
        jar: BTreeMap::new(),
    };
    let iss = url::form_urlencoded::byte_serialize(mock.issuer().as_bytes()).collect::<String>();
    assert_eq!(from_dashboard.sign_in(&format!("?iss={iss}")).await, 302);
    assert_eq!(from_dashboard.get("/who").await.status(), 200);
    let unknown = browser.get("/auth/login?tenant=globex").await;
    assert_eq!(unknown.status(), 400, "unknown to the loader");

    // A restart: a new process (same session secret) knows no tenant until a session names one.
    let fresh_calls = Arc::new(AtomicUsize::new(0));
    let (restarted, oidc) = loader_app(&mock, Arc::clone(&fresh_calls)).await;
    assert!(oidc.tenant("acme").is_none());
    browser.base = restarted.clone();
    let who_after = browser.get("/who").await;
    assert_eq!(who_after.status(), 200, "the session survives the restart");
    assert_eq!(who_after.text().await.unwrap(), "acme");
    assert_eq!(fresh_calls.load(Ordering::SeqCst), 1, "loaded once, by id");

    // An opaque token of a tenant the resolver names and only the loader knows.
    let opaque = mock.opaque_token(json!({}));
    let response = client()
        .get(format!("{restarted}/who"))
        .bearer_auth(&opaque)
        .header("x-tenant", "acme")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

/// Rule 5: loaded tenants are bounded; the least recently loaded is evicted and loaded again
/// when needed.
#[tokio::test]
async fn loaded_tenants_are_bounded_and_evicted() {
    let orgs = [
        MockOkta::start().await,
        MockOkta::start().await,
        MockOkta::start().await,
    ];
    let issuers: Vec<String> = orgs.iter().map(MockOkta::issuer).collect();
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&calls);
    let known = issuers.clone();
    let oidc = OktaOidc::builder()
        .allow_loopback_http(true)
        .max_loaded_tenants(2)
        .loader(move |key: TenantKey| {
            counter.fetch_add(1, Ordering::SeqCst);
            let tenant = key.issuer().and_then(|iss| {
                let i = known.iter().position(|k| k == iss)?;
                Some(Tenant::new(format!("t{i}"), iss).audience("api://default"))
            });
            async move { Ok::<_, BoxError>(tenant) }
        })
        .build()
        .await
        .unwrap();
    let base = serve(who(OktaOidcLayer::new(oidc.clone()))).await;
    for (i, org) in orgs.iter().enumerate() {
        assert_eq!(
            who_is(&base, &org.access_token().build()).await,
            (200, format!("t{i}"))
        );
    }
    assert_eq!(oidc.tenants().len(), 2, "at most two loaded tenants");
    assert!(
        oidc.tenant("t0").is_none(),
        "the least recently loaded went first"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    assert_eq!(
        who_is(&base, &orgs[0].access_token().build()).await,
        (200, "t0".into())
    );
    assert_eq!(
        calls.load(Ordering::SeqCst),
        4,
        "an evicted tenant is loaded again"
    );
    assert!(oidc.tenant("t1").is_none());
}

/// Rule 6: one unreachable org does not fail the start-up of the others; its requests answer
/// 503 with Retry-After, and 200 once the org is back, without a restart.
#[tokio::test]
async fn start_up_never_depends_on_a_customer_org() {
    let up = MockOkta::start().await;
    let down = MockOkta::start().await;
    down.set_fault(Endpoint::Discovery, Fault::Status(503));
    let clock = ManualClock::starting_now();
    let oidc = OktaOidc::builder()
        .allow_loopback_http(true)
        .tenant(common::tenant_for("up", &up))
        .tenant(common::tenant_for("down", &down))
        .clock(clock.clone())
        .build()
        .await
        .expect("start-up goes on without the down org");
    assert!(oidc.last_key_error("down").is_some());
    let base = serve(who(OktaOidcLayer::new(oidc))).await;
    assert_eq!(
        who_is(&base, &up.access_token().build()).await,
        (200, "up".into())
    );
    let token = down.access_token().build();
    let response = client()
        .get(format!("{base}/who"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    assert!(response.headers().contains_key("retry-after"));
    down.clear_fault(Endpoint::Discovery);
    clock.advance(Duration::from_secs(31));
    assert_eq!(who_is(&base, &token).await, (200, "down".into()));
}

/// One code path for ID-token checks: the rule that `iat` is required reaches the bearer path
/// and the login callback alike, because both run `Verifier::verify_jws`.
#[tokio::test]
async fn a_rule_reaches_the_bearer_path_and_the_callback() {
    let mock = MockOkta::start().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let oidc = common::builder_for(&mock).build().await.unwrap();
    let login = Login::new(&oidc, LoginConfig::new(&base).session_secret(SECRET)).unwrap();
    let app = who(login.layer()).merge(login.router());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let mut browser = Browser {
        base: base.clone(),
        jar: BTreeMap::new(),
    };
    assert_eq!(browser.sign_in("").await, 302, "a normal login works");

    let no_iat = mock.id_token().without_claim("iat").build();
    assert_eq!(who_is(&base, &no_iat).await.0, 401, "bearer path");
    mock.on_id_token(|token| token.without_claim("iat"));
    let mut second = Browser {
        base,
        jar: BTreeMap::new(),
    };
    assert_eq!(second.sign_in("").await, 401, "callback path");
    assert!(!second.jar.contains_key("okta_session"));
}
