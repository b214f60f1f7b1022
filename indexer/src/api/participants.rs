//! Miners, models and slashes.

use std::collections::{BTreeMap, HashMap};

use alloy::primitives::U256;
use axum::{
    Json,
    extract::{Path, Query, State},
};
use serde::Serialize;
use utoipa::ToSchema;

use super::{
    ApiError, ApiResult, AppState, Envelope, ErrorBody,
    economy::TxRef,
    params::{self, Params},
};
use crate::{
    reduce::keys,
    schema::{
        Emissions::{MinerRewardClaimed, ModelRewardClaimed, WorkRecorded},
        ModelRegistry::{self, ModelOwnershipTransferred, ModelProposed, ModelStatusChanged, ModelUpdated},
        NodeRegistry::{self, NodeDeregistered, NodeModelsSet, NodeRegistered, NodeUpdated},
        StakingVault::{self, Slashed},
        UsageLedger::UsageSubmitted,
    },
    store::{Column, EventFilter, EventRow},
};

/// A miner in the list.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct MinerSummary {
    /// Operator address.
    pub address: String,
    /// Bonded stake, wei.
    pub bonded_stake: String,
    /// Unbonding stake, wei.
    pub unbonding_stake: String,
    /// Rewards claimed, wei.
    pub rewards_claimed: String,
}

async fn miner_summary(s: &AppState, address: String, at: u64) -> Result<MinerSummary, ApiError> {
    let keys = [keys::STAKE_BONDED, keys::STAKE_UNBONDING, keys::MINER_REWARDS].map(|p| format!("{p}{address}"));
    let [bonded, unbonding, rewards] = s.store.totals_at(&keys, at).await?[..] else {
        return Err(ApiError::Store(crate::store::StoreError::Corrupt("totals_at returned another count".into())));
    };
    Ok(MinerSummary {
        bonded_stake: bonded.to_string(),
        unbonding_stake: unbonding.to_string(),
        rewards_claimed: rewards.to_string(),
        address,
    })
}

/// Registered miners, by address.
#[utoipa::path(get, path = "/v1/miners", params(("cursor" = Option<String>, Query, description = "Addresses above this"),
    ("limit" = Option<u32>, Query)),
    responses((status = 200, body = Envelope<Vec<MinerSummary>>), (status = 400, body = ErrorBody)))]
pub(super) async fn miners(
    State(s): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Vec<MinerSummary>> {
    let params = Params::new(q, &["cursor", "limit"])?;
    let block = s.at(&params).await?;
    let (addresses, next) =
        s.accounts_page(&params, block.number, NodeRegistry::CONTRACT, NodeRegistered::NAME).await?;
    let mut data = Vec::with_capacity(addresses.len());
    for address in addresses {
        data.push(miner_summary(&s, address, block.number).await?);
    }
    Ok(Json(Envelope { block, data, next }))
}

/// A miner's node registration.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct Node {
    /// Public API endpoint.
    pub endpoint: String,
    /// Key that signs usage receipts.
    pub receipt_signer: String,
    /// Models served.
    pub models: Vec<String>,
    /// Registered and not deregistered.
    pub registered: bool,
    /// The latest registry event.
    pub updated: TxRef,
}

/// A miner's work and rewards in one epoch.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct MinerEpoch {
    /// Epoch number.
    pub epoch: u64,
    /// Work units credited.
    pub work: String,
    /// Reward claimed.
    pub reward_claimed: String,
    /// The claim.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claim: Option<TxRef>,
    /// Usage batches accepted.
    pub submissions: Vec<Submission>,
}

/// An accepted usage batch.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct Submission {
    /// Model served.
    pub model_id: String,
    /// Merkle root of the batch's receipts.
    pub batch_root: String,
    /// Receipts in the batch circuit.
    pub batch_size: String,
    /// Tokens proven.
    pub tokens: String,
    /// Fees backing them.
    pub fees: String,
    /// The submission.
    pub tx: TxRef,
}

/// A slash.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct Slash {
    /// Account slashed.
    pub account: String,
    /// keccak256 of the reason.
    pub reason_hash: String,
    /// Taken from bonded stake.
    pub from_bonded: String,
    /// Taken from unbonding stake.
    pub from_unbonding: String,
    /// Burned.
    pub burned: String,
    /// Sent to the treasury.
    pub to_treasury: String,
    /// The slash.
    pub tx: TxRef,
}

