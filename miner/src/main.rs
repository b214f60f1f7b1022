//! `neuro-miner`: stake, register, serve models behind an OpenAI-compatible API, prove usage, claim rewards.

use std::path::{Path, PathBuf};

use alloy::primitives::U256;
use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use neuro_chain::{RpcConfig, keys};
use neuro_miner::{
    actions,
    chain::Chain,
    config::{Config, ModelConfig},
    engine::ModelSource,
    model_id, node,
    store::Store,
    work::EpochWorker,
};
use neuro_protocol::{Manifest, ModelId, bindings::ModelRegistry, parse_neuro_amount};
use tokio_util::sync::CancellationToken;

#[derive(Parser)]
#[command(
    name = "neuro-miner",
    version,
    about = "Serve open LLMs on the Neuro network and earn NEURO for verified work"
)]
struct Cli {
    /// Configuration file.
    #[arg(long, global = true, env = "NEURO_MINER_CONFIG", default_value_os_t = default_config())]
    config: PathBuf,
    #[command(subcommand)]
    command: Command,
}

fn default_config() -> PathBuf {
    std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default().join(".neuro-miner/config.toml")
}

#[derive(Subcommand)]
enum Command {
    /// Creates (or imports, from NEURO_PRIVATE_KEY) the operator key in an encrypted keystore and writes the
    /// configuration file. The password comes from NEURO_KEYSTORE_PASSWORD or a prompt.
    ///
    /// Example: neuro-miner init --rpc-url http://127.0.0.1:8545 --manifest deployments/31337.json
    Init {
        /// JSON-RPC endpoint.
        #[arg(long, default_value = "http://127.0.0.1:8545")]
        rpc_url: String,
        /// Deployment manifest written by the deploy script.
        #[arg(long)]
        manifest: PathBuf,
        /// Address the API listens on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: String,
        /// Address of the operator's /metrics endpoint, apart from the public API.
        #[arg(long, default_value = "127.0.0.1:9464")]
        metrics_listen: String,
        /// Public URL registered on chain (default: http://<listen>).
        #[arg(long)]
        public_endpoint: Option<String>,
        /// Directory of the usage proving keys (`neuro-prover setup`).
        #[arg(long, default_value = "keys")]
        proving_keys: PathBuf,
        /// Receipts per usage proof: 64 or 1024.
        #[arg(long, default_value_t = 64, value_parser = parse_batch_size)]
        batch_size: usize,
        /// Import the private key in NEURO_PRIVATE_KEY instead of creating a new one.
        #[arg(long)]
        import: bool,
    },
    /// Models: add one to the configuration.
    #[command(subcommand)]
    Model(ModelCommand),
    /// Stakes NEURO (whole or decimal NEURO, e.g. 10000 or 2.5).
    ///
    /// Example: neuro-miner stake 10000
    Stake {
        /// Amount in NEURO.
        #[arg(value_parser = parse_neuro_amount)]
        amount: U256,
    },
    /// Starts unbonding NEURO (withdrawable after the unbonding period).
    Unstake {
        /// Amount in NEURO.
        #[arg(value_parser = parse_neuro_amount)]
        amount: U256,
    },
    /// Withdraws released unbonding stake.
    Withdraw,
    /// Registers this node on chain for the configured models, at the config's `public_endpoint`.
    Register {
        /// Allow a plain `http://` endpoint (a loopback devnet): users' API keys would cross the network in clear.
        #[arg(long)]
        insecure: bool,
    },
    /// Removes this node from the registry.
    Deregister,
    /// Serves the configured models and does each epoch's redemption, proving and submission.
    Serve,
    /// Runs the work of one finished epoch now (redeem, prove, submit); idempotent.
    ///
    /// Example: neuro-miner submit --epoch 41
    Submit {
        /// Epoch (default: the previous one).
        #[arg(long)]
        epoch: Option<u64>,
    },
    /// Claims rewards for every finalized epoch with submitted usage.
    Claim,
    /// Stake, node state, receipts, submissions and claimable rewards.
    Status {
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum ModelCommand {
    /// Adds a local GGUF file or safetensors directory: computes its model id and shows its on-chain status.
    ///
    /// Example: neuro-miner model add ~/models/SmolLM2-135M-Instruct.Q8_0.gguf --name smollm2 --price 2
    Add {
        /// GGUF file or safetensors directory.
        path: PathBuf,
        /// Name clients use (default: the file or directory name).
        #[arg(long)]
        name: Option<String>,
        /// Price in NEURO per million tokens (at least the model's floor).
        #[arg(long, default_value = "2", value_parser = parse_neuro_amount)]
        price: U256,
    },
}

fn parse_batch_size(text: &str) -> Result<usize, String> {
    match text {
        "64" => Ok(64),
        "1024" => Ok(1024),
        _ => Err(format!("{text} is not a supported batch size (64 or 1024)")),
    }
}

fn data_dir(config_path: &Path) -> PathBuf {
    config_path.parent().map(Path::to_path_buf).unwrap_or_default()
}

async fn connect(config: &Config) -> Result<Chain> {
    let manifest = Manifest::load(&config.manifest)?;
    if manifest.chain_id != config.chain_id {
        bail!(
            "the manifest is for chain {} but the configuration expects chain {}",
            manifest.chain_id,
            config.chain_id
        );
    }
    let password = keys::password("keystore password: ")?;
    let signer = keys::open(&config.keystore, &password)?;
    Ok(Chain::connect(&config.rpc_url, manifest, signer).await?)
}

fn open_store(config_path: &Path) -> Result<Store> {
    let dir = data_dir(config_path);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(Store::open(&dir.join("receipts.sqlite"))?)
}

fn print_sent(sent: &actions::Sent) {
    println!("{:<10} tx {}  gas {}", sent.action, sent.tx, sent.gas_used);
}

#[tokio::main]
async fn main() -> Result<()> {
    // arkworks instruments every constraint with a span that formats its arguments: never enable those, they
    // make a proof take minutes instead of a second.
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "info".into())
        .add_directive("gr1cs=off".parse()?);
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
    let cli = Cli::parse();
    match cli.command {
        Command::Init {
            rpc_url,
            manifest,
            listen,
            metrics_listen,
            public_endpoint,
            proving_keys,
            batch_size,
            import,
        } => {
            if cli.config.exists() {
                bail!("{} already exists", cli.config.display());
            }
            let chain_id = Manifest::load(&manifest)?.chain_id;
            let keystore_path = data_dir(&cli.config).join("keystore").join("operator.json");
            let password = keys::password("new keystore password: ")?;
            let signer = keys::create(&keystore_path, &password, import)?;
            let config = Config {
                rpc_url,
                chain_id,
                manifest,
                keystore: keystore_path,
                public_endpoint: public_endpoint.unwrap_or_else(|| format!("http://{listen}")),
                listen,
                metrics_listen: Some(metrics_listen),
                batch_size,
                proving_keys,
                models: vec![],
                limits: Default::default(),
                engine: Default::default(),
            };
            config.save(&cli.config)?;
            println!("operator   {}", signer.address());
            println!("config     {}", cli.config.display());
            println!(
                "next: fund the operator, then `neuro-miner model add <path>`, `stake 10000`, `register`, `serve`"
            );
        }
        Command::Model(ModelCommand::Add { path, name, price }) => {
            let mut config = Config::load(&cli.config)?;
            let source = ModelSource::detect(&path)?;
            let id = ModelId::from(model_id::compute(&source, true)?);
            let name = name.unwrap_or_else(|| {
                path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "model".into())
            });
            let price_wei = price;
            let manifest = Manifest::load(&config.manifest)?;
            let provider = neuro_chain::connect(&config.rpc_url, RpcConfig::default())?;
            manifest.verify(&provider).await?;
            let registry = ModelRegistry::new(manifest.contracts.model_registry, provider);
            let info = registry.getModel(id.0).call().await.context("reading the model registry")?;
            let status = ["not proposed", "proposed (awaiting a DAO vote)", "approved", "rejected", "retired"];
            println!("model      {name}");
            println!("id         {id}");
            println!("on chain   {}", status.get(info.status as usize).unwrap_or(&"unknown"));
            if info.minPricePerMTok > price_wei {
                println!(
                    "warning    your price is below the floor of {} NEURO-wei per million tokens",
                    info.minPricePerMTok
                );
            }
            config.models.retain(|m| m.name != name);
            config.models.push(ModelConfig {
                name,
                path: std::fs::canonicalize(&path).unwrap_or(path),
                id,
                price_per_mtok: price_wei,
            });
            config.save(&cli.config)?;
        }
        Command::Stake { amount } => {
            let chain = connect(&Config::load(&cli.config)?).await?;
            for sent in actions::stake(&chain, amount).await? {
                print_sent(&sent);
            }
        }
        Command::Unstake { amount } => {
            let chain = connect(&Config::load(&cli.config)?).await?;
            print_sent(&actions::unstake(&chain, amount).await?);
        }
        Command::Withdraw => {
            let chain = connect(&Config::load(&cli.config)?).await?;
            print_sent(&actions::withdraw(&chain).await?);
        }
        Command::Register { insecure } => {
            let config = Config::load(&cli.config)?;
            if config.models.is_empty() {
                bail!("no models configured: run `neuro-miner model add <path>` first");
            }
            let ids: Vec<ModelId> = config.models.iter().map(|m| m.id).collect();
            // Refuse a bad endpoint before unlocking the keystore or touching the chain.
            let endpoint = actions::PublicEndpoint::parse(&config.public_endpoint, insecure)?;
            let chain = connect(&config).await?;
            print_sent(&actions::register(&chain, &endpoint, &ids).await?);
        }
        Command::Deregister => {
            let chain = connect(&Config::load(&cli.config)?).await?;
            print_sent(&actions::deregister(&chain).await?);
        }
        Command::Serve => {
            let config = Config::load(&cli.config)?;
            let chain = connect(&config).await?;
            let store = open_store(&cli.config)?;
            let shutdown = CancellationToken::new();
            tokio::spawn(neuro_chain::shutdown::on_signal(shutdown.clone()));
            let listeners = node::bind(&config).await?;
            node::serve(&config, chain, store, listeners, shutdown).await?;
        }
        Command::Submit { epoch } => {
            let config = Config::load(&cli.config)?;
            let chain = connect(&config).await?;
            let store = open_store(&cli.config)?;
            let epoch = match epoch {
                Some(e) => e,
                None => chain.epoch_at(chain.now().await?).checked_sub(1).context("no epoch has finished yet")?,
            };
            let metrics = std::sync::Arc::new(neuro_miner::metrics::Metrics::default());
            let worker = EpochWorker::new(chain, store, config.proving_keys.clone(), config.batch_size, metrics);
            let report = worker.run(epoch).await?;
            println!(
                "epoch {epoch}: {} redemptions ({} NEURO-wei), {} unpaid allowances, {} batches, {} tokens",
                report.redemptions, report.redeemed, report.unpaid_allowances, report.batches, report.tokens
            );
        }
        Command::Claim => {
            let config = Config::load(&cli.config)?;
            let chain = connect(&config).await?;
            let store = open_store(&cli.config)?;
            match actions::claim(&chain, &store).await? {
                Some((sent, amount)) => {
                    print_sent(&sent);
                    println!("claimed    {amount} NEURO-wei");
                }
                None => println!("nothing to claim"),
            }
        }
        Command::Status { json } => {
            let config = Config::load(&cli.config)?;
            let chain = connect(&config).await?;
            let store = open_store(&cli.config)?;
            let s = actions::status(&chain, &store).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&s)?);
            } else {
                let rows = [
                    ("operator", s.operator.to_string()),
                    ("chain", s.chain_id.to_string()),
                    ("epoch", s.epoch.to_string()),
                    ("balance (wei)", s.balance.to_string()),
                    ("bonded (wei)", s.bonded.to_string()),
                    ("unbonding (wei)", s.unbonding.to_string()),
                    ("node active", s.node_active.to_string()),
                    ("receipts", s.receipts.to_string()),
                    ("pending receipts", s.pending_receipts.to_string()),
                    ("batches submitted", s.batches.to_string()),
                    ("submitted epochs", format!("{:?}", s.submitted_epochs)),
                    ("claimable (wei)", s.claimable.to_string()),
                ];
                for (k, v) in rows {
                    println!("{k:<18} {v}");
                }
            }
        }
    }
    Ok(())
}
