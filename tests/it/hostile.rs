//! Issue 17, hostile traffic: what a stranger sends can never switch off another tenant, and
//! no tenant's credential works on another tenant's routes — over real HTTP against the mock
//! Okta, with an injected clock where time matters (no sleeps).
//!
//! `attack_*` tests are the bounded attack runs recorded in RELIABILITY.md
//! (`cargo test --all-features --test it hostile::attack -- --nocapture` prints their figures).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use okta_oidc::testing::{Endpoint, MockOkta};
use okta_oidc::{
    BoxError, CallBudget, FilteredLoader, OktaOidc, OktaOidcLayer, ProtectedResource, Tenant,
    TenantKey,
};
use serde_json::json;

use crate::common::{self, Stack, api, client, header_resolver, tenant_for};

/// Serves `app` recording each connection's peer address (axum's `ConnectInfo`), as an app
/// that counts budget shares per client does.
async fn serve_with_peers(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    format!("http://{addr}")
}

/// `GET /api/me` with this bearer token and these extra headers; the status.
async fn status_with(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    headers: &[(&str, &str)],
) -> u16 {
    let mut request = http.get(format!("{base}/api/me")).bearer_auth(token);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap().status().as_u16()
}

/// The `error` of a `WWW-Authenticate: Bearer` challenge.
fn challenge_error(response: &reqwest::Response) -> String {
    let header = response.headers()["www-authenticate"].to_str().unwrap();
    header
        .split("error=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or("")
        .to_owned()
}

// ---------------------------------------------------------------------------------------------
// Item 5: a signal, proof or grant signed by the org's keys is never a credential.
// ---------------------------------------------------------------------------------------------

/// RFC 8725 §3.11 (explicit typing): a JWT typed as a logout token, a Universal Logout request,
/// a Security Event Token, a DPoP proof or an ID-JAG — or carrying `events` (RFC 8417 §2.2) —
/// is refused as a bearer token even though the org's key signed it and every other claim fits.
#[tokio::test]
async fn signals_proofs_and_grants_are_no_bearer_tokens() {
    let s = Stack::start().await;
    assert_eq!(s.status(&s.mock.id_token().build()).await, 200, "control");
    for typ in [
        "logout+jwt",
        "application/logout+jwt",
        "global-token-revocation+jwt",
        "secevent+jwt",
        "dpop+jwt",
        "oauth-id-jag+jwt",
    ] {
        let id_token = s.mock.id_token().header("typ", typ).build();
        let response = s.get(&id_token).await;
        assert_eq!(response.status(), 401, "ID token typed {typ}");
        assert_eq!(challenge_error(&response), "invalid_token");
        let access = s.mock.access_token().header("typ", typ).build();
        assert_eq!(s.status(&access).await, 401, "access token typed {typ}");
    }
    let logout_token = s
        .mock
        .id_token()
        .claim(
            "events",
            json!({"http://schemas.openid.net/event/backchannel-logout": {}}),
        )
        .without_claim("nonce")
        .build();
    assert_eq!(
        s.status(&logout_token).await,
        401,
        "a logout token (events)"
    );
    let set = s.mock.access_token().claim("events", json!({})).build();
    assert_eq!(s.status(&set).await, 401, "any events claim");
}

// ---------------------------------------------------------------------------------------------
// Item 8: a binding the crate cannot verify is a binding all the same.
// ---------------------------------------------------------------------------------------------

/// RFC 8705 §3.1 / RFC 7800 §3: a certificate-bound token (`cnf` with `x5t#S256`), or one bound
/// by any member this crate cannot check, is refused, as a JWT and as an introspected token.
#[tokio::test]
async fn tokens_bound_to_what_cannot_be_checked_are_refused() {
    let s = Stack::start().await;
    for cnf in [
        json!({"x5t#S256": "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2"}),
        json!({"jwk": {"kty": "EC"}}),
        json!({"jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I", "x5t#S256": "x"}),
    ] {
        let jwt = s.mock.access_token().claim("cnf", cnf.clone()).build();
        assert_eq!(s.status(&jwt).await, 401, "JWT with cnf {cnf}");
    }
    let introspected = s.mock.opaque_token(json!({"cnf": {"x5t#S256": "abc"}}));
    assert_eq!(s.status(&introspected).await, 401, "introspected cnf");
    let plain = s.mock.opaque_token(json!({}));
    assert_eq!(s.status(&plain).await, 200, "control");
}

// ---------------------------------------------------------------------------------------------
// Item 10: a credential that can never be valid is 401, never 503.
// ---------------------------------------------------------------------------------------------

/// Without introspection credentials an opaque token can never be accepted: 401
/// `invalid_token`, not 503 (which makes clients retry and monitors page), and no call. With
/// credentials, values that cannot be a JWS are refused before any call too.
#[tokio::test]
async fn values_that_cannot_be_valid_are_401_without_a_call() {
    let mock = MockOkta::start().await;
    let no_secret = Tenant::new("mock", mock.issuer())
        .client_id(mock.client_id())
        .audience("api://default");
    let oidc = OktaOidc::builder()
        .allow_loopback_http(true)
        .tenant(no_secret)
        .build()
        .await
        .unwrap();
    let s = Stack::with(mock, oidc).await;
    let opaque = s.mock.opaque_token(json!({}));
    let response = s.get(&opaque).await;
    assert_eq!(response.status(), 401, "opaque token, no credentials");
    assert_eq!(challenge_error(&response), "invalid_token");
    assert_eq!(s.status(&s.mock.org_access_token()).await, 401, "org token");
    assert_eq!(s.mock.hits(Endpoint::Introspect), 0);

    let s = Stack::start().await;
    for junk in [
        "abcdefghijklmnopqrstuvwxyz.abcdefghij",
        "abcdefgh.ijklmnop.qrstuvwx.yz012345",
        "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.",
        "e30.eyJzdWIiOiIxIn0.c2lnbmF0dXJl",
        "eyJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl",
        "a.b",
    ] {
        let response = s.get(junk).await;
        assert_eq!(response.status(), 401, "{junk}");
        assert_eq!(challenge_error(&response), "invalid_token", "{junk}");
    }
    assert_eq!(s.mock.hits(Endpoint::Introspect), 0, "no call for junk");
}

/// RFC 7662 §2.2: an answer whose member is `null` (`"sub": null`) lacks that member — a refusal
/// (401) like a missing one, not a provider failure (503).
#[tokio::test]
async fn introspection_answers_with_null_members_are_refusals() {
    let s = Stack::start().await;
    let issuer = s.mock.issuer();
    let now = common::now();
    let answer = |sub: serde_json::Value| {
        json!({
            "client_id": s.mock.client_id(), "iss": issuer, "aud": issuer,
            "sub": sub, "iat": now, "exp": now + 600, "token_type": "Bearer",
            "scope": "openid", "username": null,
        })
    };
    let null_sub = s.mock.opaque_token_answering(answer(json!(null)));
    assert_eq!(s.status(&null_sub).await, 401, "sub: null");
    let good = s.mock.opaque_token_answering(answer(json!("00u1")));
    assert_eq!(
        s.status(&good).await,
        200,
        "other null members are absent ones"
    );
}

// ---------------------------------------------------------------------------------------------
// Item 9: the metadata endpoint names registered tenants only.
// ---------------------------------------------------------------------------------------------

/// The RFC 9728 document is served for the registered tenants the resolver names; an id nobody
/// registered costs no loader call and names no issuer.
#[tokio::test]
async fn metadata_is_served_for_registered_tenants_only() {
    let mock = MockOkta::start().await;
    let asked = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&asked);
    let issuer = mock.issuer();
    let oidc = OktaOidc::builder()
        .allow_loopback_http(true)
        .tenant(tenant_for("a", &mock).resource("https://a.example.com"))
        .tenant_resolver(header_resolver("x-tenant"))
        .loader(move |_key: TenantKey| {
            counter.fetch_add(1, Ordering::SeqCst);
            let issuer = issuer.clone();
            async move {
                Ok::<_, BoxError>(Some(
                    Tenant::new("b", issuer).resource("https://b.example.com"),
                ))
            }
        })
        .protected_resource(ProtectedResource::new("https://api.example.com"))
        .build()
        .await
        .unwrap();
    let base = common::serve(oidc.resource_metadata_router()).await;
    let http = client();
    let get = |tenant: &'static str| {
        http.get(format!("{base}/.well-known/oauth-protected-resource"))
            .header("x-tenant", tenant)
            .send()
    };
    let a = get("a").await.unwrap();
    assert_eq!(a.status(), 200);
    let doc: serde_json::Value = a.json().await.unwrap();
    assert_eq!(doc["authorization_servers"], json!([mock.issuer()]));
    for stranger in ["b", "nobody", "zzzz"] {
        let response = get(stranger).await.unwrap();
        assert_eq!(response.status(), 404, "{stranger}");
    }
    assert_eq!(asked.load(Ordering::SeqCst), 0, "no loader call");
}

