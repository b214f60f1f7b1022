//! The REST API, versioned under `/v1`, with its OpenAPI 3 document at `/openapi.json`.
//!
//! Every `/v1` response is an [`Envelope`]: the block it reflects (the indexed head, or `?block=N` for a past
//! block), the data, and a `next` cursor when more pages follow. Bad parameters get HTTP 400 naming the parameter;
//! unknown ids get 404.

mod allowances;
mod disputes;
mod economy;
mod epoch;
mod events;
mod governance;
mod params;
mod participants;
mod reputation;
mod web;

use std::{path::Path, sync::Arc};

use axum::{
    Json, Router,
    extract::{Request, State},
    http::{Method, StatusCode},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::get,
};
use neuro_protocol::Manifest;
use serde::Serialize;
use tower_http::cors::{Any, CorsLayer};
use utoipa::{OpenApi, ToSchema};

pub use params::Params;

use crate::{
    metrics::Metrics,
    store::{Column, Cursor, EventFilter, EventRow, Store, StoreError},
};

/// What the handlers share.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The database.
    pub store: Store,
    /// The deployment indexed.
    pub manifest: Arc<Manifest>,
    /// Ingestion status.
    pub metrics: Arc<Metrics>,
}

/// The block a response reflects.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BlockRef {
    /// Block number.
    pub number: u64,
    /// Block hash (the indexed head's; empty for a past block given by `?block=`).
    pub hash: String,
    /// Block timestamp (the indexed head's; 0 for a past block).
    pub timestamp: u64,
}

/// A `/v1` response.
#[derive(Debug, Serialize, ToSchema)]
pub struct Envelope<T> {
    /// The block the data reflects: nothing after it is counted.
    pub block: BlockRef,
    /// The data.
    pub data: T,
    /// Cursor for the next page (`?cursor=`), when more may follow.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// An error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: String,
    /// The offending query or path parameter, for 400s.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameter: Option<String>,
}

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A parameter is malformed or out of range.
    #[error("invalid parameter {parameter}: {message}")]
    BadParameter {
        /// Parameter name.
        parameter: String,
        /// Why.
        message: String,
    },
    /// The thing asked for does not exist at the block reflected.
    #[error("{0}")]
    NotFound(String),
    /// Nothing is indexed yet.
    #[error("the indexer has not stored any block yet")]
    NotSynced,
    /// The database failed (its details go to the log, not to the client).
    #[error("the indexer's database is unavailable; try again")]
    Store(#[from] StoreError),
}

impl ApiError {
    pub(crate) fn bad(parameter: &str, message: impl Into<String>) -> Self {
        Self::BadParameter { parameter: parameter.to_owned(), message: message.into() }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, parameter) = match &self {
            Self::BadParameter { parameter, .. } => (StatusCode::BAD_REQUEST, Some(parameter.clone())),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, None),
            Self::NotSynced => (StatusCode::SERVICE_UNAVAILABLE, None),
            Self::Store(e) => {
                tracing::warn!(error = %e, "API database error");
                (StatusCode::SERVICE_UNAVAILABLE, None)
            }
        };
        (status, Json(ErrorBody { error: self.to_string(), parameter })).into_response()
    }
}

type ApiResult<T> = Result<Json<Envelope<T>>, ApiError>;

impl AppState {
    /// The block a request reflects: `?block=N` (at most the indexed head) or the indexed head.
    pub(crate) async fn at(&self, params: &Params) -> Result<BlockRef, ApiError> {
        let Some(Cursor { number, hash, timestamp }) = self.store.cursor().await? else {
            return Err(ApiError::NotSynced);
        };
        match params.u64("block")? {
            Some(block) if block > number => {
                Err(ApiError::bad("block", format!("block {block} is not indexed yet (indexed head: {number})")))
            }
            Some(block) if block < number => Ok(BlockRef { number: block, hash: String::new(), timestamp: 0 }),
            _ => Ok(BlockRef { number, hash: format!("{hash:#x}"), timestamp }),
        }
    }
}

