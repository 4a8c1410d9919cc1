//! An order and its lines: the record the store keeps and the providers turn into a POS
//! payload. Plain data: reading and writing it is the store's job.

use super::{BusinessId, Charges, Currency, Fulfillment, Millis, OrderId, OrderStatus, Payment};

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
    /// The sum of the lines, minor units.
    pub subtotal: i64,
    /// Discount, delivery fee and tip.
    pub charges: Charges,
    /// `subtotal − discount + delivery_fee + tip`: what the customer pays.
    pub total: i64,
    pub fulfillment: Fulfillment,
    pub payment: Payment,
    pub created_at: Millis,
    /// What happened to the order after it was placed.
    pub life: OrderLife,
    /// A test order (`POST /pos/test-order`): pushed like any order, left out of stats.
    pub is_test: bool,
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

impl Order {
    /// The sum of `quantity × unit_price` over `items`; `None` beyond 64 bits.
    pub fn subtotal_of(items: &[OrderItem]) -> Option<i64> {
        items.iter().try_fold(0i64, |sum, item| {
            item.unit_price
                .checked_mul(item.quantity)
                .and_then(|line| sum.checked_add(line))
        })
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

#[cfg(test)]
mod tests {
    use super::*;

    fn line(unit_price: i64, quantity: i64) -> OrderItem {
        OrderItem {
            dish_id: "d".into(),
            name: "n".into(),
            quantity,
            unit_price,
            note: None,
        }
    }

    #[test]
    fn the_subtotal_sums_the_lines_or_overflows() {
        for (lines, want) in [
            (vec![], Some(0)),
            (vec![line(30000, 2)], Some(60000)),
            (vec![line(30050, 2), line(4000, 1)], Some(64100)),
            (vec![line(0, 5)], Some(0)),
            (vec![line(i64::MAX, 2)], None),
            (vec![line(i64::MAX, 1), line(1, 1)], None),
        ] {
            assert_eq!(Order::subtotal_of(&lines), want, "{lines:?}");
        }
    }
}