fn slash(e: &EventRow) -> Slash {
    Slash {
        account: e.arg(Slashed::account).into(),
        reason_hash: e.arg(Slashed::reasonHash).into(),
        from_bonded: e.arg(Slashed::fromBonded).into(),
        from_unbonding: e.arg(Slashed::fromUnbonding).into(),
        burned: e.arg(Slashed::burned).into(),
        to_treasury: e.arg(Slashed::toTreasury).into(),
        tx: e.into(),
    }
}

/// Everything about one miner.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct MinerDetail {
    /// Stake and rewards.
    #[serde(flatten)]
    pub summary: MinerSummary,
    /// Node registration, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node: Option<Node>,
    /// Epochs with work or claims, newest first (a page of them).
    pub epochs: Vec<MinerEpoch>,
    /// Slashes, newest first (the latest 100; `/v1/slashes` lists them all).
    pub slashes: Vec<Slash>,
}

/// Epochs in a page of a miner's history, by default and at most.
const MINER_EPOCHS_DEFAULT: u32 = 20;
const MINER_EPOCHS_MAX: u32 = 100;

/// Slashes listed with a miner: a bound on the response, far above what a node survives.
const MAX_SLASHES: u32 = 100;

/// One miner: stake, node, work and rewards per epoch, submissions, slashes.
#[utoipa::path(get, path = "/v1/miners/{address}", params(("address" = String, Path),
    ("cursor" = Option<u64>, Query, description = "Epochs below this"),
    ("limit" = Option<u32>, Query, description = "Epochs in the page: 1 to 100, default 20")),
    responses((status = 200, body = Envelope<MinerDetail>), (status = 400, body = ErrorBody),
    (status = 404, body = ErrorBody)))]
