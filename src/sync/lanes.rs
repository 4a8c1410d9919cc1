//! Lanes: each integration is a lane with its own FIFO of due logs and its own in-flight limit
//! (`--lane-concurrency`, default 1: a restaurant's orders reach its POS in the order they were
//! placed). Free workers serve the lanes with due work in turn, so a slow or dead POS holds at
//! most its own lane's slots, never the pool. This replaces "the oldest due log anywhere".
//!
//! A claim is one short write transaction: walk the ring of lanes with queued logs from the
//! lane served last (a few index probes per lane), take the first that may start, and claim its
//! oldest due log with one `UPDATE … RETURNING` and a lease, as before. The turn (the lane
//! served last) is kept in memory: after a restart the walk merely starts at the first lane.
//! A lane whose circuit is open (`breaker`) starts only its probe.

use std::sync::{Mutex, PoisonError};

use rusqlite::Transaction;

use crate::Result;
use crate::domain::{IntegrationId, Millis};
use std::time::Duration;

use super::Engine;
use super::breaker::{Breaker, BreakerRules, Change};
use crate::domain::{format_millis, now_millis};
use crate::notify::{NotifySettings, messages};
use crate::providers::Outcome;
use crate::store::lanes::{self, LaneState};
use crate::store::{SyncLog, notifications, orders};

/// The lanes' rule and whose turn it is.
#[derive(Debug)]
pub struct Lanes {
    /// Most attempts in flight per lane.
    concurrency: i64,
    breaker: BreakerRules,
    hold_window: Millis,
    /// The lane that was served last.
    served_last: Mutex<Option<IntegrationId>>,
}

impl Lanes {
    /// Lanes allowing `concurrency` attempts in flight each, with these breakers; held logs
    /// fail after `hold_window`.
    pub fn new(concurrency: u16, breaker: BreakerRules, hold_window: Millis) -> Lanes {
        Lanes {
            concurrency: i64::from(concurrency.max(1)),
            breaker,
            hold_window,
            served_last: Mutex::new(None),
        }
    }

    /// Claim the next log in turn: the oldest due log of the first lane after the one served
    /// last that may start one. `None` when no lane may.
    pub fn claim(
        &self,
        tx: &Transaction<'_>,
        now: Millis,
        lease_until: Millis,
    ) -> Result<Option<SyncLog>> {
        // Claims are write transactions, so they never wait on this lock for long: it only
        // orders them, as SQLite already does.
        let mut served_last = self
            .served_last
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let picked = next_in_turn(
            served_last.as_ref(),
            |after| lanes::next_lane(tx, after),
            |lane| {
                Ok(may_start(
                    &lanes::lane_state(tx, lane)?,
                    self.concurrency,
                    now,
                ))
            },
        )?;
        let Some((lane, start)) = picked else {
            return Ok(None);
        };
        let log = lanes::claim_in_lane(tx, &lane, now, lease_until)?;
        if let (Start::Probe(mut breaker), Some(_)) = (start, &log) {
            // The next probe waits its interval even if this one hangs until its lease ends.
            breaker.next_probe_at = Some(now.saturating_add(self.breaker.probe_every));
            lanes::set_breaker(tx, &lane, &breaker)?;
        }
        *served_last = Some(lane);
        Ok(log)
    }

    /// Record what an attempt of `log` (it ended with `outcome`, at `now`) tells its lane's
    /// breaker, and tell the seller once when the lane opens. Returns whether a notification
    /// was raised. Part of the attempt's record transaction.
    pub(super) fn record_attempt(
        &self,
        tx: &Transaction<'_>,
        log: &SyncLog,
        outcome: &Outcome,
        settings: &NotifySettings,
        now: Millis,
    ) -> Result<bool> {
        let error = match outcome {
            Outcome::Transient { error } | Outcome::Ambiguous { error } => Some(error),
            _ => None,
        };
        let (breaker, change) = self.record(tx, &log.integration_id, error.is_none(), now)?;
        match (change, error) {
            (Change::Opened, Some(error)) => {
                tracing::warn!(
                    integration_id = %log.integration_id, failures = breaker.failures, error = error.as_str(),
                    "the POS does not answer: its lane's circuit opened; its orders are held"
                );
                let millis = |ms: Millis| Duration::from_millis(u64::try_from(ms).unwrap_or(0));
                let notice = messages::pos_unreachable(
                    &log.business_id,
                    log.provider,
                    breaker.failures,
                    error,
                    millis(self.breaker.probe_every),
                    millis(self.hold_window),
                );
                Ok(notifications::raise(tx, &notice, settings, now)?.is_some())
            }
            (Change::Closed, _) => {
                tracing::info!(integration_id = %log.integration_id, "the POS answers again: its lane's circuit closed; held orders drain in order");
                Ok(false)
            }
            _ => Ok(false),
        }
    }

