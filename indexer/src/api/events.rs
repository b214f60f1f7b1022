//! Raw decoded events, filtered by contract, name and block range.

use std::collections::HashMap;

use axum::{
    Json,
    extract::{Query, State},
};

use neuro_protocol::abi;

use super::{
    ApiError, ApiResult, AppState, Envelope, ErrorBody,
    params::{self, Params},
};
use crate::store::{EventFilter, EventRow};

/// Events in chain order.
#[utoipa::path(get, path = "/v1/events", params(
    ("contract" = Option<String>, Query, description = "Manifest contract name, e.g. Emissions"),
    ("name" = Option<String>, Query, description = "Event name, e.g. EpochFinalized"),
    ("fromBlock" = Option<u64>, Query), ("toBlock" = Option<u64>, Query),
    ("cursor" = Option<String>, Query), ("limit" = Option<u32>, Query)),
    responses((status = 200, body = Envelope<Vec<EventRow>>), (status = 400, body = ErrorBody)))]
pub(super) async fn events(
    State(s): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Vec<EventRow>> {
    let params = Params::new(q, &["contract", "name", "fromBlock", "toBlock", "cursor", "limit"])?;
    let contract = params.text("contract").map(str::to_owned);
    // Every contract of the deployment whose events are decoded (derived, so a new contract cannot be missed).
    let known: Vec<&str> =
        s.manifest.contracts.named().into_iter().map(|(name, _)| name).filter(|n| abi::abi_name(n).is_some()).collect();
    if let Some(c) = &contract
        && !known.contains(&c.as_str())
    {
        return Err(ApiError::bad("contract", format!("{c:?} is not one of {}", known.join(", "))));
    }
    let name = params.text("name").map(str::to_owned);
    if let Some(n) = &name
        && (n.is_empty() || n.len() > 64 || !n.bytes().all(|b| b.is_ascii_alphanumeric()))
    {
        return Err(ApiError::bad("name", format!("{n:?} is not an event name")));
    }
    let (from, to) = (params.u64("fromBlock")?, params.u64("toBlock")?);
    if let (Some(from), Some(to)) = (from, to)
        && from > to
    {
        return Err(ApiError::bad("fromBlock", format!("fromBlock {from} is above toBlock {to}")));
    }
    let block = s.at(&params).await?;
    let filter = EventFilter {
        contract,
        names: name.into_iter().collect(),
        from_block: from,
        to_block: to,
        after: params.position()?,
        ..Default::default()
    };
    let page = s.store.events(&filter, block.number, Some(params.limit()?)).await?;
    let next = page.next.map(|(b, l)| params::position(b, l));
    Ok(Json(Envelope { block, data: page.events, next }))
}
