//! One restaurant's POS hangs (each request held past `--provider-timeout 2s`) with 500 orders
//! queued, while 100 other businesses order at 100/s in total against a 20 ms POS,
//! `--durability full`, 16 workers, lane concurrency 1. The others' created → on the POS must
//! stay within 20 ms over their POS's latency (two calls: CreateOrder and CreatePayment, 2 ×
//! 20 ms), and the hung POS must never see more than the lane concurrency in flight.
//! `--breaker-after 0`: the hung lane keeps trying the whole time (the worst case for the
//! others; with the breaker on it would open after 5 timeouts and send one probe per
//! interval).

use std::sync::atomic::AtomicBool;
use std::time::Duration;

use serde_json::json;

use super::Phase;
use crate::harness::api::{Shop, agent};
use crate::harness::dist::Dist;
use crate::harness::driver::{Plan, drive_spread};
use crate::harness::procfs::loadavg;
use crate::harness::report::{Goal, Report};
use crate::harness::{Bench, Shared};
use crate::mock_pos::Fault;

/// The isolation run.
pub const PHASE: Phase = Phase {
    name: "isolation",
    groups: &[],
    about: "one POS hangs (2 s timeout, 500 queued) while 100 other businesses order at 100/s",
    run,
};

const GOAL_P99_OVER: Goal = Goal::at_most(20.0, "ms");
const GOAL_IN_FLIGHT: Goal = Goal::at_most(1.0, "requests");

const POS_MS: u64 = 20;
const HUNG: &str = "LHUNG0001";
const RATE: f64 = 100.0;
const TIMEOUT_MS: f64 = 2000.0;

fn run(bench: &Bench, _shared: &mut Shared, report: &mut Report) {
    let (cfg, mock) = (&bench.cfg, &bench.mock);
    let never = AtomicBool::new(false);
    let flags = [
        "--sync-workers",
        "16",
        "--durability",
        "full",
        "--provider-timeout",
        "2s",
        "--lane-concurrency",
        "1",
        "--breaker-after",
        "0",
    ];
    let mut svc = bench.serve("isolation", &flags);
    let shops = Shop::set_up(&svc.api()).and_more(cfg.spread_businesses + 1);
    let (hung, others) = shops.split_first().expect("shops");
    hung.connect_square(&agent(), HUNG);
    mock.set_latency(POS_MS);
    mock.set_fault(HUNG, Some(Fault::Hang(Duration::from_secs(3))));
    let queued_count = if cfg.quick { 50 } else { 500 };
    let queued = drive_spread(
        std::slice::from_ref(hung),
        Plan::Max {
            count: queued_count,
            within: Duration::from_secs(60),
        },
        cfg.clients,
        &never,
    );
    // One order per other business first: connections are open before the clock runs.
    drive_spread(
        others,
        Plan::Rate {
            rate: RATE,
            count: others.len(),
        },
        cfg.clients,
        &never,
    );
    let load = loadavg();
    let plan = Plan::Rate {
        rate: RATE,
        count: (RATE * cfg.rate_secs) as usize,
    };
    let driven = drive_spread(others, plan, cfg.clients, &never);
    let delivered = mock.wait_answered(&driven.acked_ids(), Duration::from_secs(120));
    let (received, answered) = driven.to_pos(mock);
    let over = Dist::of(
        driven
            .acked()
            .filter_map(|s| {
                let id = s.order_id.as_ref()?;
                let at = *mock.lock().answered.get(id)?;
                Some(at - s.sent_ms - 2.0 * POS_MS as f64)
            })
            .collect(),
    );
    let (hung_requests, held_at_mock, max_in_flight) = {
        let state = mock.lock();
        let load = state.locations.get(HUNG).cloned().unwrap_or_default();
        // possync holds a request until its 2 s timeout; the mock holds it 3 s, so its own
        // count includes requests possync has already given up on. What possync had in flight
        // is the most arrivals within one timeout (less 50 ms for the send → arrival lag).
        let arrivals = &load.arrivals_ms;
        let window = TIMEOUT_MS - 50.0;
        let most = (0..arrivals.len())
            .map(|i| arrivals[i..].iter().take_while(|t| **t < arrivals[i] + window).count())
            .max()
            .unwrap_or(0);
        (arrivals.len(), load.max_in_flight, most)
    };
    // When the others' slow orders (over 20 ms past the POS latency) were sent, per second.
    let t0 = driven.sent.iter().map(|s| s.sent_ms).fold(f64::INFINITY, f64::min);
    let mut slow_per_s: std::collections::BTreeMap<u64, usize> = Default::default();
    for s in driven.acked() {
        let Some(at) = s.order_id.as_ref().and_then(|id| mock.lock().answered.get(id).copied())
        else {
            continue;
        };
        if at - s.sent_ms - 2.0 * POS_MS as f64 > 20.0 {
            *slow_per_s.entry(((s.sent_ms - t0) / 1000.0) as u64).or_default() += 1;
        }
    }
    mock.set_fault(HUNG, None);
    svc.stop();
    println!(
        "isolation: {} orders queued for a hung POS (held 3 s, timeout 2 s); {} orders at {RATE} /s over {} other businesses (POS {POS_MS} ms, 16 workers, lane concurrency 1), load {load:.2}",
        queued.acked().count(),
        driven.acked().count(),
        others.len()
    );
    println!(
        "  others: created → POS received {}; created → on the POS less 2 × {POS_MS} ms {}; all delivered: {}",
        received.short(),
        over.short(),
        delivered.is_some()
    );
    println!(
        "  hung POS: {hung_requests} requests, at most {max_in_flight} in flight from possync (the mock, holding each 3 s, had {held_at_mock} at once); slow orders by second sent: {slow_per_s:?}"
    );
    report.put(
        "isolation",
        json!({
            "queued_for_hung_pos": queued.acked().count(), "others": others.len(), "rate": RATE,
            "pos_latency_ms": POS_MS, "provider_timeout_s": 2, "sync_workers": 16,
            "lane_concurrency": 1, "durability": "full", "loadavg": load,
            "orders": driven.acked().count(), "errors": driven.errors(),
            "all_delivered": delivered.is_some(),
            "created_to_pos_received_ms": received.to_json(),
            "created_to_pos_answered_ms": answered.to_json(),
            "over_pos_latency_ms": over.to_json(),
            "hung_pos_requests": hung_requests, "hung_pos_max_in_flight": max_in_flight,
            "hung_pos_max_held_by_mock": held_at_mock, "slow_orders_by_second": slow_per_s,
        }),
    );
    let sec = "isolation: one POS hung";
    report.goal(
        sec,
        format!("others' p99 over POS latency (on the POS − 2 × {POS_MS} ms), {RATE} /s"),
        GOAL_P99_OVER,
        over.p99,
        format!("{:.1} ms (p50 {:.1})", over.p99, over.p50),
    );
    report.goal(
        sec,
        "most requests in flight to the hung POS (lane concurrency 1)",
        GOAL_IN_FLIGHT,
        max_in_flight as f64,
        format!("{max_in_flight} ({hung_requests} requests)"),
    );
}
