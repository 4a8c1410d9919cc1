//! The order fields of "Orders the kitchen sees" (fulfillment, payment, discount, delivery fee,
//! tip): each bad value is a 400 naming the field, and nothing is written.

use super::*;

/// RFC 3339 for now + `seconds`.
pub fn from_now(seconds: i64) -> String {
    (jiff::Timestamp::now() + jiff::SignedDuration::from_secs(seconds)).to_string()
}

#[test]
fn bad_fulfillment_payment_and_money_get_a_400_naming_the_field_and_write_nothing() {
    let w = world();
    let orders = "/api/v1/orders";
    // The connected business's dish costs 40000: 2 of them make a subtotal of 80000.
    let good = json!({
        "business_id": w.connected,
        "customer_name": "Rahul Kumar",
        "items": [{"dish_id": w.connected_dish, "quantity": 2}],
        "fulfillment": {"type": "delivery", "delivery_address": "12 MG Road, Bengaluru"},
        "payment": {"status": "paid", "method": "upi"},
        "discount": 5000, "delivery_fee": 4000, "tip": 2000,
    });
    let f = |value: Value| with(&good, "/fulfillment", value);
    let cases = vec![
        invalid(
            "a pickup_at in the past",
            "POST",
            orders,
            f(json!({"type": "pickup", "pickup_at": from_now(-600)})),
            "fulfillment.pickup_at",
        ),
        invalid(
            "a pickup_at 8 days ahead",
            "POST",
            orders,
            f(json!({"type": "pickup", "pickup_at": from_now(8 * 24 * 3600)})),
            "fulfillment.pickup_at",
        ),
        invalid(
            "a pickup_at that is not a time",
            "POST",
            orders,
            f(json!({"pickup_at": "tomorrow at noon"})),
            "fulfillment.pickup_at",
        ),
        invalid(
            "a number for pickup_at",
            "POST",
            orders,
            f(json!({"pickup_at": 1_795_550_400})),
            "pickup_at",
        ),
        invalid(
            "a delivery without an address",
            "POST",
            orders,
            f(json!({"type": "delivery"})),
            "fulfillment.delivery_address",
        ),
        invalid(
            "a delivery with a blank address",
            "POST",
            orders,
            f(json!({"type": "delivery", "delivery_address": "  "})),
            "fulfillment.delivery_address",
        ),
        invalid(
            "dine_in without a table",
            "POST",
            orders,
            f(json!({"type": "dine_in"})),
            "fulfillment.table",
        ),
        invalid(
            "a table on a pickup",
            "POST",
            orders,
            f(json!({"type": "pickup", "table": "T4"})),
            "fulfillment.table",
        ),
        invalid(
            "an address on a dine-in order",
            "POST",
            orders,
            f(json!({"type": "dine_in", "table": "T4", "delivery_address": "12 MG Road"})),
            "fulfillment.delivery_address",
        ),
        invalid(
            "a 501-character delivery_address",
            "POST",
            orders,
            f(json!({"type": "delivery", "delivery_address": "a".repeat(501)})),
            "delivery_address",
        ),
        invalid(
            "a 21-character table",
            "POST",
            orders,
            f(json!({"type": "dine_in", "table": "t".repeat(21)})),
            "table",
        ),
        invalid(
            "a NUL in delivery_address",
            "POST",
            orders,
            f(json!({"type": "delivery", "delivery_address": "12 MG\u{0}Road"})),
            "delivery_address",
        ),
        invalid(
            "a NUL in table",
            "POST",
            orders,
            f(json!({"type": "dine_in", "table": "T\u{0}4"})),
            "table",
        ),
        invalid(
            "an unknown fulfillment type",
            "POST",
            orders,
            f(json!({"type": "drone"})),
            "type",
        ),
        invalid(
            "a fulfillment that is a string",
            "POST",
            orders,
            f(json!("pickup")),
            "fulfillment",
        ),
        invalid(
            "an unknown payment method",
            "POST",
            orders,
            with(
                &good,
                "/payment",
                json!({"status": "paid", "method": "cheque"}),
            ),
            "method",
        ),
        invalid(
            "an unknown payment status",
            "POST",
            orders,
            with(&good, "/payment", json!({"status": "later"})),
            "status",
        ),
        invalid(
            "a discount above the subtotal",
            "POST",
            orders,
            with(&good, "/discount", json!(80001)),
            "discount",
        ),
        invalid(
            "a negative discount",
            "POST",
            orders,
            with(&good, "/discount", json!(-1)),
            "discount",
        ),
        invalid(
            "a negative delivery_fee",
            "POST",
            orders,
            with(&good, "/delivery_fee", json!(-100)),
            "delivery_fee",
        ),
        invalid(
            "a fraction for tip",
            "POST",
            orders,
            with(&good, "/tip", json!(12.5)),
            "tip",
        ),
        invalid(
            "a string for tip",
            "POST",
            orders,
            with(&good, "/tip", json!("20")),
            "tip",
        ),
        invalid(
            "a total beyond 64 bits",
            "POST",
            orders,
            with(&good, "/tip", json!(i64::MAX)),
            "total",
        ),
    ];
    run(&w.app, &w.token, cases);
}
