use crate::common;

use common::TestApp;
use serde_json::{Value, json};

/// Square at a closed local port: orders never reach the real Square.
const OFFLINE_SQUARE: [&str; 2] = ["--square-base-url", "http://127.0.0.1:9"];

#[test]
fn business_crud_and_defaults() {
    let app = TestApp::start_with(&OFFLINE_SQUARE);
    let token = app.login_new_seller("owner@example.com");
    let me = app.get("/api/v1/auth/me", Some(&token));
    let seller_id = me.data()["seller"]["id"].clone();

    let resp = app.post(
        "/api/v1/businesses",
        Some(&token),
        json!({"name": "Spice Garden"}),
    );
    resp.expect(201);
    let b = resp.data()["business"].clone();
    assert_eq!(b["name"], "Spice Garden");
    assert_eq!(b["currency"], "INR");
    assert_eq!(b["timezone"], "Asia/Kolkata");
    assert_eq!(b["seller_id"], seller_id);
    assert_eq!(b["notification_email"], Value::Null);
    assert_eq!(b["whatsapp_number"], Value::Null);
    assert_eq!(b["whatsapp_enabled"], false);
    assert!(b["created_at"].as_str().unwrap().ends_with('Z'));
    let id = b["id"].as_str().unwrap().to_string();

    let resp = app.post(
        "/api/v1/businesses",
        Some(&token),
        json!({"name": "Taco Stand", "currency": "usd", "timezone": "America/New_York"}),
    );
    resp.expect(201);
    assert_eq!(resp.data()["business"]["currency"], "USD");
    assert_eq!(resp.data()["business"]["timezone"], "America/New_York");

    for (body, field) in [
        (json!({"name": "X", "currency": "RUPEES"}), "currency"),
        (json!({"name": "X", "currency": "ZZZ"}), "currency"),
        (json!({"name": "X", "timezone": "Mars/Olympus"}), "timezone"),
    ] {
        let message = app
            .post("/api/v1/businesses", Some(&token), body.clone())
            .expect_error(400, "VALIDATION_ERROR");
        assert!(message.contains(field), "{body}: {message}");
    }

    let got = app.get(&format!("/api/v1/businesses/{id}"), Some(&token));
    got.expect(200);
    assert_eq!(got.data()["business"], b);

    let path = format!("/api/v1/businesses/{id}");
    let resp = app.patch(
        &path,
        Some(&token),
        json!({"name": "Spice Garden HSR", "notification_email": " Alerts@Example.com ",
               "whatsapp_number": "+919876543210", "whatsapp_enabled": true}),
    );
    resp.expect(200);
    let p = &resp.data()["business"];
    assert_eq!(p["name"], "Spice Garden HSR");
    assert!(
        p["notification_email"]
            .as_str()
            .unwrap()
            .eq_ignore_ascii_case("alerts@example.com"),
        "{p}"
    );
    assert_eq!(p["whatsapp_number"], "+919876543210");
    assert_eq!(p["whatsapp_enabled"], true);
    assert_eq!(p["currency"], "INR");

    // Absent fields stay; null clears notification_email.
    let resp = app.patch(&path, Some(&token), json!({"notification_email": null}));
    resp.expect(200);
    assert_eq!(resp.data()["business"]["notification_email"], Value::Null);
    assert_eq!(resp.data()["business"]["name"], "Spice Garden HSR");
    assert_eq!(resp.data()["business"]["whatsapp_number"], "+919876543210");
    let got = app.get(&path, Some(&token));
    assert_eq!(got.data()["business"]["notification_email"], Value::Null);

    for number in ["9876543210", "+91 98765 43210", "+12", "+abc1234567890"] {
        let message = app
            .patch(&path, Some(&token), json!({"whatsapp_number": number}))
            .expect_error(400, "VALIDATION_ERROR");
        assert!(message.contains("whatsapp_number"), "{number}: {message}");
    }
    let message = app
        .patch(
            &path,
            Some(&token),
            json!({"notification_email": "not-an-email"}),
        )
        .expect_error(400, "VALIDATION_ERROR");
    assert!(message.contains("notification_email"), "{message}");
    // Nothing of the refused patches stuck.
    let got = app.get(&path, Some(&token));
    assert_eq!(got.data()["business"]["whatsapp_number"], "+919876543210");

    // Unknown id: 404.
    app.get(
        "/api/v1/businesses/0193a1b2-8d4e-7f50-9b0c-1d2e3f4a5b6c",
        Some(&token),
    )
    .expect_error(404, "NOT_FOUND");
}

