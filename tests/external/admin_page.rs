//! The web_app example's admin page in headless Chromium: `scripts/admin-screenshot.mjs` signs
//! the sample admin in through the embedded mock Okta, presses "Check all" (a same-origin POST)
//! and captures the page; the script fails unless the page shows both tenants' diagnoses. The
//! committed `docs/admin-tenants.png` is this run's picture.

use std::path::PathBuf;
use std::time::Duration;

use libtest_mimic::Failed;
use tokio::process::Command;

use crate::harness::{CHROMIUM, NODE, find, requires};

/// Chromium, Node, and the `web_app` example built.
pub fn needs() -> Option<String> {
    requires(&CHROMIUM).or_else(|| requires(&NODE)).or_else(|| {
        web_app_binary().is_none().then(|| {
            "the web_app example is not built: cargo build --all-features --example web_app"
                .to_owned()
        })
    })
}

fn web_app_binary() -> Option<PathBuf> {
    // target/<profile>/deps/external-… → target/<profile>/examples/web_app
    let exe = std::env::current_exe().ok()?;
    let path = exe
        .parent()?
        .parent()?
        .join("examples")
        .join(format!("web_app{}", std::env::consts::EXE_SUFFIX));
    path.exists().then_some(path)
}

pub async fn chromium_checks_tenants_on_the_admin_page() -> Result<(), Failed> {
    let node = find(&NODE).ok_or("node is gone")?;
    let web_app = web_app_binary().ok_or("the web_app example is gone")?;
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/admin-screenshot.mjs");
    let out = std::env::temp_dir().join(format!("okta-oidc-admin-{}.png", std::process::id()));
    let output = tokio::time::timeout(
        Duration::from_secs(150),
        Command::new(node)
            .arg("--experimental-websocket")
            .arg(&script)
            .arg(&web_app)
            .arg(&out)
            .kill_on_drop(true)
            .output(),
    )
    .await
    .map_err(|_| "the screenshot script timed out")?
    .map_err(|e| format!("run node: {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("26 checks"), "{stdout}");
    let png = std::fs::read(&out).map_err(|e| format!("read {}: {e}", out.display()))?;
    let _ = std::fs::remove_file(&out);
    assert!(png.starts_with(b"\x89PNG"), "not a PNG");
    Ok(())
}
