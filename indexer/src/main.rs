//! `neuro-indexer`: indexes the Neuro contracts into SQLite or PostgreSQL and serves the REST API.

use std::{
    net::SocketAddr,
    path::PathBuf,
    process::ExitCode,
    sync::Arc,
    time::{Duration, Instant},
};

use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use neuro_indexer::{
    api::{self, AppState},
    catalog::Catalog,
    ingest::{Indexer, IngestConfig},
    loadgen,
    metrics::Metrics,
    populate,
    rpc::Chain,
    store::Store,
    verify,
};
use neuro_protocol::{Manifest, keys};

#[derive(Parser)]
#[command(name = "neuro-indexer", version, about = "Index the Neuro contracts and serve them over a REST API")]
struct Cli {
    /// JSON-RPC endpoint.
    #[arg(long, global = true, env = "NEURO_RPC_URL", default_value = "http://127.0.0.1:8545")]
    rpc_url: String,
    /// Deployment manifest.
    #[arg(long, global = true, env = "NEURO_MANIFEST", default_value = "deployments/31337.json")]
    manifest: PathBuf,
    /// Database: sqlite://<file> or postgres://user@host/db (default: <data-dir>/indexer.db).
    #[arg(long, global = true, env = "NEURO_INDEXER_DATABASE_URL")]
    database_url: Option<String>,
    /// Directory of the default SQLite database.
    #[arg(long, global = true, env = "NEURO_INDEXER_DATA_DIR", default_value = ".neuro-indexer")]
    data_dir: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Follows the chain and serves the API (/v1, /openapi.json, /health, /ready, /metrics).
    ///
    /// Example: neuro-indexer run --listen 127.0.0.1:8600
    Run {
        /// Address of the API server.
        #[arg(long, default_value = "127.0.0.1:8600")]
        listen: SocketAddr,
        /// Blocks kept for reorg detection; deeper reorganisations are reported, not repaired.
        #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=10_000))]
        reorg_depth: u64,
        /// Largest eth_getLogs block range (shrinks on the node's refusals, grows back on success).
        #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
        max_block_range: u64,
        /// eth_getLogs requests in flight during backfill.
        #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..=64))]
        concurrency: u64,
        /// Milliseconds between head polls once caught up.
        #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(50..=60_000))]
        poll_ms: u64,
        /// Database connections (API readers and the ingester).
        #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(2..=256))]
        db_connections: u32,
    },
    /// Reconciles the stored totals with on-chain view calls at a block; exits 1 on any difference.
    ///
    /// Example: neuro-indexer verify --block 1200
    Verify {
        /// Block to reconcile at (default: the indexed head).
        #[arg(long)]
        block: Option<u64>,
    },
    /// Benchmarks.
    #[command(subcommand)]
    Bench(Bench),
}

