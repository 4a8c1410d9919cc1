//! Orders and their items. Names and prices come from the dishes at creation time.

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::businesses::{dish_of_business, owned_business};
use crate::domain::{
    BusinessId, Charges, Fulfillment, Millis, OrderId, OrderLife, Payment, new_id,
};
pub use crate::domain::{Order, OrderItem};
use crate::{Error, Result};

/// A validated new order, before prices are looked up.
#[derive(Debug)]
pub struct NewOrder {
    pub business_id: BusinessId,
    pub customer_name: String,
    pub customer_phone: Option<String>,
    pub special_instructions: Option<String>,
    pub items: Vec<NewOrderItem>,
    pub charges: Charges,
    pub fulfillment: Fulfillment,
    pub payment: Payment,
}

/// One validated line of a new order.
#[derive(Debug)]
pub struct NewOrderItem {
    pub dish_id: String,
    pub quantity: i64,
    pub note: Option<String>,
}

/// Insert an order for the seller's business, pricing it from the dishes.
/// A foreign business is `NotFound`; a dish of another business is a validation error.
pub fn insert_order(
    tx: &Transaction<'_>,
    seller_id: &str,
    new: NewOrder,
    now: Millis,
) -> Result<Order> {
    let business = owned_business(tx, seller_id, &new.business_id)?;
    let mut items = Vec::with_capacity(new.items.len());
    for (index, item) in new.items.into_iter().enumerate() {
        let dish = dish_of_business(tx, &business.id, &item.dish_id)?.ok_or_else(|| {
            Error::invalid(
                &format!("items[{index}].dish_id"),
                "no such dish in this business",
            )
        })?;
        items.push(OrderItem {
            dish_id: dish.id,
            name: dish.name,
            quantity: item.quantity,
            unit_price: dish.price,
            note: item.note,
        });
    }
    // Everything is checked before the first row is written.
    let subtotal = Order::subtotal_of(&items)
        .ok_or_else(|| Error::invalid("items", "the order total is too large"))?;
    let total = new.charges.total(subtotal)?;
    let order = Order {
        id: OrderId::from(new_id()),
        business_id: business.id,
        customer_name: new.customer_name,
        customer_phone: new.customer_phone,
        special_instructions: new.special_instructions,
        currency: business.currency,
        items,
        subtotal,
        charges: new.charges,
        total,
        fulfillment: new.fulfillment,
        payment: new.payment,
        created_at: now,
        life: OrderLife::default(),
        is_test: false,
    };
    write_order(tx, &order)?;
    Ok(order)
}

/// Write a new order and its lines as they are (priced and checked already).
pub(super) fn write_order(tx: &Transaction<'_>, order: &Order) -> Result<()> {
    let (charges, fulfillment, payment) = (&order.charges, &order.fulfillment, &order.payment);
    tx.prepare_cached(
        "INSERT INTO orders (id, business_id, customer_name, customer_phone, special_instructions,
         currency, total, created_at, subtotal, discount, delivery_fee, tip, fulfillment_type,
         pickup_at, delivery_address, dine_in_table, payment_status, payment_method, is_test)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18,
                 ?19)",
    )?
    .execute(params![
        order.id,
        order.business_id,
        order.customer_name,
        order.customer_phone,
        order.special_instructions,
        order.currency,
        order.total,
        order.created_at,
        order.subtotal,
        charges.discount,
        charges.delivery_fee,
        charges.tip,
        fulfillment.kind,
        fulfillment.pickup_at,
        fulfillment.delivery_address,
        fulfillment.table,
        payment.status,
        payment.method,
        order.is_test
    ])?;
    let mut stmt = tx.prepare_cached(
        "INSERT INTO order_items (order_id, position, dish_id, name, quantity, unit_price, note)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    for (position, item) in order.items.iter().enumerate() {
        stmt.execute(params![
            order.id,
            position as i64,
            item.dish_id,
            item.name,
            item.quantity,
            item.unit_price,
            item.note
        ])?;
    }
    Ok(())
}

