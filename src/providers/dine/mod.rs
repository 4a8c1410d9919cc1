//! Dine POS: the aggregator webhook of providers/README.md §F5.
//!
//! Dine has no idempotency key and no lookup by our reference, so a push is **at least once**:
//! when no answer comes after the body went out (timeout, reset), the order may be in the POS
//! already. Such an attempt is recorded as `ambiguous` and retried, and the seller is told to
//! check the POS for a duplicate.

mod classify;
mod client;
mod payload;

pub use classify::outcome_of;
pub use client::DineClient;
pub use payload::order_body;

use super::Provider;
use crate::config::SyncArgs;
use crate::domain::ProviderKind;

/// Dine POS as the registry holds it, from the settings.
pub fn provider(args: &SyncArgs) -> Provider {
    Provider {
        kind: ProviderKind::Dine,
        client: Box::new(DineClient::new(
            args.dine_base_url.as_deref(),
            args.provider_timeout,
        )),
        // Dine connects with a webhook secret, not OAuth.
        oauth: None,
        // Dine offers no catalog route (providers/README.md §C).
        catalog: None,
    }
}
