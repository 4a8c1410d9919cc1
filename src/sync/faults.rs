//! How the sync threads meet a store that will not take writes (disk full, read-only): they
//! back off, and the cause is logged at most once per [`LOG_EVERY`] however many threads meet
//! it, with the number of failures left unlogged in between.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use crate::Error;
use crate::domain::now_millis;

/// The least time between two log lines about the same run of failures.
pub const LOG_EVERY: Duration = Duration::from_secs(10);

/// The first wait after a failure; it doubles up to [`BACKOFF_MAX`].
const BACKOFF_FIRST: Duration = Duration::from_millis(250);

/// The longest wait between two tries, so writing resumes within seconds of the disk allowing.
const BACKOFF_MAX: Duration = Duration::from_secs(4);

/// The sync threads' shared record of failing steps.
#[derive(Debug, Default)]
pub struct Faults {
    /// When a failure was last logged (ms since the epoch; 0: never).
    last_logged: AtomicI64,
    /// Failures since the last line.
    unlogged: AtomicU64,
    /// Whether the last step failed (so the recovery is logged once).
    failing: AtomicBool,
}

impl Faults {
    /// Note a failed step; logs it unless a line went out less than [`LOG_EVERY`] ago.
    pub fn failed(&self, what: &str, err: &Error) {
        self.failing.store(true, Ordering::Relaxed);
        let now = now_millis();
        let last = self.last_logged.load(Ordering::Relaxed);
        let every = i64::try_from(LOG_EVERY.as_millis()).unwrap_or(i64::MAX);
        let due = last == 0 || now.saturating_sub(last) >= every;
        // One thread wins the slot; the others count their failure for the next line.
        if !due
            || self
                .last_logged
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            self.unlogged.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let unlogged = self.unlogged.swap(0, Ordering::Relaxed);
        if matches!(err, Error::Unwritable(_)) {
            tracing::error!(
                error = %err, unlogged_since_last = unlogged,
                "{what}: the database cannot be written (disk full or read-only); backing off and \
                 trying again, nothing is lost"
            );
        } else {
            tracing::error!(error = %err, unlogged_since_last = unlogged, "{what}");
        }
    }

    /// Note a step that worked; logs the end of a run of failures once.
    pub fn worked(&self) {
        if self.failing.swap(false, Ordering::Relaxed) {
            let unlogged = self.unlogged.swap(0, Ordering::Relaxed);
            self.last_logged.store(0, Ordering::Relaxed);
            tracing::info!(
                unlogged_since_last = unlogged,
                "the sync threads work again"
            );
        }
    }
}

/// A doubling wait between tries of one thread.
#[derive(Debug, Default)]
pub struct Backoff {
    next: Option<Duration>,
}

impl Backoff {
    /// The wait before the next try (and doubles the one after).
    pub fn next(&mut self) -> Duration {
        let wait = self.next.unwrap_or(BACKOFF_FIRST);
        self.next = Some(wait.saturating_mul(2).min(BACKOFF_MAX));
        wait
    }

    /// Back to the shortest wait after a step that worked.
    pub fn reset(&mut self) {
        self.next = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_doubles_to_its_cap_and_resets() {
        let mut backoff = Backoff::default();
        let waits: Vec<u128> = (0..6).map(|_| backoff.next().as_millis()).collect();
        assert_eq!(waits, [250, 500, 1000, 2000, 4000, 4000]);
        backoff.reset();
        assert_eq!(backoff.next(), BACKOFF_FIRST);
    }
}
