//! Dine's answers classified for the retry policy.

use serde_json::Value;

use crate::providers::http::{self, Answer};
use crate::providers::{Outcome, PushResult};

/// Classify Dine's answer.
pub fn outcome_of(answer: &Answer) -> PushResult {
    let status = Some(answer.status);
    let parsed: Option<Value> = serde_json::from_str(&answer.body).ok();
    if (200..300).contains(&answer.status) {
        let number = parsed
            .as_ref()
            .filter(|v| v.get("success").and_then(Value::as_bool) != Some(false))
            .and_then(|v| {
                v.get("orderNumber")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            });
        return match number {
            Some(pos_order_id) => PushResult::created(answer.status, pos_order_id),
            None => PushResult::ended(
                status,
                Outcome::Ambiguous {
                    error: format!(
                        "Dine POS answered HTTP {} without an orderNumber",
                        answer.status
                    ),
                },
            ),
        };
    }
    let detail = parsed
        .as_ref()
        .and_then(|v| {
            v.get("message")
                .or_else(|| v.get("error"))
                .and_then(Value::as_str)
        })
        .map(|m| format!(": {m}"))
        .unwrap_or_default();
    let error = format!("Dine POS answered HTTP {}{detail}", answer.status);
    let outcome = match answer.status {
        401 | 403 => Outcome::AuthFailed {
            error: format!("{error}; the webhook secret was refused"),
        },
        _ => http::classify(answer.status, error, answer.retry_after, false),
    };
    PushResult::ended(status, outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_dine_answers() {
        let answer = |status, body: &str| Answer {
            status,
            body: body.into(),
            retry_after: None,
        };
        let created = outcome_of(&answer(
            201,
            r#"{"success":true,"orderNumber":"AGG-20261125-001"}"#,
        ));
        assert_eq!(created.outcome, Outcome::Success);
        assert_eq!(
            created.learned,
            vec![crate::providers::Fact::PosOrderId(
                "AGG-20261125-001".into()
            )]
        );
        assert!(matches!(
            outcome_of(&answer(401, "{}")).outcome,
            Outcome::AuthFailed { .. }
        ));
        assert!(matches!(
            outcome_of(&answer(400, r#"{"message":"hotelId missing"}"#)).outcome,
            Outcome::Rejected { .. }
        ));
        assert!(matches!(
            outcome_of(&answer(404, "{}")).outcome,
            Outcome::Rejected { .. }
        ));
        assert!(matches!(
            outcome_of(&answer(500, "{}")).outcome,
            Outcome::Transient { .. }
        ));
    }
}
