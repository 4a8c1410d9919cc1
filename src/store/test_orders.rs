//! Test orders: the order a seller sends after connecting to see one reach the POS. It is an
//! order like any other (history, cancellation, the same outbox and lane), marked `is_test` on
//! the order and its logs so stats leave it out. Its one line points at the business's hidden
//! test dish, made on the first test order: dish lists, mapping and suggestions never show it,
//! and no order or mapping can name it (`dish_of_business` does not find it).

use rusqlite::{OptionalExtension, Transaction, params};

use super::businesses::owned_business;
use super::integrations::active_integration_of_business;
use super::orders::write_order;
use super::sync_logs::{self, SyncLog};
use crate::Result;
use crate::domain::{
    BusinessId, Charges, Fulfillment, Millis, Order, OrderId, OrderItem, OrderLife, Payment, new_id,
};

/// The customer name of every test order.
pub const TEST_CUSTOMER: &str = "possync test order";
/// The name of the test order's one line.
pub const TEST_ITEM: &str = "possync test item";
/// The price of the test line, in minor units.
pub const TEST_PRICE: i64 = 100;

/// The business's hidden test dish, made the first time it is needed.
fn test_dish(tx: &Transaction<'_>, business_id: &BusinessId, now: Millis) -> Result<String> {
    let found: Option<String> = crate::store::cached_row(
        tx,
        "SELECT id FROM dishes WHERE business_id = ?1 AND is_test = 1",
        [business_id],
        |r| r.get(0),
    )
    .optional()?;
    if let Some(id) = found {
        return Ok(id);
    }
    let id = new_id();
    tx.execute(
        "INSERT INTO dishes (id, business_id, name, price, created_at, is_test)
         VALUES (?1, ?2, ?3, ?4, ?5, 1)",
        params![id, business_id, TEST_ITEM, TEST_PRICE, now],
    )?;
    Ok(id)
}

/// Place a test order for the seller's business and queue its push at once, whatever
/// `auto_sync_orders` says. `NotFound` for a foreign business; `Conflict` without an active
/// integration. The order's other fields are the model's defaults, as for an order that sets
/// none: paid, pickup as soon as possible, no discount, fee or tip.
pub fn insert_test_order(
    tx: &Transaction<'_>,
    seller_id: &str,
    business_id: &BusinessId,
    max_retries: i64,
    now: Millis,
) -> Result<(Order, SyncLog)> {
    let business = owned_business(tx, seller_id, business_id)?;
    let integration = active_integration_of_business(tx, &business.id)?;
    let order = Order {
        id: OrderId::from(new_id()),
        business_id: business.id.clone(),
        customer_name: TEST_CUSTOMER.into(),
        customer_phone: None,
        special_instructions: None,
        currency: business.currency,
        items: vec![OrderItem {
            dish_id: test_dish(tx, &business.id, now)?,
            name: TEST_ITEM.into(),
            quantity: 1,
            unit_price: TEST_PRICE,
            note: None,
        }],
        subtotal: TEST_PRICE,
        charges: Charges::default(),
        total: TEST_PRICE,
        fulfillment: Fulfillment::default(),
        payment: Payment::default(),
        created_at: now,
        life: OrderLife::default(),
        is_test: true,
    };
    write_order(tx, &order)?;
    let log = sync_logs::insert_log(tx, &order.id, &integration, max_retries, now)?;
    Ok((order, log))
}
