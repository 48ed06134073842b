//! relaydesk's integration tests: one binary, modules by area. Every store test runs against
//! SQLite and, when `RELAYDESK_TEST_POSTGRES_URL` is set, against PostgreSQL too.

mod cli;
mod customer;
mod diagnosis;
mod follow;
mod helpers;
mod policy;
mod real_mail;
mod staff;
mod staff_actions;
mod store;
mod web_helpers;
