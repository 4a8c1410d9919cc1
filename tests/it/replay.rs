//! Bulk replay: after a mapping fix, every failed order is sent again through the lane (never
//! more than its in-flight cap), each reaching the POS exactly once; skipped orders come with a
//! reason; refusals change nothing.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};

use crate::catalog::square_item;
use crate::common::Resp;
use crate::common::mock_square::MockSquare;
use crate::common::open_db_read_only;
use crate::common::provider_env::ProviderEnv;
use crate::common::wait::wait_until;

/// Generous: 200 pushes one after another on a loaded machine.
const DRAIN: Duration = Duration::from_secs(240);

impl<M> ProviderEnv<M> {
    /// `POST /pos/replay` with `filters` (the business added).
    pub fn replay(&self, mut filters: Value) -> Resp {
        filters["business_id"] = json!(self.business);
        self.app
            .post("/api/v1/pos/replay", Some(&self.token), filters)
    }

    /// How many of the business's orders have their latest push in `status`.
    fn orders_in(&self, status: &str) -> i64 {
        let resp = self.app.get(
            &format!(
                "/api/v1/orders?business_id={}&sync_status={status}&limit=1",
                self.business
            ),
            Some(&self.token),
        );
        resp.data()["total"].as_i64().unwrap()
    }
}

