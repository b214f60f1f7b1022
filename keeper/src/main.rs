//! `neuro-keeper`: finalizes reward epochs and flushes the fee vault (daemon, one-shot, status, dry run).

use std::{net::SocketAddr, path::PathBuf, sync::Arc, time::Duration};

use alloy::{
    primitives::{U256, utils::parse_units},
    signers::local::PrivateKeySigner,
};
use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use neuro_chain::{RelayConfig, Relayer, RpcConfig};
use neuro_keeper::{
    daemon::{self, DaemonConfig},
    keeper::Keeper,
    metrics::Metrics,
    server::HealthState,
};
use neuro_protocol::Manifest;
use tokio_util::sync::CancellationToken;

#[derive(Parser)]
#[command(name = "neuro-keeper", version, about = "Finalize Neuro reward epochs and flush fees, safely")]
struct Cli {
    /// JSON-RPC endpoint.
    #[arg(long, global = true, env = "NEURO_RPC_URL", default_value = "http://127.0.0.1:8545")]
    rpc_url: String,
    /// Deployment manifest.
    #[arg(long, global = true, env = "NEURO_MANIFEST", default_value = "deployments/31337.json")]
    manifest: PathBuf,
    /// Encrypted keystore of the keeper's key (password: NEURO_KEYSTORE_PASSWORD or a prompt); without it the key
    /// is read from NEURO_KEEPER_PRIVATE_KEY.
    #[arg(long, global = true, env = "NEURO_KEEPER_KEYSTORE")]
    keystore: Option<PathBuf>,
    /// Simulate with eth_call and send nothing.
    #[arg(long, global = true)]
    dry_run: bool,
    /// Highest max fee per gas to pay, in gwei.
    #[arg(long, global = true, default_value_t = 500)]
    max_fee_gwei: u64,
    /// Seconds to wait for a receipt before bumping fees.
    #[arg(long, global = true, default_value_t = 60)]
    confirm_timeout_secs: u64,
    /// Alarm below this signer balance, in ETH.
    #[arg(long, global = true, default_value = "0.1")]
    min_balance_eth: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs as a daemon: checks every interval, serves /health and /metrics.
    ///
    /// Example: neuro-keeper run --listen 127.0.0.1:9100
    Run {
        /// Address of the health and metrics server.
        #[arg(long, default_value = "127.0.0.1:9100")]
        listen: SocketAddr,
        /// Seconds between checks (default: an twelfth of an epoch, between 5 and 300).
        #[arg(long)]
        interval_secs: Option<u64>,
    },
    /// Does what is due now and exits (for cron and CI); exit status 1 if anything failed.
    Once,
    /// Prints what is due now.
    Status,
}

fn signer(keystore: Option<&PathBuf>) -> Result<PrivateKeySigner> {
    Ok(neuro_chain::keys::load_signer(keystore.map(PathBuf::as_path), "NEURO_KEEPER_PRIVATE_KEY")?)
}

#[tokio::main]
async fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let manifest = Manifest::load(&cli.manifest)?;
    let signer = signer(cli.keystore.as_ref())?;
    let from = signer.address();
    let provider = neuro_chain::connect_signing(&cli.rpc_url, RpcConfig::default(), signer)?;
    manifest.verify(&provider).await?;
    let relay = RelayConfig {
        max_fee_per_gas: u128::from(cli.max_fee_gwei) * 1_000_000_000,
        confirm_timeout: Duration::from_secs(cli.confirm_timeout_secs),
        ..RelayConfig::default()
    };
    let min_balance: U256 = parse_units(&cli.min_balance_eth, 18).context("invalid --min-balance-eth")?.into();
    let metrics = Arc::new(Metrics::new());
    let epoch_length = manifest.epoch_length;
    let keeper = Keeper::new(
        provider.clone(),
        manifest,
        Relayer::new(provider, from, relay),
        metrics.clone(),
        cli.dry_run,
        min_balance,
    );
    match cli.command {
        Command::Status => {
            let due = keeper.due().await?;
            println!("chain time        {}", due.now);
            println!("epochs to finalize {:?}", due.epochs);
            match due.flush {
                Some((burn, treasury)) => println!("fees to flush     burn {burn} wei, treasury {treasury} wei"),
                None => println!("fees to flush     none"),
            }
        }
        Command::Once => {
            let report = keeper.run_once().await?;
            println!(
                "finalized {:?}; already finalized by others {:?}; flushed {:?}{}",
                report.finalized,
                report.already_finalized,
                report.flushed,
                if cli.dry_run { " (dry run: nothing sent)" } else { "" }
            );
        }
        Command::Run { listen, interval_secs } => {
            let interval = Duration::from_secs(interval_secs.unwrap_or((epoch_length / 12).clamp(5, 300)));
            let state =
                HealthState { metrics: metrics.clone(), max_staleness: (2 * epoch_length).max(3 * interval.as_secs()) };
            let listener = tokio::net::TcpListener::bind(listen).await.with_context(|| format!("binding {listen}"))?;
            tracing::info!(%listen, ?interval, signer = %from, "keeper running");
            let shutdown = CancellationToken::new();
            tokio::spawn(neuro_chain::shutdown::on_signal(shutdown.clone()));
            let config = DaemonConfig { interval, drain: Duration::from_secs(cli.confirm_timeout_secs * 2) };
            daemon::run(keeper, state, listener, config, shutdown).await.context("health server")?;
        }
    }
    Ok(())
}
