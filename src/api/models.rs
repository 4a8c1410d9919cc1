//! Response bodies (what `data` holds) and their conversions from the store's types.

use std::collections::BTreeMap;

use poem_openapi::{Enum, Object};

use super::formats::{Id, Nullable, Timestamp};
use crate::domain::{ProviderKind, SyncStatus};
use crate::store::{self, Page, Paged};

/// A seller account.
#[derive(Debug, Object)]
#[oai(rename = "Seller")]
pub struct SellerOut {
    /// Seller id (UUID).
    pub id: Id,
    /// Login email, lower-cased.
    pub email: String,
    /// Display name.
    #[oai(nullable)]
    pub name: Option<String>,
    /// RFC 3339, UTC.
    pub created_at: Timestamp,
}

impl From<store::Seller> for SellerOut {
    fn from(s: store::Seller) -> Self {
        SellerOut {
            id: Id::of(s.id),
            email: s.email,
            name: s.name,
            created_at: s.created_at.into(),
        }
    }
}

/// `data` of register and me.
#[derive(Debug, Object)]
pub struct SellerData {
    pub seller: SellerOut,
}

/// `data` of login.
#[derive(Debug, Object)]
pub struct LoginData {
    /// The bearer token. Shown once; send it as `Authorization: Bearer <token>`.
    pub token: String,
    /// When the token stops working (RFC 3339, UTC).
    pub expires_at: Timestamp,
    pub seller: SellerOut,
}

/// Where a page sits in the whole list. Flattened into every list answer, so the wire keeps
/// `{<items>, total, limit, offset}` with each list's own name for its items.
#[derive(Debug, Object)]
pub struct PageInfo {
    /// How many there are in all.
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
}

/// A page of store rows as the wire shows it: the items converted, and where the page sits.
pub fn listed<S, T: From<S>>(found: Paged<S>, page: Page) -> (Vec<T>, PageInfo) {
    let info = PageInfo {
        total: found.total,
        limit: page.limit,
        offset: page.offset,
    };
    (found.items.into_iter().map(T::from).collect(), info)
}

/// An empty `data`.
#[derive(Debug, Object)]
pub struct Empty {}

/// A business (restaurant).
#[derive(Debug, Object)]
#[oai(rename = "Business")]
pub struct BusinessOut {
    pub id: Id,
    /// The owning seller.
    pub seller_id: Id,
    pub name: String,
    /// ISO 4217 code; prices are integers in its minor unit.
    pub currency: String,
    /// IANA time zone.
    pub timezone: String,
    /// Where failure emails go (else the seller's email).
    #[oai(nullable)]
    pub notification_email: Option<String>,
    /// WhatsApp number for alerts, E.164.
    #[oai(nullable)]
    pub whatsapp_number: Option<String>,
    pub whatsapp_enabled: bool,
    pub created_at: Timestamp,
}

impl From<store::Business> for BusinessOut {
    fn from(b: store::Business) -> Self {
        BusinessOut {
            id: Id::of(b.id),
            seller_id: Id::of(b.seller_id),
            name: b.name,
            currency: b.currency.code().to_string(),
            timezone: b.timezone,
            notification_email: b.notification_email,
            whatsapp_number: b.whatsapp_number,
            whatsapp_enabled: b.whatsapp_enabled,
            created_at: b.created_at.into(),
        }
    }
}

/// `data` holding one business.
#[derive(Debug, Object)]
pub struct BusinessData {
    pub business: BusinessOut,
}

/// A page of businesses.
#[derive(Debug, Object)]
pub struct BusinessList {
    pub businesses: Vec<BusinessOut>,
    #[oai(flatten)]
    pub page: PageInfo,
}

/// A dish on a business's menu.
#[derive(Debug, Object)]
#[oai(rename = "Dish")]
pub struct DishOut {
    pub id: Id,
    pub business_id: Id,
    pub name: String,
    /// Minor units of `currency` (30000 = ₹300.00).
    pub price: i64,
    pub currency: String,
    pub created_at: Timestamp,
}

impl From<store::Dish> for DishOut {
    fn from(d: store::Dish) -> Self {
        DishOut {
            id: Id::of(d.id),
            business_id: Id::of(d.business_id),
            name: d.name,
            price: d.price,
            currency: d.currency.code().to_string(),
            created_at: d.created_at.into(),
        }
    }
}

/// `data` holding one dish.
#[derive(Debug, Object)]
pub struct DishData {
    pub dish: DishOut,
}

