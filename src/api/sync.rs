//! Syncing orders into the POS: manual sync, history, stats, attempts, preview.

use poem::web::Data;
use poem_openapi::OpenApi;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use uuid::Uuid;

use super::ApiTags;
use super::auth::BearerAuth;
use super::envelope::{Accepted, ApiResult, Envelope, accepted, ok};
use super::models::{
    AttemptList, CancellationStats, HistoryData, PreviewData, PreviewStep, StatsData, StatsOut,
    SyncLogData, SyncState, listed,
};
use super::params;
use crate::Error;
use crate::app::App;
use crate::domain::{BusinessId, OrderId, Step, SyncAction, SyncLogId, now_millis};
use crate::providers::Done;
use crate::store::{businesses, integrations, lanes, orders, sync_logs};
use crate::sync::dispatch::dispatch;
use crate::sync::stats::stats;

/// Syncing orders into the POS. The app comes to each operation as request data.
#[derive(Default)]
pub struct SyncApi;

#[OpenApi(prefix_path = "/api/v1/pos", tag = "ApiTags::Pos")]
impl SyncApi {
    /// Push an order to the POS now
    ///
    /// Answers 202 with the sync log; a worker pushes it within moments. When the order already
    /// has a log on its way (pending, syncing, retry), that log is answered instead of a new one;
    /// a log waiting to retry is made due now ("sync now"), unless the POS asked possync to
    /// wait (a 429 pause), which still holds. `dispatch` says when the order actually goes:
    /// now, being sent, not before a 429 pause ends, or held until the POS answers again (an
    /// open circuit).
    /// 409 when the business has no active integration, or when the order is already in the POS
    /// (unless `force=true`: a forced re-sync to Square reuses the idempotency key, so Square
    /// answers with the same order).
    #[oai(path = "/sync/:orderId", method = "post", operation_id = "syncOrder")]
    async fn sync(
        &self,
        app: Data<&App>,
        auth: BearerAuth,
        #[oai(name = "orderId")] order_id: Path<Uuid>,
        /// Push again even though the order is already in the POS.
        force: Query<Option<bool>>,
    ) -> ApiResult<Accepted<SyncLogData>> {
        let id = OrderId::from(order_id.0);
        let force = force.0.unwrap_or(false);
        let max_retries = app.sync.settings().max_retries;
        let (log, dispatch) = app
            .as_seller(&auth)
            .write(move |tx, seller| {
                let now = now_millis();
                let (log, _new) =
                    sync_logs::request_sync(tx, seller, &id, force, max_retries, now)?;
                let (paused_until, breaker) = lanes::holds(tx, &log.integration_id)?;
                let when = dispatch(log.status, log.next_retry_at, paused_until, &breaker, now);
                Ok((log, when))
            })
            .await?;
        app.sync.wake_one();
        Ok(accepted(
            SyncLogData {
                sync_log: log.into(),
                dispatch: dispatch.into(),
            },
            "Order sync initiated",
        ))
    }

