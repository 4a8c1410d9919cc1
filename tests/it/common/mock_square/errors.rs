//! Square's error bodies and the answers the queued faults give.

use serde_json::{Value, json};

use super::{Fault, UNAUTHORIZED_DETAIL};
use crate::common::mock_http::{Action, Response};

/// One entry of Square's `{"errors": [...]}`.
#[derive(Debug, Clone)]
pub(super) struct SqError {
    pub(super) category: &'static str,
    pub(super) code: String,
    pub(super) detail: String,
    pub(super) field: Option<String>,
}

impl SqError {
    pub(super) fn new(code: &str, detail: impl Into<String>) -> SqError {
        SqError {
            category: category_of(code),
            code: code.to_string(),
            detail: detail.into(),
            field: None,
        }
    }

    pub(super) fn field(mut self, field: impl Into<String>) -> SqError {
        let field = field.into();
        self.field = (!field.is_empty()).then_some(field);
        self
    }

    pub(super) fn to_json(&self) -> Value {
        let mut e = json!({"category": self.category, "code": self.code, "detail": self.detail});
        if let Some(field) = &self.field {
            e["field"] = json!(field);
        }
        e
    }
}

/// The category of a code, per the spec's `x-error-category` (the codes this mock uses).
fn category_of(code: &str) -> &'static str {
    match code {
        "UNAUTHORIZED"
        | "ACCESS_TOKEN_EXPIRED"
        | "ACCESS_TOKEN_REVOKED"
        | "FORBIDDEN"
        | "INSUFFICIENT_SCOPES"
        | "CLIENT_DISABLED" => "AUTHENTICATION_ERROR",
        "RATE_LIMITED" => "RATE_LIMIT_ERROR",
        "INTERNAL_SERVER_ERROR" | "BAD_GATEWAY" | "SERVICE_UNAVAILABLE" | "GATEWAY_TIMEOUT" => {
            "API_ERROR"
        }
        _ => "INVALID_REQUEST_ERROR",
    }
}

pub(super) fn error_response(status: u16, errors: Vec<SqError>) -> Response {
    let errors: Vec<Value> = errors.iter().map(SqError::to_json).collect();
    Response::json(status, &json!({ "errors": errors }))
}

fn status_fault_code(status: u16) -> &'static str {
    match status {
        400 => "BAD_REQUEST",
        401 => "UNAUTHORIZED",
        403 => "FORBIDDEN",
        404 => "NOT_FOUND",
        405 => "METHOD_NOT_ALLOWED",
        409 => "CONFLICT",
        429 => "RATE_LIMITED",
        502 => "BAD_GATEWAY",
        503 => "SERVICE_UNAVAILABLE",
        504 => "GATEWAY_TIMEOUT",
        _ => "INTERNAL_SERVER_ERROR",
    }
}

/// The answer a fault gives (`TimeoutAfterCommit` is handled by the caller).
pub(super) fn fault_action(fault: &Fault) -> Action {
    match fault {
        Fault::Status(status) => {
            let code = status_fault_code(*status);
            let detail = match code {
                "SERVICE_UNAVAILABLE" => "The service is temporarily unavailable.",
                "INTERNAL_SERVER_ERROR" => "An internal error occurred.",
                _ => "Injected by the mock.",
            };
            Action::Respond(error_response(*status, vec![SqError::new(code, detail)]))
        }
        Fault::ConnectionReset => Action::Reset,
        Fault::TimeoutBeforeCommit(delay) => Action::Delayed(
            *delay,
            error_response(
                504,
                vec![SqError::new("GATEWAY_TIMEOUT", "Injected by the mock.")],
            ),
        ),
        Fault::RateLimited { retry_after } => {
            let mut resp = error_response(
                429,
                vec![SqError::new("RATE_LIMITED", "Rate limit exceeded.")],
            );
            if let Some(value) = retry_after {
                resp = resp.with_header("Retry-After", value);
            }
            Action::Respond(resp)
        }
        Fault::Unauthorized => Action::Respond(error_response(
            401,
            vec![SqError::new("UNAUTHORIZED", UNAUTHORIZED_DETAIL)],
        )),
        Fault::BadRequest {
            code,
            detail,
            field,
        } => {
            let mut e = SqError::new(code, detail.clone());
            e.category = "INVALID_REQUEST_ERROR";
            e.field = field.clone();
            Action::Respond(error_response(400, vec![e]))
        }
        Fault::TimeoutAfterCommit(_) => unreachable!("handled by the caller"),
    }
}
