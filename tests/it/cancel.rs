//! Cancellation (issue 14 items 1, 2; API.md Part two "Cancellation"; providers §F6): before the
//! push reaches the POS nothing is sent; a push in flight finishes first; after it, a
//! cancellation log goes through the same outbox, policy and attempt rows: Square refunds the
//! payment and cancels the order, Zoho voids the sales order, Dine POS asks for it by hand.

use crate::common;

mod square_fallback;
mod zoho_lookup;

use std::time::Duration;

use common::mock_dine::MockDine;
use common::mock_square::{DEFAULT_LOCATION_ID, Fault, MockSquare};
use common::mock_zoho::MockZoho;
use common::provider_env::{ProviderEnv, outcomes};
use common::wait::{PATIENCE, wait_for};
use serde_json::{Value, json};

/// `POST /orders/{id}/cancel` with `body`, as it answers.
fn cancel<M>(env: &ProviderEnv<M>, order_id: &str, body: Value) -> common::Resp {
    env.app.post(
        &format!("/api/v1/orders/{order_id}/cancel"),
        Some(&env.token),
        body,
    )
}

/// A cancel that must succeed: its `data`.
pub(crate) fn canceled<M>(env: &ProviderEnv<M>, order_id: &str, reason: &str) -> Value {
    let resp = cancel(env, order_id, json!({ "reason": reason }));
    resp.expect(200);
    assert_eq!(resp.body["message"], "Order canceled", "{}", resp.text);
    let data = resp.data().clone();
    assert_eq!(data["order"]["status"], "canceled", "{data}");
    assert_eq!(data["order"]["cancel_reason"], reason, "{data}");
    assert!(data["order"]["canceled_at"].is_string(), "{data}");
    data
}

/// The business's logs in history, newest first.
fn history<M>(env: &ProviderEnv<M>) -> Vec<Value> {
    let resp = env.history("limit=100");
    resp.expect(200);
    resp.data()["logs"].as_array().unwrap().clone()
}

/// The order's cancellation log, once it has settled on `status`.
pub(crate) fn wait_cancel_log<M>(env: &ProviderEnv<M>, order_id: &str, status: &str) -> Value {
    wait_for(PATIENCE, &format!("the cancellation is {status}"), || {
        let log = history(env)
            .into_iter()
            .find(|l| l["order_id"] == order_id && l["action"] == "cancel");
        match log {
            Some(log) if log["status"] == status => Ok(log),
            Some(log) if log["status"] == "success" || log["status"] == "failed" => {
                panic!("the cancellation settled on {}: {log:#}", log["status"])
            }
            other => Err(format!("{other:?}")),
        }
    })
}

/// Cancel the order with `reason` and wait for its cancellation log to settle on `status`.
fn settled<M>(env: &ProviderEnv<M>, order_id: &str, reason: &str, status: &str) -> Value {
    canceled(env, order_id, reason);
    wait_cancel_log(env, order_id, status)
}

/// A Square order pushed successfully: its id and Square's.
fn pushed(env: &ProviderEnv<MockSquare>) -> (String, String) {
    let order_id = env.order();
    let create = env.wait_status(&order_id, "success");
    let pos_order_id = create["pos_order_id"].as_str().unwrap().to_string();
    (order_id, pos_order_id)
}

/// `(step, HTTP status, outcome)` of each attempt of the log.
pub(crate) fn steps<M>(env: &ProviderEnv<M>, log: &Value) -> Vec<(String, Value, String)> {
    let attempts = env.attempts(log["id"].as_str().unwrap());
    attempts
        .iter()
        .zip(outcomes(&attempts))
        .map(|(a, (status, outcome))| {
            let step = a["step"].as_str().unwrap_or("-").to_string();
            (step, status, outcome)
        })
        .collect()
}

pub(crate) fn step(name: &str, status: u16, outcome: &str) -> (String, Value, String) {
    (name.to_string(), json!(status), outcome.to_string())
}

