//! Keeper metrics, through `prometheus-client` (one registry per keeper).

use std::sync::atomic::{AtomicU64, Ordering};

use prometheus_client::{
    encoding::text::encode,
    metrics::{counter::Counter, gauge::Gauge},
    registry::Registry,
};

/// The `Content-Type` of [`Metrics::render`]: OpenMetrics text, which Prometheus scrapes natively.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// A gauge of a non-negative quantity.
pub type GaugeU64 = Gauge<u64, AtomicU64>;

/// Counters (rendered with the `_total` suffix) and gauges.
#[derive(Debug)]
pub struct Metrics {
    /// Epochs this keeper finalized.
    pub epochs_finalized: Counter,
    /// Epochs found already finalized by someone else.
    pub epochs_already_finalized: Counter,
    /// Highest epoch known finalized (-1: none).
    pub last_finalized_epoch: Gauge,
    /// Finalizable epochs not yet finalized at the last check.
    pub lag_epochs: GaugeU64,
    /// Fees burned by this keeper's flushes, NEURO-wei (saturating at `u64::MAX` per flush).
    pub fees_burned_wei: Counter,
    /// Flushes sent.
    pub flushes: Counter,
    /// Failed transactions or cycles.
    pub tx_failures: Counter,
    /// Consecutive failed cycles.
    pub consecutive_failures: GaugeU64,
    /// Signer balance in gwei.
    pub signer_balance_gwei: GaugeU64,
    /// Unix time of the last cycle that completed everything due.
    pub last_success_unix: GaugeU64,
    registry: Registry,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// New metrics with no finalized epoch.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("neuro_keeper");
        let epochs_finalized = Counter::default();
        registry.register("epochs_finalized", "Epochs finalized by this keeper", epochs_finalized.clone());
        let epochs_already_finalized = Counter::default();
        registry.register(
            "epochs_already_finalized",
            "Epochs found finalized by another keeper",
            epochs_already_finalized.clone(),
        );
        let last_finalized_epoch = Gauge::default();
        last_finalized_epoch.set(-1);
        registry.register("last_finalized_epoch", "Highest finalized epoch (-1: none)", last_finalized_epoch.clone());
        let lag_epochs = GaugeU64::default();
        registry.register("lag_epochs", "Finalizable epochs not yet finalized", lag_epochs.clone());
        let fees_burned_wei = Counter::default();
        registry.register(
            "fees_burned_wei",
            "Fees burned by this keeper's flushes (NEURO-wei)",
            fees_burned_wei.clone(),
        );
        let flushes = Counter::default();
        registry.register("flushes", "Fee vault flushes sent", flushes.clone());
        let tx_failures = Counter::default();
        registry.register("tx_failures", "Failed transactions or cycles", tx_failures.clone());
        let consecutive_failures = GaugeU64::default();
        registry.register("consecutive_failures", "Consecutive failed cycles", consecutive_failures.clone());
        let signer_balance_gwei = GaugeU64::default();
        registry.register("signer_balance_gwei", "Signer balance (gwei)", signer_balance_gwei.clone());
        let last_success_unix = GaugeU64::default();
        registry.register(
            "last_success_timestamp_seconds",
            "Last fully successful cycle (unix)",
            last_success_unix.clone(),
        );
        Self {
            epochs_finalized,
            epochs_already_finalized,
            last_finalized_epoch,
            lag_epochs,
            fees_burned_wei,
            flushes,
            tx_failures,
            consecutive_failures,
            signer_balance_gwei,
            last_success_unix,
            registry,
        }
    }

    /// Raises the highest finalized epoch to `epoch` if it is higher.
    pub fn saw_finalized(&self, epoch: u64) {
        self.last_finalized_epoch.inner().fetch_max(i64::try_from(epoch).unwrap_or(i64::MAX), Ordering::Relaxed);
    }

    /// Exposition text.
    pub fn render(&self) -> String {
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
    fn renders_conventional_names() {
        let metrics = Metrics::new();
        metrics.saw_finalized(4);
        metrics.saw_finalized(2);
        metrics.epochs_finalized.inc();
        let text = metrics.render();
        assert!(text.contains("neuro_keeper_last_finalized_epoch 4\n"), "{text}");
        assert!(text.contains("neuro_keeper_epochs_finalized_total 1\n"), "{text}");
        assert!(text.contains("neuro_keeper_last_success_timestamp_seconds 0\n"), "{text}");
    }
}
