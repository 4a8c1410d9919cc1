//! The HTTP API: poem-openapi services (one per tag), Swagger UI, the spec, and the envelope for
//! every answer, including the ones poem makes itself (parse errors, 404, 405, 413).

mod auth;
mod businesses;
mod diagnose;
mod envelope;
mod health;
mod models;
mod notifications;
mod oauth;
mod orders;
mod params;
mod pos;
mod seller;
mod sync;
mod text;

use poem::http::StatusCode;
use poem::middleware::{RequestId, ReuseId, Tracing};
use poem::{Body, Endpoint, EndpointExt, IntoResponse, Request, Response, Route};
use poem_openapi::error::{ParseParamError, ParsePathError, ParseRequestPayloadError};
use poem_openapi::{OpenApiService, Tags};

pub use envelope::{ApiError, ErrorCode};

use crate::app::App;

/// Request bodies over this many bytes get 413.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The groups of operations in the spec.
#[derive(Tags)]
pub enum ApiTags {
    /// Seller accounts and bearer tokens.
    Auth,
    /// Businesses (restaurants) and their dishes.
    Businesses,
    /// Orders from MenuMaker.
    Orders,
    /// Connecting a business to its POS, and syncing orders into it.
    Pos,
    /// What the seller should know: failures, reconnects, possible duplicates.
    Notifications,
    /// Liveness of the service.
    Health,
}

type Apis = (
    auth::AuthApi,
    businesses::BusinessesApi,
    orders::OrdersApi,
    pos::PosApi,
    sync::SyncApi,
    oauth::OAuthApi,
    notifications::NotificationsApi,
    health::HealthApi,
);

/// The OpenAPI service. The app reaches the operations as request data (see [`endpoint`]), so
/// the spec can be made without one.
fn service() -> OpenApiService<Apis, ()> {
    OpenApiService::new(
        (
            auth::AuthApi,
            businesses::BusinessesApi,
            orders::OrdersApi,
            pos::PosApi,
            sync::SyncApi,
            oauth::OAuthApi,
            notifications::NotificationsApi,
            health::HealthApi,
        ),
        "possync",
        env!("CARGO_PKG_VERSION"),
    )
    .description(
        "On-premise order-to-POS sync: MenuMaker orders into Square, Zoho Inventory and Dine POS. \
         Every answer is an envelope: `{\"success\": true, \"data\": ...}` or \
         `{\"success\": false, \"error\": {\"code\", \"message\"}}`. Authenticate with \
         `Authorization: Bearer <token>` from `POST /api/v1/auth/login` or `possync token create`.",
    )
    .license("MIT")
}

/// The spec as pretty JSON (what `possync openapi` prints and `openapi/openapi.json` holds).
pub fn spec_json() -> String {
    service().spec()
}

/// The whole HTTP endpoint: API, `/docs`, `/openapi.json`, envelopes for every error.
pub fn endpoint(app: App) -> impl Endpoint {
    let api = service();
    let docs = api.swagger_ui();
    let spec = api.spec_endpoint();
    Route::new()
        .nest("/docs", docs)
        .at("/openapi.json", spec)
        .nest("/", api)
        .around(limit_body)
        .catch_all_error(error_response)
        .around(observe)
        .with(Tracing)
        .with(RequestId::default().reuse_id(ReuseId::Use))
        .data(app)
}

/// Time every request for `possync_http_request_duration_seconds`.
async fn observe<E: Endpoint>(next: std::sync::Arc<E>, req: Request) -> poem::Result<Response> {
    let started = std::time::Instant::now();
    let method = req.method().to_string();
    let metrics = req.data::<App>().map(|a| a.sync.metrics().clone());
    let resp = next.call(req).await?.into_response();
    if let Some(metrics) = metrics {
        metrics.http(
            &method,
            resp.status().as_u16(),
            started.elapsed().as_secs_f64(),
        );
    }
    Ok(resp)
}

/// Refuse bodies over [`MAX_BODY_BYTES`] with 413, whether or not they declare a length.
async fn limit_body<E: Endpoint>(
    next: std::sync::Arc<E>,
    mut req: Request,
) -> poem::Result<Response> {
    let declared = req
        .headers()
        .get(poem::http::header::CONTENT_LENGTH)
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
            poem::error::ReadBodyError::PayloadTooLarge => too_large(),
            other => poem::Error::from(other),
        })?;
    let (method, path) = (req.method().clone(), req.uri().path().to_string());
    req.set_body(Body::from_bytes(body.clone()));
    match next.call(req).await {
        Ok(resp) => Ok(resp.into_response()),
        Err(err) if err.is::<ParseRequestPayloadError>() => {
            let message =
                diagnose::explain(method.as_str(), &path, &body).unwrap_or_else(|| err.to_string());
            Err(
                ApiError::BadRequest(envelope::error_body(ErrorCode::ValidationError, message))
                    .into(),
            )
        }
        Err(err) if err.is::<poem::error::MethodNotAllowedError>() => {
            let allow = diagnose::allowed_methods(&path).join(", ");
            Ok(envelope::error_body(
                ErrorCode::MethodNotAllowed,
                format!("{path} answers only {allow}; see /docs"),
            )
            .with_status(StatusCode::METHOD_NOT_ALLOWED)
            .with_header(poem::http::header::ALLOW, allow)
            .into_response())
        }
        Err(err) if err.is::<ParsePathError>() => {
            // poem names path values `param0`, `param1`…: name them as the spec does.
            let (index, reason) = err
                .downcast_ref::<ParsePathError>()
                .map(|e| {
                    (
                        e.name
                            .trim_start_matches("param")
                            .parse::<usize>()
                            .unwrap_or(0),
                        e.reason.clone(),
                    )
                })
                .unwrap_or_default();
            let names = diagnose::path_param_names(method.as_str(), &path);
            let name = names
                .get(index)
                .cloned()
                .unwrap_or_else(|| "path".to_string());
            let why = if name == "provider" {
                "must be one of square, zoho, dine".to_string()
            } else if reason.contains("uuid") {
                "must be a UUID".to_string()
            } else {
                reason
            };
            Err(ApiError::invalid(&name, why).into())
        }
        Err(err) => match err.downcast_ref::<ParseParamError>() {
            Some(param) => {
                // Path values come as `param0`, `param1`…: name them as the spec does.
                let name = param
                    .name
                    .strip_prefix("param")
                    .and_then(|n| n.parse::<usize>().ok())
                    .and_then(|i| {
                        diagnose::path_param_names(method.as_str(), &path)
                            .get(i)
                            .cloned()
                    })
                    .unwrap_or_else(|| param.name.to_string());
                Err(ApiError::invalid(&name, param_problem(&name, &param.reason)).into())
            }
            None => Err(err),
        },
    }
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

fn too_large() -> poem::Error {
    poem::Error::from_string(
        format!("the request body is over {} bytes (1 MiB)", MAX_BODY_BYTES),
        StatusCode::PAYLOAD_TOO_LARGE,
    )
}

/// Put every error that did not come from a handler into the envelope.
async fn error_response(err: poem::Error) -> Response {
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
