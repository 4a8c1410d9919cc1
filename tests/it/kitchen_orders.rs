//! The order model of "Orders the kitchen sees": fulfillment, payment and the order-level money
//! are taken, defaulted, computed and answered the same by create, get and the list; an old
//! request body works unchanged.

use crate::common;

use common::TestApp;
use serde_json::{Value, json};

/// A seller with a business and a dish at 30000.
fn setup() -> (TestApp, String, String, String) {
    let app = TestApp::start();
    let token = app.login_new_seller("owner@spicegarden.in");
    let business = app.business(&token, "Spice Garden");
    let dish = app.dish(&token, &business, "Paneer Butter Masala", 30000);
    (app, token, business, dish)
}

/// `POST /orders` → the order; also asserts GET and the list answer the very same order.
fn place(app: &TestApp, token: &str, body: Value) -> Value {
    let resp = app.post("/api/v1/orders", Some(token), body);
    resp.expect(201);
    let order = resp.data()["order"].clone();
    let id = order["id"].as_str().unwrap();
    let got = app.get(&format!("/api/v1/orders/{id}"), Some(token));
    got.expect(200);
    assert_eq!(
        got.data()["order"],
        order,
        "GET answers what create answered"
    );
    let list = app.get("/api/v1/orders", Some(token));
    list.expect(200);
    let listed = list.data()["orders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["id"] == order["id"])
        .cloned()
        .unwrap();
    for field in [
        "subtotal",
        "discount",
        "delivery_fee",
        "tip",
        "total",
        "fulfillment",
        "payment",
    ] {
        assert_eq!(listed[field], order[field], "the list's {field}");
    }
    order
}

#[test]
fn an_old_request_body_gets_a_paid_pickup_as_soon_as_possible_without_charges() {
    let (app, token, business, dish) = setup();
    let order = app.order(&token, &business, &dish, 2)["order"].clone();
    assert_eq!(order["subtotal"], 60000);
    assert_eq!(order["total"], 60000);
    assert_eq!(
        (&order["discount"], &order["delivery_fee"], &order["tip"]),
        (&json!(0), &json!(0), &json!(0))
    );
    assert_eq!(
        order["fulfillment"],
        json!({"type": "pickup", "pickup_at": null, "delivery_address": null, "table": null})
    );
    assert_eq!(
        order["payment"],
        json!({"status": "paid", "method": "other"})
    );
    // Explicit nulls and empty objects mean the defaults too.
    let same = place(
        &app,
        &token,
        json!({"business_id": business, "customer_name": "Rahul",
               "items": [{"dish_id": dish, "quantity": 2}],
               "fulfillment": {"pickup_at": null}, "payment": {}}),
    );
    for field in ["subtotal", "total", "fulfillment", "payment"] {
        assert_eq!(same[field], order[field], "{field}");
    }
}

#[test]
fn each_fulfillment_and_payment_is_kept_and_the_total_computed() {
    let (app, token, business, dish) = setup();
    let at = (jiff::Timestamp::now() + jiff::SignedDuration::from_hours(3))
        .round(jiff::Unit::Second)
        .unwrap();
    let base = |fulfillment: Value, payment: Value| {
        json!({"business_id": business, "customer_name": "Rahul",
               "items": [{"dish_id": dish, "quantity": 2}],
               "fulfillment": fulfillment, "payment": payment,
               "discount": 5000, "delivery_fee": 4000, "tip": 2500})
    };
    let cases = [
        (
            json!({"type": "pickup", "pickup_at": at.to_string()}),
            json!({"method": "card"}),
            json!({"type": "pickup", "pickup_at": format!("{}", at.strftime("%Y-%m-%dT%H:%M:%S.000Z")),
                   "delivery_address": null, "table": null}),
            json!({"status": "paid", "method": "card"}),
        ),
        (
            json!({"type": "delivery", "delivery_address": " 12 MG Road, Bengaluru "}),
            json!({"status": "unpaid", "method": "cash"}),
            json!({"type": "delivery", "pickup_at": null,
                   "delivery_address": "12 MG Road, Bengaluru", "table": null}),
            json!({"status": "unpaid", "method": "cash"}),
        ),
        (
            json!({"type": "dine_in", "table": "T4"}),
            json!({"status": "paid", "method": "wallet"}),
            json!({"type": "dine_in", "pickup_at": null, "delivery_address": null, "table": "T4"}),
            json!({"status": "paid", "method": "wallet"}),
        ),
    ];
    for (fulfillment, payment, want_fulfillment, want_payment) in cases {
        let order = place(&app, &token, base(fulfillment, payment));
        assert_eq!(order["fulfillment"], want_fulfillment);
        assert_eq!(order["payment"], want_payment);
        assert_eq!(order["subtotal"], 60000);
        assert_eq!(
            (&order["discount"], &order["delivery_fee"], &order["tip"]),
            (&json!(5000), &json!(4000), &json!(2500))
        );
        assert_eq!(order["total"], 60000 - 5000 + 4000 + 2500);
    }
    // A discount of the whole subtotal is allowed: the customer pays the fee only.
    let free = place(
        &app,
        &token,
        json!({"business_id": business, "customer_name": "Rahul",
               "items": [{"dish_id": dish, "quantity": 1}],
               "discount": 30000, "delivery_fee": 4000,
               "fulfillment": {"type": "delivery", "delivery_address": "12 MG Road"}}),
    );
    assert_eq!(
        (&free["subtotal"], &free["total"]),
        (&json!(30000), &json!(4000))
    );
}
