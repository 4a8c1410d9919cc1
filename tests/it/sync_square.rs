//! The sync engine against a mock Square over real HTTP: the body it sends, how it retries,
//! what it records, manual sync and disconnect.

use crate::common;
use crate::sync_support::header_of;

use std::time::Duration;

use common::mock_square::{Fault, MockSquare};
use common::provider_env::{
    LOCATION, ProviderEnv, SQ_TOKEN, assert_no_problems, outcomes, square_flags,
};
use common::wait::{PATIENCE, wait_for, wait_until};
use serde_json::{Value, json};

type Env = ProviderEnv<MockSquare>;

/// Every attempt for an order carries the same idempotency key.
fn assert_one_idempotency_key(requests: &[common::mock_square::Recorded], order_id: &str) {
    let want = json!(format!("menumaker-{order_id}"));
    for (i, r) in requests.iter().enumerate() {
        assert_eq!(r.body["idempotency_key"], want, "request {i} of {order_id}");
    }
}

/// The one order the mock holds for `order_id`, and its id.
fn the_mock_order(env: &Env, order_id: &str) -> String {
    let held = env.mock_orders_for(order_id);
    assert_eq!(
        held.len(),
        1,
        "the mock should hold exactly one order for {order_id}: {held:#?}"
    );
    held[0]["id"].as_str().expect("mock order id").to_string()
}

#[test]
fn auto_sync_sends_the_exact_f3_body_for_mapped_and_unmapped_dishes() {
    let env = ProviderEnv::square(&[]);
    let naan = env
        .app
        .dish(&env.token, &env.business, "Butter Naan", 12000);
    // Connecting again with a mapping updates the integration in place.
    let before = env.integration();
    let resp = env.app.post(
        "/api/v1/pos/connect",
        Some(&env.token),
        json!({
            "business_id": env.business,
            "provider": "square",
            "access_token": SQ_TOKEN,
            "location_id": LOCATION,
            "item_mapping": {naan.clone(): "VAR-NAAN"},
        }),
    );
    resp.expect(200);
    let integration = &resp.data()["integration"];
    assert_eq!(integration["id"], before["id"]);
    assert_eq!(
        integration["item_mapping"],
        json!({naan.clone(): "VAR-NAAN"})
    );

    // 39 characters: the ticket name is cut to Square's 30, the recipient keeps it whole.
    let name = "Rahul Kumar from the Third Floor Office";
    let (order_id, placed) = env.place(json!({
        "customer_name": name,
        "customer_phone": "+919876543210",
        "special_instructions": "Ring the bell",
        "items": [
            {"dish_id": env.dish, "quantity": 2, "note": "Extra spicy"},
            {"dish_id": naan, "quantity": 1},
        ],
    }));
    let queued = &placed["sync_log"];
    assert_eq!(
        queued["status"], "pending",
        "the order answer carries its log"
    );
    assert_eq!(queued["order_id"], json!(order_id));
    assert_eq!(queued["provider"], "square");

    let log = env.wait_status(&order_id, "success");
    let requests = env.requests_for(&order_id);
    assert_eq!(requests.len(), 1, "one request for a healthy Square");
    let expected = json!({
        "idempotency_key": format!("menumaker-{order_id}"),
        "order": {
            "location_id": LOCATION,
            "reference_id": order_id,
            "source": {"name": "MenuMaker"},
            "ticket_name": "Rahul Kumar from the Third Flo",
            "line_items": [
                {"name": "Paneer Butter Masala", "quantity": "2",
                 "base_price_money": {"amount": 30000, "currency": "INR"}, "note": "Extra spicy"},
                {"catalog_object_id": "VAR-NAAN", "quantity": "1",
                 "base_price_money": {"amount": 12000, "currency": "INR"}},
            ],
            "fulfillments": [{"type": "PICKUP", "state": "PROPOSED", "pickup_details": {
                "schedule_type": "ASAP", "note": "Ring the bell",
                "recipient": {"display_name": name, "phone_number": "+919876543210"}}}],
            "metadata": {"source": "MenuMaker", "menumaker_order_id": order_id},
            "pricing_options": {"auto_apply_taxes": false, "auto_apply_discounts": false},
        }
    });
    assert_eq!(requests[0].body, expected, "the §F3 body");
    assert_eq!(
        header_of(&requests[0], "authorization"),
        Some(format!("Bearer {SQ_TOKEN}").as_str())
    );
    assert_eq!(
        header_of(&requests[0], "square-version"),
        Some("2025-08-20"),
        "the default --square-version"
    );

    // The preview is what was sent, without the token.
    let preview = env.preview(&order_id);
    assert_eq!(preview["provider"], "square");
    assert_eq!(preview["request"], requests[0].body);

    assert_eq!(log["pos_order_id"], json!(the_mock_order(&env, &order_id)));

    // PATCH replaces the mapping (an unknown dish is refused). An order already sent keeps its
    // body (same idempotency key, same body); a new order goes out with the naan as an ad hoc
    // line.
    env.app
        .patch(
            &format!("/api/v1/pos/integration/{}", env.business),
            Some(&env.token),
            json!({"item_mapping": {"0193a1b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b": "VAR-X"}}),
        )
        .expect_error(400, "VALIDATION_ERROR");
    env.patch_integration(json!({"item_mapping": {}}));
    assert_eq!(
        env.preview(&order_id)["request"],
        requests[0].body,
        "an order already sent is resent exactly as it was"
    );
    let (second, _) = env.place(json!({
        "customer_name": name,
        "items": [{"dish_id": naan, "quantity": 1}],
    }));
    env.wait_status(&second, "success");
    assert_eq!(
        env.requests_for(&second)[0].body["order"]["line_items"][0],
        json!({"name": "Butter Naan", "quantity": "1",
               "base_price_money": {"amount": 12000, "currency": "INR"}})
    );
    env.assert_no_problems();
}

