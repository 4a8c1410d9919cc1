//! Deliveries across 1,000 businesses (a lane each, `--lane-concurrency 1` when the build has
//! lanes) against a 50 ms POS, `--durability full`: a backlog made at the maximum intake rate
//! (the one worker held by the mock), then `--sync-workers 256` drain it while 1,000 orders/s
//! keep coming. Reports deliveries/s while the backlog lasts and whether the backlog grows.

use std::sync::atomic::AtomicBool;
use std::time::Duration;

use serde_json::json;

use super::Phase;
use crate::harness::api::Shop;
use crate::harness::clock::now_ms;
use crate::harness::driver::{Plan, drive_spread};
use crate::harness::procfs::{cores, loadavg, machine_busy_secs, own_cpu_secs};
use crate::harness::report::{Goal, Report};
use crate::harness::service::lane_flags;
use crate::harness::{Bench, Shared};

/// The fan-out run.
pub const PHASE: Phase = Phase {
    name: "fanout",
    groups: &[],
    about: "a backlog over 1,000 businesses drained by 256 workers (50 ms POS) while 1,000 orders/s keep coming",
    run,
};

const GOAL_DELIVERIES: Goal = Goal::at_least(5000.0, "/s");
/// "The backlog does not grow": at most 1 % of the intake rate, for the noise of the edges.
const GOAL_GROWTH: Goal = Goal::at_most(10.0, "/s");

/// How long a held mock request sleeps (the backlog is made with the one worker held).
const HOLD_MS: u64 = 600_000;
const POS_MS: u64 = 50;
const INTAKE_RATE: f64 = 1000.0;