    /// The breaker's part of recording an attempt of `lane` that got an answer from the POS
    /// or none: store the new state; on closing, make the lane's queued logs due now so they
    /// drain in order.
    fn record(
        &self,
        tx: &Transaction<'_>,
        lane: &IntegrationId,
        answered: bool,
        now: Millis,
    ) -> Result<(Breaker, Change)> {
        let before = lanes::breaker(tx, lane)?;
        let (after, change) = before.after_attempt(answered, self.breaker, now);
        if after != before {
            lanes::set_breaker(tx, lane, &after)?;
        }
        if change == Change::Closed {
            lanes::due_now(tx, lane, now)?;
        }
        Ok((after, change))
    }
}

impl Engine {
    /// Fail the held logs (queued in an open lane) created more than the guide's window ago,
    /// with "POS unreachable since <time>", notifying each as any failure. Returns how many.
    pub(super) fn expire_held(&self) -> Result<usize> {
        let now = now_millis();
        let cutoff = now.saturating_sub(self.settings.hold_window);
        let held = self
            .store
            .read(|c| lanes::held_since(c, cutoff, EXPIRE_BATCH))?;
        if held.is_empty() {
            return Ok(0);
        }
        let settings = self.delivery.shared_settings();
        let (failed, raised) = self.store.write(move |tx| {
            let (mut failed, mut raised) = (0, false);
            for (log, since) in &held {
                let error = format!("POS unreachable since {}", format_millis(*since));
                if !lanes::fail_held(tx, &log.id, &error, now)? {
                    continue;
                }
                failed += 1;
                if let Some(order) = orders::order_by_id(tx, &log.order_id)? {
                    let notice = messages::sync_failed(&order, log, log.provider, &error);
                    raised |= notifications::raise(tx, &notice, &settings, now)?.is_some();
                }
            }
            Ok((failed, raised))
        })?;
        if raised {
            self.delivery.wake();
        }
        if failed > 0 {
            tracing::error!(
                logs = failed,
                "held orders failed: their POS did not answer within the retry window"
            );
        }
        Ok(failed)
    }
}

/// The most held logs failed in one transaction (more wait for the next tick).
const EXPIRE_BATCH: i64 = 200;

/// How a lane may start an attempt now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// Its oldest due log, as usual.
    Attempt,
    /// Its circuit is open: its oldest due log, as the one probe of this interval.
    Probe(Breaker),
}

/// Whether and how a lane may start an attempt now: a log of it is due and it has a free slot;
/// an open lane only when its probe is due and nothing is in flight.
pub fn may_start(lane: &LaneState, concurrency: i64, now: Millis) -> Option<Start> {
    if lane.due_at.is_none_or(|due| due > now) {
        return None;
    }
    match lane.breaker.open_since {
        Some(_) => lane
            .breaker
            .may_probe(lane.in_flight, now)
            .then_some(Start::Probe(lane.breaker)),
        None => (lane.in_flight < concurrency).then_some(Start::Attempt),
    }
}

