//! A request governor: at most N requests a minute per key (for Zoho, per organisation), so that
//! possync waits its turn instead of meeting the POS's 429.
//!
//! Each key has a [`Meter`], a token bucket run as GCRA (the "virtual scheduling" form): a burst
//! of `B = max(1, N / 9)` requests may go at once, then one every `60 s / (N − B)`. A bucket
//! never lets more than `B + W / interval` requests through in any window of length `W`, so at
//! most N in any minute, however the POS aligns its own minute. The burst serves a lunch rush's
//! first orders without waiting; the rest wait a fraction of a second each.
//!
//! A caller's turn is reserved when it asks (first come, first served), and the caller sleeps
//! until then on its own thread (POS calls run on worker or blocking threads, never on the async
//! runtime). A wait longer than the caller accepts reserves nothing: the caller is told when the
//! budget frees, and gives up for now. Background reads (the POS-state job) take a turn only
//! while half the burst is left over for pushes and never wait: they must not hold up a push,
//! nor the scheduler thread they run on.
//!
//! The meter is pure (time comes in as an argument), so the table tests drive it with a
//! made-up clock.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Who is asking for a turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Priority {
    /// A push, or a read someone is waiting for (a catalog page): may use the whole budget.
    Foreground,
    /// A read nobody waits for: leaves half the burst for foreground calls and never waits.
    Background,
}

/// The answer to "may I call now?".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Turn {
    /// Call after this long (zero: now); the turn is reserved.
    After(Duration),
    /// Not within the wait the caller accepts: the budget frees for it in this long. Nothing
    /// was reserved.
    Refused(Duration),
}

/// One key's token bucket.
#[derive(Debug, Clone)]
pub struct Meter {
    /// Time between requests once the burst is spent.
    interval: Duration,
    /// How far ahead of the schedule a request may go: `(burst − 1) × interval`.
    tolerance: Duration,
    /// What a background call leaves unused: half the burst's worth of schedule.
    headroom: Duration,
    /// The theoretical arrival time of the next request (`None`: never used, the bucket is full).
    next: Option<Instant>,
}

impl Meter {
    /// A full bucket for `per_minute` requests a minute (at least 1).
    pub fn new(per_minute: u32) -> Meter {
        let per_minute = per_minute.max(1);
        let burst = (per_minute / 9).max(1);
        let interval = Duration::from_secs(60) / (per_minute - burst).max(1);
        Meter {
            interval,
            tolerance: interval * (burst - 1),
            headroom: interval * (burst / 2),
            next: None,
        }
    }

    /// Requests that may go at once from a full bucket.
    pub fn burst(&self) -> u32 {
        let steps = self.tolerance.as_nanos() / self.interval.as_nanos().max(1);
        u32::try_from(steps).unwrap_or(u32::MAX).saturating_add(1)
    }

    /// Time between requests once the burst is spent.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Ask at `now` for a turn, waiting at most `max_wait` (a background call never waits).
    pub fn take(&mut self, now: Instant, priority: Priority, max_wait: Duration) -> Turn {
        let next = self.next.map_or(now, |next| next.max(now));
        let (extra, max_wait) = match priority {
            Priority::Foreground => (Duration::ZERO, max_wait),
            Priority::Background => (self.headroom, Duration::ZERO),
        };
        // Conforming from `next − tolerance (+ headroom)` on; written as sums (an `Instant`
        // cannot go below the clock's start).
        let wait = (next + extra).saturating_duration_since(now + self.tolerance);
        if wait > max_wait {
            return Turn::Refused(wait);
        }
        self.next = Some(next + self.interval);
        Turn::After(wait)
    }

    /// Whether the bucket is full again at `now` (nothing left to remember).
    fn is_full(&self, now: Instant) -> bool {
        self.next.is_none_or(|next| next <= now)
    }
}

/// Buckets beyond this many are pruned of the full ones (a full bucket is a fresh one).
const PRUNE_ABOVE: usize = 256;

