//! The dispute court: its validators (stake bonded and unbonding, rewards) and its disputes (who accused whom of
//! what, the validators' votes, the outcome and the slash), from `Disputes` events and the totals kept from them.

use std::collections::HashMap;

use alloy::primitives::U256;
use axum::{
    Json,
    extract::{Path, Query, State},
};
use serde::Serialize;
use utoipa::ToSchema;

use super::{ApiError, ApiResult, AppState, Envelope, ErrorBody, economy::TxRef, params::Params};
use crate::{
    reduce::keys,
    schema::Disputes::{self, DisputeDelegated, DisputeOpened, DisputeResolved, DisputeVoted, ValidatorStaked},
    store::{EventFilter, EventRow},
};

/// A validator of the dispute court.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct Validator {
    /// Address.
    pub address: String,
    /// Stake bonded in the court (weighs in disputes opened from the next second on), wei.
    pub bonded_stake: String,
    /// Stake unbonding (no longer weighs), wei.
    pub unbonding_stake: String,
    /// Emission rewards claimed for the probe fees it revealed, wei.
    pub rewards_claimed: String,
}

/// The total `prefix` + `address` at block `at`, as decimal text.
async fn figure(s: &AppState, prefix: &str, address: &str, at: u64) -> Result<String, ApiError> {
    Ok(s.store.total_at(&format!("{prefix}{address}"), at).await?.to_string())
}

/// Validators who ever bonded stake in the court, by address.
#[utoipa::path(get, path = "/v1/validators", params(("cursor" = Option<String>, Query, description = "Addresses above this"),
    ("limit" = Option<u32>, Query)),
    responses((status = 200, body = Envelope<Vec<Validator>>), (status = 400, body = ErrorBody)))]
pub(super) async fn validators(
    State(s): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Vec<Validator>> {
    let params = Params::new(q, &["cursor", "limit"])?;
    let block = s.at(&params).await?;
    let (addresses, next) = s.accounts_page(&params, block.number, Disputes::CONTRACT, ValidatorStaked::NAME).await?;
    let mut data = Vec::with_capacity(addresses.len());
    for address in addresses {
        data.push(Validator {
            bonded_stake: figure(&s, keys::VALIDATOR_BONDED, &address, block.number).await?,
            unbonding_stake: figure(&s, keys::VALIDATOR_UNBONDING, &address, block.number).await?,
            rewards_claimed: figure(&s, keys::VALIDATOR_REWARDS, &address, block.number).await?,
            address,
        });
    }
    Ok(Json(Envelope { block, data, next }))
}

/// `Disputes.Status`, in its on-chain order.
const STATUS: [&str; 5] = ["None", "Open", "Upheld", "Rejected", "NoQuorum"];

/// One validator's vote.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct Ballot {
    /// Validator.
    pub voter: String,
    /// Whether it voted to uphold (slash the accused).
    pub uphold: bool,
    /// Its bonded stake at the dispute's opening, wei.
    pub weight: String,
    /// Where.
    pub tx: TxRef,
}

/// A dispute.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct Dispute {
    /// Dispute id (decimal).
    pub id: String,
    /// Who opened it (a validator, itself or for a user).
    pub challenger: String,
    /// The paying user who delegated it to the challenger, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delegated_by: Option<String>,
    /// The node accused.
    pub accused: String,
    /// Model of the disputed answer.
    pub model_id: String,
    /// Epoch of the disputed receipt.
    pub epoch: String,
    /// Digest of the disputed receipt.
    pub receipt_digest: String,
    /// Voting ends (unix seconds).
    pub voting_ends: String,
    /// Open, Upheld, Rejected or NoQuorum.
    pub status: String,
    /// Stake weight voting to uphold, wei.
    pub uphold_weight: String,
    /// Stake weight voting to reject, wei.
    pub reject_weight: String,
    /// What the accused lost (zero unless upheld), wei.
    pub slashed: String,
    /// Opened.
    pub opened: TxRef,
    /// Resolved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolved: Option<TxRef>,
    /// Votes, oldest first (only on `/v1/disputes/{id}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ballots: Option<Vec<Ballot>>,
}

