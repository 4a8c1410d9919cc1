//! The Dine POS aggregator webhook client.

use std::time::Duration;

use serde_json::Value;

use super::classify::outcome_of;
use super::payload::order_body;
use crate::domain::ProviderKind;
use crate::domain::{Integration, Order, Step, SyncAction};
use crate::providers::http;
use crate::providers::{ContactCache, Outcome, PosClient, PushContext, PushResult};

/// The Dine POS aggregator webhook.
pub struct DineClient {
    agent: http::PosAgent,
    base_url: Option<String>,
}

impl DineClient {
    /// A client for `base_url` (`--dine-base-url`; without it, pushes fail with a message).
    pub fn new(base_url: Option<&str>, timeout: Duration) -> DineClient {
        DineClient {
            agent: http::push_agent(timeout, ProviderKind::Dine),
            base_url: base_url.map(|u| u.trim_end_matches('/').to_string()),
        }
    }
}

impl PosClient for DineClient {
    fn build_request(
        &self,
        order: &Order,
        integration: &Integration,
        timezone: &str,
        _contacts: &dyn ContactCache,
    ) -> crate::Result<Value> {
        Ok(order_body(order, integration, timezone))
    }

    fn push(&self, ctx: &PushContext<'_>, _step: Step) -> PushResult {
        if ctx.action == SyncAction::Cancel {
            return cannot_cancel(ctx);
        }
        let Some(base) = &self.base_url else {
            return PushResult::ended(
                None,
                Outcome::Rejected {
                    error: "possync has no --dine-base-url; set it to push to Dine POS".into(),
                },
            );
        };
        let body = order_body(ctx.order, ctx.integration, ctx.timezone).to_string();
        let sent = self
            .agent
            .shard()
            .post(format!("{base}/api/aggregator/order"))
            .header("X-Webhook-Secret", ctx.access_token.expose())
            .header("Content-Type", "application/json")
            .send(body);
        match sent {
            Ok(resp) => match http::read(resp) {
                Ok(answer) => outcome_of(&answer),
                Err(error) => PushResult::ended(None, Outcome::Ambiguous { error }),
            },
            // Nothing was sent: safe to retry.
            Err(e @ (ureq::Error::ConnectionFailed | ureq::Error::HostNotFound)) => {
                PushResult::ended(
                    None,
                    Outcome::Transient {
                        error: http::describe(&e),
                    },
                )
            }
            Err(e) => PushResult::ended(
                None,
                Outcome::Ambiguous {
                    error: format!(
                        "{}; Dine POS may have the order already: check it for a duplicate",
                        http::describe(&e)
                    ),
                },
            ),
        }
    }
}

/// Dine POS has no cancellation route (§C, §F6): the cancellation fails at once, naming the
/// order's number on the POS so the seller can cancel it there by hand.
fn cannot_cancel(ctx: &PushContext<'_>) -> PushResult {
    let number = ctx
        .done
        .pos_order_id
        .as_deref()
        .unwrap_or("(no POS number)");
    PushResult::ended(
        None,
        Outcome::Rejected {
            error: format!(
                "Dine POS has no cancellation API: cancel order {number} on the POS by hand"
            ),
        },
    )
}
