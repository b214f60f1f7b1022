//! Epoch work, after an epoch ends and within its submission window: redeem the users' allowances for the
//! fees the epoch's receipts charged, prove the receipts in batches per model, and submit the batches.
//!
//! Idempotent across restarts and retries: a redemption asks the chain what was already redeemed and redeems
//! only up to the receipts' cumulative total; a batch whose root the ledger already has is recorded, not resent.

use std::{
    collections::{BTreeMap, HashSet},
    path::PathBuf,
    sync::Arc,
};

use alloy::primitives::{B256, U256};
use ark_bn254::Bn254;
use ark_groth16::ProvingKey;
use neuro_protocol::{
    bindings::{Payments, UsageLedger, UsageVerifier},
    voucher::SignedAllowance,
};
use neuro_prover::{Batch, field, keys::KeyPaths, proof};
use rand_chacha::{ChaCha20Rng, rand_core::SeedableRng};
use tokio::sync::Mutex;

use crate::{
    chain::{Chain, ChainError},
    metrics::{InProgress, Metrics},
    store::{Store, StoreError, StoredReceipt, SubmittedBatch},
};

/// Proves `batch` on a rayon pool of its own. mistral.rs keeps work in rayon's global pool; a proof queued there
/// waits for the engine to go idle (seen: 15 s instead of 1.5 s for 64 receipts while serving).
pub fn prove_isolated(
    pk: &ProvingKey<Bn254>,
    batch: &Batch,
    miner: [u8; 20],
    epoch: u64,
) -> Result<proof::UsageProof, WorkError> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2))
        .thread_name(|i| format!("prover-{i}"))
        .build()
        .map_err(WorkError::ThreadPool)?;
    pool.install(|| proof::prove(pk, batch, miner, epoch, &mut ChaCha20Rng::from_entropy())).map_err(WorkError::Prove)
}

