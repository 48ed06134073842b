//! relaydesk answers "why did sending fail, and what do I do now?" for an ISP mail service that
//! authorizes relaying by a prior POP3/IMAP login (POP before SMTP).
//!
//! Data flows one way: log sources are read by `ingest`, turned into `domain::Event`s by the pure
//! parsers in `ingest::parse`, and committed with their source positions by `store`, the only
//! module that knows SQL. Everything that decides or explains reads from there.
//!
//! - `domain`   — the vocabulary: client addresses, services, events.
//! - `config`   — the typed configuration, loaded and checked once at start.
//! - `store`    — SQLite and PostgreSQL persistence: sessions, failures, rejections, relays,
//!   source positions. The only module with SQL.
//! - `ingest`   — sources (followed files and their rotations, imports) and `ingest::parse`,
//!   the pure log parsers, feeding the store through one writer.
//! - `grants`   — the in-memory grant index: who may relay now.
//! - `policy`   — the Postfix policy service answering from the grant index.
//! - `simulate` — a realistic simulated ISP mail log with its known truth (demo, tests,
//!   benchmarks).
//! - `report`   — command-line tables and NDJSON records.
//! - `serve`    — starts the configured parts with one shared stop signal.
//! - `cli`      — the command line, calling into the modules above.

pub mod abuse;
pub mod actions;
pub mod alerts;
pub mod authz;
pub mod cli;
pub mod config;
pub mod demo;
pub mod diagnose;
pub mod domain;
pub mod explain;
pub mod grants;
pub mod helpdesk;
pub mod ingest;
pub mod policy;
pub mod report;
pub mod serve;
pub mod simulate;
pub mod staff;
pub mod store;
pub mod web;
