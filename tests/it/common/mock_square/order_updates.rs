//! BatchRetrieveOrders (`POST /v2/orders/batch-retrieve`) and UpdateOrder
//! (`PUT /v2/orders/{id}`), each body checked against `square/update-order.schema.json`, and what
//! the restaurant does on its POS meanwhile ([`MockSquare::set_fulfillment_state`]).
//!
//! UpdateOrder follows Square's text: the request names the order's latest `version` (a stale
//! one is 400 `VERSION_MISMATCH`), an order in a terminal state (`COMPLETED`, `CANCELED`) cannot
//! be updated, and a committed update bumps the version. The sparse order may set `state` and,
//! per fulfillment `uid`, its `state` and its details' `cancel_reason`. Tests can make the
//! next updates meet a change made just before them ([`MockSquare::make_next_updates_stale`]),
//! refuse a cancellation (`cancel_refusals.rs`) and queue faults
//! ([`MockSquare::push_update_fault`]).

use serde_json::{Value, json};

use super::errors::{SqError, error_response};
use super::helpers::now_rfc3339_ms;
use super::money_writes::{answer_after, commit_delay};
use super::routes::{check_bearer, check_content_type, check_square_version, record};
use super::state::{Inner, State};
use super::{Fault, MockSquare};
use crate::common::mock_http::{Action, Request, Response};

/// "A maximum of 100 orders can be retrieved per request" (update-order README).
const BATCH_MAX: usize = 100;

/// Order states after which Square refuses updates.
const TERMINAL: &[&str] = &["COMPLETED", "CANCELED"];

