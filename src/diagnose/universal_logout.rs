//! `universal_logout.reachable`: the app's own Universal Logout endpoint is mounted and
//! reachable at its public URL (it answers 401 to an unsigned request).

use http::StatusCode;
use http::header::CONTENT_TYPE;

use super::context::Env;
use super::http::send;
use super::report::{Check, CheckCode, excerpt};

/// The endpoint's path under the app URL (`LogoutEndpointsConfig`'s default).
const PATH: &str = "/auth/global-token-revocation";

/// `POST {app_url}/auth/global-token-revocation` without a signature: 401 means mounted.
pub(super) async fn reachable(env: &Env<'_>) -> Check {
    let code = CheckCode::UniversalLogoutReachable;
    let Some(app_url) = env.options.app_url.as_deref() else {
        return Check::skip(code, "not run: no app URL given");
    };
    let fix = format!(
        "Mount LogoutEndpoints::router() in the app at {app_url}{PATH}, reachable from the \
         internet; then in the Okta Admin Console: Applications > Applications > the app > \
         General > Logout, turn on Universal Logout with that URL as the Global token \
         revocation endpoint."
    );
    let url = format!("{app_url}{PATH}");
    if let Err(why) = env.urls.check(&url) {
        return Check::fail(
            code,
            format!("the app URL {}: {why}", excerpt(app_url)),
            fix,
        );
    }
    let request = env
        .fetcher
        .client
        .post(&url)
        .header(CONTENT_TYPE, "application/json")
        .body("{}");
    match send(env.fetcher, request, env.timeout).await {
        Ok(reply) if reply.status == StatusCode::UNAUTHORIZED => Check::pass(
            code,
            format!("{PATH} answers 401 to an unsigned request: mounted and reachable"),
        ),
        Ok(reply) if matches!(reply.status.as_u16(), 404 | 405) => Check::fail(
            code,
            format!(
                "{PATH} answered HTTP {}: the endpoint is not mounted there",
                reply.status.as_u16()
            ),
            fix,
        ),
        Ok(reply) => Check::warn(
            code,
            format!(
                "{PATH} answered HTTP {} to an unsigned request, not 401",
                reply.status.as_u16()
            ),
            fix,
        ),
        Err(cause) => Check::fail(
            code,
            format!(
                "the app did not answer at its public URL: {}",
                cause.as_str()
            ),
            fix,
        ),
    }
}
