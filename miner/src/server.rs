//! The OpenAI-compatible HTTP API: `POST /v1/chat/completions` (JSON or SSE stream), `POST /v1/completions`,
//! `GET /v1/models`, `GET /health`, `GET /metrics`.
//!
//! Every served request is paid by the allowance in its bearer API key, metered with the model's own token
//! counts, priced at the node's price, and recorded as a receipt in SQLite *before* the response completes
//! (for a stream: before the final `[DONE]` event).

use std::{collections::HashMap, convert::Infallible, sync::Arc, time::Duration};

use alloy::primitives::{Address, U256};
use axum::{
    Json, Router,
    body::Bytes,
    extract::{DefaultBodyLimit, State},
    http::{HeaderMap, StatusCode, header},
    response::{
        IntoResponse, Response,
        sse::{Event, KeepAlive, Sse},
    },
    routing::{get, post},
};
use futures::Stream;
use neuro_protocol::receipt::{InferenceReceipt, SamplingClaim, SignedReceipt, output_hash, request_hash};
use neuro_prover::Receipt;
use serde_json::json;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio_stream::wrappers::ReceiverStream;

use crate::{
    api::{ApiError, ChatRequest, CompletionRequest},
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
        .route("/v1/chat/completions", post(chat_completions))
        .route("/v1/completions", post(completions))
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

async fn admit(
    state: &AppState,
    auth: Authenticated,
    model: &str,
    prompt_tokens: usize,
    sampling: &Sampling,
) -> Result<Admitted, ApiError> {
    let max_tokens = sampling.max_tokens;
    let served = state.models.get(model).cloned().ok_or_else(|| ApiError::model_not_found(model))?;
    if let Some(context) = served.engine.context_length()
        && prompt_tokens + max_tokens > context
    {
        return Err(ApiError::context_length_exceeded(format!(
            "this model's context is {context} tokens; the prompt has {prompt_tokens} and max_tokens is \
             {max_tokens}: shorten the prompt or lower max_tokens"
        )));
    }
    let worst = fee((prompt_tokens + max_tokens) as u64, served.price_per_mtok)?;
    let reservation =
        state.gate.reserve(auth.key, U256::from(worst)).await.map_err(|e| gate_error(&state.metrics, e))?;
    let sampling = SamplingClaim {
        max_tokens: max_tokens as u64,
        temperature: sampling.temperature,
        top_p: sampling.top_p,
        stop: sampling.stop.clone(),
    };
    Ok(Admitted { served, reservation, epoch: state.chain.epoch_at(auth.now), now: auth.now, sampling })
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
    let fee = fee(prompt + completion, admitted.served.price_per_mtok)?;
    let Admitted { served, reservation, epoch, now, sampling } = admitted;
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

fn engine_for(state: &AppState, model: &str) -> Result<Arc<Engine>, ApiError> {
    state.models.get(model).map(|m| m.engine.clone()).ok_or_else(|| ApiError::model_not_found(model))
}

/// What a non-streaming generation produced.
struct Generated<R> {
    response: R,
    id: String,
    output: String,
    prompt: u64,
    completion: u64,
}

/// Runs a non-streaming generation and records its receipt; the reservation is released whatever happens.
async fn unary<R: serde::Serialize>(
    state: &AppState,
    admitted: Admitted,
    body: &[u8],
    generate: impl Future<Output = Result<Generated<R>, ApiError>>,
) -> Result<Response, ApiError> {
    let Generated { response, id, output, prompt, completion } = generate.await?;
    let signed = record(state, admitted, body, &id, &output, prompt, completion).await?;
    Ok(json_response(with_receipt(response, &signed)?))
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

async fn chat_completions(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Bytes) -> Response {
    detached(&state, |running| chat_inner(state.clone(), headers, body, running)).await
}

async fn chat_inner(
    state: Arc<AppState>,
    headers: HeaderMap,
    body: Bytes,
    running: Running,
) -> Result<Response, ApiError> {
    let mut request: ChatRequest =
        serde_json::from_slice(&body).map_err(|e| ApiError::malformed(format!("invalid request body: {e}")))?;
    let sampling = request.sampling()?;
    let messages = request.messages()?;
    let engine = engine_for(&state, &request.model)?;
    let auth = authenticate(&state, &headers).await?;
    let prompt_tokens =
        engine.count_chat_tokens(&messages).await.map_err(|e| ApiError::invalid(e.to_string(), "messages"))?;
    let admitted = admit(&state, auth, &request.model, prompt_tokens, &sampling).await?;

    if request.stream {
        return stream_chat(state, admitted, body, messages, sampling, running).await;
    }
    let name = admitted.served.name.clone();
    unary(&state, admitted, &body, async {
        let mut response = engine.chat(&messages, &sampling).await.map_err(|e| ApiError::internal(e.to_string()))?;
        response.id = format!("chatcmpl-{}", random_id());
        response.model = name;
        let output = response.choices.first().and_then(|c| c.message.content.clone()).unwrap_or_default();
        let (prompt, completion) = (response.usage.prompt_tokens as u64, response.usage.completion_tokens as u64);
        Ok(Generated { id: response.id.clone(), response, output, prompt, completion })
    })
    .await
}

async fn stream_chat(
    state: Arc<AppState>,
    admitted: Admitted,
    body: Bytes,
    messages: Vec<crate::engine::ChatMessage>,
    sampling: Sampling,
    running: Running,
) -> Result<Response, ApiError> {
    let engine = admitted.served.engine.clone();
    // On an error the reservation is dropped, which releases it.
    let mut chunks = engine.chat_stream(&messages, &sampling).await.map_err(|e| ApiError::internal(e.to_string()))?;
    let (tx, rx) = mpsc::channel::<Result<Event, Infallible>>(64);
    tokio::spawn(async move {
        let _running = running;
        let mut client = Some(tx);
        let id = format!("chatcmpl-{}", random_id());
        let mut output = String::new();
        let mut last = None;
        let mut failed = None;
        let mut stall_budget = CLIENT_WRITE_TIMEOUT;
        while let Some(chunk) = chunks.recv().await {
            match chunk {
                mistralrs::Response::Chunk(mut c) => {
                    c.id = id.clone();
                    c.model.clone_from(&admitted.served.name);
                    if let Some(text) = c.choices.first().and_then(|ch| ch.delta.content.as_deref()) {
                        output.push_str(text);
                    }
                    // The chunk that ends the stream carries usage; it goes out after the receipt is recorded,
                    // with the signed receipt attached.
                    if c.choices.iter().any(|ch| ch.finish_reason.is_some()) && c.usage.is_some() {
                        last = Some(c);
                        break;
                    }
                    let data = serde_json::to_string(&c).unwrap_or_default();
                    // A client that went away or stopped reading does not stop metering (the tokens were
                    // generated), and never blocks this loop for long: mistral.rs awaits its send to us inside
                    // the engine step, so a stalled forwarder would freeze every sequence on the model.
                    client = forward(client, Event::default().data(data), &mut stall_budget).await;
                }
                mistralrs::Response::ModelError(m, _) => failed = Some(m),
                mistralrs::Response::InternalError(e) | mistralrs::Response::ValidationError(e) => {
                    failed = Some(e.to_string())
                }
                _ => {}
            }
            if failed.is_some() {
                break;
            }
        }
        let outcome = match (failed, last) {
            (Some(message), _) => Err(message),
            (None, Some(chunk)) => {
                let usage =
                    chunk.usage.as_ref().map_or((0, 0), |u| (u.prompt_tokens as u64, u.completion_tokens as u64));
                match record(&state, admitted, &body, &id, &output, usage.0, usage.1).await {
                    Ok(signed) => with_receipt(&chunk, &signed).map_err(|e| e.message),
                    Err(e) => Err(e.message),
                }
            }
            (None, None) => Err("the engine ended the stream without usage".to_string()),
        };
        let last = match outcome {
            Ok(data) => {
                client =
                    forward(client, Event::default().data(String::from_utf8_lossy(&data)), &mut stall_budget).await;
                Event::default().data("[DONE]")
            }
            Err(message) => {
                state.metrics.requests_failed.inc();
                tracing::warn!(%message, "stream failed");
                Event::default().data(json!({"error": {"message": message, "type": "server_error"}}).to_string())
            }
        };
        let _ = forward(client, last, &mut stall_budget).await;
    });
    let stream: ReceiverStream<Result<Event, Infallible>> = ReceiverStream::new(rx);
    Ok(sse(stream).into_response())
}

/// How long, in total over the whole stream, a client may leave its buffer full before the node stops writing
/// to it. A total, not a per-event limit: a client taking one event just under a per-event limit would hold the
/// engine (one sequence at a time) for hours at the price of its tokens.
const CLIENT_WRITE_TIMEOUT: Duration = Duration::from_secs(3);

/// Sends `event` to a stream's client unless it is gone; gives up on a client that has kept its buffer full for
/// [`CLIENT_WRITE_TIMEOUT`] in total (`stall_budget` holds what is left). Returns the client for the next event,
/// or `None` once it is gone.
async fn forward(
    client: Option<mpsc::Sender<Result<Event, Infallible>>>,
    event: Event,
    stall_budget: &mut Duration,
) -> Option<mpsc::Sender<Result<Event, Infallible>>> {
    let tx = client?;
    let started = tokio::time::Instant::now();
    // `timeout` polls the send first: with the budget spent, an event still goes out if the buffer has room.
    let sent = tokio::time::timeout(*stall_budget, tx.send(Ok(event))).await;
    *stall_budget = stall_budget.saturating_sub(started.elapsed());
    match sent {
        Ok(Ok(())) => Some(tx),
        Ok(Err(_)) => None,
        Err(_) => {
            tracing::info!("dropping a stream whose client stopped reading");
            None
        }
    }
}

fn sse<S: Stream<Item = Result<Event, Infallible>> + Send + 'static>(stream: S) -> impl IntoResponse {
    // Comments every 15 s keep proxies from closing a stream that is slow to start.
    Sse::new(stream).keep_alive(KeepAlive::default())
}

async fn completions(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Bytes) -> Response {
    detached(&state, |running| completion_inner(state.clone(), headers, body, running)).await
}

async fn completion_inner(
    state: Arc<AppState>,
    headers: HeaderMap,
    body: Bytes,
    _running: Running,
) -> Result<Response, ApiError> {
    let mut request: CompletionRequest =
        serde_json::from_slice(&body).map_err(|e| ApiError::malformed(format!("invalid request body: {e}")))?;
    let sampling = request.sampling()?;
    let engine = engine_for(&state, &request.model)?;
    let auth = authenticate(&state, &headers).await?;
    let prompt_tokens =
        engine.count_text_tokens(&request.prompt).await.map_err(|e| ApiError::invalid(e.to_string(), "prompt"))?;
    let admitted = admit(&state, auth, &request.model, prompt_tokens, &sampling).await?;
    let name = admitted.served.name.clone();
    unary(&state, admitted, &body, async {
        let mut response =
            engine.complete(&request.prompt, &sampling).await.map_err(|e| ApiError::internal(e.to_string()))?;
        response.id = format!("cmpl-{}", random_id());
        response.model = name;
        let output = response.choices.first().map(|c| c.text.clone()).unwrap_or_default();
        let (prompt, completion) = (response.usage.prompt_tokens as u64, response.usage.completion_tokens as u64);
        Ok(Generated { id: response.id.clone(), response, output, prompt, completion })
    })
    .await
}

async fn list_models(State(state): State<Arc<AppState>>) -> Json<serde_json::Value> {
    let mut names: Vec<&ServedModel> = state.models.values().collect();
    names.sort_by(|a, b| a.name.cmp(&b.name));
    let data: Vec<_> = names
        .iter()
        .map(|m| {
            json!({"id": m.name, "object": "model", "owned_by": "neuro",
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
