//! When a queued log will actually go to the POS, as "sync now" answers it: at once, or not
//! before a 429 pause ends, or once an open circuit closes. Pure: the caller reads the log, the
//! integration's pause and the lane's breaker in the same transaction.

use crate::domain::{Millis, SyncStatus};
use crate::sync::breaker::Breaker;

/// When a log goes to the POS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dispatch {
    /// A push of it is under way.
    Sending,
    /// Due now: a worker takes it within moments, after the earlier orders of its lane.
    Now,
    /// The POS asked possync to wait (a 429): not before this time.
    Paused { until: Millis },
    /// The lane's circuit is open (the POS stopped answering): held with the lane's other logs
    /// until a probe gets an answer; the next probe may go at `next_probe_at`.
    Held {
        since: Millis,
        next_probe_at: Option<Millis>,
    },
    /// Due later for another reason (a retry the POS did not ask to delay).
    Later { at: Millis },
}

/// When a log in `status`, due at `next_retry_at`, goes at `now`, given its integration's
/// `paused_until` and its lane's `breaker`. The circuit comes first (a held log waits for the
/// POS whatever the pause says), then the pause, then the log's own due time.
pub fn dispatch(
    status: SyncStatus,
    next_retry_at: Option<Millis>,
    paused_until: Option<Millis>,
    breaker: &Breaker,
    now: Millis,
) -> Dispatch {
    if status == SyncStatus::Syncing {
        return Dispatch::Sending;
    }
    if let Some(since) = breaker.open_since {
        return Dispatch::Held {
            since,
            next_probe_at: breaker.next_probe_at.filter(|at| *at > now),
        };
    }
    let due = next_retry_at.unwrap_or(now);
    match paused_until.filter(|until| *until > now) {
        Some(until) => Dispatch::Paused {
            until: until.max(due),
        },
        None if due > now => Dispatch::Later { at: due },
        None => Dispatch::Now,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Millis = 1_800_000_000_000;

    /// A case: its name, the log's status and due time, the pause, the breaker, the answer.
    type Case = (
        &'static str,
        SyncStatus,
        Option<Millis>,
        Option<Millis>,
        Breaker,
        Dispatch,
    );

    #[test]
    fn when_a_synced_log_goes() {
        let closed = Breaker::default();
        let failing = Breaker {
            failures: 3,
            ..Breaker::default()
        };
        let open = Breaker {
            failures: 5,
            open_since: Some(NOW - 60_000),
            next_probe_at: Some(NOW + 240_000),
        };
        let probe_due = Breaker {
            next_probe_at: Some(NOW - 1),
            ..open
        };
        let held = |next| Dispatch::Held {
            since: NOW - 60_000,
            next_probe_at: next,
        };
        use SyncStatus::{Pending, Retry, Syncing};
        let cases: Vec<Case> = vec![
            ("due now", Retry, Some(NOW), None, closed, Dispatch::Now),
            ("a new log", Pending, Some(NOW), None, closed, Dispatch::Now),
            (
                "overdue",
                Retry,
                Some(NOW - 5_000),
                None,
                closed,
                Dispatch::Now,
            ),
            ("no due time", Pending, None, None, closed, Dispatch::Now),
            (
                "failing, not open",
                Retry,
                Some(NOW),
                None,
                failing,
                Dispatch::Now,
            ),
            (
                "a 429 pause holds",
                Retry,
                Some(NOW + 600_000),
                Some(NOW + 600_000),
                closed,
                Dispatch::Paused {
                    until: NOW + 600_000,
                },
            ),
            (
                "a new log during a pause",
                Pending,
                Some(NOW + 30_000),
                Some(NOW + 30_000),
                closed,
                Dispatch::Paused {
                    until: NOW + 30_000,
                },
            ),
            (
                "due after the pause: the later time",
                Retry,
                Some(NOW + 90_000),
                Some(NOW + 30_000),
                closed,
                Dispatch::Paused {
                    until: NOW + 90_000,
                },
            ),
            (
                "a pause that has ended",
                Retry,
                Some(NOW),
                Some(NOW - 1),
                closed,
                Dispatch::Now,
            ),
            (
                "open circuit",
                Retry,
                Some(NOW),
                None,
                open,
                held(Some(NOW + 240_000)),
            ),
            (
                "open circuit beats a pause",
                Retry,
                Some(NOW + 600_000),
                Some(NOW + 600_000),
                open,
                held(Some(NOW + 240_000)),
            ),
            (
                "open, probe already due",
                Pending,
                Some(NOW),
                None,
                probe_due,
                held(None),
            ),
            (
                "in flight",
                Syncing,
                None,
                Some(NOW + 600_000),
                open,
                Dispatch::Sending,
            ),
            (
                "due later, no pause",
                Retry,
                Some(NOW + 5_000),
                None,
                closed,
                Dispatch::Later { at: NOW + 5_000 },
            ),
        ];
        for (name, status, due, paused, breaker, want) in cases {
            assert_eq!(dispatch(status, due, paused, &breaker, NOW), want, "{name}");
        }
    }
}
