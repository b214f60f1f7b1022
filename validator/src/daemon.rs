//! The validator daemon: probe a node at random intervals, re-execute its answer, dispute a failure; vote on
//! other validators' disputes after re-executing their evidence; resolve disputes whose vote is over; claim.
//!
//! After each epoch it publishes what its probes found per node (`Disputes.reportProbes`), the raw material of
//! every node's reputation.
//!
//! Restarts: the chain is the source of truth for what was done (a vote is read back with `getVote` before
//! voting, a dispute's status before resolving, the next reportable epoch before reporting), so a restart
//! repeats no action. The state file holds the API keys opened for nodes (so their locked funds are reused), the
//! block up to which disputes were read, and the probe tallies not yet reported.

mod delegated;
mod rewards;

pub use delegated::{DelegatedVerdict, RefusedEvidence};

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use alloy::{
    primitives::{Address, U256},
    providers::{DynProvider, Provider},
    signers::local::PrivateKeySigner,
};
use neuro_client::receipt::node_signer;
use neuro_protocol::{
    Manifest,
    bindings::{Emissions, NodeRegistry, Payments},
    delegation::DisputeDelegation,
    receipt::receipts_domain,
    voucher::{Allowance, SignedAllowance, payments_domain},
};
use rand::{Rng, SeedableRng, seq::SliceRandom};
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

use crate::{
    compare::Failure,
    corpus::{self, Probe},
    court::{Court, CourtError, OpenedDispute},
    listing::Listings,
    probe::{self, NodeKeys, Observation, ProbeError},
    reexecute::{Outcome, Reexecutor},
    reputation::{ProbeOutcome, Tallies},
};