#[test]
fn without_customer_info_no_name_or_phone_reaches_square() {
    let env = ProviderEnv::square(&["--square-version", "2024-10-17"]);
    let integration = env.patch_integration(json!({"sync_customer_info": false}));
    assert_eq!(integration["sync_customer_info"], json!(false));

    let order_id = env.order();
    env.wait_status(&order_id, "success");
    let requests = env.requests_for(&order_id);
    assert_eq!(requests.len(), 1);
    let expected = json!({
        "idempotency_key": format!("menumaker-{order_id}"),
        "order": {
            "location_id": LOCATION,
            "reference_id": order_id,
            "source": {"name": "MenuMaker"},
            "line_items": [
                {"name": "Paneer Butter Masala", "quantity": "2",
                 "base_price_money": {"amount": 30000, "currency": "INR"}, "note": "Extra spicy"},
            ],
            "fulfillments": [{"type": "PICKUP", "state": "PROPOSED", "pickup_details": {
                "schedule_type": "ASAP", "note": "Ring the bell",
                "recipient": {"display_name": format!("MenuMaker order {}", &order_id[..8])}}}],
            "metadata": {"source": "MenuMaker", "menumaker_order_id": order_id},
            "pricing_options": {"auto_apply_taxes": false, "auto_apply_discounts": false},
        }
    });
    assert_eq!(
        requests[0].body, expected,
        "the §F3 body without customer info"
    );
    let sent = requests[0].body.to_string();
    assert!(
        !sent.contains("Rahul") && !sent.contains("9876543210"),
        "{sent}"
    );
    assert_eq!(
        header_of(&requests[0], "square-version"),
        Some("2024-10-17"),
        "--square-version is sent"
    );
    assert_eq!(env.preview(&order_id)["request"], expected);

    // Switching it back on applies to the next order; the order already sent keeps its body.
    env.patch_integration(json!({"sync_customer_info": true}));
    assert_eq!(env.preview(&order_id)["request"], expected);
    let second = env.order();
    env.wait_status(&second, "success");
    let body = &env.requests_for(&second)[0].body;
    assert_eq!(body["order"]["ticket_name"], "Rahul Kumar");
    assert_eq!(
        body["order"]["fulfillments"][0]["pickup_details"]["recipient"],
        json!({"display_name": "Rahul Kumar", "phone_number": "+919876543210"})
    );
    env.assert_no_problems();
}

#[test]
fn auto_sync_off_queues_nothing() {
    let env = ProviderEnv::square(&[]);
    env.patch_integration(json!({"auto_sync_orders": false}));
    let (order_id, queued) = env.order_and_log();
    assert_eq!(queued, Value::Null, "no sync log without auto-sync");
    assert_eq!(env.log(&order_id), Value::Null);
    assert_eq!(env.app.app().sync.run_due().unwrap(), 0);
    assert!(env.mock.create_order_requests().is_empty());
    // A manual sync still pushes it.
    let resp = env.sync(&order_id, "");
    resp.expect(202);
    let done = env.wait_status(&order_id, "success");
    assert_eq!(done["id"], resp.data()["syncLog"]["id"]);
    assert_eq!(env.mock_orders_for(&order_id).len(), 1);
    env.assert_no_problems();
}

#[test]
fn two_server_errors_then_success_records_three_attempts() {
    let env = ProviderEnv::square(&[]);
    env.mock.push_fault(Fault::Status(500));
    env.mock.push_fault(Fault::Status(500));
    let order_id = env.order();

    let log = env.wait_status(&order_id, "success");
    let pos_order_id = the_mock_order(&env, &order_id);
    assert_eq!(log["pos_order_id"], json!(pos_order_id));
    assert_eq!(log["retry_count"], 2, "two retries were scheduled");
    assert_eq!(log["max_retries"], 12, "the default --max-retries");
    assert_eq!(
        log["error_message"],
        Value::Null,
        "a success clears the error"
    );
    assert!(log["completed_at"].is_string(), "{log}");
    assert!(log["duration_ms"].is_i64(), "{log}");

    let attempts = env.attempts_were(
        &log,
        &[
            (json!(500), "retry"),
            (json!(500), "retry"),
            (json!(200), "success"),
            (json!(200), "success"),
        ],
    );
    for (i, a) in attempts.iter().enumerate() {
        assert_eq!(a["attempt_number"], json!(i + 1));
        assert_eq!(a["sync_log_id"], log["id"]);
        assert!(
            a["started_at"].is_string() && a["duration_ms"].is_i64(),
            "{a}"
        );
    }
    assert!(
        attempts[0]["error_message"]
            .as_str()
            .is_some_and(|e| e.contains("500"))
    );
    assert_eq!(attempts[2]["pos_order_id"], json!(pos_order_id));
    assert_eq!(attempts[2]["error_message"], Value::Null);

    let requests = env.requests_for(&order_id);
    assert_eq!(requests.len(), 3);
    assert_one_idempotency_key(&requests, &order_id);

    let integration = env.integration();
    assert!(integration["last_sync_at"].is_string(), "{integration}");
    assert_eq!(integration["error_count"], 0, "a success resets the count");
    assert_eq!(integration["last_error"], Value::Null);
    env.assert_no_problems();
}

