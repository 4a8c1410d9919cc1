//! A POS that is down (503 at once) while 1,000 orders queue for it, then comes back,
//! `--durability full`, lane concurrency 1, `--breaker-after 5`. Time is scaled: the retry
//! interval is 1 s instead of 5 min, the outage lasts 20 intervals (the 10 minutes at
//! the default interval are 2; more intervals make the per-interval count sharper) and
//! `--max-retries 100` keeps the guide's window (max retries × interval) well past the outage,
//! as one hour is past 10 minutes. While open the lane must send at most one request per
//! interval; after the POS returns every order must reach it once, in the order it was placed.

use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use serde_json::json;

use super::Phase;
use crate::harness::api::{LOCATION, Shop};
use crate::harness::clock::now_ms;
use crate::harness::driver::{Plan, drive_spread};
use crate::harness::procfs::loadavg;
use crate::harness::report::{Goal, Report};
use crate::harness::{Bench, Shared};
use crate::mock_pos::Fault;

/// The breaker run.
pub const PHASE: Phase = Phase {
    name: "breaker",
    groups: &[],
    about: "a POS down with 1,000 queued (1 s retry interval): requests per interval, then each order once, in order",
    run,
};

const GOAL_PER_INTERVAL: Goal = Goal::at_most(1.0, "requests");
const GOAL_EXACTLY_ONCE: Goal = Goal::at_most(0.0, "orders");
const GOAL_OUT_OF_ORDER: Goal = Goal::at_most(0.0, "orders");

const INTERVAL_S: f64 = 1.0;
const OUTAGE_INTERVALS: f64 = 20.0;
const BREAKER_AFTER: usize = 5;
const POS_MS: u64 = 5;

fn run(bench: &Bench, _shared: &mut Shared, report: &mut Report) {
    let (cfg, mock) = (&bench.cfg, &bench.mock);
    let flags = [
        "--sync-workers",
        "16",
        "--durability",
        "full",
        "--lane-concurrency",
        "1",
        "--breaker-after",
        "5",
        "--retry-interval",
        "1s",
        "--max-retries",
        "100",
    ];
    let mut svc = bench.serve("breaker", &flags);
    let shop = Shop::set_up(&svc.api());
    mock.set_latency(POS_MS);
    mock.set_fault(LOCATION, Some(Fault::Down));
    let down_at = now_ms();
    let started = Instant::now();
    let count = if cfg.quick { 200 } else { 1000 };
    // One client: the orders are created in the order they are sent.
    let queued = drive_spread(
        std::slice::from_ref(&shop),
        Plan::Max {
            count,
            within: Duration::from_secs(120),
        },
        1,
        &AtomicBool::new(false),
    );
    let load = loadavg();
    let outage = Duration::from_secs_f64(INTERVAL_S * OUTAGE_INTERVALS);
    std::thread::sleep(outage.saturating_sub(started.elapsed()));
    let up_at = now_ms();
    mock.set_fault(LOCATION, None);
    let ids = queued.acked_ids();
    let delivered = mock.wait_answered(&ids, Duration::from_secs(180));
    let drained_s = (now_ms() - up_at) / 1000.0;
    svc.stop();

    let state = mock.lock();
    let arrivals = state
        .locations
        .get(LOCATION)
        .map(|l| l.arrivals_ms.clone())
        .unwrap_or_default();
    let while_down: Vec<f64> = arrivals
        .iter()
        .copied()
        .filter(|t| *t >= down_at && *t < up_at)
        .collect();
    // Once the breaker opened (the 5th failure), the requests per interval until the POS
    // returned.
    let opened_at = while_down.get(BREAKER_AFTER - 1).copied().unwrap_or(up_at);
    let after_open = while_down.iter().filter(|t| **t > opened_at).count();
    let open_intervals = ((up_at - opened_at) / 1000.0 / INTERVAL_S).max(1e-9);
    let per_interval = after_open as f64 / open_intervals;
    let not_once = ids
        .iter()
        .filter(|id| state.created.get(*id) != Some(&1) || state.paid.get(*id) != Some(&1))
        .count();
    // Sent order = creation order (one client); each order's first successful CreateOrder.
    let first_ok: Vec<f64> = ids
        .iter()
        .map(|id| {
            state
                .arrivals
                .get(id)
                .and_then(|v| v.iter().find(|a| !a.failed))
                .map_or(f64::INFINITY, |a| a.at_ms)
        })
        .collect();
    let out_of_order = first_ok.windows(2).filter(|w| w[1] < w[0]).count();
    drop(state);
    println!(
        "breaker: {} orders queued for a POS down {:.0} s (retry interval {INTERVAL_S} s, breaker after {BREAKER_AFTER}), load {load:.2}",
        ids.len(),
        (up_at - down_at) / 1000.0
    );
    println!(
        "  while down: {} requests ({} to open the breaker, then {after_open} over {open_intervals:.1} intervals = {per_interval:.2} per interval)",
        while_down.len(),
        while_down.len().min(BREAKER_AFTER)
    );
    println!(
        "  after it returned: all delivered {} in {drained_s:.1} s; not exactly once: {not_once}; out of order: {out_of_order}",
        delivered.is_some()
    );
    report.put(
        "breaker",
        json!({
            "queued": ids.len(), "retry_interval_s": INTERVAL_S, "outage_s": (up_at - down_at) / 1000.0,
            "breaker_after": BREAKER_AFTER, "durability": "full", "loadavg": load,
            "requests_while_down": while_down.len(), "requests_after_open": after_open,
            "open_intervals": open_intervals, "requests_per_interval": per_interval,
            "all_delivered": delivered.is_some(), "drain_s": drained_s,
            "not_exactly_once": not_once, "out_of_order": out_of_order,
        }),
    );
    let sec = "breaker: POS down, 1,000 queued";
    report.goal(
        sec,
        "requests per retry interval while open",
        GOAL_PER_INTERVAL,
        per_interval,
        format!("{per_interval:.2} ({after_open} in {open_intervals:.1} intervals)"),
    );
    report.goal(
        sec,
        "orders not delivered exactly once after it returned",
        GOAL_EXACTLY_ONCE,
        if delivered.is_some() { not_once as f64 } else { ids.len() as f64 },
        format!("{not_once} of {} (drained in {drained_s:.1} s)", ids.len()),
    );
    report.goal(
        sec,
        "orders reaching the POS out of creation order",
        GOAL_OUT_OF_ORDER,
        out_of_order as f64,
        format!("{out_of_order}"),
    );
}
