//! The store's side of the lanes (`sync::lanes`): each integration's queue, what is in flight
//! to it, and its circuit breaker (columns of `pos_integrations`). Every function here is one
//! or two index probes, so a claim stays one short transaction.

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::sync_logs::{COLUMNS, SyncLog, from_row};
use crate::Result;
use crate::domain::{IntegrationId, Millis, SyncLogId};
use crate::sync::breaker::Breaker;

/// The first lane (integration) after `after`, in id order, with queued logs: lanes are
/// walked one index probe at a time, so a claim never scans a lane's backlog.
pub fn next_lane(
    conn: &Connection,
    after: Option<&IntegrationId>,
) -> Result<Option<IntegrationId>> {
    Ok(conn
        .prepare_cached(
            "SELECT integration_id FROM sync_logs
             WHERE status IN ('pending', 'retry') AND integration_id > ?1
             ORDER BY integration_id LIMIT 1",
        )?
        .query_row([after.map_or("", |a| a.as_str())], |r| r.get(0))
        .optional()?)
}

/// What a claim needs to know of one lane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LaneState {
    /// When its earliest queued log falls due.
    pub due_at: Option<Millis>,
    /// Its logs being attempted now (`syncing`).
    pub in_flight: i64,
    pub breaker: Breaker,
}

/// The lane's earliest due time, its logs in flight and its breaker (three index probes).
pub fn lane_state(conn: &Connection, lane: &IntegrationId) -> Result<LaneState> {
    Ok(conn
        .prepare_cached(
            "SELECT (SELECT next_retry_at FROM sync_logs
                     WHERE status IN ('pending', 'retry') AND integration_id = ?1
                     ORDER BY next_retry_at LIMIT 1),
                    (SELECT count(*) FROM sync_logs WHERE status = 'syncing' AND integration_id = ?1),
                    lane_failures, circuit_open_since, next_probe_at
             FROM pos_integrations WHERE id = ?1",
        )?
        .query_row([lane], |r| {
            Ok(LaneState {
                due_at: r.get(0)?,
                in_flight: r.get(1)?,
                breaker: Breaker {
                    failures: r.get(2)?,
                    open_since: r.get(3)?,
                    next_probe_at: r.get(4)?,
                },
            })
        })
        .optional()?
        // Logs outlive nothing: a lane without its integration row has nothing to start.
        .unwrap_or(LaneState {
            due_at: None,
            in_flight: 0,
            breaker: Breaker::default(),
        }))
}

/// Claim the lane's first due log in the order the orders were created: `syncing` with a
/// lease until `lease_until`; logs of one millisecond go in the order they were written (the
/// rowid). The lane's index is walked in that order (the planner would rather sort every due
/// log of a long backlog), so the first due log ends the search.
pub fn claim_in_lane(
    tx: &Transaction<'_>,
    lane: &IntegrationId,
    now: Millis,
    lease_until: Millis,
) -> Result<Option<SyncLog>> {
    let mut stmt = tx.prepare_cached(&format!(
        "UPDATE sync_logs SET status = 'syncing', lease_until = ?3, next_retry_at = NULL
         WHERE id = (SELECT id FROM sync_logs INDEXED BY sync_logs_lane
                     WHERE status IN ('pending', 'retry') AND integration_id = ?1
                       AND next_retry_at <= ?2
                     ORDER BY created_at, rowid LIMIT 1)
         RETURNING {COLUMNS}"
    ))?;
    Ok(stmt
        .query_row(params![lane, now, lease_until], from_row)
        .optional()?)
}

/// The lane's breaker.
pub fn breaker(conn: &Connection, lane: &IntegrationId) -> Result<Breaker> {
    Ok(conn
        .prepare_cached(
            "SELECT lane_failures, circuit_open_since, next_probe_at FROM pos_integrations
             WHERE id = ?1",
        )?
        .query_row([lane], |r| {
            Ok(Breaker {
                failures: r.get(0)?,
                open_since: r.get(1)?,
                next_probe_at: r.get(2)?,
            })
        })
        .optional()?
        .unwrap_or_default())
}