/// Why a daemon step failed (logged and retried on the next step; never taken as a verdict).
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// A court action failed.
    #[error(transparent)]
    Court(#[from] Box<CourtError>),
    /// A chain read failed.
    #[error("chain read failed: {0}")]
    Read(#[from] alloy::contract::Error),
    /// An RPC call failed.
    #[error("RPC failed: {0}")]
    Rpc(#[from] alloy::transports::TransportError),
    /// Re-execution failed.
    #[error(transparent)]
    Engine(#[from] neuro_engine::EngineError),
    /// The node's signer could not be read.
    #[error(transparent)]
    Receipt(#[from] neuro_client::receipt::CheckError),
    /// An allowance could not be signed.
    #[error(transparent)]
    Voucher(#[from] neuro_protocol::voucher::VoucherError),
    /// A dispute delegation could not be signed.
    #[error("cannot sign the dispute delegation: {0}")]
    Delegation(#[from] neuro_protocol::receipt::ReceiptError),
    /// The node's model list could not be read.
    #[error("cannot list the node's models: {0}")]
    Models(#[from] reqwest::Error),
    /// The answer was paid by an account this validator holds no key of (neither its own nor its probe
    /// account's), so it cannot dispute it.
    #[error("the answer was paid by {0}, an account this validator holds no key of")]
    NotOurPayer(Address),
    /// Delegated evidence was refused before re-execution.
    #[error(transparent)]
    Refused(#[from] RefusedEvidence),
    /// The node does not serve the validator's model.
    #[error("node {0} does not list the validator's model")]
    ModelNotServed(Address),
    /// Opening one more allowance would exceed the validator's budget.
    #[error("allowance budget reached ({0} nodes hold a live allowance)")]
    AllowanceBudget(usize),
    /// The state file could not be read or written.
    #[error("state file {}: {source}", path.display())]
    State {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// How the daemon behaves.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Mean time between probes (exponentially distributed).
    pub probe_interval: Duration,
    /// How long a node has to answer a probe.
    pub probe_deadline: Duration,
    /// NEURO-wei locked per node allowance.
    pub allowance_cap: U256,
    /// Allowance lifetime.
    pub allowance_days: u64,
    /// Most nodes holding one of this validator's allowances at once (its locked funds are at most this times
    /// `allowance_cap`); other nodes are not probed until a key expires.
    pub max_allowances: usize,
    /// Share of probes sent streamed (measuring time to first token; not re-executed).
    pub stream_share: f64,
    /// Where the state file lives.
    pub state_path: PathBuf,
}

/// What one probe came to.
#[derive(Debug)]
pub enum ProbeResult {
    /// The answer re-executed within tolerance.
    Passed(Box<Observation>),
    /// The answer failed; a dispute was opened.
    Disputed {
        /// The evidence.
        observation: Box<Observation>,
        /// Why it failed.
        failure: Failure,
        /// The dispute id.
        dispute: U256,
    },
    /// No disputable evidence (unreachable, timed out, refused, bad or missing receipt).
    NoEvidence(ProbeError),
    /// The validator could not judge the answer.
    Abstained(Box<Observation>, crate::reexecute::Unjudgeable),
}

/// What one pass over the court did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct CourtReport {
    /// Disputes voted on: (id, uphold).
    pub voted: Vec<(U256, bool)>,
    /// Disputes resolved by this validator.
    pub resolved: Vec<U256>,
    /// Disputes whose bond and winnings this validator claimed.
    pub claimed: Vec<U256>,
}

impl DaemonError {
    /// Whether trying again later may succeed (RPC trouble), as opposed to a deterministic failure.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Court(e) => match e.as_ref() {
                CourtError::Chain(e) => e.is_transient(),
                CourtError::EvidenceUnreadable { .. } => false,
                CourtError::Read(_) | CourtError::Rpc(_) => true,
            },
            Self::Read(_) | Self::Rpc(_) | Self::Models(_) | Self::State { .. } => true,
            Self::Engine(_)
            | Self::Receipt(_)
            | Self::Voucher(_)
            | Self::Delegation(_)
            | Self::Refused(_)
            | Self::NotOurPayer(_)
            | Self::ModelNotServed(_)
            | Self::AllowanceBudget(_) => false,
        }
    }
}

impl From<CourtError> for DaemonError {
    fn from(error: CourtError) -> Self {
        Self::Court(Box::new(error))
    }
}

/// `Disputes.Status.Open`.
const STATUS_OPEN: u8 = 1;

#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    /// API keys opened per node operator.
    api_keys: BTreeMap<Address, String>,
    /// Disputes read up to this block.
    read_to_block: u64,
    /// Disputes not yet settled for this validator: id → voting end.
    watching: BTreeMap<U256, u64>,
    /// Probe outcomes not yet reported, by epoch and node.
    #[serde(default)]
    tallies: Tallies,
    /// Replaced API keys whose unspent lock goes back to the deposit once they expire.
    #[serde(default)]
    retired: Vec<String>,
    /// Every API key opened and not yet revealed as probe fees (revealed once expired: `rewards`).
    #[serde(default)]
    unrevealed: Vec<String>,
    /// Epochs revealed probe fees were credited to, whose validator reward is not claimed yet.
    #[serde(default)]
    unclaimed_epochs: std::collections::BTreeSet<u64>,
    /// `ValidatorFeesRecorded` logs read up to this block.
    #[serde(default)]
    fees_read_to_block: u64,
}

/// The account a validator's probes are paid from, when it is not the staked account: nodes see the payer of
/// every request (the allowance names it), so probes paid by the staked address are probes a node can single
/// out. Its deposits, allowances, releases and reveals are its own transactions; a failed probe is disputed by
/// the staked account with the probe account's `DisputeDelegation`.
#[derive(Debug)]
pub struct ProbeAccount {
    /// Its key (signs allowances and delegations).
    pub signer: PrivateKeySigner,
    /// Sends its transactions.
    pub relayer: neuro_chain::Relayer,
}

/// A running validator.
#[derive(Debug)]
pub struct Validator {
    reexecutor: Reexecutor,
    court: Court,
    manifest: Manifest,
    signer: PrivateKeySigner,
    probe_account: Option<ProbeAccount>,
    http: reqwest::Client,
    settings: Settings,
    state: Mutex<State>,
    listings: Mutex<Listings>,
}

impl Validator {
    /// A validator acting through `court` with `signer`'s account, re-executing with `reexecutor`.
    pub fn new(
        reexecutor: Reexecutor,
        court: Court,
        manifest: Manifest,
        signer: PrivateKeySigner,
        settings: Settings,
    ) -> Result<Self, DaemonError> {
        let state = load_state(&settings.state_path)?;
        let http = reqwest::Client::builder().timeout(settings.probe_deadline).build()?;
        Ok(Self {
            reexecutor,
            court,
            manifest,
            signer,
            probe_account: None,
            http,
            settings,
            state: Mutex::new(state),
            listings: Mutex::default(),
        })
    }

    /// Pays probes from `account` instead of the staked account (see [`ProbeAccount`]).
    pub fn with_probe_account(mut self, account: ProbeAccount) -> Self {
        self.probe_account = Some(account);
        self
    }

    /// The account probes are paid from.
    pub fn payer(&self) -> Address {
        self.probe_account.as_ref().map_or(self.signer.address(), |account| account.signer.address())
    }

    fn payer_signer(&self) -> &PrivateKeySigner {
        self.probe_account.as_ref().map_or(&self.signer, |account| &account.signer)
    }

    /// Sends the probe account's transactions; calls must be built on its provider, so their simulation runs
    /// as that account.
    fn payer_relayer(&self) -> &neuro_chain::Relayer {
        self.probe_account.as_ref().map_or(self.court.relayer(), |account| &account.relayer)
    }

    fn provider(&self) -> DynProvider {
        self.court.relayer().provider().clone()
    }

    /// The court this validator acts in.
    pub fn court(&self) -> &Court {
        &self.court
    }

    async fn save(&self, state: &State) -> Result<(), DaemonError> {
        let path = &self.settings.state_path;
        let write = || -> std::io::Result<()> {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            let tmp = path.with_extension("tmp");
            std::fs::write(&tmp, serde_json::to_vec_pretty(state).map_err(std::io::Error::other)?)?;
            std::fs::rename(&tmp, path)
        };
        write().map_err(|source| DaemonError::State { path: path.clone(), source })
    }

    /// The chain's current epoch.
    async fn epoch(&self) -> Result<u64, DaemonError> {
        let epoch = Emissions::new(self.manifest.contracts.emissions, self.provider()).currentEpoch().call().await?;
        Ok(u64::try_from(epoch).unwrap_or(u64::MAX))
    }

    /// Active operators serving the validator's model, other than itself.
    pub async fn nodes(&self) -> Result<Vec<Address>, DaemonError> {
        let registry = NodeRegistry::new(self.manifest.contracts.node_registry, self.provider());
        let (mut found, mut offset) = (Vec::new(), U256::ZERO);
        loop {
            let page = registry.activeNodesForModel(self.reexecutor.model_id(), offset, U256::from(100)).call().await?;
            found.extend(page.operators.into_iter().filter(|o| *o != self.signer.address()));
            if page.next.is_zero() {
                return Ok(found);
            }
            offset = page.next;
        }
    }

    /// Everything needed to probe `operator` at `endpoint` (its registered one when `None`): the model name it
    /// serves the validator's model under, an API key (opened on first use), its receipt signer.
    pub async fn target(&self, operator: Address, endpoint: Option<String>) -> Result<NodeKeys, DaemonError> {
        let registry = NodeRegistry::new(self.manifest.contracts.node_registry, self.provider());
        let endpoint = match endpoint {
            Some(endpoint) => endpoint,
            None => registry.getNode(operator).call().await?.endpoint,
        };
        let cached = self.listings.lock().await.get(operator, &endpoint, Instant::now()).map(str::to_string);
        let model_name = match cached {
            Some(name) => name,
            None => {
                let name = self.list_model(operator, &endpoint).await?;
                let mut rng = rand::thread_rng();
                self.listings.lock().await.put(operator, &endpoint, name.clone(), Instant::now(), &mut rng);
                name
            }
        };
        let api_key = self.api_key(operator).await?;
        let allowance = SignedAllowance::from_api_key(&api_key)?.allowance;
        let (domain, signer) = node_signer(self.provider(), &self.manifest, operator).await?;
        let model_id = self.reexecutor.model_id();
        Ok(NodeKeys { endpoint, model_name, model_id, api_key, allowance, domain, signer })
    }

    /// The payers, other than the configured one, of API keys in the state file.
    async fn keys_of_other_payers(&self) -> std::collections::BTreeSet<Address> {
        let state = self.state.lock().await;
        let keys = state.api_keys.values().chain(&state.retired).chain(&state.unrevealed);
        keys.filter_map(|key| SignedAllowance::from_api_key(key).ok())
            .map(|signed| signed.allowance.user)
            .filter(|user| *user != self.payer())
            .collect()
    }

    /// The name `operator`'s node at `endpoint` serves the validator's model under (its `GET /v1/models`).
    async fn list_model(&self, operator: Address, endpoint: &str) -> Result<String, DaemonError> {
        let listed: serde_json::Value =
            self.http.get(format!("{}/v1/models", endpoint.trim_end_matches('/'))).send().await?.json().await?;
        let wanted = format!("{:#x}", self.reexecutor.model_id());
        Ok(listed["data"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|m| m["neuro_model_id"].as_str() == Some(wanted.as_str()))
            .and_then(|m| m["id"].as_str())
            .ok_or(DaemonError::ModelNotServed(operator))?
            .to_string())
    }

    async fn api_key(&self, operator: Address) -> Result<String, DaemonError> {
        let mut state = self.state.lock().await;
        let now = self.provider().get_block_by_number(Default::default()).await?.map_or(0, |b| b.header.timestamp);
        // A key paid by another account than the configured payer (the probe account changed) is replaced: its
        // probes would name the old payer, and their disputes could not be delegated.
        if let Some(key) = state.api_keys.get(&operator)
            && let Ok(signed) = SignedAllowance::from_api_key(key)
            && signed.allowance.expiry > U256::from(now + 3600)
            && signed.allowance.user == self.payer()
        {
            return Ok(key.clone());
        }
        let live_for = |key: &String| {
            SignedAllowance::from_api_key(key).is_ok_and(|signed| signed.allowance.expiry > U256::from(now))
        };
        // Retired keys not yet expired still lock funds: they count against the budget.
        let live = state.api_keys.values().chain(&state.retired).filter(|key| live_for(key)).count();
        if live >= self.settings.max_allowances {
            return Err(DaemonError::AllowanceBudget(live));
        }
        let m = &self.manifest;
        let payments = Payments::new(m.contracts.payments, self.payer_relayer().provider().clone());
        let cap = self.settings.allowance_cap;
        if payments.deposits(self.payer()).call().await? < cap {
            let token =
                neuro_protocol::bindings::NeuroToken::new(m.contracts.token, self.payer_relayer().provider().clone());
            let approve = token.approve(m.contracts.payments, cap);
            self.payer_relayer()
                .send_call::<neuro_protocol::bindings::NeuroToken::NeuroTokenErrors, _, _>("approve", approve)
                .await
                .map_err(CourtError::from)?;
            let deposit = payments.deposit(cap);
            self.payer_relayer()
                .send_call::<Payments::PaymentsErrors, _, _>("deposit", deposit)
                .await
                .map_err(CourtError::from)?;
        }
        let allowance = Allowance {
            user: self.payer(),
            miner: operator,
            cap,
            expiry: U256::from(now + self.settings.allowance_days * 86_400),
            nonce: U256::from(now),
        };
        let signed = allowance.sign(self.payer_signer(), &payments_domain(m.chain_id, m.contracts.payments)).await?;
        let open = payments.openAllowance(signed.to_call_arg());
        self.payer_relayer()
            .send_call::<Payments::PaymentsErrors, _, _>("open allowance", open)
            .await
            .map_err(CourtError::from)?;
        let key = signed.to_api_key();
        state.unrevealed.push(key.clone());
        if let Some(old) = state.api_keys.insert(operator, key.clone()) {
            state.retired.push(old);
        }
        self.save(&state).await?;
        Ok(key)
    }

    /// Returns the unspent lock of every replaced allowance that has expired to the validator's deposit (the
    /// next allowance reuses it); returns the NEURO-wei released. A release the chain refuses is dropped; a
    /// transient failure keeps the key for the next call.
    pub async fn release_duties(&self) -> Result<U256, DaemonError> {
        let now = self.provider().get_block_by_number(Default::default()).await?.map_or(0, |b| b.header.timestamp);
        let retired = self.state.lock().await.retired.clone();
        let payments = Payments::new(self.manifest.contracts.payments, self.payer_relayer().provider().clone());
        let mut released = U256::ZERO;
        for key in retired {
            let allowance = match SignedAllowance::from_api_key(&key) {
                Ok(signed) if signed.allowance.expiry >= U256::from(now) => continue,
                // Only its payer can release it: kept for when that account is configured again.
                Ok(signed) if signed.allowance.user != self.payer() => continue,
                Ok(signed) => signed,
                Err(error) => {
                    tracing::warn!(%error, "dropping an unreadable retired key");
                    self.forget_retired(&key).await?;
                    continue;
                }
            };
            let before = payments.deposits(self.payer()).call().await?;
            let call = payments.releaseAllowance(allowance.to_call_arg());
            match self.payer_relayer().send_call::<Payments::PaymentsErrors, _, _>("release allowance", call).await {
                Ok(_) => {
                    let gained = payments.deposits(self.payer()).call().await?.saturating_sub(before);
                    tracing::info!(miner = %allowance.allowance.miner, %gained, "expired allowance released");
                    released += gained;
                }
                Err(neuro_chain::ChainError::Reverted { .. }) => {
                    tracing::warn!(miner = %allowance.allowance.miner, "the chain refused the release; dropping it");
                }
                Err(e) => return Err(CourtError::from(e).into()),
            }
            self.forget_retired(&key).await?;
        }
        Ok(released)
    }

    async fn forget_retired(&self, key: &str) -> Result<(), DaemonError> {
        let mut state = self.state.lock().await;
        state.retired.retain(|k| k != key);
        self.save(&state).await
    }

    /// Probes `node` once: sends `probe`, re-executes the answer, disputes it if it fails; counts the outcome
    /// in the epoch's tallies.
    pub async fn probe(&self, node: &NodeKeys, probe: &Probe, stream: bool) -> Result<ProbeResult, DaemonError> {
        let epoch = self.epoch().await?;
        let miner = node.allowance.miner;
        let observation = match probe::send(&self.http, node, probe, stream, epoch, self.settings.probe_deadline).await
        {
            Ok(observation) => observation,
            Err(error) => {
                if matches!(error, ProbeError::Refused { .. }) {
                    // The node may have renamed the model: list its models again next time.
                    self.listings.lock().await.forget(miner);
                }
                self.tally(epoch, miner, ProbeOutcome::of_error(&error)).await?;
                return Ok(ProbeResult::NoEvidence(error));
            }
        };
        let timing = |o: &Observation| {
            let ttft_ms = stream.then(|| u32::try_from(o.time_to_first_token.as_millis()).unwrap_or(u32::MAX));
            (ttft_ms, o.tokens_per_second())
        };
        let outcome =
            self.reexecutor.judge(&observation.receipt.receipt, &observation.request, &observation.text).await?;
        match outcome {
            Outcome::Abstain(why) => {
                let (ttft_ms, _) = timing(&observation);
                self.tally(epoch, miner, ProbeOutcome::Answered { ttft_ms }).await?;
                Ok(ProbeResult::Abstained(Box::new(observation), why))
            }
            Outcome::Judged(verdict) => match verdict.failure {
                None => {
                    let (ttft_ms, tokens_per_second) = timing(&observation);
                    self.tally(epoch, miner, ProbeOutcome::Passed { ttft_ms, tokens_per_second }).await?;
                    Ok(ProbeResult::Passed(Box::new(observation)))
                }
                Some(failure) => {
                    tracing::warn!(node = %miner, %failure, "probe failed re-execution: disputing");
                    // Counted before the dispute is sent: a failed transaction does not make the failure vanish.
                    self.tally(epoch, miner, ProbeOutcome::Failed).await?;
                    let dispute = self.dispute(&observation).await?;
                    let voting_ends = self.court.dispute(dispute).await?.votingEnds;
                    let mut state = self.state.lock().await;
                    state.watching.insert(dispute, voting_ends);
                    self.save(&state).await?;
                    Ok(ProbeResult::Disputed { observation: Box::new(observation), failure, dispute })
                }
            },
        }
    }

    /// Opens the dispute over a failed probe (`probe` does this itself): directly if the staked account paid for
    /// it, with the probe account's delegation if that account paid; it cannot dispute what another account paid
    /// for (the probe account changed since).
    pub async fn dispute(&self, observation: &Observation) -> Result<U256, DaemonError> {
        let user = observation.receipt.receipt.user;
        if user == self.signer.address() {
            return Ok(self.court.open(observation).await?);
        }
        let account = self.probe_account.as_ref().filter(|account| account.signer.address() == user);
        let account = account.ok_or(DaemonError::NotOurPayer(user))?;
        let delegation = DisputeDelegation {
            receiptDigest: observation
                .receipt
                .receipt
                .digest(&receipts_domain(self.manifest.chain_id, self.manifest.contracts.node_registry)),
            validator: self.signer.address(),
        };
        let signature = delegation.sign(&account.signer, &self.court.delegation_domain()).await?;
        Ok(self.court.open_delegated(observation, signature).await?)
    }

    async fn tally(&self, epoch: u64, node: Address, outcome: ProbeOutcome) -> Result<(), DaemonError> {
        let mut state = self.state.lock().await;
        state.tallies.record(epoch, node, outcome);
        self.save(&state).await
    }

    /// Publishes the tallies of every finished epoch, oldest first; returns the epochs reported. An epoch the
    /// chain no longer takes (already reported before a crash, too old, or this account is no longer a
    /// validator) is dropped with a warning; a transient failure keeps it for the next call.
    pub async fn report_duties(&self) -> Result<Vec<u64>, DaemonError> {
        let current = self.epoch().await?;
        let mut reported = Vec::new();
        loop {
            let Some((epoch, reports)) = self.state.lock().await.tallies.due(current) else { break };
            let nodes = reports.len();
            let next = self.court.next_report_epoch().await?;
            if epoch < next {
                tracing::info!(epoch, "probes of this epoch already reported");
            } else {
                match self.court.report(epoch, reports).await {
                    Ok(tx) => {
                        tracing::info!(epoch, nodes, %tx, "probes reported");
                        reported.push(epoch);
                    }
                    Err(CourtError::Chain(neuro_chain::ChainError::Reverted { .. })) => {
                        tracing::warn!(epoch, "the chain refused this epoch's report; dropping it");
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            let mut state = self.state.lock().await;
            state.tallies.settle(epoch);
            self.save(&state).await?;
        }
        Ok(reported)
    }

    /// Reads new disputes, votes on those it can judge, resolves those whose vote is over and claims what it won.
    pub async fn court_duties(&self) -> Result<CourtReport, DaemonError> {
        let mut report = CourtReport::default();
        let head = self.provider().get_block_number().await?;
        let now = self.provider().get_block_by_number(Default::default()).await?.map_or(0, |b| b.header.timestamp);
        let from = self.state.lock().await.read_to_block + 1;
        for dispute in self.court.opened(from.min(head), head).await? {
            match self.consider(&dispute, now, &mut report).await {
                Ok(()) => {}
                // A transient failure: stop here and read this block range again next time.
                Err(error) if error.is_transient() => return Err(error),
                // Anything deterministic (a revert such as a closed vote, an engine error on hostile evidence)
                // would fail again the same way: skip this dispute instead of stalling every other one.
                Err(error) => tracing::warn!(dispute = %dispute.id, %error, "skipping dispute"),
            }
        }
        let watching: Vec<(U256, u64)> = {
            let mut state = self.state.lock().await;
            state.read_to_block = head;
            self.save(&state).await?;
            state.watching.iter().map(|(id, ends)| (*id, *ends)).collect()
        };
        for (id, voting_ends) in watching {
            if now < voting_ends {
                continue;
            }
            let dispute = self.court.dispute(id).await?;
            if dispute.status == STATUS_OPEN {
                self.court.resolve(id).await?;
                report.resolved.push(id);
            }
            let vote = self.court.vote_of(id).await?;
            if vote.side != 0 && !vote.claimed {
                match self.court.claim(id).await {
                    Ok(_) => report.claimed.push(id),
                    // The contract refused: nothing to claim (a losing side, or a challenger whose bond came
                    // back at resolution). Settled all the same.
                    Err(CourtError::Chain(neuro_chain::ChainError::Reverted { .. })) => {
                        tracing::info!(dispute = %id, "nothing to claim");
                    }
                    // Anything else (a timeout, a stuck or dropped transaction): keep watching, claim again later.
                    Err(e) => return Err(e.into()),
                }
            }
            let mut state = self.state.lock().await;
            state.watching.remove(&id);
            self.save(&state).await?;
        }
        Ok(report)
    }

    async fn consider(&self, dispute: &OpenedDispute, now: u64, report: &mut CourtReport) -> Result<(), DaemonError> {
        let mine = dispute.challenger == self.signer.address();
        if !mine
            && dispute.accused != self.signer.address()
            && now < dispute.voting_ends
            && dispute.model_id == self.reexecutor.model_id()
            && !self.court.has_voted(dispute.id).await?
        {
            let evidence = match self.court.evidence(dispute).await {
                Ok(evidence) => evidence,
                // Evidence nobody can read cannot justify a slash: reject.
                Err(CourtError::EvidenceUnreadable { .. }) => {
                    tracing::warn!(dispute = %dispute.id, "no readable evidence: voting to reject");
                    self.court.vote(dispute.id, false).await?;
                    report.voted.push((dispute.id, false));
                    return self.watch(dispute).await;
                }
                Err(e) => return Err(e.into()),
            };
            let output = String::from_utf8_lossy(&evidence.output).into_owned();
            match self.reexecutor.judge(&evidence.receipt.receipt, &evidence.request, &output).await? {
                Outcome::Judged(verdict) => {
                    let uphold = !verdict.passed();
                    tracing::info!(dispute = %dispute.id, uphold, failure = ?verdict.failure, "voting");
                    self.court.vote(dispute.id, uphold).await?;
                    report.voted.push((dispute.id, uphold));
                }
                Outcome::Abstain(why) => {
                    tracing::info!(dispute = %dispute.id, %why, "abstaining");
                    return Ok(());
                }
            }
        }
        if mine || self.court.has_voted(dispute.id).await? {
            self.watch(dispute).await?;
        }
        Ok(())
    }

    async fn watch(&self, dispute: &OpenedDispute) -> Result<(), DaemonError> {
        let mut state = self.state.lock().await;
        state.watching.insert(dispute.id, dispute.voting_ends);
        self.save(&state).await
    }

    /// Runs until `shutdown`: a probe at exponentially distributed intervals, court duties after each.
    pub async fn run(&self, shutdown: tokio_util::sync::CancellationToken) {
        let foreign = self.keys_of_other_payers().await;
        if !foreign.is_empty() {
            tracing::warn!(
                payers = ?foreign,
                "the state file holds API keys paid by other accounts than the configured payer (a probe account \
                 was added, changed or removed): they are kept but not used, released or revealed; run again \
                 with that payer, or release and reveal them by hand with its key"
            );
        }
        let mut rng = rand_chacha::ChaCha8Rng::from_entropy();
        loop {
            let delay = corpus::next_delay(&mut rng, self.settings.probe_interval);
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(delay) => {}
            }
            if let Err(error) = self.probe_random(&mut rng).await {
                tracing::warn!(%error, "probe step failed; retrying next time");
            }
            match self.court_duties().await {
                Ok(report) if report != CourtReport::default() => tracing::info!(?report, "court duties"),
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "court step failed; retrying next time"),
            }
            if let Err(error) = self.report_duties().await {
                tracing::warn!(%error, "reporting failed; retrying next time");
            }
            if let Err(error) = self.release_duties().await {
                tracing::warn!(%error, "releasing expired allowances failed; retrying next time");
            }
            if let Err(error) = self.reveal_duties().await {
                tracing::warn!(%error, "revealing probe fees failed; retrying next time");
            }
            if let Err(error) = self.claim_duties().await {
                tracing::warn!(%error, "claiming validator rewards failed; retrying next time");
            }
        }
    }

    async fn probe_random(&self, rng: &mut rand_chacha::ChaCha8Rng) -> Result<(), DaemonError> {
        let nodes = self.nodes().await?;
        let Some(operator) = nodes.choose(rng).copied() else { return Ok(()) };
        let node = self.target(operator, None).await?;
        let probe = corpus::draw(rng, 8..=64);
        // A streamed probe measures time to first token and checks the receipt, but is not re-executed (a
        // streamed answer's text is assembled differently by the engine: reexecute::Unjudgeable::Streamed), so
        // it counts for timeliness, not for honesty.
        let share = self.settings.stream_share;
        let stream = share > 0.0 && rng.gen_bool(share.min(1.0));
        match self.probe(&node, &probe, stream).await? {
            ProbeResult::Passed(o) => tracing::info!(node = %operator, ttft = ?o.time_to_first_token, "probe passed"),
            ProbeResult::Disputed { dispute, failure, .. } => {
                tracing::warn!(node = %operator, %dispute, %failure, "dispute opened")
            }
            ProbeResult::NoEvidence(e) => tracing::warn!(node = %operator, error = %e, "probe without evidence"),
            ProbeResult::Abstained(_, why) => tracing::info!(node = %operator, %why, "cannot judge"),
        }
        Ok(())
    }
}

/// The state file, or a fresh state when there is none. A file that cannot be read is an error, not a fresh
/// start: it holds the API keys whose funds are locked on chain.
fn load_state(path: &Path) -> Result<State, DaemonError> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map_err(|e| DaemonError::State { path: path.to_path_buf(), source: std::io::Error::other(e) }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(State::default()),
        Err(source) => Err(DaemonError::State { path: path.to_path_buf(), source }),
    }
}
