//! Delivery lanes (API.md Part two): each integration's orders reach its POS in the order they
//! were placed, a hung POS holds only its own lane's slots, a lane never has more than
//! `--lane-concurrency` pushes in flight, and `kill -9` with every lane busy delivers each order
//! once.

use std::time::Duration;

use serde_json::{Value, json};

use crate::common;
use crate::sync_support::{order_one, square_business};
use common::Client;
use common::crash::Crash;
use common::hung_pos::HungPos;
use common::mock_dine::{HOTEL_ID, WEBHOOK_SECRET};
use common::mock_square::{Fault, MockSquare};
use common::provider_env::{DISH, ProviderEnv, SQ_TOKEN, assert_no_problems, mock_orders_for};
use common::wait::{PATIENCE, wait_for, wait_until};

/// A second business of the seller, with the dish, connected to Square; (business, dish).
fn square_lane(client: &Client, token: &str, name: &str) -> (String, String) {
    let business = client.business(token, name);
    let dish = client.dish(token, &business, DISH, 30000);
    client.connect_square(token, &business, SQ_TOKEN);
    (business, dish)
}

/// A business of the seller connected to Dine POS (pointed at the hung POS); (business, dish).
fn dine_lane(client: &Client, token: &str) -> (String, String) {
    let business = client.business(token, "Hung Hall");
    let dish = client.dish(token, &business, DISH, 30000);
    client
        .post(
            "/api/v1/pos/connect",
            Some(token),
            json!({
                "business_id": business,
                "provider": "dine",
                "access_token": WEBHOOK_SECRET,
                "location_id": HOTEL_ID,
            }),
        )
        .expect(200);
    (business, dish)
}

/// The latest sync log's status of an order.
fn status_of(client: &Client, token: &str, order_id: &str) -> String {
    let resp = client.get(&format!("/api/v1/orders/{order_id}"), Some(token));
    resp.expect(200);
    resp.data()["sync_log"]["status"]
        .as_str()
        .unwrap_or("none")
        .to_string()
}

