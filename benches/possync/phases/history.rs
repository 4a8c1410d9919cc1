//! A million sync logs, inserted with rusqlite while possync is stopped (into the throughput
//! phase's `full` data directory, or one stocked here when run alone); then history and stats
//! latency, and start-up on that database.

use std::time::{Duration, Instant};

use rusqlite::params;
use serde_json::json;

use super::Phase;
use crate::harness::api::{Shop, agent};
use crate::harness::clock::wall_ms;
use crate::harness::db;
use crate::harness::dist::Dist;
use crate::harness::driver::{Plan, drive};
use crate::harness::report::{Goal, Report};
use crate::harness::service::{Service, free_port};
use crate::harness::{Bench, Shared, Stocked};

/// History and stats at a million logs.
pub const PHASE: Phase = Phase {
    name: "history",
    groups: &[],
    about: "history and stats latency at a million sync logs",
    run,
};

const GOAL_QUERY_P99: Goal = Goal::at_most(5.0, "ms");

fn run(bench: &Bench, shared: &mut Shared, report: &mut Report) {
    let cfg = &bench.cfg;
    let Stocked { dir, shop } = shared.stocked.take().unwrap_or_else(|| stock(bench));
    let db = dir.join("possync.db");
    let started = Instant::now();
    let (before, inserted, counts_ok) = insert_logs(&db, &shop.business, cfg.logs);
    let insert_s = started.elapsed().as_secs_f64();
    let db_mib = std::fs::metadata(&db).map_or(0.0, |m| m.len() as f64 / 1024.0 / 1024.0);
    println!(
        "inserted {inserted} sync logs (had {before}) in {insert_s:.1} s; database {db_mib:.0} MiB; sync_log_counts consistent: {counts_ok}"
    );
    let mut svc = Service::start(&dir, free_port(), &bench.flags(&[]));
    let ready = svc.wait_ready().as_secs_f64() * 1000.0;
    let shop = Shop {
        api: svc.api(),
        ..shop
    };
    let agent = agent();
    // `n` sequential requests after 20 to warm up.
    let time = |path: &str, n: usize| {
        for _ in 0..20 {
            let (status, body) = shop.get(&agent, path);
            assert_eq!(status, 200, "{path}: {body}");
        }
        let mut times = Vec::with_capacity(n);
        for _ in 0..n {
            let t = Instant::now();
            let (status, _) = shop.get(&agent, path);
            times.push(t.elapsed().as_secs_f64() * 1000.0);
            assert_eq!(status, 200, "{path}");
        }
        Dist::of(times)
    };
    let b = &shop.business;
    let deep_offset = (before + inserted) / 2;
    let me = time("/auth/me", cfg.queries);
    let history = time(&format!("/pos/history/{b}"), cfg.queries);
    let history_failed = time(&format!("/pos/history/{b}?status=failed"), cfg.queries);
    let stats = time(&format!("/pos/stats/{b}"), cfg.queries);
    let deep = time(&format!("/pos/history/{b}?offset={deep_offset}"), 20);
    let (rss, _) = svc.rss_kb();
    let total = shop.stats(&agent).map_or(0, |s| s.total);
    println!("  restart → ready with {total} logs: {ready:.1} ms");
    println!("  GET /auth/me (HTTP + auth floor) {}", me.short());
    println!("  GET history {}", history.short());
    println!("  GET history?status=failed {}", history_failed.short());
    println!("  GET stats {}", stats.short());
    println!("  GET history at offset {deep_offset} {}", deep.short());
    report.put(
        "history",
        json!({
            "logs": total, "inserted": inserted, "insert_s": insert_s, "db_mib": db_mib,
            "counts_consistent": counts_ok, "restart_ready_ms": ready,
            "auth_me_ms": me.to_json(), "history_ms": history.to_json(), "history_status_failed_ms": history_failed.to_json(),
            "stats_ms": stats.to_json(), "history_deep_offset_ms": deep.to_json(),
            "deep_offset": deep_offset, "rss_after_kib": rss,
        }),
    );
    let sec = "history and stats at 1M logs";
    report.check(
        sec,
        "sync_log_counts matches the logs",
        counts_ok,
        format!("{total} logs"),
        "consistent",
    );
    for (metric, dist) in [
        ("GET /pos/history/{id} p99 (limit 50)", history),
        ("GET /pos/history/{id}?status=failed p99", history_failed),
        ("GET /pos/stats/{id} p99", stats),
    ] {
        let shown = format!("{:.2} ms (p50 {:.2})", dist.p99, dist.p50);
        report.goal(sec, metric, GOAL_QUERY_P99, dist.p99, shown);
    }
    report.info(
        sec,
        format!("GET history?offset={deep_offset} (deep page)"),
        format!("p50 {:.1} / max {:.1} ms", deep.p50, deep.max),
    );
    report.info(
        sec,
        "GET /auth/me (floor: HTTP + bearer check)",
        format!("p50 {:.2} / p99 {:.2} ms", me.p50, me.p99),
    );
    report.info(
        sec,
        "restart → ready with 1M logs",
        format!("{ready:.1} ms"),
    );
    svc.stop();
}

