//! Businesses, dishes and orders over real HTTP: defaults, updates, lists, server-side prices,
//! and ownership (another seller's resource is a 404 on every business-scoped endpoint).

use crate::common;

use std::time::Duration;

use common::wait::wait_until;
use common::{Resp, TestApp, open_db_read_only, snapshot_changes};
use serde_json::{Value, json};

/// A UUID that names nothing.
const NOBODY: &str = "0193a1b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b";

fn business_resp(app: &TestApp, token: &str, body: Value) -> Resp {
    app.post("/api/v1/businesses", Some(token), body)
}

fn get_business(app: &TestApp, token: &str, id: &str) -> Value {
    let resp = app.get(&format!("/api/v1/businesses/{id}"), Some(token));
    resp.expect(200);
    resp.data()["business"].clone()
}

fn patch_business(app: &TestApp, token: &str, id: &str, body: Value) -> Resp {
    app.patch(&format!("/api/v1/businesses/{id}"), Some(token), body)
}

fn place(app: &TestApp, token: &str, business: &str, items: Value) -> Resp {
    app.post(
        "/api/v1/orders",
        Some(token),
        json!({"business_id": business, "customer_name": "Rahul Kumar", "items": items}),
    )
}

// ---------------------------------------------------------------------------------------------
// Businesses
// ---------------------------------------------------------------------------------------------

#[test]
fn a_new_business_defaults_to_inr_and_asia_kolkata() {
    let app = TestApp::start();
    let token = app.login_new_seller("owner@spicegarden.in");
    let seller = app.get("/api/v1/auth/me", Some(&token)).data()["seller"]["id"].clone();

    let resp = business_resp(&app, &token, json!({"name": "  Spice Garden  "}));
    resp.expect(201);
    let business = resp.data()["business"].clone();
    assert_eq!(business["name"], "Spice Garden", "names are trimmed");
    assert_eq!(business["currency"], "INR");
    assert_eq!(business["timezone"], "Asia/Kolkata");
    assert_eq!(business["seller_id"], seller);
    assert_eq!(business["notification_email"], Value::Null);
    assert_eq!(business["whatsapp_number"], Value::Null);
    assert_eq!(business["whatsapp_enabled"], json!(false));
    assert!(business["created_at"].as_str().unwrap().ends_with('Z'));

    let id = business["id"].as_str().unwrap();
    assert_eq!(get_business(&app, &token, id), business);
}

#[test]
fn a_business_takes_a_known_currency_and_time_zone_and_refuses_others() {
    let app = TestApp::start();
    let token = app.login_new_seller("owner@spicegarden.in");

    let resp = business_resp(
        &app,
        &token,
        json!({"name": "Curry House", "currency": "gbp", "timezone": "Europe/London"}),
    );
    resp.expect(201);
    assert_eq!(resp.data()["business"]["currency"], "GBP");
    assert_eq!(resp.data()["business"]["timezone"], "Europe/London");

    let before = app.snapshot();
    for (body, field) in [
        (
            json!({"name": "Spice Garden", "currency": "XYZ"}),
            "currency",
        ),
        (
            json!({"name": "Spice Garden", "currency": "RUPEES"}),
            "currency",
        ),
        (json!({"name": "Spice Garden", "currency": ""}), "currency"),
        (
            json!({"name": "Spice Garden", "timezone": "Mars/Olympus_Mons"}),
            "timezone",
        ),
        (
            json!({"name": "Spice Garden", "timezone": "IST+5:30"}),
            "timezone",
        ),
    ] {
        let message =
            business_resp(&app, &token, body.clone()).expect_error(400, "VALIDATION_ERROR");
        assert!(message.contains(field), "{body}: {message}");
    }
    assert_eq!(
        snapshot_changes(&before, &app.snapshot()),
        Vec::<String>::new()
    );
}

