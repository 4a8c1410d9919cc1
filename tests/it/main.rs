//! possync's black-box tests, in one binary (zero2prod's shape): the harness in `common`
//! compiles once, every suite shares it, and `cargo test` links a single executable.
//!
//! Each test starts its own service (real SQLite file in a temp dir, real HTTP on 127.0.0.1
//! port 0) and, where it needs one, mock POS servers over loopback that check every request
//! against the providers' official schemas in `../shared/providers`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod oauth_support;
mod sync_support;

mod accounts;
mod breaker;
mod businesses_orders;
mod cancel;
mod cancel_crash;
mod catalog;
mod cli_accounts;
mod connections;
mod disk_full;
mod door_checks;
mod keys;
mod kitchen_crash;
mod kitchen_money;
mod kitchen_orders;
mod kitchen_square;
mod kitchen_zero_total;
mod lanes;
mod mock_square_selftest;
mod notifications;
mod notify_words;
mod oauth;
mod observability;
mod operations;
mod order_list;
mod persistence;
mod pos_connect;
mod pos_state;
mod replay;
mod service_guard;
mod smoke;
mod spec;
mod status_page;
mod status_page_delivery;
mod sync_dine;
mod sync_history;
mod sync_lookup;
mod sync_now;
mod sync_recovery;
mod sync_square;
mod sync_zoho;
mod test_order;
mod validation;
mod zoho_governor;
