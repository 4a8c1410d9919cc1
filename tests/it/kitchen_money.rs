//! Orders the kitchen sees, in every POS (providers §F3, §F3b, §F4b, §F5): each fulfillment,
//! each payment method, the unpaid marker, and the discount, delivery fee and tip reach Square,
//! Zoho and Dine, whose mocks compute the totals from what they receive: every push below
//! succeeds only because those totals match MenuMaker's. A Zoho total that differs fails the
//! log at once naming both totals, whether Zoho answered the create or a retry found the sales
//! order by its reference number.

use crate::common;

use std::time::Duration;

use common::mock_zoho::ZohoFault;
use common::provider_env::{ProviderEnv, outcomes};
use serde_json::{Value, json};

/// The business's time zone (the default): local times in notes are Kolkata's.
const ZONE: &str = "Asia/Kolkata";

/// An order of 2 × the env's dish with `fulfillment` and `payment`, discount 5000, delivery fee
/// 4000 and tip 2500.
fn order_body<M>(env: &ProviderEnv<M>, fulfillment: Value, payment: Value) -> Value {
    json!({"customer_name": "Rahul Kumar", "customer_phone": "+919876543210",
           "special_instructions": "Ring the bell",
           "items": [{"dish_id": env.dish, "quantity": 2}],
           "fulfillment": fulfillment, "payment": payment,
           "discount": 5000, "delivery_fee": 4000, "tip": 2500})
}

/// Two hours from now to the second, as RFC 3339 and as Kolkata's `YYYY-MM-DD HH:MM`.
fn in_two_hours() -> (String, String) {
    let at = (jiff::Timestamp::now() + jiff::SignedDuration::from_hours(2))
        .round(jiff::Unit::Second)
        .unwrap();
    let local = at
        .to_zoned(jiff::tz::TimeZone::get(ZONE).unwrap())
        .strftime("%Y-%m-%d %H:%M")
        .to_string();
    (at.to_string(), local)
}

#[test]
fn square_gets_each_fulfillment_payment_type_and_the_money_and_shows_every_order() {
    let env = ProviderEnv::square(&[]);
    let (at, _) = in_two_hours();
    let at_ms: jiff::Timestamp = at.parse().unwrap();
    // (fulfillment, payment, schedule, pickup_at Square gets, note, ticket, payment type, note)
    let cases = [
        (
            json!({"type": "pickup"}),
            json!({"method": "card"}),
            "ASAP",
            None,
            "Ring the bell",
            "Rahul Kumar",
            "CARD",
            None,
        ),
        (
            json!({"type": "pickup", "pickup_at": at}),
            json!({"method": "upi"}),
            "SCHEDULED",
            Some(format!("{at_ms:.3}")),
            "Ring the bell",
            "Rahul Kumar",
            "EMONEY",
            None,
        ),
        (
            json!({"type": "delivery", "delivery_address": "12 MG Road, Bengaluru"}),
            json!({"status": "paid", "method": "wallet"}),
            "ASAP",
            None,
            "Delivery: 12 MG Road, Bengaluru. Ring the bell",
            "Rahul Kumar",
            "EMONEY",
            None,
        ),
        (
            json!({"type": "dine_in", "table": "T4"}),
            json!({"method": "cash"}),
            "ASAP",
            None,
            "Table T4. Ring the bell",
            "Rahul Kumar",
            "OTHER",
            None,
        ),
        (
            json!({"type": "pickup"}),
            json!({"method": "other"}),
            "ASAP",
            None,
            "Ring the bell",
            "Rahul Kumar",
            "OTHER",
            None,
        ),
        (
            json!({"type": "delivery", "delivery_address": "12 MG Road, Bengaluru"}),
            json!({"status": "unpaid", "method": "card"}),
            "ASAP",
            None,
            "UNPAID: collect 615.00 INR. Delivery: 12 MG Road, Bengaluru. Ring the bell",
            "UNPAID Rahul Kumar",
            "OTHER",
            Some("Unpaid: collect at pickup"),
        ),
    ];
    let placed: Vec<String> = cases
        .iter()
        .map(|(f, p, ..)| env.place(order_body(&env, f.clone(), p.clone())).0)
        .collect();
    for (order_id, (f, p, schedule, pickup_at, note, ticket, kind, pay_note)) in
        placed.iter().zip(cases)
    {
        let label = format!("{f} {p}");
        let log = env.wait_status(order_id, "success");
        let pos_order_id = log["pos_order_id"].as_str().unwrap();
        assert_eq!(log["pos_visible"], true, "{label}: {log}");
        assert!(
            env.mock.is_visible(pos_order_id),
            "{label}: the kitchen sees it"
        );
        let sent = env.requests_for(order_id);
        assert_eq!(sent.len(), 1, "{label}");
        let o = &sent[0].body["order"];
        let pickup = &o["fulfillments"][0]["pickup_details"];
        assert_eq!(o["fulfillments"][0]["type"], "PICKUP", "{label}");
        assert_eq!(pickup["schedule_type"], schedule, "{label}");
        assert_eq!(
            pickup["pickup_at"].as_str(),
            pickup_at.as_deref(),
            "{label}"
        );
        assert_eq!(pickup["note"], note, "{label}");
        assert_eq!(o["ticket_name"], ticket, "{label}");
        // Square's own arithmetic over the discount and the two service charges.
        let held = &env.mock_orders_for(order_id)[0];
        assert_eq!(held["total_money"]["amount"], 61500, "{label}");
        assert_eq!(held["total_discount_money"]["amount"], 5000, "{label}");
        assert_eq!(
            held["total_service_charge_money"]["amount"], 6500,
            "{label}"
        );
        assert_eq!(held["total_tax_money"]["amount"], 0, "{label}");
        let payments: Vec<Value> = env
            .mock
            .payment_requests()
            .into_iter()
            .map(|r| r.body)
            .filter(|b| b["order_id"] == pos_order_id)
            .collect();
        assert_eq!(payments.len(), 1, "{label}");
        assert_eq!(payments[0]["amount_money"]["amount"], 61500, "{label}");
        assert_eq!(payments[0]["external_details"]["type"], kind, "{label}");
        assert_eq!(payments[0]["note"].as_str(), pay_note, "{label}");
    }
    env.assert_no_problems();
}