/// Epoch work errors.
#[derive(Debug, thiserror::Error)]
pub enum WorkError {
    /// Chain access failed (retry later).
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A batch could not be built from the receipts.
    #[error("building a usage batch")]
    Batch(#[source] neuro_prover::BatchError),
    /// Proving failed.
    #[error("proving failed")]
    Prove(#[source] proof::ProofError),
    /// The proving thread pool could not start.
    #[error("cannot start the proving thread pool")]
    ThreadPool(#[source] rayon::ThreadPoolBuildError),
    /// A proving task died.
    #[error("proving task failed")]
    Task(#[source] tokio::task::JoinError),
    /// Proving keys are missing.
    #[error("proving key: {0}")]
    Keys(#[from] neuro_prover::keys::KeyError),
    /// The usage ledger has no verifier for the configured batch size.
    #[error("the usage ledger has no verifier for batches of {0}: set batch_size to a supported size")]
    NoVerifier(usize),
    /// The local proving key is not the one the on-chain verifier checks: every proof would be rejected.
    #[error(
        "the proving key for batches of {batch_size} has verifying key hash {local}, but the on-chain verifier \
         checks {on_chain}: fetch the network's proving keys"
    )]
    KeyMismatch {
        /// Batch size.
        batch_size: usize,
        /// Hash of the local key's verifying key.
        local: B256,
        /// The verifier's `VERIFYING_KEY_HASH`.
        on_chain: B256,
    },
}

impl From<alloy::contract::Error> for WorkError {
    fn from(e: alloy::contract::Error) -> Self {
        Self::Chain(e.into())
    }
}

/// What one epoch's work did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct EpochReport {
    /// Allowances redeemed (transactions sent).
    pub redemptions: usize,
    /// Fees newly redeemed, NEURO-wei.
    pub redeemed: U256,
    /// Allowances whose receipts could not be paid (excluded from batches).
    pub unpaid_allowances: usize,
    /// Batches submitted.
    pub batches: usize,
    /// Tokens credited.
    pub tokens: u128,
    /// Allowances or batches whose work failed this round (to be retried).
    pub failures: usize,
}

/// Runs epoch work for one node.
#[derive(Debug)]
pub struct EpochWorker {
    chain: Chain,
    store: Store,
    keys_dir: PathBuf,
    batch_size: usize,
    metrics: Arc<Metrics>,
    proving_key: Mutex<Option<Arc<ProvingKey<Bn254>>>>,
}

impl EpochWorker {
    /// A worker proving batches of `batch_size` with keys from `keys_dir`.
    pub fn new(chain: Chain, store: Store, keys_dir: PathBuf, batch_size: usize, metrics: Arc<Metrics>) -> Self {
        Self { chain, store, keys_dir, batch_size, metrics, proving_key: Mutex::new(None) }
    }

    async fn proving_key(&self) -> Result<Arc<ProvingKey<Bn254>>, WorkError> {
        let mut slot = self.proving_key.lock().await;
        if let Some(pk) = slot.as_ref() {
            return Ok(pk.clone());
        }
        let paths = KeyPaths::new(&self.keys_dir, self.batch_size);
        let pk = Arc::new(tokio::task::spawn_blocking(move || paths.load_proving()).await.map_err(WorkError::Task)??);
        *slot = Some(pk.clone());
        Ok(pk)
    }

    /// Checks, before any work is served, that proofs made with the local proving key will be accepted: the
    /// usage ledger has a verifier for the batch size and it checks this key's verifying key (a node with the
    /// wrong keys would otherwise serve a whole epoch and find out when every batch is rejected).
    pub async fn check_proving_key(&self) -> Result<(), WorkError> {
        let pk = self.proving_key().await?;
        let local = B256::from(neuro_prover::keys::verifying_key_hash(&pk.vk));
        let ledger = UsageLedger::new(self.chain.manifest.contracts.usage_ledger, self.chain.provider.clone());
        let verifier = ledger.verifiers(U256::from(self.batch_size)).call().await?;
        if verifier.is_zero() {
            return Err(WorkError::NoVerifier(self.batch_size));
        }
        let on_chain = UsageVerifier::new(verifier, self.chain.provider.clone()).VERIFYING_KEY_HASH().call().await?;
        if on_chain != local {
            return Err(WorkError::KeyMismatch { batch_size: self.batch_size, local, on_chain });
        }
        Ok(())
    }

    /// Whether `epoch` still has receipts to redeem and prove (a request that straddled the epoch's end and
    /// finished after its work ran leaves one).
    pub async fn has_unbatched(&self, epoch: u64) -> Result<bool, WorkError> {
        Ok(self.store.has_unbatched(epoch).await?)
    }

    /// Redeems, proves and submits everything of `epoch`.
    ///
    /// One allowance or batch that fails (an RPC outage on its call, a proof that cannot be made) does not hold
    /// the others back: the rest of the epoch's work goes on, receipts of allowances not redeemed this round stay
    /// out of the batches (their fees are not yet booked to this miner), and the first failure is returned
    /// afterwards so the caller retries; what was done is not done twice.
    pub async fn run(&self, epoch: u64) -> Result<EpochReport, WorkError> {
        let mut report = EpochReport::default();
        let mut first_failure = None;
        let mut not_redeemed = HashSet::new();
        for (digest, api_key) in self.store.allowances_in_epoch(epoch).await? {
            if let Err(e) = self.redeem(epoch, digest, &api_key, &mut report).await {
                tracing::warn!(%digest, epoch, error = %e, "redemption failed; the epoch's other work goes on");
                report.failures += 1;
                not_redeemed.insert(digest);
                first_failure.get_or_insert(e);
            }
        }
        if let Err(e) = self.submit(epoch, &not_redeemed, &mut report, &mut first_failure).await {
            first_failure.get_or_insert(e);
        }
        match first_failure {
            Some(e) => Err(e),
            None => Ok(report),
        }
    }

    async fn redeem(&self, epoch: u64, digest: B256, api_key: &str, report: &mut EpochReport) -> Result<(), WorkError> {
        let payments = self.chain.payments();
        let Ok(signed) = SignedAllowance::from_api_key(api_key) else {
            self.store.drop_unpaid(digest, epoch).await?;
            return Ok(());
        };
        let target = self.store.charged_through(digest, epoch).await?;
        let mut already = payments.redeemed(digest).call().await?;
        if already >= target {
            return Ok(());
        }
        // Payments books fees per model (fees for one model cannot back work on another): cumulative steps in
        // the order the receipts were stored, one per run of one model, so a late receipt never shifts fees
        // booked earlier onto another model. Charges of earlier epochs not yet redeemed go with the first.
        let by_model = self.store.redemption_steps(digest, epoch).await?;
        let this_epoch = by_model.iter().fold(U256::ZERO, |acc, (_, fee)| acc + *fee);
        let mut step = target.saturating_sub(this_epoch);
        for (model, fee) in by_model {
            step += fee;
            if step <= already {
                continue;
            }
            let call =
                payments.redeem(signed.to_call_arg(), signed.signature_bytes(), step, U256::from(epoch), model.into());
            // Simulate first: a revert (user withdrew, allowance expired) marks the receipts unpaid instead of
            // failing the whole epoch. Only a revert: an RPC failure says nothing about the allowance and is
            // retried on the next tick, not taken as "unpaid".
            let receipt = match self.chain.relayer.send_call::<Payments::PaymentsErrors, _, _>("redeem", call).await {
                Ok(receipt) => receipt,
                // Already redeemed meanwhile (our own earlier copy mined late, or before a restart): the
                // chain has the money; read what it booked and go on, never write the receipts off.
                Err(ChainError::Reverted { revert, .. }) if revert.is::<Payments::NothingToRedeem>() => {
                    tracing::info!(%digest, epoch, "already redeemed up to this step");
                    already = payments.redeemed(digest).call().await?.max(already);
                    continue;
                }
                Err(ChainError::Reverted { revert, .. }) => {
                    tracing::warn!(%digest, %revert, epoch, "allowance cannot be redeemed; its receipts stay unpaid");
                    self.store.drop_unpaid(digest, epoch).await?;
                    report.unpaid_allowances += 1;
                    break;
                }
                Err(e) => return Err(e.into()),
            };
            tracing::info!(%digest, model = %B256::from(model), amount = %(step - already), tx = %receipt.transaction_hash, epoch, "redeemed");
            report.redemptions += 1;
            report.redeemed += step - already;
            already = step;
        }
        Ok(())
    }

    /// Proves and submits the epoch's unbatched receipts, leaving out those of `not_redeemed` allowances. A
    /// batch that fails is reported in `first_failure` and the next one is tried.
    async fn submit(
        &self,
        epoch: u64,
        not_redeemed: &HashSet<B256>,
        report: &mut EpochReport,
        first_failure: &mut Option<WorkError>,
    ) -> Result<(), WorkError> {
        let mut staged: BTreeMap<B256, Vec<StoredReceipt>> = BTreeMap::new();
        let mut by_model: BTreeMap<[u8; 32], Vec<StoredReceipt>> = BTreeMap::new();
        for r in self.store.unbatched_receipts(epoch).await? {
            if let Some(root) = r.staged_root {
                staged.entry(root).or_default().push(r);
            } else if !not_redeemed.contains(&r.allowance) {
                by_model.entry(r.receipt.model_id).or_default().push(r);
            }
        }
        // Batches staged by an earlier run first: they may be on chain or in the mempool, so exactly the same
        // batch goes again (the ledger takes a root once), never a different mix of the same receipts.
        for (root, receipts) in staged {
            if let Err(e) = self.submit_staged(epoch, root, &receipts, report).await {
                tracing::warn!(epoch, %root, error = %e, "staged batch failed; the others go on");
                report.failures += 1;
                first_failure.get_or_insert(e);
            }
        }
        for (model, receipts) in by_model {
            for chunk in receipts.chunks(self.batch_size) {
                if let Err(e) = self.submit_batch(epoch, model, chunk, report).await {
                    tracing::warn!(epoch, model = %B256::from(model), error = %e, "batch failed; the others go on");
                    report.failures += 1;
                    first_failure.get_or_insert(e);
                }
            }
        }
        Ok(())
    }

    /// Finishes a batch staged (and perhaps sent) by an earlier run.
    async fn submit_staged(
        &self,
        epoch: u64,
        root: B256,
        receipts: &[StoredReceipt],
        report: &mut EpochReport,
    ) -> Result<(), WorkError> {
        let model = receipts.first().map(|r| r.receipt.model_id).unwrap_or_default();
        let list: Vec<_> = receipts.iter().map(|r| r.receipt).collect();
        let rebuilt = Batch::new(self.batch_size, model, &list).map_err(WorkError::Batch)?;
        if B256::from(field::to_bytes32(&rebuilt.root())) == root {
            return self.submit_batch(epoch, model, receipts, report).await;
        }
        // It cannot be rebuilt (the batch size was changed in the config since): on chain, it is recorded as it
        // stands; otherwise its receipts go back to the pool and are batched afresh.
        let ledger = UsageLedger::new(self.chain.manifest.contracts.usage_ledger, self.chain.provider.clone());
        if ledger.rootUsed(root.into()).call().await? {
            let record = SubmittedBatch {
                root,
                epoch,
                model_id: model,
                batch_size: self.batch_size,
                tokens: rebuilt.total_tokens(),
                fees: rebuilt.total_fee(),
            };
            self.store.record_submission(receipts.iter().map(|r| r.id).collect(), record, None).await?;
        } else {
            tracing::warn!(epoch, %root, "a staged batch cannot be rebuilt and is not on chain; batching its receipts afresh");
            self.store.unstage(root).await?;
        }
        Ok(())
    }

    async fn submit_batch(
        &self,
        epoch: u64,
        model: [u8; 32],
        chunk: &[StoredReceipt],
        report: &mut EpochReport,
    ) -> Result<(), WorkError> {
        let ledger = UsageLedger::new(self.chain.manifest.contracts.usage_ledger, self.chain.provider.clone());
        let list: Vec<_> = chunk.iter().map(|r| r.receipt).collect();
        let batch = Batch::new(self.batch_size, model, &list).map_err(WorkError::Batch)?;
        if batch.total_tokens() == 0 {
            return Ok(());
        }
        let root = B256::from(field::to_bytes32(&batch.root()));
        let ids: Vec<i64> = chunk.iter().map(|r| r.id).collect();
        let record = SubmittedBatch {
            root,
            epoch,
            model_id: model,
            batch_size: self.batch_size,
            tokens: batch.total_tokens(),
            fees: batch.total_fee(),
        };
        if ledger.rootUsed(root.into()).call().await? {
            self.store.record_submission(ids, record, None).await?;
            return Ok(());
        }
        let pk = self.proving_key().await?;
        let miner = self.chain.operator.into_array();
        let proving_batch = batch.clone();
        let usage = {
            let _proving = InProgress::start(&self.metrics.proofs_in_progress);
            tokio::task::spawn_blocking(move || prove_isolated(&pk, &proving_batch, miner, epoch))
                .await
                .map_err(WorkError::Task)??
        };
        let words = proof::to_solidity(&usage.proof).map(|w| U256::from_be_bytes(w));
        let call = ledger.submitUsage(
            U256::from(epoch),
            model.into(),
            U256::from(batch.total_tokens()),
            U256::from(batch.total_fee()),
            root.into(),
            U256::from(self.batch_size),
            words,
        );
        // Staged before it is sent: if the process dies before the submission is recorded, the next run finds
        // this batch, not a new mix of these receipts that the ledger would take as more work.
        self.store.stage_batch(ids.clone(), root).await?;
        let receipt =
            match self.chain.relayer.send_call::<UsageLedger::UsageLedgerErrors, _, _>("submitUsage", call).await {
                Ok(receipt) => receipt,
                // An earlier copy of this very batch landed meanwhile: it is on chain, record it.
                Err(ChainError::Reverted { revert, .. }) if revert.is::<UsageLedger::BatchRootUsed>() => {
                    self.store.record_submission(ids, record, None).await?;
                    return Ok(());
                }
                // Refused in simulation, so nothing was sent: the batch is not pending anywhere, and its receipts
                // go back to the pool instead of pinning this exact mix.
                Err(e @ ChainError::Reverted { .. }) => {
                    self.store.unstage(root).await?;
                    return Err(e.into());
                }
                Err(e) => return Err(e.into()),
            };
        self.store.record_submission(ids, record, Some(receipt.transaction_hash)).await?;
        self.metrics.batches_submitted.inc();
        tracing::info!(epoch, tokens = batch.total_tokens(), fees = batch.total_fee(), tx = %receipt.transaction_hash, "usage submitted");
        report.batches += 1;
        report.tokens += batch.total_tokens();
        Ok(())
    }
}
