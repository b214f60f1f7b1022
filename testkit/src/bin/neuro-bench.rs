//! `neuro-bench`: the project's benchmarks, each printing Markdown tables for `docs/benchmarks.md`.

use std::{path::PathBuf, process::ExitCode, sync::Arc, time::Duration, time::Instant};

use anyhow::{Result, bail};
use clap::{Parser, Subcommand};
use neuro_indexer::{
    ingest::IngestConfig,
    metrics::Metrics,
    service::{IndexerOptions, build_indexer, open},
};
use neuro_protocol::Manifest;
use neuro_testkit::{loadgen, miner_bench, populate};

#[derive(Parser)]
#[command(name = "neuro-bench", version, about = "Benchmarks of the Neuro engine, node, prover and indexer")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Prefill/decode tokens/s and time to first token through the engine and through the HTTP node (on a local
    /// anvil it starts), and proof time per batch size.
    ///
    /// Example: neuro-bench miner --model ~/models/SmolLM2-135M-Instruct.Q8_0.gguf --tokens 128
    Miner {
        /// GGUF file or safetensors directory.
        #[arg(long)]
        model: PathBuf,
        /// Completion tokens per run.
        #[arg(long, default_value_t = 128)]
        tokens: usize,
        /// Runs per measurement (the median is shown).
        #[arg(long, default_value_t = 3)]
        runs: usize,
        /// Batch sizes to time proofs for.
        #[arg(long, default_values_t = [64])]
        batch: Vec<usize>,
        /// Directory of the proving keys.
        #[arg(long, default_value = "keys")]
        keys: PathBuf,
        /// Activations of the in-process engine (`f32`, what nodes and validators run, or `auto`: mistral.rs's
        /// pick, BF16 on a CPU), to compare them.
        #[arg(long, default_value = "f32")]
        dtype: neuro_miner::engine::cpu::ActivationDType,
        /// Time the in-process engine only (no node, no proofs).
        #[arg(long)]
        engine_only: bool,
    },
    /// Concurrent streaming clients of one user against a node (on a local anvil it starts): time to first
    /// token p50/p99, aggregate throughput, errors, and whether every served request was billed once.
    ///
    /// Example: neuro-bench miner-load --model ~/models/SmolLM2-135M-Instruct.Q8_0.gguf --clients 64
    MinerLoad {
        /// GGUF file or safetensors directory.
        #[arg(long)]
        model: PathBuf,
        /// Concurrent streaming clients.
        #[arg(long, default_value_t = 64)]
        clients: usize,
        /// How long the load runs, in seconds.
        #[arg(long, default_value_t = 60)]
        seconds: u64,
        /// Completion tokens per request.
        #[arg(long, default_value_t = 64)]
        tokens: usize,
        /// Directory of the proving keys.
        #[arg(long, default_value = "keys")]
        keys: PathBuf,
    },
    /// Indexer benchmarks.
    #[command(subcommand)]
    Indexer(IndexerBench),
}