pub(super) async fn miner(
    State(s): State<AppState>,
    Path(address): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<MinerDetail> {
    let params = Params::new(q, &["cursor", "limit"])?;
    let address = params::address("address", &address)?;
    let block = s.at(&params).await?;
    // A page of epochs, each with its submissions (a few to a few dozen per epoch), kept small: 20 by default.
    let (before, limit) = (params.u64("cursor")?, params.limit_within(MINER_EPOCHS_DEFAULT, MINER_EPOCHS_MAX)?);
    // Every query below is bounded by the page: a miner with ten thousand epochs of history costs what one with
    // ten does (the `(account, epoch)` index finds the page's epochs; only their events are read).
    let of_miner = |names: &[&str], descending: bool| EventFilter {
        account: Some(address.clone()),
        names: names.iter().map(|n| (*n).to_owned()).collect(),
        descending,
        ..Default::default()
    };
    // The node from its latest registry events, in one query (named, so the `(account, name, block)` index bounds
    // the read); only a node with more changes than that since its endpoint or models last changed needs more.
    const NODE_EVENTS: [&str; 4] =
        [NodeRegistered::NAME, NodeUpdated::NAME, NodeModelsSet::NAME, NodeDeregistered::NAME];
    const RECENT: u32 = 16;
    let registry = |names: &[&str], limit: u32| {
        let filter = EventFilter { contract: Some(NodeRegistry::CONTRACT.into()), ..of_miner(names, true) };
        let store = s.store.clone();
        async move { store.events(&filter, block.number, Some(limit)).await.map(|p| p.events) }
    };
    let recent = registry(&NODE_EVENTS, RECENT).await?;
    let node = match recent.first() {
        None => None,
        Some(latest_event) => {
            let find = |names: &[&str]| recent.iter().find(|e| names.contains(&e.event.as_str())).cloned();
            let endpoint_names = [NodeRegistered::NAME, NodeUpdated::NAME];
            let models_names = [NodeRegistered::NAME, NodeModelsSet::NAME];
            let endpoint_of = match find(&endpoint_names) {
                Some(e) => Some(e),
                None => registry(&endpoint_names, 1).await?.into_iter().next(),
            };
            let models_of = match find(&models_names) {
                Some(e) => Some(e),
                None => registry(&models_names, 1).await?.into_iter().next(),
            };
            Some(Node {
                endpoint: endpoint_of.as_ref().map(|e| e.arg(NodeUpdated::endpoint).to_owned()).unwrap_or_default(),
                receipt_signer: endpoint_of
                    .as_ref()
                    .map(|e| e.arg(NodeUpdated::receiptSigner).to_owned())
                    .unwrap_or_default(),
                models: models_of
                    .as_ref()
                    .and_then(|e| e.args.get(NodeModelsSet::models))
                    .and_then(|m| serde_json::from_value(m.clone()).ok())
                    .unwrap_or_default(),
                // Updates need a registration, so any registry event but a deregistration means registered.
                registered: latest_event.event != NodeDeregistered::NAME,
                updated: latest_event.into(),
            })
        }
    };
    let names = [WorkRecorded::NAME, MinerRewardClaimed::NAME, UsageSubmitted::NAME];
    let page = s.store.epochs(&names, Some(&address), block.number, before, limit + 1).await?;
    let more = page.len() > limit as usize;
    let page = &page[..page.len().min(limit as usize)];
    // Existence is checked only when there is nothing else to show (one more query for an unknown address).
    if page.is_empty() && node.is_none() && !s.store.account_seen(&address, block.number).await? {
        return Err(ApiError::NotFound(format!("no events of miner {address} at block {}", block.number)));
    }
    let events = match (page.first(), page.last()) {
        (Some(&newest), Some(&oldest)) => {
            let filter = EventFilter { from_epoch: Some(oldest), to_epoch: Some(newest), ..of_miner(&names, false) };
            s.store.events(&filter, block.number, None).await?.events
        }
        _ => Vec::new(),
    };
    let mut epochs: BTreeMap<u64, MinerEpoch> = BTreeMap::new();
    for e in &events {
        let Some(epoch) = e.args.get(WorkRecorded::epoch).and_then(|v| v.as_str()).and_then(|v| v.parse::<u64>().ok())
        else {
            continue;
        };
        let entry = epochs.entry(epoch).or_insert_with(|| MinerEpoch {
            epoch,
            work: "0".into(),
            reward_claimed: "0".into(),
            claim: None,
            submissions: Vec::new(),
        });
        match e.event.as_str() {
            WorkRecorded::NAME => {
                entry.work =
                    (entry.work.parse::<U256>().unwrap_or_default() + e.amount(WorkRecorded::units)).to_string();
            }
            MinerRewardClaimed::NAME => {
                entry.reward_claimed = e.arg(MinerRewardClaimed::amount).into();
                entry.claim = Some(e.into());
            }
            _ => entry.submissions.push(Submission {
                model_id: e.arg(UsageSubmitted::modelId).into(),
                batch_root: e.arg(UsageSubmitted::batchRoot).into(),
                batch_size: e.arg(UsageSubmitted::batchSize).into(),
                tokens: e.arg(UsageSubmitted::tokens).into(),
                fees: e.arg(UsageSubmitted::fees).into(),
                tx: e.into(),
            }),
        }
    }
    let slashes = s.store.events(&of_miner(&[Slashed::NAME], true), block.number, Some(MAX_SLASHES)).await?.events;
    let epochs: Vec<MinerEpoch> = epochs.into_values().rev().collect();
    let next = more.then(|| epochs.last().map(|e| e.epoch.to_string())).flatten();
    let data = MinerDetail {
        summary: miner_summary(&s, address, block.number).await?,
        node,
        epochs,
        slashes: slashes.iter().map(slash).collect(),
    };
    Ok(Json(Envelope { block, data, next }))
}

/// A model.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct Model {
    /// Model id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Current owner (receives the model's rewards).
    pub owner: String,
    /// Status: Proposed, Approved, Rejected or Retired.
    pub status: String,
    /// Metadata URI.
    pub metadata_uri: String,
    /// Floor price per million tokens, wei.
    pub min_price_per_m_tok: String,
    /// Rewards claimed for the model, wei.
    pub rewards_claimed: String,
    /// The proposal.
    pub proposed: TxRef,
}

/// Work and rewards of a model in one epoch.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct ModelEpoch {
    /// Epoch number.
    pub epoch: u64,
    /// Work units credited.
    pub work: String,
    /// Reward claimed by the owner.
    pub reward_claimed: String,
}

/// A model and its history.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct ModelDetail {
    /// The model.
    #[serde(flatten)]
    pub model: Model,
    /// Epochs with work, newest first.
    pub epochs: Vec<ModelEpoch>,
    /// Registry events (status changes, updates, transfers), oldest first.
    pub history: Vec<EventRow>,
}

const STATUS: [&str; 5] = ["None", "Proposed", "Approved", "Rejected", "Retired"];

async fn model_events(s: &AppState, id: &str, at: u64) -> Result<Vec<EventRow>, ApiError> {
    let filter = EventFilter { subject: Some(id.to_owned()), ..Default::default() };
    Ok(s.store.events(&filter, at, None).await?.events)
}

