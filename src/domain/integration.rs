//! A business's connection to one POS: the record the store keeps and the providers read their
//! settings from (location, mapping, customer options). Plain data without tokens: sealing and
//! opening those is the store's job.

use std::collections::BTreeMap;

use super::{BusinessId, IntegrationId, Millis, ProviderKind};

/// A business's connection to one POS as possync keeps it, without its tokens.
#[derive(Debug, Clone)]
pub struct Integration {
    pub id: IntegrationId,
    pub business_id: BusinessId,
    pub provider: ProviderKind,
    pub is_active: bool,
    pub location_id: Option<String>,
    pub merchant_id: Option<String>,
    pub default_customer_id: Option<String>,
    pub auto_sync_orders: bool,
    pub sync_customer_info: bool,
    /// Square: record each order's payment, so the POS shows it (providers §F3b).
    pub record_payment: bool,
    /// Dish id → POS item id.
    pub item_mapping: BTreeMap<String, String>,
    pub token_expires_at: Option<Millis>,
    pub token_refreshed_at: Option<Millis>,
    pub last_sync_at: Option<Millis>,
    pub error_count: i64,
    pub last_error: Option<String>,
    pub paused_until: Option<Millis>,
    /// Zoho's data-centre API host, from the OAuth exchange.
    pub api_domain: Option<String>,
    pub created_at: Millis,
    pub updated_at: Millis,
    /// Its lane: the circuit and the queue, for `health`.
    pub lane: LaneHealth,
}

/// What `health` shows of an integration's lane.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LaneHealth {
    /// Attempts in a row that got no answer from the POS (the breaker's count).
    pub failures: i64,
    /// When its circuit opened; `None` while closed.
    pub circuit_open_since: Option<Millis>,
    /// Its logs by queued status (from the per-business counters: one integration per business).
    pub pending: i64,
    pub retry: i64,
    pub syncing: i64,
}

/// An integration for unit tests of payload builders.
#[cfg(test)]
pub(crate) fn sample_integration(
    provider: ProviderKind,
    location: Option<&str>,
    customer: bool,
    mapping: &[(&str, &str)],
) -> Integration {
    Integration {
        id: "i".into(),
        business_id: "b".into(),
        provider,
        is_active: true,
        location_id: location.map(String::from),
        merchant_id: None,
        default_customer_id: None,
        auto_sync_orders: true,
        sync_customer_info: customer,
        record_payment: true,
        item_mapping: mapping
            .iter()
            .map(|(d, p)| (d.to_string(), p.to_string()))
            .collect(),
        token_expires_at: None,
        token_refreshed_at: None,
        last_sync_at: None,
        error_count: 0,
        last_error: None,
        paused_until: None,
        api_domain: None,
        created_at: 0,
        updated_at: 0,
        lane: LaneHealth::default(),
    }
}