// ---------------------------------------------------------------------------------------------
// Item 4: a request belongs to one tenant.
// ---------------------------------------------------------------------------------------------

/// When the resolver names the request's tenant, a bearer token of another tenant is 401
/// `invalid_token` — on the slow path and on the cached fast path alike; a request naming no
/// tenant takes any; `accept_other_tenants(true)` opts out.
#[tokio::test]
async fn a_token_of_tenant_a_is_refused_on_tenant_b_routes() {
    let (a, b) = (MockOkta::start().await, MockOkta::start().await);
    let oidc = common::two_tenants(&a, &b, Some("x-tenant")).await;
    let base = common::serve(api(OktaOidcLayer::new(oidc))).await;
    let http = client();
    let token_a = a.access_token().build();
    // Slow path first: never seen.
    assert_eq!(
        status_with(&http, &base, &token_a, &[("x-tenant", "b")]).await,
        401
    );
    assert_eq!(
        status_with(&http, &base, &token_a, &[("x-tenant", "a")]).await,
        200
    );
    // Now cached: the fast path asks the resolver too.
    for _ in 0..3 {
        let response = client()
            .get(format!("{base}/api/me"))
            .bearer_auth(&token_a)
            .header("x-tenant", "b")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401, "cached token, other tenant");
        assert_eq!(challenge_error(&response), "invalid_token");
    }
    assert_eq!(
        status_with(&http, &base, &token_a, &[("x-tenant", "a")]).await,
        200
    );
    assert_eq!(
        status_with(&http, &base, &token_a, &[]).await,
        200,
        "names none"
    );
    // An opaque token of tenant b is introspected at the named tenant, a, and refused there.
    let opaque_b = b.opaque_token(json!({}));
    assert_eq!(
        status_with(&http, &base, &opaque_b, &[("x-tenant", "a")]).await,
        401
    );
    assert_eq!(
        status_with(&http, &base, &opaque_b, &[("x-tenant", "b")]).await,
        200
    );

    let open = OktaOidc::builder()
        .allow_loopback_http(true)
        .tenant(tenant_for("a", &a))
        .tenant(tenant_for("b", &b))
        .tenant_resolver(header_resolver("x-tenant"))
        .accept_other_tenants(true)
        .build()
        .await
        .unwrap();
    let base = common::serve(api(OktaOidcLayer::new(open))).await;
    let http = client();
    assert_eq!(
        status_with(&http, &base, &token_a, &[("x-tenant", "b")]).await,
        200,
        "opt-out"
    );
}

