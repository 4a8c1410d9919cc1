//! An order and its lines: the record the store keeps and the providers turn into a POS
//! payload. Plain data: reading and writing it is the store's job.

use super::{BusinessId, Currency, Millis, OrderId};

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
