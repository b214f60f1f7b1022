//! `neuro-prover`: key setup, Solidity verifier generation, test fixtures and benchmarks for usage proofs.

use std::{
    path::PathBuf,
    time::{Duration, Instant},
};

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use neuro_prover::{
    Batch, Receipt, UsageCircuit,
    keys::{self, KeyPaths},
    proof, solidity,
};
use rand_chacha::{ChaCha20Rng, rand_core::SeedableRng};

#[derive(Parser)]
#[command(name = "neuro-prover", version, about = "Usage proofs for Neuro: keys, verifiers, fixtures, benchmarks")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the Groth16 setup for one batch size and writes usage-<N>.pk / usage-<N>.vk.
    ///
    /// The setup is deterministic from a public seed: fine for devnets and CI, insecure for real value
    /// (whoever knows the seed can forge proofs). Production keys come from a multi-party ceremony.
    ///
    /// Example: neuro-prover setup --batch 64 --out keys/
    Setup {
        /// Receipts per batch (a power of two).
        #[arg(long)]
        batch: usize,
        /// Directory for the key files.
        #[arg(long, default_value = "keys")]
        out: PathBuf,
        /// Public seed of the (insecure) deterministic setup.
        #[arg(long, default_value = keys::DEVNET_SEED)]
        seed: String,
    },
    /// Writes contracts/src/verifiers/UsageVerifier<N>.sol from a verifying key.
    ///
    /// Example: neuro-prover verifier --batch 64 --keys keys/ --out contracts/src/verifiers/
    Verifier {
        /// Receipts per batch.
        #[arg(long)]
        batch: usize,
        /// Directory holding usage-<N>.vk.
        #[arg(long, default_value = "keys")]
        keys: PathBuf,
        /// Output directory.
        #[arg(long, default_value = "contracts/src/verifiers")]
        out: PathBuf,
        /// Where the key came from, written into the contract's NatSpec.
        #[arg(long, default_value_t = format!("from the public devnet seed \"{}\" (insecure: for devnets only)", keys::DEVNET_SEED))]
        provenance: String,
    },
    /// Writes a proof and its public inputs as JSON for forge tests.
    ///
    /// Example: neuro-prover fixtures --batch 64 --miner 0x… --epoch 0 --model 0x… --out contracts/test/fixtures/usage-64.json
    Fixtures {
        /// Receipts per batch.
        #[arg(long)]
        batch: usize,
        /// Directory holding usage-<N>.pk.
        #[arg(long, default_value = "keys")]
        keys: PathBuf,
        /// Miner address the proof is bound to.
        #[arg(long)]
        miner: String,
        /// Epoch the proof is bound to.
        #[arg(long)]
        epoch: u64,
        /// Model id (32 bytes hex).
        #[arg(long)]
        model: String,
        /// Real receipts in the batch (the rest is padding).
        #[arg(long, default_value_t = 10)]
        receipts: usize,
        /// Fee per token in NEURO-wei.
        #[arg(long, default_value_t = 2_000_000_000_000)]
        fee_per_token: u64,
        /// Output JSON file.
        #[arg(long)]
        out: PathBuf,
    },
    /// Measures constraints, proving time, peak memory and verification time; prints a table.
    ///
    /// Example: neuro-prover bench --batch 64 --batch 1024 --keys keys/
    Bench {
        /// Batch sizes to measure (keys must exist).
        #[arg(long, required = true)]
        batch: Vec<usize>,
        /// Directory holding the keys.
        #[arg(long, default_value = "keys")]
        keys: PathBuf,
        /// Proofs per size (the median is reported).
        #[arg(long, default_value_t = 3)]
        runs: usize,
    },
}

