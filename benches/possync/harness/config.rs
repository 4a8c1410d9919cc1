//! The run's counts and rates. Each has a `POSSYNC_BENCH_*` variable; `--quick` (or
//! `POSSYNC_BENCH_QUICK=1`) shrinks the defaults to a smoke run that proves every phase works.

use std::str::FromStr;

use serde_json::{Value, json};

/// The variable `name` parsed, or `default` when it is unset or does not parse.
pub fn env_or<T: FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

/// Counts and rates; every one can be changed with its `POSSYNC_BENCH_*` variable.
#[derive(Debug, Clone)]
pub struct Config {
    /// `--quick`: the small defaults below.
    pub quick: bool,
    /// The mock POS latency, ms (the default for every phase that sets none of its own).
    pub pos_latency_ms: u64,
    /// The share of pushes the mock answers 503 during the fixed-rate run.
    pub failure_rate: f64,
    /// Orders per second of the fixed-rate runs.
    pub rate: f64,
    /// How long the fixed-rate run with `latency_workers` lasts, s.
    pub rate_secs: f64,
    /// How long the fixed-rate run with the default workers lasts, s.
    pub default_rate_secs: f64,
    /// `--sync-workers` of the instance latency, retries and recovery share.
    pub latency_workers: u16,
    /// Orders whose first push fails (retries).
    pub retry_orders: usize,
    /// Seconds of load before `kill -9` (recovery).
    pub recovery_kill_after_s: f64,
    /// The mock POS latency while the recovery load runs, ms.
    pub recovery_pos_latency_ms: u64,
    /// `--sync-workers` draining the backlog.
    pub throughput_workers: u16,
    /// The mock POS latency while the backlog drains, ms.
    pub throughput_pos_latency_ms: u64,
    /// Orders in the backlog.
    pub throughput_orders: usize,
    /// Businesses the spread phase's orders go to (one lane each).
    pub spread_businesses: usize,
    /// Businesses of the fan-out phase.
    pub fanout_businesses: usize,
    /// Orders in the fan-out phase's backlog.
    pub fanout_backlog: usize,
    /// `--sync-workers` of the fan-out drain.
    pub fanout_workers: u16,
    /// Seconds of 1,000 orders/s while the fan-out backlog drains.
    pub fanout_secs: f64,
    /// HTTP client threads of the load driver.
    pub clients: usize,
    /// Sync logs inserted for history and stats.
    pub logs: usize,
    /// Requests per endpoint timed at a million logs.
    pub queries: usize,
    /// Fresh starts timed to ready.
    pub starts: usize,
}

impl Config {
    /// The settings from the environment; `quick` picks the small defaults.
    pub fn from_env(quick: bool) -> Config {
        /// The full run's default, or the quick one.
        fn pick<T>(quick: bool, full: T, small: T) -> T {
            if quick { small } else { full }
        }
        let q = quick;
        Config {
            quick,
            pos_latency_ms: env_or("POSSYNC_BENCH_POS_LATENCY_MS", 20),
            failure_rate: env_or("POSSYNC_BENCH_FAILURE_RATE", 0.0),
            rate: env_or("POSSYNC_BENCH_RATE", 200.0),
            rate_secs: env_or("POSSYNC_BENCH_RATE_SECS", pick(q, 20.0, 2.0)),
            default_rate_secs: env_or("POSSYNC_BENCH_DEFAULT_WORKERS_SECS", pick(q, 10.0, 1.0)),
            latency_workers: env_or("POSSYNC_BENCH_LATENCY_WORKERS", 16),
            retry_orders: env_or("POSSYNC_BENCH_RETRY_ORDERS", pick(q, 200, 20)),
            recovery_kill_after_s: env_or("POSSYNC_BENCH_KILL_AFTER_S", pick(q, 2.0, 1.0)),
            recovery_pos_latency_ms: env_or("POSSYNC_BENCH_RECOVERY_POS_LATENCY_MS", 100),
            throughput_workers: env_or("POSSYNC_BENCH_THROUGHPUT_WORKERS", 64),
            throughput_pos_latency_ms: env_or("POSSYNC_BENCH_THROUGHPUT_POS_LATENCY_MS", 50),
            throughput_orders: env_or("POSSYNC_BENCH_THROUGHPUT_ORDERS", pick(q, 5000, 300)),
            spread_businesses: env_or("POSSYNC_BENCH_SPREAD_BUSINESSES", pick(q, 100, 10)),
            fanout_businesses: env_or("POSSYNC_BENCH_FANOUT_BUSINESSES", pick(q, 1000, 50)),
            fanout_backlog: env_or("POSSYNC_BENCH_FANOUT_BACKLOG", pick(q, 20_000, 1_000)),
            fanout_workers: env_or("POSSYNC_BENCH_FANOUT_WORKERS", 256),
            fanout_secs: env_or("POSSYNC_BENCH_FANOUT_SECS", pick(q, 10.0, 3.0)),
            clients: env_or("POSSYNC_BENCH_CLIENTS", 32),
            logs: env_or("POSSYNC_BENCH_LOGS", pick(q, 1_000_000, 20_000)),
            queries: env_or("POSSYNC_BENCH_QUERIES", pick(q, 300, 30)),
            starts: env_or("POSSYNC_BENCH_STARTS", pick(q, 5, 2)),
        }
    }

    /// For the report's `config` (and the settings line printed at the start).
    pub fn to_json(&self) -> Value {
        json!({
            "quick": self.quick,
            "pos_latency_ms": self.pos_latency_ms,
            "failure_rate": self.failure_rate,
            "fixed_rate_per_s": self.rate,
            "fixed_rate_secs": self.rate_secs,
            "default_workers_secs": self.default_rate_secs,
            "latency_sync_workers": self.latency_workers,
            "retry_orders": self.retry_orders,
            "recovery_kill_after_s": self.recovery_kill_after_s,
            "recovery_pos_latency_ms": self.recovery_pos_latency_ms,
            "throughput_sync_workers": self.throughput_workers,
            "throughput_pos_latency_ms": self.throughput_pos_latency_ms,
            "throughput_orders": self.throughput_orders,
            "spread_businesses": self.spread_businesses,
            "fanout_businesses": self.fanout_businesses,
            "fanout_backlog": self.fanout_backlog,
            "fanout_sync_workers": self.fanout_workers,
            "fanout_intake_secs": self.fanout_secs,
            "http_clients": self.clients,
            "sync_logs_inserted": self.logs,
            "queries_per_endpoint": self.queries,
            "fresh_starts": self.starts,
        })
    }
}
