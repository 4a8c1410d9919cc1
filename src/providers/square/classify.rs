//! Square's answers classified for the retry policy.

use serde_json::Value;

use crate::providers::http::{self, Answer};
use crate::providers::{Fact, Outcome, PushResult};

/// Square's `{"errors": [{category, code, detail, field}]}` in one line.
pub fn describe_errors(status: u16, body: &str) -> (String, bool) {
    let parsed: Option<Value> = serde_json::from_str(body).ok();
    let errors = parsed
        .as_ref()
        .and_then(|v| v.get("errors"))
        .and_then(Value::as_array);
    let Some(errors) = errors.filter(|e| !e.is_empty()) else {
        return (format!("Square answered HTTP {status}"), false);
    };
    let invalid = errors
        .iter()
        .any(|e| e.get("category").and_then(Value::as_str) == Some("INVALID_REQUEST_ERROR"));
    let parts: Vec<String> = errors
        .iter()
        .map(|e| {
            let text = |k: &str| e.get(k).and_then(Value::as_str).unwrap_or("");
            let mut part = format!("{}/{}", text("category"), text("code"));
            if !text("detail").is_empty() {
                part.push_str(": ");
                part.push_str(text("detail"));
            }
            if !text("field").is_empty() {
                part.push_str(&format!(" (field {})", text("field")));
            }
            part
        })
        .collect();
    (
        format!("Square answered HTTP {status}: {}", parts.join("; ")),
        invalid,
    )
}

/// Classify Square's answer to CreateOrder. The order id is learned from any 2xx answer; the
/// order's `total_money` must then equal `expected_total` (MenuMaker's total), else Square would
/// charge what MenuMaker did not, and the push fails at once naming both.
pub fn order_created(answer: &Answer, expected_total: i64) -> PushResult {
    let status = Some(answer.status);
    if (200..300).contains(&answer.status) {
        let parsed = serde_json::from_str::<Value>(&answer.body).ok();
        let order = parsed.as_ref().and_then(|v| v.get("order"));
        let id = order
            .and_then(|o| o.get("id"))
            .and_then(Value::as_str)
            .map(str::to_string);
        let Some(id) = id else {
            // The order may exist; the same idempotency key makes the retry safe.
            return PushResult::ended(
                status,
                Outcome::Transient {
                    error: format!("Square answered HTTP {} without an order id", answer.status),
                },
            );
        };
        let total = order
            .and_then(|o| o.pointer("/total_money/amount"))
            .and_then(Value::as_i64);
        let mut result = PushResult::created(answer.status, id);
        if total != Some(expected_total) {
            let total = total.map_or_else(|| "nothing".to_string(), |t| t.to_string());
            result.outcome = Outcome::Rejected {
                error: format!("Square computed total {total}, MenuMaker total {expected_total}"),
            };
        }
        return result;
    }
    let (error, invalid) = describe_errors(answer.status, &answer.body);
    PushResult::ended(
        status,
        http::classify(answer.status, error, answer.retry_after, invalid),
    )
}

/// Classify Square's answer to CreatePayment: the payment's id is learned from a 2xx answer.
pub fn payment_recorded(answer: &Answer) -> PushResult {
    if !(200..300).contains(&answer.status) {
        return payment_refused(answer, "recording the payment");
    }
    let id = serde_json::from_str::<Value>(&answer.body)
        .ok()
        .and_then(|v| {
            v.pointer("/payment/id")
                .and_then(Value::as_str)
                .map(str::to_string)
        });
    match id {
        Some(id) => PushResult {
            http_status: Some(answer.status),
            outcome: Outcome::Success,
            learned: vec![Fact::PosPaymentId(id)],
        },
        None => PushResult::ended(
            Some(answer.status),
            Outcome::Transient {
                error: format!(
                    "Square answered the payment with HTTP {} without a payment id",
                    answer.status
                ),
            },
        ),
    }
}

/// Classify Square's answer to PayOrder (a zero-total order marked paid): a 2xx answer with
/// the paid order is the order paid. Square names no payment, so none is learned.
pub fn order_paid(answer: &Answer) -> PushResult {
    if !(200..300).contains(&answer.status) {
        return payment_refused(answer, "marking the order paid");
    }
    let paid = serde_json::from_str::<Value>(&answer.body)
        .ok()
        .is_some_and(|v| v.pointer("/order/id").is_some_and(Value::is_string));
    if !paid {
        return PushResult::ended(
            Some(answer.status),
            Outcome::Transient {
                error: format!(
                    "Square answered PayOrder with HTTP {} without the order",
                    answer.status
                ),
            },
        );
    }
    PushResult {
        http_status: Some(answer.status),
        outcome: Outcome::Success,
        learned: vec![Fact::OrderPaid],
    }
}

