//! Prometheus metrics of the serving path, through `prometheus-client` (one registry per node, so several
//! nodes in one process, as in the tests, keep their own counts).

use prometheus_client::{
    encoding::text::encode,
    metrics::{counter::Counter, gauge::Gauge},
    registry::Registry,
};

/// The `Content-Type` of [`Metrics::render`]: OpenMetrics text, which Prometheus scrapes natively.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Counters (rendered with the `_total` suffix) and gauges exported at `GET /metrics`.
#[derive(Debug)]
pub struct Metrics {
    /// Requests served and metered.
    pub requests_served: Counter,
    /// Requests refused by the payment gate (401/402).
    pub requests_refused: Counter,
    /// Requests that failed (4xx input or 5xx).
    pub requests_failed: Counter,
    /// Prompt tokens metered.
    pub prompt_tokens: Counter,
    /// Completion tokens metered.
    pub completion_tokens: Counter,
    /// Fees charged, in NEURO-wei (saturating at `u64::MAX` per request).
    pub fees_charged_wei: Counter,
    /// Batches submitted on chain.
    pub batches_submitted: Counter,
    /// Usage proofs being computed right now.
    pub proofs_in_progress: Gauge,
    /// Paid requests running right now (including those whose client hung up).
    pub requests_in_flight: Gauge,
    registry: Registry,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("neuro_miner");
        let mut counter = |name: &str, help: &str| {
            let counter = Counter::default();
            registry.register(name, help, counter.clone());
            counter
        };
        Self {
            requests_served: counter("requests_served", "Requests served and metered"),
            requests_refused: counter("requests_refused", "Requests refused for payment (401/402)"),
            requests_failed: counter("requests_failed", "Requests that failed"),
            prompt_tokens: counter("prompt_tokens", "Prompt tokens metered"),
            completion_tokens: counter("completion_tokens", "Completion tokens metered"),
            fees_charged_wei: counter("fees_charged_wei", "Fees charged in NEURO-wei"),
            batches_submitted: counter("batches_submitted", "Usage batches submitted on chain"),
            proofs_in_progress: {
                let gauge = Gauge::default();
                registry.register("proofs_in_progress", "Usage proofs being computed", gauge.clone());
                gauge
            },
            requests_in_flight: {
                let gauge = Gauge::default();
                registry.register("requests_in_flight", "Paid requests running", gauge.clone());
                gauge
            },
            registry,
        }
    }
}

impl Metrics {
    /// The exposition text.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail; an encoder error would only mean a malformed registration.
        if let Err(error) = encode(&mut out, &self.registry) {
            tracing::error!(%error, "metrics encoding failed");
        }
        out
    }
}

/// Counts one unit of work in a gauge for as long as it lives, on every exit path.
#[derive(Debug)]
pub struct InProgress(Gauge);

impl InProgress {
    /// Adds one to `gauge` until dropped.
    pub fn start(gauge: &Gauge) -> Self {
        gauge.inc();
        Self(gauge.clone())
    }
}

impl Drop for InProgress {
    fn drop(&mut self) {
        self.0.dec();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_render_with_the_total_suffix() {
        let metrics = Metrics::default();
        metrics.requests_served.inc_by(3);
        let text = metrics.render();
        assert!(text.contains("# TYPE neuro_miner_requests_served counter"), "{text}");
        assert!(text.contains("neuro_miner_requests_served_total 3"), "{text}");
        assert!(text.ends_with("# EOF\n"), "{text}");
    }
}
