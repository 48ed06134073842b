//! relaydesk answers "why did sending fail, and what do I do now?" for an ISP mail service that
//! authorizes relaying by a prior POP3/IMAP login (POP before SMTP).
//!
//! Data flows one way. Log sources are read by `ingest`, turned into `domain::Event`s by the pure
//! parsers in `ingest::parse`, and committed with their source positions by `store`, the only
//! module that knows SQL. Committed events feed the in-memory grant index (`grants`, kept in
//! step by `authz`) that the Postfix policy service (`policy`) decides from, and the abuse
//! detector (`abuse`, persisted by `alerts`). Everything that explains — the CLI (`report`), the
//! web pages and API (`web`) — reads the store and calls the one pure diagnosis (`diagnose`,
//! worded by `explain`).
//!
//! In data-flow order:
//! - `domain`    — the vocabulary: client addresses, services, events, carrier domains.
//! - `config`    — the typed configuration, loaded and checked once at start.
//! - `time`      — reading typed times and formatting epochs, in a given zone and `now`.
//! - `ingest`    — followed files with their rotations, imports, syslog, the login hook, and
//!   `ingest::parse`, the pure log parsers; one writer commits for all of them.
//! - `store`     — SQLite and PostgreSQL: events, sessions, positions, grants, blocks, alerts,
//!   staff, audit, notices. The only module with SQL.
//! - `grants`    — the in-memory grant index: who may relay now; `causes` beside it remembers
//!   enough of the recent mail checks to word a refusal by its cause.
//! - `authz`     — loads the grant index and keeps it in step with the store and other nodes.
//! - `policy`    — the Postfix SMTP access policy service.
//! - `relay_store` — reads the relay-authorization store the ISP already runs (DRAC's or
//!   pop-before-smtp's map, an SQL table) into the store, which the grant index then follows.
//! - `diagnose`  — the §6.2 rules: evidence in, cause out; also a connection's current state.
//! - `explain`   — gathers evidence for a rejection and words the diagnosis in Japanese and English.
//! - `state`     — the one answer to "may this address send now, and why": for an address and a
//!   customer, by the policy's rule; every page, the API and the CLI render it.
//! - `abuse`     — burst detection over the event stream; `alerts` records and acts on it.
//! - `actions`   — staff actions: grant, block, suspend, and their undo.
//! - `secrets`   — random tokens, their hashes, comparison that leaks nothing.
//! - `staff`     — staff accounts, password hashing, API tokens.
//! - `helpdesk`  — lookups the helpdesk shares between pages and API ("who had this address").
//! - `report`    — command-line tables and NDJSON records.
//! - `cms`       — signs the Apple configuration profile (CMS SignedData).
//! - `metrics`   — in-process counters (policy decisions, web requests) for `/metrics`.
//! - `web`       — the customer site, the staff console and the JSON API.
//! - `simulate`  — a realistic simulated ISP mail log with its known truth.
//! - `serve`, `demo`, `cli` — starting it all; `notify` tells systemd (`Type=notify`).

pub mod abuse;
pub mod actions;
pub mod alerts;
pub mod authz;
pub mod causes;
pub mod check;
pub mod cli;
pub mod cms;
pub mod config;
pub mod demo;
pub mod diagnose;
pub mod domain;
pub mod explain;
pub mod grants;
pub mod helpdesk;
pub mod ingest;
pub mod metrics;
pub mod notify;
pub mod policy;
pub mod relay_store;
pub mod report;
pub mod secrets;
pub mod serve;
pub mod simulate;
pub mod staff;
pub mod state;
pub mod store;
pub mod time;
pub mod web;
