//! Peer benchmark crate: see `benches/peer.rs`; nothing to use here.
