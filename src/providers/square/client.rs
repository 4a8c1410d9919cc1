//! Square's Orders API client.

use std::time::Duration;

use serde_json::Value;

use super::classify::outcome_of;
use super::payload::create_order_body;
use crate::crypto::Secret;
use crate::domain::ProviderKind;
use crate::domain::{Integration, Order};
use crate::providers::http;
use crate::providers::state::StateReads;
use crate::providers::{ContactCache, Outcome, PosClient, PushContext, PushResult};

/// Square's Orders API.
pub struct SquareClient {
    agent: ureq::Agent,
    base_url: String,
    version: String,
}

impl SquareClient {
    /// A client for `base_url` (e.g. `https://connect.squareup.com`) and API `version`.
    pub fn new(base_url: &str, version: &str, timeout: Duration) -> SquareClient {
        SquareClient {
            agent: http::pos_agent(timeout, ProviderKind::Square),
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

    fn push(&self, ctx: &PushContext<'_>) -> PushResult {
        let access_token = ctx.access_token;
        let body = match ctx.frozen_request {
            Some(body) => body.to_string(),
            None => create_order_body(ctx.order, ctx.integration).to_string(),
        };
        let sent = self.post("/v2/orders", access_token).send(body);
        match sent.map_err(|e| http::describe(&e)).and_then(http::read) {
            Ok(answer) => PushResult {
                http_status: Some(answer.status),
                outcome: outcome_of(&answer),
            },
            Err(error) => PushResult {
                http_status: None,
                outcome: Outcome::Transient { error },
            },
        }
    }
}
