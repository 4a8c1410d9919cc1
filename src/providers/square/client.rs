//! Square's Orders API client.

use std::time::Duration;

use serde_json::Value;

use super::cancel::cancel_step;
use super::classify::{order_created, order_paid, payment_recorded};
use super::payload::create_order_body;
use super::payment::{
    create_payment_body, create_step, is_paid, pay_order_body, pay_order_path, paying_step,
};
use crate::crypto::Secret;
use crate::domain::{Integration, Order, ProviderKind, Step, SyncAction};
use crate::providers::http::{self, Answer};
use crate::providers::state::StateReads;
use crate::providers::{ContactCache, Done, Outcome, PosClient, PushContext, PushResult};

/// Square's Orders API.
pub struct SquareClient {
    agent: http::PosAgent,
    base_url: String,
    version: String,
}

impl SquareClient {
    /// A client for `base_url` (e.g. `https://connect.squareup.com`) and API `version`.
    pub fn new(base_url: &str, version: &str, timeout: Duration) -> SquareClient {
        SquareClient {
            agent: http::push_agent(timeout, ProviderKind::Square),
            base_url: base_url.trim_end_matches('/').to_string(),
            version: version.to_string(),
        }
    }
}

impl SquareClient {
    /// A JSON `POST` to `path` with the headers every Square call carries.
    pub(super) fn post(
        &self,
        path: &str,
        access_token: &Secret,
    ) -> ureq::RequestBuilder<ureq::typestate::WithBody> {
        self.agent
            .shard()
            .post(format!("{}{path}", self.base_url))
            .header("Authorization", format!("Bearer {}", access_token.expose()))
            .header("Square-Version", &self.version)
            .header("Content-Type", "application/json")
            .header("Accept", "application/json")
    }
}

impl PosClient for SquareClient {
    fn build_request(
        &self,
        order: &Order,
        integration: &Integration,
        _timezone: &str,
        _contacts: &dyn ContactCache,
    ) -> crate::Result<Value> {
        Ok(create_order_body(order, integration))
    }

    fn freezes_request(&self) -> bool {
        true
    }

    fn find_order(&self, ctx: &PushContext<'_>) -> Option<String> {
        self.look_up(ctx)
    }

    fn read_states(
        &self,
        integration: &Integration,
        access_token: &Secret,
        pos_order_ids: &[String],
    ) -> Option<StateReads> {
        Some(SquareClient::read_states(
            self,
            integration,
            access_token,
            pos_order_ids,
        ))
    }

    /// CreateOrder, then (with `record_payment`) CreatePayment, or PayOrder for a total of 0:
    /// Square shows an API order on the POS only once it is paid (§F3b). A cancellation refunds
    /// that payment (an order paid by PayOrder has none), reads the order and cancels it (§F6).
    fn next_step(&self, ctx: &PushContext<'_>) -> Option<Step> {
        if ctx.action == SyncAction::Cancel {
            return cancel_step(ctx.done);
        }
        create_step(ctx.done, ctx.integration.record_payment, ctx.order.total)
    }

    fn push(&self, ctx: &PushContext<'_>, step: Step) -> PushResult {
        if ctx.action == SyncAction::Cancel {
            return self.cancel(ctx, step);
        }
        match (step, ctx.done.pos_order_id.as_deref()) {
            (Step::RecordPayment, Some(pos_order_id)) => {
                let body = create_payment_body(
                    ctx.order,
                    ctx.integration,
                    ctx.frozen_request,
                    pos_order_id,
                );
                self.send("/v2/payments", ctx.access_token, body.to_string())
                    .map_or_else(transport_failure, |answer| payment_recorded(&answer))
            }
            (Step::PayOrder, Some(pos_order_id)) => {
                let body = pay_order_body(ctx.order);
                self.send(
                    &pay_order_path(pos_order_id),
                    ctx.access_token,
                    body.to_string(),
                )
                .map_or_else(transport_failure, |answer| order_paid(&answer))
            }
            _ => {
                let body = match ctx.frozen_request {
                    Some(body) => body.to_string(),
                    None => create_order_body(ctx.order, ctx.integration).to_string(),
                };
                self.send("/v2/orders", ctx.access_token, body)
                    .map_or_else(transport_failure, |answer| {
                        order_created(&answer, ctx.order.total)
                    })
            }
        }
    }

    fn visible(&self, _integration: &Integration, done: &Done) -> Option<bool> {
        Some(is_paid(done))
    }

    fn later_requests(
        &self,
        order: &Order,
        integration: &Integration,
        first: &Value,
        done: &Done,
    ) -> Vec<(Step, Value)> {
        if !integration.record_payment {
            return Vec::new();
        }
        let step = paying_step(order.total);
        if step == Step::PayOrder {
            return vec![(step, pay_order_body(order))];
        }
        let pos_order_id = done
            .pos_order_id
            .as_deref()
            .unwrap_or("(the Square order id CreateOrder answers)");
        vec![(
            step,
            create_payment_body(order, integration, Some(first), pos_order_id),
        )]
    }
}

impl SquareClient {
    /// A JSON `POST` of `body` to `path`, answered.
    pub(super) fn send(
        &self,
        path: &str,
        access_token: &Secret,
        body: String,
    ) -> Result<Answer, String> {
        self.post(path, access_token)
            .send(body)
            .map_err(|e| http::describe(&e))
            .and_then(http::read)
    }

    /// A `GET` of `path` with the headers every Square call carries.
    pub(super) fn get(&self, path: &str, access_token: &Secret) -> Result<Answer, String> {
        self.agent
            .shard()
            .get(format!("{}{path}", self.base_url))
            .header("Authorization", format!("Bearer {}", access_token.expose()))
            .header("Square-Version", &self.version)
            .header("Accept", "application/json")
            .call()
            .map_err(|e| http::describe(&e))
            .and_then(http::read)
    }

    /// A JSON `PUT` of `body` to `path`.
    pub(super) fn put(
        &self,
        path: &str,
        access_token: &Secret,
        body: String,
    ) -> Result<Answer, String> {
        self.agent
            .shard()
            .put(format!("{}{path}", self.base_url))
            .header("Authorization", format!("Bearer {}", access_token.expose()))
            .header("Square-Version", &self.version)
            .header("Content-Type", "application/json")
            .header("Accept", "application/json")
            .send(body)
            .map_err(|e| http::describe(&e))
            .and_then(http::read)
    }
}

/// No answer: the same idempotency key makes the retry safe.
pub(super) fn transport_failure(error: String) -> PushResult {
    PushResult::ended(None, Outcome::Transient { error })
}
