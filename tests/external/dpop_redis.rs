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