/// Run alone: a seller with `throughput_orders` orders delivered, and the instance stopped.
fn stock(bench: &Bench) -> Stocked {
    let svc = bench.serve("history", &[]);
    let shop = Shop::set_up(&svc.api());
    bench.mock.set_latency(bench.cfg.pos_latency_ms);
    let driven = drive(
        &shop,
        Plan::Max {
            count: bench.cfg.throughput_orders,
            within: Duration::from_secs(30),
        },
        bench.cfg.clients,
    );
    bench
        .mock
        .wait_answered(&driven.acked_ids(), Duration::from_secs(120));
    Stocked::stop(svc, shop)
}

/// Insert `n` sync logs for `business` in one transaction (the triggers keep
/// `sync_log_counts`). Returns (logs before, inserted, counts consistent).
fn insert_logs(db: &std::path::Path, business: &str, n: usize) -> (usize, usize, bool) {
    let mut conn = db::open(db);
    conn.pragma_update(None, "cache_size", -262_144)
        .expect("cache_size");
    let integration: String = conn
        .query_row(
            "SELECT id FROM pos_integrations WHERE business_id = ?1",
            [business],
            |r| r.get(0),
        )
        .expect("integration");
    let orders = db::strings(
        &conn,
        "SELECT id FROM orders WHERE business_id = ?1 ORDER BY created_at",
        [business],
    );
    assert!(!orders.is_empty(), "the business has no orders");
    let before: i64 = conn
        .query_row(
            "SELECT count(*) FROM sync_logs WHERE business_id = ?1",
            [business],
            |r| r.get(0),
        )
        .expect("count");
    let now = wall_ms() as i64;
    let year = 365 * 24 * 3_600_000_i64;
    let step = year / n.max(1) as i64;
    let tx = conn.transaction().expect("begin");
    {
        let mut stmt = tx
            .prepare(
                "INSERT INTO sync_logs (id, order_id, business_id, integration_id, provider, status,
                    pos_order_id, retry_count, max_retries, next_retry_at, lease_until, error_message,
                    duration_ms, completed_at, created_at)
                 VALUES (?1, ?2, ?3, ?4, 'square', ?5, ?6, ?7, 12, ?8, NULL, ?9, ?10, ?11, ?12)",
            )
            .expect("prepare insert");
        for i in 0..n {
            // A year of history before the benchmark's own orders: 96 % success, 3 % failed,
            // 1 % waiting for a retry a week from now (never due during the benchmark).
            let created = now - year - 60_000 + i as i64 * step;
            let id = uuid::Uuid::now_v7().to_string();
            let order = &orders[i % orders.len()];
            let (status, pos, retries, next, error, completed) = match i % 100 {
                0..=2 => (
                    "failed",
                    None,
                    12,
                    None,
                    Some("Square answered HTTP 503 (gave up after 13 attempts)"),
                    Some(created + 3_600_000),
                ),
                3 => (
                    "retry",
                    None,
                    3,
                    Some(now + 7 * 24 * 3_600_000),
                    Some("Square answered HTTP 503"),
                    None,
                ),
                _ => (
                    "success",
                    Some(format!("SQHIST{i:012}")),
                    0,
                    None,
                    None,
                    Some(created + 180),
                ),
            };
            stmt.execute(params![
                id,
                order,
                business,
                integration,
                status,
                pos,
                retries,
                next,
                error,
                180,
                completed,
                created
            ])
            .expect("insert log");
        }
    }
    tx.commit().expect("commit");
    let (counted, kept): (i64, i64) = conn
        .query_row(
            "SELECT (SELECT count(*) FROM sync_logs WHERE business_id = ?1),
                    (SELECT coalesce(sum(n), 0) FROM sync_log_counts WHERE business_id = ?1)",
            [business],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("counts");
    let per_status_ok: bool = conn
        .query_row(
            "SELECT count(*) = 0 FROM (
                SELECT action, status, count(*) AS n FROM sync_logs WHERE business_id = ?1
                GROUP BY action, status
             ) l LEFT JOIN sync_log_counts c
                 ON c.business_id = ?1 AND c.action = l.action AND c.status = l.status
             WHERE c.n IS NOT l.n",
            [business],
            |r| r.get(0),
        )
        .expect("per status");
    // Fold the WAL into the database so possync starts on a checkpointed file.
    let _ = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
    (
        usize::try_from(before).unwrap_or(0),
        n,
        counted == kept && per_status_ok && counted == before + n as i64,
    )
}
