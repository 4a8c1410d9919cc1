//! A lane's circuit breaker, as a pure state machine. After `--breaker-after` attempts in a row
//! that got no answer (network, timeout, 5xx) the lane opens: its logs are held (not attempted,
//! their retry budget kept) and one probe, the oldest due log, goes out per `--retry-interval`.
//! Any answer from the POS closes it, and the held logs drain in order.

use crate::domain::Millis;

/// The breaker's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerRules {
    /// Attempts in a row without an answer that open the lane; 0: never.
    pub after: i64,
    /// How often an open lane sends a probe (the retry interval).
    pub probe_every: Millis,
}

/// A lane's breaker as stored on its integration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Breaker {
    /// Attempts in a row that got no answer.
    pub failures: i64,
    /// When the lane opened; `None` while it is closed.
    pub open_since: Option<Millis>,
    /// When an open lane may send its next probe.
    pub next_probe_at: Option<Millis>,
}

/// What an attempt did to the breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Still closed, or still open.
    Kept,
    /// The lane opened with this attempt: tell the seller, once.
    Opened,
    /// The POS answered an open lane: its held logs drain.
    Closed,
}

impl Breaker {
    /// The breaker after an attempt at `now` that got an answer from the POS (`answered`:
    /// success, a refusal, a 429, a 401) or none (network, timeout, 5xx).
    pub fn after_attempt(
        self,
        answered: bool,
        rules: BreakerRules,
        now: Millis,
    ) -> (Breaker, Change) {
        if answered {
            let change = match self.open_since {
                Some(_) => Change::Closed,
                None => Change::Kept,
            };
            return (Breaker::default(), change);
        }
        let failures = self.failures.saturating_add(1);
        let next_probe_at = Some(now.saturating_add(rules.probe_every));
        match self.open_since {
            Some(since) => (
                Breaker {
                    failures,
                    open_since: Some(since),
                    next_probe_at,
                },
                Change::Kept,
            ),
            None if rules.after > 0 && failures >= rules.after => (
                Breaker {
                    failures,
                    open_since: Some(now),
                    next_probe_at,
                },
                Change::Opened,
            ),
            None => (
                Breaker {
                    failures,
                    ..Breaker::default()
                },
                Change::Kept,
            ),
        }
    }

    /// Whether an open lane may send a probe now: none is in flight and its time has come.
    pub fn may_probe(&self, in_flight: i64, now: Millis) -> bool {
        in_flight == 0 && self.next_probe_at.is_none_or(|at| at <= now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: BreakerRules = BreakerRules {
        after: 3,
        probe_every: 100,
    };

    fn closed(failures: i64) -> Breaker {
        Breaker {
            failures,
            ..Breaker::default()
        }
    }

    fn open(failures: i64, since: Millis, probe: Millis) -> Breaker {
        Breaker {
            failures,
            open_since: Some(since),
            next_probe_at: Some(probe),
        }
    }

    #[test]
    fn the_breaker_opens_after_failures_in_a_row_and_closes_on_any_answer() {
        let now = 1_000;
        let cases = [
            // (before, answered, after, change)
            (closed(0), true, closed(0), Change::Kept),
            (closed(2), true, closed(0), Change::Kept),
            (closed(0), false, closed(1), Change::Kept),
            (closed(1), false, closed(2), Change::Kept),
            (closed(2), false, open(3, now, now + 100), Change::Opened),
            // A failed probe keeps it open and sets the next probe one interval on.
            (
                open(3, 500, 900),
                false,
                open(4, 500, now + 100),
                Change::Kept,
            ),
            (open(3, 500, 900), true, closed(0), Change::Closed),
        ];
        for (before, answered, after, change) in cases {
            assert_eq!(
                before.after_attempt(answered, RULES, now),
                (after, change),
                "{before:?}, answered {answered}"
            );
        }
    }

    #[test]
    fn a_breaker_set_to_zero_never_opens() {
        let rules = BreakerRules {
            after: 0,
            probe_every: 100,
        };
        let mut breaker = Breaker::default();
        for _ in 0..50 {
            let (next, change) = breaker.after_attempt(false, rules, 5);
            assert_eq!(change, Change::Kept);
            breaker = next;
        }
        assert_eq!(breaker, closed(50));
    }

    #[test]
    fn an_open_lane_probes_once_at_a_time_when_its_time_comes() {
        let cases = [
            // (next probe at, in flight, now, may probe)
            (Some(100), 0, 100, true),
            (Some(100), 0, 150, true),
            (Some(100), 0, 99, false),
            (Some(100), 1, 150, false),
            (None, 0, 0, true),
        ];
        for (next_probe_at, in_flight, now, expected) in cases {
            let breaker = Breaker {
                failures: 5,
                open_since: Some(0),
                next_probe_at,
            };
            assert_eq!(
                breaker.may_probe(in_flight, now),
                expected,
                "{breaker:?}, {in_flight} in flight at {now}"
            );
        }
    }
}
