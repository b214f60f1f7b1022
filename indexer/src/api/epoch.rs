//! One epoch: its finalization, the work credited in it and each miner's and model's capped reward and claim.
//!
//! Every figure comes from aggregates kept at ingestion (`keys::epoch`), and the miners and models come a page
//! at a time (`/v1/epochs/{n}/miners`, `/v1/epochs/{n}/models`), so an epoch with ten thousand miners costs
//! what one with a single miner does.

use std::collections::HashMap;

use alloy::primitives::U256;
use axum::{
    Json,
    extract::{Path, Query, State},
};
use neuro_protocol::schedule;
use serde::Serialize;
use utoipa::ToSchema;

use super::{
    ApiError, ApiResult, AppState, Envelope, ErrorBody,
    economy::{EpochSummary, FeeFlush, TxRef, flush, summary},
    params::Params,
};
use crate::{
    reduce::keys::epoch as k,
    schema::{
        Emissions::{EpochFinalized, MinerRewardClaimed, ModelRewardClaimed},
        FeeVault::FeesFlushed,
    },
    store::{EventFilter, EventRow},
};

/// Miners or models on one page, by default and at most.
const PAGE: (u32, u32) = (20, 100);
/// At most this many events of a page's miners in the epoch are read to find their claims (a claim is one per
/// miner; the other events, submissions and credits, a few per miner).
const CLAIM_ROWS: u32 = 5_000;

/// Work and reward of one miner or model in an epoch.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct WorkShare {
    /// Miner address or model id.
    pub id: String,
    /// Work units credited.
    pub units: String,
    /// Fees burned for that work (the basis of the reward cap).
    pub burned_fees: String,
    /// Reward once finalized: `min(floor(pool × burnedFees / epoch's burned fees), floor(burnedFees × rate / 10,000))`.
    pub reward: String,
    /// The part of the pool share the cap withholds (forgone when claimed).
    pub forgone: String,
    /// The claim, once made.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claimed: Option<TxRef>,
}

/// Everything about one epoch, with the first page of its miners and models.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct EpochDetail {
    /// Epoch number.
    pub epoch: u64,
    /// Its finalization, once it happened.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finalization: Option<EpochSummary>,
    /// Work units credited in total.
    pub credited_work: String,
    /// Fees burned for the credited work.
    pub burned_fees: String,
    /// Miner pool per work unit, in wei (floored; exact shares are in `miners`).
    pub miner_reward_per_unit: String,
    /// Model pool per work unit, in wei (floored; exact shares are in `models`).
    pub model_reward_per_unit: String,
    /// Miners credited.
    pub miner_count: u64,
    /// Models credited.
    pub model_count: u64,
    /// The first page of miners, by address.
    pub miners: Vec<WorkShare>,
    /// Cursor of the next page at `/v1/epochs/{epoch}/miners`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub miners_next: Option<String>,
    /// The first page of models, by id.
    pub models: Vec<WorkShare>,
    /// Cursor of the next page at `/v1/epochs/{epoch}/models`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub models_next: Option<String>,
    /// Usage batches submitted for the epoch.
    pub submissions: u64,
    /// Tokens proven by those batches.
    pub tokens: String,
    /// Fees redeemed for the epoch.
    pub fees_redeemed: String,
    /// The fee-vault flush recorded for the epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fees_flushed: Option<FeeFlush>,
}

/// Miners or models.
#[derive(Clone, Copy)]
enum Side {
    Miners,
    Models,
}

impl Side {
    fn keys(self) -> (&'static str, &'static str) {
        match self {
            Self::Miners => (k::MINER_WORK, k::MINER_BURNED),
            Self::Models => (k::MODEL_WORK, k::MODEL_BURNED),
        }
    }
}

/// What a page of shares needs from the epoch: its pools, rates and total burned fees, once finalized.
struct Pools {
    finalized: Option<EventRow>,
    burned: U256,
}

impl Pools {
    fn pool_and_rate(&self, side: Side) -> Option<(U256, u64)> {
        let (pool, rate) = match side {
            Side::Miners => (EpochFinalized::minerPool, EpochFinalized::minerRewardPerBurnBps),
            Side::Models => (EpochFinalized::modelPool, EpochFinalized::modelRewardPerBurnBps),
        };
        self.finalized.as_ref().map(|f| (f.amount(pool), f.amount(rate).saturating_to()))
    }
}