#[test]
fn lists_page_with_total_and_show_only_own() {
    let app = TestApp::start_with(&OFFLINE_SQUARE);
    let a = app.login_new_seller("a@example.com");
    let b = app.login_new_seller("b@example.com");
    let mut ids: Vec<String> = (0..5).map(|i| app.business(&a, &format!("A{i}"))).collect();
    app.business(&b, "B0");

    let resp = app.get("/api/v1/businesses", Some(&a));
    resp.expect(200);
    let d = resp.data();
    assert_eq!(d["total"], 5);
    assert_eq!(d["limit"], 50);
    assert_eq!(d["offset"], 0);
    assert_eq!(d["businesses"].as_array().unwrap().len(), 5);

    let mut seen = Vec::new();
    for offset in [0, 2, 4] {
        let resp = app.get(
            &format!("/api/v1/businesses?limit=2&offset={offset}"),
            Some(&a),
        );
        resp.expect(200);
        let d = resp.data();
        assert_eq!(d["total"], 5);
        assert_eq!(d["limit"], 2);
        assert_eq!(d["offset"], offset);
        for b in d["businesses"].as_array().unwrap() {
            seen.push(b["id"].as_str().unwrap().to_string());
        }
    }
    seen.sort();
    ids.sort();
    assert_eq!(seen, ids, "paging lost or repeated a business");

    let resp = app.get("/api/v1/businesses?offset=10", Some(&a));
    assert_eq!(resp.data()["businesses"], json!([]));
    assert_eq!(resp.data()["total"], 5);

    let resp = app.get("/api/v1/businesses", Some(&b));
    assert_eq!(resp.data()["total"], 1);

    // Dishes.
    let biz = &ids[0];
    for i in 0..3 {
        app.dish(&a, biz, &format!("Dish {i}"), 1000 * (i + 1));
    }
    let resp = app.get(
        &format!("/api/v1/businesses/{biz}/dishes?limit=2"),
        Some(&a),
    );
    resp.expect(200);
    assert_eq!(resp.data()["total"], 3);
    assert_eq!(resp.data()["dishes"].as_array().unwrap().len(), 2);
    let resp = app.get(&format!("/api/v1/businesses/{}/dishes", ids[1]), Some(&a));
    assert_eq!(resp.data()["total"], 0);
}

