//! The status page when orders do not flow, in headless Chromium against the real service and
//! a mock Square: a POS that stops answering shows as failing, then as circuit open, with the
//! queue held; orders refused for want of a mapping go again with "Replay failed orders" once
//! the mapping is fixed.

use serde_json::json;

use crate::catalog::square_item;
use crate::common::browser::{Browser, screenshot_dir};
use crate::common::mock_square::Fault;
use crate::common::provider_env::{DISH, ProviderEnv, SELLER_EMAIL, requests_for};
use crate::common::wait::{PATIENCE, wait_until};

/// Open the page at `base` and sign in as the environment's seller.
pub fn sign_in(browser: &Browser, base: &str) {
    browser.goto(&format!("{base}/"));
    browser.type_into("#email", SELLER_EMAIL);
    browser.type_into("#password", "correct horse");
    browser.click("#login-submit");
    browser.wait_text("#who", SELLER_EMAIL);
}

/// The tone (`ok`, `warn`, `bad`, `off`) of the first state badge in `css`: the colour.
fn tone(browser: &Browser, css: &str) -> String {
    browser
        .script(&format!(
            "const b = document.querySelector({}); return b ? b.className : '';",
            json!(format!("{css} .badge"))
        ))
        .as_str()
        .unwrap_or_default()
        .replace("badge", "")
        .trim()
        .to_string()
}

/// Square answers 503 to every push: the first failure shows the lane failing, in words and
/// colour, with the order waiting to retry; the second opens its circuit, and the page says
/// the POS is not answering, the orders are held, and the seller was told.
#[test]
fn a_pos_that_stops_answering_shows_failing_then_circuit_open() {
    let test = "status_page_delivery::a_pos_that_stops_answering_shows_failing_then_circuit_open";
    let Some(browser) = Browser::start(test, 1280, 900) else {
        return;
    };
    // Two pushes without an answer open the lane; nothing is retried within the test.
    let env = ProviderEnv::square(&["--breaker-after", "2", "--retry-interval", "1h"]);
    for _ in 0..4 {
        env.mock.push_fault(Fault::Status(503));
    }
    let first = env.order();
    env.wait_status(&first, "retry");
    sign_in(&browser, &env.app.base);

    let health = browser.wait_text("#card-health", "Failing");
    assert!(health.contains("recent attempts failed"), "{health}");
    assert!(health.contains("1\nwaiting to retry"), "{health}");
    assert_eq!(tone(&browser, "#card-health"), "bad");
    browser.wait_text("#summary", "Orders are failing to reach the POS");
    assert_eq!(tone(&browser, "#summary"), "bad");
    let failures = browser.wait_text("#card-failures", "Retrying (1 of");
    assert!(failures.contains("503"), "{failures}");

    // A second order gets no answer either: the lane opens and holds both.
    let second = env.order();
    env.wait_status(&second, "retry");
    assert_eq!(env.integration()["health"]["state"], "circuit_open");
    let health = browser.wait_text("#card-health", "Circuit open");
    assert!(health.contains("the POS is not answering"), "{health}");
    assert!(health.contains("2\nheld while the POS is down"), "{health}");
    assert_eq!(tone(&browser, "#card-health"), "bad");
    let summary = browser.wait_text("#summary", "The POS is not answering");
    assert!(summary.contains("Problem"), "{summary}");
    browser.wait_text("#card-notifications", "POS unreachable");
    // Today: none of the two reached the POS yet; not failed, and not shown as all good.
    let today = browser.wait_text("#card-today", "0 of 2 orders reached the POS today");
    assert!(today.contains("2 on the way"), "{today}");
    assert_eq!(
        browser.script("return document.querySelector('#card-today .rate').className;"),
        json!("big rate warn")
    );
    // Each held order says so, and "Sync now" queues it with the others rather than sending.
    for id in [&first, &second] {
        browser.wait_text(
            &format!("li.failure[data-order='{id}']"),
            "Held until the POS answers again",
        );
    }
    let due_before = env.log(&first)["next_retry_at"].clone();
    browser.click(&format!("button.sync-now[data-order='{first}']"));
    wait_until(PATIENCE, "Sync now made the held order due", || {
        env.log(&first)["next_retry_at"] != due_before
    });
    let said = browser.wait_text(
        &format!("li.failure[data-order='{first}'] .result"),
        "Queued: it goes when the POS answers again (next try in ",
    );
    assert!(!said.contains("sending to the POS now"), "{said}");
    // A worker woken by it would have pushed within this beat.
    std::thread::sleep(std::time::Duration::from_secs(1));
    assert_eq!(
        env.mock.create_order_requests().len(),
        2,
        "held orders are not sent while the circuit is open"
    );

    // For a person to look at: the page with the POS down, on a phone.
    browser.screenshot(390, &screenshot_dir().join("phone-pos-down.png"));
    assert_eq!(
        browser.overflowing(),
        Vec::<String>::new(),
        "everything fits at phone width"
    );
    env.assert_no_problems();
}

