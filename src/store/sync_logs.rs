//! Sync logs (one per push of one order to one integration) and their attempts: queueing a
//! log, the frozen request body, and the reads behind history and stats. The workers' side
//! (claim, lease, attempt rows, settling a log) is in [`super::outbox`].

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::integrations::Integration;
use super::{Page, Paged};
use crate::domain::{
    AttemptOutcome, BusinessId, IntegrationId, Millis, OrderId, OrderStatus, ProviderKind, Step,
    SyncAction, SyncLogId, SyncStatus, new_id,
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
}

/// One HTTP attempt of a log.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub id: String,
    pub sync_log_id: SyncLogId,
    pub attempt_number: i64,
    pub started_at: Millis,
    pub duration_ms: i64,
    pub http_status: Option<i64>,
    pub outcome: AttemptOutcome,
    pub error_message: Option<String>,
    pub pos_order_id: Option<String>,
    /// Which step of the push the call took (`None` for rows older than steps, and for a
    /// stop during an attempt).
    pub step: Option<Step>,
}

/// Counts per status for one business.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatusCounts {
    pub pending: i64,
    pub syncing: i64,
    pub retry: i64,
    pub success: i64,
    pub failed: i64,
}

impl StatusCounts {
    /// All logs.
    pub fn total(&self) -> i64 {
        self.pending + self.syncing + self.retry + self.success + self.failed
    }

    fn of(&self, status: SyncStatus) -> i64 {
        match status {
            SyncStatus::Pending => self.pending,
            SyncStatus::Syncing => self.syncing,
            SyncStatus::Retry => self.retry,
            SyncStatus::Success => self.success,
            SyncStatus::Failed => self.failed,
        }
    }
}

pub(super) const COLUMNS: &str = "id, order_id, business_id, integration_id, provider, status, pos_order_id, \
    retry_count, max_retries, next_retry_at, lease_until, error_message, duration_ms, completed_at, \
    created_at, action, pos_payment_id, pos_visible";

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
/// pause ends).
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
            retry_count, max_retries, next_retry_at, created_at, action)
         VALUES (?1, ?2, ?3, ?4, ?5, 'pending', 0, ?6, ?7, ?8, ?9)",
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
    Ok(conn
        .query_row(
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
    Ok(conn
        .query_row(
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
    conn.query_row(
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

/// A business's logs, newest first, optionally of one status.
pub fn history(
    conn: &Connection,
    business_id: &BusinessId,
    status: Option<SyncStatus>,
    page: Page,
) -> Result<Paged<SyncLog>> {
    let counts = all_status_counts(conn, business_id)?;
    let total = status.map_or(counts.total(), |s| counts.of(s));
    let items = match status {
        None => {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM sync_logs INDEXED BY sync_logs_history WHERE business_id = ?1
                 ORDER BY created_at DESC, id DESC LIMIT ?2 OFFSET ?3"
            ))?;
            stmt.query_map(params![business_id, page.limit, page.offset], from_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?
        }
        Some(status) => {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM sync_logs INDEXED BY sync_logs_history_by_status
                 WHERE business_id = ?1 AND status = ?4
                 ORDER BY created_at DESC, id DESC LIMIT ?2 OFFSET ?3"
            ))?;
            stmt.query_map(
                params![business_id, page.limit, page.offset, status.as_str()],
                from_row,
            )?
            .collect::<rusqlite::Result<Vec<_>>>()?
        }
    };
    Ok(Paged { items, total })
}

/// Counts per status of a business's logs of `action`, from the counters the triggers keep
/// (one indexed read at any size).
pub fn status_counts(
    conn: &Connection,
    business_id: &BusinessId,
    action: SyncAction,
) -> Result<StatusCounts> {
    let mut stmt = conn.prepare_cached(
        "SELECT status, n FROM sync_log_counts WHERE business_id = ?1 AND action = ?2",
    )?;
    let rows = stmt.query_map(params![business_id, action], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
    })?;
    fold_counts(rows)
}

/// Counts per status of all a business's logs, creates and cancellations (history's totals).
fn all_status_counts(conn: &Connection, business_id: &BusinessId) -> Result<StatusCounts> {
    let mut stmt = conn.prepare_cached(
        "SELECT status, sum(n) FROM sync_log_counts WHERE business_id = ?1 GROUP BY status",
    )?;
    let rows = stmt.query_map([business_id], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
    })?;
    fold_counts(rows)
}

fn fold_counts(
    rows: impl Iterator<Item = rusqlite::Result<(String, i64)>>,
) -> Result<StatusCounts> {
    let mut counts = StatusCounts::default();
    for row in rows {
        let (status, n) = row?;
        match status.parse::<SyncStatus>() {
            Ok(SyncStatus::Pending) => counts.pending = n,
            Ok(SyncStatus::Syncing) => counts.syncing = n,
            Ok(SyncStatus::Retry) => counts.retry = n,
            Ok(SyncStatus::Success) => counts.success = n,
            Ok(SyncStatus::Failed) => counts.failed = n,
            Err(e) => return Err(Error::Internal(format!("sync_log_counts: {e}"))),
        }
    }
    Ok(counts)
}