impl Inner {
    pub(super) fn batch_retrieve_orders(&self, req: &Request) -> Action {
        let mut st = self.lock();
        st.requests.push(record(req));
        let ctx = "POST /v2/orders/batch-retrieve";
        let auth = check_bearer(&mut st, ctx, req, "ORDERS_READ");
        let version = check_square_version(&mut st, ctx, req);
        let content = check_content_type(&mut st, ctx, req);
        let body = self.checked_body(&mut st, ctx, req, "BatchRetrieveOrdersRequest");
        let resp = (|| {
            auth?;
            version?;
            content?;
            let body = body?;
            let ids: Vec<&str> = body["order_ids"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            if ids.len() > BATCH_MAX {
                st.problem(ctx, format!("{} order_ids: at most {BATCH_MAX}", ids.len()));
                return Err(error_response(
                    400,
                    vec![
                        SqError::new("TOO_MANY_IDS", format!("At most {BATCH_MAX} order ids."))
                            .field("order_ids"),
                    ],
                ));
            }
            let location = body["location_id"].as_str();
            // "will omit any requested orders that do not exist".
            let orders: Vec<Value> = ids
                .iter()
                .filter_map(|id| st.order_index.get(*id))
                .map(|&i| st.orders[i].clone())
                .filter(|o| location.is_none_or(|l| o["location_id"] == json!(l)))
                .collect();
            Ok(Response::json(200, &json!({ "orders": orders })))
        })();
        Action::Respond(resp.unwrap_or_else(|e| e))
    }

    pub(super) fn update_order(&self, req: &Request, id: &str) -> Action {
        let mut st = self.lock();
        st.requests.push(record(req));
        let delay = match commit_delay(st.update_faults.pop_front()) {
            Ok(delay) => delay,
            Err(action) => return action,
        };
        let ctx = format!("PUT /v2/orders/{id}");
        let auth = check_bearer(&mut st, &ctx, req, "ORDERS_WRITE");
        let version = check_square_version(&mut st, &ctx, req);
        let content = check_content_type(&mut st, &ctx, req);
        let body = self.checked_body(&mut st, &ctx, req, "UpdateOrderRequest");
        let resp = (|| {
            auth?;
            version?;
            content?;
            let body = body?;
            let index = *st.order_index.get(id).ok_or_else(|| {
                error_response(
                    404,
                    vec![
                        SqError::new("NOT_FOUND", format!("Order `{id}` not found."))
                            .field("order_id"),
                    ],
                )
            })?;
            if st.stale_updates > 0 {
                // The restaurant changed the order between possync's read and this update.
                st.stale_updates -= 1;
                bump(&mut st.orders[index]);
            }
            let order = &st.orders[index];
            let current = order["version"].as_i64().unwrap_or(1);
            if body["order"]["version"].as_i64() != Some(current) {
                return Err(error_response(
                    400,
                    vec![
                        SqError::new(
                            "VERSION_MISMATCH",
                            format!("Order `{id}` is at version {current}."),
                        )
                        .field("order.version"),
                    ],
                ));
            }
            let state = order["state"].as_str().unwrap_or("OPEN");
            if TERMINAL.contains(&state) {
                return Err(error_response(
                    400,
                    vec![SqError::new(
                        "BAD_REQUEST",
                        format!("Orders with a `{state}` state cannot be updated."),
                    )],
                ));
            }
            if let Some(refusal) = st.cancel_refusal(&st.orders[index], &body["order"]) {
                return Err(refusal);
            }
            if let Err(e) = apply(&mut st.orders[index], &body["order"]) {
                st.problem(&ctx, &e);
                return Err(error_response(400, vec![SqError::new("INVALID_VALUE", e)]));
            }
            bump(&mut st.orders[index]);
            Ok(Response::json(200, &json!({"order": st.orders[index]})))
        })();
        answer_after(delay, resp.unwrap_or_else(|e| e))
    }

    /// The body as JSON, its schema violations noted as problems (and refused).
    fn checked_body(
        &self,
        st: &mut State,
        ctx: &str,
        req: &Request,
        root: &str,
    ) -> Result<Value, Response> {
        let body = match req.json() {
            Ok(body @ Value::Object(_)) => body,
            _ => {
                st.problem(ctx, "the body is not a JSON object");
                return Err(error_response(
                    400,
                    vec![SqError::new(
                        "EXPECTED_JSON_BODY",
                        "The body must be a JSON object.",
                    )],
                ));
            }
        };
        let violations = self.schema_violations(root, &body);
        if violations.is_empty() {
            return Ok(body);
        }
        for v in &violations {
            st.problem(ctx, format!("{}: {}: {}", v.field, v.code, v.detail));
        }
        Err(error_response(
            400,
            violations
                .iter()
                .map(|v| SqError::new(v.code, v.detail.clone()).field(v.field.clone()))
                .collect(),
        ))
    }
}

/// Commit a change: the version goes up and `updated_at` moves.
fn bump(order: &mut Value) {
    let version = order["version"].as_i64().unwrap_or(1);
    order["version"] = json!(version + 1);
    order["updated_at"] = json!(now_rfc3339_ms());
    if TERMINAL.contains(&order["state"].as_str().unwrap_or("")) {
        order["closed_at"] = json!(now_rfc3339_ms());
    }
}

/// Apply a sparse order: `state`, and per fulfillment `uid` its `state` and the
/// `cancel_reason` of its details (pickup, delivery or shipment, by its type). An unknown
/// fulfillment uid is refused.
fn apply(order: &mut Value, sparse: &Value) -> Result<(), String> {
    for f in sparse["fulfillments"].as_array().into_iter().flatten() {
        let uid = f["uid"].as_str().ok_or("a fulfillment without its uid")?;
        let target = order["fulfillments"]
            .as_array_mut()
            .into_iter()
            .flatten()
            .find(|t| t["uid"] == json!(uid))
            .ok_or_else(|| format!("no fulfillment with uid {uid}"))?;
        let details = match target["type"].as_str() {
            Some("DELIVERY") => "delivery_details",
            Some("SHIPMENT") => "shipment_details",
            _ => "pickup_details",
        };
        if let Some(state) = f["state"].as_str() {
            target["state"] = json!(state);
            if state == "CANCELED" {
                target[details]["canceled_at"] = json!(now_rfc3339_ms());
            }
        }
        if let Some(reason) = f[details]["cancel_reason"].as_str() {
            target[details]["cancel_reason"] = json!(reason);
        }
    }
    if let Some(state) = sparse["state"].as_str() {
        order["state"] = json!(state);
    }
    Ok(())
}

impl MockSquare {
    /// What the restaurant does on its POS: set the order's (first) fulfillment to `state`
    /// (`PREPARED`, `COMPLETED`, `CANCELED`…), and the order's own state with it when given.
    /// The order's version goes up, as for any change.
    pub fn set_fulfillment_state(&self, order_id: &str, state: &str, order_state: Option<&str>) {
        let mut st = self.inner.lock();
        let index = *st.order_index.get(order_id).expect("no such order");
        let order = &mut st.orders[index];
        order["fulfillments"][0]["state"] = json!(state);
        if let Some(s) = order_state {
            order["state"] = json!(s);
        }
        bump(order);
    }

    /// Queue a fault for `PUT /v2/orders/{id}` (first in, first out; one per call).
    /// `TimeoutAfterCommit` applies the update, then sits on the answer.
    pub fn push_update_fault(&self, fault: Fault) {
        self.inner.lock().update_faults.push_back(fault);
    }

    /// The next `n` UpdateOrders each meet a change made on the POS just before them, so the
    /// version they name is stale (400 `VERSION_MISMATCH`).
    pub fn make_next_updates_stale(&self, n: usize) {
        self.inner.lock().stale_updates = n;
    }

    /// Every UpdateOrder and BatchRetrieveOrders received, in arrival order.
    pub fn order_update_requests(&self) -> Vec<super::Recorded> {
        self.inner
            .lock()
            .requests
            .iter()
            .filter(|r| {
                r.method == "PUT" || r.path.trim_end_matches('/') == "/v2/orders/batch-retrieve"
            })
            .cloned()
            .collect()
    }
}
