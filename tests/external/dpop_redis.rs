//! DPoP single use across instances (RFC 9449 §11.1) through a real Redis: two `OktaOidc`
//! instances, each with its own `RedisStore` on one `redis-server` started by the test, accept a
//! proof once between them. The proofs' `jti` markers are the revocation store's single-use
//! markers (`Dpop`'s default replay store), so nothing DPoP-specific is configured.
//!
//! Needs `redis-server` on PATH and the `redis` feature.

use axum::http::Request;
use axum::http::header::AUTHORIZATION;
use libtest_mimic::Failed;
use okta_oidc::store::RedisStore;
use okta_oidc::testing::{DpopKey, MockOkta};
use okta_oidc::{Dpop, OktaOidcLayer, ProtectedResource};

use crate::common::{api, builder_for, call};
use crate::harness::requires;
use crate::redis_server::{REDIS, RedisServer};

pub fn needs() -> Option<String> {
    requires(&REDIS)
}

pub async fn a_proof_is_single_use_across_two_instances_sharing_redis() -> Result<(), Failed> {
    let redis = RedisServer::start().await;
    let mock = MockOkta::start().await;
    let mut apps = Vec::new();
    for _ in 0..2 {
        let store = RedisStore::new(redis.url())?;
        store.wait_connected(true).await;
        let oidc = builder_for(&mock)
            .revocation_store(store)
            .protected_resource(ProtectedResource::new("https://api.example.com"))
            .dpop(Dpop::new())
            .build()
            .await?;
        apps.push(api(OktaOidcLayer::new(oidc)));
    }
    let key = DpopKey::es256();
    let token = mock.access_token().bound_to(&key).build();
    let send = |proof: &str| {
        Request::get("/api/me")
            .header(AUTHORIZATION, format!("DPoP {token}"))
            .header("dpop", proof)
    };
    let proof = key
        .proof("GET", "https://api.example.com/api/me")
        .claim("ath", DpopKey::ath(&token))
        .build();
    assert_eq!(call(&apps[0], send(&proof)).await.status, 200);
    let replayed = call(&apps[1], send(&proof)).await;
    assert_eq!(
        replayed.status, 401,
        "the other instance refuses the replay"
    );
    let challenge = replayed.headers.get_all("www-authenticate").iter();
    assert!(
        challenge
            .filter_map(|v| v.to_str().ok())
            .any(|v| v.contains("error=\"invalid_dpop_proof\"")),
        "{replayed:?}"
    );
    assert_eq!(call(&apps[0], send(&proof)).await.status, 401);
    let fresh = key
        .proof("GET", "https://api.example.com/api/me")
        .claim("ath", DpopKey::ath(&token))
        .build();
    assert_eq!(call(&apps[1], send(&fresh)).await.status, 200);
    Ok(())
}

/// The api example's contract: with `REDIS_URL`, a proof's `jti` is single use across
/// instances. Two instances of the example (its own `build`, from a map of its variables)
/// behind one `APP_BASE_URL`, as behind a load balancer, on one `redis-server`.
pub async fn the_api_examples_proofs_are_single_use_across_instances() -> Result<(), Failed> {
    use crate::api_example::{build, demo_proof, shared::Env};

    let redis = RedisServer::start().await;
    let mock = MockOkta::start().await;
    let mut listeners = Vec::new();
    for _ in 0..2 {
        listeners.push(tokio::net::TcpListener::bind("127.0.0.1:0").await?);
    }
    // Both instances know the API by the first one's URL (the load balancer's, here).
    let base = format!("http://{}", listeners[0].local_addr()?);
    let mut urls = Vec::new();
    for listener in listeners {
        let addr = listener.local_addr()?;
        let vars = [
            ("OKTA_ISSUER", mock.issuer()),
            ("OKTA_AUDIENCE", "api://default".to_owned()),
            ("OKTA_ALLOW_LOOPBACK_HTTP", "1".to_owned()),
            ("OKTA_DPOP", "allowed".to_owned()),
            ("REDIS_URL", redis.url()),
            ("APP_BASE_URL", base.clone()),
        ];
        let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let api = build(&Env::from_pairs(&vars), addr).await?;
        tokio::spawn(async move { axum::serve(listener, api.router).await });
        urls.push(format!("http://{addr}/api/me"));
    }
    let token = mock.access_token().bound_to(&DpopKey::es256()).build();
    let htu = format!("{base}/api/me");
    let http = crate::common::client();
    let send = |url: String, proof: String| {
        http.get(url)
            .header("authorization", format!("DPoP {token}"))
            .header("dpop", proof)
            .send()
    };
    // Each instance answers a fresh proof once its store is connected (bounded wait).
    for url in &urls {
        let mut status = 0;
        for _ in 0..100 {
            status = send(url.clone(), demo_proof("GET", &htu, &token, None))
                .await?
                .status()
                .as_u16();
            if status != 503 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert_eq!(status, 200, "{url}");
    }
    let proof = demo_proof("GET", &htu, &token, None);
    let first = send(urls[0].clone(), proof.clone()).await?.status();
    assert_eq!(first, 200);
    let replayed = send(urls[1].clone(), proof).await?.status();
    assert_eq!(
        replayed, 401,
        "the other instance refuses the replayed proof"
    );
    Ok(())
}
