//! The indexer as a service: open the database and the chain from options, and run ingestion and the API
//! until shutdown, draining in-flight requests.

use std::{net::SocketAddr, path::PathBuf, sync::Arc, time::Duration};

use alloy::providers::DynProvider;
use neuro_chain::{ChainError, RpcConfig};
use neuro_protocol::{Manifest, ManifestError};
use tokio_util::sync::CancellationToken;

use crate::{
    api::{self, AppState},
    catalog::{Catalog, CatalogError},
    ingest::{Indexer, IngestConfig},
    metrics::Metrics,
    rpc::Chain,
    store::{Store, StoreError},
};

/// Connections of the ingester's pool (it runs one step at a time; the rest serve `/health` and `verify`).
const WRITER_CONNECTIONS: u32 = 3;

/// What the indexer needs to start. Its `Debug` leaves the URLs out: they can hold a provider key or a password.
#[derive(Clone)]
pub struct IndexerOptions {
    /// JSON-RPC endpoint.
    pub rpc_url: String,
    /// Deployment manifest file.
    pub manifest: PathBuf,
    /// `sqlite://<file>` or `postgres://…`.
    pub database_url: String,
    /// Database connections of the API's read pool (the ingester has a pool of its own).
    pub db_connections: u32,
    /// Ingestion settings.
    pub ingest: IngestConfig,
    /// The front end's built files, served from `/` next to the API (`run` only).
    pub web_dir: Option<PathBuf>,
}

impl std::fmt::Debug for IndexerOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IndexerOptions")
            .field("rpc_url", &"<redacted>")
            .field("manifest", &self.manifest)
            .field("database_url", &"<redacted>")
            .field("db_connections", &self.db_connections)
            .field("ingest", &self.ingest)
            .field("web_dir", &self.web_dir)
            .finish()
    }
}