/// The attempts of a log, oldest first.
pub fn attempts(conn: &Connection, log_id: &SyncLogId, page: Page) -> Result<Paged<Attempt>> {
    let total = conn.query_row(
        "SELECT count(*) FROM sync_attempts WHERE sync_log_id = ?1",
        [log_id],
        |r| r.get(0),
    )?;
    let mut stmt = conn.prepare_cached(
        "SELECT id, sync_log_id, attempt_number, started_at, duration_ms, http_status, outcome,
            error_message, pos_order_id, step
         FROM sync_attempts WHERE sync_log_id = ?1 ORDER BY attempt_number LIMIT ?2 OFFSET ?3",
    )?;
    let items = stmt
        .query_map(params![log_id, page.limit, page.offset], |r| {
            Ok(Attempt {
                id: r.get(0)?,
                sync_log_id: r.get(1)?,
                attempt_number: r.get(2)?,
                started_at: r.get(3)?,
                duration_ms: r.get(4)?,
                http_status: r.get(5)?,
                outcome: r.get(6)?,
                error_message: r.get(7)?,
                pos_order_id: r.get(8)?,
                step: r.get(9)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(Paged { items, total })
}

/// Queue a push of a new order when its business has an active integration with auto-sync.
pub fn queue_auto_sync(
    tx: &Transaction<'_>,
    order_id: &OrderId,
    business_id: &BusinessId,
    max_retries: i64,
    now: Millis,
) -> Result<Option<SyncLog>> {
    match super::integrations::integration_of_business(tx, business_id)? {
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
    let order = super::orders::owned_order(tx, seller_id, order_id)?;
    if order.life.status == OrderStatus::Canceled {
        return Err(Error::Conflict(
            "the order is canceled; a canceled order is not pushed to the POS".into(),
        ));
    }
    let integration = super::integrations::integration_of_business(tx, &order.business_id)?
        .filter(|i| i.is_active)
        .ok_or_else(|| {
            Error::Conflict(
                "the business has no active POS integration; connect one with POST /api/v1/pos/connect"
                    .into(),
            )
        })?;
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
    tx.execute(
        "UPDATE sync_logs SET next_retry_at = min(coalesce(next_retry_at, ?2), ?2)
         WHERE id = ?1 AND status = 'retry'",
        params![log.id, due],
    )?;
    log_by_id(tx, &log.id)?.ok_or_else(|| Error::Internal("sync log vanished".into()))
}

/// Sync logs per status over every business (for metrics).
pub fn counts_all(conn: &Connection) -> Result<Vec<(String, i64)>> {
    let mut stmt =
        conn.prepare_cached("SELECT status, sum(n) FROM sync_log_counts GROUP BY status")?;
    let rows = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// The body an earlier push of this order to this integration sent and that the POS may have
/// acted on (the push succeeded, or an attempt got no answer or a 5xx): a retry or re-sync must
/// send exactly this again. Bodies that were only ever refused outright are not reused, so a
/// fixed mapping takes effect.
pub fn reusable_body(
    conn: &Connection,
    order_id: &OrderId,
    integration_id: &IntegrationId,
) -> Result<Option<String>> {
    Ok(conn
        .query_row(
            "SELECT l.request_body FROM sync_logs l
             WHERE l.order_id = ?1 AND l.integration_id = ?2 AND l.action = 'create'
               AND l.request_body IS NOT NULL
               AND (l.status IN ('success', 'syncing', 'retry', 'pending') OR EXISTS (
                    SELECT 1 FROM sync_attempts a WHERE a.sync_log_id = l.id
                      AND (a.http_status IS NULL OR a.http_status >= 500
                           OR a.pos_order_id IS NOT NULL
                           OR a.outcome IN ('success', 'ambiguous'))))
             ORDER BY l.created_at DESC, l.id DESC LIMIT 1",
            params![order_id, integration_id],
            |r| r.get(0),
        )
        .optional()?)
}

/// Store what a push's steps have learned the moment they learn it (the POS's order and
/// payment ids) and, when known, whether the POS shows the order. A value already stored is
/// never cleared.
pub fn record_progress(
    tx: &Transaction<'_>,
    log_id: &SyncLogId,
    pos_order_id: Option<&str>,
    pos_payment_id: Option<&str>,
    pos_visible: Option<bool>,
) -> Result<()> {
    tx.prepare_cached(
        "UPDATE sync_logs SET pos_order_id = coalesce(?2, pos_order_id),
            pos_payment_id = coalesce(?3, pos_payment_id), pos_visible = coalesce(?4, pos_visible)
         WHERE id = ?1",
    )?
    .execute(params![log_id, pos_order_id, pos_payment_id, pos_visible])?;
    Ok(())
}

/// The body this log sent, if it has sent one.
pub fn request_body_of(conn: &Connection, log_id: &SyncLogId) -> Result<Option<String>> {
    Ok(conn
        .query_row(
            "SELECT request_body FROM sync_logs WHERE id = ?1",
            [log_id],
            |r| r.get(0),
        )
        .optional()?
        .flatten())
}

/// Remember the body a log sends.
pub fn set_request_body(tx: &Transaction<'_>, log_id: &SyncLogId, body: &str) -> Result<()> {
    tx.execute(
        "UPDATE sync_logs SET request_body = ?2 WHERE id = ?1 AND request_body IS NULL",
        params![log_id, body],
    )?;
    Ok(())
}
