//! A Square cancellation (providers/README.md §F6), as steps: RefundPayment of the payment
//! possync recorded (skipped without one), RetrieveOrder for the order's version and
//! fulfillment uids, then UpdateOrder to `CANCELED` at that version with each fulfillment
//! canceled and its reason. Each write has a deterministic idempotency key, so a retry or a
//! restart refunds once and cancels once; an order already `CANCELED` is done; a stale version
//! is read again at once, at most twice per attempt. The bodies and answers are pure.

use serde_json::{Value, json};

use super::classify::describe_errors;
use super::client::{SquareClient, transport_failure};
use crate::domain::{Order, Step};
use crate::providers::http::{self, Answer};
use crate::providers::{Done, Fact, Outcome, PushContext, PushResult, cut};

/// How often one attempt reads the order again after a stale version (§F6: at most twice).
const STALE_REREADS: u32 = 2;

/// The refund's key: `mmref-` + the order id (42 characters; RefundPayment allows 45).
pub fn refund_key(order: &Order) -> String {
    format!("mmref-{}", order.id)
}

/// The UpdateOrder key: `mmcancel-` + the order id.
pub fn cancel_key(order: &Order) -> String {
    format!("mmcancel-{}", order.id)
}

/// The seller's reason, or a plain one when none was given.
fn reason_of(order: &Order) -> String {
    order
        .life
        .cancel_reason
        .clone()
        .unwrap_or_else(|| "Canceled in MenuMaker".into())
}

/// The step a cancellation takes next, from what it has done.
pub fn cancel_step(done: &Done) -> Option<Step> {
    if done.canceled {
        None
    } else if done.pos_payment_id.is_some() && done.pos_refund_id.is_none() {
        Some(Step::RefundPayment)
    } else if done.read.is_none() {
        Some(Step::ReadOrder)
    } else {
        Some(Step::CancelOrder)
    }
}

/// The RefundPayment body (`POST /v2/refunds`) for the payment `payment_id` of `order`.
pub fn refund_body(order: &Order, payment_id: &str) -> Value {
    json!({
        "idempotency_key": refund_key(order),
        "payment_id": payment_id,
        "amount_money": {"amount": order.total, "currency": order.currency.code()},
        "reason": cut(&reason_of(order), 192),
    })
}

/// Where a retrieved Square order stands for a cancellation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Standing {
    /// Already `CANCELED`: nothing to do (a retry after a lost answer).
    Canceled,
    /// `COMPLETED`: Square refuses updates; the seller must handle it on the POS.
    Completed,
    /// Open: cancel it with this UpdateOrder body.
    Open(Value),
}

/// The order `retrieved` (RetrieveOrder's `order`) at its current version: what to send to
/// cancel it. The fulfillments (by `uid`) are canceled with the reason, and the order too.
pub fn standing(order: &Order, retrieved: &Value) -> Standing {
    match retrieved["state"].as_str() {
        Some("CANCELED") => return Standing::Canceled,
        Some("COMPLETED") => return Standing::Completed,
        _ => {}
    }
    let reason = cut(&reason_of(order), 100);
    let fulfillments: Vec<Value> = retrieved["fulfillments"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| Some((f["uid"].as_str()?, details_of(&f["type"]))))
        .map(|(uid, details)| {
            json!({"uid": uid, "state": "CANCELED", details: {"cancel_reason": reason}})
        })
        .collect();
    let mut sparse = json!({
        "location_id": retrieved["location_id"],
        "version": retrieved["version"].as_i64().unwrap_or(1),
        "state": "CANCELED",
    });
    if !fulfillments.is_empty() {
        sparse["fulfillments"] = Value::Array(fulfillments);
    }
    Standing::Open(json!({"idempotency_key": cancel_key(order), "order": sparse}))
}

