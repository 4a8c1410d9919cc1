//! The reads behind history, an attempt list and stats: a business's logs newest first, a
//! log's attempts, and the counts per status the triggers keep.

use rusqlite::{Connection, params};

use super::SyncLog;
use super::{COLUMNS, from_row};
use crate::domain::{AttemptOutcome, BusinessId, Millis, Step, SyncAction, SyncLogId, SyncStatus};
use crate::store::{Page, Paged};
use crate::{Error, Result};

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

/// Counts per status of a business's logs of `action`, test orders left out (stats): the
/// counters the triggers keep (one indexed read at any size), less the test logs (few, found
/// through their partial index).
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
    let all = fold_counts(rows)?;
    let mut stmt = conn.prepare_cached(
        "SELECT status, count(*) FROM sync_logs INDEXED BY sync_logs_test
         WHERE business_id = ?1 AND action = ?2 AND is_test = 1 GROUP BY status",
    )?;
    let rows = stmt.query_map(params![business_id, action], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
    })?;
    let tests = fold_counts(rows)?;
    Ok(StatusCounts {
        pending: all.pending - tests.pending,
        syncing: all.syncing - tests.syncing,
        retry: all.retry - tests.retry,
        success: all.success - tests.success,
        failed: all.failed - tests.failed,
    })
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
    let total = conn
        .prepare_cached("SELECT count(*) FROM sync_attempts WHERE sync_log_id = ?1")?
        .query_row([log_id], |r| r.get(0))?;
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

/// Sync logs per status over every business (for metrics).
pub fn counts_all(conn: &Connection) -> Result<Vec<(String, i64)>> {
    let mut stmt =
        conn.prepare_cached("SELECT status, sum(n) FROM sync_log_counts GROUP BY status")?;
    let rows = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}
