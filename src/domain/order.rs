//! An order and its lines: the record the store keeps and the providers turn into a POS
//! payload. Plain data: reading and writing it is the store's job.

use super::{BusinessId, Currency, Millis, OrderId, OrderStatus};

/// An order as possync keeps it: priced from the dishes when it was made.
#[derive(Debug, Clone)]
pub struct Order {
    pub id: OrderId,
    pub business_id: BusinessId,
    pub customer_name: String,
    pub customer_phone: Option<String>,
    pub special_instructions: Option<String>,
    pub currency: Currency,
    pub items: Vec<OrderItem>,
    pub total: i64,
    pub created_at: Millis,
    /// What happened to the order after it was placed.
    pub life: OrderLife,
}

/// An order's life after it is placed: canceled or not, and the state its POS reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderLife {
    /// `open` until the seller cancels it.
    pub status: OrderStatus,
    pub canceled_at: Option<Millis>,
    pub cancel_reason: Option<String>,
    /// The state the POS last reported for the order (§F8), once read back.
    pub pos_state: Option<String>,
}

impl Default for OrderLife {
    /// A new order: open, never read back from the POS.
    fn default() -> Self {
        OrderLife {
            status: OrderStatus::Open,
            canceled_at: None,
            cancel_reason: None,
            pos_state: None,
        }
    }
}

/// One line of a stored order.
#[derive(Debug, Clone)]
pub struct OrderItem {
    pub dish_id: String,
    pub name: String,
    pub quantity: i64,
    pub unit_price: i64,
    pub note: Option<String>,
}
