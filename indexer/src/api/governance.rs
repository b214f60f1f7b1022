//! Governor proposals: actions, votes and timeline, from the Governor's events.

use std::collections::HashMap;

use alloy::primitives::U256;
use axum::{
    Json,
    extract::{Path, Query, State},
};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::{ApiError, ApiResult, AppState, Envelope, ErrorBody, economy::TxRef, params::Params};
use crate::{
    proposals::{self, Tally},
    schema::NeuroGovernor::{self, ProposalCanceled, ProposalCreated, ProposalExecuted, ProposalQueued},
    store::{EventFilter, EventRow},
};

/// One call a proposal makes through the timelock.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct Action {
    /// Contract called.
    pub target: String,
    /// ETH sent, wei.
    pub value: String,
    /// Calldata.
    pub calldata: String,
}

/// Votes by side, in stNEURO wei.
#[derive(Debug, Default, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct Votes {
    /// For.
    pub for_votes: String,
    /// Against.
    pub against: String,
    /// Abstain.
    pub abstain: String,
    /// Ballots cast.
    pub voters: u64,
}

/// A proposal's lifecycle events.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct Timeline {
    /// Proposed.
    pub created: TxRef,
    /// Queued in the timelock.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queued: Option<TxRef>,
    /// Earliest execution time (unix seconds), once queued.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eta: Option<String>,
    /// Executed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub executed: Option<TxRef>,
    /// Canceled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub canceled: Option<TxRef>,
}

/// A proposal.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct Proposal {
    /// Proposal id (decimal).
    pub id: String,
    /// Proposer.
    pub proposer: String,
    /// Description (its first line is the title).
    pub description: String,
    /// State at the block reflected, by the Governor's rules: Pending, Active, Canceled, Defeated, Succeeded,
    /// Queued or Executed (quorum included: for + abstain against the quorum at the snapshot). VotingClosed only
    /// when voting is over with more for than against and the quorum was not yet read at that block; Unknown for
    /// a past block (`?block=`) whose timestamp is no longer kept.
    pub state: String,
    /// Quorum at the snapshot, stNEURO wei (read from the Governor once the snapshot has passed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quorum: Option<String>,
    /// Voting starts (unix seconds: the Governor's clock is the timestamp).
    pub vote_start: String,
    /// Voting ends (unix seconds).
    pub vote_end: String,
    /// Votes cast.
    pub votes: Votes,
    /// Calls made on execution.
    pub actions: Vec<Action>,
    /// Lifecycle.
    pub timeline: Timeline,
}

