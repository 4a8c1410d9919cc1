//! Zoho Inventory: sales orders per providers/README.md §F4.
//!
//! Zoho has no idempotency key. Retries are made safe by looking the order up by
//! `reference_number` (= our order id) before creating it again, so a push is exactly once as
//! long as Zoho's search sees the order (it does once the create returned).

use std::time::Duration;

use serde_json::{Map, Value, json};

use super::http::{self, Answer};
use super::{PosClient, PushContext, PushResult};
use crate::domain::money::major_units_json;
use crate::domain::{Currency, now_millis};
use crate::store::{Integration, Order, Store};
use crate::sync::policy::Outcome;

/// The contact every order goes to when customer sync is off (or no customer is known).
pub const SHARED_CONTACT: &str = "MenuMaker online orders";

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
    let exponent = Currency::parse(&order.currency).map_or(2, Currency::exponent);
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
    if let Some(notes) = order.special_instructions.as_deref() {
        body.insert("notes".into(), json!(notes));
    }
    if let Some(location) = integration.location_id.as_deref() {
        body.insert("location_id".into(), json!(location));
    }
    body.insert("line_items".into(), Value::Array(lines));
    Value::Object(body)
}

/// Zoho's `{code, message}` answer classified: `Ok(body)` when `code == 0` and the status is
/// 2xx; otherwise the outcome. A non-zero code is a failure whatever the HTTP status.
pub fn check(answer: &Answer) -> Result<Value, Outcome> {
    let parsed: Option<Value> = serde_json::from_str(&answer.body).ok();
    let code = parsed
        .as_ref()
        .and_then(|v| v.get("code"))
        .and_then(Value::as_i64);
    let message = parsed
        .as_ref()
        .and_then(|v| v.get("message"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if (200..300).contains(&answer.status) && code == Some(0) {
        return Ok(parsed.unwrap_or(Value::Null));
    }
    let error = match code {
        Some(code) => format!(
            "Zoho answered HTTP {} code {code}: {message}",
            answer.status
        ),
        None => format!("Zoho answered HTTP {}", answer.status),
    };
    Err(match (answer.status, code) {
        (401, _) | (_, Some(57)) => Outcome::AuthFailed { error },
        (429, _) => Outcome::RateLimited {
            error,
            retry_after: answer.retry_after,
        },
        (_, Some(1000)) | (500..=599, _) => Outcome::Transient { error },
        // 2xx without a code: the create may have happened; the lookup makes the retry safe.
        (200..=299, None) => Outcome::Transient { error },
        _ => Outcome::Rejected { error },
    })
}

/// Zoho Inventory's API.
pub struct ZohoClient {
    agent: ureq::Agent,
    /// Held while a contact is looked up or made, so two workers pushing orders of one new
    /// customer at once do not both create a contact.
    contacts: std::sync::Mutex<()>,
    /// `--zoho-api-base-url`: wins over the integration's `api_domain`.
    api_base: Option<String>,
}

/// Zoho's API host when nothing else says which data centre.
pub const DEFAULT_API_BASE: &str = "https://www.zohoapis.com/inventory/v1";

struct Failed(PushResult);

impl ZohoClient {
    /// A client; `api_base` (e.g. `https://www.zohoapis.in/inventory/v1`) overrides the data
    /// centre an OAuth exchange named.
    pub fn new(api_base: Option<&str>, timeout: Duration) -> ZohoClient {
        ZohoClient {
            agent: http::agent(timeout),
            contacts: std::sync::Mutex::new(()),
            api_base: api_base.map(|b| b.trim_end_matches('/').to_string()),
        }
    }

    /// The API base for an integration.
    pub fn base_for(&self, integration: &Integration) -> String {
        match (&self.api_base, &integration.api_domain) {
            (Some(base), _) => base.clone(),
            (None, Some(domain)) => format!("{}/inventory/v1", domain.trim_end_matches('/')),
            (None, None) => DEFAULT_API_BASE.to_string(),
        }
    }

    fn org(integration: &Integration) -> &str {
        integration.merchant_id.as_deref().unwrap_or_default()
    }

    /// One call; `Ok((status, body))` only for `code == 0`.
    fn call(
        &self,
        ctx: &PushContext<'_>,
        method: &str,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Result<(u16, Value), Failed> {
        let url = format!("{}{path}", self.base_for(ctx.integration));
        let auth = format!("Zoho-oauthtoken {}", ctx.access_token.expose());
        let org = Self::org(ctx.integration);
        let sent = match body {
            Some(body) => {
                let mut req = self.agent.post(&url).query("organization_id", org);
                for (k, v) in query {
                    req = req.query(*k, *v);
                }
                req.header("Authorization", &auth)
                    .header("Content-Type", "application/json")
                    .send(body.to_string())
            }
            None => {
                debug_assert_eq!(method, "GET");
                let mut req = self.agent.get(&url).query("organization_id", org);
                for (k, v) in query {
                    req = req.query(*k, *v);
                }
                req.header("Authorization", &auth).call()
            }
        };
        let answer = sent
            .map_err(|e| http::describe(&e))
            .and_then(http::read)
            .map_err(|error| {
                Failed(PushResult {
                    http_status: None,
                    outcome: Outcome::Transient { error },
                })
            })?;
        match check(&answer) {
            Ok(value) => Ok((answer.status, value)),
            Err(outcome) => Err(Failed(PushResult {
                http_status: Some(answer.status),
                outcome,
            })),
        }
    }

    /// The sales order already made for this order, if Zoho has one.
    fn find_existing(&self, ctx: &PushContext<'_>) -> Result<Option<String>, Failed> {
        let (_, body) = self.call(
            ctx,
            "GET",
            "/salesorders",
            &[("reference_number", &ctx.order.id)],
            None,
        )?;
        Ok(body
            .get("salesorders")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|so| {
                so.get("reference_number")
                    .and_then(Value::as_str)
                    .is_none_or(|r| r == ctx.order.id)
            })
            .and_then(|so| so.get("salesorder_id"))
            .map(id_text))
    }

    /// The contact to bill: the configured default, a remembered one, one found by phone, or a
    /// new one.
    fn contact(&self, ctx: &PushContext<'_>) -> Result<String, Failed> {
        let integration = ctx.integration;
        if let Some(id) = &integration.default_customer_id {
            return Ok(id.clone());
        }
        let phone = ctx
            .order
            .customer_phone
            .as_deref()
            .filter(|_| integration.sync_customer_info);
        let (key, name) = match (integration.sync_customer_info, phone) {
            (true, Some(phone)) => (format!("phone:{phone}"), ctx.order.customer_name.clone()),
            (true, None) => (
                format!("name:{}", ctx.order.customer_name.to_lowercase()),
                ctx.order.customer_name.clone(),
            ),
            (false, _) => ("shared".to_string(), SHARED_CONTACT.to_string()),
        };
        if let Some(id) = remembered_contact(ctx.store, &integration.id, &key) {
            return Ok(id);
        }
        let _one_at_a_time = self
            .contacts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Another worker may have made it while this one waited.
        if let Some(id) = remembered_contact(ctx.store, &integration.id, &key) {
            return Ok(id);
        }
        let found = match phone {
            Some(phone) => self.find_contact(ctx, &[("phone_contains", phone)])?,
            None => self.find_contact(ctx, &[("contact_name", &name)])?,
        };
        let id = match found {
            Some(id) => id,
            None => self.create_contact(ctx, &name, phone)?,
        };
        Ok(remember_contact(ctx.store, &integration.id, &key, &id))
    }

    fn find_contact(
        &self,
        ctx: &PushContext<'_>,
        query: &[(&str, &str)],
    ) -> Result<Option<String>, Failed> {
        let (_, body) = self.call(ctx, "GET", "/contacts", query, None)?;
        Ok(body
            .get("contacts")
            .and_then(Value::as_array)
            .and_then(|c| c.first())
            .and_then(|c| c.get("contact_id"))
            .map(id_text))
    }

    fn create_contact(
        &self,
        ctx: &PushContext<'_>,
        name: &str,
        phone: Option<&str>,
    ) -> Result<String, Failed> {
        let body = |name: &str| {
            let mut person = json!({"first_name": name, "is_primary_contact": true});
            if let Some(phone) = phone {
                person["phone"] = json!(phone);
            }
            json!({"contact_name": name, "contact_type": "customer", "contact_persons": [person]})
        };
        let created = match self.call(ctx, "POST", "/contacts", &[], Some(&body(name))) {
            // A contact of that name exists (with another phone): tell them apart by the
            // phone's last digits.
            Err(Failed(PushResult {
                outcome: Outcome::Rejected { error },
                ..
            })) if error.to_lowercase().contains("exist") && phone.is_some() => {
                let digits: String = phone
                    .unwrap_or_default()
                    .chars()
                    .filter(char::is_ascii_digit)
                    .collect();
                let tail = &digits[digits.len().saturating_sub(4)..];
                self.call(
                    ctx,
                    "POST",
                    "/contacts",
                    &[],
                    Some(&body(&format!("{name} ({tail})"))),
                )?
            }
            other => other?,
        };
        created
            .1
            .pointer("/contact/contact_id")
            .map(id_text)
            .ok_or_else(|| {
                Failed(PushResult {
                    http_status: Some(created.0),
                    outcome: Outcome::Transient {
                        error: "Zoho created a contact without a contact_id".into(),
                    },
                })
            })
    }

    fn push_inner(&self, ctx: &PushContext<'_>) -> Result<PushResult, Failed> {
        // A retry, or a forced re-sync, may follow a create whose answer was lost: look first.
        if ctx.may_exist
            && let Some(id) = self.find_existing(ctx)?
        {
            return Ok(PushResult {
                http_status: Some(200),
                outcome: Outcome::Success { pos_order_id: id },
            });
        }
        let customer = self.contact(ctx)?;
        let body = sales_order_body(ctx.order, ctx.integration, ctx.timezone, &customer);
        let (status, answer) = self.call(ctx, "POST", "/salesorders", &[], Some(&body))?;
        let id = answer
            .get("salesorder")
            .or_else(|| answer.get("sales_order"))
            .and_then(|so| so.get("salesorder_id"))
            .map(id_text);
        Ok(PushResult {
            http_status: Some(status),
            outcome: match id {
                Some(pos_order_id) => Outcome::Success { pos_order_id },
                None => Outcome::Transient {
                    error: "Zoho answered without a salesorder_id".into(),
                },
            },
        })
    }
}

/// Zoho ids are long numbers; read them as text whether they come as strings or numbers.
fn id_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn remembered_contact(store: &Store, integration_id: &str, key: &str) -> Option<String> {
    store
        .read(|c| {
            Ok(c.query_row(
                "SELECT contact_id FROM zoho_contacts WHERE integration_id = ?1 AND customer_key = ?2",
                [integration_id, key],
                |r| r.get::<_, String>(0),
            )
            .ok())
        })
        .ok()
        .flatten()
}

/// Remember a contact; when another worker remembered one first, use theirs.
fn remember_contact(store: &Store, integration_id: &str, key: &str, contact_id: &str) -> String {
    let stored = store.write(|tx| {
        tx.execute(
            "INSERT INTO zoho_contacts (integration_id, customer_key, contact_id, created_at)
             VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
            rusqlite::params![integration_id, key, contact_id, now_millis()],
        )?;
        Ok(tx.query_row(
            "SELECT contact_id FROM zoho_contacts WHERE integration_id = ?1 AND customer_key = ?2",
            [integration_id, key],
            |r| r.get::<_, String>(0),
        )?)
    });
    stored.unwrap_or_else(|_| contact_id.to_string())
}

impl PosClient for ZohoClient {
    fn build_request(
        &self,
        order: &Order,
        integration: &Integration,
        timezone: &str,
        store: &Store,
    ) -> crate::Result<Value> {
        let customer = integration.default_customer_id.clone().or_else(|| {
            let key = match (
                integration.sync_customer_info,
                order.customer_phone.as_deref(),
            ) {
                (true, Some(phone)) => format!("phone:{phone}"),
                (true, None) => format!("name:{}", order.customer_name.to_lowercase()),
                (false, _) => "shared".to_string(),
            };
            remembered_contact(store, &integration.id, &key)
        });
        let customer = customer.unwrap_or_else(|| "(found or created in Zoho at sync time)".into());
        Ok(sales_order_body(order, integration, timezone, &customer))
    }

    fn push(&self, ctx: &PushContext<'_>) -> PushResult {
        match self.push_inner(ctx) {
            Ok(result) | Err(Failed(result)) => result,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ProviderKind;
    use crate::store::OrderItem;
    use crate::store::integrations::sample;

    #[test]
    fn builds_the_f4_body_in_major_units_dated_in_the_business_zone() {
        let order = Order {
            id: "0193a1b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b".into(),
            business_id: "b".into(),
            customer_name: "Rahul".into(),
            customer_phone: None,
            special_instructions: Some("Table 4".into()),
            currency: "INR".into(),
            items: vec![OrderItem {
                dish_id: "d1".into(),
                name: "Paneer Tikka".into(),
                quantity: 2,
                unit_price: 30000,
                note: Some("no onions".into()),
            }],
            total: 60000,
            // 2026-11-24T20:00:00Z is already the 25th in Kolkata (UTC+5:30).
            created_at: 1_795_550_400_000,
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
                "notes": "Table 4",
                "line_items": [{"item_id": "460000000027009", "name": "Paneer Tikka",
                                "description": "no onions", "rate": 300.0, "quantity": 2}]
            })
        );
    }

    #[test]
    fn a_non_zero_code_fails_whatever_the_status() {
        let answer = |status, body: &str| Answer {
            status,
            body: body.into(),
            retry_after: None,
        };
        assert!(check(&answer(201, r#"{"code":0,"salesorder":{}}"#)).is_ok());
        let kind = |status, body: &str| match check(&answer(status, body)) {
            Ok(_) => "ok",
            Err(Outcome::AuthFailed { .. }) => "auth",
            Err(Outcome::RateLimited { .. }) => "backoff",
            Err(Outcome::Transient { .. }) => "retry",
            Err(Outcome::Rejected { .. }) => "fail",
            Err(_) => "other",
        };
        for (status, body, want) in [
            (
                200,
                r#"{"code":1002,"message":"Item does not exist."}"#,
                "fail",
            ),
            (
                200,
                r#"{"code":57,"message":"You are not authorized"}"#,
                "auth",
            ),
            (
                401,
                r#"{"code":14,"message":"Invalid OAuth token"}"#,
                "auth",
            ),
            (400, r#"{"code":57,"message":"not authorized"}"#, "auth"),
            (429, r#"{"code":45,"message":"too many"}"#, "backoff"),
            (200, r#"{"code":1000,"message":"Internal error"}"#, "retry"),
            (500, "oops", "retry"),
            (
                400,
                r#"{"code":1038,"message":"JSON is not well formed"}"#,
                "fail",
            ),
        ] {
            assert_eq!(kind(status, body), want, "{status} {body}");
        }
    }
}
