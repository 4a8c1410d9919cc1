//! Square's CreateOrder body (pure: the same input gives the same bytes).

use serde_json::{Map, Value, json};

use crate::domain::OrderId;
use crate::domain::{Integration, Order};
use crate::providers::cut;

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
    pickup.insert("schedule_type".into(), json!("ASAP"));
    if let Some(note) = order.special_instructions.as_deref() {
        pickup.insert("note".into(), json!(cut(note, PICKUP_NOTE_MAX)));
    }
    pickup.insert("recipient".into(), Value::Object(recipient));

    let mut body = Map::new();
    body.insert(
        "location_id".into(),
        json!(integration.location_id.clone().unwrap_or_default()),
    );
    body.insert("reference_id".into(), json!(order.id));
    body.insert("source".into(), json!({"name": "MenuMaker"}));
    if customer {
        body.insert(
            "ticket_name".into(),
            json!(cut(&order.customer_name, TICKET_NAME_MAX)),
        );
    }
    body.insert("line_items".into(), Value::Array(line_items));
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
}
