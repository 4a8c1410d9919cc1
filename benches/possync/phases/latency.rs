//! 200 orders/s on the main instance (`--sync-workers 16`): intake latency, created → POS
//! received and created → on the POS (Square shows an order once CreatePayment is answered),
//! each step's share of it (CreateOrder, CreatePayment), CPU and RSS under load.

use serde_json::json;

use super::Phase;
use crate::harness::dist::Dist;
use crate::harness::procfs::{RssSampler, mb};
use crate::harness::report::{Goal, Report};
use crate::harness::{Bench, Shared};

/// The fixed-rate run.
pub const PHASE: Phase = Phase {
    name: "latency",
    groups: &["main"],
    about: "order → POS latency at 200 orders/s, 16 workers",
    run,
};

const GOAL_E2E_P50: Goal = Goal::at_most(5.0, "ms");
const GOAL_E2E_P99: Goal = Goal::at_most(20.0, "ms");

fn run(bench: &Bench, shared: &mut Shared, report: &mut Report) {
    let (cfg, mock) = (&bench.cfg, &bench.mock);
    let main = shared.main(bench);
    let (svc, idle) = (&main.svc, main.idle);
    let workers = cfg.latency_workers.to_string();
    mock.set_latency(cfg.pos_latency_ms);
    mock.set_failure_rate(cfg.failure_rate);
    let sampler = RssSampler::start(svc.pid());
    let cpu0 = svc.cpu_secs();
    let (driven, drained) = bench.at_rate(&main.shop, cfg.rate_secs);
    let ids = driven.acked_ids();
    let cpu = svc.cpu_secs() - cpu0;
    let loaded = sampler.finish();
    mock.set_failure_rate(0.0);
    let (received, answered) = driven.to_pos(mock);
    let (ordered, paid) = driven.steps(mock);
    let intake = driven.intake();
    let lag = Dist::of(driven.sent.iter().map(|s| s.lag_ms).collect());
    println!(
        "fixed rate: {} orders at {} /s ({} workers, POS {} ms): achieved {:.1} /s, {} errors",
        ids.len(),
        cfg.rate,
        workers,
        cfg.pos_latency_ms,
        driven.throughput(),
        driven.errors()
    );
    println!("  intake {}", intake.short());
    println!("  created → POS received {}", received.short());
    println!(
        "  created → on the POS (CreatePayment answered) {}",
        answered.short()
    );
    println!(
        "  its steps: created → CreateOrder answered {}; then → CreatePayment answered {}",
        ordered.short(),
        paid.short()
    );
    println!(
        "  client send lag behind schedule: p99 {:.1} ms; possync CPU {cpu:.1} s; RSS idle {:.1} MiB, loaded max {:.1} MiB",
        lag.p99,
        mb(idle.0),
        mb(loaded)
    );
    report.put(
        "fixed_rate",
        json!({
            "sync_workers": cfg.latency_workers, "durability": "full", "rate": cfg.rate,
            "pos_latency_ms": cfg.pos_latency_ms, "failure_rate": cfg.failure_rate,
            "orders": ids.len(), "errors": driven.errors(), "achieved_per_s": driven.throughput(),
            "intake_ms": intake.to_json(), "created_to_pos_received_ms": received.to_json(),
            "created_to_pos_answered_ms": answered.to_json(), "send_lag_ms": lag.to_json(),
            "created_to_create_order_answered_ms": ordered.to_json(),
            "create_order_answered_to_payment_answered_ms": paid.to_json(),
            "all_delivered": drained.is_some(), "possync_cpu_s": cpu,
            "idle_rss_kib": idle.0, "loaded_rss_max_kib": loaded,
        }),
    );
    report.info(
        "intake (POST /orders)",
        format!("at {} orders/s: throughput", cfg.rate),
        format!("{:.1} orders/s", driven.throughput()),
    );
    report.info(
        "intake (POST /orders)",
        format!("at {} orders/s: latency", cfg.rate),
        format!(
            "p50 {:.2} / p95 {:.2} / p99 {:.2} ms",
            intake.p50, intake.p95, intake.p99
        ),
    );
    let sec = "order → POS at 200/s";
    report.goal(
        sec,
        format!(
            "created → POS received p50 ({} workers, POS {} ms)",
            workers, cfg.pos_latency_ms
        ),
        GOAL_E2E_P50,
        received.p50,
        format!("{:.2} ms", received.p50),
    );
    report.goal(
        sec,
        "created → POS received p99",
        GOAL_E2E_P99,
        received.p99,
        format!("{:.2} ms", received.p99),
    );
    report.info(
        sec,
        "created → POS received p95 / max",
        format!("{:.2} / {:.2} ms", received.p95, received.max),
    );
    report.info(
        sec,
        "created → on the POS (CreatePayment answered; 2 × POS latency)",
        format!(
            "p50 {:.1} / p99 {:.1} / max {:.1} ms",
            answered.p50, answered.p99, answered.max
        ),
    );
    let share = |d: &Dist| d.p50 / (ordered.p50 + paid.p50).max(1e-9) * 100.0;
    report.info(
        sec,
        "share: created → CreateOrder answered",
        format!(
            "p50 {:.1} / p99 {:.1} ms ({:.0} % of the p50s)",
            ordered.p50,
            ordered.p99,
            share(&ordered)
        ),
    );
    report.info(
        sec,
        "share: CreateOrder answered → CreatePayment answered",
        format!(
            "p50 {:.1} / p99 {:.1} ms ({:.0} % of the p50s)",
            paid.p50,
            paid.p99,
            share(&paid)
        ),
    );
    report.info(
        "footprint",
        format!("RSS idle / loaded max ({} workers, 200/s)", workers),
        format!("{:.1} / {:.1} MiB", mb(idle.0), mb(loaded)),
    );
}
