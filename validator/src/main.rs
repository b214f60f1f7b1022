//! `neuro-validator`: stake, probe nodes and settle disputes, calibrate the comparison.

use std::{path::PathBuf, sync::Arc, time::Duration};

use alloy::primitives::{B256, U256};
use anyhow::Context;
use clap::{Parser, Subcommand};
use neuro_chain::{RelayConfig, Relayer, RpcConfig};
use neuro_engine::{Engine, ModelSource, mistralrs::IsqType, model_id, vocab::Vocabulary};
use neuro_protocol::{Manifest, delegation::DelegatedEvidence, schedule::NEURO};
use neuro_validator::{
    calibrate::{self, Answer, Tamper},
    compare::Tolerance,
    court::Court,
    daemon::{DelegatedVerdict, ProbeAccount, Settings, Validator},
    reexecute::Reexecutor,
};

#[derive(Parser)]
#[command(name = "neuro-validator", version, about = "Re-execute nodes' answers and settle disputes")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Where the chain is and who acts on it.
#[derive(clap::Args)]
struct ChainArgs {
    /// JSON-RPC endpoint.
    #[arg(long, env = "NEURO_RPC_URL", default_value = "http://127.0.0.1:8545")]
    rpc_url: String,
    /// Deployment manifest.
    #[arg(long, env = "NEURO_MANIFEST", default_value = "deployments/31337.json")]
    manifest: PathBuf,
    /// Encrypted keystore of the validator's account (password from NEURO_KEYSTORE_PASSWORD or a prompt);
    /// without it the key is read from NEURO_VALIDATOR_PRIVATE_KEY.
    #[arg(long, env = "NEURO_VALIDATOR_KEYSTORE")]
    keystore: Option<PathBuf>,
}

/// The re-executor of the model at `model` (file or directory) and the model's id (the sha-256 of its weights).
async fn load_reexecutor(model: &std::path::Path) -> anyhow::Result<(B256, Reexecutor)> {
    // The same CPU settings as a node's (F32 activations: what honest nodes answer with).
    let allow_generic = std::env::var_os("NEURO_ALLOW_GENERIC_CPU").is_some_and(|v| v == "1");
    neuro_engine::cpu::check_simd(allow_generic)?;
    let threads = neuro_engine::cpu::configure_threads(None);
    tracing::info!(threads, "engine threads");
    let source = ModelSource::detect(model)?;
    let id = B256::from(model_id::compute(&source, true)?);
    let vocab = Arc::new(Vocabulary::load(&source)?);
    let engine = Arc::new(Engine::load(source).await?);
    Ok((id, Reexecutor::new(engine, vocab, id, Tolerance::default())))
}

impl ChainArgs {
    async fn connect(&self) -> anyhow::Result<(Manifest, alloy::signers::local::PrivateKeySigner, Court)> {
        let manifest = Manifest::load(&self.manifest)?;
        let signer = neuro_chain::keys::load_signer(self.keystore.as_deref(), "NEURO_VALIDATOR_PRIVATE_KEY")?;
        let provider = neuro_chain::connect_signing(&self.rpc_url, RpcConfig::default(), signer.clone())?;
        manifest.verify(&provider).await?;
        let court = Court::new(Relayer::new(provider, signer.address(), RelayConfig::default()), &manifest);
        Ok((manifest, signer, court))
    }
}

