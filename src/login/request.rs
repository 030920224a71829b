//! Reading the login routes' requests: query parameters (each at most once, RFC 6749 §3.1)
//! and same-origin paths.

use http::request::Parts;

use super::page::Failure;

/// The query parameters of a request.
pub(crate) struct Query(Vec<(String, String)>);

impl Query {
    pub(crate) fn of(parts: &Parts) -> Query {
        let q = parts.uri.query().unwrap_or("");
        Query(
            url::form_urlencoded::parse(q.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// The single value of `name`: `Err` when it is repeated (RFC 6749 §3.1).
    pub(crate) fn one(&self, name: &str) -> Result<Option<&str>, Failure> {
        let mut values = self.0.iter().filter(|(k, _)| k == name);
        let first = values.next().map(|(_, v)| v.as_str());
        if values.next().is_some() {
            return Err(Failure::bad_request("A parameter is repeated."));
        }
        Ok(first.filter(|v| !v.is_empty()))
    }
}

/// `path` when it is a path on the app's own origin (`/x`, not `//host`, `/\host` or a URL).
pub(crate) fn same_origin_path(path: &str) -> Option<&str> {
    let ok = path.starts_with('/')
        && !path.starts_with("//")
        && !path.contains('\\')
        && path.len() <= 2048
        && !path.chars().any(char::is_control);
    ok.then_some(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn return_to_paths() {
        for ok in ["/", "/profile", "/a?b=c#d"] {
            assert_eq!(same_origin_path(ok), Some(ok));
        }
        for bad in [
            "",
            "//evil.example",
            "/\\evil.example",
            "https://evil.example/",
            "evil",
            "/a\nb",
        ] {
            assert_eq!(same_origin_path(bad), None, "{bad:?}");
        }
    }
}
