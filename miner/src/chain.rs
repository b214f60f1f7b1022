//! The miner's view of the chain: the deployment, its clock, and the payment state of users.

use alloy::{
    eips::BlockId,
    network::EthereumWallet,
    primitives::{Address, B256, U256},
    providers::{DynProvider, Provider, ProviderBuilder},
    signers::local::PrivateKeySigner,
    transports::{RpcError, TransportErrorKind},
};
use neuro_protocol::{
    Manifest, ManifestError,
    bindings::{Emissions, Payments},
};

/// Chain errors.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    /// The RPC endpoint failed.
    #[error("RPC error: {0}")]
    Rpc(#[from] RpcError<TransportErrorKind>),
    /// A contract call failed.
    #[error("contract call failed: {0}")]
    Contract(#[from] alloy::contract::Error),
    /// The manifest does not match the chain.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// The RPC URL is invalid.
    #[error("invalid RPC URL {0}")]
    Url(String),
}

/// A connected deployment: provider with the operator's wallet, and the manifest.
#[derive(Clone, Debug)]
pub struct Chain {
    /// Provider that signs with the operator key.
    pub provider: DynProvider,
    /// The deployment.
    pub manifest: Manifest,
    /// The operator (miner) address.
    pub operator: Address,
}

impl Chain {
    /// Connects to `rpc_url`, checks the manifest against the chain (chain id and code) and signs with `signer`.
    pub async fn connect(rpc_url: &str, manifest: Manifest, signer: PrivateKeySigner) -> Result<Self, ChainError> {
        let url = rpc_url.parse().map_err(|_| ChainError::Url(rpc_url.to_string()))?;
        let operator = signer.address();
        let provider = ProviderBuilder::new().wallet(EthereumWallet::from(signer)).connect_http(url).erased();
        manifest.verify(&provider).await?;
        Ok(Self { provider, manifest, operator })
    }

    /// Timestamp of the latest block: the protocol's clock (epochs follow block time, not the host's).
    pub async fn now(&self) -> Result<u64, ChainError> {
        let block = self.provider.get_block(BlockId::latest()).await?;
        Ok(block.map(|b| b.header.timestamp).unwrap_or_default())
    }

    /// The epoch containing chain time `now`.
    pub fn epoch_at(&self, now: u64) -> u64 {
        self.manifest.epoch_at(now).unwrap_or(0)
    }

    /// The `Payments` contract.
    pub fn payments(&self) -> Payments::PaymentsInstance<DynProvider> {
        Payments::new(self.manifest.contracts.payments, self.provider.clone())
    }

    /// The `Emissions` contract.
    pub fn emissions(&self) -> Emissions::EmissionsInstance<DynProvider> {
        Emissions::new(self.manifest.contracts.emissions, self.provider.clone())
    }

    /// What `user` can still be charged by this miner's allowance `digest`: its deposit minus any pending
    /// withdrawal, and what was already redeemed on chain under `digest`.
    pub async fn user_funds(&self, user: Address, digest: B256) -> Result<(U256, U256), ChainError> {
        let payments = self.payments();
        let deposit = payments.deposits(user).call().await?;
        let pending = payments.pendingWithdrawal(user).call().await?;
        let redeemed = payments.redeemed(digest).call().await?;
        let pending_amount = U256::from(pending.amount);
        Ok((deposit.saturating_sub(pending_amount), redeemed))
    }
}
