//! What an operator sees: the metrics catalogue (public: names and label values are part of
//! the API), the metrics handles of the request path, and the authentication span.

pub mod catalogue;
pub(crate) mod metrics;
pub(crate) mod trace;
