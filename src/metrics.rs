//! Prometheus metrics (prometheus-client, the Prometheus project's own Rust client), served at
//! `/metrics` in the text format. Every name starts with `possync_`.

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
    status: String,
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
    retries: Counter,
    deliveries: Family<DeliveryLabels, Counter>,
    http: Family<HttpLabels, Histogram, fn() -> Histogram>,
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
            "HTTP request durations",
            http.clone(),
        );
        Metrics {
            registry,
            attempts,
            order_to_pos,
            logs,
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

    /// One HTTP request.
    pub fn http(&self, method: &str, status: u16, seconds: f64) {
        self.http
            .get_or_create(&HttpLabels {
                method: method.into(),
                status: status.to_string(),
            })
            .observe(seconds);
    }

    /// The text exposition, with the log counts read just now.
    pub fn render(&self, logs_by_status: &[(String, i64)]) -> String {
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
        m.http("GET", 200, 0.001);
        let text = m.render(&[("success".into(), 7)]);
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
    }
}
