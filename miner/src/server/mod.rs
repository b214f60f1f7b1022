//! The OpenAI-compatible HTTP API: `POST /v1/chat/completions` (JSON or SSE stream), `POST /v1/completions`,
//! `GET /v1/models`, `GET /health`, `GET /metrics`.
//!
//! Every served request is paid by the allowance in its bearer API key, metered with the model's own token
//! counts, priced at the node's price, and recorded as a receipt in SQLite *before* the response completes
//! (for a stream: before the final `[DONE]` event).

mod chat;
mod completions;
mod stream;

use std::{collections::HashMap, sync::Arc};

use alloy::primitives::{Address, U256};
use axum::{
    Json, Router,
    extract::{DefaultBodyLimit, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use neuro_protocol::receipt::{InferenceReceipt, SamplingClaim, SignedReceipt, output_hash, request_hash};
use neuro_prover::Receipt;
use serde_json::json;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::{
    api::ApiError,
    chain::Chain,
    engine::Engine,
    engine::Sampling,
    gate::{CheckedKey, GateError, PaymentGate, Reservation},
    metrics::{InProgress, Metrics},
    store::Store,
};

/// A model this node serves.
#[derive(Debug, Clone)]
pub struct ServedModel {
    /// Name clients put in `model`.
    pub name: String,
    /// On-chain model id (sha-256 of the weights).
    pub model_id: [u8; 32],
    /// The loaded engine.
    pub engine: Arc<Engine>,
    /// This node's price in NEURO-wei per million tokens (at least the model's floor).
    pub price_per_mtok: U256,
    /// Unix seconds the node started serving it (`/v1/models`' `created`).
    pub created: u64,
}

/// Shared server state.
#[derive(Debug)]
pub struct AppState {
    /// Served models by name.
    pub models: HashMap<String, ServedModel>,
    /// Payment checks.
    pub gate: Arc<PaymentGate>,
    /// Receipts.
    pub store: Store,
    /// Chain clock and state.
    pub chain: Chain,
    /// Counters.
    pub metrics: Arc<Metrics>,
    /// One permit per paid request running; none left means 503.
    pub capacity: Arc<Semaphore>,
    /// Largest request body accepted.
    pub max_body_bytes: usize,
}

/// The public API's router; with `with_metrics`, `/metrics` too (when no separate metrics listener is set).
pub fn router(state: Arc<AppState>, with_metrics: bool) -> Router {
    let max_body = state.max_body_bytes;
    let mut router = Router::new()
        .route("/v1/chat/completions", post(chat::chat_completions))
        .route("/v1/completions", post(completions::completions))
        .route("/v1/models", get(list_models))
        .route("/health", get(health));
    if with_metrics {
        router = router.route("/metrics", get(metrics));
    }
    router.layer(DefaultBodyLimit::max(max_body)).with_state(state)
}

/// The operator's router, for a listener of its own: `/metrics`.
pub fn metrics_router(state: Arc<AppState>) -> Router {
    Router::new().route("/metrics", get(metrics)).with_state(state)
}

/// Fee of `tokens` at `price_per_mtok`, rounded up, as a receipt's `u64` (at most `i64::MAX` to fit SQLite).
pub fn fee(tokens: u64, price_per_mtok: U256) -> Result<u64, ApiError> {
    let million = U256::from(1_000_000u64);
    let wei = (U256::from(tokens) * price_per_mtok).div_ceil(million);
    u64::try_from(wei).ok().filter(|w| *w <= i64::MAX as u64).ok_or_else(|| {
        ApiError::invalid("this request would cost more than one receipt can hold; lower max_tokens", "max_tokens")
    })
}

fn bearer(headers: &HeaderMap) -> Result<&str, ApiError> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .ok_or_else(|| {
            ApiError::unauthorized("missing API key: send 'Authorization: Bearer nk1_…' (from `neuro allowance`)")
        })
}

fn random_id() -> String {
    let mut bytes = [0u8; 12];
    // The OS RNG failing is not recoverable in a meaningful way; fall back to the time so ids stay unique.
    if getrandom::fill(&mut bytes).is_err() {
        let nanos =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        bytes.copy_from_slice(&nanos.to_be_bytes()[4..]);
    }
    hex::encode(bytes)
}

fn gate_error(metrics: &Metrics, e: GateError) -> ApiError {
    match e {
        GateError::Unauthorized(m) => {
            metrics.requests_refused.inc();
            ApiError::unauthorized(m)
        }
        e @ (GateError::InsufficientFunds { .. } | GateError::NotOpened) => {
            metrics.requests_refused.inc();
            ApiError::payment_required(e.to_string())
        }
        GateError::Chain(e) => {
            // The error can carry the RPC URL, which often embeds the provider's API key: log it, never send it.
            tracing::warn!(error = %e, cause = ?std::error::Error::source(&e), "payment check could not read the chain");
            ApiError::unavailable("cannot check payment on chain right now; retry shortly")
        }
        e @ GateError::TooManyRequests(_) => {
            metrics.requests_refused.inc();
            ApiError::too_many_requests(e.to_string())
        }
        GateError::Store(e) => ApiError::internal(e.to_string()),
    }
}

/// Everything a request needs after validation and payment authorisation.
struct Admitted {
    served: ServedModel,
    reservation: Reservation,
    epoch: u64,
    now: u64,
    sampling: SamplingClaim,
}

/// A request whose API key was checked (before any engine work) at chain time `now`.
struct Authenticated {
    key: CheckedKey,
    now: u64,
}

/// Checks the bearer API key: run before the prompt is tokenized or anything else costs the node work.
async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<Authenticated, ApiError> {
    let key = bearer(headers).inspect_err(|_| {
        state.metrics.requests_refused.inc();
    })?;
    let now = state.gate.now().await.map_err(|e| gate_error(&state.metrics, e))?;
    let key = state.gate.check_key(key, now).map_err(|e| gate_error(&state.metrics, e))?;
    state.gate.check_funded(&key).await.map_err(|e| gate_error(&state.metrics, e))?;
    Ok(Authenticated { key, now })
}

/// Fits a request's completion limit to the model's context: a prompt that does not fit, or a limit the client
/// set beyond what is left, is a 400 `context_length_exceeded` before anything is reserved; an unset limit is
/// what the context leaves (at most `MAX_TOKENS_LIMIT`).
fn fit_to_context(
    served: &ServedModel,
    prompt_tokens: usize,
    limit_given: bool,
    sampling: &mut Sampling,
) -> Result<(), ApiError> {
    let Some(context) = served.engine.context_length() else { return Ok(()) };
    let max_tokens = sampling.max_tokens;
    if prompt_tokens >= context {
        return Err(ApiError::context_length_exceeded(format!(
            "this model's context is {context} tokens and the prompt has {prompt_tokens}: shorten the prompt"
        )));
    }
    if limit_given && prompt_tokens + max_tokens > context {
        return Err(ApiError::context_length_exceeded(format!(
            "this model's context is {context} tokens; the prompt has {prompt_tokens} and max_tokens is \
             {max_tokens}: shorten the prompt or lower max_tokens"
        )));
    }
    sampling.max_tokens = max_tokens.min(context - prompt_tokens);
    Ok(())
}

/// Reserves the worst-case fee of `choices` answers of at most `sampling.max_tokens` tokens each, after
/// `prompt_tokens` prompt tokens in all. Each choice runs its prompt through the model again (one sequence at a
/// time), so each choice's prompt is billed: `n` multiplies the prompt's fee too, where OpenAI bills it once.
async fn admit(
    state: &AppState,
    auth: Authenticated,
    served: &ServedModel,
    prompt_tokens: usize,
    sampling: &Sampling,
    choices: usize,
) -> Result<Admitted, ApiError> {
    let max_tokens = sampling.max_tokens;
    let worst = fee((prompt_tokens + choices * max_tokens) as u64, served.price_per_mtok)?;
    let reservation =
        state.gate.reserve(auth.key, U256::from(worst)).await.map_err(|e| gate_error(&state.metrics, e))?;
    let sampling = SamplingClaim {
        max_tokens: max_tokens as u64,
        temperature: sampling.temperature,
        top_p: sampling.top_p,
        stop: sampling.stop.clone(),
    };
    Ok(Admitted { served: served.clone(), reservation, epoch: state.chain.epoch_at(auth.now), now: auth.now, sampling })
}

/// The served model a request names (404 if none).
fn served_model(state: &AppState, model: &str) -> Result<ServedModel, ApiError> {
    state.models.get(model).cloned().ok_or_else(|| ApiError::model_not_found(model))
}

/// An engine failure as an API error: contradictory options are the client's, anything else the node's.
fn engine_error(e: crate::engine::EngineError) -> ApiError {
    match e {
        crate::engine::EngineError::Options(e) => ApiError::invalid(e.to_string(), "tool_choice"),
        e => ApiError::internal(e.to_string()),
    }
}

/// Unix seconds now (a response's `created`).
fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// A response's `system_fingerprint`: the node's version and the model's id, so that a client can tell two
/// answers of the same weights and build apart from others.
fn fingerprint(served: &ServedModel) -> String {
    format!("neuro-{}-{}", env!("CARGO_PKG_VERSION"), hex::encode(&served.model_id[..6]))
}

/// Meters, signs and durably records one served request, releasing its reservation in the same step; returns
/// the signed receipt the response carries. The usage batch's leaf commits to `keccak256(digest ‖ response id)`:
/// the response id keeps two identical requests (same body, same greedy answer) apart, and a receipt holder has
/// both, so it can recompute its leaf.
async fn record(
    state: &AppState,
    admitted: Admitted,
    body: &[u8],
    response_id: &str,
    output: &str,
    prompt: u64,
    completion: u64,
) -> Result<SignedReceipt, ApiError> {
    let Admitted { served, reservation, epoch, now, sampling } = admitted;
    // Never more than was reserved (the worst case the user's funds were checked for): a count beyond it would
    // be the node's miscount, not the user's debt.
    let reserved = u64::try_from(reservation.amount).unwrap_or(u64::MAX);
    let fee = fee(prompt + completion, served.price_per_mtok)?.min(reserved);
    let (allowance, digest) = (reservation.allowance.clone(), reservation.digest);
    let domain = state.chain.receipts_domain();
    let signed = InferenceReceipt {
        miner: state.chain.operator,
        user: allowance.allowance.user,
        modelId: served.model_id.into(),
        requestHash: request_hash(body),
        outputHash: output_hash(output),
        samplingHash: sampling.hash(),
        promptTokens: prompt,
        completionTokens: completion,
        fee: U256::from(fee),
        epoch,
    }
    .sign(&state.chain.signer, &domain)
    .await
    .map_err(|e| ApiError::internal(format!("cannot sign the receipt, request not charged: {e}")))?;
    let receipt = Receipt {
        request_hash: leaf_hash(signed.receipt.digest(&domain), response_id),
        model_id: served.model_id,
        prompt_tokens: prompt,
        completion_tokens: completion,
        fee,
        user: allowance.allowance.user.into_array(),
    };
    state
        .gate
        .settle(reservation, state.store.insert_receipt(&allowance, digest, receipt, epoch, now))
        .await
        .map_err(|e| ApiError::internal(format!("cannot record the receipt, request not charged: {e}")))?;
    let m = &state.metrics;
    m.requests_served.inc();
    m.prompt_tokens.inc_by(prompt);
    m.completion_tokens.inc_by(completion);
    m.fees_charged_wei.inc_by(fee);
    Ok(signed)
}

/// The first field of a receipt's batch leaf: `keccak256(receipt digest ‖ response id)`.
pub fn leaf_hash(digest: alloy::primitives::B256, response_id: &str) -> [u8; 32] {
    let mut bytes = digest.to_vec();
    bytes.extend_from_slice(response_id.as_bytes());
    alloy::primitives::keccak256(bytes).0
}

/// The field of a response (JSON body, or a stream's last chunk) that carries its signed receipt.
pub const RECEIPT_FIELD: &str = "neuro_receipt";

/// Serializes `response` with its signed receipt attached as [`RECEIPT_FIELD`].
fn with_receipt(response: impl serde::Serialize, signed: &SignedReceipt) -> Result<Vec<u8>, ApiError> {
    let mut value = serde_json::to_value(response).map_err(|e| ApiError::internal(e.to_string()))?;
    let receipt = serde_json::to_value(signed).map_err(|e| ApiError::internal(e.to_string()))?;
    match value.as_object_mut() {
        Some(object) => object.insert(RECEIPT_FIELD.to_string(), receipt),
        None => return Err(ApiError::internal("the engine's response is not a JSON object")),
    };
    serde_json::to_vec(&value).map_err(|e| ApiError::internal(e.to_string()))
}

fn json_response(bytes: Vec<u8>) -> Response {
    (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], bytes).into_response()
}