/// What the mock Square holds for the order: its state, its fulfillments' states and reasons,
/// and how many refunds, cancels (UpdateOrders) and payments it took.
fn square_holds(mock: &MockSquare, pos_order_id: &str) -> (Value, usize, usize) {
    let order = mock
        .orders()
        .into_iter()
        .find(|o| o["id"] == pos_order_id)
        .expect("the Square order");
    let updates = mock
        .order_update_requests()
        .into_iter()
        .filter(|r| r.method == "PUT" && r.path.ends_with(pos_order_id))
        .count();
    let refunds = mock
        .refunds()
        .into_iter()
        .filter(|r| r["order_id"] == pos_order_id)
        .count();
    (order, refunds, updates)
}

#[test]
fn a_paid_square_order_is_refunded_once_and_canceled_once_and_a_second_cancel_changes_nothing() {
    let env = ProviderEnv::square(&[]);
    let order_id = env.order();
    let create = env.wait_status(&order_id, "success");
    let pos_order_id = create["pos_order_id"].as_str().unwrap().to_string();
    let payment_id = create["pos_payment_id"].as_str().unwrap().to_string();

    let data = canceled(&env, &order_id, "Customer called to cancel");
    assert_eq!(data["sync_log"]["action"], "cancel", "{data}");
    assert_eq!(data["sync_log"]["pos_order_id"], pos_order_id.as_str());
    let log = wait_cancel_log(&env, &order_id, "success");
    assert_eq!(log["id"], data["sync_log"]["id"]);
    assert_eq!(log["pos_order_open"], false, "{log:#}");
    assert_eq!(
        data["sync_log"]["pos_order_open"],
        Value::Null,
        "until it succeeds"
    );
    assert_eq!(
        steps(&env, &log),
        vec![
            step("refund_payment", 200, "success"),
            step("read_order", 200, "success"),
            step("cancel_order", 200, "success"),
        ]
    );
    // §F6, exactly.
    let refund = env.mock.refund_requests();
    assert_eq!(refund.len(), 1);
    assert_eq!(
        refund[0].body,
        json!({
            "idempotency_key": format!("mmref-{order_id}"),
            "payment_id": payment_id,
            "amount_money": {"amount": 60000, "currency": "INR"},
            "reason": "Customer called to cancel",
        })
    );
    let update: Vec<Value> = env
        .mock
        .order_update_requests()
        .into_iter()
        .filter(|r| r.method == "PUT")
        .map(|r| r.body)
        .collect();
    let (order, refunds, updates) = square_holds(&env.mock, &pos_order_id);
    let fulfillment_uid = order["fulfillments"][0]["uid"].clone();
    assert_eq!(
        update,
        vec![json!({
            "idempotency_key": format!("mmcancel-{order_id}"),
            "order": {
                "location_id": DEFAULT_LOCATION_ID,
                // CreateOrder made version 1, the payment 2, the refund 3.
                "version": 3,
                "state": "CANCELED",
                "fulfillments": [{"uid": fulfillment_uid, "state": "CANCELED",
                    "pickup_details": {"cancel_reason": "Customer called to cancel"}}],
            },
        })]
    );
    assert_eq!((refunds, updates), (1, 1), "refunded once, canceled once");
    assert_eq!(order["state"], "CANCELED");
    assert_eq!(order["fulfillments"][0]["state"], "CANCELED");
    assert_eq!(
        order["fulfillments"][0]["pickup_details"]["cancel_reason"],
        "Customer called to cancel"
    );

    // Again: the same 200, nothing new queued or sent.
    let requests = env.mock.requests().len();
    let again = cancel(&env, &order_id, json!({"reason": "Something else"}));
    again.expect(200);
    assert_eq!(again.data()["sync_log"]["id"], log["id"]);
    assert_eq!(again.data()["sync_log"]["status"], "success");
    assert_eq!(
        again.data()["order"]["cancel_reason"],
        "Customer called to cancel",
        "the first reason stays"
    );
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(env.mock.requests().len(), requests, "nothing sent again");

    // History shows both logs with their action; stats count the create and the cancellation.
    let logs = history(&env);
    let actions: Vec<&str> = logs.iter().map(|l| l["action"].as_str().unwrap()).collect();
    assert_eq!(actions, vec!["cancel", "create"], "{logs:#?}");
    let stats = env.stats();
    assert_eq!(stats["total_syncs"], 1, "{stats}");
    assert_eq!(stats["successful_syncs"], 1, "{stats}");
    assert_eq!(
        stats["cancellations"],
        json!({"total": 1, "successful": 1, "failed": 0})
    );
    let listed = env.app.get(
        &format!(
            "/api/v1/orders?business_id={}&status=canceled",
            env.business
        ),
        Some(&env.token),
    );
    listed.expect(200);
    assert_eq!(listed.data()["orders"][0]["id"], order_id.as_str());
    env.assert_no_problems();
}

