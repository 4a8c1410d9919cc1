//! `kill -9` of the main instance with orders in flight, and a restart: the time until all are
//! delivered, and each order at the POS exactly once (every order the instance holds, the
//! earlier phases' too).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::json;

use super::Phase;
use crate::harness::api::agent;
use crate::harness::clock::wait_until;
use crate::harness::db::{order_ids, status_counts};
use crate::harness::driver::{Plan, drive_until};
use crate::harness::report::{Goal, Report};
use crate::harness::{Bench, MainInstance, Shared};

/// Recovery after `kill -9`.
pub const PHASE: Phase = Phase {
    name: "recovery",
    groups: &["main"],
    about: "kill -9 with orders in flight, restart: all delivered, exactly once",
    run,
};

const GOAL_RECOVERY: Goal = Goal::at_most(30.0, "s");

fn run(bench: &Bench, shared: &mut Shared, report: &mut Report) {
    let (cfg, mock) = (&bench.cfg, &bench.mock);
    let MainInstance {
        mut svc,
        shop,
        flags,
        ..
    } = shared.take_main(bench);
    let db = svc.db();
    mock.set_latency(cfg.recovery_pos_latency_ms);
    let orders_before = order_ids(&db).len();
    let stop = AtomicBool::new(false);
    let driven = std::thread::scope(|s| {
        let driver = s.spawn(|| {
            drive_until(
                &shop,
                Plan::Rate {
                    rate: cfg.rate,
                    count: (cfg.rate * 60.0) as usize,
                },
                cfg.clients,
                &stop,
            )
        });
        std::thread::sleep(Duration::from_secs_f64(cfg.recovery_kill_after_s));
        svc.kill9();
        stop.store(true, Ordering::Relaxed);
        driver.join().expect("driver")
    });
    let at_kill = status_counts(&db);
    mock.set_latency(cfg.pos_latency_ms);
    let mut svc = svc.respawn(&flags);
    let ready = svc.wait_ready();
    let acked = driven.acked_ids();
    let agent = agent();
    let recovered = wait_until(Duration::from_secs(120), Duration::from_millis(10), || {
        shop.stats(&agent)
            .is_some_and(|s| s.success == s.total && s.total > 0)
            && mock.answered_all(&acked)
    });
    let recovery_s = svc.since_spawn().as_secs_f64();
    let recovery_s = if recovered.is_some() {
        recovery_s
    } else {
        f64::INFINITY
    };
    // Exactly once: every order in the database made exactly one Square order.
    let all_orders = order_ids(&db);
    let (missing, duplicated, mismatches) = {
        let state = mock.lock();
        let missing = all_orders
            .iter()
            .filter(|id| !state.created.contains_key(*id))
            .count();
        let duplicated = state.created.values().filter(|n| **n > 1).count();
        (missing, duplicated, state.key_mismatches)
    };
    // Orders committed whose 201 the client never read (cut off by the kill).
    let extra_unacked = all_orders.len().saturating_sub(orders_before + acked.len());
    let count = |status: &str| at_kill.get(status).copied().unwrap_or(0);
    let (pending, syncing) = (count("pending"), count("syncing"));
    println!(
        "kill -9 after {} s at {} /s (POS {} ms): {} acknowledged, {} cut off; at the kill the db held {pending} pending, {syncing} syncing",
        cfg.recovery_kill_after_s,
        cfg.rate,
        cfg.recovery_pos_latency_ms,
        acked.len(),
        driven.errors(),
    );
    println!(
        "  restart → ready {:.1} ms; restart → all delivered {:.2} s; {} orders in the db: {} missing at the POS, {} duplicated, {} key mismatches",
        ready.as_secs_f64() * 1000.0,
        recovery_s,
        all_orders.len(),
        missing,
        duplicated,
        mismatches
    );
    report.put(
        "recovery",
        json!({
            "kill_after_s": cfg.recovery_kill_after_s, "pos_latency_ms": cfg.recovery_pos_latency_ms,
            "acknowledged": acked.len(), "cut_off_requests": driven.errors(),
            "committed_unacknowledged": extra_unacked, "db_at_kill": at_kill,
            "restart_ready_ms": ready.as_secs_f64() * 1000.0, "restart_to_all_delivered_s": recovery_s,
            "orders_in_db": all_orders.len(), "missing_at_pos": missing,
            "duplicated_at_pos": duplicated, "idempotency_key_mismatches": mismatches,
        }),
    );
    let sec = "recovery after kill -9";
    report.goal(
        sec,
        format!(
            "restart → all delivered ({} in flight: {syncing} syncing, {pending} pending)",
            syncing + pending
        ),
        GOAL_RECOVERY,
        recovery_s,
        format!("{recovery_s:.2} s"),
    );
    report.check(
        sec,
        "each order at the POS exactly once",
        missing == 0 && duplicated == 0 && mismatches == 0,
        format!(
            "{} orders: {missing} missing, {duplicated} duplicated",
            all_orders.len()
        ),
        "0 missing, 0 duplicated",
    );
    svc.stop();
}
