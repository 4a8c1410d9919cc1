//! A Square cancellation (providers/README.md §F6), as steps: RefundPayment of the payment
//! possync recorded (skipped without one), RetrieveOrder for the order's version and
//! fulfillment uids, then UpdateOrder to `CANCELED` at that version with each fulfillment
//! canceled and its reason. Each write has a deterministic idempotency key, so a retry or a
//! restart refunds once and cancels once; an order already `CANCELED` is done; a stale version
//! is read again at once, at most twice per attempt. The answers are pure; the bodies are in
//! [`super::cancel_body`].

use serde_json::Value;

use super::cancel_body::{Standing, refund_body, standing};
use super::classify::describe_errors;
use super::client::{SquareClient, transport_failure};
use crate::domain::{Order, Step};
use crate::providers::http::{self, Answer};
use crate::providers::{Done, Fact, Outcome, PushContext, PushResult};

/// How often one attempt reads the order again after a stale version (§F6: at most twice).
const STALE_REREADS: u32 = 2;

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
    use crate::providers::square::cancel_body::tests::order;
    use crate::providers::square::classify::tests::answer;
    use serde_json::json;

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
