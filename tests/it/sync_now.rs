//! "Sync now" on an order waiting to retry: due at once, except while the POS asked possync
//! to wait (a 429 pause).

use jiff::{SignedDuration, Timestamp};

use crate::common::mock_square::Fault;
use crate::common::provider_env::ProviderEnv;

/// How far ahead of now a log's `next_retry_at` lies.
fn due_in(log: &serde_json::Value) -> SignedDuration {
    let due: Timestamp = log["next_retry_at"].as_str().unwrap().parse().unwrap();
    due.duration_since(Timestamp::now())
}

#[test]
fn sync_now_makes_a_retry_due_at_once_with_a_one_hour_retry_interval() {
    let env = ProviderEnv::square(&["--retry-interval", "1h"]);
    env.mock.push_fault(Fault::Status(503));
    let order = env.order();
    let waiting = env.wait_log(&order, "retry");
    assert!(
        due_in(&waiting) > SignedDuration::from_mins(55),
        "{waiting}"
    );

    let resp = env.sync(&order, "");
    resp.expect(202);
    let log = &resp.data()["syncLog"];
    assert_eq!(log["id"], waiting["id"], "the waiting log, not a new one");
    assert!(due_in(log) <= SignedDuration::ZERO, "due now: {log}");
    let done = env.wait_log(&order, "success");
    assert_eq!(done["id"], waiting["id"]);
    assert_eq!(done["retry_count"], 1);
    assert_eq!(env.mock_orders_for(&order).len(), 1);
    env.assert_no_problems();
}

#[test]
fn sync_now_keeps_a_rate_limit_pause() {
    let env = ProviderEnv::square(&["--retry-interval", "1h"]);
    env.mock.push_fault(Fault::RateLimited {
        retry_after: Some("600".into()),
    });
    let order = env.order();
    let waiting = env.wait_log(&order, "retry");
    let paused = due_in(&waiting);
    assert!(paused > SignedDuration::from_mins(5), "{waiting}");

    let resp = env.sync(&order, "");
    resp.expect(202);
    let log = &resp.data()["syncLog"];
    assert_eq!(log["id"], waiting["id"]);
    assert_eq!(
        log["next_retry_at"], waiting["next_retry_at"],
        "Square asked for the wait: it still holds"
    );
    assert_eq!(env.log(&order)["status"], "retry");
}
