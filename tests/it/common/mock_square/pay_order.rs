//! PayOrder (`POST /v2/orders/{order_id}/pay`, scopes `PAYMENTS_WRITE` and `ORDERS_WRITE`,
//! BETA): how a zero-total order is marked paid, since CreatePayment takes no payment of 0
//! (payments.rs). The body is validated against
//! `payments.schema.json#/definitions/PayOrderRequest` (`idempotency_key` required, 1–192
//! characters; `order_version` and `payment_ids` nullable) and the answer against
//! `PayOrderResponse`. Square's prose, as far as it goes: "The total of the `payment_ids` listed
//! in the request must be equal to the order total. Orders with a total amount of `0` can be
//! marked as paid by specifying an empty array of `payment_ids`"; a payment used with it must
//! reference the order and "be approved with delayed capture"; "If not supplied, the latest
//! version will be paid". Square does not document its error codes here: the codes below
//! (`NOT_FOUND`, `PAYMENT_AMOUNT_MISMATCH`, `VERSION_MISMATCH`, `BAD_REQUEST`) are this mock's
//! reading of the ErrorCode enum. The mock's payments complete at once (possync never delays
//! capture), so any `payment_ids` here is refused. PayOrders keep their own idempotency table per
//! (merchant, `idempotency_key`); an order paid once is not paid again under another key. Square
//! keeps an order with a fulfillment `OPEN` after PayOrder (docs orders-api/pay-for-orders), so a
//! cancellation can still cancel it. Faults queued with [`MockSquare::push_pay_order_fault`] are
//! consumed one per call.

use serde_json::{Value, json};

use super::errors::SqError;
use super::helpers::now_rfc3339_ms;
use super::money_writes::{MoneyWrite, first_use, replayed};
use super::state::{Inner, State};
use super::{Fault, MockSquare, Recorded};
use crate::common::mock_http::{Action, Request, Response};

impl Inner {
    pub(super) fn pay_order(&self, req: &Request, order_id: &str) -> Action {
        self.money_write(
            req,
            &MoneyWrite {
                path: &format!("/v2/orders/{order_id}/pay"),
                scopes: &["PAYMENTS_WRITE", "ORDERS_WRITE"],
                schema: "PayOrderRequest",
                fault: |st| st.pay_order_faults.pop_front(),
                prose: &|st, body| prose_rules(st, order_id, body),
                commit: &|st, ctx, merchant, body| {
                    let resp = commit_pay_order(st, ctx, merchant, order_id, body);
                    self.check_answer(st, ctx, &resp);
                    resp
                },
            },
        )
    }

    /// The mock's own answer must be a `PayOrderResponse`.
    fn check_answer(&self, st: &mut State, ctx: &str, resp: &Response) {
        if resp.status != 200 {
            return;
        }
        let body = serde_json::from_slice::<Value>(&resp.body).unwrap_or(Value::Null);
        for v in self.schema_violations("PayOrderResponse", &body) {
            st.problem(ctx, format!("the mock's answer: {}: {}", v.field, v.detail));
        }
    }
}

