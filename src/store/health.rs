//! Whether the database can be written: which SQLite failures mean "the disk will not take it"
//! (full, read-only, I/O error) rather than a fault of possync, and the write probe of `/readyz`.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use rusqlite::ErrorCode;

use super::Store;
use crate::{Error, Result};

/// How long a probe's verdict is reused: a load balancer polling `/readyz` many times a
/// second costs at most one tiny write a second.
const PROBE_EVERY: Duration = Duration::from_secs(1);

/// Whether `err` says the storage refused the write (as opposed to a constraint or a bug).
pub fn is_storage_failure(err: &rusqlite::Error) -> bool {
    matches!(
        err.sqlite_error_code(),
        Some(
            ErrorCode::DiskFull
                | ErrorCode::ReadOnly
                | ErrorCode::SystemIoFailure
                | ErrorCode::CannotOpen
        )
    )
}

/// `err`, as [`Error::Unwritable`] when the storage refused the write.
pub(super) fn classify(err: Error) -> Error {
    match err {
        Error::Database(e) if is_storage_failure(&e) => Error::Unwritable(e.to_string()),
        other => other,
    }
}

/// The last probe and its verdict (`Err` holds the cause).
#[derive(Default)]
pub(super) struct Probe {
    last: Mutex<Option<(Instant, std::result::Result<(), String>)>>,
}

impl Store {
    /// Whether a write reaches the disk now: a tiny write transaction that changes the
    /// heartbeat row and changes it back, so a reader sees nothing new but SQLite appends the
    /// page to the WAL and syncs it (a row set to its own value would not even dirty the
    /// page). At most one probe runs per second; callers in between get the last verdict.
    pub fn probe_write(&self) -> Result<()> {
        let mut last = self
            .probe
            .last
            .lock()
            .map_err(|_| Error::Internal("the write probe's lock is poisoned".into()))?;
        if let Some((at, verdict)) = last.as_ref()
            && at.elapsed() < PROBE_EVERY
        {
            return verdict.clone().map_err(Error::Unwritable);
        }
        let verdict = match self.write(|tx| {
            tx.execute("UPDATE heartbeat SET beat = beat + 1 WHERE id = 1", [])?;
            tx.execute("UPDATE heartbeat SET beat = beat - 1 WHERE id = 1", [])?;
            Ok(())
        }) {
            Ok(()) => Ok(()),
            Err(Error::Unwritable(why)) => Err(why),
            Err(other) => return Err(other),
        };
        *last = Some((Instant::now(), verdict.clone()));
        verdict.map_err(Error::Unwritable)
    }
}
