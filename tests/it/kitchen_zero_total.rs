//! A Square order whose total is 0 (a 100 % discount): Square takes no payment of 0, so the
//! order is marked paid with PayOrder and no payments (providers §F3b; the mock Square answers
//! a CreatePayment of 0 with a 400, as Square does). It still reaches the POS paid, a retried
//! PayOrder pays once, and a cancellation has no payment to refund.

use crate::cancel::{canceled, step, steps, wait_cancel_log};
use crate::common;

use std::time::Duration;

use common::mock_square::{DEFAULT_ACCESS_TOKEN, Fault, MockSquare, SQUARE_VERSION};
use common::provider_env::ProviderEnv;
use serde_json::{Value, json};

/// An order of 2 × the env's dish (60000) with a discount of all of it: total 0.
fn zero_total_order(env: &ProviderEnv<MockSquare>) -> (String, Value) {
    let (order_id, placed) = env.place(json!({
        "customer_name": "Rahul Kumar", "items": [{"dish_id": env.dish, "quantity": 2}],
        "discount": 60000, "payment": {"status": "paid", "method": "card"},
    }));
    assert_eq!(placed["order"]["total"], 0, "{placed}");
    (order_id, placed)
}

/// The PayOrder bodies the mock took for this Square order.
fn pay_orders_of(mock: &MockSquare, pos_order_id: &str) -> Vec<Value> {
    mock.pay_order_requests()
        .into_iter()
        .filter(|r| r.path == format!("/v2/orders/{pos_order_id}/pay"))
        .map(|r| r.body)
        .collect()
}

#[test]
fn a_zero_total_order_is_marked_paid_with_pay_order_and_shows_on_the_pos() {
    let env = ProviderEnv::square(&[]);
    let (order_id, _) = zero_total_order(&env);
    let log = env.wait_status(&order_id, "success");
    let pos_order_id = log["pos_order_id"].as_str().unwrap();
    let square_order = &env.mock_orders_for(&order_id)[0];
    assert_eq!(square_order["total_money"]["amount"], 0, "{square_order}");
    assert!(env.mock.is_visible(pos_order_id), "the kitchen sees it");
    assert_eq!(log["pos_visible"], true, "{log}");
    assert_eq!(log["pos_payment_id"], Value::Null, "no payment: {log}");
    assert!(env.mock.payment_requests().is_empty(), "no payment of 0");
    assert_eq!(
        steps(&env, &log),
        vec![
            step("create_order", 200, "success"),
            step("pay_order", 200, "success")
        ]
    );
    assert_eq!(
        pay_orders_of(&env.mock, pos_order_id),
        vec![json!({"idempotency_key": format!("mmpayorder-{order_id}"), "payment_ids": []})]
    );
    assert_eq!(env.mock.times_paid_by_pay_order(pos_order_id), 1);
    env.assert_no_problems();
}

#[test]
fn a_pay_order_whose_answer_was_lost_is_retried_and_pays_once() {
    let env = ProviderEnv::square(&["--provider-timeout", "300ms"]);
    env.mock
        .push_pay_order_fault(Fault::TimeoutAfterCommit(Duration::from_secs(1)));
    env.mock.push_pay_order_fault(Fault::Status(503));
    let (order_id, _) = zero_total_order(&env);
    let log = env.wait_status(&order_id, "success");
    let pos_order_id = log["pos_order_id"].as_str().unwrap();
    assert_eq!(env.mock_orders_for(&order_id).len(), 1, "one order");
    assert_eq!(
        env.requests_for(&order_id).len(),
        1,
        "CreateOrder sent once"
    );
    assert_eq!(
        steps(&env, &log),
        vec![
            step("create_order", 200, "success"),
            ("pay_order".into(), Value::Null, "retry".into()),
            step("pay_order", 503, "retry"),
            step("pay_order", 200, "success"),
        ]
    );
    // Every try carried the same key and body, and Square paid the order once: the last try
    // got Square's first answer back from its idempotency table.
    let bodies = pay_orders_of(&env.mock, pos_order_id);
    assert_eq!(bodies.len(), 3);
    assert!(bodies.iter().all(|b| *b == bodies[0]), "{bodies:#?}");
    assert_eq!(env.mock.times_paid_by_pay_order(pos_order_id), 1);
    assert!(env.mock.is_visible(pos_order_id));
    assert!(env.mock.payment_requests().is_empty());
    env.assert_no_problems();
}

