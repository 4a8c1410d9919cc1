//! The workers' side of the outbox (the sync logs): workers find work only here. Each
//! integration is a lane (`store::lanes`, `sync::lanes`); a log is claimed from its lane with one
//! `UPDATE … RETURNING` that sets `syncing` and a lease; a lease that runs out makes the log due
//! again. Then the attempt rows, settling a log, and the integration's health.

use rusqlite::{Connection, Transaction, params};

use super::sync_logs::SyncLog;
use crate::Result;
use crate::domain::{AttemptOutcome, IntegrationId, Millis, OrderId, Step, SyncLogId, new_id};

/// When the earliest queued log falls due after `after`: logs due before it are either
/// claimed already or wait for a slot in their lane, which the attempt holding it frees.
pub fn next_due_after(conn: &Connection, after: Millis) -> Result<Option<Millis>> {
    Ok(conn
        .prepare_cached(
            "SELECT min(next_retry_at) FROM sync_logs
             WHERE status IN ('pending', 'retry') AND next_retry_at > ?1",
        )?
        .query_row([after], |r| r.get(0))?)
}

/// How many logs are due at `now`.
pub fn due_count(conn: &Connection, now: Millis) -> Result<i64> {
    Ok(conn
        .prepare_cached(
            "SELECT count(*) FROM sync_logs
             WHERE status IN ('pending', 'retry') AND next_retry_at <= ?1",
        )?
        .query_row([now], |r| r.get(0))?)
}

/// Make logs whose lease ran out (a crashed or hung worker) due again, recording the interrupted
/// attempt. With `all`, every `syncing` log is reclaimed (start-up: no worker is running yet).
pub fn reclaim_leases(tx: &Transaction<'_>, now: Millis, all: bool) -> Result<usize> {
    let mut stmt = tx.prepare_cached(
        "SELECT id, lease_until FROM sync_logs WHERE status = 'syncing' AND (?2 OR lease_until <= ?1)",
    )?;
    let stale = stmt
        .query_map(params![now, all], |r| {
            Ok((r.get::<_, SyncLogId>(0)?, r.get::<_, Option<Millis>>(1)?))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    for (id, _) in &stale {
        insert_attempt(
            tx,
            id,
            &NewAttempt {
                started_at: now,
                duration_ms: 0,
                http_status: None,
                outcome: AttemptOutcome::Ambiguous,
                error_message: Some(
                    "possync stopped during this attempt; it is retried with the same idempotency key"
                        .into(),
                ),
                pos_order_id: None,
                step: None,
            },
        )?;
        tx.prepare_cached(
            "UPDATE sync_logs
             SET status = CASE WHEN retry_count = 0 THEN 'pending' ELSE 'retry' END,
                lease_until = NULL, next_retry_at = ?2
             WHERE id = ?1 AND status = 'syncing'",
        )?
        .execute(params![id, now])?;
    }
    Ok(stale.len())
}

/// An attempt to record.
#[derive(Debug, Clone)]
pub struct NewAttempt {
    pub started_at: Millis,
    pub duration_ms: i64,
    pub http_status: Option<i64>,
    pub outcome: AttemptOutcome,
    pub error_message: Option<String>,
    pub pos_order_id: Option<String>,
    /// The step of the push this call took (`None` when no call was made).
    pub step: Option<Step>,
}

/// How many attempts a log has had.
pub fn attempt_count(conn: &Connection, log_id: &SyncLogId) -> Result<i64> {
    Ok(conn
        .prepare_cached("SELECT count(*) FROM sync_attempts WHERE sync_log_id = ?1")?
        .query_row([log_id], |r| r.get(0))?)
}

/// Append an attempt row (numbered after the last one).
pub fn insert_attempt(tx: &Transaction<'_>, log_id: &SyncLogId, a: &NewAttempt) -> Result<i64> {
    let number: i64 = tx
        .prepare_cached(
            "SELECT coalesce(max(attempt_number), 0) + 1 FROM sync_attempts WHERE sync_log_id = ?1",
        )?
        .query_row([log_id], |r| r.get(0))?;
    tx.prepare_cached(
        "INSERT INTO sync_attempts (id, sync_log_id, attempt_number, started_at, duration_ms,
            http_status, outcome, error_message, pos_order_id, step)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![
        new_id(),
        log_id,
        number,
        a.started_at,
        a.duration_ms,
        a.http_status,
        a.outcome,
        a.error_message,
        a.pos_order_id,
        a.step
    ])?;
    Ok(number)
}

/// Where a log goes after an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogUpdate {
    /// Done: the POS has the order (its id), or, for a cancellation that found the POS never
    /// had it, `None` (nothing was left to cancel).
    Success {
        pos_order_id: Option<String>,
    },
    Retry {
        at: Millis,
        error: String,
    },
    Failed {
        error: String,
    },
}

