//! Node reputation, derived from validators' probe reports (`Disputes.ProbeReported`).
//!
//! Who could abuse it, and why it does not pay (docs/verification.md, "Reputation"): reports are a validator's
//! claims, free but for gas. So each figure is computed per reporting validator first, then combined as the
//! median weighted by the validators' stake: a validator, or any coalition holding less than half of the
//! reporting stake, cannot move a node's score, whether it praises a cheating friend or smears a rival. A
//! validator may report once per epoch (enforced on chain), so it cannot outvote others by repetition either.
//! Slashes are counted separately and rank a slashed node below every unslashed one: a report is an opinion, an
//! upheld dispute is a verdict.

use std::collections::{BTreeMap, HashMap};

use alloy::primitives::U256;
use axum::{
    Json,
    extract::{Path, Query, State},
};
use serde::Serialize;
use utoipa::ToSchema;

use super::{
    ApiError, ApiResult, AppState, BlockRef, Envelope, ErrorBody,
    economy::TxRef,
    params::{self, Params},
};
use crate::{
    reduce::keys,
    schema::{
        Disputes::{self, ProbeReported},
        StakingVault::{self, Slashed},
    },
    store::{EventFilter, EventRow},
};

/// Epochs a reputation covers unless asked otherwise.
const DEFAULT_WINDOW: u64 = 24;
/// Longest window that may be asked for.
const MAX_WINDOW: u64 = 24 * 30;
/// Most reports one response reads: beyond it, a smaller window must be asked for.
const MAX_REPORTS: u32 = 20_000;

/// A node's reputation over a window of epochs.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct Reputation {
    /// Operator address.
    pub address: String,
    /// `honesty × timeliness × uptime` (null when honesty is unknown: no probe was judged).
    pub score: Option<f64>,
    /// Share of judged probes that passed re-execution with a valid receipt (stake-weighted median across
    /// validators of `passed / (passed + failed + invalid)`).
    pub honesty: Option<f64>,
    /// Share of probes answered in time (stake-weighted median of `1 − timedOut / sent`).
    pub timeliness: Option<f64>,
    /// Share of reported epochs in which the node answered at least one probe (stake-weighted median).
    pub uptime: Option<f64>,
    /// Time to first token of streamed probes, milliseconds (stake-weighted median of validators' medians).
    pub median_ttft_ms: Option<u64>,
    /// Completion tokens per second (stake-weighted median of validators' medians).
    pub median_tokens_per_second: Option<f64>,
    /// Probes in the window, all validators together.
    pub probes: ProbeCounts,
    /// Validators that reported on the node.
    pub validators: usize,
    /// Their stake, wei (each one's latest stake in the window).
    pub reporting_stake: String,
    /// Slashes of the node since the window's first report.
    pub slashes: usize,
    /// The node's bonded stake, wei.
    pub bonded_stake: String,
    /// Epochs covered, inclusive.
    pub from_epoch: u64,
    /// Last epoch covered.
    pub to_epoch: u64,
}

/// Probe counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct ProbeCounts {
    /// Sent.
    pub sent: u64,
    /// Passed re-execution.
    pub passed: u64,
    /// Failed re-execution (each disputed).
    pub failed: u64,
    /// Answered without a valid receipt.
    pub invalid: u64,
    /// Not answered in time.
    pub timed_out: u64,
}

impl ProbeCounts {
    fn add(&mut self, r: &Report) {
        self.sent += r.counts.sent;
        self.passed += r.counts.passed;
        self.failed += r.counts.failed;
        self.invalid += r.counts.invalid;
        self.timed_out += r.counts.timed_out;
    }
}

/// One validator's report on one node for one epoch.
#[derive(Debug, Clone)]
struct Report {
    epoch: u64,
    validator: String,
    stake: U256,
    counts: ProbeCounts,
    ttft_ms: u64,
    milli_tokens_per_second: u64,
}

