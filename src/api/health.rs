//! Liveness, readiness and metrics (at the root, not under /api/v1).

use poem::web::Data;
use poem_openapi::payload::{Json, PlainText};
use poem_openapi::{ApiResponse, Object, OpenApi};

use super::ApiTags;
use super::envelope::{Envelope, ErrorCode, ErrorEnvelope, error_body, ok};
use crate::app::App;
use crate::store::{blocking, lanes, sync_logs};

/// `data` of `/healthz`.
#[derive(Debug, Object)]
pub struct Health {
    /// Always `ok` when the process answers.
    pub status: String,
    /// The possync version.
    pub version: String,
}

/// `data` of `/readyz`.
#[derive(Debug, Object)]
pub struct Readiness {
    /// `ready` or `not_ready`.
    pub status: String,
    /// The database answers.
    pub database: bool,
    /// Every sync worker, the delivery thread and the scheduler are running.
    pub workers: bool,
}

/// Ready or not.
#[derive(ApiResponse)]
pub enum ReadyAnswer {
    /// Ready to take orders.
    #[oai(status = 200)]
    Ready(Json<Envelope<Readiness>>),
    /// Not ready (database unreachable or not writable, or sync threads not running).
    #[oai(status = 503)]
    NotReady(Json<ErrorEnvelope>),
}

/// Metrics or an error.
#[derive(ApiResponse)]
pub enum MetricsAnswer {
    /// OpenMetrics text (`application/openmetrics-text; version=1.0.0`).
    #[oai(
        status = 200,
        content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8"
    )]
    Metrics(PlainText<String>),
    /// The database could not be read.
    #[oai(status = 503)]
    Unavailable(Json<ErrorEnvelope>),
}

/// Liveness, readiness and metrics. The app comes to each operation as request data.
#[derive(Default)]
pub struct HealthApi;

#[OpenApi(tag = "ApiTags::Health")]
impl HealthApi {
    /// Is the process alive?
    #[oai(path = "/healthz", method = "get", operation_id = "healthz")]
    async fn healthz(&self) -> Json<Envelope<Health>> {
        ok(Health {
            status: "ok".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        })
    }

    /// Is the service ready (database reachable and writable, sync threads running)?
    ///
    /// The write check is a tiny write transaction (at most one a second; calls in between
    /// get its last verdict), so a full or read-only disk makes the service not ready.
    #[oai(path = "/readyz", method = "get", operation_id = "readyz")]
    async fn readyz(&self, app: Data<&App>) -> ReadyAnswer {
        let store = app.store.clone();
        let database = blocking(move || {
            store.read(|c| {
                Ok(crate::store::cached_row(c, "SELECT 1", [], |r| {
                    r.get::<_, i64>(0)
                })?)
            })
        })
        .await
        .is_ok();
        let store = app.store.clone();
        let writable = match blocking(move || store.probe_write()).await {
            Ok(()) => Ok(()),
            Err(e) => Err(e.to_string()),
        };
        // sync workers + the delivery thread
        let expected = usize::from(app.settings.sync.sync_workers) + 1;
        let workers = app.sync.running(expected);
        match (database, writable, workers) {
            (true, Ok(()), true) => ReadyAnswer::Ready(ok(Readiness {
                status: "ready".into(),
                database,
                workers,
            })),
            (false, _, _) => not_ready(ErrorCode::Internal, "the database does not answer"),
            (true, Err(why), _) => not_ready(ErrorCode::Unavailable, &why),
            (true, Ok(()), false) => not_ready(ErrorCode::Internal, "sync threads are not running"),
        }
    }

    /// Prometheus metrics
    ///
    /// Attempts by provider and outcome, order-to-POS latency by provider, logs by status,
    /// retries scheduled, notification deliveries, HTTP request durations.
    #[oai(path = "/metrics", method = "get", operation_id = "metrics")]
    async fn metrics(&self, app: Data<&App>) -> MetricsAnswer {
        let store = app.store.clone();
        let read = move || store.read(|c| Ok((sync_logs::counts_all(c)?, lanes::open_count(c)?)));
        match blocking(read).await {
            Ok((counts, open)) => {
                MetricsAnswer::Metrics(PlainText(app.sync.metrics().render(&counts, open)))
            }
            Err(e) => {
                tracing::error!(error = %e, "metrics: reading the database failed");
                MetricsAnswer::Unavailable(error_body(
                    ErrorCode::Internal,
                    "the database could not be read",
                ))
            }
        }
    }
}

fn not_ready(code: ErrorCode, why: &str) -> ReadyAnswer {
    ReadyAnswer::NotReady(error_body(code, format!("not ready: {why}")))
}
