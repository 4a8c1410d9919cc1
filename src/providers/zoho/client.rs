//! Zoho Inventory's API client: look for an earlier create, then bill a contact and create.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use super::classify::check;
use super::contacts::{ContactLocks, customer_key};
use super::payload::sales_order_body;
use crate::crypto::Secret;
use crate::domain::money::{major_units, minor_units};
use crate::domain::{Integration, Order, ProviderKind, Step, SyncAction};
use crate::providers::governor::{Governor, Priority};
use crate::providers::http;
use crate::providers::state::StateReads;
use crate::providers::{ContactCache, Outcome, PosClient, PushContext, PushResult};

/// Zoho Inventory's API.
pub struct ZohoClient {
    agent: http::PosAgent,
    /// Held while an integration's contact is looked up or made.
    pub(super) contacts: ContactLocks,
    /// `--zoho-api-base-url`: wins over the integration's `api_domain`.
    api_base: Option<String>,
    /// Each organisation's request budget, shared by every Zoho client of the process.
    governor: Arc<Governor>,
    /// The longest a call waits for its organisation's turn: `--provider-timeout`, as long as it
    /// would wait for Zoho's answer.
    max_wait: Duration,
}

/// One Inventory request: method, path under the API base, query (besides `organization_id`)
/// and JSON body (`None`: a GET).
pub(super) struct Request<'a> {
    pub(super) method: &'a str,
    pub(super) path: &'a str,
    pub(super) query: &'a [(&'a str, &'a str)],
    pub(super) body: Option<&'a Value>,
}

/// Zoho's API host when nothing else says which data centre.
pub const DEFAULT_API_BASE: &str = "https://www.zohoapis.com/inventory/v1";

/// The Inventory API base: `--zoho-api-base-url` when set (it wins: mocks, proxies), else the
/// data centre an OAuth exchange named (`api_domain`), else zohoapis.com.
pub fn api_base(override_base: Option<&str>, api_domain: Option<&str>) -> String {
    match (override_base, api_domain) {
        (Some(base), _) => base.trim_end_matches('/').to_string(),
        (None, Some(domain)) => format!("{}/inventory/v1", domain.trim_end_matches('/')),
        (None, None) => DEFAULT_API_BASE.to_string(),
    }
}

/// A failed call: the result the push ends with.
pub(super) struct Failed(pub(super) PushResult);

impl ZohoClient {
    /// A client; `api_base` (e.g. `https://www.zohoapis.in/inventory/v1`) overrides the data
    /// centre an OAuth exchange named. Every call takes its turn from `governor`.
    pub fn new(api_base: Option<&str>, timeout: Duration, governor: Arc<Governor>) -> ZohoClient {
        ZohoClient {
            agent: http::push_agent(timeout, ProviderKind::Zoho),
            contacts: ContactLocks::default(),
            api_base: api_base.map(|b| b.trim_end_matches('/').to_string()),
            governor,
            max_wait: timeout,
        }
    }

    /// The API base for an integration.
    pub fn base_for(&self, integration: &Integration) -> String {
        api_base(self.api_base.as_deref(), integration.api_domain.as_deref())
    }

    fn org(integration: &Integration) -> &str {
        integration.merchant_id.as_deref().unwrap_or_default()
    }