impl Report {
    fn of(e: &EventRow) -> Self {
        let n = |name| u64::try_from(e.amount(name)).unwrap_or(u64::MAX);
        Self {
            epoch: n(ProbeReported::epoch),
            validator: e.arg(ProbeReported::validator).to_ascii_lowercase(),
            stake: e.amount(ProbeReported::validatorStake),
            counts: ProbeCounts {
                sent: n(ProbeReported::sent),
                passed: n(ProbeReported::passed),
                failed: n(ProbeReported::failed),
                invalid: n(ProbeReported::invalid),
                timed_out: n(ProbeReported::timedOut),
            },
            ttft_ms: n(ProbeReported::medianTtftMs),
            milli_tokens_per_second: n(ProbeReported::medianMilliTokensPerSecond),
        }
    }
}

/// The median of `(value, weight)` pairs weighted by stake: the smallest value with at least half of the
/// weight at or below it. `None` when empty.
fn weighted_median(mut values: Vec<(f64, U256)>) -> Option<f64> {
    values.sort_by(|a, b| a.0.total_cmp(&b.0));
    let total = values.iter().fold(U256::ZERO, |sum, (_, w)| sum.saturating_add(*w));
    let mut seen = U256::ZERO;
    for (value, weight) in &values {
        seen = seen.saturating_add(*weight);
        if seen.saturating_mul(U256::from(2)) >= total {
            return Some(*value);
        }
    }
    values.last().map(|(value, _)| *value)
}

fn median(values: &mut [u64]) -> Option<u64> {
    values.sort_unstable();
    values.get(values.len().saturating_sub(1) / 2).copied().filter(|_| !values.is_empty())
}

/// A node's figures: per validator first, then their stake-weighted medians.
struct Figures {
    honesty: Option<f64>,
    timeliness: Option<f64>,
    uptime: Option<f64>,
    median_ttft_ms: Option<u64>,
    median_tokens_per_second: Option<f64>,
    reporting_stake: U256,
}

fn figures(reports: &[Report]) -> Figures {
    let mut by_validator: BTreeMap<&str, Vec<&Report>> = BTreeMap::new();
    for r in reports {
        by_validator.entry(&r.validator).or_default().push(r);
    }
    let (mut honesty, mut timeliness, mut uptime, mut ttft, mut tps) = (vec![], vec![], vec![], vec![], vec![]);
    let mut reporting_stake = U256::ZERO;
    for list in by_validator.values() {
        // The latest stake this validator reported with (reports are in chain order).
        let stake = list.last().map_or(U256::ZERO, |r| r.stake);
        reporting_stake = reporting_stake.saturating_add(stake);
        let mut c = ProbeCounts::default();
        list.iter().for_each(|r| c.add(r));
        let judged = c.passed + c.failed + c.invalid;
        if judged > 0 {
            honesty.push((c.passed as f64 / judged as f64, stake));
        }
        if c.sent > 0 {
            timeliness.push((1.0 - c.timed_out as f64 / c.sent as f64, stake));
        }
        let answered = list.iter().filter(|r| r.counts.sent > r.counts.timed_out).count();
        uptime.push((answered as f64 / list.len() as f64, stake));
        let mut ttfts: Vec<u64> = list.iter().map(|r| r.ttft_ms).filter(|v| *v > 0).collect();
        if let Some(m) = median(&mut ttfts) {
            ttft.push((m as f64, stake));
        }
        let mut rates: Vec<u64> = list.iter().map(|r| r.milli_tokens_per_second).filter(|v| *v > 0).collect();
        if let Some(m) = median(&mut rates) {
            tps.push((m as f64 / 1000.0, stake));
        }
    }
    Figures {
        honesty: weighted_median(honesty),
        timeliness: weighted_median(timeliness),
        uptime: weighted_median(uptime),
        median_ttft_ms: weighted_median(ttft).map(|v| v as u64),
        median_tokens_per_second: weighted_median(tps),
        reporting_stake,
    }
}

/// The reputation of `address` from its reports in `from..=to`.
fn reputation(address: String, reports: &[Report], from: u64, to: u64, slashes: usize, bonded: U256) -> Reputation {
    let Figures { honesty, timeliness, uptime, median_ttft_ms, median_tokens_per_second, reporting_stake } =
        figures(reports);
    let mut probes = ProbeCounts::default();
    reports.iter().for_each(|r| probes.add(r));
    let validators = reports.iter().map(|r| &r.validator).collect::<std::collections::BTreeSet<_>>().len();
    let score = honesty.map(|h| h * timeliness.unwrap_or(0.0) * uptime.unwrap_or(0.0));
    Reputation {
        address,
        score,
        honesty,
        timeliness,
        uptime,
        median_ttft_ms,
        median_tokens_per_second,
        probes,
        validators,
        reporting_stake: reporting_stake.to_string(),
        slashes,
        bonded_stake: bonded.to_string(),
        from_epoch: from,
        to_epoch: to,
    }
}

