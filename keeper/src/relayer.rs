//! Sending transactions as a careful relayer does: one nonce sequence per signer (taken from the pending state,
//! so a restart never reuses a nonce still in the mempool), gas estimated with headroom, fees capped, stuck
//! transactions re-sent with bumped fees under the same nonce, and RPC errors retried with exponential backoff and
//! jitter.

use std::time::Duration;

use alloy::{
    network::TransactionBuilder,
    primitives::{Address, B256},
    providers::{DynProvider, Provider},
    rpc::types::{TransactionReceipt, TransactionRequest},
};
use rand::Rng;
use tokio::sync::Mutex;

/// Relaying errors.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// The network's fee is above the configured cap: nothing was sent.
    #[error("gas price {wanted} wei is above the cap of {cap} wei; not sending")]
    FeeAboveCap {
        /// Current max fee per gas.
        wanted: u128,
        /// Cap.
        cap: u128,
    },
    /// RPC kept failing after all retries.
    #[error("RPC failed after {attempts} attempts: {last}")]
    Rpc {
        /// Attempts made.
        attempts: u32,
        /// Last error.
        last: String,
    },
    /// Gas estimation says the transaction would revert (the state changed since it was simulated).
    #[error("transaction would revert: {0}")]
    WouldRevert(String),
    /// The transaction was mined but reverted.
    #[error("transaction {0} reverted")]
    Reverted(B256),
    /// Not mined after every fee bump.
    #[error("transaction not mined after {0} fee bumps")]
    Stuck(u32),
}

/// Tunables.
#[derive(Debug, Clone)]
pub struct RelayConfig {
    /// Highest max fee per gas to pay, wei.
    pub max_fee_per_gas: u128,
    /// How long to wait for a receipt before bumping.
    pub confirm_timeout: Duration,
    /// Fee bumps before giving up.
    pub max_bumps: u32,
    /// RPC attempts per call.
    pub rpc_attempts: u32,
    /// First backoff delay.
    pub base_backoff: Duration,
}

impl Default for RelayConfig {
    fn default() -> Self {
        Self {
            max_fee_per_gas: 500_000_000_000, // 500 gwei
            confirm_timeout: Duration::from_secs(60),
            max_bumps: 5,
            rpc_attempts: 6,
            base_backoff: Duration::from_millis(200),
        }
    }
}

/// Sends transactions from one signer.
#[derive(Debug)]
pub struct Relayer {
    provider: DynProvider,
    from: Address,
    config: RelayConfig,
    /// Serialises sends so nonces are taken and used in order.
    lock: Mutex<()>,
}

/// Runs `f` until it succeeds or `attempts` are spent, sleeping `base · 2^i` plus up to 50% jitter in between.
pub async fn with_retries<T, E: std::fmt::Display, F, Fut>(
    attempts: u32,
    base: Duration,
    mut f: F,
) -> Result<T, RelayError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, E>>,
{
    let mut last = String::new();
    for attempt in 0..attempts.max(1) {
        match f().await {
            Ok(value) => return Ok(value),
            Err(e) => {
                last = e.to_string();
                if attempt + 1 < attempts {
                    let delay = base * 2u32.saturating_pow(attempt);
                    let jitter = rand::thread_rng().gen_range(0..=delay.as_millis() as u64 / 2);
                    tracing::debug!(attempt, error = %last, "RPC error, retrying");
                    tokio::time::sleep(delay + Duration::from_millis(jitter)).await;
                }
            }
        }
    }
    Err(RelayError::Rpc { attempts, last })
}

impl Relayer {
    /// A relayer for `from`, whose key is in `provider`'s wallet.
    pub fn new(provider: DynProvider, from: Address, config: RelayConfig) -> Self {
        Self { provider, from, config, lock: Mutex::new(()) }
    }

    /// The signer.
    pub fn from(&self) -> Address {
        self.from
    }

    /// The signer's balance in wei.
    pub async fn balance(&self) -> Result<alloy::primitives::U256, RelayError> {
        let (provider, from) = (self.provider.clone(), self.from);
        with_retries(self.config.rpc_attempts, self.config.base_backoff, || {
            let provider = provider.clone();
            async move { provider.get_balance(from).await }
        })
        .await
    }

