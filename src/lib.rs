//! relaydesk answers "why did sending fail, and what do I do now?" for an ISP mail service that
//! authorizes relaying by a prior POP3/IMAP login (POP before SMTP).
//!
//! Data flows one way: log sources are read by `ingest`, turned into `domain::Event`s by the pure
//! parsers in `ingest::parse`, and committed with their source positions by `store`, the only
//! module that knows SQL. Everything that decides or explains reads from there.
//!
//! - `domain`   — the vocabulary: client addresses, services, events.
//! - `config`   — the typed configuration, loaded and checked once at start.
//! - `ingest`   — sources (followed files and their rotations, imports, syslog, login hook) and
//!   `ingest::parse`, the log parsers.
//! - `store`    — SQLite and PostgreSQL persistence: sessions, failures, rejections, relays,
//!   positions.
//! - `simulate` — a realistic simulated ISP mail log, for the demo, tests and benchmarks.
//! - `cli`      — the command line, calling into the modules above.

pub mod domain;
pub mod ingest;
pub mod simulate;
