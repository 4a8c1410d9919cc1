//! The answers to requests that never reach an operation: a body over the cap, and the errors
//! poem makes itself (a body, path or query value that does not parse, a wrong method, 404),
//! each put into the envelope with the field named as the spec names it.

use poem::error::{MethodNotAllowedError, ReadBodyError};
use poem::http::{StatusCode, header};
use poem::{Body, Endpoint, IntoResponse, Request, Response};
use poem_openapi::error::{ParseParamError, ParsePathError, ParseRequestPayloadError};

use super::envelope::{self, ApiError, ErrorCode};
use super::{MAX_BODY_BYTES, diagnose, routes};

/// Cap the body, then answer poem's own refusals of the request in the envelope.
pub(super) async fn guard<E: Endpoint>(
    next: std::sync::Arc<E>,
    req: Request,
) -> poem::Result<Response> {
    let (req, body) = capped(req).await?;
    let (method, path) = (req.method().clone(), req.uri().path().to_string());
    match next.call(req).await {
        Ok(resp) => Ok(resp.into_response()),
        Err(err) => refusal(err, method.as_str(), &path, body.as_ref()),
    }
}

/// The body read into memory, refused with 413 when over [`MAX_BODY_BYTES`]: at once when it
/// declares a larger `Content-Length`, else as soon as the bytes read pass the cap (a chunked
/// body declares no length).
async fn capped(mut req: Request) -> poem::Result<(Request, impl AsRef<[u8]> + Send)> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return Err(too_large());
    }
    let body = req
        .take_body()
        .into_bytes_limit(MAX_BODY_BYTES)
        .await
        .map_err(|e| match e {
            ReadBodyError::PayloadTooLarge => too_large(),
            other => poem::Error::from(other),
        })?;
    // The operation reads the body again; the bytes stay for explaining a refused one.
    req.set_body(Body::from_bytes(body.clone()));
    Ok((req, body))
}

fn too_large() -> poem::Error {
    poem::Error::from_string(
        format!("the request body is over {} bytes (1 MiB)", MAX_BODY_BYTES),
        StatusCode::PAYLOAD_TOO_LARGE,
    )
}

/// What to answer for an error poem made before (or instead of) running the operation.
fn refusal(err: poem::Error, method: &str, path: &str, body: &[u8]) -> poem::Result<Response> {
    if err.is::<ParseRequestPayloadError>() {
        return Err(bad_body(&err, method, path, body).into());
    }
    if err.is::<MethodNotAllowedError>() {
        return Ok(method_not_allowed(path));
    }
    if let Some(e) = err.downcast_ref::<ParsePathError>() {
        return Err(bad_path_value(e, method, path).into());
    }
    if let Some(e) = err.downcast_ref::<ParseParamError>() {
        return Err(bad_param(e, method, path).into());
    }
    Err(err)
}

/// A body poem-openapi could not parse: a 400 naming the field (see [`diagnose::explain`]).
fn bad_body(err: &poem::Error, method: &str, path: &str, body: &[u8]) -> ApiError {
    let message = diagnose::explain(method, path, body).unwrap_or_else(|| err.to_string());
    ApiError::BadRequest(envelope::error_body(ErrorCode::ValidationError, message))
}

/// The router's 405, with the `Allow` header it lacks.
fn method_not_allowed(path: &str) -> Response {
    let allow = routes::allowed_methods(path).join(", ");
    envelope::error_body(
        ErrorCode::MethodNotAllowed,
        format!("{path} answers only {allow}; see /docs"),
    )
    .with_status(StatusCode::METHOD_NOT_ALLOWED)
    .with_header(header::ALLOW, allow)
    .into_response()
}

/// The spec's name of the path parameter poem calls `param{index}`.
fn path_param_name(method: &str, path: &str, index: usize) -> Option<String> {
    routes::path_param_names(method, path).get(index).cloned()
}

/// A path value that did not parse (a malformed id, an unknown provider).
fn bad_path_value(e: &ParsePathError, method: &str, path: &str) -> ApiError {
    // poem names path values `param0`, `param1`…: name them as the spec does.
    let index = e
        .name
        .trim_start_matches("param")
        .parse::<usize>()
        .unwrap_or(0);
    let name = path_param_name(method, path, index).unwrap_or_else(|| "path".to_string());
    let why = if name == "provider" {
        "must be one of square, zoho, dine".to_string()
    } else if e.reason.contains("uuid") {
        "must be a UUID".to_string()
    } else {
        e.reason.clone()
    };
    ApiError::invalid(&name, why)
}

/// A query (or path) value that did not parse or broke its validator.
fn bad_param(param: &ParseParamError, method: &str, path: &str) -> ApiError {
    // Path values come as `param0`, `param1`…: name them as the spec does.
    let name = param
        .name
        .strip_prefix("param")
        .and_then(|n| n.parse::<usize>().ok())
        .and_then(|i| path_param_name(method, path, i))
        .unwrap_or_else(|| param.name.to_string());
    ApiError::invalid(&name, param_problem(&name, &param.reason))
}

/// A query or path value that did not parse, in words.
fn param_problem(name: &str, reason: &str) -> String {
    if name == "status" {
        let all: Vec<&str> = crate::domain::SyncStatus::ALL
            .iter()
            .map(|s| s.as_str())
            .collect();
        return format!("must be one of {}", all.join(", "));
    }
    match name {
        "limit" => return "must be an integer from 1 to 200".into(),
        "offset" => return "must be an integer, 0 or more".into(),
        "force" => return "must be true or false".into(),
        _ => {}
    }
    if reason.contains("pattern") {
        return "a NUL character is not allowed".into();
    }
    if reason.contains("uuid") || reason.contains("UUID") {
        return "must be a UUID".into();
    }
    if reason.contains("integer") || reason.contains("invalid digit") {
        return "must be an integer".into();
    }
    if reason.contains("bool") {
        return "must be true or false".into();
    }
    reason.to_string()
}

/// Put every error that did not come from a handler into the envelope.
pub(super) async fn error_response(err: poem::Error) -> Response {
    if err.is_from_response() {
        return err.into_response();
    }
    let status = err.status();
    let code = envelope::code_for_status(status);
    let message = match code {
        ErrorCode::NotFound => "no such endpoint; the API is described at /docs".to_string(),
        ErrorCode::MethodNotAllowed => "this path does not take this method; see /docs".to_string(),
        ErrorCode::Unauthorized => {
            "a bearer token is required: send `Authorization: Bearer <token>` from POST \
             /api/v1/auth/login"
                .to_string()
        }
        ErrorCode::Internal => {
            tracing::error!(error = %err, "request failed");
            "internal error; see the service log".to_string()
        }
        _ => err.to_string(),
    };
    envelope::error_body(code, message)
        .with_status(status)
        .into_response()
}
