//! Bulk replay: after fixing what made orders fail (a mapping, a token), queue every failed
//! order of a business again, as a manual sync of each would. It only adds `pending` create
//! logs to the outbox, in one transaction: the integration's lane paces them like any push (so
//! the POS is never flooded), and an order already on its way is skipped (so it reaches the POS
//! once, even when two replays race). Which orders qualify is a pure decision ([`verdict`]), and
//! so is how many one replay takes ([`take`]): at most [`MAX_ORDERS`], so one request's
//! transaction and the lane's backlog it makes stay bounded.

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::businesses::owned_business;
use super::integrations::active_integration_of_business;
use super::sync_logs::{self, SyncLog};
use crate::domain::{BusinessId, Millis, OrderId, OrderStatus, SyncAction, SyncStatus};
use crate::{Error, Result};

/// Without any filter, a replay takes the orders that failed in this many last milliseconds
/// (7 days).
pub const DEFAULT_WINDOW: Millis = 7 * 24 * 60 * 60 * 1000;

/// The most orders one replay queues: as many as `order_ids` may name. At the default lane
/// concurrency of 1 and a ~50 ms POS they drain in under a minute, the longest a new order of
/// the restaurant then waits behind them.
pub const MAX_ORDERS: usize = 500;

/// Which failed orders to replay (validated).
#[derive(Debug, Clone, Default)]
pub struct ReplayFilter {
    /// Failed at or after this time.
    pub since: Option<Millis>,
    /// Failed before this time.
    pub until: Option<Millis>,
    /// Only these orders (each one that does not qualify is skipped with its reason).
    pub order_ids: Option<Vec<OrderId>>,
    /// Only failures whose error contains this (case-insensitive).
    pub error_contains: Option<String>,
}

impl ReplayFilter {
    /// The failure window `[since, until)`: as given, or the last [`DEFAULT_WINDOW`] when no
    /// filter at all is given.
    pub fn window(&self, now: Millis) -> (Option<Millis>, Option<Millis>) {
        let unfiltered = self.since.is_none()
            && self.until.is_none()
            && self.order_ids.is_none()
            && self.error_contains.is_none();
        if unfiltered {
            (Some(now.saturating_sub(DEFAULT_WINDOW)), None)
        } else {
            (self.since, self.until)
        }
    }
}

/// What the store knows of one order, for [`verdict`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// `None`: not an order of this business.
    pub order_status: Option<OrderStatus>,
    /// The order's latest create log: its status, when it ended, and its error.
    pub latest: Option<(SyncStatus, Option<Millis>, Option<String>)>,
    /// Some create log of the order succeeded: the POS has it.
    pub in_pos: bool,
}

/// Why an order was not replayed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Skip {
    NotOurs,
    Canceled,
    InPos,
    OnItsWay(SyncStatus),
    NeverPushed,
    NotMatching,
}

impl Skip {
    /// The reason, in words for the seller.
    pub fn reason(&self) -> String {
        match self {
            Skip::NotOurs => "not an order of this business".into(),
            Skip::Canceled => "the order is canceled; a canceled order is not pushed".into(),
            Skip::InPos => "the order is already in the POS".into(),
            Skip::OnItsWay(status) => {
                format!("its push is already on its way ({})", status.as_str())
            }
            Skip::NeverPushed => {
                "it was never pushed; push it with POST /api/v1/pos/sync/{orderId}".into()
            }
            Skip::NotMatching => "its failure does not match the filters".into(),
        }
    }
}

/// Whether `c` is replayed under `filter` at `now`. Pure.
pub fn verdict(c: &Candidate, filter: &ReplayFilter, now: Millis) -> Result<(), Skip> {
    let status = c.order_status.ok_or(Skip::NotOurs)?;
    if status == OrderStatus::Canceled {
        return Err(Skip::Canceled);
    }
    if c.in_pos {
        return Err(Skip::InPos);
    }
    let (log_status, failed_at, error) = c.latest.as_ref().ok_or(Skip::NeverPushed)?;
    if *log_status != SyncStatus::Failed {
        return Err(Skip::OnItsWay(*log_status));
    }
    let (since, until) = filter.window(now);
    let at = failed_at.unwrap_or(Millis::MIN);
    let in_window = since.is_none_or(|s| at >= s) && until.is_none_or(|u| at < u);
    let says = filter.error_contains.as_ref().is_none_or(|needle| {
        error
            .as_deref()
            .is_some_and(|e| e.to_lowercase().contains(&needle.to_lowercase()))
    });
    if in_window && says {
        Ok(())
    } else {
        Err(Skip::NotMatching)
    }
}

