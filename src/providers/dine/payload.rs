//! Dine's aggregator webhook body (pure).

use serde_json::{Map, Value, json};

use crate::domain::money::major_units_json;
use crate::domain::{Integration, Order};
use crate::providers::kitchen::note_head;

/// The webhook body for `order` (pure); times in the notes are in the business's `timezone`.
pub fn order_body(order: &Order, integration: &Integration, timezone: &str) -> Value {
    let exponent = order.currency.exponent();
    let items: Vec<Value> = order
        .items
        .iter()
        .map(|item| {
            let mut line = Map::new();
            if let Some(product) = integration.item_mapping.get(&item.dish_id) {
                line.insert("productId".into(), json!(product));
            }
            line.insert("name".into(), json!(item.name));
            line.insert("quantity".into(), json!(item.quantity));
            line.insert("price".into(), major_units_json(item.unit_price, exponent));
            Value::Object(line)
        })
        .collect();
    // How the order leaves the kitchen and what to collect come first (§F5).
    let head = note_head(order, timezone);
    let notes = match order.special_instructions.as_deref() {
        Some(text) => format!("{head}. MenuMaker {} — {text}", order.id),
        None => format!("{head}. MenuMaker {}", order.id),
    };
    let mut body = Map::new();
    body.insert(
        "hotelId".into(),
        json!(integration.location_id.clone().unwrap_or_default()),
    );
    body.insert("source".into(), json!("menumaker"));
    body.insert("items".into(), Value::Array(items));
    for (field, amount) in [
        ("discount", order.charges.discount),
        ("deliveryCharge", order.charges.delivery_fee),
        ("tip", order.charges.tip),
    ] {
        if amount > 0 {
            body.insert(field.into(), major_units_json(amount, exponent));
        }
    }
    body.insert("total".into(), major_units_json(order.total, exponent));
    if integration.sync_customer_info {
        body.insert("customerName".into(), json!(order.customer_name));
    }
    body.insert("notes".into(), json!(notes));
    Value::Object(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::OrderItem;
    use crate::domain::sample_integration as sample;
    use crate::domain::{Currency, ProviderKind};

    fn order(instructions: Option<&str>) -> Order {
        Order {
            id: "0193a1b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b".into(),
            business_id: "b".into(),
            customer_name: "Rahul Kumar".into(),
            customer_phone: Some("+919876543210".into()),
            special_instructions: instructions.map(String::from),
            currency: Currency::INR,
            items: vec![
                OrderItem {
                    dish_id: "d1".into(),
                    name: "Paneer".into(),
                    quantity: 2,
                    unit_price: 30050,
                    note: None,
                },
                OrderItem {
                    dish_id: "d2".into(),
                    name: "Naan".into(),
                    quantity: 1,
                    unit_price: 4000,
                    note: None,
                },
            ],
            subtotal: 64100,
            charges: Default::default(),
            total: 64100,
            fulfillment: Default::default(),
            payment: Default::default(),
            created_at: 0,
            life: Default::default(),
            is_test: false,
        }
    }

    fn integration(customer: bool) -> Integration {
        sample(
            ProviderKind::Dine,
            Some("hotel-7"),
            customer,
            &[("d2", "prod-naan")],
        )
    }

    #[test]
    fn builds_the_f5_body_in_major_units() {
        assert_eq!(
            order_body(&order(Some("No onions")), &integration(true), "UTC"),
            json!({
                "hotelId": "hotel-7",
                "source": "menumaker",
                "items": [
                    {"name": "Paneer", "quantity": 2, "price": 300.5},
                    {"productId": "prod-naan", "name": "Naan", "quantity": 1, "price": 40.0}
                ],
                "total": 641.0,
                "customerName": "Rahul Kumar",
                "notes": "Pickup ASAP. MenuMaker 0193a1b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b — No onions"
            })
        );
        let without = order_body(&order(None), &integration(false), "UTC");
        assert!(without.get("customerName").is_none());
        assert_eq!(
            without["notes"],
            "Pickup ASAP. MenuMaker 0193a1b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b"
        );
    }

    #[test]
    fn order_level_money_and_the_kitchen_note_follow_f5() {
        use crate::domain::{FulfillmentType::*, Payment, PaymentMethod, PaymentStatus};
        use crate::providers::kitchen::tests::{AT, fulfillment, kitchen_order};
        let unpaid = Payment {
            status: PaymentStatus::Unpaid,
            method: PaymentMethod::Upi,
        };
        let order = kitchen_order(fulfillment(Pickup, Some(AT), None), unpaid);
        let body = order_body(&order, &integration(false), "Asia/Kolkata");
        assert_eq!(
            (
                &body["discount"],
                &body["deliveryCharge"],
                &body["tip"],
                &body["total"]
            ),
            (&json!(50.0), &json!(40.0), &json!(25.0), &json!(615.0))
        );
        assert_eq!(
            body["notes"],
            "Pickup at 2026-12-01 19:30. UNPAID: collect 615.00. \
             MenuMaker 0193a1b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b — Ring twice"
        );
        let mut plain = kitchen_order(fulfillment(DineIn, None, Some("T4")), Payment::default());
        plain.charges.discount = 0;
        plain.charges.tip = 0;
        plain.total = 64000;
        let body = order_body(&plain, &integration(false), "UTC");
        assert!(
            body.get("discount").is_none() && body.get("tip").is_none(),
            "{body}"
        );
        assert_eq!(body["deliveryCharge"], json!(40.0));
        assert!(
            body["notes"]
                .as_str()
                .unwrap()
                .starts_with("Table T4. MenuMaker ")
        );
    }
}
