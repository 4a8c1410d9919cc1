//! Per durability (`full`, `normal`): a backlog made at the maximum intake rate (intake
//! throughput, one worker held by the mock), then drained by `--sync-workers 64` against a
//! 50 ms POS (deliveries/s, CPU, connections, RSS).

use std::time::Duration;

use serde_json::json;

use super::Phase;
use crate::harness::api::{Shop, Stats, agent};
use crate::harness::clock::{now_ms, wait_until};
use crate::harness::driver::{Plan, drive};
use crate::harness::procfs::{RssSampler, machine_busy_secs, mb, own_cpu_secs};
use crate::harness::report::{Goal, Report};
use crate::harness::{Bench, Shared, Stocked};

/// Intake at the maximum rate and deliveries/s.
pub const PHASE: Phase = Phase {
    name: "throughput",
    groups: &[],
    about: "max-rate intake, then a backlog drained by 64 workers (deliveries/s), per durability",
    run,
};

const GOAL_DELIVERIES: Goal = Goal::at_least(1000.0, "/s");
/// Issue 16: 3x the Node + Redis peer on this machine, with `--durability full`.
const GOAL_INTAKE: Goal = Goal::at_least(6000.0, "/s");
const GOAL_INTAKE_CPU: Goal = Goal::at_most(0.25, "ms");

/// How long a held mock request sleeps (the backlog phase keeps the one worker busy).
const HOLD_MS: u64 = 600_000;

fn run(bench: &Bench, shared: &mut Shared, report: &mut Report) {
    shared.stocked = Some(backlog_and_drain(bench, "full", report));
    backlog_and_drain(bench, "normal", report);
}

