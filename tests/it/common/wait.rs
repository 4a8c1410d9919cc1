//! Polling for a condition that the service makes true in its own time.

use std::time::{Duration, Instant};

/// How long any condition may take to come true.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// Poll `probe` every 25 ms until it answers `Ok`; panic after `timeout` with the last answer.
pub fn wait_for<T>(
    timeout: Duration,
    what: &str,
    mut probe: impl FnMut() -> Result<T, String>,
) -> T {
    let start = Instant::now();
    loop {
        match probe() {
            Ok(value) => return value,
            Err(state) if start.elapsed() >= timeout => {
                panic!("timed out after {timeout:?} waiting until {what}; last seen: {state}")
            }
            Err(_) => std::thread::sleep(Duration::from_millis(25)),
        }
    }
}

/// Poll `condition` every 25 ms until it holds; panic after `timeout`.
pub fn wait_until(timeout: Duration, what: &str, mut condition: impl FnMut() -> bool) {
    wait_for(timeout, what, || {
        if condition() {
            Ok(())
        } else {
            Err("condition false".to_string())
        }
    })
}

/// Poll `probe` every 25 ms until it gives `Some`; panic after `timeout`.
pub fn wait_some<T>(timeout: Duration, what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
    wait_for(timeout, what, || {
        probe().ok_or_else(|| "not yet".to_string())
    })
}
