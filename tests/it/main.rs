//! relaydesk's integration tests: one binary, modules by area. Every store test runs against
//! SQLite and, when `RELAYDESK_TEST_POSTGRES_URL` is set, against PostgreSQL too.

mod api;
mod api_contract;
mod api_helpers;
mod api_ops;
mod attacks;
mod autoconfig;
mod browser;
mod cli;
mod conventions;
mod customer;
mod customer_pages;
mod customer_signin;
mod demo;
mod diagnosis;
mod fake_mail;
mod follow;
mod helpers;
mod layers;
mod live;
mod monitoring;
mod one_truth;
mod outsiders;
mod policy;
mod privacy;
mod real_mail;
mod relay_methods;
mod relay_stores;
mod sources;
mod staff;
mod staff_actions;
mod staff_notices;
mod store;
mod systemd;
mod two_nodes;
mod web_helpers;