impl AppState {
    /// One page of the accounts of `contract.name` events at block `at`, by address, from the request's `cursor`
    /// (addresses above it) and `limit`, and the cursor of the next page.
    pub(crate) async fn accounts_page(
        &self,
        params: &Params,
        at: u64,
        contract: &str,
        name: &str,
    ) -> Result<(Vec<String>, Option<String>), ApiError> {
        let after = params.text("cursor").map(|c| params::address("cursor", c)).transpose()?;
        let limit = params.limit()?;
        let addresses = self.store.distinct(Column::Account, contract, name, at, after.as_deref(), limit).await?;
        let next = (addresses.len() == limit as usize).then(|| addresses.last().cloned()).flatten();
        Ok((addresses, next))
    }

    /// One page of `contract.name` events at block `at`, newest first, from the request's `cursor` and `limit`,
    /// and the cursor of the next page.
    pub(crate) async fn newest_events(
        &self,
        params: &Params,
        at: u64,
        contract: &str,
        name: &str,
    ) -> Result<(Vec<EventRow>, Option<String>), ApiError> {
        self.newest_events_of(params, at, contract, name, None, params.limit()?).await
    }

    /// [`Self::newest_events`] at most `limit`, and, when the request has the address parameter `account_param`,
    /// only the events whose account column is that address.
    pub(crate) async fn newest_events_of(
        &self,
        params: &Params,
        at: u64,
        contract: &str,
        name: &str,
        account_param: Option<&str>,
        limit: u32,
    ) -> Result<(Vec<EventRow>, Option<String>), ApiError> {
        let account = account_param.and_then(|p| params.text(p).map(|a| params::address(p, a))).transpose()?;
        let filter = EventFilter {
            contract: Some(contract.into()),
            names: vec![name.into()],
            account,
            after: params.position()?,
            descending: true,
            ..Default::default()
        };
        let page = self.store.events(&filter, at, Some(limit)).await?;
        Ok((page.events, page.next.map(|(block, log)| params::position(block, log))))
    }
}

/// The OpenAPI document of the API.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Neuro indexer API",
        description = "Every figure of the Neuro protocol, traceable to blocks, \
        transactions and log indexes."
    ),
    paths(
        economy::status,
        economy::deployment,
        economy::supply,
        economy::epochs,
        epoch::epoch,
        epoch::miners,
        epoch::models,
        economy::fees,
        participants::miners,
        participants::miner,
        participants::models,
        participants::model,
        participants::slashes,
        reputation::ranking,
        reputation::of_miner,
        governance::proposals,
        governance::proposal,
        disputes::validators,
        disputes::disputes,
        disputes::dispute,
        allowances::allowances,
        allowances::allowance,
        events::events,
        health,
        ready
    )
)]
#[derive(Debug)]
pub struct ApiDoc;