/// Apply the outcome of an attempt to a log this worker holds (its lease matches). Returns
/// whether the log was still held; a log reclaimed meanwhile is left to its new holder.
pub fn finish_attempt(
    tx: &Transaction<'_>,
    log: &SyncLog,
    update: &LogUpdate,
    duration_ms: i64,
    now: Millis,
) -> Result<bool> {
    let held = match update {
        LogUpdate::Success { pos_order_id } => tx
            .prepare_cached(
                "UPDATE sync_logs SET status = 'success', pos_order_id = coalesce(?3, pos_order_id),
                lease_until = NULL,
                next_retry_at = NULL, error_message = NULL, duration_ms = ?4, completed_at = ?5
             WHERE id = ?1 AND status = 'syncing' AND lease_until = ?2",
            )?
            .execute(params![
                log.id,
                log.lease_until,
                pos_order_id,
                duration_ms,
                now
            ])?,
        LogUpdate::Retry { at, error } => tx
            .prepare_cached(
                "UPDATE sync_logs SET status = 'retry', retry_count = retry_count + 1,
                lease_until = NULL, next_retry_at = ?3, error_message = ?4, duration_ms = ?5
             WHERE id = ?1 AND status = 'syncing' AND lease_until = ?2",
            )?
            .execute(params![log.id, log.lease_until, at, error, duration_ms])?,
        LogUpdate::Failed { error } => tx
            .prepare_cached(
                "UPDATE sync_logs SET status = 'failed', lease_until = NULL, next_retry_at = NULL,
                error_message = ?3, duration_ms = ?4, completed_at = ?5
             WHERE id = ?1 AND status = 'syncing' AND lease_until = ?2",
            )?
            .execute(params![log.id, log.lease_until, error, duration_ms, now])?,
    };
    Ok(held == 1)
}

/// Pause an integration until `until` (a 429): its queued logs wait at least that long.
pub fn pause_integration(
    tx: &Transaction<'_>,
    integration_id: &IntegrationId,
    until: Millis,
) -> Result<()> {
    tx.prepare_cached(
        "UPDATE pos_integrations SET paused_until = max(coalesce(paused_until, 0), ?2)
         WHERE id = ?1",
    )?
    .execute(params![integration_id, until])?;
    tx.prepare_cached(
        "UPDATE sync_logs SET next_retry_at = max(next_retry_at, ?2)
         WHERE integration_id = ?1 AND status IN ('pending', 'retry')",
    )?
    .execute(params![integration_id, until])?;
    Ok(())
}

/// Keep the integration's health current after an attempt.
pub fn record_integration_result(
    tx: &Transaction<'_>,
    integration_id: &IntegrationId,
    error: Option<&str>,
    now: Millis,
) -> Result<()> {
    match error {
        None => tx
            .prepare_cached(
                "UPDATE pos_integrations SET last_sync_at = ?2, error_count = 0, last_error = NULL,
                    paused_until = NULL WHERE id = ?1",
            )?
            .execute(params![integration_id, now])?,
        Some(error) => tx
            .prepare_cached(
                "UPDATE pos_integrations SET error_count = error_count + 1, last_error = ?2
                 WHERE id = ?1",
            )?
            .execute(params![integration_id, error])?,
    };
    Ok(())
}

/// How many attempts of the integration failed in a row (its `error_count`).
pub fn integration_failures(conn: &Connection, integration_id: &IntegrationId) -> Result<i64> {
    Ok(conn
        .prepare_cached("SELECT error_count FROM pos_integrations WHERE id = ?1")?
        .query_row([integration_id], |r| r.get(0))?)
}

/// Whether the order has another log for this integration besides `log_id`.
pub fn has_other_logs(
    conn: &Connection,
    order_id: &OrderId,
    integration_id: &IntegrationId,
    log_id: &SyncLogId,
) -> Result<bool> {
    Ok(conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM sync_logs
                            WHERE order_id = ?1 AND integration_id = ?2 AND id <> ?3)",
        )?
        .query_row(params![order_id, integration_id, log_id], |r| r.get(0))?)
}