/// The `reference_id`s of the mock's orders, in the order Square created them.
fn created_at_square(mock: &MockSquare) -> Vec<String> {
    mock.orders()
        .iter()
        .map(|o| o["reference_id"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// Assert that, restricted to each lane's orders, Square created them in the order placed.
fn assert_in_order_per_lane(created: &[String], lanes: &[Vec<String>]) {
    for placed in lanes {
        let seen: Vec<&String> = created.iter().filter(|r| placed.contains(r)).collect();
        let want: Vec<&String> = placed.iter().collect();
        assert_eq!(seen, want, "one lane's orders, as Square created them");
    }
}

#[test]
fn each_lane_delivers_in_the_order_orders_were_placed_whatever_the_pos_latency() {
    const LANES: usize = 3;
    const PER_LANE: usize = 6;
    let env = ProviderEnv::square(&["--sync-workers", "6"]);
    // Every push is answered after a pseudo-random 0–60 ms (Square has made the order when the
    // request arrives), so pushes that overtook one another would show.
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    for _ in 0..LANES * PER_LANE {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        env.mock
            .push_fault(Fault::TimeoutAfterCommit(Duration::from_millis(seed % 61)));
    }
    let client: &Client = &env.app;
    let mut lanes = vec![(env.business.clone(), env.dish.clone())];
    for n in 1..LANES {
        lanes.push(square_lane(client, &env.token, &format!("Branch {n}")));
    }
    let mut placed: Vec<Vec<String>> = vec![Vec::new(); LANES];
    for _ in 0..PER_LANE {
        for (n, (business, dish)) in lanes.iter().enumerate() {
            placed[n].push(order_one(client, &env.token, business, dish));
        }
    }
    for id in placed.iter().flatten() {
        env.wait_status(id, "success");
    }
    let created = created_at_square(&env.mock);
    assert_eq!(created.len(), LANES * PER_LANE, "{created:?}");
    assert_in_order_per_lane(&created, &placed);
    // Within a lane each push began after the one before it had ended; lanes ran side by side.
    let spans: Vec<Vec<(i64, i64)>> = placed
        .iter()
        .map(|ids| ids.iter().map(|id| push_span(&env, id)).collect())
        .collect();
    for lane in &spans {
        for pair in lane.windows(2) {
            assert!(
                pair[1].0 >= pair[0].1,
                "pushes of one lane overlapped: {lane:?}"
            );
        }
    }
    let overlapped_across_lanes = spans.iter().enumerate().any(|(n, lane)| {
        spans[n + 1..]
            .iter()
            .flatten()
            .any(|b| lane.iter().any(|a| a.0 < b.1 && b.0 < a.1))
    });
    assert!(
        overlapped_across_lanes,
        "lanes did not run side by side: {spans:?}"
    );
    env.assert_no_problems();
}

/// When the order's only push (its CreateOrder, then its CreatePayment) started and ended
/// (ms since the epoch).
fn push_span(env: &ProviderEnv<MockSquare>, order_id: &str) -> (i64, i64) {
    let log = env.log(order_id);
    let attempts = env.attempts(log["id"].as_str().unwrap());
    assert_eq!(attempts.len(), 2, "{attempts:#?}");
    let at = |a: &Value| -> i64 {
        let t: jiff::Timestamp = a["started_at"].as_str().unwrap().parse().unwrap();
        t.as_millisecond()
    };
    let last = &attempts[1];
    (
        at(&attempts[0]),
        at(last) + last["duration_ms"].as_i64().unwrap(),
    )
}

/// `--provider-timeout` for the hung-POS tests: a push to the hung POS must still hang when the
/// test looks (with a shorter one, a loaded machine could see it time out and retried, a second
/// connection); the tests release the POS when done, so nothing waits this long.
const HUNG_FOR: &str = "120s";

#[test]
fn a_hung_pos_holds_only_its_own_lane_and_other_restaurants_orders_go_through() {
    let hung = HungPos::start();
    let hung_url = hung.base_url();
    let env = ProviderEnv::square(&[
        "--sync-workers",
        "4",
        "--dine-base-url",
        &hung_url,
        "--provider-timeout",
        HUNG_FOR,
    ]);
    let hung = hung; // dropped (released) before the service stops
    let client: &Client = &env.app;
    let (dine, dine_dish) = dine_lane(client, &env.token);
    let stuck: Vec<String> = (0..6)
        .map(|_| order_one(client, &env.token, &dine, &dine_dish))
        .collect();
    wait_until(PATIENCE, "the first Dine push hangs", || hung.open() == 1);
    let flowing: Vec<String> = (0..5).map(|_| env.order()).collect();
    for id in &flowing {
        env.wait_status(id, "success");
    }
    // All of that while the Dine lane's first push still hangs and the rest wait behind it:
    // with "the oldest due log anywhere" the four workers would all have sat on Dine.
    let statuses: Vec<String> = stuck
        .iter()
        .map(|id| status_of(client, &env.token, id))
        .collect();
    assert_eq!(statuses[0], "syncing", "{statuses:?}");
    assert!(statuses[1..].iter().all(|s| s == "pending"), "{statuses:?}");
    assert_eq!(
        (hung.accepted(), hung.most_open()),
        (1, 1),
        "one push in flight to the hung POS"
    );
    hung.release();
    env.assert_no_problems();
}

#[test]
fn a_lane_never_has_more_than_lane_concurrency_pushes_in_flight() {
    let hung = HungPos::start();
    let hung_url = hung.base_url();
    let env = ProviderEnv::square(&[
        "--sync-workers",
        "6",
        "--lane-concurrency",
        "2",
        "--dine-base-url",
        &hung_url,
        "--provider-timeout",
        HUNG_FOR,
    ]);
    let hung = hung; // dropped (released) before the service stops
    let client: &Client = &env.app;
    let (dine, dish) = dine_lane(client, &env.token);
    for _ in 0..6 {
        order_one(client, &env.token, &dine, &dish);
    }
    wait_until(PATIENCE, "two Dine pushes hang", || hung.open() == 2);
    // More orders wake the idle workers; none may start a third push to the lane, and they are
    // free for another restaurant's order.
    for _ in 0..3 {
        order_one(client, &env.token, &dine, &dish);
    }
    let other = env.order();
    env.wait_status(&other, "success");
    assert_eq!((hung.accepted(), hung.most_open()), (2, 2));
    hung.release();
}

#[test]
fn killed_with_every_lane_busy_and_restarted_delivers_each_order_once_in_order() {
    const LANES: usize = 3;
    const PER_LANE: usize = 3;
    // The first push of each lane is committed by Square, then its answer hangs past the kill.
    let crash = Crash::new(LANES, &["--sync-workers", "4"]);
    let mock = &crash.mock;
    let serve = crash.serve();
    let client = serve.client();
    let token = client.login_new_seller("owner@spicegarden.in");
    let mut lanes = vec![square_business(&client, &token)];
    for n in 1..LANES {
        lanes.push(square_lane(&client, &token, &format!("Branch {n}")));
    }
    let mut placed: Vec<Vec<String>> = vec![Vec::new(); LANES];
    for _ in 0..PER_LANE {
        for (n, (business, dish)) in lanes.iter().enumerate() {
            placed[n].push(order_one(&client, &token, business, dish));
        }
    }
    // One push in flight per lane.
    crash.wait_in_flight(LANES);
    crash.kill(serve, LANES);

    let serve = crash.serve();
    let client = serve.client();
    for id in placed.iter().flatten() {
        wait_for(PATIENCE, "the order reached Square", || {
            match status_of(&client, &token, id).as_str() {
                "success" => Ok(()),
                other => Err(other.to_string()),
            }
        });
    }
    for id in placed.iter().flatten() {
        assert_eq!(mock_orders_for(mock, id).len(), 1, "order {id} once");
    }
    let created = created_at_square(mock);
    assert_eq!(created.len(), LANES * PER_LANE, "{created:?}");
    assert_in_order_per_lane(&created, &placed);
    // Before the kill each lane had its own first order in flight, not three of one lane's.
    let mut first: Vec<&String> = placed.iter().map(|p| &p[0]).collect();
    let mut before_kill: Vec<&String> = created[..LANES].iter().collect();
    first.sort();
    before_kill.sort();
    assert_eq!(before_kill, first);
    drop(serve);
    assert_no_problems(mock);
}
