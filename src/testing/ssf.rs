//! The mock org as a Shared Signals transmitter, as Okta is one (Okta's "SSF Transmitter" API;
//! OpenID SSF 1.0 §7, §8): `/.well-known/ssf-configuration`, one stream per org at
//! `/api/v1/ssf/stream` (create, read, delete, status), verification at
//! `/api/v1/ssf/stream/verification`, and Security Event Tokens signed with the org's key,
//! pushed (RFC 8935) to the stream's endpoint with its `authorization_header`.
//!
//! The stream API asks for a token of an API service app (`service_app.rs`): `ssf.manage` to
//! create, verify or delete a stream, `ssf.read` (or `ssf.manage`) to read one; `401` without
//! a token it issued, `403` without the scope.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::org::MockOkta;
use super::respond::json_response;
use super::service_app;
use super::state::{Shared, Stream};
use super::token::{self, TokenBuilder};

/// The delivery method of push (RFC 8935), as Okta names it.
const PUSH: &str = "urn:ietf:rfc:8935";
const SESSION_REVOKED: &str = "https://schemas.openid.net/secevent/caep/event-type/session-revoked";
const CREDENTIAL_CHANGE: &str =
    "https://schemas.openid.net/secevent/caep/event-type/credential-change";
const VERIFICATION: &str = "https://schemas.openid.net/secevent/ssf/event-type/verification";
const STREAM_PATH: &str = "/api/v1/ssf/stream";

type Mock = State<Arc<Shared>>;

pub(super) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/.well-known/ssf-configuration", get(configuration))
        .route(
            STREAM_PATH,
            post(create_stream).get(read_stream).delete(delete_stream),
        )
        .route("/api/v1/ssf/stream/status", get(stream_status))
        .route("/api/v1/ssf/stream/verification", post(verify_stream))
}

async fn configuration(State(shared): Mock) -> Response {
    let url = |path: &str| format!("{}{path}", shared.issuer);
    json_response(
        StatusCode::OK,
        &json!({
            "issuer": shared.issuer,
            "jwks_uri": url("/oauth2/v1/keys"),
            "delivery_methods_supported": [PUSH, "https://schemas.openid.net/secevent/risc/delivery-method/push"],
            "configuration_endpoint": url(STREAM_PATH),
            "status_endpoint": url("/api/v1/ssf/stream/status"),
            "verification_endpoint": url("/api/v1/ssf/stream/verification"),
            "authorization_schemes": [{"spec_urn": "urn:ietf:rfc:6749"}],
            "default_subjects": "ALL",
        }),
    )
}

/// `None` when the request's token has `scope` (reads: `ssf.read` or `ssf.manage`), else the
/// refusal: `401` without a token the org issued, `403` without the scope.
fn refused(shared: &Shared, headers: &HeaderMap, write: bool) -> Option<Response> {
    let authorization = headers.get("authorization").and_then(|v| v.to_str().ok());
    let has = |scope| service_app::token_has_scope(shared, authorization, scope);
    if has("ssf.manage") || (!write && has("ssf.read")) {
        return None;
    }
    let known = authorization
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|t| service_app::is_issued(shared, t));
    Some(if known {
        okta_error(StatusCode::FORBIDDEN, "The access token lacks the scope")
    } else {
        okta_error(StatusCode::UNAUTHORIZED, "Invalid session")
    })
}

fn okta_error(status: StatusCode, summary: &str) -> Response {
    json_response(
        status,
        &json!({"errorCode": "E0000001", "errorSummary": summary, "errorCauses": []}),
    )
}

fn stream_json(stream: &Stream, issuer: &str) -> Value {
    json!({
        "stream_id": stream.id,
        "iss": issuer,
        "aud": stream.aud,
        "format": stream.format,
        "events_supported": [SESSION_REVOKED, CREDENTIAL_CHANGE],
        "events_requested": stream.events_requested,
        "events_delivered": stream.events_requested.iter()
            .filter(|e| [SESSION_REVOKED, CREDENTIAL_CHANGE].contains(&e.as_str()))
            .collect::<Vec<_>>(),
        "delivery": {"method": PUSH, "endpoint_url": stream.endpoint_url},
        "min_verification_interval": 0,
    })
}

/// The origin of `url` (`scheme://host[:port]`): the `aud` of the stream's SETs.
fn origin(url: &str) -> Option<String> {
    let url = url::Url::parse(url).ok()?;
    Some(url.origin().ascii_serialization())
}