// ---------------------------------------------------------------------------------------------
// Item 2: random issuers never lock out a tenant the loader has vouched for.
// ---------------------------------------------------------------------------------------------

/// A flood of JWTs naming random issuers spends the strangers' loader budget; a tenant the
/// loader answered before (evicted since by `max_loaded_tenants`) loads again from its own
/// budget, and a pre-filter (`TenantLoader::may_exist`) keeps random issuers from the budget
/// altogether, so a tenant never loaded before still gets in.
#[tokio::test]
async fn random_issuers_do_not_lock_out_vouched_tenants() {
    let (a, b) = (MockOkta::start().await, MockOkta::start().await);
    let known = [tenant_for("a", &a), tenant_for("b", &b)];
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&calls);
    let load = move |key: TenantKey| {
        counter.fetch_add(1, Ordering::SeqCst);
        let found = known
            .iter()
            .find(|t| key.issuer() == Some(t.issuer()) || key.id() == Some(t.id()))
            .cloned();
        async move { Ok::<_, BoxError>(found) }
    };
    let oidc = OktaOidc::builder()
        .allow_loopback_http(true)
        .loader(load)
        .max_loaded_tenants(1)
        .loader_budget(CallBudget::new(1, 2, 2))
        .build()
        .await
        .unwrap();
    let base = common::serve(api(OktaOidcLayer::new(oidc))).await;
    let http = client();
    // Tenant a is loaded (vouched), then evicted by b.
    assert_eq!(
        status_with(&http, &base, &a.access_token().build(), &[]).await,
        200
    );
    assert_eq!(
        status_with(&http, &base, &b.access_token().build(), &[]).await,
        200
    );
    // The strangers spend their budget (it was already spent by a and b: 2 in a row).
    let stranger = |i: usize| {
        a.access_token()
            .claim("iss", format!("https://random{i}.example.com"))
            .build()
    };
    let mut refused = 0;
    for i in 0..20 {
        let status = status_with(&http, &base, &stranger(i), &[]).await;
        assert!(matches!(status, 401 | 503), "{status}");
        refused += usize::from(status == 503);
    }
    assert!(refused > 0, "the strangers' budget is spent");
    // a, evicted, loads again: the loader vouched for it before.
    assert_eq!(
        status_with(&http, &base, &a.access_token().build(), &[]).await,
        200
    );

    // With a pre-filter, random issuers never reach the loader or its budget: a tenant never
    // loaded before gets in during the flood.
    let (c, d) = (MockOkta::start().await, MockOkta::start().await);
    let known = [tenant_for("c", &c), tenant_for("d", &d)];
    let orgs: Vec<String> = known.iter().map(|t| t.issuer().to_owned()).collect();
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&calls);
    let loader = FilteredLoader::new(
        move |key: TenantKey| {
            counter.fetch_add(1, Ordering::SeqCst);
            let found = known
                .iter()
                .find(|t| key.issuer() == Some(t.issuer()))
                .cloned();
            async move { Ok::<_, BoxError>(found) }
        },
        move |key: &TenantKey| key.issuer().is_some_and(|i| orgs.iter().any(|o| o == i)),
    );
    let oidc = OktaOidc::builder()
        .allow_loopback_http(true)
        .loader(loader)
        .loader_budget(CallBudget::new(1, 2, 1))
        .build()
        .await
        .unwrap();
    let base = common::serve(api(OktaOidcLayer::new(oidc))).await;
    let http = client();
    assert_eq!(
        status_with(&http, &base, &c.access_token().build(), &[]).await,
        200
    );
    for i in 0..50 {
        let token = c
            .access_token()
            .claim("iss", format!("https://random{i}.example.com"))
            .build();
        assert_eq!(
            status_with(&http, &base, &token, &[]).await,
            401,
            "filtered out"
        );
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1, "only c reached the loader");
    assert_eq!(
        status_with(&http, &base, &d.access_token().build(), &[]).await,
        200,
        "d, never loaded before: the budget's second call is still there"
    );
}