/// What a replay did: the logs it queued and the orders it skipped, with why.
#[derive(Debug, Clone)]
pub struct Replayed {
    pub queued: Vec<SyncLog>,
    pub skipped: Vec<(OrderId, Skip)>,
    /// `limit` stopped it with matching orders left for another replay.
    pub more: bool,
}

/// Which orders one replay queues, from the verdicts in oldest-first order. Pure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    /// The orders to queue, oldest first.
    pub take: Vec<OrderId>,
    /// The orders skipped before the batch was full, with why.
    pub skipped: Vec<(OrderId, Skip)>,
    /// Matching orders are left beyond the batch (looked at no further).
    pub more: bool,
}

/// The batch of a replay: with a `limit` (1 to [`MAX_ORDERS`]), the first `limit` orders that
/// qualify and whether more do; without one, every order that qualifies, or `None` when more
/// than [`MAX_ORDERS`] do (the replay is refused whole). Stops at the first order past the
/// batch, so a wide window costs at most one look beyond it. Pure.
pub fn take(
    verdicts: impl IntoIterator<Item = (OrderId, Result<(), Skip>)>,
    limit: Option<usize>,
) -> Option<Batch> {
    let cap = limit.unwrap_or(MAX_ORDERS).min(MAX_ORDERS);
    let mut batch = Batch {
        take: Vec::new(),
        skipped: Vec::new(),
        more: false,
    };
    for (id, verdict) in verdicts {
        match verdict {
            Ok(()) if batch.take.len() == cap => {
                batch.more = true;
                break;
            }
            Ok(()) => batch.take.push(id),
            Err(skip) => batch.skipped.push((id, skip)),
        }
    }
    if batch.more && limit.is_none() {
        return None;
    }
    Some(batch)
}

/// The refusal of a replay without `limit` that matches more than [`MAX_ORDERS`] orders.
fn too_many(failed_in_window: usize) -> Error {
    Error::Validation(format!(
        "limit: more than {MAX_ORDERS} failed orders match ({failed_in_window} failed in the \
         window) and one replay sends at most {MAX_ORDERS}; nothing was queued. Send them in \
         batches with \"limit\": {MAX_ORDERS} (oldest first; replay again while the answer says \
         \"more\": true), or narrow since/until"
    ))
}

/// The orders of the business whose latest create log failed in `[since, until)`, oldest
/// failure first: an order replayed and failing again moves to the back, so replaying in
/// batches (`limit`) works through every order even while some keep failing.
fn failed_orders(
    conn: &Connection,
    business_id: &BusinessId,
    since: Option<Millis>,
    until: Option<Millis>,
) -> Result<Vec<OrderId>> {
    let mut stmt = conn.prepare_cached(
        "SELECT l.order_id FROM sync_logs l INDEXED BY sync_logs_history_by_status
         WHERE l.business_id = ?1 AND l.status = 'failed' AND l.action = 'create'
           AND (?2 IS NULL OR l.completed_at >= ?2) AND (?3 IS NULL OR l.completed_at < ?3)
           AND NOT EXISTS (SELECT 1 FROM sync_logs n
                WHERE n.order_id = l.order_id AND n.action = 'create'
                  AND (n.created_at, n.id) > (l.created_at, l.id))
         ORDER BY l.completed_at, l.created_at, l.id",
    )?;
    let ids = stmt
        .query_map(params![business_id, since, until], |r| r.get(0))?
        .collect::<rusqlite::Result<Vec<OrderId>>>()?;
    Ok(ids)
}

