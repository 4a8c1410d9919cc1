//! Dine POS: the aggregator webhook of providers/README.md §F5.
//!
//! Dine has no idempotency key and no lookup by our reference, so a push is **at least once**:
//! when no answer comes after the body went out (timeout, reset), the order may be in the POS
//! already. Such an attempt is recorded as `ambiguous` and retried, and the seller is told to
//! check the POS for a duplicate.

use std::time::Duration;

use serde_json::{Map, Value, json};

use super::http::{self, Answer};
use super::{PosClient, PushContext, PushResult};
use crate::domain::Currency;
use crate::domain::money::major_units_json;
use crate::store::{Integration, Order, Store};
use crate::sync::policy::Outcome;

/// The webhook body for `order` (pure).
pub fn order_body(order: &Order, integration: &Integration) -> Value {
    let exponent = Currency::parse(&order.currency).map_or(2, Currency::exponent);
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
    let notes = match order.special_instructions.as_deref() {
        Some(text) => format!("MenuMaker {} — {text}", order.id),
        None => format!("MenuMaker {}", order.id),
    };
    let mut body = Map::new();
    body.insert(
        "hotelId".into(),
        json!(integration.location_id.clone().unwrap_or_default()),
    );
    body.insert("source".into(), json!("menumaker"));
    body.insert("items".into(), Value::Array(items));
    body.insert("total".into(), major_units_json(order.total, exponent));
    if integration.sync_customer_info {
        body.insert("customerName".into(), json!(order.customer_name));
    }
    body.insert("notes".into(), json!(notes));
    Value::Object(body)
}

/// Classify Dine's answer.
pub fn outcome_of(answer: &Answer) -> Outcome {
    let parsed: Option<Value> = serde_json::from_str(&answer.body).ok();
    if (200..300).contains(&answer.status) {
        let number = parsed
            .as_ref()
            .filter(|v| v.get("success").and_then(Value::as_bool) != Some(false))
            .and_then(|v| {
                v.get("orderNumber")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            });
        return match number {
            Some(pos_order_id) => Outcome::Success { pos_order_id },
            None => Outcome::Ambiguous {
                error: format!(
                    "Dine POS answered HTTP {} without an orderNumber",
                    answer.status
                ),
            },
        };
    }
    let detail = parsed
        .as_ref()
        .and_then(|v| {
            v.get("message")
                .or_else(|| v.get("error"))
                .and_then(Value::as_str)
        })
        .map(|m| format!(": {m}"))
        .unwrap_or_default();
    let error = format!("Dine POS answered HTTP {}{detail}", answer.status);
    match answer.status {
        401 | 403 => Outcome::AuthFailed {
            error: format!("{error}; the webhook secret was refused"),
        },
        _ => http::classify(answer.status, error, answer.retry_after, false),
    }
}

/// The Dine POS aggregator webhook.
pub struct DineClient {
    agent: ureq::Agent,
    base_url: Option<String>,
}

impl DineClient {
    /// A client for `base_url` (`--dine-base-url`; without it, pushes fail with a message).
    pub fn new(base_url: Option<&str>, timeout: Duration) -> DineClient {
        DineClient {
            agent: http::agent(timeout),
            base_url: base_url.map(|u| u.trim_end_matches('/').to_string()),
        }
    }
}

impl PosClient for DineClient {
    fn build_request(
        &self,
        order: &Order,
        integration: &Integration,
        _timezone: &str,
        _store: &Store,
    ) -> crate::Result<Value> {
        Ok(order_body(order, integration))
    }

    fn push(&self, ctx: &PushContext<'_>) -> PushResult {
        let Some(base) = &self.base_url else {
            return PushResult {
                http_status: None,
                outcome: Outcome::Rejected {
                    error: "possync has no --dine-base-url; set it to push to Dine POS".into(),
                },
            };
        };
        let body = order_body(ctx.order, ctx.integration).to_string();
        let sent = self
            .agent
            .post(format!("{base}/api/aggregator/order"))
            .header("X-Webhook-Secret", ctx.access_token.expose())
            .header("Content-Type", "application/json")
            .send(body);
        match sent {
            Ok(resp) => match http::read(resp) {
                Ok(answer) => PushResult {
                    http_status: Some(answer.status),
                    outcome: outcome_of(&answer),
                },
                Err(error) => PushResult {
                    http_status: None,
                    outcome: Outcome::Ambiguous { error },
                },
            },
            // Nothing was sent: safe to retry.
            Err(e @ (ureq::Error::ConnectionFailed | ureq::Error::HostNotFound)) => PushResult {
                http_status: None,
                outcome: Outcome::Transient {
                    error: http::describe(&e),
                },
            },
            Err(e) => PushResult {
                http_status: None,
                outcome: Outcome::Ambiguous {
                    error: format!(
                        "{}; Dine POS may have the order already: check it for a duplicate",
                        http::describe(&e)
                    ),
                },
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ProviderKind;
    use crate::store::OrderItem;
    use crate::store::integrations::sample;

    fn order(instructions: Option<&str>) -> Order {
        Order {
            id: "0193a1b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b".into(),
            business_id: "b".into(),
            customer_name: "Rahul Kumar".into(),
            customer_phone: Some("+919876543210".into()),
            special_instructions: instructions.map(String::from),
            currency: "INR".into(),
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
            total: 64100,
            created_at: 0,
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
            order_body(&order(Some("No onions")), &integration(true)),
            json!({
                "hotelId": "hotel-7",
                "source": "menumaker",
                "items": [
                    {"name": "Paneer", "quantity": 2, "price": 300.5},
                    {"productId": "prod-naan", "name": "Naan", "quantity": 1, "price": 40.0}
                ],
                "total": 641.0,
                "customerName": "Rahul Kumar",
                "notes": "MenuMaker 0193a1b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b — No onions"
            })
        );
        let without = order_body(&order(None), &integration(false));
        assert!(without.get("customerName").is_none());
        assert_eq!(
            without["notes"],
            "MenuMaker 0193a1b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b"
        );
    }

    #[test]
    fn classifies_dine_answers() {
        let answer = |status, body: &str| Answer {
            status,
            body: body.into(),
            retry_after: None,
        };
        assert_eq!(
            outcome_of(&answer(
                201,
                r#"{"success":true,"orderNumber":"AGG-20261125-001"}"#
            )),
            Outcome::Success {
                pos_order_id: "AGG-20261125-001".into()
            }
        );
        assert!(matches!(
            outcome_of(&answer(401, "{}")),
            Outcome::AuthFailed { .. }
        ));
        assert!(matches!(
            outcome_of(&answer(400, r#"{"message":"hotelId missing"}"#)),
            Outcome::Rejected { .. }
        ));
        assert!(matches!(
            outcome_of(&answer(404, "{}")),
            Outcome::Rejected { .. }
        ));
        assert!(matches!(
            outcome_of(&answer(500, "{}")),
            Outcome::Transient { .. }
        ));
    }
}
