//! Queueing a create log: automatically for a new order, or by hand (a manual sync or "sync
//! now"), with the rules that refuse one (a canceled order, no active integration, an order
//! already in the POS without `force`).

use rusqlite::{Transaction, params};

use super::{SyncLog, active_log_of_order, insert_log, latest_log_of_order, log_by_id};
use crate::domain::{BusinessId, Millis, OrderId, OrderStatus, SyncAction, SyncStatus};
use crate::store::integrations::{self, Integration};
use crate::{Error, Result};

/// Queue a push of a new order when its business has an active integration with auto-sync.
pub fn queue_auto_sync(
    tx: &Transaction<'_>,
    order_id: &OrderId,
    business_id: &BusinessId,
    max_retries: i64,
    now: Millis,
) -> Result<Option<SyncLog>> {
    match integrations::integration_of_business(tx, business_id)? {
        Some(integration) if integration.is_active && integration.auto_sync_orders => {
            insert_log(tx, order_id, &integration, max_retries, now).map(Some)
        }
        _ => Ok(None),
    }
}

/// A manual sync of the seller's order: the log already on its way, or a new one.
/// Returns the log and whether it is new.
pub fn request_sync(
    tx: &Transaction<'_>,
    seller_id: &str,
    order_id: &OrderId,
    force: bool,
    max_retries: i64,
    now: Millis,
) -> Result<(SyncLog, bool)> {
    let order = crate::store::orders::owned_order(tx, seller_id, order_id)?;
    if order.life.status == OrderStatus::Canceled {
        return Err(Error::Conflict(
            "the order is canceled; a canceled order is not pushed to the POS".into(),
        ));
    }
    let integration = integrations::active_integration_of_business(tx, &order.business_id)?;
    if let Some(active) = active_log_of_order(tx, &order.id, SyncAction::Create)? {
        if active.status == SyncStatus::Retry {
            return Ok((due_now(tx, &active, &integration, now)?, false));
        }
        return Ok((active, false));
    }
    if let Some(latest) = latest_log_of_order(tx, &order.id, SyncAction::Create)?
        && latest.status == SyncStatus::Success
        && !force
    {
        return Err(Error::Conflict(format!(
            "the order is already in the POS (sync log {}); add ?force=true to push it again",
            latest.id
        )));
    }
    Ok((
        insert_log(tx, &order.id, &integration, max_retries, now)?,
        true,
    ))
}

/// "Sync now" on a log waiting to retry: due at once, or when the integration's rate-limit
/// pause ends (the POS asked for that wait). Its retry count is unchanged.
fn due_now(
    tx: &Transaction<'_>,
    log: &SyncLog,
    integration: &Integration,
    now: Millis,
) -> Result<SyncLog> {
    let due = integration.paused_until.map_or(now, |p| p.max(now));
    tx.prepare_cached(
        "UPDATE sync_logs SET next_retry_at = min(coalesce(next_retry_at, ?2), ?2)
         WHERE id = ?1 AND status = 'retry'",
    )?
    .execute(params![log.id, due])?;
    log_by_id(tx, &log.id)?.ok_or_else(|| Error::Internal("sync log vanished".into()))
}
