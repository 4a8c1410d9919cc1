//! Lanes: each integration is a lane with its own FIFO of due logs and its own in-flight limit
//! (`--lane-concurrency`, default 1: a restaurant's orders reach its POS in the order they were
//! placed). Free workers serve the lanes with due work in turn, so a slow or dead POS holds at
//! most its own lane's slots, never the pool. This replaces "the oldest due log anywhere".
//!
//! A claim is one short write transaction: walk the ring of lanes with queued logs from the
//! lane served last (one index probe per lane), take the first that may start, and claim its
//! oldest due log with one `UPDATE … RETURNING` and a lease, as before. The turn (the lane
//! served last) is kept in memory: after a restart the walk merely starts at the first lane.

use std::sync::{Mutex, PoisonError};

use rusqlite::Transaction;

use crate::Result;
use crate::domain::{IntegrationId, Millis};
use crate::store::SyncLog;
use crate::store::outbox::{self, LaneState};

/// The lanes' rule and whose turn it is.
#[derive(Debug)]
pub struct Lanes {
    /// Most attempts in flight per lane.
    concurrency: i64,
    /// The lane that was served last.
    served_last: Mutex<Option<IntegrationId>>,
}

impl Lanes {
    /// Lanes allowing `concurrency` attempts in flight each.
    pub fn new(concurrency: u16) -> Lanes {
        Lanes {
            concurrency: i64::from(concurrency.max(1)),
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
        let lane = next_in_turn(
            served_last.as_ref(),
            |after| outbox::next_lane(tx, after),
            |lane| {
                Ok(may_start(
                    &outbox::lane_state(tx, lane)?,
                    self.concurrency,
                    now,
                ))
            },
        )?;
        let Some(lane) = lane else {
            return Ok(None);
        };
        let log = outbox::claim_in_lane(tx, &lane, now, lease_until)?;
        *served_last = Some(lane);
        Ok(log)
    }
}

/// Whether a lane may start an attempt now: a log of it is due and it has a free slot.
pub fn may_start(lane: &LaneState, concurrency: i64, now: Millis) -> bool {
    lane.due_at.is_some_and(|due| due <= now) && lane.in_flight < concurrency
}

/// Walk the ring of lanes once, starting after `served_last` and wrapping round to it, and
/// return the first lane `admit` accepts. `next_after(None)` is the first lane; lanes come in
/// ascending order.
pub fn next_in_turn(
    served_last: Option<&IntegrationId>,
    mut next_after: impl FnMut(Option<&IntegrationId>) -> Result<Option<IntegrationId>>,
    mut admit: impl FnMut(&IntegrationId) -> Result<bool>,
) -> Result<Option<IntegrationId>> {
    let mut at = served_last.cloned();
    let mut wrapped = served_last.is_none();
    loop {
        match next_after(at.as_ref())? {
            // Past the lane served last on the second pass: every lane has been asked.
            Some(lane) if wrapped && served_last.is_some_and(|last| &lane > last) => {
                return Ok(None);
            }
            Some(lane) => {
                if admit(&lane)? {
                    return Ok(Some(lane));
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
                Ok(ready.contains(&lane.as_str()))
            },
        )
        .unwrap();
        (picked.map(String::from), asked)
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
    fn a_lane_starts_only_with_a_due_log_and_a_free_slot() {
        let now = 1_000;
        let cases = [
            // (due at, in flight, concurrency, may start)
            (Some(now), 0, 1, true),
            (Some(now - 5), 0, 1, true),
            (Some(now + 1), 0, 1, false),
            (None, 0, 1, false),
            (Some(now), 1, 1, false),
            (Some(now), 1, 2, true),
            (Some(now), 2, 2, false),
        ];
        for (due_at, in_flight, concurrency, expected) in cases {
            let lane = LaneState { due_at, in_flight };
            assert_eq!(
                may_start(&lane, concurrency, now),
                expected,
                "{lane:?} with concurrency {concurrency}"
            );
        }
    }
}
