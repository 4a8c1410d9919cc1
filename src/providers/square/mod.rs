//! Square: `POST /v2/orders` with the body of providers/README.md §F3.
//!
//! Every attempt for one order sends the idempotency key `menumaker-<order id>`, so a retry after
//! a timeout gets Square's original order back instead of a second one.

mod catalog;
mod classify;
mod client;
mod lookup;
pub mod oauth;
mod payload;
mod state;

pub use catalog::SquareCatalog;
pub use classify::{describe_errors, outcome_of};
pub use client::SquareClient;
pub use oauth::SquareOAuth;
pub use payload::{create_order_body, idempotency_key};

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
