//! Square's CreatePayment body (providers/README.md §F3b): the order is recorded as paid
//! outside Square (an EXTERNAL payment), so Square shows it on the POS. Pure: the same order
//! and Square order give the same bytes, so a retry under the same key is answered with the
//! payment Square already made.

use serde_json::{Value, json};

use crate::domain::{Integration, Order, PaymentMethod};

/// The idempotency key of the payment of this order: `mmpay-` + the order id (42 characters;
/// CreatePayment allows 45, so the CreateOrder key does not fit).
pub fn payment_key(order_id: &str) -> String {
    format!("mmpay-{order_id}")
}

/// Square's `external_details.type` for how MenuMaker was paid (§F3b): a card is `CARD`, UPI
/// and wallets are `EMONEY`, cash, anything else and an order not yet paid are `OTHER`.
pub fn external_type(order: &Order) -> &'static str {
    if order.payment.is_unpaid() {
        return "OTHER";
    }
    match order.payment.method {
        PaymentMethod::Card => "CARD",
        PaymentMethod::Upi | PaymentMethod::Wallet => "EMONEY",
        PaymentMethod::Cash | PaymentMethod::Other => "OTHER",
    }
}

/// The CreatePayment body for `order`, created in Square as `pos_order_id`. The location is the
/// one the order was created at (its frozen CreateOrder body), so a location changed since
/// cannot make the payment differ from the one Square may already have under this key.
pub fn create_payment_body(
    order: &Order,
    integration: &Integration,
    create_body: Option<&Value>,
    pos_order_id: &str,
) -> Value {
    let location = create_body
        .and_then(|b| b.pointer("/order/location_id"))
        .and_then(Value::as_str)
        .map(str::to_string)
        .or_else(|| integration.location_id.clone())
        .unwrap_or_default();
    let mut body = json!({
        "idempotency_key": payment_key(order.id.as_str()),
        "source_id": "EXTERNAL",
        "amount_money": {"amount": order.total, "currency": order.currency.code()},
        "order_id": pos_order_id,
        "location_id": location,
        "reference_id": order.id.to_string(),
        "external_details": {
            "type": external_type(order),
            "source": "MenuMaker",
            "source_id": order.id.to_string(),
        },
    });
    if order.payment.is_unpaid() {
        // The payment only makes Square show the order; staff still collect the money.
        body["note"] = json!("Unpaid: collect at pickup");
    }
    body
}
