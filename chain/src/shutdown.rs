//! Stopping daemons cleanly: SIGTERM (systemd, Docker, Kubernetes) and Ctrl-C cancel one token that every part
//! of a daemon watches, so it stops accepting work, drains what is in flight and exits 0.

use tokio_util::sync::CancellationToken;

/// Waits for SIGTERM or Ctrl-C, then cancels `token`. A second signal while draining exits at once.
pub async fn on_signal(token: CancellationToken) {
    wait_for_signal().await;
    tracing::info!("shutdown requested: draining in-flight work (signal again to exit now)");
    token.cancel();
    wait_for_signal().await;
    tracing::warn!("second signal: exiting without draining");
    std::process::exit(130);
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM; only Ctrl-C stops the daemon");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
