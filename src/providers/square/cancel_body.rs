//! Square's cancellation bodies (providers/README.md §F6), pure: the RefundPayment of the
//! payment possync recorded, the UpdateOrder to `CANCELED` at the version just read with each
//! fulfillment canceled and its reason, and the fallback when Square refuses `CANCELED` on the
//! order itself: the same update without the order's `state`. Each has a deterministic
//! idempotency key of its own.

use serde_json::{Value, json};

use crate::domain::Order;
use crate::providers::cut;

/// The refund's key: `mmref-` + the order id (42 characters; RefundPayment allows 45).
pub fn refund_key(order: &Order) -> String {
    format!("mmref-{}", order.id)
}

/// The UpdateOrder key: `mmcancel-` + the order id.
pub fn cancel_key(order: &Order) -> String {
    format!("mmcancel-{}", order.id)
}

/// The fallback UpdateOrder's key: `mmcancel-fulfillment-` + the order id (57 characters;
/// UpdateOrder allows 192). Its own, so Square never compares it with the refused update's body.
pub fn fallback_key(order: &Order) -> String {
    format!("mmcancel-fulfillment-{}", order.id)
}

/// The seller's reason, or a plain one when none was given.
fn reason_of(order: &Order) -> String {
    order
        .life
        .cancel_reason
        .clone()
        .unwrap_or_else(|| "Canceled in MenuMaker".into())
}

/// The RefundPayment body (`POST /v2/refunds`) for the payment `payment_id` of `order`.
pub fn refund_body(order: &Order, payment_id: &str) -> Value {
    json!({
        "idempotency_key": refund_key(order),
        "payment_id": payment_id,
        "amount_money": {"amount": order.total, "currency": order.currency.code()},
        "reason": cut(&reason_of(order), 192),
    })
}

/// Where a retrieved Square order stands for a cancellation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Standing {
    /// Already `CANCELED`: nothing to do (a retry after a lost answer).
    Canceled,
    /// `COMPLETED`: Square refuses updates; the seller must handle it on the POS.
    Completed,
    /// Open: cancel it with this UpdateOrder body.
    Open(Value),
}

/// The order `retrieved` (RetrieveOrder's `order`) at its current version: what to send to
/// cancel it. The fulfillments (by `uid`) are canceled with the reason, and the order too.
pub fn standing(order: &Order, retrieved: &Value) -> Standing {
    match retrieved["state"].as_str() {
        Some("CANCELED") => return Standing::Canceled,
        Some("COMPLETED") => return Standing::Completed,
        _ => {}
    }
    let mut sparse = sparse_order(retrieved);
    sparse["state"] = json!("CANCELED");
    let fulfillments = canceled_fulfillments(order, retrieved, |_| true);
    if !fulfillments.is_empty() {
        sparse["fulfillments"] = Value::Array(fulfillments);
    }
    Standing::Open(json!({"idempotency_key": cancel_key(order), "order": sparse}))
}

/// What the fallback does for the order `retrieved`, when Square refused `CANCELED` on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fallback {
    /// Cancel these fulfillments alone with this UpdateOrder body (no order `state`).
    Send(Value),
    /// Every fulfillment is `CANCELED` already (an earlier fallback whose answer was lost, or
    /// the kitchen): nothing is left to send.
    Done,
    /// The order has no fulfillment: nothing can be canceled in its place.
    Nothing,
}

/// The fallback for the order `retrieved` at its current version: each fulfillment not yet
/// `CANCELED` is canceled with the reason; the order's own `state` is left out.
pub fn fallback(order: &Order, retrieved: &Value) -> Fallback {
    if canceled_fulfillments(order, retrieved, |_| true).is_empty() {
        return Fallback::Nothing;
    }
    let open = canceled_fulfillments(order, retrieved, |f| f["state"] != "CANCELED");
    if open.is_empty() {
        return Fallback::Done;
    }
    let mut sparse = sparse_order(retrieved);
    sparse["fulfillments"] = Value::Array(open);
    Fallback::Send(json!({"idempotency_key": fallback_key(order), "order": sparse}))
}

/// The sparse order an update names: its location and the version it applies to.
fn sparse_order(retrieved: &Value) -> Value {
    json!({
        "location_id": retrieved["location_id"],
        "version": retrieved["version"].as_i64().unwrap_or(1),
    })
}

