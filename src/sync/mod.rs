//! The sync engine: workers claim due logs from the outbox, push them to the POS, record every
//! attempt, and apply the retry policy; a scheduler wakes them when retries fall due, reclaims
//! expired leases and runs the cron jobs.

mod attempt;
pub mod breaker;
pub mod dispatch;
mod engine;
mod faults;
pub mod jobs;
pub mod lanes;
mod outcome;
pub mod policy;
mod pos_state;
mod record;
mod scheduler;
mod signal;
pub mod stats;
pub mod tokens;
mod workers;

pub use engine::{Engine, EngineSettings};
pub use scheduler::Job;
pub use signal::Signal;
pub use tokens::{RefreshError, Tokens};
pub use workers::Running;
