//! The web_app example's admin page, `/admin/tenants`: every tenant with its issuer, key-set age
//! and last refresh, introspection budget left and the revocation store's state, and a "Check"
//! button that runs the tenant doctor (`OktaOidc::diagnose`) and shows its result.
//!
//! Served only to a signed-in user whose `sub` or email is in `ADMIN_USERS` (comma-separated);
//! to anyone else, and to everyone while `ADMIN_USERS` is unset, the page does not exist (404).
//! Mount it behind `Login::layer().optional()`: the session layer then refuses (403) a POST
//! that carries the session cookie from another site, the crate's CSRF rule for every
//! state-changing request, so "Check" cannot be pressed by another site.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use futures_util::StreamExt;
use okta_oidc::testing::MockOkta;
use okta_oidc::{Claims, Diagnosis, DiagnosisOptions, OktaOidc, Status, Tenant};

/// The page's state: who may see it, how to diagnose, and the last diagnosis of each tenant.
pub struct Admin {
    oidc: OktaOidc,
    admins: Vec<String>,
    options: DiagnosisOptions,
    /// The app's path (`""` at the root): every link carries it.
    path: String,
    last: Mutex<HashMap<String, (Diagnosis, SystemTime)>>,
}

impl Admin {
    /// `admins`: the `ADMIN_USERS` value (`None`: nobody). `app_base_url`: the app's public URL,
    /// whose `/auth/callback` is the redirect URI checked and whose Universal Logout endpoint
    /// must be reachable.
    pub fn new(oidc: OktaOidc, admins: Option<String>, app_base_url: &str, path: &str) -> Self {
        let admins = admins
            .unwrap_or_default()
            .split(',')
            .map(|a| a.trim().to_lowercase())
            .filter(|a| !a.is_empty())
            .collect();
        let options = DiagnosisOptions::new()
            .redirect_uri(format!("{app_base_url}/auth/callback"))
            .app_url(app_base_url);
        Admin {
            oidc,
            admins,
            options,
            path: path.to_owned(),
            last: Mutex::new(HashMap::new()),
        }
    }

    /// Whether the signed-in user is an admin: `sub` or email listed (emails case-insensitive).
    fn allows(&self, claims: Option<&Claims>) -> bool {
        let Some(claims) = claims else { return false };
        let sub = claims.sub.to_lowercase();
        let email = claims.email.as_deref().map(str::to_lowercase);
        self.admins
            .iter()
            .any(|a| *a == sub || Some(a) == email.as_ref())
    }
}

/// `GET` and `POST /admin/tenants` under the app's path. Layer it with
/// `login.layer().optional()`.
pub fn router(admin: Arc<Admin>) -> Router {
    let route = format!("{}/admin/tenants", admin.path);
    Router::new()
        .route(&route, get(page).post(check))
        .with_state(admin)
}

/// For the offline demo (`DEMO_BROKEN_TENANT=1`): a second mock org, "globex", whose tenant
/// has a wrong client secret and whose app has another redirect URI registered, so the page
/// shows a failing tenant beside the passing one. Keep the `MockOkta` alive.
pub async fn demo_broken_tenant() -> Option<(MockOkta, Tenant)> {
    std::env::var("DEMO_BROKEN_TENANT")
        .ok()
        .filter(|v| v == "1")?;
    let globex = MockOkta::builder()
        .client_id("0oa1globexapp")
        .redirect_uri("https://globex.example.com/auth/callback")
        .build()
        .await;
    let tenant =
        Tenant::new("globex", globex.issuer()).client(globex.client_id(), "pasted-the-old-secret");
    Some((globex, tenant))
}

#[derive(serde::Deserialize)]
struct CheckForm {
    /// A tenant id, or `*` for all.
    tenant: String,
}