/// Ranking order: unslashed before slashed, then by score (unknown last), then by stake, then by address.
fn rank(list: &mut [Reputation]) {
    let stake = |r: &Reputation| r.bonded_stake.parse::<U256>().unwrap_or_default();
    list.sort_by(|a, b| {
        (a.slashes > 0)
            .cmp(&(b.slashes > 0))
            .then(b.score.unwrap_or(-1.0).total_cmp(&a.score.unwrap_or(-1.0)))
            .then(stake(b).cmp(&stake(a)))
            .then(a.address.cmp(&b.address))
    });
}

/// The reports of the window of `epochs` epochs ending at the last finished one (for `account`, or every node),
/// in chain order, and the window.
async fn window(
    s: &AppState,
    params: &Params,
    account: Option<String>,
    block: &BlockRef,
) -> Result<(Vec<(String, Report, EventRow)>, u64, u64), ApiError> {
    let epochs = match params.u64("epochs")? {
        None => DEFAULT_WINDOW,
        Some(n) if (1..=MAX_WINDOW).contains(&n) => n,
        Some(n) => return Err(ApiError::bad("epochs", format!("{n} is outside 1..={MAX_WINDOW}"))),
    };
    let reports = EventFilter {
        contract: Some(Disputes::CONTRACT.into()),
        names: vec![ProbeReported::NAME.into()],
        descending: true,
        ..Default::default()
    };
    // The window ends at the last finished epoch at the block served (every node judged over the same epochs,
    // and a late report about an old epoch cannot move it). A past block (`?block=`) has no timestamp here:
    // then the highest epoch reported by that block.
    let m = &s.manifest;
    let latest = if block.timestamp > 0 && m.epoch_length > 0 {
        (block.timestamp.saturating_sub(m.genesis_time) / m.epoch_length).saturating_sub(1)
    } else {
        let newest = s.store.events(&reports, block.number, Some(MAX_REPORTS)).await?.events;
        match newest.iter().map(|e| Report::of(e).epoch).max() {
            Some(epoch) => epoch,
            None => return Ok((Vec::new(), 0, 0)),
        }
    };
    let from = latest.saturating_sub(epochs - 1);
    let filter = EventFilter { account, from_epoch: Some(from), ..reports };
    let page = s.store.events(&filter, block.number, Some(MAX_REPORTS)).await?;
    if page.next.is_some() {
        return Err(ApiError::bad("epochs", format!("more than {MAX_REPORTS} reports: ask for fewer epochs")));
    }
    let mut rows: Vec<(String, Report, EventRow)> = page
        .events
        .into_iter()
        .map(|e| (e.arg(ProbeReported::miner).to_ascii_lowercase(), Report::of(&e), e))
        .filter(|(_, r, _)| r.epoch <= latest)
        .collect();
    // Chain order, so that "latest stake" is the latest.
    rows.reverse();
    Ok((rows, from, latest))
}

async fn slashes_since(s: &AppState, address: &str, from_block: u64, at: u64) -> Result<usize, ApiError> {
    let filter = EventFilter {
        contract: Some(StakingVault::CONTRACT.into()),
        names: vec![Slashed::NAME.into()],
        account: Some(address.to_owned()),
        from_block: Some(from_block),
        ..Default::default()
    };
    Ok(s.store.events(&filter, at, Some(1000)).await?.events.len())
}

async fn bonded(s: &AppState, address: &str, at: u64) -> Result<U256, ApiError> {
    Ok(s.store.total_at(&format!("{}{address}", keys::STAKE_BONDED), at).await?)
}

/// Nodes ranked by reputation over the last `epochs` reported epochs.
#[utoipa::path(get, path = "/v1/reputation", params(
    ("epochs" = Option<u64>, Query, description = "Epochs the reputation covers, ending at the newest reported (default 24)"),
    ("limit" = Option<u32>, Query)),
    responses((status = 200, body = Envelope<Vec<Reputation>>), (status = 400, body = ErrorBody)))]
