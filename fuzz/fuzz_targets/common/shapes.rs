//! Structure-aware inputs (`arbitrary`): claim sets, JOSE headers and JSON bodies built from a
//! few good values, near misses and anything at all, rendered to the text form the harness
//! reads (`okta_oidc::__fuzz`). An input whose first byte is 0xFF is read this way; any other
//! input is the text form itself (the committed seeds are).
#![allow(dead_code)]

use libfuzzer_sys::arbitrary::{self, Arbitrary, Unstructured};
use serde_json::{Map, Value, json};

/// The byte that marks a structured input.
pub const STRUCTURED: u8 = 0xFF;

/// One JSON member: absent, the good value, a near miss, or anything.
#[derive(Arbitrary, Debug)]
pub enum Member {
    Absent,
    Good,
    Good2,
    Near(u8),
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Null,
    GoodInArray,
    Object,
}

impl Member {
    /// The value of this member given its good value and near misses; `None`: leave it out.
    pub fn render(&self, good: Value, near: &[Value]) -> Option<Value> {
        Some(match self {
            Member::Absent => return None,
            Member::Good | Member::Good2 => good,
            Member::Near(_) if near.is_empty() => good,
            Member::Near(i) => near[*i as usize % near.len()].clone(),
            Member::Str(s) => json!(s),
            Member::Int(i) => json!(i),
            Member::Float(f) => json!(f),
            Member::Bool(b) => json!(b),
            Member::Null => Value::Null,
            Member::GoodInArray => json!([good, "another"]),
            Member::Object => json!({ "value": good }),
        })
    }
}

/// A time claim: good, off by some seconds (around the boundaries), or anything.
#[derive(Arbitrary, Debug)]
pub enum Time {
    Absent,
    Good,
    Offset(i16),
    Any(i64),
    Float(f64),
    Text(String),
}

impl Time {
    pub fn render(&self, good: i64) -> Option<Value> {
        Some(match self {
            Time::Absent => return None,
            Time::Good => json!(good),
            Time::Offset(o) => json!(good + i64::from(*o)),
            Time::Any(i) => json!(i),
            Time::Float(f) => json!(f),
            Time::Text(s) => json!(s),
        })
    }
}

/// Extra members the fuzzer adds anywhere.
#[derive(Arbitrary, Debug)]
pub struct Extra(pub Vec<(String, Member)>);

impl Extra {
    pub fn add(&self, map: &mut Map<String, Value>) {
        for (name, member) in self.0.iter().take(4) {
            if let Some(v) = member.render(json!("x"), &[]) {
                map.insert(name.clone(), v);
            }
        }
    }
}

/// Sets `name` to `value` when there is one.
pub fn put(map: &mut Map<String, Value>, name: &str, value: Option<Value>) {
    if let Some(v) = value {
        map.insert(name.into(), v);
    }
}

/// A JOSE header: `typ`, `alg`, `kid` and the members no verifier should follow.
#[derive(Arbitrary, Debug)]
pub struct Header {
    pub typ: Member,
    pub alg: Member,
    pub kid: Member,
    pub crit: bool,
    pub jku: bool,
    pub extra: Extra,
}

impl Header {
    /// The header, with `typ` good as `typ`, `alg` as `alg`, and `kid` / `jwk` as given (the
    /// harness signs with its RSA key when `alg` is `RS256`, else with Ed25519).
    pub fn render(
        &self,
        typ: &str,
        near_typ: &[&str],
        alg: &str,
        kid: Option<&str>,
        jwk: Option<Value>,
    ) -> Value {
        let mut map = Map::new();
        let near: Vec<Value> = near_typ.iter().map(|t| json!(t)).collect();
        put(&mut map, "typ", self.typ.render(json!(typ), &near));
        put(
            &mut map,
            "alg",
            self.alg.render(
                json!(alg),
                &[
                    json!("RS256"),
                    json!("EdDSA"),
                    json!("none"),
                    json!("HS256"),
                    json!("ES256"),
                    json!("eddsa"),
                ],
            ),
        );
        if let Some(kid) = kid {
            put(
                &mut map,
                "kid",
                self.kid.render(
                    json!(kid),
                    &[json!("mock-rsa-1"), json!("mock-ed-1"), json!("unknown")],
                ),
            );
        }
        if let Some(jwk) = jwk {
            put(
                &mut map,
                "jwk",
                self.kid.render(
                    jwk,
                    &[
                        json!({"kty": "OKP", "crv": "Ed25519", "x": "AAAA"}),
                        json!({"kty": "oct", "k": "c2VjcmV0"}),
                    ],
                ),
            );
        }
        if self.crit {
            map.insert("crit".into(), json!(["exp"]));
        }
        if self.jku {
            map.insert("jku".into(), json!("https://evil.example/keys"));
        }
        self.extra.add(&mut map);
        Value::Object(map)
    }
}

/// Reads a structured input, or `None` for a text one.
pub fn structured<'a, T: Arbitrary<'a>>(data: &'a [u8]) -> Option<arbitrary::Result<T>> {
    let rest = data.strip_prefix(&[STRUCTURED])?;
    Some(T::arbitrary_take_rest(Unstructured::new(rest)))
}

/// `HEADER<TAB>CLAIMS`: the harness signs both verbatim.
pub fn signed_line(header: &Value, claims: &Value) -> String {
    format!("{header}\t{claims}")
}

/// Prints the text form of the input when `OKTA_FUZZ_RENDER` is set (to commit a structured
/// crash as a regression the test suite can replay).
pub fn show(text: &[u8]) {
    if std::env::var_os("OKTA_FUZZ_RENDER").is_some() {
        println!("{}", String::from_utf8_lossy(text));
    }
}