async fn check(
    State(admin): State<Arc<Admin>>,
    claims: Option<Claims>,
    Form(form): Form<CheckForm>,
) -> Response {
    if !admin.allows(claims.as_ref()) {
        return StatusCode::NOT_FOUND.into_response();
    }
    let ids: Vec<String> = if form.tenant == "*" {
        admin
            .oidc
            .tenants()
            .iter()
            .map(|t| t.id().to_owned())
            .collect()
    } else {
        vec![form.tenant]
    };
    // At most four tenants at once: "Check all" must not burst every customer's org.
    let runs = futures_util::stream::iter(ids.into_iter().map(|id| {
        let admin = Arc::clone(&admin);
        async move {
            let diagnosis = admin.oidc.diagnose(&id, &admin.options).await;
            (id, diagnosis)
        }
    }))
    .buffer_unordered(4)
    .collect::<Vec<_>>()
    .await;
    for (id, diagnosis) in runs {
        if let Some(diagnosis) = diagnosis {
            let mut last = admin.last.lock().unwrap_or_else(|e| e.into_inner());
            last.insert(id, (diagnosis, SystemTime::now()));
        }
    }
    // Post/Redirect/Get: a reload does not run the checks again.
    Redirect::to(&format!("{}/admin/tenants", admin.path)).into_response()
}

async fn page(State(admin): State<Arc<Admin>>, claims: Option<Claims>) -> Response {
    if !admin.allows(claims.as_ref()) {
        return StatusCode::NOT_FOUND.into_response();
    }
    let who = claims
        .as_ref()
        .and_then(|c| c.email.clone().or_else(|| c.name.clone()))
        .unwrap_or_default();
    let action = format!("{}/admin/tenants", escape(&admin.path));
    let store = admin.oidc.revocation_status();
    let mut tenants = admin.oidc.tenants();
    tenants.sort_by(|a, b| a.id().cmp(b.id()));
    let last = admin.last.lock().unwrap_or_else(|e| e.into_inner()).clone();

    let mut rows = String::new();
    for tenant in &tenants {
        let Some(status) = admin.oidc.tenant_status(tenant.id()) else {
            continue;
        };
        let keys = match (status.keys.key_count, status.keys.age) {
            (0, _) | (_, None) => "<span class=\"muted\">not loaded yet</span>".to_owned(),
            (n, Some(age)) => format!("{n} key{} · {} ago", plural(n), ago(age)),
        };
        let refresh = match (&status.keys.last_error, status.keys.age) {
            (Some(error), _) => format!(
                "<span class=\"pill fail\">failed ×{}</span> <span class=\"small\">{}</span>",
                status.keys.consecutive_failures,
                escape(&error.to_string())
            ),
            (None, Some(_)) => "<span class=\"pill pass\">OK</span>".to_owned(),
            (None, None) => "<span class=\"muted\">—</span>".to_owned(),
        };
        let id = escape(tenant.id());
        let _ = write!(
            rows,
            "<tr id=\"tenant-{id}\"><td><strong>{id}</strong></td>\
             <td><code>{}</code></td><td>{keys}</td><td>{refresh}</td>\
             <td>{} calls</td>\
             <td class=\"right\"><form method=\"post\" action=\"{action}\">\
             <input type=\"hidden\" name=\"tenant\" value=\"{id}\">\
             <button>Check</button></form></td></tr>",
            escape(tenant.issuer()),
            status.introspection_calls_left,
        );
        if let Some((diagnosis, at)) = last.get(tenant.id()) {
            let count = |s| diagnosis.checks().iter().filter(|c| c.status == s).count();
            let (failed, warned) = (count(Status::Fail), count(Status::Warn));
            let verdict = if failed > 0 {
                format!("<span class=\"pill fail\">{failed} failed</span>")
            } else if warned > 0 {
                format!("<span class=\"pill warn\">{warned} to look at</span>")
            } else {
                "<span class=\"pill pass\">all checks pass</span>".to_owned()
            };
            let _ = write!(
                rows,
                "<tr class=\"diagnosis\"><td colspan=\"6\"><div class=\"result\">\
                 <div class=\"result-head\">{verdict} <span class=\"small muted\">\
                 {} passed · {warned} warnings · {failed} failures · {} not run · checked {} ago\
                 </span></div>{}</div></td></tr>",
                count(Status::Pass),
                count(Status::Skip),
                ago(at.elapsed().unwrap_or_default()),
                diagnosis.to_html()
            );
        }
    }
    let store_line = format!(
        "Revocation store: {} · {} revocation{} mirrored · synced {} ago",
        if store.enforced {
            "enforced"
        } else {
            "not enforced"
        },
        store.mirrored,
        plural(store.mirrored),
        ago(store.staleness)
    );
    let body = format!(
        "<header><div class=\"brand\">okta-oidc <span>admin</span></div>\
         <div class=\"who\">{}</div></header>\
         <main><div class=\"title\"><h1>Tenants</h1>\
         <form method=\"post\" action=\"{action}\"><input type=\"hidden\" name=\"tenant\" \
         value=\"*\"><button class=\"primary\">Check all</button></form></div>\
         <p class=\"small muted\">{store_line}</p>\
         <table><thead><tr><th>Tenant</th><th>Issuer</th><th>Key set</th>\
         <th>Last refresh</th><th>Introspection budget</th><th></th></tr></thead>\
         <tbody>{rows}</tbody></table></main>",
        escape(&who)
    );
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Tenants · okta-oidc admin</title><style>{STYLE}</style></head>\
         <body>{body}</body></html>"
    ))
    .into_response()
}

