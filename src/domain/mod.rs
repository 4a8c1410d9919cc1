//! Plain types parsed at the edge: the core takes only valid values.

mod currency;
mod enums;
mod ids;
mod integration;
mod kitchen;
pub mod money;
mod order;
mod text;
mod time;

pub use currency::Currency;
pub use enums::{
    AttemptOutcome, Channel, DeliveryStatus, FulfillmentType, NotificationKind, OrderStatus,
    PaymentMethod, PaymentStatus, ProviderKind, Step, SyncAction, SyncStatus, TokenKind,
};
pub use ids::{BusinessId, IntegrationId, OrderId, SyncLogId};
#[cfg(test)]
pub(crate) use integration::sample_integration;
pub use integration::{Integration, LaneHealth};
pub use kitchen::{Charges, Fulfillment, PICKUP_AHEAD_MAX_MS, Payment};
pub use order::{Order, OrderItem, OrderLife};
pub use text::{Email, Password, bounded, optional_bounded};
pub use time::{Millis, format_millis, now_millis, parse_rfc3339};

/// Parse a UUID given by a client for `field`.
pub fn parse_id(field: &str, raw: &str) -> crate::Result<uuid::Uuid> {
    uuid::Uuid::parse_str(raw.trim()).map_err(|_| crate::Error::invalid(field, "must be a UUID"))
}

/// A new time-ordered id.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Text limits from API.md (Unicode characters).
pub mod limits {
    pub const NAME: usize = 200;
    pub const CUSTOMER_NAME: usize = 200;
    pub const CUSTOMER_PHONE: usize = 32;
    pub const SPECIAL_INSTRUCTIONS: usize = 2000;
    pub const ITEM_NOTE: usize = 500;
    pub const DELIVERY_ADDRESS: usize = 500;
    pub const TABLE: usize = 20;
    /// A cancellation's reason (Square's pickup `cancel_reason` allows 100).
    pub const CANCEL_REASON: usize = 100;
    pub const EMAIL: usize = 254;
    pub const PASSWORD_MIN: usize = 8;
    pub const PASSWORD_MAX: usize = 128;
    pub const QUANTITY_MAX: i64 = 999;
    pub const ITEMS_MAX: usize = 100;
    /// Square's idempotency key and catalog ids are at most 192 characters.
    pub const POS_ID: usize = 192;
    pub const TOKEN: usize = 4096;
}