/// A page of dishes.
#[derive(Debug, Object)]
pub struct DishList {
    pub dishes: Vec<DishOut>,
    #[oai(flatten)]
    pub page: PageInfo,
}

/// One line of an order, priced when the order was made.
#[derive(Debug, Object)]
#[oai(rename = "OrderItem")]
pub struct OrderItemOut {
    pub dish_id: Id,
    /// The dish's name when the order was made.
    pub name: String,
    pub quantity: i64,
    /// Minor units, the dish's price when the order was made.
    pub unit_price: i64,
    #[oai(nullable)]
    pub note: Option<String>,
}

/// An order.
#[derive(Debug, Object)]
#[oai(rename = "Order")]
pub struct OrderOut {
    pub id: Id,
    pub business_id: Id,
    pub customer_name: String,
    #[oai(nullable)]
    pub customer_phone: Option<String>,
    #[oai(nullable)]
    pub special_instructions: Option<String>,
    pub currency: String,
    pub items: Vec<OrderItemOut>,
    /// Sum of quantity × unit_price, minor units.
    pub total: i64,
    pub created_at: Timestamp,
}

impl From<store::Order> for OrderOut {
    fn from(o: store::Order) -> Self {
        OrderOut {
            id: Id::of(o.id),
            business_id: Id::of(o.business_id),
            customer_name: o.customer_name,
            customer_phone: o.customer_phone,
            special_instructions: o.special_instructions,
            currency: o.currency.code().to_string(),
            items: o
                .items
                .into_iter()
                .map(|i| OrderItemOut {
                    dish_id: Id::of(i.dish_id),
                    name: i.name,
                    quantity: i.quantity,
                    unit_price: i.unit_price,
                    note: i.note,
                })
                .collect(),
            total: o.total,
            created_at: o.created_at.into(),
        }
    }
}

/// `data` holding one order and its latest sync log (null when it has none).
#[derive(Debug, Object)]
pub struct OrderData {
    pub order: OrderOut,
    pub sync_log: Nullable<SyncLogOut>,
}

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
}