const STYLE: &str = "\
*{box-sizing:border-box}\
body{margin:0;background:#f6f7f9;color:#202124;\
font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif}\
header{display:flex;justify-content:space-between;align-items:center;padding:12px 28px;\
background:#1a2233;color:#fff}\
.brand{font-weight:700;letter-spacing:.2px}.brand span{font-weight:400;opacity:.7}\
.who{opacity:.85;font-size:13px}\
main{max-width:1180px;margin:24px auto;padding:0 28px}\
.title{display:flex;justify-content:space-between;align-items:center}\
h1{font-size:22px;margin:0}\
table{width:100%;border-collapse:collapse;background:#fff;border:1px solid #e3e6ea;\
border-radius:8px;overflow:hidden}\
th{text-align:left;font-size:12px;text-transform:uppercase;letter-spacing:.4px;\
color:#5f6368;background:#fafbfc;padding:10px 12px;border-bottom:1px solid #e3e6ea}\
td{padding:10px 12px;border-bottom:1px solid #eef0f2;vertical-align:top}\
code{font:12px ui-monospace,SFMono-Regular,Menlo,monospace;color:#37474f}\
.right{text-align:right}\
button{font:inherit;font-size:13px;padding:5px 14px;border-radius:6px;cursor:pointer;\
border:1px solid #c4c9d0;background:#fff;color:#202124}\
button:hover{background:#f1f3f4}\
button.primary{background:#1a73e8;border-color:#1a73e8;color:#fff}\
.pill{display:inline-block;padding:1px 9px;border-radius:10px;font-size:12px;font-weight:600}\
.pill.pass{background:#e6f4ea;color:#137333}.pill.warn{background:#fef7e0;color:#8a5300}\
.pill.fail{background:#fce8e6;color:#b3261e}\
.small{font-size:12px}.muted{color:#80868b}\
tr.diagnosis td{background:#fbfbfc;padding:4px 12px 14px}\
.result{border:1px solid #e3e6ea;border-radius:8px;background:#fff;padding:8px 10px}\
.result-head{padding:4px 8px 8px}";

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// "12 s", "3 min", "2 h", "4 d".
fn ago(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..=59 => format!("{s} s"),
        60..=3599 => format!("{} min", s / 60),
        3600..=86_399 => format!("{} h", s / 3600),
        _ => format!("{} d", s / 86_400),
    }
}

/// Escapes text for HTML (the web_app example's pages use it too).
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
