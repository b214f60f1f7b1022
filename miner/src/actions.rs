//! Chain actions of the operator: staking, node registration, reward claims, and the status overview.

use alloy::{
    contract::{CallBuilder, CallDecoder},
    primitives::{Address, B256, FixedBytes, U256},
    providers::DynProvider,
    rpc::types::TransactionReceipt,
    sol_types::SolInterface,
};
use neuro_protocol::{
    ModelId,
    bindings::{
        Emissions::{self, EmissionsErrors},
        ModelRegistry,
        NeuroToken::{self, NeuroTokenErrors},
        NodeRegistry::{self, NodeRegistryErrors},
        StakingVault::{self, StakingVaultErrors},
    },
};
use serde::Serialize;

use crate::{
    chain::{Chain, ChainError},
    store::{Store, StoreError},
};

/// A failed action.
#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    /// Reading or sending failed, or the transaction would revert (the contract's error is decoded).
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// A precondition the contracts would also refuse, caught before sending.
    #[error("{0}")]
    Precondition(String),
    /// The receipt store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The endpoint to register is not a URL users can safely reach.
    #[error("public endpoint {endpoint:?}: {reason}")]
    Endpoint {
        /// What was given.
        endpoint: String,
        /// Why it is refused.
        reason: &'static str,
    },
}

/// The URL users reach this node at, as registered on chain. API keys travel in its requests' headers, so it
/// must be `https://` unless the operator explicitly allows plain `http://` (a loopback devnet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicEndpoint(url::Url);

impl PublicEndpoint {
    /// Parses `text`; plain `http://` only with `allow_insecure`.
    pub fn parse(text: &str, allow_insecure: bool) -> Result<Self, ActionError> {
        let refuse = |reason| ActionError::Endpoint { endpoint: text.to_owned(), reason };
        let url = url::Url::parse(text).map_err(|_| refuse("not a URL"))?;
        match url.scheme() {
            "https" => {}
            "http" if allow_insecure => {}
            "http" => {
                return Err(refuse(
                    "plain http would expose users' API keys on the network: use https (or --insecure on a devnet)",
                ));
            }
            _ => return Err(refuse("the scheme must be https")),
        }
        if url.host().is_none() || !url.username().is_empty() || url.password().is_some() {
            return Err(refuse("it needs a host and no credentials"));
        }
        Ok(Self(url))
    }

