//! Crash recovery and the operator's sweep, with the real binary: `kill -9` with orders in
//! flight, and `possync retries run` on a stopped service's data.

use crate::common;
use crate::sync_support;

use std::collections::BTreeSet;
use std::process::Command;
use std::time::Duration;

use common::TestApp;
use common::crash::Crash;
use common::mock_square::{Fault, MockSquare};
use common::provider_env::{SQ_TOKEN, assert_no_problems, mock_orders_for, outcomes, requests_for};
use common::wait::{PATIENCE, wait_for, wait_until};
use serde_json::{Value, json};
use sync_support::{history, order_one, reference_of, square_business};

#[test]
fn killed_with_orders_in_flight_and_restarted_delivers_each_exactly_once() {
    const WORKERS: usize = 3;
    const ORDERS: usize = 7;
    // Square commits each of the first pushes and then sits on the answer: every worker is
    // mid-request when the process dies.
    let crash = Crash::new(
        WORKERS,
        &[
            "--sync-workers",
            "3",
            "--lane-concurrency",
            "3",
            "--provider-timeout",
            "10s",
            "--log",
            "possync=info,warn",
        ],
    );
    let mock = &crash.mock;
    let serve = crash.serve();
    let client = serve.client();
    let token = client.login_new_seller("owner@spicegarden.in");
    let (business, dish) = square_business(&client, &token);
    let order_ids: Vec<String> = (0..ORDERS)
        .map(|_| order_one(&client, &token, &business, &dish))
        .collect();
    crash.wait_in_flight(WORKERS);
    let before = history(&client, &token, &business, "");
    assert_eq!(before["total"], json!(ORDERS));
    let syncing: Vec<String> = before["logs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["status"] == "syncing")
        .map(|l| l["order_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(syncing.len(), WORKERS, "in flight at the kill: {before:#}");
    crash.kill(serve, WORKERS);
    assert_eq!(
        mock.orders().len(),
        WORKERS,
        "Square committed the ones in flight"
    );

    let serve = crash.serve();
    let client = serve.client();
    let history = wait_for(PATIENCE, "every log is success after the restart", || {
        let history = history(&client, &token, &business, "");
        let done = history["logs"]
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l["status"] == "success");
        if done && history["total"] == json!(ORDERS) {
            Ok(history)
        } else {
            Err(history.to_string())
        }
    });

    // Exactly one Square order per possync order.
    let held: Vec<String> = mock
        .orders()
        .iter()
        .map(|o| o["reference_id"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(held.len(), ORDERS, "no order lost, none doubled: {held:?}");
    let want: BTreeSet<String> = order_ids.iter().cloned().collect();
    assert_eq!(held.iter().cloned().collect::<BTreeSet<_>>(), want);
    for id in &order_ids {
        assert_eq!(mock_orders_for(mock, id).len(), 1, "order {id}");
        let requests = requests_for(mock, id);
        for r in &requests {
            assert_eq!(r.body["idempotency_key"], json!(format!("menumaker-{id}")));
        }
        let want_requests = if syncing.contains(id) { 2 } else { 1 };
        assert_eq!(requests.len(), want_requests, "requests for order {id}");
    }
    // The interrupted attempts are on record; each log ends with the mock's order id.
    for log in history["logs"].as_array().unwrap() {
        let order_id = log["order_id"].as_str().unwrap();
        let pos = &mock_orders_for(mock, order_id)[0]["id"];
        assert_eq!(&log["pos_order_id"], pos, "{log}");
        let resp = client.get(
            &format!(
                "/api/v1/pos/sync-logs/{}/attempts",
                log["id"].as_str().unwrap()
            ),
            Some(&token),
        );
        resp.expect(200);
        let attempts = resp.data()["attempts"].as_array().unwrap().clone();
        let got = outcomes(&attempts);
        if syncing.contains(&order_id.to_string()) {
            assert_eq!(
                got,
                vec![
                    (Value::Null, "ambiguous".to_string()),
                    (json!(200), "success".to_string()),
                    (json!(200), "success".to_string()),
                ],
                "order {order_id}"
            );
        } else {
            assert_eq!(
                got,
                vec![
                    (json!(200), "success".to_string()),
                    (json!(200), "success".to_string())
                ]
            );
        }
        let pos = pos.as_str().unwrap();
        assert_eq!(mock.payments_of(pos), 1, "paid once: order {order_id}");
        assert!(mock.is_visible(pos), "order {order_id} is on the POS");
    }
    let references: Vec<String> = mock
        .create_order_requests()
        .iter()
        .map(reference_of)
        .collect();
    assert_eq!(references.len(), ORDERS + WORKERS, "{references:?}");
    drop(serve);
    assert_no_problems(mock);
}

#[test]
fn retries_run_pushes_the_due_logs_of_a_stopped_service_once() {
    let failing = MockSquare::start();
    for _ in 0..3 {
        failing.push_fault(Fault::Status(503));
    }
    let failing_url = failing.base_url();
    let app = TestApp::start_with(&[
        "--square-base-url",
        &failing_url,
        "--sync-workers",
        "1",
        "--retry-interval",
        "2s",
    ]);
    let token = app.login_new_seller("owner@spicegarden.in");
    let business = app.business(&token, "Spice Garden");
    let dish = app.dish(&token, &business, "Paneer Butter Masala", 30000);
    app.connect_square(&token, &business, SQ_TOKEN);
    let order_ids: Vec<String> = (0..3)
        .map(|_| {
            app.order(&token, &business, &dish, 1)["order"]["id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    let latest_due = wait_for(PATIENCE, "all three logs wait for a retry", || {
        let resp = app.get(
            &format!("/api/v1/pos/history/{business}?status=retry"),
            Some(&token),
        );
        let data = resp.data().clone();
        if data["total"] == 3 {
            let due = data["logs"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| {
                    l["next_retry_at"]
                        .as_str()
                        .unwrap()
                        .parse::<jiff::Timestamp>()
                        .unwrap()
                })
                .max()
                .unwrap();
            Ok(due)
        } else {
            Err(data.to_string())
        }
    });
    let dir = app.stop();
    assert_eq!(
        failing.create_order_requests().len(),
        3,
        "one failed attempt per order before the stop"
    );

    // While the service is down the retries fall due.
    wait_until(Duration::from_secs(5), "the retries are due", || {
        jiff::Timestamp::now() > latest_due
    });

    let healthy = MockSquare::start();
    let run = |mock: &MockSquare| {
        let out = Command::new(common::binary())
            .args([
                "retries",
                "run",
                "--data-dir",
                &dir.path().display().to_string(),
                "--square-base-url",
                &mock.base_url(),
                "--retry-interval",
                "2s",
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "possync retries run failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let stdout = run(&healthy);
    assert_eq!(stdout.trim(), "processed 3 due sync logs");
    let delivered: BTreeSet<String> = healthy
        .orders()
        .iter()
        .map(|o| o["reference_id"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(
        delivered,
        order_ids.iter().cloned().collect::<BTreeSet<_>>()
    );
    assert_eq!(healthy.orders().len(), 3);

    // Nothing is due any more.
    assert_eq!(run(&healthy).trim(), "processed 0 due sync logs");
    assert_eq!(healthy.create_order_requests().len(), 3);
    assert_eq!(failing.create_order_requests().len(), 3);

    // The service, started again, shows the outcome.
    let healthy_url = healthy.base_url();
    let app = TestApp::start_in(dir, &["--square-base-url", &healthy_url]);
    let resp = app.get(&format!("/api/v1/pos/history/{business}"), Some(&token));
    resp.expect(200);
    for log in resp.data()["logs"].as_array().unwrap() {
        assert_eq!(log["status"], "success", "{log}");
        assert_eq!(log["retry_count"], 1, "{log}");
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
                (json!(503), "retry".to_string()),
                (json!(200), "success".to_string()),
                (json!(200), "success".to_string()),
            ]
        );
    }
    assert_no_problems(&failing);
    assert_no_problems(&healthy);
}