#[test]
fn retries_exhausted_fail_the_log_with_retry_count_at_max_retries() {
    let env = ProviderEnv::square(&["--max-retries", "2"]);
    for _ in 0..3 {
        env.mock.push_fault(Fault::Status(503));
    }
    let (order_id, queued) = env.order_and_log();
    assert_eq!(queued["max_retries"], 2);

    let log = env.wait_status(&order_id, "failed");
    assert_eq!(log["retry_count"], 2);
    assert_eq!(log["max_retries"], 2);
    assert_eq!(log["next_retry_at"], Value::Null);
    assert!(log["completed_at"].is_string(), "{log}");
    let error = log["error_message"].as_str().unwrap_or_default();
    assert!(error.contains("503"), "{error}");

    env.attempts_were(
        &log,
        &[
            (json!(503), "retry"),
            (json!(503), "retry"),
            (json!(503), "failed"),
        ],
    );
    // Nothing more is due, and nothing more reaches Square while several intervals pass.
    assert_eq!(env.app.app().sync.run_due().unwrap(), 0);
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(env.requests_for(&order_id).len(), 3, "exactly 3 attempts");
    assert!(env.mock.orders().is_empty());

    let integration = env.integration();
    assert_eq!(integration["error_count"], 3, "{integration}");
    assert!(
        integration["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("503")),
        "{integration}"
    );
    assert_eq!(integration["last_sync_at"], Value::Null);
    env.assert_no_problems();
}

#[test]
fn a_square_400_fails_at_once_and_is_never_retried() {
    let env = ProviderEnv::square(&[]);
    env.mock.push_fault(Fault::BadRequest {
        code: "INVALID_VALUE".into(),
        detail: "The quantity is not valid.".into(),
        field: Some("order.line_items[0].quantity".into()),
    });
    let order_id = env.order();
    let log = env.wait_status(&order_id, "failed");
    assert_eq!(log["retry_count"], 0);
    let error = log["error_message"].as_str().unwrap_or_default();
    for part in [
        "INVALID_VALUE",
        "The quantity is not valid.",
        "order.line_items[0].quantity",
    ] {
        assert!(error.contains(part), "{part:?} missing from {error:?}");
    }
    let attempts = env.attempts_were(&log, &[(json!(400), "failed")]);
    assert!(
        attempts[0]["error_message"]
            .as_str()
            .is_some_and(|e| e.contains("INVALID_VALUE"))
    );

    // Well past several retry intervals (200ms): still the one request.
    assert_eq!(env.app.app().sync.run_due().unwrap(), 0);
    std::thread::sleep(Duration::from_millis(1000));
    assert_eq!(env.requests_for(&order_id).len(), 1);
    assert_eq!(env.log(&order_id)["status"], "failed");
    assert!(env.mock.orders().is_empty());
    env.assert_no_problems();
}

#[test]
fn a_429_waits_as_retry_after_says_or_else_the_rate_limit_backoff() {
    // (Retry-After, flags, the gap's bounds, what the bounds mean)
    type RetryAfter = fn() -> Option<String>;
    let cases: [(RetryAfter, &[&str], Duration, Duration, &str); 3] = [
        (
            || Some("1".to_string()),
            &["--retry-interval", "3s"],
            Duration::from_millis(950),
            Duration::from_millis(2900),
            "Retry-After: 1, not the 3s retry interval",
        ),
        (
            || None,
            &["--retry-interval", "3s", "--rate-limit-backoff", "300ms"],
            Duration::from_millis(280),
            Duration::from_millis(2500),
            "no Retry-After: the 300ms --rate-limit-backoff, not the 3s retry interval",
        ),
        (
            || {
                let at = std::time::SystemTime::now() + Duration::from_secs(2);
                Some(httpdate::fmt_http_date(at))
            },
            &["--rate-limit-backoff", "5s"],
            // The date has whole seconds: the wait is between 1 and 2 seconds.
            Duration::from_millis(900),
            Duration::from_millis(3500),
            "Retry-After: an HTTP date 2s away, not the 5s back-off",
        ),
    ];
    for (retry_after, flags, at_least, at_most, rule) in cases {
        let env = ProviderEnv::square(flags);
        env.mock.push_fault(Fault::RateLimited {
            retry_after: retry_after(),
        });
        let order_id = env.order();
        let log = env.wait_status(&order_id, "success");
        let requests = env.requests_for(&order_id);
        assert_eq!(requests.len(), 2, "{rule}");
        let gap = requests[1].at.duration_since(requests[0].at);
        println!("429, {rule} → next attempt after {gap:?}");
        assert!(
            gap >= at_least && gap < at_most,
            "{rule}: the retry came {gap:?} after the 429"
        );
        let attempts = env.attempts(log["id"].as_str().unwrap());
        assert_eq!(
            outcomes(&attempts),
            vec![
                (json!(429), "rate_limited".to_string()),
                (json!(200), "success".to_string()),
                (json!(200), "success".to_string()),
            ],
            "{rule}"
        );
        assert_eq!(log["retry_count"], 1, "{rule}");
        assert_one_idempotency_key(&requests, &order_id);
        the_mock_order(&env, &order_id);
        env.assert_no_problems();
    }
}

#[test]
fn a_timeout_after_commit_is_retried_and_square_holds_one_order() {
    let env = ProviderEnv::square(&["--provider-timeout", "300ms"]);
    env.mock
        .push_fault(Fault::TimeoutAfterCommit(Duration::from_secs(1)));
    let order_id = env.order();
    let log = env.wait_status(&order_id, "success");

    let requests = env.requests_for(&order_id);
    assert_eq!(requests.len(), 2, "the timed-out attempt and its retry");
    assert_one_idempotency_key(&requests, &order_id);
    assert_eq!(
        requests[0].body, requests[1].body,
        "the retry sends the same body"
    );
    let pos_order_id = the_mock_order(&env, &order_id);
    assert_eq!(
        log["pos_order_id"],
        json!(pos_order_id),
        "Square's original order"
    );
    assert_eq!(env.mock.orders().len(), 1);

    let attempts = env.attempts_were(
        &log,
        &[
            (Value::Null, "retry"),
            (json!(200), "success"),
            (json!(200), "success"),
        ],
    );
    let error = attempts[0]["error_message"].as_str().unwrap_or_default();
    assert!(error.contains("timeout"), "{error}");
    assert!(
        attempts[0]["duration_ms"].as_i64().unwrap() >= 250,
        "the timed-out attempt lasted about the timeout: {}",
        attempts[0]
    );
    env.assert_no_problems();
}

#[test]
fn a_connection_reset_is_retried_and_succeeds() {
    let env = ProviderEnv::square(&[]);
    env.mock.push_fault(Fault::ConnectionReset);
    let order_id = env.order();
    let log = env.wait_status(&order_id, "success");
    let attempts = env.attempts_were(
        &log,
        &[
            (Value::Null, "retry"),
            (json!(200), "success"),
            (json!(200), "success"),
        ],
    );
    assert!(attempts[0]["error_message"].is_string());
    let requests = env.requests_for(&order_id);
    assert_eq!(requests.len(), 2);
    assert_one_idempotency_key(&requests, &order_id);
    assert_eq!(log["pos_order_id"], json!(the_mock_order(&env, &order_id)));
    env.assert_no_problems();
}

#[test]
fn a_401_fails_and_asks_the_seller_to_reconnect() {
    let env = ProviderEnv::square(&[]);
    env.mock.push_fault(Fault::Unauthorized);
    let order_id = env.order();
    let log = env.wait_status(&order_id, "failed");
    assert_eq!(log["retry_count"], 0);
    env.attempts_were(&log, &[(json!(401), "auth_failed")]);
    let integration = env.integration();
    let last_error = integration["last_error"].as_str().unwrap_or_default();
    assert!(
        last_error.contains("reconnect"),
        "last_error should say to reconnect: {integration}"
    );
    assert_eq!(integration["error_count"], 1);

    assert_eq!(env.app.app().sync.run_due().unwrap(), 0);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(env.requests_for(&order_id).len(), 1, "never retried");
    env.assert_no_problems();
}

#[test]
fn a_token_square_does_not_accept_fails_with_reconnect() {
    let env = ProviderEnv::square(&[]);
    env.mock.set_access_token("sq-access-2");
    let order_id = env.order();
    let log = env.wait_status(&order_id, "failed");
    env.attempts_were(&log, &[(json!(401), "auth_failed")]);
    assert!(
        env.integration()["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("reconnect"))
    );

    // Reconnecting with the new token and a manual sync deliver it.
    env.app
        .connect_square(&env.token, &env.business, "sq-access-2");
    env.sync(&order_id, "").expect(202);
    let log = env.wait_status(&order_id, "success");
    assert_eq!(log["pos_order_id"], json!(the_mock_order(&env, &order_id)));
    let integration = env.integration();
    assert_eq!(integration["last_error"], Value::Null);
    assert_eq!(integration["error_count"], 0);
    env.assert_no_problems();
}

#[test]
fn manual_sync_of_a_failed_order_makes_a_new_log_that_succeeds() {
    let env = ProviderEnv::square(&[]);
    env.mock.push_fault(Fault::BadRequest {
        code: "INVALID_VALUE".into(),
        detail: "Bad location.".into(),
        field: None,
    });
    let order_id = env.order();
    let failed = env.wait_status(&order_id, "failed");

    let resp = env.sync(&order_id, "");
    resp.expect(202);
    assert_eq!(resp.body["message"], "Order sync initiated");
    let log = resp.data()["syncLog"].clone();
    assert_ne!(log["id"], failed["id"], "a new log");
    assert_eq!(log["order_id"], json!(order_id));
    assert!(
        ["pending", "syncing", "success"].contains(&log["status"].as_str().unwrap_or("")),
        "{log}"
    );
    let done = env.wait_status(&order_id, "success");
    assert_eq!(done["id"], log["id"]);
    assert_eq!(done["pos_order_id"], json!(the_mock_order(&env, &order_id)));
    assert_eq!(
        env.attempts(log["id"].as_str().unwrap()).len(),
        2,
        "the order and its payment"
    );

    // Both logs are in the history; the failed one stays failed.
    let history = env.history("");
    history.expect(200);
    let logs = history.data()["logs"].as_array().unwrap();
    assert_eq!(logs.len(), 2);
    assert_eq!(logs[0]["id"], log["id"], "newest first");
    assert_eq!(logs[1]["id"], failed["id"]);
    assert_eq!(logs[1]["status"], "failed");
    env.assert_no_problems();
}

#[test]
fn manual_sync_of_an_order_on_its_way_returns_that_log() {
    let env = ProviderEnv::square(&["--retry-interval", "1h"]);
    env.mock.push_fault(Fault::Status(503));
    let (order_id, queued) = env.order_and_log();
    let retrying = env.wait_status(&order_id, "retry");
    assert_eq!(retrying["id"], queued["id"]);
    assert_eq!(retrying["retry_count"], 1);
    let due: jiff::Timestamp = retrying["next_retry_at"].as_str().unwrap().parse().unwrap();
    let wait = due.duration_since(jiff::Timestamp::now());
    assert!(
        wait > jiff::SignedDuration::from_mins(59) && wait <= jiff::SignedDuration::from_mins(60),
        "the retry is due one --retry-interval (1h) later: {retrying}"
    );

    // Even with force: a log on its way is never doubled; it is made due now ("sync now").
    let resp = env.sync(&order_id, "?force=true");
    resp.expect(202);
    assert_eq!(resp.data()["syncLog"]["id"], queued["id"], "the same log");
    assert_eq!(resp.data()["syncLog"]["status"], "retry");
    let done = env.wait_status(&order_id, "success");
    assert_eq!(done["id"], queued["id"]);
    let history = env.history("");
    assert_eq!(history.data()["total"], 1);
    assert_eq!(env.requests_for(&order_id).len(), 2);
    env.assert_no_problems();
}

#[test]
fn manual_sync_of_an_order_being_pushed_returns_that_log() {
    let env = ProviderEnv::square(&[]);
    // Square takes its time answering: the log stays `syncing` meanwhile.
    env.mock
        .push_fault(Fault::TimeoutAfterCommit(Duration::from_millis(1500)));
    let (order_id, queued) = env.order_and_log();
    wait_until(PATIENCE, "the push reached the mock", || {
        env.requests_for(&order_id).len() == 1
    });
    let resp = env.sync(&order_id, "");
    resp.expect(202);
    assert_eq!(resp.data()["syncLog"]["id"], queued["id"], "the same log");
    assert_eq!(resp.data()["syncLog"]["status"], "syncing");
    let done = env.wait_status(&order_id, "success");
    assert_eq!(done["id"], queued["id"]);
    assert_eq!(env.history("").data()["total"], 1);
    assert_eq!(env.mock_orders_for(&order_id).len(), 1);
    env.assert_no_problems();
}

#[test]
fn manual_sync_of_a_delivered_order_needs_force_and_never_duplicates() {
    let env = ProviderEnv::square(&[]);
    let order_id = env.order();
    let first = env.wait_status(&order_id, "success");
    let pos_order_id = the_mock_order(&env, &order_id);

    let message = env.sync(&order_id, "").expect_error(409, "CONFLICT");
    assert!(message.contains("force"), "{message}");
    env.sync(&order_id, "?force=false")
        .expect_error(409, "CONFLICT");

    let resp = env.sync(&order_id, "?force=true");
    resp.expect(202);
    let forced = resp.data()["syncLog"].clone();
    assert_ne!(
        forced["id"], first["id"],
        "a forced re-sync is a log of its own"
    );
    let done = env.wait_status(&order_id, "success");
    assert_eq!(done["id"], forced["id"]);
    assert_eq!(
        done["pos_order_id"],
        json!(pos_order_id),
        "Square's same order"
    );

    let requests = env.requests_for(&order_id);
    assert_eq!(requests.len(), 2);
    assert_one_idempotency_key(&requests, &order_id);
    assert_eq!(
        env.mock_orders_for(&order_id).len(),
        1,
        "still ONE order in Square"
    );
    assert_eq!(env.mock.orders().len(), 1);
    let stats = env.stats();
    assert_eq!(stats["total_syncs"], 2);
    assert_eq!(stats["successful_syncs"], 2);
    env.assert_no_problems();
}

#[test]
fn manual_sync_needs_an_active_integration_and_an_own_order() {
    let env = ProviderEnv::square(&[]);
    // A business of the same seller without any integration.
    let other = env.app.business(&env.token, "Second Kitchen");
    let dish = env.app.dish(&env.token, &other, "Dal", 15000);
    let data = env.app.order(&env.token, &other, &dish, 1);
    assert_eq!(data["sync_log"], Value::Null);
    let lonely = data["order"]["id"].as_str().unwrap().to_string();
    env.sync(&lonely, "").expect_error(409, "CONFLICT");
    env.app
        .get(&format!("/api/v1/pos/preview/{lonely}"), Some(&env.token))
        .expect_error(409, "CONFLICT");

    // Another seller cannot sync (or even see) this seller's order.
    let order_id = env.order();
    env.wait_status(&order_id, "success");
    let stranger = env.app.login_new_seller("someone@else.in");
    let resp = env.app.post(
        &format!("/api/v1/pos/sync/{order_id}"),
        Some(&stranger),
        json!({}),
    );
    resp.expect_error(404, "NOT_FOUND");
    let resp = env.app.post(
        &format!("/api/v1/pos/sync/{order_id}?force=true"),
        Some(&stranger),
        json!({}),
    );
    resp.expect_error(404, "NOT_FOUND");
    // Unknown order, no token.
    env.sync("0193a1b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b", "")
        .expect_error(404, "NOT_FOUND");
    env.app
        .post(&format!("/api/v1/pos/sync/{order_id}"), None, json!({}))
        .expect_error(401, "UNAUTHORIZED");

    // After a disconnect the connected business has no active integration either.
    env.app
        .post(
            "/api/v1/pos/disconnect",
            Some(&env.token),
            json!({"business_id": env.business}),
        )
        .expect(200);
    env.sync(&order_id, "?force=true")
        .expect_error(409, "CONFLICT");
    assert_eq!(env.requests_for(&order_id).len(), 1);
    env.assert_no_problems();
}

#[test]
fn disconnect_fails_queued_retries_and_nothing_more_reaches_square() {
    let env = ProviderEnv::square(&["--retry-interval", "2s"]);
    env.mock.push_fault(Fault::Status(503));
    env.mock.push_fault(Fault::Status(503));
    let first = env.order();
    let second = env.order();
    env.wait_status(&first, "retry");
    env.wait_status(&second, "retry");
    assert_eq!(env.mock.create_order_requests().len(), 2);

    let resp = env.app.post(
        "/api/v1/pos/disconnect",
        Some(&env.token),
        json!({"business_id": env.business}),
    );
    resp.expect(200);
    assert_eq!(
        resp.body["message"],
        "POS integration disconnected successfully"
    );
    for order_id in [&first, &second] {
        let log = env.log(order_id);
        assert_eq!(log["status"], "failed", "{log}");
        assert_eq!(log["error_message"], "integration disconnected");
        assert_eq!(log["next_retry_at"], Value::Null);
    }
    assert_eq!(env.integration()["is_active"], json!(false));
    assert_eq!(env.app.app().sync.run_due().unwrap(), 0);

    // Past the 2s retry interval: nothing more reaches Square, and a new order queues nothing.
    let (third, queued) = env.order_and_log();
    assert_eq!(queued, Value::Null, "no auto-sync after disconnect");
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(env.mock.create_order_requests().len(), 2);
    assert!(env.mock.orders().is_empty());
    assert_eq!(env.log(&third), Value::Null);
    let stats = env.stats();
    assert_eq!(stats["failed_syncs"], 2);
    assert_eq!(stats["pending_retries"], 0);
    env.assert_no_problems();
}

#[test]
fn new_orders_are_delivered_within_moments() {
    let env = ProviderEnv::square(&[]);
    let started = std::time::Instant::now();
    let ids: Vec<String> = (0..5).map(|_| env.order()).collect();
    for id in &ids {
        env.wait_status(id, "success");
    }
    println!("5 orders delivered in {:?}", started.elapsed());
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "auto-sync should not wait for a scheduler tick"
    );
    wait_until(PATIENCE, "the mock holds 5 orders", || {
        env.mock.orders().len() == 5
    });
    for id in &ids {
        assert_eq!(env.mock_orders_for(id).len(), 1);
    }
    env.assert_no_problems();
}

/// (HTTP status, outcome) of each attempt.
type Attempts = &'static [(u16, &'static str)];