/// What Square's prose asks of a PayOrder of `order_id`. A retry under the key that paid the
/// order is checked only for being the same request (by the idempotency table).
fn prose_rules(st: &State, order_id: &str, body: &Value) -> Vec<SqError> {
    let Some(&index) = st.order_index.get(order_id) else {
        return vec![SqError::new(
            "NOT_FOUND",
            format!("Order `{order_id}` not found."),
        )];
    };
    let key = &body["idempotency_key"];
    let paid_under = st
        .paid_orders
        .iter()
        .find(|p| p["id"] == order_id)
        .map(|p| &p["idempotency_key_sent"]);
    if paid_under == Some(key) {
        return Vec::new();
    }
    if let Some(other) = st
        .paid_orders
        .iter()
        .find(|p| p["idempotency_key_sent"] == *key && p["id"] != order_id)
    {
        return vec![
            SqError::new(
                "IDEMPOTENCY_KEY_REUSED",
                format!("The key already paid order {}.", other["id"]),
            )
            .field("idempotency_key"),
        ];
    }
    let order = &st.orders[index];
    let mut broken = Vec::new();
    if paid_under.is_some() {
        broken.push(SqError::new(
            "BAD_REQUEST",
            format!("Order `{order_id}` is already paid."),
        ));
    }
    if order["state"] != "OPEN" {
        broken.push(SqError::new(
            "BAD_REQUEST",
            format!(
                "Order `{order_id}` is {}: it cannot be paid.",
                order["state"]
            ),
        ));
    }
    if let Some(version) = body["order_version"].as_i64()
        && Some(version) != order["version"].as_i64()
    {
        broken.push(
            SqError::new(
                "VERSION_MISMATCH",
                format!(
                    "Order version {version} is not the latest, {}.",
                    order["version"]
                ),
            )
            .field("order_version"),
        );
    }
    let ids = body["payment_ids"].as_array().cloned().unwrap_or_default();
    if !ids.is_empty() {
        broken.push(
            SqError::new(
                "BAD_REQUEST",
                "A payment used with PayOrder must be approved with delayed capture; this \
                 mock's payments are completed at once.",
            )
            .field("payment_ids"),
        );
    } else if order["total_money"]["amount"] != 0 {
        broken.push(
            SqError::new(
                "PAYMENT_AMOUNT_MISMATCH",
                format!(
                    "The payment total must match the order total: no payments for a total of {}.",
                    order["total_money"]["amount"]
                ),
            )
            .field("payment_ids"),
        );
    }
    broken
}

/// The idempotency table, then the order marked paid (a new version, still `OPEN`).
fn commit_pay_order(
    st: &mut State,
    ctx: &str,
    merchant: &str,
    order_id: &str,
    body: Value,
) -> Response {
    let (entry, first) = first_use(&st.pay_order_idempotency, &st.paid_orders, merchant, &body);
    if let Some(resp) = replayed(st, ctx, "order", first, &body) {
        return resp;
    }
    let Some(&index) = st.order_index.get(order_id) else {
        return Response::json(500, &json!({"errors": []}));
    };
    let order = &mut st.orders[index];
    order["version"] = json!(order["version"].as_i64().unwrap_or(1) + 1);
    order["updated_at"] = json!(now_rfc3339_ms());
    let paid = order.clone();
    let mut stored = paid.clone();
    stored["idempotency_key_sent"] = json!(entry.1);
    st.pay_order_idempotency
        .insert(entry, (body, st.paid_orders.len()));
    st.paid_orders.push(stored);
    Response::json(200, &json!({ "order": paid }))
}

impl State {
    /// Whether PayOrder marked this order paid.
    pub(super) fn paid_by_pay_order(&self, order_id: &str) -> bool {
        self.paid_orders.iter().any(|p| p["id"] == order_id)
    }
}

impl MockSquare {
    /// Queue a fault for `POST /v2/orders/{id}/pay` (first in, first out; one per call).
    pub fn push_pay_order_fault(&self, fault: Fault) {
        self.inner.lock().pay_order_faults.push_back(fault);
    }

    /// Every PayOrder received, faulted ones included.
    pub fn pay_order_requests(&self) -> Vec<Recorded> {
        self.inner
            .lock()
            .requests
            .iter()
            .filter(|r| r.method == "POST" && r.path.trim_end_matches('/').ends_with("/pay"))
            .cloned()
            .collect()
    }

    /// How often PayOrder marked this order paid (a retry Square answers from its idempotency
    /// table does not count).
    pub fn times_paid_by_pay_order(&self, order_id: &str) -> usize {
        self.inner
            .lock()
            .paid_orders
            .iter()
            .filter(|p| p["id"] == order_id)
            .count()
    }
}
