//! The harness of the external tests (libtest-mimic): a trial per test, what each one needs,
//! and the report of those that could not run.
//!
//! A trial whose tool is missing is reported `ignored (<reason>)`, and the run ends with a
//! banner on stderr naming every such trial, so a summary line with `ok` never hides a test
//! that did not run. With `OKTA_OIDC_REQUIRE_EXTERNAL=1` (CI sets it) a missing tool fails the
//! trial instead.

use std::future::Future;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use libtest_mimic::{Arguments, Completion, Failed, Trial};

/// Set (to anything but `0` or empty) to turn "tool missing → ignored" into "tool missing →
/// failed".
pub const REQUIRE_ENV: &str = "OKTA_OIDC_REQUIRE_EXTERNAL";

/// A program a test needs, and how to get it.
pub struct Tool {
    /// The name in messages.
    pub name: &'static str,
    /// Executable names to look for on `PATH`, first found wins.
    pub executables: &'static [&'static str],
    /// How to install it (Debian).
    pub install: &'static str,
}

pub const CHROMIUM: Tool = Tool {
    name: "chromium",
    executables: &["chromium", "chromium-browser"],
    install: "apt-get install -y chromium",
};

pub const NODE: Tool = Tool {
    name: "node",
    executables: &["node"],
    install: "apt-get install -y nodejs",
};

pub const NPM: Tool = Tool {
    name: "npm",
    executables: &["npm"],
    install: "apt-get install -y npm",
};

pub const REDIS: Tool = Tool {
    name: "redis-server",
    executables: &["redis-server"],
    install: "apt-get install -y redis-server",
};

/// Where `tool` is on `PATH`, if it is there.
pub fn find(tool: &Tool) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).find_map(|dir| {
        tool.executables
            .iter()
            .map(|name| dir.join(name))
            .find(|candidate| is_executable(candidate))
    })
}

fn is_executable(path: &std::path::Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    {
        path.is_file() || path.with_extension("exe").is_file()
    }
}

/// Why a test that needs `tool` cannot run here, or `None` when it can.
pub fn requires(tool: &Tool) -> Option<String> {
    find(tool).is_none().then(|| {
        format!(
            "{} not found on PATH; install it: {}",
            tool.name, tool.install
        )
    })
}

/// What a trial needs: `None` when it can run, else why it cannot (see [`requires`]).
pub type Needs = fn() -> Option<String>;

/// Trials that were skipped in this run, with the reason.
static SKIPPED: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());

fn required() -> bool {
    std::env::var_os(REQUIRE_ENV).is_some_and(|v| !v.is_empty() && v != "0")
}

/// A trial named `name` that runs `test` on its own multi-threaded tokio runtime when `needs`
/// finds everything it needs (checked when the trial runs, not when it is listed).
pub fn trial<F, Fut>(name: &'static str, needs: Needs, test: F) -> Trial
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = Result<(), Failed>>,
{
    Trial::ignorable_test(name, move || {
        if let Some(reason) = needs() {
            if required() {
                return Err(
                    format!("{reason} ({REQUIRE_ENV} is set: a missing tool fails)").into(),
                );
            }
            SKIPPED
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push((name.to_owned(), reason.clone()));
            return Ok(Completion::ignored_with(reason));
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("tokio runtime: {e}"))?;
        let outcome = runtime.block_on(test());
        // Child processes are killed on drop; do not wait long for anything left behind.
        runtime.shutdown_timeout(Duration::from_secs(5));
        outcome.map(|()| Completion::Completed)
    })
}

/// Runs the trials like `cargo test` would (same arguments), prints the banner of skipped
/// trials, and exits with the outcome.
pub fn run(trials: Vec<Trial>) -> ! {
    let args = Arguments::from_args();
    let conclusion = libtest_mimic::run(&args, trials);
    let mut skipped = std::mem::take(&mut *SKIPPED.lock().unwrap_or_else(|e| e.into_inner()));
    skipped.sort();
    if !skipped.is_empty() {
        let _ = std::io::stdout().flush();
        eprintln!("{}", banner(&skipped));
    }
    conclusion.exit()
}

fn banner(skipped: &[(String, String)]) -> String {
    let rule = "=".repeat(78);
    let count = match skipped.len() {
        1 => "1 test".to_owned(),
        n => format!("{n} tests"),
    };
    let mut text = format!("\n{rule}\n");
    if let [(name, reason)] = skipped {
        text += &format!("SKIPPED {count}: {reason}\n  {name}\n");
    } else {
        text += &format!("SKIPPED {count}:\n");
        for (name, reason) in skipped {
            text += &format!("  {name}: {reason}\n");
        }
    }
    text += &format!(
        "They did NOT run: the result above says nothing about them.\n\
         Install what is missing, or set {REQUIRE_ENV}=1 to make a missing tool fail.\n{rule}"
    );
    text
}
