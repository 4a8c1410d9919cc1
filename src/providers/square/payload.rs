//! Square's CreateOrder body (pure: the same input gives the same bytes).

use serde_json::{Map, Value, json};

use crate::domain::{Integration, Order, OrderId, format_millis};
use crate::providers::cut;
use crate::providers::kitchen::{destination, total_text};

/// Square's limits that possync cuts to (characters).
const TICKET_NAME_MAX: usize = 30;
const PICKUP_NOTE_MAX: usize = 500;
const DISPLAY_NAME_MAX: usize = 255;
const PHONE_MAX: usize = 17;
const LINE_NAME_MAX: usize = 512;
const LINE_NOTE_MAX: usize = 2000;

/// The idempotency key of every push of this order.
pub fn idempotency_key(order_id: &OrderId) -> String {
    format!("menumaker-{order_id}")
}

/// The CreateOrder body for `order` (pure: the same input gives the same bytes).
pub fn create_order_body(order: &Order, integration: &Integration) -> Value {
    let customer = integration.sync_customer_info;
    let line_items: Vec<Value> = order
        .items
        .iter()
        .map(|item| {
            let mut line = Map::new();
            match integration.item_mapping.get(&item.dish_id) {
                Some(variation) => {
                    line.insert("catalog_object_id".into(), json!(variation));
                }
                None => {
                    line.insert("name".into(), json!(cut(&item.name, LINE_NAME_MAX)));
                }
            }
            line.insert("quantity".into(), json!(item.quantity.to_string()));
            line.insert(
                "base_price_money".into(),
                json!({"amount": item.unit_price, "currency": order.currency.code()}),
            );
            if let Some(note) = item.note.as_deref() {
                line.insert("note".into(), json!(cut(note, LINE_NOTE_MAX)));
            }
            Value::Object(line)
        })
        .collect();

    let mut recipient = Map::new();
    let display_name = if customer {
        cut(&order.customer_name, DISPLAY_NAME_MAX)
    } else {
        format!("MenuMaker order {}", cut(order.id.as_str(), 8))
    };
    recipient.insert("display_name".into(), json!(display_name));
    if customer {
        // A phone number longer than Square allows is left out rather than cut.
        if let Some(phone) = order
            .customer_phone
            .as_deref()
            .filter(|p| p.chars().count() <= PHONE_MAX)
        {
            recipient.insert("phone_number".into(), json!(phone));
        }
    }
    let mut pickup = Map::new();
    // Delivery and dine-in go as PICKUP too: Square shows DELIVERY fulfillments to nobody
    // without a partnership (§F3), so the note says where the order goes.
    match order.fulfillment.pickup_at {
        Some(at) => {
            pickup.insert("schedule_type".into(), json!("SCHEDULED"));
            pickup.insert("pickup_at".into(), json!(format_millis(at)));
        }
        None => {
            pickup.insert("schedule_type".into(), json!("ASAP"));
        }
    }
    if let Some(note) = pickup_note(order) {
        pickup.insert("note".into(), json!(cut(&note, PICKUP_NOTE_MAX)));
    }
    let ticket_name = match (customer, order.payment.is_unpaid()) {
        (true, false) => Some(order.customer_name.clone()),
        (true, true) => Some(format!("UNPAID {}", order.customer_name)),
        (false, true) => Some(format!("UNPAID {display_name}")),
        (false, false) => None,
    };
    pickup.insert("recipient".into(), Value::Object(recipient));

    let mut body = Map::new();
    body.insert(
        "location_id".into(),
        json!(integration.location_id.clone().unwrap_or_default()),
    );
    body.insert("reference_id".into(), json!(order.id));
    body.insert("source".into(), json!({"name": "MenuMaker"}));
    if let Some(name) = ticket_name {
        body.insert("ticket_name".into(), json!(cut(&name, TICKET_NAME_MAX)));
    }
    body.insert("line_items".into(), Value::Array(line_items));
    let money = |amount: i64| json!({"amount": amount, "currency": order.currency.code()});
    let charges = &order.charges;
    if charges.discount > 0 {
        body.insert(
            "discounts".into(),
            json!([{"uid": "menumaker-discount", "name": "MenuMaker discount",
                    "type": "FIXED_AMOUNT", "amount_money": money(charges.discount),
                    "scope": "ORDER"}]),
        );
    }
    // A courier's fee and an online tip are the order's, not the staff tip pool's (which the
    // payment's tip feeds): service charges, after the discount, untaxed.
    let service_charges: Vec<Value> = [
        (
            "menumaker-delivery-fee",
            "Delivery fee",
            charges.delivery_fee,
        ),
        ("menumaker-tip", "Tip", charges.tip),
    ]
    .into_iter()
    .filter(|(_, _, amount)| *amount > 0)
    .map(|(uid, name, amount)| {
        json!({"uid": uid, "name": name, "amount_money": money(amount),
               "calculation_phase": "TOTAL_PHASE", "taxable": false})
    })
    .collect();
    if !service_charges.is_empty() {
        body.insert("service_charges".into(), Value::Array(service_charges));
    }
    body.insert(
        "fulfillments".into(),
        json!([{"type": "PICKUP", "state": "PROPOSED", "pickup_details": Value::Object(pickup)}]),
    );
    body.insert(
        "metadata".into(),
        json!({"source": "MenuMaker", "menumaker_order_id": order.id}),
    );
    // MenuMaker's prices are final (providers §F3): Square must not add a mapped item's catalog
    // taxes or discounts, or its total differs from MenuMaker's and the total check fails the push.
    body.insert(
        "pricing_options".into(),
        json!({"auto_apply_taxes": false, "auto_apply_discounts": false}),
    );
    json!({"idempotency_key": idempotency_key(&order.id), "order": Value::Object(body)})
}

