//! Canceling an order (API.md Part two "Cancellation", providers §F6): the order becomes
//! `canceled`; a push that has not reached the POS is failed without a POS call; a push in
//! flight finishes first ([`after_push`], from its record transaction); an order in the POS
//! gets a cancellation log (`action: cancel`) through the same outbox, lanes and policy. So does
//! a Zoho order whose push got no answer ([`may_be_in_zoho`]): its cancellation looks the sales
//! order up first.

use rusqlite::{Transaction, params};

use super::integrations::integration_by_id;
use super::orders::owned_order;
use super::sync_logs::{insert_action_log, latest_log_of_order, log_by_id};
use crate::Result;
use crate::domain::{Millis, OrderId, OrderStatus, ProviderKind, SyncAction, SyncStatus};
use crate::store::{Order, SyncLog};

/// The error a queued push gets when its order is canceled first.
pub const CANCELED_BEFORE_POS: &str = "order canceled before it reached the POS";

/// What a cancel request did.
#[derive(Debug)]
pub struct Canceled {
    /// The order, canceled.
    pub order: Order,
    /// The cancellation log (the one queued now, or the one an earlier request or the push in
    /// flight queued); `None` while the order is not in the POS.
    pub log: Option<SyncLog>,
    /// Whether this request queued work for the workers.
    pub queued: bool,
}

/// Cancel the seller's order with `reason`. Calling it again answers the same and queues
/// nothing.
pub fn cancel_order(
    tx: &Transaction<'_>,
    seller_id: &str,
    order_id: &OrderId,
    reason: Option<String>,
    max_retries: i64,
    now: Millis,
) -> Result<Canceled> {
    let order = owned_order(tx, seller_id, order_id)?;
    if order.life.status == OrderStatus::Canceled {
        let log = latest_log_of_order(tx, &order.id, SyncAction::Cancel)?;
        return Ok(Canceled {
            order,
            log,
            queued: false,
        });
    }
    tx.execute(
        "UPDATE orders SET status = 'canceled', canceled_at = ?2, cancel_reason = ?3 WHERE id = ?1",
        params![order.id, now, reason],
    )?;
    let log = match latest_log_of_order(tx, &order.id, SyncAction::Create)? {
        Some(create) => after_create(tx, &create, max_retries, now)?,
        None => None,
    };
    Ok(Canceled {
        order: owned_order(tx, seller_id, order_id)?,
        queued: log.is_some(),
        log,
    })
}

/// What the order's create log means for a cancellation: queued and not in the POS, it fails
/// without a POS call; in flight, or retrying a later step of a push that already made the
/// order, it finishes first ([`after_push`] follows it); once the POS has the order (the push
/// succeeded, or failed after the POS made it), a cancellation log is queued and returned. A
/// Zoho push that got no answer may have made the sales order all the same: it fails (or stays
/// failed) as one that never reached the POS, and a cancellation log is queued that looks the
/// sales order up by its reference number and voids it if Zoho has it.
fn after_create(
    tx: &Transaction<'_>,
    create: &SyncLog,
    max_retries: i64,
    now: Millis,
) -> Result<Option<SyncLog>> {
    match (create.status, &create.pos_order_id) {
        (SyncStatus::Pending | SyncStatus::Retry, None) => {
            tx.execute(
                "UPDATE sync_logs SET status = 'failed', next_retry_at = NULL, error_message = ?2,
                    completed_at = ?3
                 WHERE id = ?1 AND status IN ('pending', 'retry')",
                params![create.id, CANCELED_BEFORE_POS, now],
            )?;
            queue_cancel_if_in_zoho(tx, create, max_retries, now)
        }
        // The order is in the POS and its payment may be too (a CreatePayment whose answer
        // was lost): the push finishes, so the cancellation knows which payment to refund.
        (SyncStatus::Pending | SyncStatus::Retry | SyncStatus::Syncing, _) => Ok(None),
        (SyncStatus::Failed, None) => queue_cancel_if_in_zoho(tx, create, max_retries, now),
        (SyncStatus::Failed | SyncStatus::Success, Some(_)) => {
            queue_cancel(tx, create, max_retries, now)
        }
        // A success always carries the POS's id; without one there is nothing to cancel.
        (SyncStatus::Success, None) => Ok(None),
    }
}