/// One durability's backlog and drain; its data directory, for the history phase.
fn backlog_and_drain(bench: &Bench, durability: &str, report: &mut Report) -> Stocked {
    let (cfg, mock) = (&bench.cfg, &bench.mock);
    let mut svc = bench.serve(
        &format!("throughput-{durability}"),
        &[
            "--sync-workers",
            "1",
            "--provider-timeout",
            "900s",
            "--durability",
            durability,
        ],
    );
    let shop = Shop::set_up(&svc.api());
    mock.set_latency(HOLD_MS);

    // Intake at the maximum rate: only the HTTP handlers write (the one worker is held).
    let cpu0 = svc.cpu_secs();
    let driven = drive(
        &shop,
        Plan::Max {
            count: cfg.throughput_orders,
            within: Duration::from_secs(30),
        },
        cfg.clients,
    );
    let intake_cpu = svc.cpu_secs() - cpu0;
    let intake = driven.intake();
    let acked = driven.acked_ids();
    svc.kill9();

    // Drain with many workers.
    mock.set_latency(cfg.throughput_pos_latency_ms);
    mock.reset_connections();
    let workers = cfg.throughput_workers.to_string();
    // One business: the lane gets every worker (at one in flight it would drain 10 a second).
    let flags = bench.flags(&[
        "--sync-workers",
        &workers,
        "--lane-concurrency",
        &workers,
        "--durability",
        durability,
    ]);
    let restart_ms = now_ms();
    let (busy0, bench0) = (machine_busy_secs(), own_cpu_secs());
    let mut svc = svc.respawn(&flags);
    let sampler = RssSampler::start(svc.pid());
    svc.wait_ready();
    let agent = agent();
    let mut last = Stats::default();
    let drained = wait_until(Duration::from_secs(300), Duration::from_millis(10), || {
        shop.stats(&agent).is_some_and(|s| {
            last = s.clone();
            s.success + s.failed == s.total
        })
    });
    let (total, failed) = (last.total, last.failed);
    let done_ms = now_ms();
    let cpu = svc.cpu_secs();
    let busy = machine_busy_secs() - busy0;
    let bench_cpu = own_cpu_secs() - bench0;
    let wall = (done_ms - restart_ms) / 1000.0;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    let loaded = sampler.finish();
    let (first, last, delivered, connections, duplicated) = {
        let state = mock.lock();
        let mut first = f64::INFINITY;
        let mut last: f64 = 0.0;
        let mut delivered = 0;
        for id in &acked {
            if let Some(a) = state
                .arrivals
                .get(id)
                .and_then(|v| v.iter().find(|a| a.at_ms >= restart_ms))
            {
                first = first.min(a.at_ms);
            }
            if let Some(t) = state.answered.get(id) {
                delivered += 1;
                last = last.max(*t);
            }
        }
        let duplicated = acked
            .iter()
            .filter(|id| state.created.get(*id).is_some_and(|n| *n > 1))
            .count();
        (first, last, delivered, state.remotes.len(), duplicated)
    };
    let committed_rate = if drained.is_some() {
        total as f64 / ((done_ms - first) / 1000.0)
    } else {
        0.0
    };
    let pos_rate = delivered as f64 / ((last - first) / 1000.0).max(1e-9);
    println!(
        "durability {durability}: max-rate intake {} orders in {:.2} s = {:.1} orders/s ({} clients), {} ; possync CPU {:.1} s",
        acked.len(),
        driven.secs,
        driven.throughput(),
        cfg.clients,
        intake.short(),
        intake_cpu
    );
    println!(
        "  drain with {workers} workers vs {} ms POS: {total} logs done ({failed} failed) in {:.2} s after the first push = {committed_rate:.0} deliveries/s (POS side {pos_rate:.0}/s); possync CPU {cpu:.1} s ({:.2} ms CPU per order); {connections} TCP connections for {delivered} pushes; loaded RSS max {:.1} MiB; {duplicated} duplicated",
        cfg.throughput_pos_latency_ms,
        (done_ms - first) / 1000.0,
        cpu * 1000.0 / total.max(1) as f64,
        mb(loaded)
    );
    println!(
        "  CPU from restart to drained ({wall:.2} s): machine {:.0} % of {cores} cores busy; possync {:.2} cores, benchmark (mock + clients) {:.2} cores, other processes {:.2} cores",
        100.0 * busy / (wall * cores),
        cpu / wall,
        bench_cpu / wall,
        (busy - cpu - bench_cpu).max(0.0) / wall
    );
    report.put(
        &format!("throughput_{durability}"),
        json!({
            "durability": durability, "clients": cfg.clients,
            "intake_orders": acked.len(), "intake_errors": driven.errors(),
            "intake_per_s": driven.throughput(), "intake_ms": intake.to_json(),
            "intake_possync_cpu_s": intake_cpu,
            "intake_cpu_ms_per_order": intake_cpu * 1000.0 / acked.len().max(1) as f64,
            "loadavg": crate::harness::procfs::loadavg(),
            "sync_workers": cfg.throughput_workers, "pos_latency_ms": cfg.throughput_pos_latency_ms,
            "logs": total, "failed": failed, "drained": drained.is_some(),
            "deliveries_per_s": committed_rate, "pos_side_deliveries_per_s": pos_rate,
            "drain_s": (done_ms - first) / 1000.0, "drain_possync_cpu_s": cpu,
            "drain_bench_cpu_s": bench_cpu, "drain_machine_busy_cpu_s": busy,
            "drain_wall_s": wall,
            "tcp_connections_to_pos": connections, "pushes": delivered,
            "loaded_rss_max_kib": loaded, "duplicated": duplicated,
        }),
    );
    let intake_text = format!(
        "{:.0} orders/s; p50 {:.1} / p95 {:.1} / p99 {:.1} ms",
        driven.throughput(),
        intake.p50,
        intake.p95,
        intake.p99
    );
    let label = format!("max rate, durability {durability}, {} clients", cfg.clients);
    let cpu_per_order = intake_cpu * 1000.0 / acked.len().max(1) as f64;
    if durability == "full" {
        report.goal(
            "intake (POST /orders)",
            label,
            GOAL_INTAKE,
            driven.throughput(),
            intake_text,
        );
        report.goal(
            "intake (POST /orders)",
            "possync CPU per order at the max rate (full)",
            GOAL_INTAKE_CPU,
            cpu_per_order,
            format!("{cpu_per_order:.3} ms"),
        );
    } else {
        report.info("intake (POST /orders)", label, intake_text);
    }
    report.goal(
        "delivery throughput",
        format!(
            "deliveries/s, {workers} workers, {} ms POS, durability {durability}",
            cfg.throughput_pos_latency_ms
        ),
        GOAL_DELIVERIES,
        committed_rate,
        format!("{committed_rate:.0} /s"),
    );
    report.info(
        "footprint",
        format!("RSS loaded max ({workers} workers, drain, {durability})"),
        format!("{:.1} MiB", mb(loaded)),
    );
    Stocked::stop(svc, shop)
}
