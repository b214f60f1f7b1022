//! Sending transactions as a careful relayer does: one nonce sequence per signer (taken from the pending state,
//! so a restart never reuses a nonce still in the mempool), gas estimated with headroom, fees capped, stuck
//! transactions re-sent with bumped fees under the same nonce, and RPC errors retried with exponential backoff and
//! jitter.

use std::time::Duration;

use alloy::{
    contract::{CallBuilder, CallDecoder},
    network::TransactionBuilder,
    primitives::{Address, B256, U256},
    providers::{DynProvider, Provider},
    rpc::types::{TransactionReceipt, TransactionRequest},
    sol_types::SolInterface,
    transports::{RpcError, TransportError},
};
use tokio::sync::Mutex;

use crate::{
    ChainError,
    retry::with_retries,
    revert::{Revert, classify},
};

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
    #[error("RPC failed after {attempts} attempts")]
    Rpc {
        /// Attempts made.
        attempts: u32,
        /// Last error.
        #[source]
        source: TransportError,
    },
    /// Gas estimation says the transaction would revert (the state changed since it was simulated).
    #[error("transaction would revert: {0}")]
    WouldRevert(Revert),
    /// The transaction was mined but reverted.
    #[error("transaction {0} reverted")]
    Reverted(B256),
    /// Not mined after every fee bump.
    #[error("transaction not mined after {0} fee bumps")]
    Stuck(u32),
}

impl RelayError {
    /// Whether sending again later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::FeeAboveCap { .. } | Self::Rpc { .. } | Self::Stuck(_))
    }
}

/// Tunables.
#[derive(Debug, Clone)]
pub struct RelayConfig {
    /// Highest max fee per gas to pay, wei.
    pub max_fee_per_gas: u128,
    /// How long to wait for a receipt before bumping.
    pub confirm_timeout: Duration,
    /// How often to look for a receipt while waiting.
    pub poll_interval: Duration,
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
            poll_interval: Duration::from_millis(500),
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
    /// The last transaction given up on ([`RelayError::Stuck`]), which may still sit in a mempool.
    stuck: std::sync::Mutex<Option<StuckTx>>,
}

/// A transaction the relayer stopped waiting for: its nonce and the fees of its last copy.
#[derive(Debug, Clone)]
struct StuckTx {
    nonce: u64,
    max_fee: u128,
    priority: u128,
    /// Hashes of its copies.
    sent: Vec<B256>,
}

impl Relayer {
    /// A relayer for `from`, whose key is in `provider`'s wallet.
    pub fn new(provider: DynProvider, from: Address, config: RelayConfig) -> Self {
        Self { provider, from, config, lock: Mutex::new(()), stuck: std::sync::Mutex::new(None) }
    }

    /// The signer.
    pub fn from(&self) -> Address {
        self.from
    }

    /// The signer's balance in wei.
    pub async fn balance(&self) -> Result<U256, RelayError> {
        let (provider, from) = (self.provider.clone(), self.from);
        self.rpc(|| {
            let provider = provider.clone();
            async move { provider.get_balance(from).await }
        })
        .await
    }

    /// The provider the relayer sends through (it signs with the relayer's key).
    pub fn provider(&self) -> &DynProvider {
        &self.provider
    }

    async fn rpc<T, F, Fut>(&self, f: F) -> Result<T, RelayError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, TransportError>>,
    {
        let attempts = self.config.rpc_attempts.max(1);
        with_retries(attempts, self.config.base_backoff, f).await.map_err(|source| RelayError::Rpc { attempts, source })
    }

    /// Simulates `call` with `eth_call`, then sends it as [`Self::send`] does. A revert is decoded with the
    /// contract's error enum `E` and returned without sending; a transport failure is returned as transient.
    pub async fn send_call<E, P, D>(
        &self,
        action: &'static str,
        call: CallBuilder<P, D>,
    ) -> Result<TransactionReceipt, ChainError>
    where
        E: SolInterface + std::fmt::Debug,
        P: Provider,
        D: CallDecoder,
    {
        simulate::<E, P, D>(action, &call).await?;
        self.send(call.into_transaction_request()).await.map_err(|source| ChainError::Relay { action, source })
    }

