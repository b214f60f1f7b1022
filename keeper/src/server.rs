//! `GET /health` (200 while the last fully successful cycle is recent) and `GET /metrics`.

use std::{
    sync::Arc,
    time::{SystemTime, UNIX_EPOCH},
};

use axum::{Router, extract::State, http::StatusCode, response::IntoResponse, routing::get};

use crate::metrics::Metrics;

/// Shared state of the health server.
#[derive(Debug, Clone)]
pub struct HealthState {
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Longest acceptable time since the last fully successful cycle, in seconds.
    pub max_staleness: u64,
}

/// The router.
pub fn router(state: HealthState) -> Router {
    Router::new().route("/health", get(health)).route("/metrics", get(metrics)).with_state(state)
}

async fn health(State(state): State<HealthState>) -> impl IntoResponse {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let last = state.metrics.last_success_unix.get();
    let age = now.saturating_sub(last);
    if last > 0 && age <= state.max_staleness {
        (StatusCode::OK, format!("ok: last successful cycle {age}s ago\n"))
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "unhealthy: no successful cycle in the last {}s ({} consecutive failures)\n",
                state.max_staleness,
                state.metrics.consecutive_failures.get()
            ),
        )
    }
}

async fn metrics(State(state): State<HealthState>) -> impl IntoResponse {
    ([(axum::http::header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)], state.metrics.render())
}
