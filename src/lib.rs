//! possync: an on-premise service that pushes MenuMaker orders into a restaurant's POS
//! (Square, Zoho Inventory, Dine POS), retries through outages, and records every attempt.

pub mod accounts;
pub mod api;
pub mod app;
pub mod cli;
pub mod config;
pub mod crypto;
pub mod datadir;
pub mod domain;
pub mod error;
pub mod logging;
pub mod metrics;
pub mod notify;
pub mod providers;
pub mod server;
pub mod store;
pub mod sync;

pub use error::{Error, Result};