    /// Sends `tx` (to and input set) and waits for its receipt, bumping fees while it is stuck.
    pub async fn send(&self, tx: TransactionRequest) -> Result<TransactionReceipt, RelayError> {
        let _guard = self.lock.lock().await;
        let (provider, from, cfg) = (self.provider.clone(), self.from, self.config.clone());
        let tx = tx.with_from(from);
        let nonce = self
            .rpc(|| {
                let provider = provider.clone();
                async move { provider.get_transaction_count(from).pending().await }
            })
            .await?;
        let estimate = self.estimate(&tx).await?;
        let fees = self
            .rpc(|| {
                let provider = provider.clone();
                async move { provider.estimate_eip1559_fees().await }
            })
            .await?;
        if fees.max_fee_per_gas > cfg.max_fee_per_gas {
            return Err(RelayError::FeeAboveCap { wanted: fees.max_fee_per_gas, cap: cfg.max_fee_per_gas });
        }
        let chain_id = self
            .rpc(|| {
                let provider = provider.clone();
                async move { provider.get_chain_id().await }
            })
            .await?;
        let (mut max_fee, mut priority) = (fees.max_fee_per_gas, fees.max_priority_fee_per_gas);
        // A transaction given up on earlier and still not mined would otherwise sit under its nonce while this
        // one stacks behind it: both could land (the caller already retried its action). Unless one of its copies
        // was mined, take its nonce over, with fees above its last copy's, so at most one of the two lands.
        let stuck = self.stuck.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let nonce = match stuck {
            Some(old) if old.nonce < nonce && !self.any_mined(&old.sent).await? => {
                tracing::warn!(nonce = old.nonce, "replacing a transaction given up on earlier, still not mined");
                max_fee = max_fee.max(old.max_fee + old.max_fee / 8 + 1).min(cfg.max_fee_per_gas);
                priority = priority.max(old.priority + old.priority / 8 + 1).min(max_fee);
                old.nonce
            }
            _ => nonce,
        };
        let mut sent: Vec<B256> = Vec::new();
        let mut last_fees = (max_fee, priority);
        for bump in 0..=cfg.max_bumps {
            last_fees = (max_fee, priority);
            let attempt = tx
                .clone()
                .with_nonce(nonce)
                .with_chain_id(chain_id)
                .with_gas_limit(estimate.saturating_add(estimate / 5))
                .with_max_fee_per_gas(max_fee)
                .with_max_priority_fee_per_gas(priority);
            match provider.send_transaction(attempt).await {
                Ok(pending) => sent.push(*pending.tx_hash()),
                // A replacement can be refused because an earlier attempt was mined or is still pending
                // ("nonce too low", "already known", "replacement underpriced"): keep waiting for those.
                Err(e) => tracing::warn!(bump, error = %e, "send failed"),
            }
            if let Some(receipt) = self.wait_mined(&sent).await {
                *self.stuck.lock().unwrap_or_else(|p| p.into_inner()) = None;
                return Self::checked(receipt);
            }
            tracing::warn!(
                bump,
                nonce,
                "transaction not mined in time (stuck or dropped); re-sending with higher fees"
            );
            // +12.5% on both fees (the minimum replacement bump most nodes accept), within the cap.
            max_fee = (max_fee + max_fee / 8 + 1).min(cfg.max_fee_per_gas);
            priority = (priority + priority / 8 + 1).min(max_fee);
        }
        let (max_fee, priority) = last_fees;
        *self.stuck.lock().unwrap_or_else(|p| p.into_inner()) = Some(StuckTx { nonce, max_fee, priority, sent });
        Err(RelayError::Stuck(cfg.max_bumps))
    }

    /// Whether any of `hashes` has a receipt (transport errors retried, then returned).
    async fn any_mined(&self, hashes: &[B256]) -> Result<bool, RelayError> {
        for hash in hashes {
            let provider = self.provider.clone();
            let receipt = self
                .rpc(|| {
                    let provider = provider.clone();
                    async move { provider.get_transaction_receipt(*hash).await }
                })
                .await?;
            if receipt.is_some() {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Gas estimate; a revert is final (not retried), transport errors are retried.
    async fn estimate(&self, tx: &TransactionRequest) -> Result<u64, RelayError> {
        let cfg = &self.config;
        let attempts = cfg.rpc_attempts.max(1);
        let mut attempt = 0;
        loop {
            match self.provider.estimate_gas(tx.clone()).await {
                Ok(gas) => return Ok(gas),
                Err(RpcError::ErrorResp(payload))
                    if payload.code == 3
                        || payload.as_revert_data().is_some()
                        || payload.message.to_ascii_lowercase().starts_with("execution reverted") =>
                {
                    let data = payload.as_revert_data();
                    return Err(RelayError::WouldRevert(Revert { reason: payload.message.to_string(), data }));
                }
                Err(source) if attempt + 1 >= attempts => return Err(RelayError::Rpc { attempts, source }),
                Err(_) => {
                    tokio::time::sleep(crate::retry::backoff(cfg.base_backoff, attempt)).await;
                    attempt += 1;
                }
            }
        }
    }

    /// Polls for a receipt of any of `hashes` (same nonce: at most one can be mined) until the confirm timeout.
    async fn wait_mined(&self, hashes: &[B256]) -> Option<TransactionReceipt> {
        let deadline = tokio::time::Instant::now() + self.config.confirm_timeout;
        loop {
            for hash in hashes {
                if let Ok(Some(receipt)) = self.provider.get_transaction_receipt(*hash).await {
                    return Some(receipt);
                }
            }
            if tokio::time::Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(self.config.poll_interval).await;
        }
    }

    fn checked(receipt: TransactionReceipt) -> Result<TransactionReceipt, RelayError> {
        if receipt.status() { Ok(receipt) } else { Err(RelayError::Reverted(receipt.transaction_hash)) }
    }
}

/// Simulates `call` with `eth_call`: `Ok` if it would succeed, [`ChainError::Reverted`] with the reason decoded by
/// `E` if it reverts, a transient error if the node could not be asked.
pub async fn simulate<E, P, D>(action: &'static str, call: &CallBuilder<P, D>) -> Result<(), ChainError>
where
    E: SolInterface + std::fmt::Debug,
    P: Provider,
    D: CallDecoder,
{
    match call.call_raw().await {
        Ok(_) => Ok(()),
        Err(e) => match classify::<E>(e) {
            Ok(revert) => Err(ChainError::Reverted { action, revert }),
            Err(other) => Err(other.into()),
        },
    }
}