#[test]
fn an_order_not_yet_in_the_pos_fails_its_push_with_the_exact_message_and_the_pos_hears_nothing() {
    let env = ProviderEnv::square(&[]);
    // Square asks possync to wait a minute: the first order's push waits to retry, and the
    // next order's stays pending until the pause ends.
    env.mock.push_fault(Fault::RateLimited {
        retry_after: Some("60".into()),
    });
    let retrying = env.order();
    env.wait_status(&retrying, "retry");
    let (pending, queued) = env.order_and_log();
    assert_eq!(queued["status"], "pending", "{queued}");
    let before = env.mock.requests().len();

    for order_id in [&retrying, &pending] {
        let data = canceled(&env, order_id, "Out of paneer");
        assert_eq!(
            data["sync_log"],
            Value::Null,
            "nothing to cancel in the POS: {data}"
        );
        let log = env.log(order_id);
        assert_eq!(log["status"], "failed", "{log}");
        assert_eq!(
            log["error_message"],
            "order canceled before it reached the POS"
        );
        let again = cancel(&env, order_id, json!({}));
        again.expect(200);
        assert_eq!(again.data()["sync_log"], Value::Null);
    }
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(env.mock.requests().len(), before, "no POS call");
    assert!(env.mock.orders().is_empty());
    assert!(env.requests_for(&pending).is_empty());
    let stats = env.stats();
    assert_eq!(stats["cancellations"]["total"], 0, "{stats}");
    env.assert_no_problems();
}

#[test]
fn a_push_in_flight_finishes_first_and_then_its_order_is_canceled() {
    let env = ProviderEnv::square(&["--provider-timeout", "10s"]);
    env.mock
        .push_fault(Fault::TimeoutAfterCommit(Duration::from_millis(1500)));
    let order_id = env.order();
    env.wait_log(&order_id, "syncing");
    let data = canceled(&env, &order_id, "Changed my mind");
    assert_eq!(
        data["sync_log"],
        Value::Null,
        "the push is still in flight: {data}"
    );
    let create = env.wait_status(&order_id, "success");
    let pos_order_id = create["pos_order_id"].as_str().unwrap().to_string();
    assert_eq!(env.mock.payments_of(&pos_order_id), 1, "the push finished");
    let log = wait_cancel_log(&env, &order_id, "success");
    let (order, refunds, updates) = square_holds(&env.mock, &pos_order_id);
    assert_eq!((refunds, updates), (1, 1));
    assert_eq!(order["state"], "CANCELED");
    // Asking again now answers the cancellation the push queued.
    let again = cancel(&env, &order_id, json!({}));
    again.expect(200);
    assert_eq!(again.data()["sync_log"]["id"], log["id"]);
    env.assert_no_problems();
}

