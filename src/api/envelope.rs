//! The response envelope and the error codes of API.md.

use poem::http::StatusCode;
use poem_openapi::payload::Json;
use poem_openapi::types::{ParseFromJSON, ToJSON};
use poem_openapi::{ApiResponse, Enum, Object};

use super::formats::Always;
use crate::Error;

/// A successful answer: `{"success": true, "data": ..., "message": ...}`.
#[derive(Debug, Object)]
pub struct Envelope<T: ParseFromJSON + ToJSON + Send + Sync> {
    pub success: Always<true>,
    pub data: T,
    /// A human-readable note, when there is one.
    #[oai(skip_serializing_if_is_none)]
    pub message: Option<String>,
}

/// 200 with `data`.
pub fn ok<T: ParseFromJSON + ToJSON + Send + Sync>(data: T) -> Json<Envelope<T>> {
    Json(Envelope {
        success: Always,
        data,
        message: None,
    })
}

/// 200 with `data` and a message.
pub fn ok_with<T: ParseFromJSON + ToJSON + Send + Sync>(
    data: T,
    message: impl Into<String>,
) -> Json<Envelope<T>> {
    Json(Envelope {
        success: Always,
        data,
        message: Some(message.into()),
    })
}

/// 201 Created.
#[derive(ApiResponse)]
pub enum Created<T: ParseFromJSON + ToJSON + Send + Sync> {
    /// Created.
    #[oai(status = 201)]
    Created(Json<Envelope<T>>),
}

/// 201 with `data`.
pub fn created<T: ParseFromJSON + ToJSON + Send + Sync>(data: T) -> Created<T> {
    Created::Created(Json(Envelope {
        success: Always,
        data,
        message: None,
    }))
}

/// A machine-readable error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    /// 400: bad JSON, a missing or invalid field, a bad query value; the message names the field.
    ValidationError,
    /// 401: no, invalid or expired bearer token, or wrong credentials.
    Unauthorized,
    /// 403: the action is switched off (e.g. registration is closed).
    Forbidden,
    /// 404: no such resource, or it belongs to another seller; or no such endpoint.
    NotFound,
    /// 405: the path exists but not with this method.
    MethodNotAllowed,
    /// 409: the request clashes with the current state.
    Conflict,
    /// 413: the request body is over 1 MiB.
    PayloadTooLarge,
    /// 415: the body is not `application/json`.
    UnsupportedMediaType,
    /// 500: a fault of possync, never caused by input.
    Internal,
    /// 502: possync asked the POS something on the caller's behalf (its catalog) and the POS
    /// failed; the message says what the POS answered.
    UpstreamError,
    /// 503: possync cannot store anything now (disk full or read-only); nothing was written,
    /// so the same request can be sent again after `Retry-After` seconds.
    Unavailable,
}

/// `error` in an error envelope.
#[derive(Debug, Object)]
pub struct ErrorDetail {
    pub code: ErrorCode,
    /// What went wrong, for a human.
    pub message: String,
}

/// An error answer: `{"success": false, "error": {"code": ..., "message": ...}}`.
#[derive(Debug, Object)]
pub struct ErrorEnvelope {
    pub success: Always<false>,
    pub error: ErrorDetail,
}

/// Every error an operation can answer.
#[derive(Debug, ApiResponse)]
pub enum ApiError {
    /// Invalid input; the message names the field.
    #[oai(status = 400)]
    BadRequest(Json<ErrorEnvelope>),
    /// Missing, invalid or expired bearer token.
    #[oai(status = 401)]
    Unauthorized(Json<ErrorEnvelope>),
    /// The action is switched off.
    #[oai(status = 403)]
    Forbidden(Json<ErrorEnvelope>),
    /// No such resource (or another seller's).
    #[oai(status = 404)]
    NotFound(Json<ErrorEnvelope>),
    /// The path does not take this method; the `Allow` header lists those it does.
    #[oai(status = 405)]
    MethodNotAllowed(Json<ErrorEnvelope>),
    /// The request clashes with the current state.
    #[oai(status = 409)]
    Conflict(Json<ErrorEnvelope>),
    /// The body is over 1 MiB.
    #[oai(status = 413)]
    PayloadTooLarge(Json<ErrorEnvelope>),
    /// The body is not `application/json`.
    #[oai(status = 415)]
    UnsupportedMediaType(Json<ErrorEnvelope>),
    /// An internal fault.
    #[oai(status = 500)]
    Internal(Json<ErrorEnvelope>),
    /// The POS failed to answer what possync asked it on the caller's behalf.
    #[oai(status = 502)]
    BadGateway(Json<ErrorEnvelope>),
    /// The database cannot be written now (disk full or read-only); nothing was stored.
    #[oai(status = 503)]
    Unavailable(
        Json<ErrorEnvelope>,
        /// Seconds to wait before sending the same request again.
        #[oai(header = "Retry-After")]
        u64,
    ),
}