/// The API router; with `web_dir`, the front end's built files are served from `/` as well.
pub fn router(state: AppState, web_dir: Option<&Path>) -> Router {
    let api_not_found =
        || async { ApiError::NotFound("no such endpoint: see /openapi.json".to_owned()).into_response() };
    let router = Router::new()
        .route("/v1/status", get(economy::status))
        .route("/v1/deployment", get(economy::deployment))
        .route("/v1/supply", get(economy::supply))
        .route("/v1/epochs", get(economy::epochs))
        .route("/v1/epochs/{epoch}", get(epoch::epoch))
        .route("/v1/epochs/{epoch}/miners", get(epoch::miners))
        .route("/v1/epochs/{epoch}/models", get(epoch::models))
        .route("/v1/fees", get(economy::fees))
        .route("/v1/miners", get(participants::miners))
        .route("/v1/miners/{address}", get(participants::miner))
        .route("/v1/miners/{address}/reputation", get(reputation::of_miner))
        .route("/v1/reputation", get(reputation::ranking))
        .route("/v1/models", get(participants::models))
        .route("/v1/models/{id}", get(participants::model))
        .route("/v1/slashes", get(participants::slashes))
        .route("/v1/proposals", get(governance::proposals))
        .route("/v1/proposals/{id}", get(governance::proposal))
        .route("/v1/validators", get(disputes::validators))
        .route("/v1/disputes", get(disputes::disputes))
        .route("/v1/disputes/{id}", get(disputes::dispute))
        .route("/v1/allowances", get(allowances::allowances))
        .route("/v1/allowances/{digest}", get(allowances::allowance))
        .route("/v1/events", get(events::events))
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(|| async { Json(ApiDoc::openapi()) }))
        .route("/v1/{*rest}", get(api_not_found));
    let router = match web_dir {
        // The front end routes in the URL's fragment, so every page is `/`: only real files are served, and
        // anything else is the API's 404.
        Some(dir) => router.fallback_service(web::files(dir)),
        None => router.fallback(api_not_found),
    };
    router
        .layer(middleware::from_fn_with_state(state.clone(), one_fork))
        .layer(middleware::from_fn_with_state(state.clone(), count_requests))
        // Dashboards on other origins may read everything (it is public chain data); nothing here writes, and no
        // credentials are accepted, so any origin is safe.
        .layer(CorsLayer::new().allow_origin(Any).allow_methods([Method::GET, Method::HEAD]))
        .with_state(state)
}

async fn count_requests(State(state): State<AppState>, request: Request, next: Next) -> Response {
    state.metrics.http_requests.inc();
    next.run(request).await
}

/// Refuses a `/v1` response during which a reorganisation was rolled back.
///
/// A response is built from several queries, each bounded by the block it reflects. Rows appended above that
/// block change nothing, but a rollback deletes rows at or below it and re-ingests the other fork's, so queries on
/// either side of it would mix two forks. The database counts rollbacks in the cursor's row; if the count moved
/// while the handler ran, the client gets 503 with `Retry-After: 1` instead of a mixed answer.
pub async fn one_fork(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if !request.uri().path().starts_with("/v1/") {
        return next.run(request).await;
    }
    let before = match state.store.rollbacks().await {
        Ok(count) => count,
        Err(e) => return ApiError::Store(e).into_response(),
    };
    let response = next.run(request).await;
    match state.store.rollbacks().await {
        Ok(after) if after == before => response,
        Ok(_) => {
            let body = ErrorBody {
                error: "the chain reorganised while this response was built; retry".to_owned(),
                parameter: None,
            };
            (StatusCode::SERVICE_UNAVAILABLE, [("retry-after", "1")], Json(body)).into_response()
        }
        Err(e) => ApiError::Store(e).into_response(),
    }
}

/// Liveness and database reachability.
#[utoipa::path(get, path = "/health", responses(
    (status = 200, description = "The process and its database are up"),
    (status = 503, description = "The database is unreachable", body = ErrorBody)))]
async fn health(State(state): State<AppState>) -> Response {
    match state.store.ping().await {
        Ok(()) => (StatusCode::OK, "ok").into_response(),
        Err(e) => ApiError::Store(e).into_response(),
    }
}

/// Whether the indexer is within its reorg depth of the chain head; says why not otherwise.
#[utoipa::path(get, path = "/ready", responses(
    (status = 200, description = "Caught up with the chain head"),
    (status = 503, description = "Not ready, with the reason", body = ErrorBody)))]
async fn ready(State(state): State<AppState>) -> Response {
    match state.metrics.not_ready() {
        None => (StatusCode::OK, "ready").into_response(),
        Some(reason) => {
            (StatusCode::SERVICE_UNAVAILABLE, Json(ErrorBody { error: reason, parameter: None })).into_response()
        }
    }
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    ([("content-type", crate::metrics::CONTENT_TYPE)], state.metrics.render())
}