#[derive(Subcommand)]
enum Command {
    /// Bond validator stake in the dispute court (NEURO, whole units).
    Stake {
        #[command(flatten)]
        chain: ChainArgs,
        /// Amount in whole NEURO.
        amount: u64,
    },
    /// Probe the nodes serving a model and settle disputes until stopped (SIGINT/SIGTERM).
    Run {
        #[command(flatten)]
        chain: ChainArgs,
        /// The model file or directory to re-execute with (its id must be the one nodes registered).
        #[arg(long)]
        model: PathBuf,
        /// Mean seconds between probes (exponentially distributed).
        #[arg(long, default_value_t = 60)]
        probe_interval_secs: u64,
        /// Seconds a node has to answer a probe.
        #[arg(long, default_value_t = 120)]
        probe_deadline_secs: u64,
        /// NEURO locked per node allowance (whole units).
        #[arg(long, default_value_t = 10)]
        allowance_cap: u64,
        /// Most nodes holding a live allowance at once (funds locked ≤ this × the cap).
        #[arg(long, default_value_t = 20)]
        max_allowances: usize,
        /// Share of probes sent streamed (0 to 1): they measure time to first token but are not re-executed.
        /// Off by default: mistral.rs drops a stream's last chunk (and the receipt) when the text ends inside a
        /// UTF-8 sequence, which would count against honest nodes as an invalid receipt (docs/verification.md).
        #[arg(long, default_value_t = 0.0, value_parser = parse_share)]
        stream_share: f64,
        /// State file (API keys opened, disputes followed).
        #[arg(long, default_value = "validator-state.json")]
        state: PathBuf,
        /// Encrypted keystore of the probe account that pays for probes (password from NEURO_KEYSTORE_PASSWORD
        /// or a prompt); without it the key is read from NEURO_PROBE_PRIVATE_KEY, and without either probes are
        /// paid by the staked account, which any node can recognise. Fund it (NEURO and gas) from somewhere
        /// the chain does not tie to the validator.
        #[arg(long, env = "NEURO_PROBE_KEYSTORE")]
        probe_keystore: Option<PathBuf>,
    },
    /// Re-execute an answer a user delegated to this validator (`neuro delegate`'s evidence file) and dispute it,
    /// with the user's delegation, if it fails. A running daemon follows the dispute to resolution and claims.
    Dispute {
        #[command(flatten)]
        chain: ChainArgs,
        /// The model file or directory to re-execute with (the receipt's model id).
        #[arg(long)]
        model: PathBuf,
        /// The evidence file.
        #[arg(long)]
        evidence: PathBuf,
    },
    /// Calibrate the comparison: answer probes as a node would, or judge answers as a validator would.
    #[command(subcommand)]
    Calibrate(Calibrate),
}

