//! Writing a server-sent-event stream to a client that may be slow, gone or hostile, and ending it: the last
//! chunk goes out only after the receipt is recorded, with the signed receipt attached, then `[DONE]`.

use std::{convert::Infallible, sync::Arc, time::Duration};

use axum::response::{
    IntoResponse, Response,
    sse::{Event, KeepAlive, Sse},
};
use serde::Serialize;
use serde_json::json;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use super::{Admitted, AppState, record, with_receipt};
use crate::api::wire::Usage;

/// How long, in total over the whole stream, a client may leave its buffer full before the node stops writing
/// to it. A total, not a per-event limit: a client taking one event just under a per-event limit would hold the
/// engine (one sequence at a time) for hours at the price of its tokens.
const CLIENT_WRITE_TIMEOUT: Duration = Duration::from_secs(3);

/// The node's end of one client's event stream.
pub(super) struct Writer {
    client: Option<mpsc::Sender<Result<Event, Infallible>>>,
    stall_budget: Duration,
    obfuscate: bool,
}

/// Chunks are padded up to a multiple of this many bytes when obfuscation is on.
const PADDED_TO: usize = 64;

impl Writer {
    /// A writer and the HTTP response that streams what it writes (with keep-alive comments every 15 s, so
    /// proxies keep a stream that is slow to start).
    /// With `obfuscate`, every JSON chunk gets an `obfuscation` field of random characters that pads it to a
    /// multiple of 64 bytes, so that an observer of an encrypted stream cannot read token lengths off event sizes.
    pub(super) fn open(obfuscate: bool) -> (Self, Response) {
        let (tx, rx) = mpsc::channel::<Result<Event, Infallible>>(64);
        let response = Sse::new(ReceiverStream::new(rx)).keep_alive(KeepAlive::default()).into_response();
        (Self { client: Some(tx), stall_budget: CLIENT_WRITE_TIMEOUT, obfuscate }, response)
    }

    fn padded(&self, data: String) -> String {
        if !self.obfuscate {
            return data;
        }
        let Ok(serde_json::Value::Object(mut chunk)) = serde_json::from_str::<serde_json::Value>(&data) else {
            return data;
        };
        // `,"obfuscation":""` adds 17 bytes before the padding itself.
        let length = PADDED_TO - (data.len() + 17) % PADDED_TO;
        let mut random = vec![0u8; length.div_ceil(2)];
        if getrandom::fill(&mut random).is_err() {
            return data;
        }
        let mut padding = hex::encode(random);
        padding.truncate(length);
        chunk.insert("obfuscation".into(), padding.into());
        serde_json::to_string(&chunk).unwrap_or(data)
    }

    /// Sends one event as JSON.
    pub(super) async fn json(&mut self, value: &impl Serialize) {
        match serde_json::to_string(value) {
            Ok(data) => self.raw(data).await,
            Err(e) => tracing::error!(error = %e, "cannot serialize a stream chunk"),
        }
    }

    /// Sends one event's data as given.
    ///
    /// A client that went away or stopped reading does not stop metering (the tokens were generated), and never
    /// blocks the caller for long: mistral.rs awaits its send to us inside the engine step, so a stalled
    /// forwarder would freeze every sequence on the model.
    pub(super) async fn raw(&mut self, data: String) {
        if self.client.is_none() {
            return;
        }
        let data = self.padded(data);
        let Some(tx) = self.client.take() else { return };
        let started = tokio::time::Instant::now();
        // `timeout` polls the send first: with the budget spent, an event still goes out if the buffer has room.
        let sent = tokio::time::timeout(self.stall_budget, tx.send(Ok(Event::default().data(data)))).await;
        self.stall_budget = self.stall_budget.saturating_sub(started.elapsed());
        match sent {
            Ok(Ok(())) => self.client = Some(tx),
            Ok(Err(_)) => {}
            Err(_) => tracing::info!("dropping a stream whose client stopped reading"),
        }
    }
}

/// How a stream's generation ended, for [`finish`].
pub(super) struct Generated<T> {
    /// The last chunk, without usage.
    pub last: T,
    /// The last chunk with `usage` set (sent when the client did not ask for a usage chunk).
    pub last_with_usage: T,
    /// A chunk with no choices and `usage` set (sent after `last` when the client asked for it).
    pub usage_chunk: T,
    /// Whether the client asked for the usage chunk (`stream_options.include_usage`).
    pub include_usage: bool,
    /// Token counts to bill.
    pub usage: Usage,
    /// The text the receipt's output hash commits to.
    pub output: String,
}

/// What a failed stream had generated and sent.
pub(super) struct Partial {
    /// Tokens generated (and streamed) before the failure.
    pub usage: Usage,
    /// The text sent, as the receipt commits to it.
    pub output: String,
}

/// A stream that failed part-way.
pub(super) struct Failed {
    /// Why.
    pub message: String,
    /// What it had generated.
    pub partial: Partial,
}

/// Ends a stream: records the receipt of what was generated and sends the last chunk (with the signed receipt)
/// and `[DONE]`. On a failure it sends an error event instead; what was generated before it reached the client
/// and is billed (the error event carries that receipt), so a request that makes the engine fail late (a grammar
/// limit hit in its last choice) does not get its earlier output free.
pub(super) async fn finish<T: Serialize>(
    state: &Arc<AppState>,
    admitted: Admitted,
    body: &[u8],
    id: &str,
    mut writer: Writer,
    outcome: Result<Generated<T>, Failed>,
) {
    let generated = match outcome {
        Ok(generated) => generated,
        Err(Failed { message, partial }) => {
            state.metrics.requests_failed.inc();
            tracing::warn!(%message, "stream failed");
            let error = json!({"error": {"message": message, "type": "server_error"}});
            let usage = partial.usage;
            let data = if usage.total_tokens == 0 {
                // Nothing generated: nothing billed; the reservation is released.
                Ok(serde_json::to_vec(&error).unwrap_or_default())
            } else {
                match record(state, admitted, body, id, &partial.output, usage.prompt_tokens, usage.completion_tokens)
                    .await
                {
                    Ok(signed) => with_receipt(&error, &signed).map_err(|e| e.message),
                    Err(e) => Err(e.message),
                }
            };
            let data = data
                .unwrap_or_else(|m| json!({"error": {"message": m, "type": "server_error"}}).to_string().into_bytes());
            writer.raw(String::from_utf8_lossy(&data).into_owned()).await;
            return;
        }
    };
    let usage = generated.usage;
    let recorded = match record(
        state,
        admitted,
        body,
        id,
        &generated.output,
        usage.prompt_tokens,
        usage.completion_tokens,
    )
    .await
    {
        Ok(signed) if generated.include_usage => {
            writer.json(&generated.last).await;
            with_receipt(&generated.usage_chunk, &signed).map_err(|e| e.message)
        }
        Ok(signed) => with_receipt(&generated.last_with_usage, &signed).map_err(|e| e.message),
        Err(e) => Err(e.message),
    };
    match recorded {
        Ok(data) => {
            writer.raw(String::from_utf8_lossy(&data).into_owned()).await;
            writer.raw("[DONE]".into()).await;
        }
        Err(message) => {
            state.metrics.requests_failed.inc();
            tracing::warn!(%message, "stream failed");
            writer.raw(json!({"error": {"message": message, "type": "server_error"}}).to_string()).await;
        }
    }
}
