//! Square: `POST /v2/orders` with the body of providers/README.md §F3, then `POST /v2/payments`
//! (§F3b), so the order shows on the POS.
//!
//! Every attempt for one order sends the idempotency keys `menumaker-<order id>` and
//! `mmpay-<order id>`, so a retry after a timeout gets Square's original order and payment back
//! instead of a second one.

mod cancel;
mod cancel_body;
mod catalog;
mod classify;
mod client;
mod lookup;
pub mod oauth;
mod payload;
mod payment;
mod state;

pub use catalog::SquareCatalog;
pub use classify::{describe_errors, order_created, payment_recorded};
pub use client::SquareClient;
pub use oauth::SquareOAuth;
pub use payload::{create_order_body, idempotency_key};
pub use payment::{create_payment_body, payment_key};

use super::Provider;
use crate::config::SyncArgs;
use crate::domain::ProviderKind;

/// Square as the registry holds it, from the settings.
pub fn provider(args: &SyncArgs) -> Provider {
    Provider {
        kind: ProviderKind::Square,
        client: Box::new(SquareClient::new(
            &args.square_base_url,
            &args.square_version,
            args.provider_timeout,
        )),
        oauth: SquareOAuth::from_args(args).map(|o| Box::new(o) as _),
        catalog: Some(Box::new(SquareCatalog::new(
            &args.square_base_url,
            &args.square_version,
            args.provider_timeout,
        ))),
    }
}
