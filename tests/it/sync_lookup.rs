//! Advice that does not cause duplicates (issue 17 item 14): before a Square log gives up after
//! pushes that got no answer, possync looks the order up; the failure notification after such
//! pushes says to check the POS first.

use crate::common;

use std::time::Duration;

use common::mock_square::{Fault, MockSquare};
use common::provider_env::ProviderEnv;
use common::wait::{PATIENCE, wait_until};

type Env = ProviderEnv<MockSquare>;

/// Square answers slower than possync waits: every push times out.
fn timing_out(fault: fn(Duration) -> Fault) -> Env {
    let env = ProviderEnv::square(&["--max-retries", "1", "--provider-timeout", "300ms"]);
    for _ in 0..2 {
        env.mock.push_fault(fault(Duration::from_millis(900)));
    }
    env
}

fn searches(env: &Env) -> usize {
    env.mock
        .requests()
        .iter()
        .filter(|r| r.path == "/v2/orders/search")
        .count()
}

#[test]
fn pushes_that_timed_out_but_reached_square_end_in_success_without_a_duplicate() {
    let env = timing_out(Fault::TimeoutAfterCommit);
    let order_id = env.order();
    let log = env.wait_status(&order_id, "success");

    let held = env.mock_orders_for(&order_id);
    assert_eq!(held.len(), 1, "one order in Square: {held:#?}");
    assert_eq!(log["pos_order_id"], held[0]["id"], "{log}");
    assert_eq!(env.requests_for(&order_id).len(), 2, "two pushes, no third");
    assert_eq!(searches(&env), 1);
    let kinds: Vec<String> = env
        .business_notifications()
        .iter()
        .map(|n| n["kind"].as_str().unwrap_or_default().to_string())
        .collect();
    assert!(!kinds.contains(&"sync_failed".to_string()), "{kinds:?}");
    env.assert_no_problems();
}

#[test]
fn pushes_that_timed_out_and_are_not_in_square_fail_with_check_the_pos_first() {
    let env = timing_out(Fault::TimeoutBeforeCommit);
    let order_id = env.order();
    env.wait_status(&order_id, "failed");
    assert!(env.mock_orders_for(&order_id).is_empty());
    assert_eq!(searches(&env), 1, "looked before giving up");

    let mut failed = Vec::new();
    wait_until(PATIENCE, "the sync_failed notification", || {
        failed = env
            .business_notifications()
            .into_iter()
            .filter(|n| n["kind"] == "sync_failed")
            .collect();
        !failed.is_empty()
    });
    let message = failed[0]["message"].as_str().unwrap();
    assert!(message.contains("Check the POS first"), "{message}");
    assert!(message.contains(&order_id), "{message}");
    let check = message.find("Check the POS first").unwrap();
    let by_hand = message.find("by hand").unwrap();
    assert!(check < by_hand, "checking comes before entering: {message}");
    assert!(message.contains("only if it is not there"), "{message}");
    env.assert_no_problems();
}
