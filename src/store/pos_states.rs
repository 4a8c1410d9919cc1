//! The state each pushed order has in its POS (`orders.pos_state`), for the POS-state job:
//! which orders to read, and what was read.

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use crate::Result;
use crate::domain::{IntegrationId, Millis, OrderId, OrderStatus};
use crate::providers::state::TERMINAL;

/// An order whose POS state is still worth reading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub order_id: OrderId,
    pub integration_id: IntegrationId,
    /// The order's id in that POS.
    pub pos_order_id: String,
}

/// Orders pushed successfully since `since` whose POS state is unknown or not terminal, each
/// once (with the POS id of its latest successful create), oldest push first.
pub fn candidates(conn: &Connection, since: Millis) -> Result<Vec<Candidate>> {
    let terminal = TERMINAL
        .iter()
        .map(|s| format!("'{s}'"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT l.order_id, l.integration_id, l.pos_order_id, max(l.completed_at)
         FROM sync_logs l INDEXED BY sync_logs_pushed JOIN orders o ON o.id = l.order_id
         WHERE l.status = 'success' AND l.action = 'create' AND l.completed_at >= ?1
           AND l.pos_order_id IS NOT NULL
           AND (o.pos_state IS NULL OR o.pos_state NOT IN ({terminal}))
         GROUP BY l.order_id ORDER BY max(l.completed_at)"
    ))?;
    let rows = stmt
        .query_map([since], |r| {
            Ok(Candidate {
                order_id: r.get(0)?,
                integration_id: r.get(1)?,
                pos_order_id: r.get(2)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// What recording a read state found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    /// The state differs from the one stored before.
    pub changed: bool,
    /// The order's own status (a cancellation possync asked for shows as `canceled`).
    pub status: OrderStatus,
}

/// Store `state` as the order's POS state.
pub fn record_state(
    tx: &Transaction<'_>,
    order_id: &OrderId,
    state: &str,
    now: Millis,
) -> Result<Option<Recorded>> {
    let before: Option<(Option<String>, OrderStatus)> = crate::store::cached_row(
        tx,
        "SELECT pos_state, status FROM orders WHERE id = ?1",
        [order_id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .optional()?;
    let Some((previous, status)) = before else {
        return Ok(None);
    };
    tx.execute(
        "UPDATE orders SET pos_state = ?2, pos_state_at = ?3 WHERE id = ?1",
        params![order_id, state, now],
    )?;
    Ok(Some(Recorded {
        changed: previous.as_deref() != Some(state),
        status,
    }))
}
