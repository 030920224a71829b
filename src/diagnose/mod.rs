//! The tenant doctor: checks a customer's Okta org and the tenant's configuration before
//! onboarding, and says the cause and the fix of each problem ([`Diagnosis`]).
//!
//! It reads the same `provider/` code the runtime uses (the fetcher, the discovery parser and
//! its issuer and endpoint rules, the key-set parser, the client authentication), never a
//! second copy of the checks. Nothing in the core imports this module.

mod client;
mod context;
mod diagnosis;
mod discovery;
mod http;
mod issuer;
mod keys;
mod options;
mod render;
mod report;
mod status;
mod universal_logout;

pub use self::diagnosis::Diagnosis;
pub use self::options::DiagnosisOptions;
pub use self::report::{Check, CheckCode, Status, UnknownCheckCode};
pub use self::status::{KeySetStatus, RevocationStatus, TenantStatus};
