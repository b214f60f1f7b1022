//! `serve`: load the models, start the HTTP API, and do each epoch's work in the background.

use std::{collections::HashMap, net::SocketAddr, sync::Arc, time::Duration};

use alloy::primitives::U256;
use indicatif::{ProgressBar, ProgressStyle};
use neuro_protocol::bindings::ModelRegistry;
use tokio_util::sync::CancellationToken;

use crate::{
    chain::Chain,
    config::Config,
    engine::{Engine, ModelSource},
    gate::PaymentGate,
    metrics::Metrics,
    server::{AppState, ServedModel, metrics_router, router},
    store::Store,
    work::EpochWorker,
};

/// Errors starting the node.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// A configured model is unusable.
    #[error("model '{name}': {reason}")]
    Model {
        /// Configured name.
        name: String,
        /// Why.
        reason: String,
    },
    /// The proving key is missing or does not match the on-chain verifier.
    #[error("cannot prove usage with the configured keys")]
    ProvingKey(#[source] crate::work::WorkError),
    /// The listener could not bind.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// Address.
        addr: String,
        /// Cause.
        source: std::io::Error,
    },
}

/// Loads every configured model, checking its price against the on-chain floor.
pub async fn load_models(config: &Config, chain: &Chain) -> Result<HashMap<String, ServedModel>, NodeError> {
    let registry = ModelRegistry::new(chain.manifest.contracts.model_registry, chain.provider.clone());
    let allow_generic = std::env::var_os("NEURO_ALLOW_GENERIC_CPU").is_some_and(|v| v == "1");
    neuro_engine::cpu::check_simd(allow_generic)
        .map_err(|e| NodeError::Model { name: "*".into(), reason: e.to_string() })?;
    let threads = neuro_engine::cpu::configure_threads(config.engine.threads);
    tracing::info!(threads, dtype = ?config.engine.dtype, "engine settings");
    let mut models = HashMap::new();
    for m in &config.models {
        let err = |reason: String| NodeError::Model { name: m.name.clone(), reason };
        let (model_id, price) = (m.id.to_bytes(), m.price_per_mtok);
        let floor = registry.minPricePerMTok(m.id.0).call().await.map_err(|e| err(e.to_string()))?;
        if price < floor {
            return Err(err(format!(
                "price {price} is below the model's on-chain floor {floor} NEURO-wei per million tokens"
            )));
        }
        let source = ModelSource::detect(&m.path).map_err(|e| err(e.to_string()))?;
        let bar = ProgressBar::new_spinner().with_message(format!("loading {} from {}", m.name, m.path.display()));
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.enable_steady_tick(Duration::from_millis(120));
        let engine = Engine::load_in(source, None, config.engine.dtype).await.map_err(|e| err(e.to_string()));
        bar.finish_and_clear();
        let engine = Arc::new(engine?);
        let started =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        tracing::info!(model = %m.name, id = %m.id, %price, "model loaded");
        models.insert(
            m.name.clone(),
            ServedModel { name: m.name.clone(), model_id, engine, price_per_mtok: price, created: started },
        );
    }
    Ok(models)
}

/// What the epoch loop learns about the previous epoch's submission window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowCheck {
    /// The window is open: do the work.
    Open,
    /// The chain says the window is closed (or the epoch is finalized): nothing more can be done.
    Closed,
    /// The chain could not be asked: try again on the next tick, never skip the epoch.
    Unknown,
}

impl WindowCheck {
    /// Reads `isOpen(epoch)`; an RPC failure is [`Self::Unknown`], not "closed".
    pub async fn of(chain: &Chain, epoch: u64) -> Self {
        match chain.emissions().isOpen(U256::from(epoch)).call().await {
            Ok(true) => Self::Open,
            Ok(false) => Self::Closed,
            Err(e) => {
                tracing::warn!(epoch, error = %e, "cannot read whether the submission window is open; retrying");
                Self::Unknown
            }
        }
    }
}

