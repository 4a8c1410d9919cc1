//! A full disk (issue 17, items 3 and 13), on a real small file system ([`SmallDisk`]):
//! `/readyz` tells the truth, order intake answers 503 with `Retry-After` and stores nothing
//! half-way, a push the POS accepted is recorded as soon as the disk has room (once, well before
//! the lease would have sent it again), and the workers' complaints are rate-limited.

use std::time::{Duration, Instant};

use serde_json::json;
use tempfile::TempDir;

use crate::common::mock_square::{Fault, MockSquare};
use crate::common::provider_env::{ProviderEnv, SELLER_EMAIL, square_flags};
use crate::common::small_disk::SmallDisk;
use crate::common::wait::{PATIENCE, wait_for, wait_until};
use crate::common::{Client, Resp, db_snapshot, snapshot_changes};
use crate::sync_support::{ServeProcess, order_one, square_business};

/// A mock Square and a service whose database lives on `disk`.
fn square_on(disk: &SmallDisk) -> ProviderEnv<MockSquare> {
    let flags = disk.database_flags();
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    ProviderEnv::square(&flags)
}

/// Poll `/readyz` until it answers `status`.
fn readyz_until(client: &Client, status: u16) -> Resp {
    wait_for(PATIENCE, &format!("/readyz answers {status}"), || {
        let resp = client.get("/readyz", None);
        if resp.status == status {
            Ok(resp)
        } else {
            Err(resp.text)
        }
    })
}

#[test]
fn readyz_is_503_while_the_disk_is_full_and_200_once_it_has_room() {
    let disk = SmallDisk::mount(16);
    let env = square_on(&disk);
    env.app.get("/readyz", None).expect(200);
    disk.fill();
    let message = readyz_until(&env.app, 503).expect_error(503, "UNAVAILABLE");
    assert!(message.contains("cannot be written"), "{message}");
    env.app.get("/healthz", None).expect(200);
    disk.free();
    let ready = readyz_until(&env.app, 200);
    assert_eq!(ready.data()["status"], "ready");
}

#[test]
fn an_order_that_cannot_be_stored_is_a_503_with_retry_after_and_leaves_nothing_behind() {
    let disk = SmallDisk::mount(16);
    let env = square_on(&disk);
    let before = db_snapshot(&disk.database());
    disk.fill();
    let body = json!({
        "business_id": env.business,
        "customer_name": "Rahul Kumar",
        "items": [{"dish_id": env.dish, "quantity": 2}],
    });
    let resp = env
        .app
        .post("/api/v1/orders", Some(&env.token), body.clone());
    let message = resp.expect_error(503, "UNAVAILABLE");
    assert_eq!(resp.header("retry-after"), Some("5"), "{:?}", resp.headers);
    assert!(message.contains("nothing was saved"), "{message}");
    disk.free();
    let changed = snapshot_changes(&before, &db_snapshot(&disk.database()));
    assert!(changed.is_empty(), "a refused order left rows: {changed:?}");
    assert!(env.mock.create_order_requests().is_empty());
    // The same request once the disk has room: stored, and pushed once.
    let (order, _) = env.place(body);
    env.wait_status(&order, "success");
    assert_eq!(env.requests_for(&order).len(), 1);
}

#[test]
fn a_push_the_pos_accepted_is_recorded_once_the_disk_has_room_and_sent_only_once() {
    let disk = SmallDisk::mount(16);
    let env = square_on(&disk);
    // Square makes the order at once and answers two seconds later: the disk fills meanwhile.
    env.mock
        .push_fault(Fault::TimeoutAfterCommit(Duration::from_secs(2)));
    let order = env.order();
    wait_until(PATIENCE, "the mock Square holds the order", || {
        env.mock_orders_for(&order).len() == 1
    });
    disk.fill();
    std::thread::sleep(Duration::from_secs(4));
    let log = env.log(&order);
    assert_eq!(
        log["status"], "syncing",
        "the answer cannot be on disk yet: {log}"
    );
    disk.free();
    let freed = Instant::now();
    let log = env.wait_status(&order, "success");
    // Recorded by the worker that holds it, not after the 50 s lease (which would resend it).
    assert!(
        freed.elapsed() < Duration::from_secs(15),
        "{:?}",
        freed.elapsed()
    );
    let made = env.mock_orders_for(&order);
    assert_eq!(made.len(), 1, "one order in Square");
    assert_eq!(log["pos_order_id"], made[0]["id"]);
    assert_eq!(env.requests_for(&order).len(), 1, "sent once");
    let attempts = env.attempts(log["id"].as_str().unwrap());
    assert_eq!(
        attempts.len(),
        2,
        "the order, then its payment: {attempts:#?}"
    );
    assert_eq!(env.mock.payments_of(made[0]["id"].as_str().unwrap()), 1);
}

#[test]
fn workers_facing_a_full_disk_log_the_cause_at_most_once_per_ten_seconds_and_resume() {
    let disk = SmallDisk::mount(16);
    let dir = TempDir::new().unwrap();
    let mock = MockSquare::start();
    // Every push answers 503, so the log is claimed again every 200 ms: each claim is a write.
    for _ in 0..2_000 {
        mock.push_fault(Fault::Status(503));
    }
    let mut flags = square_flags(&mock, &["--max-retries", "10000"]);
    flags.extend(disk.database_flags());
    let serve = ServeProcess::start(dir.path(), dir.path(), &flags);
    let client = serve.client();
    let token = client.login_new_seller(SELLER_EMAIL);
    let (business, dish) = square_business(&client, &token);
    order_one(&client, &token, &business, &dish);
    wait_until(PATIENCE, "the push is being retried", || {
        mock.create_order_requests().len() >= 2
    });
    let mark = serve.stderr_text().len();
    disk.fill();
    // Six seconds, less than the ten between two lines: one line however many workers fail.
    std::thread::sleep(Duration::from_secs(6));
    let window = serve.stderr_text()[mark..].to_string();
    let complaints = window
        .lines()
        .filter(|l| l.contains("the database cannot be written"))
        .count();
    assert_eq!(complaints, 1, "log lines in 6 s of a full disk:\n{window}");
    let pushes = mock.create_order_requests().len();
    disk.free();
    wait_until(PATIENCE, "the workers push again", || {
        mock.create_order_requests().len() > pushes
    });
    wait_until(PATIENCE, "the recovery is logged", || {
        serve.stderr_text()[mark..].contains("the sync threads work again")
    });
}
