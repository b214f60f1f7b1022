//! The validator's emission rewards (issue 15, part 6): once a probe allowance has expired, its redemptions are
//! final and revealing it as probe fees gives nothing away, so the daemon reveals it
//! (`Payments.revealProbeFees`), which credits the burned part to the validators' pool of the epoch then open;
//! once that epoch is finalized, it claims (`Emissions.claimValidator`).
//!
//! Who could abuse this and how (docs/economics.md): a validator probing its own node, or revealing organic
//! usage, earns at most `validatorRewardPerBurnBps` (10%) of the burned fee, and the miner and model caps on the
//! same fee add at most 80%: the coalition still loses the treasury share and a tenth of the burn. Revealing
//! early would mark the traffic as probes while the miner can still tell; the contract refuses it.

use alloy::{
    primitives::{Address, B256, U256},
    providers::Provider,
    rpc::types::{Filter, TransactionReceipt},
    sol_types::SolEvent,
};
use neuro_protocol::{
    bindings::{Emissions, Payments},
    voucher::{SignedAllowance, payments_domain},
};

use super::{DaemonError, Validator};
use crate::court::CourtError;

/// Most allowances revealed in one transaction (keeps its gas far below a block).
const REVEAL_BATCH: usize = 50;
/// Most blocks read per `eth_getLogs` call when looking for this validator's credited probe fees.
const LOG_RANGE: u64 = 10_000;

impl Validator {
    /// Reveals this validator's expired probe allowances that were redeemed; returns the burned NEURO-wei
    /// credited. Allowances nothing was redeemed under, or already revealed, are forgotten. A reveal refused
    /// because this account is not a validator right now (stake below the minimum, or taken this epoch) keeps
    /// the allowances for later; any other refusal drops them (logged); a transient failure keeps them all.
    pub async fn reveal_duties(&self) -> Result<U256, DaemonError> {
        let now = self.provider().get_block_by_number(Default::default()).await?.map_or(0, |b| b.header.timestamp);
        let keys = self.state.lock().await.unrevealed.clone();
        let m = &self.manifest;
        let domain = payments_domain(m.chain_id, m.contracts.payments);
        let payments = Payments::new(m.contracts.payments, self.payer_relayer().provider().clone());
        let (mut batch, mut settled) = (Vec::new(), Vec::new());
        for key in keys {
            if batch.len() == REVEAL_BATCH {
                break;
            }
            let signed = match SignedAllowance::from_api_key(&key) {
                // The chain reveals only once the allowance's last redeemable second has passed.
                Ok(signed) if signed.allowance.expiry >= U256::from(now) => continue,
                // Only the paying account may reveal: a key of another payer is kept for when it is configured again.
                Ok(signed) if signed.allowance.user != self.payer() => continue,
                Ok(signed) => signed,
                Err(error) => {
                    tracing::warn!(%error, "dropping an unreadable probe key");
                    settled.push(key);
                    continue;
                }
            };
            let settlement = payments.settlementOf(signed.allowance.digest(&domain)).call().await?;
            if !settlement.probeRevealed && settlement.burned > 0 {
                batch.push(signed.to_call_arg());
            }
            settled.push(key);
        }
        let mut credited = U256::ZERO;
        if !batch.is_empty() {
            let call = payments.revealProbeFees(self.signer.address(), batch);
            match self.payer_relayer().send_call::<Payments::PaymentsErrors, _, _>("reveal probe fees", call).await {
                Ok(receipt) => {
                    let epochs = recorded_epochs(&receipt, m.contracts.emissions, self.signer.address());
                    for (epoch, burned) in &epochs {
                        tracing::info!(epoch, %burned, "probe fees revealed for the validators' pool");
                        credited += *burned;
                    }
                    self.state.lock().await.unclaimed_epochs.extend(epochs.into_iter().map(|(epoch, _)| epoch));
                }
                Err(neuro_chain::ChainError::Reverted { revert, .. }) if revert.is::<Emissions::NotAValidator>() => {
                    tracing::warn!("not a validator this epoch: the probe fees are revealed later");
                    return Ok(U256::ZERO);
                }
                Err(neuro_chain::ChainError::Reverted { revert, .. }) => {
                    tracing::warn!(%revert, "the chain refused to reveal the probe fees; dropping them");
                }
                Err(e) => return Err(CourtError::from(e).into()),
            }
        }
        let mut state = self.state.lock().await;
        state.unrevealed.retain(|key| !settled.contains(key));
        self.save(&state).await?;
        Ok(credited)
    }

