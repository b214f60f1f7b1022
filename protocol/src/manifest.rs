//! The deployment manifest, `deployments/<chainId>.json`, written by `contracts/script/Deploy.s.sol`.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use alloy::{
    primitives::{Address, B256},
    providers::Provider,
    transports::{RpcError, TransportErrorKind},
};
use serde::{Deserialize, Serialize};

/// The manifest schema this build reads.
pub const SCHEMA_VERSION: u64 = 1;

/// Addresses and parameters of one deployment of the protocol.
///
/// Invariant once [`Manifest::verify`] succeeded: the RPC endpoint serves `chain_id` and every contract
/// address holds code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Manifest {
    /// Schema version of this file.
    pub schema_version: u64,
    /// Chain the contracts live on.
    pub chain_id: u64,
    /// Account that broadcast the deployment (it keeps no power afterwards).
    pub deployer: Address,
    /// Head block when the deployment started: every contract was created after it, so indexers start here.
    pub start_block: u64,
    /// Start of epoch 0 (unix seconds).
    pub genesis_time: u64,
    /// Epoch length in seconds.
    pub epoch_length: u64,
    /// Contract addresses.
    pub contracts: Contracts,
    /// sha-256 of the verifying key each usage verifier embeds, by batch size (as a decimal string).
    pub usage_verifying_keys: BTreeMap<String, B256>,
}

/// Addresses of the deployed contracts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct Contracts {
    #[serde(rename = "NeuroToken")]
    pub token: Address,
    #[serde(rename = "Emissions")]
    pub emissions: Address,
    #[serde(rename = "StakingVault")]
    pub staking: Address,
    #[serde(rename = "NeuroGovernor")]
    pub governor: Address,
    #[serde(rename = "NeuroTimelock")]
    pub timelock: Address,
    #[serde(rename = "TeamVesting")]
    pub team_vesting: Address,
    #[serde(rename = "InvestorVesting")]
    pub investor_vesting: Address,
    #[serde(rename = "ModelRegistry")]
    pub model_registry: Address,
    #[serde(rename = "NodeRegistry")]
    pub node_registry: Address,
    #[serde(rename = "Payments")]
    pub payments: Address,
    #[serde(rename = "FeeVault")]
    pub fee_vault: Address,
    #[serde(rename = "UsageLedger")]
    pub usage_ledger: Address,
    #[serde(rename = "UsageVerifier64")]
    pub usage_verifier_64: Address,
    #[serde(rename = "UsageVerifier1024")]
    pub usage_verifier_1024: Address,
    #[serde(rename = "Disputes")]
    pub disputes: Address,
}