fn spinner(message: String) -> ProgressBar {
    let bar = ProgressBar::new_spinner().with_message(message);
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

fn parse_hex<const N: usize>(what: &str, text: &str) -> Result<[u8; N]> {
    let raw = hex::decode(text.trim_start_matches("0x")).with_context(|| format!("{what} is not hex: {text}"))?;
    raw.try_into().map_err(|raw: Vec<u8>| anyhow::anyhow!("{what} must be {N} bytes, got {}", raw.len()))
}

fn check_size(batch: usize) -> Result<()> {
    if batch < 2 || !batch.is_power_of_two() {
        bail!("--batch must be a power of two >= 2, got {batch}");
    }
    Ok(())
}

fn main() -> Result<()> {
    // arkworks' per-constraint spans format their arguments and slow proving by orders of magnitude: keep them off.
    let filter = tracing_subscriber::EnvFilter::from_default_env().add_directive("gr1cs=off".parse()?);
    tracing_subscriber::fmt().with_env_filter(filter).init();
    match Cli::parse().command {
        Command::Setup { batch, out, seed } => {
            check_size(batch)?;
            if seed == keys::DEVNET_SEED {
                eprintln!("warning: deterministic setup from the public devnet seed: these keys are INSECURE");
            }
            let bar = spinner(format!("Groth16 setup for batches of {batch}"));
            let (pk, vk) = keys::setup(batch, &seed)?;
            bar.finish_and_clear();
            let paths = KeyPaths::new(&out, batch);
            paths.save(&pk)?;
            println!("wrote {} and {}", paths.proving.display(), paths.verifying.display());
            println!("verifying key sha-256: 0x{}", hex::encode(keys::verifying_key_hash(&vk)));
        }
        Command::Verifier { batch, keys: dir, out, provenance } => {
            check_size(batch)?;
            let vk = KeyPaths::new(&dir, batch).load_verifying()?;
            std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
            let path = out.join(format!("UsageVerifier{batch}.sol"));
            std::fs::write(&path, solidity::generate(&vk, batch, &provenance))
                .with_context(|| format!("writing {}", path.display()))?;
            println!("wrote {}", path.display());
        }
        Command::Fixtures { batch, keys: dir, miner, epoch, model, receipts, fee_per_token, out } => {
            check_size(batch)?;
            let miner: [u8; 20] = parse_hex("--miner", &miner)?;
            let model: [u8; 32] = parse_hex("--model", &model)?;
            let pk = KeyPaths::new(&dir, batch).load_proving()?;
            let list: Vec<Receipt> = (0..receipts)
                .map(|i| {
                    let prompt = 40 + 7 * i as u64;
                    let completion = 60 + 11 * i as u64;
                    Receipt {
                        request_hash: neuro_prover::receipt::request_hash(
                            format!("request {i}").as_bytes(),
                            format!("response {i}").as_bytes(),
                        ),
                        model_id: model,
                        prompt_tokens: prompt,
                        completion_tokens: completion,
                        fee: (prompt + completion) * fee_per_token,
                        user: [0x0b; 20],
                    }
                })
                .collect();
            let batch = Batch::new(batch, model, &list)?;
            let bar = spinner(format!("proving a batch of {}", batch.size()));
            let usage = proof::prove(&pk, &batch, miner, epoch, &mut ChaCha20Rng::seed_from_u64(epoch))?;
            bar.finish_and_clear();
            let words = |w: &[[u8; 32]]| w.iter().map(|b| format!("0x{}", hex::encode(b))).collect::<Vec<_>>();
            let json = serde_json::json!({
                "batchSize": batch.size(),
                "miner": format!("0x{}", hex::encode(miner)),
                "epoch": epoch,
                "modelId": format!("0x{}", hex::encode(model)),
                "totalTokens": batch.total_tokens().to_string(),
                "totalFee": batch.total_fee().to_string(),
                "batchRoot": neuro_prover::field::to_hex(&batch.root()),
                "proof": words(&proof::to_solidity(&usage.proof)),
                "publicInputs": words(&proof::public_inputs_solidity(&usage.public)),
                "receipts": batch.receipts()[..batch.real_count()].to_vec(),
            });
            if let Some(dir) = out.parent() {
                std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            }
            std::fs::write(&out, serde_json::to_string_pretty(&json)? + "\n")
                .with_context(|| format!("writing {}", out.display()))?;
            println!("wrote {}", out.display());
        }
        Command::Bench { batch, keys: dir, runs } => bench(&batch, &dir, runs.max(1))?,
    }
    Ok(())
}

/// Peak resident memory of this process so far, in MiB (Linux `VmHWM`).
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn bench(sizes: &[usize], dir: &std::path::Path, runs: usize) -> Result<()> {
    use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystem};
    println!("| batch N | constraints | per receipt | prove (median of {runs}) | peak RSS | verify (native) |");
    println!("| --- | --- | --- | --- | --- | --- |");
    for &size in sizes {
        check_size(size)?;
        let cs = ConstraintSystem::<ark_bn254::Fr>::new_ref();
        UsageCircuit::blank(size).generate_constraints(cs.clone())?;
        let constraints = cs.num_constraints();
        drop(cs);
        let pk = KeyPaths::new(dir, size).load_proving().context("run `neuro-prover setup` first")?;
        let model = [0x42; 32];
        let receipts: Vec<Receipt> = (0..size)
            .map(|i| Receipt {
                request_hash: [i as u8; 32],
                model_id: model,
                prompt_tokens: 100,
                completion_tokens: 200,
                fee: 300_000_000_000_000,
                user: [1; 20],
            })
            .collect();
        let batch = Batch::new(size, model, &receipts)?;
        let mut times = Vec::with_capacity(runs);
        let mut last = None;
        for run in 0..runs {
            let bar = spinner(format!("N = {size}: proof {}/{runs}", run + 1));
            let started = Instant::now();
            last = Some(proof::prove(&pk, &batch, [9; 20], 1, &mut ChaCha20Rng::seed_from_u64(run as u64))?);
            times.push(started.elapsed());
            bar.finish_and_clear();
        }
        times.sort();
        let usage = last.context("at least one run")?;
        let started = Instant::now();
        let verify_runs = 20u32;
        for _ in 0..verify_runs {
            if !proof::verify(&pk.vk, &usage)? {
                bail!("benchmark proof did not verify");
            }
        }
        let verify = started.elapsed() / verify_runs;
        println!(
            "| {size} | {constraints} | {} | {:.2} s | {} | {:.2} ms |",
            constraints / size,
            times[times.len() / 2].as_secs_f64(),
            peak_rss_mib().map_or_else(|| "n/a".into(), |m| format!("{m:.0} MiB")),
            verify.as_secs_f64() * 1e3
        );
    }
    Ok(())
}
