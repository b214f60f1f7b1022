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
    primitives::{Address, U256},
    providers::Provider,
    rpc::types::TransactionReceipt,
};
use neuro_protocol::{
    bindings::{Emissions, Payments},
    voucher::{SignedAllowance, payments_domain},
};

use super::{DaemonError, Validator};
use crate::court::CourtError;

/// Most allowances revealed in one transaction (keeps its gas far below a block).
const REVEAL_BATCH: usize = 50;

impl Validator {
    /// Reveals this validator's expired probe allowances that were redeemed; returns the burned NEURO-wei
    /// credited. Allowances nothing was redeemed under, or already revealed, are forgotten. A reveal the chain
    /// refuses is dropped (logged); a transient failure keeps every allowance for the next call.
    pub async fn reveal_duties(&self) -> Result<U256, DaemonError> {
        let now = self.provider().get_block_by_number(Default::default()).await?.map_or(0, |b| b.header.timestamp);
        let keys = self.state.lock().await.unrevealed.clone();
        let m = &self.manifest;
        let domain = payments_domain(m.chain_id, m.contracts.payments);
        let payments = Payments::new(m.contracts.payments, self.provider());
        let (mut batch, mut settled) = (Vec::new(), Vec::new());
        for key in keys {
            if batch.len() == REVEAL_BATCH {
                break;
            }
            let signed = match SignedAllowance::from_api_key(&key) {
                // The chain reveals only once the allowance's last redeemable second has passed.
                Ok(signed) if signed.allowance.expiry >= U256::from(now) => continue,
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
            match self.court.relayer().send_call::<Payments::PaymentsErrors, _, _>("reveal probe fees", call).await {
                Ok(receipt) => {
                    let epochs = recorded_epochs(&receipt, m.contracts.emissions, self.signer.address());
                    for (epoch, burned) in &epochs {
                        tracing::info!(epoch, %burned, "probe fees revealed for the validators' pool");
                        credited += *burned;
                    }
                    self.state.lock().await.unclaimed_epochs.extend(epochs.into_iter().map(|(epoch, _)| epoch));
                }
                Err(neuro_chain::ChainError::Reverted { .. }) => {
                    tracing::warn!("the chain refused to reveal the probe fees; dropping them");
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
    /// NEURO-wei minted. Unfinalized epochs wait; a claim the chain refuses is dropped (logged).
    pub async fn claim_duties(&self) -> Result<U256, DaemonError> {
        let epochs = self.state.lock().await.unclaimed_epochs.clone();
        let emissions = Emissions::new(self.manifest.contracts.emissions, self.provider());
        let mut ready = Vec::new();
        for epoch in epochs {
            if emissions.isFinalized(U256::from(epoch)).call().await? {
                ready.push(epoch);
            }
        }
        if ready.is_empty() {
            return Ok(U256::ZERO);
        }
        let call = emissions.claimValidator(ready.iter().map(|e| U256::from(*e)).collect());
        let mut minted = U256::ZERO;
        match self.court.relayer().send_call::<Emissions::EmissionsErrors, _, _>("claim validator reward", call).await {
            Ok(receipt) => {
                for log in receipt.inner.logs() {
                    if let Ok(claimed) = log.log_decode::<Emissions::ValidatorRewardClaimed>() {
                        let c = claimed.inner.data;
                        tracing::info!(epoch = %c.epoch, amount = %c.amount, forgone = %c.forgone, "validator reward");
                        minted += c.amount;
                    }
                }
            }
            Err(neuro_chain::ChainError::Reverted { .. }) => {
                tracing::warn!(?ready, "the chain refused the validator reward claim; dropping it");
            }
            Err(e) => return Err(CourtError::from(e).into()),
        }
        let mut state = self.state.lock().await;
        state.unclaimed_epochs.retain(|epoch| !ready.contains(epoch));
        self.save(&state).await?;
        Ok(minted)
    }
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