// ---------------------------------------------------------------------------------------------
// Item 3: one client's junk opaque tokens cannot lock out another client's genuine ones.
// ---------------------------------------------------------------------------------------------

/// A stack whose API records peer addresses and trusts 127.0.0.1 as its proxy, so that each
/// test client is told apart by the `X-Forwarded-For` it sends.
async fn proxied_stack(
    configure: impl FnOnce(okta_oidc::OktaOidcBuilder) -> okta_oidc::OktaOidcBuilder,
) -> (MockOkta, String) {
    let mock = MockOkta::start().await;
    let localhost = "127.0.0.1".parse().unwrap();
    let oidc = configure(common::builder_for(&mock).trusted_proxies([localhost]))
        .build()
        .await
        .unwrap();
    let base = serve_with_peers(api(OktaOidcLayer::new(oidc))).await;
    (mock, base)
}

/// Junk from client X spends X's share of the org's introspection budget; client Y's new
/// genuine token still answers 200. Forged org-server tokens (expired, or naming a published
/// key they are not signed with) cost no call at all.
#[tokio::test]
async fn junk_from_one_client_leaves_the_others_their_share() {
    let (mock, base) = proxied_stack(|b| {
        b.introspection_budget(CallBudget::new(60, 20, 10))
            .introspection_client_share(CallBudget::new(10, 5, 3))
    })
    .await;
    let http = client();
    let x = [("x-forwarded-for", "198.51.100.1")];
    let y = [("x-forwarded-for", "203.0.113.7")];
    let mut refused = 0;
    for i in 0..40 {
        let junk = format!("00Tjunk{i:08}{}", "J".repeat(20));
        let status = status_with(&http, &base, &junk, &x).await;
        assert!(matches!(status, 401 | 503), "{status}");
        refused += usize::from(status == 503);
    }
    assert_eq!(
        mock.hits(Endpoint::Introspect),
        5,
        "X spent its share: 5 in a row"
    );
    assert_eq!(refused, 35);
    let genuine = mock.opaque_token(json!({}));
    assert_eq!(
        status_with(&http, &base, &genuine, &y).await,
        200,
        "Y's new token"
    );
    let org_token = mock.org_access_token();
    assert_eq!(
        status_with(&http, &base, &org_token, &y).await,
        200,
        "Y's org token"
    );
    // A forwarded address from a peer that is no trusted proxy would be ignored; here the peer
    // is the proxy, so X's junk never counted against Y.

    mock.reset_hits();
    let expired = mock
        .access_token()
        .claim("aud", mock.issuer())
        .kid("org-as-unpublished")
        .expires_in(-3600)
        .build();
    assert_eq!(
        status_with(&http, &base, &expired, &y).await,
        401,
        "expired"
    );
    let forged = mock
        .access_token()
        .claim("aud", mock.issuer())
        .signature("Zm9yZ2Vk")
        .build();
    assert_eq!(
        status_with(&http, &base, &forged, &y).await,
        401,
        "published kid, forged"
    );
    assert_eq!(mock.hits(Endpoint::Introspect), 0, "forgeries cost no call");
}

