//! What is due and doing it: finalize every finalizable epoch in order, then flush the fee vault.

use std::{future::IntoFuture, sync::Arc};

use alloy::{
    eips::BlockId,
    primitives::U256,
    providers::{DynProvider, Provider},
};
use neuro_protocol::{
    Manifest,
    bindings::{Emissions, FeeVault},
};
use tokio::sync::Mutex;

use neuro_chain::{ChainError, RelayError, Relayer, retry::with_retries};

use crate::metrics::Metrics;

/// Keeper errors.
#[derive(Debug, thiserror::Error)]
pub enum KeeperError {
    /// Sending failed.
    #[error(transparent)]
    Relay(#[from] RelayError),
    /// Reading the chain failed (after retries): the next cycle tries again.
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// A call reverted for a reason that is not "already done".
    #[error("{action} would revert: {reason}")]
    Unexpected {
        /// What.
        action: String,
        /// Decoded reason.
        reason: String,
    },
}

impl From<alloy::contract::Error> for KeeperError {
    fn from(e: alloy::contract::Error) -> Self {
        Self::Chain(e.into())
    }
}

impl From<alloy::transports::TransportError> for KeeperError {
    fn from(e: alloy::transports::TransportError) -> Self {
        Self::Chain(e.into())
    }
}

/// What is due at chain time `now`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    /// Chain time (latest block timestamp).
    pub now: u64,
    /// Finalizable, unfinalized epochs, ascending.
    pub epochs: Vec<u64>,
    /// Pending (burn, treasury) fees in the vault, if any.
    pub flush: Option<(U256, U256)>,
}

/// What a cycle did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CycleReport {
    /// Epochs this keeper finalized (or, dry run, would).
    pub finalized: Vec<u64>,
    /// Epochs another keeper finalized first.
    pub already_finalized: Vec<u64>,
    /// (burned, to treasury) of this keeper's flush (or, dry run, pending).
    pub flushed: Option<(U256, U256)>,
}

/// Simulates a call with `eth_call`, retrying transport failures; a revert is returned at once.
async fn simulate<T, Fut>(mut call: impl FnMut() -> Fut) -> Result<Result<T, alloy::contract::Error>, KeeperError>
where
    Fut: Future<Output = Result<T, alloy::contract::Error>>,
{
    let outcome = with_retries(ATTEMPTS, BACKOFF, || {
        let attempt = call();
        async move {
            match attempt.await {
                Ok(value) => Ok(Ok(value)),
                Err(e)
                    if e.as_revert_data().is_some()
                        || matches!(
                            e,
                            alloy::contract::Error::TransportError(alloy::transports::RpcError::ErrorResp(_))
                        ) =>
                {
                    Ok(Err(e))
                }
                Err(e) => Err(e),
            }
        }
    })
    .await?;
    Ok(outcome)
}

/// The keeper.
#[derive(Debug)]
pub struct Keeper {
    provider: DynProvider,
    manifest: Manifest,
    relayer: Relayer,
    metrics: Arc<Metrics>,
    dry_run: bool,
    min_balance: U256,
    /// Lowest epoch not known to be finalized.
    cursor: Mutex<u64>,
}

const ATTEMPTS: u32 = 6;
const BACKOFF: std::time::Duration = std::time::Duration::from_millis(200);

impl Keeper {
    /// A keeper sending through `relayer`; `dry_run` simulates with `eth_call` and sends nothing.
    pub fn new(
        provider: DynProvider,
        manifest: Manifest,
        relayer: Relayer,
        metrics: Arc<Metrics>,
        dry_run: bool,
        min_balance: U256,
    ) -> Self {
        Self { provider, manifest, relayer, metrics, dry_run, min_balance, cursor: Mutex::new(0) }
    }

    fn emissions(&self) -> Emissions::EmissionsInstance<DynProvider> {
        Emissions::new(self.manifest.contracts.emissions, self.provider.clone())
    }

    fn vault(&self) -> FeeVault::FeeVaultInstance<DynProvider> {
        FeeVault::new(self.manifest.contracts.fee_vault, self.provider.clone())
    }

    async fn is_finalized(&self, epoch: u64) -> Result<bool, KeeperError> {
        let emissions = self.emissions();
        with_retries(ATTEMPTS, BACKOFF, || {
            let emissions = emissions.clone();
            async move { emissions.isFinalized(U256::from(epoch)).call().await }
        })
        .await
        .map_err(Into::into)
    }

    /// Reads what is due now (from the chain's clock, not the host's).
    pub async fn due(&self) -> Result<Due, KeeperError> {
        let provider = self.provider.clone();
        let now =
            with_retries(ATTEMPTS, BACKOFF, || {
                let provider = provider.clone();
                async move {
                    provider.get_block(BlockId::latest()).await.map(|b| b.map(|b| b.header.timestamp).unwrap_or(0))
                }
            })
            .await?;
        let (genesis, length) = (self.manifest.genesis_time, self.manifest.epoch_length);
        // Epoch e is finalizable once now >= finalizableAt(e) = genesis + (e + 1)·length + window(e), where each
        // epoch's window is fixed when it starts and never exceeds an epoch. So every e with
        // genesis + (e + 2)·length <= now is finalizable, and only the next one needs the chain's answer.
        let certain = now.checked_sub(genesis).map(|t| (t / length).saturating_sub(1)).unwrap_or(0);
        let emissions = self.emissions();
        let next_ready = with_retries(ATTEMPTS, BACKOFF, || {
            let emissions = emissions.clone();
            async move { emissions.finalizableAt(U256::from(certain)).call().await }
        })
        .await?;
        let finalizable_count = if next_ready <= U256::from(now) { certain + 1 } else { certain };
        let mut epochs = Vec::new();
        let mut cursor = self.cursor.lock().await;
        while *cursor < finalizable_count && self.is_finalized(*cursor).await? {
            self.metrics.saw_finalized(*cursor);
            *cursor += 1;
        }
        for epoch in *cursor..finalizable_count {
            if !self.is_finalized(epoch).await? {
                epochs.push(epoch);
            }
        }
        drop(cursor);
        self.metrics.lag_epochs.set(epochs.len() as u64);
        let vault = self.vault();
        let (burn, treasury) = with_retries(ATTEMPTS, BACKOFF, || {
            let vault = vault.clone();
            async move {
                let burn = vault.pendingBurn().call().await?;
                let treasury = vault.pendingTreasury().call().await?;
                Ok::<_, alloy::contract::Error>((burn, treasury))
            }
        })
        .await?;
        let flush = (!burn.is_zero() || !treasury.is_zero()).then_some((burn, treasury));
        Ok(Due { now, epochs, flush })
    }