/// The fulfillments of `retrieved` that `keep` keeps, each set to `CANCELED` with the reason.
fn canceled_fulfillments(
    order: &Order,
    retrieved: &Value,
    keep: impl Fn(&Value) -> bool,
) -> Vec<Value> {
    let reason = cut(&reason_of(order), 100);
    retrieved["fulfillments"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| keep(f))
        .filter_map(|f| Some((f["uid"].as_str()?, details_of(&f["type"]))))
        .map(|(uid, details)| {
            json!({"uid": uid, "state": "CANCELED", details: {"cancel_reason": reason}})
        })
        .collect()
}

/// Where a fulfillment of this `type` keeps its details (and so its `cancel_reason`).
fn details_of(kind: &Value) -> &'static str {
    match kind.as_str() {
        Some("DELIVERY") => "delivery_details",
        Some("SHIPMENT") => "shipment_details",
        _ => "pickup_details",
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::domain::{BusinessId, Currency, OrderId, OrderLife, OrderStatus};

    pub(in crate::providers::square) fn order(reason: Option<&str>) -> Order {
        Order {
            id: OrderId::from("0193a1b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b".to_string()),
            business_id: BusinessId::from("b".to_string()),
            customer_name: "Rahul".into(),
            customer_phone: None,
            special_instructions: None,
            currency: Currency::parse("INR").unwrap(),
            items: Vec::new(),
            subtotal: 60000,
            charges: Default::default(),
            total: 60000,
            fulfillment: Default::default(),
            payment: Default::default(),
            created_at: 0,
            life: OrderLife {
                status: OrderStatus::Canceled,
                canceled_at: Some(1),
                cancel_reason: reason.map(str::to_string),
                pos_state: None,
            },
            is_test: false,
        }
    }

    #[test]
    fn the_refund_returns_the_whole_total_under_one_key() {
        let body = refund_body(&order(Some(&"x".repeat(300))), "PAY1");
        assert_eq!(
            body["idempotency_key"],
            "mmref-0193a1b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b"
        );
        assert!(body["idempotency_key"].as_str().unwrap().len() <= 45);
        assert_eq!(body["payment_id"], "PAY1");
        assert_eq!(
            body["amount_money"],
            json!({"amount": 60000, "currency": "INR"})
        );
        assert_eq!(body["reason"].as_str().unwrap().chars().count(), 192);
    }

    #[test]
    fn an_open_order_is_canceled_at_its_version_with_each_fulfillment() {
        let retrieved = json!({"id": "SQ", "location_id": "L1", "version": 3, "state": "OPEN",
                               "fulfillments": [{"uid": "F1", "state": "PREPARED"}]});
        assert_eq!(
            standing(&order(None), &retrieved),
            Standing::Open(json!({
                "idempotency_key": "mmcancel-0193a1b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b",
                "order": {"location_id": "L1", "version": 3, "state": "CANCELED",
                          "fulfillments": [{"uid": "F1", "state": "CANCELED",
                              "pickup_details": {"cancel_reason": "Canceled in MenuMaker"}}]}}))
        );
        let delivery = json!({"location_id": "L1", "version": 1, "state": "OPEN",
                              "fulfillments": [{"uid": "F2", "type": "DELIVERY"}]});
        let Standing::Open(body) = standing(&order(Some("Rain")), &delivery) else {
            panic!("open")
        };
        assert_eq!(
            body["order"]["fulfillments"],
            json!([{"uid": "F2", "state": "CANCELED",
                    "delivery_details": {"cancel_reason": "Rain"}}])
        );
        for (state, want) in [
            ("CANCELED", Standing::Canceled),
            ("COMPLETED", Standing::Completed),
        ] {
            assert_eq!(standing(&order(None), &json!({"state": state})), want);
        }
    }

    #[test]
    fn the_fallback_cancels_the_open_fulfillments_alone_under_its_own_key() {
        let retrieved = json!({"location_id": "L1", "version": 4, "state": "OPEN",
                               "fulfillments": [{"uid": "F1", "state": "PREPARED"},
                                                {"uid": "F2", "state": "CANCELED"}]});
        assert_eq!(
            fallback(&order(Some("Rain")), &retrieved),
            Fallback::Send(json!({
                "idempotency_key": "mmcancel-fulfillment-0193a1b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b",
                "order": {"location_id": "L1", "version": 4,
                          "fulfillments": [{"uid": "F1", "state": "CANCELED",
                              "pickup_details": {"cancel_reason": "Rain"}}]}}))
        );
        let done = json!({"state": "OPEN", "fulfillments": [{"uid": "F1", "state": "CANCELED"}]});
        assert_eq!(fallback(&order(None), &done), Fallback::Done);
        let bare = json!({"state": "OPEN", "version": 2});
        assert_eq!(fallback(&order(None), &bare), Fallback::Nothing);
    }
}