#[test]
fn patching_a_business_changes_only_the_fields_given_and_null_clears() {
    let app = TestApp::start();
    let token = app.login_new_seller("owner@spicegarden.in");
    let id = app.business(&token, "Spice Garden");

    let resp = patch_business(
        &app,
        &token,
        &id,
        json!({
            "notification_email": " Alerts@SpiceGarden.in ",
            "whatsapp_number": "+919876543210",
            "whatsapp_enabled": true,
        }),
    );
    resp.expect(200);
    let patched = resp.data()["business"].clone();
    assert_eq!(patched["name"], "Spice Garden");
    assert_eq!(patched["notification_email"], "alerts@spicegarden.in");
    assert_eq!(patched["whatsapp_number"], "+919876543210");
    assert_eq!(patched["whatsapp_enabled"], json!(true));
    assert_eq!(patched["currency"], "INR");
    assert_eq!(get_business(&app, &token, &id), patched);

    // Only the name changes.
    let resp = patch_business(
        &app,
        &token,
        &id,
        json!({"name": "Spice Garden Koramangala"}),
    );
    resp.expect(200);
    let renamed = resp.data()["business"].clone();
    assert_eq!(renamed["name"], "Spice Garden Koramangala");
    for field in [
        "notification_email",
        "whatsapp_number",
        "whatsapp_enabled",
        "currency",
    ] {
        assert_eq!(renamed[field], patched[field], "{field} changed");
    }

    // An empty patch changes nothing.
    let resp = patch_business(&app, &token, &id, json!({}));
    resp.expect(200);
    assert_eq!(resp.data()["business"], renamed);

    // null clears the notification email, and only it.
    let resp = patch_business(&app, &token, &id, json!({"notification_email": null}));
    resp.expect(200);
    let cleared = resp.data()["business"].clone();
    assert_eq!(cleared["notification_email"], Value::Null);
    assert_eq!(cleared["whatsapp_number"], "+919876543210");
    assert_eq!(get_business(&app, &token, &id), cleared);

    // Bad values are 400s naming the field, and change nothing.
    for (body, field) in [
        (json!({"whatsapp_number": "98765 43210"}), "whatsapp_number"),
        (json!({"whatsapp_number": "+91"}), "whatsapp_number"),
        (
            json!({"whatsapp_number": "+91987654321012345"}),
            "whatsapp_number",
        ),
        (json!({"whatsapp_number": "call me"}), "whatsapp_number"),
        (
            json!({"whatsapp_number": "+91 98765 43210"}),
            "whatsapp_number",
        ),
        (
            json!({"whatsapp_number": "+abc1234567890"}),
            "whatsapp_number",
        ),
        (
            json!({"notification_email": "not an email"}),
            "notification_email",
        ),
        (json!({"name": ""}), "name"),
        (json!({"name": "   "}), "name"),
        (json!({"whatsapp_enabled": "yes"}), "whatsapp_enabled"),
        (
            json!({"name": "Renamed", "whatsapp_number": "12"}),
            "whatsapp_number",
        ),
    ] {
        let message =
            patch_business(&app, &token, &id, body.clone()).expect_error(400, "VALIDATION_ERROR");
        assert!(message.contains(field), "{body}: {message}");
    }
    assert_eq!(get_business(&app, &token, &id), cleared);
}

#[test]
fn listing_businesses_shows_only_your_own_page_by_page() {
    let app = TestApp::start();
    let a = app.login_new_seller("a@spicegarden.in");
    let b = app.login_new_seller("b@curryhouse.in");
    let ids: Vec<String> = ["First", "Second", "Third"]
        .iter()
        .map(|name| app.business(&a, name))
        .collect();
    let theirs = app.business(&b, "Curry House");

    let list = |token: &str, query: &str| {
        let resp = app.get(&format!("/api/v1/businesses{query}"), Some(token));
        resp.expect(200);
        resp.data().clone()
    };
    let names = |data: &Value| -> Vec<String> {
        data["businesses"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["id"].as_str().unwrap().to_string())
            .collect()
    };

    let all = list(&a, "");
    assert_eq!(names(&all), ids, "oldest first, own only");
    assert_eq!(
        (&all["total"], &all["limit"], &all["offset"]),
        (&json!(3), &json!(50), &json!(0))
    );

    let first_page = list(&a, "?limit=2");
    assert_eq!(names(&first_page), ids[..2]);
    assert_eq!(first_page["total"], json!(3));
    assert_eq!(first_page["limit"], json!(2));

    let second_page = list(&a, "?limit=2&offset=2");
    assert_eq!(names(&second_page), ids[2..]);
    assert_eq!(second_page["total"], json!(3));
    assert_eq!(second_page["offset"], json!(2));

    let past_the_end = list(&a, "?offset=10");
    assert_eq!(names(&past_the_end), Vec::<String>::new());
    assert_eq!(past_the_end["total"], json!(3));

    assert_eq!(list(&a, "?limit=200")["limit"], json!(200));
    assert_eq!(list(&a, "?limit=1")["limit"], json!(1));

    let others = list(&b, "");
    assert_eq!(names(&others), [theirs]);
    assert_eq!(others["total"], json!(1));
}