fn model_of(id: &str, events: &[EventRow], rewards: U256) -> Option<Model> {
    let proposal = events.iter().find(|e| e.event == ModelProposed::NAME)?;
    let mut model = Model {
        id: id.to_owned(),
        name: proposal.arg(ModelProposed::name).into(),
        owner: proposal.arg(ModelProposed::owner).into(),
        status: "Proposed".into(),
        metadata_uri: proposal.arg(ModelProposed::metadataURI).into(),
        min_price_per_m_tok: proposal.arg(ModelProposed::minPricePerMTok).into(),
        rewards_claimed: rewards.to_string(),
        proposed: proposal.into(),
    };
    for e in events.iter().filter(|e| e.contract == ModelRegistry::CONTRACT) {
        match e.event.as_str() {
            ModelStatusChanged::NAME => {
                let code: usize = e.arg(ModelStatusChanged::status).parse().unwrap_or(0);
                model.status = STATUS.get(code).copied().unwrap_or("Unknown").into();
            }
            ModelUpdated::NAME => {
                model.metadata_uri = e.arg(ModelUpdated::metadataURI).into();
                model.min_price_per_m_tok = e.arg(ModelUpdated::minPricePerMTok).into();
            }
            ModelOwnershipTransferred::NAME => model.owner = e.arg(ModelOwnershipTransferred::newOwner).into(),
            _ => {}
        }
    }
    Some(model)
}

/// Models, by id.
#[utoipa::path(get, path = "/v1/models", params(("cursor" = Option<String>, Query, description = "Ids above this"),
    ("limit" = Option<u32>, Query)),
    responses((status = 200, body = Envelope<Vec<Model>>), (status = 400, body = ErrorBody)))]
pub(super) async fn models(
    State(s): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Vec<Model>> {
    let params = Params::new(q, &["cursor", "limit"])?;
    let block = s.at(&params).await?;
    let after = params.text("cursor").map(|c| params::bytes32("cursor", c)).transpose()?;
    let limit = params.limit()?;
    let ids = s
        .store
        .distinct(Column::Subject, ModelRegistry::CONTRACT, ModelProposed::NAME, block.number, after.as_deref(), limit)
        .await?;
    let next = (ids.len() == limit as usize).then(|| ids.last().cloned()).flatten();
    let mut data = Vec::with_capacity(ids.len());
    for id in ids {
        let events = model_events(&s, &id, block.number).await?;
        let rewards = s.store.total_at(&format!("{}{id}", keys::MODEL_REWARDS), block.number).await?;
        data.extend(model_of(&id, &events, rewards));
    }
    Ok(Json(Envelope { block, data, next }))
}

/// One model: registry state, work and rewards per epoch, history.
#[utoipa::path(get, path = "/v1/models/{id}", params(("id" = String, Path, description = "32-byte model id")),
    responses((status = 200, body = Envelope<ModelDetail>), (status = 400, body = ErrorBody),
    (status = 404, body = ErrorBody)))]
pub(super) async fn model(
    State(s): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<ModelDetail> {
    let params = Params::new(q, &[])?;
    let id = params::bytes32("id", &id)?;
    let block = s.at(&params).await?;
    let events = model_events(&s, &id, block.number).await?;
    let rewards = s.store.total_at(&format!("{}{id}", keys::MODEL_REWARDS), block.number).await?;
    let model = model_of(&id, &events, rewards)
        .ok_or_else(|| ApiError::NotFound(format!("no model {id} at block {}", block.number)))?;
    let mut epochs: BTreeMap<u64, (U256, U256)> = BTreeMap::new();
    for e in &events {
        let epoch = e.amount(WorkRecorded::epoch).saturating_to::<u64>();
        match e.event.as_str() {
            WorkRecorded::NAME => epochs.entry(epoch).or_default().0 += e.amount(WorkRecorded::units),
            ModelRewardClaimed::NAME => epochs.entry(epoch).or_default().1 += e.amount(ModelRewardClaimed::amount),
            _ => {}
        }
    }
    let data = ModelDetail {
        model,
        epochs: epochs
            .into_iter()
            .rev()
            .map(|(epoch, (work, reward))| ModelEpoch {
                epoch,
                work: work.to_string(),
                reward_claimed: reward.to_string(),
            })
            .collect(),
        history: events.into_iter().filter(|e| e.contract == ModelRegistry::CONTRACT).collect(),
    };
    Ok(Json(Envelope { block, data, next: None }))
}

/// Slashes, newest first.
#[utoipa::path(get, path = "/v1/slashes", params(("cursor" = Option<String>, Query), ("limit" = Option<u32>, Query)),
    responses((status = 200, body = Envelope<Vec<Slash>>), (status = 400, body = ErrorBody)))]
pub(super) async fn slashes(
    State(s): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Vec<Slash>> {
    let params = Params::new(q, &["cursor", "limit"])?;
    let block = s.at(&params).await?;
    let (events, next) = s.newest_events(&params, block.number, StakingVault::CONTRACT, Slashed::NAME).await?;
    Ok(Json(Envelope { block, data: events.iter().map(slash).collect(), next }))
}