/// Turns a handler's outcome into a response, counting failures other than payment refusals.
fn respond(state: &AppState, outcome: Result<Response, ApiError>) -> Response {
    outcome.unwrap_or_else(|e| {
        if e.status != StatusCode::UNAUTHORIZED && e.status != StatusCode::PAYMENT_REQUIRED {
            state.metrics.requests_failed.inc();
        }
        e.into_response()
    })
}

/// What a paid request holds while it runs, up to its last generated token (for a stream, in the task that
/// forwards it): a node-wide permit and its place in the `requests_in_flight` gauge.
#[derive(Debug)]
struct Running {
    _permit: OwnedSemaphorePermit,
    _gauge: InProgress,
}

/// Runs a request's work in its own task: a client that hangs up drops the HTTP future but not the engine's
/// work, so the engine never sees a dropped receiver mid-request, and what was generated is still metered and
/// its reservation released (see `docs/miner.md`, "Paid requests under attack").
async fn detached<W, F>(state: &Arc<AppState>, work: W) -> Response
where
    W: FnOnce(Running) -> F,
    F: Future<Output = Result<Response, ApiError>> + Send + 'static,
{
    // The permit travels with the work, so a request whose client hung up still counts until it is done.
    let Ok(permit) = state.capacity.clone().try_acquire_owned() else {
        state.metrics.requests_failed.inc();
        let mut response = ApiError::unavailable("this node is at capacity; retry shortly").into_response();
        response.headers_mut().insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
        return response;
    };
    let running = Running { _permit: permit, _gauge: InProgress::start(&state.metrics.requests_in_flight) };
    let outcome = tokio::spawn(work(running)).await.unwrap_or_else(|e| {
        tracing::error!(error = %e, "request task failed");
        Err(ApiError::internal("the request failed on this node"))
    });
    respond(state, outcome)
}