impl Contracts {
    /// Every contract with its name, for checks and listings.
    pub fn named(&self) -> [(&'static str, Address); 15] {
        [
            ("NeuroToken", self.token),
            ("Emissions", self.emissions),
            ("StakingVault", self.staking),
            ("NeuroGovernor", self.governor),
            ("NeuroTimelock", self.timelock),
            ("TeamVesting", self.team_vesting),
            ("InvestorVesting", self.investor_vesting),
            ("ModelRegistry", self.model_registry),
            ("NodeRegistry", self.node_registry),
            ("Payments", self.payments),
            ("FeeVault", self.fee_vault),
            ("UsageLedger", self.usage_ledger),
            ("UsageVerifier64", self.usage_verifier_64),
            ("UsageVerifier1024", self.usage_verifier_1024),
            ("Disputes", self.disputes),
        ]
    }
}

/// Why a manifest could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// The file could not be read.
    #[error("cannot read deployment manifest {}: {source}", path.display())]
    Read {
        /// File path.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// The file is not a valid manifest.
    #[error("deployment manifest {} is malformed: {source}", path.display())]
    Parse {
        /// File path.
        path: PathBuf,
        /// Cause.
        source: serde_json::Error,
    },
    /// The file has a schema this build does not read.
    #[error("deployment manifest has schema version {found}; this build reads version {SCHEMA_VERSION}")]
    Schema {
        /// Version found in the file.
        found: u64,
    },
    /// The RPC endpoint serves another chain.
    #[error("the manifest is for chain {manifest} but the RPC endpoint serves chain {rpc}")]
    WrongChain {
        /// Chain id in the manifest.
        manifest: u64,
        /// Chain id reported by the RPC endpoint.
        rpc: u64,
    },
    /// A contract address holds no code on this chain.
    #[error("no code at {name} ({address}): this manifest does not describe this chain's deployment")]
    MissingCode {
        /// Contract name.
        name: &'static str,
        /// Its address in the manifest.
        address: Address,
    },
    /// The RPC endpoint failed.
    #[error("RPC error while checking the manifest: {0}")]
    Rpc(#[from] RpcError<TransportErrorKind>),
}

impl Manifest {
    /// Parses a manifest from JSON text.
    pub fn from_json(text: &str, path: &Path) -> Result<Self, ManifestError> {
        let manifest: Self =
            serde_json::from_str(text).map_err(|source| ManifestError::Parse { path: path.to_path_buf(), source })?;
        if manifest.schema_version != SCHEMA_VERSION {
            return Err(ManifestError::Schema { found: manifest.schema_version });
        }
        Ok(manifest)
    }

    /// Reads a manifest file.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, ManifestError> {
        let path = path.as_ref();
        let text =
            std::fs::read_to_string(path).map_err(|source| ManifestError::Read { path: path.to_path_buf(), source })?;
        Self::from_json(&text, path)
    }

    /// Reads `<dir>/<chain_id>.json`.
    pub fn load_for_chain(dir: impl AsRef<Path>, chain_id: u64) -> Result<Self, ManifestError> {
        Self::load(dir.as_ref().join(format!("{chain_id}.json")))
    }

    /// Checks that `provider` serves this manifest's chain and that every contract has code there.
    pub async fn verify<P: Provider>(&self, provider: &P) -> Result<(), ManifestError> {
        let rpc = provider.get_chain_id().await?;
        if rpc != self.chain_id {
            return Err(ManifestError::WrongChain { manifest: self.chain_id, rpc });
        }
        for (name, address) in self.contracts.named() {
            if provider.get_code_at(address).await?.is_empty() {
                return Err(ManifestError::MissingCode { name, address });
            }
        }
        Ok(())
    }

    /// The epoch containing `timestamp`, or `None` before genesis.
    pub fn epoch_at(&self, timestamp: u64) -> Option<u64> {
        timestamp.checked_sub(self.genesis_time).map(|elapsed| elapsed / self.epoch_length)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"{
      "chainId": 31337,
      "contracts": {
        "Emissions": "0xDc64a140Aa3E981100a9becA4E685f962f0cF6C9",
        "InvestorVesting": "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0",
        "NeuroGovernor": "0x0165878A594ca255338adfa4d48449f69242Eb8F",
        "NeuroTimelock": "0x5FbDB2315678afecb367f032d93F642f64180aa3",
        "NeuroToken": "0xCf7Ed3AccA5a467e9e704C703E8D87F634fB0Fc9",
        "StakingVault": "0x5FC8d32690cc91D4c39d9d3abcBD16989F875707",
        "TeamVesting": "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512",
        "ModelRegistry": "0x2279B7A0a67DB372996a5FaB50D91eAA73d2eBe6",
        "NodeRegistry": "0x8A791620dd6260079BF849Dc5567aDC3F2FdC318",
        "Payments": "0xB7f8BC63BbcaD18155201308C8f3540b07f84F5e",
        "FeeVault": "0x610178dA211FEF7D417bC0e6FeD39F05609AD788",
        "UsageLedger": "0xA51c1fc2f0D1a1b8494Ed1FE312d7C3a78Ed91C0",
        "UsageVerifier64": "0x0DCd1Bf9A1b36cE34237eEaFef220932846BCD82",
        "UsageVerifier1024": "0x9A676e781A523b5d0C0e43731313A708CB607508",
        "Disputes": "0x959922bE3CAee4b8Cd9a407cc3ac1C251C2007B1"
      },
      "usageVerifyingKeys": {
        "64": "0x04dbe15a81d7d2c0bfed8085007e6e9e82fa132b8eaaaf586ce6059a59712f8d",
        "1024": "0xd4509d10c0f6a598e232a01710163f1c54f774f469f293c9719d48444bef7e83"
      },
      "deployer": "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
      "epochLength": 3600,
      "genesisTime": 1795305426,
      "schemaVersion": 1,
      "startBlock": 0
    }"#;

    #[test]
    fn parses_the_deploy_script_output() {
        let m = Manifest::from_json(SAMPLE, Path::new("31337.json")).expect("valid sample");
        assert_eq!(m.chain_id, 31337);
        assert_eq!(m.epoch_length, 3600);
        assert_eq!(m.contracts.token, "0xCf7Ed3AccA5a467e9e704C703E8D87F634fB0Fc9".parse::<Address>().expect("addr"));
        assert_eq!(m.epoch_at(1795305426 + 7199), Some(1));
        assert_eq!(m.epoch_at(1795305425), None);
    }

    #[test]
    fn rejects_other_schema_versions() {
        let text = SAMPLE.replace("\"schemaVersion\": 1", "\"schemaVersion\": 2");
        assert!(matches!(Manifest::from_json(&text, Path::new("x")), Err(ManifestError::Schema { found: 2 })));
    }

    #[test]
    fn malformed_input_names_the_file() {
        let err =
            Manifest::from_json("{\"chainId\": \"x\"}", Path::new("deployments/1.json")).expect_err("bad chainId");
        assert!(err.to_string().contains("deployments/1.json"), "{err}");
        let missing = Manifest::load("/nonexistent/neuro.json").expect_err("no such file");
        assert!(matches!(missing, ManifestError::Read { .. }));
    }
}
