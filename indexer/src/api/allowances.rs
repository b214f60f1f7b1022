//! Allowances users opened in `Payments`: what each locks out of the user's deposit for one miner, whether the
//! user revoked it, and what the user released back. Opened allowances are the only deposit a miner can count
//! on; revocation stops later epochs' redemptions; release returns the rest once nothing can be redeemed.
//!
//! Figures come from totals kept at ingestion (one query for a whole page), the lifecycle from the events whose
//! subject is the allowance's digest; `verify` reconciles every lock with `Payments.lockOf`.

use std::collections::HashMap;

use alloy::primitives::U256;
use axum::{
    Json,
    extract::{Path, Query, State},
};
use serde::Serialize;
use utoipa::ToSchema;

use super::{ApiError, ApiResult, AppState, Envelope, ErrorBody, economy::TxRef, params, params::Params};
use crate::{
    reduce::keys,
    schema::Payments::{self, AllowanceOpened, AllowanceReleased, AllowanceRevoked},
    store::{EventFilter, EventRow},
};

/// An opened allowance.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct Allowance {
    /// EIP-712 digest of the allowance (its id in `Payments`).
    pub digest: String,
    /// User who opened it.
    pub user: String,
    /// The only miner that can redeem under it.
    pub miner: String,
    /// Locked at opening (the cap less what was redeemed before), wei.
    pub opened_amount: String,
    /// Expiry, unix seconds: afterwards nothing is redeemable and the user can release the rest.
    pub expiry: String,
    /// Still locked, wei.
    pub locked: String,
    /// Redeemed by the miner out of the lock since opening, wei.
    pub redeemed: String,
    /// The epoch it was revoked in (usage of later epochs is not redeemable), if revoked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_epoch: Option<String>,
    /// Released back into the user's deposit, wei.
    pub released: String,
    /// The opening.
    pub opened: TxRef,
    /// The revocation (detail only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked: Option<TxRef>,
    /// The release (detail only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub release: Option<TxRef>,
}

/// The allowance `opened` with its figures at block `at`.
async fn allowances_at(s: &AppState, opened: &[EventRow], at: u64) -> Result<Vec<Allowance>, ApiError> {
    let digests: Vec<String> =
        opened.iter().map(|e| e.arg(AllowanceOpened::allowanceDigest).to_ascii_lowercase()).collect();
    let keys: Vec<String> = digests
        .iter()
        .flat_map(|d| [keys::LOCK, keys::LOCK_REVOKED, keys::LOCK_RELEASED].map(|prefix| format!("{prefix}{d}")))
        .collect();
    let values = s.store.totals_at(&keys, at).await?;
    Ok(opened
        .iter()
        .zip(digests)
        .zip(values.chunks_exact(3))
        .map(|((e, digest), figures)| {
            let (locked, revoked, released) = (figures[0], figures[1], figures[2]);
            let opened_amount = e.amount(AllowanceOpened::amount);
            Allowance {
                digest,
                user: e.arg(AllowanceOpened::user).to_ascii_lowercase(),
                miner: e.arg(AllowanceOpened::miner).to_ascii_lowercase(),
                opened_amount: opened_amount.to_string(),
                expiry: e.arg(AllowanceOpened::expiry).into(),
                locked: locked.to_string(),
                redeemed: opened_amount.saturating_sub(locked).saturating_sub(released).to_string(),
                revoked_epoch: (!revoked.is_zero()).then(|| (revoked - U256::from(1)).to_string()),
                released: released.to_string(),
                opened: e.into(),
                revoked: None,
                release: None,
            }
        })
        .collect())
}

/// Opened allowances, newest first; `miner` keeps those of one miner.
#[utoipa::path(get, path = "/v1/allowances", params(("miner" = Option<String>, Query),
    ("cursor" = Option<String>, Query), ("limit" = Option<u32>, Query)),
    responses((status = 200, body = Envelope<Vec<Allowance>>), (status = 400, body = ErrorBody)))]
pub(super) async fn allowances(
    State(s): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Vec<Allowance>> {
    let params = Params::new(q, &["miner", "cursor", "limit"])?;
    let block = s.at(&params).await?;
    // An opening's account is its miner (the first lookup argument it has). Three totals per row, in one
    // query: 100 rows stay well under the databases' column limits.
    let limit = params.limit_within(50, 100)?;
    let (opened, next) = s
        .newest_events_of(&params, block.number, Payments::CONTRACT, AllowanceOpened::NAME, Some("miner"), limit)
        .await?;
    let data = allowances_at(&s, &opened, block.number).await?;
    Ok(Json(Envelope { block, data, next }))
}

/// One opened allowance with its revocation and release transactions.
#[utoipa::path(get, path = "/v1/allowances/{digest}", params(("digest" = String, Path)),
    responses((status = 200, body = Envelope<Allowance>), (status = 400, body = ErrorBody),
    (status = 404, body = ErrorBody)))]
pub(super) async fn allowance(
    State(s): State<AppState>,
    Path(digest): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Allowance> {
    let params = Params::new(q, &[])?;
    let digest = params::bytes32("digest", &digest)?;
    let block = s.at(&params).await?;
    // A digest opens and revokes once, but the user may release it any number of times (every release after
    // the first moves zero): the first of each, one row per query, whatever else was logged.
    let first = |name: &str| {
        let filter = EventFilter {
            contract: Some(Payments::CONTRACT.into()),
            names: vec![name.into()],
            subject: Some(digest.clone()),
            ..Default::default()
        };
        let store = s.store.clone();
        async move { Ok::<_, ApiError>(store.events(&filter, block.number, Some(1)).await?.events.into_iter().next()) }
    };
    let opened = first(AllowanceOpened::NAME)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no allowance {digest} was opened by block {}", block.number)))?;
    let mut data = allowances_at(&s, std::slice::from_ref(&opened), block.number)
        .await?
        .pop()
        .ok_or_else(|| ApiError::NotFound(format!("no allowance {digest}")))?;
    data.revoked = first(AllowanceRevoked::NAME).await?.as_ref().map(TxRef::from);
    data.release = first(AllowanceReleased::NAME).await?.as_ref().map(TxRef::from);
    Ok(Json(Envelope { block, data, next: None }))
}
