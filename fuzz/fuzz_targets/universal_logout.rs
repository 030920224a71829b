//! Okta's Universal Logout call (a global token revocation request) through `LogoutEndpoints`:
//! the bearer JWT through the verifier, then the JSON body naming the user. Text form: the
//! token (or a payload the harness signs with the tenant key) on the first line, the body after
//! it. Structured form (first byte 0xFF): a claim set, a header and a body from `arbitrary`.
#![no_main]

#[path = "common/shapes.rs"]
mod shapes;

use std::sync::LazyLock;

use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use okta_oidc::__fuzz::{CLIENT_ID, ISSUER, ISSUER2, NOW, RSA_KID, Signals};
use serde_json::{Map, Value, json};
use shapes::{Extra, Header, Member, Time, put};

fn harness() -> &'static Signals {
    static HARNESS: LazyLock<Signals> =
        LazyLock::new(|| Signals::new(include_bytes!("../keys.json")));
    &HARNESS
}

#[derive(Arbitrary, Debug)]
struct Request {
    header: Header,
    iss: Member,
    sub: Member,
    aud: Member,
    iat: Time,
    nbf: Time,
    exp: Time,
    jti: Member,
    extra: Extra,
    body: Body,
}

#[derive(Arbitrary, Debug)]
enum Container {
    SubId,
    Subject,
    Both,
    Other(String),
}

#[derive(Arbitrary, Debug)]
enum Body {
    Email {
        email: Member,
        extra: Extra,
    },
    IssSub {
        iss: Member,
        sub: Member,
        extra: Extra,
    },
    Format {
        format: String,
        extra: Extra,
    },
    Raw(String),
}

impl Body {
    fn render(&self) -> Result<Value, String> {
        let mut map = Map::new();
        match self {
            Body::Email { email, extra } => {
                map.insert("format".into(), json!("email"));
                let near = [json!("USER@Example.COM"), json!("no-at-sign"), json!("")];
                put(
                    &mut map,
                    "email",
                    email.render(json!("user@example.com"), &near),
                );
                extra.add(&mut map);
            }
            Body::IssSub { iss, sub, extra } => {
                map.insert("format".into(), json!("iss_sub"));
                put(
                    &mut map,
                    "iss",
                    iss.render(
                        json!(ISSUER),
                        &[json!(ISSUER2), json!(format!("{ISSUER}/"))],
                    ),
                );
                put(
                    &mut map,
                    "sub",
                    sub.render(json!("00u1fuzzuser"), &[json!("")]),
                );
                extra.add(&mut map);
            }
            Body::Format { format, extra } => {
                map.insert("format".into(), json!(format));
                extra.add(&mut map);
            }
            Body::Raw(raw) => return Err(raw.clone()),
        }
        Ok(Value::Object(map))
    }
}

fn render(r: &Request, container: &Container) -> String {
    let signals = harness();
    let header = r.header.render(
        "global-token-revocation+jwt",
        &[
            "JWT",
            "logout+jwt",
            "GLOBAL-TOKEN-REVOCATION+JWT",
            "application/global-token-revocation+jwt",
        ],
        "RS256",
        Some(RSA_KID),
        None,
    );
    let mut claims = Map::new();
    put(
        &mut claims,
        "iss",
        r.iss.render(
            json!(ISSUER),
            &[json!(ISSUER2), json!("https://evil.example")],
        ),
    );
    put(
        &mut claims,
        "sub",
        r.sub.render(json!(CLIENT_ID), &[json!("0oa2fuzzclient")]),
    );
    put(
        &mut claims,
        "aud",
        r.aud.render(
            json!(signals.universal_url()),
            &[
                json!("https://app.fuzz.example"),
                json!(format!("{}/", signals.universal_url())),
            ],
        ),
    );
    let now = NOW as i64;
    put(&mut claims, "iat", r.iat.render(now));
    put(&mut claims, "nbf", r.nbf.render(now - 300));
    put(&mut claims, "exp", r.exp.render(now + 300));
    put(
        &mut claims,
        "jti",
        r.jti.render(json!("GTR.fuzz"), &[json!("")]),
    );
    r.extra.add(&mut claims);
    let body = match r.body.render() {
        Ok(subject) => {
            let mut outer = Map::new();
            match container {
                Container::SubId => drop(outer.insert("sub_id".into(), subject)),
                Container::Subject => drop(outer.insert("subject".into(), subject)),
                Container::Both => {
                    outer.insert("sub_id".into(), subject.clone());
                    outer.insert("subject".into(), subject);
                }
                Container::Other(name) => drop(outer.insert(name.clone(), subject)),
            }
            Value::Object(outer).to_string()
        }
        Err(raw) => raw,
    };
    format!(
        "{}\n{body}",
        shapes::signed_line(&header, &Value::Object(claims))
    )
}

#[derive(Arbitrary, Debug)]
struct Input {
    request: Request,
    container: Container,
}

fuzz_target!(|data: &[u8]| {
    let text = match shapes::structured::<Input>(data) {
        Some(Ok(input)) => render(&input.request, &input.container).into_bytes(),
        Some(Err(_)) => return,
        None => data.to_vec(),
    };
    shapes::show(&text);
    let _ = harness().universal_logout(&text);
});
