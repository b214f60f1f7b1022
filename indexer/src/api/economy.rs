//! Chain-wide figures: status, supply, epochs and fees (one epoch's page is in `epoch`).

use std::collections::HashMap;

use alloy::primitives::U256;
use axum::{
    Json,
    extract::{Query, State},
};
use neuro_protocol::schedule::{self, MAX_REWARD_PER_BURN_BPS, NEURO};
use serde::Serialize;
use utoipa::ToSchema;

use super::{ApiError, ApiResult, AppState, Envelope, ErrorBody, params::Params};
use crate::{
    reduce::{address_key, keys},
    schema::{
        Emissions::{self, EpochFinalized},
        FeeVault::FeesFlushed,
        Payments::Redeemed,
    },
    store::{EventFilter, EventRow},
};

/// A transaction that did something, and where.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct TxRef {
    /// Block number.
    pub block_number: u64,
    /// Transaction hash.
    pub transaction_hash: String,
    /// Log index of the event that records it.
    pub log_index: u64,
}

impl From<&EventRow> for TxRef {
    fn from(e: &EventRow) -> Self {
        Self { block_number: e.block_number, transaction_hash: e.transaction_hash.clone(), log_index: e.log_index }
    }
}

/// Ingestion status.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct Status {
    /// Chain id indexed.
    pub chain_id: u64,
    /// Last block fully indexed.
    pub indexed_head: u64,
    /// Latest chain head seen by the ingester.
    pub chain_head: u64,
    /// Blocks between them.
    pub lag: u64,
    /// Latest finalized block reported by the node (0: the node reports none).
    pub chain_finalized: u64,
    /// Indexed blocks that are also finalized: `min(indexedHead, chainFinalized)`.
    pub indexed_finalized: u64,
    /// Reorganisations rolled back since start.
    pub reorgs: u64,
    /// Why the indexer is not ready (absent when ready).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_ready: Option<String>,
}

/// Indexed and chain heads, lag and finality.
#[utoipa::path(get, path = "/v1/status", responses((status = 200, body = Envelope<Status>),
    (status = 503, body = ErrorBody)))]
pub(super) async fn status(State(s): State<AppState>, Query(q): Query<HashMap<String, String>>) -> ApiResult<Status> {
    let params = Params::new(q, &[])?;
    let block = s.at(&params).await?;
    let m = &s.metrics;
    let (head, finalized) = (m.chain_head.get(), m.chain_finalized.get());
    let data = Status {
        chain_id: s.manifest.chain_id,
        indexed_head: block.number,
        chain_head: head.max(block.number),
        lag: head.saturating_sub(block.number),
        chain_finalized: finalized,
        indexed_finalized: finalized.min(block.number),
        reorgs: m.reorgs.get(),
        not_ready: m.not_ready(),
    };
    Ok(Json(Envelope { block, data, next: None }))
}

/// The deployment the indexer follows: its manifest (chain id, contract addresses, epoch clock, start block).
///
/// The front end reads the contracts' addresses here, so it needs no configuration of its own.
#[utoipa::path(get, path = "/v1/deployment", responses((status = 200, description = "The deployment manifest",
    body = Object)))]
pub(super) async fn deployment(State(s): State<AppState>) -> Json<neuro_protocol::Manifest> {
    Json(s.manifest.as_ref().clone())
}

/// NEURO supply, in wei (decimal strings).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct Supply {
    /// Hard cap.
    pub cap: String,
    /// Total supply: mints minus burns.
    pub total_supply: String,
    /// Minted by `Emissions`: rewards of finalized epochs, minted when claimed.
    pub minted_by_emissions: String,
    /// The schedule's emission for every epoch finalized so far.
    pub scheduled_to_date: String,
    /// Emission never to be minted: epochs without work, and shares the fee caps withheld from claims.
    pub forgone: String,
    /// Pool shares of finalized epochs not claimed yet: `scheduledToDate - mintedByEmissions - forgone`
    /// (each claim turns its share into minted reward plus forgone).
    pub unclaimed_shares: String,
    /// The burned part of all redeemed fees, as booked at redemption: the basis of the reward caps.
    pub fees_burn_booked: String,
    /// `mintedByEmissions + forgone <= scheduledToDate` and `mintedByEmissions <= 90% of feesBurnBooked` (no
    /// reward without fees: the emission ever minted stays below the fees burned for the work it paid).
    pub emissions_reconcile: bool,
    /// Epochs finalized.
    pub epochs_finalized: u64,
    /// Burned by the fee vault.
    pub burned_by_fees: String,
    /// Burned by slashes.
    pub burned_by_slashes: String,
    /// Burned by any cause.
    pub burned_total: String,
    /// Held by the treasury (the timelock).
    pub treasury: String,
    /// Held by the team and investor vesting wallets (not yet released).
    pub vesting_locked: String,
    /// NEURO held by `Emissions` (zero: rewards are minted to the claimant).
    pub unclaimed_rewards: String,
    /// Bonded and unbonding stake (held by the staking vault).
    pub staked: String,
    /// `totalSupply - treasury - vestingLocked - unclaimedRewards`.
    pub circulating: String,
    /// Users' deposits in `Payments` that no allowance locks (any miner can redeem against them).
    pub deposits_free: String,
    /// Deposits locked in opened allowances, each for one miner (see `/v1/allowances`).
    pub deposits_locked: String,
}