/// Okta counts its rate limits per org: two app instances (tenants) of one org share one
/// introspection budget.
#[tokio::test]
async fn tenants_of_one_org_share_one_budget() {
    let mock = MockOkta::start().await;
    let second = Tenant::new("second", mock.issuer())
        .client("0oa2second", mock.client_secret())
        .audience("api://second");
    let oidc = common::builder_for(&mock)
        .tenant(second)
        .tenant_resolver(header_resolver("x-tenant"))
        .introspection_budget(CallBudget::new(1, 3, 3))
        .introspection_client_share(CallBudget::new(1, 3, 3))
        .build()
        .await
        .unwrap();
    let base = common::serve(api(OktaOidcLayer::new(oidc))).await;
    let http = client();
    for i in 0..3 {
        let junk = format!("00Tjunk{i:08}{}", "J".repeat(20));
        assert_eq!(
            status_with(&http, &base, &junk, &[("x-tenant", "mock")]).await,
            401
        );
    }
    let other = mock.opaque_token(json!({"client_id": "0oa2second"}));
    let response = client()
        .get(format!("{base}/api/me"))
        .bearer_auth(&other)
        .header("x-tenant", "second")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503, "the org's budget is spent");
    assert!(common::retry_after(&response) >= 1);
    assert_eq!(mock.hits(Endpoint::Introspect), 3);
}

/// The attack run of RELIABILITY.md: one client sends junk opaque tokens as fast as it can for
/// a bounded time; after each second of the flood another client presents a token never seen
/// before, which must answer 200 at once.
#[tokio::test]
async fn attack_junk_opaque_flood_from_one_client() {
    const SECONDS: u64 = 5;
    let (mock, base) = proxied_stack(|b| b).await;
    let http = client();
    let attacker = [("x-forwarded-for", "198.51.100.66")];
    let started = Instant::now();
    let mut sent = 0usize;
    let mut genuine_ok = 0usize;
    let mut genuine_sent = 0usize;
    for second in 0..SECONDS {
        let until = started + Duration::from_secs(second + 1);
        while Instant::now() < until && sent < 200_000 {
            let junk = format!("00Tflood{sent:010}{}", "F".repeat(16));
            let status = status_with(&http, &base, &junk, &attacker).await;
            assert!(matches!(status, 401 | 503), "{status}");
            sent += 1;
        }
        let client = format!("203.0.113.{}", 10 + second);
        let genuine = mock.opaque_token(json!({}));
        genuine_sent += 1;
        if status_with(&http, &base, &genuine, &[("x-forwarded-for", &client)]).await == 200 {
            genuine_ok += 1;
        }
    }
    let calls = mock.hits(Endpoint::Introspect);
    println!(
        "attack: junk opaque flood, one client, {SECONDS} s: {sent} junk tokens \
         ({:.0}/s), {calls} introspection calls in all (genuine included), \
         {genuine_ok}/{genuine_sent} new genuine tokens of other clients answered 200",
        sent as f64 / started.elapsed().as_secs_f64()
    );
    assert_eq!(genuine_ok, genuine_sent);
    // The default share: 15 in a row, then 60 a minute (one a second).
    let share = 15 + SECONDS as usize + 1;
    assert!(
        calls <= share + genuine_sent,
        "junk bounded by the share: {calls}"
    );
}