/// The meters of every key, behind one lock held only to compute a turn (never while asleep).
#[derive(Debug)]
pub struct Governor {
    per_minute: u32,
    meters: Mutex<HashMap<String, Meter>>,
}

impl Governor {
    /// At most `per_minute` requests a minute per key.
    pub fn new(per_minute: u32) -> Governor {
        Governor {
            per_minute,
            meters: Mutex::new(HashMap::new()),
        }
    }

    /// The limit per key.
    pub fn per_minute(&self) -> u32 {
        self.per_minute
    }

    /// Ask at `now` for `key`'s turn (see [`Meter::take`]).
    pub fn take(&self, key: &str, now: Instant, priority: Priority, max_wait: Duration) -> Turn {
        // A poisoned lock only means another caller panicked mid-update: the meters stay usable.
        let mut meters = self
            .meters
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if meters.len() > PRUNE_ABOVE {
            meters.retain(|_, meter| !meter.is_full(now));
        }
        meters
            .entry(key.to_string())
            .or_insert_with(|| Meter::new(self.per_minute))
            .take(now, priority, max_wait)
    }

    /// Wait (sleeping this thread) for `key`'s turn; `Err(free_in)` when it would take longer
    /// than `max_wait`. Call only from a thread that may block.
    pub fn wait_turn(
        &self,
        key: &str,
        priority: Priority,
        max_wait: Duration,
    ) -> Result<(), Duration> {
        match self.take(key, Instant::now(), priority, max_wait) {
            Turn::After(wait) => {
                if !wait.is_zero() {
                    std::thread::sleep(wait);
                }
                Ok(())
            }
            Turn::Refused(free_in) => Err(free_in),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);
    const LONG: Duration = Duration::from_secs(3600);

    /// Foreground calls at `at_ms`, each willing to wait `LONG`: when each one goes (ms).
    fn sends(meter: &mut Meter, t0: Instant, at_ms: &[u64]) -> Vec<u64> {
        at_ms
            .iter()
            .map(|&at| {
                let now = t0 + MS * u32::try_from(at).unwrap();
                match meter.take(now, Priority::Foreground, LONG) {
                    Turn::After(wait) => at + u64::try_from(wait.as_millis()).unwrap(),
                    Turn::Refused(_) => panic!("a call willing to wait an hour was refused"),
                }
            })
            .collect()
    }

    #[test]
    fn the_burst_goes_at_once_then_one_per_interval() {
        // (per minute, burst, interval in ms)
        let table = [
            (90, 10, 750),
            (100, 11, 674),
            (9, 1, 7_500),
            (2, 1, 60_000),
            (1, 1, 60_000),
            (0, 1, 60_000),
        ];
        for (per_minute, burst, interval_ms) in table {
            let meter = Meter::new(per_minute);
            assert_eq!(meter.burst(), burst, "burst of {per_minute}/min");
            assert_eq!(
                meter.interval().as_millis(),
                interval_ms,
                "interval of {per_minute}/min"
            );
        }
        let t0 = Instant::now();
        let mut meter = Meter::new(90);
        let got = sends(&mut meter, t0, &[0; 13]);
        assert_eq!(got, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 750, 1500, 2250]);
    }

    #[test]
    fn no_minute_ever_holds_more_than_the_limit() {
        // Ten minutes of calls asking for twice the limit, in bursts (5 in 8 arrive together)
        // and random gaps, from a fixed pseudo-random sequence.
        for per_minute in [1, 5, 12, 30, 90, 100, 600] {
            let mut meter = Meter::new(per_minute);
            let t0 = Instant::now();
            let max_gap = 160_000 / u64::from(per_minute);
            let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
            let mut at = 0u64;
            let mut arrivals = Vec::new();
            while at < 600_000 {
                seed = seed
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                if seed >> 61 > 4 {
                    at += (seed >> 20) % max_gap;
                }
                arrivals.push(at);
            }
            let sent = sends(&mut meter, t0, &arrivals);
            assert!(
                sent.windows(2).all(|w| w[0] <= w[1]),
                "first come, first served"
            );
            for (i, &start) in sent.iter().enumerate() {
                let in_minute = sent[i..]
                    .iter()
                    .take_while(|&&s| s < start + 60_000)
                    .count();
                assert!(
                    in_minute <= per_minute as usize,
                    "{per_minute}/min: {in_minute} requests in the minute from {start} ms"
                );
            }
        }
    }

