//! Zoho Inventory: sales orders per providers/README.md §F4.
//!
//! Zoho has no idempotency key. Retries are made safe by looking the order up by
//! `reference_number` (= our order id) before creating it again, so a push is exactly once as
//! long as Zoho's search sees the order (it does once the create returned).

mod classify;
mod client;
mod contacts;
mod items;
pub mod oauth;
mod payload;
mod state;

pub use classify::check;
pub use client::{DEFAULT_API_BASE, ZohoClient};
pub use contacts::{SHARED_CONTACT, customer_key};
pub use items::ZohoItems;
pub use oauth::ZohoOAuth;
pub use payload::{order_date, sales_order_body};

use super::Provider;
use crate::config::SyncArgs;
use crate::domain::ProviderKind;

/// Zoho as the registry holds it, from the settings.
pub fn provider(args: &SyncArgs) -> Provider {
    Provider {
        kind: ProviderKind::Zoho,
        client: Box::new(ZohoClient::new(
            args.zoho_api_base_url.as_deref(),
            args.provider_timeout,
        )),
        oauth: ZohoOAuth::from_args(args).map(|o| Box::new(o) as _),
        catalog: Some(Box::new(ZohoItems(ZohoClient::new(
            args.zoho_api_base_url.as_deref(),
            args.provider_timeout,
        )))),
    }
}