/// The pickup note: `"UNPAID: collect <total> <currency>. "` for an unpaid order, then where the
/// order goes (`"Delivery: <address>"`, `"Table <table>"`) and the special instructions.
fn pickup_note(order: &Order) -> Option<String> {
    let mut note = String::new();
    if order.payment.is_unpaid() {
        note = format!(
            "UNPAID: collect {} {}. ",
            total_text(order),
            order.currency.code()
        );
    }
    let rest: Vec<String> = [destination(order), order.special_instructions.clone()]
        .into_iter()
        .flatten()
        .collect();
    note.push_str(&rest.join(". "));
    let note = note.trim_end();
    (!note.is_empty()).then(|| note.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::OrderItem;
    use crate::domain::sample_integration as sample;
    use crate::domain::{Currency, ProviderKind};

    fn order() -> Order {
        Order {
            id: "0193a1b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b".into(),
            business_id: "b".into(),
            customer_name: "Rahul Kumar with a very long name indeed".into(),
            customer_phone: Some("+919876543210".into()),
            special_instructions: Some("Ring twice".into()),
            currency: Currency::INR,
            items: vec![
                OrderItem {
                    dish_id: "dish-paneer".into(),
                    name: "Paneer Butter Masala".into(),
                    quantity: 2,
                    unit_price: 30000,
                    note: Some("Extra spicy".into()),
                },
                OrderItem {
                    dish_id: "dish-naan".into(),
                    name: "Butter Naan".into(),
                    quantity: 1,
                    unit_price: 12000,
                    note: None,
                },
            ],
            subtotal: 72000,
            charges: Default::default(),
            total: 72000,
            fulfillment: Default::default(),
            payment: Default::default(),
            created_at: 0,
            life: Default::default(),
            is_test: false,
        }
    }

    fn integration(customer: bool) -> Integration {
        sample(
            ProviderKind::Square,
            Some("L8AHQ2RX0BX1K"),
            customer,
            &[("dish-naan", "VAR-NAAN")],
        )
    }

    #[test]
    fn builds_the_f3_body_with_customer_info() {
        let body = create_order_body(&order(), &integration(true));
        assert_eq!(
            body,
            json!({
                "idempotency_key": "menumaker-0193a1b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b",
                "order": {
                    "location_id": "L8AHQ2RX0BX1K",
                    "reference_id": "0193a1b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b",
                    "source": {"name": "MenuMaker"},
                    "ticket_name": "Rahul Kumar with a very long n",
                    "line_items": [
                        {"name": "Paneer Butter Masala", "quantity": "2",
                         "base_price_money": {"amount": 30000, "currency": "INR"}, "note": "Extra spicy"},
                        {"catalog_object_id": "VAR-NAAN", "quantity": "1",
                         "base_price_money": {"amount": 12000, "currency": "INR"}}
                    ],
                    "fulfillments": [{"type": "PICKUP", "state": "PROPOSED", "pickup_details": {
                        "schedule_type": "ASAP", "note": "Ring twice",
                        "recipient": {"display_name": "Rahul Kumar with a very long name indeed",
                                      "phone_number": "+919876543210"}}}],
                    "metadata": {"source": "MenuMaker",
                                 "menumaker_order_id": "0193a1b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b"},
                    "pricing_options": {"auto_apply_taxes": false, "auto_apply_discounts": false}
                }
            })
        );
    }

    #[test]
    fn without_customer_info_there_is_no_name_or_phone() {
        let body = create_order_body(&order(), &integration(false));
        let text = body.to_string();
        assert!(!text.contains("Rahul") && !text.contains("+91"), "{text}");
        assert!(body["order"].get("ticket_name").is_none());
        assert_eq!(
            body["order"]["fulfillments"][0]["pickup_details"]["recipient"],
            json!({"display_name": "MenuMaker order 0193a1b2"})
        );
    }

    #[test]
    fn long_phone_numbers_are_left_out_and_notes_cut() {
        let mut o = order();
        o.customer_phone = Some("+91 98765 43210 ext 12".into());
        o.special_instructions = Some("x".repeat(600));
        let body = create_order_body(&o, &integration(true));
        let pickup = &body["order"]["fulfillments"][0]["pickup_details"];
        assert!(pickup["recipient"].get("phone_number").is_none());
        assert_eq!(
            pickup["note"].as_str().map(|n| n.chars().count()),
            Some(500)
        );
    }

    #[test]
    fn fulfillment_money_and_the_unpaid_marker_follow_f3() {
        use crate::domain::{FulfillmentType::*, Payment, PaymentMethod, PaymentStatus};
        use crate::providers::kitchen::tests::{AT, fulfillment, kitchen_order};
        let paid = Payment::default();
        let unpaid = Payment {
            status: PaymentStatus::Unpaid,
            method: PaymentMethod::Cash,
        };
        for (f, payment, customer, schedule, note, ticket) in [
            (
                fulfillment(Pickup, None, None),
                paid,
                true,
                json!({"schedule_type": "ASAP"}),
                "Ring twice",
                Some("Rahul Kumar"),
            ),
            (
                fulfillment(Pickup, Some(AT), None),
                paid,
                true,
                json!({"schedule_type": "SCHEDULED", "pickup_at": "2026-12-01T14:00:00.000Z"}),
                "Ring twice",
                Some("Rahul Kumar"),
            ),
            (
                fulfillment(Delivery, None, Some("12 MG Road")),
                paid,
                true,
                json!({"schedule_type": "ASAP"}),
                "Delivery: 12 MG Road. Ring twice",
                Some("Rahul Kumar"),
            ),
            (
                fulfillment(DineIn, Some(AT), Some("T4")),
                paid,
                false,
                json!({"schedule_type": "SCHEDULED", "pickup_at": "2026-12-01T14:00:00.000Z"}),
                "Table T4. Ring twice",
                None,
            ),
            (
                fulfillment(Delivery, None, Some("12 MG Road")),
                unpaid,
                true,
                json!({"schedule_type": "ASAP"}),
                "UNPAID: collect 615.00 INR. Delivery: 12 MG Road. Ring twice",
                Some("UNPAID Rahul Kumar"),
            ),
            (
                fulfillment(Pickup, None, None),
                unpaid,
                false,
                json!({"schedule_type": "ASAP"}),
                "UNPAID: collect 615.00 INR. Ring twice",
                Some("UNPAID MenuMaker order 0193a1b"),
            ),
        ] {
            let order = kitchen_order(f.clone(), payment);
            let body = create_order_body(&order, &integration(customer));
            let o = &body["order"];
            let pickup = &o["fulfillments"][0]["pickup_details"];
            let label = format!("{f:?} {payment:?} customer {customer}");
            assert_eq!(o["fulfillments"][0]["type"], "PICKUP", "{label}");
            assert_eq!(
                pickup["schedule_type"], schedule["schedule_type"],
                "{label}"
            );
            assert_eq!(
                pickup.get("pickup_at"),
                schedule.get("pickup_at"),
                "{label}"
            );
            assert!(pickup.get("prep_time_duration").is_none(), "{label}");
            assert_eq!(pickup["note"], note, "{label}");
            assert_eq!(o["ticket_name"].as_str(), ticket, "{label}");
            assert_eq!(
                o["discounts"],
                json!([{"uid": "menumaker-discount", "name": "MenuMaker discount",
                        "type": "FIXED_AMOUNT", "amount_money": {"amount": 5000, "currency": "INR"},
                        "scope": "ORDER"}]),
                "{label}"
            );
            assert_eq!(
                o["service_charges"],
                json!([
                    {"uid": "menumaker-delivery-fee", "name": "Delivery fee",
                     "amount_money": {"amount": 4000, "currency": "INR"},
                     "calculation_phase": "TOTAL_PHASE", "taxable": false},
                    {"uid": "menumaker-tip", "name": "Tip",
                     "amount_money": {"amount": 2500, "currency": "INR"},
                     "calculation_phase": "TOTAL_PHASE", "taxable": false}
                ]),
                "{label}"
            );
        }
        // Without charges there are neither discounts nor service charges; one charge alone
        // goes alone.
        let mut plain = kitchen_order(Default::default(), paid);
        plain.charges = Default::default();
        plain.total = plain.subtotal;
        let body = create_order_body(&plain, &integration(true));
        assert!(body["order"].get("discounts").is_none());
        assert!(body["order"].get("service_charges").is_none());
        plain.charges.tip = 100;
        plain.total += 100;
        let body = create_order_body(&plain, &integration(true));
        assert_eq!(body["order"]["service_charges"][0]["uid"], "menumaker-tip");
        assert_eq!(
            body["order"]["service_charges"].as_array().map(Vec::len),
            Some(1)
        );
        // Instructions cut to 500 keep the markers at the start.
        plain.payment = unpaid;
        plain.special_instructions = Some("x".repeat(600));
        let body = create_order_body(&plain, &integration(true));
        let note = body["order"]["fulfillments"][0]["pickup_details"]["note"]
            .as_str()
            .unwrap();
        assert_eq!(note.chars().count(), 500);
        assert!(
            note.starts_with("UNPAID: collect 601.00 INR. xxx"),
            "{note}"
        );
    }

    #[test]
    fn the_payment_type_follows_the_method_and_an_unpaid_order_says_so() {
        use crate::domain::{Payment, PaymentMethod::*, PaymentStatus};
        use crate::providers::kitchen::tests::kitchen_order;
        use crate::providers::square::payment::create_payment_body;
        for (status, method, want, note) in [
            (PaymentStatus::Paid, Card, "CARD", None),
            (PaymentStatus::Paid, Upi, "EMONEY", None),
            (PaymentStatus::Paid, Wallet, "EMONEY", None),
            (PaymentStatus::Paid, Cash, "OTHER", None),
            (PaymentStatus::Paid, Other, "OTHER", None),
            (
                PaymentStatus::Unpaid,
                Card,
                "OTHER",
                Some("Unpaid: collect at pickup"),
            ),
            (
                PaymentStatus::Unpaid,
                Cash,
                "OTHER",
                Some("Unpaid: collect at pickup"),
            ),
        ] {
            let order = kitchen_order(Default::default(), Payment { status, method });
            let body = create_payment_body(&order, &integration(true), None, "SQ-1");
            assert_eq!(body["external_details"]["type"], want, "{status} {method}");
            assert_eq!(body["note"].as_str(), note, "{status} {method}");
            assert_eq!(
                body["amount_money"],
                json!({"amount": 61500, "currency": "INR"})
            );
        }
    }
}
