//! A Square cancellation (providers/README.md §F6), as steps: RefundPayment of the payment
//! possync recorded (skipped without one), RetrieveOrder for the order's version and
//! fulfillment uids, then UpdateOrder to `CANCELED` at that version with each fulfillment
//! canceled and its reason. Each write has a deterministic idempotency key, so a retry or a
//! restart refunds once and cancels once; an order already `CANCELED` is done; a stale version
//! is read again at once, at most twice per attempt. When Square refuses `CANCELED` on the
//! order itself (a 400 naming `order.state` or a state transition), the fulfillments alone are
//! canceled at the same version (the refusal committed nothing) under a key of their own, with
//! the same stale and retry rules, and the log says the order stays open in Square. The answers
//! are pure; the bodies are in [`super::cancel_body`].

use serde_json::Value;

use super::cancel_body::{Fallback, Standing, fallback, refund_body, standing};
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
    } else if done.fulfillment_only {
        Some(Step::CancelFulfillment)
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

/// Whether Square's error answer refuses the order's `state` itself: a 400 with an error on
/// the field `order.state`, or one without a field whose detail speaks of a state transition.
/// (Which answer Square gives for `CANCELED` on a refunded order is unverified, providers §F6;
/// a refusal of the whole order, such as a `COMPLETED` one, names neither.)
pub fn refuses_order_state(status: u16, body: &str) -> bool {
    status == 400
        && serde_json::from_str::<Value>(body)
            .ok()
            .and_then(|v| v["errors"].as_array().cloned())
            .into_iter()
            .flatten()
            .any(|e| match e["field"].as_str() {
                Some(field) => field == "order.state",
                None => e["detail"]
                    .as_str()
                    .is_some_and(|d| d.to_ascii_lowercase().contains("state transition")),
            })
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
/// it), or open as read. After Square refused to cancel the order itself (`fulfillment_only`), an
/// open order whose fulfillments are all canceled is done.
pub fn order_read(order: &Order, answer: &Answer, fulfillment_only: bool) -> PushResult {
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
        Standing::Open(_) if fulfillment_only => match fallback(order, &read) {
            Fallback::Send(_) => succeeded(answer, vec![Fact::OrderRead(read)]),
            Fallback::Done => succeeded(answer, vec![Fact::OrderRead(read), Fact::Canceled]),
            Fallback::Nothing => PushResult::ended(
                Some(answer.status),
                Outcome::Rejected {
                    error: "Square refuses to cancel the order itself, and it has no \
                            fulfillment to cancel instead"
                        .into(),
                },
            ),
        },
        Standing::Open(_) => succeeded(answer, vec![Fact::OrderRead(read)]),
    }
}

/// UpdateOrder's answer for the order `read`, after `stale` stale reads in this attempt: a
/// stale version is read again (at most [`STALE_REREADS`] times, then retried later as any
/// transient failure); a refusal of the order's `state` turns to the fallback, or is done when
/// the order's fulfillments are all canceled already (an earlier fallback whose answer was lost).
pub fn order_canceled(order: &Order, read: &Value, answer: &Answer, stale: u32) -> PushResult {
    if (200..300).contains(&answer.status) {
        return succeeded(answer, vec![Fact::Canceled]);
    }
    if is_version_mismatch(&answer.body) {
        return stale_read(answer, "canceling the order", stale);
    }
    if !refuses_order_state(answer.status, &answer.body) {
        return refused(answer, "canceling the order");
    }
    let (error, _) = describe_errors(answer.status, &answer.body);
    let error = format!("canceling the order: {error}; Square refuses to cancel the order itself");
    match fallback(order, read) {
        Fallback::Send(_) => PushResult {
            http_status: Some(answer.status),
            outcome: Outcome::Fallback {
                error: format!("{error}: canceling its fulfillment alone"),
            },
            learned: vec![Fact::OrderCancelRefused],
        },
        Fallback::Done => succeeded(answer, vec![Fact::OrderCancelRefused, Fact::Canceled]),
        Fallback::Nothing => PushResult::ended(
            Some(answer.status),
            Outcome::Rejected {
                error: format!("{error}, and it has no fulfillment to cancel instead"),
            },
        ),
    }
}

/// The fallback UpdateOrder's answer (the fulfillments alone), after `stale` stale reads: a
/// stale version is read again as for the whole order; any other refusal fails the log.
pub fn fulfillment_canceled(answer: &Answer, stale: u32) -> PushResult {
    if (200..300).contains(&answer.status) {
        return succeeded(answer, vec![Fact::Canceled]);
    }
    if is_version_mismatch(&answer.body) {
        return stale_read(answer, "canceling the fulfillment", stale);
    }
    refused(
        answer,
        "Square refused to cancel the order itself, and then to cancel its fulfillment alone",
    )
}

/// A stale version met while `what`: read again at once, at most [`STALE_REREADS`] times.
fn stale_read(answer: &Answer, what: &str, stale: u32) -> PushResult {
    let (error, _) = describe_errors(answer.status, &answer.body);
    let error = format!("{what}: {error}");
    if stale < STALE_REREADS {
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
    }
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
        let (order, stale) = (ctx.order, ctx.done.stale);
        if let Some(read) = ctx.done.read.as_ref() {
            match (step, standing(order, read), fallback(order, read)) {
                (Step::CancelOrder, Standing::Open(body), _) => {
                    return self
                        .put(&path, token, body.to_string())
                        .map_or_else(transport_failure, |a| {
                            order_canceled(order, read, &a, stale)
                        });
                }
                (Step::CancelFulfillment, Standing::Open(_), Fallback::Send(body)) => {
                    return self
                        .put(&path, token, body.to_string())
                        .map_or_else(transport_failure, |a| fulfillment_canceled(&a, stale));
                }
                _ => {}
            }
        }
        // RetrieveOrder: asked for, or the step asked for cannot be taken without it.
        self.get(&path, token).map_or_else(transport_failure, |a| {
            order_read(ctx.order, &a, ctx.done.fulfillment_only)
        })
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
        let refused = Done {
            fulfillment_only: true,
            ..read.clone()
        };
        let refused_stale = Done {
            read: None,
            ..refused.clone()
        };
        let table = [
            ("paid: refund first", &paid, Some(Step::RefundPayment)),
            ("refunded: read", &refunded, Some(Step::ReadOrder)),
            ("read: cancel", &read, Some(Step::CancelOrder)),
            ("unpaid: no refund", &unpaid, Some(Step::ReadOrder)),
            (
                "order refused: fulfillment",
                &refused,
                Some(Step::CancelFulfillment),
            ),
            (
                "refused, stale: read",
                &refused_stale,
                Some(Step::ReadOrder),
            ),
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
        let canceled = order_read(&o, &answer(200, r#"{"order":{"state":"CANCELED"}}"#), false);
        assert_eq!(
            (canceled.outcome, canceled.learned),
            (Outcome::Success, vec![Fact::Canceled])
        );
        let open = json!({"state": "OPEN", "version": 2});
        let read = order_read(
            &o,
            &answer(200, &json!({ "order": open }).to_string()),
            false,
        );
        assert_eq!(read.learned, vec![Fact::OrderRead(open.clone())]);
        assert!(matches!(
            order_read(
                &o,
                &answer(200, r#"{"order":{"state":"COMPLETED"}}"#),
                false
            )
            .outcome,
            Outcome::Rejected { .. }
        ));
        let mismatch =
            r#"{"errors":[{"category":"INVALID_REQUEST_ERROR","code":"VERSION_MISMATCH"}]}"#;
        let first = order_canceled(&o, &open, &answer(400, mismatch), 0);
        assert!(matches!(first.outcome, Outcome::Stale { .. }), "{first:?}");
        assert_eq!(first.learned, vec![Fact::ReadStale]);
        assert!(matches!(
            order_canceled(&o, &open, &answer(400, mismatch), 1).outcome,
            Outcome::Stale { .. }
        ));
        assert!(matches!(
            order_canceled(&o, &open, &answer(400, mismatch), 2).outcome,
            Outcome::Transient { .. }
        ));
        assert_eq!(
            order_canceled(&o, &open, &answer(200, "{}"), 0).learned,
            vec![Fact::Canceled]
        );
        assert!(matches!(
            order_canceled(
                &o,
                &open,
                &answer(400, r#"{"errors":[{"code":"NOT_FOUND"}]}"#),
                0
            )
            .outcome,
            Outcome::Rejected { .. }
        ));
    }

    /// A realistic refusal of `CANCELED` on the order (what the mock Square answers).
    const REFUSES_STATE: &str = r#"{"errors":[{"category":"INVALID_REQUEST_ERROR",
        "code":"BAD_REQUEST","field":"order.state",
        "detail":"An order with refunded tenders cannot transition from OPEN to CANCELED."}]}"#;

    #[test]
    fn a_refused_order_state_turns_to_canceling_the_fulfillment_alone() {
        let o = order(None);
        let open = json!({"state": "OPEN", "version": 4, "location_id": "L1",
                          "fulfillments": [{"uid": "F1", "state": "PREPARED"}]});
        let first = order_canceled(&o, &open, &answer(400, REFUSES_STATE), 0);
        let Outcome::Fallback { error } = &first.outcome else {
            panic!("{first:?}")
        };
        assert!(error.contains("cannot transition") && error.contains("fulfillment alone"));
        assert_eq!(first.learned, vec![Fact::OrderCancelRefused]);
        // Its fulfillment is canceled already (an earlier fallback's answer was lost): done.
        let done = json!({"state": "OPEN", "fulfillments": [{"uid": "F1", "state": "CANCELED"}]});
        let again = order_canceled(&o, &done, &answer(400, REFUSES_STATE), 0);
        assert_eq!(
            (again.outcome, again.learned),
            (
                Outcome::Success,
                vec![Fact::OrderCancelRefused, Fact::Canceled]
            )
        );
        let bare = json!({"state": "OPEN", "version": 4});
        let Outcome::Rejected { error } =
            order_canceled(&o, &bare, &answer(400, REFUSES_STATE), 0).outcome
        else {
            panic!("no fulfillment: rejected")
        };
        assert!(
            error.contains("no fulfillment to cancel instead"),
            "{error}"
        );
        // After the refusal, a read whose fulfillments are all canceled is done.
        let read = order_read(
            &o,
            &answer(200, &json!({ "order": done.clone() }).to_string()),
            true,
        );
        assert_eq!(read.learned, vec![Fact::OrderRead(done), Fact::Canceled]);

        let fine = fulfillment_canceled(&answer(200, "{}"), 0);
        assert_eq!(
            (fine.outcome, fine.learned),
            (Outcome::Success, vec![Fact::Canceled])
        );
        let mismatch = r#"{"errors":[{"code":"VERSION_MISMATCH"}]}"#;
        assert!(matches!(
            fulfillment_canceled(&answer(400, mismatch), 0).outcome,
            Outcome::Stale { .. }
        ));
        let Outcome::Rejected { error } =
            fulfillment_canceled(&answer(400, REFUSES_STATE), 0).outcome
        else {
            panic!("a refused fallback fails")
        };
        assert!(error.starts_with("Square refused to cancel the order itself, and then"));
    }

    #[test]
    fn only_a_refusal_of_the_order_state_is_one() {
        let table = [
            ("field order.state", 400, REFUSES_STATE, true),
            (
                "no field, a state transition",
                400,
                r#"{"errors":[{"code":"BAD_REQUEST","detail":"Invalid state transition."}]}"#,
                true,
            ),
            (
                "a completed order",
                400,
                r#"{"errors":[{"code":"BAD_REQUEST",
                    "detail":"Orders with a `COMPLETED` state cannot be updated."}]}"#,
                false,
            ),
            (
                "another field",
                400,
                r#"{"errors":[{"code":"INVALID_VALUE","field":"order.fulfillments[0].state",
                    "detail":"Invalid state transition."}]}"#,
                false,
            ),
            ("not a 400", 500, REFUSES_STATE, false),
            ("not JSON", 400, "<html>", false),
        ];
        for (name, status, body, want) in table {
            assert_eq!(refuses_order_state(status, body), want, "{name}");
        }
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