/// Supply and its parts, reconciled with the emission schedule.
#[utoipa::path(get, path = "/v1/supply", params(("block" = Option<u64>, Query, description = "A past block")),
    responses((status = 200, body = Envelope<Supply>), (status = 400, body = ErrorBody)))]
pub(super) async fn supply(State(s): State<AppState>, Query(q): Query<HashMap<String, String>>) -> ApiResult<Supply> {
    let params = Params::new(q, &[])?;
    let block = s.at(&params).await?;
    let at = block.number;
    let total = |key: String| {
        let store = s.store.clone();
        async move { store.total_at(&key, at).await }
    };
    let balance = |address| total(format!("{}{}", keys::BALANCE, address_key(&address)));
    let c = s.manifest.contracts;
    let total_supply = total(keys::SUPPLY_TOTAL.into()).await?;
    let minted = total(keys::EMITTED.into()).await?;
    let forgone = total(keys::FORGONE.into()).await?;
    let treasury = balance(c.timelock).await?;
    let vesting = balance(c.team_vesting).await? + balance(c.investor_vesting).await?;
    let unclaimed = balance(c.emissions).await?;
    let filter = EventFilter {
        contract: Some(Emissions::CONTRACT.into()),
        names: vec![EpochFinalized::NAME.into()],
        descending: true,
        ..Default::default()
    };
    let latest = s.store.events(&filter, at, Some(1)).await?;
    let epochs_finalized =
        latest.events.first().map_or(0, |e| e.amount(EpochFinalized::epoch).saturating_to::<u64>() + 1);
    // Epochs are finalized in any order; auditors get the schedule up to the newest finalized one.
    let scheduled = schedule::scheduled_supply_at(s.manifest.epoch_length, epochs_finalized);
    let burn_booked = total(keys::FEES_BURN_BOOKED.into()).await?;
    let within_burn = minted * U256::from(schedule::BPS) <= burn_booked * U256::from(MAX_REWARD_PER_BURN_BPS);
    let data = Supply {
        cap: (U256::from(1_000_000_000u64) * NEURO).to_string(),
        total_supply: total_supply.to_string(),
        minted_by_emissions: minted.to_string(),
        scheduled_to_date: scheduled.to_string(),
        forgone: forgone.to_string(),
        unclaimed_shares: scheduled.saturating_sub(minted + forgone).to_string(),
        fees_burn_booked: burn_booked.to_string(),
        emissions_reconcile: minted + forgone <= scheduled && within_burn,
        epochs_finalized,
        burned_by_fees: total(keys::FEES_BURNED.into()).await?.to_string(),
        burned_by_slashes: total(keys::SLASH_BURNED.into()).await?.to_string(),
        burned_total: total(keys::SUPPLY_BURNED.into()).await?.to_string(),
        treasury: treasury.to_string(),
        vesting_locked: vesting.to_string(),
        unclaimed_rewards: unclaimed.to_string(),
        staked: balance(c.staking).await?.to_string(),
        circulating: total_supply.saturating_sub(treasury + vesting + unclaimed).to_string(),
        deposits_free: total(keys::DEPOSITS_TOTAL.into()).await?.to_string(),
        deposits_locked: total(keys::LOCKED_TOTAL.into()).await?.to_string(),
    };
    Ok(Json(Envelope { block, data, next: None }))
}

/// A finalized epoch.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct EpochSummary {
    /// Epoch number.
    pub epoch: u64,
    /// The schedule's emission for the epoch (split into the pools, or forgone without work).
    pub emission: String,
    /// Emission forgone at finalization (the whole emission without work; caps forgo more at claim time).
    pub forgone: String,
    /// Miner reward cap per burned fee, in basis points, that applies to the epoch.
    pub miner_reward_per_burn_bps: String,
    /// Model reward cap per burned fee, in basis points.
    pub model_reward_per_burn_bps: String,
    /// Work units credited.
    pub total_work: String,
    /// Miners' part of the emission.
    pub miner_pool: String,
    /// Model owners' part of the emission.
    pub model_pool: String,
    /// The finalize transaction.
    pub finalized: TxRef,
}

