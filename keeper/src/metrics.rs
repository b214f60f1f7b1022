//! Keeper metrics (Prometheus text format) and health.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

/// Counters and gauges.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Epochs this keeper finalized.
    pub epochs_finalized: AtomicU64,
    /// Epochs found already finalized by someone else.
    pub epochs_already_finalized: AtomicU64,
    /// Highest epoch known finalized (-1: none).
    pub last_finalized_epoch: AtomicI64,
    /// Finalizable epochs not yet finalized at the last check.
    pub lag_epochs: AtomicU64,
    /// Fees burned by this keeper's flushes, NEURO-wei (saturating).
    pub fees_burned_wei: AtomicU64,
    /// Flushes sent.
    pub flushes: AtomicU64,
    /// Failed transactions or cycles.
    pub tx_failures: AtomicU64,
    /// Consecutive failed cycles.
    pub consecutive_failures: AtomicU64,
    /// Signer balance in gwei.
    pub signer_balance_gwei: AtomicU64,
    /// Unix time of the last cycle that completed everything due.
    pub last_success_unix: AtomicU64,
}

impl Metrics {
    /// New metrics with no finalized epoch.
    pub fn new() -> Self {
        let m = Self::default();
        m.last_finalized_epoch.store(-1, Ordering::Relaxed);
        m
    }

    /// Exposition text.
    pub fn render(&self) -> String {
        let l = |a: &AtomicU64| a.load(Ordering::Relaxed).to_string();
        let rows: [(&str, &str, &str, String); 10] = [
            (
                "neuro_keeper_epochs_finalized_total",
                "counter",
                "Epochs finalized by this keeper",
                l(&self.epochs_finalized),
            ),
            (
                "neuro_keeper_epochs_already_finalized_total",
                "counter",
                "Epochs found finalized by another keeper",
                l(&self.epochs_already_finalized),
            ),
            (
                "neuro_keeper_last_finalized_epoch",
                "gauge",
                "Highest finalized epoch (-1: none)",
                self.last_finalized_epoch.load(Ordering::Relaxed).to_string(),
            ),
            ("neuro_keeper_lag_epochs", "gauge", "Finalizable epochs not yet finalized", l(&self.lag_epochs)),
            (
                "neuro_keeper_fees_burned_wei_total",
                "counter",
                "Fees burned by this keeper's flushes (NEURO-wei)",
                l(&self.fees_burned_wei),
            ),
            ("neuro_keeper_flushes_total", "counter", "Fee vault flushes sent", l(&self.flushes)),
            ("neuro_keeper_tx_failures_total", "counter", "Failed transactions or cycles", l(&self.tx_failures)),
            ("neuro_keeper_consecutive_failures", "gauge", "Consecutive failed cycles", l(&self.consecutive_failures)),
            ("neuro_keeper_signer_balance_gwei", "gauge", "Signer balance (gwei)", l(&self.signer_balance_gwei)),
            (
                "neuro_keeper_last_success_timestamp_seconds",
                "gauge",
                "Last fully successful cycle (unix)",
                l(&self.last_success_unix),
            ),
        ];
        rows.iter().map(|(n, t, h, v)| format!("# HELP {n} {h}\n# TYPE {n} {t}\n{n} {v}\n")).collect()
    }
}
