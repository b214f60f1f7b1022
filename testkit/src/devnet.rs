//! A local anvil chain with the protocol deployed by the real deploy script (`Deploy.s.sol`).
//!
//! Used by integration tests of every crate. The chain gets a chain id of its own so that several devnets can
//! run at once, and its manifest file is removed when the [`Devnet`] is dropped.

use std::{
    path::{Path, PathBuf},
    process::Command,
    sync::{
        Mutex,
        atomic::{AtomicU64, Ordering},
    },
};

use alloy::{
    hex,
    node_bindings::{Anvil, AnvilInstance, NodeError},
    signers::local::PrivateKeySigner,
};

use neuro_protocol::{Manifest, ManifestError};

/// Serialises forge invocations of this process: concurrent builds would race on `out/` and `cache/`.
static FORGE: Mutex<()> = Mutex::new(());
static NEXT_CHAIN: AtomicU64 = AtomicU64::new(0);

/// Deployment parameters passed to `Deploy.s.sol` through its environment.
#[derive(Debug, Clone)]
pub struct DevnetOptions {
    /// Root of the repository (holds `foundry.toml` and `node_modules/.bin`).
    pub repo_root: PathBuf,
    /// Chain id; `None` picks one unique to this process and call.
    pub chain_id: Option<u64>,
    /// Epoch length in seconds.
    pub epoch_length: u64,
    /// Submission window in seconds.
    pub submission_window: u64,
    /// Further `NEURO_*` variables for the deploy script.
    pub env: Vec<(String, String)>,
}

impl DevnetOptions {
    /// Mainnet-like defaults (hourly epochs, 15-minute window) for the repository at `repo_root`.
    pub fn new(repo_root: impl Into<PathBuf>) -> Self {
        Self { repo_root: repo_root.into(), chain_id: None, epoch_length: 3600, submission_window: 900, env: vec![] }
    }
}

/// Why a devnet could not start.
#[derive(Debug, thiserror::Error)]
pub enum DevnetError {
    /// A tool is missing: the toolchain is installed by `scripts/setup.sh`.
    #[error("{} not found: run scripts/setup.sh first", .0.display())]
    MissingTool(PathBuf),
    /// anvil failed to start.
    #[error("anvil failed to start: {0}")]
    Anvil(#[from] NodeError),
    /// The deploy script failed.
    #[error("forge script Deploy.s.sol failed ({status}):\n{output}")]
    Deploy {
        /// Exit status.
        status: String,
        /// Tail of forge's output.
        output: String,
    },
    /// forge could not be run.
    #[error("cannot run forge: {0}")]
    Io(#[from] std::io::Error),
    /// The manifest written by the deploy script is unusable.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
}

/// A running anvil with the protocol deployed. Dropping it stops anvil and removes its manifest and state cache.
#[derive(Debug)]
pub struct Devnet {
    // Declared first so it is dropped (anvil killed) before its state cache is removed.
    anvil: AnvilInstance,
    manifest: Manifest,
    manifest_path: PathBuf,
    /// anvil's persisted states. By default anvil writes them under `~/.foundry/anvil/tmp` and removes them only
    /// on a clean exit; the node bindings kill it, so every test chain left up to 2 GB there (80 GB filled this
    /// machine's disk and failed a CI run).
    _state_cache: tempfile::TempDir,
}

impl Devnet {
    /// Starts anvil on loopback and deploys the protocol with `options`.
    pub fn start(options: DevnetOptions) -> Result<Self, DevnetError> {
        let bin = options.repo_root.join("node_modules/.bin");
        let (anvil_bin, forge_bin) = (bin.join("anvil"), bin.join("forge"));
        for tool in [&anvil_bin, &forge_bin] {
            if !tool.exists() {
                return Err(DevnetError::MissingTool(tool.clone()));
            }
        }
        let chain_id = options.chain_id.unwrap_or_else(|| {
            // Distinct per process and per call; far from public chain ids.
            0x4e_0000_0000 + u64::from(std::process::id()) * 1000 + NEXT_CHAIN.fetch_add(1, Ordering::Relaxed)
        });
        let state_cache = tempfile::Builder::new().prefix("neuro-anvil-").tempdir()?;
        let anvil = Anvil::at(&anvil_bin)
            .chain_id(chain_id)
            .prague()
            .arg("--host")
            .arg("127.0.0.1")
            .arg("--cache-path")
            .arg(state_cache.path())
            .try_spawn()?;

        let deployer_key = hex::encode_prefixed(anvil.first_key().to_bytes());
        let output = {
            let _guard = FORGE.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            Command::new(&forge_bin)
                .current_dir(&options.repo_root)
                .args(["script", "contracts/script/Deploy.s.sol:Deploy", "--broadcast", "--slow", "--rpc-url"])
                .arg(anvil.endpoint())
                .env("DEPLOYER_PRIVATE_KEY", deployer_key)
                .env("NEURO_EPOCH_LENGTH", options.epoch_length.to_string())
                .env("NEURO_SUBMISSION_WINDOW", options.submission_window.to_string())
                .envs(options.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
                .output()?
        };
        if !output.status.success() {
            let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
            text.push_str(&String::from_utf8_lossy(&output.stderr));
            let tail: String =
                text.lines().rev().take(30).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join("\n");
            return Err(DevnetError::Deploy { status: output.status.to_string(), output: tail });
        }
        let manifest_path = options.repo_root.join("deployments").join(format!("{chain_id}.json"));
        let manifest = Manifest::load(&manifest_path)?;
        Ok(Self { anvil, manifest, manifest_path, _state_cache: state_cache })
    }

    /// The repository root, found from this crate's location (for tests).
    pub fn repo_root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_default()
    }

    /// HTTP endpoint of the chain.
    pub fn endpoint(&self) -> String {
        self.anvil.endpoint()
    }

    /// The deployment.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Chain id.
    pub fn chain_id(&self) -> u64 {
        self.manifest.chain_id
    }

    /// Signer of anvil's prefunded account `index` (0 is the deployer, 1..9 are free).
    pub fn signer(&self, index: usize) -> Option<PrivateKeySigner> {
        self.anvil.nth_key(index).map(|key| PrivateKeySigner::from(key.clone()))
    }
}

impl Drop for Devnet {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.manifest_path);
    }
}