    /// Sends `tx` (to and input set) and waits for its receipt, bumping fees while it is stuck.
    pub async fn send(&self, tx: TransactionRequest) -> Result<TransactionReceipt, RelayError> {
        let _guard = self.lock.lock().await;
        let (provider, from, cfg) = (self.provider.clone(), self.from, self.config.clone());
        let tx = tx.with_from(from);
        let nonce = with_retries(cfg.rpc_attempts, cfg.base_backoff, || {
            let provider = provider.clone();
            async move { provider.get_transaction_count(from).pending().await }
        })
        .await?;
        let estimate = self.estimate(&tx).await?;
        let fees = with_retries(cfg.rpc_attempts, cfg.base_backoff, || {
            let provider = provider.clone();
            async move { provider.estimate_eip1559_fees().await }
        })
        .await?;
        if fees.max_fee_per_gas > cfg.max_fee_per_gas {
            return Err(RelayError::FeeAboveCap { wanted: fees.max_fee_per_gas, cap: cfg.max_fee_per_gas });
        }
        let chain_id = with_retries(cfg.rpc_attempts, cfg.base_backoff, || {
            let provider = provider.clone();
            async move { provider.get_chain_id().await }
        })
        .await?;
        let (mut max_fee, mut priority) = (fees.max_fee_per_gas, fees.max_priority_fee_per_gas);
        let mut sent: Vec<B256> = Vec::new();
        for bump in 0..=cfg.max_bumps {
            let attempt = tx
                .clone()
                .with_nonce(nonce)
                .with_chain_id(chain_id)
                .with_gas_limit(estimate + estimate / 5)
                .with_max_fee_per_gas(max_fee)
                .with_max_priority_fee_per_gas(priority);
            match provider.send_transaction(attempt).await {
                Ok(pending) => {
                    sent.push(*pending.tx_hash());
                    match pending.with_timeout(Some(cfg.confirm_timeout)).get_receipt().await {
                        Ok(receipt) => return Self::checked(receipt),
                        Err(e) => tracing::warn!(bump, error = %e, "transaction not confirmed in time; bumping fees"),
                    }
                }
                Err(e) => {
                    // A replacement can fail because an earlier attempt was mined meanwhile.
                    tracing::warn!(bump, error = %e, "send failed");
                }
            }
            if let Some(receipt) = self.find_mined(&sent).await {
                return Self::checked(receipt);
            }
            // +12.5% on both fees (the minimum replacement bump most nodes accept), within the cap.
            max_fee = (max_fee + max_fee / 8 + 1).min(cfg.max_fee_per_gas);
            priority = (priority + priority / 8 + 1).min(max_fee);
        }
        Err(RelayError::Stuck(cfg.max_bumps))
    }

    /// Gas estimate; a revert is final (not retried), transport errors are retried.
    async fn estimate(&self, tx: &TransactionRequest) -> Result<u64, RelayError> {
        let cfg = &self.config;
        let mut last = String::new();
        for attempt in 0..cfg.rpc_attempts.max(1) {
            match self.provider.estimate_gas(tx.clone()).await {
                Ok(gas) => return Ok(gas),
                Err(alloy::transports::RpcError::ErrorResp(payload)) => {
                    return Err(RelayError::WouldRevert(payload.message.to_string()));
                }
                Err(e) => {
                    last = e.to_string();
                    tokio::time::sleep(cfg.base_backoff * 2u32.saturating_pow(attempt)).await;
                }
            }
        }
        Err(RelayError::Rpc { attempts: cfg.rpc_attempts, last })
    }

    async fn find_mined(&self, hashes: &[B256]) -> Option<TransactionReceipt> {
        for hash in hashes {
            if let Ok(Some(receipt)) = self.provider.get_transaction_receipt(*hash).await {
                return Some(receipt);
            }
        }
        None
    }

    fn checked(receipt: TransactionReceipt) -> Result<TransactionReceipt, RelayError> {
        if receipt.status() { Ok(receipt) } else { Err(RelayError::Reverted(receipt.transaction_hash)) }
    }
}
