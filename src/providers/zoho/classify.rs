//! Zoho's `{code, message}` answers classified for the retry policy.

use serde_json::Value;

use crate::providers::Outcome;
use crate::providers::http::Answer;

/// Zoho's `{code, message}` answer classified: `Ok(body)` when `code == 0` and the status is
/// 2xx; otherwise the outcome. A non-zero code is a failure whatever the HTTP status.
pub fn check(answer: &Answer) -> Result<Value, Outcome> {
    let parsed: Option<Value> = serde_json::from_str(&answer.body).ok();
    let code = parsed
        .as_ref()
        .and_then(|v| v.get("code"))
        .and_then(Value::as_i64);
    let message = parsed
        .as_ref()
        .and_then(|v| v.get("message"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if (200..300).contains(&answer.status) && code == Some(0) {
        return Ok(parsed.unwrap_or(Value::Null));
    }
    let error = match code {
        Some(code) => format!(
            "Zoho answered HTTP {} code {code}: {message}",
            answer.status
        ),
        None => format!("Zoho answered HTTP {}", answer.status),
    };
    Err(match (answer.status, code) {
        (401, _) | (_, Some(57)) => Outcome::AuthFailed { error },
        (429, _) => Outcome::RateLimited {
            error,
            retry_after: answer.retry_after,
        },
        (_, Some(1000)) | (500..=599, _) => Outcome::Transient { error },
        // 2xx without a code: the create may have happened; the lookup makes the retry safe.
        (200..=299, None) => Outcome::Transient { error },
        _ => Outcome::Rejected { error },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_non_zero_code_fails_whatever_the_status() {
        let answer = |status, body: &str| Answer {
            status,
            body: body.into(),
            retry_after: None,
        };
        assert!(check(&answer(201, r#"{"code":0,"salesorder":{}}"#)).is_ok());
        let kind = |status, body: &str| match check(&answer(status, body)) {
            Ok(_) => "ok",
            Err(Outcome::AuthFailed { .. }) => "auth",
            Err(Outcome::RateLimited { .. }) => "backoff",
            Err(Outcome::Transient { .. }) => "retry",
            Err(Outcome::Rejected { .. }) => "fail",
            Err(_) => "other",
        };
        for (status, body, want) in [
            (
                200,
                r#"{"code":1002,"message":"Item does not exist."}"#,
                "fail",
            ),
            (
                200,
                r#"{"code":57,"message":"You are not authorized"}"#,
                "auth",
            ),
            (
                401,
                r#"{"code":14,"message":"Invalid OAuth token"}"#,
                "auth",
            ),
            (400, r#"{"code":57,"message":"not authorized"}"#, "auth"),
            (429, r#"{"code":45,"message":"too many"}"#, "backoff"),
            (200, r#"{"code":1000,"message":"Internal error"}"#, "retry"),
            (500, "oops", "retry"),
            (
                400,
                r#"{"code":1038,"message":"JSON is not well formed"}"#,
                "fail",
            ),
        ] {
            assert_eq!(kind(status, body), want, "{status} {body}");
        }
    }
}
