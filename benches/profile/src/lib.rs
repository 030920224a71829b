//! Nothing here: see `benches/profile.rs`.
