//! A DPoP proof (RFC 9449) through the layer, with a DPoP-bound access token: the proof's own
//! parse path, its key, signature, `htm`, `htu` (normalized), `iat`, `ath`, `cnf.jkt` and the
//! single use of its `jti`. Text form: the proof (or a payload the harness signs with the
//! client key) on the first line, `METHOD /path?query` on the second. Structured form (first
//! byte 0xFF): the proof's header and claims and the request from `arbitrary`.
#![no_main]

#[path = "common/shapes.rs"]
mod shapes;

use std::sync::LazyLock;

use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use okta_oidc::__fuzz::{NOW, Signals, proof_claims};
use serde_json::{Map, Value, json};
use shapes::{Extra, Header, Member, Time, put};

fn harness() -> &'static Signals {
    static HARNESS: LazyLock<Signals> =
        LazyLock::new(|| Signals::new(include_bytes!("../keys.json")));
    &HARNESS
}

#[derive(Arbitrary, Debug)]
enum Uri {
    Good,
    /// The good URI with a change RFC 3986 §6.2.2–6.2.3 says keeps it the same (or not).
    Variant {
        upper_host: bool,
        port: Option<u16>,
        escape: bool,
        dots: bool,
        query: bool,
    },
    Any(String),
}

#[derive(Arbitrary, Debug)]
struct Proof {
    header: Header,
    jti: Member,
    htm: Member,
    htu: Member,
    uri: Uri,
    iat: Time,
    ath: Member,
    nonce: Option<String>,
    extra: Extra,
    method: Member,
    path: Option<String>,
}

fn render(p: &Proof) -> String {
    let signals = harness();
    let header = p.header.render(
        "dpop+jwt",
        &["DPoP+JWT", "JWT", "dpop"],
        "EdDSA",
        None,
        Some(signals.client_jwk()),
    );
    let good = proof_claims(signals, "x");
    let htu = match &p.uri {
        Uri::Good => "https://api.fuzz.example/v1/api/me".to_owned(),
        Uri::Variant {
            upper_host,
            port,
            escape,
            dots,
            query,
        } => {
            let host = if *upper_host {
                "API.Fuzz.Example"
            } else {
                "api.fuzz.example"
            };
            let port = port.map(|p| format!(":{p}")).unwrap_or_default();
            let path = match (escape, dots) {
                (true, true) => "/v1/x/%2E%2E/%61pi/me",
                (true, false) => "/v1/%61pi/m%65",
                (false, true) => "/v1/./api/x/../me",
                (false, false) => "/v1/api/me",
            };
            let query = if *query { "?a=b#f" } else { "" };
            format!("https://{host}{port}{path}{query}")
        }
        Uri::Any(s) => s.clone(),
    };
    let mut claims = Map::new();
    put(
        &mut claims,
        "jti",
        p.jti.render(json!("proof-jti-1"), &[json!("")]),
    );
    put(
        &mut claims,
        "htm",
        p.htm.render(json!("GET"), &[json!("get"), json!("POST")]),
    );
    put(
        &mut claims,
        "htu",
        p.htu.render(
            json!(htu),
            &[
                json!("https://api.fuzz.example/v1/api/you"),
                json!("http://api.fuzz.example/v1/api/me"),
            ],
        ),
    );
    put(&mut claims, "iat", p.iat.render(NOW as i64));
    put(
        &mut claims,
        "ath",
        p.ath.render(good["ath"].clone(), &[json!("")]),
    );
    if let Some(nonce) = &p.nonce {
        claims.insert("nonce".into(), json!(nonce));
    }
    p.extra.add(&mut claims);
    let method = match &p.method {
        Member::Good | Member::Absent => "GET".to_owned(),
        Member::Str(s) => s.clone(),
        _ => "POST".to_owned(),
    };
    let path = p.path.clone().unwrap_or_else(|| "/v1/api/me".into());
    format!(
        "{}\n{method} {path}",
        shapes::signed_line(&header, &Value::Object(claims))
    )
}

fuzz_target!(|data: &[u8]| {
    let text = match shapes::structured::<Proof>(data) {
        Some(Ok(proof)) => render(&proof).into_bytes(),
        Some(Err(_)) => return,
        None => data.to_vec(),
    };
    shapes::show(&text);
    let _ = harness().dpop(&text);
});
