//! Orders as the wire shows them.

use poem_openapi::Object;

use super::SyncLogOut;
use super::order_list::OrderState;
use crate::api::formats::{Id, Nullable, Timestamp};
use crate::api::kitchen::{FulfillmentOut, PaymentOut};
use crate::store;

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
    /// Sum of quantity × unit_price over the lines, minor units.
    pub subtotal: i64,
    /// Minor units.
    pub discount: i64,
    /// Minor units.
    pub delivery_fee: i64,
    /// Minor units.
    pub tip: i64,
    /// subtotal − discount + delivery_fee + tip, minor units: what the customer pays.
    pub total: i64,
    pub fulfillment: FulfillmentOut,
    pub payment: PaymentOut,
    pub created_at: Timestamp,
    // Described on the enum (see `SyncLog::action`).
    pub status: OrderState,
    #[oai(nullable)]
    pub canceled_at: Option<Timestamp>,
    #[oai(nullable)]
    pub cancel_reason: Option<String>,
    /// The state the POS reports for the order (Square: the fulfillment's state, such as
    /// `PREPARED`; Zoho: the sales order's status, such as `confirmed`); null until read back.
    #[oai(nullable)]
    pub pos_state: Option<String>,
    /// A test order (`POST /pos/test-order`): pushed like any order, left out of stats.
    pub is_test: bool,
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
            subtotal: o.subtotal,
            discount: o.charges.discount,
            delivery_fee: o.charges.delivery_fee,
            tip: o.charges.tip,
            total: o.total,
            fulfillment: o.fulfillment.into(),
            payment: o.payment.into(),
            created_at: o.created_at.into(),
            status: o.life.status.into(),
            canceled_at: o.life.canceled_at.map(Timestamp::from),
            cancel_reason: o.life.cancel_reason,
            pos_state: o.life.pos_state,
            is_test: o.is_test,
        }
    }
}

/// `data` of a cancellation: the order, and its cancellation log (null when the order never
/// reached the POS).
#[derive(Debug, Object)]
pub struct CanceledData {
    pub order: OrderOut,
    pub sync_log: Nullable<SyncLogOut>,
}

/// `data` holding one order and its latest sync log (null when it has none).
#[derive(Debug, Object)]
pub struct OrderData {
    pub order: OrderOut,
    pub sync_log: Nullable<SyncLogOut>,
}

/// `data` of a test order: the order and its push, queued at once (camelCase `syncLog`, as a
/// manual sync answers).
#[derive(Debug, Object)]
pub struct TestOrderData {
    pub order: OrderOut,
    #[oai(rename = "syncLog")]
    pub sync_log: SyncLogOut,
}