    #[test]
    fn a_call_that_would_wait_too_long_is_refused_and_reserves_nothing() {
        let t0 = Instant::now();
        let mut meter = Meter::new(90);
        sends(&mut meter, t0, &[0; 10]);
        // (asking at ms, waiting at most ms, the answer)
        let table = [
            (0, 100, Turn::Refused(MS * 750)),
            (0, 749, Turn::Refused(MS * 750)),
            (0, 750, Turn::After(MS * 750)),
            (0, 750, Turn::Refused(MS * 1500)),
            (1_000, 500, Turn::After(MS * 500)),
            (10_000, 0, Turn::After(Duration::ZERO)),
        ];
        for (at, max_wait, want) in table {
            let got = meter.take(t0 + MS * at, Priority::Foreground, MS * max_wait);
            assert_eq!(
                got, want,
                "asking at {at} ms, waiting at most {max_wait} ms"
            );
        }
    }

    #[test]
    fn background_calls_leave_half_the_burst_and_never_wait() {
        let t0 = Instant::now();
        let mut meter = Meter::new(90);
        // Burst 10: background calls get 5 at once, then none until the bucket refills.
        let background: Vec<Turn> = (0..7)
            .map(|_| meter.take(t0, Priority::Background, LONG))
            .collect();
        let went = background
            .iter()
            .filter(|t| **t == Turn::After(Duration::ZERO))
            .count();
        assert_eq!(went, 5);
        assert_eq!(background[5], Turn::Refused(MS * 750));
        // Pushes still have the other half of the burst.
        assert_eq!(sends(&mut meter, t0, &[0; 6]), [0, 0, 0, 0, 0, 750]);
        // Refilled a minute later: background calls go again.
        let later = t0 + Duration::from_secs(60);
        assert_eq!(
            meter.take(later, Priority::Background, Duration::ZERO),
            Turn::After(Duration::ZERO)
        );
    }

    #[test]
    fn each_key_has_its_own_budget() {
        let governor = Governor::new(9);
        let t0 = Instant::now();
        let wait = Duration::from_secs(1);
        // (key, asking at s, the answer): 9/min is a burst of 1, then one every 7.5 s.
        let table = [
            ("org-a", 0, Turn::After(Duration::ZERO)),
            ("org-a", 0, Turn::Refused(MS * 7_500)),
            ("org-b", 0, Turn::After(Duration::ZERO)),
            ("org-b", 7, Turn::After(MS * 500)),
            ("org-a", 7, Turn::After(MS * 500)),
            ("org-c", 7, Turn::After(Duration::ZERO)),
        ];
        for (key, at, want) in table {
            let got = governor.take(
                key,
                t0 + Duration::from_secs(at),
                Priority::Foreground,
                wait,
            );
            assert_eq!(got, want, "{key} at {at} s");
        }
    }

    #[test]
    fn full_buckets_are_forgotten_when_many_keys_were_seen() {
        let governor = Governor::new(90);
        let t0 = Instant::now();
        for key in 0..=PRUNE_ABOVE {
            governor.take(&key.to_string(), t0, Priority::Foreground, LONG);
        }
        let later = t0 + Duration::from_secs(120);
        governor.take("late", later, Priority::Foreground, LONG);
        let meters = governor.meters.lock().unwrap();
        assert_eq!(
            meters.len(),
            1,
            "only the bucket used last is still draining"
        );
    }
}
