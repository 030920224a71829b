//! DPoP single use across instances (RFC 9449 §11.1) through a real Redis: two `OktaOidc`
//! instances, each with its own connection to one `redis-server` started by the test, accept a
//! proof once between them.
//!
//! FOR THE LEAD (merge of #8/#10): the replay store here is a minimal RESP client written for
//! this test (`SET key 1 NX PX ttl`), plugged in through the public `ProofReplay` seam. Once
//! `src/store/` lands, replace `RedisReplay` with the store's Redis implementation (an
//! `impl ProofReplay` over `mark_used("dpop_jti", key, ttl)`) and keep the assertions.
//!
//! Needs `redis-server` on PATH.

use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use axum::http::Request;
use axum::http::header::AUTHORIZATION;
use libtest_mimic::Failed;
use okta_oidc::testing::{DpopKey, MockOkta};
use okta_oidc::{Dpop, OktaOidcLayer, ProofReplay, ProtectedResource, ReplayFuture};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};
use tokio::sync::Mutex;

use crate::common::{api, builder_for, call};
use crate::harness::{REDIS, requires};

pub fn needs() -> Option<String> {
    requires(&REDIS)
}

/// A `ProofReplay` over one Redis connection: `SET key 1 NX PX ttl` answers `+OK` the first
/// time, a null bulk string after.
struct RedisReplay {
    connection: Mutex<BufReader<TcpStream>>,
}

impl RedisReplay {
    async fn connect(port: u16) -> std::io::Result<RedisReplay> {
        let stream = TcpStream::connect(("127.0.0.1", port)).await?;
        Ok(RedisReplay {
            connection: Mutex::new(BufReader::new(stream)),
        })
    }

    async fn command(&self, args: &[&str]) -> std::io::Result<String> {
        let mut request = format!("*{}\r\n", args.len());
        for arg in args {
            request.push_str(&format!("${}\r\n{arg}\r\n", arg.len()));
        }
        let mut connection = self.connection.lock().await;
        connection.get_mut().write_all(request.as_bytes()).await?;
        let mut line = String::new();
        connection.read_line(&mut line).await?;
        Ok(line.trim_end().to_owned())
    }
}

impl ProofReplay for RedisReplay {
    fn first_use<'a>(&'a self, key: &'a str, ttl: Duration) -> ReplayFuture<'a> {
        Box::pin(async move {
            let key = format!("dpop_jti:{key}");
            let millis = ttl.as_millis().to_string();
            match self
                .command(&["SET", &key, "1", "NX", "PX", &millis])
                .await?
                .as_str()
            {
                "+OK" => Ok(true),
                "$-1" => Ok(false),
                other => Err(format!("unexpected Redis answer {other:?}").into()),
            }
        })
    }
}

/// `redis-server` on a free loopback port, without persistence; killed on drop.
async fn start_redis() -> Result<(Child, u16), Failed> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let child = Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let mut child = child;
    let stdout = child.stdout.take().ok_or("redis-server stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let ready = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(line) = lines.next_line().await? {
            if line.contains("Ready to accept connections") {
                return Ok::<_, std::io::Error>(true);
            }
        }
        Ok(false)
    })
    .await;
    if !matches!(ready, Ok(Ok(true))) {
        return Err("redis-server did not become ready".into());
    }
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Ok((child, port))
}

pub async fn a_proof_is_single_use_across_two_instances_sharing_redis() -> Result<(), Failed> {
    let (_redis, port) = start_redis().await?;
    let mock = MockOkta::start().await;
    let mut apps = Vec::new();
    let mut stores = Vec::new();
    for _ in 0..2 {
        let store = Arc::new(RedisReplay::connect(port).await?);
        stores.push(Arc::clone(&store));
        let oidc = builder_for(&mock)
            .protected_resource(ProtectedResource::new("https://api.example.com"))
            .dpop(Dpop::new().replay_store(store))
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
    assert_eq!(replayed.status, 401);
    let challenge = replayed.headers.get_all("www-authenticate").iter();
    assert!(
        challenge
            .filter_map(|v| v.to_str().ok())
            .any(|v| v.contains("error=\"invalid_dpop_proof\"")),
        "{replayed:?}"
    );
    assert_eq!(call(&apps[0], send(&proof)).await.status, 401);
    // One marker, for the one proof.
    assert_eq!(stores[0].command(&["DBSIZE"]).await?, ":1");
    let fresh = key
        .proof("GET", "https://api.example.com/api/me")
        .claim("ath", DpopKey::ath(&token))
        .build();
    assert_eq!(call(&apps[1], send(&fresh)).await.status, 200);
    Ok(())
}