#[derive(Subcommand)]
enum IndexerBench {
    /// Fills a devnet with protocol events (stake transactions) from NEURO_BENCH_PRIVATE_KEY's account.
    Populate {
        #[command(flatten)]
        chain: ChainArgs,
        /// Events to emit at least.
        #[arg(long, default_value_t = 100_000)]
        events: u64,
    },
    /// Backfills the chain into an empty database and prints the throughput.
    Backfill {
        #[command(flatten)]
        chain: ChainArgs,
        /// Database: sqlite://<file> or postgres://user@host/db.
        #[arg(long, env = "NEURO_INDEXER_DATABASE_URL")]
        database_url: String,
        /// eth_getLogs requests in flight.
        #[arg(long, default_value_t = 4)]
        concurrency: usize,
    },
    /// Writes a synthetic history of one miner over N epochs into an empty database (for `neuro-indexer serve`).
    History {
        /// Deployment manifest (its addresses and clock; no node is needed).
        #[arg(long, env = "NEURO_MANIFEST", default_value = "deployments/31337.json")]
        manifest: PathBuf,
        /// Database: sqlite://<file> or postgres://user@host/db (must be empty).
        #[arg(long, env = "NEURO_INDEXER_DATABASE_URL")]
        database_url: String,
        /// The miner whose history it is.
        #[arg(long)]
        miner: alloy::primitives::Address,
        /// Epochs of history.
        #[arg(long, default_value_t = 10_000)]
        epochs: u64,
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

#[derive(clap::Args)]
struct ChainArgs {
    /// JSON-RPC endpoint.
    #[arg(long, env = "NEURO_RPC_URL", default_value = "http://127.0.0.1:8545")]
    rpc_url: String,
    /// Deployment manifest.
    #[arg(long, env = "NEURO_MANIFEST", default_value = "deployments/31337.json")]
    manifest: PathBuf,
}

#[tokio::main]
async fn main() -> ExitCode {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,gr1cs=off,sqlx=warn"));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
    match run(Cli::parse()).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

async fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Miner { model, tokens, runs, batch, keys, dtype, engine_only } => {
            let options = miner_bench::Options { dtype, engine_only };
            miner_bench::run(model, tokens, runs, batch, keys, options).await.map_err(|e| anyhow::anyhow!("{e}"))?;
        }
        Command::MinerLoad { model, clients, seconds, tokens, keys } => {
            miner_bench::load(model, keys, clients, seconds, tokens).await.map_err(|e| anyhow::anyhow!("{e}"))?;
        }
        Command::Indexer(IndexerBench::Populate { chain, events }) => {
            let manifest = Manifest::load(&chain.manifest)?;
            let signer = neuro_chain::keys::load_signer(None, "NEURO_BENCH_PRIVATE_KEY")?;
            let started = Instant::now();
            let emitted = populate::populate(&chain.rpc_url, &manifest, signer, events).await?;
            println!("emitted {emitted} events in {:.1} s", started.elapsed().as_secs_f64());
        }
        Command::Indexer(IndexerBench::Backfill { chain, database_url, concurrency }) => {
            let options = IndexerOptions {
                rpc_url: chain.rpc_url,
                manifest: chain.manifest,
                database_url,
                db_connections: 4,
                ingest: IngestConfig { reorg_depth: 0, concurrency, progress: true, ..IngestConfig::default() },
                web_dir: None,
            };
            let opened = open(&options).await?;
            if opened.store.cursor().await?.is_some() {
                bail!("the database is not empty: benchmark backfill into a fresh database");
            }
            let metrics = Arc::new(Metrics::new());
            let (start_block, backend) = (opened.manifest.start_block, opened.store.backend());
            let mut ingester = build_indexer(&opened, options.ingest.clone(), metrics.clone())?;
            let started = Instant::now();
            let head = ingester.sync().await?;
            let seconds = started.elapsed().as_secs_f64();
            let events = metrics.events_ingested.get();
            println!("| backend | blocks | events | seconds | events/s |\n|---|---:|---:|---:|---:|");
            println!(
                "| {backend:?} | {} | {events} | {seconds:.2} | {:.0} |",
                head.saturating_sub(start_block),
                events as f64 / seconds
            );
        }
        Command::Indexer(IndexerBench::History { manifest, database_url, miner, epochs }) => {
            let manifest = Manifest::load(&manifest)?;
            let store = neuro_indexer::store::Store::open(&database_url, 2).await?;
            let model = alloy::primitives::keccak256(b"synthetic model");
            let started = Instant::now();
            let written = neuro_testkit::history::write_history(&store, &manifest, miner, model, epochs).await?;
            store.close().await;
            println!("{written} epochs of history for {miner:#x} written in {:.1} s", started.elapsed().as_secs_f64());
        }
        Command::Indexer(IndexerBench::Api { url, paths, rate, seconds }) => {
            let urls: Vec<String> = paths.iter().map(|p| format!("{}{p}", url.trim_end_matches('/'))).collect();
            let report = loadgen::run(&urls, rate, Duration::from_secs(seconds)).await?;
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
            if report.errors > 0 {
                return Ok(ExitCode::FAILURE);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
