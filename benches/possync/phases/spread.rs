//! 200 orders/s spread over 100 businesses (a lane each) at a 20 ms POS, `--durability full`:
//! created → POS received; then the same rate to one business alone, which its lane bounds
//! (with `--lane-concurrency 1` one push at a time: at most 1000/20 = 50 orders/s).

use std::sync::atomic::AtomicBool;
use std::time::Duration;

use serde_json::json;

use super::Phase;
use crate::harness::api::{Shop, agent};
use crate::harness::driver::{Driven, Plan, drive_spread};
use crate::harness::procfs::loadavg;
use crate::harness::report::{Goal, Report};
use crate::harness::service::lane_flags;
use crate::harness::{Bench, Shared};

/// The spread run.
pub const PHASE: Phase = Phase {
    name: "spread",
    groups: &[],
    about: "200 orders/s over 100 businesses at a 20 ms POS (created → POS received), and one business alone",
    run,
};

const GOAL_P50: Goal = Goal::at_most(3.0, "ms");
const GOAL_P99: Goal = Goal::at_most(10.0, "ms");

/// The POS latency of this phase, ms.
const POS_MS: u64 = 20;

fn run(bench: &Bench, _shared: &mut Shared, report: &mut Report) {
    let (cfg, mock) = (&bench.cfg, &bench.mock);
    let lanes = lane_flags();
    let mut flags = vec!["--sync-workers", "16", "--durability", "full"];
    flags.extend(lanes.iter().map(String::as_str));
    let mut svc = bench.serve("spread", &flags);
    let shops = Shop::set_up(&svc.api()).and_more(cfg.spread_businesses);
    mock.set_latency(POS_MS);
    // One order through first: connections to the POS are open before the clock runs.
    drive_spread(&shops[..1], Plan::Rate { rate: 10.0, count: 1 }, 1, &AtomicBool::new(false));
    let plan = Plan::Rate {
        rate: cfg.rate,
        count: (cfg.rate * cfg.rate_secs) as usize,
    };
    let load = loadavg();
    let cpu0 = svc.cpu_secs();
    let spread = at_rate(bench, &shops, plan);
    let cpu = svc.cpu_secs() - cpu0;
    let alone = at_rate(bench, &shops[..1], plan);
    let (received, answered) = spread.to_pos(mock);
    let (alone_received, _) = alone.to_pos(mock);
    let intake = spread.intake();
    let lanes_text = if lanes.is_empty() { "no lanes in this build" } else { "lane concurrency 1" };
    println!(
        "spread: {} orders at {} /s over {} businesses (POS {POS_MS} ms, 16 workers, {lanes_text}), load {load:.2}: intake {}; created → POS received {}; answered {}; possync CPU {cpu:.1} s",
        spread.acked().count(),
        cfg.rate,
        shops.len(),
        intake.short(),
        received.short(),
        answered.short(),
    );
    println!(
        "  one business alone at {} /s: created → POS received {}",
        cfg.rate,
        alone_received.short()
    );
    report.put(
        "spread",
        json!({
            "businesses": shops.len(), "rate": cfg.rate, "pos_latency_ms": POS_MS,
            "sync_workers": 16, "lane_flags": lanes, "durability": "full", "loadavg": load,
            "orders": spread.acked().count(), "errors": spread.errors(),
            "intake_ms": intake.to_json(), "created_to_pos_received_ms": received.to_json(),
            "created_to_pos_answered_ms": answered.to_json(), "possync_cpu_s": cpu,
            "one_business": {"orders": alone.acked().count(),
                "created_to_pos_received_ms": alone_received.to_json()},
        }),
    );
    let sec = "order → POS, 100 businesses";
    report.goal(
        sec,
        format!(
            "created → POS received p50 ({} /s, POS {POS_MS} ms)",
            cfg.rate
        ),
        GOAL_P50,
        received.p50,
        format!("{:.2} ms", received.p50),
    );
    report.goal(
        sec,
        "created → POS received p99",
        GOAL_P99,
        received.p99,
        format!("{:.2} ms", received.p99),
    );
    report.info(
        sec,
        format!("one business alone at {} /s: received p50 / p99", cfg.rate),
        format!("{:.1} / {:.1} ms", alone_received.p50, alone_received.p99),
    );
    svc.stop();
}

/// `plan` over `shops`, then up to 2 min for the POS to have every order.
fn at_rate(bench: &Bench, shops: &[Shop], plan: Plan) -> Driven {
    let driven = drive_spread(shops, plan, bench.cfg.clients, &AtomicBool::new(false));
    let acked = driven.acked_ids();
    if bench
        .mock
        .wait_answered(&acked, Duration::from_secs(120))
        .is_none()
    {
        let done = shops[0].stats(&agent()).map_or(0, |s| s.success);
        println!("  not every order reached the POS within 2 min ({done} synced in the first business)");
    }
    driven
}
