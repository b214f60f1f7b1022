//! An open-loop HTTP load generator: requests leave on a fixed schedule whether or not earlier ones returned, and
//! latency is measured from the scheduled send time, so a slow server cannot hide its queueing (no coordinated
//! omission).

use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use tokio::sync::mpsc;

/// Latency percentiles of one run, in microseconds.
#[derive(Debug, Clone)]
pub struct LoadReport {
    /// Requests sent.
    pub requests: u64,
    /// Responses other than 2xx, and transport errors.
    pub errors: u64,
    /// Achieved rate, requests per second.
    pub rate: f64,
    /// (percentile, microseconds).
    pub percentiles: Vec<(f64, u64)>,
}

/// Why a load run could not start.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The HTTP client could not be built.
    #[error("HTTP client: {0}")]
    Client(#[from] reqwest::Error),
    /// The latency histogram could not be created.
    #[error("histogram: {0}")]
    Histogram(#[from] hdrhistogram::CreationError),
    /// Nothing to request.
    #[error("no URL to request")]
    NoUrl,
}

/// Sends GET requests round-robin over `urls` at `rate` per second for `duration`.
pub async fn run(urls: &[String], rate: u32, duration: Duration) -> Result<LoadReport, LoadError> {
    if urls.is_empty() {
        return Err(LoadError::NoUrl);
    }
    let mut histogram = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    let client = reqwest::Client::builder().pool_max_idle_per_host(256).timeout(Duration::from_secs(10)).build()?;
    let total = (f64::from(rate) * duration.as_secs_f64()) as u64;
    let interval = Duration::from_secs_f64(1.0 / f64::from(rate.max(1)));
    let (tx, mut rx) = mpsc::unbounded_channel::<(Duration, bool)>();
    let start = Instant::now();
    for i in 0..total {
        let scheduled = start + interval.mul_f64(i as f64);
        tokio::time::sleep_until(scheduled.into()).await;
        let (client, tx, url) = (client.clone(), tx.clone(), urls[(i as usize) % urls.len()].clone());
        tokio::spawn(async move {
            let ok = match client.get(&url).send().await {
                Ok(response) => {
                    let ok = response.status().is_success();
                    ok && response.bytes().await.is_ok()
                }
                Err(_) => false,
            };
            let _ = tx.send((scheduled.elapsed(), ok));
        });
    }
    drop(tx);
    let mut errors = 0;
    while let Some((latency, ok)) = rx.recv().await {
        let _ = histogram.record((latency.as_micros() as u64).max(1));
        errors += u64::from(!ok);
    }
    let elapsed = start.elapsed().as_secs_f64();
    Ok(LoadReport {
        requests: total,
        errors,
        rate: total as f64 / elapsed,
        percentiles: [50.0, 90.0, 99.0, 99.9, 100.0].iter().map(|&p| (p, histogram.value_at_percentile(p))).collect(),
    })
}
