//! Percentiles of a set of measurements.

use serde_json::{Value, json};

/// The distribution of a set of measurements (nearest-rank percentiles).
#[derive(Debug, Clone, Copy, Default)]
pub struct Dist {
    pub n: usize,
    pub min: f64,
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
    pub mean: f64,
}

impl Dist {
    /// The distribution of `values`, ignoring the ones that are not finite.
    pub fn of(mut values: Vec<f64>) -> Dist {
        values.retain(|v| v.is_finite());
        if values.is_empty() {
            return Dist::default();
        }
        values.sort_by(f64::total_cmp);
        let n = values.len();
        let at = |q: f64| values[((q * n as f64).ceil() as usize).clamp(1, n) - 1];
        Dist {
            n,
            min: values[0],
            p50: at(0.50),
            p95: at(0.95),
            p99: at(0.99),
            max: values[n - 1],
            mean: values.iter().sum::<f64>() / n as f64,
        }
    }

    /// For the JSON report (two decimals).
    pub fn to_json(self) -> Value {
        let r = |v: f64| (v * 100.0).round() / 100.0;
        json!({"n": self.n, "min": r(self.min), "p50": r(self.p50), "p95": r(self.p95),
               "p99": r(self.p99), "max": r(self.max), "mean": r(self.mean)})
    }

    /// For the progress lines on stdout.
    pub fn short(&self) -> String {
        format!(
            "p50 {:.1} / p95 {:.1} / p99 {:.1} / max {:.1} ms (n={})",
            self.p50, self.p95, self.p99, self.max, self.n
        )
    }
}
