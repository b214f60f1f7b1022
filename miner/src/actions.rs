//! Chain actions of the operator: staking, node registration, reward claims, and the status overview.

use alloy::{
    primitives::{Address, B256, FixedBytes, U256},
    rpc::types::TransactionReceipt,
};
use neuro_protocol::bindings::{Emissions, ModelRegistry, NeuroToken, NodeRegistry, StakingVault};
use serde::Serialize;

use crate::{chain::Chain, store::Store};

/// A failed action, with the contract's custom error decoded when there is one.
#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    /// The transaction would revert.
    #[error("{action} would fail: {reason}")]
    Reverted {
        /// What was attempted.
        action: &'static str,
        /// Decoded reason.
        reason: String,
    },
    /// A precondition the contracts would also refuse, caught before sending.
    #[error("{0}")]
    Precondition(String),
    /// RPC or store failure.
    #[error("{0}")]
    Other(String),
}

/// A sent transaction: hash and gas used.
#[derive(Debug, Clone, Serialize)]
pub struct Sent {
    /// What it did.
    pub action: &'static str,
    /// Transaction hash.
    pub tx: B256,
    /// Gas used.
    pub gas_used: u64,
}

fn decode(e: &alloy::contract::Error) -> String {
    use neuro_protocol::bindings::{
        Emissions::EmissionsErrors, NodeRegistry::NodeRegistryErrors, StakingVault::StakingVaultErrors,
    };
    if let Some(err) = e.as_decoded_interface_error::<StakingVaultErrors>() {
        return format!("{err:?}");
    }
    if let Some(err) = e.as_decoded_interface_error::<NodeRegistryErrors>() {
        return format!("{err:?}");
    }
    if let Some(err) = e.as_decoded_interface_error::<EmissionsErrors>() {
        return format!("{err:?}");
    }
    if let Some(err) = e.as_decoded_interface_error::<NeuroToken::NeuroTokenErrors>() {
        return format!("{err:?}");
    }
    e.to_string()
}

macro_rules! send {
    ($action:expr, $call:expr) => {{
        let call = $call;
        call.call().await.map_err(|e| ActionError::Reverted { action: $action, reason: decode(&e) })?;
        let receipt: TransactionReceipt = call
            .send()
            .await
            .map_err(|e| ActionError::Other(e.to_string()))?
            .get_receipt()
            .await
            .map_err(|e| ActionError::Other(e.to_string()))?;
        if !receipt.status() {
            return Err(ActionError::Reverted {
                action: $action,
                reason: format!("reverted in {}", receipt.transaction_hash),
            });
        }
        Sent { action: $action, tx: receipt.transaction_hash, gas_used: receipt.gas_used }
    }};
}

/// Stakes `amount` (approving the vault first if needed).
pub async fn stake(chain: &Chain, amount: U256) -> Result<Vec<Sent>, ActionError> {
    let c = &chain.manifest.contracts;
    let token = NeuroToken::new(c.token, chain.provider.clone());
    let balance = token.balanceOf(chain.operator).call().await.map_err(|e| ActionError::Other(e.to_string()))?;
    if balance < amount {
        return Err(ActionError::Precondition(format!("insufficient balance: {balance} NEURO-wei, staking {amount}")));
    }
    let mut sent = Vec::new();
    let allowance =
        token.allowance(chain.operator, c.staking).call().await.map_err(|e| ActionError::Other(e.to_string()))?;
    if allowance < amount {
        sent.push(send!("approve", token.approve(c.staking, amount)));
    }
    let vault = StakingVault::new(c.staking, chain.provider.clone());
    sent.push(send!("stake", vault.stake(amount)));
    Ok(sent)
}

/// Starts unbonding `amount`.
pub async fn unstake(chain: &Chain, amount: U256) -> Result<Sent, ActionError> {
    let vault = StakingVault::new(chain.manifest.contracts.staking, chain.provider.clone());
    Ok(send!("unstake", vault.unstake(amount)))
}

/// Withdraws released unbonding stake.
pub async fn withdraw(chain: &Chain) -> Result<Sent, ActionError> {
    let vault = StakingVault::new(chain.manifest.contracts.staking, chain.provider.clone());
    Ok(send!("withdraw", vault.withdraw()))
}