    /// Does everything due once. Already-done work by another keeper is success.
    pub async fn run_once(&self) -> Result<CycleReport, KeeperError> {
        let result = self.cycle().await;
        match &result {
            Ok(_) => {
                self.metrics.consecutive_failures.set(0);
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or(0);
                self.metrics.last_success_unix.set(now);
            }
            Err(e) => {
                self.metrics.tx_failures.inc();
                let failures = self.metrics.consecutive_failures.inc() + 1;
                if failures >= 3 {
                    tracing::error!(failures, error = %e, "keeper cycles keep failing");
                }
            }
        }
        result
    }

    async fn cycle(&self) -> Result<CycleReport, KeeperError> {
        let due = self.due().await?;
        let mut report = CycleReport::default();
        for epoch in due.epochs {
            if self.finalize(epoch).await? {
                report.finalized.push(epoch);
            } else {
                report.already_finalized.push(epoch);
            }
            self.metrics.saw_finalized(epoch);
        }
        self.metrics.lag_epochs.set(0);
        if due.flush.is_some() {
            report.flushed = self.flush().await?;
        }
        self.check_balance().await;
        Ok(report)
    }

    /// Finalizes `epoch`; false if another keeper did it first.
    async fn finalize(&self, epoch: u64) -> Result<bool, KeeperError> {
        let emissions = self.emissions();
        let call = emissions.finalizeEpoch(U256::from(epoch));
        if let Err(e) = simulate(|| call.call().into_future()).await? {
            if e.as_decoded_error::<Emissions::EpochAlreadyFinalized>().is_some() {
                self.metrics.epochs_already_finalized.inc();
                return Ok(false);
            }
            let reason = e
                .as_decoded_interface_error::<Emissions::EmissionsErrors>()
                .map(|x| format!("{x:?}"))
                .unwrap_or_else(|| e.to_string());
            return Err(KeeperError::Unexpected { action: format!("finalizeEpoch({epoch})"), reason });
        }
        if self.dry_run {
            tracing::info!(epoch, "dry run: would finalize");
            return Ok(true);
        }
        match self.relayer.send(call.into_transaction_request()).await {
            Ok(receipt) => {
                tracing::info!(epoch, tx = %receipt.transaction_hash, gas = receipt.gas_used, "epoch finalized");
                self.metrics.epochs_finalized.inc();
                Ok(true)
            }
            // Lost a race with another keeper between simulation and inclusion: the epoch is finalized all the same.
            Err(RelayError::Reverted(_)) if self.is_finalized(epoch).await? => {
                self.metrics.epochs_already_finalized.inc();
                Ok(false)
            }
            // Another finalization is already pending (ours from before a restart, or another keeper's): nothing
            // to send; the next cycle confirms it.
            Err(RelayError::WouldRevert(reason)) => {
                tracing::info!(epoch, %reason, "finalization already pending elsewhere");
                self.metrics.epochs_already_finalized.inc();
                Ok(false)
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn flush(&self) -> Result<Option<(U256, U256)>, KeeperError> {
        let vault = self.vault();
        let call = vault.flush();
        let preview = match simulate(|| call.call().into_future()).await? {
            Ok(result) => (result.burned, result.toTreasury),
            Err(e) if e.as_decoded_error::<FeeVault::NothingToFlush>().is_some() => return Ok(None),
            Err(e) => return Err(KeeperError::Unexpected { action: "flush".into(), reason: e.to_string() }),
        };
        if self.dry_run {
            tracing::info!(burn = %preview.0, treasury = %preview.1, "dry run: would flush");
            return Ok(Some(preview));
        }
        match self.relayer.send(call.into_transaction_request()).await {
            Ok(receipt) => {
                let flushed = receipt.decoded_log::<FeeVault::FeesFlushed>().map(|l| (l.burned, l.toTreasury));
                if let Some((burned, _)) = flushed {
                    self.metrics.fees_burned_wei.inc_by(burned.saturating_to::<u64>());
                }
                self.metrics.flushes.inc();
                tracing::info!(tx = %receipt.transaction_hash, ?flushed, "fee vault flushed");
                Ok(flushed)
            }
            // Another keeper flushed first.
            Err(RelayError::Reverted(_) | RelayError::WouldRevert(_)) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    async fn check_balance(&self) {
        match self.relayer.balance().await {
            Ok(balance) => {
                self.metrics.signer_balance_gwei.set((balance / U256::from(1_000_000_000u64)).saturating_to());
                if balance < self.min_balance {
                    tracing::error!(signer = %self.relayer.from(), %balance, minimum = %self.min_balance, "keeper signer balance is low: top it up");
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot read the signer balance"),
        }
    }
}