async fn list_models(State(state): State<Arc<AppState>>) -> Json<serde_json::Value> {
    let mut names: Vec<&ServedModel> = state.models.values().collect();
    names.sort_by(|a, b| a.name.cmp(&b.name));
    let data: Vec<_> = names
        .iter()
        .map(|m| {
            json!({"id": m.name, "object": "model", "created": m.created, "owned_by": "neuro",
                   "neuro_model_id": format!("0x{}", hex::encode(m.model_id)),
                   "price_per_mtok": m.price_per_mtok.to_string()})
        })
        .collect();
    Json(json!({"object": "list", "data": data}))
}

async fn health(State(state): State<Arc<AppState>>) -> Response {
    let miner: Address = state.gate.miner();
    // The cached clock: an unauthenticated endpoint must not cost the node an RPC per call.
    match state.gate.now().await {
        Ok(now) => Json(json!({"status": "ok", "miner": miner, "chain_time": now, "epoch": state.chain.epoch_at(now)}))
            .into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "health: cannot read the chain");
            (StatusCode::SERVICE_UNAVAILABLE, Json(json!({"status": "degraded", "reason": "cannot read the chain"})))
                .into_response()
        }
    }
}

async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    ([(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)], state.metrics.render()).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fees_round_up_and_refuse_overflow() {
        let price = U256::from(2_000_000_000_000_000_000u128); // 2 NEURO per million tokens
        assert_eq!(fee(1, price).ok(), Some(2_000_000_000_000));
        assert_eq!(fee(0, price).ok(), Some(0));
        assert_eq!(fee(3, U256::from(1u64)).ok(), Some(1), "rounded up");
        assert!(fee(u64::MAX, price).is_err());
    }
}
