//! Sync history, stats and the audit trail as the seller reads them, also with many rows.

use crate::common;

use std::time::Instant;

use common::TestApp;
use common::mock_square::Fault;
use common::mock_square::MockSquare;
use common::provider_env::{ProviderEnv, assert_no_problems, mock_orders_for, square_flags};
use common::wait::{PATIENCE, wait_for};
use serde_json::{Value, json};

type Env = ProviderEnv<MockSquare>;

fn ids(logs: &Value) -> Vec<String> {
    logs.as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_str().unwrap().to_string())
        .collect()
}

/// Five delivered orders; their log ids, oldest first.
fn five_delivered(env: &Env) -> Vec<String> {
    (0..5)
        .map(|_| {
            let order_id = env.order();
            env.wait_status(&order_id, "success")["id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

#[test]
fn history_pages_newest_first_with_the_total() {
    let env = ProviderEnv::square(&[]);
    let empty = env.history("");
    empty.expect(200);
    assert_eq!(
        *empty.data(),
        json!({"logs": [], "total": 0, "limit": 50, "offset": 0})
    );

    let mut oldest_first = five_delivered(&env);
    oldest_first.reverse();
    let newest_first = oldest_first;

    let mut seen = Vec::new();
    for (offset, want) in [(0, 2), (2, 2), (4, 1), (5, 0), (9, 0)] {
        let resp = env.history(&format!("limit=2&offset={offset}"));
        resp.expect(200);
        let data = resp.data();
        assert_eq!(data["total"], 5, "offset {offset}");
        assert_eq!(data["limit"], 2);
        assert_eq!(data["offset"], offset);
        let page = ids(&data["logs"]);
        assert_eq!(page.len(), want, "offset {offset}: {data}");
        seen.extend(page);
    }
    assert_eq!(seen, newest_first, "pages are newest first, without gaps");

    let all = env.history("");
    assert_eq!(ids(&all.data()["logs"]), newest_first);
    assert_eq!(all.data()["limit"], 50, "the default limit");
    let log = &all.data()["logs"][0];
    for field in [
        "id",
        "order_id",
        "business_id",
        "provider",
        "status",
        "pos_order_id",
        "retry_count",
        "max_retries",
        "next_retry_at",
        "error_message",
        "duration_ms",
        "completed_at",
        "created_at",
    ] {
        assert!(log.get(field).is_some(), "a log has {field}: {log}");
    }
    assert_eq!(log["business_id"], json!(env.business));
    assert_eq!(log["provider"], "square");

    for bad in [
        "limit=0",
        "limit=201",
        "offset=-1",
        "limit=abc",
        "status=done",
        "status=SUCCESS",
    ] {
        env.history(bad).expect_error(400, "VALIDATION_ERROR");
    }
    let message = env
        .history("status=done")
        .expect_error(400, "VALIDATION_ERROR");
    assert!(
        message.contains("status"),
        "the message names the field: {message}"
    );
    env.assert_no_problems();
}

#[test]
fn history_filters_by_status_and_stats_follow_the_formula() {
    let env = ProviderEnv::square(&["--retry-interval", "1h"]);
    let zero = env.stats();
    assert_eq!(
        zero,
        json!({"total_syncs": 0, "successful_syncs": 0, "failed_syncs": 0,
               "pending_retries": 0, "success_rate": 0.0,
               "cancellations": {"total": 0, "successful": 0, "failed": 0}})
    );

    let reject = || {
        Some(Fault::BadRequest {
            code: "INVALID_VALUE".into(),
            detail: "Nope.".into(),
            field: None,
        })
    };
    // (what Square answers, the log's status, then total, successful, failed, retry, rate)
    let mut logs: Vec<(String, &str)> = Vec::new();
    let steps: Vec<(Option<Fault>, &str, Value)> = vec![
        (None, "success", json!([1, 1, 0, 0, 100.0])),
        (reject(), "failed", json!([2, 1, 1, 0, 50.0])),
        (None, "success", json!([3, 2, 1, 0, 66.7])),
        (Some(Fault::Status(503)), "retry", json!([4, 2, 1, 1, 50.0])),
        (reject(), "failed", json!([5, 2, 2, 1, 40.0])),
        (None, "success", json!([6, 3, 2, 1, 50.0])),
        (None, "success", json!([7, 4, 2, 1, 57.1])),
    ];
    for (i, (fault, status, want)) in steps.into_iter().enumerate() {
        if let Some(fault) = fault {
            env.mock.push_fault(fault);
        }
        let order_id = env.order();
        let log = env.wait_status(&order_id, status);
        logs.push((log["id"].as_str().unwrap().to_string(), status));
        let stats = env.stats();
        let got = json!([
            stats["total_syncs"],
            stats["successful_syncs"],
            stats["failed_syncs"],
            stats["pending_retries"],
            stats["success_rate"]
        ]);
        assert_eq!(got, want, "stats after log {} ({status}): {stats}", i + 1);
    }

    for status in ["success", "failed", "retry", "pending", "syncing"] {
        let resp = env.history(&format!("status={status}"));
        resp.expect(200);
        let want: Vec<String> = logs
            .iter()
            .rev()
            .filter(|(_, s)| *s == status)
            .map(|(id, _)| id.clone())
            .collect();
        assert_eq!(ids(&resp.data()["logs"]), want, "status={status}");
        assert_eq!(resp.data()["total"], json!(want.len()), "status={status}");
        for log in resp.data()["logs"].as_array().unwrap() {
            assert_eq!(log["status"], status);
        }
    }
    // Filter and paging together.
    let resp = env.history("status=success&limit=1&offset=1");
    resp.expect(200);
    assert_eq!(resp.data()["total"], 4);
    assert_eq!(ids(&resp.data()["logs"]), vec![logs[5].0.clone()]);

    let total = env.history("");
    assert_eq!(total.data()["total"], 7);
    env.assert_no_problems();
}

#[test]
fn another_seller_gets_404_for_history_stats_attempts_and_preview() {
    let env = ProviderEnv::square(&[]);
    let order_id = env.order();
    let log = env.wait_status(&order_id, "success");
    let log_id = log["id"].as_str().unwrap();
    assert_eq!(env.attempts(log_id).len(), 2, "the order and its payment");

    let stranger = env.app.login_new_seller("stranger@elsewhere.in");
    let b = &env.business;
    for path in [
        format!("/api/v1/pos/history/{b}"),
        format!("/api/v1/pos/history/{b}?status=success"),
        format!("/api/v1/pos/stats/{b}"),
        format!("/api/v1/pos/sync-logs/{log_id}/attempts"),
        format!("/api/v1/pos/preview/{order_id}"),
        format!("/api/v1/pos/integration/{b}"),
    ] {
        env.app
            .get(&path, Some(&stranger))
            .expect_error(404, "NOT_FOUND");
        env.app.get(&path, None).expect_error(401, "UNAUTHORIZED");
    }
    // Unknown ids are 404 too; a malformed one is a 400.
    let unknown = "0193a1b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b";
    for path in [
        format!("/api/v1/pos/history/{unknown}"),
        format!("/api/v1/pos/stats/{unknown}"),
        format!("/api/v1/pos/sync-logs/{unknown}/attempts"),
        format!("/api/v1/pos/preview/{unknown}"),
    ] {
        env.app
            .get(&path, Some(&env.token))
            .expect_error(404, "NOT_FOUND");
    }
    env.app
        .get("/api/v1/pos/stats/not-a-uuid", Some(&env.token))
        .expect_error(400, "VALIDATION_ERROR");
    env.assert_no_problems();
}

#[test]
fn stats_and_history_stay_fast_with_many_rows() {
    const ROWS: usize = 200_000;
    let env = ProviderEnv::square(&[]);
    let order_id = env.order();
    let real = env.wait_status(&order_id, "success");
    let integration_id = env.integration()["id"].as_str().unwrap().to_string();
    let Env {
        mock,
        app,
        token,
        business,
        dish,
    } = env;
    let dir = app.stop();

    // Old logs, straight into the stopped service's database: half delivered, a quarter failed,
    // a quarter waiting for a retry far in the future.
    let started = Instant::now();
    let mut db = rusqlite::Connection::open(dir.path().join("possync.db")).unwrap();
    let tx = db.transaction().unwrap();
    let inserted = tx
        .execute(
            "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?1)
             INSERT INTO sync_logs (id, order_id, business_id, integration_id, provider, status,
                pos_order_id, retry_count, max_retries, next_retry_at, error_message, duration_ms,
                completed_at, created_at)
             SELECT printf('00000000-0000-7000-8000-%012x', i), ?2, ?3, ?4, 'square',
                CASE i % 4 WHEN 2 THEN 'failed' WHEN 3 THEN 'retry' ELSE 'success' END,
                CASE WHEN i % 4 < 2 THEN 'SQ' || i END,
                CASE i % 4 WHEN 3 THEN 1 ELSE 0 END,
                12,
                CASE i % 4 WHEN 3 THEN 4000000000000 END,
                CASE i % 4 WHEN 2 THEN 'Square answered HTTP 400'
                           WHEN 3 THEN 'Square answered HTTP 503' END,
                120,
                CASE WHEN i % 4 < 3 THEN ?5 + i * 1000 END,
                ?5 + i * 1000
             FROM n",
            rusqlite::params![
                ROWS as i64,
                order_id,
                business,
                integration_id,
                1_600_000_000_000_i64
            ],
        )
        .unwrap();
    assert_eq!(inserted, ROWS);
    tx.commit().unwrap();
    drop(db);
    println!(
        "inserted {ROWS} sync logs in {} ms",
        started.elapsed().as_millis()
    );

    let flags = square_flags(&mock, &[]);
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let app = TestApp::start_in(dir, &flags);
    let timed = |what: &str, path: &str| {
        let started = Instant::now();
        let resp = app.get(path, Some(&token));
        println!(
            "{what}: {} ms over {} logs",
            started.elapsed().as_millis(),
            ROWS + 1
        );
        resp.expect(200);
        resp.data().clone()
    };
    let b = &business;
    let stats = timed("GET stats", &format!("/api/v1/pos/stats/{b}"))["stats"].clone();
    let (success, failed, retry) = (ROWS / 2 + 1, ROWS / 4, ROWS / 4);
    assert_eq!(
        stats,
        json!({"total_syncs": ROWS + 1, "successful_syncs": success, "failed_syncs": failed,
               "pending_retries": retry, "success_rate": 50.0,
               "cancellations": {"total": 0, "successful": 0, "failed": 0}})
    );
    let first = timed("GET history", &format!("/api/v1/pos/history/{b}?limit=50"));
    assert_eq!(first["total"], json!(ROWS + 1));
    assert_eq!(first["logs"].as_array().unwrap().len(), 50);
    assert_eq!(
        first["logs"][0]["id"], real["id"],
        "the real log is the newest"
    );
    let failed_page = timed(
        "GET history?status=failed",
        &format!("/api/v1/pos/history/{b}?status=failed&limit=50"),
    );
    assert_eq!(failed_page["total"], json!(failed));
    assert!(
        failed_page["logs"]
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l["status"] == "failed")
    );
    let last = timed(
        "GET history, last page",
        &format!("/api/v1/pos/history/{b}?limit=50&offset={}", ROWS - 49),
    );
    assert_eq!(last["logs"].as_array().unwrap().len(), 50);
    let retry_page = timed(
        "GET history?status=retry, deep offset",
        &format!(
            "/api/v1/pos/history/{b}?status=retry&limit=10&offset={}",
            retry - 5
        ),
    );
    assert_eq!(retry_page["total"], json!(retry));
    assert_eq!(retry_page["logs"].as_array().unwrap().len(), 5);

    // The outbox still delivers a new order promptly with 50 000 retries queued for later.
    let data = app.order(&token, &business, &dish, 1);
    let new_order = data["order"]["id"].as_str().unwrap().to_string();
    let started = Instant::now();
    wait_for(PATIENCE, "the new order is delivered", || {
        let resp = app.get(&format!("/api/v1/orders/{new_order}"), Some(&token));
        let log = resp.data()["sync_log"].clone();
        if log["status"] == "success" {
            Ok(())
        } else {
            Err(log.to_string())
        }
    });
    println!(
        "a new order was delivered in {} ms beside {} queued retries",
        started.elapsed().as_millis(),
        retry
    );
    let stats = app.get(&format!("/api/v1/pos/stats/{b}"), Some(&token));
    assert_eq!(stats.data()["stats"]["total_syncs"], json!(ROWS + 2));
    assert_eq!(
        stats.data()["stats"]["successful_syncs"],
        json!(success + 1)
    );
    assert_eq!(mock_orders_for(&mock, &new_order).len(), 1);
    assert_no_problems(&mock);
}