/// Two orders Square refused because their dish had no POS item: "Apply suggestions" maps it,
/// "Replay failed orders" sends both again (each reaches Square once, now with the item), the
/// page says how many went, and a second replay finds nothing left to send.
#[test]
fn replay_after_a_mapping_fix_sends_the_failed_orders_again() {
    let test = "status_page_delivery::replay_after_a_mapping_fix_sends_the_failed_orders_again";
    let Some(browser) = Browser::start(test, 1280, 900) else {
        return;
    };
    let env = ProviderEnv::square(&[]);
    env.mock.set_catalog(vec![square_item(
        "ITEM-PBM",
        DISH,
        &[("VAR-PBM", "Regular", 30000)],
    )]);
    let refused: Vec<String> = (0..2)
        .map(|_| {
            env.mock.push_fault(Fault::BadRequest {
                code: "INVALID_VALUE".into(),
                detail: "The line item has no catalog item.".into(),
                field: Some("order.line_items[0]".into()),
            });
            let id = env.order();
            env.wait_status(&id, "failed");
            id
        })
        .collect();
    sign_in(&browser, &env.app.base);
    for id in &refused {
        browser.wait_visible(&format!("#card-failures li.failure[data-order='{id}']"));
    }

    browser.click("#apply-suggestions");
    browser.wait_text("#card-mapping", "1 of 1 dishes mapped");
    browser.click("#replay-failed");
    let result = browser.wait_text("#replay-result", "sent again");
    assert_eq!(result, "2 orders sent again.");
    for id in &refused {
        env.wait_status(id, "success");
        assert_eq!(
            env.mock_orders_for(id).len(),
            1,
            "order {id} once in Square"
        );
        let requests = requests_for(&env.mock, id);
        assert_eq!(requests.len(), 2, "refused once, replayed once: {id}");
        assert_eq!(
            requests[1].body["order"]["line_items"][0]["catalog_object_id"], "VAR-PBM",
            "the replay carries the mapping"
        );
    }
    browser.wait_text("#card-failures", "Every order reached the POS");

    browser.click("#replay-failed");
    browser.wait_text("#replay-result", "0 orders sent again.");
    assert_eq!(env.mock.create_order_requests().len(), 4);
    env.assert_no_problems();
}

/// Square answers 429 and asks for ten minutes: "Sync now" on the waiting order says it goes
/// when that wait ends, not now (and still says so after the page refreshes), and nothing is
/// sent meanwhile.
#[test]
fn sync_now_during_a_429_pause_says_when_the_order_goes() {
    let test = "status_page_delivery::sync_now_during_a_429_pause_says_when_the_order_goes";
    let Some(browser) = Browser::start(test, 1280, 900) else {
        return;
    };
    let env = ProviderEnv::square(&["--retry-interval", "1h"]);
    env.mock.push_fault(Fault::RateLimited {
        retry_after: Some("600".into()),
    });
    let order = env.order();
    env.wait_status(&order, "retry");
    sign_in(&browser, &env.app.base);
    let row = format!("li.failure[data-order='{order}']");
    browser.wait_text(&row, "Next try");

    browser.click(&format!("button.sync-now[data-order='{order}']"));
    let said = browser.wait_text(&format!("{row} .result"), "the POS asked us to wait");
    assert!(
        said.contains("it goes in ") && said.contains(" min, not before."),
        "{said}"
    );
    assert!(!said.contains("sending to the POS now"), "{said}");
    // The page refreshes (a second after the click, then every few seconds): still said.
    std::thread::sleep(std::time::Duration::from_secs(2));
    let again = browser.wait_text(&format!("{row} .result"), "the POS asked us to wait");
    assert_eq!(again, said);
    assert_eq!(
        env.mock.create_order_requests().len(),
        1,
        "only the push Square answered with 429"
    );
    assert_eq!(env.log(&order)["status"], "retry");
}