/// Where a fulfillment of this `type` keeps its details (and so its `cancel_reason`).
fn details_of(kind: &Value) -> &'static str {
    match kind.as_str() {
        Some("DELIVERY") => "delivery_details",
        Some("SHIPMENT") => "shipment_details",
        _ => "pickup_details",
    }
}

/// Whether Square's error answer says the version was stale.
pub fn is_version_mismatch(body: &str) -> bool {
    serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| v["errors"].as_array().cloned())
        .into_iter()
        .flatten()
        .any(|e| e["code"] == "VERSION_MISMATCH")
}

/// A failed answer as the policy sees it, `what` naming the step.
fn refused(answer: &Answer, what: &str) -> PushResult {
    let (error, invalid) = describe_errors(answer.status, &answer.body);
    PushResult::ended(
        Some(answer.status),
        http::classify(
            answer.status,
            format!("{what}: {error}"),
            answer.retry_after,
            invalid,
        ),
    )
}

fn succeeded(answer: &Answer, learned: Vec<Fact>) -> PushResult {
    PushResult {
        http_status: Some(answer.status),
        outcome: Outcome::Success,
        learned,
    }
}

fn parsed(answer: &Answer) -> Option<Value> {
    serde_json::from_str(&answer.body).ok()
}

/// RefundPayment's answer: the refund's id is learned from a 2xx answer.
pub fn refund_made(answer: &Answer) -> PushResult {
    if !(200..300).contains(&answer.status) {
        return refused(answer, "refunding the payment");
    }
    match parsed(answer).and_then(|v| v.pointer("/refund/id")?.as_str().map(str::to_string)) {
        Some(id) => succeeded(answer, vec![Fact::PosRefundId(id)]),
        None => PushResult::ended(
            Some(answer.status),
            Outcome::Transient {
                error: format!(
                    "Square answered the refund with HTTP {} without a refund id",
                    answer.status
                ),
            },
        ),
    }
}

/// RetrieveOrder's answer for `order`: canceled already, completed (Square refuses to change
/// it), or open as read.
pub fn order_read(order: &Order, answer: &Answer) -> PushResult {
    if !(200..300).contains(&answer.status) {
        return refused(answer, "reading the order");
    }
    let Some(read) = parsed(answer)
        .map(|v| v["order"].clone())
        .filter(Value::is_object)
    else {
        return PushResult::ended(
            Some(answer.status),
            Outcome::Transient {
                error: format!("Square answered HTTP {} without the order", answer.status),
            },
        );
    };
    match standing(order, &read) {
        Standing::Canceled => succeeded(answer, vec![Fact::Canceled]),
        Standing::Completed => PushResult::ended(
            Some(answer.status),
            Outcome::Rejected {
                error: "Square has the order COMPLETED and refuses to change a completed order"
                    .into(),
            },
        ),
        Standing::Open(_) => succeeded(answer, vec![Fact::OrderRead(read)]),
    }
}

/// UpdateOrder's answer, after `stale` stale reads in this attempt: a stale version is read
/// again (at most [`STALE_REREADS`] times, then retried later as any transient failure).
pub fn order_canceled(answer: &Answer, stale: u32) -> PushResult {
    if (200..300).contains(&answer.status) {
        return succeeded(answer, vec![Fact::Canceled]);
    }
    if is_version_mismatch(&answer.body) {
        let (error, _) = describe_errors(answer.status, &answer.body);
        let error = format!("canceling the order: {error}");
        return if stale < STALE_REREADS {
            PushResult {
                http_status: Some(answer.status),
                outcome: Outcome::Stale {
                    error: format!("{error}; reading the order again"),
                },
                learned: vec![Fact::ReadStale],
            }
        } else {
            PushResult::ended(
                Some(answer.status),
                Outcome::Transient {
                    error: format!("{error}; still stale after {STALE_REREADS} reads"),
                },
            )
        };
    }
    refused(answer, "canceling the order")
}