/// What may hold the lane's queued logs back: its integration's 429 pause (`paused_until`)
/// and its breaker (one row).
pub fn holds(conn: &Connection, lane: &IntegrationId) -> Result<(Option<Millis>, Breaker)> {
    Ok(conn
        .prepare_cached(
            "SELECT paused_until, lane_failures, circuit_open_since, next_probe_at
             FROM pos_integrations WHERE id = ?1",
        )?
        .query_row([lane], |r| {
            Ok((
                r.get(0)?,
                Breaker {
                    failures: r.get(1)?,
                    open_since: r.get(2)?,
                    next_probe_at: r.get(3)?,
                },
            ))
        })
        .optional()?
        .unwrap_or_default())
}

/// Store the lane's breaker.
pub fn set_breaker(tx: &Transaction<'_>, lane: &IntegrationId, breaker: &Breaker) -> Result<()> {
    tx.prepare_cached(
        "UPDATE pos_integrations SET lane_failures = ?2, circuit_open_since = ?3, next_probe_at = ?4
         WHERE id = ?1",
    )?
    .execute(params![
        lane,
        breaker.failures,
        breaker.open_since,
        breaker.next_probe_at
    ])?;
    Ok(())
}

/// Make every queued log of the lane due now (it closed: the POS answers again, so what waited
/// for a retry goes now, in order, with what was held).
pub fn due_now(tx: &Transaction<'_>, lane: &IntegrationId, now: Millis) -> Result<usize> {
    Ok(tx
        .prepare_cached(
            "UPDATE sync_logs SET next_retry_at = ?2
         WHERE integration_id = ?1 AND status IN ('pending', 'retry') AND next_retry_at > ?2",
        )?
        .execute(params![lane, now])?)
}

/// When an open lane may next probe, the earliest after `after`.
pub fn next_probe_after(conn: &Connection, after: Millis) -> Result<Option<Millis>> {
    Ok(conn
        .prepare_cached(
            "SELECT min(next_probe_at) FROM pos_integrations
             WHERE circuit_open_since IS NOT NULL AND next_probe_at > ?1",
        )?
        .query_row([after], |r| r.get(0))?)
}

/// How many lanes are open now.
pub fn open_count(conn: &Connection) -> Result<i64> {
    Ok(conn
        .prepare_cached(
            "SELECT count(*) FROM pos_integrations WHERE circuit_open_since IS NOT NULL",
        )?
        .query_row([], |r| r.get(0))?)
}

/// Up to `limit` queued logs of open lanes created at or before `cutoff`, each with the time
/// its lane opened.
pub fn held_since(conn: &Connection, cutoff: Millis, limit: i64) -> Result<Vec<(SyncLog, Millis)>> {
    let lanes = conn
        .prepare_cached(
            "SELECT id, circuit_open_since FROM pos_integrations WHERE circuit_open_since IS NOT NULL",
        )?
        .query_map([], |r| Ok((r.get::<_, IntegrationId>(0)?, r.get::<_, Millis>(1)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut held = Vec::new();
    for (lane, since) in lanes {
        let room = limit - held.len() as i64;
        if room <= 0 {
            break;
        }
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM sync_logs INDEXED BY sync_logs_lane
             WHERE status IN ('pending', 'retry') AND integration_id = ?1 AND created_at <= ?2
             ORDER BY created_at, rowid LIMIT ?3"
        ))?;
        for log in stmt.query_map(params![lane, cutoff, room], from_row)? {
            held.push((log?, since));
        }
    }
    Ok(held)
}

/// Fail a held (queued, not in flight) log with `error`; false when it is no longer queued.
pub fn fail_held(
    tx: &Transaction<'_>,
    log_id: &SyncLogId,
    error: &str,
    now: Millis,
) -> Result<bool> {
    Ok(tx
        .prepare_cached(
            "UPDATE sync_logs SET status = 'failed', next_retry_at = NULL, error_message = ?2,
            completed_at = ?3
         WHERE id = ?1 AND status IN ('pending', 'retry')",
        )?
        .execute(params![log_id, error, now])?
        == 1)
}
