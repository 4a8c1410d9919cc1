//! A Zoho push that got no answer may have made the sales order all the same (Zoho has no
//! idempotency key): canceling the order then looks the sales order up by its reference number
//! and voids it if Zoho has it; if not, the push fails as one that never reached the POS and
//! the cancellation ends with nothing to cancel.

use std::time::Duration;

use serde_json::{Value, json};

use super::{canceled, step, steps, wait_cancel_log};
use crate::common::mock_zoho::{MockZoho, ZohoEndpoint, ZohoFault};
use crate::common::provider_env::ProviderEnv;

/// A Zoho service whose pushes time out after 1 s and retry only after a minute, so an order
/// whose push got no answer waits in `retry` while the test cancels it.
fn zoho() -> ProviderEnv<MockZoho> {
    ProviderEnv::zoho(&["--provider-timeout", "1s", "--retry-interval", "60s"])
}

/// The order's create log, its status and error.
fn create_log(env: &ProviderEnv<MockZoho>, order_id: &str) -> (Value, Value) {
    let log = env.log(order_id);
    assert_eq!(log["action"], "create", "{log:#}");
    (log["status"].clone(), log["error_message"].clone())
}

#[test]
fn a_sales_order_left_by_a_push_that_timed_out_is_found_by_its_reference_and_voided() {
    let env = zoho();
    // Zoho makes the sales order, then sits on the answer past possync's timeout.
    env.mock
        .push_fault(ZohoFault::TimeoutAfterCommit(Duration::from_millis(1800)));
    let order_id = env.order();
    let pushed = env.wait_log(&order_id, "retry");
    assert_eq!(
        pushed["pos_order_id"],
        Value::Null,
        "possync never heard of it"
    );
    let made = env.mock.sales_orders_for(&order_id);
    assert_eq!(made.len(), 1, "Zoho has it all the same");
    let salesorder_id = made[0]["salesorder_id"].as_str().unwrap().to_string();

    let data = canceled(&env, &order_id, "Customer called to cancel");
    assert_eq!(data["sync_log"]["action"], "cancel", "{data}");
    assert_eq!(data["sync_log"]["pos_order_id"], Value::Null);
    // The push is not sent again: the cancellation takes over.
    assert_eq!(
        create_log(&env, &order_id),
        (
            json!("failed"),
            json!("order canceled before it reached the POS")
        )
    );
    let log = wait_cancel_log(&env, &order_id, "success");
    assert_eq!(
        steps(&env, &log),
        vec![
            step("read_order", 200, "success"),
            step("cancel_order", 200, "success"),
        ]
    );
    assert_eq!(log["pos_order_id"], salesorder_id.as_str(), "{log:#}");
    assert_eq!(log["pos_order_open"], false);
    let lookups = env.mock.requests_to(ZohoEndpoint::ListSalesOrders);
    assert_eq!(
        lookups
            .last()
            .and_then(|r| r.query_value("reference_number")),
        Some(order_id.as_str())
    );
    assert_eq!(env.mock.voids(), vec![salesorder_id]);
    assert_eq!(env.mock.sales_orders_for(&order_id)[0]["status"], "void");
    assert_eq!(
        env.mock.create_requests_for(&order_id).len(),
        1,
        "created once, never again"
    );
    env.assert_no_problems();
}

#[test]
fn a_push_that_timed_out_without_making_a_sales_order_is_canceled_with_nothing_to_void() {
    let env = zoho();
    // The connection drops before Zoho makes anything.
    env.mock.push_fault(ZohoFault::ConnectionReset);
    let order_id = env.order();
    env.wait_log(&order_id, "retry");
    assert!(env.mock.sales_orders_for(&order_id).is_empty());

    canceled(&env, &order_id, "Out of paneer");
    assert_eq!(
        create_log(&env, &order_id),
        (
            json!("failed"),
            json!("order canceled before it reached the POS")
        )
    );
    let log = wait_cancel_log(&env, &order_id, "success");
    assert_eq!(steps(&env, &log), vec![step("read_order", 200, "success")]);
    assert_eq!(
        log["pos_order_id"],
        Value::Null,
        "Zoho never had it: {log:#}"
    );
    assert_eq!(log["pos_order_open"], Value::Null);
    assert!(env.mock.voids().is_empty(), "nothing to void");
    assert!(env.mock.sales_orders_for(&order_id).is_empty());
    let by_hand: Vec<Value> = env
        .business_notifications()
        .into_iter()
        .filter(|n| n["kind"] == "cancel_by_hand")
        .collect();
    assert!(
        by_hand.is_empty(),
        "nothing for the seller to do: {by_hand:#?}"
    );
    env.assert_no_problems();
}

#[test]
fn a_zoho_push_refused_outright_is_canceled_as_never_pushed() {
    let env = zoho();
    // A 400 is an answer: Zoho made nothing, so nothing is looked up.
    env.mock.push_fault(ZohoFault::Status(400));
    let order_id = env.order();
    env.wait_log(&order_id, "failed");
    let data = canceled(&env, &order_id, "Duplicate order");
    assert_eq!(data["sync_log"], Value::Null, "{data}");
    let stats = env.stats();
    assert_eq!(stats["cancellations"]["total"], 0, "{stats}");
    assert!(
        env.mock
            .requests_to(ZohoEndpoint::ListSalesOrders)
            .is_empty()
    );
}
