//! The Postfix SMTP access policy service (§6.3): answers `OK` for clients holding a grant,
//! a helpful `REJECT` for other relays, `DUNNO` otherwise, from the in-memory grant index.
//!
//! - `protocol` — the pure wire codec (requests in, replies out); the only place that knows
//!   Postfix's format.
//! - `decide`   — the pure decision from a request and the index's verdict.
//! - `recorder` — relay decisions written to the store in the background, never in the way.
//! - `server`   — the listener (TCP or unix socket), connection cap, per-connection loop,
//!   shutdown.
//!
//! In Postfix's `main.cf` the service sits before `reject_unauth_destination`, with
//! `default_action=DUNNO` so that while relaydesk is unreachable inbound mail still flows and
//! relaying falls back to `reject_unauth_destination` (closed); Postfix's own default,
//! `451 4.3.5`, would defer inbound mail too:
//!
//! ```text
//! smtpd_relay_restrictions = permit_mynetworks,
//!     check_policy_service { inet:127.0.0.1:10040, timeout=10s, default_action=DUNNO },
//!     reject_unauth_destination
//! ```

pub mod decide;
pub mod protocol;
pub mod recorder;
pub mod server;
pub mod socketmap;