fn strings(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

fn proposal_of(
    created: &EventRow,
    events: &[EventRow],
    timelock: &[EventRow],
    tally: Tally,
    quorum: Option<U256>,
    now: Option<u64>,
) -> Proposal {
    let mut timeline = Timeline { created: created.into(), queued: None, eta: None, executed: None, canceled: None };
    for e in events {
        match e.event.as_str() {
            ProposalQueued::NAME => {
                timeline.queued = Some(e.into());
                timeline.eta = Some(e.arg(ProposalQueued::etaSeconds).into());
            }
            ProposalExecuted::NAME => timeline.executed = Some(e.into()),
            ProposalCanceled::NAME => timeline.canceled = Some(e.into()),
            _ => {}
        }
    }
    let mut facts = proposals::facts(created, events, tally, quorum);
    proposals::apply_timelock(&mut facts, timelock);
    let state = now.map_or("Unknown", |now| proposals::state(&facts, now).as_str());
    let (targets, values, calldatas) = (
        strings(created.args.get(ProposalCreated::targets)),
        strings(created.args.get(ProposalCreated::values)),
        strings(created.args.get(ProposalCreated::calldatas)),
    );
    Proposal {
        id: created.arg(ProposalCreated::proposalId).into(),
        proposer: created.arg(ProposalCreated::proposer).into(),
        description: created.arg(ProposalCreated::description).into(),
        state: state.into(),
        quorum: quorum.map(|q| q.to_string()),
        vote_start: facts.vote_start.to_string(),
        vote_end: facts.vote_end.to_string(),
        votes: Votes {
            for_votes: facts.for_votes.to_string(),
            against: facts.against.to_string(),
            abstain: facts.abstain.to_string(),
            voters: facts.voters,
        },
        actions: targets
            .into_iter()
            .zip(values)
            .zip(calldatas)
            .map(|((target, value), calldata)| Action { target, value, calldata })
            .collect(),
        timeline,
    }
}

/// A proposal's lifecycle events (at most four), its tally and its quorum (none before it was read) at block
/// `at`: the ballots themselves are not read, so a proposal costs the same whatever its number of voters.
async fn load(s: &AppState, id: &str, at: u64) -> Result<(Vec<EventRow>, Tally, Option<U256>), ApiError> {
    let filter = EventFilter {
        contract: Some(NeuroGovernor::CONTRACT.into()),
        subject: Some(id.to_owned()),
        names: proposals::LIFECYCLE.iter().map(|n| (*n).to_owned()).collect(),
        ..Default::default()
    };
    let events = s.store.events(&filter, at, None).await?.events;
    let tally = Tally::read(&s.store, id, at).await?;
    let quorum = s.store.total_at(&proposals::quorum_key(id), at).await?;
    Ok((events, tally, (!quorum.is_zero()).then_some(quorum)))
}

/// The timelock's events of the operation `created` becomes once queued (executed or cancelled directly on the
/// timelock, the Governor emits nothing).
async fn timelock_events(s: &AppState, created: &EventRow, at: u64) -> Result<Vec<EventRow>, ApiError> {
    match proposals::timelock_filter(s.manifest.contracts.governor, created) {
        Some(filter) => Ok(s.store.events(&filter, at, None).await?.events),
        None => Ok(Vec::new()),
    }
}

/// The timestamp a state is judged at: the block's own. For a past block (`?block=`) that is its kept header's;
/// headers are kept above the finalized block, so for older blocks it is unknown (and so is the state).
async fn now(s: &AppState, block: &super::BlockRef) -> Result<Option<u64>, ApiError> {
    if block.timestamp > 0 {
        return Ok(Some(block.timestamp));
    }
    Ok(s.store.block_timestamp(block.number).await?)
}

/// Proposals, newest first.
#[utoipa::path(get, path = "/v1/proposals", params(("cursor" = Option<String>, Query), ("limit" = Option<u32>, Query)),
    responses((status = 200, body = Envelope<Vec<Proposal>>), (status = 400, body = ErrorBody)))]
pub(super) async fn proposals(
    State(s): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Vec<Proposal>> {
    let params = Params::new(q, &["cursor", "limit"])?;
    let block = s.at(&params).await?;
    let (events, next) = s.newest_events(&params, block.number, NeuroGovernor::CONTRACT, ProposalCreated::NAME).await?;
    let now = now(&s, &block).await?;
    let mut data = Vec::with_capacity(events.len());
    for created in &events {
        let (events, tally, quorum) = load(&s, created.arg(ProposalCreated::proposalId), block.number).await?;
        let timelock = timelock_events(&s, created, block.number).await?;
        data.push(proposal_of(created, &events, &timelock, tally, quorum, now));
    }
    Ok(Json(Envelope { block, data, next }))
}

/// One proposal: state, votes, actions and timeline.
#[utoipa::path(get, path = "/v1/proposals/{id}", params(("id" = String, Path, description = "Decimal proposal id")),
    responses((status = 200, body = Envelope<Proposal>), (status = 400, body = ErrorBody),
    (status = 404, body = ErrorBody)))]
pub(super) async fn proposal(
    State(s): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Proposal> {
    let params = Params::new(q, &[])?;
    let id = id.parse::<U256>().map_err(|_| ApiError::bad("id", format!("{id:?} is not a decimal proposal id")))?;
    let block = s.at(&params).await?;
    let (events, tally, quorum) = load(&s, &id.to_string(), block.number).await?;
    let created = events
        .iter()
        .find(|e| e.event == ProposalCreated::NAME)
        .ok_or_else(|| ApiError::NotFound(format!("no proposal {id} at block {}", block.number)))?;
    let timelock = timelock_events(&s, created, block.number).await?;
    let data = proposal_of(created, &events, &timelock, tally, quorum, now(&s, &block).await?);
    Ok(Json(Envelope { block, data, next: None }))
}