/// Why the indexer could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The manifest is unreadable or does not describe the chain.
    #[error("deployment manifest")]
    Manifest(#[from] ManifestError),
    /// The RPC endpoint is unusable.
    #[error("RPC endpoint")]
    Chain(#[from] ChainError),
    /// The database failed.
    #[error("database")]
    Store(#[from] StoreError),
    /// The catalog of contracts could not be built.
    #[error("contract catalog")]
    Catalog(#[from] CatalogError),
    /// The API listener failed.
    #[error("API server on {addr}")]
    Listen {
        /// Address.
        addr: SocketAddr,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
}

/// An opened deployment: manifest checked against the chain, database bound to it.
#[derive(Debug, Clone)]
pub struct Opened {
    /// The deployment.
    pub manifest: Manifest,
    /// Read provider (timeouts, read retries).
    pub provider: DynProvider,
    /// The database.
    pub store: Store,
}

/// Opens the manifest, the chain and the database, and checks they belong together. Read-only users (`verify`)
/// get an error if the rows were built by another version of the reductions; the ingester ([`run`]) rebuilds
/// them instead.
pub async fn open(options: &IndexerOptions) -> Result<Opened, ServiceError> {
    let opened = connect(options).await?;
    let binary = crate::reduce::REDUCTION_VERSION;
    if let Some(stored) = opened.store.reduction_version().await?.filter(|stored| *stored != binary) {
        return Err(StoreError::OtherReductions { stored, binary }.into());
    }
    Ok(opened)
}

async fn connect(options: &IndexerOptions) -> Result<Opened, ServiceError> {
    let manifest = Manifest::load(&options.manifest)?;
    let provider = neuro_chain::connect(&options.rpc_url, RpcConfig::default())?;
    manifest.verify(&provider).await?;
    let store = Store::open(&options.database_url, WRITER_CONNECTIONS).await?;
    store.bind_deployment(manifest.chain_id, manifest.contracts.token).await?;
    Ok(Opened { manifest, provider, store })
}

/// [`open`] for the one ingesting process: rows built by an older version of the reductions are deleted and
/// re-indexed from the deployment's start block.
async fn open_for_ingestion(options: &IndexerOptions) -> Result<Opened, ServiceError> {
    let opened = connect(options).await?;
    if opened.store.ensure_reduction_version(crate::reduce::REDUCTION_VERSION).await? {
        tracing::warn!("the database was built by an older version of the indexer's reductions: re-indexing");
    }
    Ok(opened)
}

/// The ingester of an opened deployment.
pub fn build_indexer(opened: &Opened, config: IngestConfig, metrics: Arc<Metrics>) -> Result<Indexer, ServiceError> {
    let catalog = Catalog::new(&opened.manifest)?;
    let chain = Chain::new(opened.provider.clone(), catalog.addresses().to_vec(), 5, Duration::from_millis(200));
    Ok(Indexer::new(chain, opened.store.clone(), catalog, opened.manifest.clone(), config, metrics))
}

/// Ingests and serves the API on `listener` until `shutdown` is cancelled; then stops accepting connections,
/// finishes the requests in flight and the ingestion step under way, and returns.
pub async fn run(
    options: IndexerOptions,
    listener: tokio::net::TcpListener,
    shutdown: CancellationToken,
) -> Result<(), ServiceError> {
    let opened = open_for_ingestion(&options).await?;
    let metrics = Arc::new(Metrics::new());
    let ingester = build_indexer(&opened, options.ingest.clone(), metrics.clone())?;
    // The API reads through a pool of its own: a flood of requests queues for those connections and cannot
    // take the ingester's.
    let reader = opened.store.reader(options.db_connections).await?;
    let state = AppState { store: reader.clone(), manifest: Arc::new(opened.manifest), metrics };
    let addr =
        listener.local_addr().map_err(|source| ServiceError::Listen { addr: ([0, 0, 0, 0], 0).into(), source })?;
    tracing::info!(%addr, "API listening: /v1, /openapi.json, /health, /ready, /metrics");
    let ingest = tokio::spawn(ingester.run(shutdown.clone()));
    let served = axum::serve(listener, api::router(state, options.web_dir.as_deref()))
        .with_graceful_shutdown(shutdown.clone().cancelled_owned())
        .await
        .map_err(|source| ServiceError::Listen { addr, source });
    shutdown.cancel();
    let _ = ingest.await;
    reader.close().await;
    opened.store.close().await;
    tracing::info!("stopped");
    served
}

/// Serves the API from a database that another process ingests into, without ingesting and without a node: more
/// API processes behind a load balancer, or a snapshot for audits and benchmarks. The database must hold rows of
/// this deployment built by this version of the reductions. Opening it applies this binary's migrations (so run
/// the same version as the ingester, with a role allowed to); a hot standby, which refuses writes, cannot be
/// served this way.
pub async fn serve(
    options: IndexerOptions,
    max_staleness: Duration,
    listener: tokio::net::TcpListener,
    shutdown: CancellationToken,
) -> Result<(), ServiceError> {
    let manifest = Manifest::load(&options.manifest)?;
    let store = Store::open(&options.database_url, options.db_connections).await?;
    store.bind_deployment(manifest.chain_id, manifest.contracts.token).await?;
    let binary = crate::reduce::REDUCTION_VERSION;
    if let Some(stored) = store.reduction_version().await?.filter(|stored| *stored != binary) {
        return Err(StoreError::OtherReductions { stored, binary }.into());
    }
    let metrics = Arc::new(Metrics::new());
    // Nothing here follows the chain; readiness says whether what is served is current, rechecked every few
    // seconds: the ingesting process may be stopped, or have rebuilt the rows with other reductions.
    let watch = tokio::spawn(watch_database(store.clone(), metrics.clone(), max_staleness, shutdown.clone()));
    let state = AppState { store: store.clone(), manifest: Arc::new(manifest), metrics };
    let addr =
        listener.local_addr().map_err(|source| ServiceError::Listen { addr: ([0, 0, 0, 0], 0).into(), source })?;
    tracing::info!(%addr, "API listening (serving only, no ingestion)");
    let served = axum::serve(listener, api::router(state, options.web_dir.as_deref()))
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await
        .map_err(|source| ServiceError::Listen { addr, source });
    watch.abort();
    store.close().await;
    served
}

/// Keeps a serving-only process's readiness true to its database: not ready while nothing is indexed, when the
/// rows were rebuilt by other reductions, or when the indexed head is older than `max_staleness` (the ingester
/// stopped or fell behind).
async fn watch_database(store: Store, metrics: Arc<Metrics>, max_staleness: Duration, shutdown: CancellationToken) {
    let binary = crate::reduce::REDUCTION_VERSION;
    loop {
        let reason = match (store.reduction_version().await, store.cursor().await) {
            (Ok(Some(stored)), _) if stored != binary => {
                Some(format!("the database holds rows of reduction version {stored}; this binary serves {binary}"))
            }
            (Ok(_), Ok(Some(cursor))) => {
                metrics.indexed_head.set(cursor.number);
                let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
                let age = now.saturating_sub(cursor.timestamp);
                (age > max_staleness.as_secs()).then(|| {
                    format!(
                        "stale: the indexed head (block {}) is {age} s old; is the ingesting process running?",
                        cursor.number
                    )
                })
            }
            (Ok(_), Ok(None)) => Some("nothing indexed yet".to_owned()),
            (Err(e), _) | (_, Err(e)) => {
                tracing::warn!(error = %e, "reading the database's state");
                Some("the database is failing".to_owned())
            }
        };
        metrics.set_not_ready(reason);
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(Duration::from_secs(2)) => {}
        }
    }
}