    /// One call of a push; `Ok((status, body))` only for `code == 0`.
    pub(super) fn call(
        &self,
        ctx: &PushContext<'_>,
        method: &str,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Result<(u16, Value), Failed> {
        self.call_for(ctx.integration, ctx.access_token, method, path, query, body)
    }

    /// One foreground call to `integration`'s organisation; `Ok((status, body))` only for
    /// `code == 0`.
    pub(super) fn call_for(
        &self,
        integration: &Integration,
        access_token: &Secret,
        method: &str,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Result<(u16, Value), Failed> {
        let request = Request {
            method,
            path,
            query,
            body,
        };
        self.governed(integration, access_token, Priority::Foreground, &request)
    }

    /// One call to `integration`'s organisation once the organisation's budget gives it a turn
    /// (every Zoho Inventory call goes through here). A turn further off than `max_wait` is not
    /// waited for: the call is not made and ends as rate-limited, retried once the budget frees
    /// (the lane slot is let go meanwhile).
    pub(super) fn governed(
        &self,
        integration: &Integration,
        access_token: &Secret,
        priority: Priority,
        request: &Request<'_>,
    ) -> Result<(u16, Value), Failed> {
        let org = Self::org(integration);
        let max_wait = match priority {
            Priority::Foreground => self.max_wait,
            Priority::Background => Duration::ZERO,
        };
        if let Err(free_in) = self.governor.wait_turn(org, priority, max_wait) {
            let error = format!(
                "possync's budget of {} Zoho requests a minute for organisation {org} is spent; \
                 the next turn is in {} ms",
                self.governor.per_minute(),
                free_in.as_millis()
            );
            return Err(Failed(PushResult::ended(
                None,
                Outcome::RateLimited {
                    error,
                    retry_after: Some(free_in),
                },
            )));
        }
        let Request {
            method,
            path,
            query,
            body,
        } = *request;
        let url = format!("{}{path}", self.base_for(integration));
        let auth = format!("Zoho-oauthtoken {}", access_token.expose());
        let sent = match body {
            Some(body) => {
                let mut req = self.agent.shard().post(&url).query("organization_id", org);
                for (k, v) in query {
                    req = req.query(*k, *v);
                }
                req.header("Authorization", &auth)
                    .header("Content-Type", "application/json")
                    .send(body.to_string())
            }
            None => {
                debug_assert_eq!(method, "GET");
                let mut req = self.agent.shard().get(&url).query("organization_id", org);
                for (k, v) in query {
                    req = req.query(*k, *v);
                }
                req.header("Authorization", &auth).call()
            }
        };
        let answer = sent
            .map_err(|e| http::describe(&e))
            .and_then(http::read)
            .map_err(|error| Failed(PushResult::ended(None, Outcome::Transient { error })))?;
        match check(&answer) {
            Ok(value) => Ok((answer.status, value)),
            Err(outcome) => Err(Failed(PushResult::ended(Some(answer.status), outcome))),
        }
    }

    /// The sales order already made for this order, if Zoho has one (as its list shows it, with
    /// its `salesorder_id` and `total`).
    pub(super) fn find_existing(&self, ctx: &PushContext<'_>) -> Result<Option<Value>, Failed> {
        let (_, body) = self.call(
            ctx,
            "GET",
            "/salesorders",
            &[("reference_number", ctx.order.id.as_str())],
            None,
        )?;
        Ok(body
            .get("salesorders")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|so| {
                so.get("salesorder_id").is_some()
                    && so
                        .get("reference_number")
                        .and_then(Value::as_str)
                        .is_none_or(|r| r == ctx.order.id.as_str())
            })
            .cloned())
    }

    fn push_inner(&self, ctx: &PushContext<'_>) -> Result<PushResult, Failed> {
        // A retry, or a forced re-sync, may follow a create whose answer was lost: look first.
        // A sales order found is checked as one just created would be.
        if ctx.may_exist
            && let Some(found) = self.find_existing(ctx)?
        {
            return Ok(sales_order_made(200, ctx.order, &found));
        }
        let customer = self.contact(ctx)?;
        let body = sales_order_body(ctx.order, ctx.integration, ctx.timezone, &customer);
        let (status, answer) = self.call(ctx, "POST", "/salesorders", &[], Some(&body))?;
        let made = answer
            .get("salesorder")
            .or_else(|| answer.get("sales_order"))
            .unwrap_or(&Value::Null);
        Ok(sales_order_made(status, ctx.order, made))
    }
}

/// The push's result for `sales_order`, which Zoho holds for `order` (just created, or found by
/// the lookup after a create whose answer was lost): its id is learned, and its `total` must be
/// MenuMaker's (§F4b), else Zoho bills what the customer did not pay and the push fails at once
/// naming both (the sales order exists: its id is kept). Both paths go through here, so a
/// found sales order is held to the same check as a created one.
fn sales_order_made(status: u16, order: &Order, sales_order: &Value) -> PushResult {
    let Some(pos_order_id) = sales_order.get("salesorder_id").map(id_text) else {
        return PushResult::ended(
            Some(status),
            Outcome::Transient {
                error: "Zoho answered without a salesorder_id".into(),
            },
        );
    };
    let mut result = PushResult::created(status, pos_order_id);
    if let Some(error) = total_differs(order, sales_order) {
        result.outcome = Outcome::Rejected { error };
    }
    result
}

/// Why Zoho's `total` for `sales_order` is not MenuMaker's `order.total` (compared exactly in
/// minor units), or `None` when it is.
fn total_differs(order: &Order, sales_order: &Value) -> Option<String> {
    let exponent = order.currency.exponent();
    let total = sales_order.get("total");
    if total.and_then(|t| minor_units(t, exponent)) == Some(order.total) {
        return None;
    }
    let theirs = total.map_or_else(|| "nothing".to_string(), Value::to_string);
    Some(format!(
        "Zoho computed total {theirs}, MenuMaker total {}",
        major_units(order.total, exponent)
    ))
}

/// Zoho ids are long numbers; read them as text whether they come as strings or numbers.
pub(super) fn id_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl PosClient for ZohoClient {
    fn build_request(
        &self,
        order: &Order,
        integration: &Integration,
        timezone: &str,
        contacts: &dyn ContactCache,
    ) -> crate::Result<Value> {
        // What a push would bill now; a read failure is as good as not remembered.
        let customer = integration.default_customer_id.clone().or_else(|| {
            let (key, _) = customer_key(integration, order);
            contacts.contact(&integration.id, &key).ok().flatten()
        });
        let customer = customer.unwrap_or_else(|| "(found or created in Zoho at sync time)".into());
        Ok(sales_order_body(order, integration, timezone, &customer))
    }

    fn next_step(&self, ctx: &PushContext<'_>) -> Option<Step> {
        match ctx.action {
            SyncAction::Create => ctx.done.pos_order_id.is_none().then_some(Step::CreateOrder),
            SyncAction::Cancel => super::cancel::cancel_step(ctx.done),
        }
    }

    fn push(&self, ctx: &PushContext<'_>, step: Step) -> PushResult {
        if ctx.action == SyncAction::Cancel {
            return self.cancel(ctx, step);
        }
        match self.push_inner(ctx) {
            Ok(result) | Err(Failed(result)) => result,
        }
    }

    fn read_states(
        &self,
        integration: &Integration,
        access_token: &Secret,
        pos_order_ids: &[String],
    ) -> Option<StateReads> {
        Some(ZohoClient::read_states(
            self,
            integration,
            access_token,
            pos_order_ids,
        ))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::providers::kitchen::tests::kitchen_order;

    #[test]
    fn a_sales_order_created_or_found_is_held_to_menumakers_total() {
        // kitchen_order's total is 61500 paise: 615.00 INR.
        let order = kitchen_order(Default::default(), Default::default());
        let rejected = |error: &str| Outcome::Rejected {
            error: error.to_string(),
        };
        for (sales_order, want) in [
            (
                json!({"salesorder_id": "46000", "total": 615.0}),
                Outcome::Success,
            ),
            // A list entry may carry the id as a number and the total as text.
            (
                json!({"salesorder_id": 46000, "total": "615.00"}),
                Outcome::Success,
            ),
            (
                json!({"salesorder_id": "46000", "total": 645.0}),
                rejected("Zoho computed total 645.0, MenuMaker total 615.00"),
            ),
            (
                json!({"salesorder_id": "46000"}),
                rejected("Zoho computed total nothing, MenuMaker total 615.00"),
            ),
        ] {
            let result = sales_order_made(201, &order, &sales_order);
            assert_eq!(result.outcome, want, "{sales_order}");
            assert_eq!(
                result.learned,
                vec![crate::providers::Fact::PosOrderId("46000".into())],
                "the sales order exists whatever its total: {sales_order}"
            );
        }
        let no_id = sales_order_made(201, &order, &json!({"total": 615.0}));
        assert!(
            matches!(no_id.outcome, Outcome::Transient { .. }),
            "{no_id:?}"
        );
        assert!(no_id.learned.is_empty());
    }
}
