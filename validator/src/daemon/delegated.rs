//! Disputes users hand to this validator (`neuro delegate` → `neuro-validator dispute`): an organic user's
//! answer, checked and re-executed like a probe, disputed with the user's delegation if it fails.
//!
//! Who could abuse this and how (docs/verification.md): a user sending an honest answer to get a node framed
//! (the validator re-executes before bonding anything: a passing answer is not disputed); a user sending
//! evidence that does not hold (checked against the node's registered signer and the bytes before anything is
//! sent); a user sending another validator's delegation (refused here, and on chain).

use alloy::primitives::{Address, B256, U256};
use neuro_client::receipt::ever_node_signer;
use neuro_protocol::{delegation::DelegatedEvidence, receipt::Expected};

use super::{DaemonError, Validator};
use crate::{
    compare::Failure,
    reexecute::{Outcome, Unjudgeable},
};

/// Why delegated evidence was not taken up.
#[derive(Debug, thiserror::Error)]
pub enum RefusedEvidence {
    /// The delegation names another validator.
    #[error("the evidence is delegated to {0}, not to this validator")]
    NotDelegatedToMe(Address),
    /// The receipt is for another model than the one this validator re-executes.
    #[error("the receipt is for model {found}; this validator re-executes {mine}")]
    OtherModel {
        /// In the receipt.
        found: B256,
        /// This validator's.
        mine: B256,
    },
    /// The receipt does not hold against the node's registered signer, the request or the output.
    #[error("the evidence does not hold: {0}")]
    Invalid(#[from] neuro_protocol::receipt::ReceiptError),
}

/// What a delegated answer came to.
#[derive(Debug)]
pub enum DelegatedVerdict {
    /// It re-executed within tolerance: not disputed.
    Passed,
    /// It failed and was disputed.
    Disputed {
        /// Why it failed.
        failure: Failure,
        /// The dispute id.
        dispute: U256,
    },
    /// The validator cannot judge it (for instance a streamed answer).
    Abstained(Unjudgeable),
}

impl Validator {
    /// Checks `evidence`, re-executes it and disputes it (with the user's delegation) if it fails. Nothing is
    /// bonded unless the answer failed re-execution. Writes nothing to the state file.
    pub async fn dispute_delegated(&self, evidence: &DelegatedEvidence) -> Result<DelegatedVerdict, DaemonError> {
        let me = self.signer.address();
        let receipt = &evidence.receipt;
        if evidence.validator != me {
            return Err(RefusedEvidence::NotDelegatedToMe(evidence.validator).into());
        }
        let mine = self.reexecutor.model_id();
        if receipt.receipt.modelId != mine {
            return Err(RefusedEvidence::OtherModel { found: receipt.receipt.modelId, mine }.into());
        }
        // Any key the node ever registered, as the court checks: rotating its key does not void the evidence.
        let (domain, signer) = ever_node_signer(self.provider(), &self.manifest, receipt).await?;
        receipt
            .verify(&domain, Expected { signer, request: &evidence.request, output: &evidence.output })
            .map_err(RefusedEvidence::from)?;
        match self.reexecutor.judge(&receipt.receipt, &evidence.request, &evidence.output).await? {
            Outcome::Abstain(why) => Ok(DelegatedVerdict::Abstained(why)),
            Outcome::Judged(verdict) => match verdict.failure {
                None => Ok(DelegatedVerdict::Passed),
                Some(failure) => {
                    tracing::warn!(node = %receipt.receipt.miner, %failure, "delegated answer failed re-execution: disputing");
                    let delegation = (receipt.receipt.user != me).then(|| evidence.delegation.clone());
                    let dispute = self
                        .court
                        .open_evidence(receipt, evidence.request.clone(), &evidence.output, delegation)
                        .await?;
                    // Not written to the state file (a running daemon owns it): the daemon finds the disputes it
                    // opened in the chain's `DisputeOpened` logs and follows them to resolution and claim.
                    Ok(DelegatedVerdict::Disputed { failure, dispute })
                }
            },
        }
    }
}