#[derive(Subcommand)]
enum Bench {
    /// Fills a devnet with protocol events (stake transactions) from NEURO_BENCH_PRIVATE_KEY's account.
    Populate {
        /// Events to emit at least.
        #[arg(long, default_value_t = 100_000)]
        events: u64,
    },
    /// Backfills the chain into an empty database and prints the throughput.
    Backfill {
        /// eth_getLogs requests in flight.
        #[arg(long, default_value_t = 4)]
        concurrency: usize,
    },
    /// Sends GET requests at a fixed rate to a running indexer and prints latency percentiles.
    Api {
        /// Base URL of the indexer.
        #[arg(long, default_value = "http://127.0.0.1:8600")]
        url: String,
        /// Paths requested round-robin.
        #[arg(long = "path", required = true)]
        paths: Vec<String>,
        /// Requests per second.
        #[arg(long, default_value_t = 1000)]
        rate: u32,
        /// Seconds to run.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"))
        .add_directive("sqlx=warn".parse().unwrap_or_default());
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
    match run(Cli::parse()).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

async fn open(cli: &Cli, connections: u32) -> Result<(Manifest, DynProvider, Store)> {
    let manifest = Manifest::load(&cli.manifest)?;
    let provider = ProviderBuilder::new().connect_http(cli.rpc_url.parse().context("invalid --rpc-url")?).erased();
    manifest.verify(&provider).await.context("checking the manifest against the RPC endpoint")?;
    let url = match &cli.database_url {
        Some(url) => url.clone(),
        None => {
            std::fs::create_dir_all(&cli.data_dir).with_context(|| format!("creating {}", cli.data_dir.display()))?;
            format!("sqlite://{}", cli.data_dir.join("indexer.db").display())
        }
    };
    let store = Store::open(&url, connections).await?;
    store.bind_deployment(manifest.chain_id, manifest.contracts.token).await?;
    Ok((manifest, provider, store))
}

fn indexer(
    manifest: &Manifest,
    provider: DynProvider,
    store: Store,
    config: IngestConfig,
    metrics: Arc<Metrics>,
) -> Result<Indexer> {
    let catalog = Catalog::new(manifest)?;
    let chain = Chain::new(provider, catalog.addresses().to_vec(), 5, Duration::from_millis(200));
    Ok(Indexer::new(chain, store, catalog, manifest.clone(), config, metrics))
}

async fn run(cli: Cli) -> Result<ExitCode> {
    match &cli.command {
        Command::Run { listen, reorg_depth, max_block_range, concurrency, poll_ms, db_connections } => {
            let (manifest, provider, store) = open(&cli, *db_connections).await?;
            let metrics = Arc::new(Metrics::new());
            let config = IngestConfig {
                reorg_depth: *reorg_depth,
                max_block_range: *max_block_range,
                concurrency: *concurrency as usize,
                poll_interval: Duration::from_millis(*poll_ms),
                progress: true,
            };
            let ingester = indexer(&manifest, provider, store.clone(), config, metrics.clone())?;
            let state = AppState { store, manifest: Arc::new(manifest), metrics };
            let listener = tokio::net::TcpListener::bind(listen).await.with_context(|| format!("binding {listen}"))?;
            tracing::info!(%listen, "API listening: /v1, /openapi.json, /health, /ready, /metrics");
            let ingest = tokio::spawn(ingester.run());
            let serve = axum::serve(listener, api::router(state)).with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            });
            serve.await.context("API server")?;
            ingest.abort();
            tracing::info!("stopped");
            Ok(ExitCode::SUCCESS)
        }
        Command::Verify { block } => {
            let (manifest, provider, store) = open(&cli, 2).await?;
            let head = store.cursor().await?.context("nothing indexed yet: run `neuro-indexer run` first")?;
            let block = block.unwrap_or(head.number);
            let report = verify::verify(&store, &provider, &manifest, block).await?;
            for difference in &report.differences {
                println!("DIFFERENCE {difference}");
            }
            println!("block {block}: {} figures compared, {} differences", report.checked, report.differences.len());
            Ok(if report.differences.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
        }
        Command::Bench(Bench::Populate { events }) => {
            let manifest = Manifest::load(&cli.manifest)?;
            let signer = keys::load_signer(None, "NEURO_BENCH_PRIVATE_KEY")?;
            let started = Instant::now();
            let emitted = populate::populate(&cli.rpc_url, &manifest, signer, *events).await?;
            println!("emitted {emitted} events in {:.1} s", started.elapsed().as_secs_f64());
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench(Bench::Backfill { concurrency }) => {
            let (manifest, provider, store) = open(&cli, 4).await?;
            if store.cursor().await?.is_some() {
                bail!("the database is not empty: benchmark backfill into a fresh database");
            }
            let metrics = Arc::new(Metrics::new());
            let config =
                IngestConfig { reorg_depth: 0, concurrency: *concurrency, progress: true, ..IngestConfig::default() };
            let mut ingester = indexer(&manifest, provider, store.clone(), config, metrics.clone())?;
            let started = Instant::now();
            let head = ingester.sync().await?;
            let seconds = started.elapsed().as_secs_f64();
            let events = metrics.events_ingested.load(std::sync::atomic::Ordering::Relaxed);
            println!("| backend | blocks | events | seconds | events/s |\n|---|---:|---:|---:|---:|");
            println!(
                "| {:?} | {} | {events} | {seconds:.2} | {:.0} |",
                store.backend(),
                head.saturating_sub(manifest.start_block),
                events as f64 / seconds
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench(Bench::Api { url, paths, rate, seconds }) => {
            let urls: Vec<String> = paths.iter().map(|p| format!("{}{p}", url.trim_end_matches('/'))).collect();
            let report = loadgen::run(&urls, *rate, Duration::from_secs(*seconds)).await?;
            println!("| paths | target rate | achieved | requests | errors | p50 | p90 | p99 | p99.9 | max |");
            println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
            let ms =
                |p: f64| report.percentiles.iter().find(|(q, _)| *q == p).map_or(0.0, |(_, us)| *us as f64 / 1000.0);
            println!(
                "| {} | {rate}/s | {:.0}/s | {} | {} | {:.2} ms | {:.2} ms | {:.2} ms | {:.2} ms | {:.2} ms |",
                paths.join(" "),
                report.rate,
                report.requests,
                report.errors,
                ms(50.0),
                ms(90.0),
                ms(99.0),
                ms(99.9),
                ms(100.0)
            );
            Ok(if report.errors == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
        }
    }
}
