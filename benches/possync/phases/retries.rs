//! Retry precision on the main instance: the mock fails each first attempt with 503,
//! `--retry-interval 1s`; when the second attempt arrives against the log's `next_retry_at`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use serde_json::json;

use super::Phase;
use crate::harness::api::{Shop, agent};
use crate::harness::clock::parse_ts;
use crate::harness::dist::Dist;
use crate::harness::driver::{Plan, drive};
use crate::harness::report::{Goal, Report};
use crate::harness::{Bench, Shared};

/// Retry lateness.
pub const PHASE: Phase = Phase {
    name: "retries",
    groups: &["main"],
    about: "every first push answered 503: the retry against next_retry_at",
    run,
};

const GOAL_RETRY_LATE_P99: Goal = Goal::at_most(1000.0, "ms");

/// The page size of the retry queue's poll.
const PAGE: usize = 200;

fn run(bench: &Bench, shared: &mut Shared, report: &mut Report) {
    let (cfg, mock) = (&bench.cfg, &bench.mock);
    let shop = &shared.main(bench).shop;
    mock.set_latency(cfg.pos_latency_ms);
    mock.set_fail_first(true);
    let polled: Mutex<HashMap<String, f64>> = Mutex::new(HashMap::new());
    let done = AtomicBool::new(false);
    let driven = std::thread::scope(|s| {
        s.spawn(|| watch_retry_queue(shop, &polled, &done));
        let driven = drive(
            shop,
            Plan::Rate {
                rate: (cfg.rate / 2.0).max(1.0),
                count: cfg.retry_orders,
            },
            16,
        );
        mock.wait_answered(&driven.acked_ids(), Duration::from_secs(60));
        done.store(true, Ordering::Relaxed);
        driven
    });
    mock.set_fail_first(false);
    let polled = polled.into_inner().unwrap_or_else(PoisonError::into_inner);
    // Fallback when the poller missed a log: attempt 1's end + the interval.
    let agent = agent();
    let mut late = Vec::new();
    let mut from_attempts = 0;
    let mut never_retried = 0;
    for s in driven.acked() {
        let (Some(order), Some(log)) = (&s.order_id, &s.log_id) else {
            continue;
        };
        let second = mock
            .lock()
            .arrivals
            .get(order)
            .and_then(|a| a.get(1).copied());
        let Some(second) = second else {
            never_retried += 1;
            continue;
        };
        let due = polled.get(order).copied().or_else(|| {
            from_attempts += 1;
            let (_, body) = shop.get(&agent, &format!("/pos/sync-logs/{log}/attempts"));
            let first = &body["data"]["attempts"][0];
            let started = first["started_at"].as_str().and_then(parse_ts)?;
            Some(started + first["duration_ms"].as_f64()? + 1000.0)
        });
        if let Some(due) = due {
            late.push(second.wall_ms - due);
        }
    }
    let dist = Dist::of(late);
    println!(
        "retries: {} orders failed once (503), --retry-interval 1s: second attempt vs next_retry_at {} (min {:.1}); {} due times from the attempts, {} never retried",
        driven.acked().count(),
        dist.short(),
        dist.min,
        from_attempts,
        never_retried
    );
    report.put(
        "retries",
        json!({"orders": driven.acked().count(), "retry_interval_s": 1,
               "lateness_ms": dist.to_json(), "due_from_history": dist.n.saturating_sub(from_attempts),
               "due_from_attempts": from_attempts, "never_retried": never_retried}),
    );
    report.goal(
        "retries",
        format!("retry fires after next_retry_at, p99 ({} retries)", dist.n),
        GOAL_RETRY_LATE_P99,
        if never_retried > 0 {
            f64::INFINITY
        } else {
            dist.p99
        },
        format!(
            "{:.1} ms (p50 {:.1}, max {:.1})",
            dist.p99, dist.p50, dist.max
        ),
    );
}

/// Until `done`, every 100 ms: the `next_retry_at` of each log waiting in the retry queue.
fn watch_retry_queue(shop: &Shop, polled: &Mutex<HashMap<String, f64>>, done: &AtomicBool) {
    let agent = agent();
    while !done.load(Ordering::Relaxed) {
        let mut offset = 0;
        loop {
            let (status, body) = shop.get(
                &agent,
                &format!(
                    "/pos/history/{}?status=retry&limit={PAGE}&offset={offset}",
                    shop.business
                ),
            );
            if status != 200 {
                break;
            }
            let logs = body["data"]["logs"].as_array().cloned().unwrap_or_default();
            let mut seen = polled.lock().unwrap_or_else(PoisonError::into_inner);
            for log in &logs {
                if let (Some(order), Some(at)) = (
                    log["order_id"].as_str(),
                    log["next_retry_at"].as_str().and_then(parse_ts),
                ) {
                    seen.insert(order.to_string(), at);
                }
            }
            if logs.len() < PAGE {
                break;
            }
            offset += PAGE;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