#[test]
fn each_square_status_gets_the_rule_the_guide_gives() {
    let env = ProviderEnv::square(&[]);
    // (status Square answers first, the attempts then recorded, how the log ends)
    let cases: [(u16, Attempts, &str); 8] = [
        (
            408,
            &[(408, "retry"), (200, "success"), (200, "success")],
            "success",
        ),
        (
            502,
            &[(502, "retry"), (200, "success"), (200, "success")],
            "success",
        ),
        (
            503,
            &[(503, "retry"), (200, "success"), (200, "success")],
            "success",
        ),
        (
            504,
            &[(504, "retry"), (200, "success"), (200, "success")],
            "success",
        ),
        (404, &[(404, "failed")], "failed"),
        (409, &[(409, "failed")], "failed"),
        (422, &[(422, "failed")], "failed"),
        (403, &[(403, "auth_failed")], "failed"),
    ];
    for (status, want, end) in cases {
        env.mock.push_fault(Fault::Status(status));
        let order_id = env.order();
        let log = env.wait_status(&order_id, end);
        let want: Vec<(Value, String)> = want
            .iter()
            .map(|(s, o)| (json!(s), o.to_string()))
            .collect();
        assert_eq!(
            outcomes(&env.attempts(log["id"].as_str().unwrap())),
            want,
            "HTTP {status}"
        );
        // A success adds the payment's call to the CreateOrder calls.
        assert_eq!(
            env.requests_for(&order_id).len(),
            want.len() - usize::from(end == "success"),
            "HTTP {status}"
        );
    }
    assert!(
        env.integration()["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("reconnect")),
        "a 403 asks to reconnect"
    );
    assert_eq!(env.app.app().sync.run_due().unwrap(), 0);
    env.assert_no_problems();
}

#[test]
fn the_rate_limit_backoff_doubles_with_each_429() {
    let env = ProviderEnv::square(&["--retry-interval", "3s", "--rate-limit-backoff", "300ms"]);
    env.mock
        .push_fault(Fault::RateLimited { retry_after: None });
    env.mock
        .push_fault(Fault::RateLimited { retry_after: None });
    let order_id = env.order();
    let log = env.wait_status(&order_id, "success");
    let requests = env.requests_for(&order_id);
    assert_eq!(requests.len(), 3);
    let first = requests[1].at.duration_since(requests[0].at);
    let second = requests[2].at.duration_since(requests[1].at);
    println!("429 back-offs: {first:?}, then {second:?}");
    assert!(first >= Duration::from_millis(280), "{first:?}");
    assert!(second >= Duration::from_millis(580), "doubled: {second:?}");
    assert!(second < Duration::from_millis(2500), "{second:?}");
    assert_eq!(log["retry_count"], 2);
    env.attempts_were(
        &log,
        &[
            (json!(429), "rate_limited"),
            (json!(429), "rate_limited"),
            (json!(200), "success"),
            (json!(200), "success"),
        ],
    );
    env.assert_no_problems();
}

#[test]
fn a_429_pauses_the_other_orders_of_the_integration() {
    let env = ProviderEnv::square(&["--sync-workers", "1", "--retry-interval", "3s"]);
    env.mock.push_fault(Fault::RateLimited {
        retry_after: Some("2".into()),
    });
    // B is queued before the 429 arrives, C after it.
    let a = env.order();
    let b = env.order();
    env.wait_status(&a, "retry");
    let (c, queued) = env.order_and_log();
    assert!(
        queued["next_retry_at"].is_string(),
        "a log queued during a pause says when it is due: {queued}"
    );
    for id in [&a, &b, &c] {
        env.wait_status(id, "success");
    }
    let limited_at = env.requests_for(&a)[0].at;
    for (name, id, first_request) in [("A's retry", &a, 1), ("B", &b, 0), ("C", &c, 0)] {
        let requests = env.requests_for(id);
        assert_eq!(requests.len(), first_request + 1, "{name}");
        let gap = requests[first_request].at.duration_since(limited_at);
        println!("{name} reached Square {gap:?} after the 429 (Retry-After: 2)");
        assert!(
            gap >= Duration::from_millis(1900),
            "{name} went out {gap:?} after a 429 with Retry-After: 2"
        );
    }
    assert_eq!(env.mock.orders().len(), 3);
    env.assert_no_problems();
}

#[test]
fn a_graceful_stop_lets_the_push_in_flight_finish() {
    let env = ProviderEnv::square(&[]);
    env.mock
        .push_fault(Fault::TimeoutAfterCommit(Duration::from_millis(800)));
    let order_id = env.order();
    wait_until(PATIENCE, "the push reached the mock", || {
        env.requests_for(&order_id).len() == 1
    });
    let Env {
        mock, app, token, ..
    } = env;
    let dir = app.stop();
    let flags = square_flags(&mock, &[]);
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let app = common::TestApp::start_in(dir, &flags);
    let resp = app.get(&format!("/api/v1/orders/{order_id}"), Some(&token));
    let log = resp.data()["sync_log"].clone();
    assert_eq!(log["status"], "success", "finished before the stop: {log}");
    let attempts = app.get(
        &format!(
            "/api/v1/pos/sync-logs/{}/attempts",
            log["id"].as_str().unwrap()
        ),
        Some(&token),
    );
    assert_eq!(
        outcomes(attempts.data()["attempts"].as_array().unwrap()),
        vec![
            (json!(200), "success".to_string()),
            (json!(200), "success".to_string())
        ]
    );
    assert_eq!(app.app().sync.run_due().unwrap(), 0);
    assert_eq!(mock.create_order_requests().len(), 1);
    assert_eq!(mock.orders().len(), 1);
    assert_no_problems(&mock);
}

/// Wait until the order's latest log is `success` or `failed`.
fn wait_settled(env: &Env, order_id: &str) -> Value {
    wait_for(PATIENCE, "the log settles", || {
        let log = env.log(order_id);
        if log["status"] == "success" || log["status"] == "failed" {
            Ok(log)
        } else {
            Err(log.to_string())
        }
    })
}

#[test]
fn a_retry_after_a_settings_change_still_gets_squares_original_order() {
    // The first push commits in Square but times out; before the retry the seller turns
    // customer info off. The retry must still be answered with the order Square already made.
    let env = ProviderEnv::square(&["--provider-timeout", "300ms", "--retry-interval", "1s"]);
    env.mock
        .push_fault(Fault::TimeoutAfterCommit(Duration::from_millis(800)));
    let order_id = env.order();
    env.wait_status(&order_id, "retry");
    assert_eq!(env.mock_orders_for(&order_id).len(), 1, "Square has it");
    env.patch_integration(json!({"sync_customer_info": false}));

    let log = wait_settled(&env, &order_id);
    let requests = env.requests_for(&order_id);
    assert_eq!(requests.len(), 2);
    assert_one_idempotency_key(&requests, &order_id);
    assert_eq!(
        log["status"], "success",
        "Square holds the order, so the retry must end in success: {log:#}"
    );
    assert_eq!(log["pos_order_id"], json!(the_mock_order(&env, &order_id)));
    assert_eq!(
        requests[1].body, requests[0].body,
        "a retry must resend the body the key was first used with"
    );
    env.assert_no_problems();
}

#[test]
fn a_forced_resync_after_a_mapping_change_gets_the_same_square_order() {
    let env = ProviderEnv::square(&[]);
    let order_id = env.order();
    let first = env.wait_status(&order_id, "success");
    env.mock.set_catalog(vec![crate::catalog::square_item(
        "ITEM-PANEER",
        "Paneer Butter Masala",
        &[("VAR-PANEER", "Regular", 30000)],
    )]);
    env.patch_integration(json!({"item_mapping": {env.dish.clone(): "VAR-PANEER"}}));

    env.sync(&order_id, "?force=true").expect(202);
    let log = wait_settled(&env, &order_id);
    assert_eq!(
        log["status"], "success",
        "API.md: a forced re-sync reuses the idempotency key, so Square answers with the same order: {log:#}"
    );
    assert_eq!(log["pos_order_id"], first["pos_order_id"]);
    assert_eq!(env.mock_orders_for(&order_id).len(), 1);
    env.assert_no_problems();
}

#[test]
fn long_and_unusual_orders_are_cut_to_squares_limits() {
    let env = ProviderEnv::square(&[]);
    let free = env.app.dish(&env.token, &env.business, "Papad 🌶️", 0);
    let long_dish = env
        .app
        .dish(&env.token, &env.business, &"थाली".repeat(50), 99_999);
    // 200 characters (the API's limit), many of them multi-byte.
    let name: String = "राहुल कुमार ".repeat(20).chars().take(200).collect();
    let instructions: String = "कृपया घंटी बजाएं। ".repeat(200).chars().take(2000).collect();
    let phone = "+91 98765 43210 ext 12"; // 22 characters: more than Square's 17
    let mut items = vec![
        json!({"dish_id": free, "quantity": 999, "note": "ñ".repeat(500)}),
        json!({"dish_id": long_dish, "quantity": 1}),
    ];
    items.extend((0..98).map(|_| json!({"dish_id": env.dish, "quantity": 1})));
    let (order_id, _) = env.place(json!({
        "customer_name": name,
        "customer_phone": phone,
        "special_instructions": instructions,
        "items": items,
    }));
    env.wait_status(&order_id, "success");
    let body = &env.requests_for(&order_id)[0].body;
    let order = &body["order"];
    let cut = |s: &str, n: usize| s.chars().take(n).collect::<String>();
    assert_eq!(order["ticket_name"], json!(cut(&name, 30)));
    let pickup = &order["fulfillments"][0]["pickup_details"];
    assert_eq!(pickup["note"], json!(cut(&instructions, 500)));
    assert_eq!(
        pickup["recipient"],
        json!({"display_name": name}),
        "a phone longer than Square allows is left out"
    );
    let lines = order["line_items"].as_array().unwrap();
    assert_eq!(lines.len(), 100);
    assert_eq!(
        lines[0],
        json!({"name": "Papad 🌶️", "quantity": "999",
               "base_price_money": {"amount": 0, "currency": "INR"}, "note": "ñ".repeat(500)})
    );
    assert_eq!(lines[1]["name"], json!("थाली".repeat(50)));
    assert_eq!(lines[1]["base_price_money"]["amount"], 99_999);
    assert_eq!(env.preview(&order_id)["request"], *body);
    the_mock_order(&env, &order_id);
    env.assert_no_problems();
}

#[test]
fn rate_limits_count_against_max_retries() {
    let env = ProviderEnv::square(&["--max-retries", "1", "--rate-limit-backoff", "100ms"]);
    for _ in 0..2 {
        env.mock
            .push_fault(Fault::RateLimited { retry_after: None });
    }
    let order_id = env.order();
    let log = env.wait_status(&order_id, "failed");
    assert_eq!(log["retry_count"], 1);
    assert_eq!(log["max_retries"], 1);
    assert!(
        log["error_message"]
            .as_str()
            .is_some_and(|e| e.contains("429")),
        "{log}"
    );
    env.attempts_were(
        &log,
        &[(json!(429), "rate_limited"), (json!(429), "failed")],
    );
    assert_eq!(env.requests_for(&order_id).len(), 2);
    env.assert_no_problems();
}
