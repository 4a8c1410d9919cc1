//! Zoho's sales order body (pure).

use serde_json::{Map, Value, json};

use crate::domain::money::major_units_json;
use crate::domain::{Integration, Order};
use crate::providers::kitchen::note_head;

/// The order's creation date in the business's time zone, `YYYY-MM-DD`.
pub fn order_date(created_at: i64, timezone: &str) -> String {
    let tz = jiff::tz::TimeZone::get(timezone).unwrap_or(jiff::tz::TimeZone::UTC);
    jiff::Timestamp::from_millisecond(created_at)
        .map(|ts| ts.to_zoned(tz).date().to_string())
        .unwrap_or_default()
}

/// The sales order body for `order`, with `customer_id` (pure).
pub fn sales_order_body(
    order: &Order,
    integration: &Integration,
    timezone: &str,
    customer_id: &str,
) -> Value {
    let exponent = order.currency.exponent();
    let lines: Vec<Value> = order
        .items
        .iter()
        .map(|item| {
            let mut line = Map::new();
            if let Some(id) = integration.item_mapping.get(&item.dish_id) {
                line.insert("item_id".into(), json!(id));
            }
            line.insert("name".into(), json!(item.name));
            if let Some(note) = item.note.as_deref() {
                line.insert("description".into(), json!(note));
            }
            line.insert("rate".into(), major_units_json(item.unit_price, exponent));
            line.insert("quantity".into(), json!(item.quantity));
            Value::Object(line)
        })
        .collect();
    let mut body = Map::new();
    body.insert("customer_id".into(), json!(customer_id));
    body.insert("reference_number".into(), json!(order.id));
    body.insert("date".into(), json!(order_date(order.created_at, timezone)));
    // How the order leaves the kitchen and what to collect come first (§F4b).
    let head = note_head(order, timezone);
    let notes = match order.special_instructions.as_deref() {
        Some(text) => format!("{head}. {text}"),
        None => head,
    };
    body.insert("notes".into(), json!(notes));
    if let Some(location) = integration.location_id.as_deref() {
        body.insert("location_id".into(), json!(location));
    }
    body.insert("line_items".into(), Value::Array(lines));
    let charges = &order.charges;
    if charges.discount > 0 {
        body.insert(
            "discount".into(),
            major_units_json(charges.discount, exponent),
        );
        body.insert("discount_type".into(), json!("entity_level"));
        body.insert("is_discount_before_tax".into(), json!(true));
    }
    if charges.delivery_fee > 0 {
        body.insert(
            "shipping_charge".into(),
            major_units_json(charges.delivery_fee, exponent),
        );
    }
    if charges.tip > 0 {
        body.insert("adjustment".into(), major_units_json(charges.tip, exponent));
        body.insert("adjustment_description".into(), json!("Tip"));
    }
    Value::Object(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::OrderItem;
    use crate::domain::sample_integration as sample;
    use crate::domain::{Currency, ProviderKind};

    #[test]
    fn builds_the_f4_body_in_major_units_dated_in_the_business_zone() {
        let order = Order {
            id: "0193a1b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b".into(),
            business_id: "b".into(),
            customer_name: "Rahul".into(),
            customer_phone: None,
            special_instructions: Some("Table 4".into()),
            currency: Currency::INR,
            items: vec![OrderItem {
                dish_id: "d1".into(),
                name: "Paneer Tikka".into(),
                quantity: 2,
                unit_price: 30000,
                note: Some("no onions".into()),
            }],
            subtotal: 60000,
            charges: Default::default(),
            total: 60000,
            fulfillment: Default::default(),
            payment: Default::default(),
            // 2026-11-24T20:00:00Z is already the 25th in Kolkata (UTC+5:30).
            created_at: 1_795_550_400_000,
            life: Default::default(),
            is_test: false,
        };
        let mut integration = sample(ProviderKind::Zoho, None, true, &[("d1", "460000000027009")]);
        integration.merchant_id = Some("org-1".into());
        assert_eq!(order_date(order.created_at, "UTC"), "2026-11-24");
        assert_eq!(
            sales_order_body(&order, &integration, "Asia/Kolkata", "460000000026049"),
            json!({
                "customer_id": "460000000026049",
                "reference_number": "0193a1b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b",
                "date": "2026-11-25",
                "notes": "Pickup ASAP. Table 4",
                "line_items": [{"item_id": "460000000027009", "name": "Paneer Tikka",
                                "description": "no onions", "rate": 300.0, "quantity": 2}]
            })
        );
    }

    #[test]
    fn order_level_money_and_the_kitchen_note_follow_f4b() {
        use crate::domain::{FulfillmentType::*, Payment, PaymentMethod, PaymentStatus};
        use crate::providers::kitchen::tests::{AT, fulfillment, kitchen_order};
        let unpaid = Payment {
            status: PaymentStatus::Unpaid,
            method: PaymentMethod::Cash,
        };
        let integration = sample(ProviderKind::Zoho, None, true, &[]);
        let order = kitchen_order(fulfillment(Delivery, Some(AT), Some("12 MG Road")), unpaid);
        let body = sales_order_body(&order, &integration, "Asia/Kolkata", "c-1");
        assert_eq!(
            body["notes"],
            "Delivery: 12 MG Road, ready at 2026-12-01 19:30. UNPAID: collect 615.00. Ring twice"
        );
        for (field, want) in [
            ("discount", json!(50.0)),
            ("discount_type", json!("entity_level")),
            ("is_discount_before_tax", json!(true)),
            ("shipping_charge", json!(40.0)),
            ("adjustment", json!(25.0)),
            ("adjustment_description", json!("Tip")),
        ] {
            assert_eq!(body[field], want, "{field}");
        }
        let mut plain = kitchen_order(fulfillment(DineIn, None, Some("T4")), Payment::default());
        plain.charges = Default::default();
        plain.special_instructions = None;
        let body = sales_order_body(&plain, &integration, "UTC", "c-1");
        assert_eq!(body["notes"], "Table T4");
        for field in ["discount", "discount_type", "shipping_charge", "adjustment"] {
            assert!(body.get(field).is_none(), "{field} without an amount");
        }
    }
}
