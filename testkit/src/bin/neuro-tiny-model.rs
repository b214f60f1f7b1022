//! `neuro-tiny-model`: writes a tiny random-weight Llama model (safetensors + tokenizer) for tests and the
//! devnet's fallback demo model.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Parser;
use neuro_testkit::tiny_model::{self, TinyModelSpec};

#[derive(Parser)]
#[command(name = "neuro-tiny-model", version, about = "Write a tiny random-weight Llama model for tests")]
struct Cli {
    /// Output directory.
    #[arg(long)]
    out: PathBuf,
    /// Seed of the random weights: another seed is another model (the devnet's cheating node serves one).
    #[arg(long)]
    seed: Option<u64>,
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let defaults = TinyModelSpec::default();
    let spec = TinyModelSpec { seed: cli.seed.unwrap_or(defaults.seed), ..defaults };
    tiny_model::write(&cli.out, spec).with_context(|| format!("writing {}", cli.out.display()))?;
    println!("wrote a tiny random-weight Llama model to {}", cli.out.display());
    Ok(())
}