fn parse_epoch(text: &str) -> Result<u64, ApiError> {
    text.parse().map_err(|_| ApiError::bad("epoch", format!("{text:?} is not an epoch number")))
}

async fn pools(s: &AppState, epoch: u64, at: u64) -> Result<Pools, ApiError> {
    let filter = EventFilter { epoch: Some(epoch), names: vec![EpochFinalized::NAME.into()], ..Default::default() };
    let finalized = s.store.events(&filter, at, Some(1)).await?.events.into_iter().next();
    let burned = s.store.total_at(&format!("{}{epoch}", k::BURNED), at).await?;
    Ok(Pools { finalized, burned })
}

/// One page of `side`'s shares of `epoch` after `after`, and the cursor of the next.
async fn shares(
    s: &AppState,
    epoch: u64,
    side: Side,
    pools: &Pools,
    after: Option<&str>,
    limit: u32,
    at: u64,
) -> Result<(Vec<WorkShare>, Option<String>), ApiError> {
    let (work, burned) = side.keys();
    let ids = s.store.keys_with_prefix(&format!("{work}{epoch}."), after, at, limit).await?;
    let keys: Vec<String> =
        ids.iter().flat_map(|id| [format!("{work}{epoch}.{id}"), format!("{burned}{epoch}.{id}")]).collect();
    let figures = s.store.totals_at(&keys, at).await?;
    // The page's claims in one query: the claim events of these ids in this epoch.
    let (name, id_arg) = match side {
        Side::Miners => (MinerRewardClaimed::NAME, MinerRewardClaimed::miner),
        Side::Models => (ModelRewardClaimed::NAME, ModelRewardClaimed::modelId),
    };
    // Miners: every event of theirs in the epoch (a few each), without the name, so that the `(account, epoch)`
    // index is the only one that fits: with the name, SQLite without statistics may take `(account, name)` and
    // read every claim in the miner's history. Models: by name, as a model's events in an epoch are many.
    // Newest first: a claim follows the epoch's finalization, so it comes before any submission or credit.
    let mut filter = EventFilter { epoch: Some(epoch), descending: true, ..Default::default() };
    match side {
        Side::Miners => filter.accounts = ids.clone(),
        Side::Models => (filter.subjects, filter.names) = (ids.clone(), vec![name.into()]),
    }
    let claims = if ids.is_empty() { Vec::new() } else { s.store.events(&filter, at, Some(CLAIM_ROWS)).await?.events };
    let claims: Vec<&EventRow> = claims.iter().filter(|e| e.event == name).collect();
    let data = ids
        .iter()
        .zip(figures.chunks_exact(2))
        .map(|(id, figures)| {
            let (units, burned_fees) = (figures[0], figures[1]);
            let (reward, forgone) = pools.pool_and_rate(side).map_or((U256::ZERO, U256::ZERO), |(pool, rate)| {
                schedule::capped_reward(pool, burned_fees, pools.burned, rate)
            });
            WorkShare {
                id: id.clone(),
                units: units.to_string(),
                burned_fees: burned_fees.to_string(),
                reward: reward.to_string(),
                forgone: forgone.to_string(),
                claimed: claims.iter().find(|c| c.arg(id_arg).eq_ignore_ascii_case(id)).map(|c| TxRef::from(*c)),
            }
        })
        .collect();
    let next = (ids.len() == limit as usize).then(|| ids.last().cloned()).flatten();
    Ok((data, next))
}

/// One epoch: emission, credited work, rewards of the first miners and models, fees.
#[utoipa::path(get, path = "/v1/epochs/{epoch}", params(("epoch" = u64, Path),
    ("limit" = Option<u32>, Query, description = "Miners and models listed (default 20, at most 100)")),
    responses((status = 200, body = Envelope<EpochDetail>), (status = 400, body = ErrorBody),
    (status = 404, body = ErrorBody)))]