pub(super) fn summary(e: &EventRow) -> EpochSummary {
    EpochSummary {
        epoch: e.amount(EpochFinalized::epoch).saturating_to(),
        emission: e.arg(EpochFinalized::emission).into(),
        forgone: e.arg(EpochFinalized::forgone).into(),
        miner_reward_per_burn_bps: e.arg(EpochFinalized::minerRewardPerBurnBps).into(),
        model_reward_per_burn_bps: e.arg(EpochFinalized::modelRewardPerBurnBps).into(),
        total_work: e.arg(EpochFinalized::totalWork).into(),
        miner_pool: e.arg(EpochFinalized::minerPool).into(),
        model_pool: e.arg(EpochFinalized::modelPool).into(),
        finalized: e.into(),
    }
}

/// Finalized epochs, newest first.
#[utoipa::path(get, path = "/v1/epochs", params(("cursor" = Option<String>, Query), ("limit" = Option<u32>, Query)),
    responses((status = 200, body = Envelope<Vec<EpochSummary>>), (status = 400, body = ErrorBody)))]
pub(super) async fn epochs(
    State(s): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Vec<EpochSummary>> {
    let params = Params::new(q, &["cursor", "limit"])?;
    let block = s.at(&params).await?;
    let (events, next) = s.newest_events(&params, block.number, Emissions::CONTRACT, EpochFinalized::NAME).await?;
    Ok(Json(Envelope { block, data: events.iter().map(summary).collect(), next }))
}

/// A fee-vault flush.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct FeeFlush {
    /// Burned.
    pub burned: String,
    /// Sent to the treasury.
    pub to_treasury: String,
    /// The flush transaction.
    pub tx: TxRef,
}

pub(super) fn flush(e: &EventRow) -> FeeFlush {
    FeeFlush {
        burned: e.arg(FeesFlushed::burned).into(),
        to_treasury: e.arg(FeesFlushed::toTreasury).into(),
        tx: e.into(),
    }
}

/// Fees of one epoch.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct EpochFees {
    /// Epoch number.
    pub epoch: u64,
    /// Redeemed by miners from user deposits.
    pub redeemed: String,
    /// Paid to miners.
    pub to_miners: String,
    /// Treasury share accrued at redemption.
    pub treasury_share: String,
    /// Burn share accrued at redemption.
    pub burn_share: String,
    /// Redemptions.
    pub redemptions: u64,
    /// The fee-vault flush recorded for the epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flushed: Option<FeeFlush>,
}

/// Fees per epoch, newest first: redeemed, burned and sent to the treasury.
#[utoipa::path(get, path = "/v1/fees", params(("cursor" = Option<u64>, Query, description = "Epochs below this"),
    ("limit" = Option<u32>, Query)),
    responses((status = 200, body = Envelope<Vec<EpochFees>>), (status = 400, body = ErrorBody)))]
pub(super) async fn fees(
    State(s): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Vec<EpochFees>> {
    let params = Params::new(q, &["cursor", "limit"])?;
    let block = s.at(&params).await?;
    let limit = params.limit()?;
    let epochs =
        s.store.epochs(&[Redeemed::NAME, FeesFlushed::NAME], None, block.number, params.u64("cursor")?, limit).await?;
    let mut data = Vec::with_capacity(epochs.len());
    for &epoch in &epochs {
        use keys::epoch::*;
        let keys = [REDEEMED, TO_MINERS, TREASURY_SHARE, BURN_SHARE, REDEMPTIONS].map(|p| format!("{p}{epoch}"));
        let [redeemed, to_miners, treasury_share, burn_share, redemptions]: [U256; 5] =
            s.store.totals_at(&keys, block.number).await?.try_into().map_err(|_| ApiError::NotSynced)?;
        let flushed = EventFilter { epoch: Some(epoch), names: vec![FeesFlushed::NAME.into()], ..Default::default() };
        let flushed = s.store.events(&flushed, block.number, Some(1)).await?.events;
        data.push(EpochFees {
            epoch,
            redeemed: redeemed.to_string(),
            to_miners: to_miners.to_string(),
            treasury_share: treasury_share.to_string(),
            burn_share: burn_share.to_string(),
            redemptions: redemptions.saturating_to(),
            flushed: flushed.first().map(flush),
        });
    }
    let next = (epochs.len() == limit as usize).then(|| epochs.last().map(u64::to_string)).flatten();
    Ok(Json(Envelope { block, data, next }))
}