/// Polls the chain clock and runs each finished epoch's work while its submission window is open: once, and
/// again whenever a receipt of that epoch arrives late (a request that straddled the boundary).
/// Failures are retried on the next tick (with the chain telling what is already done). Stops between steps
/// when `shutdown` is cancelled; epoch work under way (a proof, a transaction) is finished first, as it is
/// bounded by the relayer's timeouts and recorded by the store.
pub async fn epoch_loop(worker: Arc<EpochWorker>, chain: Chain, tick: Duration, shutdown: CancellationToken) {
    // `done`: the epoch whose work last finished; `closed`: the epoch whose window was seen closed.
    let (mut done, mut closed): (Option<u64>, Option<u64>) = (None, None);
    let mut backoff = tick;
    loop {
        tokio::select! {
            () = tokio::time::sleep(backoff) => {}
            () = shutdown.cancelled() => return,
        }
        let Ok(now) = chain.now().await else {
            backoff = (backoff * 2).min(Duration::from_secs(60));
            continue;
        };
        let current = chain.epoch_at(now);
        let Some(previous) = current.checked_sub(1) else { continue };
        if closed == Some(previous) {
            continue;
        }
        // Once done, the epoch is swept again only if a receipt arrived since: a request admitted before the
        // boundary that finished after the work ran. (A store error skips one tick, it is not an answer.)
        if done == Some(previous) && !worker.has_unbatched(previous).await.unwrap_or(false) {
            continue;
        }
        match WindowCheck::of(&chain, previous).await {
            WindowCheck::Open => {}
            WindowCheck::Closed => {
                closed = Some(previous);
                continue;
            }
            WindowCheck::Unknown => {
                backoff = (backoff * 2).min(Duration::from_secs(30));
                continue;
            }
        }
        match worker.run(previous).await {
            Ok(report) => {
                tracing::info!(epoch = previous, ?report, "epoch work done");
                done = Some(previous);
                backoff = tick;
            }
            Err(e) => {
                tracing::warn!(epoch = previous, error = %e, "epoch work failed; retrying");
                backoff = (backoff * 2).min(Duration::from_secs(30));
            }
        }
    }
}

/// The node's listeners: the public API, and the operator's metrics endpoint when configured apart.
#[derive(Debug)]
pub struct Listeners {
    /// The public API.
    pub api: tokio::net::TcpListener,
    /// `/metrics`, when `metrics_listen` is set (otherwise it is served on the API listener).
    pub metrics: Option<tokio::net::TcpListener>,
}

/// Binds the configured listen addresses.
pub async fn bind(config: &Config) -> Result<Listeners, NodeError> {
    async fn bind_one(text: &str) -> Result<tokio::net::TcpListener, NodeError> {
        let error = |source| NodeError::Listen { addr: text.to_owned(), source };
        let addr: SocketAddr = text.parse().map_err(|e: std::net::AddrParseError| error(std::io::Error::other(e)))?;
        tokio::net::TcpListener::bind(addr).await.map_err(error)
    }
    let api = bind_one(&config.listen).await?;
    let metrics = match &config.metrics_listen {
        Some(addr) => Some(bind_one(addr).await?),
        None => None,
    };
    Ok(Listeners { api, metrics })
}

/// Runs the node on `listeners` until `shutdown` is cancelled, then drains: no new connections, in-flight
/// requests (streams included) finish and their receipts are stored, epoch work under way finishes.
pub async fn serve(
    config: &Config,
    chain: Chain,
    store: Store,
    listeners: Listeners,
    shutdown: CancellationToken,
) -> Result<(), NodeError> {
    let metrics = Arc::new(Metrics::default());
    let worker = Arc::new(EpochWorker::new(
        chain.clone(),
        store.clone(),
        config.proving_keys.clone(),
        config.batch_size,
        metrics.clone(),
    ));
    // Before anything is served: work whose proofs the ledger would reject would never be paid in rewards.
    worker.check_proving_key().await.map_err(NodeError::ProvingKey)?;
    let models = load_models(config, &chain).await?;
    let limits = config.limits;
    let gate = PaymentGate::new(
        chain.clone(),
        store.clone(),
        limits.max_requests_per_user.max(1),
        Duration::from_millis(limits.chain_cache_ms),
    );
    let tick = Duration::from_secs((chain.manifest.epoch_length / 20).clamp(1, 30));
    let epochs = tokio::spawn(epoch_loop(worker, chain.clone(), tick, shutdown.clone()));
    let state = Arc::new(AppState {
        models,
        gate,
        store,
        chain,
        metrics,
        capacity: Arc::new(tokio::sync::Semaphore::new(limits.max_concurrent_requests.max(1))),
        max_body_bytes: limits.max_body_bytes,
    });
    let client_timeout = Duration::from_millis(limits.client_timeout_ms.max(1));
    let api_addr =
        listeners.api.local_addr().map_err(|source| NodeError::Listen { addr: config.listen.clone(), source })?;
    tracing::info!(addr = %api_addr, "serving the OpenAI-compatible API");
    let metrics_server = match listeners.metrics {
        Some(listener) => {
            let addr =
                listener.local_addr().map_err(|source| NodeError::Listen { addr: api_addr.to_string(), source })?;
            tracing::info!(%addr, "serving /metrics");
            let router = metrics_router(state.clone());
            Some(tokio::spawn(crate::http::serve(listener, router, client_timeout, 64, shutdown.clone())))
        }
        None => {
            tracing::warn!("/metrics is served on the public API port: set metrics_listen to keep it private");
            None
        }
    };
    let with_metrics = metrics_server.is_none();
    let result = crate::http::serve(
        listeners.api,
        router(state, with_metrics),
        client_timeout,
        limits.max_connections,
        shutdown.clone(),
    )
    .await
    .map_err(|source| NodeError::Listen { addr: config.listen.clone(), source });
    if let Some(server) = metrics_server {
        let _ = server.await;
    }
    shutdown.cancel();
    let _ = epochs.await;
    tracing::info!("node stopped");
    result
}