pub(super) fn load_items(conn: &Connection, order_id: &OrderId) -> Result<Vec<OrderItem>> {
    let mut stmt = conn.prepare_cached(
        "SELECT dish_id, name, quantity, unit_price, note FROM order_items
         WHERE order_id = ?1 ORDER BY position",
    )?;
    let items = stmt
        .query_map([order_id], |row| {
            Ok(OrderItem {
                dish_id: row.get(0)?,
                name: row.get(1)?,
                quantity: row.get(2)?,
                unit_price: row.get(3)?,
                note: row.get(4)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(items)
}

pub(super) const ORDER_SELECT: &str = "SELECT o.id, o.business_id, o.customer_name,
    o.customer_phone, o.special_instructions, o.currency, o.total, o.created_at, o.status,
    o.canceled_at, o.cancel_reason, o.pos_state, o.subtotal, o.discount, o.delivery_fee, o.tip,
    o.fulfillment_type, o.pickup_at, o.delivery_address, o.dine_in_table, o.payment_status,
    o.payment_method, o.is_test FROM orders o";

pub(super) fn order_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Order> {
    Ok(Order {
        id: row.get(0)?,
        business_id: row.get(1)?,
        customer_name: row.get(2)?,
        customer_phone: row.get(3)?,
        special_instructions: row.get(4)?,
        currency: row.get(5)?,
        items: Vec::new(),
        subtotal: row.get(12)?,
        charges: Charges {
            discount: row.get(13)?,
            delivery_fee: row.get(14)?,
            tip: row.get(15)?,
        },
        total: row.get(6)?,
        fulfillment: Fulfillment {
            kind: row.get(16)?,
            pickup_at: row.get(17)?,
            delivery_address: row.get(18)?,
            table: row.get(19)?,
        },
        payment: Payment {
            status: row.get(20)?,
            method: row.get(21)?,
        },
        created_at: row.get(7)?,
        life: OrderLife {
            status: row.get(8)?,
            canceled_at: row.get(9)?,
            cancel_reason: row.get(10)?,
            pos_state: row.get(11)?,
        },
        is_test: row.get(22)?,
    })
}

/// The order with this id if one of the seller's businesses owns it.
pub fn owned_order(conn: &Connection, seller_id: &str, order_id: &OrderId) -> Result<Order> {
    let mut order = crate::store::cached_row(
        conn,
        &format!(
            "{ORDER_SELECT} JOIN businesses b ON b.id = o.business_id
                 WHERE o.id = ?1 AND b.seller_id = ?2"
        ),
        params![order_id, seller_id],
        order_from_row,
    )
    .optional()?
    .ok_or(Error::NotFound("order"))?;
    order.items = load_items(conn, &order.id)?;
    Ok(order)
}

/// The order with this id, whoever owns it (for workers).
pub fn order_by_id(conn: &Connection, order_id: &OrderId) -> Result<Option<Order>> {
    let Some(mut order) = crate::store::cached_row(
        conn,
        &format!("{ORDER_SELECT} WHERE o.id = ?1"),
        [order_id],
        order_from_row,
    )
    .optional()?
    else {
        return Ok(None);
    };
    order.items = load_items(conn, &order.id)?;
    Ok(Some(order))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{FulfillmentType, PaymentMethod, PaymentStatus};
    use crate::store::migrate::{migrate, migrate_to_before};

    /// A database from before fulfillments and order-level money opens, and its orders read
    /// as what they were: pickups as soon as possible, paid, subtotal = total, no charges.
    #[test]
    fn orders_of_an_older_database_read_with_the_defaults() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate_to_before(&mut conn, "ADD COLUMN fulfillment_type");
        conn.execute_batch(
            "INSERT INTO sellers (id, email, password_hash, created_at) VALUES ('s', 'a@b', 'x', 0);
             INSERT INTO businesses (id, seller_id, name, currency, timezone, created_at)
                 VALUES ('b', 's', 'Spice Garden', 'INR', 'UTC', 0);
             INSERT INTO dishes (id, business_id, name, price, created_at)
                 VALUES ('d', 'b', 'Paneer', 30000, 0);
             INSERT INTO orders (id, business_id, customer_name, currency, total, created_at)
                 VALUES ('o', 'b', 'Rahul', 'INR', 60000, 5);
             INSERT INTO order_items (order_id, position, dish_id, name, quantity, unit_price)
                 VALUES ('o', 0, 'd', 'Paneer', 2, 30000);",
        )
        .unwrap();
        assert!(migrate(&mut conn).unwrap() >= 1);
        let order = order_by_id(&conn, &OrderId::from("o")).unwrap().unwrap();
        assert_eq!((order.subtotal, order.total), (60000, 60000));
        assert_eq!(order.charges, Charges::default());
        assert_eq!(order.fulfillment.kind, FulfillmentType::Pickup);
        assert_eq!(order.fulfillment, Fulfillment::default());
        assert_eq!(
            (order.payment.status, order.payment.method),
            (PaymentStatus::Paid, PaymentMethod::Other)
        );
        assert_eq!(order.items.len(), 1);
    }
}
