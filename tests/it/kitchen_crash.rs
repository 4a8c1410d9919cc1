//! Crash safety of the two-call Square push (issue 13 item 4): `kill -9` at any instant of
//! CreateOrder → CreatePayment (or, for an order whose total is 0, CreateOrder → PayOrder), then
//! a restart, leaves the order in Square exactly once and paid exactly once, and the kitchen
//! sees it.

use crate::common;
use crate::sync_support;

use std::time::Duration;

use common::mock_square::{Fault, MockSquare};
use common::provider_env::{assert_no_problems, mock_orders_for};
use common::wait::{PATIENCE, wait_for};
use serde_json::{Value, json};
use sync_support::{ServeProcess, order_one, square_business};
use tempfile::TempDir;

/// Each call is answered this long after Square committed it, so that the kill offsets below
/// fall before, inside and between the two calls.
const CALL: Duration = Duration::from_millis(400);

/// The order's latest sync log, through the API.
fn log_of(client: &common::Client, token: &str, order_id: &str) -> Value {
    let resp = client.get(&format!("/api/v1/orders/{order_id}"), Some(token));
    resp.expect(200);
    resp.data()["sync_log"].clone()
}

/// How the order is paid: an order of one dish by CreatePayment, or one whose discount is all
/// of it (total 0) by PayOrder.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Paid {
    ByPayment,
    ByPayOrder,
}

/// One run: the push starts, possync is killed `kill_after` later, and a new possync on the
/// same data finishes it. Returns what Square had received when the kill came: CreateOrders
/// and paying calls (CreatePayment or PayOrder).
fn kill_and_restart(kill_after: Duration, paid: Paid, paying_fault: Fault) -> (usize, usize) {
    let mock = MockSquare::start();
    mock.push_fault(Fault::TimeoutAfterCommit(CALL));
    match paid {
        Paid::ByPayment => mock.push_payment_fault(paying_fault),
        Paid::ByPayOrder => mock.push_pay_order_fault(paying_fault),
    }
    let paying_calls = |mock: &MockSquare| match paid {
        Paid::ByPayment => mock.payment_requests().len(),
        Paid::ByPayOrder => mock.pay_order_requests().len(),
    };
    let data = TempDir::new().unwrap();
    let logs = TempDir::new().unwrap();
    let flags: Vec<String> = [
        "--square-base-url",
        &mock.base_url(),
        "--provider-timeout",
        "10s",
        "--retry-interval",
        "200ms",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let serve = ServeProcess::start(data.path(), logs.path(), &flags);
    let client = serve.client();
    let token = client.login_new_seller("owner@spicegarden.in");
    let (business, dish) = square_business(&client, &token);
    let order_id = match paid {
        Paid::ByPayment => order_one(&client, &token, &business, &dish),
        Paid::ByPayOrder => {
            let body = json!({"business_id": business, "customer_name": "Rahul Kumar",
                              "items": [{"dish_id": dish, "quantity": 1}], "discount": 30000});
            let resp = client.post("/api/v1/orders", Some(&token), body);
            resp.expect(201);
            resp.data()["order"]["id"].as_str().unwrap().to_string()
        }
    };
    std::thread::sleep(kill_after);
    serve.kill();
    let seen = (mock.create_order_requests().len(), paying_calls(&mock));

    let serve = ServeProcess::start(data.path(), logs.path(), &flags);
    let client = serve.client();
    let log = wait_for(PATIENCE, "the push is finished after the restart", || {
        let log = log_of(&client, &token, &order_id);
        match log["status"].as_str() {
            Some("success") => Ok(log),
            Some("failed") => panic!("failed after a kill at {kill_after:?}: {log:#}"),
            _ => Err(log.to_string()),
        }
    });
    let context = format!("kill at {kill_after:?} (Square had {seen:?} calls)");
    let orders = mock_orders_for(&mock, &order_id);
    assert_eq!(orders.len(), 1, "one order: {context}");
    let pos_order_id = orders[0]["id"].as_str().unwrap();
    assert_eq!(log["pos_order_id"], pos_order_id, "{context}");
    match paid {
        Paid::ByPayment => {
            assert_eq!(mock.payments_of(pos_order_id), 1, "paid once: {context}");
            assert_eq!(mock.payments().len(), 1, "no other payment: {context}");
            assert_eq!(log["pos_payment_id"], mock.payments()[0]["id"], "{context}");
        }
        Paid::ByPayOrder => {
            let times = mock.times_paid_by_pay_order(pos_order_id);
            assert_eq!(times, 1, "paid once: {context}");
            assert!(mock.payments().is_empty(), "no payment: {context}");
            assert_eq!(log["pos_payment_id"], Value::Null, "{context}");
        }
    }
    assert_eq!(log["pos_visible"], true, "{context}");
    assert!(
        mock.is_visible(pos_order_id),
        "the kitchen sees it: {context}"
    );
    drop(serve);
    assert_no_problems(&mock);
    seen
}

#[test]
fn killed_at_any_instant_of_a_square_push_the_order_is_made_and_paid_exactly_once() {
    let mut phases = Vec::new();
    for ms in [0, 150, 300, 500, 650, 800, 950, 1300] {
        let kill_after = Duration::from_millis(ms);
        phases.push(kill_and_restart(
            kill_after,
            Paid::ByPayment,
            Fault::TimeoutAfterCommit(CALL),
        ));
    }
    // A payment Square had not taken yet when possync died.
    phases.push(kill_and_restart(
        Duration::from_millis(650),
        Paid::ByPayment,
        Fault::TimeoutBeforeCommit(Duration::from_secs(2)),
    ));
    println!("(CreateOrder, CreatePayment) calls Square had at each kill: {phases:?}");
    // The offsets reached every phase: inside CreateOrder, inside CreatePayment, and after.
    assert!(phases.contains(&(1, 0)), "{phases:?}");
    assert!(phases.contains(&(1, 1)), "{phases:?}");
}

#[test]
fn killed_at_any_instant_of_a_zero_total_square_push_the_order_is_made_and_paid_exactly_once() {
    let mut phases = Vec::new();
    // Square sits 2 s on PayOrder's answer after marking the order paid, so a kill that finds
    // the PayOrder sent comes before its answer: the restart must not pay again.
    for ms in [150, 1200, 1800] {
        let kill_after = Duration::from_millis(ms);
        phases.push(kill_and_restart(
            kill_after,
            Paid::ByPayOrder,
            Fault::TimeoutAfterCommit(Duration::from_secs(2)),
        ));
    }
    println!("(CreateOrder, PayOrder) calls Square had at each kill: {phases:?}");
    // Inside CreateOrder, and inside PayOrder after Square had marked the order paid.
    assert!(phases.contains(&(1, 0)), "{phases:?}");
    assert!(phases.contains(&(1, 1)), "{phases:?}");
}