#[derive(Subcommand)]
enum Calibrate {
    /// Answer the seeded probes like a node (JSON lines on stdout). Set RAYON_NUM_THREADS to vary threads.
    Answer {
        /// Model file or directory.
        #[arg(long)]
        model: PathBuf,
        /// Probes to answer.
        #[arg(long, default_value_t = 100)]
        count: usize,
        /// Seed of the probe sequence.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Sample at this temperature instead of greedily (a substitution).
        #[arg(long)]
        temperature: Option<f64>,
        /// Quantize the model in place first (a substitution): q4_0, q8_0.
        #[arg(long, value_parser = parse_isq)]
        isq: Option<IsqType>,
        /// Tamper with each answer (a substitution).
        #[arg(long, value_enum)]
        tamper: Option<TamperArg>,
    },
    /// Judge answers (JSON lines from `answer`) by re-executing them; prints the report.
    Judge {
        /// Model file or directory (the one the node registered).
        #[arg(long)]
        model: PathBuf,
        /// The answers file.
        #[arg(long)]
        answers: PathBuf,
        /// Seed of the probe sequence the answers are for.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Candidate near-tie rank bound.
        #[arg(long, default_value_t = Tolerance::default().top_k)]
        top_k: usize,
        /// Near-tie margin, nats.
        #[arg(long, default_value_t = Tolerance::default().margin)]
        margin: f32,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum TamperArg {
    Truncate,
    Pad,
}

fn parse_isq(value: &str) -> Result<IsqType, String> {
    match value.to_ascii_lowercase().as_str() {
        "q4_0" => Ok(IsqType::Q4_0),
        "q8_0" => Ok(IsqType::Q8_0),
        other => Err(format!("unsupported quantization {other:?} (q4_0, q8_0)")),
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match cli.command {
        Command::Stake { chain, amount } => {
            let (_, _, court) = chain.connect().await?;
            let tx = court.stake(U256::from(amount) * NEURO).await?;
            println!("staked {amount} NEURO (tx {tx}); bonded now {} NEURO-wei", court.stake_of().await?);
        }
        Command::Run {
            chain,
            model,
            probe_interval_secs,
            probe_deadline_secs,
            allowance_cap,
            max_allowances,
            stream_share,
            state,
            probe_keystore,
        } => {
            let (manifest, signer, court) = chain.connect().await?;
            let probe_account =
                match neuro_chain::keys::load_signer(probe_keystore.as_deref(), "NEURO_PROBE_PRIVATE_KEY") {
                    Ok(probe) => {
                        let provider =
                            neuro_chain::connect_signing(&chain.rpc_url, RpcConfig::default(), probe.clone())?;
                        let relayer = Relayer::new(provider, probe.address(), RelayConfig::default());
                        Some(ProbeAccount { signer: probe, relayer })
                    }
                    Err(neuro_chain::keys::KeyError::Missing(_)) => {
                        tracing::warn!(
                            "no probe account: probes are paid by the staked account, which nodes can recognise"
                        );
                        None
                    }
                    Err(error) => return Err(error.into()),
                };
            let (id, reexecutor) = load_reexecutor(&model).await?;
            let settings = Settings {
                probe_interval: Duration::from_secs(probe_interval_secs.max(1)),
                probe_deadline: Duration::from_secs(probe_deadline_secs.max(1)),
                allowance_cap: U256::from(allowance_cap) * NEURO,
                allowance_days: 7,
                max_allowances,
                stream_share,
                state_path: state,
            };
            let mut validator = Validator::new(reexecutor, court, manifest, signer, settings)?;
            if let Some(account) = probe_account {
                validator = validator.with_probe_account(account);
            }
            tracing::info!(model = %id, validator = %validator.court().me(), payer = %validator.payer(), "validating");
            let shutdown = tokio_util::sync::CancellationToken::new();
            tokio::spawn(neuro_chain::shutdown::on_signal(shutdown.clone()));
            validator.run(shutdown).await;
            tracing::info!("validator stopped");
        }
        Command::Dispute { chain, model, evidence } => {
            let text = std::fs::read(&evidence).with_context(|| format!("reading {}", evidence.display()))?;
            let evidence: DelegatedEvidence = serde_json::from_slice(&text)
                .with_context(|| format!("{} is not an evidence file", evidence.display()))?;
            let (manifest, signer, court) = chain.connect().await?;
            let (_, reexecutor) = load_reexecutor(&model).await?;
            // No state file is read or written here (the running daemon owns its own, and finds this dispute on
            // chain): the path is a name nothing creates.
            let settings = Settings {
                probe_interval: Duration::from_secs(60),
                probe_deadline: Duration::from_secs(120),
                allowance_cap: U256::ZERO,
                allowance_days: 1,
                max_allowances: 0,
                stream_share: 0.0,
                state_path: std::env::temp_dir().join(format!(
                    "neuro-validator-dispute-{}-{:016x}.json",
                    std::process::id(),
                    rand::random::<u64>()
                )),
            };
            let validator = Validator::new(reexecutor, court, manifest, signer, settings)?;
            match validator.dispute_delegated(&evidence).await? {
                DelegatedVerdict::Passed => println!("the answer passes re-execution: not disputed"),
                DelegatedVerdict::Abstained(why) => println!("cannot judge this answer ({why}): not disputed"),
                DelegatedVerdict::Disputed { failure, dispute } => {
                    println!("the answer failed re-execution ({failure}): dispute {dispute} opened")
                }
            }
        }
        Command::Calibrate(Calibrate::Answer { model, count, seed, temperature, isq, tamper }) => {
            let engine = Engine::load_with(ModelSource::detect(&model)?, isq).await?;
            let probes = calibrate::probes(seed, count);
            for answer in calibrate::answer(&engine, &probes, temperature).await? {
                let answer = match tamper {
                    Some(TamperArg::Truncate) => calibrate::tampered(&answer, Tamper::Truncate),
                    Some(TamperArg::Pad) => calibrate::tampered(&answer, Tamper::Pad),
                    None => answer,
                };
                println!("{}", serde_json::to_string(&answer)?);
            }
        }
        Command::Calibrate(Calibrate::Judge { model, answers, seed, top_k, margin }) => {
            let source = ModelSource::detect(&model)?;
            let vocab = Arc::new(Vocabulary::load(&source)?);
            let engine = Engine::load(source).await?;
            let text = std::fs::read_to_string(&answers).with_context(|| format!("reading {}", answers.display()))?;
            let answers: Vec<Answer> =
                text.lines().map(serde_json::from_str).collect::<Result<_, _>>().context("parsing the answers")?;
            let count = answers.iter().map(|a| a.probe + 1).max().unwrap_or(0);
            let probes = calibrate::probes(seed, count);
            let report = calibrate::judge_all(&engine, &vocab, &probes, &answers, Tolerance { top_k, margin }).await?;
            println!("{report:#?}");
        }
    }
    Ok(())
}

fn parse_share(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(v) if (0.0..=1.0).contains(&v) => Ok(v),
        _ => Err(format!("{text:?} is not a share between 0 and 1")),
    }
}
