//! Fills a devnet with protocol events for backfill benchmarks: real `StakingVault.stake` transactions (each
//! emits the token's `Transfer`, stNEURO's `Transfer`, `DelegateVotesChanged` and `Staked`), sent pipelined and
//! mined in large blocks.

use alloy::{
    network::{EthereumWallet, TransactionBuilder},
    primitives::U256,
    providers::{Provider, ProviderBuilder},
    rpc::types::TransactionRequest,
    signers::local::PrivateKeySigner,
    sol_types::SolCall,
};
use futures::future::try_join_all;
use indicatif::ProgressBar;
use neuro_protocol::{
    Manifest,
    bindings::{NeuroToken, StakingVault},
};

/// Why population failed.
#[derive(Debug, thiserror::Error)]
pub enum PopulateError {
    /// An RPC call failed.
    #[error("RPC: {0}")]
    Rpc(String),
    /// A transaction reverted.
    #[error("transaction reverted: {0}")]
    Reverted(String),
}

fn rpc(e: impl std::fmt::Display) -> PopulateError {
    PopulateError::Rpc(e.to_string())
}

/// Sends stake transactions from `signer` (which must hold NEURO) until at least `events` protocol events were
/// emitted; returns the number emitted. The node must accept `evm_setAutomine` and `evm_mine` (anvil).
pub async fn populate(
    url: &str,
    manifest: &Manifest,
    signer: PrivateKeySigner,
    events: u64,
) -> Result<u64, PopulateError> {
    let from = signer.address();
    let url: url::Url = url.parse().map_err(rpc)?;
    let provider = ProviderBuilder::new().wallet(EthereumWallet::from(signer.clone())).connect_http(url.clone());
    let c = manifest.contracts;
    let token = NeuroToken::new(c.token, &provider);
    token.approve(c.staking, U256::MAX).send().await.map_err(rpc)?.get_receipt().await.map_err(rpc)?;
    // The first stake also delegates (two more events); the second shows what every later one emits.
    let mut emitted = 0;
    let mut per_tx = 1;
    for _ in 0..2 {
        let pending = StakingVault::new(c.staking, &provider).stake(U256::from(1u64)).send().await.map_err(rpc)?;
        let receipt = pending.get_receipt().await.map_err(rpc)?;
        if !receipt.status() {
            return Err(PopulateError::Reverted(format!("{:#x}", receipt.transaction_hash)));
        }
        per_tx = receipt.inner.logs().len().max(1) as u64;
        emitted += per_tx;
    }

    // Raw pipelined sends: every field set, so the provider makes no estimate or nonce call per transaction.
    let raw =
        ProviderBuilder::new().disable_recommended_fillers().wallet(EthereumWallet::from(signer)).connect_http(url);
    let chain_id = raw.get_chain_id().await.map_err(rpc)?;
    let mut nonce = raw.get_transaction_count(from).await.map_err(rpc)?;
    let fee = raw.get_gas_price().await.map_err(rpc)? * 2;
    let calldata = StakingVault::stakeCall { amount: U256::from(1u64) }.abi_encode();
    raw.raw_request::<_, serde_json::Value>("evm_setAutomine".into(), (false,)).await.map_err(rpc)?;
    let bar = ProgressBar::new(events);
    let result = async {
        while emitted < events {
            let batch = (events - emitted).div_ceil(per_tx).min(250);
            let sends = (0..batch).map(|i| {
                let tx = TransactionRequest::default()
                    .with_from(from)
                    .with_to(c.staking)
                    .with_input(calldata.clone())
                    .with_nonce(nonce + i)
                    .with_chain_id(chain_id)
                    .with_gas_limit(200_000)
                    .with_max_fee_per_gas(fee)
                    .with_max_priority_fee_per_gas(0);
                let raw = &raw;
                async move { raw.send_transaction(tx).await.map(|pending| *pending.tx_hash()) }
            });
            let hashes = try_join_all(sends).await.map_err(rpc)?;
            raw.raw_request::<_, serde_json::Value>("evm_mine".into(), ()).await.map_err(rpc)?;
            if let Some(last) = hashes.last() {
                let receipt = raw.get_transaction_receipt(*last).await.map_err(rpc)?;
                if !receipt.is_some_and(|r| r.status()) {
                    return Err(PopulateError::Reverted(format!("{last:#x}")));
                }
            }
            nonce += batch;
            emitted += batch * per_tx;
            bar.set_position(emitted.min(events));
        }
        Ok(())
    }
    .await;
    bar.finish_and_clear();
    raw.raw_request::<_, serde_json::Value>("evm_setAutomine".into(), (true,)).await.map_err(rpc)?;
    result.map(|()| emitted)
}