pub(super) async fn ranking(
    State(s): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Vec<Reputation>> {
    let params = Params::new(q, &["epochs", "limit"])?;
    let block = s.at(&params).await?;
    let limit = params.limit()? as usize;
    let (rows, from, to) = window(&s, &params, None, &block).await?;
    let mut by_node: BTreeMap<String, (Vec<Report>, u64)> = BTreeMap::new();
    for (node, report, e) in rows {
        let entry = by_node.entry(node).or_insert_with(|| (Vec::new(), e.block_number));
        entry.0.push(report);
    }
    let mut data = Vec::with_capacity(by_node.len());
    for (node, (reports, first_block)) in by_node {
        let slashes = slashes_since(&s, &node, first_block, block.number).await?;
        let stake = bonded(&s, &node, block.number).await?;
        data.push(reputation(node, &reports, from, to, slashes, stake));
    }
    rank(&mut data);
    data.truncate(limit);
    Ok(Json(Envelope { block, data, next: None }))
}

/// A node's reputation with its history.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct ReputationDetail {
    /// Over the whole window.
    #[serde(flatten)]
    pub reputation: Reputation,
    /// Per epoch, newest first.
    pub history: Vec<ReputationEpoch>,
}

/// One epoch of a node's record.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct ReputationEpoch {
    /// Epoch.
    pub epoch: u64,
    /// That epoch alone.
    pub score: Option<f64>,
    /// Probes of all validators.
    pub probes: ProbeCounts,
    /// Each validator's report.
    pub reports: Vec<ValidatorReport>,
}

/// One validator's report, traceable to its transaction.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct ValidatorReport {
    /// Validator.
    pub validator: String,
    /// Its stake when reporting, wei.
    pub validator_stake: String,
    /// Its counts.
    pub probes: ProbeCounts,
    /// Median time to first token of its streamed probes, ms (0: none streamed).
    pub median_ttft_ms: u64,
    /// Median completion tokens per second, thousandths.
    pub median_milli_tokens_per_second: u64,
    /// The report.
    pub tx: TxRef,
}

/// One node's reputation over the last `epochs` reported epochs, with every report behind it.
#[utoipa::path(get, path = "/v1/miners/{address}/reputation", params(("address" = String, Path),
    ("epochs" = Option<u64>, Query, description = "Epochs covered, ending at the newest reported (default 24)")),
    responses((status = 200, body = Envelope<ReputationDetail>), (status = 400, body = ErrorBody),
    (status = 404, body = ErrorBody)))]