    /// Claims the validator reward of every finalized epoch its revealed probe fees were credited to; returns the
    /// NEURO-wei minted. The epochs come from the chain (`ValidatorFeesRecorded` logs naming this validator, read
    /// from where the last call stopped), so a crash between a reveal and the state file loses nothing; epochs
    /// already claimed (by hand, or before a crash) are skipped; unfinalized ones wait.
    pub async fn claim_duties(&self) -> Result<U256, DaemonError> {
        let me = self.signer.address();
        let emissions = Emissions::new(self.manifest.contracts.emissions, self.provider());
        let head = self.provider().get_block_number().await?;
        // No reveal can predate the deployment: a fresh state starts reading there.
        let mut from = (self.state.lock().await.fees_read_to_block + 1).max(self.manifest.start_block);
        let mut found = Vec::new();
        while from <= head {
            let to = head.min(from + LOG_RANGE - 1);
            let filter = Filter::new()
                .address(self.manifest.contracts.emissions)
                .event_signature(Emissions::ValidatorFeesRecorded::SIGNATURE_HASH)
                .topic2(B256::left_padding_from(me.as_slice()))
                .from_block(from)
                .to_block(to);
            for log in self.provider().get_logs(&filter).await? {
                if let Ok(recorded) = Emissions::ValidatorFeesRecorded::decode_log(&log.inner) {
                    found.push(u64::try_from(recorded.epoch).unwrap_or(u64::MAX));
                }
            }
            from = to + 1;
        }
        let epochs = {
            let mut state = self.state.lock().await;
            state.unclaimed_epochs.extend(found);
            state.fees_read_to_block = head;
            self.save(&state).await?;
            state.unclaimed_epochs.clone()
        };
        let (mut ready, mut settled) = (Vec::new(), Vec::new());
        for epoch in epochs {
            let e = U256::from(epoch);
            if !emissions.isFinalized(e).call().await? {
                continue;
            }
            let fees = emissions.validatorFees(e, me).call().await?;
            if !fees.claimed && fees.burnedFees > 0 {
                ready.push(e);
            }
            settled.push(epoch);
            if ready.len() == REVEAL_BATCH {
                break;
            }
        }
        let mut minted = U256::ZERO;
        if !ready.is_empty() {
            let call = emissions.claimValidator(ready.clone());
            match self
                .court
                .relayer()
                .send_call::<Emissions::EmissionsErrors, _, _>("claim validator reward", call)
                .await
            {
                Ok(receipt) => minted += claimed_in(&receipt),
                // One refused epoch (claimed by hand meanwhile, say) must not cost the others: claim them one
                // by one; an epoch refused on its own is dropped (logged).
                Err(neuro_chain::ChainError::Reverted { .. }) if ready.len() > 1 => {
                    for epoch in ready {
                        let call = emissions.claimValidator(vec![epoch]);
                        match self.court.relayer().send_call::<Emissions::EmissionsErrors, _, _>("claim", call).await {
                            Ok(receipt) => minted += claimed_in(&receipt),
                            Err(neuro_chain::ChainError::Reverted { revert, .. }) => {
                                tracing::warn!(%epoch, %revert, "the chain refused the validator reward claim");
                            }
                            Err(e) => return Err(CourtError::from(e).into()),
                        }
                    }
                }
                Err(neuro_chain::ChainError::Reverted { revert, .. }) => {
                    tracing::warn!(?ready, %revert, "the chain refused the validator reward claim; dropping it");
                }
                Err(e) => return Err(CourtError::from(e).into()),
            }
        }
        let mut state = self.state.lock().await;
        state.unclaimed_epochs.retain(|epoch| !settled.contains(epoch));
        self.save(&state).await?;
        Ok(minted)
    }
}

/// The validator rewards `Emissions.ValidatorRewardClaimed` minted in `receipt` (logged).
fn claimed_in(receipt: &TransactionReceipt) -> U256 {
    let mut minted = U256::ZERO;
    for log in receipt.inner.logs() {
        if let Ok(claimed) = log.log_decode::<Emissions::ValidatorRewardClaimed>() {
            let c = claimed.inner.data;
            tracing::info!(epoch = %c.epoch, amount = %c.amount, forgone = %c.forgone, "validator reward");
            minted += c.amount;
        }
    }
    minted
}

/// The epochs and burned fees `Emissions.ValidatorFeesRecorded` credited to `validator` in `receipt`.
fn recorded_epochs(receipt: &TransactionReceipt, emissions: Address, validator: Address) -> Vec<(u64, U256)> {
    receipt
        .inner
        .logs()
        .iter()
        .filter(|log| log.address() == emissions)
        .filter_map(|log| log.log_decode::<Emissions::ValidatorFeesRecorded>().ok())
        .map(|log| log.inner.data)
        .filter(|recorded| recorded.validator == validator)
        .map(|recorded| (u64::try_from(recorded.epoch).unwrap_or(u64::MAX), recorded.burnedFees))
        .collect()
}
