//! The Postfix SMTP access policy service (§6.3): answers `OK` for clients holding a grant,
//! a helpful `REJECT` for other relays, `DUNNO` otherwise, from the in-memory grant index.
//!
//! - `protocol` — the pure wire codec (requests in, replies out); the only place that knows
//!   Postfix's format.
//! - `decide`   — the pure decision from a request and the index's verdict.
//! - `recorder` — relay decisions written to the store in the background, never in the way.
//! - `server`   — the listener (TCP or unix socket), connection cap, per-connection loop,
//!   shutdown.

pub mod decide;
pub mod protocol;
pub mod recorder;
pub mod server;
