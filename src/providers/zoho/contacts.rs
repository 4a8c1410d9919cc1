//! Which Zoho contact an order bills: the configured default, one remembered in the contact
//! cache, one found by phone or name, or a new one.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use serde_json::{Value, json};

use super::client::{Failed, ZohoClient, id_text};
use crate::domain::IntegrationId;
use crate::domain::{Integration, Order};
use crate::providers::{ContactCache, Outcome, PushContext, PushResult};

/// The contact every order goes to when customer sync is off (or no customer is known).
pub const SHARED_CONTACT: &str = "MenuMaker online orders";

/// The cache key and contact name of an order's customer: by phone when there is one, else by
/// name; one shared contact when customer sync is off.
pub fn customer_key(integration: &Integration, order: &Order) -> (String, String) {
    let phone = order
        .customer_phone
        .as_deref()
        .filter(|_| integration.sync_customer_info);
    match (integration.sync_customer_info, phone) {
        (true, Some(phone)) => (format!("phone:{phone}"), order.customer_name.clone()),
        (true, None) => (
            format!("name:{}", order.customer_name.to_lowercase()),
            order.customer_name.clone(),
        ),
        (false, _) => ("shared".to_string(), SHARED_CONTACT.to_string()),
    }
}

/// One lock per integration, held while its contact is looked up or made, so two workers
/// pushing orders of one new customer at once do not both create a contact. Per integration,
/// not one for all: a call waiting for its organisation's turn (or a slow Zoho) must not hold
/// up another organisation's pushes.
#[derive(Debug, Default)]
pub(super) struct ContactLocks(Mutex<HashMap<IntegrationId, Arc<Mutex<()>>>>);

impl ContactLocks {
    fn of(&self, integration_id: &IntegrationId) -> Arc<Mutex<()>> {
        let mut locks = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        locks.entry(integration_id.clone()).or_default().clone()
    }
}

/// A remembered contact; a cache that cannot be read counts as remembering none.
fn remembered(
    contacts: &dyn ContactCache,
    integration_id: &IntegrationId,
    key: &str,
) -> Option<String> {
    contacts.contact(integration_id, key).ok().flatten()
}

impl ZohoClient {
    /// The contact to bill: the configured default, a remembered one, one found by phone, or a
    /// new one.
    pub(super) fn contact(&self, ctx: &PushContext<'_>) -> Result<String, Failed> {
        let integration = ctx.integration;
        if let Some(id) = &integration.default_customer_id {
            return Ok(id.clone());
        }
        let phone = ctx
            .order
            .customer_phone
            .as_deref()
            .filter(|_| integration.sync_customer_info);
        let (key, name) = customer_key(integration, ctx.order);
        if let Some(id) = remembered(ctx.contacts, &integration.id, &key) {
            return Ok(id);
        }
        let lock = self.contacts.of(&integration.id);
        let _one_at_a_time = lock.lock().unwrap_or_else(PoisonError::into_inner);
        // Another worker may have made it while this one waited.
        if let Some(id) = remembered(ctx.contacts, &integration.id, &key) {
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
        // When remembering fails, bill the contact anyway: the next order finds it in Zoho.
        Ok(ctx
            .contacts
            .remember(&integration.id, &key, &id)
            .unwrap_or(id))
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
                Failed(PushResult::ended(
                    Some(created.0),
                    Outcome::Transient {
                        error: "Zoho created a contact without a contact_id".into(),
                    },
                ))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ProviderKind;
    use crate::domain::sample_integration as sample;

    #[test]
    fn customers_are_keyed_by_phone_then_name_or_share_one_contact() {
        let order = |phone: Option<&str>| Order {
            id: "o".into(),
            business_id: "b".into(),
            customer_name: "Rahul Kumar".into(),
            customer_phone: phone.map(String::from),
            special_instructions: None,
            currency: crate::domain::Currency::INR,
            items: vec![],
            subtotal: 0,
            charges: Default::default(),
            total: 0,
            fulfillment: Default::default(),
            payment: Default::default(),
            created_at: 0,
            life: Default::default(),
            is_test: false,
        };
        let with = sample(ProviderKind::Zoho, None, true, &[]);
        let without = sample(ProviderKind::Zoho, None, false, &[]);
        for (integration, phone, key, name) in [
            (
                &with,
                Some("+919876543210"),
                "phone:+919876543210",
                "Rahul Kumar",
            ),
            (&with, None, "name:rahul kumar", "Rahul Kumar"),
            (&without, Some("+919876543210"), "shared", SHARED_CONTACT),
            (&without, None, "shared", SHARED_CONTACT),
        ] {
            assert_eq!(
                customer_key(integration, &order(phone)),
                (key.to_string(), name.to_string()),
                "{phone:?}"
            );
        }
    }
}
