//! RefundPayment (`POST /v2/refunds`, scope `PAYMENTS_WRITE`, providers/README.md §F6): the body
//! is validated against `payments.schema.json#/definitions/RefundPaymentRequest` and Square's
//! prose (a key of at most 45 characters; a linked refund names `payment_id` and no
//! `location_id`; the amount at most what the payment has left after earlier refunds), refunds
//! keep their own idempotency table per (merchant, `idempotency_key`), and a refund is recorded
//! on its payment and its order. Faults queued with [`MockSquare::push_refund_fault`] are
//! consumed one per call.

use serde_json::{Value, json};

use super::errors::SqError;
use super::helpers::{money, now_rfc3339_ms, random_string};
use super::money_writes::{MoneyWrite, first_use, invalid, public, replayed};
use super::state::{Inner, State};
use super::{Fault, MockSquare, Recorded};
use crate::common::mock_http::{Action, Request, Response};

const PATH: &str = "/v2/refunds";

impl Inner {
    pub(super) fn refund_payment(&self, req: &Request) -> Action {
        self.money_write(
            req,
            &MoneyWrite {
                path: PATH,
                scopes: &["PAYMENTS_WRITE"],
                schema: "RefundPaymentRequest",
                fault: |st| st.refund_faults.pop_front(),
                prose: &prose_rules,
                commit: &commit_refund,
            },
        )
    }
}

/// What Square's prose adds to the schema for a linked refund.
fn prose_rules(st: &State, body: &Value) -> Vec<SqError> {
    let mut broken = Vec::new();
    let mut rule = |field: &str, why: String| broken.push(invalid(field, why));
    if let Some(key) = body["idempotency_key"].as_str()
        && key.chars().count() > 45
    {
        rule(
            "idempotency_key",
            format!("keys are limited to 45 characters ({key:?})"),
        );
    }
    if body["unlinked"] == json!(true) {
        rule("unlinked", "possync refunds the payment it recorded".into());
        return broken;
    }
    if !body["location_id"].is_null() {
        rule(
            "location_id",
            "a linked refund must not set location_id".into(),
        );
    }
    let Some(payment_id) = body["payment_id"].as_str() else {
        rule("payment_id", "required when unlinked=false".into());
        return broken;
    };
    let Some(payment) = st.payments.iter().find(|p| p["id"] == payment_id) else {
        rule("payment_id", format!("Payment `{payment_id}` not found."));
        return broken;
    };
    let replay = st.refunds.iter().any(|r| {
        r["payment_id"] == payment_id && r["idempotency_key_sent"] == body["idempotency_key"]
    });
    let total = payment["total_money"]["amount"].as_i64().unwrap_or(0);
    let refunded: i64 = st
        .refunds
        .iter()
        .filter(|r| r["payment_id"] == payment_id)
        .filter_map(|r| r["amount_money"]["amount"].as_i64())
        .sum();
    let amount = body["amount_money"]["amount"].as_i64().unwrap_or(0);
    if !replay && amount > total - refunded {
        rule(
            "amount_money.amount",
            format!(
                "the refund of {amount} is more than the {} the payment has left",
                total - refunded
            ),
        );
    }
    if body["amount_money"]["currency"] != payment["total_money"]["currency"] {
        rule(
            "amount_money.currency",
            format!(
                "{} is not the payment's currency",
                body["amount_money"]["currency"]
            ),
        );
    }
    broken
}

/// The idempotency table, then a new refund recorded on its payment and its order.
fn commit_refund(st: &mut State, ctx: &str, merchant: &str, body: Value) -> Response {
    let (entry, first) = first_use(&st.refund_idempotency, &st.refunds, merchant, &body);
    let key = entry.1.clone();
    if let Some(resp) = replayed(st, ctx, "refund", first, &body) {
        return resp;
    }
    let payment_id = body["payment_id"].as_str().unwrap_or_default().to_string();
    let payment_index = st
        .payments
        .iter()
        .position(|p| p["id"] == payment_id)
        .unwrap_or_default();
    let (order_id, location_id) = {
        let payment = &st.payments[payment_index];
        (payment["order_id"].clone(), payment["location_id"].clone())
    };
    let now = now_rfc3339_ms();
    let amount = body["amount_money"].clone();
    let id = format!("{payment_id}_{}", random_string(40));
    let refund = json!({
        "id": id,
        "status": "COMPLETED",
        "location_id": location_id,
        "amount_money": amount,
        "payment_id": payment_id,
        "order_id": order_id,
        "reason": body["reason"],
        "created_at": now,
        "updated_at": now,
    });
    let payment = &mut st.payments[payment_index];
    let refunded = payment["refunded_money"]["amount"].as_i64().unwrap_or(0)
        + amount["amount"].as_i64().unwrap_or(0);
    let currency = amount["currency"].as_str().unwrap_or("USD").to_string();
    payment["refunded_money"] = money(refunded, &currency);
    match payment["refund_ids"].as_array_mut() {
        Some(ids) => ids.push(json!(id)),
        None => payment["refund_ids"] = json!([id]),
    }
    if let Some(&index) = order_id.as_str().and_then(|o| st.order_index.get(o)) {
        let order = &mut st.orders[index];
        let on_order = json!({"id": id, "location_id": location_id, "tender_id": payment_id,
                              "reason": body["reason"], "amount_money": amount,
                              "status": "COMPLETED", "created_at": now});
        match order["refunds"].as_array_mut() {
            Some(refunds) => refunds.push(on_order),
            None => order["refunds"] = json!([on_order]),
        }
        order["version"] = json!(order["version"].as_i64().unwrap_or(1) + 1);
        order["updated_at"] = json!(now);
    }
    let index = st.refunds.len();
    let mut stored = refund.clone();
    stored["idempotency_key_sent"] = json!(key);
    st.refunds.push(stored);
    st.refund_idempotency.insert(entry, (body, index));
    Response::json(200, &json!({ "refund": refund }))
}

impl MockSquare {
    /// Queue a fault for `POST /v2/refunds` (first in, first out; one per call).
    pub fn push_refund_fault(&self, fault: Fault) {
        self.inner.lock().refund_faults.push_back(fault);
    }

    /// Refunds made (one per idempotency key), in order, as Square's PaymentRefund objects.
    pub fn refunds(&self) -> Vec<Value> {
        self.inner.lock().refunds.iter().map(public).collect()
    }

    /// Every `POST /v2/refunds` received, faulted ones included.
    pub fn refund_requests(&self) -> Vec<Recorded> {
        self.inner
            .lock()
            .requests
            .iter()
            .filter(|r| r.method == "POST" && r.path.trim_end_matches('/') == PATH)
            .cloned()
            .collect()
    }
}