/// Registers the node (receipt signer: the operator itself) for approved `models`.
pub async fn register(chain: &Chain, endpoint: &str, models: &[[u8; 32]]) -> Result<Sent, ActionError> {
    let c = &chain.manifest.contracts;
    let registry = ModelRegistry::new(c.model_registry, chain.provider.clone());
    for id in models {
        let approved = registry.isApproved((*id).into()).call().await.map_err(|e| ActionError::Other(e.to_string()))?;
        if !approved {
            return Err(ActionError::Precondition(format!("model 0x{} is not approved on chain", hex::encode(id))));
        }
    }
    let vault = StakingVault::new(c.staking, chain.provider.clone());
    if !vault.meetsNodeStake(chain.operator).call().await.map_err(|e| ActionError::Other(e.to_string()))? {
        let min = vault.minNodeStake().call().await.map_err(|e| ActionError::Other(e.to_string()))?;
        return Err(ActionError::Precondition(format!(
            "stake below the node minimum of {min} NEURO-wei: run `neuro-miner stake` first"
        )));
    }
    let ids: Vec<FixedBytes<32>> = models.iter().map(|m| (*m).into()).collect();
    let nodes = NodeRegistry::new(c.node_registry, chain.provider.clone());
    Ok(send!("register", nodes.register(endpoint.to_string(), chain.operator, ids)))
}

/// Deregisters the node.
pub async fn deregister(chain: &Chain) -> Result<Sent, ActionError> {
    let nodes = NodeRegistry::new(chain.manifest.contracts.node_registry, chain.provider.clone());
    Ok(send!("deregister", nodes.deregister()))
}

/// Finalized epochs with unclaimed rewards among those this node submitted usage for.
pub async fn claimable(chain: &Chain, store: &Store) -> Result<(Vec<u64>, U256), ActionError> {
    let emissions = Emissions::new(chain.manifest.contracts.emissions, chain.provider.clone());
    let mut epochs = Vec::new();
    let mut total = U256::ZERO;
    for epoch in store.submitted_epochs().await.map_err(|e| ActionError::Other(e.to_string()))? {
        let owed = emissions
            .pendingMinerReward(chain.operator, vec![U256::from(epoch)])
            .call()
            .await
            .map_err(|e| ActionError::Other(e.to_string()))?;
        if !owed.is_zero() {
            epochs.push(epoch);
            total += owed;
        }
    }
    epochs.sort_unstable();
    Ok((epochs, total))
}

/// Claims every finalized, unclaimed epoch; `None` when there is nothing to claim.
pub async fn claim(chain: &Chain, store: &Store) -> Result<Option<(Sent, U256)>, ActionError> {
    let (epochs, total) = claimable(chain, store).await?;
    if epochs.is_empty() {
        return Ok(None);
    }
    let emissions = Emissions::new(chain.manifest.contracts.emissions, chain.provider.clone());
    let sent = send!("claim", emissions.claim(epochs.into_iter().map(U256::from).collect()));
    Ok(Some((sent, total)))
}

/// The operator's overview.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    /// Operator address.
    pub operator: Address,
    /// Chain id.
    pub chain_id: u64,
    /// Current epoch.
    pub epoch: u64,
    /// NEURO balance.
    pub balance: U256,
    /// Bonded stake.
    pub bonded: U256,
    /// Unbonding amount.
    pub unbonding: U256,
    /// Whether the node is registered and active.
    pub node_active: bool,
    /// Receipts recorded / not yet batched / batches submitted.
    pub receipts: u64,
    /// Receipts waiting for their epoch's submission.
    pub pending_receipts: u64,
    /// Batches submitted.
    pub batches: u64,
    /// Epochs with submitted usage.
    pub submitted_epochs: Vec<u64>,
    /// Claimable rewards (finalized epochs).
    pub claimable: U256,
}

/// Reads the status.
pub async fn status(chain: &Chain, store: &Store) -> Result<Status, ActionError> {
    let other = |e: alloy::contract::Error| ActionError::Other(e.to_string());
    let c = &chain.manifest.contracts;
    let token = NeuroToken::new(c.token, chain.provider.clone());
    let vault = StakingVault::new(c.staking, chain.provider.clone());
    let nodes = NodeRegistry::new(c.node_registry, chain.provider.clone());
    let now = chain.now().await.map_err(|e| ActionError::Other(e.to_string()))?;
    let (receipts, pending_receipts, batches) = store.counts().await.map_err(|e| ActionError::Other(e.to_string()))?;
    let (_, claimable) = claimable(chain, store).await?;
    Ok(Status {
        operator: chain.operator,
        chain_id: chain.manifest.chain_id,
        epoch: chain.epoch_at(now),
        balance: token.balanceOf(chain.operator).call().await.map_err(other)?,
        bonded: vault.bondedStake(chain.operator).call().await.map_err(other)?,
        unbonding: U256::from(vault.unbonding(chain.operator).call().await.map_err(other)?.amount),
        node_active: nodes.isActive(chain.operator).call().await.map_err(other)?,
        receipts,
        pending_receipts,
        batches,
        submitted_epochs: store.submitted_epochs().await.map_err(|e| ActionError::Other(e.to_string()))?,
        claimable,
    })
}
