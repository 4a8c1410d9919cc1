//! Prometheus metrics (prometheus-client, the Prometheus project's own Rust client), served at
//! `/metrics` in the OpenMetrics text format ([`CONTENT_TYPE`]). Every name starts with
//! `possync_`.

use std::sync::LazyLock;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::domain::{AttemptOutcome, ProviderKind};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AttemptLabels {
    provider: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProviderLabel {
    provider: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReadLabels {
    provider: String,
    result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabel {
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DeliveryLabels {
    channel: String,
    result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabels {
    method: String,
    route: String,
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PosCallLabels {
    provider: &'static str,
    operation: &'static str,
    outcome: &'static str,
}

/// What `/metrics` serves: prometheus-client encodes OpenMetrics text, whose counters a
/// Prometheus 0.0.4 parser would misread, so the body says so.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The sync log statuses that are still waiting to reach their POS.
const QUEUED: &[&str] = &["pending", "syncing", "retry"];

type PosCalls = Family<PosCallLabels, Histogram, fn() -> Histogram>;

/// Every HTTP call to a POS, timed by the providers' HTTP agents ([`pos_call`]). The agents are
/// built from the settings alone, before any service exists, so the family is the process's
/// and each service's registry shows it.
static POS_CALLS: LazyLock<PosCalls> =
    LazyLock::new(|| PosCalls::new_with_constructor(latency_histogram));

/// One HTTP call to a POS: `operation` (`push`, `oauth_token`, `revoke`, ...) of `provider`
/// took `seconds` and ended in `outcome` (`2xx`..`5xx`, `timeout` or `error`).
pub fn pos_call(
    provider: &'static str,
    operation: &'static str,
    outcome: &'static str,
    seconds: f64,
) {
    POS_CALLS
        .get_or_create(&PosCallLabels {
            provider,
            operation,
            outcome,
        })
        .observe(seconds);
}

fn latency_histogram() -> Histogram {
    // 1 ms .. ~65 s
    Histogram::new(exponential_buckets(0.001, 2.0, 17))
}

/// The service's metrics.
pub struct Metrics {
    registry: Registry,
    attempts: Family<AttemptLabels, Counter>,
    order_to_pos: Family<ProviderLabel, Histogram, fn() -> Histogram>,
    logs: Family<StatusLabel, Gauge>,
    queue: Family<StatusLabel, Gauge>,
    lanes_open: Gauge,
    retries: Counter,
    deliveries: Family<DeliveryLabels, Counter>,
    http: Family<HttpLabels, Histogram, fn() -> Histogram>,
    pos_state_reads: Family<ReadLabels, Counter>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("possync");
        let attempts = Family::<AttemptLabels, Counter>::default();
        registry.register(
            "sync_attempts",
            "Push attempts by provider and outcome",
            attempts.clone(),
        );
        let order_to_pos =
            Family::<ProviderLabel, Histogram, fn() -> Histogram>::new_with_constructor(
                latency_histogram,
            );
        registry.register(
            "order_to_pos_seconds",
            "From order creation to the POS accepting it, by provider",
            order_to_pos.clone(),
        );
        let logs = Family::<StatusLabel, Gauge>::default();
        registry.register(
            "sync_logs",
            "Sync logs by status (all businesses)",
            logs.clone(),
        );
        let queue = Family::<StatusLabel, Gauge>::default();
        registry.register(
            "queue_depth",
            "Sync logs waiting to reach their POS, by status",
            queue.clone(),
        );
        let lanes_open = Gauge::default();
        registry.register(
            "lane_circuit_open",
            "Lanes (integrations) whose circuit is open now: their POS stopped answering",
            lanes_open.clone(),
        );
        let retries = Counter::default();
        registry.register(
            "retries_scheduled",
            "Retries scheduled after a failed attempt",
            retries.clone(),
        );
        let deliveries = Family::<DeliveryLabels, Counter>::default();
        registry.register(
            "notification_deliveries",
            "Notification delivery attempts by channel and result",
            deliveries.clone(),
        );
        let http = Family::<HttpLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_histogram,
        );
        registry.register(
            "http_request_duration_seconds",
            "HTTP request durations by method, route template and status",
            http.clone(),
        );
        registry.register(
            "pos_request_duration_seconds",
            "HTTP calls to a POS by provider, operation and outcome",
            POS_CALLS.clone(),
        );
        let pos_state_reads = Family::<ReadLabels, Counter>::default();
        registry.register(
            "pos_state_reads",
            "Reads of order states from a POS by provider and result (ok, failed)",
            pos_state_reads.clone(),
        );
        Metrics {
            pos_state_reads,
            registry,
            attempts,
            order_to_pos,
            logs,
            queue,
            lanes_open,
            retries,
            deliveries,
            http,
        }
    }
}

impl Metrics {
    /// One push attempt.
    pub fn attempt(&self, provider: ProviderKind, outcome: AttemptOutcome) {
        self.attempts
            .get_or_create(&AttemptLabels {
                provider: provider.as_str().into(),
                outcome: outcome.as_str().into(),
            })
            .inc();
        if outcome.is_retried() {
            self.retries.inc();
        }
    }

    /// Reads of order states from `provider`'s POS: `ok` answered, `failed` not.
    pub fn pos_state_reads(&self, provider: ProviderKind, ok: u64, failed: u64) {
        for (result, n) in [("ok", ok), ("failed", failed)] {
            if n > 0 {
                self.pos_state_reads
                    .get_or_create(&ReadLabels {
                        provider: provider.as_str().into(),
                        result: result.into(),
                    })
                    .inc_by(n);
            }
        }
    }

    /// An order reached its POS `seconds` after it was created.
    pub fn delivered(&self, provider: &str, seconds: f64) {
        self.order_to_pos
            .get_or_create(&ProviderLabel {
                provider: provider.into(),
            })
            .observe(seconds);
    }

    /// One notification delivery attempt.
    pub fn delivery(&self, channel: &str, ok: bool) {
        let result = if ok { "sent" } else { "failed" };
        self.deliveries
            .get_or_create(&DeliveryLabels {
                channel: channel.into(),
                result: result.into(),
            })
            .inc();
    }

    /// One HTTP request to `route` (the path template, not the path with its ids).
    pub fn http(&self, method: &str, route: &str, status: u16, seconds: f64) {
        self.http
            .get_or_create(&HttpLabels {
                method: method.into(),
                route: route.into(),
                status: status.to_string(),
            })
            .observe(seconds);
    }

    /// The OpenMetrics text, with the log counts and the open lanes read just now.
    pub fn render(&self, logs_by_status: &[(String, i64)], lanes_open: i64) -> String {
        self.lanes_open.set(lanes_open);
        for status in QUEUED {
            let n = logs_by_status
                .iter()
                .find(|(s, _)| s == status)
                .map_or(0, |(_, n)| *n);
            self.queue
                .get_or_create(&StatusLabel {
                    status: (*status).into(),
                })
                .set(n);
        }
        for (status, n) in logs_by_status {
            self.logs
                .get_or_create(&StatusLabel {
                    status: status.clone(),
                })
                .set(*n);
        }
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prefixed_metrics() {
        let m = Metrics::default();
        m.attempt(ProviderKind::Square, AttemptOutcome::Success);
        m.attempt(ProviderKind::Square, AttemptOutcome::Retry);
        m.delivered("square", 0.02);
        m.http("GET", "/api/v1/orders/{orderId}", 200, 0.001);
        let text = m.render(&[("success".into(), 7), ("retry".into(), 2)], 1);
        assert!(
            text.contains(r#"possync_sync_attempts_total{provider="square",outcome="success"} 1"#),
            "{text}"
        );
        assert!(text.contains("possync_retries_scheduled_total 1"), "{text}");
        assert!(
            text.contains(r#"possync_sync_logs{status="success"} 7"#),
            "{text}"
        );
        assert!(
            text.contains("possync_order_to_pos_seconds_bucket"),
            "{text}"
        );
        assert!(
            text.contains(r#"possync_queue_depth{status="retry"} 2"#),
            "{text}"
        );
        assert!(
            text.contains(r#"possync_queue_depth{status="pending"} 0"#),
            "{text}"
        );
        assert!(
            text.contains(r#"route="/api/v1/orders/{orderId}""#),
            "{text}"
        );
        assert!(text.contains("possync_lane_circuit_open 1"), "{text}");
    }
}
