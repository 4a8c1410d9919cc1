//! The threads of a running service: the sync workers, the notification delivery thread
//! (`notify::delivery`) and the scheduler.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::faults::Backoff;
use super::{Engine, Job, scheduler};
use crate::Result;

/// How long an idle worker sleeps before looking again even without a wake-up.
const IDLE_WAIT: Duration = Duration::from_secs(5);

/// The longest start-up waits for the threads to check in.
const START_WAIT: Duration = Duration::from_secs(5);

/// The running threads; [`Running::stop`] lets in-flight attempts finish and joins them.
pub struct Running {
    engine: Arc<Engine>,
    threads: Vec<JoinHandle<()>>,
}

impl Running {
    /// Reclaim what a previous run left mid-attempt, then start `workers` workers, the
    /// delivery thread and the scheduler with `jobs`; returns once they run.
    pub fn start(engine: Arc<Engine>, workers: u16, jobs: Vec<Job>) -> Result<Running> {
        engine.reclaim(true)?;
        let mut threads = Vec::new();
        for n in 0..workers {
            let engine = engine.clone();
            threads.push(
                std::thread::Builder::new()
                    .name(format!("possync-sync-{n}"))
                    .spawn(move || work(&engine))?,
            );
        }
        let delivering = engine.clone();
        threads.push(
            std::thread::Builder::new()
                .name("possync-notify".into())
                .spawn(move || {
                    let _alive = Alive::new(&delivering);
                    delivering.delivery().run();
                })?,
        );
        let scheduled = engine.clone();
        threads.push(
            std::thread::Builder::new()
                .name("possync-scheduler".into())
                .spawn(move || scheduler::run(&scheduled, jobs))?,
        );
        // Return once every thread has checked in, so the service is ready (`/readyz`) the
        // moment it says it listens.
        let started = Instant::now();
        while !engine.running(usize::from(workers) + 1) && started.elapsed() < START_WAIT {
            std::thread::sleep(Duration::from_millis(1));
        }
        engine.wake();
        Ok(Running { engine, threads })
    }

    /// Stop every thread after its current attempt and wait for them. Blocking.
    pub fn stop(self) {
        self.engine.signal().stop();
        self.engine.delivery().stop();
        for thread in self.threads {
            if thread.join().is_err() {
                tracing::error!("a sync thread panicked");
            }
        }
    }
}

/// Counts a thread as alive while it runs.
struct Alive<'a>(&'a Engine);

impl<'a> Alive<'a> {
    fn new(engine: &'a Engine) -> Self {
        engine.threads_alive.fetch_add(1, Ordering::Relaxed);
        Alive(engine)
    }
}

impl Drop for Alive<'_> {
    fn drop(&mut self) {
        self.0.threads_alive.fetch_sub(1, Ordering::Relaxed);
    }
}

fn work(engine: &Engine) {
    let _alive = Alive::new(engine);
    let signal = engine.signal().clone();
    let mut backoff = Backoff::default();
    while !signal.stopping() {
        let seen = signal.generation();
        match engine.run_once() {
            Ok(Some(_)) => {
                backoff.reset();
                engine.faults.worked();
            }
            Ok(None) => {
                backoff.reset();
                signal.wait(seen, IDLE_WAIT);
            }
            Err(e) => {
                engine.faults.failed("sync worker step failed", &e);
                // Not woken by new orders: a store that refuses writes refuses theirs too.
                signal.wait_for_stop(backoff.next());
            }
        }
    }
}