#[test]
fn a_stale_version_is_read_again_at_once_and_then_canceled() {
    let env = ProviderEnv::square(&[]);
    let (order_id, pos_order_id) = pushed(&env);
    // The kitchen touches the order between possync's read and its update.
    env.mock.make_next_updates_stale(1);
    let log = settled(&env, &order_id, "Kitchen closed", "success");
    assert_eq!(
        steps(&env, &log),
        vec![
            step("refund_payment", 200, "success"),
            step("read_order", 200, "success"),
            step("cancel_order", 400, "retry"),
            step("read_order", 200, "success"),
            step("cancel_order", 200, "success"),
        ]
    );
    assert_eq!(
        log["retry_count"], 0,
        "read again at once, not retried later"
    );
    let attempts = env.attempts(log["id"].as_str().unwrap());
    let stale = attempts[2]["error_message"].as_str().unwrap_or_default();
    assert!(stale.contains("VERSION_MISMATCH"), "{stale}");
    let (order, refunds, updates) = square_holds(&env.mock, &pos_order_id);
    assert_eq!((refunds, updates), (1, 2));
    assert_eq!(order["state"], "CANCELED");
    env.assert_no_problems();
}

#[test]
fn an_unpaid_square_order_is_canceled_without_a_refund() {
    let env = ProviderEnv::square(&[]);
    env.patch_integration(json!({"record_payment": false}));
    let order_id = env.order();
    let create = env.wait_status(&order_id, "success");
    let log = settled(&env, &order_id, "No show", "success");
    assert_eq!(
        steps(&env, &log),
        vec![
            step("read_order", 200, "success"),
            step("cancel_order", 200, "success"),
        ]
    );
    assert!(env.mock.refund_requests().is_empty());
    let (order, _, _) = square_holds(&env.mock, create["pos_order_id"].as_str().unwrap());
    assert_eq!(order["state"], "CANCELED");
    env.assert_no_problems();
}

#[test]
fn a_cancel_square_refuses_for_credentials_asks_to_reconnect_and_to_cancel_by_hand() {
    // A personal access token cannot be refreshed: a 401 on the refund fails the cancel for good.
    let env = ProviderEnv::square(&[]);
    let order_id = env.order();
    let create = env.wait_status(&order_id, "success");
    let number = create["pos_order_id"].as_str().unwrap().to_string();
    env.mock.push_refund_fault(Fault::Unauthorized);
    canceled(&env, &order_id, "Out of stock");
    wait_cancel_log(&env, &order_id, "failed");
    let mine: Vec<Value> = env
        .business_notifications()
        .into_iter()
        .filter(|n| n["order_id"] == order_id.as_str())
        .collect();
    let of_kind =
        |kind: &str| -> Vec<&Value> { mine.iter().filter(|n| n["kind"] == kind).collect() };
    let reconnect = of_kind("reconnect_required");
    assert_eq!(reconnect.len(), 1, "{mine:#?}");
    let message = reconnect[0]["message"].as_str().unwrap();
    assert!(
        message.contains("The cancellation of") && !message.contains("was not sent"),
        "speaks of the cancellation, not of sending the order: {message}"
    );
    // After a reconnect a second cancel queues nothing, so the POS order must be canceled by hand.
    let by_hand = of_kind("cancel_by_hand");
    assert_eq!(by_hand.len(), 1, "{mine:#?}");
    assert!(by_hand[0]["message"].as_str().unwrap().contains(&number));
    let (order, refunds, updates) = square_holds(&env.mock, &number);
    assert_eq!(
        (order["state"].as_str(), refunds, updates),
        (Some("OPEN"), 0, 0)
    );
}

#[test]
fn zoho_voids_the_sales_order() {
    let env = ProviderEnv::<MockZoho>::zoho(&[]);
    let order_id = env.order();
    let create = env.wait_status(&order_id, "success");
    let salesorder_id = create["pos_order_id"].as_str().unwrap().to_string();
    let log = settled(&env, &order_id, "Duplicate order", "success");
    assert_eq!(
        steps(&env, &log),
        vec![step("cancel_order", 200, "success")]
    );
    assert_eq!(env.mock.voids(), vec![salesorder_id.clone()]);
    let so = env.mock.sales_orders_for(&order_id);
    assert_eq!(so[0]["status"], "void", "{so:#?}");
    env.assert_no_problems();
}