#[test]
fn dishes_and_orders_use_server_prices() {
    let app = TestApp::start_with(&OFFLINE_SQUARE);
    let token = app.login_new_seller("chef@example.com");
    let biz = app.business(&token, "Spice Garden");
    let resp = app.post(
        &format!("/api/v1/businesses/{biz}/dishes"),
        Some(&token),
        json!({"name": "Paneer Butter Masala", "price": 30000}),
    );
    resp.expect(201);
    let dish = &resp.data()["dish"];
    assert_eq!(dish["business_id"], biz.as_str());
    assert_eq!(dish["price"], 30000);
    assert_eq!(dish["currency"], "INR");
    let paneer = dish["id"].as_str().unwrap().to_string();
    let naan = app.dish(&token, &biz, "Butter Naan", 4500);
    let free = app.dish(&token, &biz, "Water", 0);

    // A client's prices, names and totals are ignored (or refused), never used.
    let resp = app.post(
        "/api/v1/orders",
        Some(&token),
        json!({
            "business_id": biz,
            "customer_name": "Rahul Kumar",
            "total": 1,
            "currency": "USD",
            "items": [
                {"dish_id": paneer, "quantity": 2, "unit_price": 1, "name": "Cheap"},
                {"dish_id": naan, "quantity": 3, "note": "crisp"},
                {"dish_id": free, "quantity": 1},
            ],
        }),
    );
    let order = if resp.status == 201 {
        resp.data()["order"].clone()
    } else {
        // Refusing unknown fields is fine too; then order without them.
        resp.expect_error(400, "VALIDATION_ERROR");
        let resp = app.post(
            "/api/v1/orders",
            Some(&token),
            json!({
                "business_id": biz,
                "customer_name": "Rahul Kumar",
                "items": [
                    {"dish_id": paneer, "quantity": 2},
                    {"dish_id": naan, "quantity": 3, "note": "crisp"},
                    {"dish_id": free, "quantity": 1},
                ],
            }),
        );
        resp.expect(201);
        resp.data()["order"].clone()
    };
    assert_eq!(order["total"], 2 * 30000 + 3 * 4500);
    assert_eq!(order["currency"], "INR");
    assert_eq!(order["business_id"], biz.as_str());
    let items = order["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert_eq!(items[0]["name"], "Paneer Butter Masala");
    assert_eq!(items[0]["unit_price"], 30000);
    assert_eq!(items[0]["quantity"], 2);
    assert_eq!(items[1]["name"], "Butter Naan");
    assert_eq!(items[1]["unit_price"], 4500);
    assert_eq!(items[1]["note"], "crisp");
    assert_eq!(items[2]["unit_price"], 0);

    // GET gives the same order and a null sync_log (no integration).
    let id = order["id"].as_str().unwrap();
    let got = app.get(&format!("/api/v1/orders/{id}"), Some(&token));
    got.expect(200);
    assert_eq!(got.data()["order"], order);
    assert_eq!(got.data()["sync_log"], Value::Null);

    // The fixture order: copied name and price, customer fields kept.
    let data = app.order(&token, &biz, &paneer, 4);
    let o = &data["order"];
    assert_eq!(o["total"], 120000);
    assert_eq!(o["customer_name"], "Rahul Kumar");
    assert_eq!(o["customer_phone"], "+919876543210");
    assert_eq!(o["special_instructions"], "Ring the bell");
    assert_eq!(o["items"][0]["name"], "Paneer Butter Masala");
    assert_eq!(o["items"][0]["note"], "Extra spicy");
    assert!(o["created_at"].as_str().unwrap().ends_with('Z'));

    // A new dish with the same name and another price does not change old orders.
    app.dish(&token, &biz, "Paneer Butter Masala", 99999);
    let got = app.get(&format!("/api/v1/orders/{id}"), Some(&token));
    assert_eq!(got.data()["order"], order);
}

#[test]
fn orders_in_another_currency_use_the_business_currency() {
    let app = TestApp::start_with(&OFFLINE_SQUARE);
    let token = app.login_new_seller("usd@example.com");
    let resp = app.post(
        "/api/v1/businesses",
        Some(&token),
        json!({"name": "Diner", "currency": "USD", "timezone": "UTC"}),
    );
    resp.expect(201);
    let biz = resp.data()["business"]["id"].as_str().unwrap().to_string();
    let dish = app.dish(&token, &biz, "Burger", 1299);
    let resp = app.post(
        &format!("/api/v1/businesses/{biz}/dishes"),
        Some(&token),
        json!({"name": "Fries", "price": 399}),
    );
    assert_eq!(resp.data()["dish"]["currency"], "USD");
    let data = app.order(&token, &biz, &dish, 2);
    assert_eq!(data["order"]["currency"], "USD");
    assert_eq!(data["order"]["total"], 2598);
}

#[test]
fn every_business_scoped_endpoint_hides_other_sellers_data() {
    let app = TestApp::start_with(&OFFLINE_SQUARE);
    let a = app.login_new_seller("a@example.com");
    let b = app.login_new_seller("b@example.com");
    let biz_a = app.business(&a, "A's");
    let dish_a = app.dish(&a, &biz_a, "Dal", 15000);
    let order_a = app.order(&a, &biz_a, &dish_a, 1)["order"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.connect_square(&a, &biz_a, "sq-ownership-token-000000001");
    let biz_b = app.business(&b, "B's");
    let dish_b = app.dish(&b, &biz_b, "Naan", 4000);

    let cases: Vec<(&str, String, Option<Value>)> = vec![
        ("GET", format!("/api/v1/businesses/{biz_a}"), None),
        (
            "PATCH",
            format!("/api/v1/businesses/{biz_a}"),
            Some(json!({"name": "Stolen"})),
        ),
        (
            "POST",
            format!("/api/v1/businesses/{biz_a}/dishes"),
            Some(json!({"name": "Poison", "price": 1})),
        ),
        ("GET", format!("/api/v1/businesses/{biz_a}/dishes"), None),
        ("GET", format!("/api/v1/orders/{order_a}"), None),
        (
            "POST",
            "/api/v1/orders".into(),
            Some(json!({"business_id": biz_a, "customer_name": "X",
                        "items": [{"dish_id": dish_a, "quantity": 1}]})),
        ),
        (
            "POST",
            "/api/v1/orders".into(),
            Some(json!({"business_id": biz_a, "customer_name": "X",
                        "items": [{"dish_id": dish_b, "quantity": 1}]})),
        ),
        (
            "POST",
            "/api/v1/pos/connect".into(),
            Some(json!({"business_id": biz_a, "provider": "square",
                        "access_token": "hijack", "location_id": "L1"})),
        ),
        ("GET", format!("/api/v1/pos/integration/{biz_a}"), None),
        (
            "PATCH",
            format!("/api/v1/pos/integration/{biz_a}"),
            Some(json!({"auto_sync_orders": false})),
        ),
        ("POST", format!("/api/v1/pos/sync/{order_a}"), None),
        (
            "POST",
            format!("/api/v1/pos/sync/{order_a}?force=true"),
            None,
        ),
        ("GET", format!("/api/v1/pos/history/{biz_a}"), None),
        ("GET", format!("/api/v1/pos/stats/{biz_a}"), None),
        ("GET", format!("/api/v1/pos/preview/{order_a}"), None),
        (
            "GET",
            format!("/api/v1/notifications?business_id={biz_a}"),
            None,
        ),
        (
            "POST",
            "/api/v1/pos/disconnect".into(),
            Some(json!({"business_id": biz_a})),
        ),
    ];
    let mut failures = Vec::new();
    for (method, path, body) in &cases {
        let body = body
            .as_ref()
            .map(|v| ("application/json", v.to_string().into_bytes()));
        let resp = app.raw(method, path, Some(&b), body);
        if resp.status != 404 || resp.body["error"]["code"] != "NOT_FOUND" {
            failures.push(format!("{method} {path}: {} {}", resp.status, resp.text));
        }
        if resp.text.contains("A's") || resp.text.contains("Dal") {
            failures.push(format!("{method} {path} leaks: {}", resp.text));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));

    // A's things are untouched.
    let got = app.get(&format!("/api/v1/businesses/{biz_a}"), Some(&a));
    assert_eq!(got.data()["business"]["name"], "A's");
    let dishes = app.get(&format!("/api/v1/businesses/{biz_a}/dishes"), Some(&a));
    assert_eq!(dishes.data()["total"], 1);
    let integration = app.get(&format!("/api/v1/pos/integration/{biz_a}"), Some(&a));
    integration.expect(200);
    assert_eq!(integration.data()["integration"]["is_active"], true);
    assert_eq!(integration.data()["integration"]["auto_sync_orders"], true);
    assert_eq!(
        integration.data()["integration"]["location_id"],
        "L8AHQ2RX0BX1K"
    );
    // B's lists don't show A's things.
    let list = app.get("/api/v1/businesses", Some(&b));
    assert_eq!(list.data()["total"], 1);
    let notes = app.get("/api/v1/notifications", Some(&b));
    notes.expect(200);
    assert_eq!(notes.data()["total"], 0);
}