    /// The URL as registered.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl From<alloy::contract::Error> for ActionError {
    fn from(e: alloy::contract::Error) -> Self {
        Self::Chain(e.into())
    }
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

impl Sent {
    fn from_receipt(action: &'static str, receipt: &TransactionReceipt) -> Self {
        Self { action, tx: receipt.transaction_hash, gas_used: receipt.gas_used }
    }
}

/// Simulates, sends through the chain's relayer and waits for the receipt; reverts are decoded with `E`.
async fn send<E, D>(
    chain: &Chain,
    action: &'static str,
    call: CallBuilder<&DynProvider, D>,
) -> Result<Sent, ActionError>
where
    E: SolInterface + std::fmt::Debug,
    D: CallDecoder,
{
    let receipt = chain.relayer.send_call::<E, _, D>(action, call).await?;
    Ok(Sent::from_receipt(action, &receipt))
}

/// Stakes `amount` (approving the vault first if needed).
pub async fn stake(chain: &Chain, amount: U256) -> Result<Vec<Sent>, ActionError> {
    let c = &chain.manifest.contracts;
    let token = NeuroToken::new(c.token, chain.provider.clone());
    let balance = token.balanceOf(chain.operator).call().await?;
    if balance < amount {
        return Err(ActionError::Precondition(format!("insufficient balance: {balance} NEURO-wei, staking {amount}")));
    }
    let mut sent = Vec::new();
    let allowance = token.allowance(chain.operator, c.staking).call().await?;
    if allowance < amount {
        sent.push(send::<NeuroTokenErrors, _>(chain, "approve", token.approve(c.staking, amount)).await?);
    }
    let vault = StakingVault::new(c.staking, chain.provider.clone());
    sent.push(send::<StakingVaultErrors, _>(chain, "stake", vault.stake(amount)).await?);
    Ok(sent)
}

/// Starts unbonding `amount`.
pub async fn unstake(chain: &Chain, amount: U256) -> Result<Sent, ActionError> {
    let vault = StakingVault::new(chain.manifest.contracts.staking, chain.provider.clone());
    send::<StakingVaultErrors, _>(chain, "unstake", vault.unstake(amount)).await
}

/// Withdraws released unbonding stake.
pub async fn withdraw(chain: &Chain) -> Result<Sent, ActionError> {
    let vault = StakingVault::new(chain.manifest.contracts.staking, chain.provider.clone());
    send::<StakingVaultErrors, _>(chain, "withdraw", vault.withdraw()).await
}

/// Registers the node (receipt signer: the operator itself) for approved `models`.
pub async fn register(chain: &Chain, endpoint: &PublicEndpoint, models: &[ModelId]) -> Result<Sent, ActionError> {
    let c = &chain.manifest.contracts;
    let registry = ModelRegistry::new(c.model_registry, chain.provider.clone());
    for id in models {
        let approved = registry.isApproved(id.0).call().await?;
        if !approved {
            return Err(ActionError::Precondition(format!("model {id} is not approved on chain")));
        }
    }
    let vault = StakingVault::new(c.staking, chain.provider.clone());
    if !vault.meetsNodeStake(chain.operator).call().await? {
        let min = vault.minNodeStake().call().await?;
        return Err(ActionError::Precondition(format!(
            "stake below the node minimum of {min} NEURO-wei: run `neuro-miner stake` first"
        )));
    }
    let ids: Vec<FixedBytes<32>> = models.iter().map(|m| m.0).collect();
    let nodes = NodeRegistry::new(c.node_registry, chain.provider.clone());
    send::<NodeRegistryErrors, _>(chain, "register", nodes.register(endpoint.as_str().to_owned(), chain.operator, ids))
        .await
}

/// Deregisters the node.
pub async fn deregister(chain: &Chain) -> Result<Sent, ActionError> {
    let nodes = NodeRegistry::new(chain.manifest.contracts.node_registry, chain.provider.clone());
    send::<NodeRegistryErrors, _>(chain, "deregister", nodes.deregister()).await
}

/// Finalized epochs with unclaimed rewards among those this node submitted usage for.
pub async fn claimable(chain: &Chain, store: &Store) -> Result<(Vec<u64>, U256), ActionError> {
    let emissions = Emissions::new(chain.manifest.contracts.emissions, chain.provider.clone());
    let mut epochs = Vec::new();
    let mut total = U256::ZERO;
    for epoch in store.submitted_epochs().await? {
        let owed = emissions.pendingMinerReward(chain.operator, vec![U256::from(epoch)]).call().await?;
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
    let sent =
        send::<EmissionsErrors, _>(chain, "claim", emissions.claim(epochs.into_iter().map(U256::from).collect()))
            .await?;
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
    let c = &chain.manifest.contracts;
    let token = NeuroToken::new(c.token, chain.provider.clone());
    let vault = StakingVault::new(c.staking, chain.provider.clone());
    let nodes = NodeRegistry::new(c.node_registry, chain.provider.clone());
    let now = chain.now().await?;
    let (receipts, pending_receipts, batches) = store.counts().await?;
    let (_, claimable) = claimable(chain, store).await?;
    Ok(Status {
        operator: chain.operator,
        chain_id: chain.manifest.chain_id,
        epoch: chain.epoch_at(now),
        balance: token.balanceOf(chain.operator).call().await?,
        bonded: vault.bondedStake(chain.operator).call().await?,
        unbonding: U256::from(vault.unbonding(chain.operator).call().await?.amount),
        node_active: nodes.isActive(chain.operator).call().await?,
        receipts,
        pending_receipts,
        batches,
        submitted_epochs: store.submitted_epochs().await?,
        claimable,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_endpoints_need_an_explicit_opt_in() {
        assert!(PublicEndpoint::parse("https://node.example:8443", false).is_ok());
        assert!(matches!(PublicEndpoint::parse("http://node.example", false), Err(ActionError::Endpoint { .. })));
        assert!(PublicEndpoint::parse("http://127.0.0.1:8080", true).is_ok());
        for bad in ["node.example", "ftp://node.example", "https://user:pw@node.example", "https://"] {
            assert!(PublicEndpoint::parse(bad, true).is_err(), "{bad}");
        }
    }
}
