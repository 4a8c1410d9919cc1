//! Zoho Inventory: sales orders per providers/README.md §F4.
//!
//! Zoho has no idempotency key. Retries are made safe by looking the order up by
//! `reference_number` (= our order id) before creating it again, so a push is exactly once as
//! long as Zoho's search sees the order (it does once the create returned).

mod cancel;
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

use std::sync::Arc;

use super::Provider;
use super::governor::Governor;
use crate::config::SyncArgs;
use crate::domain::ProviderKind;

/// Zoho as the registry holds it, from the settings. The push client and the catalog reader
/// share one governor: an organisation has one budget, whoever calls.
///
/// Zoho Accounts (token exchange, refresh, revoke) is another host with its own limits per
/// refresh token, and the organisation list carries no organisation: neither is counted.
pub fn provider(args: &SyncArgs) -> Provider {
    let governor = Arc::new(Governor::new(args.zoho_requests_per_minute));
    let client = || {
        ZohoClient::new(
            args.zoho_api_base_url.as_deref(),
            args.provider_timeout,
            governor.clone(),
        )
    };
    Provider {
        kind: ProviderKind::Zoho,
        client: Box::new(client()),
        oauth: ZohoOAuth::from_args(args).map(|o| Box::new(o) as _),
        catalog: Some(Box::new(ZohoItems(client()))),
    }
}
