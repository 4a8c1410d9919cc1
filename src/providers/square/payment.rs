//! How a Square order is paid so Square shows it on the POS (providers/README.md §F3b): the
//! step a create push takes next, and the bodies. An order with something to pay is recorded as
//! paid outside Square (CreatePayment, an EXTERNAL payment); an order whose total is 0 is marked
//! paid with PayOrder and no payments, because Square refuses a payment of 0 ("total requested
//! amount is below the minimum allowed", developer forum t/1866, where Square's staff answer to
//! use PayOrder with an empty `payment_ids`; the PayOrder reference: "Orders with a total amount
//! of `0` can be marked as paid by specifying an empty array of `payment_ids`"). Pure: the same
//! order and Square order give the same bytes, so a retry under the same key is answered with
//! what Square already did.

use serde_json::{Value, json};

use crate::domain::{Integration, Order, PaymentMethod, Step};
use crate::providers::Done;

/// The step a create push takes next after what is `done`: create the order, then pay it
/// (with `record_payment`): a payment of the `total`, or PayOrder for a total of 0. `None` once
/// the order is created and, if it is to be, paid.
pub fn create_step(done: &Done, record_payment: bool, total: i64) -> Option<Step> {
    if done.pos_order_id.is_none() {
        Some(Step::CreateOrder)
    } else if !record_payment || done.pos_payment_id.is_some() || done.paid {
        None
    } else {
        Some(paying_step(total))
    }
}

/// The step that pays an order of `total`: PayOrder for 0 (Square refuses a payment of 0),
/// else CreatePayment.
pub fn paying_step(total: i64) -> Step {
    if total == 0 {
        Step::PayOrder
    } else {
        Step::RecordPayment
    }
}

/// Whether Square shows the order after what is `done`: once it is paid, by a payment or by
/// PayOrder.
pub fn is_paid(done: &Done) -> bool {
    done.pos_payment_id.is_some() || done.paid
}

/// The idempotency key of the PayOrder of this order: fixed per order, and apart from the
/// CreatePayment key (a key belongs to one kind of request).
pub fn pay_order_key(order_id: &str) -> String {
    format!("mmpayorder-{order_id}")
}

/// The PayOrder body for an order whose total is 0: no payments, and no `order_version`
/// ("if not supplied, the latest version will be paid"), so a retry sends the same bytes.
pub fn pay_order_body(order: &Order) -> Value {
    json!({
        "idempotency_key": pay_order_key(order.id.as_str()),
        "payment_ids": [],
    })
}

/// Where the PayOrder of Square's order `pos_order_id` goes.
pub fn pay_order_path(pos_order_id: &str) -> String {
    format!("/v2/orders/{pos_order_id}/pay")
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_created_order_is_paid_by_a_payment_or_for_a_zero_total_by_pay_order() {
        let done = |order: Option<&str>, payment: Option<&str>, paid: bool| Done {
            pos_order_id: order.map(str::to_string),
            pos_payment_id: payment.map(str::to_string),
            paid,
            ..Done::default()
        };
        let (fresh, created) = (done(None, None, false), done(Some("SQ1"), None, false));
        let (with_payment, marked_paid) = (
            done(Some("SQ1"), Some("P1"), false),
            done(Some("SQ1"), None, true),
        );
        for (why, done, record_payment, total, want) in [
            ("not created", &fresh, true, 61500, Some(Step::CreateOrder)),
            (
                "not created, zero",
                &fresh,
                true,
                0,
                Some(Step::CreateOrder),
            ),
            (
                "created: pay",
                &created,
                true,
                61500,
                Some(Step::RecordPayment),
            ),
            (
                "created, zero: PayOrder",
                &created,
                true,
                0,
                Some(Step::PayOrder),
            ),
            ("created, payments off", &created, false, 61500, None),
            ("created, zero, payments off", &created, false, 0, None),
            ("paid by a payment", &with_payment, true, 61500, None),
            ("paid by PayOrder", &marked_paid, true, 0, None),
        ] {
            assert_eq!(create_step(done, record_payment, total), want, "{why}");
        }
        assert!(!is_paid(&created));
        assert!(is_paid(&with_payment) && is_paid(&marked_paid));
    }

    #[test]
    fn pay_order_sends_no_payments_under_a_fixed_key() {
        let order =
            crate::providers::kitchen::tests::kitchen_order(Default::default(), Default::default());
        let body = pay_order_body(&order);
        assert_eq!(
            body,
            json!({"idempotency_key": format!("mmpayorder-{}", order.id), "payment_ids": []})
        );
        assert_eq!(body, pay_order_body(&order), "the same bytes on every try");
        assert!(
            pay_order_key(order.id.as_str()).len() <= 192,
            "PayOrder's limit"
        );
        assert_ne!(pay_order_key("o"), payment_key("o"));
        assert_eq!(pay_order_path("SQ1"), "/v2/orders/SQ1/pay");
    }
}