pub(super) async fn epoch(
    State(s): State<AppState>,
    Path(epoch): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<EpochDetail> {
    let params = Params::new(q, &["limit"])?;
    let epoch = parse_epoch(&epoch)?;
    let limit = params.limit_within(PAGE.0, PAGE.1)?;
    let block = s.at(&params).await?;
    let at = block.number;
    let keys = [k::WORK, k::MINERS, k::MODELS, k::SUBMISSIONS, k::TOKENS, k::REDEEMED].map(|p| format!("{p}{epoch}"));
    let figures = s.store.totals_at(&keys, at).await?;
    let [work, miner_count, model_count, submissions, tokens, redeemed] = figures[..] else {
        return Err(ApiError::NotSynced);
    };
    let pools = pools(&s, epoch, at).await?;
    let flush_filter = EventFilter { epoch: Some(epoch), names: vec![FeesFlushed::NAME.into()], ..Default::default() };
    let flushed = s.store.events(&flush_filter, at, Some(1)).await?.events;
    if pools.finalized.is_none() && flushed.is_empty() && figures.iter().all(U256::is_zero) {
        return Err(ApiError::NotFound(format!("epoch {epoch} has no events at block {at}")));
    }
    let (miners, miners_next) = shares(&s, epoch, Side::Miners, &pools, None, limit, at).await?;
    let (models, models_next) = shares(&s, epoch, Side::Models, &pools, None, limit, at).await?;
    let per_unit = |side| match pools.pool_and_rate(side) {
        Some((pool, _)) if !work.is_zero() => pool / work,
        _ => U256::ZERO,
    };
    let data = EpochDetail {
        epoch,
        finalization: pools.finalized.as_ref().map(summary),
        credited_work: work.to_string(),
        burned_fees: pools.burned.to_string(),
        miner_reward_per_unit: per_unit(Side::Miners).to_string(),
        model_reward_per_unit: per_unit(Side::Models).to_string(),
        miner_count: miner_count.saturating_to(),
        model_count: model_count.saturating_to(),
        miners,
        miners_next,
        models,
        models_next,
        submissions: submissions.saturating_to(),
        tokens: tokens.to_string(),
        fees_redeemed: redeemed.to_string(),
        fees_flushed: flushed.first().map(flush),
    };
    Ok(Json(Envelope { block, data, next: None }))
}

async fn page_of(s: AppState, epoch: String, q: HashMap<String, String>, side: Side) -> ApiResult<Vec<WorkShare>> {
    let params = Params::new(q, &["cursor", "limit"])?;
    let epoch = parse_epoch(&epoch)?;
    let limit = params.limit_within(PAGE.0, PAGE.1)?;
    let after = match (side, params.text("cursor")) {
        (_, None) => None,
        (Side::Miners, Some(c)) => Some(super::params::address("cursor", c)?),
        (Side::Models, Some(c)) => Some(super::params::bytes32("cursor", c)?),
    };
    let block = s.at(&params).await?;
    let pools = pools(&s, epoch, block.number).await?;
    let (data, next) = shares(&s, epoch, side, &pools, after.as_deref(), limit, block.number).await?;
    Ok(Json(Envelope { block, data, next }))
}

/// The miners credited in an epoch, by address, with their capped rewards and claims.
#[utoipa::path(get, path = "/v1/epochs/{epoch}/miners", params(("epoch" = u64, Path),
    ("cursor" = Option<String>, Query, description = "Addresses above this"), ("limit" = Option<u32>, Query)),
    responses((status = 200, body = Envelope<Vec<WorkShare>>), (status = 400, body = ErrorBody)))]
pub(super) async fn miners(
    State(s): State<AppState>,
    Path(epoch): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Vec<WorkShare>> {
    page_of(s, epoch, q, Side::Miners).await
}

/// The models credited in an epoch, by id, with their capped rewards and claims.
#[utoipa::path(get, path = "/v1/epochs/{epoch}/models", params(("epoch" = u64, Path),
    ("cursor" = Option<String>, Query, description = "Model ids above this"), ("limit" = Option<u32>, Query)),
    responses((status = 200, body = Envelope<Vec<WorkShare>>), (status = 400, body = ErrorBody)))]
pub(super) async fn models(
    State(s): State<AppState>,
    Path(epoch): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Vec<WorkShare>> {
    page_of(s, epoch, q, Side::Models).await
}