impl From<store::Integration> for IntegrationOut {
    fn from(i: store::Integration) -> Self {
        IntegrationOut {
            id: Id::of(i.id),
            business_id: Id::of(i.business_id),
            provider: i.provider.into(),
            is_active: i.is_active,
            location_id: i.location_id,
            merchant_id: i.merchant_id,
            default_customer_id: i.default_customer_id,
            auto_sync_orders: i.auto_sync_orders,
            sync_customer_info: i.sync_customer_info,
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

/// Where a sync log is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum SyncState {
    /// Queued, waiting for a worker.
    Pending,
    /// A worker is pushing it now.
    Syncing,
    /// An attempt failed; another is scheduled at `next_retry_at`.
    Retry,
    /// The POS has the order (`pos_order_id`).
    Success,
    /// Given up; `error_message` says why.
    Failed,
}

impl From<SyncStatus> for SyncState {
    fn from(s: SyncStatus) -> Self {
        match s {
            SyncStatus::Pending => SyncState::Pending,
            SyncStatus::Syncing => SyncState::Syncing,
            SyncStatus::Retry => SyncState::Retry,
            SyncStatus::Success => SyncState::Success,
            SyncStatus::Failed => SyncState::Failed,
        }
    }
}

impl From<SyncState> for SyncStatus {
    fn from(s: SyncState) -> Self {
        match s {
            SyncState::Pending => SyncStatus::Pending,
            SyncState::Syncing => SyncStatus::Syncing,
            SyncState::Retry => SyncStatus::Retry,
            SyncState::Success => SyncStatus::Success,
            SyncState::Failed => SyncStatus::Failed,
        }
    }
}

/// One push of one order to the POS.
#[derive(Debug, Object)]
#[oai(rename = "SyncLog")]
pub struct SyncLogOut {
    pub id: Id,
    pub order_id: Id,
    pub business_id: Id,
    pub provider: Provider,
    pub status: SyncState,
    /// The order's id in the POS, once it is there.
    #[oai(nullable)]
    pub pos_order_id: Option<String>,
    /// Retries scheduled so far.
    pub retry_count: i64,
    /// Retries allowed (so at most `max_retries + 1` attempts).
    pub max_retries: i64,
    /// When the next attempt is due (pending/retry).
    #[oai(nullable)]
    pub next_retry_at: Option<Timestamp>,
    #[oai(nullable)]
    pub error_message: Option<String>,
    /// Duration of the last attempt.
    #[oai(nullable)]
    pub duration_ms: Option<i64>,
    #[oai(nullable)]
    pub completed_at: Option<Timestamp>,
    pub created_at: Timestamp,
}

impl From<store::SyncLog> for SyncLogOut {
    fn from(l: store::SyncLog) -> Self {
        SyncLogOut {
            id: Id::of(l.id),
            order_id: Id::of(l.order_id),
            business_id: Id::of(l.business_id),
            provider: l.provider.into(),
            status: l.status.into(),
            pos_order_id: l.pos_order_id,
            retry_count: l.retry_count,
            max_retries: l.max_retries,
            next_retry_at: l.next_retry_at.map(Timestamp::from),
            error_message: l.error_message,
            duration_ms: l.duration_ms,
            completed_at: l.completed_at.map(Timestamp::from),
            created_at: l.created_at.into(),
        }
    }
}

/// `data` of a manual sync (camelCase `syncLog`, as the integration guide has it).
#[derive(Debug, Object)]
pub struct SyncLogData {
    #[oai(rename = "syncLog")]
    pub sync_log: SyncLogOut,
}

/// A page of sync logs, newest first.
#[derive(Debug, Object)]
pub struct HistoryData {
    pub logs: Vec<SyncLogOut>,
    #[oai(flatten)]
    pub page: PageInfo,
}

/// Sync statistics of a business.
#[derive(Debug, Object)]
#[oai(rename = "SyncStats")]
pub struct StatsOut {
    /// All sync logs (each manual re-sync is a log of its own).
    pub total_syncs: i64,
    pub successful_syncs: i64,
    /// Logs that failed for good.
    pub failed_syncs: i64,
    /// Logs waiting for a retry.
    pub pending_retries: i64,
    /// successful_syncs / total_syncs × 100, one decimal; 0 without syncs.
    pub success_rate: f64,
}

/// `data` of stats.
#[derive(Debug, Object)]
pub struct StatsData {
    pub stats: StatsOut,
}

/// How an attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum AttemptOutcome {
    /// The POS has the order.
    Success,
    /// Failed; retried after the interval.
    Retry,
    /// 429; retried after the back-off, the integration paused.
    RateLimited,
    /// The POS refused the credentials; reconnect.
    AuthFailed,
    /// Failed for good.
    Failed,
    /// Unknown whether the POS took the order (possync stopped mid-attempt, or a provider
    /// without idempotency timed out).
    Ambiguous,
}

/// One HTTP attempt of a sync log.
#[derive(Debug, Object)]
#[oai(rename = "SyncAttempt")]
pub struct AttemptOut {
    pub id: Id,
    pub sync_log_id: Id,
    /// 1 for the first attempt.
    pub attempt_number: i64,
    pub started_at: Timestamp,
    pub duration_ms: i64,
    /// Null when no answer came (timeout, connection error).
    #[oai(nullable)]
    pub http_status: Option<i64>,
    pub outcome: AttemptOutcome,
    #[oai(nullable)]
    pub error_message: Option<String>,
    #[oai(nullable)]
    pub pos_order_id: Option<String>,
}

impl From<store::Attempt> for AttemptOut {
    fn from(a: store::Attempt) -> Self {
        use crate::domain::AttemptOutcome as Recorded;
        let outcome = match a.outcome {
            Recorded::Success => AttemptOutcome::Success,
            Recorded::Retry => AttemptOutcome::Retry,
            Recorded::RateLimited => AttemptOutcome::RateLimited,
            Recorded::AuthFailed => AttemptOutcome::AuthFailed,
            Recorded::Ambiguous => AttemptOutcome::Ambiguous,
            Recorded::Failed => AttemptOutcome::Failed,
        };
        AttemptOut {
            id: Id::of(a.id),
            sync_log_id: Id::of(a.sync_log_id),
            attempt_number: a.attempt_number,
            started_at: a.started_at.into(),
            duration_ms: a.duration_ms,
            http_status: a.http_status,
            outcome,
            error_message: a.error_message,
            pos_order_id: a.pos_order_id,
        }
    }
}

/// A page of attempts, oldest first.
#[derive(Debug, Object)]
pub struct AttemptList {
    pub attempts: Vec<AttemptOut>,
    #[oai(flatten)]
    pub page: PageInfo,
}

/// `data` of a preview.
#[derive(Debug, Object)]
pub struct PreviewData {
    pub provider: Provider,
    /// The exact JSON body a sync would send now (no secrets).
    pub request: serde_json::Value,
}
