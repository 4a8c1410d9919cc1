//! Sync logs (one per push of one order to one integration, creating the order in the POS or
//! canceling it there): the log record, queueing one, and finding one. The reads behind history
//! and stats are in [`reads`], manual and automatic queueing rules in [`requests`], and what a
//! push stores as it goes (its frozen body, the ids its steps learn) in [`progress`]. The
//! workers' side (claim, lease, attempt rows, settling a log) is in [`super::outbox`].

mod progress;
mod reads;
mod requests;

use rusqlite::{Connection, OptionalExtension, Transaction, params};

pub use progress::{Progress, record_progress, request_body_of, reusable_body, set_request_body};
pub use reads::{Attempt, StatusCounts, attempts, counts_all, history, status_counts};
pub use requests::{queue_auto_sync, request_sync};

use super::integrations::Integration;
use crate::domain::{
    BusinessId, IntegrationId, Millis, OrderId, ProviderKind, SyncAction, SyncLogId, SyncStatus,
    new_id,
};
use crate::{Error, Result};

/// A sync log.
#[derive(Debug, Clone)]
pub struct SyncLog {
    pub id: SyncLogId,
    pub order_id: OrderId,
    pub business_id: BusinessId,
    pub integration_id: IntegrationId,
    pub provider: ProviderKind,
    pub status: SyncStatus,
    pub pos_order_id: Option<String>,
    pub retry_count: i64,
    pub max_retries: i64,
    pub next_retry_at: Option<Millis>,
    pub lease_until: Option<Millis>,
    pub error_message: Option<String>,
    pub duration_ms: Option<i64>,
    pub completed_at: Option<Millis>,
    pub created_at: Millis,
    /// Whether the log makes the order in the POS or cancels it there.
    pub action: SyncAction,
    /// Square: the payment recorded against the order (the push's second step).
    pub pos_payment_id: Option<String>,
    /// Square: whether the POS shows the order (it is paid); `None` for other providers.
    pub pos_visible: Option<bool>,
    /// Square, a cancellation log: the refund of the payment it gives back, once made.
    pub pos_refund_id: Option<String>,
    /// A log of a test order (`POST /pos/test-order`): shown in history, left out of stats.
    pub is_test: bool,
    /// A cancellation that succeeded: whether the order itself stays open in the POS (Square
    /// refused `CANCELED` on it, so only its fulfillments are canceled).
    pub pos_order_open: Option<bool>,
}

pub(super) const COLUMNS: &str = "id, order_id, business_id, integration_id, provider, status, pos_order_id, \
    retry_count, max_retries, next_retry_at, lease_until, error_message, duration_ms, completed_at, \
    created_at, action, pos_payment_id, pos_visible, pos_refund_id, is_test, pos_order_open";

fn conversion(i: usize, e: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, e.into())
}

pub(super) fn from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<SyncLog> {
    let provider: String = row.get(4)?;
    let status: String = row.get(5)?;
    Ok(SyncLog {
        id: row.get(0)?,
        order_id: row.get(1)?,
        business_id: row.get(2)?,
        integration_id: row.get(3)?,
        provider: provider.parse().map_err(|e| conversion(4, e))?,
        status: status.parse().map_err(|e| conversion(5, e))?,
        pos_order_id: row.get(6)?,
        retry_count: row.get(7)?,
        max_retries: row.get(8)?,
        next_retry_at: row.get(9)?,
        lease_until: row.get(10)?,
        error_message: row.get(11)?,
        duration_ms: row.get(12)?,
        completed_at: row.get(13)?,
        created_at: row.get(14)?,
        action: row.get(15)?,
        pos_payment_id: row.get(16)?,
        pos_visible: row.get(17)?,
        pos_refund_id: row.get(18)?,
        is_test: row.get(19)?,
        pos_order_open: row.get(20)?,
    })
}

/// Queue a push of `order_id` to `integration`, due now (or when a rate-limit pause ends).
pub fn insert_log(
    tx: &Transaction<'_>,
    order_id: &OrderId,
    integration: &Integration,
    max_retries: i64,
    now: Millis,
) -> Result<SyncLog> {
    insert_action_log(
        tx,
        order_id,
        integration,
        SyncAction::Create,
        max_retries,
        now,
    )
}

/// Queue a log of `action` for `order_id` to `integration`, due now (or when a rate-limit
/// pause ends). A log of a test order is a test log.
pub fn insert_action_log(
    tx: &Transaction<'_>,
    order_id: &OrderId,
    integration: &Integration,
    action: SyncAction,
    max_retries: i64,
    now: Millis,
) -> Result<SyncLog> {
    let due = integration.paused_until.map_or(now, |p| p.max(now));
    let id = SyncLogId::from(new_id());
    tx.prepare_cached(
        "INSERT INTO sync_logs (id, order_id, business_id, integration_id, provider, status,
            retry_count, max_retries, next_retry_at, created_at, action, is_test)
         VALUES (?1, ?2, ?3, ?4, ?5, 'pending', 0, ?6, ?7, ?8, ?9,
                 (SELECT is_test FROM orders WHERE id = ?2))",
    )?
    .execute(params![
        id,
        order_id,
        integration.business_id,
        integration.id,
        integration.provider.as_str(),
        max_retries,
        due,
        now,
        action
    ])?;
    log_by_id(tx, &id)?.ok_or_else(|| Error::Internal("sync log vanished".into()))
}

/// The log with this id.
pub fn log_by_id(conn: &Connection, id: &SyncLogId) -> Result<Option<SyncLog>> {
    Ok(conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM sync_logs WHERE id = ?1"))?
        .query_row([id], from_row)
        .optional()?)
}

/// The newest log of `action` of an order (the order's `sync_log` is its latest create log).
pub fn latest_log_of_order(
    conn: &Connection,
    order_id: &OrderId,
    action: SyncAction,
) -> Result<Option<SyncLog>> {
    Ok(crate::store::cached_row(
        conn,
        &format!(
            "SELECT {COLUMNS} FROM sync_logs WHERE order_id = ?1 AND action = ?2
                 ORDER BY created_at DESC, id DESC LIMIT 1"
        ),
        params![order_id, action],
        from_row,
    )
    .optional()?)
}

/// The log of `action` of an order still on its way (pending, syncing or retry), if any.
pub fn active_log_of_order(
    conn: &Connection,
    order_id: &OrderId,
    action: SyncAction,
) -> Result<Option<SyncLog>> {
    Ok(crate::store::cached_row(
        conn,
        &format!(
            "SELECT {COLUMNS} FROM sync_logs
                 WHERE order_id = ?1 AND action = ?2 AND status IN ('pending', 'syncing', 'retry')
                 ORDER BY created_at DESC, id DESC LIMIT 1"
        ),
        params![order_id, action],
        from_row,
    )
    .optional()?)
}

/// The seller's log with this id (another seller's is not found).
pub fn owned_log(conn: &Connection, seller_id: &str, id: &SyncLogId) -> Result<SyncLog> {
    crate::store::cached_row(
        conn,
        &format!(
            "SELECT {} FROM sync_logs l JOIN businesses b ON b.id = l.business_id
             WHERE l.id = ?1 AND b.seller_id = ?2",
            COLUMNS
                .split(", ")
                .map(|c| format!("l.{c}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        params![id, seller_id],
        from_row,
    )
    .optional()?
    .ok_or(Error::NotFound("sync log"))
}
