//! Crash safety of a Square cancellation (issue 14 item 6): `kill -9` at any instant of
//! RefundPayment → RetrieveOrder → UpdateOrder, then a restart, leaves the order in Square
//! canceled once and refunded once.

use crate::common;
use crate::sync_support;

use std::time::Duration;

use common::mock_square::{Fault, MockSquare};
use common::provider_env::{assert_no_problems, square_flags};
use common::wait::{PATIENCE, wait_for};
use serde_json::{Value, json};
use sync_support::{ServeProcess, order_one, square_business};
use tempfile::TempDir;

/// The refund and the update are each answered this long after Square committed them, so
/// the kill offsets below fall before, inside and between the calls.
const CALL: Duration = Duration::from_millis(400);

/// `POST /orders/{id}/cancel` → `data`.
fn cancel(client: &common::Client, token: &str, order_id: &str) -> Value {
    let resp = client.post(
        &format!("/api/v1/orders/{order_id}/cancel"),
        Some(token),
        json!({"reason": "Customer canceled"}),
    );
    resp.expect(200);
    resp.data().clone()
}

/// One run: the order is pushed, then canceled, possync is killed `kill_after` into the
/// cancellation, and a new possync on the same data finishes it. Returns the refunds and
/// UpdateOrders Square had received when the kill came.
fn kill_during_cancel(kill_after: Duration) -> (usize, usize) {
    let mock = MockSquare::start();
    let data = TempDir::new().unwrap();
    let logs = TempDir::new().unwrap();
    let flags = square_flags(&mock, &["--provider-timeout", "10s"]);
    let serve = ServeProcess::start(data.path(), logs.path(), &flags);
    let client = serve.client();
    let token = client.login_new_seller("owner@spicegarden.in");
    let (business, dish) = square_business(&client, &token);
    let order_id = order_one(&client, &token, &business, &dish);
    let pos_order_id = wait_for(PATIENCE, "the order is in Square", || {
        let resp = client.get(&format!("/api/v1/orders/{order_id}"), Some(&token));
        let log = resp.data()["sync_log"].clone();
        match log["status"].as_str() {
            Some("success") => Ok(log["pos_order_id"].as_str().unwrap().to_string()),
            _ => Err(log.to_string()),
        }
    });
    mock.push_refund_fault(Fault::TimeoutAfterCommit(CALL));
    mock.push_update_fault(Fault::TimeoutAfterCommit(CALL));
    cancel(&client, &token, &order_id);
    std::thread::sleep(kill_after);
    serve.kill();
    let updates = |mock: &MockSquare| {
        mock.order_update_requests()
            .into_iter()
            .filter(|r| r.method == "PUT")
            .count()
    };
    let seen = (mock.refund_requests().len(), updates(&mock));

    let serve = ServeProcess::start(data.path(), logs.path(), &flags);
    let client = serve.client();
    let log = wait_for(
        PATIENCE,
        "the cancellation is finished after the restart",
        || {
            let log = cancel(&client, &token, &order_id)["sync_log"].clone();
            match log["status"].as_str() {
                Some("success") => Ok(log),
                Some("failed") => panic!("failed after a kill at {kill_after:?}: {log:#}"),
                _ => Err(log.to_string()),
            }
        },
    );
    let context = format!("kill at {kill_after:?} (Square had {seen:?} calls)");
    assert_eq!(log["action"], "cancel", "{context}");
    let refunds: Vec<Value> = mock
        .refunds()
        .into_iter()
        .filter(|r| r["order_id"] == pos_order_id.as_str())
        .collect();
    assert_eq!(refunds.len(), 1, "refunded once: {context}");
    assert_eq!(mock.refunds().len(), 1, "no other refund: {context}");
    let order = mock
        .orders()
        .into_iter()
        .find(|o| o["id"] == pos_order_id.as_str())
        .unwrap();
    assert_eq!(order["state"], "CANCELED", "{context}");
    assert_eq!(order["fulfillments"][0]["state"], "CANCELED", "{context}");
    assert_eq!(updates(&mock), 1, "canceled once: {context}");
    drop(serve);
    assert_no_problems(&mock);
    seen
}

#[test]
fn killed_at_any_instant_of_a_square_cancellation_the_order_is_refunded_and_canceled_once() {
    let mut phases = Vec::new();
    for ms in [0, 200, 500, 700, 1000, 1500] {
        phases.push(kill_during_cancel(Duration::from_millis(ms)));
    }
    println!("(RefundPayment, UpdateOrder) calls Square had at each kill: {phases:?}");
    // The offsets reached every phase: inside the refund, inside the update, and after.
    assert!(phases.contains(&(1, 0)), "{phases:?}");
    assert!(phases.contains(&(1, 1)), "{phases:?}");
}