/// Walk the ring of lanes once, starting after `served_last` and wrapping round to it, and
/// return the first lane `admit` accepts, with its answer. `next_after(None)` is the first
/// lane; lanes come in ascending order.
pub fn next_in_turn<T>(
    served_last: Option<&IntegrationId>,
    mut next_after: impl FnMut(Option<&IntegrationId>) -> Result<Option<IntegrationId>>,
    mut admit: impl FnMut(&IntegrationId) -> Result<Option<T>>,
) -> Result<Option<(IntegrationId, T)>> {
    let mut at = served_last.cloned();
    let mut wrapped = served_last.is_none();
    loop {
        match next_after(at.as_ref())? {
            // Past the lane served last on the second pass: every lane has been asked.
            Some(lane) if wrapped && served_last.is_some_and(|last| &lane > last) => {
                return Ok(None);
            }
            Some(lane) => {
                if let Some(answer) = admit(&lane)? {
                    return Ok(Some((lane, answer)));
                }
                at = Some(lane);
            }
            None if !wrapped => {
                wrapped = true;
                at = None;
            }
            None => return Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> IntegrationId {
        IntegrationId::from(s)
    }

    /// The lane `next_in_turn` picks among `lanes` (those with queued logs) of which `ready`
    /// may start, after `served_last`; and how many lanes it asked.
    fn pick(lanes: &[&str], ready: &[&str], served_last: Option<&str>) -> (Option<String>, usize) {
        let mut asked = 0;
        let last = served_last.map(id);
        let picked = next_in_turn(
            last.as_ref(),
            |after| {
                Ok(lanes
                    .iter()
                    .find(|l| after.is_none_or(|a| **l > a.as_str()))
                    .map(|l| id(l)))
            },
            |lane| {
                asked += 1;
                Ok(ready.contains(&lane.as_str()).then_some(()))
            },
        )
        .unwrap();
        (picked.map(|(lane, ())| String::from(lane)), asked)
    }

    /// (lanes with queued logs, lanes that may start, served last, picked, lanes asked)
    type Case<'a> = (
        &'a [&'a str],
        &'a [&'a str],
        Option<&'a str>,
        Option<&'a str>,
        usize,
    );

    #[test]
    fn lanes_are_served_in_turn_and_each_is_asked_at_most_once() {
        let all = ["a", "b", "c", "d"];
        let cases: &[Case] = &[
            (&all, &all, None, Some("a"), 1),
            (&all, &all, Some("a"), Some("b"), 1),
            (&all, &all, Some("d"), Some("a"), 1),
            // The lane served last is asked last, after everyone else.
            (&all, &["b"], Some("b"), Some("b"), 4),
            (&all, &["a", "c"], Some("a"), Some("c"), 2),
            (&all, &["a", "c"], Some("c"), Some("a"), 2),
            // A hung lane (never ready) is skipped, whoever was served last.
            (&all, &["a", "b", "d"], Some("b"), Some("d"), 2),
            (&all, &[], Some("b"), None, 4),
            (&all, &[], None, None, 4),
            (&[], &[], Some("b"), None, 0),
            (&[], &[], None, None, 0),
            // The lane served last has no queued logs any more.
            (&["a", "c"], &["a", "c"], Some("b"), Some("c"), 1),
            (&["a", "c"], &["a"], Some("b"), Some("a"), 2),
        ];
        for (lanes, ready, last, picked, asked) in cases {
            assert_eq!(
                pick(lanes, ready, *last),
                (picked.map(String::from), *asked),
                "lanes {lanes:?}, ready {ready:?}, served last {last:?}"
            );
        }
    }

    #[test]
    fn a_lane_starts_only_with_a_due_log_and_a_free_slot_and_an_open_one_only_its_probe() {
        let now = 1_000;
        let closed = Breaker::default();
        let open = |probe_at| Breaker {
            failures: 5,
            open_since: Some(now - 500),
            next_probe_at: Some(probe_at),
        };
        let cases = [
            // (due at, in flight, concurrency, breaker, start)
            (Some(now), 0, 1, closed, Some(Start::Attempt)),
            (Some(now - 5), 0, 1, closed, Some(Start::Attempt)),
            (Some(now + 1), 0, 1, closed, None),
            (None, 0, 1, closed, None),
            (Some(now), 1, 1, closed, None),
            (Some(now), 1, 2, closed, Some(Start::Attempt)),
            (Some(now), 2, 2, closed, None),
            // Open: held until the probe's time, one probe at a time, whatever the slots.
            (Some(now), 0, 1, open(now + 1), None),
            (Some(now), 0, 1, open(now), Some(Start::Probe(open(now)))),
            (Some(now), 1, 4, open(now), None),
            (None, 0, 1, open(now), None),
        ];
        for (due_at, in_flight, concurrency, breaker, expected) in cases {
            let lane = LaneState {
                due_at,
                in_flight,
                breaker,
            };
            assert_eq!(
                may_start(&lane, concurrency, now),
                expected,
                "{lane:?} with concurrency {concurrency}"
            );
        }
    }
}