/// The attack run of RELIABILITY.md: a stranger sends JWTs naming random issuers as fast as one
/// client can for a bounded time, while the tokens of five tenants the loader vouched for —
/// more than `max_loaded_tenants`, so they are evicted and loaded again all along — keep
/// coming. Every one of them must answer 200.
#[tokio::test]
async fn attack_random_issuer_flood() {
    const SECONDS: u64 = 5;
    let mut orgs = Vec::new();
    for _ in 0..5 {
        orgs.push(MockOkta::start().await);
    }
    let known: Vec<Tenant> = (orgs.iter().enumerate())
        .map(|(i, org)| tenant_for(&format!("t{i}"), org))
        .collect();
    let loads = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&loads);
    let oidc = OktaOidc::builder()
        .allow_loopback_http(true)
        .loader(move |key: TenantKey| {
            counter.fetch_add(1, Ordering::SeqCst);
            let found = known
                .iter()
                .find(|t| key.issuer() == Some(t.issuer()))
                .cloned();
            async move { Ok::<_, BoxError>(found) }
        })
        .max_loaded_tenants(2)
        .build()
        .await
        .unwrap();
    let base = common::serve(api(OktaOidcLayer::new(oidc))).await;
    let http = client();
    // Each tenant is vouched for once, before the attack.
    for org in &orgs {
        assert_eq!(
            status_with(&http, &base, &org.access_token().build(), &[]).await,
            200
        );
    }
    let started = Instant::now();
    let (mut sent, mut refused_503, mut genuine, mut genuine_ok) = (0usize, 0usize, 0, 0);
    let mut next_genuine = started;
    while started.elapsed() < Duration::from_secs(SECONDS) && sent < 200_000 {
        // One vouched tenant's token every 250 ms (each needs a reload: 5 tenants, 2 slots),
        // within the vouched tenants' own budget; the stranger floods in between.
        while Instant::now() < next_genuine {
            let token = orgs[0]
                .access_token()
                .claim("iss", format!("https://org{sent}.example.com"))
                // Refused before any key is looked at: no need to sign it.
                .signature("c2lnbmF0dXJl")
                .build();
            let status = status_with(&http, &base, &token, &[]).await;
            assert!(matches!(status, 401 | 503), "{status}");
            refused_503 += usize::from(status == 503);
            sent += 1;
        }
        next_genuine += Duration::from_millis(250);
        let org = &orgs[genuine % orgs.len()];
        genuine += 1;
        if status_with(&http, &base, &org.access_token().build(), &[]).await == 200 {
            genuine_ok += 1;
        }
    }
    println!(
        "attack: random-issuer flood, {SECONDS} s: {sent} tokens naming random issuers \
         ({:.0}/s, {refused_503} answered 503 once the strangers' loader budget was spent), \
         {} loader calls in all; {genuine_ok}/{genuine} tokens of 5 vouched tenants \
         (max_loaded_tenants 2, so loaded again and again) answered 200",
        sent as f64 / started.elapsed().as_secs_f64(),
        loads.load(Ordering::SeqCst),
    );
    assert!(refused_503 > 0, "the flood spent the strangers' budget");
    assert_eq!(
        genuine_ok, genuine,
        "every vouched tenant's token answered 200"
    );
}