/// After a create log's attempt is recorded, in the same transaction: when its order was
/// canceled meanwhile, a push that reached the POS is followed by its cancellation, and one
/// that has not fails instead of retrying. Returns the cancellation log queued, if any.
pub fn after_push(
    tx: &Transaction<'_>,
    create: &SyncLog,
    max_retries: i64,
    now: Millis,
) -> Result<Option<SyncLog>> {
    if create.action != SyncAction::Create {
        return Ok(None);
    }
    // Every recorded create attempt asks this: the statement is prepared once.
    let (canceled, already): (bool, bool) = tx
        .prepare_cached(
            "SELECT o.status = 'canceled',
                EXISTS (SELECT 1 FROM sync_logs WHERE order_id = o.id AND action = 'cancel')
             FROM orders o WHERE o.id = ?1",
        )?
        .query_row([&create.order_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
    if !canceled || already {
        return Ok(None);
    }
    match log_by_id(tx, &create.id)? {
        Some(settled) => after_create(tx, &settled, max_retries, now),
        None => Ok(None),
    }
}

/// Queue the cancellation of the order `create` may have left in Zoho without an answer, if any.
fn queue_cancel_if_in_zoho(
    tx: &Transaction<'_>,
    create: &SyncLog,
    max_retries: i64,
    now: Millis,
) -> Result<Option<SyncLog>> {
    if may_be_in_zoho(tx, create)? {
        queue_cancel(tx, create, max_retries, now)
    } else {
        Ok(None)
    }
}

/// Whether a push of `create`'s order to its Zoho integration may have made a sales order that
/// possync never heard of: an attempt got no answer (a timeout, a reset, a stop mid-attempt) or
/// a 5xx. (possync's own Zoho budget refusing a call sends nothing: it does not count.) Zoho has no idempotency key, so only a lookup by reference number can tell. (Square's
/// keys let its retries learn the order; Dine POS cannot cancel through its API at all.)
fn may_be_in_zoho(tx: &Transaction<'_>, create: &SyncLog) -> Result<bool> {
    if create.provider != ProviderKind::Zoho {
        return Ok(false);
    }
    Ok(crate::store::cached_row(
        tx,
        "SELECT EXISTS (SELECT 1 FROM sync_logs l JOIN sync_attempts a ON a.sync_log_id = l.id
            WHERE l.order_id = ?1 AND l.integration_id = ?2 AND l.action = 'create'
              AND ((a.http_status IS NULL AND a.outcome <> 'rate_limited')
                   OR a.http_status >= 500 OR a.outcome = 'ambiguous'))",
        params![create.order_id, create.integration_id],
        |r| r.get(0),
    )?)
}

/// Queue the cancellation of the order `create` put in the POS. It starts from what the create
/// learned (the POS's order and payment ids), so its steps know what to refund and cancel (none,
/// after a Zoho push that got no answer: the cancellation looks first).
fn queue_cancel(
    tx: &Transaction<'_>,
    create: &SyncLog,
    max_retries: i64,
    now: Millis,
) -> Result<Option<SyncLog>> {
    let Some(integration) = integration_by_id(tx, &create.integration_id)? else {
        return Ok(None);
    };
    let log = insert_action_log(
        tx,
        &create.order_id,
        &integration,
        SyncAction::Cancel,
        max_retries,
        now,
    )?;
    tx.execute(
        "UPDATE sync_logs SET pos_order_id = ?2, pos_payment_id = ?3 WHERE id = ?1",
        params![log.id, create.pos_order_id, create.pos_payment_id],
    )?;
    log_by_id(tx, &log.id)
}
