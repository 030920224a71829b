//! DPoP interop (RFC 9449) with code nobody here wrote: `oidc-provider@8.8.1` issues
//! DPoP-bound JWT access tokens (client credentials, `cnf.jkt`), and `oauth4webapi@3.8.8`
//! (tests/interop/dpop_client.mjs) reads the API's RFC 9728 metadata, makes the proofs and calls
//! the API — through a server nonce (RFC 9449 §9) — then calls it again without a proof.
//!
//! Needs `node` (and `npm` when tests/interop/node_modules is not installed): see `interop.rs`.

use axum::routing::get;
use axum::{Json, Router};
use libtest_mimic::Failed;
use okta_oidc::{Claims, Dpop, OktaOidc, OktaOidcLayer, ProtectedResource, Tenant};
use serde_json::Value;
use tokio::process::Command;

use crate::interop::{install_packages, start_op};

pub use crate::interop::needs;

pub async fn oidc_provider_dpop_tokens_with_oauth4webapi_proofs() -> Result<(), Failed> {
    let dir = install_packages()?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let app = format!("http://{}", listener.local_addr()?);
    // A resource with a path: the metadata is at /.well-known/oauth-protected-resource/api.
    let resource = format!("{app}/api");
    let keys = std::env::temp_dir().join(format!(
        "okta-oidc-dpop-interop-{}-{}.json",
        std::process::id(),
        listener.local_addr()?.port()
    ));
    let _ = std::fs::remove_file(&keys);
    let op = start_op(&dir, 0, &keys, &app, &["--dpop-resource", &resource]).await;
    let issuer = format!("http://127.0.0.1:{}", op.port);

    let oidc = OktaOidc::builder()
        .allow_loopback_http(true)
        .tenant(
            Tenant::new("op", &issuer)
                .audience(&resource)
                .access_token_typ(["at+jwt"]),
        )
        .protected_resource(ProtectedResource::new(&resource).scopes_supported(["orders:read"]))
        .dpop(Dpop::new().server_nonces([5u8; 32]))
        .build()
        .await
        .map_err(|e| format!("discovery and keys of oidc-provider: {e}"))?;
    let router = Router::new()
        .route("/api/orders", get(|c: Claims| async move { Json(c) }))
        .layer(OktaOidcLayer::new(oidc.clone()))
        .merge(oidc.resource_metadata_router());
    tokio::spawn(async move { axum::serve(listener, router).await });

    let output = Command::new("node")
        .arg(dir.join("dpop_client.mjs"))
        .args(["--issuer", &issuer, "--resource", &resource])
        .args(["--api", &format!("{app}/api/orders")])
        .output()
        .await?;
    drop(op);
    let _ = std::fs::remove_file(&keys);
    if !output.status.success() {
        return Err(format!(
            "dpop_client.mjs failed ({}):\n{}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .last()
        .ok_or("dpop_client.mjs printed nothing")?;
    let out: Value = serde_json::from_str(line)?;

    // RFC 9728: oauth4webapi checked `resource`; it names this tenant's issuer.
    assert_eq!(out["metadata"]["resource"], resource.as_str(), "{out}");
    assert_eq!(out["metadata"]["authorization_servers"][0], issuer.as_str());
    let algs = out["metadata"]["dpop_signing_alg_values_supported"].to_string();
    assert!(algs.contains("ES256"), "{algs}");
    // A DPoP-bound token, accepted with oauth4webapi's proof (after a nonce round trip).
    assert!(
        out["token_type"]
            .as_str()
            .unwrap_or("")
            .eq_ignore_ascii_case("dpop"),
        "{out}"
    );
    assert_eq!(out["nonce_retry"], true, "{out}");
    assert_eq!(out["with_proof"]["status"], 200, "{out}");
    let claims = &out["with_proof"]["body"];
    assert_eq!(claims["sub"], "interop-client", "{out}");
    assert!(claims["cnf"]["jkt"].is_string(), "{out}");
    // And refused without one.
    assert_eq!(out["as_bearer"]["status"], 401, "{out}");
    let bearer = out["as_bearer"]["challenge"].as_str().unwrap_or("");
    assert!(bearer.contains("error=\"invalid_token\""), "{bearer}");
    assert_eq!(out["without_proof"]["status"], 401, "{out}");
    let missing = out["without_proof"]["challenge"].as_str().unwrap_or("");
    assert!(
        missing.contains("error=\"invalid_dpop_proof\""),
        "{missing}"
    );
    Ok(())
}
