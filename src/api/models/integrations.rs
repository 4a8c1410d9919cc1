//! POS integrations and the providers as the wire names them.

use std::collections::BTreeMap;

use poem_openapi::{Enum, Object};

use crate::api::formats::{Id, Timestamp};
use crate::domain::{Millis, ProviderKind, now_millis};
use crate::store;

/// A business's POS integration. Never carries a token.
#[derive(Debug, Object)]
#[oai(rename = "Integration")]
pub struct IntegrationOut {
    pub id: Id,
    pub business_id: Id,
    pub provider: Provider,
    /// Whether orders are pushed (false after disconnect, or while a location is missing).
    pub is_active: bool,
    /// Square location, Zoho warehouse, or Dine hotelId.
    #[oai(nullable)]
    pub location_id: Option<String>,
    /// Square merchant, or Zoho organization_id.
    #[oai(nullable)]
    pub merchant_id: Option<String>,
    /// Zoho contact used for every sales order, when set.
    #[oai(nullable)]
    pub default_customer_id: Option<String>,
    pub auto_sync_orders: bool,
    pub sync_customer_info: bool,
    /// Square: each order's payment is recorded, so the POS shows it (providers §F3b).
    pub record_payment: bool,
    /// Dish id → POS item id.
    pub item_mapping: BTreeMap<String, String>,
    #[oai(nullable)]
    pub token_expires_at: Option<Timestamp>,
    #[oai(nullable)]
    pub last_sync_at: Option<Timestamp>,
    /// Consecutive failed attempts; reset by a success.
    pub error_count: i64,
    #[oai(nullable)]
    pub last_error: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    // Described on its type (an allOf here makes SDK generators emit a duplicate model).
    pub health: HealthOut,
}

/// An integration's health: how its orders are flowing — its lane's circuit, pause and queue
/// (API.md Part two, "Delivery lanes").
#[derive(Debug, Object)]
#[oai(rename = "IntegrationHealth")]
pub struct HealthOut {
    // Described on the enum: a doc line here would wrap the $ref in an allOf, which SDK
    // generators refuse for a string enum.
    pub state: HealthState,
    /// Attempts in a row that got no answer from the POS; at `--breaker-after` the circuit
    /// opens.
    pub consecutive_failures: i64,
    /// Until when a 429 pauses it, while it does.
    #[oai(nullable)]
    pub paused_until: Option<Timestamp>,
    pub queue: QueueOut,
}

/// What an integration's health says: `circuit_open` (the POS stopped answering: orders are
/// held), else `paused` (a 429), else `failing` (the last attempts got no answer: network,
/// timeout, 5xx), else `ok`. An order the POS refused (a 4xx) fails on its own and leaves the
/// integration `ok`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename = "IntegrationHealthState", rename_all = "snake_case")]
pub enum HealthState {
    Ok,
    Failing,
    Paused,
    CircuitOpen,
}

/// An integration's sync logs on their way, by status.
#[derive(Debug, Object)]
#[oai(rename = "IntegrationQueue")]
pub struct QueueOut {
    pub pending: i64,
    pub retry: i64,
    pub syncing: i64,
    /// Queued logs held by an open circuit (`pending` + `retry` while it is open, else 0).
    pub held: i64,
}

impl HealthOut {
    /// The health of `i` at `now`.
    pub fn of(i: &store::Integration, now: Millis) -> HealthOut {
        let paused_until = i.paused_until.filter(|until| *until > now);
        let open = i.lane.circuit_open_since.is_some();
        let state = if open {
            HealthState::CircuitOpen
        } else if paused_until.is_some() {
            HealthState::Paused
        } else if i.lane.failures > 0 {
            HealthState::Failing
        } else {
            HealthState::Ok
        };
        let lane = &i.lane;
        HealthOut {
            state,
            consecutive_failures: i.lane.failures,
            paused_until: paused_until.map(Timestamp::from),
            queue: QueueOut {
                pending: lane.pending,
                retry: lane.retry,
                syncing: lane.syncing,
                held: if open { lane.pending + lane.retry } else { 0 },
            },
        }
    }
}

impl From<store::Integration> for IntegrationOut {
    fn from(i: store::Integration) -> Self {
        let health = HealthOut::of(&i, now_millis());
        IntegrationOut {
            health,
            id: Id::of(i.id),
            business_id: Id::of(i.business_id),
            provider: i.provider.into(),
            is_active: i.is_active,
            location_id: i.location_id,
            merchant_id: i.merchant_id,
            default_customer_id: i.default_customer_id,
            auto_sync_orders: i.auto_sync_orders,
            sync_customer_info: i.sync_customer_info,
            record_payment: i.record_payment,
            item_mapping: i.item_mapping,
            token_expires_at: i.token_expires_at.map(Timestamp::from),
            last_sync_at: i.last_sync_at.map(Timestamp::from),
            error_count: i.error_count,
            last_error: i.last_error,
            created_at: i.created_at.into(),
            updated_at: i.updated_at.into(),
        }
    }
}

/// `data` holding one integration.
#[derive(Debug, Object)]
pub struct IntegrationData {
    pub integration: IntegrationOut,
}

/// A point-of-sale system.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum Provider {
    /// Square (OAuth 2.0 or a personal access token).
    Square,
    /// Zoho Inventory.
    Zoho,
    /// Dine POS (webhook).
    Dine,
}

impl From<ProviderKind> for Provider {
    fn from(p: ProviderKind) -> Self {
        match p {
            ProviderKind::Square => Provider::Square,
            ProviderKind::Zoho => Provider::Zoho,
            ProviderKind::Dine => Provider::Dine,
        }
    }
}

impl From<Provider> for ProviderKind {
    fn from(p: Provider) -> Self {
        match p {
            Provider::Square => ProviderKind::Square,
            Provider::Zoho => ProviderKind::Zoho,
            Provider::Dine => ProviderKind::Dine,
        }
    }
}