fn run(bench: &Bench, _shared: &mut Shared, report: &mut Report) {
    let (cfg, mock) = (&bench.cfg, &bench.mock);
    let never = AtomicBool::new(false);
    let held = [
        "--sync-workers",
        "1",
        "--provider-timeout",
        "900s",
        "--durability",
        "full",
    ];
    let mut svc = bench.serve("fanout", &held);
    let shops = Shop::set_up(&svc.api()).and_more(cfg.fanout_businesses);
    mock.set_latency(HOLD_MS);
    let made = drive_spread(
        &shops,
        Plan::Max {
            count: cfg.fanout_backlog,
            within: Duration::from_secs(120),
        },
        cfg.clients,
        &never,
    );
    svc.kill9();
    let backlog = made.acked_ids();

    mock.set_latency(POS_MS);
    mock.reset_connections();
    let lanes = lane_flags();
    let workers = cfg.fanout_workers.to_string();
    let mut extra = vec!["--sync-workers", &workers, "--durability", "full"];
    extra.extend(lanes.iter().map(String::as_str));
    let load = loadavg();
    // Deliveries count from the restart, and so do the CPU figures: the new process's from its
    // start, the bench's and the machine's from just before it.
    let (busy0, bench0) = (machine_busy_secs(), own_cpu_secs());
    let restart_ms = now_ms();
    let mut svc = svc.respawn(&bench.flags(&extra));
    svc.wait_ready();
    let during = drive_spread(
        &shops,
        Plan::Rate {
            rate: INTAKE_RATE,
            count: (INTAKE_RATE * cfg.fanout_secs) as usize,
        },
        cfg.clients,
        &never,
    );
    let intake_end_ms = during.sent.iter().map(|s| s.done_ms).fold(0.0, f64::max);
    let mut all = backlog.clone();
    all.extend(during.acked_ids());
    let drained = mock.wait_answered(&all, Duration::from_secs(180));
    let cpu = svc.cpu_secs();
    let (busy, bench_cpu) = (machine_busy_secs() - busy0, own_cpu_secs() - bench0);
    let wall = (now_ms() - restart_ms) / 1000.0;
    svc.stop();

    // When each order was first answered by the POS (after the restart).
    let (backlog_done, answers) = {
        let state = mock.lock();
        let at = |id: &String| state.answered.get(id).copied().filter(|t| *t >= restart_ms);
        let backlog_done: Vec<f64> = backlog.iter().filter_map(at).collect();
        let mut answers: Vec<f64> = all.iter().filter_map(at).collect();
        answers.sort_by(f64::total_cmp);
        (backlog_done, answers)
    };
    let first = answers.first().copied().unwrap_or(restart_ms);
    let backlog_last = backlog_done.iter().copied().fold(first, f64::max);
    // Deliveries of any order from the first push until the backlog's last one reached the
    // POS: the drain rate while there is a backlog (intake keeps adding to it meanwhile).
    let in_drain = answers.iter().filter(|t| **t <= backlog_last).count();
    let drain_rate = in_drain as f64 / ((backlog_last - first) / 1000.0).max(1e-3);
    // Outstanding orders (taken, not yet at the POS) at bench time `t`.
    let mut taken: Vec<f64> = during.acked().map(|s| s.done_ms).collect();
    taken.sort_by(f64::total_cmp);
    let count_le = |v: &[f64], t: f64| v.partition_point(|x| *x <= t);
    let outstanding =
        |t: f64| (backlog.len() + count_le(&taken, t)) as f64 - count_le(&answers, t) as f64;
    // Once the backlog is gone, does the steady intake pile up? Growth per second over the
    // rest of the intake (or over the whole intake if the backlog outlived it).
    let from = if backlog_last < intake_end_ms { backlog_last } else { first };
    let growth =
        (outstanding(intake_end_ms) - outstanding(from)) / ((intake_end_ms - from) / 1000.0).max(1e-3);
    // What one delivery costs the whole machine: possync's CPU plus the bench's (the mock POS
    // answering both calls, and the load driver's share of intake). The cores / that is the
    // most this box could deliver with the mock and the driver on it.
    let per_delivery = |secs: f64| secs * 1000.0 / answers.len().max(1) as f64;
    let ceiling = cores() as f64 * 1000.0 / (per_delivery(cpu) + per_delivery(bench_cpu)).max(1e-6);
    let lanes_text = if lanes.is_empty() { "no lanes in this build" } else { "lane concurrency 1" };
    println!(
        "fanout: backlog {} orders over {} businesses ({:.0} orders/s made), then {workers} workers vs a {POS_MS} ms POS ({lanes_text}) with {} orders at {INTAKE_RATE} /s coming, load {load:.2}",
        backlog.len(),
        shops.len(),
        made.throughput(),
        during.acked().count(),
    );
    println!(
        "  drain {drain_rate:.0} deliveries/s until the backlog's last order ({:.2} s after the first push); outstanding at the end of intake {:.0}, growth {growth:.1} /s; all delivered: {}; possync CPU {cpu:.1} s ({:.3} ms per delivery); intake {}",
        (backlog_last - first) / 1000.0,
        outstanding(intake_end_ms),
        drained.is_some(),
        cpu * 1000.0 / answers.len().max(1) as f64,
        during.intake().short(),
    );
    println!(
        "  CPU per delivery: possync {:.3} ms, bench (mock POS + driver) {:.3} ms; the machine {:.0} % busy of {} cores over {wall:.1} s; so this box delivers at most {ceiling:.0} /s with the mock and driver on it",
        per_delivery(cpu),
        per_delivery(bench_cpu),
        100.0 * busy / (wall * cores() as f64).max(1e-6),
        cores(),
    );
    report.put(
        "fanout",
        json!({
            "businesses": shops.len(), "backlog": backlog.len(), "backlog_made_per_s": made.throughput(),
            "sync_workers": cfg.fanout_workers, "lane_flags": lanes, "pos_latency_ms": POS_MS,
            "intake_rate": INTAKE_RATE, "intake_orders": during.acked().count(),
            "intake_errors": during.errors(), "intake_ms": during.intake().to_json(),
            "drain_deliveries_per_s": drain_rate, "drain_s": (backlog_last - first) / 1000.0,
            "outstanding_at_intake_end": outstanding(intake_end_ms), "backlog_growth_per_s": growth,
            "all_delivered": drained.is_some(), "possync_cpu_s": cpu, "loadavg": load,
            "bench_cpu_s": bench_cpu, "machine_busy_s": busy, "wall_s": wall,
            "cpu_ceiling_deliveries_per_s": ceiling, "deliveries": answers.len(), "cores": cores(),
            "possync_cpu_ms_per_delivery": per_delivery(cpu),
            "bench_cpu_ms_per_delivery": per_delivery(bench_cpu),
        }),
    );
    let sec = "deliveries, 1,000 businesses";
    report.goal(
        sec,
        format!("deliveries/s draining, {workers} workers, {POS_MS} ms POS, intake {INTAKE_RATE} /s"),
        GOAL_DELIVERIES,
        drain_rate,
        format!("{drain_rate:.0} /s"),
    );
    report.goal(
        sec,
        "backlog growth while intake runs on",
        GOAL_GROWTH,
        growth.max(0.0),
        format!("{growth:.1} /s"),
    );
}