pub(super) async fn of_miner(
    State(s): State<AppState>,
    Path(address): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<ReputationDetail> {
    let params = Params::new(q, &["epochs"])?;
    let address = params::address("address", &address)?;
    let block = s.at(&params).await?;
    let (rows, from, to) = window(&s, &params, Some(address.clone()), &block).await?;
    let Some(first_block) = rows.first().map(|(_, _, e)| e.block_number) else {
        return Err(ApiError::NotFound(format!("no probe reports on {address} at block {}", block.number)));
    };
    let slashes = slashes_since(&s, &address, first_block, block.number).await?;
    let stake = bonded(&s, &address, block.number).await?;
    let reports: Vec<Report> = rows.iter().map(|(_, r, _)| r.clone()).collect();
    let mut by_epoch: BTreeMap<u64, Vec<(&Report, &EventRow)>> = BTreeMap::new();
    for (_, r, e) in &rows {
        by_epoch.entry(r.epoch).or_default().push((r, e));
    }
    let history = by_epoch
        .into_iter()
        .rev()
        .map(|(epoch, list)| {
            let own: Vec<Report> = list.iter().map(|(r, _)| (*r).clone()).collect();
            let mut probes = ProbeCounts::default();
            own.iter().for_each(|r| probes.add(r));
            ReputationEpoch {
                epoch,
                score: reputation(String::new(), &own, epoch, epoch, 0, U256::ZERO).score,
                probes,
                reports: list
                    .into_iter()
                    .map(|(r, e)| ValidatorReport {
                        validator: r.validator.clone(),
                        validator_stake: r.stake.to_string(),
                        probes: r.counts,
                        median_ttft_ms: r.ttft_ms,
                        median_milli_tokens_per_second: r.milli_tokens_per_second,
                        tx: e.into(),
                    })
                    .collect(),
            }
        })
        .collect();
    let reputation = reputation(address, &reports, from, to, slashes, stake);
    Ok(Json(Envelope { block, data: ReputationDetail { reputation, history }, next: None }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(epoch: u64, validator: &str, stake: u64, sent: u64, passed: u64, failed: u64, timed_out: u64) -> Report {
        Report {
            epoch,
            validator: validator.into(),
            stake: U256::from(stake),
            counts: ProbeCounts { sent, passed, failed, invalid: 0, timed_out },
            ttft_ms: 100,
            milli_tokens_per_second: 30_000,
        }
    }

    #[test]
    fn the_weighted_median_follows_the_stake_majority() {
        let w = |v: &[(f64, u64)]| weighted_median(v.iter().map(|(x, s)| (*x, U256::from(*s))).collect());
        assert_eq!(w(&[]), None);
        assert_eq!(w(&[(0.2, 1)]), Some(0.2));
        assert_eq!(w(&[(1.0, 3), (0.0, 2)]), Some(1.0), "3 of 5 say 1.0");
        assert_eq!(w(&[(1.0, 2), (0.0, 3)]), Some(0.0), "3 of 5 say 0.0");
        assert_eq!(w(&[(0.0, 1), (0.5, 1), (1.0, 1)]), Some(0.5));
    }

    #[test]
    fn a_minority_validator_can_neither_smear_an_honest_node_nor_whitewash_a_cheat() {
        // Two honest validators (stake 2 and 1) see every probe pass; a smearer (stake 2) reports every one
        // failed. It moves the node's honesty not at all.
        let honest =
            [report(1, "a", 2, 4, 4, 0, 0), report(1, "b", 1, 4, 4, 0, 0), report(1, "smearer", 2, 50, 0, 50, 0)];
        let r = reputation("n".into(), &honest, 1, 1, 0, U256::ZERO);
        assert_eq!(r.honesty, Some(1.0));
        assert_eq!(r.score, Some(1.0));
        assert_eq!(r.probes.sent, 58, "raw counts stay visible to auditors");

        // The mirror image: a friend reports a cheating node perfect; the majority's failures stand.
        let cheat =
            [report(1, "a", 2, 4, 1, 3, 0), report(1, "b", 1, 4, 0, 4, 0), report(1, "friend", 2, 50, 50, 0, 0)];
        let r = reputation("n".into(), &cheat, 1, 1, 0, U256::ZERO);
        assert_eq!(r.honesty, Some(0.25));
    }

    #[test]
    fn timeliness_and_uptime_count_unanswered_probes_and_silent_epochs() {
        let reports = [report(1, "a", 1, 4, 2, 0, 2), report(2, "a", 1, 2, 0, 0, 2)];
        let r = reputation("n".into(), &reports, 1, 2, 0, U256::ZERO);
        assert_eq!(r.timeliness, Some(1.0 - 4.0 / 6.0));
        assert_eq!(r.uptime, Some(0.5), "answered in one of two epochs");
        assert_eq!(r.honesty, Some(1.0));
        assert_eq!(r.median_ttft_ms, Some(100));
        assert_eq!(r.median_tokens_per_second, Some(30.0));
    }

    #[test]
    fn a_slashed_node_ranks_below_every_unslashed_one_and_unknown_scores_last() {
        let mk = |address: &str, score: Option<f64>, slashes| Reputation {
            address: address.into(),
            score,
            honesty: score,
            timeliness: None,
            uptime: None,
            median_ttft_ms: None,
            median_tokens_per_second: None,
            probes: ProbeCounts::default(),
            validators: 1,
            reporting_stake: "0".into(),
            slashes,
            bonded_stake: "0".into(),
            from_epoch: 0,
            to_epoch: 0,
        };
        let mut list = vec![mk("slashed", Some(1.0), 1), mk("unknown", None, 0), mk("good", Some(0.9), 0)];
        rank(&mut list);
        let order: Vec<&str> = list.iter().map(|r| r.address.as_str()).collect();
        assert_eq!(order, ["good", "unknown", "slashed"]);
    }
}