#[test]
fn a_zero_total_order_is_canceled_with_no_refund_to_make() {
    let env = ProviderEnv::square(&[]);
    let (order_id, _) = zero_total_order(&env);
    let create = env.wait_status(&order_id, "success");
    canceled(&env, &order_id, "Customer called");
    let log = wait_cancel_log(&env, &order_id, "success");
    assert_eq!(log["pos_payment_id"], Value::Null, "{log}");
    assert_eq!(
        steps(&env, &log),
        vec![
            step("read_order", 200, "success"),
            step("cancel_order", 200, "success"),
        ],
        "no refund of a payment that does not exist"
    );
    assert!(env.mock.refund_requests().is_empty());
    let pos_order_id = create["pos_order_id"].as_str().unwrap();
    let order = env
        .mock
        .orders()
        .into_iter()
        .find(|o| o["id"] == pos_order_id)
        .expect("the Square order");
    assert_eq!(order["state"], "CANCELED", "{order}");
    env.assert_no_problems();
}

#[test]
fn the_preview_of_a_zero_total_order_shows_pay_order_not_a_payment() {
    let env = ProviderEnv::square(&[]);
    env.patch_integration(json!({"auto_sync_orders": false}));
    let (order_id, _) = zero_total_order(&env);
    let preview = env.preview(&order_id);
    let steps = preview["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 2, "{preview:#}");
    assert_eq!(steps[0]["step"], "create_order");
    assert_eq!(steps[1]["step"], "pay_order");
    assert_eq!(
        steps[1]["request"],
        json!({"idempotency_key": format!("mmpayorder-{order_id}"), "payment_ids": []})
    );
}

/// A JSON POST straight to the mock Square, as possync would send it: (status, body).
fn post_to_square(mock: &MockSquare, path: &str, body: &Value) -> (u16, Value) {
    let http = common::Client::with_timeout(&mock.base_url(), Duration::from_secs(10));
    let auth = format!("Bearer {DEFAULT_ACCESS_TOKEN}");
    let headers = [
        ("authorization", auth.as_str()),
        ("square-version", SQUARE_VERSION),
    ];
    let bytes = body.to_string().into_bytes();
    let resp = http.send("POST", path, &headers, Some(("application/json", bytes)));
    (resp.status, resp.body)
}

#[test]
fn the_mock_square_refuses_a_payment_of_zero_and_pays_a_zero_order_once() {
    // What possync used to send for a zero-total order: Square answers it with a 400.
    let env = ProviderEnv::square(&[]);
    env.patch_integration(json!({"record_payment": false}));
    let (order_id, _) = zero_total_order(&env);
    let log = env.wait_status(&order_id, "success");
    let pos_order_id = log["pos_order_id"].as_str().unwrap();
    let (status, body) = post_to_square(
        &env.mock,
        "/v2/payments",
        &json!({
            "idempotency_key": format!("mmpay-{order_id}"), "source_id": "EXTERNAL",
            "amount_money": {"amount": 0, "currency": "INR"}, "order_id": pos_order_id,
            "external_details": {"type": "CARD", "source": "MenuMaker"},
        }),
    );
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body["errors"],
        json!([{"category": "INVALID_REQUEST_ERROR", "code": "VALUE_TOO_LOW",
                "detail": "total requested amount 0 is below the minimum allowed",
                "field": "amount_money.amount"}])
    );
    assert!(env.mock.payments().is_empty());
    assert!(
        !env.mock.is_visible(pos_order_id),
        "an order of 0 nothing paid"
    );
    let problems = env.mock.problems();
    assert!(
        problems.len() == 1 && problems[0].contains("VALUE_TOO_LOW"),
        "{problems:#?}"
    );

    let pay = |key: &str| {
        post_to_square(
            &env.mock,
            &format!("/v2/orders/{pos_order_id}/pay"),
            &json!({"idempotency_key": key, "payment_ids": []}),
        )
    };
    let (status, first) = pay("k1");
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["order"]["id"], pos_order_id);
    assert_eq!(first["order"]["state"], "OPEN", "a pickup stays open");
    assert!(env.mock.is_visible(pos_order_id));
    assert_eq!(
        pay("k1"),
        (200, first),
        "the same answer under the same key"
    );
    let (status, again) = pay("k2");
    assert_eq!(status, 400, "paid once only: {again}");
    assert_eq!(env.mock.times_paid_by_pay_order(pos_order_id), 1);
    let (status, unknown) = post_to_square(
        &env.mock,
        "/v2/orders/NOSUCHORDER/pay",
        &json!({"idempotency_key": "k3", "payment_ids": []}),
    );
    assert_eq!(
        (status, &unknown["errors"][0]["code"]),
        (404, &json!("NOT_FOUND"))
    );
}
