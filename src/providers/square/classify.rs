//! Square's answers classified for the retry policy.

use serde_json::Value;

use crate::providers::Outcome;
use crate::providers::http::{self, Answer};

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

/// Classify Square's answer.
pub fn outcome_of(answer: &Answer) -> Outcome {
    if (200..300).contains(&answer.status) {
        let id = serde_json::from_str::<Value>(&answer.body)
            .ok()
            .and_then(|v| {
                v.pointer("/order/id")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            });
        return match id {
            Some(pos_order_id) => Outcome::Success { pos_order_id },
            // The order may exist; the same idempotency key makes the retry safe.
            None => Outcome::Transient {
                error: format!("Square answered HTTP {} without an order id", answer.status),
            },
        };
    }
    let (error, invalid) = describe_errors(answer.status, &answer.body);
    http::classify(answer.status, error, answer.retry_after, invalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_square_answers() {
        let answer = |status, body: &str| Answer {
            status,
            body: body.into(),
            retry_after: None,
        };
        assert_eq!(
            outcome_of(&answer(200, r#"{"order":{"id":"SQ1"}}"#)),
            Outcome::Success {
                pos_order_id: "SQ1".into()
            }
        );
        assert!(matches!(
            outcome_of(&answer(200, "{}")),
            Outcome::Transient { .. }
        ));
        let bad = r#"{"errors":[{"category":"INVALID_REQUEST_ERROR","code":"VALUE_TOO_LONG","detail":"too long","field":"order.ticket_name"}]}"#;
        assert_eq!(
            outcome_of(&answer(400, bad)),
            Outcome::Rejected {
                error: "Square answered HTTP 400: INVALID_REQUEST_ERROR/VALUE_TOO_LONG: too long (field order.ticket_name)".into()
            }
        );
        let odd = r#"{"errors":[{"category":"INVALID_REQUEST_ERROR","code":"BAD_REQUEST"}]}"#;
        assert!(matches!(
            outcome_of(&answer(500, odd)),
            Outcome::Rejected { .. }
        ));
        assert!(matches!(
            outcome_of(&answer(503, "<html>")),
            Outcome::Transient { .. }
        ));
        assert!(matches!(
            outcome_of(&answer(401, "{}")),
            Outcome::AuthFailed { .. }
        ));
    }
}