/// What the store knows of one order of the business.
fn candidate(conn: &Connection, business_id: &BusinessId, order_id: &OrderId) -> Result<Candidate> {
    let order_status: Option<OrderStatus> = conn
        .prepare_cached("SELECT status FROM orders WHERE id = ?1 AND business_id = ?2")?
        .query_row(params![order_id, business_id], |r| r.get(0))
        .optional()?;
    if order_status.is_none() {
        return Ok(Candidate {
            order_status,
            latest: None,
            in_pos: false,
        });
    }
    let latest = sync_logs::latest_log_of_order(conn, order_id, SyncAction::Create)?
        .map(|l| (l.status, l.completed_at, l.error_message));
    let in_pos = conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM sync_logs
             WHERE order_id = ?1 AND action = 'create' AND status = 'success')",
        )?
        .query_row([order_id], |r| r.get(0))?;
    Ok(Candidate {
        order_status,
        latest,
        in_pos,
    })
}

/// Replay the seller's failed orders of `business_id` that match `filter`, at most `limit` of
/// them (see [`take`]): a new create log for each, due now (or when a rate-limit pause ends).
/// `NotFound` for a foreign business; `Conflict` without an active integration; `Validation`,
/// with nothing written, when more than [`MAX_ORDERS`] match and no `limit` is given.
pub fn replay(
    tx: &Transaction<'_>,
    seller_id: &str,
    business_id: &BusinessId,
    filter: &ReplayFilter,
    limit: Option<usize>,
    max_retries: i64,
    now: Millis,
) -> Result<Replayed> {
    let business = owned_business(tx, seller_id, business_id)?;
    let integration = active_integration_of_business(tx, &business.id)?;
    let ids = match &filter.order_ids {
        Some(ids) => {
            let mut seen = std::collections::HashSet::new();
            ids.iter().filter(|id| seen.insert(*id)).cloned().collect()
        }
        None => {
            let (since, until) = filter.window(now);
            failed_orders(tx, &business.id, since, until)?
        }
    };
    let looked_at = ids.len();
    // Verdicts are read lazily, so `take` stops reading at the first order past the batch;
    // nothing is written until the whole batch is known.
    let mut failed = None;
    let verdicts = ids
        .into_iter()
        .map_while(|id| match candidate(tx, &business.id, &id) {
            Ok(c) => Some((id, verdict(&c, filter, now))),
            Err(e) => {
                failed = Some(e);
                None
            }
        });
    let batch = take(verdicts, limit);
    if let Some(e) = failed {
        return Err(e);
    }
    let batch = batch.ok_or_else(|| too_many(looked_at))?;
    let queued = batch
        .take
        .iter()
        .map(|id| sync_logs::insert_log(tx, id, &integration, max_retries, now))
        .collect::<Result<Vec<_>>>()?;
    Ok(Replayed {
        queued,
        skipped: batch.skipped,
        more: batch.more,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Millis = 1_800_000_000_000;
    const HOUR: Millis = 3_600_000;

    fn failed(at: Millis, error: &str) -> Candidate {
        Candidate {
            order_status: Some(OrderStatus::Open),
            latest: Some((SyncStatus::Failed, Some(at), Some(error.into()))),
            in_pos: false,
        }
    }

    #[test]
    fn which_orders_a_replay_takes() {
        let recent = failed(NOW - HOUR, "Square answered HTTP 400: INVALID_VALUE item");
        let old = failed(NOW - 8 * 24 * HOUR, "timeout");
        let none = ReplayFilter::default();
        let since = |s| ReplayFilter {
            since: Some(s),
            ..ReplayFilter::default()
        };
        let error = |e: &str| ReplayFilter {
            error_contains: Some(e.into()),
            ..ReplayFilter::default()
        };
        let ids = ReplayFilter {
            order_ids: Some(vec![]),
            ..ReplayFilter::default()
        };
        let canceled = Candidate {
            order_status: Some(OrderStatus::Canceled),
            ..recent.clone()
        };
        let in_pos = Candidate {
            in_pos: true,
            ..recent.clone()
        };
        let retrying = Candidate {
            latest: Some((SyncStatus::Retry, None, None)),
            ..recent.clone()
        };
        let never = Candidate {
            latest: None,
            ..recent.clone()
        };
        let foreign = Candidate {
            order_status: None,
            ..recent.clone()
        };
        let cases: Vec<(&str, &Candidate, ReplayFilter, Result<(), Skip>)> = vec![
            ("no filter: the last 7 days", &recent, none.clone(), Ok(())),
            (
                "no filter: older is left",
                &old,
                none.clone(),
                Err(Skip::NotMatching),
            ),
            ("ids alone: no window", &old, ids.clone(), Ok(())),
            ("since", &old, since(NOW - 9 * 24 * HOUR), Ok(())),
            (
                "since, later",
                &old,
                since(NOW - 2 * HOUR),
                Err(Skip::NotMatching),
            ),
            ("error, any case", &recent, error("invalid_value"), Ok(())),
            (
                "error elsewhere",
                &recent,
                error("timeout"),
                Err(Skip::NotMatching),
            ),
            ("canceled", &canceled, ids.clone(), Err(Skip::Canceled)),
            ("already in the POS", &in_pos, ids.clone(), Err(Skip::InPos)),
            (
                "on its way",
                &retrying,
                ids.clone(),
                Err(Skip::OnItsWay(SyncStatus::Retry)),
            ),
            ("never pushed", &never, ids.clone(), Err(Skip::NeverPushed)),
            (
                "another business's",
                &foreign,
                ids.clone(),
                Err(Skip::NotOurs),
            ),
        ];
        for (name, candidate, filter, want) in cases {
            assert_eq!(verdict(candidate, &filter, NOW), want, "{name}");
        }
        let until = ReplayFilter {
            until: Some(NOW - HOUR),
            ..ReplayFilter::default()
        };
        assert_eq!(
            verdict(&recent, &until, NOW),
            Err(Skip::NotMatching),
            "until is exclusive"
        );
    }

    #[test]
    fn how_many_one_replay_takes() {
        let id = |n: usize| OrderId::from(uuid::Uuid::from_u128(n as u128));
        // `n` orders that qualify, with one canceled order first.
        let orders = |n: usize| {
            std::iter::once((id(0), Err(Skip::Canceled))).chain((1..=n).map(|i| (id(i), Ok(()))))
        };
        let ids = |range: std::ops::RangeInclusive<usize>| range.map(id).collect::<Vec<_>>();
        let skipped = vec![(id(0), Skip::Canceled)];
        let cases: Vec<(&str, usize, Option<usize>, Option<Batch>)> = vec![
            (
                "a few, no limit: all",
                3,
                None,
                Some(Batch {
                    take: ids(1..=3),
                    skipped: skipped.clone(),
                    more: false,
                }),
            ),
            (
                "exactly the most, no limit: all",
                MAX_ORDERS,
                None,
                Some(Batch {
                    take: ids(1..=MAX_ORDERS),
                    skipped: skipped.clone(),
                    more: false,
                }),
            ),
            (
                "one over the most, no limit: refused",
                MAX_ORDERS + 1,
                None,
                None,
            ),
            ("far over, no limit: refused", 5 * MAX_ORDERS, None, None),
            (
                "over, limit: the oldest, and more",
                MAX_ORDERS + 1,
                Some(MAX_ORDERS),
                Some(Batch {
                    take: ids(1..=MAX_ORDERS),
                    skipped: skipped.clone(),
                    more: true,
                }),
            ),
            (
                "a small limit",
                3,
                Some(2),
                Some(Batch {
                    take: ids(1..=2),
                    skipped: skipped.clone(),
                    more: true,
                }),
            ),
            (
                "a limit that is not reached",
                2,
                Some(2),
                Some(Batch {
                    take: ids(1..=2),
                    skipped: skipped.clone(),
                    more: false,
                }),
            ),
            (
                "nothing qualifies",
                0,
                None,
                Some(Batch {
                    take: vec![],
                    skipped: skipped.clone(),
                    more: false,
                }),
            ),
        ];
        for (name, n, limit, want) in cases {
            assert_eq!(take(orders(n), limit), want, "{name}");
        }
        // Past the batch nothing more is read: an endless window costs one look beyond it.
        let endless = (1..).map(|i| (id(i), Ok(())));
        assert_eq!(take(endless, None), None);
        let endless = (1..).map(|i| (id(i), Ok(())));
        assert_eq!(take(endless, Some(2)).map(|b| b.take), Some(ids(1..=2)));
    }
}