#[test]
fn zoho_gets_the_discount_shipping_tip_and_the_kitchen_note_and_its_total_matches() {
    let env = ProviderEnv::zoho(&[]);
    let (at, local) = in_two_hours();
    let cases = [
        (
            json!({"type": "pickup", "pickup_at": at}),
            json!({"method": "upi"}),
            format!("Pickup at {local}. Ring the bell"),
        ),
        (
            json!({"type": "delivery", "delivery_address": "12 MG Road"}),
            json!({"status": "unpaid", "method": "cash"}),
            "Delivery: 12 MG Road. UNPAID: collect 615.00. Ring the bell".to_string(),
        ),
        (
            json!({"type": "dine_in", "table": "T4"}),
            json!({}),
            "Table T4. Ring the bell".to_string(),
        ),
    ];
    for (f, p, notes) in cases {
        let (order_id, _) = env.place(order_body(&env, f.clone(), p));
        let log = env.wait_status(&order_id, "success");
        assert_eq!(log["pos_visible"], Value::Null, "{f}");
        let sent = env.mock.create_requests_for(&order_id);
        assert_eq!(sent.len(), 1);
        let body = &sent[0].body;
        assert_eq!(body["notes"], notes.as_str(), "{f}");
        assert_eq!(
            (
                &body["discount"],
                &body["discount_type"],
                &body["is_discount_before_tax"]
            ),
            (&json!(50.0), &json!("entity_level"), &json!(true)),
            "{f}"
        );
        assert_eq!(body["shipping_charge"], json!(40.0), "{f}");
        assert_eq!(
            (&body["adjustment"], &body["adjustment_description"]),
            (&json!(25.0), &json!("Tip"))
        );
        let so = &env.mock.sales_orders_for(&order_id)[0];
        assert_eq!(so["total"], json!(615.0), "Zoho's own total");
        assert_eq!(so["sub_total"], json!(600.0));
    }
    env.assert_no_problems();
}