#[test]
fn a_bad_limit_or_offset_is_a_400_naming_it() {
    let app = TestApp::start();
    let token = app.login_new_seller("owner@spicegarden.in");
    let business = app.business(&token, "Spice Garden");
    let lists = [
        "/api/v1/businesses".to_string(),
        format!("/api/v1/businesses/{business}/dishes"),
        format!("/api/v1/pos/history/{business}"),
        "/api/v1/notifications".to_string(),
    ];
    let bad = [
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("limit=-1", "limit"),
        ("limit=abc", "limit"),
        ("limit=1.5", "limit"),
        ("limit=", "limit"),
        ("offset=-1", "offset"),
        ("offset=abc", "offset"),
    ];
    for path in &lists {
        for (query, field) in bad {
            let resp = app.get(&format!("{path}?{query}"), Some(&token));
            let message = resp.expect_error(400, "VALIDATION_ERROR");
            assert!(message.contains(field), "{path}?{query}: {message}");
        }
    }
    let message = app
        .get(
            &format!("/api/v1/pos/history/{business}?status=done"),
            Some(&token),
        )
        .expect_error(400, "VALIDATION_ERROR");
    assert!(message.contains("status"), "{message}");
}

// ---------------------------------------------------------------------------------------------
// Dishes
// ---------------------------------------------------------------------------------------------

