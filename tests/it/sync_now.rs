//! "Sync now" on an order waiting to retry: due at once, except while the POS asked possync
//! to wait (a 429 pause).

use jiff::{SignedDuration, Timestamp};
use serde_json::json;

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
    assert_eq!(
        resp.data()["dispatch"],
        json!({"state": "now", "at": null,
               "message": "It goes to the POS now, after any earlier orders of this business still queued."})
    );
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
    // The answer says so, and when it goes: not "now".
    let dispatch = &resp.data()["dispatch"];
    assert_eq!(dispatch["state"], "paused", "{dispatch}");
    assert_eq!(dispatch["at"], waiting["next_retry_at"]);
    let at = waiting["next_retry_at"].as_str().unwrap();
    assert_eq!(
        dispatch["message"],
        format!(
            "The POS asked possync to wait (HTTP 429, too many requests): it goes at {at}, not before."
        )
    );
    // A new order's push waits for the same pause, and sync now on it says the same.
    let next = env.order();
    let resp = env.sync(&next, "");
    resp.expect(202);
    assert_eq!(resp.data()["syncLog"]["status"], "pending");
    assert_eq!(resp.data()["dispatch"]["state"], "paused");
    assert_eq!(resp.data()["dispatch"]["at"], waiting["next_retry_at"]);
}

#[test]
fn sync_now_while_the_circuit_is_open_says_the_order_is_held_until_the_pos_answers() {
    let env = ProviderEnv::square(&["--breaker-after", "1", "--retry-interval", "1h"]);
    env.mock.push_fault(Fault::Status(503));
    let order = env.order();
    env.wait_log(&order, "retry");
    let health = &env.integration()["health"];
    assert_eq!(health["state"], "circuit_open", "{health}");

    let resp = env.sync(&order, "");
    resp.expect(202);
    let dispatch = &resp.data()["dispatch"];
    assert_eq!(dispatch["state"], "held", "{dispatch}");
    // The next probe, a retry interval after the failure: an hour away, not now.
    let at: Timestamp = dispatch["at"].as_str().unwrap().parse().unwrap();
    let probe_in = at.duration_since(Timestamp::now());
    assert!(probe_in > SignedDuration::from_mins(55), "{dispatch}");
    let message = dispatch["message"].as_str().unwrap();
    assert!(
        message.starts_with("The POS has been unreachable since ")
            && message.contains("its orders are held and go in order when it answers again")
            && message.contains(dispatch["at"].as_str().unwrap()),
        "{message}"
    );
    // Held, as it said: nothing more went to Square.
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_eq!(
        env.mock.create_order_requests().len(),
        1,
        "only the push that got no answer"
    );
    assert_eq!(env.log(&order)["status"], "retry");
}