#[test]
fn a_zoho_total_that_differs_fails_at_once_naming_both_totals() {
    let env = ProviderEnv::zoho(&[]);
    env.mock.add_unasked_tax(30.0);
    let (order_id, _) = env.place(order_body(&env, json!({"type": "pickup"}), json!({})));
    let log = env.wait_status(&order_id, "failed");
    let error = log["error_message"].as_str().unwrap_or_default();
    assert!(
        error.contains("Zoho computed total 645") && error.contains("MenuMaker total 615.00"),
        "{log}"
    );
    assert_eq!(
        outcomes(&env.attempts(log["id"].as_str().unwrap())).len(),
        1,
        "no retry: a retry would get the same total"
    );
    assert_eq!(env.mock.create_requests_for(&order_id).len(), 1);
    assert!(
        log["pos_order_id"].is_string(),
        "the sales order is known: {log}"
    );
    env.assert_no_problems();
}

#[test]
fn a_zoho_sales_order_found_after_a_lost_answer_is_held_to_the_same_total_check() {
    // The retry after a create whose answer was lost finds the sales order by its reference
    // number instead of creating it; that sales order is checked exactly as a created one.
    let env = ProviderEnv::zoho(&["--provider-timeout", "1s"]);
    env.mock.add_unasked_tax(30.0);
    let body = order_body(&env, json!({"type": "pickup"}), json!({}));
    let (created, _) = env.place(body.clone());
    let on_create = env.wait_status(&created, "failed");

    env.mock
        .push_fault(ZohoFault::TimeoutAfterCommit(Duration::from_millis(1800)));
    let (found, _) = env.place(body);
    let on_lookup = env.wait_status(&found, "failed");
    assert_eq!(
        on_lookup["error_message"], on_create["error_message"],
        "flagged as on create: {on_lookup}"
    );
    assert!(
        on_lookup["error_message"]
            .as_str()
            .is_some_and(|e| e.contains("Zoho computed total 645")),
        "{on_lookup}"
    );
    // The lost answer is retried; the lookup's answer fails at once, as a create's does.
    env.attempts_were(
        &on_lookup,
        &[(Value::Null, "retry"), (json!(200), "failed")],
    );
    assert_eq!(
        env.mock.create_requests_for(&found).len(),
        1,
        "found, not created again"
    );
    let held = env.mock.sales_orders_for(&found);
    assert_eq!(held.len(), 1);
    assert_eq!(
        on_lookup["pos_order_id"], held[0]["salesorder_id"],
        "the sales order is known"
    );
    env.assert_no_problems();
}

#[test]
fn dine_gets_the_discount_delivery_charge_tip_and_the_kitchen_note() {
    let env = ProviderEnv::dine(&[]);
    let (at, local) = in_two_hours();
    // The Dine dish costs 30050: 2 make 601.00; − 50 + 40 + 25 = 616.00.
    let cases = [
        (
            json!({"type": "pickup"}),
            json!({"method": "card"}),
            "Pickup ASAP".to_string(),
        ),
        (
            json!({"type": "pickup", "pickup_at": at}),
            json!({"status": "unpaid"}),
            format!("Pickup at {local}. UNPAID: collect 616.00"),
        ),
        (
            json!({"type": "delivery", "delivery_address": "12 MG Road"}),
            json!({}),
            "Delivery: 12 MG Road".to_string(),
        ),
        (
            json!({"type": "dine_in", "table": "T4"}),
            json!({}),
            "Table T4".to_string(),
        ),
    ];
    for (f, p, head) in cases {
        let (order_id, data) = env.place(order_body(&env, f.clone(), p));
        assert_eq!(data["order"]["total"], 61600);
        env.wait_status(&order_id, "success");
        let orders = env.mock.orders_for(&order_id);
        assert_eq!(orders.len(), 1, "{f}");
        let o = &orders[0];
        assert_eq!(
            (&o["discount"], &o["deliveryCharge"], &o["tip"], &o["total"]),
            (&json!(50.0), &json!(40.0), &json!(25.0), &json!(616.0)),
            "{f}"
        );
        assert_eq!(
            o["notes"],
            format!("{head}. MenuMaker {order_id} — Ring the bell"),
            "{f}"
        );
    }
    env.assert_no_problems();
}
