//! Orders the kitchen sees, in Square: a push is CreateOrder and then CreatePayment in one
//! attempt, each idempotent, each result stored the moment it is known (providers §F3b). The
//! mock Square says whether the order shows on its POS (fulfilment + fully paid).

use crate::cancel::{step, steps};
use crate::common;
use crate::oauth_support;

use common::mock_square::{DEFAULT_LOCATION_ID, Fault, MockSquare};
use common::provider_env::ProviderEnv;
use serde_json::{Value, json};

/// The one CreatePayment body the mock took for this Square order.
fn payment_requests_of(mock: &MockSquare, pos_order_id: &str) -> Vec<Value> {
    mock.payment_requests()
        .into_iter()
        .map(|r| r.body)
        .filter(|b| b["order_id"] == pos_order_id)
        .collect()
}

#[test]
fn an_order_is_created_then_paid_and_so_shows_on_the_square_pos() {
    let env = ProviderEnv::square(&[]);
    let order_id = env.order();
    let log = env.wait_status(&order_id, "success");
    let pos_order_id = log["pos_order_id"].as_str().unwrap().to_string();
    assert!(env.mock.is_visible(&pos_order_id), "the kitchen sees it");
    assert_eq!(log["pos_visible"], true, "{log}");
    let payments = env.mock.payments();
    assert_eq!(payments.len(), 1);
    assert_eq!(log["pos_payment_id"], payments[0]["id"], "{log}");
    assert_eq!(
        steps(&env, &log),
        vec![
            step("create_order", 200, "success"),
            step("record_payment", 200, "success")
        ]
    );
    // §F3b, exactly.
    let bodies = payment_requests_of(&env.mock, &pos_order_id);
    assert_eq!(bodies.len(), 1);
    assert_eq!(
        bodies[0],
        json!({
            "idempotency_key": format!("mmpay-{order_id}"),
            "source_id": "EXTERNAL",
            "amount_money": {"amount": 60000, "currency": "INR"},
            "order_id": pos_order_id,
            "location_id": DEFAULT_LOCATION_ID,
            "reference_id": order_id,
            "external_details": {"type": "OTHER", "source": "MenuMaker", "source_id": order_id},
        })
    );
    env.assert_no_problems();
}

#[test]
fn a_payment_5xx_retries_the_payment_never_a_second_order() {
    let env = ProviderEnv::square(&[]);
    env.mock.push_payment_fault(Fault::Status(503));
    env.mock.push_payment_fault(Fault::ConnectionReset);
    let order_id = env.order();
    let log = env.wait_status(&order_id, "success");
    let pos_order_id = log["pos_order_id"].as_str().unwrap();
    assert_eq!(env.mock_orders_for(&order_id).len(), 1, "one order");
    assert_eq!(
        env.requests_for(&order_id).len(),
        1,
        "CreateOrder sent once"
    );
    assert_eq!(env.mock.payments_of(pos_order_id), 1, "one payment");
    assert!(env.mock.is_visible(pos_order_id));
    assert_eq!(log["retry_count"], 2, "{log}");
    let mut want = vec![
        step("create_order", 200, "success"),
        step("record_payment", 503, "retry"),
    ];
    want.push(("record_payment".into(), Value::Null, "retry".into()));
    want.push(step("record_payment", 200, "success"));
    assert_eq!(steps(&env, &log), want);
    // Every try of the payment carried the same key and body.
    let bodies = payment_requests_of(&env.mock, pos_order_id);
    assert_eq!(bodies.len(), 3);
    assert!(bodies.iter().all(|b| *b == bodies[0]), "{bodies:#?}");
    env.assert_no_problems();
}

#[test]
fn a_payment_that_timed_out_after_square_took_it_is_not_paid_twice() {
    let env = ProviderEnv::square(&["--provider-timeout", "300ms"]);
    env.mock
        .push_payment_fault(Fault::TimeoutAfterCommit(std::time::Duration::from_secs(1)));
    let order_id = env.order();
    let log = env.wait_status(&order_id, "success");
    let pos_order_id = log["pos_order_id"].as_str().unwrap();
    assert_eq!(payment_requests_of(&env.mock, pos_order_id).len(), 2);
    assert_eq!(
        env.mock.payments_of(pos_order_id),
        1,
        "Square's own payment back"
    );
    assert_eq!(log["pos_payment_id"], env.mock.payments()[0]["id"]);
    env.assert_no_problems();
}

#[test]
fn record_payment_off_creates_the_order_only_and_says_the_pos_does_not_show_it() {
    let env = ProviderEnv::square(&[]);
    let integration = env.patch_integration(json!({"record_payment": false}));
    assert_eq!(integration["record_payment"], false, "{integration}");
    let order_id = env.order();
    let log = env.wait_status(&order_id, "success");
    let pos_order_id = log["pos_order_id"].as_str().unwrap();
    assert_eq!(log["pos_visible"], false, "{log}");
    assert_eq!(log["pos_payment_id"], Value::Null);
    assert!(env.mock.payment_requests().is_empty());
    assert!(
        !env.mock.is_visible(pos_order_id),
        "unpaid: Square shows it nowhere"
    );
    assert_eq!(
        steps(&env, &log),
        vec![step("create_order", 200, "success")]
    );
    env.assert_no_problems();
}

