//! possync: an on-premise service that pushes MenuMaker orders into a restaurant's POS
//! (Square, Zoho Inventory, Dine POS), retries through outages, and records every attempt.

pub mod crypto;
pub mod domain;
pub mod error;
pub mod store;

pub use error::{Error, Result};
