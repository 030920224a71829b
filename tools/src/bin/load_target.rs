//! The HTTP server that `benches/load.sh` loads: one axum app, with the mock Okta embedded.
//!
//! - `GET /open`: no authentication (the baseline);
//! - `GET /layered`: the same handler as `/open`, behind `OktaOidcLayer` (the layer's cost);
//! - `GET /auth`: behind `OktaOidcLayer`, answers the token's `sub`;
//! - `POST /admin/slow-rotation`: from now on the mock's key endpoint answers after 2 s, a new
//!   signing key is published, and the server keeps a key-set refresh in flight (one after
//!   another) for 30 s, so the load runs while a slow refresh is under way.
//!
//! On start it writes tokens for the mock's tenant, one a line, into `<dir>`: `token.txt` (one
//! token, for the repeated-token runs), `tokens.txt` (1,000 distinct tokens), `working_set.txt`
//! (`--working-set N` distinct tokens, default 20,000) and `fresh.txt` (`--fresh N` more, default
//! none: tokens the server has never seen, each sent once), then prints
//! `listening on http://127.0.0.1:<port>`. Tokens are signed on every core before it listens.
//!
//! ```text
//! cargo run --release -p okta-oidc-tools --bin load_target -- [--port 3999] [--dir target/load] \
//!     [--no-cache] [--working-set 20000] [--fresh 0]
//! ```
//!
//! The server runs on one Tokio worker thread, so a load generator on the second core of a
//! 2-core machine does not compete with it (`load.sh` pins it to one core once it listens).
//! Loopback only.

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
    working_set: usize,
    fresh: usize,
}

fn args() -> Args {
    let mut args = Args {
        port: 3999,
        dir: "target/load".into(),
        cache: true,
        working_set: 20_000,
        fresh: 0,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--port" => args.port = it.next().and_then(|p| p.parse().ok()).expect("--port N"),
            "--dir" => args.dir = it.next().expect("--dir PATH"),
            "--no-cache" => args.cache = false,
            "--working-set" => args.working_set = number(it.next(), "--working-set N"),
            "--fresh" => args.fresh = number(it.next(), "--fresh N"),
            other => panic!("unknown argument {other:?}"),
        }
    }
    args
}

fn number(arg: Option<String>, usage: &str) -> usize {
    arg.and_then(|n| n.parse().ok()).expect(usage)
}

/// `n` distinct ID tokens of the mock (a distinct `jti` each), signed on every core, one a line.
fn distinct_tokens(okta: &MockOkta, n: usize) -> String {
    let threads = std::thread::available_parallelism().map_or(1, |t| t.get());
    let per_thread = n.div_ceil(threads);
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                let count = per_thread.min(n.saturating_sub(t * per_thread));
                scope.spawn(move || {
                    let mut lines = String::new();
                    for _ in 0..count {
                        lines.push_str(&okta.id_token().build());
                        lines.push('\n');
                    }
                    lines
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("signing thread"))
            .collect()
    })
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
    for (file, n) in [
        ("tokens.txt", DISTINCT_TOKENS),
        ("working_set.txt", args.working_set),
        ("fresh.txt", args.fresh),
    ] {
        std::fs::write(format!("{}/{file}", args.dir), distinct_tokens(&okta, n))?;
    }

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
        .route("/layered", get(ok))
        .layer(OktaOidcLayer::new(oidc))
        .route("/open", get(ok))
        .route("/admin/slow-rotation", post(admin));

    let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port)).await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}

/// The handler of `/open` and `/layered`.
async fn ok() -> &'static str {
    "ok"
}
