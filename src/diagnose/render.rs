//! A [`Diagnosis`] as text (one line per check), JSON and HTML.

use std::fmt::Write as _;

use super::diagnosis::Diagnosis;
use super::report::Status;
use crate::html::escape;

impl Diagnosis {
    /// One line per check: its mark (`✔ ⚠ ✘ ·`), code and message, then the fix for a warning
    /// or a failure.
    ///
    /// ```text
    /// ✔ issuer.url                          https, no query, fragment or trailing slash
    /// ✘ client.credentials                  the client id is known but the secret is refused — fix: Copy the secret …
    /// ```
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for check in &self.checks {
            let _ = write!(
                out,
                "{} {:<36} {}",
                check.status.mark(),
                check.code.as_str(),
                check.message
            );
            if let (Some(fix), Status::Warn | Status::Fail) = (&check.fix, check.status) {
                let _ = write!(out, " — fix: {fix}");
            }
            out.push('\n');
        }
        out
    }

    /// `{"checks": [{"code", "status", "message", "fix"}]}`, in the order run (`fix` is `null`
    /// when there is nothing to do).
    ///
    /// ```
    /// # use okta_oidc::{Diagnosis, DiagnosisOptions, Tenant};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let tenant = Tenant::new("acme", "http://acme.okta.com").client_id("0oa1");
    /// let diagnosis = Diagnosis::run(&tenant, &DiagnosisOptions::new()).await;
    /// let json: serde_json::Value = serde_json::from_str(&diagnosis.to_json()).unwrap();
    /// assert_eq!(json["checks"][0]["code"], "issuer.url");
    /// assert_eq!(json["checks"][0]["status"], "fail");
    /// # }
    /// ```
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// An HTML fragment (a `<ol class="okta-oidc-diagnosis">`, styled inline): a coloured mark,
    /// the code and the message per check, and the fix under each warning and failure. Every
    /// text is escaped.
    pub fn to_html(&self) -> String {
        let mut out = String::from(
            "<ol class=\"okta-oidc-diagnosis\" style=\"list-style:none;margin:0;padding:0;\
             font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif\">",
        );
        for check in &self.checks {
            let (colour, background) = match check.status {
                Status::Pass => ("#137333", "#e6f4ea"),
                Status::Warn => ("#8a5300", "#fef7e0"),
                Status::Fail => ("#b3261e", "#fce8e6"),
                Status::Skip => ("#5f6368", "#f1f3f4"),
            };
            let _ = write!(
                out,
                "<li class=\"check {status}\" data-code=\"{code}\" style=\"display:flex;gap:10px;\
                 padding:6px 8px;border-bottom:1px solid #eceff1\">\
                 <span title=\"{status}\" style=\"flex:none;width:22px;height:22px;\
                 border-radius:50%;text-align:center;line-height:22px;font-weight:700;\
                 color:{colour};background:{background}\">{mark}</span>\
                 <div><code style=\"font-size:12px;color:#455a64\">{code}</code>\
                 <div style=\"color:#202124\">{message}</div>",
                status = check.status.as_str(),
                code = check.code.as_str(),
                mark = check.status.mark(),
                message = escape(&check.message),
            );
            if let (Some(fix), Status::Warn | Status::Fail) = (&check.fix, check.status) {
                let _ = write!(
                    out,
                    "<div class=\"fix\" style=\"margin-top:4px;padding:6px 8px;border-left:3px \
                     solid {colour};background:{background};color:#3c4043\">\
                     <strong>Fix:</strong> {}</div>",
                    escape(fix)
                );
            }
            out.push_str("</div></li>");
        }
        out.push_str("</ol>");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::report::{Check, CheckCode};

    fn sample() -> Diagnosis {
        Diagnosis {
            checks: vec![
                Check::pass(CheckCode::IssuerUrl, "https"),
                Check::fail(
                    CheckCode::DiscoveryIssuerMatches,
                    "names \"<script>\"",
                    "Set it & go",
                ),
                Check::skip(CheckCode::KeysUsable, "not run"),
            ],
        }
    }

    #[test]
    fn text_has_one_line_per_check_with_marks() {
        let text = sample().to_text();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].starts_with("✔ issuer.url "));
        assert!(lines[1].starts_with("✘ discovery.issuer_matches "));
        assert!(lines[1].ends_with("— fix: Set it & go"));
        assert!(lines[2].starts_with("· keys.usable "));
    }

    #[test]
    fn json_shape() {
        let json: serde_json::Value = serde_json::from_str(&sample().to_json()).unwrap();
        let checks = json["checks"].as_array().unwrap();
        assert_eq!(json.as_object().unwrap().len(), 1);
        assert_eq!(checks[1]["code"], "discovery.issuer_matches");
        assert_eq!(checks[1]["status"], "fail");
        assert_eq!(checks[1]["fix"], "Set it & go");
        assert_eq!(checks[0]["fix"], serde_json::Value::Null);
        assert_eq!(checks[0].as_object().unwrap().len(), 4);
    }

    #[test]
    fn html_escapes_everything() {
        let html = sample().to_html();
        assert!(!html.contains("<script>"));
        assert!(html.contains("names &quot;&lt;script&gt;&quot;"));
        assert!(html.contains("Set it &amp; go"));
        assert_eq!(html.matches("<li ").count(), 3);
        assert_eq!(html.matches("class=\"fix\"").count(), 1);
    }
}
