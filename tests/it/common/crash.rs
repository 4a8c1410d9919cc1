//! `kill -9` with pushes in flight, for the crash-recovery tests (`sync_recovery.rs`,
//! `lanes.rs`): a mock Square that commits the first pushes and then sits on its answers,
//! and `possync serve` as a child process on data that outlives it, so that a service started
//! again after the kill finds what the killed one left.

use std::time::Duration;

use tempfile::TempDir;

use super::mock_square::{Fault, MockSquare};
use super::provider_env::square_flags;
use super::wait::{PATIENCE, wait_until};
use crate::sync_support::ServeProcess;

/// How long Square sits on the answer of a push it committed: longer than any test takes to
/// kill the service once every such push is in flight.
const HANG: Duration = Duration::from_secs(4);

/// A mock Square and the data directory, log directory and flags of the services run on it.
pub struct Crash {
    pub mock: MockSquare,
    data: TempDir,
    logs: TempDir,
    flags: Vec<String>,
}

impl Crash {
    /// A mock Square whose first `hanging` CreateOrders are committed and then answered only
    /// after a few seconds (so that many pushes are mid-request at once), and service flags
    /// for it: fast retries, then `extra`.
    pub fn new(hanging: usize, extra: &[&str]) -> Crash {
        let mock = MockSquare::start();
        for _ in 0..hanging {
            mock.push_fault(Fault::TimeoutAfterCommit(HANG));
        }
        let flags = square_flags(&mock, extra);
        Crash {
            mock,
            data: TempDir::new().unwrap(),
            logs: TempDir::new().unwrap(),
            flags,
        }
    }

    /// Start `possync serve` on the data directory (the same data and flags every time).
    pub fn serve(&self) -> ServeProcess {
        ServeProcess::start(self.data.path(), self.logs.path(), &self.flags)
    }

    /// Wait until `pushes` CreateOrders have reached Square.
    pub fn wait_in_flight(&self, pushes: usize) {
        wait_until(PATIENCE, "the pushes are mid-request", || {
            self.mock.create_order_requests().len() >= pushes
        });
    }

    /// `kill -9` the service with `pushes` CreateOrders in flight (asserting no other came).
    pub fn kill(&self, serve: ServeProcess, pushes: usize) {
        serve.kill();
        assert_eq!(
            self.mock.create_order_requests().len(),
            pushes,
            "the pushes in flight at the kill, and no other"
        );
    }
}