#[test]
fn dishes_belong_to_their_business_and_carry_its_currency() {
    let app = TestApp::start();
    let token = app.login_new_seller("owner@spicegarden.in");
    let inr = app.business(&token, "Spice Garden");
    let resp = business_resp(
        &app,
        &token,
        json!({"name": "London Curry", "currency": "GBP"}),
    );
    let gbp = resp.data()["business"]["id"].as_str().unwrap().to_string();

    let resp = app.post(
        &format!("/api/v1/businesses/{inr}/dishes"),
        Some(&token),
        json!({"name": " Paneer Butter Masala ", "price": 30000}),
    );
    resp.expect(201);
    let dish = resp.data()["dish"].clone();
    assert_eq!(dish["name"], "Paneer Butter Masala");
    assert_eq!(dish["price"], json!(30000));
    assert_eq!(dish["currency"], "INR");
    assert_eq!(dish["business_id"], json!(inr));

    let free = app.dish(&token, &inr, "Water", 0);
    let fish = app.dish(&token, &gbp, "Fish and Chips", 1250);

    let resp = app.get(&format!("/api/v1/businesses/{inr}/dishes"), Some(&token));
    resp.expect(200);
    let data = resp.data();
    let ids: Vec<&str> = data["dishes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [dish["id"].as_str().unwrap(), free.as_str()]);
    assert_eq!(data["total"], json!(2));
    assert_eq!(data["dishes"][0], dish);

    let resp = app.get(
        &format!("/api/v1/businesses/{gbp}/dishes?limit=1"),
        Some(&token),
    );
    resp.expect(200);
    assert_eq!(resp.data()["dishes"][0]["id"], json!(fish));
    assert_eq!(resp.data()["dishes"][0]["currency"], "GBP");
    assert_eq!(resp.data()["total"], json!(1));
    assert_eq!(resp.data()["limit"], json!(1));
    let resp = app.get(
        &format!("/api/v1/businesses/{inr}/dishes?limit=1"),
        Some(&token),
    );
    assert_eq!(resp.data()["dishes"].as_array().unwrap().len(), 1);
    assert_eq!(resp.data()["total"], json!(2));

    // An order takes its business's currency too.
    let order = app.order(&token, &gbp, &fish, 2)["order"].clone();
    assert_eq!(order["currency"], "GBP");
    assert_eq!(order["total"], json!(2500));
}

// ---------------------------------------------------------------------------------------------
// Orders
// ---------------------------------------------------------------------------------------------

#[test]
fn an_order_is_priced_by_the_server_and_a_client_cannot_set_prices() {
    let app = TestApp::start();
    let token = app.login_new_seller("owner@spicegarden.in");
    let business = app.business(&token, "Spice Garden");
    let paneer = app.dish(&token, &business, "Paneer Butter Masala", 30000);
    let naan = app.dish(&token, &business, "Butter Naan", 4500);
    let water = app.dish(&token, &business, "Water", 0);

    let resp = app.post(
        "/api/v1/orders",
        Some(&token),
        json!({
            "business_id": business,
            "customer_name": "Rahul Kumar",
            "customer_phone": "+919876543210",
            "special_instructions": "Ring the bell",
            // A client's idea of prices, names and totals is ignored.
            "total": 1,
            "currency": "USD",
            "items": [
                {"dish_id": paneer, "quantity": 2, "note": "Extra spicy",
                 "unit_price": 1, "price": 1, "name": "Free food"},
                {"dish_id": naan, "quantity": 3, "unit_price": 0},
                {"dish_id": water, "quantity": 1},
            ],
        }),
    );
    resp.expect(201);
    let order = resp.data()["order"].clone();
    assert_eq!(order["total"], json!(2 * 30000 + 3 * 4500));
    assert_eq!(order["currency"], "INR");
    assert_eq!(order["business_id"], json!(business));
    assert_eq!(order["customer_name"], "Rahul Kumar");
    assert_eq!(order["customer_phone"], "+919876543210");
    assert_eq!(order["special_instructions"], "Ring the bell");
    assert_eq!(
        order["items"],
        json!([
            {"dish_id": paneer, "name": "Paneer Butter Masala", "quantity": 2,
             "unit_price": 30000, "note": "Extra spicy"},
            {"dish_id": naan, "name": "Butter Naan", "quantity": 3,
             "unit_price": 4500, "note": null},
            {"dish_id": water, "name": "Water", "quantity": 1,
             "unit_price": 0, "note": null},
        ])
    );
    assert!(
        order["created_at"].as_str().unwrap().ends_with('Z'),
        "{order}"
    );
    // No integration: nothing was queued.
    assert_eq!(resp.data()["sync_log"], Value::Null);

    let id = order["id"].as_str().unwrap();
    let resp = app.get(&format!("/api/v1/orders/{id}"), Some(&token));
    resp.expect(200);
    assert_eq!(resp.data()["order"], order);
    assert_eq!(resp.data()["sync_log"], Value::Null);

    // The same dish twice is two lines; the biggest quantity and line count are fine.
    let resp = place(
        &app,
        &token,
        &business,
        json!([{"dish_id": naan, "quantity": 1}, {"dish_id": naan, "quantity": 999}]),
    );
    resp.expect(201);
    assert_eq!(resp.data()["order"]["total"], json!(1000 * 4500));
    let hundred: Vec<Value> = (0..100)
        .map(|_| json!({"dish_id": paneer, "quantity": 1}))
        .collect();
    let resp = place(&app, &token, &business, Value::Array(hundred));
    resp.expect(201);
    assert_eq!(resp.data()["order"]["total"], json!(100 * 30000));
    assert_eq!(resp.data()["order"]["items"].as_array().unwrap().len(), 100);
    let most: Vec<Value> = (0..100)
        .map(|_| json!({"dish_id": naan, "quantity": 999}))
        .collect();
    let resp = place(&app, &token, &business, Value::Array(most));
    resp.expect(201);
    assert_eq!(resp.data()["order"]["total"], json!(100 * 999 * 4500));
}

#[test]
fn an_order_keeps_the_names_and_prices_it_was_made_with() {
    let app = TestApp::start();
    let token = app.login_new_seller("owner@spicegarden.in");
    let business = app.business(&token, "Spice Garden");
    let dish = app.dish(&token, &business, "Paneer Butter Masala", 30000);
    let first = app.order(&token, &business, &dish, 2)["order"].clone();

    // The API has no dish edit yet; the menu changes underneath, as an edit would.
    {
        let conn = rusqlite::Connection::open(app.db_path()).unwrap();
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .unwrap();
        conn.execute(
            "UPDATE dishes SET name = 'Paneer Tikka Masala', price = 35000 WHERE id = ?1",
            [&dish],
        )
        .unwrap();
    }

    let id = first["id"].as_str().unwrap();
    let resp = app.get(&format!("/api/v1/orders/{id}"), Some(&token));
    resp.expect(200);
    assert_eq!(
        resp.data()["order"],
        first,
        "a menu change altered an order"
    );
    assert_eq!(first["items"][0]["name"], "Paneer Butter Masala");
    assert_eq!(first["total"], json!(60000));

    let second = app.order(&token, &business, &dish, 2)["order"].clone();
    assert_eq!(second["items"][0]["name"], "Paneer Tikka Masala");
    assert_eq!(second["items"][0]["unit_price"], json!(35000));
    assert_eq!(second["total"], json!(70000));
}

#[test]
fn a_dish_of_another_business_in_an_order_is_a_400_naming_the_line() {
    let app = TestApp::start();
    let a = app.login_new_seller("a@spicegarden.in");
    let b = app.login_new_seller("b@curryhouse.in");
    let garden = app.business(&a, "Spice Garden");
    let annex = app.business(&a, "Spice Garden Annex");
    let curry = app.business(&b, "Curry House");
    let own = app.dish(&a, &garden, "Paneer Butter Masala", 30000);
    let annex_dish = app.dish(&a, &annex, "Masala Dosa", 12000);
    let foreign = app.dish(&b, &curry, "Chicken Tikka", 40000);

    let before = app.snapshot();
    for (items, field) in [
        (
            json!([{"dish_id": annex_dish, "quantity": 1}]),
            "items[0].dish_id",
        ),
        (
            json!([{"dish_id": foreign, "quantity": 1}]),
            "items[0].dish_id",
        ),
        (
            json!([{"dish_id": NOBODY, "quantity": 1}]),
            "items[0].dish_id",
        ),
        (
            json!([{"dish_id": own, "quantity": 1}, {"dish_id": foreign, "quantity": 2}]),
            "items[1].dish_id",
        ),
    ] {
        let message = place(&app, &a, &garden, items.clone()).expect_error(400, "VALIDATION_ERROR");
        assert!(message.contains(field), "{items}: {message}");
    }
    assert_eq!(
        snapshot_changes(&before, &app.snapshot()),
        Vec::<String>::new()
    );

    // Seller B cannot order A's dish into B's own business either.
    place(&app, &b, &curry, json!([{"dish_id": own, "quantity": 1}]))
        .expect_error(400, "VALIDATION_ERROR");
}

// ---------------------------------------------------------------------------------------------
// Ownership
// ---------------------------------------------------------------------------------------------

#[test]
fn another_sellers_business_is_not_found_on_every_business_scoped_endpoint() {
    // With OAuth configured, so that authorize gets as far as the ownership check.
    let app = TestApp::start_offline(&[
        "--square-client-id",
        "sq0idp-test",
        "--square-client-secret",
        "sq0csp-test",
    ]);
    let a = app.login_new_seller("a@spicegarden.in");
    let b = app.login_new_seller("b@curryhouse.in");
    let business = app.business(&a, "Spice Garden");
    let dish = app.dish(&a, &business, "Paneer Butter Masala", 30000);
    let order = app.order(&a, &business, &dish, 2)["order"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let integration = app.connect_square(&a, &business, "EAAAl-ownership-token");
    // An order after connecting has a sync log; wait until its push has failed (nothing
    // listens) and the retry waits an hour, so nothing moves while B tries A's resources.
    let queued = app.order(&a, &business, &dish, 1);
    let queued_order = queued["order"]["id"].as_str().unwrap().to_string();
    let log = queued["sync_log"]["id"].as_str().unwrap().to_string();
    wait_until(Duration::from_secs(10), "the push failed", || {
        app.get(&format!("/api/v1/orders/{queued_order}"), Some(&a))
            .data()["sync_log"]["status"]
            == "retry"
    });
    // B has a business and a dish of their own, which must not help.
    let b_business = app.business(&b, "Curry House");
    let b_dish = app.dish(&b, &b_business, "Chicken Tikka", 40000);

    let connect = |business: &str| {
        json!({"business_id": business, "provider": "square",
               "access_token": "EAAAl-stolen", "location_id": "LSTOLEN"})
    };
    let order_body = |business: &str, dish: &str| {
        json!({"business_id": business, "customer_name": "Mallory",
               "items": [{"dish_id": dish, "quantity": 1}]})
    };
    // Every business- or order-scoped call, for a given business and order id.
    let calls =
        |business: &str, order: &str, log: &str| -> Vec<(&'static str, String, Option<Value>)> {
            vec![
                ("GET", format!("/api/v1/businesses/{business}"), None),
                (
                    "PATCH",
                    format!("/api/v1/businesses/{business}"),
                    Some(json!({"name": "Mine now"})),
                ),
                (
                    "POST",
                    format!("/api/v1/businesses/{business}/dishes"),
                    Some(json!({"name": "Free food", "price": 0})),
                ),
                ("GET", format!("/api/v1/businesses/{business}/dishes"), None),
                ("GET", format!("/api/v1/orders/{order}"), None),
                (
                    "POST",
                    "/api/v1/orders".to_string(),
                    Some(order_body(business, &dish)),
                ),
                (
                    "POST",
                    "/api/v1/orders".to_string(),
                    Some(order_body(business, &b_dish)),
                ),
                (
                    "POST",
                    "/api/v1/pos/connect".to_string(),
                    Some(connect(business)),
                ),
                (
                    "POST",
                    "/api/v1/pos/disconnect".to_string(),
                    Some(json!({"business_id": business})),
                ),
                ("GET", format!("/api/v1/pos/integration/{business}"), None),
                (
                    "PATCH",
                    format!("/api/v1/pos/integration/{business}"),
                    Some(json!({"auto_sync_orders": false})),
                ),
                ("GET", format!("/api/v1/pos/history/{business}"), None),
                ("GET", format!("/api/v1/pos/stats/{business}"), None),
                ("POST", format!("/api/v1/pos/sync/{order}"), None),
                ("POST", format!("/api/v1/pos/sync/{order}?force=true"), None),
                ("GET", format!("/api/v1/pos/preview/{order}"), None),
                ("GET", format!("/api/v1/pos/sync-logs/{log}/attempts"), None),
                (
                    "GET",
                    format!("/api/v1/notifications?business_id={business}"),
                    None,
                ),
                (
                    "GET",
                    format!("/api/v1/pos/oauth/square/authorize?business_id={business}"),
                    None,
                ),
            ]
        };
    let call = |token: &str, (method, path, body): &(&str, String, Option<Value>)| match body {
        Some(body) => app.raw(
            method,
            path,
            Some(token),
            Some(("application/json", body.to_string().into_bytes())),
        ),
        None => app.raw(method, path, Some(token), None),
    };

    let before = app.snapshot();
    let theirs = calls(&business, &order, &log);
    let missing = calls(NOBODY, NOBODY, NOBODY);
    let mut problems = Vec::new();
    for (foreign, nonexistent) in theirs.iter().zip(&missing) {
        let resp = call(&b, foreign);
        let (method, path, _) = foreign;
        if resp.status != 404 || resp.body["error"]["code"] != "NOT_FOUND" {
            problems.push(format!("{method} {path}: {} {}", resp.status, resp.text));
            continue;
        }
        // The answer must not tell "someone else's" from "does not exist".
        let other = call(&b, nonexistent);
        if other.body != resp.body || other.status != resp.status {
            problems.push(format!(
                "{method} {path}: another seller's answers {} but a missing one answers {} {}",
                resp.text, other.status, other.text
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "seller B reached seller A's business:\n{}",
        problems.join("\n")
    );
    assert_eq!(
        snapshot_changes(&before, &app.snapshot()),
        Vec::<String>::new(),
        "seller B's calls changed seller A's data"
    );

    // A's data is as it was, and A still reaches all of it.
    assert_eq!(get_business(&app, &a, &business)["name"], "Spice Garden");
    let resp = app.get(&format!("/api/v1/pos/integration/{business}"), Some(&a));
    resp.expect(200);
    assert_eq!(resp.data()["integration"]["id"], integration["id"]);
    assert_eq!(resp.data()["integration"]["is_active"], json!(true));
    assert_eq!(resp.data()["integration"]["location_id"], "L8AHQ2RX0BX1K");
    app.get(&format!("/api/v1/orders/{order}"), Some(&a))
        .expect(200);
    let resp = app.get(&format!("/api/v1/businesses/{business}/dishes"), Some(&a));
    assert_eq!(resp.data()["total"], json!(1));
    // B's list holds only B's business.
    let resp = app.get("/api/v1/businesses", Some(&b));
    assert_eq!(resp.data()["total"], json!(1));
    assert_eq!(resp.data()["businesses"][0]["id"], json!(b_business));
    let resp = app.get("/api/v1/notifications", Some(&b));
    resp.expect(200);
    assert_eq!(resp.data()["total"], json!(0));
}

#[test]
fn an_order_for_a_business_that_does_not_exist_is_a_404() {
    let app = TestApp::start();
    let token = app.login_new_seller("owner@spicegarden.in");
    let business = app.business(&token, "Spice Garden");
    let dish = app.dish(&token, &business, "Paneer Butter Masala", 30000);
    place(
        &app,
        &token,
        NOBODY,
        json!([{"dish_id": dish, "quantity": 1}]),
    )
    .expect_error(404, "NOT_FOUND");
    let orders: i64 = open_db_read_only(&app.db_path())
        .query_row("SELECT count(*) FROM orders", [], |r| r.get(0))
        .unwrap();
    assert_eq!(orders, 0);
}
