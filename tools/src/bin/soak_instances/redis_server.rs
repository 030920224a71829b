//! A `redis-server` of the soak's own, on a free loopback port, without persistence, in a
//! directory of its own; and a TCP proxy in front of it that the soak cuts and restores (one
//! instance loses Redis while the others keep it). The shape of `tests/external/redis_server.rs`.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::process::{Child, Command};
use tokio::sync::watch;

/// The program: `REDIS_SERVER`, else `/usr/bin/redis-server` if present, else `redis-server`.
fn program() -> String {
    if let Ok(p) = std::env::var("REDIS_SERVER") {
        return p;
    }
    if std::path::Path::new("/usr/bin/redis-server").exists() {
        return "/usr/bin/redis-server".to_owned();
    }
    "redis-server".to_owned()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// A running `redis-server`, stopped (and its directory removed) when dropped.
pub struct RedisServer {
    child: Option<Child>,
    pub port: u16,
    dir: PathBuf,
}

impl RedisServer {
    /// Starts one on a free port; returns once it accepts connections.
    pub async fn start() -> Result<RedisServer, String> {
        let port = free_port();
        let dir = std::env::temp_dir().join(format!(
            "okta-oidc-soak-redis-{}-{port}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let mut server = RedisServer {
            child: None,
            port,
            dir,
        };
        server.restart().await?;
        Ok(server)
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Stops it: its data is gone (no persistence).
    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
        }
    }

    /// Starts it again on the same port, empty (any snapshot removed); returns once it accepts
    /// connections.
    pub async fn restart(&mut self) -> Result<(), String> {
        self.stop().await;
        let _ = std::fs::remove_file(self.dir.join("dump.rdb"));
        self.launch().await
    }

    /// Starts it again on the same port from the snapshot a `SAVE` left in its directory
    /// (`dump.rdb`, loaded at start); returns once it accepts connections. Whether a snapshot
    /// was there.
    pub async fn restart_from_snapshot(&mut self) -> Result<bool, String> {
        self.stop().await;
        let there = self.dir.join("dump.rdb").exists();
        self.launch().await?;
        Ok(there)
    }

    async fn launch(&mut self) -> Result<(), String> {
        let mut child = Command::new(program())
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1"])
            .args(["--save", ""])
            .args(["--appendonly", "no"])
            .arg("--dir")
            .arg(&self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("start redis-server: {e}"))?;
        let stdout = child.stdout.take().ok_or("redis-server stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let ready = tokio::time::timeout(Duration::from_secs(10), async {
            while let Ok(Some(line)) = lines.next_line().await {
                if line.contains("Ready to accept connections") {
                    return true;
                }
            }
            false
        })
        .await;
        if !matches!(ready, Ok(true)) {
            let _ = child.kill().await;
            return Err(format!("redis-server did not start on port {}", self.port));
        }
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        self.child = Some(child);
        Ok(())
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.start_kill();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
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
    pub async fn start(target: u16) -> Result<Proxy, String> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| e.to_string())?;
        let port = listener.local_addr().map_err(|e| e.to_string())?.port();
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
        Ok(Proxy { port, open, task })
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
