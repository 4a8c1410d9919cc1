//! Wake-ups for the worker and scheduler threads: a generation counter under a mutex, so a
//! wake between "found nothing" and "wait" is never lost.

use std::sync::{Condvar, Mutex, PoisonError};
use std::time::Duration;

#[derive(Debug, Default)]
struct State {
    generation: u64,
    stopping: bool,
}

/// Wakes sleeping threads; tells them when to stop.
#[derive(Debug, Default)]
pub struct Signal {
    state: Mutex<State>,
    /// Threads waiting for work ([`Signal::wait`]).
    changed: Condvar,
    /// Threads waiting only for a stop ([`Signal::wait_for_stop`]), apart, so that a
    /// [`Signal::wake_one`] always reaches a thread that looks for work.
    stopped: Condvar,
}

impl Signal {
    /// Wake every waiting thread.
    pub fn wake(&self) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.generation = state.generation.wrapping_add(1);
        self.changed.notify_all();
    }

    /// Wake one waiting thread: enough for one new log. Threads not waiting yet see the new
    /// generation and look again; busy ones look again when their attempt ends.
    pub fn wake_one(&self) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.generation = state.generation.wrapping_add(1);
        self.changed.notify_one();
    }

    /// Ask every thread to stop.
    pub fn stop(&self) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.stopping = true;
        self.changed.notify_all();
        self.stopped.notify_all();
    }

    /// Whether stop was asked.
    pub fn stopping(&self) -> bool {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .stopping
    }

    /// The current generation, read before looking for work.
    pub fn generation(&self) -> u64 {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .generation
    }

    /// Sleep until woken after `seen`, stopped, or `timeout` passes.
    pub fn wait(&self, seen: u64, timeout: Duration) {
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let _unused = self
            .changed
            .wait_timeout_while(state, timeout, |s| s.generation == seen && !s.stopping)
            .unwrap_or_else(PoisonError::into_inner);
    }

    /// Sleep until stopped or `timeout` passes; wake-ups do not end it (a backing-off thread).
    pub fn wait_for_stop(&self, timeout: Duration) {
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let _unused = self
            .stopped
            .wait_timeout_while(state, timeout, |s| !s.stopping)
            .unwrap_or_else(PoisonError::into_inner);
    }
}
