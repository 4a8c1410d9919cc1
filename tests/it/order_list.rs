//! `GET /orders` (API.md Part two "Order list"): the seller's own orders, newest first, with
//! filters and pages; and the `action` of sync logs in history and stats.

use crate::common;

use common::TestApp;
use common::provider_env::ProviderEnv;
use serde_json::{Value, json};

/// A UUID that names nothing.
const NOBODY: &str = "0193a1b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b";

fn list(app: &TestApp, token: &str, query: &str) -> Value {
    let resp = app.get(&format!("/api/v1/orders?{query}"), Some(token));
    resp.expect(200);
    resp.data().clone()
}

fn ids(data: &Value) -> Vec<String> {
    data["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap().to_string())
        .collect()
}

/// Place an order and wait a few milliseconds, so each order has a creation time of its own.
fn place(app: &TestApp, token: &str, business: &str, dish: &str) -> Value {
    let order = app.order(token, business, dish, 1)["order"].clone();
    std::thread::sleep(std::time::Duration::from_millis(5));
    order
}

#[test]
fn orders_are_listed_newest_first_paged_and_filtered_by_business_and_time() {
    let app = TestApp::start();
    let token = app.login_new_seller("owner@spicegarden.in");
    let garden = app.business(&token, "Spice Garden");
    let house = app.business(&token, "Curry House");
    let garden_dish = app.dish(&token, &garden, "Paneer Tikka", 30000);
    let house_dish = app.dish(&token, &house, "Dal Makhani", 25000);
    let g: Vec<Value> = (0..3)
        .map(|_| place(&app, &token, &garden, &garden_dish))
        .collect();
    let h = place(&app, &token, &house, &house_dish);
    let other = app.login_new_seller("owner@other.in");
    let other_business = app.business(&other, "Other");
    let other_dish = app.dish(&other, &other_business, "Idli", 5000);
    let foreign = place(&app, &other, &other_business, &other_dish);

    let all = list(&app, &token, "");
    let id = |o: &Value| o["id"].as_str().unwrap().to_string();
    assert_eq!(ids(&all), vec![id(&h), id(&g[2]), id(&g[1]), id(&g[0])]);
    assert_eq!(
        (&all["total"], &all["limit"], &all["offset"]),
        (&json!(4), &json!(50), &json!(0))
    );
    let first = &all["orders"][3];
    assert_eq!(first["customer_name"], g[0]["customer_name"]);
    assert_eq!(first["items"], g[0]["items"]);
    assert_eq!(first["status"], "open");
    assert_eq!(first["canceled_at"], Value::Null);
    assert_eq!(first["pos_state"], Value::Null);
    assert_eq!(first["sync_log"], Value::Null, "no integration, no log");

    let page = list(
        &app,
        &token,
        &format!("business_id={garden}&limit=2&offset=1"),
    );
    assert_eq!(ids(&page), vec![id(&g[1]), id(&g[0])]);
    assert_eq!(
        (&page["total"], &page["limit"], &page["offset"]),
        (&json!(3), &json!(2), &json!(1))
    );

    // Another seller's business, or none, as a filter: an empty list, not a 404.
    for business in [other_business.as_str(), NOBODY] {
        let empty = list(&app, &token, &format!("business_id={business}"));
        assert_eq!((ids(&empty).len(), &empty["total"]), (0, &json!(0)));
    }
    assert_eq!(ids(&list(&app, &other, "")), vec![id(&foreign)]);

    // `since` is inclusive, `until` exclusive.
    let at = g[1]["created_at"].as_str().unwrap();
    let since = list(&app, &token, &format!("business_id={garden}&since={at}"));
    assert_eq!(ids(&since), vec![id(&g[2]), id(&g[1])]);
    let until = list(&app, &token, &format!("business_id={garden}&until={at}"));
    assert_eq!(ids(&until), vec![id(&g[0])]);

    assert_eq!(list(&app, &token, "status=open")["total"], json!(4));
    assert_eq!(list(&app, &token, "status=canceled")["total"], json!(0));
    assert_eq!(list(&app, &token, "sync_status=pending")["total"], json!(0));

    let before = app.snapshot();
    for (query, field) in [
        ("since=yesterday", "since"),
        ("until=2026-13-01T00:00:00Z", "until"),
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("offset=-1", "offset"),
    ] {
        let resp = app.get(&format!("/api/v1/orders?{query}"), Some(&token));
        let message = resp.expect_error(400, "VALIDATION_ERROR");
        assert!(message.contains(field), "{query}: {message}");
    }
    for query in ["status=gone", "sync_status=done", "business_id=42"] {
        app.get(&format!("/api/v1/orders?{query}"), Some(&token))
            .expect_error(400, "VALIDATION_ERROR");
    }
    assert_eq!(app.snapshot(), before, "a refused list changes nothing");
    app.get("/api/v1/orders", None)
        .expect_error(401, "UNAUTHORIZED");
}

#[test]
fn the_list_filters_on_the_latest_create_log_and_logs_say_their_action() {
    let env = ProviderEnv::square(&[]);
    let order = env.order();
    let log = env.wait_status(&order, "success");
    assert_eq!(log["action"], "create");

    let data = list(&env.app, &env.token, "sync_status=success");
    assert_eq!(ids(&data), vec![order.clone()]);
    assert_eq!(data["orders"][0]["sync_log"]["id"], log["id"]);
    assert_eq!(data["orders"][0]["sync_log"]["action"], "create");
    for other in ["pending", "syncing", "retry", "failed"] {
        let data = list(&env.app, &env.token, &format!("sync_status={other}"));
        assert_eq!(data["total"], json!(0), "sync_status={other}");
    }

    let history = env.history("");
    history.expect(200);
    assert_eq!(history.data()["logs"][0]["action"], "create");
    let stats = env.stats();
    assert_eq!(stats["total_syncs"], json!(1));
    assert_eq!(
        stats["cancellations"],
        json!({"total": 0, "successful": 0, "failed": 0})
    );
    env.assert_no_problems();
}
