//! Indexer health, readiness and Prometheus metrics, shared by the ingester and the API.

use std::sync::{
    Mutex,
    atomic::{AtomicU64, Ordering},
};

/// What the ingester last saw, for `/v1/status`, `/ready` and `/metrics`.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Latest chain head seen.
    pub chain_head: AtomicU64,
    /// Latest finalized block the node reported (0: none).
    pub chain_finalized: AtomicU64,
    /// Last block fully indexed.
    pub indexed_head: AtomicU64,
    /// Events stored since start.
    pub events_ingested: AtomicU64,
    /// Ingestion rate over the last committed step, in events per second (rounded).
    pub events_per_second: AtomicU64,
    /// Reorganisations rolled back.
    pub reorgs: AtomicU64,
    /// Blocks removed by rollbacks.
    pub reorged_blocks: AtomicU64,
    /// Chain reads that failed after their retries.
    pub rpc_errors: AtomicU64,
    /// Database operations that failed.
    pub db_errors: AtomicU64,
    /// API requests served.
    pub http_requests: AtomicU64,
    /// Why the indexer is not ready (None: ready).
    not_ready: Mutex<Option<String>>,
}

impl Metrics {
    /// Metrics of an indexer that has not yet synced.
    pub fn new() -> Self {
        let metrics = Self::default();
        metrics.set_not_ready(Some("starting".to_owned()));
        metrics
    }

    /// Records why the indexer is not ready, or that it is (None).
    pub fn set_not_ready(&self, reason: Option<String>) {
        *self.not_ready.lock().unwrap_or_else(|p| p.into_inner()) = reason;
    }

    /// Why the indexer is not ready, if it is not.
    pub fn not_ready(&self) -> Option<String> {
        self.not_ready.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Blocks between the chain head and the indexed head.
    pub fn lag(&self) -> u64 {
        self.chain_head.load(Ordering::Relaxed).saturating_sub(self.indexed_head.load(Ordering::Relaxed))
    }

    /// Prometheus text exposition.
    pub fn render(&self) -> String {
        let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let rows: [(&str, &str, &str, u64); 11] = [
            ("neuro_indexer_chain_head", "gauge", "Latest chain head seen", l(&self.chain_head)),
            ("neuro_indexer_indexed_head", "gauge", "Last block fully indexed", l(&self.indexed_head)),
            ("neuro_indexer_head_lag_blocks", "gauge", "Blocks between chain head and indexed head", self.lag()),
            (
                "neuro_indexer_finalized_block",
                "gauge",
                "Finalized block reported by the node",
                l(&self.chain_finalized),
            ),
            ("neuro_indexer_events_total", "counter", "Events stored since start", l(&self.events_ingested)),
            ("neuro_indexer_events_per_second", "gauge", "Ingestion rate of the last step", l(&self.events_per_second)),
            ("neuro_indexer_reorgs_total", "counter", "Reorganisations rolled back", l(&self.reorgs)),
            ("neuro_indexer_reorged_blocks_total", "counter", "Blocks removed by rollbacks", l(&self.reorged_blocks)),
            ("neuro_indexer_rpc_errors_total", "counter", "Chain reads failed after retries", l(&self.rpc_errors)),
            ("neuro_indexer_db_errors_total", "counter", "Database operations failed", l(&self.db_errors)),
            ("neuro_indexer_http_requests_total", "counter", "API requests served", l(&self.http_requests)),
        ];
        let mut out = String::new();
        for (name, kind, help, value) in rows {
            out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}\n"));
        }
        let ready = u64::from(self.not_ready().is_none());
        out.push_str(&format!("# HELP neuro_indexer_ready Whether /ready succeeds\n# TYPE neuro_indexer_ready gauge\nneuro_indexer_ready {ready}\n"));
        out
    }
}
