//! The miner's configuration file (`<data dir>/config.toml`), written by `neuro-miner init`.

use std::path::{Path, PathBuf};

use alloy::primitives::U256;
use neuro_protocol::{ModelId, units::decimal_u256};
use serde::{Deserialize, Serialize};

/// Configuration errors.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// File.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// The file is not valid TOML for this schema.
    #[error("{}: {source}", path.display())]
    Parse {
        /// File.
        path: PathBuf,
        /// Cause.
        source: toml::de::Error,
    },
    /// A model is configured twice.
    #[error("model '{0}' is configured twice")]
    DuplicateModel(String),
}

/// One served model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelConfig {
    /// Name clients use in `model`.
    pub name: String,
    /// GGUF file or safetensors directory.
    pub path: PathBuf,
    /// On-chain model id (hex), computed by `model add`.
    pub id: ModelId,
    /// Price in NEURO-wei per million tokens (a decimal string in the file); at least the model's floor.
    #[serde(with = "decimal_u256")]
    pub price_per_mtok: U256,
}

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Config {
    /// JSON-RPC endpoint.
    pub rpc_url: String,
    /// Expected chain id (the manifest and the endpoint must agree).
    pub chain_id: u64,
    /// Deployment manifest file.
    pub manifest: PathBuf,
    /// Encrypted operator keystore file.
    pub keystore: PathBuf,
    /// Address the HTTP API listens on.
    pub listen: String,
    /// Address of the operator's `/metrics` listener, kept off the public API (none: `/metrics` is served on the
    /// API port, with a warning).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics_listen: Option<String>,
    /// Public URL registered on chain.
    pub public_endpoint: String,
    /// Receipts per usage batch (64 or 1024).
    pub batch_size: usize,
    /// Directory with `usage-<N>.pk` proving keys.
    pub proving_keys: PathBuf,
    /// Models.
    #[serde(default)]
    pub models: Vec<ModelConfig>,
    /// Limits that keep one client or one user from taking the node.
    #[serde(default)]
    pub limits: Limits,
    /// How models run on this machine.
    #[serde(default)]
    pub engine: EngineSettings,
}

/// Engine settings (`[engine]` in the config file; every field optional).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EngineSettings {
    /// CPU threads for inference (default: the physical cores; `RAYON_NUM_THREADS` overrides both).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threads: Option<usize>,
    /// Activations of CPU models: `f32` (the default, and what validators re-execute with: another dtype
    /// answers differently and fails their checks) or `auto` (mistral.rs's pick, BF16 on a CPU).
    pub dtype: neuro_engine::cpu::ActivationDType,
}

/// Serving limits (`[limits]` in the config file; every field optional).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Paid requests running at once on this node; more get 503 with `Retry-After`.
    pub max_concurrent_requests: usize,
    /// Paid requests one user may have running at once here; more get 429.
    pub max_requests_per_user: usize,
    /// Largest request body accepted, in bytes; larger get 413.
    pub max_body_bytes: usize,
    /// How long the payment gate reuses a chain read (the clock, an allowance's lock), in milliseconds; 0 reads
    /// on every request. A revoked allowance can be served for up to this long after its revocation.
    pub chain_cache_ms: u64,
    /// Time a client has to send a request's headers, and again its body, in milliseconds; a keep-alive
    /// connection idle that long is closed. Slower clients are cut off.
    pub client_timeout_ms: u64,
    /// HTTP connections open at once on the API listener; more are closed as they arrive.
    pub max_connections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_concurrent_requests: 64,
            max_requests_per_user: 8,
            max_body_bytes: 1 << 20,
            chain_cache_ms: 1000,
            client_timeout_ms: 10_000,
            max_connections: 1024,
        }
    }
}

impl Config {
    /// Reads `path`.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io { path: path.into(), source })?;
        let config: Self = toml::from_str(&text).map_err(|source| ConfigError::Parse { path: path.into(), source })?;
        let mut names: Vec<&str> = config.models.iter().map(|m| m.name.as_str()).collect();
        names.sort();
        if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
            return Err(ConfigError::DuplicateModel(w[0].to_string()));
        }
        Ok(config)
    }

    /// Writes `path` (creating its directory).
    pub fn save(&self, path: &Path) -> Result<(), ConfigError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|source| ConfigError::Io { path: dir.into(), source })?;
        }
        let text = toml::to_string_pretty(self)
            .map_err(|e| ConfigError::Io { path: path.into(), source: std::io::Error::other(e) })?;
        std::fs::write(path, text).map_err(|source| ConfigError::Io { path: path.into(), source })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_duplicate_models() -> Result<(), Box<dyn std::error::Error>> {
        let dir = std::env::temp_dir().join(format!("neuro-config-{}", std::process::id()));
        let path = dir.join("config.toml");
        let model = ModelConfig {
            name: "tiny".into(),
            path: "/m".into(),
            id: ModelId::from([1; 32]),
            price_per_mtok: U256::from(5),
        };
        let mut config = Config {
            rpc_url: "http://127.0.0.1:8545".into(),
            chain_id: 31337,
            manifest: "deployments/31337.json".into(),
            keystore: dir.join("key.json"),
            listen: "127.0.0.1:8080".into(),
            metrics_listen: Some("127.0.0.1:9464".into()),
            public_endpoint: "http://127.0.0.1:8080".into(),
            batch_size: 64,
            proving_keys: "keys".into(),
            models: vec![model.clone()],
            limits: Limits::default(),
            engine: Default::default(),
        };
        config.save(&path)?;
        assert_eq!(Config::load(&path)?, config);
        let text = std::fs::read_to_string(&path)?;
        assert!(text.contains("price_per_mtok = \"5\""), "prices are written in decimal wei:\n{text}");
        std::fs::write(&path, text.replace("price_per_mtok = \"5\"", "price_per_mtok = \"five\""))?;
        let err = Config::load(&path).expect_err("a price that is not a number is refused at load");
        assert!(err.to_string().contains("five"), "{err}");
        std::fs::write(&path, text.replace(&"01".repeat(32), "0102"))?;
        assert!(matches!(Config::load(&path), Err(ConfigError::Parse { .. })), "a short model id is refused at load");
        config.save(&path)?;
        config.models.push(model);
        config.save(&path)?;
        assert!(matches!(Config::load(&path), Err(ConfigError::DuplicateModel(_))));
        std::fs::write(&path, "rpc_url = 3")?;
        assert!(matches!(Config::load(&path), Err(ConfigError::Parse { .. })));
        std::fs::remove_dir_all(dir)?;
        Ok(())
    }
}