#[test]
fn a_total_other_than_menumakers_fails_at_once_naming_both_and_pays_nothing() {
    let env = ProviderEnv::square(&[]);
    env.mock.add_unasked_tax(1800);
    let order_id = env.order();
    let log = env.wait_status(&order_id, "failed");
    assert_eq!(
        log["error_message"], "Square computed total 61800, MenuMaker total 60000",
        "{log}"
    );
    assert_eq!(log["retry_count"], 0, "not retried");
    assert_eq!(
        log["pos_order_id"],
        env.mock_orders_for(&order_id)[0]["id"],
        "the order Square made is on record"
    );
    assert_eq!(log["pos_visible"], false);
    assert!(env.mock.payment_requests().is_empty(), "no payment");
    assert_eq!(steps(&env, &log), vec![step("create_order", 200, "failed")]);

    // The check is over the whole order: lines − discount + delivery fee + tip (61500 here).
    let (order_id, _) = env.place(json!({
        "customer_name": "Rahul Kumar", "items": [{"dish_id": env.dish, "quantity": 2}],
        "discount": 5000, "delivery_fee": 4000, "tip": 2500,
    }));
    let log = env.wait_status(&order_id, "failed");
    assert_eq!(
        log["error_message"], "Square computed total 63300, MenuMaker total 61500",
        "{log}"
    );
    assert!(env.mock.payment_requests().is_empty(), "still no payment");
}

#[test]
fn a_403_on_the_payment_fails_at_once_without_a_refresh_and_asks_to_reconnect() {
    let mock =
        oauth_support::square_mock(vec![oauth_support::location(DEFAULT_LOCATION_ID, "ACTIVE")]);
    let flags = oauth_support::square_flags(&mock, &[]);
    let env = ProviderEnv::start(mock, &flags, "INR", 30000);
    let resp = oauth_support::connect_square_via_consent(&env.app.base, &env.token, &env.business);
    assert_eq!(resp.status, 200, "{}", resp.text);
    // The seller's grant lacks the payments permission (a connection from before it was asked).
    let token = env.mock.tokens_issued()[0].clone();
    let without: Vec<&str> = oauth_support::SQUARE_SCOPES
        .iter()
        .copied()
        .filter(|s| *s != "PAYMENTS_WRITE")
        .collect();
    env.mock.set_token_scopes(&token, &without);

    let order_id = env.order();
    let log = env.wait_status(&order_id, "failed");
    let error = log["error_message"].as_str().unwrap_or_default();
    assert!(
        error.contains("PAYMENTS_WRITE") && error.contains("reconnect"),
        "{error}"
    );
    assert_eq!(log["retry_count"], 0);
    assert!(
        log["pos_order_id"].is_string(),
        "the order was created: {log}"
    );
    assert_eq!(log["pos_visible"], false);
    assert_eq!(
        steps(&env, &log),
        vec![
            step("create_order", 200, "success"),
            step("record_payment", 403, "auth_failed")
        ]
    );
    assert!(
        oauth_support::refresh_grants(&env.mock).is_empty(),
        "a refresh cannot add a permission"
    );
    assert_eq!(env.mock.payment_requests().len(), 1, "asked once");
    let integration = env.integration();
    assert!(
        integration["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("reconnect")),
        "{integration}"
    );
    let notices = env.app.get(
        &format!("/api/v1/notifications?business_id={}", env.business),
        Some(&env.token),
    );
    let kinds: Vec<&Value> = notices.data()["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| &n["kind"])
        .collect();
    assert!(kinds.contains(&&json!("reconnect_required")), "{kinds:?}");
}

#[test]
fn the_preview_shows_the_order_and_the_payment_bodies() {
    let env = ProviderEnv::square(&[]);
    env.patch_integration(json!({"auto_sync_orders": false}));
    let order_id = env.order();
    let preview = env.preview(&order_id);
    let steps = preview["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 2, "{preview:#}");
    assert_eq!(steps[0]["step"], "create_order");
    assert_eq!(steps[0]["request"], preview["request"]);
    assert_eq!(steps[1]["step"], "record_payment");
    let payment = &steps[1]["request"];
    assert_eq!(payment["idempotency_key"], format!("mmpay-{order_id}"));
    assert_eq!(payment["amount_money"]["amount"], 60000);
    assert!(
        payment["order_id"]
            .as_str()
            .unwrap()
            .contains("CreateOrder"),
        "named in words until Square answers: {payment}"
    );
    env.patch_integration(json!({"record_payment": false}));
    let preview = env.preview(&order_id);
    assert_eq!(preview["steps"].as_array().unwrap().len(), 1, "{preview:#}");
}