async fn create_stream(
    State(shared): Mock,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if let Some(refused) = refused(&shared, &headers, true) {
        return refused;
    }
    if shared.ssf.stream().is_some() {
        return okta_error(
            StatusCode::CONFLICT,
            "A stream already exists for this client",
        );
    }
    let delivery = &body["delivery"];
    let (Some(endpoint_url), Some(aud)) = (
        delivery["endpoint_url"].as_str(),
        delivery["endpoint_url"].as_str().and_then(origin),
    ) else {
        return okta_error(StatusCode::BAD_REQUEST, "delivery.endpoint_url is required");
    };
    if delivery["method"].as_str() != Some(PUSH) {
        return okta_error(StatusCode::BAD_REQUEST, "delivery.method must be push");
    }
    let stream = Stream {
        id: format!("esc{}", shared.next_serial()),
        endpoint_url: endpoint_url.to_owned(),
        authorization_header: delivery["authorization_header"].as_str().map(str::to_owned),
        events_requested: body["events_requested"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|e| e.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default(),
        format: body["format"].as_str().unwrap_or("iss_sub").to_owned(),
        aud,
    };
    let answer = stream_json(&stream, &shared.issuer);
    shared.ssf.set(Some(stream));
    json_response(StatusCode::CREATED, &answer)
}

async fn read_stream(State(shared): Mock, headers: HeaderMap) -> Response {
    if let Some(refused) = refused(&shared, &headers, false) {
        return refused;
    }
    let streams: Vec<Value> = shared
        .ssf
        .stream()
        .iter()
        .map(|s| stream_json(s, &shared.issuer))
        .collect();
    json_response(StatusCode::OK, &Value::Array(streams))
}

async fn delete_stream(State(shared): Mock, headers: HeaderMap) -> Response {
    if let Some(refused) = refused(&shared, &headers, true) {
        return refused;
    }
    if shared.ssf.stream().is_none() {
        return okta_error(StatusCode::NOT_FOUND, "Not found");
    }
    shared.ssf.set(None);
    StatusCode::NO_CONTENT.into_response()
}

async fn stream_status(State(shared): Mock, headers: HeaderMap) -> Response {
    if let Some(refused) = refused(&shared, &headers, false) {
        return refused;
    }
    match shared.ssf.stream() {
        Some(stream) => json_response(
            StatusCode::OK,
            &json!({"stream_id": stream.id, "status": "enabled"}),
        ),
        None => okta_error(StatusCode::NOT_FOUND, "Not found"),
    }
}

/// Sends the verification SET before answering (so the caller can look for it at once).
async fn verify_stream(
    State(shared): Mock,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if let Some(refused) = refused(&shared, &headers, true) {
        return refused;
    }
    let Some(stream) = shared.ssf.stream() else {
        return okta_error(StatusCode::NOT_FOUND, "Not found");
    };
    if body["stream_id"].as_str() != Some(stream.id.as_str()) {
        return okta_error(StatusCode::NOT_FOUND, "Not found");
    }
    let mut event = json!({});
    if let Some(state) = body["state"].as_str() {
        event["state"] = json!(state);
    }
    let set = security_event(&shared, VERIFICATION, event)
        .claim("sub_id", json!({"format": "opaque", "id": stream.id}))
        .build();
    match deliver(&stream, &set).await {
        Ok((202, _)) => StatusCode::NO_CONTENT.into_response(),
        _ => okta_error(
            StatusCode::BAD_GATEWAY,
            "The receiver did not accept the verification event",
        ),
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_else(|e| panic!("MockOkta: HTTP client: {e}"))
}

/// Pushes `set` to the stream's endpoint as Okta does (RFC 8935 §2): status and JSON body.
async fn deliver(stream: &Stream, set: &str) -> Result<(u16, Value), reqwest::Error> {
    let mut request = client()
        .post(&stream.endpoint_url)
        .header("content-type", "application/secevent+jwt")
        .body(set.to_owned());
    if let Some(authorization) = &stream.authorization_header {
        request = request.header("authorization", authorization);
    }
    let response = request.send().await?;
    let status = response.status().as_u16();
    let body = response.bytes().await.unwrap_or_default();
    let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
    Ok((status, body))
}

/// A SET of the org `shared` (see [`MockOkta::security_event`]).
fn security_event(shared: &Arc<Shared>, event_type: &str, event: Value) -> TokenBuilder {
    let aud = shared
        .ssf
        .stream()
        .map_or_else(|| shared.issuer.clone(), |s| s.aud);
    let signing_kid = shared.lock().signing_kid.clone();
    TokenBuilder::new(shared.key_lookup(), &signing_kid, json!({}))
        .header("typ", "secevent+jwt")
        .claim("iss", &shared.issuer)
        .claim("aud", aud)
        .claim("iat", token::now())
        .claim("jti", format!("SET.{}", shared.next_serial()))
        .claim("events", json!({ event_type: event }))
}

impl MockOkta {
    /// A Security Event Token of this org as Okta's SSF transmitter signs it (RFC 8417): header
    /// `typ` `secevent+jwt`, RS256 with the org's signing key; `iss` the org, `aud` the
    /// stream's (the origin of its endpoint; the org itself without a stream), `iat` now, a
    /// fresh `jti`, and `events` holding `event` under `event_type`. Change any of it to
    /// forge one.
    pub fn security_event(&self, event_type: &str, event: Value) -> TokenBuilder {
        security_event(self.shared(), event_type, event)
    }

    /// A CAEP `session-revoked` SET about user `sub`, as Okta sends for `user.session.end`:
    /// the subject in the event (`{"user": <iss_sub>}`), `event_timestamp` now.
    pub fn session_revoked_event(&self, sub: &str) -> TokenBuilder {
        let event = json!({
            "subject": {"user": self.iss_sub(sub)},
            "event_timestamp": token::now(),
            "initiating_entity": "admin",
        });
        self.security_event(SESSION_REVOKED, event)
    }

    /// A CAEP `credential-change` SET about user `sub`, as Okta sends for a password reset
    /// (`change_type` `update`, `credential_type` `password`).
    pub fn credential_change_event(&self, sub: &str) -> TokenBuilder {
        let event = json!({
            "subject": {"user": self.iss_sub(sub)},
            "event_timestamp": token::now(),
            "change_type": "update",
            "credential_type": "password",
        });
        self.security_event(CREDENTIAL_CHANGE, event)
    }

    /// Pushes `set` to the stream's endpoint with its `authorization_header` (RFC 8935 §2).
    /// Returns the status and the JSON body (`Null` when none).
    ///
    /// # Panics
    ///
    /// If there is no stream, or its endpoint cannot be reached.
    pub async fn push_security_event(&self, set: &str) -> (u16, Value) {
        let stream = self
            .shared()
            .ssf
            .stream()
            .unwrap_or_else(|| panic!("MockOkta: no SSF stream: create one first"));
        deliver(&stream, set)
            .await
            .unwrap_or_else(|e| panic!("MockOkta: SSF push to {}: {e}", stream.endpoint_url))
    }

    /// Ends user `sub`'s Okta session (`user.session.end`) and pushes the `session-revoked`
    /// SET to the stream, as Okta's transmitter does. Returns the receiver's status.
    ///
    /// # Panics
    ///
    /// As [`push_security_event`](Self::push_security_event).
    pub async fn end_okta_session_ssf(&self, sub: &str) -> u16 {
        let set = self.session_revoked_event(sub).build();
        self.push_security_event(&set).await.0
    }

    /// Resets user `sub`'s password (`user.account.reset_password`) and pushes the
    /// `credential-change` SET to the stream. Returns the receiver's status.
    ///
    /// # Panics
    ///
    /// As [`push_security_event`](Self::push_security_event).
    pub async fn reset_password_ssf(&self, sub: &str) -> u16 {
        let set = self.credential_change_event(sub).build();
        self.push_security_event(&set).await.0
    }

    /// Makes (or replaces) the org's SSF stream without its API, as an admin would create it:
    /// push to `endpoint_url` with `authorization_header`, both CAEP events, `iss_sub`
    /// subjects. The embedded mock of the examples uses it.
    pub fn set_ssf_stream(&self, endpoint_url: &str, authorization_header: &str) {
        let stream = Stream {
            id: format!("esc{}", self.shared().next_serial()),
            endpoint_url: endpoint_url.to_owned(),
            authorization_header: Some(authorization_header.to_owned()),
            events_requested: vec![SESSION_REVOKED.into(), CREDENTIAL_CHANGE.into()],
            format: "iss_sub".into(),
            aud: origin(endpoint_url).unwrap_or_else(|| self.issuer()),
        };
        self.shared().ssf.set(Some(stream));
    }

    /// The org's SSF stream as its API shows it, when one was created.
    pub fn ssf_stream(&self) -> Option<Value> {
        let stream = self.shared().ssf.stream()?;
        Some(stream_json(&stream, &self.issuer()))
    }
}
