//! The scheduler thread: wakes the workers when a queued log falls due or an open lane may
//! probe (within about a second of its time), reclaims expired leases, fails held logs past
//! their window, and runs the cron jobs. Only logs that fall due after
//! its last look wake anyone: a due log still queued waits for a slot in its lane, and the
//! attempt holding that slot takes the next log itself when it ends.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use cron::Schedule;

use super::Engine;
use crate::Result;
use crate::domain::{Millis, now_millis};
use crate::store::{lanes, outbox};

/// The longest the scheduler sleeps between looks at the outbox.
const TICK: Duration = Duration::from_secs(1);

/// A periodic job.
pub struct Job {
    /// The name its log lines carry.
    pub name: &'static str,
    pub schedule: Schedule,
    /// The job's body; its summary is logged.
    pub run: Box<dyn Fn() -> Result<String> + Send>,
}

struct Planned {
    job: Job,
    next: Option<DateTime<Utc>>,
}

/// When the next log falls due or the next open lane may probe, after `after`.
fn next_after(conn: &rusqlite::Connection, after: Millis) -> Result<Option<Millis>> {
    let due = outbox::next_due_after(conn, after)?;
    let probe = lanes::next_probe_after(conn, after)?;
    Ok(due.into_iter().chain(probe).min())
}

/// The scheduler loop; returns when the engine's signal says stop.
pub fn run(engine: &Arc<Engine>, jobs: Vec<Job>) {
    let mut planned: Vec<Planned> = jobs
        .into_iter()
        .map(|job| {
            let next = job.schedule.upcoming(Utc).next();
            Planned { job, next }
        })
        .collect();
    let signal = engine.signal().clone();
    // Logs due up to here have woken the workers already.
    let mut woken_until = 0;
    while !signal.stopping() {
        engine
            .scheduler_beat
            .store(now_millis(), std::sync::atomic::Ordering::Relaxed);
        if let Err(e) = engine.reclaim(false) {
            engine.faults.failed("reclaiming expired leases failed", &e);
        }
        if let Err(e) = engine.expire_held() {
            engine
                .faults
                .failed("failing held orders past their window failed", &e);
        }
        let now = now_millis();
        let next = match engine.store().read(|c| next_after(c, woken_until)) {
            Ok(next) => next,
            Err(e) => {
                tracing::error!(error = %e, "reading the outbox failed");
                None
            }
        };
        let next = if next.is_some_and(|due| due <= now) {
            signal.wake();
            woken_until = now;
            engine.store().read(|c| next_after(c, now)).unwrap_or(None)
        } else {
            next
        };
        for p in &mut planned {
            if p.next.is_some_and(|next| next <= Utc::now()) {
                match (p.job.run)() {
                    Ok(summary) => tracing::info!(job = p.job.name, "{summary}"),
                    Err(e) => tracing::error!(job = p.job.name, error = %e, "scheduled job failed"),
                }
                p.next = p.job.schedule.upcoming(Utc).next();
            }
        }
        // Sleep until the next log falls due, at most one tick; new orders wake the workers
        // themselves, not this thread.
        let until_due = next
            .map(|due| Duration::from_millis(u64::try_from(due - now_millis()).unwrap_or(0)))
            .unwrap_or(TICK);
        signal.wait_for_stop(until_due.clamp(Duration::from_millis(5), TICK));
    }
}