impl SquareClient {
    /// One step of a cancellation.
    pub(super) fn cancel(&self, ctx: &PushContext<'_>, step: Step) -> PushResult {
        let Some(pos_order_id) = ctx.done.pos_order_id.as_deref() else {
            return PushResult::ended(
                None,
                Outcome::Rejected {
                    error: "no Square order is on record for this order".into(),
                },
            );
        };
        let token = ctx.access_token;
        let path = format!("/v2/orders/{pos_order_id}");
        if step == Step::RefundPayment
            && let Some(payment_id) = &ctx.done.pos_payment_id
        {
            let body = refund_body(ctx.order, payment_id).to_string();
            return self
                .send("/v2/refunds", token, body)
                .map_or_else(transport_failure, |a| refund_made(&a));
        }
        if step == Step::CancelOrder
            && let Some(Standing::Open(body)) =
                ctx.done.read.as_ref().map(|read| standing(ctx.order, read))
        {
            return self
                .put(&path, token, body.to_string())
                .map_or_else(transport_failure, |a| order_canceled(&a, ctx.done.stale));
        }
        // RetrieveOrder: asked for, or the step asked for cannot be taken without it.
        self.get(&path, token)
            .map_or_else(transport_failure, |a| order_read(ctx.order, &a))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{BusinessId, Currency, OrderId, OrderLife, OrderStatus};

    fn order(reason: Option<&str>) -> Order {
        Order {
            id: OrderId::from("0193a1b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b".to_string()),
            business_id: BusinessId::from("b".to_string()),
            customer_name: "Rahul".into(),
            customer_phone: None,
            special_instructions: None,
            currency: Currency::parse("INR").unwrap(),
            items: Vec::new(),
            subtotal: 60000,
            charges: Default::default(),
            total: 60000,
            fulfillment: Default::default(),
            payment: Default::default(),
            created_at: 0,
            life: OrderLife {
                status: OrderStatus::Canceled,
                canceled_at: Some(1),
                cancel_reason: reason.map(str::to_string),
                pos_state: None,
            },
        }
    }

    fn answer(status: u16, body: &str) -> Answer {
        Answer {
            status,
            body: body.into(),
            retry_after: None,
        }
    }

    #[test]
    fn the_refund_returns_the_whole_total_under_one_key() {
        let body = refund_body(&order(Some(&"x".repeat(300))), "PAY1");
        assert_eq!(
            body["idempotency_key"],
            "mmref-0193a1b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b"
        );
        assert!(body["idempotency_key"].as_str().unwrap().len() <= 45);
        assert_eq!(body["payment_id"], "PAY1");
        assert_eq!(
            body["amount_money"],
            json!({"amount": 60000, "currency": "INR"})
        );
        assert_eq!(body["reason"].as_str().unwrap().chars().count(), 192);
    }

    #[test]
    fn an_open_order_is_canceled_at_its_version_with_each_fulfillment() {
        let retrieved = json!({"id": "SQ", "location_id": "L1", "version": 3, "state": "OPEN",
                               "fulfillments": [{"uid": "F1", "state": "PREPARED"}]});
        assert_eq!(
            standing(&order(None), &retrieved),
            Standing::Open(json!({
                "idempotency_key": "mmcancel-0193a1b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b",
                "order": {"location_id": "L1", "version": 3, "state": "CANCELED",
                          "fulfillments": [{"uid": "F1", "state": "CANCELED",
                              "pickup_details": {"cancel_reason": "Canceled in MenuMaker"}}]}}))
        );
        let delivery = json!({"location_id": "L1", "version": 1, "state": "OPEN",
                              "fulfillments": [{"uid": "F2", "type": "DELIVERY"}]});
        let Standing::Open(body) = standing(&order(Some("Rain")), &delivery) else {
            panic!("open")
        };
        assert_eq!(
            body["order"]["fulfillments"],
            json!([{"uid": "F2", "state": "CANCELED",
                    "delivery_details": {"cancel_reason": "Rain"}}])
        );
        for (state, want) in [
            ("CANCELED", Standing::Canceled),
            ("COMPLETED", Standing::Completed),
        ] {
            assert_eq!(standing(&order(None), &json!({"state": state})), want);
        }
    }

    #[test]
    fn the_steps_follow_what_is_done() {
        let paid = Done {
            pos_order_id: Some("SQ".into()),
            pos_payment_id: Some("PAY".into()),
            ..Done::default()
        };
        let refunded = Done {
            pos_refund_id: Some("REF".into()),
            ..paid.clone()
        };
        let read = Done {
            read: Some(json!({"state": "OPEN"})),
            ..refunded.clone()
        };
        let unpaid = Done {
            pos_order_id: Some("SQ".into()),
            ..Done::default()
        };
        let table = [
            ("paid: refund first", &paid, Some(Step::RefundPayment)),
            ("refunded: read", &refunded, Some(Step::ReadOrder)),
            ("read: cancel", &read, Some(Step::CancelOrder)),
            ("unpaid: no refund", &unpaid, Some(Step::ReadOrder)),
        ];
        for (name, done, want) in table {
            assert_eq!(cancel_step(done), want, "{name}");
        }
        let canceled = Done {
            canceled: true,
            ..read
        };
        assert_eq!(cancel_step(&canceled), None);
    }

    #[test]
    fn answers_become_what_the_cancellation_learned() {
        let refund = refund_made(&answer(
            200,
            r#"{"refund":{"id":"REF1","status":"PENDING"}}"#,
        ));
        assert_eq!(refund.learned, vec![Fact::PosRefundId("REF1".into())]);
        assert!(matches!(
            refund_made(&answer(503, "{}")).outcome,
            Outcome::Transient { .. }
        ));
        let o = order(None);
        let canceled = order_read(&o, &answer(200, r#"{"order":{"state":"CANCELED"}}"#));
        assert_eq!(
            (canceled.outcome, canceled.learned),
            (Outcome::Success, vec![Fact::Canceled])
        );
        let open = json!({"state": "OPEN", "version": 2});
        let read = order_read(&o, &answer(200, &json!({ "order": open }).to_string()));
        assert_eq!(read.learned, vec![Fact::OrderRead(open)]);
        assert!(matches!(
            order_read(&o, &answer(200, r#"{"order":{"state":"COMPLETED"}}"#)).outcome,
            Outcome::Rejected { .. }
        ));
        let mismatch =
            r#"{"errors":[{"category":"INVALID_REQUEST_ERROR","code":"VERSION_MISMATCH"}]}"#;
        let first = order_canceled(&answer(400, mismatch), 0);
        assert!(matches!(first.outcome, Outcome::Stale { .. }), "{first:?}");
        assert_eq!(first.learned, vec![Fact::ReadStale]);
        assert!(matches!(
            order_canceled(&answer(400, mismatch), 1).outcome,
            Outcome::Stale { .. }
        ));
        assert!(matches!(
            order_canceled(&answer(400, mismatch), 2).outcome,
            Outcome::Transient { .. }
        ));
        assert_eq!(
            order_canceled(&answer(200, "{}"), 0).learned,
            vec![Fact::Canceled]
        );
        assert!(matches!(
            order_canceled(&answer(400, r#"{"errors":[{"code":"NOT_FOUND"}]}"#), 0).outcome,
            Outcome::Rejected { .. }
        ));
    }

    #[test]
    fn a_stale_version_is_recognised() {
        assert!(is_version_mismatch(
            r#"{"errors":[{"category":"INVALID_REQUEST_ERROR","code":"VERSION_MISMATCH"}]}"#
        ));
        assert!(!is_version_mismatch(r#"{"errors":[{"code":"NOT_FOUND"}]}"#));
        assert!(!is_version_mismatch("<html>"));
    }
}
