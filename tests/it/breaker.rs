//! A lane's circuit breaker (API.md Part two, "Delivery lanes"): after `--breaker-after`
//! attempts in a row without an answer the lane opens, holds its logs (no attempt, retry count
//! unchanged), probes once per retry interval, tells the seller once, shows `circuit_open` in
//! `health` and `possync_lane_circuit_open`; a probe that gets an answer closes it and the held
//! logs drain in order; held logs past the guide's window fail as "POS unreachable since …".

use serde_json::{Value, json};

use crate::common;
use common::mock_square::{Fault, MockSquare};
use common::provider_env::ProviderEnv;
use common::wait::{PATIENCE, wait_for, wait_until};

/// Kinds of the business's notifications.
fn kinds(env: &ProviderEnv<MockSquare>) -> Vec<String> {
    env.business_notifications()
        .iter()
        .map(|n| n["kind"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn metrics(env: &ProviderEnv<MockSquare>) -> String {
    env.app.get("/metrics", None).text
}

#[test]
fn an_open_lane_holds_its_orders_probes_once_per_interval_and_drains_in_order_when_the_pos_answers()
{
    const ORDERS: usize = 8;
    // Three 503s open the lane; five failed probes keep it open a few seconds.
    const FAILURES: usize = 3 + 5;
    let env = ProviderEnv::square(&[
        "--breaker-after",
        "3",
        "--retry-interval",
        "700ms",
        "--sync-workers",
        "4",
    ]);
    assert_eq!(env.integration()["health"]["state"], "ok");
    for _ in 0..FAILURES {
        env.mock.push_fault(Fault::Status(503));
    }
    let placed: Vec<String> = (0..ORDERS).map(|_| env.order()).collect();
    let health = wait_for(PATIENCE, "the lane's circuit opens", || {
        let health = env.integration()["health"].clone();
        if health["state"] == "circuit_open" {
            Ok(health)
        } else {
            Err(health.to_string())
        }
    });
    assert!(
        health["consecutive_failures"].as_i64().unwrap() >= 3,
        "{health}"
    );
    assert!(
        health["queue"]["held"].as_i64().unwrap() >= (ORDERS - 3) as i64,
        "{health}"
    );
    assert!(metrics(&env).contains("possync_lane_circuit_open 1"));
    // The orders behind the three that opened it were never attempted while it was open.
    for id in &placed[3..] {
        let log = env.log(id);
        assert_eq!(log["retry_count"], json!(0), "{log}");
        assert!(
            env.attempts(log["id"].as_str().unwrap()).is_empty(),
            "{log}"
        );
    }

    for id in &placed {
        env.wait_status(id, "success");
    }
    // Every request the POS saw: the three that opened the lane, one probe at a time until one
    // was answered, then each order once.
    let requests = env.mock.create_order_requests();
    assert_eq!(requests.len(), FAILURES + ORDERS, "one probe per interval");
    for id in &placed[3..] {
        let log = env.log(id);
        assert_eq!(
            log["retry_count"],
            json!(0),
            "a held log keeps its budget: {log}"
        );
        // One attempt per step: CreateOrder, then CreatePayment.
        let attempts = env.attempts_were(&log, &[(json!(200), "success"), (json!(200), "success")]);
        let steps: Vec<&Value> = attempts.iter().map(|a| &a["step"]).collect();
        assert_eq!(
            steps,
            [&json!("create_order"), &json!("record_payment")],
            "{log}"
        );
    }
    let created: Vec<Value> = env
        .mock
        .orders()
        .iter()
        .map(|o| o["reference_id"].clone())
        .collect();
    let want: Vec<Value> = placed.iter().map(|id| json!(id)).collect();
    assert_eq!(created, want, "drained in the order placed");
    let health = env.integration()["health"].clone();
    assert_eq!(health["state"], "ok", "{health}");
    assert_eq!(health["queue"]["held"], json!(0));
    assert!(metrics(&env).contains("possync_lane_circuit_open 0"));
    let unreachable = kinds(&env)
        .iter()
        .filter(|k| *k == "pos_unreachable")
        .count();
    assert_eq!(unreachable, 1, "the seller is told once per opening");
    env.assert_no_problems();
}

#[test]
fn held_orders_fail_once_the_window_has_passed_with_pos_unreachable_since() {
    // Window: 3 retries × 400 ms. The POS answers nothing but 503s.
    let env = ProviderEnv::square(&[
        "--breaker-after",
        "2",
        "--retry-interval",
        "400ms",
        "--max-retries",
        "3",
        "--notify-cap-per-hour",
        "50",
    ]);
    for _ in 0..100 {
        env.mock.push_fault(Fault::Status(503));
    }
    let started = std::time::Instant::now();
    let placed: Vec<String> = (0..5).map(|_| env.order()).collect();
    for id in &placed {
        env.wait_status(id, "failed");
    }
    let elapsed = started.elapsed();
    // The newest were held from the start and failed at the window's end. A held log that a
    // probe took spent one attempt on it, and nothing else did.
    let mut held = 0;
    for id in &placed {
        let log = env.log(id);
        let error = log["error_message"].as_str().unwrap_or_default();
        let Some(since) = error.strip_prefix("POS unreachable since ") else {
            continue;
        };
        held += 1;
        since.parse::<jiff::Timestamp>().expect("an RFC 3339 time");
        let attempts = env.attempts(log["id"].as_str().unwrap()).len();
        assert_eq!(log["retry_count"], json!(attempts), "{log}");
        // Placed after the lane opened: held from the start, at most one probe spent on it.
        if log["created_at"].as_str().unwrap() > since {
            assert!(attempts <= 1, "{log}");
        }
    }
    assert!(held >= 2, "the newest orders failed as held");
    // Two attempts opened the lane; then at most one probe per 400 ms.
    let probes = (elapsed.as_millis() / 400) as usize + 1;
    let requests = env.mock.create_order_requests().len();
    assert!(requests <= 2 + probes, "{requests} requests in {elapsed:?}");
    wait_until(PATIENCE, "each failure is notified", || {
        kinds(&env).iter().filter(|k| *k == "sync_failed").count() >= placed.len()
    });
    assert_eq!(
        kinds(&env)
            .iter()
            .filter(|k| *k == "pos_unreachable")
            .count(),
        1
    );
}