/// Every successful push's span (first call's start, last call's end, ms), in start order.
fn push_spans(env: &ProviderEnv<MockSquare>) -> Vec<(i64, i64)> {
    let db = open_db_read_only(&env.app.db_path());
    let mut stmt = db
        .prepare(
            "SELECT min(a.started_at), max(a.started_at + a.duration_ms)
             FROM sync_logs l JOIN sync_attempts a ON a.sync_log_id = l.id
             WHERE l.status = 'success' GROUP BY l.id ORDER BY 1",
        )
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// `orders` orders that Square refused because their dish's variation was replaced (a 400: no
/// retry), in the order placed, and then the mapping fixed.
fn failed_then_mapping_fixed(orders: usize) -> (ProviderEnv<MockSquare>, Vec<String>) {
    let env = ProviderEnv::square(&["--sync-workers", "4"]);
    let dish = |id: &str| square_item("I-PBM", "Paneer Butter Masala", &[(id, "Regular", 30000)]);
    env.mock.set_catalog(vec![dish("V-OLD")]);
    env.patch_integration(json!({"item_mapping": {env.dish.clone(): "V-OLD"}}));
    env.mock.set_catalog(vec![dish("V-NEW")]);
    let placed: Vec<String> = (0..orders).map(|_| env.order()).collect();
    wait_until(DRAIN, "every order failed", || {
        env.orders_in("failed") == orders as i64
    });
    assert!(env.mock.orders().is_empty());
    env.patch_integration(json!({"item_mapping": {env.dish.clone(): "V-NEW"}}));
    (env, placed)
}

/// Wait until all `placed` orders are in Square, and check each reached it exactly once, with
/// the fixed mapping.
fn each_delivered_once(env: &ProviderEnv<MockSquare>, placed: &[String]) {
    wait_until(DRAIN, "every order delivered", || {
        env.orders_in("success") == placed.len() as i64
    });
    let mut per_order: BTreeMap<String, usize> = BTreeMap::new();
    for o in env.mock.orders() {
        *per_order
            .entry(o["reference_id"].as_str().unwrap().to_string())
            .or_default() += 1;
        assert_eq!(
            o["line_items"][0]["catalog_object_id"], "V-NEW",
            "the fixed mapping"
        );
    }
    assert_eq!(
        per_order.len(),
        placed.len(),
        "every failed order reached Square"
    );
    assert!(
        per_order.values().all(|n| *n == 1),
        "each exactly once: {per_order:?}"
    );
    assert!(placed.iter().all(|id| per_order.contains_key(id)));
}

#[test]
fn a_replay_after_a_mapping_fix_delivers_each_failed_order_once_through_the_lane() {
    const ORDERS: usize = 200;
    let (env, placed) = failed_then_mapping_fixed(ORDERS);
    let resp = env.replay(json!({}));
    resp.expect(202);
    assert_eq!(resp.body["message"], "200 failed orders queued again");
    assert_eq!(resp.data()["queued"], ORDERS);
    assert_eq!(resp.data()["skipped"], json!([]));
    // A second replay at once queues nothing: no latest push is failed any more, and each
    // order named is on its way (or there) already.
    let again = env.replay(json!({}));
    assert_eq!(again.data()["queued"], 0);
    assert_eq!(again.data()["skipped"], json!([]));
    let named = env.replay(json!({"order_ids": placed}));
    assert_eq!(named.data()["queued"], 0);
    let skipped = named.data()["skipped"].as_array().unwrap();
    assert_eq!(skipped.len(), ORDERS);
    assert!(
        skipped.iter().all(|s| {
            let r = s["reason"].as_str().unwrap();
            r.starts_with("its push is already on its way")
                || r == "the order is already in the POS"
        }),
        "{skipped:?}"
    );

    each_delivered_once(&env, &placed);
    // Four workers, one lane of in-flight cap 1: each push began after the one before ended.
    let spans = push_spans(&env);
    assert_eq!(spans.len(), ORDERS);
    for pair in spans.windows(2) {
        assert!(pair[1].0 >= pair[0].1, "pushes overlapped: {pair:?}");
    }
    assert_eq!(
        env.stats()["failed_syncs"],
        200,
        "the first pushes stay failed"
    );
}

#[test]
fn a_replay_says_why_it_skipped_and_refuses_bad_filters() {
    let env = ProviderEnv::square(&[]);
    env.mock.set_catalog(vec![square_item(
        "I-PBM",
        "Paneer Butter Masala",
        &[("V-OLD", "Regular", 30000)],
    )]);
    env.patch_integration(json!({"item_mapping": {env.dish.clone(): "V-OLD"}}));
    env.mock.set_catalog(vec![]);
    let (failed, fixed) = (env.order(), env.order());
    env.wait_status(&failed, "failed");
    env.wait_status(&fixed, "failed");
    env.mock.set_catalog(vec![square_item(
        "I-PBM",
        "Paneer Butter Masala",
        &[("V-NEW", "Regular", 30000)],
    )]);
    env.patch_integration(json!({"item_mapping": {env.dish.clone(): "V-NEW"}}));
    // One is sent again by hand before the replay.
    env.sync(&fixed, "").expect(202);
    env.wait_status(&fixed, "success");
    env.patch_integration(json!({"auto_sync_orders": false}));
    let never = env.order();

    let before = env.app.snapshot();
    let unknown = "0193a1b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b";
    let too_many: Vec<String> = (0..501).map(|_| unknown.to_string()).collect();
    for (filters, field) in [
        (json!({"order_ids": too_many}), "order_ids"),
        (json!({"order_ids": []}), "order_ids"),
        (
            json!({"since": "2026-12-01T10:00:00Z", "until": "2026-12-01T09:00:00Z"}),
            "until",
        ),
        (json!({"since": "yesterday"}), "since"),
        (json!({"error_contains": "  "}), "error_contains"),
        (json!({"error_contains": "x".repeat(201)}), "error_contains"),
        (json!({"error_contains": "a\u{0}b"}), "error_contains"),
        (json!({"limit": 0}), "limit"),
        (json!({"limit": 501}), "limit"),
        (json!({"limit": "all"}), "limit"),
    ] {
        let message = env
            .replay(filters.clone())
            .expect_error(400, "VALIDATION_ERROR");
        assert!(message.contains(field), "{filters}: {message}");
    }
    assert_eq!(env.app.snapshot(), before, "refusals change nothing");

    let resp = env.replay(json!({"order_ids": [failed, fixed, never, unknown, failed],
                                 "error_contains": "not found"}));
    resp.expect(202);
    assert_eq!(resp.data()["queued"], 1, "{}", resp.text);
    let reasons: Vec<(Value, Value)> = resp.data()["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["order_id"].clone(), s["reason"].clone()))
        .collect();
    assert_eq!(
        reasons,
        [
            (json!(fixed), json!("the order is already in the POS")),
            (
                json!(never),
                json!("it was never pushed; push it with POST /api/v1/pos/sync/{orderId}")
            ),
            (json!(unknown), json!("not an order of this business")),
        ]
    );
    env.wait_status(&failed, "success");
    assert_eq!(env.mock_orders_for(&failed).len(), 1);
    // The error did not match: nothing queued.
    let other = env.replay(json!({"error_contains": "timeout"}));
    assert_eq!(other.data()["queued"], 0);
    assert_eq!(other.body["message"], "No failed order to send again");

    // A foreign business is not found; without an active integration, 409.
    let stranger = env.app.login_new_seller("someone@else.in");
    env.app
        .post(
            "/api/v1/pos/replay",
            Some(&stranger),
            json!({"business_id": env.business}),
        )
        .expect_error(404, "NOT_FOUND");
    env.disconnect();
    env.replay(json!({})).expect_error(409, "CONFLICT");
}

#[test]
fn a_replay_over_500_orders_is_refused_whole_and_limit_sends_them_in_batches() {
    const ORDERS: usize = 501;
    let (env, placed) = failed_then_mapping_fixed(ORDERS);

    // One over the most a replay sends: refused whole, with what to do instead.
    let before = env.app.snapshot();
    for filters in [json!({}), json!({"since": "2026-01-01T00:00:00Z"})] {
        let message = env
            .replay(filters.clone())
            .expect_error(400, "VALIDATION_ERROR");
        for words in [
            "more than 500 failed orders match (501 failed in the window)",
            "nothing was queued",
            "\"limit\": 500",
        ] {
            assert!(message.contains(words), "{filters}: {message}");
        }
    }
    assert_eq!(env.app.snapshot(), before, "the refusal queued nothing");

    // With a limit: the oldest 500 now, and the answer says more remain.
    let first = env.replay(json!({"limit": 500}));
    first.expect(202);
    assert_eq!(first.data()["queued"], 500, "{}", first.text);
    assert_eq!(first.data()["more"], true);
    assert_eq!(
        first.body["message"],
        "500 failed orders queued again; more remain: replay again to send the next ones"
    );
    assert_eq!(env.orders_in("failed"), 1, "one left for the next batch");
    // Oldest failure first: the one left is the last order, the last to have failed (one push
    // at a time in the lane).
    assert_eq!(env.log(&placed[ORDERS - 1])["status"], "failed");
    let second = env.replay(json!({"limit": 500}));
    assert_eq!(second.data()["queued"], 1, "{}", second.text);
    assert_eq!(second.data()["more"], false);
    assert_eq!(second.body["message"], "1 failed order queued again");
    let third = env.replay(json!({"limit": 500}));
    assert_eq!(third.data()["queued"], 0);
    assert_eq!(third.data()["more"], false);

    each_delivered_once(&env, &placed);
}
