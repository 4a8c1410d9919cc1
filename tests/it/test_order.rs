//! The test order: pushed at once whatever auto-sync says, marked `is_test` on the order and in
//! history, left out of stats, its line on a hidden dish no list, mapping or order can name.

use serde_json::{Value, json};

use crate::common::Resp;
use crate::common::provider_env::ProviderEnv;

impl<M> ProviderEnv<M> {
    /// `POST /pos/test-order/{business}`.
    pub fn test_order(&self) -> Resp {
        self.app.post(
            &format!("/api/v1/pos/test-order/{}", self.business),
            Some(&self.token),
            json!({}),
        )
    }

    /// A test order sent (202, "Test order sent"); returns (order id, data).
    pub fn sent_test_order(&self) -> (String, Value) {
        let resp = self.test_order();
        resp.expect(202);
        assert_eq!(resp.body["message"], "Test order sent");
        let data = resp.data().clone();
        (data["order"]["id"].as_str().unwrap().to_string(), data)
    }
}

#[test]
fn a_test_order_reaches_the_pos_at_once_is_in_history_and_not_in_stats() {
    let env = ProviderEnv::square(&[]);
    let real = env.order();
    env.wait_status(&real, "success");
    env.patch_integration(json!({"auto_sync_orders": false}));

    let (id, data) = env.sent_test_order();
    let order = &data["order"];
    assert_eq!(order["is_test"], true);
    assert_eq!(order["customer_name"], "possync test order");
    assert_eq!(order["total"], 100);
    assert_eq!(
        (
            &order["subtotal"],
            &order["discount"],
            &order["delivery_fee"],
            &order["tip"]
        ),
        (&json!(100), &json!(0), &json!(0), &json!(0))
    );
    assert_eq!(order["payment"]["status"], "paid");
    assert_eq!(order["fulfillment"]["type"], "pickup");
    assert_eq!(
        order["fulfillment"]["pickup_at"],
        Value::Null,
        "as soon as possible"
    );
    let lines = order["items"].as_array().unwrap();
    assert_eq!(lines.len(), 1);
    assert_eq!(
        (
            &lines[0]["name"],
            &lines[0]["quantity"],
            &lines[0]["unit_price"]
        ),
        (&json!("possync test item"), &json!(1), &json!(100))
    );
    let log = &data["syncLog"];
    assert_eq!(log["is_test"], true);
    assert_eq!(log["order_id"], json!(id));
    assert_eq!(log["action"], "create");

    // Pushed although auto-sync is off, as an ad hoc line at 100 paise.
    let done = env.wait_status(&id, "success");
    assert_eq!(done["id"], log["id"]);
    let pushed = env.mock_orders_for(&id);
    assert_eq!(pushed.len(), 1);
    let line = &pushed[0]["line_items"][0];
    assert_eq!(line["name"], "possync test item");
    assert_eq!(line["base_price_money"]["amount"], 100);
    assert_eq!(
        env.app
            .get(&format!("/api/v1/orders/{id}"), Some(&env.token))
            .data()["order"]["is_test"],
        true
    );

    // History shows it, marked; stats count only the real order.
    let history = env.history("");
    let logs = history.data()["logs"].as_array().unwrap().clone();
    let marks: Vec<(Value, Value)> = logs
        .iter()
        .map(|l| (l["order_id"].clone(), l["is_test"].clone()))
        .collect();
    assert_eq!(
        marks,
        [(json!(id), json!(true)), (json!(real), json!(false))]
    );
    let stats = env.stats();
    assert_eq!(
        (
            &stats["total_syncs"],
            &stats["successful_syncs"],
            &stats["success_rate"]
        ),
        (&json!(1), &json!(1), &json!(100.0)),
        "{stats}"
    );

    // The test line's dish is hidden: not listed, not in the mapping, not orderable or mappable.
    let test_dish = lines[0]["dish_id"].as_str().unwrap().to_string();
    let dishes = env.app.get(
        &format!("/api/v1/businesses/{}/dishes", env.business),
        Some(&env.token),
    );
    assert_eq!(dishes.data()["total"], 1);
    assert_eq!(dishes.data()["dishes"][0]["id"], json!(env.dish));
    let order = env.app.post(
        "/api/v1/orders",
        Some(&env.token),
        json!({"business_id": env.business, "customer_name": "Rahul",
               "items": [{"dish_id": test_dish, "quantity": 1}]}),
    );
    assert!(
        order
            .expect_error(400, "VALIDATION_ERROR")
            .starts_with("items[0].dish_id")
    );
    let mapped = env.app.patch(
        &format!("/api/v1/pos/integration/{}", env.business),
        Some(&env.token),
        json!({"item_mapping": {test_dish.clone(): "V1"}}),
    );
    mapped.expect_error(400, "VALIDATION_ERROR");

    // A second test order reuses the one hidden dish.
    let (again, data) = env.sent_test_order();
    assert_eq!(data["order"]["items"][0]["dish_id"], json!(test_dish));
    env.wait_status(&again, "success");
    assert_eq!(env.stats()["total_syncs"], 1);
    env.assert_no_problems();
}

#[test]
fn a_test_order_reaches_zoho_and_dine_too() {
    let zoho = ProviderEnv::zoho(&[]);
    let (id, _) = zoho.sent_test_order();
    zoho.wait_status(&id, "success");
    zoho.assert_no_problems();
    let dine = ProviderEnv::dine(&[]);
    let (id, _) = dine.sent_test_order();
    dine.wait_status(&id, "success");
    dine.assert_no_problems();
}

#[test]
fn a_test_order_needs_an_active_integration_of_your_own_business() {
    let env = ProviderEnv::square(&[]);
    let other = env.app.login_new_seller("someone@else.in");
    let foreign = env.app.post(
        &format!("/api/v1/pos/test-order/{}", env.business),
        Some(&other),
        json!({}),
    );
    foreign.expect_error(404, "NOT_FOUND");
    env.disconnect();
    let before = env.app.snapshot();
    let message = env.test_order().expect_error(409, "CONFLICT");
    assert!(message.contains("no active POS integration"), "{message}");
    assert_eq!(env.app.snapshot(), before, "a refusal writes nothing");
    let unknown = env.app.post(
        "/api/v1/pos/test-order/0193a1b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b",
        Some(&env.token),
        json!({}),
    );
    unknown.expect_error(404, "NOT_FOUND");
}
