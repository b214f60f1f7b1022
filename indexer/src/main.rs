//! `neuro-indexer`: indexes the Neuro contracts into SQLite or PostgreSQL and serves the REST API.

use std::{net::SocketAddr, path::PathBuf, process::ExitCode, time::Duration};

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use neuro_indexer::{
    ingest::IngestConfig,
    service::{self, IndexerOptions, Opened, open},
    verify,
};
use tokio_util::sync::CancellationToken;

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
        /// Blocks read one by one below the head when the node reports no finalized block (or finality lags further); reorganisations of any depth are repaired.
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
        /// Database connections of the API's read pool (the ingester has 3 of its own).
        #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(2..=256))]
        db_connections: u32,
        /// The front end's built files (`web/dist`, built by scripts/setup.sh), served from `/`.
        #[arg(long)]
        web_dir: Option<PathBuf>,
    },
    /// Serves the API from a database another `run` ingests into, without ingesting or a node (more API processes).
    ///
    /// Example: neuro-indexer --database-url postgres://neuro@db/neuro serve --listen 0.0.0.0:8600
    Serve {
        /// Not ready (503 on /ready) when the indexed head is older than this many seconds.
        #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..))]
        max_staleness_secs: u64,
        /// Address of the API server.
        #[arg(long, default_value = "127.0.0.1:8600")]
        listen: SocketAddr,
        /// Database connections of the read pool.
        #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(2..=256))]
        db_connections: u32,
        /// The front end's built files (`web/dist`), served from `/`.
        #[arg(long)]
        web_dir: Option<PathBuf>,
    },
    /// Reconciles the stored totals with on-chain view calls at a block; exits 1 on any difference.
    ///
    /// Example: neuro-indexer verify --block 1200
    Verify {
        /// Block to reconcile at (default: the indexed head).
        #[arg(long)]
        block: Option<u64>,
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

fn database_url(cli: &Cli) -> Result<String> {
    Ok(match &cli.database_url {
        Some(url) => url.clone(),
        None => {
            std::fs::create_dir_all(&cli.data_dir).with_context(|| format!("creating {}", cli.data_dir.display()))?;
            format!("sqlite://{}", cli.data_dir.join("indexer.db").display())
        }
    })
}

fn options(cli: &Cli, db_connections: u32, ingest: IngestConfig, web_dir: Option<PathBuf>) -> Result<IndexerOptions> {
    Ok(IndexerOptions {
        rpc_url: cli.rpc_url.clone(),
        manifest: cli.manifest.clone(),
        database_url: database_url(cli)?,
        db_connections,
        ingest,
        web_dir,
    })
}

fn check_web_dir(web_dir: Option<&std::path::Path>) -> Result<()> {
    if let Some(dir) = web_dir
        && !dir.join("index.html").is_file()
    {
        anyhow::bail!("--web-dir {}: no index.html there (build the front end: scripts/setup.sh)", dir.display());
    }
    Ok(())
}

async fn run(cli: Cli) -> Result<ExitCode> {
    match &cli.command {
        Command::Run { listen, reorg_depth, max_block_range, concurrency, poll_ms, db_connections, web_dir } => {
            let ingest = IngestConfig {
                reorg_depth: *reorg_depth,
                max_block_range: *max_block_range,
                concurrency: *concurrency as usize,
                poll_interval: Duration::from_millis(*poll_ms),
                progress: true,
            };
            if let Some(dir) = web_dir
                && !dir.join("index.html").is_file()
            {
                anyhow::bail!(
                    "--web-dir {}: no index.html there (build the front end: scripts/setup.sh)",
                    dir.display()
                );
            }
            let options = options(&cli, *db_connections, ingest, web_dir.clone())?;
            let listener = tokio::net::TcpListener::bind(listen).await.with_context(|| format!("binding {listen}"))?;
            let shutdown = CancellationToken::new();
            tokio::spawn(neuro_chain::shutdown::on_signal(shutdown.clone()));
            service::run(options, listener, shutdown).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve { listen, db_connections, web_dir, max_staleness_secs } => {
            check_web_dir(web_dir.as_deref())?;
            let options = options(&cli, *db_connections, IngestConfig::default(), web_dir.clone())?;
            let listener = tokio::net::TcpListener::bind(listen).await.with_context(|| format!("binding {listen}"))?;
            let shutdown = CancellationToken::new();
            tokio::spawn(neuro_chain::shutdown::on_signal(shutdown.clone()));
            service::serve(options, Duration::from_secs(*max_staleness_secs), listener, shutdown).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Verify { block } => {
            let Opened { manifest, provider, store } = open(&options(&cli, 2, IngestConfig::default(), None)?).await?;
            let head = store.cursor().await?.context("nothing indexed yet: run `neuro-indexer run` first")?;
            let block = block.unwrap_or(head.number);
            let report = verify::verify(&store, &provider, &manifest, block).await?;
            for difference in &report.differences {
                println!("DIFFERENCE {difference}");
            }
            println!("block {block}: {} figures compared, {} differences", report.checked, report.differences.len());
            Ok(if report.differences.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
        }
    }
}