fn dispute_of(opened: &EventRow, events: &[EventRow], with_ballots: bool) -> Dispute {
    let (mut uphold, mut reject) = (U256::ZERO, U256::ZERO);
    let mut ballots = Vec::new();
    let mut dispute = Dispute {
        id: opened.arg(DisputeOpened::id).into(),
        challenger: opened.arg(DisputeOpened::challenger).into(),
        delegated_by: None,
        accused: opened.arg(DisputeOpened::accused).into(),
        model_id: opened.arg(DisputeOpened::modelId).into(),
        epoch: opened.arg(DisputeOpened::epoch).into(),
        receipt_digest: opened.arg(DisputeOpened::receiptDigest).into(),
        voting_ends: opened.arg(DisputeOpened::votingEnds).into(),
        status: "Open".into(),
        uphold_weight: String::new(),
        reject_weight: String::new(),
        slashed: "0".into(),
        opened: opened.into(),
        resolved: None,
        ballots: None,
    };
    for e in events {
        match e.event.as_str() {
            DisputeDelegated::NAME => dispute.delegated_by = Some(e.arg(DisputeDelegated::user).into()),
            DisputeVoted::NAME => {
                let weight = e.amount(DisputeVoted::weight);
                if e.flag(DisputeVoted::uphold) {
                    uphold += weight;
                } else {
                    reject += weight;
                }
                if with_ballots {
                    ballots.push(Ballot {
                        voter: e.arg(DisputeVoted::voter).into(),
                        uphold: e.flag(DisputeVoted::uphold),
                        weight: weight.to_string(),
                        tx: e.into(),
                    });
                }
            }
            DisputeResolved::NAME => {
                let code: usize = e.arg(DisputeResolved::status).parse().unwrap_or(0);
                dispute.status = STATUS.get(code).copied().unwrap_or("Unknown").into();
                // The contract's own tally at resolution is the authority; the ballots above add up to it.
                uphold = e.amount(DisputeResolved::upholdWeight);
                reject = e.amount(DisputeResolved::rejectWeight);
                dispute.slashed = e.arg(DisputeResolved::slashed).into();
                dispute.resolved = Some(e.into());
            }
            _ => {}
        }
    }
    dispute.uphold_weight = uphold.to_string();
    dispute.reject_weight = reject.to_string();
    dispute.ballots = with_ballots.then_some(ballots);
    dispute
}

async fn events_of(s: &AppState, id: &str, at: u64) -> Result<Vec<EventRow>, ApiError> {
    let filter = EventFilter {
        contract: Some(Disputes::CONTRACT.into()),
        names: [DisputeOpened::NAME, DisputeDelegated::NAME, DisputeVoted::NAME, DisputeResolved::NAME]
            .map(String::from)
            .to_vec(),
        subject: Some(id.to_owned()),
        ..Default::default()
    };
    Ok(s.store.events(&filter, at, None).await?.events)
}

/// Disputes, newest first; `accused` keeps those against one node.
#[utoipa::path(get, path = "/v1/disputes", params(("accused" = Option<String>, Query, description = "The accused node's operator"),
    ("cursor" = Option<String>, Query), ("limit" = Option<u32>, Query)),
    responses((status = 200, body = Envelope<Vec<Dispute>>), (status = 400, body = ErrorBody)))]
pub(super) async fn disputes(
    State(s): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Vec<Dispute>> {
    let params = Params::new(q, &["accused", "cursor", "limit"])?;
    let block = s.at(&params).await?;
    // An opening's account column is the accused (the only lookup argument it has).
    let (opened, next) = s
        .newest_events_of(
            &params,
            block.number,
            Disputes::CONTRACT,
            DisputeOpened::NAME,
            Some("accused"),
            params.limit()?,
        )
        .await?;
    let mut data = Vec::with_capacity(opened.len());
    for dispute in &opened {
        let events = events_of(&s, dispute.arg(DisputeOpened::id), block.number).await?;
        data.push(dispute_of(dispute, &events, false));
    }
    Ok(Json(Envelope { block, data, next }))
}

/// One dispute with its ballots.
#[utoipa::path(get, path = "/v1/disputes/{id}", params(("id" = String, Path, description = "Decimal dispute id")),
    responses((status = 200, body = Envelope<Dispute>), (status = 400, body = ErrorBody),
    (status = 404, body = ErrorBody)))]
pub(super) async fn dispute(
    State(s): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Dispute> {
    let params = Params::new(q, &[])?;
    let id = id.parse::<U256>().map_err(|_| ApiError::bad("id", format!("{id:?} is not a decimal dispute id")))?;
    let block = s.at(&params).await?;
    let events = events_of(&s, &id.to_string(), block.number).await?;
    let opened = events
        .iter()
        .find(|e| e.event == DisputeOpened::NAME)
        .ok_or_else(|| ApiError::NotFound(format!("no dispute {id} at block {}", block.number)))?;
    let data = dispute_of(opened, &events, true);
    Ok(Json(Envelope { block, data, next: None }))
}
