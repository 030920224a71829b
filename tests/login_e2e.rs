//! End to end in a real browser: headless Chromium (Debian's `chromium`) signs in through the
//! `web_app` example (offline, embedded mock Okta) and sees the user's name on `/profile`.
//!
//! The example binary is built by `cargo test` (examples are built with the tests); with
//! another runner, `cargo build --example web_app` first. Without Chromium or the binary the
//! test is skipped with a message, except under `CI`, where it fails.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

fn skip_or_fail(message: &str) {
    if std::env::var_os("CI").is_some() {
        panic!("{message}");
    }
    eprintln!("SKIPPED end-to-end test: {message}");
}

fn chromium() -> Option<PathBuf> {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

fn web_app_binary() -> Option<PathBuf> {
    // target/<profile>/deps/login_e2e-… → target/<profile>/examples/web_app
    let exe = std::env::current_exe().ok()?;
    let profile_dir = exe.parent()?.parent()?;
    let path = profile_dir
        .join("examples")
        .join(format!("web_app{}", std::env::consts::EXE_SUFFIX));
    path.exists().then_some(path)
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[tokio::test]
async fn chromium_signs_in_through_the_web_app_example() {
    let Some(chromium) = chromium() else {
        return skip_or_fail("chromium is not installed (apt-get install -y chromium)");
    };
    let Some(web_app) = web_app_binary() else {
        return skip_or_fail("the web_app example is not built (cargo build --example web_app)");
    };
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut app = Command::new(&web_app)
        .env("BIND_ADDR", format!("127.0.0.1:{port}"))
        .env("APP_BASE_URL", &base)
        .env("SESSION_SECRET", "e2e-session-secret-e2e-session-secret")
        .env_remove("OKTA_ISSUER")
        .env_remove("OKTA_TENANTS_FILE")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start the web_app example");
    let mut lines = BufReader::new(app.stdout.take().unwrap()).lines();
    let ready = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if line.starts_with("Open ") {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(ready, Ok(true), "web_app did not start");
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });

    let profile_dir =
        std::env::temp_dir().join(format!("okta-oidc-e2e-{}-{port}", std::process::id()));
    let output = tokio::time::timeout(
        Duration::from_secs(120),
        Command::new(&chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--no-default-browser-check",
            ])
            .arg(format!("--user-data-dir={}", profile_dir.display()))
            .arg("--dump-dom")
            // /profile → /auth/login → mock Okta authorize → /auth/callback → /profile
            .arg(format!("{base}/profile"))
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("chromium timed out")
    .expect("run chromium");
    let _ = std::fs::remove_dir_all(&profile_dir);
    let dom = String::from_utf8_lossy(&output.stdout);
    assert!(
        dom.contains("<h1 id=\"name\">Sam Sample</h1>"),
        "the profile page did not show the user: {dom}"
    );
    assert!(dom.contains("sam.sample@example.com"));
    drop(app);
}
