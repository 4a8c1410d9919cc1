//! 200 orders/s with the default sync workers: informational (whether the defaults keep up).

use serde_json::json;

use super::Phase;
use crate::harness::api::Shop;
use crate::harness::report::Report;
use crate::harness::{Bench, Shared};

/// The fixed rate with default settings.
pub const PHASE: Phase = Phase {
    name: "default",
    groups: &[],
    about: "200 orders/s with the default sync workers (informational)",
    run,
};

fn run(bench: &Bench, _: &mut Shared, report: &mut Report) {
    let (cfg, mock) = (&bench.cfg, &bench.mock);
    mock.set_latency(cfg.pos_latency_ms);
    let mut svc = bench.serve("default-workers", &[]);
    let shop = Shop::set_up(&svc.api());
    let (driven, drained) = bench.at_rate(&shop, cfg.default_rate_secs);
    let ids = driven.acked_ids();
    let (received, _) = driven.to_pos(mock);
    println!(
        "default 4 workers at {} orders/s for {} s: created → POS received {} ; backlog drained {:.1} s after the last order",
        cfg.rate,
        cfg.default_rate_secs,
        received.short(),
        drained.map_or(f64::NAN, |d| d.as_secs_f64())
    );
    report.put(
        "default_workers_fixed_rate",
        json!({"sync_workers": 4, "rate": cfg.rate, "orders": ids.len(),
               "created_to_pos_received_ms": received.to_json(),
               "drained_after_last_order_s": drained.map(|d| d.as_secs_f64())}),
    );
    report.info(
        "order → POS at 200/s",
        format!(
            "created → POS received, DEFAULT 4 workers, {} orders",
            ids.len()
        ),
        format!(
            "p50 {:.1} / p99 {:.1} / max {:.1} ms",
            received.p50, received.p99, received.max
        ),
    );
    svc.stop();
}
