//! What a push stores as it goes: the body it sends (frozen, so a retry resends it under the same
//! idempotency key) and what its steps learn (the POS's order and payment ids, visibility).

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use crate::Result;
use crate::domain::{IntegrationId, OrderId, SyncLogId};

/// The body an earlier push of this order to this integration sent and that the POS may have
/// acted on (the push succeeded, or an attempt got no answer or a 5xx): a retry or re-sync must
/// send exactly this again. Bodies that were only ever refused outright are not reused, so a
/// fixed mapping takes effect.
pub fn reusable_body(
    conn: &Connection,
    order_id: &OrderId,
    integration_id: &IntegrationId,
) -> Result<Option<String>> {
    Ok(crate::store::cached_row(
        conn,
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

/// What a log's steps have learned, as its row keeps it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Progress<'a> {
    /// The POS's id for the order.
    pub pos_order_id: Option<&'a str>,
    /// Square: the payment recorded against the order.
    pub pos_payment_id: Option<&'a str>,
    /// Square: whether the POS shows the order (known for create logs only).
    pub pos_visible: Option<bool>,
    /// Square, a cancellation: the refund of that payment.
    pub pos_refund_id: Option<&'a str>,
    /// A cancellation that succeeded: whether the order itself stays open in the POS.
    pub pos_order_open: Option<bool>,
}

/// Store what a log's steps have learned the moment they learn it (the POS's order, payment and
/// refund ids) and, when known, whether the POS shows the order and whether a cancellation left the order open there. A value already stored is
/// never cleared.
pub fn record_progress(
    tx: &Transaction<'_>,
    log_id: &SyncLogId,
    progress: Progress<'_>,
) -> Result<()> {
    tx.prepare_cached(
        "UPDATE sync_logs SET pos_order_id = coalesce(?2, pos_order_id),
            pos_payment_id = coalesce(?3, pos_payment_id), pos_visible = coalesce(?4, pos_visible),
            pos_refund_id = coalesce(?5, pos_refund_id), pos_order_open = coalesce(?6, pos_order_open)
         WHERE id = ?1",
    )?
    .execute(params![
        log_id,
        progress.pos_order_id,
        progress.pos_payment_id,
        progress.pos_visible,
        progress.pos_refund_id,
        progress.pos_order_open
    ])?;
    Ok(())
}

/// The body this log sent, if it has sent one.
pub fn request_body_of(conn: &Connection, log_id: &SyncLogId) -> Result<Option<String>> {
    Ok(crate::store::cached_row(
        conn,
        "SELECT request_body FROM sync_logs WHERE id = ?1",
        [log_id],
        |r| r.get(0),
    )
    .optional()?
    .flatten())
}

/// Remember the body a log sends.
pub fn set_request_body(tx: &Transaction<'_>, log_id: &SyncLogId, body: &str) -> Result<()> {
    tx.prepare_cached(
        "UPDATE sync_logs SET request_body = ?2 WHERE id = ?1 AND request_body IS NULL",
    )?
    .execute(params![log_id, body])?;
    Ok(())
}
