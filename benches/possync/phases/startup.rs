//! Start-up to ready on fresh data directories, a restart on existing data, and idle RSS
//! (default settings).

use std::time::Duration;

use serde_json::json;

use super::Phase;
use crate::harness::dist::Dist;
use crate::harness::procfs::mb;
use crate::harness::report::{Goal, Report};
use crate::harness::service::{Service, free_port};
use crate::harness::{Bench, Shared};

/// Start-up and idle RSS.
pub const PHASE: Phase = Phase {
    name: "startup",
    groups: &[],
    about: "spawn → /readyz on fresh and existing data; idle RSS",
    run,
};

const GOAL_READY: Goal = Goal::at_most(100.0, "ms");
const GOAL_IDLE_RSS: Goal = Goal::at_most(15.0, "MiB");

fn run(bench: &Bench, _: &mut Shared, report: &mut Report) {
    let starts = bench.cfg.starts.max(1);
    let mut fresh = Vec::new();
    let mut idle = (0, 0);
    let mut idle_parts = (0, 0, 0);
    let mut restart_ms = 0.0;
    for i in 0..starts {
        let mut svc = bench.start(&format!("start-{i}"), &[]);
        fresh.push(svc.wait_ready().as_secs_f64() * 1000.0);
        if i + 1 == starts {
            std::thread::sleep(Duration::from_secs(2));
            idle = svc.rss_kb();
            idle_parts = (
                svc.status_kb("RssAnon:"),
                svc.status_kb("RssFile:"),
                svc.status_kb("Threads:"),
            );
            svc.stop();
            let mut again = Service::start(svc.data_dir(), free_port(), &bench.flags(&[]));
            restart_ms = again.wait_ready().as_secs_f64() * 1000.0;
            again.stop();
        } else {
            svc.stop();
        }
    }
    let dist = Dist::of(fresh.clone());
    println!(
        "start-up to ready (fresh data dir): {} ; restart on existing data: {restart_ms:.1} ms",
        dist.short()
    );
    println!(
        "idle RSS (default settings, 2 s after ready): {:.1} MiB = {:.1} MiB anonymous + {:.1} MiB file-backed (the binary's pages); {} threads",
        mb(idle.0),
        mb(idle_parts.0),
        mb(idle_parts.1),
        idle_parts.2
    );
    report.put(
        "startup",
        json!({"fresh_ready_ms": fresh, "fresh": dist.to_json(), "restart_ready_ms": restart_ms,
               "idle_rss_kib": idle.0, "idle_hwm_kib": idle.1, "idle_rss_anon_kib": idle_parts.0,
               "idle_rss_file_kib": idle_parts.1, "idle_threads": idle_parts.2}),
    );
    report.goal(
        "start-up",
        format!("spawn → /readyz 200, fresh data dir (worst of {})", dist.n),
        GOAL_READY,
        dist.max,
        format!("{:.1} ms (p50 {:.1})", dist.max, dist.p50),
    );
    report.info(
        "start-up",
        "spawn → /readyz 200, existing data dir",
        format!("{restart_ms:.1} ms"),
    );
    report.goal(
        "footprint",
        "idle RSS (default: 4 workers, 8 connections)",
        GOAL_IDLE_RSS,
        mb(idle.0),
        format!(
            "{:.1} MiB ({:.1} anon + {:.1} file)",
            mb(idle.0),
            mb(idle_parts.0),
            mb(idle_parts.1)
        ),
    );
}
