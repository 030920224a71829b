//! OpenID Connect Back-Channel Logout through `LogoutEndpoints`: the form's `logout_token`
//! through the verifier (`Expect::LogoutToken`), then the revocation of its `sid` or `sub`.
//! Text form: the form body, or a payload the harness signs with the tenant key as a
//! `logout+jwt`. Structured form (first byte 0xFF): a claim set and a header from `arbitrary`.
#![no_main]

#[path = "common/shapes.rs"]
mod shapes;

use std::sync::LazyLock;

use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use okta_oidc::__fuzz::{CLIENT_ID, ISSUER, ISSUER2, NOW, SIGNAL_KID, Signals};
use serde_json::{Map, Value, json};
use shapes::{Extra, Header, Member, Time, put};

fn harness() -> &'static Signals {
    static HARNESS: LazyLock<Signals> =
        LazyLock::new(|| Signals::new(include_bytes!("../keys.json")));
    &HARNESS
}

const EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

#[derive(Arbitrary, Debug)]
struct Token {
    header: Header,
    iss: Member,
    aud: Member,
    iat: Time,
    exp: Time,
    jti: Member,
    events: Member,
    sub: Member,
    sid: Member,
    nonce: bool,
    extra: Extra,
}

fn render(t: &Token) -> String {
    let header = t.header.render(
        "logout+jwt",
        &[
            "JWT",
            "LOGOUT+JWT",
            "application/logout+jwt",
            "global-token-revocation+jwt",
        ],
        "EdDSA",
        Some(SIGNAL_KID),
        None,
    );
    let mut claims = Map::new();
    put(
        &mut claims,
        "iss",
        t.iss.render(
            json!(ISSUER),
            &[json!(ISSUER2), json!("https://evil.example")],
        ),
    );
    put(
        &mut claims,
        "aud",
        t.aud.render(
            json!(CLIENT_ID),
            &[json!("0oa2fuzzclient"), json!([CLIENT_ID, "other"])],
        ),
    );
    let now = NOW as i64;
    put(&mut claims, "iat", t.iat.render(now));
    put(&mut claims, "exp", t.exp.render(now + 120));
    put(
        &mut claims,
        "jti",
        t.jti.render(json!("LT.fuzz"), &[json!("")]),
    );
    put(
        &mut claims,
        "events",
        t.events.render(
            json!({ EVENT: {} }),
            &[
                json!({ EVENT: "x" }),
                json!({ "http://schemas.openid.net/event/other": {} }),
                json!([EVENT]),
            ],
        ),
    );
    put(
        &mut claims,
        "sub",
        t.sub.render(json!("00u1fuzzuser"), &[json!("")]),
    );
    put(
        &mut claims,
        "sid",
        t.sid.render(json!("sid-fuzz-1"), &[json!("")]),
    );
    if t.nonce {
        claims.insert("nonce".into(), json!("n-0S6_WzA2Mj"));
    }
    t.extra.add(&mut claims);
    shapes::signed_line(&header, &Value::Object(claims))
}

fuzz_target!(|data: &[u8]| {
    let text = match shapes::structured::<Token>(data) {
        Some(Ok(token)) => render(&token).into_bytes(),
        Some(Err(_)) => return,
        None => data.to_vec(),
    };
    shapes::show(&text);
    let _ = harness().backchannel_logout(&text);
});
