//! Every request's log line and its `possync_http_request_duration_seconds` sample.
//!
//! poem's own `Tracing` middleware logs the full URI, query included, at INFO: the OAuth
//! callback's one-time `code` and `state` would reach the log. This one logs the path only.

use std::sync::Arc;
use std::time::Instant;

use poem::middleware::ReqId;
use poem::{Endpoint, IntoResponse, Request, Response};
use tracing::Instrument;

use super::routes;
use crate::app::App;

/// Time `req`, label it by its route template, and log one line for it: at DEBUG for an answer
/// below 400 (a busy intake stays at one INFO line per order, the push's), at INFO otherwise.
pub async fn observe<E: Endpoint>(next: Arc<E>, req: Request) -> poem::Result<Response> {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let metrics = req.data::<App>().map(|a| a.sync.metrics().clone());
    let request_id = req.extensions().get::<ReqId>().map(ToString::to_string);
    let span = tracing::info_span!(
        "request",
        method = %method,
        uri = %path,
        request_id = request_id.as_deref(),
    );
    let resp = async move { next.call(req).await.map(IntoResponse::into_response) }
        .instrument(span.clone())
        .await?;
    let seconds = started.elapsed().as_secs_f64();
    let status = resp.status().as_u16();
    let route = routes::template(&path);
    if let Some(metrics) = metrics {
        metrics.http(method.as_str(), route, status, seconds);
    }
    let duration_ms = (seconds * 1000.0).round() as u64;
    span.in_scope(|| {
        if status < 400 {
            tracing::debug!(status, route, duration_ms, "response");
        } else {
            tracing::info!(status, route, duration_ms, "response");
        }
    });
    Ok(resp)
}
