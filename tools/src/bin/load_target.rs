//! The HTTP server that `benches/load.sh` loads: one axum app, with the mock Okta embedded.
//!
//! - `GET /open`: no authentication (the baseline);
//! - `GET /auth`: behind `OktaOidcLayer`, answers the token's `sub`;
//! - `POST /admin/slow-rotation`: from now on the mock's key endpoint answers after 2 s, a new
//!   signing key is published, and the server keeps a key-set refresh in flight (one after
//!   another) for 30 s, so the load runs while a slow refresh is under way.
//!
//! On start it writes tokens for the mock's tenant, one a line: `<dir>/token.txt` (one token,
//! for the repeated-token run) and `<dir>/tokens.txt` (1,000 distinct tokens), then prints
//! `listening on http://127.0.0.1:<port>`.
//!
//! ```text
//! cargo run --release -p okta-oidc-tools --bin load_target -- [--port 3999] [--dir target/load] [--no-cache]
//! ```
//!
//! The server runs on one Tokio worker thread, so a load generator on the second core of a
//! 2-core machine does not compete with it. Loopback only.

use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use okta_oidc::testing::{Endpoint, Fault, MockOkta};
use okta_oidc::{Claims, OktaOidc, OktaOidcLayer, Tenant};

const DISTINCT_TOKENS: usize = 1_000;

struct Args {
    port: u16,
    dir: String,
    cache: bool,
}

fn args() -> Args {
    let mut args = Args {
        port: 3999,
        dir: "target/load".into(),
        cache: true,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--port" => args.port = it.next().and_then(|p| p.parse().ok()).expect("--port N"),
            "--dir" => args.dir = it.next().expect("--dir PATH"),
            "--no-cache" => args.cache = false,
            other => panic!("unknown argument {other:?}"),
        }
    }
    args
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?
        .block_on(run(args()))
}

async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let okta = MockOkta::start().await;
    let mut builder = OktaOidc::builder()
        .allow_loopback_http(true)
        .tenant(Tenant::new("load", okta.issuer()).client_id(okta.client_id()))
        .http_timeout(Duration::from_secs(5));
    if !args.cache {
        builder = builder.disable_token_cache();
    }
    let oidc = builder.build().await?;

    std::fs::create_dir_all(&args.dir)?;
    std::fs::write(
        format!("{}/token.txt", args.dir),
        okta.id_token().build() + "\n",
    )?;
    let mut many = String::new();
    for _ in 0..DISTINCT_TOKENS {
        many.push_str(&okta.id_token().build()); // distinct `jti` each
        many.push('\n');
    }
    std::fs::write(format!("{}/tokens.txt", args.dir), many)?;

    let admin = {
        let (okta, oidc) = (okta.clone(), oidc.clone());
        move || async move {
            okta.set_fault(Endpoint::Keys, Fault::Delay(Duration::from_secs(2)));
            okta.rotate_keys(); // the old key stays published, as in an Okta rotation
            let (okta, oidc) = (okta.clone(), oidc.clone());
            tokio::spawn(async move {
                let until = tokio::time::Instant::now() + Duration::from_secs(30);
                while tokio::time::Instant::now() < until {
                    let _ = oidc.refresh_keys("load").await; // takes 2 s each
                }
                okta.clear_fault(Endpoint::Keys);
            });
            "slow key endpoint and rotation under way for 30 s\n"
        }
    };
    let app = Router::new()
        .route(
            "/auth",
            get(|claims: Claims| async move { claims.sub.clone() }),
        )
        .layer(OktaOidcLayer::new(oidc))
        .route("/open", get(|| async { "ok" }))
        .route("/admin/slow-rotation", post(admin));

    let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port)).await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
