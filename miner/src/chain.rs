//! The miner's view of the chain: the deployment, its clock, the payment state of users, and the relayer every
//! transaction of the operator goes through (`neuro-chain`: timeouts, read retries, fee caps, bumps).

use std::{future::IntoFuture, sync::Arc};

use alloy::sol_types::Eip712Domain;
use alloy::{
    eips::BlockId,
    primitives::{Address, B256, U256},
    providers::{DynProvider, Provider},
    signers::local::PrivateKeySigner,
};
pub use neuro_chain::ChainError;
use neuro_chain::{RelayConfig, Relayer, RpcConfig};
use neuro_protocol::{
    Manifest,
    bindings::{Emissions, Payments},
    receipt::receipts_domain,
};

/// A connected deployment: provider with the operator's wallet, the relayer, and the manifest.
#[derive(Clone, Debug)]
pub struct Chain {
    /// Provider that signs with the operator key.
    pub provider: DynProvider,
    /// Sends the operator's transactions (one nonce sequence for the node's epoch work and its CLI actions).
    pub relayer: Arc<Relayer>,
    /// The deployment.
    pub manifest: Manifest,
    /// The operator (miner) address.
    pub operator: Address,
    /// The operator's key, which is also the node's registered receipt signer (its `Debug` shows the address
    /// only).
    pub signer: PrivateKeySigner,
}

impl Chain {
    /// Connects to `rpc_url`, checks the manifest against the chain (chain id and code) and signs with `signer`.
    pub async fn connect(rpc_url: &str, manifest: Manifest, signer: PrivateKeySigner) -> Result<Self, ChainError> {
        Self::connect_with(rpc_url, manifest, signer, RpcConfig::default(), RelayConfig::default()).await
    }

    /// [`Self::connect`] with explicit RPC and relaying settings.
    pub async fn connect_with(
        rpc_url: &str,
        manifest: Manifest,
        signer: PrivateKeySigner,
        rpc: RpcConfig,
        relay: RelayConfig,
    ) -> Result<Self, ChainError> {
        let operator = signer.address();
        let provider = neuro_chain::connect_signing(rpc_url, rpc, signer.clone())?;
        manifest.verify(&provider).await?;
        let relayer = Arc::new(Relayer::new(provider.clone(), operator, relay));
        Ok(Self { provider, relayer, manifest, operator, signer })
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

    /// The EIP-712 domain of the receipts this node signs.
    pub fn receipts_domain(&self) -> Eip712Domain {
        receipts_domain(self.manifest.chain_id, self.manifest.contracts.node_registry)
    }

    /// The `Payments` contract.
    pub fn payments(&self) -> Payments::PaymentsInstance<DynProvider> {
        Payments::new(self.manifest.contracts.payments, self.provider.clone())
    }

    /// The `Emissions` contract.
    pub fn emissions(&self) -> Emissions::EmissionsInstance<DynProvider> {
        Emissions::new(self.manifest.contracts.emissions, self.provider.clone())
    }

    /// The on-chain state of the allowance with digest `digest`, read at one block so the figures agree: its
    /// lock (what the user set aside for this miner) and what was already redeemed under it.
    pub async fn allowance_funds(&self, digest: B256) -> Result<(Payments::Lock, U256), ChainError> {
        let block = BlockId::number(self.provider.get_block_number().await?);
        let payments = self.payments();
        let lock = payments.lockOf(digest).block(block);
        let redeemed = payments.redeemed(digest).block(block);
        Ok(futures::try_join!(lock.call().into_future(), redeemed.call().into_future())?)
    }
}
