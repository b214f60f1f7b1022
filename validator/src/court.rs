//! The validator's side of `Disputes.sol`: stake, open a dispute with a failed probe's evidence, read the
//! evidence of disputes others opened (from the `DisputeEvidence` log), vote, resolve and claim.

use alloy::{
    primitives::{Address, B256, Bytes, U256},
    providers::{DynProvider, Provider},
    rpc::types::Filter,
    sol_types::SolEvent,
};
use neuro_chain::{ChainError, Relayer};
use neuro_protocol::{
    Manifest,
    bindings::{Disputes, NeuroToken},
    receipt::SignedReceipt,
};

use crate::probe::Observation;

/// Why a court action failed.
#[derive(Debug, thiserror::Error)]
pub enum CourtError {
    /// A transaction was refused or could not be sent.
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// A read failed.
    #[error("chain read failed: {0}")]
    Read(#[from] alloy::contract::Error),
    /// An RPC call failed.
    #[error("RPC failed: {0}")]
    Rpc(#[from] alloy::transports::TransportError),
    /// The dispute's `DisputeEvidence` log was not found (or did not decode) in its opening transaction's block.
    #[error("dispute {id}: no readable evidence log in transaction {tx}")]
    EvidenceUnreadable {
        /// Dispute id.
        id: U256,
        /// The opening transaction.
        tx: B256,
    },
}

/// A dispute as its `DisputeOpened` event announced it.
#[derive(Debug, Clone)]
pub struct OpenedDispute {
    /// Dispute id.
    pub id: U256,
    /// Who opened it.
    pub challenger: Address,
    /// The accused node.
    pub accused: Address,
    /// The model the receipt names.
    pub model_id: B256,
    /// When voting ends (unix seconds).
    pub voting_ends: u64,
    /// The opening transaction.
    pub tx: B256,
    /// Its block.
    pub block: u64,
}

/// The evidence of a dispute, as its challenger published it.
#[derive(Debug, Clone)]
pub struct Evidence {
    /// The node's signed receipt.
    pub receipt: SignedReceipt,
    /// The request body.
    pub request: Bytes,
    /// The generated text.
    pub output: Bytes,
}

/// The dispute court, as one validator sees it.
#[derive(Debug)]
pub struct Court {
    relayer: Relayer,
    disputes: Address,
    token: Address,
    chain_id: u64,
}

impl Court {
    /// The court of `manifest`'s deployment, acting through `relayer`.
    pub fn new(relayer: Relayer, manifest: &Manifest) -> Self {
        Self {
            relayer,
            disputes: manifest.contracts.disputes,
            token: manifest.contracts.token,
            chain_id: manifest.chain_id,
        }
    }

    fn contract(&self) -> Disputes::DisputesInstance<&DynProvider> {
        Disputes::new(self.disputes, self.relayer.provider())
    }

    /// The relayer the court's transactions go through.
    pub fn relayer(&self) -> &Relayer {
        &self.relayer
    }

    /// This validator's vote on dispute `id` (side 0: none).
    pub async fn vote_of(&self, id: U256) -> Result<Disputes::Vote, CourtError> {
        Ok(self.contract().getVote(id, self.me()).call().await?)
    }

    /// This validator's address.
    pub fn me(&self) -> Address {
        self.relayer.from()
    }

    async fn approve(&self, amount: U256) -> Result<(), CourtError> {
        let token = NeuroToken::new(self.token, self.relayer.provider());
        if token.allowance(self.me(), self.disputes).call().await? >= amount {
            return Ok(());
        }
        let call = token.approve(self.disputes, amount);
        self.relayer.send_call::<NeuroToken::NeuroTokenErrors, _, _>("approve", call).await?;
        Ok(())
    }

    /// Bonds `amount` more validator stake.
    pub async fn stake(&self, amount: U256) -> Result<B256, CourtError> {
        self.approve(amount).await?;
        let court = self.contract();
        let call = court.stake(amount);
        Ok(self.relayer.send_call::<Disputes::DisputesErrors, _, _>("stake", call).await?.transaction_hash)
    }

    /// Bonded stake of this validator.
    pub async fn stake_of(&self) -> Result<U256, CourtError> {
        Ok(self.contract().stakeOf(self.me()).call().await?)
    }

    /// Opens a dispute over a failed probe this validator paid for itself; returns the dispute id.
    pub async fn open(&self, observation: &Observation) -> Result<U256, CourtError> {
        self.open_with(observation, None).await
    }

    /// Opens a dispute over a failed answer someone else paid for (a probe account, or an organic user), with
    /// that user's `DisputeDelegation` signature naming this validator; returns the dispute id.
    pub async fn open_delegated(&self, observation: &Observation, delegation: Bytes) -> Result<U256, CourtError> {
        self.open_with(observation, Some(delegation)).await
    }

    async fn open_with(&self, observation: &Observation, delegation: Option<Bytes>) -> Result<U256, CourtError> {
        self.open_evidence(&observation.receipt, observation.request.clone().into(), &observation.text, delegation)
            .await
    }

    /// Opens a dispute over `receipt` with the request and output bytes it commits to: as its paying user when
    /// `delegation` is `None`, else with the user's delegation to this validator; returns the dispute id.
    pub async fn open_evidence(
        &self,
        receipt: &SignedReceipt,
        request: Bytes,
        output: &str,
        delegation: Option<Bytes>,
    ) -> Result<U256, CourtError> {
        let bond = self.contract().disputeBond().call().await?;
        self.approve(bond).await?;
        let court = self.contract();
        let signature = receipt.signature.clone();
        let output = Bytes::copy_from_slice(output.as_bytes());
        let receipt = receipt.receipt.clone().into();
        let sent = match delegation {
            None => {
                let call = court.openDispute(receipt, signature, request, output);
                self.relayer.send_call::<Disputes::DisputesErrors, _, _>("open dispute", call).await?
            }
            Some(delegation) => {
                let call = court.openDelegatedDispute(receipt, signature, request, output, delegation);
                self.relayer.send_call::<Disputes::DisputesErrors, _, _>("open delegated dispute", call).await?
            }
        };
        let opened = sent
            .inner
            .logs()
            .iter()
            .find_map(|log| Disputes::DisputeOpened::decode_log(&log.inner).ok())
            .map(|event| event.data.id);
        Ok(opened.unwrap_or_default())
    }

    /// The EIP-712 domain delegations to this court are signed in.
    pub fn delegation_domain(&self) -> alloy::sol_types::Eip712Domain {
        neuro_protocol::delegation::disputes_domain(self.chain_id, self.disputes)
    }

    /// Disputes opened in blocks `from..=to`.
    pub async fn opened(&self, from: u64, to: u64) -> Result<Vec<OpenedDispute>, CourtError> {
        let filter = Filter::new()
            .address(self.disputes)
            .event_signature(Disputes::DisputeOpened::SIGNATURE_HASH)
            .from_block(from)
            .to_block(to);
        let logs = self.relayer.provider().get_logs(&filter).await?;
        Ok(logs
            .iter()
            .filter_map(|log| {
                let event = Disputes::DisputeOpened::decode_log(&log.inner).ok()?;
                Some(OpenedDispute {
                    id: event.id,
                    challenger: event.challenger,
                    accused: event.accused,
                    model_id: event.modelId,
                    voting_ends: u64::try_from(event.votingEnds).unwrap_or(u64::MAX),
                    tx: log.transaction_hash?,
                    block: log.block_number?,
                })
            })
            .collect())
    }

    /// The evidence of `dispute`, from the `DisputeEvidence` log emitted with it (readable however the dispute
    /// was opened: a direct call, a batch, a smart account).
    pub async fn evidence(&self, dispute: &OpenedDispute) -> Result<Evidence, CourtError> {
        let filter = Filter::new()
            .address(self.disputes)
            .event_signature(Disputes::DisputeEvidence::SIGNATURE_HASH)
            .topic1(B256::from(dispute.id))
            .from_block(dispute.block)
            .to_block(dispute.block);
        let logs = self.relayer.provider().get_logs(&filter).await?;
        let event = logs
            .iter()
            .find_map(|log| Disputes::DisputeEvidence::decode_log(&log.inner).ok())
            .ok_or(CourtError::EvidenceUnreadable { id: dispute.id, tx: dispute.tx })?;
        let evidence = event.data;
        Ok(Evidence {
            receipt: SignedReceipt { receipt: evidence.receipt.into(), signature: evidence.signature },
            request: evidence.request,
            output: evidence.output,
        })
    }

    /// Whether this validator has voted on (or opened) dispute `id`.
    pub async fn has_voted(&self, id: U256) -> Result<bool, CourtError> {
        Ok(self.contract().getVote(id, self.me()).call().await?.side != 0)
    }

    /// The dispute's current state.
    pub async fn dispute(&self, id: U256) -> Result<Disputes::Dispute, CourtError> {
        Ok(self.contract().getDispute(id).call().await?)
    }

    /// Votes on dispute `id` after re-executing its evidence.
    pub async fn vote(&self, id: U256, uphold: bool) -> Result<B256, CourtError> {
        let bond = U256::from(self.dispute(id).await?.voteBond);
        self.approve(bond).await?;
        let court = self.contract();
        let call = court.vote(id, uphold);
        Ok(self.relayer.send_call::<Disputes::DisputesErrors, _, _>("vote", call).await?.transaction_hash)
    }

    /// Resolves dispute `id` once its vote is over.
    pub async fn resolve(&self, id: U256) -> Result<B256, CourtError> {
        let court = self.contract();
        let call = court.resolve(id);
        Ok(self.relayer.send_call::<Disputes::DisputesErrors, _, _>("resolve", call).await?.transaction_hash)
    }

    /// The first epoch this validator may still report on.
    pub async fn next_report_epoch(&self) -> Result<u64, CourtError> {
        let next = self.contract().nextReportEpoch(self.me()).call().await?;
        Ok(u64::try_from(next).unwrap_or(u64::MAX))
    }

    /// Publishes this validator's probe outcomes of `epoch` (reports in ascending node order).
    pub async fn report(&self, epoch: u64, reports: Vec<Disputes::ProbeReport>) -> Result<B256, CourtError> {
        let court = self.contract();
        let call = court.reportProbes(epoch, reports);
        Ok(self.relayer.send_call::<Disputes::DisputesErrors, _, _>("report probes", call).await?.transaction_hash)
    }

    /// Claims this validator's bond and winnings of a resolved dispute.
    pub async fn claim(&self, id: U256) -> Result<B256, CourtError> {
        let court = self.contract();
        let call = court.claim(id);
        Ok(self.relayer.send_call::<Disputes::DisputesErrors, _, _>("claim", call).await?.transaction_hash)
    }
}
