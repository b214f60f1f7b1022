//! Prometheus metrics of the serving path (text exposition format, no external registry).

use std::sync::atomic::{AtomicU64, Ordering};

/// Counters exported at `GET /metrics`.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Requests served and metered.
    pub requests_served: AtomicU64,
    /// Requests refused by the payment gate (401/402).
    pub requests_refused: AtomicU64,
    /// Requests that failed (4xx input or 5xx).
    pub requests_failed: AtomicU64,
    /// Prompt tokens metered.
    pub prompt_tokens: AtomicU64,
    /// Completion tokens metered.
    pub completion_tokens: AtomicU64,
    /// Fees charged, in NEURO-wei (saturating).
    pub fees_charged_wei: AtomicU64,
    /// Batches submitted on chain.
    pub batches_submitted: AtomicU64,
}

impl Metrics {
    /// Adds `value` to `counter`.
    pub fn add(counter: &AtomicU64, value: u64) {
        counter.fetch_add(value, Ordering::Relaxed);
    }

    /// The exposition text.
    pub fn render(&self) -> String {
        let rows = [
            ("neuro_miner_requests_served_total", "Requests served and metered", &self.requests_served),
            ("neuro_miner_requests_refused_total", "Requests refused for payment (401/402)", &self.requests_refused),
            ("neuro_miner_requests_failed_total", "Requests that failed", &self.requests_failed),
            ("neuro_miner_prompt_tokens_total", "Prompt tokens metered", &self.prompt_tokens),
            ("neuro_miner_completion_tokens_total", "Completion tokens metered", &self.completion_tokens),
            ("neuro_miner_fees_charged_wei_total", "Fees charged in NEURO-wei", &self.fees_charged_wei),
            ("neuro_miner_batches_submitted_total", "Usage batches submitted on chain", &self.batches_submitted),
        ];
        rows.iter()
            .map(|(name, help, value)| {
                format!("# HELP {name} {help}\n# TYPE {name} counter\n{name} {}\n", value.load(Ordering::Relaxed))
            })
            .collect()
    }
}