/// The `Retry-After` of a 503 for a database that cannot be written: the workers look again
/// within a few seconds, so a client need not wait long.
pub const UNWRITABLE_RETRY_AFTER_SECS: u64 = 5;

/// The envelope for `code` and `message`.
pub fn error_body(code: ErrorCode, message: impl Into<String>) -> Json<ErrorEnvelope> {
    Json(ErrorEnvelope {
        success: Always,
        error: ErrorDetail {
            code,
            message: message.into(),
        },
    })
}

impl ApiError {
    /// A 400 naming the field.
    pub fn invalid(field: &str, why: impl std::fmt::Display) -> ApiError {
        ApiError::BadRequest(error_body(
            ErrorCode::ValidationError,
            format!("{field}: {why}"),
        ))
    }

    /// A 401.
    pub fn unauthorized(message: impl Into<String>) -> ApiError {
        ApiError::Unauthorized(error_body(ErrorCode::Unauthorized, message))
    }
}

impl From<Error> for ApiError {
    fn from(err: Error) -> ApiError {
        match err {
            Error::Validation(m) => ApiError::BadRequest(error_body(ErrorCode::ValidationError, m)),
            Error::Unauthorized(m) => {
                ApiError::Unauthorized(error_body(ErrorCode::Unauthorized, m))
            }
            Error::Forbidden(m) => ApiError::Forbidden(error_body(ErrorCode::Forbidden, m)),
            e @ Error::NotFound(_) => {
                ApiError::NotFound(error_body(ErrorCode::NotFound, e.to_string()))
            }
            Error::Conflict(m) => ApiError::Conflict(error_body(ErrorCode::Conflict, m)),
            Error::Upstream(m) => ApiError::BadGateway(error_body(ErrorCode::UpstreamError, m)),
            Error::Unwritable(why) => {
                tracing::warn!(error = %why, "a request could not be stored: the database cannot be written");
                ApiError::Unavailable(
                    error_body(
                        ErrorCode::Unavailable,
                        format!(
                            "possync cannot store anything now (the disk is full or read-only); \
                             nothing was saved: send the request again in \
                             {UNWRITABLE_RETRY_AFTER_SECS} seconds"
                        ),
                    ),
                    UNWRITABLE_RETRY_AFTER_SECS,
                )
            }
            other => {
                tracing::error!(error = %other, "request failed");
                ApiError::Internal(error_body(
                    ErrorCode::Internal,
                    "internal error; see the service log",
                ))
            }
        }
    }
}

/// The code for an HTTP status that did not come from a handler (routing, parsing, limits).
pub fn code_for_status(status: StatusCode) -> ErrorCode {
    match status.as_u16() {
        401 => ErrorCode::Unauthorized,
        403 => ErrorCode::Forbidden,
        404 => ErrorCode::NotFound,
        405 => ErrorCode::MethodNotAllowed,
        409 => ErrorCode::Conflict,
        413 => ErrorCode::PayloadTooLarge,
        415 => ErrorCode::UnsupportedMediaType,
        400..=499 => ErrorCode::ValidationError,
        _ => ErrorCode::Internal,
    }
}

/// Shorthand for operation results.
pub type ApiResult<T> = Result<T, ApiError>;

/// 202 Accepted: the work is queued.
#[derive(ApiResponse)]
pub enum Accepted<T: ParseFromJSON + ToJSON + Send + Sync> {
    /// Accepted.
    #[oai(status = 202)]
    Accepted(Json<Envelope<T>>),
}

/// 202 with `data` and a message.
pub fn accepted<T: ParseFromJSON + ToJSON + Send + Sync>(
    data: T,
    message: impl Into<String>,
) -> Accepted<T> {
    Accepted::Accepted(Json(Envelope {
        success: Always,
        data,
        message: Some(message.into()),
    }))
}