#[test]
fn dine_pos_cannot_cancel_so_the_seller_is_told_to_cancel_it_by_hand() {
    let env = ProviderEnv::<MockDine>::dine(&[]);
    let order_id = env.order();
    let create = env.wait_status(&order_id, "success");
    let number = create["pos_order_id"].as_str().unwrap().to_string();
    let sent = env.mock.requests().len();
    let log = settled(&env, &order_id, "Rain", "failed");
    assert_eq!(
        log["error_message"],
        format!("Dine POS has no cancellation API: cancel order {number} on the POS by hand")
    );
    assert_eq!(log["retry_count"], 0, "failed at once");
    assert_eq!(env.mock.requests().len(), sent, "nothing sent to Dine POS");
    let by_hand: Vec<Value> = env
        .business_notifications()
        .into_iter()
        .filter(|n| n["kind"] == "cancel_by_hand")
        .collect();
    assert_eq!(by_hand.len(), 1, "{by_hand:#?}");
    let message = by_hand[0]["message"].as_str().unwrap();
    assert!(
        message.contains(&number),
        "names the POS's order number: {message}"
    );
    assert_eq!(by_hand[0]["order_id"], order_id.as_str());
    let stats = env.stats();
    assert_eq!(
        stats["cancellations"],
        json!({"total": 1, "successful": 0, "failed": 1})
    );
}

#[test]
fn another_sellers_order_is_not_found_and_a_bad_reason_is_a_400_that_changes_nothing() {
    let env = ProviderEnv::square(&[]);
    let order_id = env.order();
    env.wait_status(&order_id, "success");
    let requests = env.mock.requests().len();

    let other = env.app.login_new_seller("owner@other.in");
    let foreign = env.app.post(
        &format!("/api/v1/orders/{order_id}/cancel"),
        Some(&other),
        json!({}),
    );
    foreign.expect_error(404, "NOT_FOUND");
    let unknown = cancel(&env, "0193a1b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b", json!({}));
    unknown.expect_error(404, "NOT_FOUND");

    for (why, body) in [
        ("too long", json!({"reason": "x".repeat(101)})),
        ("a NUL", json!({"reason": "no\u{0}pe"})),
        ("a number", json!({"reason": 5})),
        ("an object", json!({"reason": {"text": "no"}})),
        ("not an object", json!(["reason"])),
    ] {
        let resp = cancel(&env, &order_id, body);
        assert_eq!(resp.status, 400, "{why}: {}", resp.text);
        assert_eq!(resp.body["success"], false, "{why}");
    }
    let order = env
        .app
        .get(&format!("/api/v1/orders/{order_id}"), Some(&env.token));
    order.expect(200);
    assert_eq!(order.data()["order"]["status"], "open");
    assert_eq!(order.data()["order"]["cancel_reason"], Value::Null);
    assert!(history(&env).iter().all(|l| l["action"] == "create"));
    assert_eq!(env.mock.requests().len(), requests);
}

#[test]
fn a_test_order_is_canceled_like_any_order_and_stays_out_of_stats() {
    let env = ProviderEnv::square(&[]);
    let (id, _) = env.sent_test_order();
    let pushed = env.wait_status(&id, "success");
    let data = canceled(&env, &id, "Test done");
    assert_eq!(data["order"]["is_test"], true);
    assert_eq!(data["sync_log"]["action"], "cancel");
    assert_eq!(
        data["sync_log"]["is_test"], true,
        "a test order's logs are test logs"
    );
    let log = wait_cancel_log(&env, &id, "success");
    assert_eq!(log["is_test"], true);
    let (order, refunds, updates) =
        square_holds(&env.mock, pushed["pos_order_id"].as_str().unwrap());
    assert_eq!(order["state"], "CANCELED", "{order:#}");
    assert_eq!((refunds, updates), (1, 1));
    let stats = env.stats();
    assert_eq!(stats["total_syncs"], 0, "{stats}");
    assert_eq!(stats["cancellations"]["total"], 0, "{stats}");
    env.assert_no_problems();
}
