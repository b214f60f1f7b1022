//! The keeper as a daemon: a cycle every interval and a health/metrics server, until shutdown. A cycle under
//! way when shutdown arrives is finished (its transaction confirmed or given up by the relayer's own timeouts),
//! bounded by `drain`, so a stop never abandons a half-known transaction without saying so.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::{
    keeper::Keeper,
    server::{HealthState, router},
};

/// Daemon settings.
#[derive(Debug, Clone, Copy)]
pub struct DaemonConfig {
    /// Time between cycles.
    pub interval: Duration,
    /// Longest a cycle under way may take to finish after shutdown is requested.
    pub drain: Duration,
}

/// Runs cycles and serves `/health` and `/metrics` on `listener` until `shutdown` is cancelled.
pub async fn run(
    keeper: Keeper,
    health: HealthState,
    listener: tokio::net::TcpListener,
    config: DaemonConfig,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let server = axum::serve(listener, router(health)).with_graceful_shutdown(shutdown.clone().cancelled_owned());
    let server = tokio::spawn(server.into_future());
    while !shutdown.is_cancelled() {
        let cycle = keeper.run_once();
        tokio::pin!(cycle);
        let result = tokio::select! {
            result = &mut cycle => Some(result),
            () = shutdown.cancelled() => {
                tracing::info!(drain = ?config.drain, "finishing the cycle under way before stopping");
                tokio::time::timeout(config.drain, &mut cycle).await.ok()
            }
        };
        match result {
            Some(Ok(report)) if report.finalized.is_empty() && report.flushed.is_none() => {}
            Some(Ok(report)) => tracing::info!(?report, "cycle done"),
            Some(Err(e)) => tracing::warn!(error = %e, "cycle failed; retrying next interval"),
            None => tracing::warn!("cycle did not finish within the drain time; the next start resumes it"),
        }
        tokio::select! {
            () = tokio::time::sleep(config.interval) => {}
            () = shutdown.cancelled() => {}
        }
    }
    server.await.map_err(std::io::Error::other)??;
    tracing::info!("keeper stopped");
    Ok(())
}
