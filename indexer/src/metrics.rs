//! Indexer health, readiness and Prometheus metrics (through `prometheus-client`, one registry per indexer),
//! shared by the ingester and the API.

use std::sync::{Mutex, atomic::AtomicU64};

use prometheus_client::{
    encoding::text::encode,
    metrics::{counter::Counter, gauge::Gauge},
    registry::Registry,
};

/// The `Content-Type` of [`Metrics::render`]: OpenMetrics text, which Prometheus scrapes natively.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// A gauge of a non-negative quantity.
pub type GaugeU64 = Gauge<u64, AtomicU64>;

/// What the ingester last saw, for `/v1/status`, `/ready` and `/metrics`.
#[derive(Debug)]
pub struct Metrics {
    /// Latest chain head seen.
    pub chain_head: GaugeU64,
    /// Latest finalized block the node reported (0: none).
    pub chain_finalized: GaugeU64,
    /// Last block fully indexed.
    pub indexed_head: GaugeU64,
    /// Events stored since start.
    pub events_ingested: Counter,
    /// Ingestion rate over the last committed step, in events per second (rounded).
    pub events_per_second: GaugeU64,
    /// Reorganisations rolled back.
    pub reorgs: Counter,
    /// Blocks removed by rollbacks.
    pub reorged_blocks: Counter,
    /// Chain reads that failed after their retries.
    pub rpc_errors: Counter,
    /// Database operations that failed.
    pub db_errors: Counter,
    /// API requests served.
    pub http_requests: Counter,
    /// Derived at render time from the two heads.
    head_lag: GaugeU64,
    /// 1 when `/ready` succeeds.
    ready: GaugeU64,
    /// Why the indexer is not ready (None: ready).
    not_ready: Mutex<Option<String>>,
    registry: Registry,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Metrics of an indexer that has not yet synced.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("neuro_indexer");
        let mut gauge = |name: &str, help: &str| {
            let gauge = GaugeU64::default();
            registry.register(name, help, gauge.clone());
            gauge
        };
        let chain_head = gauge("chain_head", "Latest chain head seen");
        let indexed_head = gauge("indexed_head", "Last block fully indexed");
        let head_lag = gauge("head_lag_blocks", "Blocks between chain head and indexed head");
        let chain_finalized = gauge("finalized_block", "Finalized block reported by the node");
        let events_per_second = gauge("events_per_second", "Ingestion rate of the last step");
        let ready = gauge("ready", "Whether /ready succeeds");
        let mut counter = |name: &str, help: &str| {
            let counter = Counter::default();
            registry.register(name, help, counter.clone());
            counter
        };
        let metrics = Self {
            chain_head,
            chain_finalized,
            indexed_head,
            events_ingested: counter("events", "Events stored since start"),
            events_per_second,
            reorgs: counter("reorgs", "Reorganisations rolled back"),
            reorged_blocks: counter("reorged_blocks", "Blocks removed by rollbacks"),
            rpc_errors: counter("rpc_errors", "Chain reads failed after retries"),
            db_errors: counter("db_errors", "Database operations failed"),
            http_requests: counter("http_requests", "API requests served"),
            head_lag,
            ready,
            not_ready: Mutex::new(None),
            registry,
        };
        metrics.set_not_ready(Some("starting".to_owned()));
        metrics
    }

    /// Records why the indexer is not ready, or that it is (None).
    pub fn set_not_ready(&self, reason: Option<String>) {
        self.ready.set(u64::from(reason.is_none()));
        *self.not_ready.lock().unwrap_or_else(|p| p.into_inner()) = reason;
    }

    /// Why the indexer is not ready, if it is not.
    pub fn not_ready(&self) -> Option<String> {
        self.not_ready.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Blocks between the chain head and the indexed head.
    pub fn lag(&self) -> u64 {
        self.chain_head.get().saturating_sub(self.indexed_head.get())
    }

    /// Exposition text.
    pub fn render(&self) -> String {
        self.head_lag.set(self.lag());
        let mut out = String::new();
        // Writing into a String cannot fail; an encoder error would only mean a malformed registration.
        if let Err(error) = encode(&mut out, &self.registry) {
            tracing::error!(%error, "metrics encoding failed");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lag_and_readiness_are_rendered() {
        let metrics = Metrics::new();
        metrics.chain_head.set(10);
        metrics.indexed_head.set(7);
        let text = metrics.render();
        assert!(text.contains("neuro_indexer_head_lag_blocks 3\n"), "{text}");
        assert!(text.contains("neuro_indexer_ready 0\n"), "{text}");
        metrics.set_not_ready(None);
        metrics.events_ingested.inc_by(5);
        let text = metrics.render();
        assert!(text.contains("neuro_indexer_ready 1\n"), "{text}");
        assert!(text.contains("neuro_indexer_events_total 5\n"), "{text}");
    }
}
