//! A `redis-server` of the test's own, on a free loopback port, without persistence
//! (`--save "" --appendonly no`), stopped when dropped; and a TCP proxy in front of it that a
//! test can cut and restore (one instance loses Redis while the others keep it).

use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::process::{Child, Command};
use tokio::sync::watch;

use crate::harness::find;

pub use crate::harness::REDIS;

/// A running `redis-server`.
pub struct RedisServer {
    child: Option<Child>,
    pub port: u16,
    /// TLS only on `port` (the certificates of `fixtures/redis-tls`), no plain port.
    tls: bool,
    /// More arguments (`--replicaof 127.0.0.1 <port>`).
    extra: Vec<String>,
}

/// A file of `tests/external/fixtures/redis-tls`: a test CA (`ca.crt`) and the certificate
/// it issued to `127.0.0.1` (`server.crt`, `server.key`), valid until 2126, made with
/// `openssl req -x509 -newkey ec` (P-256). Test-only keys: they protect nothing.
pub fn tls_fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/external/fixtures/redis-tls")
        .join(name)
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl RedisServer {
    /// Starts one on a free port; returns once it accepts connections.
    pub async fn start() -> RedisServer {
        RedisServer::launch(false).await
    }

    /// Starts one that speaks TLS only (no client certificates asked).
    #[cfg_attr(not(feature = "redis-tls"), allow(dead_code))]
    pub async fn start_tls() -> RedisServer {
        RedisServer::launch(true).await
    }

    /// Starts a replica of the server on `primary`.
    pub async fn start_replica_of(primary: u16) -> RedisServer {
        let extra = vec![
            "--replicaof".to_owned(),
            "127.0.0.1".to_owned(),
            primary.to_string(),
        ];
        RedisServer::launch_with(false, extra).await
    }

    /// Starts a node of a Redis Cluster to be (`--cluster-enabled yes`, no slots yet).
    #[cfg_attr(not(feature = "redis-cluster"), allow(dead_code))]
    pub async fn start_cluster_node() -> RedisServer {
        let extra = [
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            "nodes.conf",
            "--cluster-node-timeout",
            "2000",
        ];
        RedisServer::launch_with(false, extra.map(str::to_owned).to_vec()).await
    }

    async fn launch(tls: bool) -> RedisServer {
        RedisServer::launch_with(tls, Vec::new()).await
    }

    async fn launch_with(tls: bool, extra: Vec<String>) -> RedisServer {
        let mut server = RedisServer {
            child: None,
            port: free_port(),
            tls,
            extra,
        };
        server.restart().await;
        server
    }

    /// `redis://127.0.0.1:<port>`, or `rediss://` for a TLS server.
    pub fn url(&self) -> String {
        let scheme = if self.tls { "rediss" } else { "redis" };
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    /// This server's working directory (a replica's received snapshot goes there), made on
    /// first use and removed when the server is dropped.
    fn dir(&self) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "okta-oidc-redis-{}-{}",
            std::process::id(),
            self.port
        ));
        std::fs::create_dir_all(&dir).expect("a directory for redis-server");
        dir
    }

    /// Stops it (its data is gone: no persistence).
    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
        }
    }

    /// Starts it again on the same port, empty; returns once it accepts connections.
    pub async fn restart(&mut self) {
        self.stop().await;
        let program = find(&REDIS).expect("redis-server on PATH");
        let port = self.port.to_string();
        let ports = if self.tls {
            let file = |name: &str| tls_fixture(name).display().to_string();
            vec![
                "--port".to_owned(),
                "0".to_owned(),
                "--tls-port".to_owned(),
                port,
                "--tls-cert-file".to_owned(),
                file("server.crt"),
                "--tls-key-file".to_owned(),
                file("server.key"),
                "--tls-ca-cert-file".to_owned(),
                file("ca.crt"),
                "--tls-auth-clients".to_owned(),
                "no".to_owned(),
            ]
        } else {
            vec!["--port".to_owned(), port]
        };
        let mut child = Command::new(program)
            .args(&ports)
            .args(["--bind", "127.0.0.1"])
            .args(["--save", ""])
            .args(["--appendonly", "no"])
            .args(&self.extra)
            // A replica writes the primary's snapshot to its directory: one of its own.
            .arg("--dir")
            .arg(self.dir())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start redis-server");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let ready = tokio::time::timeout(Duration::from_secs(10), async {
            while let Ok(Some(line)) = lines.next_line().await {
                if line.contains("Ready to accept connections") {
                    return true;
                }
            }
            false
        })
        .await;
        assert!(matches!(ready, Ok(true)), "redis-server did not start");
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        self.child = Some(child);
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.start_kill();
        }
        let _ = std::fs::remove_dir_all(self.dir());
    }
}

/// A TCP proxy on a loopback port to `target`, which drops every connection while cut.
pub struct Proxy {
    pub port: u16,
    open: Arc<watch::Sender<bool>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Proxy {
    pub async fn start(target: u16) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let open = Arc::new(watch::Sender::new(true));
        let gate = Arc::clone(&open);
        let task = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if !*gate.borrow() {
                    continue; // dropped at once
                }
                let mut closed = gate.subscribe();
                tokio::spawn(async move {
                    let Ok(mut server) = TcpStream::connect(("127.0.0.1", target)).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = closed.wait_for(|open| !*open) => {}
                    }
                });
            }
        });
        Proxy { port, open, task }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Drops every connection, and refuses new ones until [`restore`](Self::restore).
    pub fn cut(&self) {
        self.open.send_replace(false);
    }

    pub fn restore(&self) {
        self.open.send_replace(true);
    }
}