    /// Sync history of a business
    ///
    /// Newest first; `status` filters to one state.
    #[oai(
        path = "/history/:businessId",
        method = "get",
        operation_id = "getSyncHistory"
    )]
    async fn history(
        &self,
        app: Data<&App>,
        auth: BearerAuth,
        #[oai(name = "businessId")] business_id: Path<Uuid>,
        /// 1 to 200 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<i64>>,
        /// 0 or more (default 0).
        #[oai(validator(minimum(value = "0")))]
        offset: Query<Option<i64>>,
        /// Only logs in this state.
        status: Query<Option<SyncState>>,
    ) -> ApiResult<Json<Envelope<HistoryData>>> {
        let id = BusinessId::from(business_id.0);
        let page = params::page(limit.0, offset.0)?;
        let status = status.0.map(Into::into);
        let found = app
            .as_seller(&auth)
            .read(move |c, seller| {
                businesses::owned_business(c, seller, &id)?;
                sync_logs::history(c, &id, status, page)
            })
            .await?;
        let (logs, page) = listed(found, page);
        Ok(ok(HistoryData { logs, page }))
    }

    /// Sync statistics of a business
    #[oai(
        path = "/stats/:businessId",
        method = "get",
        operation_id = "getSyncStats"
    )]
    async fn stats(
        &self,
        app: Data<&App>,
        auth: BearerAuth,
        #[oai(name = "businessId")] business_id: Path<Uuid>,
    ) -> ApiResult<Json<Envelope<StatsData>>> {
        let id = BusinessId::from(business_id.0);
        let (counts, cancels) = app
            .as_seller(&auth)
            .read(move |c, seller| {
                businesses::owned_business(c, seller, &id)?;
                Ok((
                    sync_logs::status_counts(c, &id, SyncAction::Create)?,
                    sync_logs::status_counts(c, &id, SyncAction::Cancel)?,
                ))
            })
            .await?;
        let s = stats(&counts);
        Ok(ok(StatsData {
            stats: StatsOut {
                total_syncs: s.total_syncs,
                successful_syncs: s.successful_syncs,
                failed_syncs: s.failed_syncs,
                pending_retries: s.pending_retries,
                success_rate: s.success_rate,
                cancellations: CancellationStats {
                    total: cancels.total(),
                    successful: cancels.success,
                    failed: cancels.failed,
                },
            },
        }))
    }

    /// The attempts of a sync log
    ///
    /// Every HTTP attempt, oldest first: when, how long, status, outcome, error, POS order id.
    #[oai(
        path = "/sync-logs/:logId/attempts",
        method = "get",
        operation_id = "listSyncAttempts"
    )]
    async fn attempts(
        &self,
        app: Data<&App>,
        auth: BearerAuth,
        #[oai(name = "logId")] log_id: Path<Uuid>,
        /// 1 to 200 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<i64>>,
        /// 0 or more (default 0).
        #[oai(validator(minimum(value = "0")))]
        offset: Query<Option<i64>>,
    ) -> ApiResult<Json<Envelope<AttemptList>>> {
        let id = SyncLogId::from(log_id.0);
        let page = params::page(limit.0, offset.0)?;
        let found = app
            .as_seller(&auth)
            .read(move |c, seller| {
                let log = sync_logs::owned_log(c, seller, &id)?;
                sync_logs::attempts(c, &log.id, page)
            })
            .await?;
        let (attempts, page) = listed(found, page);
        Ok(ok(AttemptList { attempts, page }))
    }

    /// Preview the request a sync would send
    ///
    /// The exact body possync would send to the POS now, after item mapping and the
    /// customer-info switch. For Square, an order already sent is resent exactly as it was
    /// (same idempotency key, same body), so the preview shows that body. Never contains a secret. 409 when the business has no integration.
    #[oai(
        path = "/preview/:orderId",
        method = "get",
        operation_id = "previewSync"
    )]
    async fn preview(
        &self,
        app: Data<&App>,
        auth: BearerAuth,
        #[oai(name = "orderId")] order_id: Path<Uuid>,
    ) -> ApiResult<Json<Envelope<PreviewData>>> {
        let id = OrderId::from(order_id.0);
        let engine = app.sync.clone();
        let (provider, request, later) = app
            .as_seller(&auth)
            .run(move |store, seller| {
                let (order, integration, business) = store.read(|c| {
                    let order = orders::owned_order(c, seller, &id)?;
                    let integration = integrations::integration_of_business(c, &order.business_id)?
                        .ok_or_else(|| {
                            Error::Conflict(
                                "the business has no POS integration to preview for".into(),
                            )
                        })?;
                    let business = businesses::owned_business(c, seller, &order.business_id)?;
                    Ok((order, integration, business))
                })?;
                let client = engine.client(integration.provider);
                // An order already sent under an idempotency key is resent exactly as it was.
                let frozen = if client.freezes_request() {
                    store.read(|c| sync_logs::reusable_body(c, &order.id, &integration.id))?
                } else {
                    None
                };
                let request = match frozen.and_then(|t| serde_json::from_str(&t).ok()) {
                    Some(body) => body,
                    None => {
                        client.build_request(&order, &integration, &business.timezone, store)?
                    }
                };
                // Later steps show the POS's ids once an earlier log of the order learned them.
                let log = store
                    .read(|c| sync_logs::latest_log_of_order(c, &order.id, SyncAction::Create))?;
                let done = Done {
                    pos_order_id: log.as_ref().and_then(|l| l.pos_order_id.clone()),
                    pos_payment_id: log.and_then(|l| l.pos_payment_id),
                    ..Done::default()
                };
                let later = client.later_requests(&order, &integration, &request, &done);
                Ok((integration.provider, request, later))
            })
            .await?;
        let mut steps = vec![PreviewStep {
            step: Step::CreateOrder.as_str().to_string(),
            request: request.clone(),
        }];
        steps.extend(later.into_iter().map(|(step, request)| PreviewStep {
            step: step.as_str().to_string(),
            request,
        }));
        Ok(ok(PreviewData {
            provider: provider.into(),
            request,
            steps,
        }))
    }
}