/// Square's refusal of the step that pays the order (`what` names it). A 403 means the token
/// lacks `PAYMENTS_WRITE` (a connection made before possync asked for it): only the seller can
/// grant it.
fn payment_refused(answer: &Answer, what: &str) -> PushResult {
    let (error, invalid) = describe_errors(answer.status, &answer.body);
    let error = format!("{what}: {error}");
    let outcome = match http::classify(answer.status, error, answer.retry_after, invalid) {
        Outcome::Forbidden { error } => Outcome::Forbidden {
            error: format!(
                "{error}; the order is in Square but unpaid, so the POS does not show it: \
                 reconnect Square to grant possync the payments permission (PAYMENTS_WRITE)"
            ),
        },
        other => other,
    };
    PushResult::ended(Some(answer.status), outcome)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// An answer of `status` with `body`, no Retry-After.
    pub(in crate::providers::square) fn answer(status: u16, body: &str) -> Answer {
        Answer {
            status,
            body: body.into(),
            retry_after: None,
        }
    }

    #[test]
    fn classifies_square_order_answers() {
        let created = order_created(
            &answer(
                200,
                r#"{"order":{"id":"SQ1","total_money":{"amount":500}}}"#,
            ),
            500,
        );
        assert_eq!(created.outcome, Outcome::Success);
        assert_eq!(created.learned, vec![Fact::PosOrderId("SQ1".into())]);
        let outcome = |status, body| order_created(&answer(status, body), 500).outcome;
        assert!(matches!(outcome(200, "{}"), Outcome::Transient { .. }));
        let bad = r#"{"errors":[{"category":"INVALID_REQUEST_ERROR","code":"VALUE_TOO_LONG","detail":"too long","field":"order.ticket_name"}]}"#;
        assert_eq!(
            outcome(400, bad),
            Outcome::Rejected {
                error: "Square answered HTTP 400: INVALID_REQUEST_ERROR/VALUE_TOO_LONG: too long (field order.ticket_name)".into()
            }
        );
        let odd = r#"{"errors":[{"category":"INVALID_REQUEST_ERROR","code":"BAD_REQUEST"}]}"#;
        assert!(matches!(outcome(500, odd), Outcome::Rejected { .. }));
        assert!(matches!(outcome(503, "<html>"), Outcome::Transient { .. }));
        assert!(matches!(outcome(401, "{}"), Outcome::AuthFailed { .. }));
        assert!(matches!(outcome(403, "{}"), Outcome::Forbidden { .. }));
    }

    #[test]
    fn a_total_other_than_ours_fails_at_once_and_keeps_the_order_id() {
        let mismatch = order_created(
            &answer(
                200,
                r#"{"order":{"id":"SQ1","total_money":{"amount":540}}}"#,
            ),
            500,
        );
        assert_eq!(
            mismatch.outcome,
            Outcome::Rejected {
                error: "Square computed total 540, MenuMaker total 500".into()
            }
        );
        assert_eq!(mismatch.learned, vec![Fact::PosOrderId("SQ1".into())]);
    }

    #[test]
    fn classifies_square_payment_answers() {
        let paid = payment_recorded(&answer(200, r#"{"payment":{"id":"PAY1"}}"#));
        assert_eq!(paid.outcome, Outcome::Success);
        assert_eq!(paid.learned, vec![Fact::PosPaymentId("PAY1".into())]);
    }

    #[test]
    fn classifies_square_pay_order_answers() {
        let paid = order_paid(&answer(
            200,
            r#"{"order":{"id":"SQ1","state":"OPEN","version":2}}"#,
        ));
        assert_eq!(paid.outcome, Outcome::Success);
        assert_eq!(paid.learned, vec![Fact::OrderPaid], "no payment id");
        assert!(matches!(
            order_paid(&answer(200, "{}")).outcome,
            Outcome::Transient { .. }
        ));
        let mismatch = r#"{"errors":[{"category":"INVALID_REQUEST_ERROR","code":"PAYMENT_AMOUNT_MISMATCH","detail":"The payment total must match the order total."}]}"#;
        assert!(matches!(
            order_paid(&answer(400, mismatch)).outcome,
            Outcome::Rejected { .. }
        ));
    }

    #[test]
    fn either_paying_step_asks_to_reconnect_on_a_403_and_retries_a_5xx() {
        let scopes =
            r#"{"errors":[{"category":"AUTHENTICATION_ERROR","code":"INSUFFICIENT_SCOPES"}]}"#;
        type Classify = fn(&Answer) -> PushResult;
        let steps = [
            (payment_recorded as Classify, "recording the payment: "),
            (order_paid as Classify, "marking the order paid: "),
        ];
        for (classify, what) in steps {
            let Outcome::Forbidden { error } = classify(&answer(403, scopes)).outcome else {
                panic!("a 403 on {what} asks to reconnect")
            };
            assert!(
                error.starts_with(what)
                    && error.contains("PAYMENTS_WRITE")
                    && error.contains("reconnect"),
                "{error}"
            );
            assert!(
                matches!(
                    classify(&answer(502, "{}")).outcome,
                    Outcome::Transient { .. }
                ),
                "{what}"
            );
        }
    }
}
