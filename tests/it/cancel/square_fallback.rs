//! §F6's fallback: when Square refuses `state: CANCELED` on a refunded order, the fulfillment
//! alone is canceled (its own key, the version just read), the log succeeds and says the order
//! stays open in Square; a refusal of that too fails the log and asks for it by hand.

use serde_json::{Value, json};

use super::{pushed, settled, square_holds, step, steps};
use crate::common::mock_square::{DEFAULT_LOCATION_ID, MockSquare};
use crate::common::provider_env::ProviderEnv;

/// The bodies of the UpdateOrders the mock received.
fn update_bodies(mock: &MockSquare) -> Vec<Value> {
    mock.order_update_requests()
        .into_iter()
        .filter(|r| r.method == "PUT")
        .map(|r| r.body)
        .collect()
}

/// The business's notifications of `kind` about `order_id`.
fn notices(env: &ProviderEnv<MockSquare>, order_id: &str, kind: &str) -> Vec<Value> {
    env.business_notifications()
        .into_iter()
        .filter(|n| n["order_id"] == order_id && n["kind"] == kind)
        .collect()
}

#[test]
fn square_refusing_canceled_on_a_refunded_order_gets_the_fulfillment_canceled_alone() {
    let env = ProviderEnv::square(&[]);
    env.mock.refuse_canceled_when_refunded();
    let (order_id, pos_order_id) = pushed(&env);

    let log = settled(&env, &order_id, "Customer called to cancel", "success");
    assert_eq!(
        steps(&env, &log),
        vec![
            step("refund_payment", 200, "success"),
            step("read_order", 200, "success"),
            step("cancel_order", 400, "retry"),
            step("cancel_fulfillment", 200, "success"),
        ]
    );
    assert_eq!(log["pos_order_open"], true, "{log:#}");
    assert_eq!(log["retry_count"], 0, "the fallback follows at once");
    let attempts = env.attempts(log["id"].as_str().unwrap());
    let refusal = attempts[2]["error_message"].as_str().unwrap_or_default();
    assert!(
        refusal.contains("cannot transition from OPEN to CANCELED")
            && refusal.contains("canceling its fulfillment alone"),
        "{refusal}"
    );

    let (order, refunds, updates) = square_holds(&env.mock, &pos_order_id);
    assert_eq!(
        (refunds, updates),
        (1, 2),
        "refunded once; refused, then the fallback"
    );
    assert_eq!(
        order["state"], "OPEN",
        "the order itself stays open: {order:#}"
    );
    assert_eq!(order["fulfillments"][0]["state"], "CANCELED");
    assert_eq!(
        order["fulfillments"][0]["pickup_details"]["cancel_reason"],
        "Customer called to cancel"
    );
    // The fallback: the fulfillment alone, at the version the refusal left (it committed
    // nothing), under a key of its own.
    let bodies = update_bodies(&env.mock);
    assert_eq!(bodies[0]["order"]["state"], "CANCELED");
    let fallback = &bodies[1];
    assert_eq!(
        fallback,
        &json!({
            "idempotency_key": format!("mmcancel-fulfillment-{order_id}"),
            "order": {
                "location_id": DEFAULT_LOCATION_ID,
                "version": bodies[0]["order"]["version"],
                "fulfillments": [{"uid": order["fulfillments"][0]["uid"], "state": "CANCELED",
                    "pickup_details": {"cancel_reason": "Customer called to cancel"}}],
            },
        })
    );
    if let Some(errors) = env.mock.schema_errors("UpdateOrderRequest", fallback) {
        assert!(errors.is_empty(), "update-order.schema.json: {errors:#?}");
    }
    assert!(notices(&env, &order_id, "cancel_by_hand").is_empty());
    assert_eq!(
        env.stats()["cancellations"],
        json!({"total": 1, "successful": 1, "failed": 0})
    );
    env.assert_no_problems();
}

#[test]
fn a_fulfillment_already_canceled_makes_the_refused_cancel_done_without_another_update() {
    let env = ProviderEnv::square(&[]);
    env.mock.refuse_canceled_when_refunded();
    let (order_id, pos_order_id) = pushed(&env);
    // What a lost answer to the fallback leaves (or the kitchen canceling the fulfillment).
    env.mock
        .set_fulfillment_state(&pos_order_id, "CANCELED", None);

    let log = settled(&env, &order_id, "Kitchen closed", "success");
    assert_eq!(
        steps(&env, &log),
        vec![
            step("refund_payment", 200, "success"),
            step("read_order", 200, "success"),
            step("cancel_order", 400, "success"),
        ]
    );
    assert_eq!(log["pos_order_open"], true, "{log:#}");
    let (order, refunds, updates) = square_holds(&env.mock, &pos_order_id);
    assert_eq!((refunds, updates), (1, 1), "nothing left to send");
    assert_eq!(order["state"], "OPEN");
    env.assert_no_problems();
}

#[test]
fn a_refused_fallback_fails_the_cancellation_with_both_refusals_and_asks_for_it_by_hand() {
    let env = ProviderEnv::square(&[]);
    env.mock.refuse_canceled_when_refunded();
    env.mock.refuse_fulfillment_cancel();
    let (order_id, pos_order_id) = pushed(&env);

    let log = settled(&env, &order_id, "Out of paneer", "failed");
    assert_eq!(
        steps(&env, &log),
        vec![
            step("refund_payment", 200, "success"),
            step("read_order", 200, "success"),
            step("cancel_order", 400, "retry"),
            step("cancel_fulfillment", 400, "failed"),
        ]
    );
    let error = log["error_message"].as_str().unwrap_or_default();
    assert!(
        error.starts_with(
            "Square refused to cancel the order itself, and then to cancel its fulfillment alone"
        ) && error.contains("cannot be canceled"),
        "{error}"
    );
    assert_eq!(log["pos_order_open"], Value::Null);
    assert_eq!(log["retry_count"], 0, "a refusal is not retried");
    let (order, _, updates) = square_holds(&env.mock, &pos_order_id);
    assert_eq!(updates, 2);
    assert_eq!(order["state"], "OPEN");
    assert_ne!(order["fulfillments"][0]["state"], "CANCELED");
    let by_hand = notices(&env, &order_id, "cancel_by_hand");
    assert_eq!(by_hand.len(), 1, "{by_hand:#?}");
    env.assert_no_problems();
}
